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

/// A small tile: a 32x32 image at half size (16x16 pixels, 8 rows of half blocks).
pub const SMALL_TILE: (u16, u16) = (18, 9);

/// How the gallery is laid out in the dice area.
#[derive(Debug, Clone, PartialEq)]
pub struct Gallery {
    /// One tile per image shown, newest first, row by row.
    pub tiles: Vec<Rect>,
    /// The side, in pixels, each image is drawn at (32, or 16 when small tiles show more).
    pub side: usize,
    /// Images kept but not shown: said as "+N more" on the area's last line.
    pub more: usize,
    /// Where "+N more" goes.
    pub more_line: Option<Rect>,
}

/// Where the images go: full-size tiles when at least two (or all) fit whole, else small
/// ones; when not all fit, the last line says how many more there are (#18, item 6).
pub fn gallery(area: Rect, n: usize) -> Gallery {
    let fits = |(w, h): (u16, u16), height: u16| {
        usize::from((area.width / w).max(1)) * usize::from(height / h)
    };
    let big_fits = fits(TILE, area.height);
    let (tile, side) = if big_fits >= n.min(2) && big_fits > 0 {
        (TILE, 32)
    } else {
        (SMALL_TILE, 16)
    };
    let mut height = area.height;
    let mut shown = n.min(fits(tile, height));
    let mut more_line = None;
    if shown < n && area.height > 0 {
        // Room for the "+N more" line.
        height = area.height - 1;
        shown = n.min(fits(tile, height));
        more_line = Some(Rect {
            y: area.y + height,
            height: 1,
            ..area
        });
    }
    if shown == 0 && n > 0 {
        // Not even one whole tile: one, clipped, rather than none.
        shown = 1;
    }
    let (w, h) = tile;
    let per_row = (area.width / w).max(1);
    let tiles = (0..shown as u16)
        .map(|k| Rect {
            x: area.x + (k % per_row) * w,
            y: area.y + (k / per_row) * h,
            width: w.min(area.width),
            height: h.min(height.saturating_sub((k / per_row) * h)),
        })
        .filter(|r| r.height > 0)
        .collect::<Vec<_>>();
    Gallery {
        more: n - tiles.len(),
        tiles,
        side,
        more_line,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// #18, item 6: the Monitor showed 1 clipped die of 12 at 80x24 and 2 at 120x40, and
    /// said nothing of the others.
    #[test]
    fn the_gallery_fits_its_tiles_and_counts_the_rest() {
        // Too short for a whole 32x32 die: half-size tiles, whole, and the rest counted.
        let short = Rect::new(0, 0, 54, 13);
        let g = gallery(short, 12);
        assert_eq!(g.side, 16);
        assert_eq!(g.tiles.len(), 3, "{g:?}");
        assert!(g.tiles.iter().all(|r| r.height == SMALL_TILE.1));
        assert_eq!(g.more, 9);
        assert_eq!(g.more_line.unwrap().y, 12);
        // Tall enough for two whole dice side by side: full size.
        let wide = Rect::new(0, 0, 94, 31);
        let g = gallery(wide, 12);
        assert_eq!((g.side, g.tiles.len(), g.more), (32, 2, 10));
        // Everything fits: no "more" line.
        let g = gallery(wide, 2);
        assert_eq!((g.tiles.len(), g.more, g.more_line), (2, 0, None));
        // One image always shows, even clipped.
        assert_eq!(gallery(Rect::new(0, 0, 10, 4), 5).tiles.len(), 1);
        assert_eq!(gallery(short, 0).tiles.len(), 0);
    }
}
