//! `deployment_failed`: the deployment's tasks do not start, or stop right after starting.

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{clip, Evidence, FailureMode, Names};
use crate::probe::ecs;
use crate::probe::logs::LineKind;

pub const RULE: Rule = Rule {
    mode: FailureMode::DeploymentFailed,
    id: "deployment_failed",
    title: "Deployment failed: tasks do not start",
    repair:
        "Read the stopped tasks' reasons and service events; roll back to the previous revision.",
    predicts: &[Symptom::TasksFailToStart, Symptom::HealthFails],
    commands,
    underlies: &[],
    support,
    later: None,
    related: super::is_deployed_revision,
    suggests: &[Choice::RollBack],
    flags: &[],
};

fn commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![
        super::describe_services(n),
        format!(
            "aws ecs list-tasks --cluster {} --service-name {} --desired-status STOPPED",
            n.cluster, n.service
        ),
    ]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    if let Some(s) = evidence.snapshot() {
        let primary = s.service.deployments.iter().find(|d| d.status == "PRIMARY");
        let stopped: Vec<&ecs::Task> = s
            .tasks
            .iter()
            .filter(|t| {
                t.last_status == "STOPPED"
                    && t.stop_code.as_deref() != Some("ServiceSchedulerInitiated")
            })
            .collect();
        if let Some(d) = primary {
            if d.rollout_state == "FAILED" {
                support.add(
                    3,
                    format!("deployment {} FAILED: {}", d.id, d.rollout_reason),
                );
            } else if d.failed > 0 && s.service.running == 0 {
                let reason = stopped
                    .first()
                    .and_then(|t| t.stopped_reason.clone())
                    .unwrap_or_else(|| "tasks stop after starting".into());
                support.add(
                    3,
                    format!("{} failed tasks, 0 running; last stop: {reason}", d.failed),
                );
            }
        }
    }
    if let Some(event) = evidence
        .last_line(LineKind::StartupFailure)
        .filter(|e| !e.message.contains("stub"))
    {
        support.add(2, format!("log: {}", clip(&event.message, 110)));
    }
}
