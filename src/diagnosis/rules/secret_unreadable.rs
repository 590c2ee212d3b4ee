//! `secret_unreadable`: a `secrets` entry ECS cannot read (deleted, scheduled for deletion,
//! missing its JSON key, refused to the execution role or by a KMS key), or the tasks stopping
//! with `ResourceInitializationError` about it. A cause only while tasks fail to start on it
//! (ECS reads secrets when it starts a task); otherwise a risk ([`crate::diagnosis::causes`]).

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{causes, ends, Evidence, FailureMode, Names};
use crate::probe::changes::Change;
use crate::probe::ecs::Snapshot;
use crate::probe::secrets::{Resolved, RoleAccess, SecretState};

pub const RULE: Rule = Rule {
    mode: FailureMode::SecretUnreadable,
    id: "secret_unreadable",
    title: "A secret the service's configuration references cannot be read",
    repair: "Restore the secret (RestoreSecret) or put its value back (PutSecretValue), let the execution role read it (iam put-role-policy), or point valueFrom at one that exists; then force a new deployment.",
    predicts: &[Symptom::TasksFailToStart],
    commands,
    underlies: &[FailureMode::DeploymentFailed],
    support,
    later: None,
    related,
    suggests: &[Choice::RestoreSecret, Choice::SetEnv],
    flags: &[],
};

fn commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![
        super::show_configured(n, "secrets"),
        "aws secretsmanager describe-secret --secret-id <the valueFrom's ARN, without its :json-key:stage:version suffix>".into(),
        "aws secretsmanager restore-secret --secret-id <ARN>   # when it is scheduled for deletion".into(),
        super::force_new_deployment(n),
    ]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    secrets_read(evidence, support);
    secret_stops(evidence, support);
}

/// The deployed container's `secrets`, as the operator could resolve them, and whether the
/// execution role may read them.
fn secrets_read(evidence: &Evidence, support: &mut Support) {
    let Some(s) = evidence.snapshot() else {
        return;
    };
    for r in &s.secrets {
        // The operator may read it and the service may not: IAM's policy simulator says so
        // before (or beside) the tasks that stop on it.
        if let Some(line) = role_denied(s, r) {
            support.add(3, line);
            if let Some(resources) = role_commands(s, r) {
                support.name_resources(resources);
            }
        }
        // A customer-managed key that refuses the operator: its key policy is the first
        // thing to read, and the tasks' stop reasons say whether ECS is refused too.
        if let (SecretState::KmsDenied, Some(key)) = (r.state, r.kms_key_id.as_deref()) {
            if support.has()
                || s.tasks.iter().any(|t| {
                    t.stopped_reason
                        .as_deref()
                        .is_some_and(|why| why.contains("Access to KMS is not allowed"))
                })
            {
                support.add(
                    3,
                    format!(
                        "{} ← {}: KMS key {key} refuses to decrypt it (the operator too)",
                        r.name, r.source
                    ),
                );
                support.name_resources(vec![
                    format!(
                        "aws kms get-key-policy --key-id {key} --policy-name default --output text"
                    ),
                    format!(
                        "aws secretsmanager describe-secret --secret-id {} --query KmsKeyId",
                        r.arn.as_deref().unwrap_or(&r.value_from)
                    ),
                ]);
            }
        }
        if let Some((confidence, line)) = state_line(r) {
            support.add(confidence, line);
        }
    }
}

/// A secret a task (or App Runner instance) started now could not read.
pub struct Unreadable<'s> {
    pub secret: &'s Resolved,
    /// Refused to the role that reads it (IAM's policy simulation), rather than gone,
    /// scheduled for deletion or missing its JSON key.
    pub by_role: bool,
    /// Why, in one line (the evidence line of this rule).
    pub line: String,
}

/// The secrets of `s` that a task (or instance) started now could not read. What a repair
/// that starts new tasks must warn of before it does.
pub fn unreadable(s: &Snapshot) -> Vec<Unreadable<'_>> {
    s.secrets
        .iter()
        .flat_map(|r| {
            let denied = role_denied(s, r).map(|line| Unreadable {
                secret: r,
                by_role: true,
                line,
            });
            let state = state_line(r).map(|(_, line)| Unreadable {
                secret: r,
                by_role: false,
                line,
            });
            denied.into_iter().chain(state)
        })
        .collect()
}

/// The role that reads `r` for the service may not (IAM's policy simulation), in one line.
fn role_denied(s: &Snapshot, r: &Resolved) -> Option<String> {
    let access @ RoleAccess::Denied { action, .. } = r.role_access.as_ref()? else {
        return None;
    };
    let role = s.deployed.execution_role.as_deref().unwrap_or("?");
    // App Runner reads `RuntimeEnvironmentSecrets` as the instance role, ECS's agent
    // `secrets` as the execution role.
    let (kind, reader) = if s.on_apprunner() {
        (
            "instance",
            "App Runner cannot read it, so new instances fail to start (the operation rolls back)",
        )
    } else {
        (
            "execution",
            "the ECS agent cannot read it, so new tasks stop",
        )
    };
    Some(format!(
        "{} ← {}: {kind} {} on {} — IAM policy simulation; {reader}",
        r.name,
        r.source,
        access.line(role),
        denied_on(r, action).unwrap_or(&r.value_from)
    ))
}

/// What was denied: the secret itself, or (kms:Decrypt) the key it is under.
fn denied_on<'r>(r: &'r Resolved, action: &str) -> Option<&'r str> {
    if action == "kms:Decrypt" {
        r.kms_key_id.as_deref()
    } else {
        r.arn.as_deref()
    }
}

/// The commands that check and grant the role's access to `r`, when it is denied.
fn role_commands(s: &Snapshot, r: &Resolved) -> Option<Vec<String>> {
    let Some(RoleAccess::Denied { action, .. }) = &r.role_access else {
        return None;
    };
    let arn = denied_on(r, action)?;
    let role = s.deployed.execution_role.as_deref().unwrap_or("?");
    let name = role.rsplit('/').next().unwrap_or(role);
    let next = if s.on_apprunner() {
        "App Runner reads it when it next starts an instance"
    } else {
        "ECS starts the next task with it, no redeploy"
    };
    Some(vec![
        format!("aws iam simulate-principal-policy --policy-source-arn {role} --action-names {action} --resource-arns {arn} --query 'EvaluationResults[].[EvalResourceName,EvalDecision]' --output text"),
        format!("aws iam put-role-policy --role-name {name} --policy-name read-{} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"{action}\",\"Resource\":\"{arn}\"}}]}}'   # {next}", r.name.to_ascii_lowercase().replace('_', "-")),
    ])
}

/// A secret that is gone, scheduled for deletion or missing its JSON key, with the
/// confidence it carries as evidence.
fn state_line(r: &Resolved) -> Option<(u8, String)> {
    let confidence = match r.state {
        SecretState::ScheduledForDeletion | SecretState::JsonKeyMissing => 3,
        SecretState::NotFound => 2,
        _ => return None,
    };
    Some((
        confidence,
        format!(
            "{} ← {}: {}",
            r.name,
            r.source,
            r.detail.clone().unwrap_or_else(|| r.state.label().into())
        ),
    ))
}

/// The tasks' own word on the secrets: the current deployment's tasks stopping with
/// `ResourceInitializationError` about them.
fn secret_stops(evidence: &Evidence, support: &mut Support) {
    let Some(s) = evidence.snapshot() else {
        return;
    };
    let secret_stops = causes::stopped_starting(s).filter(|t| {
        t.stopped_reason
            .as_deref()
            .is_some_and(|reason| reason.contains("secret") || reason.contains("ssm"))
    });
    if let Some(t) = secret_stops.clone().next() {
        support.add(
            3,
            format!(
                "{} task(s) of :{} stopped: {}",
                secret_stops.count(),
                t.revision.unwrap_or_default(),
                ends(t.stopped_reason.as_deref().unwrap_or_default(), 60, 110)
            ),
        );
    }
}

/// A change to an unreadable secret, the revision that started reading one its role may not,
/// or a change to the execution role's policies.
fn related(change: &Change, snapshot: Option<&Snapshot>) -> bool {
    // Unreadable by the operator, or by the execution role (IAM's simulation).
    let unreadable: Vec<&str> = snapshot
        .into_iter()
        .flat_map(|s| &s.secrets)
        .filter(|r| {
            r.state != SecretState::Ok || matches!(r.role_access, Some(RoleAccess::Denied { .. }))
        })
        .map(|r| r.value_from.as_str())
        .collect();
    let role_denied = snapshot.is_some_and(|s| {
        s.secrets
            .iter()
            .any(|r| matches!(r.role_access, Some(RoleAccess::Denied { .. })))
    });
    let role = snapshot
        .and_then(|s| s.deployed.execution_role.as_deref())
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn));
    (matches!(change.service.as_str(), "secretsmanager" | "ssm")
        && unreadable.iter().any(|from| {
            let name = change.resource.trim_start_matches('/');
            !name.is_empty() && from.contains(name)
        }))
        || (role_denied && super::is_deployed_revision(change, snapshot))
        || (role_denied
            && change.service == "iam"
            && role.is_some_and(|r| change.resource.ends_with(r)))
}
