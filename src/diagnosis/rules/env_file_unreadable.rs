//! `env_file_unreadable`: an `environmentFiles` object ECS cannot download when it starts a
//! task (the execution role may not `s3:GetObject` it, it does not exist, or it is not an S3
//! object ARN), or the tasks stopping with `failed to download env files`. A cause only while
//! tasks fail to start on it (ECS reads the files when it starts a task); otherwise a risk
//! ([`crate::diagnosis::causes`]).

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{causes, ends, Evidence, FailureMode, Names};
use crate::probe::changes::Change;
use crate::probe::ecs::Snapshot;
use crate::probe::env_files::{EnvFile, FileState, ACTION};
use crate::probe::iam::RoleAccess;

pub const RULE: Rule = Rule {
    mode: FailureMode::EnvFileUnreadable,
    id: "env_file_unreadable",
    title: "An env file the task definition lists cannot be downloaded",
    repair: "Let the execution role read the file (s3:GetObject, iam put-role-policy), put the file back, or point environmentFiles at one it can read (or roll back); then force a new deployment.",
    predicts: &[Symptom::TasksFailToStart],
    commands,
    underlies: &[FailureMode::DeploymentFailed],
    support,
    later: None,
    related,
    suggests: &[Choice::RollBack],
    flags: &[],
};

fn commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![
        format!("aws ecs describe-task-definition --task-definition {} --query 'taskDefinition.containerDefinitions[].[name,environmentFiles]'", n.service),
        "aws s3api head-object --bucket <bucket> --key <key>   # from the environmentFiles ARN arn:aws:s3:::<bucket>/<key>".into(),
        super::force_new_deployment(n),
    ]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    let Some(s) = evidence.snapshot() else {
        return;
    };
    for file in &s.env_files {
        file_read(s, file, support);
    }
    let stops = causes::stopped_starting(s).filter(|t| {
        t.stopped_reason
            .as_deref()
            .is_some_and(|reason| reason.contains("env file"))
    });
    if let Some(t) = stops.clone().next() {
        support.add(
            3,
            format!(
                "{} task(s) of :{} stopped: {}",
                stops.count(),
                t.revision.unwrap_or_default(),
                ends(t.stopped_reason.as_deref().unwrap_or_default(), 60, 110)
            ),
        );
    }
}

/// One file: refused to the execution role (IAM's simulation), missing, or not an S3 object.
fn file_read(s: &Snapshot, file: &EnvFile, support: &mut Support) {
    if let Some(access @ RoleAccess::Denied { .. }) = &file.role_access {
        let role = s.deployed.execution_role.as_deref().unwrap_or("?");
        support.add(
            3,
            format!(
                "{}: execution {} — IAM policy simulation; the ECS agent cannot download it, so new tasks stop",
                file.url,
                access.line(role)
            ),
        );
        let name = role.rsplit('/').next().unwrap_or(role);
        support.name_resources(vec![
            format!("aws iam simulate-principal-policy --policy-source-arn {role} --action-names {ACTION} --resource-arns {} --query 'EvaluationResults[].[EvalResourceName,EvalDecision]' --output text", file.arn),
            format!("aws iam put-role-policy --role-name {name} --policy-name read-env-files --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"{ACTION}\",\"Resource\":\"{}\"}}]}}'   # ECS starts the next task with it, no redeploy", file.arn),
        ]);
    }
    let confidence = match file.state {
        FileState::NotFound | FileState::BadReference => 2,
        _ => return,
    };
    support.add(
        confidence,
        file.detail
            .clone()
            .unwrap_or_else(|| format!("{}: {}", file.url, file.state.label())),
    );
    if file.state == FileState::NotFound {
        support.name_resources(vec![format!("aws s3 ls {}", file.url)]);
    }
}

/// The revision that started listing a file the role may not read (or that is gone), or a
/// change to the execution role's policies.
fn related(change: &Change, snapshot: Option<&Snapshot>) -> bool {
    let unreadable = snapshot.is_some_and(|s| {
        s.env_files.iter().any(|f| {
            matches!(f.state, FileState::NotFound | FileState::BadReference)
                || matches!(f.role_access, Some(RoleAccess::Denied { .. }))
        })
    });
    let role = snapshot
        .and_then(|s| s.deployed.execution_role.as_deref())
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn));
    unreadable
        && (super::is_deployed_revision(change, snapshot)
            || (change.service == "iam" && role.is_some_and(|r| change.resource.ends_with(r))))
}
