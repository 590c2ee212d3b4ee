//! Every pane of the console reaches a settled state within one probe interval, on worlds
//! where a probe has nothing to say: a log filter that matches nothing in the last 30 minutes
//! (a quiet service at 3 a.m.), and `credentials = "environment"` with no `TWILIO_*`
//! variables. The real runner on the embedded simulator, without a terminal.

#[path = "contract_support/console.rs"]
mod console;

use console::Console;
use otp_console::app::{Freshness, Pane};
use otp_console::config::TwilioCredentials as CredentialsFrom;
use otp_console::diagnosis::{FailureMode, Item, State};
use otp_console::engine::{self, every};
use otp_console::sim::{self, scenario, Ports, Simulator};

async fn simulator() -> (Simulator, otp_console::config::Config) {
    let sim = Simulator::start(
        scenario::load("healthy").expect("loads"),
        console::SCALE,
        Ports::default(),
    )
    .await
    .expect("starts");
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    (sim, config)
}

fn state(console: &Console, item: Item) -> State {
    console
        .app
        .diagnosis
        .checklist
        .iter()
        .find(|l| l.item == item)
        .map_or(State::Running, |l| l.state)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_log_filter_settles_instead_of_loading_forever() {
    let (_sim, mut config) = simulator().await;
    config.aws.log_filter = "NOTHING-MATCHES-THIS".into();
    let sdk = engine::demo_sdk_config(&config).await;
    let mut console = Box::pin(Console::live(config, sdk)).await;
    console
        .until("the logs pane to settle", every::LOGS * 3, |app| {
            app.freshness(Pane::Logs) == Freshness::Fresh
        })
        .await;
    assert!(console.app.evidence.events.is_empty());
    let line = console
        .app
        .diagnosis
        .checklist
        .iter()
        .find(|l| l.item == Item::ProviderInitialised)
        .expect("the line");
    assert_eq!(line.state, State::Unknown);
    assert!(
        line.evidence.contains("NOTHING-MATCHES-THIS") && line.evidence.contains("30 min"),
        "{}",
        line.evidence
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_twilio_credentials_settle_with_where_the_console_looked() {
    let (_sim, mut config) = simulator().await;
    config.twilio.credentials = CredentialsFrom::Environment;
    // This test's world has no TWILIO_* variables, whatever the machine running it has.
    for name in [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_VERIFY_SERVICE_SID",
    ] {
        std::env::remove_var(name);
    }
    let sdk = engine::demo_sdk_config(&config).await;
    let mut console = Box::pin(Console::live(config, sdk)).await;
    let settled = |c: &otp_console::app::App| {
        c.diagnosis
            .checklist
            .iter()
            .all(|l| l.state != State::Running)
            && c.freshness(Pane::Twilio) != Freshness::Loading
    };
    console
        .until("every line to settle", every::HEALTH * 2, settled)
        .await;
    for item in [
        Item::AccountActive,
        Item::VerifyServiceExists,
        Item::AuthTokenValid,
    ] {
        assert_eq!(state(&console, item), State::Unknown, "{item:?}");
    }
    let account = console
        .app
        .diagnosis
        .checklist
        .iter()
        .find(|l| l.item == Item::AccountActive)
        .expect("the line");
    assert!(
        account.evidence.contains("TWILIO_ACCOUNT_SID") && account.evidence.contains("environment"),
        "{}",
        account.evidence
    );
    // The Twilio pane's credentials row says what is missing, not "checking…".
    let area = ratatui::layout::Rect::new(0, 0, 160, 48);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    otp_console::ui::render_to(&console.app, area, &mut buf);
    let screen: String = (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(
        screen.contains("no credentials: TWILIO_ACCOUNT_SID not in the"),
        "{screen}"
    );
    assert!(
        !screen.lines().any(|l| l
            .split("credentials")
            .skip(1)
            .any(|rest| rest.trim_start().starts_with("checking"))),
        "the credentials row still says checking:\n{screen}"
    );
    // Twilio could not be checked: the header says inconclusive, not "no failure found".
    assert_eq!(
        console.app.diagnosis.verdict.failure_mode,
        FailureMode::Inconclusive
    );
}
