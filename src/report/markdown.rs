//! The report as Markdown, in the order a postmortem reads it: what was wrong (verdict,
//! checklist), what changed in the deployment, what was done and whether it worked, then the
//! timeline as a table. Every value here was masked before it arrived; the caller masks the
//! whole document once more.

use std::fmt::Write as _;

use serde_json::Value;

use super::{ReportHeader, Timeline};
use crate::diagnosis::{fmt_ms, State};
use crate::redact;
use crate::repair::render::change_line;

/// The whole document.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
pub(super) fn render(timeline: &Timeline, header: &ReportHeader) -> String {
    let mut out = String::new();
    let duration = (header.ended_ms - header.started_ms).max(0) as u64;
    let _ = writeln!(out, "# Incident report: OTP login\n");
    let _ = writeln!(out, "## Summary\n");
    for line in super::summary::lines(timeline, header) {
        let _ = writeln!(out, "- {}", cell(&line));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "- Target: `{}`", header.target);
    let _ = writeln!(
        out,
        "- From {} to {} ({})",
        datetime(header.started_ms),
        datetime(header.ended_ms),
        fmt_ms(duration)
    );
    if let Some(d) = &header.diagnosis {
        let mode = d.verdict.failure_mode;
        let _ = writeln!(out, "- Verdict: **{}** — {}", mode.id(), mode.title());
    }
    if let Some(follow) = &header.logs_follow {
        let _ = writeln!(out, "- Logs followed by {}", cell(&follow.line()));
    }
    if let Some(v) = &header.verification {
        let _ = writeln!(
            out,
            "- Verdict after the repair: **{}**",
            str_at(v, &["verdict", "failure_mode"])
        );
    }

    if let Some(d) = &header.diagnosis {
        let _ = writeln!(out, "\n## Verdict\n");
        if d.verdict.candidates.is_empty() {
            let _ = writeln!(out, "No failure mode is supported by the evidence.");
        }
        for (i, f) in d.verdict.candidates.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. **{}** — {} (confidence {})",
                i + 1,
                f.failure_mode.id(),
                f.title,
                f.confidence
            );
            for e in &f.evidence {
                let _ = writeln!(out, "   - evidence: {}", cell(e));
            }
            let _ = writeln!(out, "   - repair: {}", f.repair);
            for c in &f.commands {
                let _ = writeln!(out, "   - `{}`", c.replace('`', "'"));
            }
        }
        if !d.verdict.risks.is_empty() {
            let _ = writeln!(out, "\n## Risks\n");
            let _ = writeln!(
                out,
                "True, and not the cause of what failed: each will fail a later deployment.\n"
            );
            for r in &d.verdict.risks {
                let _ = writeln!(out, "- **{}** — {}", r.failure_mode.id(), r.title);
                for e in &r.evidence {
                    let _ = writeln!(out, "   - evidence: {}", cell(e));
                }
                let _ = writeln!(out, "   - repair: {}", r.repair);
                for c in &r.commands {
                    let _ = writeln!(out, "   - `{}`", c.replace('`', "'"));
                }
            }
        }
        let _ = writeln!(out, "\n## Checklist\n");
        let _ = writeln!(out, "| | Item | Evidence |\n|---|---|---|");
        for line in &d.checklist {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                mark(line.state),
                cell(line.label),
                cell(&line.evidence)
            );
        }
        if !d.unknown.is_empty() {
            let _ = writeln!(out, "\nNot determined:\n");
            for u in &d.unknown {
                let _ = writeln!(out, "- {}", cell(u));
            }
        }
    }

    if let Some(path) = &header.network {
        let _ = writeln!(
            out,
            "\n## Network path to Twilio (tcp 443 to {})\n",
            path.destinations.join(", ")
        );
        // bridge/host networking: the hosts the tasks send from, before their hops.
        for i in &path.service.instances {
            let _ = writeln!(
                out,
                "Tasks on {} ({} networking) in {}, {}.\n",
                cell(&i.id),
                cell(&path.service.network_mode),
                cell(&i.subnet),
                i.public_ip.as_ref().map_or_else(
                    || "no public IP".to_owned(),
                    |ip| format!("public IP {}", cell(ip))
                )
            );
        }
        let _ = writeln!(out, "| | Hop | Resource | Rule |\n|---|---|---|---|");
        for hop in &path.hops {
            let mark = match hop.state {
                crate::network::HopState::Pass => "✓",
                crate::network::HopState::Fail => "✗",
                crate::network::HopState::Unknown => "?",
            };
            let _ = writeln!(
                out,
                "| {mark} | {} | {} | {} |",
                hop.kind.label(),
                cell(&hop.resource),
                cell(&hop.detail)
            );
        }
    }

    if let Some(diff) = &header.revision_diff {
        let _ = writeln!(
            out,
            "\n## What changed: {} against {}\n",
            diff.deployed,
            diff.previous.as_deref().unwrap_or("(no previous revision)")
        );
        if diff.changes.is_empty() {
            let _ = writeln!(out, "No difference.");
        }
        for change in &diff.changes {
            let _ = writeln!(out, "- {}", cell(&change_line(change)));
        }
    }

    if !header.changes.is_empty() {
        let _ = writeln!(
            out,
            "\n## Changes in the window (CloudTrail, Twilio Monitor)\n\n| when | who | what | may explain the verdict |\n|---|---|---|---|"
        );
        for c in &header.changes {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                datetime(c.at_ms),
                cell(&c.who),
                cell(&c.what),
                if c.related { "yes" } else { "" }
            );
        }
    }

    if let Some(repair) = &header.repair {
        render_repair(&mut out, repair);
    }
    if let Some(v) = &header.verification {
        let _ = writeln!(out, "\n## Verification after the repair\n");
        let _ = writeln!(
            out,
            "Verdict: **{}**\n",
            str_at(v, &["verdict", "failure_mode"])
        );
        let _ = writeln!(out, "| | Item | Evidence |\n|---|---|---|");
        for line in v["checklist"].as_array().into_iter().flatten() {
            let state = match line["state"].as_str() {
                Some("pass") => State::Pass,
                Some("fail") => State::Fail,
                Some("running") => State::Running,
                _ => State::Unknown,
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                mark(state),
                cell(line["label"].as_str().unwrap_or("")),
                cell(line["evidence"].as_str().unwrap_or(""))
            );
        }
    }

    render_traces(&mut out, &header.traces);
    let _ = writeln!(out, "\n## Timeline\n");
    if timeline.dropped() > 0 {
        let _ = writeln!(
            out,
            "({} older probe entries left out to bound the report.)\n",
            timeline.dropped()
        );
    }
    let _ = writeln!(out, "| Time (UTC) | Kind | What |\n|---|---|---|");
    for e in timeline.entries() {
        let until = if e.count > 1 {
            format!(" (until {})", time(e.last_ms))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {}{until} |",
            time(e.at_ms),
            e.kind.label(),
            cell(&e.text)
        );
    }
    out
}

/// Each OTP start sent, traced: its hops in time order, missing ones with why.
fn render_traces(out: &mut String, traces: &[crate::diagnosis::trace::Trace]) {
    if traces.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Traces of the OTP starts sent\n");
    for t in traces {
        let _ = writeln!(out, "**{}** {}\n", time(t.started_ms), cell(&t.title()));
        let _ = writeln!(out, "```");
        for line in t.text_lines() {
            // A log line cannot close the block.
            let _ = writeln!(out, "{}", line.replace('`', "'"));
        }
        let _ = writeln!(out, "```\n");
    }
}

fn render_repair(out: &mut String, repair: &Value) {
    let _ = writeln!(out, "\n## Repair\n");
    let _ = writeln!(
        out,
        "Plan: {}\n",
        cell(repair["summary"].as_str().unwrap_or(""))
    );
    let plan = &repair["plan"];
    for line in repair["diff_lines"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "- {}", cell(line.as_str().unwrap_or("")));
    }
    let commands: Vec<&str> = plan["commands"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !commands.is_empty() {
        let _ = writeln!(out, "\n```sh");
        for c in commands {
            let _ = writeln!(out, "{c}");
        }
        let _ = writeln!(out, "```");
    }
    let applied = &repair["applied"];
    if applied.is_null() {
        let _ = writeln!(out, "\nNot applied.");
        return;
    }
    if let Some(id) = applied["operation_id"].as_str() {
        // App Runner: one operation, followed to its end.
        let _ = writeln!(
            out,
            "\nApplied: App Runner operation `{}`, ended **{}**",
            cell(id),
            cell(
                repair["operation"]
                    .as_str()
                    .unwrap_or("(not followed to its end)")
            )
        );
        return;
    }
    let _ = writeln!(
        out,
        "\nApplied: `{}` (revision {}), deployment `{}`",
        str_at(applied, &["task_definition_arn"]),
        applied["revision"],
        str_at(applied, &["deployment_id"])
    );
    let rollout = &repair["rollout"];
    if !rollout.is_null() {
        let _ = writeln!(
            out,
            "\nRollout: **{}** after {:.1} s{}",
            str_at(rollout, &["state"]),
            rollout["seconds"].as_f64().unwrap_or(0.0),
            match rollout["reason"].as_str() {
                Some(r) if !r.is_empty() => format!(" — {}", cell(r)),
                _ => String::new(),
            }
        );
        for e in rollout["service_events"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "- {}", cell(e.as_str().unwrap_or("")));
        }
        for t in rollout["stopped_tasks"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "- stopped: {}", cell(t.as_str().unwrap_or("")));
        }
        if let Some(s) = rollout["suggestion"].as_str() {
            let _ = writeln!(out, "\n{}", cell(s));
        }
    }
}

fn mark(state: State) -> &'static str {
    match state {
        State::Pass => "✓",
        State::Fail => "✗",
        State::Unknown => "?",
        State::Running => "…",
    }
}

/// Text safe in a table cell or a list item: one line, no column break.
fn cell(text: &str) -> String {
    redact::sanitize(text).replace('|', "\\|")
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(value, |v, k| &v[*k])
        .as_str()
        .unwrap_or("?")
}

fn datetime(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%H:%M:%S%.3f").to_string())
}
