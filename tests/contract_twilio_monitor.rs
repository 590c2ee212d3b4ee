//! Contract tests of Twilio's Monitor (Alerts, Events) against Twilio's own OpenAPI description
//! (`twilio_monitor_v1.json` from npm `@twilio/cli-core`), served by Stoplight Prism:
//! - the console's Monitor reads (its real client, `TwilioProbe::monitor`) are requests
//!   `prism mock` accepts, and it reads the description's examples; what the description
//!   refuses is refused (so the mock really checks);
//! - the simulator's answers (events from the scenario's history, alerts written for the errors
//!   it answered, paging) validate through `prism proxy --errors`;
//! - the fields the console reads are in the description.
//!
//! `bash tests/run.sh` installs Prism and the descriptions; the Prism helpers are
//! tests/contract_support/prism.rs, shared with tests/contract_twilio.rs.

#[path = "contract_support/emulator.rs"]
mod emulator;
#[path = "contract_support/prism.rs"]
mod prism;

use std::time::Duration;

use otp_console::config::TwilioConfig;
use otp_console::probe::twilio::TwilioProbe;
use otp_console::probe::{CredentialSource, TwilioCredentials};
use otp_console::sim::{scenario, Ports, Simulator};
use prism::Prism;
use serde_json::Value;

const SPEC: &str = "twilio_monitor_v1.json";
/// What `src/probe/twilio/monitor.rs` reads.
const EVENT_FIELDS: &[&str] = &[
    "event_type",
    "event_date",
    "actor_type",
    "actor_sid",
    "description",
    "resource_type",
    "resource_sid",
    "sid",
    "event_data",
];
const ALERT_FIELDS: &[&str] = &[
    "error_code",
    "log_level",
    "alert_text",
    "date_generated",
    "date_created",
];

fn description() -> Value {
    prism::description(SPEC)
}

fn probe(monitor_url: &str) -> TwilioProbe {
    let cfg = TwilioConfig {
        monitor_url: monitor_url.to_owned(),
        ..TwilioConfig::default()
    };
    TwilioProbe::new(&cfg, Duration::from_secs(30)).expect("probe")
}

fn creds(sid: &str, token: &str) -> TwilioCredentials {
    TwilioCredentials {
        source: CredentialSource::Environment,
        account_sid: sid.to_owned(),
        auth_token: token.to_owned(),
        verify_service_sid: None,
        otp_provider: None,
        from_number: None,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[test]
fn the_description_declares_every_field_the_console_reads() {
    let d = description();
    let schemas = &d["components"]["schemas"];
    for (schema, fields) in [
        ("monitor.v1.event", EVENT_FIELDS),
        ("monitor.v1.alert", ALERT_FIELDS),
    ] {
        for field in fields {
            assert!(
                schemas[schema]["properties"].get(*field).is_some(),
                "{schema}.{field} is read by the console but not in {SPEC}"
            );
        }
    }
    for list in ["/v1/Events", "/v1/Alerts"] {
        let params: Vec<&str> = d["paths"][list]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for sent in ["StartDate", "PageSize"] {
            assert!(params.contains(&sent), "{list} has no {sent}: {params:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_s_monitor_reads_are_requests_twilio_accepts() {
    let mock = Prism::mock(SPEC).await;
    let sid = "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8";
    let read = probe(mock.url())
        .monitor(
            &creds(sid, "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"),
            now_ms() - 48 * 3_600_000,
        )
        .await
        .unwrap_or_else(|e| panic!("Prism refused the console's Monitor reads: {}", e.message));
    // Whatever example Prism picks (an empty page), the answer is read without an error.
    assert!(read.changes.iter().all(|c| c.at_ms > 0), "{read:#?}");
    // The mock checks what it is sent: a page larger than Twilio allows is refused.
    let refused = reqwest::Client::new()
        .get(format!("{}/v1/Alerts?PageSize=5000", mock.url()))
        .basic_auth(sid, Some("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"))
        .send()
        .await
        .expect("answers");
    assert!(refused.status().is_client_error(), "{}", refused.status());
}

/// The description's full examples, served as they are: the console reads them.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_reads_the_description_s_examples() {
    let d = description();
    let example = |path: &str| {
        d["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["examples"]
            ["readFull"]["value"]
            .clone()
    };
    let (events, alerts) = (example("/v1/Events"), example("/v1/Alerts"));
    assert!(events["events"].as_array().is_some_and(|e| !e.is_empty()));
    let router = axum::Router::new()
        .route(
            "/v1/Events",
            axum::routing::get(move || async move { axum::Json(events) }),
        )
        .route(
            "/v1/Alerts",
            axum::routing::get(move || async move { axum::Json(alerts) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let read = probe(&url)
        .monitor(
            &creds("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token-token-token"),
            0,
        )
        .await
        .expect("reads the examples");
    let event = &read.changes[0];
    assert_eq!(event.action, "account.updated");
    assert_eq!(
        event.at_ms,
        chrono::DateTime::parse_from_rfc3339("2014-10-03T16:48:25Z")
            .expect("date")
            .timestamp_millis()
    );
    assert!(event.who.starts_with("account US"), "{event:?}");
    let alert = &read.alerts[0];
    assert!(!alert.error_code.is_empty() && alert.at_ms > 0, "{alert:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulated_monitor_answers_as_the_description_says() {
    let scenario = scenario::load("verify-service-deleted").expect("loads");
    let twilio = scenario.twilio.clone();
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    // Errors the simulated Twilio answers become alerts.
    let http = reqwest::Client::new();
    for to in ["+17133056318", "not-a-phone"] {
        let answer = http
            .post(format!(
                "{}/v2/Services/{}/Verifications",
                sim.urls.twilio, "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9"
            ))
            .basic_auth(&twilio.account_sid, Some(&twilio.auth_token))
            .form(&[("To", to), ("Channel", "sms")])
            .send()
            .await
            .expect("answers");
        assert!(answer.status().is_client_error());
    }
    let proxy = Prism::proxy(SPEC, &sim.urls.twilio).await;
    let read = probe(proxy.url())
        .monitor(
            &creds(&twilio.account_sid, &twilio.auth_token),
            now_ms() - 48 * 3_600_000,
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the simulator's Monitor broke the description: {}",
                e.message
            )
        });
    assert!(
        read.changes
            .iter()
            .any(|c| c.action == "verify-service.deleted"),
        "{read:#?}"
    );
    assert_eq!(read.alerts.len(), 2, "{read:#?}");
    // Paging and one alert, straight through the proxy.
    let page: Value = http
        .get(format!("{}/v1/Alerts?PageSize=1", proxy.url()))
        .basic_auth(&twilio.account_sid, Some(&twilio.auth_token))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let next = page["meta"]["next_page_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no next page: {page:#}"));
    let next = reqwest::Url::parse(next).expect("absolute URL");
    let second = http
        .get(format!(
            "{}{}?{}",
            proxy.url(),
            next.path(),
            next.query().unwrap_or_default()
        ))
        .basic_auth(&twilio.account_sid, Some(&twilio.auth_token))
        .send()
        .await
        .expect("answers");
    assert!(second.status().is_success(), "{}", second.status());
    let sid = page["alerts"][0]["sid"].as_str().expect("sid");
    let one = http
        .get(format!("{}/v1/Alerts/{sid}", proxy.url()))
        .basic_auth(&twilio.account_sid, Some(&twilio.auth_token))
        .send()
        .await
        .expect("answers");
    let status = one.status();
    let body: Value = one.json().await.expect("json");
    assert!(status.is_success(), "{status}: {body:#}");
    assert!(body["request_variables"].is_string(), "{body:#}");
}
