//! `sms_undelivered`: Twilio sent the SMS and the carrier or handset did not take it
//! (30003–30008, …), for the console's test or for a share of real users.

use super::Choice;
use super::{Rule, Support, Symptom};
use crate::diagnosis::{Evidence, FailureMode, Names};
use crate::probe::twilio::delivery;

pub const RULE: Rule = Rule {
    mode: FailureMode::SmsUndelivered,
    id: "sms_undelivered",
    title: "The SMS was sent but not delivered",
    repair: "Act on the carrier's error code: register the sender (A2P 10DLC / toll-free verification) for 30007/30034, enable the country's Geo permissions for 21408/60605, ask the user to reply START for 21610, use a mobile number for 21614/30006.",
    predicts: &[Symptom::SmsNotDelivered],
    commands,
    underlies: &[],
    support,
    later: None,
    related: super::unrelated,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

fn commands(_n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![
        "curl -u \"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN\" -G https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/Messages.json --data-urlencode To=+1XXXXXXXXXX".into(),
        "curl -u \"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN\" -G https://verify.twilio.com/v2/Attempts --data-urlencode ChannelData.To=+1XXXXXXXXXX".into(),
    ]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    for send in &evidence.sends {
        if let Err(e) = send {
            let code = e.code.as_deref().and_then(|c| c.parse::<u32>().ok());
            if !code.is_some_and(delivery::is_sender_error)
                && code.is_some_and(delivery::is_delivery_error)
            {
                support.add(3, format!("test send: {}", e.message));
            }
        }
    }
    for step in evidence.deliveries.iter().flatten() {
        if let Some(code) = step.error_code.filter(|c| delivery::is_delivery_error(*c)) {
            if step.is_final {
                let repair = delivery::decode(code).map_or("", |d| d.repair);
                support.add(
                    3,
                    format!(
                        "{} to {} {} with {code}: {} — {repair}",
                        step.sid,
                        step.to,
                        step.status,
                        step.meaning.as_deref().unwrap_or("carrier error")
                    ),
                );
            }
        }
    }
    if let Some((FailureMode::SmsUndelivered, confidence, line)) = real_users_sms(evidence) {
        support.add(confidence, line);
    }
}

/// Real users' SMS, as the account lists them: a carrier refusing most of them is a failure
/// even when every API call answers 200 and nobody sent a test; refusing a share of them (one
/// carrier's subscribers, one country) is one too, named with less confidence, even when the
/// test phone (on another carrier) gets its code. The failure mode is the sender's when the
/// commonest code is about the sender.
pub(super) fn real_users_sms(evidence: &Evidence) -> Option<(FailureMode, u8, String)> {
    let Some(Ok(recent)) = &evidence.recent_sms else {
        return None;
    };
    let tally = recent.tally(evidence.lines_since_ms);
    let partly = tally.partly_failing();
    if !(tally.mostly_failing() || partly) {
        return None;
    }
    let code = tally.codes.first().map(|(c, _)| *c);
    let mode = if code.is_some_and(delivery::is_sender_error) {
        FailureMode::FromNumberInvalid
    } else {
        FailureMode::SmsUndelivered
    };
    let repair = code.and_then(delivery::decode).map_or("", |d| d.repair);
    let via = match recent.via {
        Some(delivery::Via::VerifyAttempts) => "Verify Attempts",
        _ => "Messages",
    };
    let share = if partly {
        " — a share of users, not all: the carrier or country of those phones refuses them"
    } else {
        ""
    };
    Some((
        mode,
        if partly { 1 } else { 3 },
        format!(
            "real users' SMS in the last 15 min (Twilio {via}): {}{share} — {repair}",
            tally.summary()
        ),
    ))
}
