//! `event_loop_blocked`: the Twilio call blocks the backend's async event loop, so `/health`
//! stalls while an OTP start is in flight (the runbook's own root cause).

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{fmt_ms, image_change, Evidence, FailureMode, Names, STALL_MS};
use crate::probe::http::{Class, Endpoint};

pub const RULE: Rule = Rule {
    mode: FailureMode::EventLoopBlocked,
    id: "event_loop_blocked",
    title: "Async event loop blocked by the Twilio call",
    repair: "Run Twilio calls off the event loop with a timeout (asyncio.to_thread + TWILIO_TIMEOUT_SECONDS): roll back to the last revision with the fixed image.",
    predicts: &[Symptom::HealthStallsWithOtp, Symptom::OtpHangs],
    commands,
    underlies: &[],
    support,
    later: None,
    related: super::is_deployed_revision,
    suggests: &[Choice::RollBack],
    flags: &[],
};

/// Timing `/health` during an OTP start, and rolling back to the previous revision.
fn commands(n: &Names, evidence: &Evidence) -> Vec<String> {
    let previous = evidence
        .snapshot()
        .and_then(|s| s.previous.as_ref())
        .map_or_else(
            || format!("{}:PREVIOUS", n.service),
            |p| format!("{}:{}", p.family, p.revision),
        );
    vec![
        format!(
            "curl -w '%{{time_total}}\\n' {}/health   # while an OTP start is in flight",
            n.api_base
        ),
        format!(
            "aws ecs update-service --cluster {} --service {} --task-definition {previous}",
            n.cluster, n.service
        ),
    ]
}

/// `/health` stalled while an OTP start was in flight (with the image change since the
/// previous revision as more evidence).
fn support(evidence: &Evidence, now_ms: i64, support: &mut Support) {
    let timing = super::HealthTiming::of(evidence);
    let normally = timing.baseline.map_or("fast".into(), fmt_ms);
    let otp_outstanding = evidence.outstanding_age(Endpoint::OtpStart, now_ms);
    let stalled_done = timing
        .samples
        .iter()
        .filter(|s| s.during_otp && (s.latency_ms >= STALL_MS || s.class == Class::GatewayTimeout))
        .max_by_key(|s| s.latency_ms);
    let stalled_now = otp_outstanding
        .and(evidence.outstanding_age(Endpoint::Health, now_ms))
        .filter(|age| *age >= STALL_MS);
    if let Some(s) = stalled_done {
        support.add(
            2,
            format!(
                "/health took {} while an OTP start was in flight (normally {normally})",
                fmt_ms(s.latency_ms)
            ),
        );
    } else if let Some(age) = stalled_now {
        support.add(
            2,
            format!(
                "/health has not answered for {} while an OTP start is outstanding (normally {normally})",
                fmt_ms(age)
            ),
        );
    }
    if support.has() {
        if let Some(line) = image_change(evidence.snapshot()) {
            support.add(2, line);
        }
    }
}
