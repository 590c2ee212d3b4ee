//! The repair window: the chooser, the variables form (values masked), the plan with its diff
//! and aws CLI commands and the typed confirmation, the rollout as it happens, and the checks
//! after the fix. Drawn over the panes; its keys stay visible on its bottom border.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget, Wrap};

use super::{spinner, theme};
use crate::app::{App, Choice, RepairFlow, Stage};
use crate::diagnosis::{self, FailureMode, State};
use crate::keymap;
use crate::probe::ecs::Change;
use crate::probe::http::Endpoint;
use crate::repair::{self, RolloutEvent, Target};

/// Widest the window gets.
const WIDTH: u16 = 118;
/// Rollout lines shown at most.
const ROLLOUT_LINES: usize = 14;

/// Draws the repair window of `flow` over `area`.
pub fn render(app: &App, flow: &RepairFlow, area: Rect, buf: &mut Buffer) {
    let (title, lines, keys) = content(app, flow);
    // What must stay in sight (the typed confirmation) is pinned to the bottom.
    let pinned = match &flow.stage {
        Stage::Confirm { typed, error } => confirm_lines(
            flow.confirm_word(&app.names.service),
            typed.value(),
            error.as_deref(),
        ),
        _ => Vec::new(),
    };
    let width = WIDTH.min(area.width);
    // Wrapped lines take more rows than there are lines: count them as they will wrap.
    let inner_width = width.saturating_sub(2).max(1);
    let rows_of = |lines: &[Line<'static>]| -> u16 {
        Paragraph::new(lines.to_vec())
            .wrap(Wrap { trim: false })
            .line_count(inner_width) as u16
    };
    let pinned_rows = rows_of(&pinned);
    let rows = rows_of(&lines).saturating_add(pinned_rows);
    let height = rows.saturating_add(2).min(area.height);
    if width < 3 || height < 3 {
        return;
    }
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    Clear.render(rect, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(theme::ACCENT))
        .title(format!(" {title} "))
        .title_bottom(Line::from(Span::styled(
            format!(" {keys} "),
            Style::new().fg(theme::ACCENT),
        )));
    let inner = block.inner(rect);
    block.render(rect, buf);
    let pinned_rows = pinned_rows.min(inner.height);
    let body = Rect {
        height: inner.height - pinned_rows,
        ..inner
    };
    let bottom = Rect {
        y: inner.y + body.height,
        height: pinned_rows,
        ..inner
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(body, buf);
    Paragraph::new(pinned)
        .wrap(Wrap { trim: false })
        .render(bottom, buf);
}

fn confirm_lines(service: &str, typed: &str, error: Option<&str>) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::raw(""),
        Line::from(vec![
            Span::raw("Type the service name "),
            bold(service.to_owned()),
            Span::raw(" to apply: "),
            Span::styled(
                format!("{}▏", crate::redact::sanitize(typed)),
                Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
            ),
        ]),
    ];
    if let Some(e) = error {
        lines.push(error_line(e));
    }
    lines
}

fn dim(text: impl Into<String>) -> Span<'static> {
    Span::styled(text.into(), Style::new().fg(theme::DIM))
}

fn bold(text: impl Into<String>) -> Span<'static> {
    Span::styled(text.into(), Style::new().add_modifier(Modifier::BOLD))
}

fn error_line(text: &str) -> Line<'static> {
    Line::from(Span::styled(
        format!("✗ {text}"),
        Style::new().fg(theme::FAIL),
    ))
}

/// The window's title, its lines and its keys.
fn content(app: &App, flow: &RepairFlow) -> (String, Vec<Line<'static>>, String) {
    match &flow.stage {
        Stage::Choose { selected } => (
            "Repair · choose".into(),
            choose_lines(app, *selected),
            keymap::hints(flow.keys()),
        ),
        Stage::Form {
            fields,
            cell,
            error,
        } => (
            "Repair · set environment variables".into(),
            form_lines(app, fields, *cell, error.as_deref()),
            keymap::hints(flow.keys()),
        ),
        Stage::Planning { what } => (
            "Repair · planning".into(),
            vec![Line::raw(format!(
                "{} Reading the deployed revision and planning: {what}…",
                spinner(app.frame)
            ))],
            keymap::hints(flow.keys()),
        ),
        Stage::Confirm { .. } => (
            "Repair · plan (nothing changed yet)".into(),
            match (&flow.egress, &flow.apprunner, &flow.plan) {
                (Some(egress), _, _) => egress_lines(egress),
                (None, Some(plan), _) => apprunner_lines(plan),
                (None, None, Some(plan)) => plan_lines(plan),
                (None, None, None) => Vec::new(),
            },
            format!("type the service name · {}", keymap::hints(flow.keys())),
        ),
        Stage::Applying => (
            "Repair · applying".into(),
            vec![Line::raw(format!(
                "{} {}…",
                spinner(app.frame),
                match (&flow.egress, &flow.apprunner) {
                    (Some(_), _) => "AuthorizeSecurityGroupEgress",
                    (None, Some(plan)) => plan.call(),
                    (None, None) => "RegisterTaskDefinition and UpdateService",
                }
            ))],
            keymap::hints(flow.keys()),
        ),
        Stage::Following if flow.apprunner.is_some() => (
            "Repair · App Runner operation".into(),
            operation_lines(app, flow),
            keymap::hints(flow.keys()),
        ),
        Stage::Following => (
            "Repair · rollout".into(),
            rollout_lines(app, flow),
            keymap::hints(flow.keys()),
        ),
        Stage::Verifying { since_ms } => (
            "Repair · verification after the fix".into(),
            verify_lines(app, flow, *since_ms),
            keymap::hints(flow.keys()),
        ),
        Stage::Failed { error } => {
            let mut lines = vec![error_line(error)];
            if let Some(rollout) = &flow.rollout {
                if !rollout.service_events.is_empty() {
                    lines.push(Line::raw(""));
                    lines.push(Line::from(bold("Service events")));
                    for event in rollout.service_events.iter().rev().take(8).rev() {
                        lines.push(Line::raw(format!("  {event}")));
                    }
                }
                if !rollout.stopped_tasks.is_empty() {
                    lines.push(Line::raw(""));
                    lines.push(Line::from(bold("Stopped tasks")));
                    for task in &rollout.stopped_tasks {
                        lines.push(Line::raw(format!("  {task}")));
                    }
                }
            }
            if flow.applied.is_some() {
                lines.push(Line::raw(""));
                lines.push(Line::from(Span::styled(
                    "Press b to roll back to the revision before this repair.",
                    Style::new().fg(theme::WARN),
                )));
            }
            ("Repair · failed".into(), lines, keymap::hints(flow.keys()))
        }
    }
}

/// The variables form: what the repair changes, then a row per variable (values masked).
fn form_lines(
    app: &App,
    fields: &[crate::app::Field],
    cell: usize,
    error: Option<&str>,
) -> Vec<Line<'static>> {
    let what = if app.names.platform == crate::config::Platform::AppRunner {
        format!(
            "UpdateService of {} with only these variables changed in RuntimeEnvironmentVariables; the rest of its configuration goes back as it is.",
            app.names.service
        )
    } else {
        format!(
            "A new revision of {} with only these variables changed; every other field is carried over.",
            deployed(app)
        )
    };
    let mut lines = vec![
        Line::raw(what),
        Line::from(dim(
            "Values are typed masked and never drawn; the plan shows the diff before anything changes.",
        )),
        Line::from(dim(
            "Tab past the last value adds a row, for a variable the evidence did not flag.",
        )),
        Line::raw(""),
    ];
    for (row, field) in fields.iter().enumerate() {
        let focus = |col: usize| cell == row * 2 + col;
        let cursor = |col: usize| if focus(col) { "▏" } else { "" };
        let style = |col: usize| {
            if focus(col) {
                Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            }
        };
        let name = if field.name.value().is_empty() && !focus(0) {
            "(name)".to_owned()
        } else {
            field.name.value().to_owned()
        };
        let typed = field.value.value().chars().count();
        let value = if typed == 0 && !focus(1) {
            "(value)".to_owned()
        } else {
            "•".repeat(typed.min(40))
        };
        lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(format!("{name}{}", cursor(0)), style(0)),
            Span::raw(" = "),
            Span::styled(format!("{value}{}", cursor(1)), style(1)),
            dim(if typed > 0 {
                format!("  ({typed} characters)")
            } else {
                String::new()
            }),
        ]));
    }
    if let Some(e) = error {
        lines.push(error_line(e));
    }
    lines
}

fn deployed(app: &App) -> String {
    match &app.evidence.ecs {
        Some(Ok(s)) => format!("{}:{}", s.deployed.family, s.deployed.revision),
        _ => "the deployed task definition".into(),
    }
}

fn choose_lines(app: &App, selected: usize) -> Vec<Line<'static>> {
    let verdict = app.diagnosis.verdict.failure_mode;
    let mut lines = vec![
        Line::from(vec![dim("Verdict  "), bold(verdict.title())]),
        Line::from(vec![
            dim("Runbook  "),
            Span::raw(verdict.repair_on(app.names.platform)),
        ]),
        Line::raw(""),
    ];
    let flagged = app.flagged_vars();
    let suggested = app.suggested_choice();
    for (i, choice) in Choice::ALL.iter().enumerate() {
        let (label, detail) = match choice {
            Choice::SetEnv => (
                "Set or fix environment variables".to_owned(),
                if flagged.is_empty() {
                    "none flagged: type the names".to_owned()
                } else {
                    format!("flagged: {}", flagged.join(", "))
                },
            ),
            Choice::RollBack => (
                "Roll back to the previous revision".to_owned(),
                app.previous_revision()
                    .unwrap_or_else(|| "the highest ACTIVE revision below the deployed one".into()),
            ),
            Choice::Redeploy if app.names.platform == crate::config::Platform::AppRunner => (
                "Start a deployment (or resume)".to_owned(),
                "StartDeployment, or ResumeService when the service is PAUSED".to_owned(),
            ),
            Choice::Redeploy => (
                "Force a new deployment".to_owned(),
                format!("of {} (after rotating a secret outside)", deployed(app)),
            ),
            Choice::RestoreSecret => (
                "Restore a deleted secret".to_owned(),
                match app.secrets_scheduled_for_deletion().as_slice() {
                    [] => "none scheduled for deletion".to_owned(),
                    names => format!("of {}, then a new deployment", names.join(", ")),
                },
            ),
            Choice::AllowEgress => (
                "Allow HTTPS egress (security group)".to_owned(),
                match (app.security_group_blocks(), &app.evidence.network) {
                    (Some(hop), _) => hop.detail.clone(),
                    (None, Some(Ok(_))) => "the security groups allow it already".to_owned(),
                    (None, Some(Err(e))) => format!("path unread: {}", e.message),
                    (None, None) => "the network path is not read yet".to_owned(),
                },
            ),
        };
        let runs = choice.runs_on(app.names.platform);
        let detail = if runs {
            detail
        } else {
            "ECS only: not on App Runner".to_owned()
        };
        let style = match (i == selected, runs) {
            (true, _) => Style::new()
                .fg(theme::ACCENT)
                .add_modifier(Modifier::REVERSED),
            (false, true) => Style::new(),
            (false, false) => Style::new().fg(theme::DIM),
        };
        let mark = if i == suggested && verdict.is_failure() {
            "★"
        } else {
            " "
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", i + 1), style),
            Span::styled(mark, Style::new().fg(theme::WARN)),
            Span::styled(format!(" {label:<36}"), style),
            dim(format!("  {detail}")),
        ]));
    }
    if verdict.is_failure() {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("★", Style::new().fg(theme::WARN)),
            dim(" the repair the verdict points at"),
        ]));
    }
    lines
}

fn plan_lines(plan: &repair::Plan) -> Vec<Line<'static>> {
    let from = format!("{}:{}", plan.source.family, plan.source.revision);
    let mut lines = vec![
        Line::from(vec![dim("PLAN      "), bold(repair::render::summary(plan))]),
        Line::from(vec![
            dim("SERVICE   "),
            Span::raw(format!("{} / {}", plan.cluster, plan.service)),
        ]),
        Line::raw(""),
    ];
    lines.extend(warning_lines(&plan.warnings));
    lines.push(Line::from(vec![
        dim("DIFF      "),
        Span::raw(format!("{from} → after the repair")),
    ]));
    if plan.diff.is_empty() {
        lines.push(Line::from(dim(match plan.target {
            Target::Existing { .. } => {
                "  (no change to the task definition: the same revision again)"
            }
            Target::Register(_) => "  (no change to the task definition)",
        })));
    }
    lines.extend(diff_and_commands(&plan.diff, &plan.commands));
    lines
}

/// What a plan warns of before it is applied (a secret the new tasks cannot read), in red,
/// each followed by a blank line.
fn warning_lines(warnings: &[String]) -> Vec<Line<'static>> {
    warnings
        .iter()
        .flat_map(|warning| {
            [
                Line::from(vec![
                    Span::styled(
                        "WARNING   ",
                        Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(crate::redact::sanitize(warning)),
                ]),
                Line::raw(""),
            ]
        })
        .collect()
}

/// A plan's diff, coloured, then its equivalent commands.
fn diff_and_commands(diff: &[Change], commands: &[String]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for change in diff {
        let colour = match change {
            Change::Added { .. } | Change::SecretAdded { .. } => theme::PASS,
            Change::Removed { .. } | Change::SecretRemoved { .. } => theme::FAIL,
            _ => theme::WARN,
        };
        lines.push(Line::from(Span::styled(
            format!("  {}", repair::render::change_line(change)),
            Style::new().fg(colour),
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(dim(
        "COMMANDS  equivalent aws CLI, secrets redacted",
    )));
    for command in commands {
        lines.push(Line::raw(format!("  $ {command}")));
    }
    lines
}

/// An App Runner plan: the call, the service, the change to its variables, the commands.
fn apprunner_lines(plan: &repair::apprunner::Plan) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![dim("PLAN      "), bold(plan.summary())]),
        Line::from(vec![
            dim("SERVICE   "),
            Span::raw(format!("{} · {}", plan.service_name(), plan.status)),
        ]),
        Line::from(dim(
            "          App Runner deploys the change as one operation; the running instances serve until it succeeds",
        )),
        Line::raw(""),
    ];
    lines.extend(warning_lines(&plan.warnings));
    if matches!(plan.action, repair::apprunner::Action::Update(_)) {
        lines.push(Line::from(vec![
            dim("DIFF      "),
            Span::raw("RuntimeEnvironmentVariables → after the repair"),
        ]));
        if plan.diff.is_empty() {
            lines.push(Line::from(dim("  (the values are already these)")));
        }
    }
    lines.extend(diff_and_commands(&plan.diff, &plan.commands));
    lines
}

/// An App Runner operation followed: its id, each status it reached, for how long.
fn operation_lines(app: &App, flow: &RepairFlow) -> Vec<Line<'static>> {
    let Some(op) = &flow.operation else {
        return Vec::new();
    };
    let call = flow.apprunner.as_ref().map_or("", |p| p.call());
    let elapsed = (app.now_ms - flow.started_ms).max(0).unsigned_abs();
    let mut lines = vec![
        Line::from(vec![
            dim("APPLIED   "),
            Span::raw(format!("{call} · operation {}", op.id)),
        ]),
        Line::from(vec![
            dim("OPERATION "),
            bold(format!(
                "{} {} · {}",
                spinner(app.frame),
                op.status(),
                diagnosis::fmt_ms(elapsed)
            )),
        ]),
        Line::from(dim(
            "          followed with ListOperations until it ends (SUCCEEDED, FAILED, ROLLBACK_…)",
        )),
    ];
    for (at, status) in &op.statuses {
        lines.push(Line::raw(format!(
            "  +{:<8} {status}",
            diagnosis::fmt_ms((at - flow.started_ms).max(0).unsigned_abs())
        )));
    }
    lines
}

fn egress_lines(plan: &crate::repair::egress::EgressPlan) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            dim("PLAN      "),
            bold(format!("allow outbound HTTPS on {}", plan.group)),
        ]),
        Line::from(vec![dim("NOW       "), Span::raw(plan.before.clone())]),
        Line::from(vec![
            dim("ADD       "),
            Span::styled(
                format!(
                    "egress tcp 443 to {} (\"{}\")",
                    plan.cidr,
                    crate::repair::egress::RULE_DESCRIPTION
                ),
                Style::new().fg(theme::PASS),
            ),
        ]),
        Line::from(dim(
            "          no deployment: security group rules apply to the running tasks at once",
        )),
    ];
    for line in &plan.not_fixed {
        lines.push(Line::from(Span::styled(
            format!("NOT FIXED by this repair: {line}"),
            Style::new().fg(theme::WARN),
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(dim("COMMANDS  equivalent aws CLI")));
    for command in &plan.commands {
        lines.push(Line::raw(format!("  $ {command}")));
    }
    lines
}

fn rollout_lines(app: &App, flow: &RepairFlow) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(applied) = &flow.applied {
        lines.push(Line::from(vec![
            dim("APPLIED   "),
            Span::raw(applied.line()),
        ]));
    }
    let elapsed = (app.now_ms - flow.started_ms).max(0) as u64;
    let summary = match flow.last_progress() {
        Some(RolloutEvent::Progress {
            running,
            desired,
            rollout_state: state,
            deployments,
            ..
        }) => format!(
            "{} running {running}/{desired} · {} · {deployments} deployment{} · {}",
            spinner(app.frame),
            if state.is_empty() {
                "IN_PROGRESS"
            } else {
                &state
            },
            if *deployments == 1 { "" } else { "s" },
            diagnosis::fmt_ms(elapsed)
        ),
        _ => format!(
            "{} waiting for the first DescribeServices · {}",
            spinner(app.frame),
            diagnosis::fmt_ms(elapsed)
        ),
    };
    lines.push(Line::from(vec![dim("ROLLOUT   "), bold(summary)]));
    lines.push(Line::from(dim(
        "          followed like `aws ecs wait services-stable`: done when the new deployment is the only one and COMPLETED",
    )));
    let skip = flow.events.len().saturating_sub(ROLLOUT_LINES);
    for event in &flow.events[skip..] {
        lines.push(Line::raw(format!("  {}", event.line().trim_start())));
    }
    lines
}

#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
fn verify_lines(app: &App, flow: &RepairFlow, since_ms: i64) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(rollout) = &flow.rollout {
        lines.push(Line::from(Span::styled(
            format!(
                "✓ Rollout completed in {:.1} s{}",
                rollout.elapsed.as_secs_f64(),
                flow.applied
                    .as_ref()
                    .map(|a| format!(" · now running revision {}", a.revision))
                    .unwrap_or_default()
            ),
            Style::new().fg(theme::PASS),
        )));
    }
    if let (Some(plan), Some(op)) = (&flow.apprunner, &flow.operation) {
        let took = op
            .statuses
            .last()
            .map_or(0, |(at, _)| (at - flow.started_ms).max(0).unsigned_abs());
        lines.push(Line::from(Span::styled(
            format!(
                "✓ {} operation {} {} in {}",
                plan.call(),
                op.id,
                op.status(),
                diagnosis::fmt_ms(took)
            ),
            Style::new().fg(theme::PASS),
        )));
    }
    if let (Some(plan), Some(rules)) = (&flow.egress, &flow.egress_rules) {
        lines.push(Line::from(Span::styled(
            format!(
                "✓ Egress tcp 443 to {} added on {} ({}) · no deployment needed",
                plan.cidr,
                plan.group,
                rules.join(", ")
            ),
            Style::new().fg(theme::PASS),
        )));
    }
    lines.push(Line::from(dim(if flow.egress.is_some() {
        "Checks after the fix, from the rule on (older samples and log lines set aside):"
    } else if flow.apprunner.is_some() {
        "Checks after the fix, from the operation's end on (older samples and log lines set aside):"
    } else {
        "Checks after the fix, on the new deployment only (older samples and log lines set aside):"
    })));
    let e = &app.evidence;
    let last = |endpoint: Endpoint| {
        e.samples
            .iter()
            .rev()
            .find(|s| s.endpoint == endpoint && s.started_ms >= since_ms)
    };
    let check = |ok: Option<bool>, label: &str, text: String| {
        let (mark, colour) = match ok {
            Some(true) => ("✓", theme::PASS),
            Some(false) => ("✗", theme::FAIL),
            None => ("…", theme::WARN),
        };
        Line::from(vec![
            Span::styled(format!("  {mark} "), Style::new().fg(colour)),
            Span::raw(format!("{label:<12}")),
            Span::raw(text),
        ])
    };
    lines.push(match last(Endpoint::Health) {
        Some(s) => check(
            Some(s.class.is_ok()),
            "health",
            format!("{} in {}", s.summary, diagnosis::fmt_ms(s.latency_ms)),
        ),
        None => check(None, "health", "waiting for a probe".into()),
    });
    let otp = match (
        last(Endpoint::OtpStart),
        e.outstanding_age(Endpoint::OtpStart, app.now_ms),
    ) {
        (_, Some(age)) => check(
            None,
            "OTP start",
            format!(
                "{} in flight for {}",
                spinner(app.frame),
                diagnosis::fmt_ms(age)
            ),
        ),
        (Some(s), None) => check(
            Some(s.class.is_ok()),
            "OTP start",
            format!("{} in {}", s.summary, diagnosis::fmt_ms(s.latency_ms)),
        ),
        (None, None) => check(
            None,
            "OTP start",
            "not sent yet: press o (it asks to confirm, and sends a real SMS)".into(),
        ),
    };
    lines.push(otp);
    let checklist = &app.diagnosis.checklist;
    let passed = checklist.iter().filter(|l| l.state == State::Pass).count();
    let failed: Vec<&str> = checklist
        .iter()
        .filter(|l| l.state == State::Fail)
        .map(|l| l.label)
        .collect();
    lines.push(check(
        Some(failed.is_empty()).filter(|_| passed > 0 || !failed.is_empty()),
        "checklist",
        if failed.is_empty() {
            format!("{passed} of {} lines pass", checklist.len())
        } else {
            format!("failing: {}", failed.join(", "))
        },
    ));
    let mode = app.diagnosis.verdict.failure_mode;
    lines.push(Line::raw(""));
    lines.push(match (flow.verified, mode) {
        (Some(FailureMode::None), FailureMode::None) => Line::from(Span::styled(
            "✓ Verified: an OTP start through the API works again and the verdict is none",
            Style::new().fg(theme::PASS).add_modifier(Modifier::BOLD),
        )),
        (_, FailureMode::None) => Line::from(vec![
            Span::styled("Verdict none so far", Style::new().fg(theme::PASS)),
            dim(" · send an OTP start (o) to prove the login path"),
        ]),
        (Some(_), mode) => Line::from(Span::styled(
            format!("Verdict after the fix: {} — {}", mode.id(), mode.title()),
            Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
        )),
        (None, mode) => Line::from(vec![
            Span::styled(
                format!("Verdict now: {}", mode.id()),
                Style::new().fg(theme::WARN).add_modifier(Modifier::BOLD),
            ),
            dim(" · the service and Twilio are read again; send an OTP start (o) to settle it"),
        ]),
    });
    lines
}
