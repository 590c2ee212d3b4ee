//! The changes timeline, the env pane's second tab (`C`): what changed on the service's
//! resources (CloudTrail) and on the Twilio account (Monitor) over the window, newest first,
//! one line per change: age, who, what. A change that may explain the verdict is marked `▶`
//! and drawn in the failure colour. Legible at 80×24 (where the pane fills the screen): the
//! principal is shortened to its last part (`user/deploy-bot` → `deploy-bot`), the full ARN
//! being in `check --json` and the report.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{clip, pad, theme};
use crate::app::App;
use crate::diagnosis::changes::{all, related};
use crate::probe::changes::{age, Changes, Origin};
use crate::probe::ProbeError;
use crate::redact;

/// Cells for the age column (`26 min`).
const AGE: usize = 7;
/// Cells for the who column.
const WHO: usize = 18;

/// Draws the timeline into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let width = usize::from(area.width);
    let e = &app.evidence;
    let mut lines = vec![status(app, width)];
    for (name, result) in [("CloudTrail", &e.cloudtrail), ("Twilio", &e.monitor)] {
        if let Some(Err(err)) = result {
            lines.push(error_line(name, err, width));
        }
    }
    let mode = app.diagnosis.verdict.failure_mode;
    let snapshot = e.snapshot();
    let changes = all(e);
    let read = [&e.cloudtrail, &e.monitor]
        .iter()
        .any(|r| matches!(r, Some(Ok(_))));
    if changes.is_empty() && read {
        lines.push(Line::from(Span::styled(
            clip(
                "nothing changed on the service's resources in the window",
                width,
            ),
            Style::new().fg(theme::DIM),
        )));
    }
    let who_width = if width >= 70 { WHO } else { 12 };
    for c in changes {
        let is_related = related(c, mode, snapshot);
        let (mark, style) = if is_related {
            (
                "▶ ",
                Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
            )
        } else {
            ("  ", Style::new())
        };
        let origin = match c.origin {
            Origin::Cloudtrail => "",
            Origin::TwilioMonitor => "Twilio: ",
        };
        let fixed = 2 + AGE + 1 + who_width + 1;
        lines.push(Line::from(vec![
            Span::styled(mark, style),
            Span::styled(
                format!("{:>AGE$} ", age(app.now_ms, c.at_ms)),
                Style::new().fg(theme::DIM),
            ),
            Span::styled(
                format!("{} ", pad(&short_who(&c.who), who_width)),
                Style::new().fg(theme::ACCENT),
            ),
            Span::styled(
                clip(
                    &redact::sanitize(&format!("{origin}{}", c.summary)),
                    width.saturating_sub(fixed),
                ),
                style,
            ),
        ]));
    }
    Paragraph::new(lines).render(area, buf);
}

/// `since 48 h · CloudTrail 4 · Twilio 1 · ▶ may explain the verdict`.
fn status(app: &App, width: usize) -> Line<'static> {
    let e = &app.evidence;
    let window = app.evidence.cloudtrail.as_ref().or(e.monitor.as_ref());
    let since = window
        .and_then(|r| r.as_ref().ok())
        .map_or_else(String::new, |c: &Changes| {
            format!(
                "since {} h · ",
                ((app.now_ms - c.since_ms) as f64 / 3_600_000.0).round()
            )
        });
    let count = |r: &Option<Result<Changes, ProbeError>>| match r {
        None => "reading…".to_owned(),
        Some(Err(_)) => "✗".to_owned(),
        Some(Ok(c)) if c.truncated => format!("{}+", c.changes.len()),
        Some(Ok(c)) => c.changes.len().to_string(),
    };
    let text = format!(
        "{since}CloudTrail {} · Twilio {} · ▶ may explain the verdict",
        count(&e.cloudtrail),
        count(&e.monitor)
    );
    Line::from(Span::styled(
        clip(&text, width),
        Style::new().fg(theme::DIM),
    ))
}

fn error_line(name: &str, err: &ProbeError, width: usize) -> Line<'static> {
    Line::from(Span::styled(
        clip(
            &format!("✗ {name}: {}", redact::sanitize(&err.message)),
            width,
        ),
        Style::new().fg(theme::FAIL),
    ))
}

/// The principal's last part: `arn:aws:iam::1:user/deploy-bot` → `deploy-bot`,
/// `…:assumed-role/ci-deploy/gh-123` → `ci-deploy/gh-123`.
fn short_who(who: &str) -> String {
    let resource = who.rsplit(':').next().unwrap_or(who);
    if !who.starts_with("arn:") {
        return who.to_owned();
    }
    match resource.split_once('/') {
        Some((_, rest)) => rest.to_owned(),
        None => resource.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Pane;
    use crate::event::Event;
    use crate::probe::changes::{Alert, Change};
    use crate::probe::{ErrorKind, Observation, System};
    use crate::ui::fixtures::{app, pane, text, NOW};
    use crate::ui::tests::screen;

    fn change(
        hours: f64,
        service: &str,
        action: &str,
        resource: &str,
        who: &str,
        summary: &str,
    ) -> Change {
        Change {
            at_ms: NOW - (hours * 3_600_000.0) as i64,
            origin: if service == "twilio" {
                Origin::TwilioMonitor
            } else {
                Origin::Cloudtrail
            },
            service: service.into(),
            action: action.into(),
            resource: resource.into(),
            who: who.into(),
            user_agent: None,
            summary: summary.into(),
            parameters: None,
            id: format!("{action}-{hours}"),
        }
    }

    /// The missing-env-vars console once CloudTrail and Twilio's Monitor were read.
    fn with_changes(monitor_fails: bool) -> App {
        let mut app = app("missing-env-vars");
        let deploy = "arn:aws:iam::123456789012:user/deploy-bot";
        let trail = Changes {
            since_ms: NOW - 48 * 3_600_000,
            changes: vec![
                change(
                    0.42,
                    "ecs",
                    "UpdateService",
                    "nerava-backend",
                    deploy,
                    "deployed nerava-backend:42 to nerava-backend",
                ),
                change(
                    0.5,
                    "ecs",
                    "RegisterTaskDefinition",
                    "nerava-backend:42",
                    deploy,
                    "registered nerava-backend:42",
                ),
                change(
                    9.0,
                    "secretsmanager",
                    "PutSecretValue",
                    "nerava/prod/jwt-GhIjKl",
                    "arn:aws:sts::123456789012:assumed-role/ci-deploy/github-actions-cleanup",
                    "new value put in secret nerava/prod/jwt-GhIjKl",
                ),
                change(
                    26.0,
                    "ecs",
                    "RegisterTaskDefinition",
                    "nerava-backend:41",
                    deploy,
                    "registered nerava-backend:41",
                ),
            ],
            alerts: Vec::new(),
            truncated: false,
        };
        app.update(Event::Observed(Observation::Changes {
            at_ms: NOW,
            origin: Origin::Cloudtrail,
            result: Ok(trail),
        }));
        let monitor = if monitor_fails {
            Err(ProbeError {
                system: System::Twilio,
                kind: ErrorKind::Credentials,
                code: Some("20003".into()),
                message: "Twilio 20003 (Authenticate): the service's credentials cannot read the account's Monitor".into(),
            })
        } else {
            Ok(Changes {
                since_ms: NOW - 48 * 3_600_000,
                changes: vec![change(
                    14.0,
                    "twilio",
                    "api-key.deleted",
                    "api-key SK12ab34…",
                    "user US3588f9…",
                    "API key \"ci\" deleted\u{1b}[2J",
                )],
                alerts: vec![
                    Alert {
                        at_ms: NOW - 60_000,
                        error_code: "20404".into(),
                        log_level: "error".into(),
                        text: "not found".into(),
                    },
                    Alert {
                        at_ms: NOW - 50_000,
                        error_code: "20404".into(),
                        log_level: "error".into(),
                        text: "not found".into(),
                    },
                    Alert {
                        at_ms: NOW - 40_000,
                        error_code: "60200".into(),
                        log_level: "error".into(),
                        text: "Invalid parameter `To`: •••6318".into(),
                    },
                    Alert {
                        at_ms: NOW - 30 * 3_600_000,
                        error_code: "20003".into(),
                        log_level: "error".into(),
                        text: "Authenticate".into(),
                    },
                ],
                truncated: false,
            })
        };
        app.update(Event::Observed(Observation::Changes {
            at_ms: NOW,
            origin: Origin::TwilioMonitor,
            result: monitor,
        }));
        app
    }

    #[test]
    fn principals_read_by_their_last_part() {
        assert_eq!(
            short_who("arn:aws:iam::123456789012:user/deploy-bot"),
            "deploy-bot"
        );
        assert_eq!(
            short_who("arn:aws:sts::123456789012:assumed-role/ci-deploy/gh-1"),
            "ci-deploy/gh-1"
        );
        assert_eq!(short_who("user US3588f9…"), "user US3588f9…");
    }

    #[test]
    fn timeline_snapshots() {
        let mut app = with_changes(false);
        app.update(Event::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('C'),
        )));
        assert_eq!(app.focus, Pane::Env);
        assert!(app.is_showing_changes);
        insta::assert_snapshot!("changes_80x24", screen(&app, 80, 24));
        insta::assert_snapshot!("changes_pane_100x10", text(&pane(render, &app, 100, 10)));
        insta::assert_snapshot!(
            "changes_pane_monitor_fails_60x8",
            text(&pane(render, &with_changes(true), 60, 8))
        );
        // The key again goes back to the env vars.
        app.update(Event::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('C'),
        )));
        assert!(!app.is_showing_changes);
    }

    #[test]
    fn the_change_that_explains_the_verdict_is_marked_in_red() {
        let app = with_changes(false);
        let buf = pane(render, &app, 100, 10);
        let rows: Vec<String> = (0..10)
            .map(|y| (0..100).map(|x| buf[(x, y)].symbol()).collect())
            .collect();
        let marked: Vec<&String> = rows.iter().filter(|r| r.starts_with("▶")).collect();
        // :42's registration and deployment; not :41's, not the JWT secret, not Twilio's.
        assert_eq!(marked.len(), 2, "{rows:#?}");
        assert!(
            marked.iter().all(|r| r.contains("nerava-backend:42")),
            "{rows:#?}"
        );
        let y = rows
            .iter()
            .position(|r| r.contains("registered nerava-backend:42"))
            .expect("row") as u16;
        let x = rows[y as usize].chars().position(|c| c == 'r').expect("x") as u16;
        assert_eq!(buf[(x, y)].fg, theme::FAIL);
        // Newest first; escape sequences from the network never reach the terminal.
        let text = text(&buf);
        assert!(text.find("deployed nerava-backend:42") < text.find("nerava-backend:41"));
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn the_twilio_pane_counts_today_s_alerts_by_code() {
        let app = with_changes(false);
        let text = text(&pane(crate::ui::twilio::render, &app, 80, 14));
        assert!(text.contains("today 20404 ×2 · 60200 ×1"), "{text}");
        assert!(
            !text.contains("20003"),
            "yesterday's alert is not today's: {text}"
        );
    }

    #[test]
    fn never_panics_at_any_size() {
        let mut app = with_changes(true);
        app.is_showing_changes = true;
        app.focus = Pane::Env;
        for zoomed in [false, true] {
            app.is_zoomed = zoomed;
            for width in (1..=160).step_by(7) {
                for height in (1..=50).step_by(3) {
                    let _ = screen(&app, width, height);
                }
            }
        }
    }
}
