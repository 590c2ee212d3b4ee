//! The simulated service's real users and its load balancer's own records: background OTP
//! starts at the scenario's rate (`[traffic] otp_starts_per_minute`) and the load balancer's
//! health checks, from an hour before the simulator started (the world's history is replayed
//! in time order by [`World::advance_to`]) until now.
//!
//! A user's request is answered by the task serving it at that moment, from the causes the
//! backend itself answers from ([`otp_start_outcome`]: the task's resolved environment, its
//! image's behaviour, the network's egress and the Twilio account as the scenario set them up).
//! It does not take the simulated process's event loop: the background users must never change
//! what the console's own probes see, only add what real users saw. Each request leaves what
//! real infrastructure leaves: an access line in the task's log stream with the status the user
//! got (the load balancer's 504 when the task had not answered in 60 s, as a proxy in front of
//! uvicorn logs it), and the load balancer's per-minute CloudWatch datapoints
//! ([`LbMetrics`], read by GetMetricData, [`super::cloudwatch`]). Timestamps are wall-clock;
//! latencies are nominal seconds, as the scenario's story tells them.

use std::collections::{BTreeMap, VecDeque};

use serde::Deserialize;

use super::backend::{self, TaskRuntime};
use super::scenario::TwilioCall;
use super::twilio::{AccountStatus, TwilioError, UserSend};
use super::world::{SplitMix64, World};

/// How far back the simulated users start, before the simulator's start.
pub const HISTORY_MS: i64 = 60 * 60_000;
/// Minutes of metrics kept (bounded memory).
const KEEP_MINUTES: i64 = 180;
/// Response times kept per minute for its percentiles at most.
const MAX_TIMES: usize = 1_000;
/// Requests in flight at most (more are answered at once by the load balancer with 503).
const MAX_PENDING: usize = 10_000;
/// The OTP path.
pub const OTP_START: &str = "/v1/auth/otp/start";

/// How busy the service is (scenario `[traffic]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrafficSetup {
    /// Background users' OTP starts per (wall-clock) minute; 0 turns them off.
    pub otp_starts_per_minute: f64,
    /// Seconds between two health checks of each target by the load balancer (wall clock).
    pub health_check_secs: f64,
}

impl Default for TrafficSetup {
    fn default() -> Self {
        Self {
            otp_starts_per_minute: 3.0,
            health_check_secs: 30.0,
        }
    }
}

/// One minute of the load balancer, as CloudWatch aggregates it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    pub requests: f64,
    pub elb_504: f64,
    pub elb_5xx: f64,
    pub target_5xx: f64,
    /// TargetResponseTime samples, seconds (requests a target answered).
    pub response_times: Vec<f64>,
    /// Host counts seen by this minute's health checks: (min healthy, max unhealthy).
    pub healthy: Option<f64>,
    pub unhealthy: Option<f64>,
}

/// The load balancer's per-minute records, keyed by the minute's start (ms since the epoch).
#[derive(Debug, Default)]
pub struct LbMetrics {
    pub minutes: BTreeMap<i64, Bucket>,
}

impl LbMetrics {
    fn bucket(&mut self, at_ms: i64) -> &mut Bucket {
        let minute = at_ms - at_ms.rem_euclid(60_000);
        let bucket = self.minutes.entry(minute).or_default();
        // The borrow ends before pruning below; pruning happens in `prune`.
        bucket
    }

    fn prune(&mut self, now_ms: i64) {
        let oldest = now_ms - KEEP_MINUTES * 60_000;
        while self
            .minutes
            .first_key_value()
            .is_some_and(|(minute, _)| *minute < oldest)
        {
            self.minutes.pop_first();
        }
    }

    /// One metric's datapoint for the minute, with `stat` (`Sum`, `Average`, `Minimum`,
    /// `Maximum`, `SampleCount`, `pNN`); `None` when the minute has none.
    pub fn value(bucket: &Bucket, metric: &str, stat: &str) -> Option<f64> {
        let count = |v: f64| match stat {
            // The load balancer publishes one datapoint per minute: these are all its value.
            "Sum" | "Maximum" | "Minimum" | "Average" => Some(v),
            _ => None,
        };
        match metric {
            "RequestCount" => count(bucket.requests),
            "HTTPCode_ELB_504_Count" => count(bucket.elb_504),
            "HTTPCode_ELB_5XX_Count" => count(bucket.elb_5xx),
            "HTTPCode_Target_5XX_Count" => count(bucket.target_5xx),
            "HealthyHostCount" => bucket.healthy,
            "UnHealthyHostCount" => bucket.unhealthy,
            "TargetResponseTime" => {
                let times = &bucket.response_times;
                if times.is_empty() {
                    return None;
                }
                match stat {
                    "Average" => Some(times.iter().sum::<f64>() / times.len() as f64),
                    "Minimum" => times.iter().copied().reduce(f64::min),
                    "Maximum" => times.iter().copied().reduce(f64::max),
                    "SampleCount" => Some(times.len() as f64),
                    "Sum" => Some(times.iter().sum()),
                    p => {
                        let q: f64 = p.strip_prefix('p')?.parse().ok()?;
                        let mut sorted = times.clone();
                        sorted.sort_by(f64::total_cmp);
                        let rank = ((q / 100.0 * sorted.len() as f64).ceil() as usize)
                            .clamp(1, sorted.len());
                        Some(sorted[rank - 1])
                    }
                }
            }
            _ => None,
        }
    }
}

/// A request some task is still working on.
#[derive(Debug, Clone)]
struct Pending {
    due_ms: i64,
    task_id: String,
    client: String,
    path: &'static str,
    method: &'static str,
    outcome: Outcome,
    /// The backend's own line about it, written with the answer.
    app_line: Option<String>,
}

/// What a user got: the status and after how long (nominal seconds), and whether the load
/// balancer answered it (its 504) rather than the target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub status: u16,
    pub secs: f64,
    pub by_load_balancer: bool,
}

impl Outcome {
    /// The target's answer after `secs`, unless the load balancer's idle timeout `idle` came
    /// first.
    fn target(status: u16, secs: f64, idle: f64) -> Self {
        if secs >= idle {
            return Self::timed_out(idle);
        }
        Self {
            status,
            secs,
            by_load_balancer: false,
        }
    }

    fn timed_out(idle: f64) -> Self {
        Self {
            status: 504,
            secs: idle,
            by_load_balancer: true,
        }
    }
}

/// The simulated users and the load balancer's records.
#[derive(Debug)]
pub struct Users {
    /// Its own randomness: the users never change what the rest of the world draws.
    rng: SplitMix64,
    next_user_ms: Option<i64>,
    next_check_ms: Option<i64>,
    pending: VecDeque<Pending>,
    pub metrics: LbMetrics,
    /// Users' OTP starts so far: the next one's phone.
    arrived: u64,
}

impl Users {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed ^ 0x05E7_5000),
            next_user_ms: None,
            next_check_ms: None,
            pending: VecDeque::new(),
            metrics: LbMetrics::default(),
            arrived: 0,
        }
    }

    /// A client address as the load balancer's private side shows it.
    fn client(&mut self) -> String {
        format!(
            "10.0.{}.{}:{}",
            1 + self.rng.below(3),
            10 + self.rng.below(200),
            30_000 + self.rng.below(30_000)
        )
    }
}

/// What the Twilio call of an OTP start does, from the task's point of view.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Sent(f64),
    /// Twilio answered with this error: the backend answers 500.
    Refused(TwilioError),
    /// No answer (egress dropped).
    Hangs,
}

/// The backend's own log line about a user's OTP start, and when it writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum AppLine {
    /// As the request arrives (the provider waiting for variables it lacks).
    Now(String),
    /// With the answer (sent, refused, timed out, the stub's).
    AtAnswer(String),
}

/// What a user's OTP start served by one task gets, from the same causes the backend answers
/// from.
#[derive(Debug, Clone, PartialEq)]
pub struct UserStart {
    pub outcome: Outcome,
    /// When (nominal seconds after the request) the backend's Twilio call sent the user's code:
    /// `None` when nothing was sent (the stub, a provider never built, a refused or hung call).
    /// The code goes out whatever the load balancer answered meanwhile: a stalled event loop
    /// still sends, late.
    pub code_sent_after: Option<f64>,
    /// The line the backend writes about it, as it writes it for the console's own requests
    /// (`None` where it comes after the load balancer gave up on the request: a call held on
    /// a blocked event loop).
    pub line: Option<AppLine>,
}

/// What an OTP start to `phone` served by `runtime` gets, from the same causes the backend
/// answers from, and the line the backend writes about it.
pub fn otp_start_outcome(world: &World, runtime: &TaskRuntime, phone: &str) -> UserStart {
    let tail = backend::last4(phone);
    let idle = world.scenario.deployment.lb_idle_timeout_secs;
    if runtime.var("OTP_PROVIDER") == Some("stub") {
        return UserStart {
            outcome: Outcome::target(200, 0.05, idle),
            code_sent_after: None,
            line: Some(AppLine::AtAnswer(backend::stub_line(tail))),
        };
    }
    let missing = runtime.missing_twilio();
    if !missing.is_empty() {
        // The provider is never built: the request waits until the load balancer gives up.
        return UserStart {
            outcome: Outcome::timed_out(idle),
            code_sent_after: None,
            line: Some(AppLine::Now(backend::not_configured_line(&missing, tail))),
        };
    }
    let on_loop = runtime
        .behaviour()
        .is_some_and(|b| b.twilio_call == TwilioCall::EventLoop);
    let call = match twilio_call(world, runtime) {
        // Off the event loop the call has TWILIO_TIMEOUT_SECONDS: a Twilio slower than that is
        // given up on, as the backend's own `within` gives up on it (503, nothing sent).
        Call::Sent(secs) if secs > runtime.timeout_secs() && !on_loop => Call::Hangs,
        call => call,
    };
    let stall = runtime
        .behaviour()
        .filter(|_| on_loop)
        .map(|b| b.event_loop_stall_seconds);
    let code_sent_after = match &call {
        Call::Sent(secs) => Some(stall.unwrap_or(0.0) + secs),
        Call::Refused(_) | Call::Hangs => None,
    };
    let status = if runtime.var("OTP_PROVIDER") == Some("twilio_sms") {
        "queued"
    } else {
        "pending"
    };
    let (outcome, line) = match (stall, call) {
        (Some(stall), Call::Sent(secs)) => {
            let outcome = Outcome::target(200, stall + secs, idle);
            let line = (!outcome.by_load_balancer).then(|| backend::sent_line(tail, status));
            (outcome, line)
        }
        (Some(stall), Call::Refused(e)) => (
            Outcome::target(500, stall + 0.3, idle),
            Some(refused(&e, tail)),
        ),
        (Some(_), Call::Hangs) => (Outcome::timed_out(idle), None),
        (None, Call::Sent(secs)) => (
            Outcome::target(200, secs, idle),
            Some(backend::sent_line(tail, status)),
        ),
        (None, Call::Refused(e)) => (Outcome::target(500, 0.3, idle), Some(refused(&e, tail))),
        (None, Call::Hangs) => (
            Outcome::target(503, runtime.timeout_secs(), idle),
            Some(backend::timeout_line(runtime.timeout_secs(), tail)),
        ),
    };
    UserStart {
        outcome,
        code_sent_after,
        line: line.map(AppLine::AtAnswer),
    }
}

fn refused(e: &TwilioError, tail: &str) -> String {
    backend::twilio_error_line(u64::from(e.code), &e.message, e.status.as_u16(), tail)
}

/// The backend's Twilio call as the simulated Twilio answers it: its checks in its order
/// (credentials, account status, then the Verify service or the SMS sender).
fn twilio_call(world: &World, runtime: &TaskRuntime) -> Call {
    let twilio = &world.scenario.twilio;
    // The VPC as it stands (a revoked rule, a lost route), as the backend's own calls meet it.
    if !world.twilio_reachable() {
        return Call::Hangs;
    }
    let var = |name: &str| runtime.var(name).unwrap_or_default();
    if var("TWILIO_ACCOUNT_SID") != twilio.account_sid
        || var("TWILIO_AUTH_TOKEN") != twilio.auth_token
    {
        return Call::Refused(TwilioError::authenticate());
    }
    if twilio.status != AccountStatus::Active {
        return Call::Refused(TwilioError::account_not_active());
    }
    if runtime.var("OTP_PROVIDER") == Some("twilio_sms") {
        let from = var("OTP_FROM_NUMBER");
        let sms_capable = |number: &str| {
            twilio
                .phone_numbers
                .iter()
                .any(|n| n.phone_number == number && n.sms)
        };
        if from.starts_with("MG") {
            let Some(service) = twilio.messaging_services.iter().find(|m| m.sid == from) else {
                return Call::Refused(TwilioError::messaging(
                    21701,
                    format!("The Messaging Service Sid {from} is invalid."),
                ));
            };
            if !service.senders.iter().any(|n| sms_capable(n)) {
                return Call::Refused(TwilioError::messaging(
                    21704,
                    "The Messaging Service contains no phone numbers",
                ));
            }
        } else if !super::twilio::ids::is_e164(from) {
            return Call::Refused(TwilioError::messaging(
                21212,
                format!("Invalid 'From' Phone Number: {from}"),
            ));
        } else if !sms_capable(from) {
            return Call::Refused(TwilioError::from_not_owned(from));
        }
    } else {
        let sid = var("TWILIO_VERIFY_SERVICE_SID");
        if !twilio.services.iter().any(|s| s.sid == sid) {
            return Call::Refused(TwilioError::not_found(&format!(
                "/Services/{sid}/Verifications"
            )));
        }
    }
    Call::Sent(0.3 + twilio.latency_secs)
}

/// The `n`th user's phone (not from the users' generator, whose draws time the arrivals): US
/// fiction numbers, 555-0100 to 555-0199, visited with a stride of 37 so any run of users
/// spreads evenly over them (a carrier serving a block of them gets its share of every window).
fn user_phone(n: u64) -> String {
    format!("+1832555{:04}", 100 + (n * 37) % 100)
}

impl World {
    /// Serves the background users and the health checks due by `until`, in time order.
    pub fn serve_users(&mut self, until: i64) {
        let setup = self.scenario.traffic.clone();
        self.users
            .next_user_ms
            .get_or_insert(self.started_ms - HISTORY_MS);
        self.users
            .next_check_ms
            .get_or_insert(self.started_ms - HISTORY_MS);
        loop {
            let user = self
                .users
                .next_user_ms
                .filter(|_| setup.otp_starts_per_minute > 0.0);
            let check = self
                .users
                .next_check_ms
                .filter(|_| setup.health_check_secs > 0.0);
            let done = self.users.pending.iter().map(|p| p.due_ms).min();
            let Some(next) = [user, check, done].into_iter().flatten().min() else {
                return;
            };
            if next > until {
                return;
            }
            if done == Some(next) {
                self.complete(next);
            } else if check == Some(next) {
                self.health_check(next);
                self.users.next_check_ms = Some(next + (setup.health_check_secs * 1000.0) as i64);
            } else {
                self.user_arrives(next);
                let mean = 60_000.0 / setup.otp_starts_per_minute;
                // Spread around the mean: between half and one and a half of it.
                let jitter = self.users.rng.below(1_000) as f64 / 1_000.0 + 0.5;
                self.users.next_user_ms = Some(next + (mean * jitter).max(1.0) as i64);
            }
            self.users.metrics.prune(next);
        }
    }

    /// The tasks the load balancer routes to at `at`: running, healthy, started by then.
    fn serving(&self, at: i64) -> Vec<(String, std::sync::Arc<TaskRuntime>)> {
        self.tasks
            .iter()
            .filter(|t| t.last_status == "RUNNING" && t.health == "HEALTHY")
            .filter(|t| t.started_ms.is_some_and(|s| s <= at))
            .filter_map(|t| Some((t.id.clone(), t.runtime.clone()?)))
            .collect()
    }

    fn user_arrives(&mut self, at: i64) {
        let serving = self.serving(at);
        if serving.is_empty() || self.users.pending.len() >= MAX_PENDING {
            let bucket = self.users.metrics.bucket(at);
            bucket.requests += 1.0;
            bucket.elb_5xx += 1.0;
            return;
        }
        let pick = self.users.rng.below(serving.len() as u64) as usize;
        let (task_id, runtime) = serving[pick].clone();
        self.users.arrived += 1;
        let phone = user_phone(self.users.arrived);
        let start = otp_start_outcome(self, &runtime, &phone);
        if let Some(after) = start.code_sent_after {
            let sent_at = at + self.clock.secs(after).as_millis() as i64;
            self.user_code_sent(&runtime, &phone, sent_at);
        }
        let app_line = match start.line {
            Some(AppLine::Now(line)) => {
                self.log_lines(&task_id, at, &[line]);
                None
            }
            Some(AppLine::AtAnswer(line)) => Some(line),
            None => None,
        };
        let client = self.users.client();
        let outcome = start.outcome;
        let due_ms = at + self.clock.secs(outcome.secs).as_millis() as i64;
        self.users.pending.push_back(Pending {
            due_ms,
            task_id,
            client,
            path: OTP_START,
            method: "POST",
            outcome,
            app_line,
        });
    }

    /// A user's OTP start whose Twilio call went out sent a code (unless the provider is the
    /// stub), whether or not its answer reached the user in time: the account lists it, to a
    /// phone of the user's own.
    fn user_code_sent(&self, runtime: &TaskRuntime, phone: &str, at: i64) {
        let Some(twilio) = &self.twilio else {
            return;
        };
        let send = match runtime.var("OTP_PROVIDER") {
            Some("twilio_sms") => UserSend::Sms {
                from: runtime
                    .var("OTP_FROM_NUMBER")
                    .unwrap_or_default()
                    .to_owned(),
            },
            Some("stub") => return,
            _ => UserSend::Verify {
                service_sid: runtime
                    .var("TWILIO_VERIFY_SERVICE_SID")
                    .unwrap_or_default()
                    .to_owned(),
            },
        };
        twilio.record_user_send(&send, phone, at);
    }

    /// Records one request the load balancer answered (the console's own, or any client's
    /// through the API listener): its status, after `secs` nominal seconds, and whether the
    /// load balancer answered it itself (no target, or none in time).
    pub fn lb_record(&mut self, at: i64, status: u16, secs: f64, by_load_balancer: bool) {
        let bucket = self.users.metrics.bucket(at);
        bucket.requests += 1.0;
        if by_load_balancer {
            bucket.elb_5xx += f64::from(u8::from(status >= 500));
            bucket.elb_504 += f64::from(u8::from(status == 504));
            return;
        }
        if status >= 500 {
            bucket.target_5xx += 1.0;
        }
        if bucket.response_times.len() < MAX_TIMES {
            bucket.response_times.push(secs);
        }
    }

    fn complete(&mut self, at: i64) {
        let Some(index) = self.users.pending.iter().position(|p| p.due_ms == at) else {
            return;
        };
        let Some(done) = self.users.pending.remove(index) else {
            return;
        };
        let line = backend::access_line(&done.client, done.method, done.path, done.outcome.status);
        // The app's line comes before uvicorn's access line, as the handler returns first.
        let lines: Vec<String> = done.app_line.into_iter().chain([line]).collect();
        self.log_lines(&done.task_id, at, &lines);
        let bucket = self.users.metrics.bucket(at);
        bucket.requests += 1.0;
        let status = done.outcome.status;
        if done.outcome.by_load_balancer {
            bucket.elb_5xx += 1.0;
            if status == 504 {
                bucket.elb_504 += 1.0;
            }
        } else {
            if status >= 500 {
                bucket.target_5xx += 1.0;
            }
            if bucket.response_times.len() < MAX_TIMES {
                bucket.response_times.push(done.outcome.secs);
            }
        }
    }

    /// The load balancer checks every registered target's `/health`; the host counts of the
    /// minute are what it found.
    fn health_check(&mut self, at: i64) {
        let running: Vec<(String, bool)> = self
            .tasks
            .iter()
            .filter(|t| t.last_status == "RUNNING")
            .filter(|t| t.started_ms.is_some_and(|s| s <= at))
            .map(|t| (t.id.clone(), t.health == "HEALTHY"))
            .collect();
        let healthy = running.iter().filter(|(_, h)| *h).count() as f64;
        let unhealthy = running.len() as f64 - healthy;
        for (task_id, is_healthy) in &running {
            if *is_healthy {
                let client = self.users.client();
                let line = backend::access_line(&client, "GET", "/health", 200);
                self.log_lines(task_id, at, &[line]);
            }
        }
        let bucket = self.users.metrics.bucket(at);
        bucket.healthy = Some(bucket.healthy.map_or(healthy, |h: f64| h.min(healthy)));
        bucket.unhealthy = Some(
            bucket
                .unhealthy
                .map_or(unhealthy, |u: f64| u.max(unhealthy)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_sums_per_minute() {
        let bucket = Bucket {
            requests: 4.0,
            elb_504: 3.0,
            response_times: vec![0.1, 0.2, 0.3, 59.0],
            ..Bucket::default()
        };
        assert_eq!(LbMetrics::value(&bucket, "RequestCount", "Sum"), Some(4.0));
        assert_eq!(
            LbMetrics::value(&bucket, "HTTPCode_ELB_504_Count", "Sum"),
            Some(3.0)
        );
        assert_eq!(
            LbMetrics::value(&bucket, "TargetResponseTime", "p50"),
            Some(0.2)
        );
        assert_eq!(
            LbMetrics::value(&bucket, "TargetResponseTime", "p99"),
            Some(59.0)
        );
        assert_eq!(
            LbMetrics::value(&bucket, "HealthyHostCount", "Minimum"),
            None
        );
        assert_eq!(LbMetrics::value(&bucket, "Nope", "Sum"), None);
    }
}
