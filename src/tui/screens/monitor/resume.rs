//! Resuming a run a lost link cut (#19, item 3): the Monitor keeps the GENERATE under way
//! and the index after its last whole die, and at the board's next HELLO asks for the
//! rest (the board ends a run when the host reconnects, after the die it is drawing).

use crate::link::session::LinkCmd;

/// A GENERATE under way and the index after its last whole die.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub cmd: LinkCmd,
    pub next: u32,
    /// The link was lost while it ran.
    pub cut: bool,
}

impl Run {
    /// The GENERATE for the dice still owed, if any.
    pub fn rest(&self) -> Option<LinkCmd> {
        let LinkCmd::Generate {
            label,
            count,
            seed,
            temperature,
            first,
            steps,
            preview,
        } = self.cmd
        else {
            return None;
        };
        let end = u32::from(first) + u32::from(count);
        (self.next < end).then(|| LinkCmd::Generate {
            label,
            count: (end - self.next) as u16,
            seed,
            temperature,
            first: self.next as u16,
            steps,
            preview,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::MonitorView;
    use crate::link::proto::{BoardId, Hello, PROTOCOL_VERSION};
    use crate::link::session::{Image, LinkCmd, LinkEvent};
    use std::time::Instant;

    fn hello() -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            board: BoardId::Sim,
            firmware: crate::link::proto::FIRMWARE_RESUMES,
            model_hash: 7,
            max_frame: 32,
            arena_bytes: 544,
            image_h: 32,
            image_w: 32,
            latent: 2,
            classes: 6,
            kind: None,
            steps: 0,
            arena32: None,
        }
    }

    /// #19, item 3: a run the link cut is asked again, from the die after the last whole
    /// one, once the board's HELLO is back (the DONE of the ended run comes first).
    #[test]
    fn a_cut_run_is_asked_again_after_the_boards_hello() {
        let now = Instant::now();
        let mut m = MonitorView::default();
        let connected = || LinkEvent::Connected { port: "p".into() };
        m.on_event(connected(), now);
        m.on_event(LinkEvent::Hello(hello()), now);
        let LinkCmd::Generate { seed, .. } = m.roll(6) else {
            panic!("a roll is a GENERATE");
        };
        let die = |index: u16| {
            LinkEvent::Image(Image {
                index,
                label: 3,
                width: 32,
                height: 32,
                pixels: vec![0; 1024],
            })
        };
        m.on_event(die(0), now);
        m.on_event(die(1), now);
        m.on_event(
            LinkEvent::Disconnected {
                reason: "EIO".into(),
            },
            now,
        );
        m.on_event(connected(), now);
        assert_eq!(m.take_reask(), None, "not before the board's HELLO");
        // The board finishes the die it was drawing before it ends the run (review: this
        // die was asked for twice).
        m.on_event(die(2), now);
        m.on_event(LinkEvent::Done { count: 3 }, now);
        m.on_event(LinkEvent::Hello(hello()), now);
        let rest = LinkCmd::Generate {
            label: 0,
            count: 3,
            seed,
            temperature: 32,
            first: 3,
            steps: 0,
            preview: 0,
        };
        assert_eq!(m.take_reask(), Some(rest));
        assert_eq!(m.take_reask(), None, "once");
        // The asked-again run is itself resumed after another cut.
        m.on_event(die(3), now);
        m.on_event(connected(), now);
        m.on_event(LinkEvent::Hello(hello()), now);
        assert!(
            matches!(
                m.take_reask(),
                Some(LinkCmd::Generate {
                    first: 4,
                    steps: 0,
                    preview: 0,
                    count: 2,
                    ..
                })
            ),
            "a second cut"
        );
    }

    /// Review of #19, item 3: a roll during a run; the ended run's dice and DONE are not
    /// the new run's, so a cut of the new run is still asked again from its own dice.
    #[test]
    fn a_roll_during_a_run_keeps_the_new_run() {
        let now = Instant::now();
        let mut m = MonitorView::default();
        m.on_event(LinkEvent::Connected { port: "p".into() }, now);
        m.on_event(LinkEvent::Hello(hello()), now);
        m.roll(6);
        let LinkCmd::Generate { seed, .. } = m.roll(6) else {
            panic!("a roll is a GENERATE");
        };
        let die = |index: u16| {
            LinkEvent::Image(Image {
                index,
                label: 1,
                width: 32,
                height: 32,
                pixels: vec![0; 1024],
            })
        };
        m.on_event(die(4), now); // the first run's, before the board read the second roll
        m.on_event(LinkEvent::Done { count: 5 }, now);
        m.on_event(die(0), now);
        m.on_event(LinkEvent::Connected { port: "p".into() }, now);
        m.on_event(LinkEvent::Hello(hello()), now);
        assert_eq!(
            m.take_reask(),
            Some(LinkCmd::Generate {
                label: 0,
                count: 5,
                seed,
                temperature: 32,
                first: 1,
                steps: 0,
                preview: 0,
            })
        );
    }
}
