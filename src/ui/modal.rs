//! The help overlay and the modals (send confirmation, code entry, log filter, scenario
//! picker), drawn centred over the panes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget, Wrap};

use super::theme;
use crate::app::{App, Modal, SendKind, OTP_BUDGET};
use crate::keymap::{self, BINDINGS};
use crate::redact;

/// Draws `modal` over `area`.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
pub fn render(app: &App, modal: &Modal, area: Rect, buf: &mut Buffer) {
    let (title, lines, width) = match modal {
        Modal::Repair => {
            if let Some(flow) = &app.repair {
                super::repair::render(app, flow, area, buf);
            }
            return;
        }
        Modal::Help => ("Keys", help_lines(), 64),
        Modal::Trace { back } => {
            let width = 118.min(area.width);
            let (title, lines) =
                super::trace::content(&app.traces(), *back, width.saturating_sub(2));
            return frame(&title, lines, width, area, buf);
        }
        Modal::Confirm {
            kind,
            phone,
            is_editing,
            error,
        } => confirm_lines(app, *kind, phone.value(), *is_editing, error.as_deref()),
        Modal::Code { phone, code, error } => {
            let mut lines = vec![
                Line::raw(format!("Code sent to {}", redact::phone(phone))),
                Line::raw(""),
                Line::from(vec![
                    Span::raw("Code: "),
                    Span::styled(
                        format!("{}▏", code.value()),
                        Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
                    ),
                ]),
            ];
            if let Some(e) = error {
                lines.push(Line::from(Span::styled(
                    e.clone(),
                    Style::new().fg(theme::FAIL),
                )));
            }
            lines.push(Line::raw(""));
            lines.push(Line::from(Span::styled(
                keymap::hints(keymap::CODE_KEYS),
                Style::new().fg(theme::DIM),
            )));
            ("Enter the SMS code", lines, 48)
        }
        Modal::Compare { revision, error } => {
            let deployed = match &app.evidence.ecs {
                Some(Ok(s)) => format!("{}:{}", s.deployed.family, s.deployed.revision),
                _ => "the deployed revision".into(),
            };
            let mut lines = vec![
                Line::raw(format!(
                    "Show what changed from this revision to {deployed}"
                )),
                Line::from(vec![
                    Span::raw("Revision: "),
                    Span::styled(
                        format!("{}▏", redact::sanitize(revision.value())),
                        Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
                    ),
                ]),
            ];
            if let Some(e) = error {
                lines.push(Line::from(Span::styled(
                    e.clone(),
                    Style::new().fg(theme::FAIL),
                )));
            }
            lines.push(Line::from(Span::styled(
                keymap::hints(keymap::COMPARE_KEYS),
                Style::new().fg(theme::DIM),
            )));
            ("Compare env vars with a revision", lines, 64)
        }
        Modal::Filter(input) => (
            "Filter logs",
            vec![
                Line::from(vec![
                    Span::raw("/"),
                    Span::styled(
                        format!("{}▏", input.value()),
                        Style::new().fg(theme::ACCENT),
                    ),
                ]),
                Line::from(Span::styled(
                    keymap::hints(keymap::FILTER_KEYS),
                    Style::new().fg(theme::DIM),
                )),
            ],
            56,
        ),
        Modal::Contexts { selected } => {
            let rows = app
                .contexts
                .iter()
                .map(|c| {
                    (
                        redact::sanitize(c),
                        "a context of the config file".to_owned(),
                    )
                })
                .chain(std::iter::once((
                    "demo".to_owned(),
                    "the embedded demo environment".to_owned(),
                )));
            ("Context", picker_lines(rows, *selected), 64)
        }
        Modal::Scenarios { selected } => (
            "Demo scenario",
            picker_lines(app.scenarios.iter().cloned(), *selected),
            110,
        ),
    };
    frame(title, lines, width, area, buf);
}

/// A modal's frame, `width` wide and as high as its lines, centred over `area`.
fn frame(title: &str, lines: Vec<Line<'static>>, width: u16, area: Rect, buf: &mut Buffer) {
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = width.min(area.width);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    if rect.width < 3 || rect.height < 3 {
        return;
    }
    Clear.render(rect, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(theme::ACCENT))
        .title(format!(" {title} "));
    let inner = block.inner(rect);
    block.render(rect, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// A picker's rows (name, what it is), the selected one reversed, then its keys.
fn picker_lines(
    rows: impl Iterator<Item = (String, String)>,
    selected: usize,
) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = rows
        .enumerate()
        .map(|(i, (name, what))| {
            let style = if i == selected {
                Style::new()
                    .fg(theme::ACCENT)
                    .add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(format!(" {name:<24}"), style),
                Span::styled(format!(" {what}"), Style::new().fg(theme::DIM)),
            ])
        })
        .collect();
    lines.push(Line::from(Span::styled(
        keymap::hints(keymap::SCENARIO_KEYS),
        Style::new().fg(theme::DIM),
    )));
    lines
}

fn help_lines() -> Vec<Line<'static>> {
    let mut seen = Vec::new();
    let mut lines = Vec::new();
    for b in BINDINGS {
        if seen.contains(&(b.action, b.label)) {
            continue;
        }
        seen.push((b.action, b.label));
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {:<8}", b.key),
                Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
            ),
            Span::raw(b.label),
        ]));
    }
    lines.push(Line::from(Span::styled(
        "  Mouse: click a pane to focus it, wheel scrolls the logs",
        Style::new().fg(theme::DIM),
    )));
    lines.push(Line::from(Span::styled(
        format!("  {}", keymap::hints(keymap::HELP_KEYS)),
        Style::new().fg(theme::DIM),
    )));
    lines
}

fn confirm_lines(
    app: &App,
    kind: SendKind,
    phone: &str,
    is_editing: bool,
    error: Option<&str>,
) -> (&'static str, Vec<Line<'static>>, u16) {
    let (title, what) = match kind {
        SendKind::Api => (
            "Send an OTP through the API",
            "POST /v1/auth/otp/start sends a real SMS",
        ),
        // SMS mode (`OTP_PROVIDER=twilio_sms`: the From number was checked): the Messages API.
        SendKind::Twilio if app.evidence.sender.is_some() => (
            "Send a test SMS straight to Twilio",
            "Twilio Messages sends a real SMS from OTP_FROM_NUMBER, bypassing the API",
        ),
        SendKind::Twilio => (
            "Send a test straight to Twilio Verify",
            "Twilio Verify sends a real SMS, bypassing the API",
        ),
    };
    let shown = if is_editing {
        format!("{phone}▏")
    } else {
        redact::phone(phone)
    };
    let mut lines = vec![
        Line::raw(what),
        Line::raw(""),
        Line::from(vec![
            Span::raw("To: "),
            Span::styled(
                shown,
                Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
            ),
        ]),
    ];
    if kind == SendKind::Api {
        let normalised = crate::probe::http::validate_phone(phone).unwrap_or_default();
        lines.push(Line::raw(format!(
            "Rate limit: {} of {OTP_BUDGET} starts left for this number in 15 min",
            app.otp_budget(&normalised)
        )));
    }
    if let Some(e) = error {
        lines.push(Line::from(Span::styled(
            e.to_owned(),
            Style::new().fg(theme::FAIL),
        )));
    }
    lines.push(Line::raw(""));
    let keys = if is_editing {
        format!(
            "type the number · {}",
            keymap::hints(keymap::CONFIRM_EDITING_KEYS)
        )
    } else {
        keymap::hints(keymap::CONFIRM_KEYS)
    };
    lines.push(Line::from(Span::styled(keys, Style::new().fg(theme::DIM))));
    (title, lines, 60)
}
