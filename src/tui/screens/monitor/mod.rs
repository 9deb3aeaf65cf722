//! The Monitor screen: the project's board (started the first time the screen is shown,
//! by `tui::workers::link`), the images it streams back or, on a classifier board, the
//! digits it is asked about; rates, the board's counters and a log.

pub mod canvas;
pub mod controls;
pub mod layout;
pub mod resume;
pub mod state;

use super::super::app::App;
use super::super::layout::{Screen, areas};
use super::super::msg::Effect;
use super::super::theme::{Theme, image_lines, truncate};
use crate::budget;
use crate::link::session::{LinkCmd, LinkEvent};
use crossterm::event::{KeyCode, KeyEvent};
use layout::{dice_area, gallery, monitor_rows, zoom_tile};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::Instant;

pub fn connect(app: &mut App) -> Option<Effect> {
    app.monitor.started = true;
    app.monitor.greeted = false;
    app.monitor.baud = app.project.board.baud;
    app.monitor.hello = None;
    app.monitor.other_model = None;
    app.monitor.state =
        state::LinkState::Starting(format!("starting the {} board", app.project.board.kind));
    Some(Effect::Connect {
        project: Box::new(app.project.clone()),
        path: app.path.clone(),
    })
}

/// An event of the board link.
pub fn on_event(app: &mut App, event: LinkEvent) -> Option<Effect> {
    record_progress(app, &event);
    let first_hello = matches!(event, LinkEvent::Hello(_))
        && !app.monitor.greeted
        && app.monitor.gallery.is_empty()
        && app.monitor.drawing.is_none();
    app.monitor.on_event(event, Instant::now());
    if let Some(cmd) = app.monitor.take_reask() {
        return Some(Effect::Link(cmd));
    }
    // A newcomer sees dice at once: the first HELLO rolls six (a classifier gets its
    // first test digit).
    if first_hello && (app.monitor.can_generate() || app.monitor.can_classify()) {
        app.monitor.greeted = true;
    }
    if first_hello && app.monitor.can_generate() {
        return Some(Effect::Link(app.monitor.roll(6)));
    }
    if first_hello && app.monitor.can_classify() && app.monitor.classified.is_none() {
        return next_digit(app);
    }
    None
}

/// What the workshop checklist learns from the board (a saved project only): the model
/// of each HELLO, and the images received, written at each DONE.
fn record_progress(app: &mut App, event: &LinkEvent) {
    use crate::workshop::progress::{Event, record};
    let events = match event {
        LinkEvent::Hello(h) => vec![Event::Hello {
            model_hash: h.model_hash,
        }],
        LinkEvent::Image(_) => {
            app.monitor.unrecorded += 1;
            return;
        }
        LinkEvent::Done { .. } => match app.monitor.hello {
            Some(h) if app.monitor.unrecorded > 0 => vec![Event::Images {
                model_hash: h.model_hash,
                count: std::mem::take(&mut app.monitor.unrecorded),
            }],
            _ => return,
        },
        _ => return,
    };
    if let Some(path) = app.path.as_ref().filter(|_| app.records_progress)
        && let Err(e) = record(path, events)
    {
        app.info(format!("The workshop progress was not saved: {e}"));
    }
}

/// The next input of the template's test data on the canvas, classified.
fn next_digit(app: &mut App) -> Option<Effect> {
    let (project, path) = (&app.project, &app.path);
    app.monitor
        .classify_next_digit(|| {
            crate::templates::of(project)
                .sample_inputs(&project.data_places(path.as_deref()), 1000)
                .map_err(|e| crate::util::error_chain(&e))
        })
        .map(Effect::Link)
}

/// Keys of the Monitor on a classifier board.
fn on_classifier_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    let live = app.monitor.can_classify();
    match key.code {
        KeyCode::Char('n') | KeyCode::Char('r') | KeyCode::Char(' ') if live => {
            return next_digit(app);
        }
        KeyCode::Enter | KeyCode::Char('s') if live => {
            return Some(Effect::Link(app.monitor.classify_canvas()));
        }
        KeyCode::Char('e') => app.monitor.clear_canvas(),
        KeyCode::Char('n' | 'r' | ' ' | 's') | KeyCode::Enter => {
            app.info("No board to ask; 'c' connects.");
        }
        _ => return on_monitor_key_common(app, key),
    }
    None
}

/// Whether the Monitor takes `key` itself even though a global key has the same letter.
pub fn claims(app: &App, key: &KeyEvent) -> bool {
    // A seed being typed takes every key (digits would switch screens).
    app.monitor.seed_entry.is_some()
        || app.monitor.is_classifier()
            && matches!(key.code, KeyCode::Char('n') | KeyCode::Char('s'))
}

/// The Monitor's keys.
pub fn on_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    if app.monitor.seed_entry.is_some() && app.monitor.seed_key(key.code) {
        return None;
    }
    if app.monitor.is_classifier() {
        return on_classifier_key(app, key);
    }
    match key.code {
        KeyCode::Char('e') => {
            app.monitor.seed_entry = Some(String::new());
            app.info("Type a seed for the next roll, then Enter (Esc: keep the current one).");
        }
        KeyCode::Char('t') if app.monitor.is_diffusion() => {
            app.monitor.cycle_steps();
            let n = app.monitor.run_steps();
            app.info(format!("The next rolls sample in {n} step(s)."));
        }
        KeyCode::Char('r') | KeyCode::Char(' ') => {
            if app.monitor.can_generate() {
                return Some(Effect::Link(app.monitor.roll(1)));
            }
            app.info("No board to roll on; 'c' connects.");
        }
        KeyCode::Char('g') if app.monitor.can_generate() => {
            return Some(Effect::Link(app.monitor.roll(6)));
        }
        _ => return on_monitor_key_common(app, key),
    }
    None
}

/// Monitor keys for every kind of board.
fn on_monitor_key_common(app: &mut App, key: KeyEvent) -> Option<Effect> {
    match key.code {
        KeyCode::Char('x') => return Some(Effect::Link(LinkCmd::Stop)),
        KeyCode::Char('c') => return connect(app),
        KeyCode::Char('v') => {
            app.monitor.cycle_style();
            let name = app.monitor.style_name();
            app.info(format!("Previews drawn as {name}."));
        }
        KeyCode::Char('p') => save_gallery(app),
        KeyCode::Char('z') if !app.monitor.is_classifier() => {
            app.monitor.zoom = !app.monitor.zoom;
            let (one, _) = app.image_words();
            app.info(if app.monitor.zoom {
                format!("The newest {one} alone, as large as the screen holds; z: the gallery.")
            } else {
                "The gallery, newest first; z zooms in on the newest.".to_string()
            });
        }
        _ => {}
    }
    None
}

/// Saves the gallery as a PNG next to the project (or in the working folder).
fn save_gallery(app: &mut App) {
    let (_, many) = app.image_words();
    let Some((px, w, h)) = app.monitor.gallery_png() else {
        app.info(format!("No {many} yet to save."));
        return;
    };
    let dir = app.start_dir();
    let path = (1..1000)
        .map(|n| dir.join(format!("{many}-{n:03}.png")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("{many}.png")));
    match crate::preview::write_png(&path, &px, w, h) {
        Ok(()) if app.path.is_some() && app.records_progress => {
            let project = app.path.clone().unwrap_or_default();
            let _ = crate::workshop::progress::record(
                &project,
                vec![crate::workshop::progress::Event::Png(path.clone())],
            );
            app.info(format!(
                "Saved {} {many} to {}",
                app.monitor.gallery.len(),
                path.display()
            ))
        }
        Ok(()) => app.info(format!(
            "Saved {} {many} to {}",
            app.monitor.gallery.len(),
            path.display()
        )),
        Err(e) => app.error(
            &format!("Could not save the {many}"),
            format!("{}: {e}", path.display()),
        ),
    }
}

/// Draws the Monitor; `now` dates the rates it shows.
pub fn render(app: &App, t: Theme, f: &mut Frame, area: Rect, now: Instant) {
    use ratatui::layout::{Constraint, Layout};
    use state::{LinkState, PreviewStyle};
    let m = &app.monitor;
    let block = t.block("Monitor", true);
    f.render_widget(block, area);
    let rows = monitor_rows(area);
    let (state, style) = match &m.state {
        LinkState::Off => ("not connected".to_string(), t.dim()),
        LinkState::Starting(what) => (format!("{what}…"), t.dim()),
        LinkState::Live => (
            match (&m.hello, &m.port) {
                (Some(h), Some(p)) => {
                    format!("{} on {p} · model {:08x}", h.board.name(), h.model_hash)
                }
                (_, Some(p)) => format!("connected on {p}, waiting for HELLO"),
                _ => "connected".into(),
            },
            t.ok(),
        ),
        LinkState::Disconnected(r) => (format!("disconnected: {r}"), t.error()),
        LinkState::Reconnecting(n) => (format!("disconnected; reconnecting (try {n})"), t.error()),
        LinkState::VersionError { board } => (
            format!(
                "version error: the board speaks protocol {board}, tinygen {}; update the firmware",
                crate::link::proto::PROTOCOL_VERSION
            ),
            t.error(),
        ),
        LinkState::Failed(r) => (format!("could not start the board: {r}"), t.error()),
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(&state, rows[0].width as usize),
            style,
        )),
        rows[0],
    );

    let cols = Layout::horizontal([Constraint::Min(20), Constraint::Length(24)]).split(rows[1]);
    let classifier = m.is_classifier();
    if classifier {
        let full = Rect::new(0, 0, app.size.0, app.size.1);
        canvas::render_classifier(app, t, f, cols[0], full);
    } else {
        render_dice(app, t, f, cols[0]);
    }

    let mut side = if classifier {
        let (asked, right) = m.tally;
        vec![
            Line::from(vec![
                Span::styled("right     ", t.dim()),
                Span::raw(if asked > 0 {
                    format!("{right} of {asked}")
                } else {
                    "–".into()
                }),
            ]),
            Line::from(vec![
                Span::styled("received  ", t.dim()),
                Span::raw(budget::bytes(m.total_bytes)),
            ]),
            Line::from(vec![
                Span::styled("damaged   ", t.dim()),
                Span::raw(format!("{} frames", m.damaged_frames)),
            ]),
        ]
    } else {
        vec![
            Line::from(vec![
                Span::styled(
                    format!("{:<10}", format!("{}/s", app.image_words().1)),
                    t.dim(),
                ),
                Span::raw(format!("{:.1}", m.fps(now))),
            ]),
            Line::from(vec![
                Span::styled("bytes/s   ", t.dim()),
                Span::raw(format!("{:.0}", m.bytes_per_second(now))),
            ]),
            Line::from(vec![
                Span::styled("link use  ", t.dim()),
                Span::raw(if m.hello.is_none_or(|h| h.board.paced_line()) {
                    format!("{:.0}% of {}", m.link_use(now) * 100.0, m.baud)
                } else {
                    "– (not paced)".into()
                }),
            ]),
            Line::from(vec![
                Span::styled("received  ", t.dim()),
                Span::raw(budget::bytes(m.total_bytes)),
            ]),
            Line::from(vec![
                Span::styled("damaged   ", t.dim()),
                Span::raw(format!("{} frames", m.damaged_frames)),
            ]),
        ]
    };
    if let Some(c) = m.last_cycles {
        side.push(Line::from(vec![
            Span::styled("counter   ", t.dim()),
            Span::raw(budget::count(u64::from(c))),
        ]));
    }
    if m.stack_bytes > 0 {
        side.push(Line::from(vec![
            Span::styled("stack     ", t.dim()),
            Span::raw(format!("{} B", m.stack_bytes)),
        ]));
    }
    if let Some(mem) = m.board_memory {
        // The runner's own peak, and what the last image read of its weights.
        side.push(Line::from(vec![
            Span::styled("peak mem  ", t.dim()),
            Span::raw(format!("{:.1} MB", f64::from(mem.peak_kb) / 1024.0)),
        ]));
        side.push(Line::from(vec![
            Span::styled("weights   ", t.dim()),
            Span::raw(format!("{:.1} MB read", f64::from(mem.weight_bytes) / 1e6)),
        ]));
    }
    if !classifier {
        side.push(Line::from(vec![
            Span::styled("preview   ", t.dim()),
            Span::raw(m.style_name()),
        ]));
        side.push(match &m.seed_entry {
            Some(typed) => Line::from(vec![
                Span::styled("seed      ", t.dim()),
                Span::styled(format!("{typed}▏"), t.ok()),
            ]),
            None => Line::from(vec![
                Span::styled("seed      ", t.dim()),
                // The latest roll's, or the one a user typed (or the first) for the next.
                Span::raw(match m.last_seed {
                    Some(s) if !m.seed_chosen => s.to_string(),
                    _ => format!("{} next", m.next_seed),
                }),
            ]),
        });
        if m.is_diffusion() {
            side.push(Line::from(vec![
                Span::styled("steps     ", t.dim()),
                Span::raw(m.run_steps().to_string()),
            ]));
        }
    }
    if let Some((board, want)) = m.other_model {
        side.push(Line::styled(format!("board model {board:08x}"), t.error()));
        side.push(Line::styled(format!("project's   {want:08x}"), t.error()));
    }
    f.render_widget(Paragraph::new(side), cols[1]);

    let log: Vec<Line> = m
        .log
        .iter()
        .rev()
        .take(rows[2].height as usize)
        .rev()
        .map(|l| Line::styled(truncate(l, rows[2].width as usize), t.dim()))
        .collect();
    f.render_widget(Paragraph::new(log), rows[2]);
    let keys = if m.seed_entry.is_some() {
        "type the seed of the next roll · Enter set · Backspace · Esc cancel"
    } else if classifier {
        "n next test digit · draw with the mouse (right erases) · Enter/s classify it · e erase · x stop · c reconnect"
    } else if m.is_diffusion() {
        "r roll · g six · e seed · t steps · x stop · v view · z zoom · p PNG · c reconnect"
    } else if m.style == PreviewStyle::Graphics {
        "r roll · g six · e seed · x stop · v view · z zoom · p save PNG · c reconnect (images drawn over the dice)"
    } else {
        "r roll · g six · e seed · x stop · v view · z zoom · p save PNG · c reconnect"
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            super::super::theme::key_line(keys, rows[3].width as usize),
            t.dim(),
        )),
        rows[3],
    );
}

/// The images the Monitor shows, in tile order: the image being drawn, then the gallery,
/// newest first. `(caption, pixels, width, height)`.
fn monitor_images(app: &App) -> Vec<(String, Vec<u8>, usize, usize)> {
    let m = &app.monitor;
    let mut tiles: Vec<(String, Vec<u8>, usize, usize)> = Vec::new();
    if let Some(d) = &m.drawing {
        // Rows so far on a blank image of the full height.
        let height = m.hello.map_or(d.width, |h| usize::from(h.image_h));
        let caption = match d.step {
            Some((s, n)) => format!("{} {}/{n}", app.caption(d.label), u32::from(s) + 1),
            None => format!("{}…", app.caption(d.label)),
        };
        tiles.push((caption, d.pixels.clone(), d.width, height));
    }
    for img in m.gallery.iter().rev() {
        tiles.push((
            app.caption(img.label),
            img.pixels.clone(),
            img.width,
            img.height,
        ));
    }
    tiles
}

/// Images to write over the Monitor after a frame, in the terminal's graphics protocol:
/// `(column, row, sequence)`.
pub fn monitor_graphics(app: &App) -> Vec<(u16, u16, String)> {
    let Some(protocol) = app.monitor.drawing_with() else {
        return Vec::new();
    };
    let too_small =
        app.size.0 < crate::tui::layout::MIN_WIDTH || app.size.1 < crate::tui::layout::MIN_HEIGHT;
    if app.screen != Screen::Monitor || app.popup.is_some() || too_small {
        return Vec::new();
    }
    let body = areas(Rect::new(0, 0, app.size.0, app.size.1)).body;
    let dice = dice_area(body);
    let images = monitor_images(app);
    // Zoomed: the newest image at twice the dots per pixel.
    let (tiles, scale) = if app.monitor.zoom {
        (vec![zoom_tile(dice).0], 6)
    } else {
        let g = gallery(dice, images.len());
        (g.tiles, if g.side < 32 { 2 } else { 3 })
    };
    tiles
        .into_iter()
        .zip(images)
        .filter(|(r, _)| r.height > 8)
        .map(|(r, (_, px, w, h))| {
            let mut full = px;
            full.resize(w * h, 0);
            (r.x, r.y + 1, protocol.encode(&full, w, h, scale))
        })
        .collect()
}

/// A square image of side `from` made smaller, to side `to`: each pixel the mean of the
/// pixels it covers.
fn shrink(px: &[u8], from: usize, to: usize) -> Vec<u8> {
    let to = to.max(1);
    let mut out = Vec::with_capacity(to * to);
    for y in 0..to {
        for x in 0..to {
            let (y0, y1) = (y * from / to, ((y + 1) * from / to).max(y * from / to + 1));
            let (x0, x1) = (x * from / to, ((x + 1) * from / to).max(x * from / to + 1));
            let mut sum = 0u32;
            let mut count = 0u32;
            for yy in y0..y1.min(from) {
                for xx in x0..x1.min(from) {
                    sum += u32::from(px.get(yy * from + xx).copied().unwrap_or(0));
                    count += 1;
                }
            }
            out.push((sum / count.max(1)) as u8);
        }
    }
    out
}

/// A square image of side `from` resampled (nearest pixel) to side `to`.
fn enlarge(px: &[u8], from: usize, to: usize) -> Vec<u8> {
    (0..to * to)
        .map(|i| {
            let (x, y) = (i % to * from / to, i / to * from / to);
            px.get(y * from + x).copied().unwrap_or(0)
        })
        .collect()
}

/// A word with its first letter in upper case.
fn capitalized(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// The image being drawn (rows so far) and then the gallery, newest first, as many as fit.
fn render_dice(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    use state::PreviewStyle;
    let m = &app.monitor;
    let tiles = monitor_images(app);
    if tiles.is_empty() {
        let (_, many) = app.image_words();
        let msg = if m.can_generate() {
            format!("No {many} yet: press r to roll.")
        } else {
            format!(
                "{} appear here as the board streams them.",
                capitalized(many)
            )
        };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim())), area);
        return;
    }
    let (cells, draw_side) = if m.zoom {
        let (tile, side) = zoom_tile(area);
        (vec![tile], Some(side))
    } else {
        let g = gallery(area, tiles.len());
        if let Some(line) = g.more_line.filter(|_| g.more > 0) {
            let (one, many) = app.image_words();
            let word = if g.more == 1 { one } else { many };
            let text = format!(
                "+{} more {word} · z: the newest, large · p: all as PNG",
                g.more
            );
            f.render_widget(
                Paragraph::new(Line::styled(truncate(&text, line.width as usize), t.dim())),
                line,
            );
        }
        (g.tiles, (g.side < 32).then_some(g.side))
    };
    for (cell, (label, px, width, height)) in cells.into_iter().zip(tiles) {
        let mut lines = vec![Line::styled(label, t.dim())];
        // A die still being drawn shows its rows so far; the rest stays blank. The
        // half-block drawing takes square images.
        let side = width.max(height).max(1);
        let mut full = px;
        full.resize(width * height, 0);
        if width != height {
            let mut square = vec![0u8; side * side];
            for (y, row) in full.chunks(width.max(1)).enumerate() {
                square[y * side..y * side + row.len()].copy_from_slice(row);
            }
            full = square;
        }
        let (full, width) = match draw_side {
            Some(z) if z < side => (shrink(&full, side, z), z),
            Some(z) => (enlarge(&full, side, z), z),
            None => (full, side),
        };
        if let Some(p) = m.drawing_with() {
            lines.push(Line::styled(format!("({})", p.name()), t.dim()));
        } else if m.style == PreviewStyle::Ascii || !t.color {
            lines.extend(
                crate::preview::ascii(&full, width)
                    .into_iter()
                    .map(Line::raw),
            );
        } else {
            lines.extend(image_lines(&full, width, 1, t));
        }
        f.render_widget(Paragraph::new(lines), cell);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Popup;
    use crate::tui::msg::Msg;
    use crate::tui::testing::{app, draw};
    use crate::tui::update::update;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn sixel_dice_are_painted_only_when_asked_and_inside_the_dice_area() {
        use crate::link::session::{Image, LinkEvent};
        let mut a = app(120, 40);
        a.screen = Screen::Monitor;
        for i in 0..3u16 {
            update(
                &mut a,
                Msg::Link(LinkEvent::Image(Image {
                    index: i,
                    label: 2,
                    width: 32,
                    height: 32,
                    pixels: crate::data::die::sample(1, u64::from(i)).pixels,
                })),
            );
        }
        assert!(monitor_graphics(&a).is_empty(), "half-blocks by default");
        a.monitor.graphics = Some(crate::graphics::Protocol::Sixel);
        a.monitor.cycle_style();
        a.monitor.cycle_style();
        assert_eq!(a.monitor.style, state::PreviewStyle::Graphics);
        let six = monitor_graphics(&a);
        assert_eq!(six.len(), 2, "two tiles fit 120x40");
        for (x, y, seq) in &six {
            assert!(*x < 120 - 24 && *y < 40, "({x},{y})");
            assert!(seq.starts_with("\x1bP") && seq.ends_with("\x1b\\"));
        }
        assert!(draw(&a).contains("(sixel)"));
        a.popup = Some(Popup::Help);
        assert!(monitor_graphics(&a).is_empty(), "no sixel over a popup");
        // Nor over the "terminal too small" notice.
        a.popup = None;
        a.size = (60, 20);
        assert!(
            monitor_graphics(&a).is_empty(),
            "no images over 'too small'"
        );
    }

    /// Regression: a die still being drawn (8 of 32 rows) used to panic the half-block
    /// renderer, which takes square images.
    #[test]
    fn a_die_half_drawn_renders() {
        use crate::link::session::LinkEvent;
        let mut a = app(80, 24);
        a.color = true;
        a.screen = Screen::Monitor;
        update(
            &mut a,
            Msg::Link(LinkEvent::Rows(crate::link::proto::ImageRows {
                index: 0,
                label: 4,
                first_row: 0,
                rows: 8,
                width: 32,
                data: vec![200; 256],
            })),
        );
        assert!(draw(&a).contains("4 pips…"));
        a.monitor.cycle_style();
        assert!(draw(&a).contains("4 pips…"));
    }

    /// The board sends a whole 32x32 die.
    fn receive_die(a: &mut App, index: u16, label: u8, pixels: Vec<u8>) {
        use crate::link::session::{Image, LinkEvent};
        let image = Image {
            index,
            label,
            width: 32,
            height: 32,
            pixels,
        };
        update(a, Msg::Link(LinkEvent::Image(image)));
    }

    #[test]
    fn monitor_with_streamed_dice() {
        use crate::link::proto::{BoardId, Hello};
        use crate::link::session::LinkEvent;
        let mut engine = crate::engine::Engine::load(crate::templates::die::DEFAULT_BLOB).unwrap();
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app(w, h);
            let effect = update(
                &mut a,
                Msg::Key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE)),
            );
            assert!(
                matches!(effect, Some(crate::tui::msg::Effect::Connect { .. })),
                "connects on first view"
            );
            update(
                &mut a,
                Msg::Link(LinkEvent::Connected {
                    port: "/dev/pts/7".into(),
                }),
            );
            let hello = Hello {
                protocol: 1,
                board: BoardId::Sim,
                firmware: 0x0100,
                model_hash: 0x4e89_3e4c,
                max_frame: 32,
                arena_bytes: 544,
                image_h: 32,
                image_w: 32,
                latent: 2,
                classes: 6,
                kind: None,
                steps: 0,
                arena32: None,
            };
            let effect = update(&mut a, Msg::Link(LinkEvent::Hello(hello)));
            assert!(
                matches!(
                    effect,
                    Some(crate::tui::msg::Effect::Link(
                        crate::link::session::LinkCmd::Generate { count: 6, .. }
                    ))
                ),
                "the first HELLO rolls six dice"
            );
            for (i, pips) in [3u8, 6, 1].into_iter().enumerate() {
                let x = crate::engine::latent_input(5, i as u16, 32, pips, 2, 6);
                receive_die(&mut a, i as u16, pips, engine.run(&x).unwrap());
            }
            update(
                &mut a,
                Msg::Link(LinkEvent::Incomplete { index: 3, rows: 16 }),
            );
            insta::assert_snapshot!(format!("monitor_live_{w}x{h}"), draw(&a));
            // 'r' rolls one die; 'v' switches the preview to ASCII.
            let effect = update(
                &mut a,
                Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
            );
            assert!(matches!(
                effect,
                Some(crate::tui::msg::Effect::Link(
                    crate::link::session::LinkCmd::Generate {
                        label: 0,
                        count: 1,
                        ..
                    }
                ))
            ));
            // The board goes away: the Monitor says so, and 'r' sends nothing.
            update(
                &mut a,
                Msg::Link(LinkEvent::Disconnected {
                    reason: "Input/output error".into(),
                }),
            );
            update(&mut a, Msg::Link(LinkEvent::Reconnecting { attempt: 2 }));
            let effect = update(
                &mut a,
                Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
            );
            assert_eq!(effect, None);
            assert!(draw(&a).contains("reconnecting (try 2)"));
        }
    }

    /// Issue #15: 'z' shows the newest die alone and larger, so a person can see whether
    /// its pips are distinct; a second 'z' goes back to the gallery.
    #[test]
    fn z_zooms_in_on_the_newest_die() {
        let mut a = app(120, 40);
        a.color = true;
        a.screen = Screen::Monitor;
        for (i, pips) in [2u8, 6].into_iter().enumerate() {
            let pixels = crate::data::die::sample(3, u64::from(pips) - 1).pixels;
            receive_die(&mut a, i as u16, pips, pixels);
        }
        let normal = draw(&a);
        assert!(normal.contains("2 pips") && normal.contains("6 pips"));
        update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)),
        );
        assert!(a.monitor.zoom);
        let zoomed = draw(&a);
        assert!(
            zoomed.contains("6 pips") && !zoomed.contains("2 pips"),
            "{zoomed}"
        );
        // The image spans 60 cells (30 rows of half-blocks), not 32.
        let widest = zoomed
            .lines()
            .map(|l| l.matches('▀').count())
            .max()
            .unwrap_or(0);
        assert_eq!(widest, 60, "{zoomed}");
        // Without colour the same zoom is ASCII, which the snapshot can show.
        a.color = false;
        insta::assert_snapshot!("monitor_zoom_120x40", draw(&a));
        a.color = true;
        a.monitor.graphics = Some(crate::graphics::Protocol::Sixel);
        a.monitor.style = state::PreviewStyle::Graphics;
        let six = monitor_graphics(&a);
        assert_eq!(six.len(), 1, "one zoomed sixel");
        update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)),
        );
        assert!(!a.monitor.zoom);
        assert_eq!(monitor_graphics(&a).len(), 2);
    }
}
