//! The timeout budget: which timeout fires first when the backend's call to Twilio does not
//! return. The runbook's symptom, "times out after 60 s with 504", is the load balancer's idle
//! timeout (60 s by default), not the backend's: with `TWILIO_TIMEOUT_SECONDS` at or above it,
//! a blocked call outlives the request and the user sees a bare 504 instead of the backend's
//! clean error. Read from the deployed variables and the load balancer's attributes; on App
//! Runner the front end's timeout is its fixed 120 s request timeout.

use serde::Serialize;

use super::Evidence;
use crate::probe::http::{Class, Endpoint};

/// The backend's Twilio timeout when the variable is not set, as the runbook says.
pub const DEFAULT_TWILIO_TIMEOUT_S: u64 = 30;

/// App Runner's request timeout: fixed, not a setting of the service.
pub const APPRUNNER_REQUEST_TIMEOUT_S: u64 = 120;

/// What stands between the client and the backend, and gives up on a request first unless the
/// backend does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrontEnd {
    /// The service's load balancer: its idle timeout (`idle_timeout.timeout_seconds`).
    LoadBalancer,
    /// App Runner's own front end: its fixed 120 s request timeout.
    Apprunner,
}

impl FrontEnd {
    /// Who gives up, in a sentence: `the load balancer`, `App Runner`.
    pub fn who(self) -> &'static str {
        match self {
            Self::LoadBalancer => "the load balancer",
            Self::Apprunner => "App Runner",
        }
    }

    /// Its timeout, named: `load balancer idle`, `App Runner request timeout (fixed)`.
    pub fn timeout(self) -> &'static str {
        match self {
            Self::LoadBalancer => "load balancer idle",
            Self::Apprunner => "App Runner request timeout (fixed)",
        }
    }
}

/// The chain client → load balancer (idle timeout) → backend (`TWILIO_TIMEOUT_SECONDS`) →
/// Twilio, and which gives up first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// What fronts the backend: a load balancer (ECS) or App Runner.
    pub front_end: FrontEnd,
    /// The front end's timeout, seconds (a load balancer's idle timeout, App Runner's fixed
    /// request timeout); `None` when it could not be read.
    pub load_balancer_idle_s: Option<u64>,
    /// Why it could not be read, one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_error: Option<String>,
    /// `TWILIO_TIMEOUT_SECONDS` as deployed, or the runbook's 30 when unset.
    pub twilio_timeout_s: u64,
    pub twilio_timeout_set: bool,
    /// `backend`, `load_balancer`, or `unknown` (the idle timeout was not read): as seen when
    /// an OTP start got the load balancer's 504, else as configured.
    pub first: &'static str,
    /// What was seen that says which fired first, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
    /// Whether the configuration leaves the backend's timeout room to fire first: when it does
    /// not, that is the risk `timeout_order`.
    pub configured_in_order: Option<bool>,
    /// What a user whose OTP start's Twilio call does not return sees, in a few words.
    pub user_sees: String,
}

impl Budget {
    /// Whether the load balancer's side was read (its idle timeout, or why it could not be).
    pub fn is_read(&self) -> bool {
        self.load_balancer_idle_s.is_some() || self.load_balancer_error.is_some()
    }

    /// One line for the checklist pane and the table.
    pub fn line(&self) -> String {
        let set = if self.twilio_timeout_set {
            ""
        } else {
            " (unset: the runbook's default)"
        };
        let twilio = format!("TWILIO_TIMEOUT_SECONDS {} s{set}", self.twilio_timeout_s);
        match (self.load_balancer_idle_s, &self.load_balancer_error) {
            (Some(idle), _) => format!(
                "{} {idle} s · {twilio}: {} gives up first — {}{}",
                self.front_end.timeout(),
                if self.first == "backend" {
                    "the backend"
                } else {
                    self.front_end.who()
                },
                self.user_sees,
                self.seen
                    .as_deref()
                    .map_or_else(String::new, |seen| format!(" (seen: {seen})"))
            ),
            (None, Some(why)) => {
                format!("{twilio}; load balancer idle timeout not read: {why}")
            }
            (None, None) => format!("{twilio}; load balancer idle timeout not read yet"),
        }
    }
}

/// The budget as the evidence shows it, on `platform`: `None` until the task definition (or
/// the App Runner service) is read. `loop_blocked`: the evidence names a blocked event loop,
/// whose call never lets the backend's own timeout run.
pub fn of(
    evidence: &Evidence,
    platform: crate::config::Platform,
    loop_blocked: bool,
) -> Option<Budget> {
    let set = evidence
        .snapshot()?
        .variable("TWILIO_TIMEOUT_SECONDS")
        .and_then(|e| e.display.trim().parse::<f64>().ok())
        .map(|s| s.ceil() as u64);
    let twilio = set.unwrap_or(DEFAULT_TWILIO_TIMEOUT_S);
    let lb = evidence
        .traffic
        .as_ref()
        .and_then(|t| t.load_balancer.as_ref());
    let front_end = match platform {
        crate::config::Platform::Ecs => FrontEnd::LoadBalancer,
        crate::config::Platform::AppRunner => FrontEnd::Apprunner,
    };
    let (idle, error) = match lb {
        _ if front_end == FrontEnd::Apprunner => (Some(APPRUNNER_REQUEST_TIMEOUT_S), None),
        Some(Ok(lb)) => match &lb.idle_timeout_s {
            Some(Ok(idle)) => (Some(*idle), None),
            Some(Err(e)) => (None, Some(e.message.clone())),
            None => (None, None),
        },
        Some(Err(e)) => (None, Some(e.message.clone())),
        None => (None, None),
    };
    let seen = lb_answered_first(evidence, front_end).or_else(|| {
        loop_blocked.then(|| {
            "the event loop is blocked (event_loop_blocked): the backend's own timeout cannot run"
                .to_owned()
        })
    });
    let gave_up = match front_end {
        FrontEnd::LoadBalancer => "load_balancer",
        FrontEnd::Apprunner => "apprunner",
    };
    let (first, user_sees) = match idle {
        Some(idle) if seen.is_some() => (gave_up, format!("users get a bare 504 after {idle} s")),
        Some(idle) if twilio < idle => (
            "backend",
            format!(
                "a Twilio that does not answer gets users the backend's own error after {twilio} s"
            ),
        ),
        Some(idle) => (
            gave_up,
            format!("a Twilio that does not answer gets users a bare 504 after {idle} s"),
        ),
        None => (
            "unknown",
            "unknown until the idle timeout is read".to_owned(),
        ),
    };
    Some(Budget {
        front_end,
        load_balancer_idle_s: idle,
        load_balancer_error: error,
        twilio_timeout_s: twilio,
        twilio_timeout_set: set.is_some(),
        first,
        seen,
        configured_in_order: idle.map(|idle| twilio < idle),
        user_sees,
    })
}

/// An OTP start the load balancer answered with its own 504 (the console's, or users' in the
/// access lines): the backend's timeout did not fire first, whatever it is set to (a call that
/// blocks the event loop never lets it run).
fn lb_answered_first(evidence: &Evidence, front_end: FrontEnd) -> Option<String> {
    let who = front_end.who();
    let own = evidence
        .samples
        .iter()
        .rev()
        .find(|s| s.endpoint == Endpoint::OtpStart)
        .filter(|s| s.class == Class::GatewayTimeout)
        .map(|s| {
            format!(
                "the test OTP start got {who}'s 504 after {}",
                super::fmt_ms(s.latency_ms)
            )
        });
    own.or_else(|| {
        let otp = super::traffic::Signal::of(evidence)?.otp?;
        (otp.timeouts > 0).then(|| {
            format!(
                "{} of users' recent OTP starts got {who}'s 504",
                otp.timeouts
            )
        })
    })
}

/// The load balancer's name, for the commands.
pub fn load_balancer_name(evidence: &Evidence) -> Option<&str> {
    match evidence.traffic.as_ref()?.load_balancer.as_ref()? {
        Ok(lb) => Some(lb.name.as_str()),
        Err(_) => None,
    }
}
