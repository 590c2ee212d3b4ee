//! What fails, as the user or the platform sees it: the symptoms a cause predicts
//! ([`super::rules::Rule::predicts`]), observed in the evidence as seen, contradicted (positive
//! evidence of the opposite) or not known. A cause *explains* what fails now when a symptom it
//! predicts is seen; it is *contradicted* when every symptom it predicts was looked for and the
//! opposite seen (a missing variable while the OTP start sends its code and every task runs):
//! then its evidence is true and it is not the cause, so it is never the verdict.

use serde::Serialize;

use super::rules::api_unreachable::api_unreachable;
use super::rules::HealthTiming;
use super::{
    causes, fmt_ms, traffic, Evidence, FailureMode, Finding, HANG_MS, REACHED_BEFORE_READ_MS,
    STALL_MS,
};
use crate::probe::http::{Class, Endpoint, Sample};

/// One symptom of the outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Symptom {
    /// `/health` does not answer: refused, DNS, TLS, no answer in time.
    HealthFails,
    /// `/health` stalls while an OTP start is in flight.
    HealthStallsWithOtp,
    /// An OTP start is answered with an error (not the load balancer's 504).
    OtpFails,
    /// An OTP start hangs to the load balancer's 504 or the client's timeout.
    OtpHangs,
    /// The deployment's tasks stop while starting, or fewer run than desired.
    TasksFailToStart,
    /// The SMS is not delivered (the carrier's error).
    SmsNotDelivered,
}

impl Symptom {
    /// In a few words, for evidence lines.
    pub fn label(self) -> &'static str {
        match self {
            Self::HealthFails => "/health fails",
            Self::HealthStallsWithOtp => "/health stalls with an OTP start",
            Self::OtpFails => "OTP starts fail",
            Self::OtpHangs => "OTP starts hang",
            Self::TasksFailToStart => "tasks fail to start",
            Self::SmsNotDelivered => "the SMS is not delivered",
        }
    }
}

/// What the evidence says of one symptom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Seen, with the line that shows it.
    Yes(String),
    /// The opposite seen, with the line that shows it.
    No(String),
}

/// Every symptom the evidence speaks of, as of `now_ms`; the rest are not known.
#[derive(Debug, Clone, Default)]
pub struct Observed(Vec<(Symptom, Seen)>);

impl Observed {
    /// What the evidence says of `symptom`, if anything.
    pub fn get(&self, symptom: Symptom) -> Option<&Seen> {
        self.0
            .iter()
            .find(|(s, _)| *s == symptom)
            .map(|(_, seen)| seen)
    }

    /// Whether `symptom` was seen.
    pub fn seen(&self, symptom: Symptom) -> bool {
        matches!(self.get(symptom), Some(Seen::Yes(_)))
    }

    /// The symptoms among `predicts` that were seen.
    pub fn explained(&self, predicts: &[Symptom]) -> Vec<Symptom> {
        predicts.iter().copied().filter(|s| self.seen(*s)).collect()
    }

    /// Whether the evidence contradicts `mode` as the cause.
    pub fn contradicts(&self, mode: FailureMode) -> bool {
        self.contradiction(mode.rule().predicts).is_some()
    }

    /// Why a cause predicting `predicts` cannot be what fails now: every symptom it predicts
    /// was looked for and its opposite seen. `None` while any is seen or not known.
    pub fn contradiction(&self, predicts: &[Symptom]) -> Option<String> {
        let mut lines = Vec::new();
        for symptom in predicts {
            match self.get(*symptom) {
                Some(Seen::No(line)) => lines.push(line.as_str()),
                _ => return None,
            }
        }
        (!lines.is_empty()).then(|| lines.join("; "))
    }
}

/// Notes on each finding what it explains, and a line when the evidence contradicts it.
pub(super) fn score(findings: &mut [Finding], observed: &Observed) {
    for f in findings {
        let predicts = f.failure_mode.rule().predicts;
        f.explains = observed.explained(predicts);
        if let Some(why) = observed.contradiction(predicts) {
            let line = format!("cannot explain what fails now: {why}");
            if !f.evidence.contains(&line) {
                f.evidence.push(line);
            }
        }
    }
}

/// The symptoms as the evidence shows them at `now_ms`.
pub fn observe(evidence: &Evidence, now_ms: i64) -> Observed {
    let users = traffic::Signal::of(evidence);
    let checks: [(Symptom, Option<Seen>); 6] = [
        (Symptom::HealthFails, health_fails(evidence, now_ms)),
        (
            Symptom::HealthStallsWithOtp,
            health_stalls(evidence, now_ms),
        ),
        (Symptom::OtpFails, otp_fails(evidence, users.as_ref())),
        (
            Symptom::OtpHangs,
            otp_hangs(evidence, now_ms, users.as_ref()),
        ),
        (Symptom::TasksFailToStart, tasks_fail(evidence)),
        (Symptom::SmsNotDelivered, sms_not_delivered(evidence)),
    ];
    Observed(
        checks
            .into_iter()
            .filter_map(|(s, seen)| seen.map(|seen| (s, seen)))
            .collect(),
    )
}

fn health_fails(evidence: &Evidence, now_ms: i64) -> Option<Seen> {
    if let Some(line) = api_unreachable(evidence, now_ms, false) {
        return Some(Seen::Yes(line));
    }
    let last = evidence
        .samples
        .iter()
        .rev()
        .find(|s| s.endpoint == Endpoint::Health && !s.during_otp)?;
    last.class
        .is_ok()
        .then(|| Seen::No(format!("/health answers ({})", fmt_ms(last.latency_ms))))
}

fn health_stalls(evidence: &Evidence, now_ms: i64) -> Option<Seen> {
    let timing = HealthTiming::of(evidence);
    let during: Vec<_> = timing.samples.iter().filter(|s| s.during_otp).collect();
    if let Some(s) = during
        .iter()
        .find(|s| s.latency_ms >= STALL_MS || s.class == Class::GatewayTimeout)
    {
        return Some(Seen::Yes(format!(
            "/health took {} with an OTP start in flight",
            fmt_ms(s.latency_ms)
        )));
    }
    let otp_waiting = evidence.outstanding_age(Endpoint::OtpStart, now_ms);
    if let Some(age) = otp_waiting
        .and(evidence.outstanding_age(Endpoint::Health, now_ms))
        .filter(|age| *age >= STALL_MS)
    {
        return Some(Seen::Yes(format!(
            "/health waiting {} with an OTP start in flight",
            fmt_ms(age)
        )));
    }
    // The OTP start took long enough for a stall to show, and /health stayed fast beside it.
    let long_otp = evidence
        .last(Endpoint::OtpStart)
        .is_some_and(|o| o.latency_ms >= HANG_MS)
        || otp_waiting.is_some_and(|age| age >= HANG_MS);
    (long_otp && !during.is_empty() && during.iter().all(|s| timing.is_fast(s.latency_ms)))
        .then(|| Seen::No("/health stays fast while an OTP start hangs".into()))
}

/// An answer that is an error of the backend's (or the load balancer's 503), not a hang.
fn is_error_answer(class: Class) -> bool {
    matches!(
        class,
        Class::ClientError | Class::RateLimited | Class::ServerError | Class::Unavailable
    )
}

fn otp_fails(evidence: &Evidence, users: Option<&traffic::Signal>) -> Option<Seen> {
    let last = evidence.last(Endpoint::OtpStart);
    if let Some(s) = last.filter(|s| is_error_answer(s.class)) {
        return Some(Seen::Yes(format!(
            "the test OTP start answered {}",
            s.status
                .map_or_else(|| "an error".into(), |c| c.to_string())
        )));
    }
    if let Some(o) = users
        .and_then(|u| u.otp)
        .filter(|o| o.errors_5xx > o.timeouts)
    {
        return Some(Seen::Yes(format!(
            "{} of users' {} OTP starts answered 5xx",
            o.errors_5xx - o.timeouts,
            o.requests
        )));
    }
    otp_sent(evidence)
}

fn otp_hangs(evidence: &Evidence, now_ms: i64, users: Option<&traffic::Signal>) -> Option<Seen> {
    if let Some(age) = evidence
        .outstanding_age(Endpoint::OtpStart, now_ms)
        .filter(|age| *age >= HANG_MS)
    {
        return Some(Seen::Yes(format!(
            "the test OTP start has waited {}",
            fmt_ms(age)
        )));
    }
    let last = evidence.last(Endpoint::OtpStart);
    if let Some(s) = last.filter(|s| matches!(s.class, Class::GatewayTimeout | Class::Timeout)) {
        return Some(Seen::Yes(format!(
            "the test OTP start hung {}",
            fmt_ms(s.latency_ms)
        )));
    }
    if users.is_some_and(traffic::Signal::otp_times_out) {
        return Some(Seen::Yes("users' OTP starts hang to a 504".into()));
    }
    if let Some(s) =
        last.filter(|s| is_error_answer(s.class) && s.latency_ms < HANG_MS && fresh(evidence, s))
    {
        return Some(Seen::No(format!(
            "the test OTP start answered in {}",
            fmt_ms(s.latency_ms)
        )));
    }
    otp_sent(evidence)
}

/// The console's own test OTP start sent its code, answered as fresh as the configuration was
/// read (at most [`REACHED_BEFORE_READ_MS`] before the newest read of ECS or the network): an
/// older success may predate a change that breaks the next one. Users' answered starts do not
/// contradict a cause (their window is minutes wide); only their failures are symptoms.
fn otp_sent(evidence: &Evidence) -> Option<Seen> {
    let s = evidence
        .last(Endpoint::OtpStart)
        .filter(|s| s.class.is_ok() && fresh(evidence, s))?;
    Some(Seen::No(format!(
        "the test OTP start sent its code in {}",
        fmt_ms(s.latency_ms)
    )))
}

/// Whether `sample` answered at most [`REACHED_BEFORE_READ_MS`] before the newest read of ECS
/// or the network.
fn fresh(evidence: &Evidence, sample: &Sample) -> bool {
    let read_at = evidence
        .ecs_at_ms
        .max(evidence.network_at_ms)
        .unwrap_or(i64::MIN);
    sample.started_ms + sample.latency_ms as i64 >= read_at.saturating_sub(REACHED_BEFORE_READ_MS)
}

fn tasks_fail(evidence: &Evidence) -> Option<Seen> {
    let s = evidence.snapshot()?;
    if let Some(why) = causes::tasks_failing_to_start(s) {
        return Some(Seen::Yes(why));
    }
    (s.service.desired > 0 && s.service.running >= s.service.desired).then(|| {
        Seen::No(format!(
            "{} of {} tasks run",
            s.service.running, s.service.desired
        ))
    })
}

fn sms_not_delivered(evidence: &Evidence) -> Option<Seen> {
    let finals = evidence
        .deliveries
        .iter()
        .flatten()
        .filter(|step| step.is_final);
    if let Some(step) = finals.clone().find(|step| step.error_code.is_some()) {
        return Some(Seen::Yes(format!(
            "the test SMS ended {} with {}",
            step.status,
            step.error_code.unwrap_or_default()
        )));
    }
    if let Some(Ok(recent)) = &evidence.recent_sms {
        let tally = recent.tally(evidence.lines_since_ms);
        if tally.mostly_failing() || tally.partly_failing() {
            return Some(Seen::Yes(format!("real users' SMS: {}", tally.summary())));
        }
    }
    finals
        .clone()
        .find(|step| step.status == "delivered")
        .map(|_| Seen::No("the test SMS was delivered".into()))
}
