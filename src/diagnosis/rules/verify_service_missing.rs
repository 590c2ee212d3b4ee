//! `verify_service_missing`: the Verify service `TWILIO_VERIFY_SERVICE_SID` names is gone.

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{Evidence, FailureMode, Names};
use crate::probe::changes::{Change, Origin};
use crate::probe::ecs::Snapshot;
use crate::probe::logs::LineKind;
use crate::probe::ErrorKind;

pub const RULE: Rule = Rule {
    mode: FailureMode::VerifyServiceMissing,
    id: "verify_service_missing",
    title: "Twilio Verify service deleted or disabled",
    repair: "Create a Verify service (SMS, code length 6) in Twilio Console, update TWILIO_VERIFY_SERVICE_SID and deploy.",
    predicts: &[Symptom::OtpFails],
    commands,
    underlies: &[],
    support,
    later: None,
    related,
    suggests: &[Choice::SetEnv],
    flags: &["TWILIO_VERIFY_SERVICE_SID"],
};

fn commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    let [register, deploy] = super::register_and_deploy(n);
    vec!["curl -u \"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN\" https://verify.twilio.com/v2/Services/$TWILIO_VERIFY_SERVICE_SID".into(), register, deploy]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    if let Some(Err(e)) = &evidence.service {
        if e.kind == ErrorKind::NotFound && e.code.as_deref() == Some("20404") {
            support.add(3, format!("service fetch: {}", e.message));
        }
    }
    for line in super::test_sends_refused(evidence, &["20404"]) {
        support.add(3, line);
    }
    super::log_line(evidence, LineKind::ServiceNotFound, support);
}

fn related(change: &Change, _snapshot: Option<&Snapshot>) -> bool {
    let action = change.action.to_ascii_lowercase();
    (change.origin == Origin::TwilioMonitor
        && action.contains("verify")
        && action.contains("deleted"))
        || (change.service == "ssm" && change.resource.contains("verify"))
}
