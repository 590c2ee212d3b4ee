//! Causes apart from risks. A finding is the verdict only if it can explain what fails now:
//! a secret that cannot be read today matters to tasks that start today, not to the running
//! ones (ECS resolves `secrets` when it starts a task), and a missing variable does not explain
//! an API that does not answer at all unless the tasks fail to start because of it.

use super::{FailureMode, Finding};
use crate::probe::ecs;

/// Why the service's current deployment is failing to start tasks, in a few words, if it is:
/// tasks of it stopped before running (`ResourceInitializationError`, an essential container
/// that exited), fewer running than wanted while it rolls out, or its rollout failed.
pub(super) fn tasks_failing_to_start(s: &ecs::Snapshot) -> Option<String> {
    let primary = s
        .service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")?;
    if primary.rollout_state == "COMPLETED" {
        return None;
    }
    let rev = primary
        .revision
        .map_or_else(String::new, |r| format!(":{r}"));
    if primary.rollout_state == "FAILED" {
        return Some(format!("deployment of {rev} FAILED"));
    }
    if let Some(t) = stopped_starting(s).find(|t| t.last_status == "STOPPED") {
        return Some(format!("task {} stopped before running", t.id));
    }
    if primary.failed > 0 {
        return Some(format!(
            "{} task(s) of {rev} failed to start, {} of {} running",
            primary.failed, primary.running, primary.desired
        ));
    }
    (s.service.running < s.service.desired).then(|| {
        format!(
            "{} of {} tasks running while {rev} rolls out",
            s.service.running, s.service.desired
        )
    })
}

/// The tasks of the current deployment (PRIMARY, not yet COMPLETED) that ECS stopped while
/// starting them (`ResourceInitializationError`). Only the current deployment's: after a
/// repair's new deployment has come up, the old ones are history.
pub(super) fn stopped_starting(s: &ecs::Snapshot) -> impl Iterator<Item = &ecs::Task> + Clone {
    let current = s
        .service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .filter(|d| d.rollout_state != "COMPLETED");
    s.tasks.iter().filter(move |t| {
        current.is_some_and(|d| {
            d.created_ms
                .is_none_or(|created| t.stopped_ms.is_none_or(|at| at >= created))
        }) && t
            .stopped_reason
            .as_deref()
            .is_some_and(|why| why.contains("ResourceInitializationError"))
    })
}

/// Moves the findings that cannot explain what fails now out of `findings` and returns them as
/// risks, each with a line saying why it is one. Today: an unreadable secret or env file while the running
/// tasks are all up (they read it when they started); the next deployment or scale-out will
/// fail on it, so it is shown with the same evidence and fix.
pub(super) fn set_aside_risks(
    findings: &mut Vec<Finding>,
    snapshot: Option<&ecs::Snapshot>,
) -> Vec<Finding> {
    let Some(s) = snapshot else {
        return Vec::new();
    };
    if tasks_failing_to_start(s).is_some() {
        return Vec::new();
    }
    let (mut risks, causes): (Vec<Finding>, Vec<Finding>) =
        std::mem::take(findings).into_iter().partition(|f| {
            matches!(
                f.failure_mode,
                FailureMode::SecretUnreadable | FailureMode::EnvFileUnreadable
            )
        });
    *findings = causes;
    let why = if s.on_apprunner() {
        format!(
            "a risk, not the cause of what fails now: the service is {}, its instances started before it could not be read — App Runner read their secrets when they started; the next deployment or scale-out will fail on it and roll back",
            s.service.status
        )
    } else {
        format!(
            "a risk, not the cause of what fails now: {} of {} tasks run, started before it could not be read — ECS read their secrets and env files when they started; the next deployment or scale-out will stop on it",
            s.service.running, s.service.desired
        )
    };
    // A deployment since the running one that already failed on it and was rolled back (App
    // Runner's operations).
    let running_since = s
        .service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .and_then(|d| d.created_ms);
    let rolled_back = s
        .service
        .deployments
        .iter()
        .filter(|d| d.status != "PRIMARY" && d.rollout_reason.contains("ROLLBACK"))
        .filter(|d| d.created_ms >= running_since)
        .max_by_key(|d| d.created_ms);
    for risk in &mut risks {
        risk.evidence.push(why.clone());
        if let Some(d) = rolled_back {
            risk.evidence.push(format!(
                "{}: the previous configuration still serves",
                d.rollout_reason
            ));
        }
    }
    risks
}

/// An API that does not answer outranks a configuration finding (a missing variable, the stub
/// provider) unless the tasks fail to start or crash because of it (a failed deployment, the
/// backend's startup failure line): adding a variable does not bring back an API that nothing
/// serves.
pub(super) fn rank_what_explains(findings: &mut [Finding]) {
    let Some(api) = findings
        .iter()
        .position(|f| f.failure_mode == FailureMode::ApiUnreachable && f.confidence > 0)
    else {
        return;
    };
    let crashes_on_config = findings.iter().any(|f| {
        f.failure_mode == FailureMode::DeploymentFailed
            || (matches!(
                f.failure_mode,
                FailureMode::MissingEnvVars | FailureMode::StubProvider
            ) && f.evidence.iter().any(|e| e.starts_with("log: ")))
    });
    let config_first = findings.first().is_some_and(|f| {
        matches!(
            f.failure_mode,
            FailureMode::MissingEnvVars | FailureMode::StubProvider
        )
    });
    if config_first && !crashes_on_config {
        findings[..=api].rotate_right(1);
    }
}

/// Between the two most likely causes when they tie (the same confidence, as much of what was
/// seen explained, neither contradicted): the deeper one first when one brings the other about
/// (a secret ECS cannot read fails the deployment: [`super::Rule::underlies`]), else the tie,
/// which nothing seen settles: returned, for an `inconclusive` that lists both. An unreachable
/// API against a configuration finding is settled by [`rank_what_explains`] before.
pub(super) fn settle_ties(
    findings: &mut [Finding],
    observed: &super::symptoms::Observed,
) -> Option<(FailureMode, FailureMode)> {
    let live: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.confidence > 0 && !observed.contradicts(f.failure_mode))
        .map(|(i, _)| i)
        .take(2)
        .collect();
    let [i, j] = live[..] else {
        return None;
    };
    let (a, b) = (&findings[i], &findings[j]);
    let (first, second) = (a.failure_mode, b.failure_mode);
    if a.confidence != b.confidence
        || a.explains.len() != b.explains.len()
        || first == FailureMode::ApiUnreachable
        || second == FailureMode::ApiUnreachable
        || first.rule().underlies.contains(&second)
    {
        return None;
    }
    if second.rule().underlies.contains(&first) {
        findings[i..=j].rotate_right(1);
        return None;
    }
    Some((first, second))
}
