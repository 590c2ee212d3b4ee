//! The report's opening summary, shaped like a postmortem's: what users saw, when the console
//! named the cause and on what evidence, the change behind it, what was done, whether it
//! worked, time to diagnose and to recover, and the risks left. Read from the timeline (the
//! incident as first named, the recovery) and the header (traffic, changes, repair,
//! verification, the final diagnosis).

use serde_json::{json, Value};

use super::{ReportHeader, Timeline};
use crate::diagnosis::{fmt_ms, FailureMode};

/// The summary's facts, each `None` when the session did not see it.
struct Facts<'a> {
    incident: Option<&'a super::Incident>,
    now: Option<FailureMode>,
    users: Option<&'a str>,
    cause: Option<&'a super::ChangeLine>,
    repair: Option<&'a str>,
    /// When the repair was confirmed (the service's name typed), ms since the session began.
    confirmed_ms: Option<u64>,
    /// Who CloudTrail says made the repair's first change.
    applied_by: Option<&'a str>,
    /// When the repair's rollout (or operation, or rule) completed, since the session began.
    completed_ms: Option<u64>,
    verified: Option<&'a str>,
    to_diagnose_ms: Option<u64>,
    to_recover_ms: Option<u64>,
    risks: Vec<&'static str>,
}

fn facts<'a>(timeline: &'a Timeline, header: &'a ReportHeader) -> Facts<'a> {
    let since = |at: i64| (at - header.started_ms).max(0) as u64;
    let incident = timeline.incident.as_ref();
    let entry_at = |starts: &[&str], after: i64| {
        timeline
            .entries()
            .iter()
            .find(|e| e.at_ms >= after && starts.iter().any(|s| e.text.starts_with(s)))
            .map(|e| e.at_ms)
    };
    let confirmed = entry_at(&["repair confirmed:"], i64::MIN);
    let completed = confirmed
        .and_then(|at| entry_at(&["rollout completed", "applied: egress", "operation "], at));
    // The repair's own first change, as CloudTrail recorded it.
    let applied_by = confirmed.and_then(|at| {
        header
            .changes
            .iter()
            .filter(|c| c.at_ms >= at - 1_000)
            .min_by_key(|c| c.at_ms)
            .map(|c| c.who.as_str())
    });
    Facts {
        confirmed_ms: confirmed.map(since),
        applied_by,
        completed_ms: completed.map(since),
        incident,
        now: header.diagnosis.as_ref().map(|d| d.verdict.failure_mode),
        // What users saw when the incident was named, as its evidence read their traffic;
        // else the last read.
        users: incident
            .and_then(|i| {
                i.evidence
                    .iter()
                    .find_map(|e| e.strip_prefix("real traffic: "))
            })
            .or(header.users.as_deref()),
        // The newest change that may explain it, made before the incident was named (the
        // repair's own change comes after).
        cause: header
            .changes
            .iter()
            .find(|c| c.related && incident.is_none_or(|i| c.at_ms <= i.at_ms)),
        repair: header.repair.as_ref().and_then(|r| r["summary"].as_str()),
        verified: header
            .verification
            .as_ref()
            .and_then(|v| v["verdict"]["failure_mode"].as_str()),
        to_diagnose_ms: incident.map(|i| since(i.at_ms)),
        to_recover_ms: timeline.recovered_ms.map(since),
        risks: header
            .diagnosis
            .iter()
            .flat_map(|d| &d.verdict.risks)
            .map(|r| r.failure_mode.id())
            .collect(),
    }
}

/// The summary as Markdown bullet lines (unescaped; the caller escapes and masks).
pub(super) fn lines(timeline: &Timeline, header: &ReportHeader) -> Vec<String> {
    let f = facts(timeline, header);
    let mut out = Vec::new();
    match (f.incident, f.now) {
        (Some(i), Some(now)) if now != i.failure_mode => out.push(format!(
            "Incident: **{}** — {}; now: **{}**",
            i.failure_mode.id(),
            i.title,
            now.id()
        )),
        (Some(i), _) => out.push(format!(
            "Incident: **{}** — {}",
            i.failure_mode.id(),
            i.title
        )),
        (None, Some(now)) => out.push(format!("No incident named; now: **{}**", now.id())),
        (None, None) => out.push("No diagnosis was made".into()),
    }
    if let Some(users) = f.users {
        out.push(format!("What users saw: {users}"));
    }
    if let Some(i) = f.incident {
        out.push(format!(
            "Named {} after the session began, on: {}",
            fmt_ms(f.to_diagnose_ms.unwrap_or_default()),
            if i.evidence.is_empty() {
                "(no evidence line)".to_owned()
            } else {
                i.evidence.join("; ")
            }
        ));
    }
    if let Some(c) = f.cause {
        out.push(format!("The change behind it: {} by {}", c.what, c.who));
    }
    if let Some(repair) = f.repair {
        out.push(format!("Done: {repair}"));
    }
    if let Some(ms) = f.confirmed_ms {
        out.push(format!(
            "Confirmed {} after the session began (the service's name typed){}{}",
            fmt_ms(ms),
            f.applied_by.map_or_else(
                || ", CloudTrail has not recorded its change yet".to_owned(),
                |who| format!(", applied as {who} (CloudTrail)")
            ),
            f.completed_ms.map_or_else(
                || "; not completed".to_owned(),
                |at| format!("; completed {} after the session began", fmt_ms(at))
            )
        ));
    }
    match (f.verified, f.to_recover_ms) {
        (Some(v), Some(ms)) => out.push(format!(
            "Verified: **{v}**, {} after the session began (time to recover)",
            fmt_ms(ms)
        )),
        (Some(v), None) => out.push(format!("Verified: **{v}**")),
        (None, Some(ms)) => out.push(format!(
            "Verified: **none** after the repair, {} after the session began (time to recover)",
            fmt_ms(ms)
        )),
        _ => {}
    }
    if !f.risks.is_empty() {
        out.push(format!("Risks left: {}", f.risks.join(", ")));
    }
    out
}

/// The same facts for the JSON report's `summary`.
pub(super) fn json(timeline: &Timeline, header: &ReportHeader) -> Value {
    let f = facts(timeline, header);
    json!({
        "incident": f.incident,
        "now": f.now,
        "users": f.users,
        "cause": f.cause,
        "repair": f.repair,
        "confirmed_ms": f.confirmed_ms,
        "applied_by": f.applied_by,
        "completed_ms": f.completed_ms,
        "verified": f.verified,
        "time_to_diagnose_ms": f.to_diagnose_ms,
        "time_to_recover_ms": f.to_recover_ms,
        "risks": f.risks,
    })
}
