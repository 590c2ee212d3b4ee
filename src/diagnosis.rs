//! The brain, pure: observations in, the runbook's checklist and a verdict out. [`Evidence`]
//! accumulates what the probes reported (the console and `check` feed it the same
//! observations); [`diagnose`] turns it into each checklist line with a state and one line of
//! evidence, and the failure modes the evidence supports, most likely first, each with its
//! evidence, the runbook's repair and the equivalent commands (secrets never included). No
//! clock is read here: `now_ms` is passed in, so the same evidence always gives the same answer.

/// Real traffic (access lines, the load balancer) as evidence.
pub mod traffic;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::probe::http::{Endpoint, Sample};
use crate::probe::logs::{Event, LineKind};
use crate::probe::secrets::SecretState;
use crate::probe::traffic::RealTraffic;
use crate::probe::twilio::delivery::DeliveryStep;
use crate::probe::twilio::{
    Account, CredentialsSeen, Fact, Sender, StatusPage, Verification, VerifyService,
};
use crate::probe::{ecs, ErrorKind, Observation, ProbeError};

/// How many HTTP samples and log events the evidence keeps (bounded memory).
const MAX_SAMPLES: usize = 2_000;
const MAX_EVENTS: usize = 5_000;
/// And the log messages' bytes they may hold at most, whatever their number.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;
/// Delivery steps kept (a few per test send).
const MAX_DELIVERY_STEPS: usize = 200;
/// A health probe slower than this while an OTP start is outstanding is a stall.
pub const STALL_MS: u64 = 2_000;
/// An OTP start outstanding this long, with Twilio and the config fine, is a hang.
pub const HANG_MS: u64 = 3_000;

/// Everything observed so far.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub samples: VecDeque<Sample>,
    /// Requests sent and not yet answered: id → (endpoint, started).
    pub outstanding: BTreeMap<u64, (Endpoint, i64)>,
    /// The phone (last 4 digits) of each OTP start or verify still outstanding: an in-flight
    /// start's trace.
    pub phones: BTreeMap<u64, String>,
    pub ecs: Option<Result<Box<ecs::Snapshot>, ProbeError>>,
    pub ecs_at_ms: Option<i64>,
    pub events: VecDeque<Event>,
    /// Bytes of the messages in `events`.
    event_bytes: usize,
    /// How many lines of each kind were seen (not bounded by `events`).
    pub line_counts: BTreeMap<String, usize>,
    pub logs_error: Option<ProbeError>,
    pub has_logs: bool,
    /// How the logs are followed (Live Tail, sampled or not, or polling and why), once known.
    pub logs_follow: Option<crate::probe::logs::FollowMode>,
    pub credentials: Option<CredentialsSeen>,
    pub account: Option<Result<Account, ProbeError>>,
    /// When Twilio's account was last asked about (ms since the epoch).
    pub account_at_ms: Option<i64>,
    pub service: Option<Result<VerifyService, ProbeError>>,
    pub status_page: Option<Result<StatusPage, ProbeError>>,
    pub sends: Vec<Result<Verification, ProbeError>>,
    pub checks: Vec<Result<Verification, ProbeError>>,
    /// Log lines older than this (ms since the epoch) are shown but not evidence any more:
    /// they were written before the deployment a repair started.
    pub lines_since_ms: i64,
    /// The tasks a repair's deployment replaced (their ids): what they log while the rollout
    /// drains them is shown, not evidence about the new revision.
    pub replaced_tasks: BTreeSet<String>,
    /// The `twilio_sms` provider's From number, as the account's numbers list it.
    pub sender: Option<Result<Sender, ProbeError>>,
    /// The delivery steps of test sends, in the order seen.
    pub deliveries: Vec<Result<DeliveryStep, ProbeError>>,
    /// The account's recent SMS to real users, by outcome (the last read).
    pub recent_sms: Option<Result<crate::probe::twilio::recent::RecentSms, ProbeError>>,
    /// What CloudTrail says changed on the service's resources over the window.
    pub cloudtrail: Option<Result<crate::probe::changes::Changes, ProbeError>>,
    /// Twilio's Monitor: account events and alerts over the window.
    pub monitor: Option<Result<crate::probe::changes::Changes, ProbeError>>,
    /// The service's network path to Twilio, as EC2 describes it (the last read).
    pub network: Option<Result<Box<crate::network::Path>, ProbeError>>,
    /// When that read was made (ms since the epoch).
    pub network_at_ms: Option<i64>,
    /// What real users got over the last hour, as last read.
    pub traffic: Option<Box<RealTraffic>>,
}

impl Evidence {
    /// Takes one observation in.
    pub fn record(&mut self, observation: Observation) {
        match observation {
            Observation::HttpStarted {
                endpoint,
                id,
                started_ms,
                phone_last4,
            } => {
                self.outstanding.insert(id, (endpoint, started_ms));
                if let Some(phone) = phone_last4 {
                    self.phones.insert(id, phone);
                }
            }
            Observation::Http(sample) => {
                self.outstanding.remove(&sample.id);
                self.phones.remove(&sample.id);
                // A request sent before the last deployment began (an OTP start that hung on
                // the old revision and is answered only now), and a health probe that watched
                // one, are set aside as `forget_before` sets them aside: they judge the old
                // revision, not the verification.
                if sample.started_ms < self.lines_since_ms
                    || sample
                        .otp_started_ms
                        .is_some_and(|otp| otp < self.lines_since_ms)
                {
                    return;
                }
                self.samples.push_back(sample);
                if self.samples.len() > MAX_SAMPLES {
                    self.samples.pop_front();
                }
            }
            Observation::Ecs { at_ms, result } => {
                self.ecs = Some(result);
                self.ecs_at_ms = Some(at_ms);
                self.mark_replaced(Vec::new());
            }
            Observation::Network { result, at_ms } => {
                self.network = Some(result);
                self.network_at_ms = Some(at_ms);
            }
            Observation::Logs { result, .. } => match result {
                Ok(batch) => {
                    self.has_logs = true;
                    self.logs_error = None;
                    if batch.follow.is_some() {
                        self.logs_follow = batch.follow;
                    }
                    for event in batch.events {
                        if self.is_evidence(&event) {
                            *self.line_counts.entry(kind_name(event.kind)).or_default() += 1;
                        }
                        self.event_bytes += event.message.len();
                        self.events.push_back(event);
                        while self.events.len() > MAX_EVENTS
                            || (self.event_bytes > MAX_EVENT_BYTES && self.events.len() > 1)
                        {
                            if let Some(old) = self.events.pop_front() {
                                self.event_bytes =
                                    self.event_bytes.saturating_sub(old.message.len());
                            }
                        }
                    }
                }
                Err(e) => self.logs_error = Some(e),
            },
            Observation::Traffic { traffic, .. } => self.traffic = Some(traffic),
            Observation::Twilio { fact, at_ms } => match fact {
                Fact::Credentials(c) => self.credentials = Some(c),
                Fact::Account(a) => {
                    self.account = Some(a);
                    self.account_at_ms = Some(at_ms);
                }
                Fact::Service(s) => self.service = Some(s),
                Fact::StatusPage(s) => self.status_page = Some(s),
                Fact::Send(s) => self.sends.push(s),
                Fact::Check(c) => self.checks.push(c),
                Fact::Sender(n) => self.sender = Some(n),
                Fact::RecentSms(r) => self.recent_sms = Some(r),
                Fact::Delivery(d) => {
                    self.deliveries.push(d);
                    if self.deliveries.len() > MAX_DELIVERY_STEPS {
                        self.deliveries.drain(..1);
                    }
                }
            },
            Observation::Changes { origin, result, .. } => match origin {
                crate::probe::changes::Origin::Cloudtrail => self.cloudtrail = Some(result),
                crate::probe::changes::Origin::TwilioMonitor => self.monitor = Some(result),
            },
        }
    }

    /// Bytes of log messages held (bounded by [`MAX_EVENT_BYTES`]).
    pub fn event_bytes(&self) -> usize {
        self.events.iter().map(|e| e.message.len()).sum()
    }

    fn lines(&self, kind: LineKind) -> usize {
        self.line_counts.get(&kind_name(kind)).copied().unwrap_or(0)
    }

    fn last_line(&self, kind: LineKind) -> Option<&Event> {
        self.events
            .iter()
            .rev()
            .filter(|e| self.is_evidence(e))
            .find(|e| e.kind == kind)
    }

    /// Whether a log line is evidence: written since [`Evidence::lines_since_ms`], by a task
    /// a repair's deployment did not replace (its stream ends in the task's id).
    fn is_evidence(&self, event: &Event) -> bool {
        event.timestamp_ms >= self.lines_since_ms
            && !event
                .stream
                .rsplit('/')
                .next()
                .is_some_and(|task| self.replaced_tasks.contains(task))
    }

    /// [`Evidence::forget_before`] the deployment a repair started at `ms`, whose rollout
    /// replaced `replaced` (task ids): their lines, written while they drained, are set aside
    /// too, so the verification judges the new revision's tasks alone.
    pub fn forget_replaced(&mut self, ms: i64, replaced: Vec<String>) {
        self.replaced_tasks.clear();
        self.forget_before(ms);
        self.mark_replaced(replaced);
    }

    /// Adds `ids` to the replaced tasks, and, once evidence starts at a repair
    /// ([`Evidence::lines_since_ms`]), every task the service read shows stopped that had
    /// started before it: a task the repair's deployment drained (a task still running, as
    /// after an egress rule, still serves and still counts). Recounts the lines when it grew.
    fn mark_replaced(&mut self, ids: Vec<String>) {
        let since = self.lines_since_ms;
        let stopped: Vec<String> = self
            .snapshot()
            .filter(|_| since > 0)
            .map(|s| {
                s.tasks
                    .iter()
                    .filter(|t| t.last_status == "STOPPED")
                    .filter(|t| t.started_ms.is_some_and(|at| at < since))
                    .map(|t| t.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        let before = self.replaced_tasks.len();
        self.replaced_tasks.extend(ids.into_iter().chain(stopped));
        if self.replaced_tasks.len() != before {
            self.recount_lines();
        }
    }

    /// `line_counts` again from the lines held that are evidence.
    fn recount_lines(&mut self) {
        let counted: Vec<LineKind> = self
            .events
            .iter()
            .filter(|e| self.is_evidence(e))
            .map(|e| e.kind)
            .collect();
        self.line_counts.clear();
        for kind in counted {
            *self.line_counts.entry(kind_name(kind)).or_default() += 1;
        }
    }

    pub fn snapshot(&self) -> Option<&ecs::Snapshot> {
        self.ecs
            .as_ref()
            .and_then(|r| r.as_ref().ok())
            .map(AsRef::as_ref)
    }

    fn last(&self, endpoint: Endpoint) -> Option<&Sample> {
        self.samples.iter().rev().find(|s| s.endpoint == endpoint)
    }

    /// Sets aside what was seen before `ms` (a new deployment's start): requests sent before
    /// it, the sends and checks made through the old revision, and log lines written before
    /// it (they stay in the log pane, no longer as evidence). The ECS and Twilio facts stay
    /// until the next read replaces them.
    pub fn forget_before(&mut self, ms: i64) {
        self.samples
            .retain(|s| s.started_ms >= ms && s.otp_started_ms.is_none_or(|otp| otp >= ms));
        self.outstanding.retain(|_, (_, started)| *started >= ms);
        let outstanding = &self.outstanding;
        self.phones.retain(|id, _| outstanding.contains_key(id));
        self.replaced_tasks.clear();
        self.lines_since_ms = ms;
        self.recount_lines();
        self.sends.clear();
        self.checks.clear();
        self.deliveries.clear();
    }

    /// The oldest outstanding request to `endpoint` and its age.
    pub fn outstanding_age(&self, endpoint: Endpoint, now_ms: i64) -> Option<u64> {
        self.outstanding
            .values()
            .filter(|(e, _)| *e == endpoint)
            .map(|(_, started)| (now_ms - started).max(0) as u64)
            .max()
    }
}

fn kind_name(kind: LineKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The state of one checklist line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pass,
    Fail,
    Unknown,
    Running,
}

/// The runbook's checklist, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    TwilioEnvVars,
    ProviderNotStub,
    AccountActive,
    VerifyServiceExists,
    AuthTokenValid,
    EgressHttps,
    ProviderInitialised,
    OtpStartSent,
    SmsReceived,
}

impl Item {
    /// Every item, in the runbook's order.
    pub const ALL: [Item; 9] = [
        Self::TwilioEnvVars,
        Self::ProviderNotStub,
        Self::AccountActive,
        Self::VerifyServiceExists,
        Self::AuthTokenValid,
        Self::EgressHttps,
        Self::ProviderInitialised,
        Self::OtpStartSent,
        Self::SmsReceived,
    ];

    /// The runbook's wording, said of `platform` (the runbook's first line names ECS's task
    /// definition; on App Runner the variables live in the service's configuration).
    pub fn label_on(self, platform: crate::config::Platform) -> &'static str {
        match (self, platform) {
            (Self::TwilioEnvVars, crate::config::Platform::AppRunner) => {
                "App Runner service has all Twilio env vars"
            }
            _ => self.label(),
        }
    }

    /// The runbook's wording.
    pub fn label(self) -> &'static str {
        match self {
            Self::TwilioEnvVars => "AWS ECS task definition has all Twilio env vars",
            Self::ProviderNotStub => "OTP_PROVIDER is set to twilio_verify (not stub)",
            Self::AccountActive => "Twilio account is active and not suspended",
            Self::VerifyServiceExists => "Twilio Verify service exists and is enabled",
            Self::AuthTokenValid => "Auth token is valid (not rotated/expired)",
            Self::EgressHttps => "VPC security groups allow outbound HTTPS",
            Self::ProviderInitialised => "Backend logs show successful provider initialization",
            Self::OtpStartSent => "Test OTP request returns {\"otp_sent\": true}",
            Self::SmsReceived => "SMS received on phone with 6-digit code",
        }
    }
}

/// One checklist line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub item: Item,
    pub label: &'static str,
    pub state: State,
    pub evidence: String,
}

/// The runbook's failure modes (their JSON identifiers are stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    MissingEnvVars,
    /// A `secrets` entry ECS cannot read: deleted, scheduled for deletion, missing its JSON
    /// key, or the tasks stop with `ResourceInitializationError` about secrets.
    SecretUnreadable,
    StubProvider,
    InvalidCredentials,
    VerifyServiceMissing,
    AccountSuspended,
    EventLoopBlocked,
    NetworkBlocked,
    RateLimited,
    DeploymentFailed,
    /// Every recent `/health` probe failed to connect or got no answer in time.
    ApiUnreachable,
    /// Something is wrong or could not be seen, and no failure mode is supported.
    Inconclusive,
    None,
    /// `OTP_FROM_NUMBER` is not an SMS-capable number of the account (21606, 21659, 21212).
    FromNumberInvalid,
    /// Twilio sent the SMS and the carrier or handset did not take it (30003–30008, …).
    SmsUndelivered,
    /// The backend's Twilio timeout does not fire before the load balancer's idle timeout: a
    /// blocked call outlives the request and the user gets a bare 504. Only ever a risk.
    TimeoutOrder,
    /// An `environmentFiles` object ECS cannot download (the execution role may not read it,
    /// it is gone), or the tasks stop with `failed to download env files`.
    EnvFileUnreadable,
}

impl FailureMode {
    /// What this failure mode is: its rule, in `rules/`.
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }

    /// The identifier used in JSON.
    pub fn id(self) -> &'static str {
        self.rule().id
    }

    /// A short title.
    pub fn title(self) -> &'static str {
        self.rule().title
    }

    /// The runbook's repair, in one or two lines.
    pub fn repair(self) -> &'static str {
        self.rule().repair
    }

    /// The runbook's repair as it is done on `platform`: where ECS registers a task
    /// definition, App Runner updates the service's configuration.
    pub fn repair_on(self, platform: crate::config::Platform) -> &'static str {
        if platform == crate::config::Platform::Ecs {
            return self.repair();
        }
        match self {
            Self::MissingEnvVars => "Add the missing variables to the service's RuntimeEnvironmentVariables (UpdateService; otp-console repair --set NAME=VALUE) and let the operation finish.",
            Self::StubProvider => "Set OTP_PROVIDER=twilio_verify in the service's RuntimeEnvironmentVariables (UpdateService) and let the operation finish.",
            Self::FromNumberInvalid => "Buy or re-assign an SMS-capable number in Twilio Console (Phone Numbers > Manage), set OTP_FROM_NUMBER to it in the service's RuntimeEnvironmentVariables (repair: --set OTP_FROM_NUMBER=+1…) and let the operation finish.",
            Self::SecretUnreadable => "Restore the secret (RestoreSecret) or put its value back (PutSecretValue), let the instance role read it (iam put-role-policy), or point RuntimeEnvironmentSecrets at one that exists; then start a deployment.",
            _ => self.repair(),
        }
    }

    /// Whether this names a failure (not `none`, not `inconclusive`): a repair can follow.
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::None | Self::Inconclusive)
    }

    /// The exit status of `check` for this verdict: 0 none, 1 a named failure mode,
    /// 3 inconclusive (2 is "could not run"), the monitoring-plugin convention.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Inconclusive => 3,
            _ => 1,
        }
    }
}

/// A failure mode the evidence supports, with its evidence and what to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub failure_mode: FailureMode,
    pub title: &'static str,
    /// 3 = direct evidence (an API's own answer), 2 = logs or timing, 1 = circumstantial.
    pub confidence: u8,
    pub evidence: Vec<String>,
    pub repair: &'static str,
    /// Equivalent aws CLI / curl commands, secrets redacted.
    pub commands: Vec<String>,
    /// The symptoms it predicts that were seen: what of the outage it explains.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explains: Vec<symptoms::Symptom>,
}

/// The verdict: the most likely failure mode and every candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub failure_mode: FailureMode,
    pub candidates: Vec<Finding>,
    /// True problems that cannot explain what fails now (a secret the running tasks already
    /// read): shown with their evidence and fix, never the verdict, never the exit status.
    pub risks: Vec<Finding>,
}

/// The checklist, the verdict, and what could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub checklist: Vec<Line>,
    pub unknown: Vec<String>,
    /// The timeout budget, once the task definition is read: computed here once per diagnosis
    /// for the checklist pane, `check`'s table and JSON, and the risk it may be.
    pub timeouts: Option<budget::Budget>,
}

/// Names used in the equivalent commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    /// Where the service runs: which CLI commands reach it.
    #[serde(default)]
    pub platform: crate::config::Platform,
    pub cluster: String,
    pub service: String,
    pub log_group: String,
    /// The CloudWatch Logs filter pattern the logs are read with.
    pub log_filter: String,
    pub api_base: String,
    pub region: String,
    /// The config file's context the target was read for: the header shows its name first,
    /// in its colour; `check --json` and the report carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<crate::config::contexts::Context>,
}

impl Names {
    /// The names of a configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            platform: config.aws.platform,
            cluster: config.aws.cluster.clone(),
            service: config.aws.service.clone(),
            log_group: config.aws.log_group_or_fallback(),
            log_filter: config.aws.log_filter.clone(),
            api_base: config.api.base_url.clone(),
            region: config.aws.region.clone(),
            context: config.context.clone(),
        }
    }
}

/// Diagnoses the evidence as of `now_ms`.
pub fn diagnose(evidence: &Evidence, names: &Names, now_ms: i64) -> Diagnosis {
    let (mut findings, mut risks) = rules::run(evidence, names, now_ms);
    let loop_blocked = findings
        .iter()
        .any(|f| f.failure_mode == FailureMode::EventLoopBlocked);
    let timeouts = budget::of(evidence, names.platform, loop_blocked);
    // What users see when the call to Twilio hangs: a risk of its own, never a cause.
    if let Some(risk) = timeouts.as_ref().and_then(|b| {
        rules::timeout_order::risk(
            b,
            names,
            budget::load_balancer_name(evidence).unwrap_or("<load balancer>"),
        )
    }) {
        risks.push(risk);
    }
    changes::cite(&mut findings, evidence, now_ms);
    let observed = symptoms::observe(evidence, now_ms);
    symptoms::score(&mut findings, &observed);
    // The most confident first; among equals, the one that explains more of what was seen,
    // then the runbook's order.
    findings.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then(b.explains.len().cmp(&a.explains.len()))
            .then(a.failure_mode.cmp(&b.failure_mode))
    });
    changes::cite(&mut risks, evidence, now_ms);
    causes::rank_what_explains(&mut findings);
    let tie = causes::settle_ties(&mut findings, &observed);
    let contradicted: Vec<bool> = findings
        .iter()
        .map(|f| observed.contradicts(f.failure_mode))
        .collect();
    let checklist = checklist(evidence, &findings, names, now_ms);
    let mut unknown = unknowns(evidence);
    // A cause the evidence contradicts (every symptom it predicts looked for, the opposite
    // seen) is a candidate, never the verdict.
    let cause = findings
        .iter()
        .zip(&contradicted)
        .find(|(f, contradicted)| f.confidence > 0 && !**contradicted)
        .map(|(f, _)| f.failure_mode);
    let set_aside = findings
        .iter()
        .zip(&contradicted)
        .find(|(f, contradicted)| f.confidence > 0 && **contradicted);
    let failure_mode = match cause {
        Some(_) if tie.is_some() => FailureMode::Inconclusive,
        Some(mode) => mode,
        None if set_aside.is_none() && shows_health(evidence, &checklist) => FailureMode::None,
        None => FailureMode::Inconclusive,
    };
    if let Some((a, b)) = tie {
        unknown.insert(
            0,
            format!(
                "{} and {} are equally supported and explain as much of what fails: nothing seen tells them apart (both are listed)",
                a.id(),
                b.id()
            ),
        );
    } else if failure_mode == FailureMode::Inconclusive {
        unknown.insert(0, why_inconclusive(evidence, &checklist));
        if let Some((f, _)) = set_aside {
            unknown.insert(
                1,
                format!(
                    "{} is supported but cannot be the cause: {}",
                    f.failure_mode.id(),
                    f.evidence.last().map_or("", String::as_str)
                ),
            );
        }
        // With no failure mode of the service's own, Twilio's own incident is the lead to
        // follow (a slow or failing Twilio looks like the network from inside the VPC).
        if let Some(line) = twilio_incident(evidence) {
            unknown.insert(1, line);
        }
    }
    Diagnosis {
        verdict: Verdict {
            failure_mode,
            candidates: findings,
            risks,
        },
        checklist,
        unknown,
        timeouts,
    }
}

/// What could not be determined, one line each: unread systems, refused reads, secrets only
/// the operator cannot read, Twilio questions not answered.
fn unknowns(evidence: &Evidence) -> Vec<String> {
    let mut unknown = Vec::new();
    if let Some(Err(e)) = &evidence.ecs {
        unknown.push(format!("ECS: {}", e.message));
    } else if evidence.ecs.is_none() {
        unknown.push("ECS: not read".into());
    }
    if let Some(e) = &evidence.logs_error {
        unknown.push(format!("Logs: {}", e.message));
    }
    match &evidence.network {
        Some(Err(e)) => unknown.push(format!("Network path: {}", e.message)),
        Some(Ok(p)) if p.state == crate::network::HopState::Unknown => {
            unknown.push(format!("Network path: {}", p.summary()));
        }
        _ => {}
    }
    if let Some(t) = &evidence.traffic {
        if let Err(e) = &t.access {
            unknown.push(format!("Real traffic, access lines: {}", e.message));
        }
        if let Some(Err(e)) = &t.load_balancer {
            unknown.push(format!("Real traffic, load balancer: {}", e.message));
        }
    }
    let snapshot = evidence.snapshot();
    let sms_mode = evidence.sender.is_some();
    for r in snapshot.iter().flat_map(|s| &s.secrets) {
        if matches!(
            r.state,
            SecretState::NoAccess | SecretState::KmsDenied | SecretState::Error
        ) {
            unknown.push(format!(
                "Secret {} ← {}: {}",
                r.name,
                r.source,
                r.detail.clone().unwrap_or_else(|| r.state.label().into())
            ));
        }
    }
    for (what, result) in [
        (
            "account",
            evidence.account.as_ref().map(|r| r.as_ref().err()),
        ),
        (
            "Verify service",
            evidence
                .service
                .as_ref()
                .map(|r| r.as_ref().err().filter(|_| !sms_mode)),
        ),
    ] {
        match result {
            None => unknown.push(format!("Twilio {what}: not checked")),
            Some(Some(e))
                if !matches!(
                    e.code.as_deref(),
                    Some("20003" | "20404" | "20005" | "10001")
                ) =>
            {
                unknown.push(format!("Twilio {what}: {}", e.message));
            }
            _ => {}
        }
    }
    unknown
}

/// Twilio's status page reporting an incident, as a line for `unknown`.
fn twilio_incident(evidence: &Evidence) -> Option<String> {
    let Some(Ok(page)) = &evidence.status_page else {
        return None;
    };
    if page.indicator == "none" || page.indicator.is_empty() {
        return None;
    }
    let degraded = if page.degraded.is_empty() {
        String::new()
    } else {
        format!(" ({})", page.degraded.join(", "))
    };
    Some(format!(
        "Twilio's status page reports an incident, {}: {}{degraded} — Twilio itself may be failing the sends; follow status.twilio.com",
        page.indicator, page.description
    ))
}

/// A test OTP start answered this long before the network was read still speaks for the path
/// as read (`check` sends both at once; which answers first is a race).
pub(super) const REACHED_BEFORE_READ_MS: i64 = 10_000;

/// Whether the service's own call to Twilio got an answer as the network was read, in a few
/// words: the console's own test OTP start sent its code then (answered at most
/// [`REACHED_BEFORE_READ_MS`] before the read, or after it). Older evidence does not count: a
/// test of a minute ago, the backend's `OTP sent successfully` lines and users' answered starts
/// may all predate a rule revoked since (which CloudTrail may not list for minutes), so they
/// cannot outrank the configuration as it reads now. The stub provider sends nothing, so it
/// proves nothing.
fn reaches_twilio(evidence: &Evidence) -> Option<String> {
    let stub = evidence
        .snapshot()
        .and_then(|s| s.variable("OTP_PROVIDER"))
        .is_some_and(|e| e.display == "stub");
    let read_at = evidence.network_at_ms?;
    let sent = evidence.last(Endpoint::OtpStart).is_some_and(|s| {
        s.class.is_ok() && s.started_ms + s.latency_ms as i64 >= read_at - REACHED_BEFORE_READ_MS
    });
    (!stub && sent).then(|| "a test OTP start through the service sent its code".to_owned())
}

/// `text` cut to its first `head` and last `tail` characters (a stop reason's cause is at its
/// end).
fn ends(text: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= head + tail + 3 {
        return text.to_owned();
    }
    let first: String = chars[..head].iter().collect();
    let last: String = chars[chars.len() - tail..].iter().collect();
    format!("{first} … {last}")
}

/// Positive evidence of health: `/health` answered 2xx last, nothing failing on the checklist,
/// no OTP start in flight, and an OTP start answered: the console's own returned `otp_sent`, or
/// the lines that the config and Twilio can prove (variables, provider, account, Verify service,
/// token) passed and real users' recent OTP starts were answered with none failing. The config
/// alone proves nothing about the service's own call to Twilio (a revoked egress rule, an image
/// that blocks its event loop): those fail while every provable line passes.
fn shows_health(evidence: &Evidence, checklist: &[Line]) -> bool {
    let health_ok = evidence
        .samples
        .iter()
        .rev()
        .find(|s| s.endpoint == Endpoint::Health)
        .is_some_and(|s| s.class.is_ok());
    let state = |item: Item| checklist.iter().find(|l| l.item == item).map(|l| l.state);
    let failing = checklist.iter().any(|l| l.state == State::Fail);
    let otp_sent = state(Item::OtpStartSent) == Some(State::Pass);
    let otp_pending = state(Item::OtpStartSent) == Some(State::Running);
    let provable = provable(checklist);
    // Users failing is not health, whatever the console's own probes saw.
    let signal = traffic::Signal::of(evidence);
    let users_fail = signal.as_ref().is_some_and(traffic::Signal::otp_fails);
    let users_served = signal.as_ref().is_some_and(traffic::Signal::otp_served);
    // A question still out (Twilio's account, the users' SMS read with it) may yet contradict
    // health: an OTP start that sent is not enough until it is answered.
    let asking = PROVABLE
        .iter()
        .any(|&item| state(item) == Some(State::Running));
    health_ok
        && !failing
        && !otp_pending
        && !asking
        && (otp_sent || (provable && users_served))
        && !users_fail
}

/// The lines the config and Twilio can prove without sending anything.
const PROVABLE: [Item; 5] = [
    Item::TwilioEnvVars,
    Item::ProviderNotStub,
    Item::AccountActive,
    Item::VerifyServiceExists,
    Item::AuthTokenValid,
];

/// The lines the config and Twilio can prove without sending anything (variables, provider,
/// account, Verify service, token) all passed.
fn provable(checklist: &[Line]) -> bool {
    PROVABLE.iter().all(|&item| {
        checklist
            .iter()
            .find(|l| l.item == item)
            .is_some_and(|l| l.state == State::Pass)
    })
}

/// Why the evidence does not show health, in one line, for the top of `unknown`.
fn why_inconclusive(evidence: &Evidence, checklist: &[Line]) -> String {
    let last_health = evidence
        .samples
        .iter()
        .rev()
        .find(|s| s.endpoint == Endpoint::Health);
    if let Some(line) = checklist.iter().find(|l| l.state == State::Fail) {
        return format!(
            "failing with no known cause: {} — {}",
            line.label, line.evidence
        );
    }
    match last_health {
        None => "/health: no answer yet".into(),
        Some(s) if !s.class.is_ok() => format!(
            "/health answered {}",
            s.status
                .map_or_else(|| s.summary.clone(), |c| format!("HTTP {c}"))
        ),
        Some(_) => {
            if provable(checklist) {
                format!(
                    "nothing proves an OTP start is answered: the config and Twilio pass, but no test was sent (give a test phone) and {}",
                    traffic::Signal::of(evidence).map_or_else(
                        || "real users' OTP starts were not read (--check-aws reads them)".to_owned(),
                        |s| s.why_not_served()
                    )
                )
            } else {
                "nothing proves the OTP path works: no OTP start sent (give a test phone) and the config or Twilio could not be checked".into()
            }
        }
    }
}

fn checklist(evidence: &Evidence, findings: &[Finding], names: &Names, now_ms: i64) -> Vec<Line> {
    let c = Ctx {
        evidence,
        snapshot: evidence.snapshot(),
        findings,
        names,
        now_ms,
    };
    Item::ALL
        .iter()
        .map(|&item| {
            let (state, evidence_line) = match item {
                Item::TwilioEnvVars => env_vars(&c),
                Item::ProviderNotStub => provider_not_stub(&c),
                Item::AccountActive => account_active(&c),
                // SMS mode: the provider sends from OTP_FROM_NUMBER; its check stands in.
                Item::VerifyServiceExists if evidence.sender.is_some() => sms_sender(&c),
                Item::VerifyServiceExists => verify_service(&c),
                Item::AuthTokenValid => token_valid(&c),
                Item::EgressHttps => egress(&c),
                Item::ProviderInitialised => provider_initialised(&c),
                Item::OtpStartSent => otp_start(&c),
                Item::SmsReceived => sms_received(&c),
            };
            Line {
                item,
                label: item.label_on(names.platform),
                state,
                evidence: evidence_line,
            }
        })
        .collect()
}

/// What every line reads.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    evidence: &'a Evidence,
    snapshot: Option<&'a ecs::Snapshot>,
    findings: &'a [Finding],
    names: &'a Names,
    now_ms: i64,
}

impl Ctx<'_> {
    fn has(&self, mode: FailureMode) -> Option<&Finding> {
        self.findings.iter().find(|f| f.failure_mode == mode)
    }
}

/// The task definition has the runbook's Twilio variables.
fn env_vars(c: &Ctx) -> (State, String) {
    let Ctx { evidence, .. } = *c;
    match (&evidence.ecs, c.has(FailureMode::MissingEnvVars)) {
        (_, Some(f)) if f.confidence >= 3 => (State::Fail, f.evidence[0].clone()),
        (Some(Ok(s)), _) => (
            State::Pass,
            format!(
                "{}:{} has the Twilio variables",
                s.deployed.family, s.deployed.revision
            ),
        ),
        (Some(Err(e)), _) => (State::Unknown, e.message.clone()),
        (None, _) => (State::Running, "reading the task definition".into()),
    }
}

/// `OTP_PROVIDER` is not `stub`.
fn provider_not_stub(c: &Ctx) -> (State, String) {
    let Ctx {
        evidence, snapshot, ..
    } = *c;
    match snapshot.and_then(|s| s.variable("OTP_PROVIDER")) {
        Some(var) if var.display == "stub" => (State::Fail, "OTP_PROVIDER=stub".into()),
        Some(var) => (State::Pass, format!("OTP_PROVIDER={}", var.display)),
        None if snapshot.is_some() => (State::Fail, "OTP_PROVIDER is not set".into()),
        None => match &evidence.ecs {
            Some(Err(e)) => (State::Unknown, e.message.clone()),
            _ => (State::Running, "reading the task definition".into()),
        },
    }
}

/// Twilio's account is active.
fn account_active(c: &Ctx) -> (State, String) {
    let Ctx { evidence, .. } = *c;
    match &evidence.account {
        Some(Ok(a)) if a.status == "active" => (
            State::Pass,
            format!("{} {} is active", a.sid, a.friendly_name),
        ),
        Some(Ok(a)) => (State::Fail, format!("{} is {}", a.sid, a.status)),
        Some(Err(e)) if matches!(e.code.as_deref(), Some("20005" | "10001")) => {
            (State::Fail, e.message.clone())
        }
        Some(Err(e)) => (State::Unknown, e.message.clone()),
        None => (State::Running, "asking Twilio".into()),
    }
}

/// SMS mode: the From number is the account's and can send SMS (stands in for the Verify
/// service).
fn sms_sender(c: &Ctx) -> (State, String) {
    let Ctx { evidence, .. } = *c;
    match &evidence.sender {
        Some(Ok(n)) if n.owned && n.sms_capable => (
            State::Pass,
            format!("SMS mode: From {} owned and SMS-capable", n.from),
        ),
        Some(Ok(n)) => (
            State::Fail,
            format!(
                "SMS mode: From {} {}",
                n.from,
                if n.owned {
                    "cannot send SMS"
                } else {
                    "is not the account's"
                }
            ),
        ),
        Some(Err(e)) => (State::Unknown, e.message.clone()),
        None => (State::Running, "asking Twilio".into()),
    }
}

/// The Verify service exists.
fn verify_service(c: &Ctx) -> (State, String) {
    let Ctx { evidence, .. } = *c;
    match &evidence.service {
        Some(Ok(s)) => (
            State::Pass,
            format!(
                "{} {} (code length {})",
                s.sid, s.friendly_name, s.code_length
            ),
        ),
        Some(Err(e)) if e.kind == ErrorKind::NotFound => (State::Fail, e.message.clone()),
        Some(Err(e)) => (State::Unknown, e.message.clone()),
        None => (State::Running, "asking Twilio".into()),
    }
}

/// Twilio accepts the service's token.
fn token_valid(c: &Ctx) -> (State, String) {
    let Ctx { evidence, .. } = *c;
    match &evidence.account {
        Some(Ok(_)) => (
            State::Pass,
            "Twilio accepts the service's credentials".into(),
        ),
        Some(Err(e)) if e.code.as_deref() == Some("20003") => (State::Fail, e.message.clone()),
        Some(Err(e)) => (State::Unknown, e.message.clone()),
        None => match &evidence.credentials {
            Some(c) if c.token_value_from.is_some() => (
                State::Unknown,
                "the token is a secrets reference the console cannot read".into(),
            ),
            _ => (State::Running, "asking Twilio".into()),
        },
    }
}

/// The service's path to Twilio: EC2's configuration, the backend's Twilio answers, or what
/// the rules found.
fn egress(c: &Ctx) -> (State, String) {
    let Ctx { evidence, .. } = *c;
    match (&evidence.network, c.has(FailureMode::NetworkBlocked)) {
        (Some(Ok(p)), _) if p.state == crate::network::HopState::Fail => {
            match reaches_twilio(evidence) {
                Some(how) => (
                    State::Pass,
                    format!(
                        "{how}; the configuration reads blocked for aws.egress_destinations: {}",
                        p.summary()
                    ),
                ),
                None => (State::Fail, p.summary()),
            }
        }
        (Some(Ok(p)), _) if p.state == crate::network::HopState::Pass => (State::Pass, p.summary()),
        (_, Some(f)) if f.confidence >= 2 => (State::Fail, f.evidence[0].clone()),
        (_, Some(f)) => (State::Unknown, f.evidence[0].clone()),
        (_, None) => {
            let reached = evidence.lines(LineKind::OtpSent)
                + evidence.lines(LineKind::CredentialError)
                + evidence.lines(LineKind::ServiceNotFound)
                + evidence.lines(LineKind::AccountInactive)
                + evidence.lines(LineKind::RateLimited)
                + evidence.lines(LineKind::FromNumberInvalid);
            if reached > 0 {
                // The logs are positive evidence on their own; a network
                // configuration unread or undecidable is said beside them, never
                // counted.
                let unread = match &evidence.network {
                    Some(Err(_)) => "; the network configuration could not be read".to_owned(),
                    Some(Ok(p)) => format!("; network: {}", p.summary()),
                    None => String::new(),
                };
                (
                    State::Pass,
                    format!("the service's Twilio calls get answers (logs){unread}"),
                )
            } else if let Some(Err(e)) = &evidence.network {
                (State::Unknown, format!("network not read: {}", e.message))
            } else if let Some(Ok(p)) = &evidence.network {
                (State::Unknown, p.summary())
            } else {
                (
                    State::Unknown,
                    "no Twilio call from the service seen yet".into(),
                )
            }
        }
    }
}

/// The backend's log says its provider started.
fn provider_initialised(c: &Ctx) -> (State, String) {
    let Ctx {
        evidence, names, ..
    } = *c;
    {
        if let Some(e) = evidence.last_line(LineKind::StartupFailure) {
            (State::Fail, clip(&e.message, 100))
        } else if let Some(e) = evidence.last_line(LineKind::ProviderNotConfigured) {
            (State::Fail, clip(&e.message, 100))
        } else if let Some(e) = evidence.last_line(LineKind::ProviderInitialised) {
            (State::Pass, clip(&e.message, 100))
        } else if let Some(e) = &evidence.logs_error {
            (State::Unknown, e.message.clone())
        } else if evidence.has_logs && evidence.events.is_empty() {
            (State::Unknown, quiet_logs(names))
        } else if evidence.has_logs {
            (
                State::Unknown,
                "no provider line in the last 30 minutes".into(),
            )
        } else {
            (State::Unknown, "logs not read".into())
        }
    }
}

/// The test OTP start, or real users' when none was sent.
fn otp_start(c: &Ctx) -> (State, String) {
    let Ctx {
        evidence, now_ms, ..
    } = *c;
    match (
        evidence.outstanding_age(Endpoint::OtpStart, now_ms),
        evidence.last(Endpoint::OtpStart),
    ) {
        (Some(age), _) => (State::Running, format!("outstanding for {}", fmt_ms(age))),
        (None, Some(s)) if s.class.is_ok() => (
            State::Pass,
            format!("{} in {}", s.summary, fmt_ms(s.latency_ms)),
        ),
        (None, Some(s)) => (
            State::Fail,
            format!(
                "{} after {}: {}",
                s.status.map_or("no answer".into(), |c| format!("HTTP {c}")),
                fmt_ms(s.latency_ms),
                s.summary
            ),
        ),
        (None, None) => match traffic::Signal::of(evidence) {
            Some(s) if s.otp_fails() => (State::Fail, format!("not sent; {}", s.line())),
            Some(s) if s.otp.is_some_and(|o| o.requests > 0) => (
                State::Unknown,
                format!("not sent (needs a test phone); {}", s.line()),
            ),
            _ => (State::Unknown, "not sent (needs a test phone)".into()),
        },
    }
}

/// The test SMS reached the phone (and real users' SMS did too).
fn sms_received(c: &Ctx) -> (State, String) {
    let Ctx { evidence, .. } = *c;
    {
        let verified = evidence
            .samples
            .iter()
            .any(|s| s.endpoint == Endpoint::OtpVerify && s.class.is_ok())
            || evidence
                .checks
                .iter()
                .any(|c| c.as_ref().is_ok_and(|v| v.status == "approved"));
        let last_step = evidence
            .deliveries
            .iter()
            .rev()
            .find_map(|d| d.as_ref().ok());
        let delivered = last_step.filter(|d| d.status == "delivered");
        let users = real_users_sms(evidence.recent_sms.as_ref(), evidence.lines_since_ms);
        let own = if let Some(d) = last_step.filter(|d| d.is_final && d.status != "delivered") {
            (
                State::Fail,
                format!(
                    "{} {} after {}{}",
                    d.sid,
                    d.status,
                    fmt_ms(d.after_ms),
                    d.error_code.map_or_else(String::new, |c| format!(
                        " ({c}: {})",
                        d.meaning.as_deref().unwrap_or("carrier error")
                    ))
                ),
            )
        } else if verified {
            match delivered {
                Some(d) => (
                    State::Pass,
                    format!(
                        "delivered per Twilio after {} and the code entered",
                        fmt_ms(d.after_ms)
                    ),
                ),
                None => (State::Pass, "code entered and verified".into()),
            }
        } else if let Some(d) = delivered {
            (
                State::Pass,
                format!(
                    "delivered per Twilio ({} after {}); enter the code to confirm",
                    d.sid,
                    fmt_ms(d.after_ms)
                ),
            )
        } else if users.0 == State::Fail {
            // The test send is not final yet; real users' SMS already say.
            users.clone()
        } else if let Some(d) = last_step {
            (State::Running, format!("{} {}", d.sid, d.status))
        } else if sent_by_us(evidence) {
            (State::Unknown, "sent; enter the code to confirm".into())
        } else {
            users.clone()
        };
        // The test phone got its code, yet a share of users do not: the line is
        // about users getting codes, so it fails with theirs.
        match (own.0, users.0) {
            (State::Pass, State::Fail) => (State::Fail, format!("{}; but {}", own.1, users.1)),
            _ => own,
        }
    }
}

/// Whether a code went out for one of the console's own tests: a send straight to Twilio, or
/// an OTP-sent log line after one of its OTP starts (a user's earlier line is not ours to
/// confirm).
fn sent_by_us(evidence: &Evidence) -> bool {
    let first_start = evidence
        .samples
        .iter()
        .filter(|s| s.endpoint == Endpoint::OtpStart)
        .map(|s| s.started_ms)
        .min();
    evidence.sends.iter().any(Result::is_ok)
        || first_start.is_some_and(|t| {
            evidence
                .last_line(LineKind::OtpSent)
                .is_some_and(|line| line.timestamp_ms >= t)
        })
}

/// The SMS line before any test send: what became of real users' SMS, when Twilio says.
fn real_users_sms(
    recent: Option<&Result<crate::probe::twilio::recent::RecentSms, ProbeError>>,
    since_ms: i64,
) -> (State, String) {
    let tally = match recent {
        Some(Ok(r)) => r.tally(since_ms),
        Some(Err(e)) => {
            return (
                State::Unknown,
                format!("no code sent yet; real users' SMS unread: {}", e.message),
            )
        }
        None => return (State::Unknown, "no code sent yet".into()),
    };
    match tally {
        t if t.mostly_failing() || t.partly_failing() => (
            State::Fail,
            format!("real users' SMS, last 15 min: {}", t.summary()),
        ),
        t if t.delivered > 0 && t.failed == 0 => (
            State::Pass,
            format!(
                "real users' SMS, last 15 min: {}; no test sent",
                t.summary()
            ),
        ),
        t if t.sent == 0 => (
            State::Unknown,
            "no code sent yet; no SMS to real users in 15 min".into(),
        ),
        t => (
            State::Unknown,
            format!("no code sent yet; real users' SMS: {}", t.summary()),
        ),
    }
}

/// What a log group that answered with nothing says: the filter and the window, still followed.
pub fn quiet_logs(names: &Names) -> String {
    if names.log_filter.is_empty() {
        "no log lines in the last 30 min (following)".into()
    } else {
        format!(
            "no lines matching {} in the last 30 min (following)",
            names.log_filter
        )
    }
}

fn median(values: impl Iterator<Item = u64>) -> Option<u64> {
    let mut v: Vec<u64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

/// `image changed since :41: …:2026.01.22 → …:2026.01.23`, when the deployed revision's image
/// differs from the previous one's.
fn image_change(snapshot: Option<&ecs::Snapshot>) -> Option<String> {
    let s = snapshot?;
    s.diff.iter().find_map(|c| match c {
        ecs::Change::Image { from, to } => Some(format!(
            "image changed since :{}: {} → {}",
            s.previous.as_ref().map_or(0, |p| p.revision),
            short_image(from),
            short_image(to)
        )),
        _ => None,
    })
}

/// Milliseconds for humans: `850 ms`, `4.5 s`, `61 s`.
pub fn fmt_ms(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} s", ms / 1000)
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn short_image(image: &str) -> &str {
    image.rsplit('/').next().unwrap_or(image)
}

/// Which change explains a failure mode, and the evidence line citing it.
pub mod budget;
mod causes;
pub mod changes;
pub mod rules;
pub mod symptoms;
pub mod trace;

pub use rules::api_unreachable::{HEALTH_HANG_MS, UNHEALTHY_THRESHOLD};
pub use rules::{Rule, RULES};
#[cfg(test)]
mod tests;
