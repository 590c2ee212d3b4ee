//! Drawing, pure: `render(&App, frame)` borrows the state and changes nothing. One file per
//! pane under `ui/`; this file lays them out, draws the header, the footer and the modals.
//!
//! At 120×36 and above, all five panes:
//! ```text
//! ┌ DEMO · simulated · scenario event-loop-blocking ─────── verdict: event_loop_blocked ┐
//! ├─ 1 Checklist ───────────────────────────┬─ 2 Env vars ──────────────────────────────┤
//! │ ✓ task definition has the Twilio vars   │ ENV                prod                    │
//! │ … verdict, evidence, repair             │ TWILIO_AUTH_TOKEN  ••••••••                │
//! ├─ 4 Latency ─────────────────────────────┼─ 5 Twilio ────────────────────────────────┤
//! │ health ▁▁▁▁█▁  p50 12 ms  p95 4.5 s     │ account active · Verify VA0a1b2c…          │
//! ├─ 3 Logs ────────────────────────────────┴───────────────────────────────────────────┤
//! │ 12:01:02 [OTP] OTP sent successfully phone_last4=6318                               │
//! └ ? help  Tab next pane  z zoom  r probe all  o OTP start ... ────────── status line ┘
//! ```
//! Smaller terminals get one pane at a time with a tab bar; a zoomed pane fills the screen.

/// The changes timeline: the env pane's second tab.
pub mod changes;
/// The checklist and the verdict.
pub mod checklist;
/// Env vars of the deployed task definition, rule results, the diff.
pub mod env;
/// Latency per endpoint over time.
pub mod latency;
/// Followed log lines, highlighted, filtered.
pub mod logs;
/// The help overlay and the modals.
pub mod modal;
/// The network path to Twilio, one line per hop (a section of the env pane).
pub mod network;
/// The repair window: choose, form, plan and confirm, rollout, verification.
pub mod repair;
/// The trace window: one OTP start's hops as a waterfall.
pub mod trace;
/// The latency pane's "real traffic" section: users' requests per endpoint, the load balancer.
pub mod traffic;
/// Twilio: account, service, credentials, status page, sends, the demo inbox.
pub mod twilio;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget};
use ratatui::Frame;

use crate::app::{App, Freshness, Pane};
use crate::diagnosis::FailureMode;
use crate::engine::every;
use crate::keymap;
use crate::layout::Screen;

/// Colours in one place.
pub mod theme {
    use ratatui::style::Color;

    pub const PASS: Color = Color::Green;
    pub const FAIL: Color = Color::Red;
    pub const WARN: Color = Color::Yellow;
    pub const DIM: Color = Color::DarkGray;
    pub const ACCENT: Color = Color::Cyan;
}

/// Draws the whole console.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    render_to(app, area, frame.buffer_mut());
}

/// Draws the console into a buffer (what snapshot tests call).
pub fn render_to(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let screen = Screen::of(area, app.focus, app.is_zoomed);
    header_line(app).render(screen.header, buf);
    footer_line(app, screen.footer.width).render(screen.footer, buf);
    if let Some(bar) = screen.tab_bar {
        tab_bar(app).render(bar, buf);
    }
    for (pane, rect) in screen.panes {
        render_pane(app, pane, rect, buf);
    }
    if let Some(modal) = &app.modal {
        modal::render(app, modal, area, buf);
    }
}

fn header_line(app: &App) -> Line<'static> {
    let mut spans = Vec::new();
    // The context first, in its colour: over a screen share everyone sees which environment
    // is on screen.
    if let Some(context) = app.target.as_ref().and_then(|t| t.names.context.as_ref()) {
        let colour = context
            .color
            .as_deref()
            .and_then(|c| c.parse::<Color>().ok())
            .unwrap_or(theme::ACCENT);
        spans.push(Span::styled(
            format!(" {} ", crate::redact::sanitize(&context.name)),
            Style::new()
                .fg(Color::Black)
                .bg(colour)
                .add_modifier(Modifier::BOLD),
        ));
    }
    let demo = app.target.as_ref().and_then(|t| t.demo_scenario.clone());
    if demo.is_some() {
        spans.push(Span::styled(
            " DEMO ",
            Style::new()
                .fg(Color::Black)
                .bg(theme::WARN)
                .add_modifier(Modifier::BOLD),
        ));
    }
    // The verdict comes first so a narrow terminal still shows it.
    let verdict = app.diagnosis.verdict.failure_mode;
    let (text, colour) = match verdict {
        FailureMode::None => ("no failure found".to_owned(), theme::PASS),
        FailureMode::Inconclusive => ("inconclusive".to_owned(), theme::WARN),
        _ => (format!("verdict: {}", verdict.id()), theme::FAIL),
    };
    spans.push(Span::styled(
        format!(" {text} "),
        Style::new()
            .fg(Color::Black)
            .bg(colour)
            .add_modifier(Modifier::BOLD),
    ));
    let platform = match app.target.as_ref().map(|t| t.names.platform) {
        Some(crate::config::Platform::AppRunner) => " · App Runner",
        _ => "",
    };
    match (app.target.as_ref(), demo) {
        (Some(t), Some(s)) => {
            spans.push(Span::raw(format!(
                " simulated{platform} · scenario {s} · {}",
                t.names.api_base
            )));
        }
        (Some(t), None) => {
            spans.push(Span::raw(format!(
                " otp-console{platform} · {}",
                t.names.api_base
            )));
        }
        (None, _) => spans.push(Span::raw(" otp-console · starting…")),
    }
    // A repair going on behind a closed window stays in sight.
    if let Some(flow) = &app.repair {
        if !matches!(app.modal, Some(crate::app::Modal::Repair)) {
            let busy = if flow.is_busy() {
                format!("{} ", spinner(app.frame))
            } else {
                String::new()
            };
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                format!(" {busy}{} · R ", flow.status()),
                Style::new().fg(Color::Black).bg(theme::ACCENT),
            ));
        }
    }
    Line::from(spans)
}

fn footer_line(app: &App, width: u16) -> Line<'static> {
    if let Some((notice, _)) = &app.notice {
        let style = if notice.is_error {
            Style::new().fg(theme::FAIL)
        } else {
            Style::new().fg(theme::PASS)
        };
        return Line::from(Span::styled(format!(" {}", notice.text), style));
    }
    let mut spans = Vec::new();
    let mut used = 0usize;
    for binding in keymap::footer() {
        let piece = format!(" {} {} ", binding.key, binding.label);
        used += piece.chars().count();
        if used > width as usize {
            break;
        }
        spans.push(Span::styled(
            format!(" {}", binding.key),
            Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(
            format!(" {} ", binding.label),
            Style::new().fg(theme::DIM),
        ));
    }
    Line::from(spans)
}

fn tab_bar(app: &App) -> Line<'static> {
    let spans: Vec<Span> = Pane::ALL
        .iter()
        .enumerate()
        .map(|(i, pane)| {
            let text = format!(" {} {} ", i + 1, pane.title());
            if *pane == app.focus {
                Span::styled(text, Style::new().fg(Color::Black).bg(theme::ACCENT))
            } else {
                Span::styled(text, Style::new().fg(theme::DIM))
            }
        })
        .collect();
    Line::from(spans)
}

/// The frame of a pane: its number and title, focus, and the freshness of its data.
pub fn pane_block(app: &App, pane: Pane) -> Block<'static> {
    let number = Pane::ALL
        .iter()
        .position(|p| *p == pane)
        .map_or(0, |i| i + 1);
    let focused = app.focus == pane;
    let is_changes = pane == Pane::Env && app.is_showing_changes;
    let mut title = vec![Span::styled(
        format!(
            " {number} {} ",
            if is_changes { "Changes" } else { pane.title() }
        ),
        if focused {
            Style::new().fg(theme::ACCENT).bold()
        } else {
            Style::new()
        },
    )];
    // The other tab of the focused env pane, and its key.
    if pane == Pane::Env && focused {
        title.push(Span::styled(
            if is_changes {
                "C env vars "
            } else {
                "C changes "
            },
            Style::new().fg(theme::DIM),
        ));
    }
    let freshness = if is_changes {
        Freshness::Fresh
    } else {
        app.freshness(pane)
    };
    match freshness {
        Freshness::Loading => title.push(Span::styled(
            format!("{} loading ", spinner(app.frame)),
            Style::new().fg(theme::WARN),
        )),
        Freshness::Stale(age) => title.push(Span::styled(
            format!("stale {} ", crate::diagnosis::fmt_ms(age)),
            Style::new().fg(theme::WARN),
        )),
        Freshness::Error(_) => {
            // A failing probe says so, and when it will try again.
            let retry = match pane {
                Pane::Env => Some(every::ECS),
                Pane::Logs => Some(every::LOGS),
                Pane::Latency => Some(every::HEALTH),
                Pane::Twilio => Some(every::TWILIO),
                Pane::Checklist => None,
            };
            title.push(Span::styled(
                retry.map_or_else(
                    || "error ".to_owned(),
                    |d| format!("error · retried every {} s ", d.as_secs()),
                ),
                Style::new().fg(theme::FAIL),
            ));
        }
        Freshness::Fresh => {}
    }
    if pane == Pane::Logs {
        title.extend(logs::title_badge(app));
    }
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            Style::new().fg(theme::ACCENT)
        } else {
            Style::new().fg(theme::DIM)
        })
        .title(Line::from(title))
}

/// `text` cut to `max` terminal cells, ending in `…` when cut. Cells are counted as ratatui
/// draws them (`unicode-width`), so a wide character never pushes a border out of place.
pub fn clip(text: &str, max: usize) -> String {
    if Span::raw(text).width() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` cut or padded with spaces to exactly `width` terminal cells.
pub fn pad(text: &str, width: usize) -> String {
    let mut out = clip(text, width);
    let used = Span::raw(out.as_str()).width();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// A spinner frame.
pub fn spinner(frame: u64) -> &'static str {
    const FRAMES: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
    FRAMES[(frame % FRAMES.len() as u64) as usize]
}

/// How long ago `at_ms` was, as of `now_ms`, in the coarsest unit that still reads well:
/// `12 s ago`, `25 min ago`, `26 h ago`, `3 d ago` (a time in the future reads `just now`).
pub fn ago(now_ms: i64, at_ms: i64) -> String {
    let seconds = (now_ms - at_ms) / 1000;
    match seconds {
        s if s <= 0 => "just now".to_owned(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3_600 => format!("{} min ago", s / 60),
        s if s < 48 * 3_600 => format!("{} h ago", s / 3_600),
        s => format!("{} d ago", s / 86_400),
    }
}

fn render_pane(app: &App, pane: Pane, area: Rect, buf: &mut Buffer) {
    if area.width < 2 || area.height < 2 {
        return;
    }
    Clear.render(area, buf);
    let block = pane_block(app, pane);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    if pane == Pane::Env && app.is_showing_changes {
        changes::render(app, inner, buf);
        return;
    }
    if let Freshness::Error(message) = app.freshness(pane) {
        if pane != Pane::Logs || app.evidence.events.is_empty() {
            let text = Paragraph::new(Line::from(Span::styled(
                message,
                Style::new().fg(theme::FAIL),
            )))
            .wrap(ratatui::widgets::Wrap { trim: true });
            text.render(inner, buf);
            return;
        }
    }
    match pane {
        Pane::Checklist => checklist::render(app, inner, buf),
        Pane::Env => env::render(app, inner, buf),
        Pane::Logs => logs::render(app, inner, buf),
        Pane::Latency => latency::render(app, inner, buf),
        Pane::Twilio => twilio::render(app, inner, buf),
    }
}

/// Deterministic consoles for snapshot tests.
#[cfg(test)]
pub mod fixtures;
#[cfg(test)]
pub mod tests;
