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
    otp_console::probe::aws::loader()
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
            && cited.contains("removed in :42 (also LOG_LEVEL changed), registered 30 min ago")
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

fn twilio_probe(sim: &sim::Simulator) -> otp_console::probe::twilio::TwilioProbe {
    let cfg = otp_console::config::TwilioConfig {
        api_url: sim.urls.twilio.clone(),
        verify_url: sim.urls.twilio.clone(),
        messaging_url: sim.urls.twilio.clone(),
        monitor_url: sim.urls.twilio.clone(),
        status_url: sim.urls.status.clone(),
        ..otp_console::config::TwilioConfig::default()
    };
    otp_console::probe::twilio::TwilioProbe::new(&cfg, std::time::Duration::from_secs(10))
        .expect("probe")
}

fn creds(token: &str) -> otp_console::probe::TwilioCredentials {
    otp_console::probe::TwilioCredentials {
        source: otp_console::probe::CredentialSource::Environment,
        account_sid: "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8".into(),
        auth_token: token.into(),
        verify_service_sid: None,
        otp_provider: None,
        from_number: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twilio_monitor_has_the_scenario_s_event_and_an_alert_for_each_error_answered() {
    let (sim, _config) = support::simulator("verify-service-deleted").await;
    let http = reqwest::Client::new();
    // The backend's send to the deleted service (20404), one with a bad phone (60200), and a
    // call with a wrong token (20003): Twilio writes an alert for each.
    let verifications = format!(
        "{}/v2/Services/VA0a1b2c3d4e5f60718293a4b5c6d7e8f9/Verifications",
        sim.urls.twilio
    );
    let other = format!(
        "{}/v2/Services/VA9f8e7d6c5b4a39281706f5e4d3c2b1a0/Verifications",
        sim.urls.twilio
    );
    for (url, to, token) in [
        (&verifications, "+17133056318", TOKEN),
        (&other, "+1713305631899999", TOKEN),
        (&other, "+17133056318", "0000000000000000000000000000dead"),
    ] {
        let answer = http
            .post(url)
            .basic_auth("AC5f3b1c8e9d2a4f60718293a4b5c6d7e8", Some(token))
            .form(&[("To", to), ("Channel", "sms")])
            .send()
            .await
            .expect("answers");
        assert!(answer.status().is_client_error(), "{}", answer.status());
    }
    let now = now_ms();
    let monitor = twilio_probe(&sim)
        .monitor(&creds(TOKEN), now - 48 * 3_600_000)
        .await
        .expect("Monitor reads");
    let deleted = monitor
        .changes
        .iter()
        .find(|c| c.action == "verify-service.deleted")
        .unwrap_or_else(|| panic!("{monitor:#?}"));
    assert_eq!(deleted.origin, Origin::TwilioMonitor);
    assert!(now - deleted.at_ms > 13 * 3_600_000, "{deleted:?}");
    assert!(deleted.who.starts_with("user US"), "{deleted:?}");
    let mut codes: Vec<&str> = monitor
        .alerts
        .iter()
        .map(|a| a.error_code.as_str())
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, ["20003", "20404", "60200"], "{monitor:#?}");
    let shown = serde_json::to_string(&monitor).expect("json");
    for secret in [TOKEN, "7133056318", "60718293a4b5c6d7e8"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    // The window: nothing before it.
    let recent = twilio_probe(&sim)
        .monitor(&creds(TOKEN), now - 3_600_000)
        .await
        .expect("Monitor reads");
    assert!(recent.changes.is_empty(), "{recent:#?}");
    assert_eq!(recent.alerts.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_token_cannot_read_the_monitor_that_records_its_rotation() {
    let (sim, _config) = support::simulator("invalid-credentials").await;
    let now = now_ms();
    let stale = twilio_probe(&sim)
        .monitor(&creds(TOKEN), now - 48 * 3_600_000)
        .await
        .expect_err("the old token is refused");
    assert_eq!(stale.code.as_deref(), Some("20003"));
    assert!(stale.message.contains("Monitor") && !stale.message.contains(TOKEN));
    let current = twilio_probe(&sim)
        .monitor(
            &creds("4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a"),
            now - 48 * 3_600_000,
        )
        .await
        .expect("the current token reads it");
    let rotated = &current.changes[0];
    assert_eq!(rotated.action, "auth-token.promoted");
    // What the diagnosis makes of it: the rotation explains invalid credentials.
    assert!(otp_console::diagnosis::changes::related(
        rotated,
        FailureMode::InvalidCredentials,
        None
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_scenario_caused_by_a_change_cites_it_in_its_verdict() {
    let cases = [
        ("missing-env-vars", "TWILIO_VERIFY_SERVICE_SID removed in :42"),
        ("stub-provider", "OTP_PROVIDER changed"),
        ("event-loop-blocking", "image → nerava-backend:2026.01.23"),
        ("secret-deleted", "secret nerava/prod/twilio-Tw1l1o scheduled for deletion (7-day recovery window) 40 min ago by arn:aws:sts::123456789012:assumed-role/ci-deploy/"),
        ("network-blocked", "sg-0f1e2d3c4b5a69788 egress 443 revoked 9 h ago by arn:aws:sts::123456789012:assumed-role/platform-admin/jdoe"),
        ("verify-service-deleted", "Verify Service \"Nerava OTP\" deleted 14 h ago by user US"),
        ("account-suspended", "Account status changed from active to suspended 6 h ago"),
        ("sms-from-number-released", "Phone number released 18 h ago"),
        // The route table is on the service's path, read from EC2 (not from ECS).
        ("nat-route-missing", "route deleted from rtb-0d4e5f6a7b8c9d0e1 6 h ago by arn:aws:sts::123456789012:assumed-role/platform-admin/jdoe"),
        // The container instance's group (bridge networking), read from ECS and EC2.
        ("bridge-sg-blocked", "sg-0c2d4e6f8a1b3c5d7 egress 443 revoked 7 h ago by arn:aws:sts::123456789012:assumed-role/platform-admin/jdoe"),
        ("execution-role-denied", "TWILIO_AUTH_TOKEN added in :42"),
        ("secret-kms-denied", "secret nerava/prod/twilio-Tw1l1o updated 48 min ago by arn:aws:sts::123456789012:assumed-role/security-admin/kms-migration"),
        // The token was rotated on Twilio: its Monitor, which records it, refuses the old
        // token, and nothing on the AWS side changed.
        ("invalid-credentials", "it was changed on Twilio's side"),
        ("secret-rotated", "it was changed on Twilio's side"),
        // The scale-in that left no task, by Application Auto Scaling's role.
        ("scaled-to-zero", "updated service nerava-backend (desired 0) 2 h ago by arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForApplicationAutoScaling_ECSService/"),
    ];
    let mut runs = tokio::task::JoinSet::new();
    for (name, want) in cases {
        runs.spawn(async move {
            let (_sim, config) = support::simulator(name).await;
            let report = Box::pin(check::check(&config, name, &support::check_options()))
                .await
                .expect("runs");
            (name, want, report)
        });
    }
    while let Some(done) = runs.join_next().await {
        let (name, want, report) = done.expect("joins");
        let top = report
            .diagnosis
            .verdict
            .candidates
            .first()
            .unwrap_or_else(|| panic!("{name}: {}", check::render_table(&report)));
        assert!(
            top.evidence
                .iter()
                .any(|e| e.starts_with("changed: ") && e.contains(want)),
            "{name}: no citation containing {want:?}\n{}",
            check::render_table(&report)
        );
        let json = check::report_json(&report);
        let is_twilio_side = want.contains("Twilio's side");
        assert_eq!(
            json["changes"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["related"] == true)),
            !is_twilio_side,
            "{name}: a change marked related or not: {:#}",
            json["changes"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_request_parameters_are_masked_and_made_safe_on_every_output_path() {
    let (sim, config) = support::simulator("healthy").await;
    // Someone registers a revision of the family by hand, with the token in clear and an
    // escape sequence in a value.
    let sdk = sdk(&sim.urls.aws, sim::ACCESS_KEY_ID).await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let env = |name: &str, value: &str| {
        aws_sdk_ecs::types::KeyValuePair::builder()
            .name(name)
            .value(value)
            .build()
    };
    ecs.register_task_definition()
        .family("nerava-backend")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("nerava-backend")
                .image("nerava-backend:evil")
                .environment(env("TWILIO_AUTH_TOKEN", TOKEN))
                .environment(env(
                    "DATABASE_URL",
                    "postgresql://nerava:hunter2pw@db:5432/x",
                ))
                .environment(env("LOG_LEVEL", "INFO\u{1b}]0;owned\u{7}\u{1b}[2J"))
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition");
    let report = Box::pin(check::check(&config, "t", &support::check_options()))
        .await
        .expect("runs");
    let json = check::report_json(&report);
    assert!(
        json["changes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["resource"] == "nerava-backend:43")),
        "{:#}",
        json["changes"]
    );
    let mut timeline = otp_console::report::Timeline::new();
    timeline.record_check(
        &report,
        &otp_console::diagnosis::Names::from_config(&config),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let written = otp_console::report::write(
        &dir.path().join("report"),
        &timeline,
        &otp_console::report::ReportHeader::for_check(&report),
    )
    .expect("written");
    let mut outputs = vec![json.to_string(), check::render_table(&report)];
    for file in written {
        outputs.push(std::fs::read_to_string(file).expect("read"));
    }
    assert!(outputs[2..]
        .iter()
        .any(|o| o.contains("registered nerava-backend:43")));
    for out in &outputs {
        for secret in [TOKEN, "hunter2pw", "\u{1b}", "\u{7}", "\\u001b", "\\u0007"] {
            assert!(!out.contains(secret), "{secret:?} in {out}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scope_takes_the_service_s_network_and_task_role_from_ecs() {
    let (sim, _config) = support::simulator("network-blocked").await;
    let sdk = sdk(&sim.urls.aws, sim::ACCESS_KEY_ID).await;
    let mut scope = scope();
    CloudTrailProbe::new(&sdk)
        .complete(&mut scope, "nerava-cluster", "nerava-backend")
        .await;
    assert!(
        scope.network.contains(&"sg-0f1e2d3c4b5a69788".to_owned()),
        "{scope:?}"
    );
    assert!(
        scope.roles.contains(&"nerava-backend-task".to_owned()),
        "{scope:?}"
    );
    // The scenario's revoked egress on that group is the service's change.
    let now = now_ms();
    let changes = CloudTrailProbe::new(&sdk)
        .lookup(&scope, now - 48 * 3_600_000, now)
        .await
        .expect("LookupEvents");
    let revoked = changes
        .changes
        .iter()
        .find(|c| c.action == "RevokeSecurityGroupEgress")
        .unwrap_or_else(|| panic!("{changes:#?}"));
    assert_eq!(revoked.summary, "sg-0f1e2d3c4b5a69788 egress 443 revoked");
    assert_eq!(
        revoked.user_agent.as_deref(),
        Some("console.ec2.amazonaws.com")
    );
    // Without the group in scope, someone else's security group change is not shown.
    let unscoped = CloudTrailProbe::new(&sdk)
        .lookup(&self::scope(), now - 48 * 3_600_000, now)
        .await
        .expect("LookupEvents");
    assert!(unscoped.changes.iter().all(|c| c.service != "ec2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_keeps_a_busy_window_short_and_the_json_keeps_it_all() {
    let (sim, config) = support::simulator("healthy").await;
    let sdk = sdk(&sim.urls.aws, sim::ACCESS_KEY_ID).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    for i in 0..20 {
        secrets
            .put_secret_value()
            .secret_id("nerava/prod/twilio")
            .secret_string(format!(r#"{{"auth_token":"{TOKEN}","n":{i}}}"#))
            .send()
            .await
            .expect("PutSecretValue");
    }
    let report = Box::pin(check::check(&config, "t", &support::check_options()))
        .await
        .expect("runs");
    let json = check::report_json(&report);
    // 20 puts, and the scenario's two registrations and deployments.
    assert_eq!(json["changes"].as_array().map(Vec::len), Some(24));
    let table = check::render_table(&report);
    assert!(
        table.contains("… 9 older changes (check --json lists them all)"),
        "{table}"
    );
}

/// The secret-rotated repair done halfway: the new token put in the secret, no new deployment.
/// The console's own read of the secret is accepted by Twilio, the running tasks still hold the
/// old token: the secret changed after they started, and the repair is a new deployment.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_fixed_without_a_redeploy_is_named_from_the_backends_line() {
    let (sim, config) = support::simulator("secret-rotated").await;
    let sdk = sdk(&sim.urls.aws, sim::ACCESS_KEY_ID).await;
    aws_sdk_secretsmanager::Client::new(&sdk)
        .put_secret_value()
        .secret_id("nerava/prod/twilio")
        .secret_string(r#"{"auth_token":"4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a"}"#)
        .send()
        .await
        .expect("PutSecretValue");
    let report = check::check(&config, "secret-rotated", &support::check_options())
        .await
        .expect("runs");
    let d = &report.diagnosis;
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::InvalidCredentials,
        "{}",
        check::render_table(&report)
    );
    let top = &d.verdict.candidates[0];
    assert!(
        top.evidence.iter().any(|e| e.starts_with(
            "TWILIO_AUTH_TOKEN ← secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token changed"
        ) && e.contains("after the running tasks started")),
        "{top:#?}"
    );
    assert!(
        top.commands[0].contains("--force-new-deployment"),
        "{top:#?}"
    );
    assert!(
        top.evidence
            .iter()
            .any(|e| e.starts_with("changed: new value put in secret nerava/prod/twilio-Tw1l1o")),
        "{top:#?}"
    );
    let text = check::report_json(&report).to_string();
    assert!(!text.contains("4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a"));
}
