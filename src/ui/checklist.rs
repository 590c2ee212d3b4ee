//! The checklist pane: the runbook's checklist evaluated live (pass / fail / unknown /
//! running, with one line of evidence each), then the verdict: the failure mode, its evidence,
//! the runbook's repair and the equivalent commands, and any other candidates.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{clip, pad, spinner, theme};
use crate::app::App;
use crate::diagnosis::{FailureMode, State};

/// Draws the checklist and the verdict into `area`: the verdict's one line first (what an
/// engineer needs at a glance), the checklist one line per item, then the evidence, the
/// repair and the commands, wrapped.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let d = &app.diagnosis;
    let width = area.width as usize;
    let longest = d
        .checklist
        .iter()
        .map(|l| l.label.chars().count())
        .max()
        .unwrap_or(0);
    let label_width = longest.min(width.saturating_sub(4) / 2).max(1);
    let evidence_width = width.saturating_sub(label_width + 3);
    let mut lines: Vec<Line> = Vec::new();
    let mode = d.verdict.failure_mode;
    // An inconclusive verdict's candidates only fit partly: listed below, not named here.
    let top = d.verdict.candidates.first().filter(|_| mode.is_failure());
    lines.push(match (mode, top) {
        (_, Some(top)) => Line::from(vec![
            Span::styled("Verdict: ", Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(
                clip(
                    &format!("{} — {}", top.failure_mode.id(), top.title),
                    width.saturating_sub(9),
                ),
                Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
            ),
        ]),
        (FailureMode::None, _) => Line::from(Span::styled(
            clip(
                "Verdict: none — /health answers and the OTP path shows healthy",
                width,
            ),
            Style::new().fg(theme::PASS).add_modifier(Modifier::BOLD),
        )),
        _ => Line::from(vec![
            Span::styled("Verdict: ", Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(
                clip(
                    "inconclusive — no failure mode fits; see unknown below",
                    width.saturating_sub(9),
                ),
                Style::new().fg(theme::WARN).add_modifier(Modifier::BOLD),
            ),
        ]),
    });
    for line in &d.checklist {
        let (mark, colour) = match line.state {
            State::Pass => ("✓", theme::PASS),
            State::Fail => ("✗", theme::FAIL),
            State::Unknown => ("?", theme::WARN),
            State::Running => (spinner(app.frame), theme::ACCENT),
        };
        let label = clip(line.label, label_width);
        lines.push(Line::from(vec![
            Span::styled(
                format!("{mark} "),
                Style::new().fg(colour).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("{} ", pad(&label, label_width))),
            Span::styled(
                clip(&line.evidence, evidence_width),
                Style::new().fg(theme::DIM),
            ),
        ]));
    }
    let fixed = lines.len() as u16;
    let mut details: Vec<Line> = Vec::new();
    if let Some(top) = top {
        details.push(Line::raw(""));
        for evidence in &top.evidence {
            details.push(Line::from(vec![
                Span::styled("• ", Style::new().fg(theme::FAIL)),
                Span::raw(evidence.clone()),
            ]));
        }
        details.push(Line::from(vec![
            Span::styled("Repair: ", Style::new().fg(theme::ACCENT)),
            Span::raw(top.repair),
        ]));
        for command in &top.commands {
            details.push(Line::from(Span::styled(
                format!("$ {command}"),
                Style::new().fg(theme::DIM),
            )));
        }
        for other in d.verdict.candidates.iter().skip(1) {
            details.push(Line::from(Span::styled(
                format!(
                    "also: {} — {}",
                    other.failure_mode.id(),
                    other.evidence.first().map_or("", String::as_str)
                ),
                Style::new().fg(theme::WARN),
            )));
        }
    } else if !d.unknown.is_empty() || !d.verdict.candidates.is_empty() {
        details.push(Line::raw(""));
    }
    if top.is_none() {
        for partial in &d.verdict.candidates {
            details.push(Line::from(Span::styled(
                format!(
                    "fits partly: {} — {}",
                    partial.failure_mode.id(),
                    partial.evidence.first().map_or("", String::as_str)
                ),
                Style::new().fg(theme::WARN),
            )));
        }
    }
    // Which timeout fires first when the call to Twilio hangs.
    if let Some(budget) = d.timeouts.as_ref().filter(|b| b.is_read()) {
        details.push(Line::from(Span::styled(
            format!("timeouts: {}", budget.line()),
            Style::new().fg(theme::DIM),
        )));
    }
    for risk in &d.verdict.risks {
        details.push(Line::from(Span::styled(
            format!(
                "risk: {} — {}",
                risk.failure_mode.id(),
                risk.evidence.first().map_or("", String::as_str)
            ),
            Style::new().fg(theme::WARN),
        )));
    }
    for unknown in &d.unknown {
        details.push(Line::from(Span::styled(
            format!("unknown: {unknown}"),
            Style::new().fg(theme::DIM),
        )));
    }
    Paragraph::new(lines).render(area, buf);
    if area.height > fixed {
        let rest = Rect::new(area.x, area.y + fixed, area.width, area.height - fixed);
        Paragraph::new(details)
            .wrap(Wrap { trim: false })
            .render(rest, buf);
    }
}
