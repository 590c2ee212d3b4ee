//! `rate_limited`: Twilio (60203, 60202, 20429) or the backend (429) limits the sends.

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{Evidence, FailureMode, Names};
use crate::probe::http::{Class, Endpoint};
use crate::probe::logs::LineKind;

pub const RULE: Rule = Rule {
    mode: FailureMode::RateLimited,
    id: "rate_limited",
    title: "Rate limited",
    repair: "Wait for the Retry-After window, or use another test phone; check for retry storms.",
    predicts: &[Symptom::OtpFails],
    commands,
    underlies: &[],
    support,
    later: None,
    related: super::unrelated,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

fn commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![super::curl_otp_start(n), super::filter_log_events(n)]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    for line in super::test_sends_refused(evidence, &["60203", "60202", "20429"]) {
        support.add(3, line);
    }
    super::log_line(evidence, LineKind::RateLimited, support);
    if let Some(s) = evidence
        .last(Endpoint::OtpStart)
        .filter(|s| s.class == Class::RateLimited)
    {
        support.add(3, format!("OTP start answered 429: {}", s.summary));
    }
}
