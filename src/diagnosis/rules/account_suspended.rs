//! `account_suspended`: the Twilio account is suspended or closed.

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{Evidence, FailureMode};
use crate::probe::changes::{Change, Origin};
use crate::probe::ecs::Snapshot;
use crate::probe::logs::LineKind;

pub const RULE: Rule = Rule {
    mode: FailureMode::AccountSuspended,
    id: "account_suspended",
    title: "Twilio account suspended",
    repair: "Reactivate the Twilio account (billing / Twilio support); nothing in AWS will fix it.",
    predicts: &[Symptom::OtpFails],
    commands: super::invalid_credentials::twilio_commands,
    underlies: &[],
    support,
    later: None,
    related,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

const SUSPENDED: &[&str] = &["20005", "10001"];

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    if let Some(line) = super::account_refused(evidence, SUSPENDED) {
        support.add(3, line);
    }
    if let Some(Ok(account)) = &evidence.account {
        if account.status != "active" {
            support.add(
                3,
                format!("Twilio account {} is {}", account.sid, account.status),
            );
        }
    }
    for line in super::test_sends_refused(evidence, SUSPENDED) {
        support.add(3, line);
    }
    super::log_line(evidence, LineKind::AccountInactive, support);
}

fn related(change: &Change, _snapshot: Option<&Snapshot>) -> bool {
    change.origin == Origin::TwilioMonitor
        && change.action.to_ascii_lowercase().starts_with("account.")
}
