//! A plan and a rollout as text and JSON: the one-line summary, the masked diff lines, the
//! plan as `repair` prints it, the rollout as `--json` and the incident report carry it. Every
//! value in a plan is masked already; these only lay it out.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{Plan, Repair, Rollout, Target};
use crate::probe::ecs::Change;
use crate::redact;

/// A followed rollout as JSON (`repair --json`'s `rollout`).
pub fn rollout_json(r: &Rollout) -> Value {
    json!({
        "state": r.state,
        "seconds": r.elapsed.as_secs_f64(),
        "events": r.events,
        "reason": r.reason,
        "service_events": r.service_events,
        "stopped_tasks": r.stopped_tasks,
        "suggestion": r.suggestion,
    })
}

/// What a plan does, in one line (`set X on family:42 → a new revision of family`).
pub fn summary(plan: &Plan) -> String {
    let from = format!("{}:{}", plan.source.family, plan.source.revision);
    match (&plan.action, &plan.target) {
        (Repair::Set(vars), _) => format!(
            "set {} on {from} → a new revision of {}",
            vars.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            plan.source.family
        ),
        (Repair::RollbackTo(_), Target::Existing { revision, .. }) => {
            format!("roll back from {from} to {}:{revision}", plan.source.family)
        }
        (Repair::Redeploy, _) => format!("force a new deployment of {from}"),
        (Repair::RestoreSecret(name), _) => {
            format!("restore the secret {name} comes from, then force a new deployment of {from}")
        }
        (Repair::PutSecret(name, _), _) => format!(
            "put a new value in the secret {name} comes from, then force a new deployment of {from}"
        ),
        (Repair::PointSecret(refs), _) => format!(
            "point {} at {} → a new revision of {}",
            refs.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            refs.iter()
                .map(|(_, from)| crate::probe::secrets::ValueFrom::parse(from).source())
                .collect::<Vec<_>>()
                .join(", "),
            plan.source.family
        ),
        (Repair::RollbackTo(r), Target::Register(_)) => format!("roll back to {r}"),
    }
}

/// The plan as text: what, the diff, the commands.
pub fn render_plan(plan: &Plan, target: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "otp-console repair · {target} · {}/{}\n",
        plan.cluster, plan.service
    );
    let from = format!("{}:{}", plan.source.family, plan.source.revision);
    let _ = writeln!(out, "PLAN     {}", summary(plan));
    let _ = writeln!(out, "\nDIFF     {from} → after the repair");
    if plan.diff.is_empty() {
        let _ = writeln!(out, "  (no change to the task definition)");
    }
    for change in &plan.diff {
        let _ = writeln!(out, "  {}", change_line(change));
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "\nWARNING  {warning}");
    }
    let _ = writeln!(out, "\nCOMMANDS (equivalent aws CLI, secrets redacted)");
    for command in &plan.commands {
        let _ = writeln!(out, "  $ {command}");
    }
    out
}

/// One diff line; every value in a [`Change`] is already masked.
pub fn change_line(change: &Change) -> String {
    match change {
        Change::Added { name, display } => format!("+ {name} = {display}"),
        Change::Removed { name, display } => format!("- {name} (was {display})"),
        Change::Changed { name, from, to } if redact::is_secret_name(name) => {
            format!("~ {name} changed ({from} → {to})")
        }
        Change::Changed { name, from, to } => format!("~ {name}: {from} → {to}"),
        Change::SecretAdded { name, value_from } => format!("+ secret {name} from {value_from}"),
        Change::SecretRemoved { name, value_from } => {
            format!("- secret {name} (was from {value_from})")
        }
        Change::SecretChanged { name, from, to } => {
            format!("~ secret {name}: from {from} → {to}")
        }
        Change::Image { from, to } => format!("~ image: {from} → {to}"),
        Change::EnvFiles { from, to } => format!(
            "~ env files: {} → {}",
            Change::env_files_short(from),
            Change::env_files_short(to)
        ),
    }
}
