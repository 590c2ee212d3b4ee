//! Real traffic in the diagnosis: what users got from OTP start and `/health` in the last
//! [`RECENT_MINUTES`], from the backend's access lines and the load balancer. It is evidence
//! before anyone sends a test SMS, and only that: OTP starts that 504 after the load
//! balancer's 60 s while `/health` answers fast fit the hanging modes, but traffic alone cannot
//! tell them apart, so it makes candidates (confidence 0, "fits partly") and adds its line to a
//! mode other evidence already names. It also forbids `none`: users failing is not health.

use std::fmt::Write as _;

use crate::probe::metrics::LoadBalancer;
use crate::probe::traffic::{AccessSummary, EndpointTraffic, MinuteCount, MINUTES, MINUTE_MS};

use super::Evidence;

/// The minutes of the window that count as "now".
pub const RECENT_MINUTES: usize = 15;
/// The OTP start's path.
pub const OTP_START: (&str, &str) = ("POST", "/v1/auth/otp/start");
/// The health check's path.
pub const HEALTH: (&str, &str) = ("GET", "/health");

/// One endpoint's recent requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    pub requests: u64,
    pub errors_5xx: u64,
    pub timeouts: u64,
    pub unavailable: u64,
}

/// The first minute of a window's per-minute series that counts as recent: the last
/// [`RECENT_MINUTES`], and none that began before `since_ms` (a repair's new deployment).
fn first_recent(len: usize, from_ms: i64, since_ms: i64) -> usize {
    let by_age = len.saturating_sub(RECENT_MINUTES);
    let by_since = (since_ms - from_ms).max(0).div_euclid(MINUTE_MS)
        + i64::from((since_ms - from_ms).max(0).rem_euclid(MINUTE_MS) != 0);
    by_age
        .max(usize::try_from(by_since).unwrap_or(usize::MAX))
        .min(len)
}

impl Recent {
    fn of(endpoint: &EndpointTraffic, first: usize) -> Self {
        endpoint.per_minute[first.min(endpoint.per_minute.len())..]
            .iter()
            .fold(Self::default(), |acc, m: &MinuteCount| Self {
                requests: acc.requests + m.requests,
                errors_5xx: acc.errors_5xx + m.errors_5xx,
                timeouts: acc.timeouts + m.timeouts,
                unavailable: acc.unavailable + m.unavailable,
            })
    }
}

/// What the last read of real traffic says about now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signal {
    /// OTP start's recent requests, when the access lines could be read.
    pub otp: Option<Recent>,
    /// `/health`'s recent requests, when the access lines could be read.
    pub health: Option<Recent>,
    /// The load balancer's recent 504s and requests, and its healthy hosts now.
    pub lb_504: Option<u64>,
    /// The load balancer's own 5xx (504 included: no target, or none answered in time).
    pub lb_5xx: Option<u64>,
    pub lb_requests: Option<u64>,
    pub lb_healthy: Option<u64>,
    pub lb_p99_ms: Option<u64>,
}

impl Signal {
    /// The signal of the evidence's last traffic read; `None` before one.
    pub fn of(evidence: &Evidence) -> Option<Self> {
        let traffic = evidence.traffic.as_ref()?;
        // A read cut short lacks the newest minutes: only the load balancer speaks for them.
        let access = traffic.access.as_ref().ok().filter(|a| !a.truncated);
        let first = first_recent(MINUTES, traffic.from_ms, evidence.lines_since_ms);
        let recent = |(method, path): (&str, &str)| {
            access.map(|a: &AccessSummary| {
                a.endpoint(method, path)
                    .map(|e| Recent::of(e, first))
                    .unwrap_or_default()
            })
        };
        let lb = traffic.load_balancer.as_ref().and_then(|r| r.as_ref().ok());
        let lb_recent = |f: fn(&crate::probe::metrics::Minute) -> Option<f64>| {
            lb.map(|lb: &LoadBalancer| {
                lb.minutes[first.min(lb.minutes.len())..]
                    .iter()
                    .filter_map(f)
                    .sum::<f64>()
                    .round() as u64
            })
        };
        Some(Self {
            otp: recent(OTP_START),
            health: recent(HEALTH),
            lb_504: lb_recent(|m| m.elb_504),
            lb_5xx: lb_recent(|m| m.elb_5xx),
            lb_requests: lb_recent(|m| m.requests),
            lb_healthy: lb.and_then(|lb| lb.healthy),
            lb_p99_ms: lb.and_then(|lb| lb.p99_ms),
        })
    }

    /// Users' OTP starts recently got a 504 (from the access lines; from the load balancer's
    /// 504s when the lines could not be read).
    pub fn otp_times_out(&self) -> bool {
        match self.otp {
            Some(otp) => otp.timeouts > 0,
            None => self.lb_504.is_some_and(|n| n > 0),
        }
    }

    /// Users' OTP starts recently failed (5xx), or none reached a backend while the load
    /// balancer answered 5xx itself.
    pub fn otp_fails(&self) -> bool {
        let none_served = self.otp.is_none_or(|o| o.requests == 0);
        self.otp.is_some_and(|o| o.errors_5xx > 0)
            || self.otp_times_out()
            || (none_served && self.lb_5xx.is_some_and(|n| n > 0))
    }

    /// Users' recent OTP starts reached the backend and none failed (from the access lines: the
    /// load balancer's counts do not say which endpoint a request was for).
    pub fn otp_served(&self) -> bool {
        self.otp.is_some_and(|o| o.requests > 0) && !self.otp_fails()
    }

    /// Why [`Signal::otp_served`] does not hold, in a few words for a reason line.
    pub fn why_not_served(&self) -> String {
        match self.otp {
            None => {
                "users' OTP starts could not be counted (the access lines were not read)".into()
            }
            Some(o) if o.requests == 0 => {
                format!("no user's OTP start reached the service in the last {RECENT_MINUTES} min")
            }
            Some(_) => "users' OTP starts are failing".into(),
        }
    }

    /// Most of users' recent OTP starts answered 503: the backend's own timeout.
    pub fn otp_unavailable(&self) -> bool {
        self.otp
            .is_some_and(|o| o.unavailable > 0 && o.unavailable * 2 >= o.requests)
    }

    /// `/health` answered users and the load balancer, and nothing says a host is down.
    pub fn health_fine(&self) -> bool {
        self.health
            .is_some_and(|h| h.requests > 0 && h.errors_5xx == 0)
            && self.lb_healthy.is_none_or(|n| n > 0)
    }

    /// One line for the verdict's evidence, saying where it comes from.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(otp) = self.otp {
            parts.push(format!(
                "OTP start {} request{} in the last {RECENT_MINUTES} min, {} × 504, {} × 5xx",
                otp.requests,
                if otp.requests == 1 { "" } else { "s" },
                otp.timeouts,
                otp.errors_5xx
            ));
        }
        if let Some(h) = self.health {
            parts.push(format!(
                "/health {} request{}, {} × 5xx",
                h.requests,
                if h.requests == 1 { "" } else { "s" },
                h.errors_5xx
            ));
        }
        if let (Some(n504), Some(n5xx), Some(requests)) =
            (self.lb_504, self.lb_5xx, self.lb_requests)
        {
            let mut lb = format!("load balancer {requests} requests, {n504} × ELB 504");
            if n5xx > n504 {
                let _ = write!(lb, ", {} × other ELB 5xx", n5xx - n504);
            }
            if let Some(p99) = self.lb_p99_ms {
                let _ = write!(lb, ", target p99 {:.1} s", p99 as f64 / 1000.0);
            }
            if let Some(h) = self.lb_healthy {
                let _ = write!(lb, ", {h} healthy host{}", if h == 1 { "" } else { "s" });
            }
            parts.push(lb);
        }
        format!("real traffic: {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::traffic::{summarize, RealTraffic, WINDOW_MS};

    fn evidence(lines: &[(i64, &str)]) -> Evidence {
        let from = 0;
        Evidence {
            traffic: Some(Box::new(RealTraffic {
                from_ms: from,
                to_ms: WINDOW_MS,
                access: Ok(summarize(lines.iter().copied(), from, WINDOW_MS)),
                load_balancer: None,
            })),
            ..Evidence::default()
        }
    }

    const OTP_504: &str =
        "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 504 Gateway Timeout";
    const OTP_200: &str = "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK";
    const HEALTH_200: &str = "INFO:     10.0.1.3:1 - \"GET /health HTTP/1.1\" 200 OK";

    #[test]
    fn only_the_recent_minutes_count() {
        let late = WINDOW_MS - 60_000;
        // A 504 50 minutes ago is history; the recent OTP starts went through.
        let e = evidence(&[(600_000, OTP_504), (late, OTP_200), (late, HEALTH_200)]);
        let s = Signal::of(&e).unwrap();
        assert!(!s.otp_times_out());
        assert!(!s.otp_fails());
        assert!(s.health_fine());
        let e = evidence(&[(late, OTP_504), (late, OTP_200), (late, HEALTH_200)]);
        let s = Signal::of(&e).unwrap();
        assert!(s.otp_times_out());
        assert_eq!(s.otp.unwrap().requests, 2);
        assert!(s
            .line()
            .starts_with("real traffic: OTP start 2 requests in the last 15 min, 1 × 504"));
    }

    #[test]
    fn hanging_users_make_the_hanging_modes_candidates_only() {
        let late = WINDOW_MS - 60_000;
        let e = evidence(&[(late, OTP_504), (late, OTP_504), (late, HEALTH_200)]);
        let d = super::super::diagnose(&e, &super::super::Names::default(), WINDOW_MS);
        assert_eq!(
            d.verdict.failure_mode,
            super::super::FailureMode::Inconclusive
        );
        let modes: Vec<_> = d
            .verdict
            .candidates
            .iter()
            .map(|f| f.failure_mode.id())
            .collect();
        // No task definition was read: the provider's wait for a variable still fits.
        assert_eq!(
            modes,
            ["missing_env_vars", "event_loop_blocked", "network_blocked"]
        );
        assert!(d.verdict.candidates.iter().all(|f| f.confidence == 0));
        assert!(d.verdict.candidates[0].evidence[0].starts_with("real traffic:"));
        // Without /health answering, 504s alone are not the hanging modes' shape.
        let e = evidence(&[(late, OTP_504)]);
        let d = super::super::diagnose(&e, &super::super::Names::default(), WINDOW_MS);
        assert!(
            d.verdict.candidates.is_empty(),
            "{:?}",
            d.verdict.candidates
        );
        assert_ne!(d.verdict.failure_mode, super::super::FailureMode::None);
    }

    /// Users' codes reach Twilio in the same minutes their OTP starts hang: the network and
    /// the configuration let the call out, so only the call that holds the server remains,
    /// named (confidence 1). Too few sends for the 504s, or none, leave the three candidates.
    #[test]
    fn codes_reaching_twilio_while_users_hang_name_the_blocked_event_loop() {
        use crate::probe::twilio::delivery::Via;
        use crate::probe::twilio::recent::{RecentSms, SmsOutcome};
        let late = WINDOW_MS - 60_000;
        let with_sends = |n: usize| {
            let mut e = evidence(&[
                (late, OTP_504),
                (late, OTP_504),
                (late, OTP_504),
                (late, OTP_504),
                (late, HEALTH_200),
            ]);
            e.recent_sms = Some(Ok(RecentSms {
                via: Some(Via::VerifyAttempts),
                since_ms: WINDOW_MS - 15 * 60_000,
                sends: (0..n)
                    .map(|i| SmsOutcome {
                        at_ms: late + i as i64,
                        status: "delivered".into(),
                        error_code: None,
                    })
                    .collect(),
                truncated: false,
            }));
            super::super::diagnose(&e, &super::super::Names::default(), WINDOW_MS)
        };
        let modes = |d: &super::super::Diagnosis| -> Vec<&str> {
            d.verdict
                .candidates
                .iter()
                .map(|f| f.failure_mode.id())
                .collect()
        };
        let d = with_sends(4);
        assert_eq!(
            d.verdict.failure_mode,
            super::super::FailureMode::EventLoopBlocked
        );
        assert_eq!(modes(&d), ["event_loop_blocked"]);
        let why = &d.verdict.candidates[0].evidence[0];
        assert!(
            why.contains(
                "yet Twilio's Verify Attempts list 4 of their codes sent in the same minutes"
            ),
            "{why}"
        );
        // Two sends for four hanging requests, or none: the traffic alone cannot tell.
        for n in [0, 2] {
            let d = with_sends(n);
            assert_eq!(
                d.verdict.failure_mode,
                super::super::FailureMode::Inconclusive,
                "{n} sends"
            );
            assert_eq!(
                modes(&d),
                ["missing_env_vars", "event_loop_blocked", "network_blocked"]
            );
        }
    }

    #[test]
    fn minutes_before_a_new_deployment_do_not_count() {
        let late = WINDOW_MS - 5 * 60_000;
        let mut e = evidence(&[(late, OTP_504), (WINDOW_MS - 60_000, OTP_200)]);
        assert!(Signal::of(&e).unwrap().otp_times_out());
        // The repair's deployment began inside the minute of the 504: that minute is set aside.
        e.forget_before(late + 1);
        let s = Signal::of(&e).unwrap();
        assert!(!s.otp_fails(), "{s:?}");
        assert_eq!(s.otp.unwrap().requests, 1);
        assert_eq!(first_recent(60, 0, 0), 45);
        assert_eq!(first_recent(60, 0, 50 * 60_000), 50);
        assert_eq!(first_recent(60, 0, 50 * 60_000 + 1), 51);
        assert_eq!(first_recent(60, 0, 99 * 60_000), 60);
    }

    #[test]
    fn a_read_cut_short_does_not_speak_for_the_recent_minutes() {
        let late = WINDOW_MS - 60_000;
        let mut e = evidence(&[(late, OTP_200), (late, HEALTH_200)]);
        if let Some(Ok(access)) = e.traffic.as_mut().map(|t| &mut t.access) {
            access.truncated = true;
        }
        let s = Signal::of(&e).unwrap();
        assert_eq!((s.otp, s.health), (None, None));
        assert!(!s.health_fine());
    }

    #[test]
    fn no_health_lines_is_not_fine() {
        let late = WINDOW_MS - 60_000;
        let s = Signal::of(&evidence(&[(late, OTP_504)])).unwrap();
        assert!(!s.health_fine());
        assert!(Signal::of(&Evidence::default()).is_none());
    }
}
