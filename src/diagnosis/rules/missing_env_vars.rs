//! `missing_env_vars`: the runbook's table of variables against the deployed task definition.

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::config::{VarStatus, ViolationKind};
use crate::diagnosis::{Evidence, FailureMode, Names};
use crate::probe::logs::LineKind;

pub const RULE: Rule = Rule {
    mode: FailureMode::MissingEnvVars,
    id: "missing_env_vars",
    title: "Missing environment variables",
    repair: "Add the missing variables to the ECS task definition, register it and deploy it.",
    // A provider without its variables refuses the start, waits for them, or the tasks crash
    // (a backend that validates its settings at startup: its tasks stop, /health goes).
    predicts: &[
        Symptom::OtpFails,
        Symptom::OtpHangs,
        Symptom::TasksFailToStart,
        Symptom::HealthFails,
    ],
    commands: task_definition_commands,
    underlies: &[FailureMode::DeploymentFailed],
    support,
    later: None,
    related: super::is_deployed_revision,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

/// Reading the container's variables, then registering and deploying a changed revision.
pub(super) fn task_definition_commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    let [register, deploy] = super::register_and_deploy(n);
    vec![super::show_configured(n, "environment"), register, deploy]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    if let Some(s) = evidence.snapshot() {
        let rev = format!("{}:{}", s.deployed.family, s.deployed.revision);
        for check in &s.checks {
            let VarStatus::Violation(v) = &check.status else {
                continue;
            };
            let was = s.previous.as_ref().map_or(String::new(), |p| {
                let present = p.environment.iter().any(|e| e.name == v.name)
                    || p.secrets.iter().any(|e| e.name == v.name);
                if present {
                    format!(" (present in :{})", p.revision)
                } else {
                    String::new()
                }
            });
            match v.kind {
                // OTP_PROVIDER not allowed is the stub provider's.
                ViolationKind::NotAllowed if v.name == "OTP_PROVIDER" => {}
                ViolationKind::Missing | ViolationKind::Empty => {
                    support.add(3, format!("{rev}: {}{was}", v.message));
                }
                ViolationKind::BadFormat | ViolationKind::NotAllowed => {
                    support.add(2, format!("{rev}: {}", v.message));
                }
            }
        }
    }
    super::log_line(evidence, LineKind::ProviderNotConfigured, support);
}
