//! Whether an SMS reached the phone: Twilio's delivery error codes decoded into what they mean
//! and what to do, and the following of a send to its final state (Messages API status for
//! `twilio_sms`, Verify Attempts' `message_status` for `twilio_verify`), polling with backoff
//! until the status is final or time runs out. The following is generic over the poll, so its
//! rules are unit-tested without a network or a clock.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::probe::{ErrorKind, ProbeError, System};

/// Which Twilio API a delivery is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Programmable Messaging's Message resource (`twilio_sms`).
    Messages,
    /// Verify's Attempts API (`twilio_verify`).
    VerifyAttempts,
}

/// One status of a followed send, as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStep {
    pub via: Via,
    /// The message's or attempt's SID, first 8 characters.
    pub sid: String,
    /// Last 4 digits.
    pub to: String,
    /// `queued`, `sent`, `delivered`, `undelivered`, `failed`, …
    pub status: String,
    pub error_code: Option<u32>,
    /// What the error code means, decoded.
    pub meaning: Option<String>,
    /// Whether Twilio will report nothing after this status.
    pub is_final: bool,
    /// Milliseconds since the following began.
    pub after_ms: u64,
}

/// Whether Twilio reports nothing after `status`.
pub fn is_final(status: &str) -> bool {
    matches!(
        status,
        "delivered" | "undelivered" | "failed" | "canceled" | "read" | "received"
    )
}

/// What a Twilio error code about the sender or the delivery of an SMS means, and the repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub meaning: &'static str,
    pub repair: &'static str,
    /// Whether the From number is at fault (`from_number_invalid`) rather than the delivery.
    pub sender_fault: bool,
}

/// Decodes a sender or delivery error code; `None` for codes outside those two families.
pub fn decode(code: u32) -> Option<Decoded> {
    let (meaning, repair, sender_fault) = match code {
        21606 => (
            "the From number is not an SMS-capable number of this Twilio account",
            "buy or re-assign an SMS-capable number and set OTP_FROM_NUMBER to it",
            true,
        ),
        21659 => (
            "the From number is not a Twilio phone number",
            "set OTP_FROM_NUMBER to a number the Twilio account owns",
            true,
        ),
        21212 => (
            "the From number is not a valid phone number",
            "set OTP_FROM_NUMBER to an E.164 number the account owns, e.g. +18325550147",
            true,
        ),
        30003 => (
            "unreachable handset: the phone is off or out of coverage",
            "ask the user to check the phone is on and has signal, then resend",
            false,
        ),
        30004 => (
            "message blocked by the recipient or their carrier",
            "ask the user to unblock the sender, or try another number",
            false,
        ),
        30005 => (
            "unknown destination: the number does not exist or is not in service",
            "check the phone number with the user",
            false,
        ),
        30006 => (
            "landline or unreachable carrier: the number cannot receive SMS",
            "use a mobile number (or a voice channel)",
            false,
        ),
        30007 => (
            "carrier violation: the carrier filtered the message as spam",
            "register the sender (A2P 10DLC / toll-free verification), use a registered number or a Messaging Service, and keep the body free of URLs",
            false,
        ),
        30008 => (
            "unknown error from the carrier",
            "resend; if it repeats for one carrier, open a Twilio support case with the message SID",
            false,
        ),
        30034 => (
            "the From number is an unregistered US A2P 10DLC number",
            "register the brand and campaign (A2P 10DLC) for the number, or send through a registered Messaging Service",
            false,
        ),
        21610 => (
            "the recipient unsubscribed (replied STOP)",
            "ask the user to reply START to the sender number",
            false,
        ),
        21408 | 60605 => (
            "sending to this country is not enabled (geographic permissions)",
            "enable the country in Twilio Console > Messaging (or Verify) > Geo permissions",
            false,
        ),
        21614 => (
            "the To number is not a mobile number",
            "use a mobile number (or a voice channel)",
            false,
        ),
        _ => return None,
    };
    Some(Decoded {
        meaning,
        repair,
        sender_fault,
    })
}

/// Whether `code` says the From number is at fault.
pub fn is_sender_error(code: u32) -> bool {
    decode(code).is_some_and(|d| d.sender_fault)
}

/// Whether `code` says the SMS did not reach the phone.
pub fn is_delivery_error(code: u32) -> bool {
    decode(code).is_some_and(|d| !d.sender_fault)
}

/// How a send is followed: the first wait, its growth, its ceiling, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub timeout: Duration,
}

impl Backoff {
    /// The console's: a human watches, the carrier may take a minute.
    pub const CONSOLE: Self = Self {
        first: Duration::from_millis(500),
        max: Duration::from_secs(10),
        timeout: Duration::from_secs(120),
    };
    /// `check`'s: an answer within seconds, or say it is not known (a poll every half second
    /// at most: a one-off check, far below Twilio's API limits).
    pub const CHECK: Self = Self {
        first: Duration::from_millis(200),
        max: Duration::from_millis(500),
        timeout: Duration::from_secs(20),
    };
}

/// Polls with `poll` until a final status, `timeout` or a refusal, reporting each new status
/// (and each new error) once; waits double from `first` up to `max`. A poll that finds nothing
/// yet (`Ok(None)`) is polled again. Returns the last step seen.
pub async fn follow<P, F>(
    backoff: Backoff,
    mut poll: P,
    mut report: impl FnMut(Result<DeliveryStep, ProbeError>),
) -> Option<DeliveryStep>
where
    P: FnMut(Duration) -> F,
    F: Future<Output = Result<Option<DeliveryStep>, ProbeError>>,
{
    let started = tokio::time::Instant::now();
    let mut wait = backoff.first;
    let mut last: Option<DeliveryStep> = None;
    let mut last_error: Option<String> = None;
    loop {
        let elapsed = started.elapsed();
        match poll(elapsed).await {
            Ok(Some(mut step)) => {
                last_error = None;
                step.after_ms = elapsed.as_millis() as u64;
                let is_new = last
                    .as_ref()
                    .is_none_or(|l| l.status != step.status || l.sid != step.sid);
                let done = step.is_final;
                if is_new {
                    report(Ok(step.clone()));
                    last = Some(step);
                }
                if done {
                    return last;
                }
            }
            Ok(None) => {}
            Err(e) => {
                // Credentials or a missing resource will not fix themselves: stop.
                let hopeless = matches!(e.kind, ErrorKind::Credentials | ErrorKind::NotFound);
                if last_error.as_deref() != Some(e.message.as_str()) {
                    last_error = Some(e.message.clone());
                    report(Err(e));
                }
                if hopeless {
                    return last;
                }
            }
        }
        if started.elapsed() + wait > backoff.timeout {
            let seen = last
                .as_ref()
                .map_or_else(|| "nothing yet".to_owned(), |s| s.status.clone());
            report(Err(ProbeError {
                system: System::Twilio,
                kind: ErrorKind::Timeout,
                code: None,
                message: format!(
                    "no final delivery status within {} s (last: {seen}): follow it in Twilio Console > Monitor > Logs",
                    backoff.timeout.as_secs()
                ),
            }));
            return last;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(backoff.max);
    }
}

#[cfg(test)]
// A failed unwrap in a test is a failed test, with the value in the message.
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::*;

    fn step(status: &str, code: Option<u32>) -> DeliveryStep {
        DeliveryStep {
            via: Via::Messages,
            sid: "SM1234ab".into(),
            to: "•••6318".into(),
            status: status.into(),
            error_code: code,
            meaning: code.and_then(decode).map(|d| d.meaning.to_owned()),
            is_final: is_final(status),
            after_ms: 0,
        }
    }

    type Script = Arc<Mutex<VecDeque<Result<Option<DeliveryStep>, ProbeError>>>>;

    /// Follows a scripted sequence of poll answers (the last repeats);
    /// returns what was reported and when each poll happened.
    async fn run(
        answers: Vec<Result<Option<DeliveryStep>, ProbeError>>,
        backoff: Backoff,
    ) -> (Vec<Result<DeliveryStep, ProbeError>>, Vec<Duration>) {
        let script: Script = Arc::new(Mutex::new(answers.into()));
        let polls = Arc::new(Mutex::new(Vec::new()));
        let mut reported = Vec::new();
        follow(
            backoff,
            |elapsed| {
                let script = Arc::clone(&script);
                let polls = Arc::clone(&polls);
                async move {
                    polls.lock().unwrap().push(elapsed);
                    let mut s = script.lock().unwrap();
                    if s.len() > 1 {
                        s.pop_front().unwrap()
                    } else {
                        s.front().cloned().unwrap()
                    }
                }
            },
            |r| reported.push(r),
        )
        .await;
        let polls = polls.lock().unwrap().clone();
        (reported, polls)
    }

    const FAST: Backoff = Backoff {
        first: Duration::from_millis(20),
        max: Duration::from_millis(80),
        timeout: Duration::from_millis(600),
    };

    #[tokio::test]
    async fn stops_at_the_final_status_reporting_each_status_once() {
        let (reported, polls) = run(
            vec![
                Ok(None),
                Ok(Some(step("queued", None))),
                Ok(Some(step("queued", None))),
                Ok(Some(step("sent", None))),
                Ok(Some(step("undelivered", Some(30007)))),
                Ok(Some(step("delivered", None))),
            ],
            FAST,
        )
        .await;
        let statuses: Vec<String> = reported
            .iter()
            .map(|r| r.as_ref().unwrap().status.clone())
            .collect();
        assert_eq!(statuses, ["queued", "sent", "undelivered"]);
        let last = reported.last().unwrap().as_ref().unwrap();
        assert_eq!(last.error_code, Some(30007));
        assert!(last.meaning.as_deref().unwrap().contains("spam"));
        assert_eq!(polls.len(), 5, "no poll after the final status");
    }

    // On tokio's paused clock: the sleeps are exact, however busy the machine.
    #[tokio::test(start_paused = true)]
    async fn backs_off_doubling_to_the_ceiling_then_times_out() {
        let (reported, polls) = run(vec![Ok(Some(step("sent", None)))], FAST).await;
        let gaps: Vec<u128> = polls
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]).as_millis())
            .collect();
        // Sleeps last at least their time: 20, 40, 80, then 80 at the ceiling.
        for (gap, least) in gaps.iter().zip([20, 40, 80, 80, 80]) {
            assert!(*gap >= least, "{gaps:?}");
        }
        assert!(gaps.len() <= 9, "the ceiling holds: {gaps:?}");
        assert!(polls.last().unwrap() <= &FAST.timeout);
        assert_eq!(reported.len(), 2, "{reported:?}");
        let timeout = reported[1].as_ref().unwrap_err();
        assert_eq!(timeout.kind, ErrorKind::Timeout);
        assert!(
            timeout.message.contains("last: sent"),
            "{}",
            timeout.message
        );
    }

    #[tokio::test]
    async fn gives_up_at_once_on_credentials_and_reports_a_repeated_error_once() {
        let refused = ProbeError {
            system: System::Twilio,
            kind: ErrorKind::Credentials,
            code: Some("20003".into()),
            message: "Twilio 20003".into(),
        };
        let (reported, polls) = run(vec![Err(refused)], FAST).await;
        assert_eq!(polls.len(), 1);
        assert_eq!(reported.len(), 1);
        let flaky = ProbeError {
            system: System::Twilio,
            kind: ErrorKind::Unreachable,
            code: None,
            message: "cannot reach".into(),
        };
        let (reported, _) = run(
            vec![
                Err(flaky.clone()),
                Err(flaky),
                Ok(Some(step("delivered", None))),
            ],
            FAST,
        )
        .await;
        assert_eq!(reported.len(), 2);
        assert!(reported[1].as_ref().unwrap().is_final);
    }

    #[test]
    fn decodes_sender_and_delivery_codes() {
        for code in [21606, 21659, 21212] {
            assert!(is_sender_error(code), "{code}");
            assert!(!is_delivery_error(code), "{code}");
        }
        for code in [
            30003, 30004, 30005, 30006, 30007, 30008, 30034, 21610, 21408, 60605, 21614,
        ] {
            assert!(is_delivery_error(code), "{code}");
        }
        assert!(decode(21610).unwrap().repair.contains("START"));
        assert!(decode(21408).unwrap().repair.contains("Geo permissions"));
        assert!(decode(21606).unwrap().repair.contains("OTP_FROM_NUMBER"));
        assert!(decode(20003).is_none());
        assert!(is_final("undelivered") && is_final("delivered") && is_final("failed"));
        assert!(!is_final("queued") && !is_final("sent") && !is_final("sending"));
    }
}
