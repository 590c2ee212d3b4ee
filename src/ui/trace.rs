//! The trace window (`T`): one OTP start's hops as a waterfall, in time order with their
//! offsets and durations, coloured by how each went, missing hops last with why. `←`/`→` go to
//! older and newer starts. Fits 80 columns: the bar narrows, the text is cut with `…`.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme;
use super::traffic::clip as cut;
use crate::diagnosis::trace::{self, HopState, Trace};
use crate::keymap;

/// Columns of `+60.0 s ` before the bar, and of the hop's label after it.
const OFFSET_W: usize = 8;
const LABEL_W: usize = 10;

/// The window's title and lines for the trace `back` before the latest, `width` columns wide
/// inside its border.
pub fn content(traces: &[Trace], back: usize, width: u16) -> (String, Vec<Line<'static>>) {
    let Some(t) = traces.iter().rev().nth(back).or_else(|| traces.first()) else {
        return ("Trace".into(), vec![Line::raw("No OTP start to trace yet")]);
    };
    let width = usize::from(width).max(20);
    let bar_w = ((width.saturating_sub(OFFSET_W + LABEL_W + 12)) / 4).clamp(6, 24);
    let whose = if t.source == "user" { "a user's " } else { "" };
    let title = format!(
        "Trace · {whose}OTP start to •{} at {} ({} of {})",
        t.phone_last4,
        super::logs::hh_mm_ss(t.started_ms),
        traces.len() - back.min(traces.len() - 1),
        traces.len()
    );
    let span_ms = (t.end_ms() - t.started_ms).max(1);
    let mut lines = vec![Line::from(Span::styled(
        cut(
            &format!(
                "{} hops over {}, in time order",
                t.hops.len(),
                crate::diagnosis::fmt_ms(span_ms.unsigned_abs())
            ),
            width,
        ),
        Style::new().fg(theme::DIM),
    ))];
    for hop in &t.hops {
        let colour = match hop.state {
            HopState::Ok => theme::PASS,
            HopState::Fail => theme::FAIL,
            HopState::Pending => theme::WARN,
            HopState::Missing => theme::DIM,
        };
        let at = hop
            .at_ms
            .map_or_else(|| "—".to_owned(), |at| trace::offset(at - t.started_ms));
        let text_w = width.saturating_sub(OFFSET_W + bar_w + LABEL_W + 2);
        lines.push(Line::from(vec![
            Span::styled(
                format!("{at:>w$} ", w = OFFSET_W - 1),
                Style::new().fg(theme::DIM),
            ),
            Span::styled(
                bar(hop, t.started_ms, span_ms, bar_w),
                Style::new().fg(colour),
            ),
            Span::styled(
                format!(" {:<w$}", hop.kind.label(), w = LABEL_W - 1),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                cut(&hop.text, text_w),
                Style::new().fg(match hop.state {
                    HopState::Missing => theme::DIM,
                    _ => ratatui::style::Color::Reset,
                }),
            ),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        cut(&keymap::hints(keymap::TRACE_KEYS), width),
        Style::new().fg(theme::DIM),
    )));
    (title, lines)
}

/// The hop on the trace's time axis, `width` cells: `█` while it lasts (at least one cell),
/// `·` elsewhere; a missing hop is dots alone.
fn bar(hop: &trace::Hop, start_ms: i64, span_ms: i64, width: usize) -> String {
    let Some(at) = hop.at_ms else {
        return "·".repeat(width);
    };
    let cell = |ms: i64| -> usize {
        let ms = ms.clamp(0, span_ms);
        ((ms as f64 / span_ms as f64) * width as f64).floor() as usize
    };
    let from = cell(at - start_ms).min(width - 1);
    let to = cell(at - start_ms + hop.duration_ms.unwrap_or(0) as i64)
        .max(from + 1)
        .min(width);
    (0..width)
        .map(|i| if (from..to).contains(&i) { '█' } else { '·' })
        .collect()
}
