//! `network_blocked`: the service's own route to Twilio is blocked (a security group, a NACL,
//! a route, a NAT): its Twilio calls time out while Twilio answers the console.

use super::Choice;
use super::{Rule, Stage, Support, Symptom};
use crate::diagnosis::{
    clip, fmt_ms, reaches_twilio, Evidence, FailureMode, Finding, Names, HANG_MS,
};
use crate::probe::changes::Change;
use crate::probe::ecs::Snapshot;
use crate::probe::http::{Class, Endpoint};
use crate::probe::logs::LineKind;

pub const RULE: Rule = Rule {
    mode: FailureMode::NetworkBlocked,
    id: "network_blocked",
    title: "Network/firewall blocks Twilio",
    repair: "Allow outbound HTTPS (443) from the service's security group / NAT to Twilio.",
    // Blocked connects hang the start to the load balancer's 504, or to the backend's own
    // Twilio timeout (a 503), while /health stays fast.
    predicts: &[Symptom::OtpHangs, Symptom::OtpFails],
    commands,
    underlies: &[],
    support,
    later: Some((Stage::AfterEvidence, otp_hangs)),
    related,
    suggests: &[Choice::AllowEgress, Choice::SetEnv],
    flags: &[],
};

/// The network path's own commands once it is read (the failing hop's), else the logs and the
/// security group's egress rules.
fn commands(n: &Names, evidence: &Evidence) -> Vec<String> {
    match &evidence.network {
        Some(Ok(p)) => crate::network::commands(p),
        _ => vec![
            super::filter_log_events(n),
            "aws ec2 describe-security-groups --group-ids <the service's sg> --query 'SecurityGroups[].IpPermissionsEgress'".into(),
        ],
    }
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    twilio_timeouts(evidence, support);
    network_path(evidence, support);
}

/// A change to the network (EC2) or to IAM.
fn related(change: &Change, _snapshot: Option<&Snapshot>) -> bool {
    change.service == "ec2" || change.service == "iam"
}

/// The backend's Twilio timeouts, read against the network path and Twilio's own answer.
fn twilio_timeouts(evidence: &Evidence, support: &mut Support) {
    if let Some(event) = evidence.last_line(LineKind::TwilioTimeout) {
        let twilio_reachable = matches!(evidence.account, Some(Ok(_)));
        // The path reading open (EC2) while the calls time out is not the network's shape: a
        // Twilio that answers slowly, or not at all, times them out the same way.
        let path_open = matches!(
            &evidence.network,
            Some(Ok(p)) if p.state == crate::network::HopState::Pass
        );
        support.add(
            match (path_open, twilio_reachable) {
                (true, _) => 0,
                (false, true) => 2,
                (false, false) => 1,
            },
            format!(
                "log ×{}: {}",
                evidence.lines(LineKind::TwilioTimeout),
                clip(&event.message, 100)
            ),
        );
        if path_open {
            support.add(
                0,
                format!(
                    "the service's Twilio calls time out, but the network path to Twilio reads open{}",
                    if twilio_reachable {
                        ""
                    } else {
                        " and Twilio does not answer the console either: Twilio itself may be slow (its status page)"
                    }
                ),
            );
        } else if twilio_reachable {
            support.add(
                2,
                "Twilio answers the console directly: the service's own route to it is blocked"
                    .into(),
            );
        }
    }
}

/// The network path as AWS's own configuration describes it.
fn network_path(evidence: &Evidence, support: &mut Support) {
    // The network path as AWS's own configuration describes it: a failing hop names the
    // failure mode from the configuration alone, no OTP start needed.
    let path = match &evidence.network {
        Some(Ok(p)) => Some(p.as_ref()),
        _ => None,
    };
    if let Some(p) = path.filter(|p| p.state == crate::network::HopState::Fail) {
        // The configuration is read against `aws.egress_destinations` (anywhere by default);
        // rules that allow only Twilio's own addresses read blocked and work. What the service
        // itself just did outranks that reading: then it is a lead, not the verdict.
        let reached = reaches_twilio(evidence);
        for hop in p.failures() {
            match &reached {
                None => support.add(3, hop.detail.clone()),
                Some(how) => support.add(
                    0,
                    format!(
                        "{} — but {how}: the rules let the service reach Twilio's addresses; set aws.egress_destinations to the ranges they allow",
                        hop.detail
                    ),
                ),
            }
        }
    }
}

/// An OTP start that hangs with everything else fine is the network's shape.
fn otp_hangs(evidence: &Evidence, now_ms: i64, before: &[Finding], support: &mut Support) {
    let snapshot = evidence.snapshot();
    let timing = super::HealthTiming::of(evidence);
    let health_samples = &timing.samples;
    let is_fast = |ms: u64| timing.is_fast(ms);
    let otp_outstanding = evidence.outstanding_age(Endpoint::OtpStart, now_ms);
    let otp = evidence.last(Endpoint::OtpStart);
    let path = match &evidence.network {
        Some(Ok(p)) => Some(p.as_ref()),
        _ => None,
    };
    // An OTP start that hangs while everything the runbook checks is fine, and health stays
    // fast, is the network: the request is stuck connecting to Twilio.
    let health_fast = health_samples
        .iter()
        .filter(|s| s.during_otp)
        .all(|s| is_fast(s.latency_ms))
        && evidence
            .outstanding_age(Endpoint::Health, now_ms)
            .is_none_or(is_fast);
    let hanging = otp_outstanding.filter(|age| *age >= HANG_MS).or_else(|| {
        otp.filter(|s| {
            matches!(s.class, Class::GatewayTimeout | Class::Timeout)
                || (s.class == Class::ServerError && s.status == Some(503))
        })
        .map(|s| s.latency_ms)
    });
    let only_network = before
        .iter()
        .all(|f| f.failure_mode == FailureMode::NetworkBlocked);
    let path_open = path.is_some_and(|p| p.state == crate::network::HopState::Pass);
    if let Some(age) = hanging.filter(|_| path_open && only_network && health_fast) {
        // The configuration reads open: the hang is not explained by it.
        support.add(
            0,
            format!(
                "OTP start hangs ({}) with /health fast, but the network path to Twilio reads open",
                fmt_ms(age)
            ),
        );
    } else if let Some(age) = hanging {
        let config_ok = only_network
            && snapshot.is_some()
            && matches!(evidence.account, Some(Ok(_)))
            && matches!(evidence.service, Some(Ok(_)));
        if config_ok && health_fast {
            support.add(
                1,
                format!("OTP start hangs ({}) with config, credentials and Twilio all fine and /health fast", fmt_ms(age)),
            );
        } else if health_fast && only_network {
            // What fits, partly: the hang is the network's shape, but the config and Twilio
            // could not be confirmed, so it is a candidate, not the verdict.
            support.add(
                0,
                format!("OTP start hangs ({}) with /health fast, but the config and Twilio could not be confirmed", fmt_ms(age)),
            );
        }
    }
}
