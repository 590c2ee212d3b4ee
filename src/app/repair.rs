//! The console's repair flow (the runbook's "Repair Actions" and "Verification After Fix"):
//! choose → (form) → plan → confirm by typing the service name → apply → follow the rollout →
//! verify. The state lives in [`App::repair`] and survives closing its window (`Esc` hides it,
//! `R` shows it again), so a rollout is never lost behind a modal. The plan and the rollout are
//! done by the runner ([`Command::PlanRepair`], [`Command::ApplyRepair`]); what they report
//! comes back as [`RepairUpdate`]s. Every step is recorded in the session's timeline.

use tui_input::Input;

use super::{App, Command, Modal, SendKind};
use crate::config::VarStatus;
use crate::diagnosis::FailureMode;
pub use crate::event::RepairUpdate;
use crate::keymap;
use crate::probe::http::Endpoint;
use crate::repair::egress::EgressPlan;
pub use crate::repair::Choice;
use crate::repair::{
    self, Applied, Plan, Repair, RevisionRef, Rollout, RolloutEvent, RolloutState,
};

/// Rollout events kept for the window (the timeline keeps its own, coalesced).
const MAX_ROLLOUT_EVENTS: usize = 200;

/// One row of the variables form: a name and its value (the value is never drawn).
#[derive(Debug, Clone, Default)]
pub struct Field {
    pub name: Input,
    pub value: Input,
}

/// Where the flow is.
#[derive(Debug, Clone)]
pub enum Stage {
    /// Pick a repair.
    Choose { selected: usize },
    /// Type the variables to set; `cell` is row × 2 + (0 name, 1 value).
    Form {
        fields: Vec<Field>,
        cell: usize,
        error: Option<String>,
    },
    /// The runner is reading the deployed revision and planning.
    Planning { what: String },
    /// The plan is shown; applying it needs the service name typed.
    Confirm { typed: Input, error: Option<String> },
    /// RegisterTaskDefinition / UpdateService in flight.
    Applying,
    /// Following the rollout.
    Following,
    /// Stable: the checks after the fix run against the new deployment (evidence older than
    /// `since_ms` was set aside).
    Verifying { since_ms: i64 },
    /// The plan or the apply failed, or the rollout failed or got stuck.
    Failed { error: String },
}

/// A repair in progress (or the last one, finished).
#[derive(Debug, Clone)]
pub struct RepairFlow {
    pub stage: Stage,
    pub plan: Option<Box<Plan>>,
    pub applied: Option<Applied>,
    /// What the follower reported, oldest first (bounded).
    pub events: Vec<RolloutEvent>,
    pub rollout: Option<Box<Rollout>>,
    /// When the rollout began following (ms since the epoch), for its elapsed time.
    pub started_ms: i64,
    /// The verdict once an OTP start after the fix has answered.
    pub verified: Option<FailureMode>,
    /// The ECS read the plan was made on: the report's "what changed" is the incident's diff,
    /// not the repair's own.
    pub before: Option<Box<crate::probe::ecs::Snapshot>>,
    /// The egress rule planned instead of a task definition change (`Choice::AllowEgress`).
    pub egress: Option<Box<EgressPlan>>,
    /// The security group rule ids AWS gave the added rule.
    pub egress_rules: Option<Vec<String>>,
    /// The App Runner repair planned instead (UpdateService, StartDeployment, ResumeService).
    pub apprunner: Option<Box<repair::apprunner::Plan>>,
    /// The App Runner operation it started, and the statuses it went through (when seen).
    pub operation: Option<Operation>,
}

/// An App Runner operation a repair started, as ListOperations showed it.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    pub id: String,
    /// Each status it reached, with when it was seen (ms since the epoch), oldest first.
    pub statuses: Vec<(i64, String)>,
}

impl Operation {
    /// Its latest status (`PENDING` before the first read).
    pub fn status(&self) -> &str {
        self.statuses.last().map_or("PENDING", |(_, s)| s.as_str())
    }
}

impl RepairFlow {
    fn new(stage: Stage) -> Self {
        Self {
            stage,
            plan: None,
            applied: None,
            events: Vec::new(),
            rollout: None,
            started_ms: 0,
            verified: None,
            before: None,
            egress: None,
            egress_rules: None,
            apprunner: None,
            operation: None,
        }
    }

    /// What applying the plan needs typed: the service's name.
    pub fn confirm_word<'a>(&'a self, service: &'a str) -> &'a str {
        match &self.apprunner {
            Some(plan) => plan.service_name(),
            None => confirm_word(self.plan.as_deref(), service),
        }
    }

    /// Whether the flow still waits for the runner (planning, applying, following).
    pub fn is_busy(&self) -> bool {
        matches!(
            self.stage,
            Stage::Planning { .. } | Stage::Applying | Stage::Following
        )
    }

    /// The newest progress the follower reported (a [`RolloutEvent::Progress`]).
    pub fn last_progress(&self) -> Option<&RolloutEvent> {
        self.events
            .iter()
            .rev()
            .find(|e| matches!(e, RolloutEvent::Progress { .. }))
    }

    /// One line for the header when the window is hidden.
    pub fn status(&self) -> String {
        match &self.stage {
            Stage::Choose { .. } | Stage::Form { .. } => "repair: choosing".into(),
            Stage::Planning { .. } => "repair: planning…".into(),
            Stage::Confirm { .. } => "repair: plan ready, not applied".into(),
            Stage::Applying => "repair: applying…".into(),
            Stage::Following if self.apprunner.is_some() => format!(
                "repair: operation {}…",
                self.operation.as_ref().map_or("PENDING", Operation::status)
            ),
            Stage::Following => match self.last_progress() {
                Some(RolloutEvent::Progress {
                    running, desired, ..
                }) => format!("repair: rollout {running}/{desired}…"),
                _ => "repair: rollout starting…".into(),
            },
            Stage::Verifying { .. } => match self.verified {
                Some(FailureMode::None) => "repair: verified".into(),
                Some(mode) => format!("repair: verdict after fix {}", mode.id()),
                None => "repair: stable, verify with o".into(),
            },
            Stage::Failed { .. } => "repair: failed".into(),
        }
    }
}

impl RepairFlow {
    /// The window's keys at this stage: what [`App::update`] dispatches on and what the
    /// window's hint line says.
    pub fn keys(&self) -> &'static [keymap::ModalKey] {
        match &self.stage {
            Stage::Choose { .. } => keymap::REPAIR_CHOOSE_KEYS,
            Stage::Form { .. } => keymap::REPAIR_FORM_KEYS,
            Stage::Confirm { .. } => keymap::REPAIR_CONFIRM_KEYS,
            Stage::Planning { .. } | Stage::Applying => keymap::REPAIR_BUSY_KEYS,
            Stage::Following => keymap::REPAIR_FOLLOWING_KEYS,
            Stage::Verifying { .. } => keymap::REPAIR_VERIFYING_KEYS,
            Stage::Failed { .. } if self.applied.is_some() => keymap::REPAIR_FAILED_APPLIED_KEYS,
            Stage::Failed { .. } => keymap::REPAIR_FAILED_KEYS,
        }
    }
}

impl App {
    /// `R`: shows the repair in progress, or starts choosing one.
    pub(super) fn open_repair(&mut self) {
        if self.repair.is_none() {
            self.repair = Some(RepairFlow::new(Stage::Choose {
                selected: self.suggested_choice(),
            }));
        }
        self.modal = Some(Modal::Repair);
    }

    /// The repair the verdict points at (its index in [`Choice::ALL`]): a roll back for a bad
    /// image or revision, the variables otherwise.
    pub fn suggested_choice(&self) -> usize {
        let platform = self.names.platform;
        let possible = |c: &Choice| match c {
            c if !c.runs_on(platform) => false,
            Choice::AllowEgress => self.security_group_blocks().is_some(),
            Choice::RestoreSecret => !self.secrets_scheduled_for_deletion().is_empty(),
            _ => true,
        };
        let rule = self.diagnosis.verdict.failure_mode.rule();
        let choice = rule
            .suggests
            .iter()
            .copied()
            .find(possible)
            .unwrap_or(Choice::SetEnv);
        Choice::ALL.iter().position(|c| *c == choice).unwrap_or(0)
    }

    /// Variables the evidence says to set: the env rules' violations, and the variable each
    /// credential failure mode points at.
    pub fn flagged_vars(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(Ok(snapshot)) = &self.evidence.ecs {
            for check in &snapshot.checks {
                if matches!(check.status, VarStatus::Violation(_)) {
                    names.push(check.name.clone());
                }
            }
        }
        // A secret the tasks cannot read (the execution role denied, the secret gone): point
        // the variable at one they can.
        if self.diagnosis.verdict.failure_mode == FailureMode::SecretUnreadable {
            if let Some(Ok(snapshot)) = &self.evidence.ecs {
                for r in &snapshot.secrets {
                    let denied = matches!(
                        r.role_access,
                        Some(crate::probe::iam::RoleAccess::Denied { .. })
                    );
                    if (denied || r.state != crate::probe::secrets::SecretState::Ok)
                        && !names.contains(&r.name)
                    {
                        names.push(r.name.clone());
                    }
                }
            }
        }
        let implied = self.diagnosis.verdict.failure_mode.rule().flags;
        for name in implied {
            if !names.iter().any(|n| n == name) {
                names.push((*name).to_owned());
            }
        }
        names
    }

    /// The failing security group hop of the network path as last read (what the egress
    /// repair fixes), if that is what blocks it.
    pub fn security_group_blocks(&self) -> Option<&crate::network::Hop> {
        let path = self.evidence.network.as_ref()?.as_ref().ok()?;
        path.failures()
            .find(|h| h.kind == crate::network::HopKind::SecurityGroup)
    }

    /// Variables of the deployed revision whose Secrets Manager secret is scheduled for
    /// deletion, as the last ECS read resolved them.
    pub fn secrets_scheduled_for_deletion(&self) -> Vec<String> {
        match &self.evidence.ecs {
            Some(Ok(s)) => s
                .secrets
                .iter()
                .filter(|r| r.state == crate::probe::secrets::SecretState::ScheduledForDeletion)
                .map(|r| r.name.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether `name` comes from a Secrets Manager secret in the deployed revision: setting it
    /// means putting a new value in that secret.
    fn is_in_secrets_manager(&self, name: &str) -> bool {
        match &self.evidence.ecs {
            Some(Ok(s)) => s.deployed.secrets.iter().any(|r| {
                r.name == name
                    && crate::probe::secrets::ValueFrom::parse(&r.value_from).store
                        == crate::probe::secrets::Store::SecretsManager
            }),
            _ => false,
        }
    }

    /// The revision a roll back goes to by default: the one before the deployed one.
    pub fn previous_revision(&self) -> Option<String> {
        match &self.evidence.ecs {
            Some(Ok(s)) => s
                .previous
                .as_ref()
                .map(|p| format!("{}:{}", p.family, p.revision)),
            _ => None,
        }
    }

    fn choose(&mut self, flow: &mut RepairFlow) -> Vec<Command> {
        let Stage::Choose { selected } = flow.stage else {
            return Vec::new();
        };
        let choice = Choice::ALL[selected.min(Choice::ALL.len() - 1)];
        if !choice.runs_on(self.names.platform) {
            flow.stage = Stage::Failed {
                error: "On App Runner the console sets variables (UpdateService) or redeploys (StartDeployment; ResumeService when paused): press n for another repair, or run the verdict's commands".into(),
            };
            return Vec::new();
        }
        let repair = match choice {
            Choice::SetEnv => {
                let mut fields: Vec<Field> = self
                    .flagged_vars()
                    .into_iter()
                    .map(|name| Field {
                        name: Input::new(name),
                        value: Input::default(),
                    })
                    .collect();
                if fields.is_empty() {
                    fields.push(Field::default());
                }
                // The cursor starts on the first value when the names are known.
                let cell = usize::from(!fields[0].name.value().is_empty());
                flow.stage = Stage::Form {
                    fields,
                    cell,
                    error: None,
                };
                return Vec::new();
            }
            Choice::AllowEgress => {
                flow.stage = Stage::Planning {
                    what: "allow outbound HTTPS on the service's security group".into(),
                };
                return vec![Command::PlanEgress];
            }
            Choice::RollBack => Repair::RollbackTo(RevisionRef::Previous),
            Choice::Redeploy => Repair::Redeploy,
            Choice::RestoreSecret => {
                let Some(name) = self.secrets_scheduled_for_deletion().into_iter().next() else {
                    flow.stage = Stage::Failed {
                        error: "No secret of the deployed revision is scheduled for deletion (as of the last ECS read): nothing to restore".into(),
                    };
                    return Vec::new();
                };
                Repair::RestoreSecret(name)
            }
        };
        flow.stage = Stage::Planning {
            what: plan_label(&repair),
        };
        vec![Command::PlanRepair(repair)]
    }

    /// Takes in what the runner reports about the repair.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    pub(super) fn repair_update(&mut self, update: RepairUpdate) -> Vec<Command> {
        let Some(flow) = self.repair.as_mut() else {
            return Vec::new();
        };
        let now = self.now_ms;
        match update {
            RepairUpdate::AppRunnerPlanned(_)
            | RepairUpdate::OperationStarted(_)
            | RepairUpdate::Operation(_)
            | RepairUpdate::OperationEnded(_) => return self.apprunner_update(update),
            RepairUpdate::Planned(result) => {
                let shown = result
                    .as_ref()
                    .map(|p| (repair::render::summary(p), p.to_json()));
                if take_plan(&mut self.timeline, flow, shown, now) {
                    flow.plan = result.ok();
                    flow.before = self.evidence.snapshot().cloned().map(Box::new);
                }
            }
            RepairUpdate::EgressPlanned(result) => {
                let shown = result.as_ref().map(|p| (p.summary(), p.to_json()));
                if take_plan(&mut self.timeline, flow, shown, now) {
                    flow.egress = result.ok();
                }
            }
            RepairUpdate::EgressApplied(result) => match result {
                Ok(rules) => {
                    let group = flow.egress.as_ref().map_or("", |p| p.group.as_str());
                    self.timeline.record_action(
                        format!(
                            "applied: egress tcp 443 on {group} ({}); no deployment needed",
                            rules.join(", ")
                        ),
                        now,
                    );
                    flow.egress_rules = Some(rules);
                    flow.started_ms = now;
                    // Security group rules apply to the running tasks at once: the checks
                    // after the fix start now, on what happens from now on.
                    flow.stage = Stage::Verifying { since_ms: now };
                    self.evidence.forget_before(now);
                    self.rediagnose();
                    return vec![Command::ProbeAll];
                }
                Err(error) => {
                    self.timeline
                        .record_action(format!("repair could not be applied: {error}"), now);
                    flow.stage = Stage::Failed { error };
                }
            },
            RepairUpdate::Applied(result) => match result {
                Ok(applied) => {
                    self.timeline.record_action_with(
                        format!(
                            "applied: {} (revision {}), deployment {}",
                            applied.task_definition_arn, applied.revision, applied.deployment_id
                        ),
                        applied.to_json(),
                        now,
                    );
                    flow.applied = Some(applied);
                    flow.started_ms = now;
                    flow.stage = Stage::Following;
                }
                Err(error) => {
                    self.timeline
                        .record_action(format!("repair could not be applied: {error}"), now);
                    flow.stage = Stage::Failed { error };
                }
            },
            RepairUpdate::Rollout(event) => {
                self.timeline.record_rollout_event(&event, now);
                flow.events.push(event);
                if flow.events.len() > MAX_ROLLOUT_EVENTS {
                    flow.events.remove(0);
                }
            }
            RepairUpdate::Finished(rollout) => {
                self.timeline.record_action(rollout.summary(), now);
                let state = rollout.state;
                let reason = rollout.reason.clone();
                flow.rollout = Some(rollout);
                if state == RolloutState::Completed {
                    let since_ms = flow
                        .applied
                        .as_ref()
                        .map_or(now, |a| a.deployment_created_ms.min(now));
                    flow.stage = Stage::Verifying { since_ms };
                    // The verification judges the new deployment only: not what the tasks
                    // it replaced logged while they drained.
                    let revision = flow.applied.as_ref().map(|a| a.revision);
                    let replaced: Vec<String> = self
                        .evidence
                        .snapshot()
                        .map(|s| {
                            s.tasks
                                .iter()
                                .filter(|t| {
                                    t.started_ms.is_some_and(|at| at < since_ms)
                                        || (revision.is_some() && t.revision != revision)
                                })
                                .map(|t| t.id.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    self.evidence.forget_replaced(since_ms, replaced);
                    self.rediagnose();
                    return vec![Command::ProbeAll];
                }
                flow.stage = Stage::Failed {
                    error: format!("rollout {}: {reason}", state.name()),
                };
            }
        }
        Vec::new()
    }

    /// Takes in what the runner reports about an App Runner repair: the plan, the operation
    /// it started and its statuses; SUCCEEDED starts the checks after the fix.
    fn apprunner_update(&mut self, update: RepairUpdate) -> Vec<Command> {
        let Some(flow) = self.repair.as_mut() else {
            return Vec::new();
        };
        let now = self.now_ms;
        match update {
            RepairUpdate::AppRunnerPlanned(result) => {
                let shown = result.as_ref().map(|p| (p.summary(), p.to_json()));
                if take_plan(&mut self.timeline, flow, shown, now) {
                    flow.apprunner = result.ok();
                    flow.before = self.evidence.snapshot().cloned().map(Box::new);
                }
            }
            RepairUpdate::OperationStarted(Ok(id)) => {
                let call = flow.apprunner.as_ref().map_or("", |p| p.call());
                self.timeline.record_action_with(
                    format!("applied: App Runner {call}, operation {id}"),
                    serde_json::json!({ "call": call, "operation_id": id }),
                    now,
                );
                flow.operation = Some(Operation {
                    id,
                    statuses: Vec::new(),
                });
                flow.started_ms = now;
                flow.stage = Stage::Following;
            }
            RepairUpdate::OperationStarted(Err(error)) => {
                self.timeline
                    .record_action(format!("repair could not be applied: {error}"), now);
                flow.stage = Stage::Failed { error };
            }
            RepairUpdate::Operation(status) => {
                if let Some(op) = flow.operation.as_mut() {
                    op.statuses.push((now, status));
                }
            }
            RepairUpdate::OperationEnded(result) => {
                let id = flow.operation.as_ref().map_or("", |o| o.id.as_str());
                let elapsed =
                    crate::diagnosis::fmt_ms((now - flow.started_ms).max(0).unsigned_abs());
                let error = match result {
                    Ok(status) if status == "SUCCEEDED" => {
                        self.timeline.record_action(
                            format!("operation {id} SUCCEEDED in {elapsed}"),
                            now,
                        );
                        // The old instances are gone: the checks after the fix judge what
                        // the service does from now on.
                        flow.stage = Stage::Verifying { since_ms: now };
                        self.evidence.forget_before(now);
                        self.rediagnose();
                        return vec![Command::ProbeAll];
                    }
                    Ok(status) => format!(
                        "operation {id} ended {status} after {elapsed}: App Runner kept (or rolled back to) the previous configuration"
                    ),
                    Err(error) => error,
                };
                self.timeline
                    .record_action(format!("repair failed: {error}"), now);
                flow.stage = Stage::Failed { error };
            }
            _ => {}
        }
        Vec::new()
    }

    /// After an observation: an OTP start answered after the fix completes the verification.
    pub(super) fn repair_observed(&mut self, endpoint: Endpoint, started_ms: i64) {
        let Some(flow) = self.repair.as_mut() else {
            return;
        };
        if let Stage::Verifying { since_ms } = flow.stage {
            if endpoint == Endpoint::OtpStart && started_ms >= since_ms {
                flow.verified = Some(self.diagnosis.verdict.failure_mode);
                self.timeline
                    .record_verification(&self.diagnosis, self.now_ms);
            }
        }
    }

    fn notice_info(&mut self, text: &str) {
        self.notice = Some((
            crate::event::Notice {
                is_error: false,
                text: text.to_owned(),
            },
            self.now_ms,
        ));
    }
}

/// The service name a plan names (the one it was made for), else the configured one.
fn confirm_word<'a>(plan: Option<&'a Plan>, service: &'a str) -> &'a str {
    plan.map_or(service, |p| p.service.as_str())
}

/// A plan (its summary and JSON) or why there is none arrived: recorded, and the window asks
/// for the service name or says why. False when the flow no longer waits for it (cancelled
/// meanwhile) or there is no plan: nothing to keep.
fn take_plan(
    timeline: &mut crate::report::Timeline,
    flow: &mut RepairFlow,
    shown: Result<(String, serde_json::Value), &String>,
    now: i64,
) -> bool {
    if !matches!(flow.stage, Stage::Planning { .. }) {
        return false;
    }
    match shown {
        Ok((summary, json)) => {
            plan_ready(
                timeline,
                flow,
                format!("repair planned: {summary}"),
                json,
                now,
            );
            true
        }
        Err(error) => {
            plan_failed(timeline, flow, error.clone(), now);
            false
        }
    }
}

/// A plan arrived: recorded with its JSON, and the window asks for the service name.
fn plan_ready(
    timeline: &mut crate::report::Timeline,
    flow: &mut RepairFlow,
    line: String,
    json: serde_json::Value,
    now: i64,
) {
    timeline.record_action_with(line, json, now);
    flow.stage = Stage::Confirm {
        typed: Input::default(),
        error: None,
    };
}

/// No plan could be made: recorded, and the window says why.
fn plan_failed(
    timeline: &mut crate::report::Timeline,
    flow: &mut RepairFlow,
    error: String,
    now: i64,
) {
    timeline.record_action(format!("repair could not be planned: {error}"), now);
    flow.stage = Stage::Failed { error };
}

/// Where a failed rollout goes back to: the revision the repair started from, or the one
/// before it when the repair redeployed that same revision.
fn rollback_target(flow: &RepairFlow) -> Option<RevisionRef> {
    let plan = flow.plan.as_ref()?;
    let applied = flow.applied.as_ref()?;
    Some(if applied.revision == plan.source.revision {
        RevisionRef::Previous
    } else {
        RevisionRef::Number(plan.source.revision)
    })
}

/// The form's rows as `NAME=VALUE` assignments (empty rows skipped), or what is wrong.
fn assignments(fields: &[Field]) -> Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for field in fields {
        let name = field.name.value().trim();
        let value = field.value.value();
        if name.is_empty() && value.is_empty() {
            continue;
        }
        let (name, value) = repair::parse_assignment(&format!("{name}={value}"))
            .map_err(|e| e.0.trim_start_matches("--set ").to_owned())?;
        if value.is_empty() {
            return Err(format!(
                "{name}: type a value (an empty value is not a fix)"
            ));
        }
        if vars.iter().any(|(n, _): &(String, String)| *n == name) {
            return Err(format!("{name} is in the form twice"));
        }
        vars.push((name, value));
    }
    if vars.is_empty() {
        return Err("Type at least one variable and its value".into());
    }
    Ok(vars)
}

impl App {
    /// The form's variables as a repair: values that are secret ARNs point the variables at
    /// those secrets (`valueFrom`, a new revision); a variable that comes from a Secrets Manager
    /// secret becomes a new value in that secret (one at a time); the others a new revision.
    fn secret_or_env(&self, vars: Vec<(String, String)>) -> Result<Repair, String> {
        let is_reference = |value: &str| {
            value.starts_with("arn:aws")
                && (value.contains(":secretsmanager:") || value.contains(":ssm:"))
        };
        let references = vars.iter().filter(|(_, v)| is_reference(v)).count();
        if references > 0 {
            if references < vars.len() {
                return Err(
                    "Secret ARNs and plain values in one form: point variables at secrets in one repair, set values in another".into(),
                );
            }
            return vars
                .iter()
                .map(|(n, v)| {
                    repair::parse_secret_ref(&format!("{n}={v}"))
                        .map_err(|e| e.0.trim_start_matches("--set-secret ").to_owned())
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Repair::PointSecret);
        }
        let from_secret: Vec<&String> = vars
            .iter()
            .map(|(n, _)| n)
            .filter(|n| self.is_in_secrets_manager(n))
            .collect();
        match (from_secret.as_slice(), vars.len()) {
            ([], _) => Ok(Repair::Set(vars)),
            ([_], 1) => {
                let mut vars = vars;
                let (name, value) = vars.remove(0);
                Ok(Repair::PutSecret(name, value))
            }
            ([name, ..], _) => Err(format!(
                "{name} comes from a Secrets Manager secret: set it alone (its secret gets the new value, then a new deployment)"
            )),
        }
    }
}

fn plan_label(repair: &Repair) -> String {
    match repair {
        Repair::Set(vars) => format!(
            "set {}",
            vars.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Repair::RollbackTo(to) => format!("roll back to {to}"),
        Repair::Redeploy => "force a new deployment".into(),
        Repair::RestoreSecret(name) => format!("restore the secret of {name} and redeploy"),
        Repair::PutSecret(name, _) => {
            format!("put a new value in the secret of {name} and redeploy")
        }
        Repair::PointSecret(refs) => format!(
            "point {} at another secret",
            refs.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

mod keys;
#[cfg(test)]
mod tests;
