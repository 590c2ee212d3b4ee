//! `stub_provider`: `OTP_PROVIDER` set to the stub, which sends no SMS.

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::config::{VarStatus, ViolationKind};
use crate::diagnosis::{clip, Evidence, FailureMode};
use crate::probe::logs::LineKind;

pub const RULE: Rule = Rule {
    mode: FailureMode::StubProvider,
    id: "stub_provider",
    title: "OTP_PROVIDER set to \"stub\"",
    repair: "Set OTP_PROVIDER=twilio_verify in the task definition, register it and deploy it.",
    // The stub answers and sends nothing; in production the backend refuses to start with it
    // (its tasks stop, /health goes).
    predicts: &[
        Symptom::SmsNotDelivered,
        Symptom::OtpFails,
        Symptom::TasksFailToStart,
        Symptom::HealthFails,
    ],
    commands: super::missing_env_vars::task_definition_commands,
    underlies: &[FailureMode::DeploymentFailed],
    support,
    later: None,
    related: super::is_deployed_revision,
    suggests: &[Choice::SetEnv],
    flags: &["OTP_PROVIDER"],
};

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    if let Some(s) = evidence.snapshot() {
        let rev = format!("{}:{}", s.deployed.family, s.deployed.revision);
        for check in &s.checks {
            if let VarStatus::Violation(v) = &check.status {
                if v.kind == ViolationKind::NotAllowed && v.name == "OTP_PROVIDER" {
                    support.add(3, format!("{rev}: {}", v.message));
                }
            }
        }
    }
    if let Some(event) = evidence
        .last_line(LineKind::StartupFailure)
        .filter(|e| e.message.contains("stub"))
    {
        support.add(2, format!("log: {}", clip(&event.message, 110)));
    }
}
