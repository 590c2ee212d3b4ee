//! The env pane: what the ECS probe read of the deployed task definition, drawn from the
//! [`Snapshot`] in the evidence. A header names the revision, its image tag and who
//! registered it; a table lists the container's `environment` (masked values) and `secrets`
//! (`valueFrom` references, never values) with each rule's result and, under each secret, what
//! resolving it found: state, fingerprint, last change (or the deletion date, or why it could
//! not be read); the rule variables that are absent; then what changed since the previous revision, the rollout, the newest
//! service events and tasks that stopped for a reason other than the scheduler's. Below the
//! table, the network path to Twilio ([`super::network`]), one line per hop.
//!
//! Values arrive masked (`EnvVar::display`) and sanitised from the probe; this file only
//! shortens and colours them. When the area is short, the least urgent sections go first
//! (events, stopped tasks, rollout, diff), then rows without a problem.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{ago, clip, pad, theme};
use crate::app::App;
use crate::config::{VarCheck, VarStatus, Violation};
use crate::probe::ecs::{Change, Deployment, EnvVar, Snapshot, Task, TaskDefinition};
use crate::probe::env_files::FileState;
use crate::probe::secrets::{Resolved, RoleAccess, SecretState};
use crate::redact;

/// Service events shown, newest first.
const EVENTS: usize = 3;
/// Stopped tasks shown.
const STOPPED: usize = 3;
/// Deployments shown (the primary first).
const DEPLOYMENTS: usize = 2;
/// The stop code of a task the scheduler replaced on purpose (not a failure).
const SCHEDULER_STOP: &str = "ServiceSchedulerInitiated";

/// Draws the env pane into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let width = usize::from(area.width);
    let lines = match &app.evidence.ecs {
        None => vec![Line::from(Span::styled(
            clip(
                "reading the service and its task definition from ECS…",
                width,
            ),
            Style::new().fg(theme::DIM),
        ))],
        Some(Err(err)) => vec![Line::from(Span::styled(
            clip(&redact::sanitize(&err.message), width),
            Style::new().fg(theme::FAIL),
        ))],
        Some(Ok(snapshot)) => Sections::new(app, snapshot, width).fit(usize::from(area.height)),
    };
    Paragraph::new(lines).render(area, buf);
}

/// The pane's parts, kept apart so that a short area can drop the least urgent ones.
struct Sections {
    header: Line<'static>,
    table: Vec<Row>,
    diff: Vec<Line<'static>>,
    deployments: Vec<Line<'static>>,
    stopped: Vec<Line<'static>>,
    events: Vec<Line<'static>>,
}

/// One variable's lines in the table (two when a violation message does not fit its cell).
struct Row {
    lines: Vec<Line<'static>>,
    is_problem: bool,
}

impl Sections {
    fn new(app: &App, snapshot: &Snapshot, width: usize) -> Self {
        let deployed = &snapshot.deployed;
        Self {
            header: header(app.now_ms, deployed, width),
            table: table(app.now_ms, snapshot, width)
                .into_iter()
                .chain(
                    super::network::rows(app, width)
                        .into_iter()
                        .map(|(line, is_problem)| Row {
                            lines: vec![line],
                            is_problem,
                        }),
                )
                .collect(),
            diff: diff(snapshot, app.compare.as_ref(), width),
            deployments: deployments(app.now_ms, snapshot, width),
            stopped: stopped(app.now_ms, &snapshot.tasks, width),
            events: events(app.now_ms, snapshot, width),
        }
    }

    /// The lines to draw in `height` rows: whole sections, least urgent dropped first, then
    /// table rows without a problem folded into one "… n more" line.
    fn fit(self, height: usize) -> Vec<Line<'static>> {
        let Self {
            header,
            mut table,
            diff,
            deployments,
            stopped,
            events,
        } = self;
        let mut tail = vec![diff, deployments, stopped, events];
        let table_len = |t: &[Row]| t.iter().map(|r| r.lines.len()).sum::<usize>();
        while !tail.is_empty()
            && 1 + table_len(&table) + tail.iter().map(Vec::len).sum::<usize>() > height
        {
            tail.pop();
        }
        let budget = height.saturating_sub(1);
        if table_len(&table) > budget {
            // Every problem row stays; the others fill what is left, in order, before a
            // line that counts the rest.
            let problems: usize = table
                .iter()
                .filter(|r| r.is_problem)
                .map(|r| r.lines.len())
                .sum();
            let mut room = budget.saturating_sub(problems + 1);
            let mut hidden = 0;
            table.retain(|r| {
                if r.is_problem {
                    true
                } else if r.lines.len() <= room {
                    room -= r.lines.len();
                    true
                } else {
                    room = 0;
                    hidden += 1;
                    false
                }
            });
            if hidden > 0 {
                table.push(Row {
                    lines: vec![Line::from(Span::styled(
                        format!("… {hidden} more without a problem"),
                        Style::new().fg(theme::DIM),
                    ))],
                    is_problem: false,
                });
            }
        }
        let mut lines = vec![header];
        lines.extend(table.into_iter().flat_map(|r| r.lines));
        lines.extend(tail.into_iter().flatten());
        lines
    }
}

/// `nerava-backend:42 · image …:2026.01.23 · registered 1 h ago by deploy-bot`
fn header(now_ms: i64, deployed: &TaskDefinition, width: usize) -> Line<'static> {
    let mut parts = vec![format!("{}:{}", deployed.family, deployed.revision)];
    // With sidecars, which container's variables these are, and the others.
    if !deployed.other_containers.is_empty() {
        parts.push(format!(
            "container {} (also {})",
            deployed.container,
            deployed.other_containers.join(", ")
        ));
    }
    parts.push(format!("image {}", image_tag(&deployed.image)));
    match (deployed.registered_ms, &deployed.registered_by) {
        (Some(at), Some(by)) => parts.push(format!(
            "registered {} by {}",
            ago(now_ms, at),
            principal(by)
        )),
        (Some(at), None) => parts.push(format!("registered {}", ago(now_ms, at))),
        (None, Some(by)) => parts.push(format!("registered by {}", principal(by))),
        (None, None) => {}
    }
    if let (Some(role), false) = (&deployed.execution_role, deployed.secrets.is_empty()) {
        // The role ECS pulls the secrets with, not the operator's.
        parts.push(format!("secrets read by {}", principal(role)));
    }
    let text = parts.join(" · ");
    Line::from(Span::styled(
        clip(&text, width),
        Style::new().add_modifier(Modifier::BOLD),
    ))
}

/// The table: `environment`, then `secrets`, then rule variables that are absent.
fn table(now_ms: i64, snapshot: &Snapshot, width: usize) -> Vec<Row> {
    let deployed = &snapshot.deployed;
    let check = |name: &str| snapshot.checks.iter().find(|c| c.name == name);
    let from_files: Vec<&EnvVar> = snapshot.from_env_files().map(|(v, _)| v).collect();
    let is_declared = |name: &str| {
        deployed.environment.iter().any(|v| v.name == name)
            || deployed.secrets.iter().any(|s| s.name == name)
            || from_files.iter().any(|v| v.name == name)
    };
    let absent: Vec<&VarCheck> = snapshot
        .checks
        .iter()
        .filter(|c| !is_declared(&c.name))
        .collect();
    let secrets: Vec<(String, String)> = deployed
        .secrets
        .iter()
        .map(|s| {
            let source = snapshot
                .secrets
                .iter()
                .find(|r| r.name == s.name)
                .map_or_else(|| short_reference(&s.value_from), |r| r.source.clone());
            (s.name.clone(), format!("← {source}"))
        })
        .collect();

    let names = deployed
        .environment
        .iter()
        .chain(from_files.iter().copied())
        .map(|v| v.name.as_str())
        .chain(secrets.iter().map(|(n, _)| n.as_str()))
        .chain(absent.iter().map(|c| c.name.as_str()));
    let name_w = names
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .min(width * 2 / 5);
    let rest = width.saturating_sub(name_w + 1);
    // The value column is as wide as the values that have a result beside them; the others
    // (secret references, variables without a rule) run on into the result column.
    let checked = |name: &str| check(name).is_some();
    let values = deployed
        .environment
        .iter()
        .chain(from_files.iter().copied())
        .filter(|v| checked(&v.name))
        .map(|v| v.display.chars().count())
        .chain(
            secrets
                .iter()
                .filter(|(n, _)| checked(n))
                .map(|(_, r)| r.chars().count()),
        );
    // Room for the short results ("✓", "? from secret"); longer ones get a line of their own.
    let results = deployed
        .environment
        .iter()
        .chain(from_files.iter().copied())
        .map(|v| v.name.as_str())
        .chain(secrets.iter().map(|(n, _)| n.as_str()))
        .filter_map(check)
        .map(|c| match &c.status {
            VarStatus::Violation(_) => 1,
            other => result(other).0.chars().count(),
        })
        .max()
        .unwrap_or(1);
    let result_w = results.min(rest / 2);
    let value_w = values
        .max()
        .unwrap_or(0)
        .min(rest.saturating_sub(result_w + 1));
    let result_w = rest.saturating_sub(value_w + 1);
    let columns = Columns {
        name: name_w,
        value: value_w,
        result: result_w,
        width,
    };

    let mut rows: Vec<Row> = deployed
        .environment
        .iter()
        .map(|v| columns.present(&v.name, &v.display, Style::new(), check(&v.name)))
        .collect();
    rows.extend(env_file_rows(snapshot, &columns, check));
    rows.extend(secrets.iter().map(|(name, reference)| {
        let mut row = columns.present(name, reference, Style::new().fg(theme::DIM), check(name));
        if let Some(r) = snapshot.secrets.iter().find(|r| &r.name == name) {
            let (text, colour) = resolved_line(now_ms, r);
            row.is_problem |= colour == theme::FAIL;
            row.lines.push(Line::from(Span::styled(
                clip(&format!("  └ {text}"), width),
                Style::new().fg(colour),
            )));
        }
        row
    }));
    rows.extend(absent.into_iter().map(|c| columns.absent(c)));
    rows
}

/// The variables the env files give the container, each with its file under it, and a row
/// for each file that could not be read.
fn env_file_rows<'a>(
    snapshot: &'a Snapshot,
    columns: &Columns,
    check: impl Fn(&str) -> Option<&'a VarCheck>,
) -> Vec<Row> {
    let mut rows: Vec<Row> = snapshot
        .from_env_files()
        .map(|(v, file)| {
            let mut row = columns.present(&v.name, &v.display, Style::new(), check(&v.name));
            row.lines.push(Line::from(Span::styled(
                clip(&format!("  └ from {}", file.url), columns.width),
                Style::new().fg(theme::DIM),
            )));
            row
        })
        .collect();
    let role = snapshot.deployed.execution_role.as_deref().unwrap_or("?");
    for file in &snapshot.env_files {
        let denied = matches!(file.role_access, Some(RoleAccess::Denied { .. }));
        if file.state == FileState::Ok && !denied {
            continue;
        }
        let why = match (&file.role_access, &file.detail) {
            (Some(access @ RoleAccess::Denied { .. }), _) => access.line(role),
            (_, Some(detail)) => detail.clone(),
            _ => file.state.label().to_owned(),
        };
        let text = format!("env file {} — {why}", file.url);
        rows.push(Row {
            lines: vec![Line::from(Span::styled(
                clip(&text, columns.width),
                Style::new().fg(if denied || file.state != FileState::NoAccess {
                    theme::FAIL
                } else {
                    theme::WARN
                }),
            ))],
            is_problem: true,
        });
    }
    rows
}

/// Column widths of the table, in characters.
struct Columns {
    name: usize,
    value: usize,
    result: usize,
    width: usize,
}

impl Columns {
    /// A declared variable: its name, its shown value, its rule's result.
    fn present(
        &self,
        name: &str,
        value: &str,
        value_style: Style,
        check: Option<&VarCheck>,
    ) -> Row {
        let result = check.map(|c| result(&c.status));
        let is_problem = result.as_ref().is_some_and(|(_, c)| *c == theme::FAIL);
        let mut spans = vec![Span::raw(format!("{} ", pad(name, self.name)))];
        let mut second = None;
        match result {
            None => spans.push(Span::styled(
                clip(value, self.value + 1 + self.result),
                value_style,
            )),
            Some((text, colour)) => {
                spans.push(Span::styled(
                    format!("{} ", pad(value, self.value)),
                    value_style,
                ));
                let style = Style::new().fg(colour);
                if text.chars().count() <= self.result {
                    spans.push(Span::styled(text, style));
                } else {
                    // Keep the mark on the row and give the message the whole width below.
                    spans.push(Span::styled(clip(&text, 1.min(self.result)), style));
                    second = Some(Line::from(Span::styled(
                        clip(&format!("  └ {text}"), self.width),
                        style,
                    )));
                }
            }
        }
        Row {
            lines: std::iter::once(Line::from(spans)).chain(second).collect(),
            is_problem,
        }
    }

    /// A rule variable the container does not declare: missing (red) or not set (dim).
    fn absent(&self, check: &VarCheck) -> Row {
        let (text, why, colour) = match &check.status {
            VarStatus::Violation(v) => ("missing ✗".to_owned(), Some(message(v)), theme::FAIL),
            VarStatus::NotSet {
                default: Some(default),
            } => (format!("not set (default {default})"), None, theme::DIM),
            VarStatus::NotSet { default: None } => ("not set".to_owned(), None, theme::DIM),
            other => {
                let (text, colour) = result(other);
                (text, None, colour)
            }
        };
        let rest = self.width.saturating_sub(self.name + 1);
        let style = Style::new().fg(colour);
        let name = Span::styled(format!("{} ", pad(&check.name, self.name)), style);
        let lines = match why {
            Some(why) if text.chars().count() + 1 + why.chars().count() <= rest => {
                vec![Line::from(vec![
                    name,
                    Span::styled(format!("{text} {why}"), style),
                ])]
            }
            // The message on a line of its own when it does not fit beside the name.
            Some(why) => vec![
                Line::from(vec![name, Span::styled(clip(&text, rest), style)]),
                Line::from(Span::styled(clip(&format!("  └ {why}"), self.width), style)),
            ],
            None => vec![Line::from(vec![
                name,
                Span::styled(clip(&text, rest), style),
            ])],
        };
        Row {
            lines,
            is_problem: colour == theme::FAIL,
        }
    }
}

/// What resolving a secret found, in one line and its colour: `ok · fp 106cc468 · changed 60
/// d ago · v3`, `scheduled for deletion 40 min ago (2026-11-30 05:34 UTC)`, or the state and
/// why. Never the value.
fn resolved_line(now_ms: i64, r: &Resolved) -> (String, ratatui::style::Color) {
    let changed = r
        .last_changed_ms
        .map(|at| format!("changed {}", ago(now_ms, at)));
    match r.state {
        SecretState::Ok => {
            // Readable by the operator; the execution role's access decides whether the
            // service can read it too.
            let (mut parts, colour) = match &r.role_access {
                Some(RoleAccess::Denied { iam_decision, .. }) => (
                    vec![format!("role may NOT read it ({iam_decision})")],
                    theme::FAIL,
                ),
                Some(RoleAccess::Allowed { .. }) => (vec!["ok · role ✓".to_owned()], theme::DIM),
                Some(RoleAccess::Unknown { .. }) => (vec!["ok · role ?".to_owned()], theme::DIM),
                None => (vec!["ok".to_owned()], theme::DIM),
            };
            parts.extend(r.fingerprint.as_ref().map(|f| format!("fp {f}")));
            parts.extend(changed);
            parts.extend(
                r.last_rotated_ms
                    .map(|at| format!("rotated {}", ago(now_ms, at))),
            );
            let version = r.version.as_ref().map(|v| clip(v, 8));
            match (r.stages.first(), version) {
                (Some(stage), Some(v)) => parts.push(format!("{stage} v{v}")),
                (None, Some(v)) => parts.push(format!("v{v}")),
                (Some(stage), None) => parts.push(stage.clone()),
                (None, None) => {}
            }
            if r.detail.is_some() {
                // Read, but DescribeSecret was refused: the state has no deletion date to check.
                parts.push("metadata not readable".into());
            }
            (parts.join(" · "), colour)
        }
        SecretState::ScheduledForDeletion => (
            r.deleted_ms.map_or_else(
                || "scheduled for deletion".to_owned(),
                |at| {
                    format!(
                        "scheduled for deletion {} ({})",
                        ago(now_ms, at),
                        crate::probe::secrets::date(at)
                    )
                },
            ),
            theme::FAIL,
        ),
        SecretState::NotFound | SecretState::JsonKeyMissing => (
            format!(
                "{}: {}",
                r.state.label(),
                redact::sanitize(r.detail.as_deref().unwrap_or_default())
            ),
            theme::FAIL,
        ),
        SecretState::NoAccess | SecretState::KmsDenied | SecretState::Error => (
            format!(
                "{}: {}",
                r.state.label(),
                redact::sanitize(r.detail.as_deref().unwrap_or_default())
            ),
            theme::WARN,
        ),
    }
}

/// A rule's result as a short text and its colour.
fn result(status: &VarStatus) -> (String, ratatui::style::Color) {
    match status {
        VarStatus::Ok => ("✓".to_owned(), theme::PASS),
        VarStatus::FromSecret { .. } => ("? from secret".to_owned(), theme::DIM),
        VarStatus::NotSet {
            default: Some(default),
        } => (format!("not set (default {default})"), theme::DIM),
        VarStatus::NotSet { default: None } => ("not set".to_owned(), theme::DIM),
        VarStatus::Undetermined { reason } => {
            (format!("? {}", redact::sanitize(reason)), theme::WARN)
        }
        VarStatus::Violation(v) => (format!("✗ {}", message(v)), theme::FAIL),
    }
}

/// A violation's message without the variable's name, which its row already shows.
fn message(v: &Violation) -> String {
    let text = redact::sanitize(&v.message);
    match text.strip_prefix(v.name.as_str()) {
        Some(rest) if !rest.trim().is_empty() => rest.trim_start().to_owned(),
        _ => text,
    }
}

/// "Changed since :41" and one line per change; against the revision the user picked (`p`)
/// when there is one of the same family.
fn diff(
    snapshot: &Snapshot,
    picked: Option<&crate::probe::ecs::TaskDefinition>,
    width: usize,
) -> Vec<Line<'static>> {
    let picked = picked.filter(|p| p.family == snapshot.deployed.family);
    let (changes, title) = match (picked, &snapshot.previous) {
        (Some(p), _) => (
            crate::probe::ecs::diff(p, &snapshot.deployed),
            format!("Changed since :{} (picked, p)", p.revision),
        ),
        (None, Some(p)) => (
            snapshot.diff.clone(),
            format!("Changed since :{}", p.revision),
        ),
        (None, None) => {
            return vec![Line::from(Span::styled(
                "no previous revision to compare with",
                Style::new().fg(theme::DIM),
            ))]
        }
    };
    if changes.is_empty() {
        return vec![Line::from(vec![
            Span::styled(title, Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(": nothing", Style::new().fg(theme::DIM)),
        ])];
    }
    let mut lines = vec![Line::from(Span::styled(
        title,
        Style::new().add_modifier(Modifier::BOLD),
    ))];
    lines.extend(changes.iter().map(|change| {
        let (text, colour) = match change {
            Change::Added { name, display } => (format!("+ {name} {display}"), theme::PASS),
            Change::Removed { name, display } => (format!("- {name} {display}"), theme::FAIL),
            Change::Changed { name, from, to }
                if from == to || from == redact::MASK || to == redact::MASK =>
            {
                // A secret's displays are both masked: only the fact that it changed.
                (format!("~ {name} changed"), theme::WARN)
            }
            Change::Changed { name, from, to } => (format!("~ {name} {from} → {to}"), theme::WARN),
            Change::SecretAdded { name, value_from } => (
                format!("+ {name} ← {}", short_reference(value_from)),
                theme::PASS,
            ),
            Change::SecretRemoved { name, value_from } => (
                format!("- {name} ← {}", short_reference(value_from)),
                theme::FAIL,
            ),
            Change::SecretChanged { name, from, to } => (
                format!(
                    "~ {name} ← {} → {}",
                    short_reference(from),
                    short_reference(to)
                ),
                theme::WARN,
            ),
            Change::Image { from, to } => (
                format!("~ image {} → {}", image_tag(from), image_tag(to)),
                theme::WARN,
            ),
            Change::EnvFiles { from, to } => (
                format!(
                    "~ env files {} → {}",
                    Change::env_files_short(from),
                    Change::env_files_short(to)
                ),
                theme::WARN,
            ),
        };
        Line::from(Span::styled(
            clip(&redact::sanitize(&text), width),
            Style::new().fg(colour),
        ))
    }));
    lines
}

/// One line per deployment, the primary first: rollout state, counts, failed tasks.
fn deployments(now_ms: i64, snapshot: &Snapshot, width: usize) -> Vec<Line<'static>> {
    let mut list: Vec<&Deployment> = snapshot.service.deployments.iter().collect();
    list.sort_by_key(|d| d.status != "PRIMARY");
    list.into_iter()
        .take(DEPLOYMENTS)
        .map(|d| deployment(now_ms, d, width))
        .collect()
}

fn deployment(now_ms: i64, d: &Deployment, width: usize) -> Line<'static> {
    let state = if d.rollout_state.is_empty() {
        "rollout ?".to_owned()
    } else {
        d.rollout_state.clone()
    };
    let state_colour = match d.rollout_state.as_str() {
        "COMPLETED" => theme::PASS,
        "FAILED" => theme::FAIL,
        "IN_PROGRESS" => theme::WARN,
        _ => theme::DIM,
    };
    let revision = d.revision.map_or_else(String::new, |r| format!(":{r} "));
    let mut pieces: Vec<(String, Style)> = vec![
        (
            format!("deploy {revision}{} ", d.status.to_lowercase()),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        (state, Style::new().fg(state_colour)),
        (
            format!(" · {}/{} running", d.running, d.desired),
            Style::new(),
        ),
    ];
    if d.pending > 0 {
        pieces.push((format!(" · {} pending", d.pending), Style::new()));
    }
    if d.failed > 0 {
        pieces.push((
            format!(" · {} failed tasks", d.failed),
            Style::new().fg(theme::FAIL),
        ));
    }
    if let Some(at) = d.created_ms {
        pieces.push((
            format!(" · {}", ago(now_ms, at)),
            Style::new().fg(theme::DIM),
        ));
    }
    clipped_line(pieces, width)
}

/// Tasks that stopped for a reason other than the scheduler replacing them.
fn stopped(now_ms: i64, tasks: &[Task], width: usize) -> Vec<Line<'static>> {
    tasks
        .iter()
        .filter(|t| t.last_status == "STOPPED" && t.stop_code.as_deref() != Some(SCHEDULER_STOP))
        .filter_map(|t| {
            let reason = t.stopped_reason.as_deref()?;
            let id: String = t.id.chars().take(8).collect();
            let revision = t.revision.map_or_else(String::new, |r| format!(" :{r}"));
            let when = t
                .stopped_ms
                .map_or_else(String::new, |at| format!(" {}", ago(now_ms, at)));
            let exit = t
                .exit_code
                .map_or_else(String::new, |c| format!(" (exit {c})"));
            let head = format!("✗ task {id}{revision} stopped{when}: ");
            // ECS's secrets errors nest their cause at the end ("… marked for deletion."):
            // when the line is too long, that end is what stays.
            let reason = if reason.starts_with("ResourceInitializationError") {
                condensed(
                    reason,
                    width.saturating_sub(head.chars().count() + exit.len()),
                )
            } else {
                reason.to_owned()
            };
            Some(Line::from(Span::styled(
                clip(&redact::sanitize(&format!("{head}{reason}{exit}")), width),
                Style::new().fg(theme::FAIL),
            )))
        })
        .take(STOPPED)
        .collect()
}

/// `reason` in `room` characters: its first word (`ResourceInitializationError`), `…`, and as
/// much of its end as fits.
fn condensed(reason: &str, room: usize) -> String {
    let chars: Vec<char> = reason.chars().collect();
    if chars.len() <= room {
        return reason.to_owned();
    }
    let first = reason.split(':').next().unwrap_or_default();
    let keep = room.saturating_sub(first.chars().count() + 3);
    if keep < 20 {
        return reason.to_owned();
    }
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("{first} …{tail}")
}

/// The newest service events, their `(service name)` prefix dropped.
fn events(now_ms: i64, snapshot: &Snapshot, width: usize) -> Vec<Line<'static>> {
    let prefix = format!("(service {}) ", snapshot.service.name);
    snapshot
        .service
        .events
        .iter()
        .take(EVENTS)
        .map(|e| {
            let message = redact::sanitize(&e.message);
            let message = message.strip_prefix(&prefix).unwrap_or(&message).to_owned();
            clipped_line(
                vec![
                    (
                        format!("{:>10} ", ago(now_ms, e.at_ms)),
                        Style::new().fg(theme::DIM),
                    ),
                    (message, Style::new()),
                ],
                width,
            )
        })
        .collect()
}

/// Styled pieces as one line, cut to `width` characters with an ellipsis.
fn clipped_line(pieces: Vec<(String, Style)>, width: usize) -> Line<'static> {
    let total: usize = pieces.iter().map(|(t, _)| t.chars().count()).sum();
    let mut left = width;
    let mut spans = Vec::new();
    for (text, style) in pieces {
        if left == 0 {
            break;
        }
        let n = text.chars().count();
        if n > left || (n == left && total > width) {
            // The last piece that fits, cut: what follows would only be an ellipsis.
            spans.push(Span::styled(clip(&text, left), style));
            break;
        }
        left -= n;
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

/// `…:2026.01.23` for an image with a tag, `…@sha256:0123abcd` for a digest.
fn image_tag(image: &str) -> String {
    let image = redact::sanitize(image);
    if let Some((_, digest)) = image.split_once('@') {
        let short: String = digest.chars().take(15).collect();
        return format!("…@{short}");
    }
    let last = image.rsplit('/').next().unwrap_or(&image);
    match last.rsplit_once(':') {
        Some((_, tag)) => format!("…:{tag}"),
        None => last.to_owned(),
    }
}

/// The user or role name of an IAM ARN (`…:user/deploy-bot` → `deploy-bot`).
fn principal(arn: &str) -> String {
    redact::sanitize(arn.rsplit('/').next().unwrap_or(arn))
}

/// A `valueFrom` reference without its region and account:
/// `secretsmanager:nerava/prod/jwt-GhIjKl`, `ssm:/nerava/prod/token`.
pub(super) fn short_reference(value_from: &str) -> String {
    let value_from = redact::sanitize(value_from);
    let parts: Vec<&str> = value_from.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, service, _, _, resource] => {
            let resource = resource
                .strip_prefix("secret:")
                .or_else(|| resource.strip_prefix("parameter"))
                .unwrap_or(resource);
            format!("{service}:{resource}")
        }
        _ => value_from,
    }
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;

    use super::render;
    use crate::app::App;
    use crate::ui::fixtures::{self, app, text};
    use crate::ui::theme;

    const SCENARIOS: [&str; 3] = ["healthy", "event-loop-blocking", "missing-env-vars"];

    fn draw(app: &App, width: u16, height: u16) -> Buffer {
        fixtures::pane(render, app, width, height)
    }

    #[test]
    fn snapshots() {
        for scenario in SCENARIOS {
            let app = app(scenario);
            for (w, h) in [(70, 20), (40, 10)] {
                insta::assert_snapshot!(format!("{scenario}_{w}x{h}"), text(&draw(&app, w, h)));
            }
        }
    }

    #[test]
    fn no_raw_secret_at_any_scenario() {
        for scenario in SCENARIOS {
            let screen = text(&draw(&app(scenario), 200, 60));
            for secret in [
                "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
                "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
                "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                "7133056318",
            ] {
                assert!(!screen.contains(secret), "{scenario}: {secret} drawn");
            }
            assert!(screen.contains("TWILIO_AUTH_TOKEN"), "{scenario}");
        }
    }

    #[test]
    fn missing_variable_is_red() {
        let buf = draw(&app("missing-env-vars"), 70, 20);
        let screen = text(&buf);
        let (y, row) = screen
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with("TWILIO_VERIFY_SERVICE_SID") && l.contains("missing"))
            .expect("a missing row");
        let x = row
            .chars()
            .position(|c| c == '✗')
            .expect("a violation mark");
        assert_eq!(buf[(x as u16, y as u16)].fg, theme::FAIL);
        let ok = screen
            .lines()
            .position(|l| l.starts_with("ENV "))
            .expect("ENV row");
        let mark = screen
            .lines()
            .nth(ok)
            .and_then(|l| l.chars().position(|c| c == '✓'))
            .expect("ok mark");
        assert_eq!(buf[(mark as u16, ok as u16)].fg, theme::PASS);
    }

    #[test]
    fn diff_colours_and_masked_secret_change() {
        let mut app = app("event-loop-blocking");
        if let Some(Ok(snapshot)) = app.evidence.ecs.as_mut() {
            snapshot.diff.push(crate::probe::ecs::Change::Changed {
                name: "TWILIO_AUTH_TOKEN".into(),
                from: crate::redact::MASK.into(),
                to: crate::redact::MASK.into(),
            });
        }
        let buf = draw(&app, 100, 30);
        let screen = text(&buf);
        assert!(
            screen.contains("~ image …:2026.01.22 → …:2026.01.23"),
            "{screen}"
        );
        assert!(screen.contains("~ TWILIO_AUTH_TOKEN changed"), "{screen}");
        let y = screen
            .lines()
            .position(|l| l.starts_with("~ LOG_LEVEL INFO → WARNING"))
            .expect("LOG_LEVEL change");
        assert_eq!(buf[(0, y as u16)].fg, theme::WARN);
    }

    #[test]
    fn failing_rollout_and_stopped_task_are_shown() {
        let mut app = app("healthy");
        if let Some(Ok(snapshot)) = app.evidence.ecs.as_mut() {
            let d = &mut snapshot.service.deployments[0];
            d.rollout_state = "IN_PROGRESS".into();
            d.failed = 2;
            snapshot.tasks.push(crate::probe::ecs::Task {
                id: "0123456789abcdef0123456789abcdef".into(),
                revision: Some(42),
                last_status: "STOPPED".into(),
                health: "UNKNOWN".into(),
                started_ms: None,
                stopped_ms: Some(app.now_ms - 180_000),
                stopped_reason: Some("Essential container in task exited".into()),
                stop_code: Some("EssentialContainerExited".into()),
                exit_code: Some(1),
            });
        }
        let screen = text(&draw(&app, 120, 40));
        assert!(
            screen.contains("IN_PROGRESS · 1/1 running · 2 failed tasks"),
            "{screen}"
        );
        assert!(
            screen.contains(
                "✗ task 01234567 :42 stopped 3 min ago: Essential container in task exited (exit 1)"
            ),
            "{screen}"
        );
        assert!(
            !screen.contains("✗ task c8220224"),
            "scheduler stops are not failures"
        );
    }

    #[test]
    fn every_small_size_draws_without_panic() {
        for scenario in SCENARIOS {
            let app = app(scenario);
            for w in 0..=80 {
                for h in 0..=24 {
                    draw(&app, w, h);
                }
            }
        }
    }
}
