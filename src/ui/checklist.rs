//! The checklist pane: the runbook's checklist evaluated live (pass / fail / unknown /
//! running, with one line of evidence each), then the verdict: the failure mode, its evidence,
//! the runbook's repair and the equivalent commands, and any other candidates.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{spinner, theme};
use crate::app::App;
use crate::diagnosis::{FailureMode, State};

/// Draws the checklist and the verdict into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let d = &app.diagnosis;
    let label_width = (area.width as usize / 2).clamp(10, 52);
    let mut lines: Vec<Line> = d
        .checklist
        .iter()
        .map(|line| {
            let (mark, colour) = match line.state {
                State::Pass => ("✓", theme::PASS),
                State::Fail => ("✗", theme::FAIL),
                State::Unknown => ("?", theme::WARN),
                State::Running => (spinner(app.frame), theme::ACCENT),
            };
            let label = clip(line.label, label_width);
            Line::from(vec![
                Span::styled(
                    format!("{mark} "),
                    Style::new().fg(colour).add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!("{label:<label_width$} ")),
                Span::styled(line.evidence.clone(), Style::new().fg(theme::DIM)),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    match d.verdict.candidates.first() {
        None if d.verdict.failure_mode == FailureMode::None => {
            lines.push(Line::from(Span::styled(
                "Verdict: no failure mode supported by the evidence",
                Style::new().fg(theme::PASS).add_modifier(Modifier::BOLD),
            )));
        }
        None => {}
        Some(top) => {
            lines.push(Line::from(vec![
                Span::styled("Verdict: ", Style::new().add_modifier(Modifier::BOLD)),
                Span::styled(
                    format!("{} — {}", top.failure_mode.id(), top.title),
                    Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
                ),
            ]));
            for evidence in &top.evidence {
                lines.push(Line::from(vec![
                    Span::styled("  • ", Style::new().fg(theme::DIM)),
                    Span::raw(evidence.clone()),
                ]));
            }
            lines.push(Line::from(vec![
                Span::styled("  Repair: ", Style::new().fg(theme::ACCENT)),
                Span::raw(top.repair),
            ]));
            for command in &top.commands {
                lines.push(Line::from(Span::styled(
                    format!("  $ {command}"),
                    Style::new().fg(theme::DIM),
                )));
            }
            for other in d.verdict.candidates.iter().skip(1) {
                lines.push(Line::from(Span::styled(
                    format!(
                        "  also: {} — {}",
                        other.failure_mode.id(),
                        other.evidence.first().map_or("", String::as_str)
                    ),
                    Style::new().fg(theme::WARN),
                )));
            }
        }
    }
    for unknown in &d.unknown {
        lines.push(Line::from(Span::styled(
            format!("  unknown: {unknown}"),
            Style::new().fg(theme::DIM),
        )));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

/// Cuts `text` to `max` characters with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
