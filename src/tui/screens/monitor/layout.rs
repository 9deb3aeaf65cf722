//! Where the Monitor's parts sit: its rows, the dice tiles, and the 16x16 canvas of a
//! classifier board (rendering and mouse painting share this).

use super::super::super::layout::areas;
use ratatui::layout::{Constraint, Layout, Rect};

/// The Monitor's rows inside its border: the link line, the dice and side panel, the log,
/// the keys.
pub fn monitor_rows(area: Rect) -> std::rc::Rc<[Rect]> {
    let inner = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .split(inner)
}

/// Size of one die tile on the Monitor, in cells.
pub const TILE: (u16, u16) = (34, 17);

/// Zoomed, the newest image fills the dice area: its tile, and the image's side in cells
/// (half-blocks: one cell is one pixel wide and two high), at least the normal 32.
pub fn zoom_tile(area: Rect) -> (Rect, usize) {
    let side = usize::from(area.width).min(2 * usize::from(area.height.saturating_sub(1)));
    let side = side.max(32) & !1;
    let tile = Rect {
        width: (side as u16).min(area.width),
        ..area
    };
    (tile, side)
}

/// Where the dice go: one tile each, row by row, as many as `area` holds.
pub fn dice_tiles(area: Rect, n: usize) -> Vec<Rect> {
    let (w, h) = TILE;
    let per_row = (area.width / w).max(1);
    let rows = (area.height / h).max(1);
    (0..n.min((per_row * rows) as usize) as u16)
        .map(|k| Rect {
            x: area.x + (k % per_row) * w,
            y: area.y + (k / per_row) * h,
            width: w.min(area.width),
            height: h.min(area.height.saturating_sub((k / per_row) * h)),
        })
        .filter(|r| r.height > 0)
        .collect()
}

/// Where the Monitor's 16x16 canvas sits for a terminal of size `full`, and how many
/// pixels one cell holds: `(area, full_scale)`. At full scale a pixel is two cells wide
/// and one high; otherwise one cell holds two pixels, one above the other (half blocks).
pub fn canvas_geometry(full: Rect) -> (Rect, bool) {
    let body = areas(full).body;
    let rows = monitor_rows(body);
    let cols = Layout::horizontal([Constraint::Min(20), Constraint::Length(24)]).split(rows[1]);
    let area = cols[0];
    // One line of caption above the canvas.
    let full_scale = area.height > 16 && area.width >= 32;
    let (w, h) = if full_scale { (32, 16) } else { (16, 8) };
    let canvas = Rect {
        x: area.x,
        y: area.y + 1,
        width: w,
        height: h,
    }
    .intersection(area);
    (canvas, full_scale)
}

/// The canvas pixels under terminal cell `at` (none when it is off the canvas).
pub fn canvas_pixels_at(full: Rect, at: ratatui::layout::Position) -> Option<Vec<(usize, usize)>> {
    let (c, full_scale) = canvas_geometry(full);
    if !c.contains(at) {
        return None;
    }
    let (dx, dy) = ((at.x - c.x) as usize, (at.y - c.y) as usize);
    Some(if full_scale {
        vec![(dx / 2, dy)]
    } else {
        vec![(dx, 2 * dy), (dx, 2 * dy + 1)]
    })
}

/// The dice area: the left column of the Monitor's middle row.
pub fn dice_area(body: Rect) -> Rect {
    let rows = monitor_rows(body);
    Layout::horizontal([Constraint::Min(20), Constraint::Length(24)]).split(rows[1])[0]
}
