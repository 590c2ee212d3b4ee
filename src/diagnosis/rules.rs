//! What each failure mode is, one file per mode: its identifier, title and repair, the commands
//! an engineer would type, the symptoms it predicts, the change that may explain it, the
//! repair the console suggests, and the rule that reads its support from the evidence. A failure
//! mode lives in its file and nowhere else: [`RULES`] is the one table the diagnosis, the
//! console's repair picker, `check`'s JSON, the reports and the README's table read.
//!
//! The rules run in stages. Every rule's [`Rule::support`] reads the evidence alone (none reads
//! another's findings, so their order is only the order of the evidence lines). What cannot
//! explain what fails now is then set aside as a risk ([`super::causes`]). A rule that needs
//! another's outcome says so with [`Rule::later`]: it runs after the first stage
//! ([`Stage::AfterEvidence`]) or after real users' failures were attached to what was named
//! ([`Stage::AfterUsers`]), reading the findings as they stood when its stage began (`before`),
//! never those of its own stage.

use super::{median, Evidence, FailureMode, Finding, Names, STALL_MS};
use crate::config::Platform;
use crate::probe::changes::Change;
use crate::probe::ecs::Snapshot;
use crate::probe::http::{Endpoint, Sample};

mod account_suspended;
pub(super) mod api_unreachable;
mod deployment_failed;
mod env_file_unreadable;
mod event_loop_blocked;
mod from_number_invalid;
mod invalid_credentials;
mod missing_env_vars;
mod network_blocked;
mod rate_limited;
pub(crate) mod secret_unreadable;
mod sms_undelivered;
mod stub_provider;
pub(super) mod timeout_order;
mod users;
mod verdicts;
mod verify_service_missing;

pub use super::symptoms::Symptom;

/// The repairs, in the order the chooser lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Set variables; a variable that comes from a Secrets Manager secret gets its new value
    /// in that secret (PutSecretValue) instead.
    SetEnv,
    RollBack,
    Redeploy,
    /// RestoreSecret of a secret the deployed revision reads that is scheduled for deletion.
    RestoreSecret,
    /// AuthorizeSecurityGroupEgress: outbound TCP 443 on the service's security group (no
    /// deployment: rules apply to running tasks at once).
    AllowEgress,
}

impl Choice {
    pub const ALL: [Choice; 5] = [
        Self::SetEnv,
        Self::RollBack,
        Self::Redeploy,
        Self::RestoreSecret,
        Self::AllowEgress,
    ];

    /// Whether the console makes this repair on `platform`: App Runner's are UpdateService
    /// (variables) and StartDeployment / ResumeService.
    pub fn runs_on(self, platform: crate::config::Platform) -> bool {
        platform == crate::config::Platform::Ecs || matches!(self, Self::SetEnv | Self::Redeploy)
    }
}

/// A failure mode, whole.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub mode: FailureMode,
    /// Its JSON identifier: the variant's serde name (a test checks both).
    pub id: &'static str,
    pub title: &'static str,
    /// The runbook's repair, in one or two lines.
    pub repair: &'static str,
    /// What fails when this is the cause: the verdict is the cause whose predictions the
    /// evidence confirms, and a cause the evidence contradicts is not named.
    pub predicts: &'static [Symptom],
    /// The failure modes this one brings about (a secret ECS cannot read fails the
    /// deployment): between the two, tied, this one is the verdict, the deeper cause.
    pub underlies: &'static [FailureMode],
    /// The equivalent aws CLI / curl commands, secrets redacted, for the names and what the
    /// evidence holds (the deployed revision, the network path read).
    pub commands: fn(&Names, &Evidence) -> Vec<String>,
    /// The first stage: what the evidence alone supports.
    pub support: fn(&Evidence, i64, &mut Support),
    /// A later stage, for a rule that reads what the earlier stages found.
    pub later: Option<(Stage, Followup)>,
    /// Whether a change (CloudTrail, Twilio's Monitor) may explain this failure mode.
    pub related: fn(&Change, Option<&Snapshot>) -> bool,
    /// The repairs the console suggests for it, preferred first (the first one the evidence
    /// makes possible), and the variables it flags in the variables form.
    pub suggests: &'static [Choice],
    pub flags: &'static [&'static str],
}

/// When a [`Rule::later`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// After every rule's first stage, with risks set aside.
    AfterEvidence,
    /// After real users' failures were attached to what was named.
    AfterUsers,
}

/// A later stage's rule: `before` is what the earlier stages found.
pub type Followup = fn(&Evidence, i64, &[Finding], &mut Support);

/// Every failure mode, in [`FailureMode`]'s order (a test checks both).
pub const RULES: [Rule; 17] = [
    missing_env_vars::RULE,
    secret_unreadable::RULE,
    stub_provider::RULE,
    invalid_credentials::RULE,
    verify_service_missing::RULE,
    account_suspended::RULE,
    event_loop_blocked::RULE,
    network_blocked::RULE,
    rate_limited::RULE,
    deployment_failed::RULE,
    api_unreachable::RULE,
    verdicts::INCONCLUSIVE,
    verdicts::NONE,
    from_number_invalid::RULE,
    sms_undelivered::RULE,
    timeout_order::RULE,
    env_file_unreadable::RULE,
];

/// Runs every rule over `evidence`: the findings, merged by failure mode, and the risks.
pub(super) fn run(evidence: &Evidence, names: &Names, now_ms: i64) -> (Vec<Finding>, Vec<Finding>) {
    let mut found = Findings {
        list: Vec::new(),
        names,
        evidence,
    };
    for rule in &RULES {
        (rule.support)(evidence, now_ms, &mut found.support(rule.mode));
    }
    let risks = super::causes::set_aside_risks(&mut found.list, evidence.snapshot());
    later(Stage::AfterEvidence, evidence, now_ms, &mut found);
    users::real_traffic(evidence, &mut found);
    later(Stage::AfterUsers, evidence, now_ms, &mut found);
    (found.list, risks)
}

/// Runs the rules of `stage`, each reading the findings as they stood when it began.
fn later(stage: Stage, evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let before = found.list.clone();
    for rule in &RULES {
        if let Some((s, check)) = rule.later {
            if s == stage {
                check(evidence, now_ms, &before, &mut found.support(rule.mode));
            }
        }
    }
}

/// The findings so far, merged by failure mode.
pub struct Findings<'a> {
    pub(super) list: Vec<Finding>,
    names: &'a Names,
    evidence: &'a Evidence,
}

impl<'a> Findings<'a> {
    /// Adds a line of evidence to `mode`'s finding (made with its rule's commands when new),
    /// raising its confidence to `confidence`.
    pub fn add(&mut self, mode: FailureMode, confidence: u8, line: String) {
        if let Some(f) = self.list.iter_mut().find(|f| f.failure_mode == mode) {
            f.confidence = f.confidence.max(confidence);
            if !f.evidence.contains(&line) {
                f.evidence.push(line);
            }
        } else {
            let rule = mode.rule();
            self.list.push(Finding {
                failure_mode: mode,
                title: rule.title,
                confidence,
                evidence: vec![line],
                repair: mode.repair_on(self.names.platform),
                commands: (rule.commands)(self.names, self.evidence),
                explains: Vec::new(),
            });
        }
    }

    fn support<'s>(&'s mut self, mode: FailureMode) -> Support<'s, 'a> {
        Support { mode, found: self }
    }
}

/// What one rule may do: add evidence to its own failure mode, and nothing else.
pub struct Support<'s, 'a> {
    mode: FailureMode,
    found: &'s mut Findings<'a>,
}

impl Support<'_, '_> {
    /// Adds a line of evidence with `confidence` (3 direct, 2 logs or timing, 1 circumstantial,
    /// 0 a candidate only).
    pub fn add(&mut self, confidence: u8, line: String) {
        self.found.add(self.mode, confidence, line);
    }

    /// Whether this failure mode has any evidence yet.
    pub fn has(&self) -> bool {
        self.found.list.iter().any(|f| f.failure_mode == self.mode)
    }

    /// The names the commands use.
    pub fn names(&self) -> &Names {
        self.found.names
    }

    /// This failure mode's commands, once it has evidence.
    pub fn commands(&mut self) -> Option<&mut Vec<String>> {
        let mode = self.mode;
        self.found
            .list
            .iter_mut()
            .find(|f| f.failure_mode == mode)
            .map(|f| &mut f.commands)
    }

    /// Puts commands that name the real resources first among this mode's commands.
    pub fn name_resources(&mut self, first: Vec<String>) {
        if let Some(commands) = self.commands() {
            let rest: Vec<String> = commands.drain(..).filter(|c| !first.contains(c)).collect();
            *commands = first;
            commands.extend(rest);
        }
    }
}

/// The API's `/health` samples, and whether a latency is fast against their usual one
/// (outside OTP starts): under [`STALL_MS`] and ten times the baseline (at least 500 ms).
pub(super) struct HealthTiming<'a> {
    pub(super) samples: Vec<&'a Sample>,
    pub(super) baseline: Option<u64>,
}

impl<'a> HealthTiming<'a> {
    pub(super) fn of(evidence: &'a Evidence) -> Self {
        let samples: Vec<&Sample> = evidence
            .samples
            .iter()
            .filter(|s| s.endpoint == Endpoint::Health)
            .collect();
        let baseline = median(
            samples
                .iter()
                .filter(|s| !s.during_otp && s.class.is_ok())
                .map(|s| s.latency_ms),
        );
        Self { samples, baseline }
    }

    pub(super) fn is_fast(&self, ms: u64) -> bool {
        ms < STALL_MS.min(self.baseline.map_or(STALL_MS, |b| (b * 10).max(500)))
    }
}

/// Whether `mode` is among `findings`.
fn named(findings: &[Finding], mode: FailureMode) -> bool {
    findings.iter().any(|f| f.failure_mode == mode)
}

/// The backend's last log line of `kind`, as evidence (confidence 2), with how many there were.
fn log_line(evidence: &Evidence, kind: crate::probe::logs::LineKind, support: &mut Support) {
    if let Some(event) = evidence.last_line(kind) {
        support.add(
            2,
            format!(
                "log ×{}: {}",
                evidence.lines(kind),
                super::clip(&event.message, 110)
            ),
        );
    }
}

/// Twilio's refusals with one of `codes`, to the console's account read (`account fetch`)
/// or a test send (`test send`), in that order.
fn test_sends_refused<'e>(
    evidence: &'e Evidence,
    codes: &'e [&str],
) -> impl Iterator<Item = String> + 'e {
    evidence
        .sends
        .iter()
        .filter_map(|s| s.as_ref().err())
        .filter(|e| e.code.as_deref().is_some_and(|c| codes.contains(&c)))
        .map(|e| format!("test send: {}", e.message))
}

/// Twilio's refusal of the console's account read with one of `codes`.
fn account_refused(evidence: &Evidence, codes: &[&str]) -> Option<String> {
    match &evidence.account {
        Some(Err(e)) if e.code.as_deref().is_some_and(|c| codes.contains(&c)) => {
            Some(format!("account fetch: {}", e.message))
        }
        _ => None,
    }
}

/// The change is the registration or the deployment of the revision deployed now.
fn is_deployed_revision(change: &Change, snapshot: Option<&Snapshot>) -> bool {
    // App Runner: the UpdateService that started the primary operation (a minute apart at most).
    if change.service == "apprunner" {
        let primary = snapshot.and_then(|s| s.service.deployments.first());
        return change.action == "UpdateService"
            && primary
                .and_then(|d| d.created_ms)
                .is_some_and(|at| (change.at_ms - at).abs() <= 60_000);
    }
    let deployed = snapshot.map(|s| format!("{}:{}", s.deployed.family, s.deployed.revision));
    change.service == "ecs"
        && deployed.as_deref().is_some_and(|d| {
            (change.action == "RegisterTaskDefinition" && change.resource == d)
                || (change.action == "UpdateService"
                    && change.summary.contains(&format!("deployed {d} ")))
        })
}

/// No change explains it.
fn unrelated(_change: &Change, _snapshot: Option<&Snapshot>) -> bool {
    false
}

/// Nothing in the evidence supports it on its own.
fn no_support(_evidence: &Evidence, _now_ms: i64, _support: &mut Support) {}

/// The commands that register a changed task definition and deploy it (App Runner: one
/// UpdateService with the whole source configuration, which deploys it).
fn register_and_deploy(n: &Names) -> [String; 2] {
    if n.platform == Platform::AppRunner {
        return [
            format!("aws apprunner describe-service --service-arn {} --query Service.SourceConfiguration > source-configuration.json   # edit its RuntimeEnvironmentVariables: UpdateService replaces the whole map", n.service),
            format!("aws apprunner update-service --service-arn {} --source-configuration file://source-configuration.json", n.service),
        ];
    }
    [
        "aws ecs register-task-definition --cli-input-json file://task-def-updated.json".to_owned(),
        force_new_deployment(n),
    ]
}

fn force_new_deployment(n: &Names) -> String {
    if n.platform == Platform::AppRunner {
        return format!("aws apprunner start-deployment --service-arn {}", n.service);
    }
    format!(
        "aws ecs update-service --cluster {} --service {} --force-new-deployment",
        n.cluster, n.service
    )
}

/// The command that shows the deployed configuration's `member` (`environment`, `secrets`):
/// the app container's, or App Runner's image configuration's.
fn show_configured(n: &Names, member: &str) -> String {
    if n.platform == Platform::AppRunner {
        let member = match member {
            "secrets" => "RuntimeEnvironmentSecrets",
            _ => "RuntimeEnvironmentVariables",
        };
        return format!("aws apprunner describe-service --service-arn {} --query 'Service.SourceConfiguration.ImageRepository.ImageConfiguration.{member}'", n.service);
    }
    format!("aws ecs describe-task-definition --task-definition {} --query 'taskDefinition.containerDefinitions[0].{member}' --output table", n.service)
}

/// `curl` for the Twilio account, with the credentials from the environment.
const CURL_ACCOUNT: &str = "curl -u \"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN\" https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID.json";

/// `curl` for a test OTP start.
fn curl_otp_start(n: &Names) -> String {
    format!("curl -X POST {}/v1/auth/otp/start -H 'Content-Type: application/json' -d '{{\"phone\": \"+1XXXXXXXXXX\"}}'", n.api_base)
}

/// The backend's log lines about OTP over the last 30 minutes.
fn filter_log_events(n: &Names) -> String {
    format!("aws logs filter-log-events --log-group-name {} --filter-pattern OTP --start-time $(date -d '30 minutes ago' +%s000)", n.log_group)
}

fn describe_services(n: &Names) -> String {
    if n.platform == Platform::AppRunner {
        return format!("aws apprunner describe-service --service-arn {}", n.service);
    }
    format!(
        "aws ecs describe-services --cluster {} --services {}",
        n.cluster, n.service
    )
}
