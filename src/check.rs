//! `otp-console check` as a library: the probes and the diagnosis without a screen, the
//! replacement for the runbook's `check_twilio_config.py`. [`check`] runs one round of the
//! [`Engine`] at once; observations feed the same [`Evidence`] the console uses, and it
//! returns as soon as the evidence is conclusive (a request still outstanding then is reported
//! with its age). [`render_table`] and [`report_json`] are its two output forms (the JSON has a
//! stable schema, below). The command line around it, with its exit statuses (0 `none`, 1 a
//! failure mode, 2 could not run, 3 `inconclusive`) and `--report FILE` (the incident report,
//! its timeline replayed from [`Report::observations`]), is the `cmd` module's.
//!
//! JSON schema (version 1), top level:
//! - `schema_version`: 1
//! - `verdict.failure_mode`: the `id` of a rule in `src/diagnosis/rules/` (one file per failure
//!   mode; the README's table of failure modes lists them, a test keeps it so), or
//!   `inconclusive` (something failed or could not be seen and no mode fits), `none` (only with
//!   positive evidence: `/health` 2xx and an OTP start that sent, or every provable line passing
//!   and real users' recent OTP starts answered with none failing)
//! - `verdict.candidates[]`: `{failure_mode, title, confidence, evidence[], repair, commands[]}`
//! - `verdict.risks[]`: the same shape, for true problems that cannot explain what fails now
//!   (a secret unreadable while every task runs: they read it when they started; the next
//!   deployment will stop on it). A risk is never the verdict and never sets the exit status.
//! - `checklist[]`: `{item, label, state (pass|fail|unknown|running), evidence}`
//! - `observations.timeouts`: the timeout budget, `{load_balancer_idle_s, load_balancer_error,
//!   twilio_timeout_s, twilio_timeout_set, first (backend | load_balancer | unknown),
//!   user_sees}`, `null` until the task definition is read; `first` = `load_balancer` is the
//!   risk `timeout_order`
//! - `traces[]`: one per OTP start the check sent, `{phone_last4, started_ms, hops[] {kind
//!   (request | health | log | twilio | verify), at_ms, duration_ms, state (ok | fail | pending
//!   | missing), text}}` in time order, missing hops last with why
//! - `unknown[]`: what could not be determined, one line each
//! - `outstanding[]`: `{endpoint, age_ms}` requests still waiting when the verdict was given
//! - `recording`: `{schema (1), at_ms, lines_since_ms, names, observations[] {at_ms,
//!   observation}}`, what `check --replay` diagnoses again ([`replay`])
//! - `observations`: `{http[], ecs, logs: {counts, recent[]}, twilio: {credentials, account,
//!   service, status_page, sends[], sender (the `twilio_sms` From number: `from`, `owned`,
//!   `sms_capable`), deliveries[] (`via`, `sid`, `to`, `status`, `error_code`, `meaning`,
//!   `is_final`, `after_ms`), alerts (Twilio Monitor's over the changes window, with
//!   `--check-aws`: `by_code` {code: count}, `recent[]` `{at_ms, error_code, log_level, text}`,
//!   phone numbers and tokens masked)}}`; `ecs.secrets[]` is the deployed container's `secrets`,
//!   resolved: `{name, value_from, store, source, arn, state (ok | scheduled_for_deletion |
//!   not_found | no_access | kms_denied | json_key_missing | error), fingerprint,
//!   last_changed_ms, deleted_ms, version, detail}`, never a value
//! - `changes[]` (what changed over the window, `[changes] since` / `--since`, default 48 h;
//!   with `--check-aws`), newest first: `{at_ms, age, origin (cloudtrail | twilio_monitor),
//!   service (ecs | secretsmanager | ssm | ec2 | iam | twilio), action (the API call or Twilio's
//!   event type), resource, who (principal ARN or Twilio actor), user_agent, summary,
//!   parameters (the request's, values masked), id, related (may explain the verdict)}`;
//!   `changes_sources.{cloudtrail, twilio_monitor}`: `{since_ms, changes, alerts, truncated}`
//!   or `{error}` (e.g. not allowed to call LookupEvents), `null` when not read
//! - `elapsed_ms`, `target` (`demo:<scenario>` or the API base URL)

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::config::{Config, TwilioCredentials as CredentialsFrom};
use crate::diagnosis::{self, Diagnosis, Evidence, FailureMode, Names, State};
use crate::engine::{self, Engine, Round};
use crate::probe::http::Endpoint;
use crate::probe::twilio::Fact;
use crate::probe::{self, Observation};

/// How `check` was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub check_aws: bool,
    pub test_phone: Option<String>,
    /// Longest the whole check may take.
    pub deadline: Duration,
    /// Static AWS credentials (the demo's); `None` uses the SDK's normal chain.
    pub aws_credentials: Option<(String, String)>,
    /// Read logs from this time (ms since the epoch) instead of 30 minutes back: after a
    /// repair, only what the new tasks wrote counts.
    pub logs_since_ms: Option<i64>,
    /// Wait for the test OTP start's whole story before concluding (its answer, the
    /// `/health` probes beside it, its log lines, Twilio's record): its trace is then whole.
    /// Without it a verdict the evidence already supports concludes at once.
    pub trace: bool,
}

/// What `check` found.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: String,
    pub diagnosis: Diagnosis,
    pub evidence: Evidence,
    pub outstanding: Vec<(Endpoint, u64)>,
    pub elapsed: Duration,
    /// Every observation in the order it arrived, with when (ms since the epoch): the
    /// incident report's timeline is replayed from them.
    pub observations: Vec<(i64, Observation)>,
    /// When the verdict was given (ms since the epoch): the diagnosis of `evidence` as of then.
    pub at_ms: i64,
    /// The names the commands use.
    pub names: Names,
}

pub mod replay;

/// A check that cannot run: exit status 2 and one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CannotRun(pub String);

/// A probe's first answer, which `check` waits for before it may conclude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Milestone {
    Ecs,
    /// The network path to Twilio, read from EC2 (with `--check-aws`).
    Network,
    TwilioAccount,
    TwilioService,
    StatusPage,
    Logs,
    /// Real traffic read (access lines and the load balancer).
    Traffic,
    Health,
    Otp,
    /// The OTP's delivery reached a final state, or cannot be followed.
    Delivery,
    /// CloudTrail's changes over the window were read, or could not be.
    Changes,
    /// Twilio's Monitor was read, or could not be.
    Monitor,
}

/// The milestones reached so far.
type Progress = std::collections::BTreeSet<Milestone>;

/// Probes everything once (following logs and watching health while an OTP start is in
/// flight) and diagnoses, returning as soon as the evidence is conclusive.
pub async fn check(config: &Config, target: &str, options: &Options) -> Result<Report, CannotRun> {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel::<Observation>();
    let sdk = aws_sdk_config(config, options).await;
    // The log group the container writes to, when the config names none (logs are read with
    // --check-aws only).
    let mut resolved = config.clone();
    if options.check_aws || config.aws.platform == crate::config::Platform::AppRunner {
        engine::resolve_log_group(&mut resolved, &sdk).await;
    }
    let config = &resolved;
    let engine = Engine::new(config.clone(), sdk, tx).map_err(|e| CannotRun(e.message))?;
    let wants_ecs =
        options.check_aws || config.twilio.credentials == CredentialsFrom::TaskDefinition;
    let mut tasks = tokio::task::JoinSet::new();
    engine.spawn_round(
        &mut tasks,
        &Round {
            check_aws: options.check_aws,
            test_phone: options.test_phone.clone(),
            logs_since_ms: options.logs_since_ms,
        },
    );
    // The engine's own sender goes with it: the channel closes when every task is done.
    drop(engine);

    let names = Names::from_config(config);
    // After a repair, only what the new deployment served counts (real traffic too).
    let mut evidence = Evidence::default();
    evidence.lines_since_ms = options.logs_since_ms.unwrap_or_default();
    let mut observations = Vec::new();
    let mut progress = Progress::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // When the test OTP start answered: its own log lines are still being ingested then.
    let mut otp_answered: Option<Instant> = None;
    let (diagnosis, at_ms) = loop {
        tokio::select! {
            observation = rx.recv() => {
                let Some(observation) = observation else {
                    let now = now_ms();
                    break (diagnosis::diagnose(&evidence, &names, now), now);
                };
                if matches!(&observation, Observation::Http(s) if s.endpoint == Endpoint::OtpStart) {
                    otp_answered.get_or_insert_with(Instant::now);
                }
                note_progress(&mut progress, &observation, &evidence);
                observations.push((now_ms(), observation.clone()));
                evidence.record(observation);
            },
            _ = tick.tick() => {}
        }
        let now = now_ms();
        let diagnosis = diagnosis::diagnose(&evidence, &names, now);
        let settled = Settled {
            progress: &progress,
            options,
            wants_ecs,
            otp_answered,
        };
        if settled.may_conclude(&diagnosis, &evidence) || started.elapsed() >= options.deadline {
            break (diagnosis, now);
        }
    };
    tasks.abort_all();
    let outstanding = replay::outstanding(&evidence, at_ms);
    Ok(Report {
        target: target.to_owned(),
        diagnosis,
        evidence,
        outstanding,
        elapsed: started.elapsed(),
        observations,
        at_ms,
        names,
    })
}

/// What `check` has seen so far that decides whether it may conclude.
struct Settled<'a> {
    progress: &'a Progress,
    options: &'a Options,
    wants_ecs: bool,
    /// When the test OTP start answered.
    otp_answered: Option<Instant>,
}

impl Settled<'_> {
    /// Whether `diagnosis` of `evidence` is conclusive: every first read answered, and the test
    /// OTP start settled (answered and followed, or a named cause that explains what was seen).
    fn may_conclude(&self, diagnosis: &Diagnosis, evidence: &Evidence) -> bool {
        let reached = |m: Milestone| self.progress.contains(&m);
        // A /health that hangs is named within seconds (the verdict says so); the check does
        // not wait for the probe's own timeout to conclude.
        let api_named = diagnosis.verdict.failure_mode == FailureMode::ApiUnreachable;
        let initial = (reached(Milestone::Health) || api_named)
            && reached(Milestone::StatusPage)
            && reached(Milestone::TwilioAccount)
            && reached(Milestone::TwilioService)
            && (!self.wants_ecs || reached(Milestone::Ecs))
            && (!self.options.check_aws || reached(Milestone::Logs))
            && (!self.options.check_aws
                || (reached(Milestone::Changes)
                    && reached(Milestone::Monitor)
                    && reached(Milestone::Network)
                    && reached(Milestone::Traffic)));
        // An OTP start that sent is followed to the phone: the verdict waits for the SMS's
        // final state (delivered, or the carrier's error), within the follow's own timeout.
        let otp_sent = evidence
            .samples
            .iter()
            .rev()
            .find(|s| s.endpoint == Endpoint::OtpStart)
            .is_some_and(|s| s.class.is_ok());
        // A failure concludes at once, unless the test SMS is still on its way: its own end
        // (delivered or the carrier's code) is the most direct evidence there is, and is
        // bounded by the follow's timeout.
        let following_send = otp_sent && !reached(Milestone::Delivery);
        // A health probe still in flight after the OTP start answered may be the stall that
        // names a blocked event loop (the load balancer gives up on the OTP start before the
        // loop frees): without a verdict yet, its answer is waited for (bounded by its own
        // timeout and the deadline), not concluded without.
        let health_in_flight = evidence
            .outstanding
            .values()
            .any(|(endpoint, _)| *endpoint == Endpoint::Health);
        // An OTP start that failed with no failure mode named yet: the backend's line saying
        // why (a Twilio error code, a timeout) is what names it, and it reaches the log group
        // a moment after the answer. The follower polls fast for that long; wait for it.
        let awaiting_lines = self.options.check_aws
            && self
                .otp_answered
                .is_some_and(|at| at.elapsed() < engine::OTP_LINES_GRACE)
            && !otp_sent;
        // While its own OTP start has not answered, a named cause concludes only if it explains
        // a failure already seen (tasks that do not start, users' 504s, an OTP start hanging
        // past the hang threshold): a true finding that explains nothing seen yet may be
        // contradicted by the answer.
        let explains_seen = diagnosis
            .verdict
            .candidates
            .iter()
            .find(|f| f.failure_mode == diagnosis.verdict.failure_mode)
            .is_some_and(|f| !f.explains.is_empty());
        let named = diagnosis.verdict.failure_mode.is_failure()
            && (reached(Milestone::Otp) || explains_seen);
        let otp_settled = self.options.test_phone.is_none()
            || (!following_send
                && (named || (reached(Milestone::Otp) && !health_in_flight && !awaiting_lines)));
        initial
            && otp_settled
            && self.traced(
                evidence,
                reached(Milestone::Otp),
                reached(Milestone::Delivery),
                health_in_flight,
            )
    }

    /// With `--trace`, whether the test OTP start's story is whole: it answered, the `/health`
    /// probes beside it did, its lines had time to arrive, and Twilio's record (after an
    /// answer that may have sent) reached its end or could not be read.
    fn traced(
        &self,
        evidence: &Evidence,
        answered: bool,
        delivered: bool,
        health_in_flight: bool,
    ) -> bool {
        if !self.options.trace || self.options.test_phone.is_none() {
            return true;
        }
        let may_have_sent = evidence
            .samples
            .iter()
            .rev()
            .find(|s| s.endpoint == Endpoint::OtpStart)
            .is_some_and(|s| s.class.is_ok() || s.class == probe::http::Class::GatewayTimeout);
        let lines_in = !self.options.check_aws
            || self
                .otp_answered
                .is_some_and(|at| at.elapsed() >= engine::OTP_LINES_GRACE);
        answered && !health_in_flight && lines_in && (!may_have_sent || delivered)
    }
}

/// Notes the milestone `observation` reaches, with `evidence` as it was before it: a `/health`
/// that could not connect reaches it only once confirmed by the one before (the engine sends a
/// second at once), so that `check` does not conclude on one failed sample.
fn note_progress(progress: &mut Progress, observation: &Observation, evidence: &Evidence) {
    let confirmed = |s: &probe::http::Sample| {
        !s.class.is_connection_failure()
            || evidence
                .samples
                .iter()
                .rev()
                .find(|p| p.endpoint == Endpoint::Health && !p.during_otp)
                .is_some_and(|p| p.class.is_connection_failure())
    };
    let milestone = match observation {
        Observation::Http(s) => match s.endpoint {
            Endpoint::Health if !s.during_otp && confirmed(s) => Some(Milestone::Health),
            Endpoint::OtpStart => Some(Milestone::Otp),
            _ => None,
        },
        Observation::Ecs { .. } => Some(Milestone::Ecs),
        Observation::Logs { .. } => Some(Milestone::Logs),
        Observation::Traffic { .. } => Some(Milestone::Traffic),
        Observation::Twilio { fact, .. } => match fact {
            Fact::Account(_) => Some(Milestone::TwilioAccount),
            Fact::Service(_) => Some(Milestone::TwilioService),
            Fact::StatusPage(_) => Some(Milestone::StatusPage),
            Fact::Delivery(Err(_)) => Some(Milestone::Delivery),
            Fact::Delivery(Ok(step)) if step.is_final => Some(Milestone::Delivery),
            _ => None,
        },
        Observation::Changes { origin, .. } => match origin {
            probe::changes::Origin::Cloudtrail => Some(Milestone::Changes),
            probe::changes::Origin::TwilioMonitor => Some(Milestone::Monitor),
        },
        Observation::Network { .. } => Some(Milestone::Network),
        Observation::HttpStarted { .. } => None,
    };
    progress.extend(milestone);
}

async fn aws_sdk_config(config: &Config, options: &Options) -> aws_config::SdkConfig {
    match &options.aws_credentials {
        Some((key, secret)) => engine::static_sdk_config(config, key, secret).await,
        None => probe::aws::sdk_config(&config.aws).await,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The stable JSON form of a report.
pub fn report_json(report: &Report) -> Value {
    let e = &report.evidence;
    let recent: Vec<&probe::logs::Event> = e.events.iter().rev().take(50).rev().collect();
    json!({
        "schema_version": 1,
        "target": report.target,
        "context": report.names.context,
        "elapsed_ms": report.elapsed.as_millis() as u64,
        "verdict": report.diagnosis.verdict,
        "checklist": report.diagnosis.checklist,
        "unknown": report.diagnosis.unknown,
        "outstanding": report.outstanding.iter().map(|(endpoint, age)| json!({ "endpoint": endpoint, "age_ms": age })).collect::<Vec<_>>(),
        "changes": changes_json(report),
        "traces": crate::diagnosis::trace::of(e, report.at_ms),
        "recording": replay::recording(report),
        "changes_sources": {
            "cloudtrail": changes_source(e.cloudtrail.as_ref()),
            "twilio_monitor": changes_source(e.monitor.as_ref()),
        },
        "observations": {
            "http": e.samples,
            "ecs": match &e.ecs {
                Some(Ok(s)) => to_value(s),
                Some(Err(err)) => json!({ "error": err }),
                None => Value::Null,
            },
            "network": match &e.network {
                Some(Ok(path)) => to_value(path),
                Some(Err(err)) => json!({ "error": err }),
                None => Value::Null,
            },
            "logs": {
                "counts": e.line_counts,
                "recent": recent,
                "error": e.logs_error,
                "follow": follow_json(e.logs_follow.as_ref()),
            },
            "traffic": e.traffic,
            "timeouts": report.diagnosis.timeouts,
            "twilio": {
                "credentials": e.credentials,
                "account": result_json(e.account.as_ref()),
                "service": result_json(e.service.as_ref()),
                "status_page": result_json(e.status_page.as_ref()),
                "sends": e.sends.iter().map(|r| result_json(Some(r))).collect::<Vec<_>>(),
                "sender": result_json(e.sender.as_ref()),
                "deliveries": e.deliveries.iter().map(|r| result_json(Some(r))).collect::<Vec<_>>(),
                "alerts": alerts_json(e),
            },
        },
    })
}

/// How the logs were followed: the mode (`live_tail` with `sampled`, or `polling` with `why`)
/// and its one line; `null` when no report of the logs came in.
pub fn follow_json(follow: Option<&probe::logs::FollowMode>) -> Value {
    follow.map_or(Value::Null, |mode| {
        let mut value = to_value(mode);
        value["line"] = json!(mode.line());
        value
    })
}

/// Every change read, newest first, each marked when it may explain the verdict.
fn changes_json(report: &Report) -> Vec<Value> {
    let mode = report.diagnosis.verdict.failure_mode;
    let snapshot = report.evidence.snapshot();
    let now = now_ms();
    diagnosis::changes::all(&report.evidence)
        .into_iter()
        .map(|c| {
            let mut v = to_value(c);
            v["age"] = json!(probe::changes::age(now, c.at_ms));
            v["related"] = json!(diagnosis::changes::related(c, mode, snapshot));
            v
        })
        .collect()
}

/// Twilio's alerts over the window: counts by error code, and the newest 20.
fn alerts_json(e: &Evidence) -> Value {
    let Some(Ok(monitor)) = &e.monitor else {
        return Value::Null;
    };
    let mut by_code = std::collections::BTreeMap::<&str, usize>::new();
    for a in &monitor.alerts {
        *by_code.entry(a.error_code.as_str()).or_default() += 1;
    }
    json!({
        "by_code": by_code,
        "recent": monitor.alerts.iter().take(20).collect::<Vec<_>>(),
    })
}

/// Whether an origin of changes was read: its window and count, or its error.
fn changes_source(result: Option<&Result<probe::changes::Changes, probe::ProbeError>>) -> Value {
    match result {
        Some(Ok(c)) => json!({
            "since_ms": c.since_ms,
            "changes": c.changes.len(),
            "alerts": c.alerts.len(),
            "truncated": c.truncated,
        }),
        Some(Err(e)) => json!({ "error": e }),
        None => Value::Null,
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn result_json<T: Serialize>(result: Option<&Result<T, probe::ProbeError>>) -> Value {
    match result {
        Some(Ok(v)) => to_value(v),
        Some(Err(e)) => json!({ "error": e }),
        None => Value::Null,
    }
}

/// Changes the table shows besides those that may explain the verdict.
const SHOWN: usize = 15;

/// What changed over the window, newest first; `*` marks what may explain the verdict.
fn render_changes(out: &mut String, report: &Report) {
    use std::fmt::Write as _;
    let e = &report.evidence;
    if e.cloudtrail.is_none() && e.monitor.is_none() {
        return;
    }
    let _ = writeln!(out, "\nCHANGES");
    for (name, result) in [
        ("CloudTrail", &e.cloudtrail),
        ("Twilio Monitor", &e.monitor),
    ] {
        if let Some(Err(err)) = result {
            let _ = writeln!(out, "  {name}: {}", err.message);
        }
    }
    let mode = report.diagnosis.verdict.failure_mode;
    let snapshot = e.snapshot();
    let now = now_ms();
    let all = diagnosis::changes::all(e);
    if all.is_empty()
        && (e.cloudtrail.as_ref().is_some_and(Result::is_ok)
            || e.monitor.as_ref().is_some_and(Result::is_ok))
    {
        let _ = writeln!(
            out,
            "  nothing changed on the service's resources in the window"
        );
    }
    // A busy account's window can hold hundreds: the related ones always, then the newest.
    let related = |c: &probe::changes::Change| diagnosis::changes::related(c, mode, snapshot);
    let total = all.len();
    let mut others = 0;
    let all: Vec<_> = all
        .into_iter()
        .filter(|c| {
            let keep = related(c) || others < SHOWN;
            if !related(c) {
                others += 1;
            }
            keep
        })
        .collect();
    let hidden = total - all.len();
    for c in all {
        let mark = if related(c) { '*' } else { ' ' };
        let _ = writeln!(
            out,
            "  {mark} {:>7} ago  {}  {}",
            probe::changes::age(now, c.at_ms),
            c.summary,
            c.who
        );
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  … {hidden} older changes (check --json lists them all)"
        );
    }
}

/// What real users got, apart from the console's own probes.
fn traffic_table(out: &mut String, traffic: &probe::traffic::RealTraffic) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "\nREAL TRAFFIC  last {} min, from the backend's access lines and the load balancer (everyone's requests, these probes' few included)",
        traffic.minutes()
    );
    match &traffic.access {
        Ok(access) if access.endpoints.is_empty() => {
            let _ = writeln!(out, "  no access lines matching {}", access.filter);
        }
        Ok(access) => {
            for e in access.endpoints.iter().take(8) {
                let _ = writeln!(out, "  {:<36} {}", e.name(), e.describe());
            }
            if access.truncated {
                let _ = writeln!(
                    out,
                    "  (only the first {} lines of the hour were read: the newest minutes are missing)",
                    access.lines
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  access lines: {}", e.message);
        }
    }
    match &traffic.load_balancer {
        Some(Ok(lb)) => {
            let _ = writeln!(
                out,
                "  load balancer {} · {}: {}",
                lb.name,
                lb.target_group,
                lb.describe()
            );
            match &lb.targets {
                Ok(targets) => {
                    for t in targets {
                        let port = t.port.map_or(String::new(), |p| format!(":{p}"));
                        let reason = t
                            .reason
                            .as_ref()
                            .map_or(String::new(), |r| format!(" ({r})"));
                        let _ = writeln!(out, "    target {}{port} {}{reason}", t.id, t.state);
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "    targets: {}", e.message);
                }
            }
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "  load balancer: {}", e.message);
        }
        None => {
            let _ = writeln!(out, "  load balancer: none attached to the service");
        }
    }
}

/// The human form of a report.
pub fn render_table(report: &Report) -> String {
    use std::fmt::Write as _;
    let d = &report.diagnosis;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "otp-console check · {} · {:.1} s\n",
        report.target,
        report.elapsed.as_secs_f64()
    );
    table_checklist(&mut out, d);
    table_verdict(&mut out, d);
    if let Some(budget) = d.timeouts.as_ref().filter(|b| b.is_read()) {
        let _ = writeln!(out, "\nTIMEOUTS  {}", budget.line());
    }
    table_risks(&mut out, d);
    for trace in crate::diagnosis::trace::of(&report.evidence, report.at_ms) {
        let _ = writeln!(out, "\nTRACE  {}", trace.title());
        for line in trace.text_lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    table_outstanding(&mut out, &report.outstanding);
    if let Some(follow) = &report.evidence.logs_follow {
        let _ = writeln!(out, "\nLOGS  followed by {}", follow.line());
    }
    render_changes(&mut out, report);
    if let Some(traffic) = &report.evidence.traffic {
        traffic_table(&mut out, traffic);
    }
    if !d.unknown.is_empty() {
        let _ = writeln!(out, "\nUNKNOWN");
        for line in &d.unknown {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// CHECKLIST: one line per runbook line, its mark, label and evidence.
fn table_checklist(out: &mut String, d: &Diagnosis) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "CHECKLIST");
    let width = d
        .checklist
        .iter()
        .map(|l| l.label.chars().count())
        .max()
        .unwrap_or(0);
    for line in &d.checklist {
        let mark = match line.state {
            State::Pass => "✓",
            State::Fail => "✗",
            State::Unknown => "?",
            State::Running => "…",
        };
        let _ = writeln!(out, "  {mark} {:<width$}  {}", line.label, line.evidence);
    }
    let _ = writeln!(out);
}

/// VERDICT: the verdict's evidence, repair and commands, then the other candidates (beside a
/// named verdict, or what fits partly when it is inconclusive), one line each.
fn table_verdict(out: &mut String, d: &Diagnosis) {
    use std::fmt::Write as _;
    let mode = d.verdict.failure_mode;
    let others = |out: &mut String, heading: &str, rest: &[diagnosis::Finding]| {
        if rest.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{heading}");
        for f in rest {
            let _ = writeln!(
                out,
                "  {} — {}: {}",
                f.failure_mode.id(),
                f.title,
                f.evidence.first().map_or("", String::as_str)
            );
        }
    };
    match (mode, d.verdict.candidates.split_first()) {
        (FailureMode::None, _) => {
            let _ = writeln!(
                out,
                "VERDICT  none — /health answers and the OTP path shows healthy"
            );
        }
        (FailureMode::Inconclusive, _) => {
            let _ = writeln!(out, "VERDICT  inconclusive — {}", mode.repair());
            others(out, "FITS PARTLY", &d.verdict.candidates);
        }
        (_, Some((top, rest))) => {
            let _ = writeln!(out, "VERDICT  {} — {}", top.failure_mode.id(), top.title);
            for line in &top.evidence {
                let _ = writeln!(out, "  evidence  {line}");
            }
            let _ = writeln!(out, "  repair    {}", top.repair);
            for command in &top.commands {
                let _ = writeln!(out, "  $ {command}");
            }
            others(out, "ALSO SUPPORTED", rest);
        }
        (_, None) => {
            let _ = writeln!(out, "VERDICT  {} — {}", mode.id(), mode.title());
        }
    }
}

/// RISKS: each with its evidence, repair and first commands.
fn table_risks(out: &mut String, d: &Diagnosis) {
    use std::fmt::Write as _;
    if d.verdict.risks.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nRISKS (not the cause of what fails now)");
    for r in &d.verdict.risks {
        let _ = writeln!(out, "  {} — {}", r.failure_mode.id(), r.title);
        for line in &r.evidence {
            let _ = writeln!(out, "    evidence  {line}");
        }
        let _ = writeln!(out, "    repair    {}", r.repair);
        for command in r.commands.iter().take(3) {
            let _ = writeln!(out, "    $ {command}");
        }
    }
}

/// OUTSTANDING: the requests still waiting, per endpoint, the oldest's age.
fn table_outstanding(out: &mut String, outstanding: &[(Endpoint, u64)]) {
    use std::fmt::Write as _;
    if outstanding.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nOUTSTANDING");
    for endpoint in Endpoint::ALL {
        let ages: Vec<u64> = outstanding
            .iter()
            .filter(|(e, _)| *e == endpoint)
            .map(|(_, age)| *age)
            .collect();
        match (ages.len(), ages.iter().max()) {
            (0, _) | (_, None) => {}
            (1, Some(age)) => {
                let _ = writeln!(
                    out,
                    "  {} still waiting after {}",
                    endpoint.label(),
                    diagnosis::fmt_ms(*age)
                );
            }
            (n, Some(age)) => {
                let _ = writeln!(
                    out,
                    "  {} ×{n} still waiting, the oldest after {}",
                    endpoint.label(),
                    diagnosis::fmt_ms(*age)
                );
            }
        }
    }
}
