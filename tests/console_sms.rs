//! The console on SMS deployments and the delivery of test sends, without a terminal: the real
//! runner on the embedded simulator, keys as events (as `console_repair.rs`). A released From
//! number is named from Twilio's numbers alone; an OTP start through the API on a filtering
//! carrier is followed to `undelivered` and named; a test send straight to Twilio goes through
//! Messages in SMS mode and through Verify otherwise, each followed to `delivered`.

#[path = "contract_support/console.rs"]
mod console;

use std::time::Duration;

use console::Console;
use crossterm::event::KeyCode;
use otp_console::diagnosis::{FailureMode, Item, State};
use otp_console::probe::twilio::delivery::Via;

fn delivered_via(app: &otp_console::app::App, via: Via) -> bool {
    app.evidence
        .deliveries
        .iter()
        .flatten()
        .any(|d| d.via == via && d.status == "delivered")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_released_from_number_is_named_before_any_send() {
    let mut console = Console::demo("sms-from-number-released").await;
    console
        .until("from_number_invalid", Duration::from_secs(30), |app| {
            app.diagnosis.verdict.failure_mode == FailureMode::FromNumberInvalid
        })
        .await;
    assert!(console.app.evidence.sends.is_empty());
    // The users' refused sends (the backend's 21606 lines) may name it first; the account's
    // own list of numbers then says which one.
    console
        .until("the From number check", Duration::from_secs(30), |app| {
            app.diagnosis.verdict.candidates[0].confidence == 3
        })
        .await;
    let top = &console.app.diagnosis.verdict.candidates[0];
    assert_eq!(top.failure_mode, FailureMode::FromNumberInvalid);
    assert!(top.evidence[0].contains("•••0147"), "{top:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_send_on_a_filtering_carrier_is_followed_to_undelivered() {
    let mut console = Console::demo("sms-undelivered").await;
    console.key(KeyCode::Char('o')).await;
    console.key(KeyCode::Enter).await;
    // Real users' SMS already say undelivered; the test send is followed to its own end.
    console
        .until(
            "sms_undelivered and the send undelivered",
            Duration::from_secs(30),
            |app| {
                app.diagnosis.verdict.failure_mode == FailureMode::SmsUndelivered
                    && app
                        .evidence
                        .deliveries
                        .iter()
                        .flatten()
                        .any(|d| d.status == "undelivered")
            },
        )
        .await;
    let line = console
        .app
        .diagnosis
        .checklist
        .iter()
        .find(|l| l.item == Item::SmsReceived)
        .expect("line");
    assert_eq!(line.state, State::Fail);
    assert!(line.evidence.contains("30007"), "{}", line.evidence);
    let statuses: Vec<&str> = console
        .app
        .evidence
        .deliveries
        .iter()
        .flatten()
        .map(|d| d.status.as_str())
        .collect();
    assert_eq!(statuses.last(), Some(&"undelivered"), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn test_sends_go_the_deployed_providers_way_and_are_followed_to_delivered() {
    let mut console = Console::demo("sms-healthy").await;
    console
        .until("the From number checked", Duration::from_secs(30), |app| {
            app.evidence.sender.is_some()
        })
        .await;
    console.key(KeyCode::Char('t')).await;
    console.key(KeyCode::Enter).await;
    console
        .until("the SMS delivered", Duration::from_secs(30), |app| {
            delivered_via(app, Via::Messages)
        })
        .await;
    let sent = console
        .app
        .evidence
        .sends
        .last()
        .expect("sent")
        .as_ref()
        .expect("ok");
    assert!(sent.sid.starts_with("SM"), "{sent:?}");

    let mut console = Console::demo("healthy").await;
    console.key(KeyCode::Char('t')).await;
    console.key(KeyCode::Enter).await;
    console
        .until("the Verify SMS delivered", Duration::from_secs(30), |app| {
            delivered_via(app, Via::VerifyAttempts)
        })
        .await;
    assert!(
        console.app.evidence.sender.is_none(),
        "Verify mode checks no From number"
    );
}
