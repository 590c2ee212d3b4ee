//! `otp-console check --replay FILE`: the evidence a check recorded, diagnosed again with
//! today's rules. `check --json` (and the JSON report) carry `recording`: every observation
//! in the order it arrived, the names, and when the verdict was given. Replaying it builds the
//! same [`Evidence`] and diagnoses it as of the same moment, so the same rules give the same
//! verdict, and changed rules show what they would have said of last month's incident
//! (`tests/golden/` keeps one recording per scenario, with the verdict it must give).
//!
//! A recording holds what `check --json` already shows (variables masked as read, secrets
//! never resolved into it, log lines as the console read them), in full rather than the last
//! 50 lines.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Report;
use crate::diagnosis::{self, Evidence, Names};
use crate::probe::http::Endpoint;
use crate::probe::Observation;

/// The version of [`Recording`]'s shape.
pub const RECORDING_SCHEMA: u32 = 1;

/// What a check saw, enough to diagnose it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recording {
    pub schema: u32,
    /// When the verdict was given (ms since the epoch).
    pub at_ms: i64,
    /// Log lines older than this were not evidence (a repair's new deployment).
    pub lines_since_ms: i64,
    pub names: Names,
    /// Every observation, in the order it arrived.
    pub observations: Vec<Recorded>,
}

/// One observation and when it arrived.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    pub at_ms: i64,
    pub observation: Observation,
}

/// The recording of `report`, as JSON.
pub fn recording(report: &Report) -> Value {
    let recording = Recording {
        schema: RECORDING_SCHEMA,
        at_ms: report.at_ms,
        lines_since_ms: report.evidence.lines_since_ms,
        names: report.names.clone(),
        observations: report
            .observations
            .iter()
            .map(|(at_ms, observation)| Recorded {
                at_ms: *at_ms,
                observation: observation.clone(),
            })
            .collect(),
    };
    serde_json::to_value(recording).unwrap_or(Value::Null)
}

/// The requests still waiting at `at_ms`, with their age.
pub fn outstanding(evidence: &Evidence, at_ms: i64) -> Vec<(Endpoint, u64)> {
    evidence
        .outstanding
        .values()
        .map(|(endpoint, started)| (*endpoint, (at_ms - started).max(0) as u64))
        .collect()
}

/// Diagnoses the recording in `json` (what `check --json` printed, or the JSON report) again:
/// the report it gives, or one line saying why it cannot be read.
pub fn replay(json: &Value, target: &str) -> Result<Report, String> {
    let recorded = json.get("recording").filter(|r| !r.is_null()).ok_or(
        "no `recording` in it: replay reads the JSON that `otp-console check --json` prints, or a check's JSON report",
    )?;
    let recording = Recording::deserialize(recorded)
        .map_err(|e| format!("its `recording` cannot be read: {e}"))?;
    if recording.schema != RECORDING_SCHEMA {
        return Err(format!(
            "its recording has schema {}, this version reads {RECORDING_SCHEMA}",
            recording.schema
        ));
    }
    let mut evidence = Evidence::default();
    evidence.lines_since_ms = recording.lines_since_ms;
    let mut observations = Vec::with_capacity(recording.observations.len());
    for Recorded { at_ms, observation } in recording.observations {
        evidence.record(observation.clone());
        observations.push((at_ms, observation));
    }
    let diagnosis = diagnosis::diagnose(&evidence, &recording.names, recording.at_ms);
    Ok(Report {
        target: target.to_owned(),
        outstanding: outstanding(&evidence, recording.at_ms),
        diagnosis,
        evidence,
        elapsed: Duration::ZERO,
        observations,
        at_ms: recording.at_ms,
        names: recording.names,
    })
}
