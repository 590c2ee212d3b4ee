//! One trace per OTP start the console sent: the evidence of that one request, spread over the
//! latency, logs and Twilio panes, joined in time order with durations. The HTTP request and
//! its answer (or the load balancer's 504), the `/health` probes that ran beside it, the
//! backend's log lines for that phone in its window, Twilio's record of the call (the Verify
//! attempt or the Message, with its status changes), and the code's verification. A hop the
//! evidence does not hold is shown as missing, with why: no log line in the window, no Twilio
//! attempt because the call never left.

use serde::Serialize;

use super::{fmt_ms, Evidence};
use crate::probe::http::{Class, Endpoint, Sample};
use crate::probe::logs::LineKind;

/// How long after the request's end its log lines and Twilio's record may still come.
const AFTER_MS: i64 = 30_000;
/// A `/health` probe slower than this beside an OTP start stalled with it.
const STALLED_MS: u64 = 2_000;
/// Log lines shown per trace at most (the newest are dropped: the first say the most).
const MAX_LINES: usize = 6;

/// What a hop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HopKind {
    /// `POST /v1/auth/otp/start` and its answer.
    Request,
    /// The `/health` probes sent while it was outstanding.
    Health,
    /// One backend log line for the phone, in the request's window.
    Log,
    /// Twilio's record of the call: the Verify attempt or the Message, its statuses.
    Twilio,
    /// The code, verified through the API (or Twilio's check).
    Verify,
}

impl HopKind {
    /// A short label, as the waterfall names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Health => "/health",
            Self::Log => "log",
            Self::Twilio => "twilio",
            Self::Verify => "verify",
        }
    }
}

/// How a hop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HopState {
    Ok,
    Fail,
    /// Still going (the request in flight, a delivery not final, a code not entered yet).
    Pending,
    /// The evidence holds no such hop; `text` says why.
    Missing,
}

/// One hop of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub kind: HopKind,
    /// When it began (ms since the epoch); `None` when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
    /// How long it took, when it has a length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    pub state: HopState,
    /// One line: what happened, or why it is missing.
    pub text: String,
}

/// The trace of one OTP start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// The phone's last 4 digits.
    pub phone_last4: String,
    /// `test` (a start the console sent) or `user` (a real user's, from the backend's lines).
    pub source: &'static str,
    pub started_ms: i64,
    /// In time order; missing hops after the others.
    pub hops: Vec<Hop>,
}

impl Trace {
    /// When the last hop with a time ends (at least the start).
    pub fn end_ms(&self) -> i64 {
        self.hops
            .iter()
            .filter_map(|h| Some(h.at_ms? + h.duration_ms.unwrap_or(0) as i64))
            .max()
            .unwrap_or(self.started_ms)
            .max(self.started_ms)
    }

    /// One line: the phone, when, and how the request ended.
    pub fn title(&self) -> String {
        let request = self
            .hops
            .iter()
            .find(|h| h.kind == HopKind::Request)
            .map_or("", |h| h.text.as_str());
        let whose = if self.source == "user" {
            "a user's "
        } else {
            ""
        };
        format!("{whose}OTP start to •{} · {request}", self.phone_last4)
    }

    /// The trace as plain text lines (the report's, `check`'s): `+offset  label  text`.
    pub fn text_lines(&self) -> Vec<String> {
        self.hops
            .iter()
            .map(|h| {
                let at = h.at_ms.map_or_else(
                    || "      —".to_owned(),
                    |at| format!("{:>7}", offset(at - self.started_ms)),
                );
                format!("{at}  {:<8} {}", h.kind.label(), h.text)
            })
            .collect()
    }
}

/// `+1.2 s`, `+350 ms`, `-0.4 s` for a hop before the start.
pub fn offset(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "+" };
    format!("{sign}{}", fmt_ms(ms.unsigned_abs()))
}

/// Every OTP start the console sent that the evidence still holds, oldest first, each traced
/// as of `now_ms`.
pub fn of(evidence: &Evidence, now_ms: i64) -> Vec<Trace> {
    // Each start with whether it is still in flight.
    let mut starts: Vec<(Sample, bool)> = evidence
        .samples
        .iter()
        .filter(|s| s.endpoint == Endpoint::OtpStart && s.phone_last4.is_some())
        .map(|s| (s.clone(), false))
        .collect();
    starts.extend(
        evidence
            .outstanding
            .iter()
            .filter_map(|(id, (endpoint, at))| {
                let phone = evidence.phones.get(id)?;
                (*endpoint == Endpoint::OtpStart)
                    .then(|| (in_flight(*id, *at, phone, now_ms), true))
            }),
    );
    starts.sort_by_key(|(s, _)| s.started_ms);
    starts
        .iter()
        .enumerate()
        .map(|(i, (s, waiting))| {
            // The next start bounds this one's window: its lines and records are the next's.
            let next = starts.get(i + 1).map_or(i64::MAX, |(n, _)| n.started_ms);
            let mut t = trace(evidence, s, next, now_ms);
            if *waiting {
                mark_in_flight(&mut t, s);
            }
            t
        })
        .collect()
}

/// An OTP start still waiting, as a sample in flight for `now_ms - at` so far.
fn in_flight(id: u64, at: i64, phone: &str, now_ms: i64) -> Sample {
    Sample {
        endpoint: Endpoint::OtpStart,
        id,
        started_ms: at,
        latency_ms: (now_ms - at).max(0).unsigned_abs(),
        status: None,
        class: Class::Timeout,
        summary: String::new(),
        during_otp: false,
        otp_started_ms: None,
        phone_last4: Some(phone.to_owned()),
    }
}

/// A start still waiting: its request is in flight, and what follows it is not known yet
/// rather than missing.
fn mark_in_flight(t: &mut Trace, s: &Sample) {
    for hop in &mut t.hops {
        match hop.kind {
            HopKind::Request => {
                hop.state = HopState::Pending;
                hop.text = format!("in flight for {}, no answer yet", fmt_ms(s.latency_ms));
            }
            HopKind::Twilio | HopKind::Verify if hop.state == HopState::Missing => {
                hop.state = HopState::Pending;
                hop.text = "waiting for the start's answer".into();
            }
            _ => {}
        }
    }
}

fn trace(evidence: &Evidence, start: &Sample, next_ms: i64, now_ms: i64) -> Trace {
    let phone = start.phone_last4.clone().unwrap_or_default();
    let end_ms = start.started_ms + start.latency_ms as i64;
    let window = (start.started_ms - 1_000, (end_ms + AFTER_MS).min(next_ms));
    let mut hops = vec![request(start)];
    hops.push(health(evidence, start, end_ms));
    let lines = log_lines(evidence, &phone, window, now_ms);
    let logged_send = lines
        .iter()
        .any(|h| h.state == HopState::Ok && h.text.contains("OTP sent"));
    hops.extend(lines);
    let twilio = twilio(evidence, start, &phone, logged_send);
    // A code went out, whatever the start answered: the backend logged it or Twilio has it.
    let sent = logged_send || twilio.at_ms.is_some();
    hops.push(twilio);
    hops.push(verify(evidence, start, next_ms, sent));
    // In time order; missing ones last, in the order above.
    hops.sort_by_key(|h| (h.at_ms.is_none(), h.at_ms));
    Trace {
        phone_last4: phone,
        source: "test",
        started_ms: start.started_ms,
        hops,
    }
}

/// Real users' OTP starts the backend logged, newest `max` of them: each phone (last 4) the
/// console did not test, from its latest lines. What joins them is the phone in the lines
/// (`phone_last4=…`) and time: the access line of an OTP start answered then, Twilio's send
/// nearest in time (its list keeps no phone: matched by time alone, and said so).
pub fn users(evidence: &Evidence, max: usize) -> Vec<Trace> {
    let tested: Vec<&String> = evidence
        .samples
        .iter()
        .filter_map(|s| s.phone_last4.as_ref())
        .chain(evidence.phones.values())
        .collect();
    let mut phones: Vec<(String, i64)> = Vec::new();
    for e in evidence.events.iter().rev() {
        let Some(phone) = phone_in(&e.message) else {
            continue;
        };
        if tested.iter().any(|t| **t == phone) || phones.iter().any(|(p, _)| *p == phone) {
            continue;
        }
        phones.push((phone, e.timestamp_ms));
        if phones.len() == max {
            break;
        }
    }
    let mut traces: Vec<Trace> = phones
        .into_iter()
        .map(|(phone, last_ms)| user_trace(evidence, &phone, last_ms))
        .collect();
    traces.sort_by_key(|t| t.started_ms);
    traces
}

/// The 4 digits after `phone_last4=` in a line.
fn phone_in(message: &str) -> Option<String> {
    let rest = message.split("phone_last4=").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 4).then_some(digits)
}

fn user_trace(evidence: &Evidence, phone: &str, last_ms: i64) -> Trace {
    let tag = format!("phone_last4={phone}");
    // Its burst: the lines for the phone up to a minute before the latest.
    let started_ms = evidence
        .events
        .iter()
        .filter(|e| {
            e.message.contains(&tag) && (last_ms - 60_000..=last_ms).contains(&e.timestamp_ms)
        })
        .map(|e| e.timestamp_ms)
        .min()
        .unwrap_or(last_ms);
    let window = (started_ms - 1_000, last_ms + 5_000);
    let mut hops = log_lines(evidence, phone, window, i64::MAX);
    let access = evidence
        .events
        .iter()
        .filter(|e| (window.0..=window.1 + 60_000).contains(&e.timestamp_ms))
        .find(|e| e.message.contains("POST /v1/auth/otp/start"));
    hops.push(match access {
        Some(e) => Hop {
            kind: HopKind::Request,
            at_ms: Some(e.timestamp_ms),
            duration_ms: None,
            state: if e.message.contains("\" 2") {
                HopState::Ok
            } else {
                HopState::Fail
            },
            text: format!(
                "answered, as its access line says: {}",
                crate::redact::sanitize(&e.message)
            ),
        },
        None => Hop {
            kind: HopKind::Request,
            at_ms: None,
            duration_ms: None,
            state: HopState::Missing,
            text: "no access line for it in the lines read (a load balancer's 504 leaves none)"
                .into(),
        },
    });
    let send = evidence
        .recent_sms
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .and_then(|r| {
            r.sends
                .iter()
                .filter(|s| (started_ms - 1_000..=started_ms + 60_000).contains(&s.at_ms))
                .min_by_key(|s| (s.at_ms - started_ms).abs())
        });
    hops.push(match send {
        Some(s) => Hop {
            kind: HopKind::Twilio,
            at_ms: Some(s.at_ms),
            duration_ms: None,
            state: match s.status.as_str() {
                "delivered" | "read" => HopState::Ok,
                "failed" | "undelivered" => HopState::Fail,
                _ => HopState::Pending,
            },
            text: format!(
                "a send {} (matched by time: Twilio's list keeps no phone){}",
                s.status,
                s.error_code
                    .map_or_else(String::new, |c| format!(", error {c}"))
            ),
        },
        None => Hop {
            kind: HopKind::Twilio,
            at_ms: None,
            duration_ms: None,
            state: HopState::Missing,
            text: "no Twilio send in its minute (or users' sends not read)".into(),
        },
    });
    hops.sort_by_key(|h| (h.at_ms.is_none(), h.at_ms));
    Trace {
        phone_last4: phone.to_owned(),
        source: "user",
        started_ms,
        hops,
    }
}

fn request(s: &Sample) -> Hop {
    let status = s
        .status
        .map_or_else(|| "no answer".to_owned(), |c| c.to_string());
    let (state, text) = match s.class {
        Class::GatewayTimeout => (
            HopState::Fail,
            format!(
                "{status} after {}, from the load balancer, not the backend",
                fmt_ms(s.latency_ms)
            ),
        ),
        c if c.is_ok() => (
            HopState::Ok,
            format!("{status} {} in {}", s.summary, fmt_ms(s.latency_ms)),
        ),
        _ => (
            HopState::Fail,
            format!("{status} {} after {}", s.summary, fmt_ms(s.latency_ms)),
        ),
    };
    Hop {
        kind: HopKind::Request,
        at_ms: Some(s.started_ms),
        duration_ms: Some(s.latency_ms),
        state,
        text,
    }
}

/// The `/health` probes that watched this start: how many, how many stalled, the slowest.
fn health(evidence: &Evidence, start: &Sample, end_ms: i64) -> Hop {
    let watched: Vec<&Sample> = evidence
        .samples
        .iter()
        .filter(|s| s.endpoint == Endpoint::Health)
        .filter(|s| {
            s.otp_started_ms
                .is_some_and(|t| (start.started_ms - 1_000..=start.started_ms).contains(&t))
        })
        .collect();
    // Health probes still unanswered that went out while this start was outstanding.
    let waiting = evidence
        .outstanding
        .values()
        .filter(|(e, at)| *e == Endpoint::Health && (start.started_ms..=end_ms).contains(at))
        .count();
    let Some(first) = watched.iter().map(|s| s.started_ms).min() else {
        return Hop {
            kind: HopKind::Health,
            at_ms: None,
            duration_ms: None,
            state: if waiting > 0 {
                HopState::Pending
            } else {
                HopState::Missing
            },
            text: if waiting > 0 {
                format!("{waiting} /health probe(s) beside it still unanswered")
            } else {
                "no /health probe beside it: it answered before the first one was due".into()
            },
        };
    };
    let slowest = watched.iter().map(|s| s.latency_ms).max().unwrap_or(0);
    let stalled = watched
        .iter()
        .filter(|s| s.latency_ms >= STALLED_MS || !s.class.is_ok())
        .count()
        + waiting;
    let last_end = watched
        .iter()
        .map(|s| s.started_ms + s.latency_ms as i64)
        .max()
        .unwrap_or(first);
    Hop {
        kind: HopKind::Health,
        at_ms: Some(first),
        duration_ms: Some((last_end - first).max(0).unsigned_abs()),
        state: if stalled > 0 {
            HopState::Fail
        } else {
            HopState::Ok
        },
        text: if stalled > 0 {
            format!(
                "{stalled} of {} stalled, slowest {}: the event loop was blocked",
                watched.len() + waiting,
                fmt_ms(slowest)
            )
        } else {
            format!(
                "{} answered beside it, slowest {}",
                watched.len(),
                fmt_ms(slowest)
            )
        },
    }
}

/// The backend's lines for `phone` in `window`, or why there are none.
fn log_lines(evidence: &Evidence, phone: &str, window: (i64, i64), now_ms: i64) -> Vec<Hop> {
    let tag = format!("phone_last4={phone}");
    let lines: Vec<Hop> = evidence
        .events
        .iter()
        .filter(|e| (window.0..=window.1).contains(&e.timestamp_ms) && e.message.contains(&tag))
        .take(MAX_LINES)
        .map(|e| Hop {
            kind: HopKind::Log,
            at_ms: Some(e.timestamp_ms),
            duration_ms: None,
            state: if matches!(
                e.kind,
                LineKind::ProviderInitialised
                    | LineKind::OtpSent
                    | LineKind::OtpVerified
                    | LineKind::Access
                    | LineKind::Other
            ) {
                HopState::Ok
            } else {
                HopState::Fail
            },
            text: crate::redact::sanitize(&e.message),
        })
        .collect();
    if !lines.is_empty() {
        return lines;
    }
    let why = if let Some(e) = &evidence.logs_error {
        format!("logs not read: {}", e.message)
    } else if !evidence.has_logs {
        "logs not read yet".to_owned()
    } else if now_ms < window.1 {
        format!("no log line for •{phone} yet")
    } else {
        format!(
            "no log line for •{phone} in the {} after it: the backend never logged this start",
            fmt_ms((window.1 - window.0).max(0).unsigned_abs())
        )
    };
    vec![Hop {
        kind: HopKind::Log,
        at_ms: None,
        duration_ms: None,
        state: HopState::Missing,
        text: why,
    }]
}

/// Twilio's record of the call to `phone`: the statuses it went through, or why there is none.
fn twilio(evidence: &Evidence, start: &Sample, phone: &str, logged_send: bool) -> Hop {
    let steps: Vec<&crate::probe::twilio::delivery::DeliveryStep> = evidence
        .deliveries
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .filter(|d| d.to.ends_with(phone))
        .collect();
    if let (Some(first), Some(last)) = (steps.first(), steps.last()) {
        let path = steps
            .iter()
            .map(|d| format!("{} +{}", d.status, fmt_ms(d.after_ms)))
            .collect::<Vec<_>>()
            .join(" → ");
        let what = match first.via {
            crate::probe::twilio::delivery::Via::VerifyAttempts => "Verify attempt",
            crate::probe::twilio::delivery::Via::Messages => "Message",
        };
        let code = last.error_code.map_or_else(String::new, |c| {
            format!(
                " ({c}: {})",
                last.meaning.as_deref().unwrap_or("carrier error")
            )
        });
        // Twilio's record is followed from the start's answer on.
        let followed_from = start.started_ms + start.latency_ms as i64;
        return Hop {
            kind: HopKind::Twilio,
            at_ms: Some(followed_from + first.after_ms as i64),
            duration_ms: Some(last.after_ms.saturating_sub(first.after_ms)),
            state: match (last.is_final, last.status.as_str()) {
                (true, "delivered" | "read" | "received") => HopState::Ok,
                (true, _) => HopState::Fail,
                (false, _) => HopState::Pending,
            },
            text: format!("{what} {}: {path}{code}", first.sid),
        };
    }
    let (state, why) = if let Some(Err(e)) = evidence.deliveries.last() {
        (
            HopState::Missing,
            format!("Twilio's record not read: {}", e.message),
        )
    } else if logged_send {
        (
            HopState::Pending,
            "not read yet; the backend logged the send".to_owned(),
        )
    } else if !start.class.is_ok() {
        (
            HopState::Missing,
            format!("no attempt for •{phone}: no send logged, the call most likely never left"),
        )
    } else {
        (HopState::Pending, "waiting for Twilio's record".to_owned())
    };
    Hop {
        kind: HopKind::Twilio,
        at_ms: None,
        duration_ms: None,
        state,
        text: why,
    }
}

/// The code, verified after this start (before the next one), or why not.
fn verify(evidence: &Evidence, start: &Sample, next_ms: i64, sent: bool) -> Hop {
    let sent = sent || start.class.is_ok();
    let after = |t: i64| t >= start.started_ms && t < next_ms;
    if let Some(s) = evidence
        .samples
        .iter()
        .find(|s| s.endpoint == Endpoint::OtpVerify && after(s.started_ms))
    {
        return Hop {
            kind: HopKind::Verify,
            at_ms: Some(s.started_ms),
            duration_ms: Some(s.latency_ms),
            state: if s.class.is_ok() {
                HopState::Ok
            } else {
                HopState::Fail
            },
            text: format!(
                "{} {} in {}",
                s.status
                    .map_or_else(|| "no answer".to_owned(), |c| c.to_string()),
                s.summary,
                fmt_ms(s.latency_ms)
            ),
        };
    }
    let approved = evidence
        .checks
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .any(|c| {
            c.status == "approved"
                && start
                    .phone_last4
                    .as_deref()
                    .is_some_and(|p| c.to.ends_with(p))
        });
    Hop {
        kind: HopKind::Verify,
        at_ms: None,
        duration_ms: None,
        state: if approved {
            HopState::Ok
        } else if sent {
            HopState::Pending
        } else {
            HopState::Missing
        },
        text: if approved {
            "code approved by Twilio's check".into()
        } else if sent {
            "code not entered yet (c)".into()
        } else {
            "no code to verify: none was sent".into()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fixtures::{self, NOW};

    fn hop(t: &Trace, kind: HopKind) -> &Hop {
        t.hops.iter().find(|h| h.kind == kind).expect("the hop")
    }

    /// The runbook's incident: the start got the load balancer's 504 after 60 s, the
    /// `/health` probe beside it stalled as long, the backend logged the send for 6318; the
    /// code was never entered.
    #[test]
    fn the_event_loop_incident_joins_the_request_the_stall_and_the_line() {
        let app = fixtures::app("event-loop-blocking");
        let traces = of(&app.evidence, NOW);
        assert_eq!(traces.len(), 1, "{traces:#?}");
        let t = &traces[0];
        assert_eq!(t.phone_last4, "6318");
        let request = hop(t, HopKind::Request);
        assert_eq!(request.state, HopState::Fail);
        assert!(request.text.contains("504 after 60 s"), "{request:?}");
        let health = hop(t, HopKind::Health);
        assert_eq!(health.state, HopState::Fail);
        assert!(health.text.contains("stalled"), "{health:?}");
        let log = hop(t, HopKind::Log);
        assert!(
            log.text.contains("OTP sent successfully phone_last4=6318"),
            "{log:?}"
        );
        // The backend logged the send: a code is out, not entered yet.
        assert_eq!(hop(t, HopKind::Verify).state, HopState::Pending);
        // In time order, the missing last.
        let times: Vec<Option<i64>> = t.hops.iter().map(|h| h.at_ms).collect();
        let mut sorted = times.clone();
        sorted.sort_by_key(|at| (at.is_none(), *at));
        assert_eq!(times, sorted);
        assert_eq!(
            t.text_lines()[0],
            "  +0 ms  request  504 after 60 s, from the load balancer, not the backend"
        );
    }

    /// A start whose backend never logged it and that Twilio never saw: both hops are missing,
    /// each saying why.
    #[test]
    fn missing_hops_say_why() {
        let mut app = fixtures::app("missing-env-vars");
        // Only the backend's lines for another phone.
        app.evidence
            .events
            .retain(|e| !e.message.contains("phone_last4=6318"));
        let t = &of(&app.evidence, NOW)[0];
        let log = hop(t, HopKind::Log);
        assert_eq!(log.state, HopState::Missing);
        assert!(log.text.contains("no log line for •6318"), "{log:?}");
        let twilio = hop(t, HopKind::Twilio);
        assert_eq!(twilio.state, HopState::Missing);
        assert!(twilio.text.contains("never left"), "{twilio:?}");
        // The event-loop incident's backend logged the send: Twilio's record is awaited.
        let app = fixtures::app("event-loop-blocking");
        let t = &of(&app.evidence, NOW)[0];
        assert_eq!(hop(t, HopKind::Twilio).state, HopState::Pending);
    }

    /// A real user's start, from the backend's lines for a phone the console did not test:
    /// its lines, and what the access lines and Twilio's list say near it, said as such.
    #[test]
    fn a_users_start_is_traced_from_the_backends_lines() {
        let app = fixtures::app("missing-env-vars");
        assert!(
            users(&app.evidence, 5).is_empty(),
            "6318 is the console's own test"
        );
        let mut app = fixtures::app("missing-env-vars");
        for e in &mut app.evidence.events {
            e.message = e.message.replace("phone_last4=6318", "phone_last4=0105");
        }
        let t = &users(&app.evidence, 5)[0];
        assert_eq!((t.phone_last4.as_str(), t.source), ("0105", "user"));
        assert!(
            hop(t, HopKind::Log)
                .text
                .contains("provider not configured"),
            "{t:#?}"
        );
        assert!(
            t.title().starts_with("a user's OTP start to •0105"),
            "{}",
            t.title()
        );
    }

    /// No OTP start sent: no trace.
    #[test]
    fn without_a_start_there_is_no_trace() {
        let mut app = fixtures::app("healthy");
        app.evidence
            .samples
            .retain(|s| s.endpoint != Endpoint::OtpStart);
        assert!(of(&app.evidence, NOW).is_empty());
    }
}
