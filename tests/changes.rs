//! What changed since it last worked, end to end against the simulator: the scenario's own
//! history in CloudTrail and the verdict citing it, a mutation made through the simulator's
//! APIs recorded with its caller, LookupEvents paced under its 2-calls-a-second limit across
//! pages, one clear line for an operator who may not call it, and no secret on the way.

#[path = "contract_support/simulator.rs"]
mod support;

use std::time::Instant;

use otp_console::check;
use otp_console::diagnosis::FailureMode;
use otp_console::probe::changes::Origin;
use otp_console::probe::cloudtrail::{CloudTrailProbe, Scope, MIN_INTERVAL};
use otp_console::sim;
use serde_json::Value;

const TOKEN: &str = "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c";

async fn sdk(url: &str, key: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            key,
            sim::SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .load()
        .await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn scope() -> Scope {
    Scope {
        cluster: "nerava-cluster".into(),
        service: "nerava-backend".into(),
        family: "nerava-backend".into(),
        secrets: vec!["nerava/prod/twilio".into()],
        ..Scope::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_env_vars_cites_the_registration_that_dropped_the_variable() {
    let (_sim, config) = support::simulator("missing-env-vars").await;
    let report = Box::pin(check::check(&config, "t", &support::check_options()))
        .await
        .expect("runs");
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::MissingEnvVars
    );
    let json = check::report_json(&report);
    let changes = json["changes"].as_array().expect("changes[]");
    let registered = changes
        .iter()
        .find(|c| c["action"] == "RegisterTaskDefinition" && c["resource"] == "nerava-backend:42")
        .unwrap_or_else(|| panic!("no registration of :42 in {changes:#?}"));
    assert_eq!(
        registered["who"],
        "arn:aws:iam::123456789012:user/deploy-bot"
    );
    assert_eq!(registered["origin"], "cloudtrail");
    assert_eq!(registered["related"], true);
    assert!(registered["user_agent"]
        .as_str()
        .is_some_and(|u| u.starts_with("aws-cli/")));
    // Yesterday's revision is in the window too, and explains nothing.
    assert!(changes
        .iter()
        .any(|c| c["resource"] == "nerava-backend:41" && c["related"] == false));
    // Newest first.
    let times: Vec<i64> = changes.iter().filter_map(|c| c["at_ms"].as_i64()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let cited = report.diagnosis.verdict.candidates[0]
        .evidence
        .iter()
        .find(|e| e.starts_with("changed: "))
        .expect("the verdict cites a change");
    assert!(
        cited.contains("TWILIO_VERIFY_SERVICE_SID removed")
            && cited.contains("in :42, registered")
            && cited.contains("by arn:aws:iam::123456789012:user/deploy-bot"),
        "{cited}"
    );
    let text = json.to_string();
    assert!(!text.contains(TOKEN), "the auth token in the JSON");
    assert!(check::render_table(&report).contains("CHANGES"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_through_the_simulator_is_recorded_with_its_caller() {
    let (sim, _config) = support::simulator("healthy").await;
    let sdk = sdk(&sim.urls.aws, sim::ACCESS_KEY_ID).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    secrets
        .put_secret_value()
        .secret_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o")
        .secret_string(r#"{"auth_token":"0f1e2d3c4b5a69788796a5b4c3d2e1f0"}"#)
        .send()
        .await
        .expect("PutSecretValue");
    let now = now_ms();
    let changes = CloudTrailProbe::new(&sdk)
        .lookup(&scope(), now - 3_600_000, now + 1000)
        .await
        .expect("LookupEvents");
    let put = changes
        .changes
        .iter()
        .find(|c| c.action == "PutSecretValue")
        .unwrap_or_else(|| panic!("{changes:#?}"));
    assert_eq!(put.origin, Origin::Cloudtrail);
    assert_eq!(put.who, "arn:aws:iam::123456789012:user/otp-console");
    assert_eq!(put.resource, "nerava/prod/twilio-Tw1l1o");
    assert!(put
        .user_agent
        .as_deref()
        .is_some_and(|u| u.contains("aws-sdk-rust")));
    let shown = serde_json::to_string(&changes).expect("json");
    assert!(
        !shown.contains("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        "{shown}"
    );
    // A secret nobody reads is not the service's change.
    let other = Scope {
        secrets: vec!["nerava/prod/other".into()],
        ..scope()
    };
    let unrelated = CloudTrailProbe::new(&sdk)
        .lookup(&other, now - 3_600_000, now + 1000)
        .await
        .expect("LookupEvents");
    assert!(unrelated
        .changes
        .iter()
        .all(|c| c.action != "PutSecretValue"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_read_under_the_two_calls_a_second_limit() {
    let (sim, _config) = support::simulator("healthy").await;
    let sdk = sdk(&sim.urls.aws, sim::ACCESS_KEY_ID).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    for i in 0..120 {
        secrets
            .put_secret_value()
            .secret_id("nerava/prod/twilio")
            .secret_string(format!(r#"{{"auth_token":"rotation-{i:04}-value"}}"#))
            .send()
            .await
            .expect("PutSecretValue");
    }
    let now = now_ms();
    let started = Instant::now();
    let changes = CloudTrailProbe::new(&sdk)
        .lookup(&scope(), now - 3_600_000, now + 1000)
        .await
        .expect("every page read, none throttled");
    let puts = changes
        .changes
        .iter()
        .filter(|c| c.action == "PutSecretValue")
        .count();
    assert_eq!(puts, 120);
    assert!(!changes.truncated);
    // Three pages of 50: the second and third waited for the limit.
    assert!(
        started.elapsed() >= MIN_INTERVAL * 2,
        "{:?}",
        started.elapsed()
    );

    // Without pacing the simulator refuses the third call in a second, as AWS does.
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let answer = http
            .post(format!("{}/", sim.urls.aws))
            .header("x-amz-target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")
            .header("content-type", "application/x-amz-json-1.1")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIABURST00000000001/20261130/us-east-1/cloudtrail/aws4_request")
            .body("{}")
            .send()
            .await
            .expect("answers");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.expect("json");
        statuses.push((status, body["__type"].as_str().map(str::to_owned)));
    }
    assert_eq!(statuses[0].0, 200);
    assert_eq!(
        statuses[2],
        (400, Some("ThrottlingException".to_owned())),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_who_may_not_call_lookup_events_gets_one_line_and_the_verdict_stands() {
    let (_sim, config) = support::simulator("missing-env-vars").await;
    let options = check::Options {
        aws_credentials: Some(("AKIASIMNOTRAIL000001".into(), sim::SECRET_ACCESS_KEY.into())),
        ..support::check_options()
    };
    let report = Box::pin(check::check(&config, "t", &options))
        .await
        .expect("runs");
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::MissingEnvVars
    );
    let json = check::report_json(&report);
    let error = json["changes_sources"]["cloudtrail"]["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{:#}", json["changes_sources"]));
    assert!(
        error.contains("cloudtrail:LookupEvents") && !error.contains('\n'),
        "{error}"
    );
    assert_eq!(json["changes"], serde_json::json!([]));
    assert!(check::render_table(&report).contains(error));
}
