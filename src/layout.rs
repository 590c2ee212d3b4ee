//! The screen's geometry in one place: which pane goes where for a terminal size, focus and
//! zoom. The app asks it what is under the mouse and the ui draws into the same rectangles, so
//! the two cannot disagree. Pure: no state, no drawing; it sits below both.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this size the console shows one pane at a time, with a tab bar.
pub const FULL_WIDTH: u16 = 120;
pub const FULL_HEIGHT: u16 = 36;

/// The five panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Checklist,
    Env,
    Logs,
    Latency,
    Twilio,
}

impl Pane {
    /// Every pane, in focus order (the numbers 1-5).
    pub const ALL: [Pane; 5] = [
        Self::Checklist,
        Self::Env,
        Self::Logs,
        Self::Latency,
        Self::Twilio,
    ];

    /// The pane's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Checklist => "Checklist",
            Self::Env => "Env vars",
            Self::Logs => "Logs",
            Self::Latency => "Latency",
            Self::Twilio => "Twilio",
        }
    }

    pub(crate) fn index(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub(crate) fn offset(self, by: isize) -> Self {
        let n = Self::ALL.len() as isize;
        Self::ALL[((self.index() as isize + by).rem_euclid(n)) as usize]
    }
}

/// The areas of one frame: the header row, the tab bar (one pane at a time, unzoomed), each
/// visible pane, the footer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub header: Rect,
    pub tab_bar: Option<Rect>,
    pub panes: Vec<(Pane, Rect)>,
    pub footer: Rect,
}

impl Screen {
    /// The layout of a terminal of `size` (columns, rows).
    pub fn new(size: (u16, u16), focus: Pane, is_zoomed: bool) -> Self {
        Self::of(Rect::new(0, 0, size.0, size.1), focus, is_zoomed)
    }

    /// The layout of `area`.
    pub fn of(area: Rect, focus: Pane, is_zoomed: bool) -> Self {
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        let tabs = !is_full(area.width, area.height) && !is_zoomed;
        let (tab_bar, body) = if tabs && body.height > 1 {
            let [bar, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
            (Some(bar), rest)
        } else {
            (None, body)
        };
        Self {
            header,
            tab_bar,
            panes: panes(body, focus, is_zoomed),
            footer,
        }
    }
}

/// Whether a terminal this size shows all five panes at once.
pub fn is_full(width: u16, height: u16) -> bool {
    width >= FULL_WIDTH && height >= FULL_HEIGHT
}

/// Where each visible pane goes in the body area.
fn panes(body: Rect, focus: Pane, is_zoomed: bool) -> Vec<(Pane, Rect)> {
    if body.width == 0 || body.height == 0 {
        return Vec::new();
    }
    if is_zoomed || !is_full(body.width, body.height + 2) {
        return vec![(focus, body)];
    }
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Percentage(38),
        Constraint::Percentage(27),
        Constraint::Min(6),
    ])
    .areas(body);
    let [checklist, env] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
    let [latency, twilio] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(middle);
    vec![
        (Pane::Checklist, checklist),
        (Pane::Env, env),
        (Pane::Latency, latency),
        (Pane::Twilio, twilio),
        (Pane::Logs, bottom),
    ]
}
