//! The Monitor's controls of the next roll: its seed (shown, and typed with `e`) and, on a
//! diffusion board, its sampling steps (`t` strides the schedule: 8, 4, 2, 1).

use super::state::MonitorView;
use crate::spec::ModelKind;

impl MonitorView {
    /// Whether the board samples by diffusion (steps, previews), as its HELLO says.
    pub fn is_diffusion(&self) -> bool {
        self.hello.and_then(|h| h.model_kind()) == Some(ModelKind::Diffusion)
    }

    /// The steps the next diffusion run takes: the chosen ones, else the model's default.
    pub fn run_steps(&self) -> u8 {
        match (self.steps, self.hello) {
            (0, Some(h)) if h.steps > 0 => h.steps,
            (0, _) => 8,
            (s, _) => s,
        }
    }

    /// `t`: the next of the step counts 8, 4, 2, 1 (a stride of the default schedule).
    pub fn cycle_steps(&mut self) {
        let now = self.run_steps();
        self.steps = match now {
            s if s > 4 => 4,
            s if s > 2 => 2,
            s if s > 1 => 1,
            _ => self.hello.map_or(8, |h| h.steps.max(1)),
        };
    }

    /// A key while a seed is typed: digits, Backspace, Enter (sets it), Esc (drops it).
    /// Any other key drops it too and is not taken (`false`), so `x` still stops a run.
    pub fn seed_key(&mut self, code: crossterm::event::KeyCode) -> bool {
        use crossterm::event::KeyCode;
        let Some(text) = &mut self.seed_entry else {
            return false;
        };
        match code {
            KeyCode::Char(c) if c.is_ascii_digit() && text.len() < 10 => text.push(c),
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Enter => {
                let typed = self.seed_entry.take().unwrap_or_default();
                match typed.parse::<u32>() {
                    Ok(seed) => {
                        self.next_seed = seed;
                        self.seed_chosen = true;
                        self.log(format!("the next roll uses seed {seed}"));
                    }
                    Err(_) if typed.is_empty() => {}
                    Err(_) => self.log(format!("{typed} is not a seed (0 to {})", u32::MAX)),
                }
            }
            KeyCode::Esc => self.seed_entry = None,
            KeyCode::Char(c) if c.is_ascii_digit() => {} // ten digits are enough
            _ => {
                self.seed_entry = None;
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::link::proto::{BoardId, Hello, PROTOCOL_VERSION, StepPreview};
    use crate::link::session::{LinkCmd, LinkEvent};
    use crate::spec::ModelKind;
    use crate::tui::app::App;
    use crate::tui::msg::{Effect, Msg};
    use crate::tui::testing::{draw, key};
    use crate::tui::update::update;
    use crossterm::event::KeyCode;

    fn diffusion_hello() -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            board: BoardId::Sim,
            firmware: 0x0102,
            model_hash: 0x5d1f_f00d,
            max_frame: 32,
            arena_bytes: 0xffff,
            image_h: 32,
            image_w: 32,
            latent: 4,
            classes: 6,
            kind: Some(ModelKind::Diffusion),
            steps: 8,
            arena32: Some(150_000),
        }
    }

    fn sent(effect: Option<Effect>) -> LinkCmd {
        match effect {
            Some(Effect::Link(cmd)) => cmd,
            other => panic!("no command: {other:?}"),
        }
    }

    /// Issue #16, item 4: on a diffusion board the Monitor asks for a preview of every
    /// step, shows the die forming with its step, and lets the user choose the seed (`e`)
    /// and the steps (`t`) of the next roll.
    #[test]
    fn a_diffusion_board_shows_each_die_forming_with_its_seed_and_steps() {
        for (w, h) in [(80, 24), (120, 40)] {
            let p = crate::templates::default_project("streaming-sd").unwrap();
            let mut a = App::new(p, None, (w, h));
            a.color = false;
            key(&mut a, KeyCode::Char('5'));
            update(
                &mut a,
                Msg::Link(LinkEvent::Connected {
                    port: "/dev/pts/7".into(),
                }),
            );
            let first = sent(update(
                &mut a,
                Msg::Link(LinkEvent::Hello(diffusion_hello())),
            ));
            assert!(
                matches!(
                    first,
                    LinkCmd::Generate {
                        count: 6,
                        seed: 1,
                        steps: 8,
                        preview: 1,
                        ..
                    }
                ),
                "{first:?}"
            );
            // Regression: the board's second HELLO (at boot, then the one asked for) rolled
            // six more, and that run ended the first; it is also logged once.
            let again = update(&mut a, Msg::Link(LinkEvent::Hello(diffusion_hello())));
            assert_eq!(again, None, "one HELLO roll per connection");
            let hellos = a
                .monitor
                .log
                .iter()
                .filter(|l| l.starts_with("HELLO"))
                .count();
            assert_eq!(hellos, 1, "{:?}", a.monitor.log);
            // Step 3 of 8 of the first die: a blurry estimate, captioned with its step.
            let pixels: Vec<u8> = (0..1024).map(|i| (i % 32 * 8) as u8).collect();
            update(
                &mut a,
                Msg::Link(LinkEvent::Step(StepPreview {
                    index: 0,
                    label: 6,
                    step: 2,
                    steps: 8,
                    height: 32,
                    width: 32,
                    pixels,
                })),
            );
            let screen = draw(&a);
            assert!(screen.contains("6 pips 3/8"), "{screen}");
            assert!(screen.contains("steps     8"), "{screen}");
            assert!(screen.contains("seed      1"), "{screen}");
            insta::assert_snapshot!(format!("monitor_diffusion_{w}x{h}"), screen);

            // 't' strides the schedule: 4 steps for the next roll.
            key(&mut a, KeyCode::Char('t'));
            assert!(draw(&a).contains("steps     4"));
            // 'e' 4 2 Enter: the next roll uses seed 42; digits do not switch screens.
            key(&mut a, KeyCode::Char('e'));
            for c in ['4', '2'] {
                key(&mut a, KeyCode::Char(c));
            }
            assert!(draw(&a).contains("42▏"), "{}", draw(&a));
            key(&mut a, KeyCode::Enter);
            assert_eq!(a.screen, crate::tui::layout::Screen::Monitor);
            assert!(draw(&a).contains("seed      42 next"), "{}", draw(&a));
            let roll = sent(update(
                &mut a,
                Msg::Key(crossterm::event::KeyEvent::from(KeyCode::Char('r'))),
            ));
            assert!(
                matches!(
                    roll,
                    LinkCmd::Generate {
                        count: 1,
                        seed: 42,
                        steps: 4,
                        preview: 1,
                        ..
                    }
                ),
                "{roll:?}"
            );
            assert!(draw(&a).contains("seed      42"));
            // Esc drops a seed being typed; a bad one is refused with a word.
            key(&mut a, KeyCode::Char('e'));
            key(&mut a, KeyCode::Char('9'));
            key(&mut a, KeyCode::Esc);
            assert!(a.monitor.seed_entry.is_none());
            assert_ne!(a.monitor.next_seed, 9);
            // Review: 'x' while typing stopped nothing; it now drops the seed and stops.
            key(&mut a, KeyCode::Char('e'));
            let stop = update(
                &mut a,
                Msg::Key(crossterm::event::KeyEvent::from(KeyCode::Char('x'))),
            );
            assert_eq!(stop, Some(Effect::Link(LinkCmd::Stop)));
            assert!(a.monitor.seed_entry.is_none());
        }
    }

    #[test]
    fn steps_cycle_through_the_strides_of_the_default_schedule() {
        let mut m = super::MonitorView::default();
        m.hello = Some(diffusion_hello());
        let mut seen = vec![m.run_steps()];
        for _ in 0..4 {
            m.cycle_steps();
            seen.push(m.run_steps());
        }
        assert_eq!(seen, [8, 4, 2, 1, 8]);
        // A seed too large for 32 bits is refused, not wrapped.
        m.seed_entry = Some("9999999999".into());
        m.seed_key(KeyCode::Enter);
        assert_eq!(m.next_seed, 1);
        assert!(
            m.log.back().unwrap().contains("is not a seed"),
            "{:?}",
            m.log
        );
    }
}
