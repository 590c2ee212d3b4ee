//! `from_number_invalid`: `OTP_FROM_NUMBER` is not an SMS-capable number (or Messaging Service)
//! of the account (21606, 21659, 21212).

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{Evidence, FailureMode, Names};
use crate::probe::changes::{Change, Origin};
use crate::probe::ecs::Snapshot;
use crate::probe::logs::LineKind;
use crate::probe::twilio::delivery;

pub const RULE: Rule = Rule {
    mode: FailureMode::FromNumberInvalid,
    id: "from_number_invalid",
    title: "OTP_FROM_NUMBER is not an SMS-capable number of the account",
    repair: "Buy or re-assign an SMS-capable number in Twilio Console (Phone Numbers > Manage), set OTP_FROM_NUMBER to it in the task definition (repair: --set OTP_FROM_NUMBER=+1…) and deploy.",
    predicts: &[Symptom::OtpFails, Symptom::SmsNotDelivered],
    commands,
    underlies: &[],
    support,
    later: None,
    related,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

fn commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    let [register, deploy] = super::register_and_deploy(n);
    vec![
        "curl -u \"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN\" -G https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/IncomingPhoneNumbers.json --data-urlencode PhoneNumber=$OTP_FROM_NUMBER".into(),
        format!("otp-console repair --set OTP_FROM_NUMBER=+1XXXXXXXXXX   # or: {register}"),
        deploy,
    ]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    if let Some(line) = sender(evidence) {
        support.add(3, line);
    }
    for send in &evidence.sends {
        if let Err(e) = send {
            let code = e.code.as_deref().and_then(|c| c.parse::<u32>().ok());
            if code.is_some_and(delivery::is_sender_error) {
                support.add(3, format!("test send: {}", e.message));
            }
        }
    }
    if let Some((FailureMode::FromNumberInvalid, confidence, line)) =
        super::sms_undelivered::real_users_sms(evidence)
    {
        support.add(confidence, line);
    }
    super::log_line(evidence, LineKind::FromNumberInvalid, support);
}

/// The From number of the `twilio_sms` provider, as the account lists it.
fn sender(evidence: &Evidence) -> Option<String> {
    let Some(Ok(sender)) = &evidence.sender else {
        return None;
    };
    let is_service = sender.from.starts_with("MG");
    let from = &sender.from;
    if !sender.owned && is_service {
        Some(format!(
            "OTP_FROM_NUMBER {from} is not a Messaging Service of the account (deleted?)"
        ))
    } else if !sender.owned {
        Some(format!("OTP_FROM_NUMBER {from} is not among the account's numbers (IncomingPhoneNumbers): released or never bought"))
    } else if !sender.sms_capable && is_service {
        Some(format!(
            "OTP_FROM_NUMBER {from} ({}) has no SMS-capable number in its sender pool",
            sender.friendly_name
        ))
    } else if !sender.sms_capable {
        Some(format!(
            "OTP_FROM_NUMBER {from} ({}) is owned but cannot send SMS",
            sender.friendly_name
        ))
    } else {
        None
    }
}

fn related(change: &Change, _snapshot: Option<&Snapshot>) -> bool {
    let action = change.action.to_ascii_lowercase();
    change.origin == Origin::TwilioMonitor
        && action.contains("phone-number")
        && action.contains("deleted")
}
