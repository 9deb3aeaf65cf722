//! Where things are on screen for a terminal of a given size: the screens and their tabs,
//! and the rectangles that rendering and mouse hit-testing share.

use ratatui::layout::Rect;

/// The five screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Project,
    Train,
    Budget,
    Deploy,
    Monitor,
}

impl Screen {
    pub const ALL: [Screen; 5] = [
        Screen::Project,
        Screen::Train,
        Screen::Budget,
        Screen::Deploy,
        Screen::Monitor,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Project => "Project",
            Screen::Train => "Train",
            Screen::Budget => "Budget",
            Screen::Deploy => "Deploy",
            Screen::Monitor => "Monitor",
        }
    }

    pub fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Where things are on screen for a terminal of a given size.
#[derive(Debug, Clone)]
pub struct Areas {
    pub tabs: Rect,
    pub body: Rect,
    pub status: Rect,
    /// The clickable extent of each tab label.
    pub tab_hits: Vec<(Rect, Screen)>,
    pub templates: Rect,
    pub form: Rect,
}

/// The text of one tab, as drawn.
pub fn tab_label(s: Screen) -> String {
    format!(" {} {} ", s.index() + 1, s.title())
}

pub const BRAND: &str = " tinygen ";

pub fn areas(area: Rect) -> Areas {
    let tabs = Rect {
        height: 1.min(area.height),
        ..area
    };
    let status = Rect {
        y: area.y + area.height.saturating_sub(1),
        height: 1.min(area.height),
        ..area
    };
    let body = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(2),
        ..area
    };
    let mut x = area.x + BRAND.len() as u16 + 1;
    let mut tab_hits = Vec::new();
    for s in Screen::ALL {
        let w = tab_label(s).chars().count() as u16;
        tab_hits.push((
            Rect {
                x,
                y: tabs.y,
                width: w,
                height: 1,
            }
            .intersection(tabs),
            s,
        ));
        x += w + 1;
    }
    let left = if body.width >= 100 { 30 } else { 26 }.min(body.width / 2);
    let templates = Rect {
        width: left,
        ..body
    };
    let form = Rect {
        x: body.x + left,
        width: body.width - left,
        ..body
    };
    Areas {
        tabs,
        body,
        status,
        tab_hits,
        templates,
        form,
    }
}

/// Rows of the form that fit, and the first one shown, keeping the selection visible.
pub fn form_window(form_area: Rect, selected: usize) -> (usize, usize) {
    // Borders (2) and the two hint/error lines at the bottom.
    let rows = form_area.height.saturating_sub(4).max(1) as usize;
    let offset = (selected + 1).saturating_sub(rows);
    (rows, offset)
}

/// The popup rectangle for the in-terminal picker, centred.
/// The smallest terminal every screen is drawn for (and tested at); below it the
/// screens would cut their tabs, wrap their tables and hide their last lines (#18, item 9).
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn picker_area(area: Rect) -> Rect {
    centered(area, 64, 18)
}

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Rows of the picker list that fit, and the first one shown.
pub fn picker_window(popup: Rect, selected: usize) -> (usize, usize) {
    // Border (2), folder line, filename line, hint line.
    let rows = popup.height.saturating_sub(5).max(1) as usize;
    (rows, (selected + 1).saturating_sub(rows))
}
