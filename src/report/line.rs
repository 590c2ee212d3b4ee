//! Turns what the console sees and does into timeline lines: an observation into a probe line,
//! two diagnoses into the changes between them, a rollout event into an action. Each line
//! names its stream and a key: the timeline folds a line into the last entry of its stream
//! when their keys are equal, adding its tally (latencies, log line counts) to the entry's.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::EntryKind;
use crate::diagnosis::{fmt_ms, Diagnosis, FailureMode, Finding, Item, State};
use crate::probe::http::{Class, Endpoint};
use crate::probe::logs::LineKind;
use crate::probe::twilio::Fact;
use crate::probe::{Observation, ProbeError};
use crate::repair::RolloutEvent;

/// One line before it joins the timeline.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub stream: String,
    pub key: String,
    /// The text without its tally.
    pub base: String,
    pub detail: Option<Value>,
    pub tally: Tally,
}

impl Line {
    fn plain(stream: impl Into<String>, base: String) -> Self {
        Self {
            stream: stream.into(),
            key: base.clone(),
            base,
            detail: None,
            tally: Tally::Count,
        }
    }

    fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// What folded entries add up.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) enum Tally {
    /// Only how many.
    #[default]
    Count,
    /// Request latencies, for a median.
    Latency(Latencies),
    /// Log lines by kind.
    Lines(BTreeMap<String, usize>),
}

impl Tally {
    pub fn absorb(&mut self, other: Tally) {
        match (self, other) {
            (Self::Latency(a), Self::Latency(b)) => a.absorb(&b),
            (Self::Lines(a), Self::Lines(b)) => {
                for (kind, n) in b {
                    *a.entry(kind).or_default() += n;
                }
            }
            _ => {}
        }
    }

    pub fn render(&self, base: &str, count: u32) -> String {
        match self {
            Self::Count if count == 1 => base.to_owned(),
            Self::Count => format!("{base} ×{count}"),
            Self::Latency(l) if count == 1 => format!("{base} in {}", fmt_ms(l.median())),
            Self::Latency(l) => format!("{base} ×{count} (p50 {})", fmt_ms(l.median())),
            Self::Lines(counts) => {
                let total: usize = counts.values().sum();
                let mut by_count: Vec<(&String, &usize)> = counts.iter().collect();
                by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let kinds: Vec<String> = by_count.iter().map(|(k, n)| format!("{k} {n}")).collect();
                format!(
                    "{base}: {total} line{} ({})",
                    if total == 1 { "" } else { "s" },
                    kinds.join(", ")
                )
            }
        }
    }
}

/// Latencies in buckets of two significant digits: a median to within 10 % in a few hundred
/// counters however long the session.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Latencies {
    buckets: BTreeMap<u64, u32>,
}

impl Latencies {
    fn one(ms: u64) -> Self {
        let mut l = Self::default();
        *l.buckets.entry(bucket(ms)).or_default() += 1;
        l
    }

    fn absorb(&mut self, other: &Self) {
        for (b, n) in &other.buckets {
            *self.buckets.entry(*b).or_default() += n;
        }
    }

    fn median(&self) -> u64 {
        let total: u64 = self.buckets.values().map(|n| u64::from(*n)).sum();
        let mut seen = 0;
        for (b, n) in &self.buckets {
            seen += u64::from(*n);
            if seen * 2 >= total {
                return *b;
            }
        }
        0
    }
}

fn bucket(ms: u64) -> u64 {
    let (mut value, mut scale) = (ms, 1);
    while value >= 100 {
        value /= 10;
        scale *= 10;
    }
    value * scale
}

fn id<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn error_detail(e: &ProbeError) -> Value {
    json!({ "system": e.system, "kind": e.kind, "code": e.code })
}

/// A change in how the logs are followed (Live Tail, sampled, polling and why), when the
/// observation carries one: its own entry, beside the batch's lines.
pub(super) fn follow_mode(observation: &Observation) -> Option<Line> {
    let Observation::Logs {
        result: Ok(batch), ..
    } = observation
    else {
        return None;
    };
    let mode = batch.follow.as_ref()?;
    Some(
        Line::plain("logs-follow", format!("Logs followed by {}", mode.line()))
            .with_detail(serde_json::to_value(mode).unwrap_or(Value::Null)),
    )
}

/// A probe's observation as a line; `None` for what the timeline leaves out (an empty batch
/// of log lines, a health probe being sent).
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
pub(super) fn observation(observation: &Observation) -> Option<Line> {
    match observation {
        Observation::Http(s) => {
            let label = if s.during_otp {
                format!("{} (during OTP start)", s.endpoint.label())
            } else {
                s.endpoint.label().to_owned()
            };
            let status = s.status.map_or_else(|| id(&s.class), |c| c.to_string());
            // A routine health answer folds with the next whatever its body; anything else
            // keeps its summary, and a different summary is a different entry.
            let base = if s.endpoint == Endpoint::Health && s.class == Class::Ok {
                format!("{label} {status}")
            } else if s.summary.is_empty() {
                format!("{label} {status} ({})", id(&s.class))
            } else {
                format!("{label} {status} ({}): {}", id(&s.class), s.summary)
            };
            Some(Line {
                stream: format!("http:{label}"),
                key: base.clone(),
                base,
                detail: None,
                tally: Tally::Latency(Latencies::one(s.latency_ms)),
            })
        }
        Observation::HttpStarted { endpoint, .. } => match endpoint {
            Endpoint::OtpStart | Endpoint::OtpVerify => Some(Line::plain(
                format!("sent:{}", endpoint.label()),
                format!("{} sent, waiting for the answer", endpoint.label()),
            )),
            Endpoint::Health | Endpoint::DevLogin => None,
        },
        Observation::Ecs { result, .. } => Some(match result {
            Ok(s) => {
                let primary = s.service.deployments.iter().find(|d| d.status == "PRIMARY");
                let rollout = primary
                    .map(|d| d.rollout_state.as_str())
                    .filter(|r| !r.is_empty())
                    .map_or(String::new(), |r| format!(" {r}"));
                let problems = s
                    .checks
                    .iter()
                    .filter(|c| matches!(c.status, crate::config::VarStatus::Violation(_)))
                    .count();
                let n = s.service.deployments.len();
                let base = format!(
                    "ECS: {}:{} deployed{rollout}, running {}/{}, {n} deployment{}, {problems} env-var problem{}",
                    s.deployed.family,
                    s.deployed.revision,
                    s.service.running,
                    s.service.desired,
                    if n == 1 { "" } else { "s" },
                    if problems == 1 { "" } else { "s" },
                );
                Line::plain("ecs", base).with_detail(json!({
                    "deployed": s.deployed.arn,
                    "image": s.deployed.image,
                    "previous": s.previous.as_ref().map(|p| &p.arn),
                    "diff": s.diff,
                }))
            }
            Err(e) => {
                Line::plain("ecs", format!("ECS: {}", e.message)).with_detail(error_detail(e))
            }
        }),
        Observation::Network { result, .. } => Some(match result {
            Ok(path) => Line::plain(
                "network",
                format!(
                    "Network path to Twilio (tcp 443): {} — {}",
                    id(&path.state),
                    path.summary()
                ),
            )
            .with_detail(json!({ "hops": path.hops })),
            Err(e) => Line::plain("network", format!("Network path: {}", e.message))
                .with_detail(error_detail(e)),
        }),
        Observation::Traffic { traffic, .. } => {
            let base = traffic.headline();
            Some(Line::plain("traffic", base))
        }
        Observation::Logs { result, .. } => match result {
            Ok(batch) if batch.events.is_empty() => None,
            Ok(batch) => {
                let mut counts = BTreeMap::new();
                let mut notable: Vec<String> = Vec::new();
                let mut example = None;
                for event in &batch.events {
                    let kind = id(&event.kind);
                    if is_notable(event.kind) {
                        if !notable.contains(&kind) {
                            notable.push(kind.clone());
                        }
                        example.get_or_insert_with(|| event.message.clone());
                    }
                    *counts.entry(kind).or_default() += 1;
                }
                notable.sort();
                let base = if notable.is_empty() {
                    "logs".to_owned()
                } else {
                    format!("logs with {}", notable.join(", "))
                };
                Some(Line {
                    stream: "logs".into(),
                    key: base.clone(),
                    base,
                    detail: example.map(|m| json!({ "example": m })),
                    tally: Tally::Lines(counts),
                })
            }
            Err(e) => Some(
                Line::plain("logs", format!("logs: {}", e.message)).with_detail(error_detail(e)),
            ),
        },
        Observation::Twilio { fact, .. } => Some(twilio(fact)),
        Observation::Changes { origin, result, .. } => Some(what_changed(*origin, result)),
    }
}

/// What changed over the window, as one line per read with every change in its detail.
fn what_changed(
    origin: crate::probe::changes::Origin,
    result: &Result<crate::probe::changes::Changes, ProbeError>,
) -> Line {
    let (stream, name) = match origin {
        crate::probe::changes::Origin::Cloudtrail => ("changes:cloudtrail", "CloudTrail"),
        crate::probe::changes::Origin::TwilioMonitor => ("changes:twilio", "Twilio Monitor"),
    };
    match result {
        Ok(c) => {
            let newest = c.changes.first().map_or(String::new(), |n| {
                format!(", newest: {} by {}", n.summary, n.who)
            });
            let alerts = if c.alerts.is_empty() {
                String::new()
            } else {
                format!(", {} alerts", c.alerts.len())
            };
            Line::plain(
                stream,
                format!("{name}: {} changes{alerts}{newest}", c.changes.len()),
            )
            // Who did what and when; the request parameters stay in `check --json`: the
            // timeline is masked line by line and a revision's parameters are long.
            .with_detail(json!({
                "changes": c.changes.iter().map(|x| json!({
                    "at_ms": x.at_ms,
                    "who": x.who,
                    "what": x.summary,
                })).collect::<Vec<_>>(),
                "alerts": c.alerts.len(),
                "truncated": c.truncated,
            }))
        }
        Err(e) => {
            Line::plain(stream, format!("{name}: {}", e.message)).with_detail(error_detail(e))
        }
    }
}

/// Lines that say something went wrong; routine ones (access, sent, verified) only count.
fn is_notable(kind: LineKind) -> bool {
    !matches!(
        kind,
        LineKind::Access
            | LineKind::Other
            | LineKind::OtpSent
            | LineKind::OtpVerified
            | LineKind::ProviderInitialised
    )
}

fn twilio(fact: &Fact) -> Line {
    let failed = |stream: &str, what: &str, e: &ProbeError| {
        Line::plain(stream, format!("Twilio {what}: {}", e.message)).with_detail(error_detail(e))
    };
    match fact {
        Fact::Credentials(c) => {
            let token = match (&c.token_value_from, c.has_auth_token) {
                (Some(from), _) => format!("from secret {from}"),
                (None, true) => "set".to_owned(),
                (None, false) => "missing".to_owned(),
            };
            Line::plain(
                "twilio:credentials",
                format!(
                    "Twilio credentials from {}: account {}, auth token {token}, Verify service {}",
                    id(&c.source),
                    c.account_sid.as_deref().unwrap_or("missing"),
                    c.verify_service_sid.as_deref().unwrap_or("missing"),
                ),
            )
        }
        Fact::Account(Ok(a)) => Line::plain(
            "twilio:account",
            format!("Twilio account {} is {}", a.sid, a.status),
        ),
        Fact::Account(Err(e)) => failed("twilio:account", "account", e),
        Fact::Service(Ok(s)) => Line::plain(
            "twilio:service",
            format!(
                "Twilio Verify service {} ({}, {} digits)",
                s.sid, s.friendly_name, s.code_length
            ),
        ),
        Fact::Service(Err(e)) => failed("twilio:service", "Verify service", e),
        Fact::StatusPage(Ok(p)) => {
            let degraded = if p.degraded.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.degraded.join("; "))
            };
            Line::plain(
                "twilio:status",
                format!(
                    "Twilio status page: {} — {}{degraded}",
                    p.indicator, p.description
                ),
            )
        }
        Fact::StatusPage(Err(e)) => failed("twilio:status", "status page", e),
        Fact::Send(Ok(v)) => Line::plain(
            "twilio:send",
            format!("Twilio test send to {}: {}", v.to, v.status),
        ),
        Fact::Send(Err(e)) => failed("twilio:send", "test send", e),
        Fact::Check(Ok(v)) => Line::plain(
            "twilio:check",
            format!(
                "Twilio code check for {}: {}{}",
                v.to,
                v.status,
                if v.valid { " (valid)" } else { "" }
            ),
        ),
        Fact::Check(Err(e)) => failed("twilio:check", "code check", e),
        Fact::Sender(Ok(n)) => Line::plain(
            "twilio:sender",
            format!(
                "Twilio From number {}: {}",
                n.from,
                match (n.owned, n.sms_capable) {
                    (false, _) => "not owned by the account".to_owned(),
                    (true, false) => "owned, not SMS-capable".to_owned(),
                    (true, true) => format!("owned, SMS-capable ({})", n.friendly_name),
                }
            ),
        ),
        Fact::Sender(Err(e)) => failed("twilio:sender", "From number", e),
        Fact::RecentSms(Ok(r)) => Line::plain(
            "twilio:recent",
            format!(
                "Twilio SMS to real users, last 15 min: {}",
                r.tally(r.since_ms).summary()
            ),
        ),
        Fact::RecentSms(Err(e)) => failed("twilio:recent", "recent SMS", e),
        Fact::Delivery(Ok(d)) => Line::plain(
            "twilio:delivery",
            format!(
                "Twilio delivery of {} to {}: {} after {:.1} s{}",
                d.sid,
                d.to,
                d.status,
                d.after_ms as f64 / 1000.0,
                d.error_code.map_or_else(String::new, |c| format!(
                    " (error {c}: {})",
                    d.meaning.as_deref().unwrap_or("see twilio.com/docs/errors")
                ))
            ),
        ),
        Fact::Delivery(Err(e)) => failed("twilio:delivery", "delivery", e),
    }
}

/// What the timeline remembers of a diagnosis to find what changed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Digest {
    verdict: FailureMode,
    findings: Vec<Finding>,
    checklist: Vec<(Item, State, String)>,
}

impl Digest {
    pub fn of(d: &Diagnosis) -> Self {
        Self {
            verdict: d.verdict.failure_mode,
            findings: d.verdict.candidates.clone(),
            checklist: d
                .checklist
                .iter()
                .map(|l| (l.item, l.state, l.evidence.clone()))
                .collect(),
        }
    }
}

/// What changed from `before` (nothing known: every item unknown, no finding) to `now`.
pub(super) fn changes(before: Option<&Digest>, now: &Digest) -> Vec<(EntryKind, Line)> {
    let mut out = Vec::new();
    let verdict_before = before.map_or(FailureMode::None, |b| b.verdict);
    if now.verdict != verdict_before {
        out.push((
            EntryKind::Finding,
            Line::plain(
                "verdict",
                format!(
                    "verdict: {} → {} ({})",
                    verdict_before.id(),
                    now.verdict.id(),
                    now.verdict.title()
                ),
            ),
        ));
    }
    let had = |mode: FailureMode| {
        before.is_some_and(|b| b.findings.iter().any(|f| f.failure_mode == mode))
    };
    for f in now.findings.iter().filter(|f| !had(f.failure_mode)) {
        let first = f.evidence.first().map_or("", String::as_str);
        out.push((
            EntryKind::Finding,
            Line::plain(
                format!("finding:{}", f.failure_mode.id()),
                format!("finding: {} — {}: {first}", f.failure_mode.id(), f.title),
            )
            .with_detail(json!({
                "failure_mode": f.failure_mode,
                "confidence": f.confidence,
                "evidence": f.evidence,
                "repair": f.repair,
            })),
        ));
    }
    for f in before.map_or(&[][..], |b| &b.findings[..]) {
        if !now
            .findings
            .iter()
            .any(|n| n.failure_mode == f.failure_mode)
        {
            out.push((
                EntryKind::Finding,
                Line::plain(
                    format!("finding:{}", f.failure_mode.id()),
                    format!("finding gone: {} — {}", f.failure_mode.id(), f.title),
                ),
            ));
        }
    }
    for (item, state, evidence) in &now.checklist {
        let was = before
            .and_then(|b| b.checklist.iter().find(|(i, _, _)| i == item))
            .map_or(State::Unknown, |(_, s, _)| *s);
        if was != *state {
            let why = if evidence.is_empty() {
                String::new()
            } else {
                format!(" — {evidence}")
            };
            out.push((
                EntryKind::ChecklistChange,
                Line::plain(
                    format!("checklist:{}", id(item)),
                    format!("{}: {} → {}{why}", short(*item), id(&was), id(state)),
                ),
            ));
        }
    }
    out
}

/// A checklist item in a few words.
fn short(item: Item) -> &'static str {
    match item {
        Item::TwilioEnvVars => "Twilio env vars",
        Item::ProviderNotStub => "OTP_PROVIDER not stub",
        Item::AccountActive => "Twilio account active",
        Item::VerifyServiceExists => "Verify service exists",
        Item::AuthTokenValid => "auth token valid",
        Item::EgressHttps => "outbound HTTPS",
        Item::ProviderInitialised => "provider initialised",
        Item::OtpStartSent => "OTP start",
        Item::SmsReceived => "SMS received",
    }
}

/// An action; identical consecutive actions fold.
pub(super) fn action(text: String, detail: Option<Value>) -> Line {
    Line {
        detail,
        ..Line::plain("action", text)
    }
}

/// A rollout event as an action line.
pub(super) fn rollout_event(event: &RolloutEvent) -> Line {
    match event {
        RolloutEvent::Progress {
            deployments,
            rollout_state,
            running,
            desired,
            pending,
            failed_tasks,
            ..
        } => Line::plain(
            "rollout",
            format!(
                "rollout: {} · {deployments} deployment{} · running {running}/{desired} · pending {pending} · failed tasks {failed_tasks}",
                if rollout_state.is_empty() { "(no rollout state)" } else { rollout_state },
                if *deployments == 1 { "" } else { "s" },
            ),
        ),
        RolloutEvent::ServiceEvent { message, .. } => {
            Line::plain("service-event", format!("service event: {message}"))
        }
        RolloutEvent::Error { message, .. } => {
            Line::plain("rollout", format!("rollout: DescribeServices failed: {message}"))
        }
    }
}

/// The verdict after a repair.
pub(super) fn verification(d: &Diagnosis) -> Line {
    let passed = d
        .checklist
        .iter()
        .filter(|l| l.state == State::Pass)
        .count();
    let mode = d.verdict.failure_mode;
    Line::plain(
        "verification",
        format!(
            "verification: verdict {} ({}), checklist {passed}/{} pass",
            mode.id(),
            mode.title(),
            d.checklist.len()
        ),
    )
    .with_detail(json!({
        "failure_mode": mode,
        "candidates": d.verdict.candidates.iter().map(|f| f.failure_mode).collect::<Vec<_>>(),
    }))
}
