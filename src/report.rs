//! The incident report: the session's timeline (every probe, finding, checklist change, action
//! and verification, with timestamps) and a header (target, final verdict, what changed in the
//! deployment, what was applied and the verification after it), written as Markdown for the
//! postmortem and as JSON. The console, `check --report` and `repair --report` feed a
//! [`Timeline`] the same observations and diagnoses they act on; [`write`] puts it on disk.
//!
//! Two rules hold every entry to a budget. Memory: an entry identical to the last one of its
//! stream is folded into it ("health 200 ×720 (p50 8 ms)"), and past [`MAX_ENTRIES`] the oldest
//! probe entries are dropped and counted, so an hour-long session stays small. Secrets: every
//! text and every string of the JSON goes through [`redact::free_text`] and a
//! [`redact::scrub`] of the values the caller registered with [`Timeline::with_secrets`], when
//! recorded and again when written.

/// Observations, diagnoses and rollout events as one-line entries.
mod line;
/// The Markdown form.
mod markdown;
/// The postmortem-shaped summary the report opens with.
mod summary;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use self::line::{Digest, Line, Tally};
use crate::check::{self, Report};
use crate::diagnosis::{self, Diagnosis, Evidence, FailureMode, Names};
use crate::probe::ecs::Change;
use crate::probe::Observation;
use crate::redact;
use crate::repair::{Applied, Plan, Rollout, RolloutEvent};

/// The most entries a timeline keeps; older probe entries are dropped first.
pub const MAX_ENTRIES: usize = 1_000;

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// What a probe saw: an HTTP sample, an ECS read, a batch of log lines, a Twilio fact.
    Probe,
    /// The verdict changing, a failure mode appearing or disappearing, with its evidence.
    Finding,
    /// A checklist item changing state (`OTP start: running → fail`).
    ChecklistChange,
    /// Something the user or the tool did: an OTP start, a repair planned or applied, the
    /// rollout's progress.
    Action,
    /// The verdict after a repair.
    Verification,
}

impl EntryKind {
    /// The word used in the Markdown table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Probe => "probe",
            Self::Finding => "finding",
            Self::ChecklistChange => "checklist",
            Self::Action => "action",
            Self::Verification => "verification",
        }
    }
}

/// One line of the timeline, possibly standing for several identical ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it (the first of the identical ones) happened, ms since the epoch.
    pub at_ms: i64,
    /// When the last of the identical ones happened (`at_ms` when `count` is 1).
    pub last_ms: i64,
    /// How many identical entries this one stands for.
    pub count: u32,
    pub kind: EntryKind,
    /// One line, masked.
    pub text: String,
    /// Structured detail for the JSON (a finding's evidence, an error's code), masked.
    pub detail: Option<Value>,
    /// What entries fold into: the last entry of a stream absorbs a new one with its key.
    stream: String,
    key: String,
    base: String,
    tally: Tally,
}

impl Entry {
    fn merge(&mut self, tally: Tally, at_ms: i64) {
        self.count = self.count.saturating_add(1);
        self.last_ms = self.last_ms.max(at_ms);
        self.tally.absorb(tally);
    }

    fn render(&self) -> String {
        self.tally.render(&self.base, self.count)
    }
}

/// The session's timeline: entries in the order they happened, bounded.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: Vec<Entry>,
    /// Probe entries dropped to stay within [`MAX_ENTRIES`].
    dropped: usize,
    secrets: Vec<String>,
    /// [`Self::secrets`]' disguises, listed once (every entry is scrubbed with them).
    scrubber: crate::redact::Scrubber,
    previous: Option<Digest>,
    /// The first failure mode the session named, when, and on what evidence.
    incident: Option<Incident>,
    /// When a verification after a repair found nothing wrong.
    recovered_ms: Option<i64>,
}

/// The incident as the session first named it: what a postmortem's summary opens with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub at_ms: i64,
    pub failure_mode: FailureMode,
    pub title: &'static str,
    /// Its first evidence lines (masked).
    pub evidence: Vec<String>,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers secret values the caller holds (a token, a test phone, a value being set):
    /// they are replaced by a mask wherever they would appear. A phone number is also
    /// registered by its digits alone, and by its last 10.
    pub fn with_secrets(&mut self, secrets: Vec<String>) {
        // Masked on every other output path too (the screen, check, errors); phone numbers
        // keep their own form there (the last 4 digits).
        crate::redact::register(secrets.iter().filter(|s| !s.starts_with('+')));
        for secret in secrets {
            let digits: String = secret.chars().filter(char::is_ascii_digit).collect();
            if secret.starts_with('+') && digits.len() >= 8 {
                // Also without the country code, as a backend may log it.
                if digits.len() > 10 {
                    self.secrets.push(digits[digits.len() - 10..].to_owned());
                }
                self.secrets.push(digits);
            }
            self.secrets.push(secret);
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        self.secrets.dedup();
        self.scrubber = crate::redact::Scrubber::new(&self.secret_refs());
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many old probe entries were dropped to bound memory.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// A probe's observation (an outstanding request only for OTP start and verify; an empty
    /// batch of log lines not at all).
    pub fn record_observation(&mut self, observation: &Observation, at_ms: i64) {
        // Values the ECS probe resolved from the task definition's `secrets` are masked from
        // here on, wherever they would appear.
        if let Observation::Ecs {
            result: Ok(snapshot),
            ..
        } = observation
        {
            let values = snapshot.secret_values.values();
            if !values.is_empty() {
                self.with_secrets(values);
            }
        }
        if let Some(line) = line::follow_mode(observation) {
            self.push(EntryKind::Probe, line, at_ms);
        }
        if let Some(line) = line::observation(observation) {
            self.push(EntryKind::Probe, line, at_ms);
        }
    }

    /// A diagnosis: only what changed since the previous one becomes entries (the verdict, a
    /// failure mode appearing or disappearing, a checklist item's state).
    pub fn record_diagnosis(&mut self, diagnosis: &Diagnosis, at_ms: i64) {
        let mode = diagnosis.verdict.failure_mode;
        if self.incident.is_none() && mode.is_failure() {
            let evidence = diagnosis
                .verdict
                .candidates
                .first()
                .map(|f| {
                    f.evidence
                        .iter()
                        .take(3)
                        .map(|e| protect(e, &self.scrubber))
                        .collect()
                })
                .unwrap_or_default();
            self.incident = Some(Incident {
                at_ms,
                failure_mode: mode,
                title: mode.title(),
                evidence,
            });
        }
        let now = Digest::of(diagnosis);
        for (kind, line) in line::changes(self.previous.as_ref(), &now) {
            self.push(kind, line, at_ms);
        }
        self.previous = Some(now);
    }

    /// Something the user or the tool did, one line.
    pub fn record_action(&mut self, text: impl Into<String>, at_ms: i64) {
        self.push(EntryKind::Action, line::action(text.into(), None), at_ms);
    }

    /// An action with structured detail for the JSON (a plan, what was applied).
    pub fn record_action_with(&mut self, text: impl Into<String>, detail: Value, at_ms: i64) {
        self.push(
            EntryKind::Action,
            line::action(text.into(), Some(detail)),
            at_ms,
        );
    }

    /// One event of a followed rollout.
    pub fn record_rollout_event(&mut self, event: &RolloutEvent, at_ms: i64) {
        self.push(EntryKind::Action, line::rollout_event(event), at_ms);
    }

    /// The verdict of the verification after a repair (record its diagnoses first with
    /// [`Self::record_check`] or [`Self::record_diagnosis`] for the checklist changes).
    pub fn record_verification(&mut self, diagnosis: &Diagnosis, at_ms: i64) {
        if diagnosis.verdict.failure_mode == FailureMode::None {
            self.recovered_ms.get_or_insert(at_ms);
        }
        self.push(
            EntryKind::Verification,
            line::verification(diagnosis),
            at_ms,
        );
    }

    /// Replays what `check` observed, diagnosing after each observation as the console does,
    /// then records the check's final diagnosis at its end.
    pub fn record_check(&mut self, report: &Report, names: &Names) {
        let mut evidence = Evidence::default();
        let mut last_ms = 0;
        for (at_ms, observation) in &report.observations {
            self.record_observation(observation, *at_ms);
            evidence.record(observation.clone());
            self.record_diagnosis(&diagnosis::diagnose(&evidence, names, *at_ms), *at_ms);
            last_ms = last_ms.max(*at_ms);
        }
        self.record_diagnosis(&report.diagnosis, last_ms.max(now_ms_hint(report)));
    }

    fn push(&mut self, kind: EntryKind, line: Line, at_ms: i64) {
        let secrets = &self.scrubber;
        if let Some(last) = self
            .entries
            .iter_mut()
            .rev()
            .find(|e| e.stream == line.stream)
        {
            if last.kind == kind && last.key == line.key {
                last.merge(line.tally, at_ms);
                last.text = protect(&last.render(), secrets);
                return;
            }
        }
        let mut entry = Entry {
            at_ms,
            last_ms: at_ms,
            count: 1,
            kind,
            text: String::new(),
            detail: line.detail.map(|d| protect_value(d, secrets)),
            stream: line.stream,
            key: line.key,
            base: line.base,
            tally: line.tally,
        };
        entry.text = protect(&entry.render(), secrets);
        self.entries.push(entry);
        if self.entries.len() > MAX_ENTRIES {
            let oldest = self
                .entries
                .iter()
                .position(|e| e.kind == EntryKind::Probe)
                .unwrap_or(0);
            self.entries.remove(oldest);
            self.dropped += 1;
        }
    }

    /// The report as Markdown, for the postmortem.
    pub fn to_markdown(&self, header: &ReportHeader) -> String {
        let text = markdown::render(self, header);
        // Once more over the whole document: a secret registered after an entry was
        // recorded, or one in the header, is masked here.
        text.lines()
            .map(|l| self.scrubber.scrub(&redact::free_text(l)))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }

    /// The report as JSON (schema version 1): `target`, `started_ms`, `ended_ms`, `verdict`,
    /// `checklist`, `unknown`, `revision_diff`, `network` (the path to Twilio: `state`,
    /// `hops[]`), `logs_follow` (how the logs were last followed: `mode`, `sampled` or `why`,
    /// `line`), `repair` (`plan`, `applied`, `rollout`),
    /// `verification` (`check --json`'s shape), `changes[]` (`at_ms`, `who`, `user_agent`,
    /// `what`, `related`: what changed over the window, newest first), `timeline[]` (`at_ms`, `last_ms`, `count`,
    /// `kind`, `text`, `detail`) and `dropped_entries`.
    pub fn to_json(&self, header: &ReportHeader) -> Value {
        let d = header.diagnosis.as_ref();
        let value = json!({
            "schema_version": 1,
            "target": header.target,
            "started_ms": header.started_ms,
            "ended_ms": header.ended_ms,
            "verdict": d.map(|d| &d.verdict),
            "checklist": d.map(|d| &d.checklist),
            "unknown": d.map(|d| &d.unknown),
            "revision_diff": header.revision_diff,
            "network": header.network,
            "logs_follow": check::follow_json(header.logs_follow.as_ref()),
            "repair": header.repair,
            "verification": header.verification,
            "summary": summary::json(self, header),
            "changes": header.changes,
            "recording": header.recording,
            "traces": header.traces,
            "timeline": self.entries.iter().map(|e| json!({
                "at_ms": e.at_ms,
                "last_ms": e.last_ms,
                "count": e.count,
                "kind": e.kind,
                "text": e.text,
                "detail": e.detail,
            })).collect::<Vec<_>>(),
            "dropped_entries": self.dropped,
        });
        protect_value(value, &self.scrubber)
    }

    fn secret_refs(&self) -> Vec<&str> {
        self.secrets.iter().map(String::as_str).collect()
    }
}

/// When the check ended, as well as the report tells: its last observation, or now.
fn now_ms_hint(report: &Report) -> i64 {
    report
        .observations
        .last()
        .map_or_else(|| chrono::Utc::now().timestamp_millis(), |(at, _)| *at)
}

/// One line as it may be written: masked patterns, then the registered secrets.
fn protect(text: &str, scrubber: &redact::Scrubber) -> String {
    scrubber.scrub(&redact::free_text(text))
}

/// Every string of a JSON value (keys included) through [`protect`].
fn protect_value(value: Value, scrubber: &redact::Scrubber) -> Value {
    match value {
        Value::String(s) => Value::String(scrubber.scrub(&redact::free_text(&s))),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| protect_value(v, scrubber))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    (
                        scrubber.scrub(&redact::free_text(&k)),
                        protect_value(v, scrubber),
                    )
                })
                .collect(),
        ),
        other => other,
    }
}

/// The deployed revision against the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevisionDiff {
    /// `family:revision`.
    pub deployed: String,
    /// `family:revision`, when there is one.
    pub previous: Option<String>,
    /// Already masked: a changed secret only as changed.
    pub changes: Vec<Change>,
}

/// What the report says above the timeline.
#[derive(Debug, Clone, Default)]
pub struct ReportHeader {
    /// `demo:<scenario>` or the API base URL.
    pub target: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    /// The final diagnosis: verdict, candidates and checklist.
    pub diagnosis: Option<Diagnosis>,
    pub revision_diff: Option<RevisionDiff>,
    /// The network path to Twilio as last read from EC2.
    pub network: Option<crate::network::Path>,
    /// How the logs were last followed (Live Tail, sampled or not, or polling and why).
    pub logs_follow: Option<crate::probe::logs::FollowMode>,
    /// The repair: `{plan, applied, rollout}` as `repair --json` prints them.
    pub repair: Option<Value>,
    /// The check after the repair, in `check --json`'s shape.
    pub verification: Option<Value>,
    /// What changed over the window (CloudTrail, Twilio's Monitor), newest first.
    pub changes: Vec<ChangeLine>,
    /// What real users got from OTP start recently, one line (access lines, load balancer).
    pub users: Option<String>,
    /// What `check` saw, for `check --replay` (a check's report only).
    pub recording: Option<Value>,
    /// One trace per OTP start the session sent (the evidence still held), oldest first.
    pub traces: Vec<diagnosis::trace::Trace>,
}

/// One change of the window, as the report lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeLine {
    pub at_ms: i64,
    pub who: String,
    pub user_agent: Option<String>,
    pub what: String,
    /// It may explain the verdict.
    pub related: bool,
}

impl ReportHeader {
    /// A header for a session on `target` between two times (ms since the epoch).
    pub fn new(target: impl Into<String>, started_ms: i64, ended_ms: i64) -> Self {
        Self {
            target: target.into(),
            started_ms,
            ended_ms,
            ..Self::default()
        }
    }

    /// The final diagnosis.
    #[must_use]
    pub fn with_diagnosis(mut self, diagnosis: &Diagnosis) -> Self {
        self.diagnosis = Some(diagnosis.clone());
        self
    }

    /// The revision diff of the last ECS read in `evidence`, if it succeeded. The changes that
    /// may explain are those of the incident `timeline` first named (a postmortem's cause),
    /// else of the final verdict.
    #[must_use]
    pub fn with_evidence_of(self, evidence: &Evidence, timeline: &Timeline) -> Self {
        let incident = timeline.incident.as_ref().map(|i| i.failure_mode);
        self.with_evidence_for(evidence, incident)
    }

    /// The revision diff of the last ECS read in `evidence`, if it succeeded.
    #[must_use]
    pub fn with_evidence(self, evidence: &Evidence) -> Self {
        self.with_evidence_for(evidence, None)
    }

    fn with_evidence_for(mut self, evidence: &Evidence, incident: Option<FailureMode>) -> Self {
        let mode = incident.or(self.diagnosis.as_ref().map(|d| d.verdict.failure_mode));
        self.changes = diagnosis::changes::all(evidence)
            .into_iter()
            .map(|c| ChangeLine {
                at_ms: c.at_ms,
                who: c.who.clone(),
                user_agent: c.user_agent.clone(),
                what: c.summary.clone(),
                related: mode
                    .is_some_and(|m| diagnosis::changes::related(c, m, evidence.snapshot())),
            })
            .collect();
        if let Some(Ok(path)) = &evidence.network {
            self.network = Some(path.as_ref().clone());
        }
        if let Some(signal) = diagnosis::traffic::Signal::of(evidence) {
            self.users = Some(signal.line());
        }
        self.logs_follow.clone_from(&evidence.logs_follow);
        self.traces = diagnosis::trace::of(evidence, self.ended_ms);
        match &evidence.ecs {
            Some(Ok(s)) => self.with_snapshot(s),
            _ => self,
        }
    }

    /// What changed between the revision running when the incident was seen (`incident`,
    /// the read the repair was planned on) and the one running at the end (`end`, the last
    /// read): the repair's own change. With no other revision at the end, the incident's own
    /// diff against its previous revision.
    #[must_use]
    pub fn with_incident_diff(
        self,
        incident: &crate::probe::ecs::Snapshot,
        end: Option<&crate::probe::ecs::Snapshot>,
    ) -> Self {
        let Some(end) = end.filter(|e| e.deployed.arn != incident.deployed.arn) else {
            return self.with_snapshot(incident);
        };
        let name = |s: &crate::probe::ecs::Snapshot| {
            format!("{}:{}", s.deployed.family, s.deployed.revision)
        };
        Self {
            revision_diff: Some(RevisionDiff {
                deployed: format!("{} (running at the end)", name(end)),
                previous: Some(format!(
                    "{} (running when the incident was seen)",
                    name(incident)
                )),
                changes: crate::probe::ecs::diff(&incident.deployed, &end.deployed),
            }),
            ..self
        }
    }

    /// The revision diff of one ECS read.
    #[must_use]
    pub fn with_snapshot(mut self, s: &crate::probe::ecs::Snapshot) -> Self {
        self.revision_diff = Some(RevisionDiff {
            deployed: format!("{}:{}", s.deployed.family, s.deployed.revision),
            previous: s
                .previous
                .as_ref()
                .map(|p| format!("{}:{}", p.family, p.revision)),
            changes: s.diff.clone(),
        });
        self
    }

    /// An App Runner repair: its plan, and the operation it started with its last status
    /// when it got that far.
    #[must_use]
    pub fn with_apprunner_repair(
        mut self,
        plan: &crate::repair::apprunner::Plan,
        operation: Option<(&str, &str)>,
    ) -> Self {
        self.repair = Some(json!({
            "summary": plan.summary(),
            "plan": plan.to_json(),
            "diff_lines": plan.diff.iter().map(crate::repair::render::change_line).collect::<Vec<_>>(),
            "applied": operation.map(|(id, _)| json!({ "operation_id": id })),
            "operation": operation.map(|(_, status)| status),
        }));
        self
    }

    /// The repair: its plan, and what was applied and how the rollout went when it got
    /// that far.
    #[must_use]
    pub fn with_repair(
        mut self,
        plan: &Plan,
        applied: Option<&Applied>,
        rollout: Option<&Rollout>,
    ) -> Self {
        self.repair = Some(json!({
            "summary": crate::repair::render::summary(plan),
            "plan": plan.to_json(),
            "diff_lines": plan.diff.iter().map(crate::repair::render::change_line).collect::<Vec<_>>(),
            "applied": applied.map(Applied::to_json),
            "rollout": rollout.map(crate::repair::render::rollout_json),
        }));
        self
    }

    /// The verification after the repair.
    #[must_use]
    pub fn with_verification(mut self, report: &Report) -> Self {
        self.verification = Some(check::report_json(report));
        self
    }

    /// The header of `check`'s report: its target, time span, diagnosis and revision diff.
    pub fn for_check(report: &Report) -> Self {
        let ended = now_ms_hint(report);
        let started = report
            .observations
            .first()
            .map_or(ended, |(at, _)| *at)
            .min(ended - report.elapsed.as_millis() as i64);
        let mut header = Self::new(report.target.clone(), started, ended)
            .with_diagnosis(&report.diagnosis)
            .with_evidence(&report.evidence);
        header.recording = Some(check::replay::recording(report));
        header
    }
}

/// The secret values of a demo scenario (tokens, SIDs, secret values, the demo phone), for
/// [`Timeline::with_secrets`]: the demo knows them, so its report can prove none leaked.
pub fn demo_secrets(scenario: &crate::sim::scenario::Scenario) -> Vec<String> {
    let mut out = vec![
        scenario.twilio.account_sid.clone(),
        scenario.twilio.auth_token.clone(),
    ];
    out.extend(scenario.secrets.values().cloned());
    out.extend(scenario.parameters.values().cloned());
    // A JSON secret's fields reach a container one by one (`valueFrom` with a JSON key).
    for value in scenario.secrets.values() {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(value) {
            out.extend(
                fields
                    .values()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned),
            );
        }
    }
    // The env files' variables, as the container would get them.
    let from_files: Vec<(String, String)> = scenario
        .s3_objects
        .values()
        .flat_map(|text| crate::probe::env_files::parse(text))
        .collect();
    let env = scenario
        .yesterday
        .environment
        .iter()
        .chain(&scenario.today.set)
        .chain(from_files.iter().map(|(n, v)| (n, v)));
    out.extend(
        env.filter(|(name, _)| redact::is_secret_name(name) || name.ends_with("_SID"))
            .map(|(_, value)| value.clone()),
    );
    out.retain(|s| !s.is_empty());
    out
}

/// Where a report goes: `FILE.md` → Markdown, `FILE.json` → JSON, anything else → both
/// `FILE.md` and `FILE.json`.
pub fn paths(path: &Path) -> Vec<(PathBuf, Format)> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("md") => vec![(path.to_owned(), Format::Markdown)],
        Some("json") => vec![(path.to_owned(), Format::Json)],
        _ => {
            let with = |ext: &str| {
                let mut p = path.as_os_str().to_owned();
                p.push(ext);
                PathBuf::from(p)
            };
            vec![
                (with(".md"), Format::Markdown),
                (with(".json"), Format::Json),
            ]
        }
    }
}

/// A report's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

/// The report's files as [`paths`] says, each with its text (no I/O: the console renders
/// them in `App::update` and its runner writes them).
pub fn files(path: &Path, timeline: &Timeline, header: &ReportHeader) -> Vec<(PathBuf, String)> {
    paths(path)
        .into_iter()
        .map(|(file, format)| {
            let text = match format {
                Format::Markdown => timeline.to_markdown(header),
                Format::Json => {
                    serde_json::to_string_pretty(&timeline.to_json(header)).unwrap_or_default()
                        + "\n"
                }
            };
            (file, text)
        })
        .collect()
}

/// Writes the report as [`paths`] says; the error is one line naming the file.
pub fn write(
    path: &Path,
    timeline: &Timeline,
    header: &ReportHeader,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for (file, text) in files(path, timeline, header) {
        std::fs::write(&file, text)
            .map_err(|e| format!("--report {}: cannot write: {e}", file.display()))?;
        written.push(file);
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
