//! `api_unreachable`: nothing answers `/health` (refused, DNS, TLS, no answer in time, failures
//! in a row as a load balancer's unhealthy threshold), or the service is scaled to zero.

use super::Choice;
use super::{Rule, Stage, Support, Symptom};
use crate::diagnosis::{clip, fmt_ms, Evidence, FailureMode, Finding, Names};
use crate::probe::changes::Change;
use crate::probe::ecs::Snapshot;
use crate::probe::http::{Class, Endpoint, Sample};

pub const RULE: Rule = Rule {
    mode: FailureMode::ApiUnreachable,
    id: "api_unreachable",
    title: "The API does not answer /health",
    repair: "Check the runbook's first steps: does the API's name resolve, does the load balancer answer, how many tasks are running.",
    predicts: &[Symptom::HealthFails],
    commands,
    underlies: &[],
    support,
    // After the stalls are named: a `/health` that hangs beside a blocked event loop is that.
    later: Some((Stage::AfterUsers, api_down)),
    related,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

fn commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    let host = n
        .api_base
        .split("://")
        .nth(1)
        .unwrap_or(&n.api_base)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    vec![
        format!("dig +short {host}"),
        format!("curl -sv --max-time 10 {}/health", n.api_base),
        if n.platform == crate::config::Platform::AppRunner {
            format!("{} --query 'Service.Status'", super::describe_services(n))
        } else {
            format!("{} --query 'services[0].{{running:runningCount,desired:desiredCount,events:events[:3].message}}'", super::describe_services(n))
        },
    ]
}

/// Scaled to zero (by hand, a scheduled action, an autoscaling policy with minimum 0): nothing
/// serves the API, whatever the task definition says.
fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    let Some(s) = evidence.snapshot() else {
        return;
    };
    // App Runner's pause: no instance until ResumeService.
    if s.service.status == "PAUSED" {
        support.add(
            3,
            format!(
                "App Runner service {} is PAUSED: no instance serves the API until it is resumed",
                s.service.name
            ),
        );
        support.name_resources(vec![
            format!(
                "aws apprunner resume-service --service-arn {}",
                s.service.task_definition
            ),
            format!(
                "aws apprunner list-operations --service-arn {} --max-results 5",
                s.service.task_definition
            ),
        ]);
        return;
    }
    if s.service.desired == 0 && s.service.running == 0 {
        support.add(
            3,
            format!(
                "service {} is scaled to zero: desired 0, running 0 tasks ({}:{} deployed) — nothing serves the API",
                s.service.name, s.deployed.family, s.deployed.revision
            ),
        );
        let n = support.names();
        let scale = format!(
            "aws ecs update-service --cluster {} --service {} --desired-count 1   # or the count it ran with; check scheduled scaling: aws application-autoscaling describe-scheduled-actions --service-namespace ecs",
            n.cluster, n.service
        );
        support.name_resources(vec![scale]);
    }
}

/// An API that does not answer, unless a stall found before explains the hanging probes.
fn api_down(evidence: &Evidence, now_ms: i64, before: &[Finding], support: &mut Support) {
    let stalled = super::named(before, FailureMode::EventLoopBlocked);
    if let Some(line) = api_unreachable(evidence, now_ms, stalled) {
        support.add(3, line);
    }
}

/// The service scaled to zero: an UpdateService that set its desired count to 0, or App
/// Runner's PauseService.
fn related(change: &Change, _snapshot: Option<&Snapshot>) -> bool {
    let paused = change.service == "apprunner" && change.action == "PauseService";
    let scaled_to_zero = change.service == "ecs"
        && change.action == "UpdateService"
        && change
            .parameters
            .as_ref()
            .and_then(|p| p.get("desiredCount"))
            .and_then(serde_json::Value::as_i64)
            == Some(0);
    paused || scaled_to_zero
}

/// A `/health` outstanding this long, with no OTP start in flight to explain it, is an API that
/// does not answer: named within seconds rather than after the probe's own timeout.
pub const HEALTH_HANG_MS: u64 = 5_000;

/// Failed `/health` probes in a row that make an unreachable API, as a load balancer's
/// unhealthy threshold (2 is its least): one failed sample is a race with a server closing an
/// idle connection as often as it is an outage.
pub const UNHEALTHY_THRESHOLD: usize = 2;

/// Whether a request started at `started_ms` was sent while one of the console's OTP starts was
/// in flight (outstanding then, or answered after it): a `/health` sent then belongs to that
/// OTP start's stall until it answers.
fn sent_during_otp(evidence: &Evidence, started_ms: i64) -> bool {
    evidence
        .outstanding
        .values()
        .any(|(e, at)| *e == Endpoint::OtpStart && *at <= started_ms)
        || evidence.samples.iter().any(|s| {
            s.endpoint == Endpoint::OtpStart
                && s.started_ms <= started_ms
                && started_ms <= s.started_ms + s.latency_ms as i64
        })
}

/// The one line saying the API cannot be reached, when the newest `/health` evidence says so:
/// the last [`UNHEALTHY_THRESHOLD`] answers in a row were failures to connect (refused, DNS,
/// TLS, a connection reset), or the last one got no answer within the probe's timeout, or a probe has been waiting [`HEALTH_HANG_MS`] with
/// no OTP start to explain it. Health probes sent while an OTP start was in flight are the event
/// loop's evidence, not this; and with a stall already seen (`stalled`), a probe that hangs is
/// that stall still going on, so only connection failures count then.
pub(in crate::diagnosis) fn api_unreachable(
    evidence: &Evidence,
    now_ms: i64,
    stalled: bool,
) -> Option<String> {
    if evidence
        .outstanding_age(Endpoint::OtpStart, now_ms)
        .is_some()
    {
        return None;
    }
    let waiting = evidence
        .outstanding
        .values()
        .filter(|(e, started)| *e == Endpoint::Health && !sent_during_otp(evidence, *started))
        .map(|(_, started)| (now_ms - started).max(0) as u64)
        .max()
        .filter(|age| *age >= HEALTH_HANG_MS && !stalled);
    if let Some(age) = waiting {
        return Some(format!("/health has not answered for {}", fmt_ms(age)));
    }
    let recent: Vec<&Sample> = evidence
        .samples
        .iter()
        .rev()
        .filter(|s| s.endpoint == Endpoint::Health && !s.during_otp)
        .filter(|s| !sent_during_otp(evidence, s.started_ms))
        .take(UNHEALTHY_THRESHOLD)
        .collect();
    let failure = |s: &Sample| match s.class {
        Class::Refused => Some("connection refused"),
        Class::Dns => Some("the name does not resolve (DNS)"),
        Class::Tls => Some("TLS handshake failed"),
        Class::Timeout if !stalled => Some("no answer within the probe's timeout"),
        Class::Other => Some("the request failed"),
        _ => None,
    };
    let s = *recent.first()?;
    let class = failure(s)?;
    // A probe that timed out waited longer than a hang takes to name: it is enough alone.
    let alone = s.class == Class::Timeout;
    if !alone
        && (recent.len() < UNHEALTHY_THRESHOLD || !recent.iter().all(|s| failure(s).is_some()))
    {
        return None;
    }
    let row = if alone {
        "after waiting the probe's whole timeout".to_owned()
    } else {
        format!("{UNHEALTHY_THRESHOLD} probes in a row")
    };
    Some(if s.summary.is_empty() {
        format!("/health: {class} ({row})")
    } else {
        format!("/health: {class} ({row}; {})", clip(&s.summary, 100))
    })
}
