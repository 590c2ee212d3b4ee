//! Real users' failures (the access lines, the load balancer) as evidence for the causes:
//! not a failure mode of their own, but a line for what is named, or the hanging modes as
//! candidates when nothing is. Runs after every rule's first stage.

use super::Findings;
use crate::diagnosis::{fmt_ms, image_change, traffic, Evidence, FailureMode};
use crate::probe::http::Endpoint;
use crate::probe::twilio::delivery;

/// What real users got, as evidence: OTP starts that 504 while `/health` answers make the
/// hanging modes candidates (confidence 0: traffic cannot tell them apart) unless other evidence
/// already names one, which then gets the traffic's line too; users failing otherwise adds the
/// line to what is already named. Every line it adds starts with "real traffic:".
pub(super) fn real_traffic(evidence: &Evidence, found: &mut Findings) {
    let Some(signal) = traffic::Signal::of(evidence).filter(traffic::Signal::otp_fails) else {
        return;
    };
    let line = signal.line();
    let named: Vec<FailureMode> = found
        .list
        .iter()
        .filter(|f| f.confidence > 0)
        .map(|f| f.failure_mode)
        .collect();
    let hanging = [
        FailureMode::MissingEnvVars,
        FailureMode::EventLoopBlocked,
        FailureMode::NetworkBlocked,
    ];
    // `/health` answering users, or (the access lines unreadable) the console's own `/health`
    // answering while the load balancer has a healthy host.
    let health_fine = signal.health_fine()
        || (signal.health.is_none()
            && signal.lb_healthy.is_some_and(|n| n > 0)
            && evidence
                .last(Endpoint::Health)
                .is_some_and(|s| s.class.is_ok()));
    if named.is_empty() && signal.otp_unavailable() && health_fine {
        // A 503 after the backend's own Twilio timeout is the blocked network's shape.
        let after = signal
            .lb_p99_ms
            .map_or(String::new(), |ms| format!(" (target p99 {})", fmt_ms(ms)));
        found.add(
            FailureMode::NetworkBlocked,
            0,
            format!("{line} — users' OTP starts answer 503{after}, the backend's own timeout, while /health answers"),
        );
        return;
    }
    if !(signal.otp_times_out() && health_fine) {
        for mode in named {
            found.add(mode, 0, line.clone());
        }
        return;
    }
    if !named.is_empty() {
        for mode in named.into_iter().filter(|m| hanging.contains(m)) {
            found.add(mode, 0, line.clone());
        }
        return;
    }
    let snapshot = evidence.snapshot();
    // Twilio took users' codes in these same minutes: the calls get out (no blocked network,
    // no provider waiting for a missing variable), yet the requests still hang to the load
    // balancer's 504 — a Twilio call that holds the server until its socket timeout.
    let reached = codes_reached_twilio(evidence, &signal);
    if let Some(reached) = &reached {
        found.add(
            FailureMode::EventLoopBlocked,
            1,
            format!("{line} — yet {reached}: the backend reaches Twilio and still answers no one in time, the shape of a Twilio call that blocks the event loop"),
        );
    }
    // Named by the codes, the three shapes the traffic alone leaves are not added.
    for mode in hanging.into_iter().filter(|_| reached.is_none()) {
        // The provider that waits for missing variables needs one missing: a task definition
        // read with all of them rules it out.
        if mode == FailureMode::MissingEnvVars && snapshot.is_some() {
            continue;
        }
        found.add(
            mode,
            0,
            if signal.otp.is_some() {
                format!("{line} — users' OTP starts hang to the load balancer's 504 while /health answers")
            } else {
                format!("{line} — requests hang to the load balancer's 504 while /health answers (which ones, the access lines would say)")
            },
        );
    }
    if let Some(line) = image_change(snapshot) {
        found.add(FailureMode::EventLoopBlocked, 0, line);
    }
}

/// `Twilio's Verify Attempts list 45 codes sent in the same minutes` when the account's record
/// of the deployed provider's sends holds at least 3 made since the traffic's window began,
/// and at least half as many as the OTP starts that timed out: users' codes reach Twilio.
fn codes_reached_twilio(evidence: &Evidence, signal: &traffic::Signal) -> Option<String> {
    let Some(Ok(recent)) = &evidence.recent_sms else {
        return None;
    };
    let sent = recent.tally(evidence.lines_since_ms).sent;
    let timeouts = signal
        .otp
        .map_or(signal.lb_504.unwrap_or(0), |o| o.timeouts);
    if sent < 3 || (sent as u64) * 2 < timeouts {
        return None;
    }
    let via = match recent.via {
        Some(delivery::Via::VerifyAttempts) => "Verify Attempts",
        _ => "Messages",
    };
    let more = if recent.truncated { "at least " } else { "" };
    Some(format!(
        "Twilio's {via} list {more}{sent} of their codes sent in the same minutes"
    ))
}
