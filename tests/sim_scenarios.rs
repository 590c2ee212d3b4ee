//! Every scenario of the simulated environment, driven through the real clients: reqwest for
//! the backend and Twilio, the AWS SDK for ECS and CloudWatch Logs. Each test asserts the
//! runbook's symptom for its scenario, at a time scale that keeps the suite quick; the repairs
//! (register + update service) must really change how the backend behaves after the rollout.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::KeyValuePair;
use otp_console::sim::{self, scenario, Ports, Simulator};
use serde_json::Value;

/// Every simulated duration is a twentieth: the load balancer gives up after 3 s.
const SCALE: f64 = 0.05;
const LB_TIMEOUT: Duration = Duration::from_secs(3);
const PHONE: &str = "+17133056318";

async fn start(name: &str) -> Simulator {
    let scenario = scenario::load(name).expect("scenario loads");
    Simulator::start(scenario, SCALE, Ports::default())
        .await
        .expect("simulator starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn aws_config(sim: &Simulator, access_key: &str) -> aws_config::SdkConfig {
    otp_console::probe::aws::loader()
        .endpoint_url(&sim.urls.aws)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            access_key, "secret", None, None, "test",
        ))
        .load()
        .await
}

async fn ecs(sim: &Simulator) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&aws_config(sim, sim::ACCESS_KEY_ID).await)
}

async fn logs(sim: &Simulator) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&aws_config(sim, sim::ACCESS_KEY_ID).await)
}

/// A request's status, body and how long it took.
struct Timed {
    status: u16,
    body: String,
    took: Duration,
    retry_after: Option<String>,
}

impl Timed {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn call(request: reqwest::RequestBuilder) -> Timed {
    let started = Instant::now();
    let response = request.send().await.expect("request answered");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("body");
    Timed {
        status,
        body,
        took: started.elapsed(),
        retry_after,
    }
}

async fn health(sim: &Simulator) -> Timed {
    call(http().get(format!("{}/health", sim.urls.api))).await
}

async fn otp_start(sim: &Simulator, phone: &str) -> Timed {
    call(
        http()
            .post(format!("{}/v1/auth/otp/start", sim.urls.api))
            .json(&serde_json::json!({ "phone": phone })),
    )
    .await
}

/// Every message of the log group matching `pattern` in the last 30 minutes, paging through.
async fn log_messages(sim: &Simulator, pattern: &str) -> Vec<String> {
    let client = logs(sim).await;
    let since = chrono::Utc::now().timestamp_millis() - 30 * 60_000;
    let mut token = None;
    let mut out = Vec::new();
    loop {
        let page = client
            .filter_log_events()
            .log_group_name("/ecs/nerava-backend")
            .filter_pattern(pattern)
            .start_time(since)
            .limit(25)
            .set_next_token(token)
            .send()
            .await
            .expect("filter_log_events");
        out.extend(
            page.events()
                .iter()
                .filter_map(|e| e.message().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return out;
        }
    }
}

/// Waits (up to 20 s) until some log line matching `pattern` contains `needle`, among the
/// lines about the test's own phone or about no phone (the simulated users' requests write
/// the same lines about theirs).
async fn wait_for_log(sim: &Simulator, pattern: &str, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let ours = |l: &String| !l.contains("phone_last4=") || l.contains("phone_last4=6318");
    loop {
        let lines = log_messages(sim, pattern).await;
        if lines.iter().any(|l| ours(l) && l.contains(needle)) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needle:?} in {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The deployed task definition's container environment, by name.
async fn deployed_env(
    sim: &Simulator,
    reference: &str,
) -> std::collections::BTreeMap<String, String> {
    let td = ecs(sim)
        .await
        .describe_task_definition()
        .task_definition(reference)
        .send()
        .await
        .expect("describe_task_definition");
    td.task_definition()
        .expect("task definition")
        .container_definitions()[0]
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap_or_default().to_owned(),
                kv.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Waits until the service's only deployment runs `td_arn_suffix` and is COMPLETED.
async fn wait_for_rollout(sim: &Simulator, td_arn_suffix: &str) {
    let client = ecs(sim).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = client
            .describe_services()
            .cluster("nerava-cluster")
            .services("nerava-backend")
            .send()
            .await
            .expect("describe_services");
        let service = &out.services()[0];
        let deployments = service.deployments();
        if deployments.len() == 1
            && deployments[0]
                .task_definition()
                .is_some_and(|t| t.ends_with(td_arn_suffix))
            && deployments[0].rollout_state()
                == Some(&aws_sdk_ecs::types::DeploymentRolloutState::Completed)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rollout did not complete: {deployments:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn healthy_otp_flow_end_to_end() {
    let sim = start("healthy").await;
    let h = health(&sim).await;
    assert_eq!(
        (h.status, h.json()),
        (200, serde_json::json!({ "ok": true }))
    );
    let login = call(http().post(format!("{}/v1/auth/dev/login", sim.urls.api))).await;
    assert_eq!(login.status, 200);
    assert!(login.json()["access_token"].is_string() && login.json()["refresh_token"].is_string());
    assert!(login.json()["user"].is_object());

    let otp = otp_start(&sim, "(713) 305-6318").await;
    assert_eq!(
        (otp.status, otp.json()),
        (200, serde_json::json!({ "otp_sent": true })),
        "{}",
        otp.body
    );
    let inbox = sim.twilio().inbox(PHONE);
    let code = inbox.last().expect("the SMS arrived").code.clone();
    assert_eq!(code.len(), 6);

    let verify = |code: String| {
        http()
            .post(format!("{}/v1/auth/otp/verify", sim.urls.api))
            .json(&serde_json::json!({ "phone": PHONE, "code": code }))
    };
    let wrong = call(verify("000001".into())).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    let ok = call(verify(code)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.json()["access_token"].is_string());

    let lines = wait_for_log(&sim, "OTP", "[OTP] OTP sent successfully phone_last4=6318").await;
    assert!(
        lines
            .iter()
            .any(|l| l == "[OTP] Using Twilio Verify provider"),
        "{lines:#?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("OTP verified phone_last4=6318")));
    assert!(
        lines.iter().all(|l| !l.contains("7133056318")),
        "full phone number in logs"
    );
}

#[tokio::test]
async fn backend_rejects_bad_input_with_clear_errors() {
    let sim = start("healthy").await;
    let bad = otp_start(&sim, "12345").await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("E.164")),
        "{}",
        bad.body
    );
    let garbage = call(
        http()
            .post(format!("{}/v1/auth/otp/start", sim.urls.api))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(garbage.status, 422, "{}", garbage.body);
    let missing = call(
        http()
            .post(format!("{}/v1/auth/otp/start", sim.urls.api))
            .json(&serde_json::json!({})),
    )
    .await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["detail"][0]["loc"][1], "phone");
    let wrong_method = call(http().get(format!("{}/v1/auth/otp/start", sim.urls.api))).await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn backend_limits_five_starts_per_phone() {
    let sim = start("healthy").await;
    for _ in 0..5 {
        assert_eq!(otp_start(&sim, "+15125550142").await.status, 200);
    }
    let limited = otp_start(&sim, "+15125550142").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let retry: u64 = limited
        .retry_after
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    // 15 minutes at this scale is 45 s.
    assert!((1..=45).contains(&retry), "{retry}");
    assert_eq!(
        otp_start(&sim, "+15125550143").await.status,
        200,
        "other phones are not limited"
    );
}

#[tokio::test]
async fn missing_env_vars_hangs_until_the_load_balancer_gives_up_then_repair_fixes_it() {
    let sim = start("missing-env-vars").await;
    let today = deployed_env(&sim, "nerava-backend").await;
    let yesterday = deployed_env(&sim, "nerava-backend:41").await;
    assert!(!today.contains_key("TWILIO_VERIFY_SERVICE_SID"));
    assert!(yesterday.contains_key("TWILIO_VERIFY_SERVICE_SID"));

    let (otp, h) = tokio::join!(otp_start(&sim, PHONE), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        health(&sim).await
    });
    assert_eq!(otp.status, 504, "{}", otp.body);
    assert!(otp.took >= LB_TIMEOUT, "{:?}", otp.took);
    assert_eq!(h.status, 200);
    assert!(
        h.took < Duration::from_secs(1),
        "health is not blocked: {:?}",
        h.took
    );
    wait_for_log(
        &sim,
        "\"not configured\"",
        "TWILIO_VERIFY_SERVICE_SID not set",
    )
    .await;

    // The runbook's repair: the deployed revision with the variable added, then a deployment.
    let client = ecs(&sim).await;
    let current = client
        .describe_task_definition()
        .task_definition("nerava-backend")
        .send()
        .await
        .expect("describe")
        .task_definition
        .expect("td");
    let mut containers = current.container_definitions().to_vec();
    let mut env = containers[0].environment().to_vec();
    env.push(
        KeyValuePair::builder()
            .name("TWILIO_VERIFY_SERVICE_SID")
            .value(&yesterday["TWILIO_VERIFY_SERVICE_SID"])
            .build(),
    );
    containers[0].environment = Some(env);
    let registered = client
        .register_task_definition()
        .family(current.family().expect("family"))
        .set_container_definitions(Some(containers))
        .set_cpu(current.cpu().map(str::to_owned))
        .set_memory(current.memory().map(str::to_owned))
        .set_network_mode(current.network_mode().cloned())
        .set_requires_compatibilities(Some(current.requires_compatibilities().to_vec()))
        .set_execution_role_arn(current.execution_role_arn().map(str::to_owned))
        .send()
        .await
        .expect("register");
    let arn = registered
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned();
    assert!(arn.ends_with(":43"), "{arn}");
    client
        .update_service()
        .cluster("nerava-cluster")
        .service("nerava-backend")
        .task_definition(&arn)
        .send()
        .await
        .expect("update_service");
    wait_for_rollout(&sim, ":43").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(
        (otp.status, otp.json()),
        (200, serde_json::json!({ "otp_sent": true })),
        "{}",
        otp.body
    );
}

#[tokio::test]
async fn invalid_credentials_fail_with_twilio_20003() {
    let sim = start("invalid-credentials").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(otp.status, 500, "{}", otp.body);
    wait_for_log(&sim, "OTP", "Twilio error 20003").await;
    // The credentials the service really uses, straight to Twilio: rejected.
    let env = deployed_env(&sim, "nerava-backend").await;
    let account = call(
        http()
            .get(format!(
                "{}/2010-04-01/Accounts/{}.json",
                sim.urls.twilio, env["TWILIO_ACCOUNT_SID"]
            ))
            .basic_auth(&env["TWILIO_ACCOUNT_SID"], Some(&env["TWILIO_AUTH_TOKEN"])),
    )
    .await;
    assert_eq!(account.status, 401);
    assert_eq!(account.json()["code"], 20003);
}

#[tokio::test]
async fn deleted_verify_service_fails_with_twilio_20404() {
    let sim = start("verify-service-deleted").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(otp.status, 500, "{}", otp.body);
    wait_for_log(&sim, "OTP", "Twilio error 20404").await;
    let env = deployed_env(&sim, "nerava-backend").await;
    let service = call(
        http()
            .get(format!(
                "{}/v2/Services/{}",
                sim.urls.twilio, env["TWILIO_VERIFY_SERVICE_SID"]
            ))
            .basic_auth(&env["TWILIO_ACCOUNT_SID"], Some(&env["TWILIO_AUTH_TOKEN"])),
    )
    .await;
    assert_eq!(service.status, 404);
    assert_eq!(service.json()["code"], 20404);
}

#[tokio::test]
async fn stub_provider_in_prod_stops_tasks_at_startup() {
    let sim = start("stub-provider").await;
    let h = health(&sim).await;
    assert_eq!(h.status, 503, "no healthy target: {}", h.body);
    let client = ecs(&sim).await;
    let stopped = client
        .list_tasks()
        .cluster("nerava-cluster")
        .service_name("nerava-backend")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .expect("list_tasks");
    assert!(!stopped.task_arns().is_empty());
    let tasks = client
        .describe_tasks()
        .cluster("nerava-cluster")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .expect("describe_tasks");
    assert!(tasks
        .tasks()
        .iter()
        .any(|t| t.stopped_reason() == Some("Essential container in task exited")));
    let service = client
        .describe_services()
        .cluster("nerava-cluster")
        .services("nerava-backend")
        .send()
        .await
        .expect("describe_services");
    let primary = &service.services()[0].deployments()[0];
    assert_eq!(
        primary.rollout_state(),
        Some(&aws_sdk_ecs::types::DeploymentRolloutState::InProgress)
    );
    assert!(primary.failed_tasks() >= 1);
    assert_eq!(service.services()[0].running_count(), 0);
    wait_for_log(
        &sim,
        "ValueError",
        "OTP_PROVIDER=stub is not allowed when ENV=prod",
    )
    .await;
}

#[tokio::test]
async fn network_blocked_times_out_after_twilio_timeout_seconds() {
    let sim = start("network-blocked").await;
    let (otp, h) = tokio::join!(otp_start(&sim, PHONE), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        health(&sim).await
    });
    // TWILIO_TIMEOUT_SECONDS=30 at this scale is 1.5 s, well before the load balancer's 3 s.
    assert_eq!(otp.status, 503, "{}", otp.body);
    assert!(
        otp.took >= Duration::from_millis(1400) && otp.took < LB_TIMEOUT,
        "{:?}",
        otp.took
    );
    assert!(
        h.status == 200 && h.took < Duration::from_secs(1),
        "{:?}",
        h.took
    );
    wait_for_log(&sim, "timeout", "Twilio timeout after 30s").await;
    // From outside the VPC Twilio answers fine.
    let env = deployed_env(&sim, "nerava-backend").await;
    let account = call(
        http()
            .get(format!(
                "{}/2010-04-01/Accounts/{}.json",
                sim.urls.twilio, env["TWILIO_ACCOUNT_SID"]
            ))
            .basic_auth(&env["TWILIO_ACCOUNT_SID"], Some(&env["TWILIO_AUTH_TOKEN"])),
    )
    .await;
    assert_eq!(
        (account.status, account.json()["status"].as_str()),
        (200, Some("active"))
    );
}

#[tokio::test]
async fn event_loop_blocking_stalls_health_and_rollback_fixes_it() {
    let sim = start("event-loop-blocking").await;
    assert_eq!(
        health(&sim).await.status,
        200,
        "health passes while nothing is in flight"
    );
    let (otp, h) = tokio::join!(otp_start(&sim, PHONE), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        health(&sim).await
    });
    assert_eq!(otp.status, 504, "{}", otp.body);
    assert!(otp.took >= LB_TIMEOUT);
    assert!(
        h.took >= Duration::from_secs(2),
        "health stalls with the OTP start: {:?}",
        h.took
    );
    // When the SDK's socket timeout frees the loop (90 s → 4.5 s), the send goes out late.
    wait_for_log(&sim, "OTP", "OTP sent successfully").await;
    let after = health(&sim).await;
    assert!(after.status == 200 && after.took < Duration::from_secs(1));

    // Roll back to yesterday's revision (the fixed image).
    ecs(&sim)
        .await
        .update_service()
        .cluster("nerava-cluster")
        .service("nerava-backend")
        .task_definition("nerava-backend:41")
        .send()
        .await
        .expect("update_service");
    wait_for_rollout(&sim, ":41").await;
    let (otp, h) = tokio::join!(otp_start(&sim, "+15125550199"), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        health(&sim).await
    });
    assert_eq!(otp.status, 200, "{}", otp.body);
    assert!(otp.took < Duration::from_secs(1), "{:?}", otp.took);
    assert!(h.took < Duration::from_secs(1));
}

#[tokio::test]
async fn suspended_account_refuses_sends() {
    let sim = start("account-suspended").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(otp.status, 500, "{}", otp.body);
    wait_for_log(&sim, "OTP", "Twilio error 20005").await;
    let env = deployed_env(&sim, "nerava-backend").await;
    let account = call(
        http()
            .get(format!(
                "{}/2010-04-01/Accounts/{}.json",
                sim.urls.twilio, env["TWILIO_ACCOUNT_SID"]
            ))
            .basic_auth(&env["TWILIO_ACCOUNT_SID"], Some(&env["TWILIO_AUTH_TOKEN"])),
    )
    .await;
    assert_eq!(account.json()["status"], "suspended");
}

#[tokio::test]
async fn rate_limited_phone_gets_429_with_retry_after() {
    let sim = start("rate-limited").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(otp.status, 429, "{}", otp.body);
    assert!(otp.retry_after.is_some());
    wait_for_log(&sim, "OTP", "Twilio error 60203").await;
}

#[tokio::test]
async fn aws_credential_errors_come_back_as_aws_does() {
    let sim = start("healthy").await;
    for (key, want) in [
        ("AKIASIMEXPIRED000001", "ExpiredTokenException"),
        ("AKIASIMUNKNOWN000001", "UnrecognizedClientException"),
        ("AKIASIMDENIED0000001", "AccessDeniedException"),
    ] {
        let client = aws_sdk_ecs::Client::new(&aws_config(&sim, key).await);
        let err = client
            .describe_services()
            .cluster("nerava-cluster")
            .services("nerava-backend")
            .send()
            .await
            .expect_err("credential error");
        let code = aws_sdk_ecs::error::ProvideErrorMetadata::code(&err).map(str::to_owned);
        assert_eq!(code.as_deref(), Some(want), "{err:?}");
        let logs = aws_sdk_cloudwatchlogs::Client::new(&aws_config(&sim, key).await);
        let err = logs
            .describe_log_streams()
            .log_group_name("/ecs/nerava-backend")
            .send()
            .await
            .expect_err("credential error");
        let code =
            aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata::code(&err).map(str::to_owned);
        assert_eq!(code.as_deref(), Some(want));
    }
}

#[tokio::test]
async fn malformed_aws_requests_get_aws_shaped_errors() {
    let sim = start("healthy").await;
    let post = |target: &str, body: &str| {
        http()
            .post(&sim.urls.aws)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIASIMULATOR0000001/20260124/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_owned())
    };
    let bad_json = call(post(
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        "{nope",
    ))
    .await;
    assert_eq!(
        (bad_json.status, bad_json.json()["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let unknown = call(post("Nope_1.Thing", "{}")).await;
    assert_eq!(unknown.json()["__type"], "UnknownOperationException");
    let no_cluster = call(post(
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        r#"{"cluster":"other","services":["nerava-backend"]}"#,
    ))
    .await;
    assert_eq!(no_cluster.json()["__type"], "ClusterNotFoundException");
    let unsigned = call(
        http()
            .post(&sim.urls.aws)
            .header("x-amz-target", "Logs_20140328.DescribeLogGroups")
            .body("{}"),
    )
    .await;
    assert_eq!(
        unsigned.json()["__type"],
        "MissingAuthenticationTokenException"
    );
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let scenario = scenario::load("healthy").expect("loads");
    let err = Simulator::start(
        scenario,
        SCALE,
        Ports {
            api: port,
            ..Ports::default()
        },
    )
    .await
    .err()
    .expect("port in use");
    let text = err.to_string();
    assert!(
        text.contains(&port.to_string()) && text.contains("backend API"),
        "{text}"
    );
}

#[tokio::test]
async fn scenarios_are_deterministic() {
    let strip = |mut td: Value| {
        td["taskDefinition"]
            .as_object_mut()
            .map(|o| o.remove("registeredAt"));
        td
    };
    let mut seen = Vec::new();
    for _ in 0..2 {
        let sim = start("invalid-credentials").await;
        let out = call(
            http()
                .post(&sim.urls.aws)
                .header(
                    "x-amz-target",
                    "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
                )
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIASIMULATOR0000001/x",
                )
                .body(r#"{"taskDefinition":"nerava-backend","include":["TAGS"]}"#),
        )
        .await;
        seen.push(strip(out.json()));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0]["tags"][0]["key"], "app");
}

/// The Twilio Messages the account sent to `phone`, newest first, as the API lists them.
async fn messages_to(sim: &Simulator, phone: &str) -> Vec<Value> {
    let env = deployed_env(sim, "nerava-backend").await;
    let list = call(
        http()
            .get(format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                sim.urls.twilio, env["TWILIO_ACCOUNT_SID"]
            ))
            .query(&[("To", phone)])
            .basic_auth(&env["TWILIO_ACCOUNT_SID"], Some(&env["TWILIO_AUTH_TOKEN"])),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn sms_provider_sends_from_its_number_and_the_code_logs_in() {
    let sim = start("sms-healthy").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(
        (otp.status, otp.json()),
        (200, serde_json::json!({ "otp_sent": true })),
        "{}",
        otp.body
    );
    let sent = messages_to(&sim, PHONE).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["from"], "+18325550147");
    // Delivered within 1.5 nominal seconds (75 ms here).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = messages_to(&sim, PHONE).await;
    assert_eq!(sent[0]["status"], "delivered");
    let code = sim
        .twilio()
        .inbox(PHONE)
        .last()
        .expect("SMS arrived")
        .code
        .clone();
    assert_eq!(code.len(), 6);
    let verify = |code: &str| {
        http()
            .post(format!("{}/v1/auth/otp/verify", sim.urls.api))
            .json(&serde_json::json!({ "phone": PHONE, "code": code }))
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(call(verify(wrong)).await.status, 400);
    let ok = call(verify(&code)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(call(verify(&code)).await.status, 400, "a code works once");
    let lines = wait_for_log(&sim, "OTP", "OTP verified phone_last4=6318").await;
    assert!(lines.iter().any(|l| l == "[OTP] Using Twilio SMS provider"));
    assert!(lines
        .iter()
        .any(|l| l.contains("OTP sent successfully phone_last4=6318 status=queued")));
}

#[tokio::test]
async fn released_from_number_fails_with_twilio_21606() {
    let sim = start("sms-from-number-released").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(otp.status, 500, "{}", otp.body);
    wait_for_log(&sim, "OTP", "Twilio error 21606").await;
    assert!(messages_to(&sim, PHONE).await.is_empty());
    assert!(sim.twilio().inbox(PHONE).is_empty());
}

#[tokio::test]
async fn filtered_sms_is_sent_then_undelivered_with_30007() {
    let sim = start("sms-undelivered").await;
    let otp = otp_start(&sim, PHONE).await;
    assert_eq!(otp.status, 200, "{}", otp.body);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = messages_to(&sim, PHONE).await;
    assert_eq!(sent[0]["status"], "undelivered");
    assert_eq!(sent[0]["error_code"], 30007);
    assert!(sim.twilio().inbox(PHONE).is_empty());
}

/// `execution-role-denied` by cause: the simulated ECS agent reads the deployed revision's
/// secret as the execution role, whose policy does not grant it, so every new task stops with
/// ECS's AccessDeniedException line and the API answers 503; granting the role the secret
/// through IAM (no new deployment) lets the scheduler's next launch start and serve.
#[tokio::test(flavor = "multi_thread")]
async fn execution_role_denied_stops_tasks_until_the_role_may_read_the_secret() {
    let sim = Simulator::start(
        scenario::load("execution-role-denied").expect("loads"),
        0.01,
        Ports::default(),
    )
    .await
    .expect("starts");
    let ecs = ecs(&sim).await;
    let stopped = ecs
        .list_tasks()
        .cluster("nerava-cluster")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .expect("list");
    let described = ecs
        .describe_tasks()
        .cluster("nerava-cluster")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .expect("describe");
    let reason = described
        .tasks()
        .iter()
        .filter_map(|t| t.stopped_reason())
        .find(|r| r.contains("AccessDeniedException"))
        .expect("a task stopped on the role");
    assert!(
        reason.contains("assumed-role/nerava-backend-execution")
            && reason.contains("secretsmanager:GetSecretValue")
            && reason.contains("nerava/twilio/auth-token-Qw3rTy"),
        "{reason}"
    );
    assert_eq!(health(&sim).await.status, 503);

    let iam = aws_sdk_iam::Client::new(&aws_config(&sim, sim::ACCESS_KEY_ID).await);
    iam.put_role_policy()
        .role_name("nerava-backend-execution")
        .policy_name("read-twilio-auth-token")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/twilio/*"}]}"#)
        .send()
        .await
        .expect("put-role-policy");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if health(&sim).await.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the service never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = otp_start(&sim, PHONE).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
}

/// The background users' codes are in the account as Twilio keeps them: their messages from
/// the deployed number (`twilio_sms`) and their Verify attempts (`twilio_verify`), over the
/// hour before the simulator started, meeting the scenario's carrier; the console's own sends
/// are listed beside them.
#[tokio::test]
async fn real_users_codes_are_listed_by_the_twilio_account_with_the_carriers_verdict() {
    for (name, sms, status, code) in [
        ("sms-healthy", true, "delivered", None),
        ("sms-undelivered", true, "undelivered", Some("30007")),
        ("healthy", false, "delivered", None),
        ("verify-undelivered", false, "undelivered", Some("30008")),
    ] {
        let sim = start(name).await;
        let env = deployed_env(&sim, "nerava-backend").await;
        let twilio = &sim.scenario().twilio;
        let auth = |r: reqwest::RequestBuilder| {
            r.basic_auth(&twilio.account_sid, Some(&twilio.auth_token))
        };
        let since = (chrono::Utc::now() - chrono::Duration::minutes(30))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let rows = if sms {
            let list = call(auth(
                http()
                    .get(format!(
                        "{}/2010-04-01/Accounts/{}/Messages.json",
                        sim.urls.twilio, twilio.account_sid
                    ))
                    .query(&[
                        ("From", env["OTP_FROM_NUMBER"].as_str()),
                        ("PageSize", "200"),
                    ]),
            ))
            .await;
            assert_eq!(list.status, 200, "{name}: {}", list.body);
            list.json()["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        } else {
            let list = call(auth(
                http()
                    .get(format!("{}/v2/Attempts", sim.urls.twilio))
                    .query(&[
                        ("VerifyServiceSid", twilio.services[0].sid.as_str()),
                        ("DateCreatedAfter", since.as_str()),
                        ("PageSize", "200"),
                    ]),
            ))
            .await;
            assert_eq!(list.status, 200, "{name}: {}", list.body);
            list.json()["attempts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        // About three a minute for the last hour (half an hour of attempts).
        assert!(rows.len() >= 45, "{name}: {} rows", rows.len());
        let dates: Vec<&str> = rows
            .iter()
            .filter_map(|r| r["date_created"].as_str())
            .collect();
        assert_eq!(dates.len(), rows.len(), "{name}");
        let final_row = &rows[rows.len() - 1];
        let (got_status, got_code) = if sms {
            (
                final_row["status"].as_str(),
                final_row["error_code"].as_u64().map(|c| c.to_string()),
            )
        } else {
            (
                final_row["channel_data"]["message_status"].as_str(),
                final_row["channel_data"]["error_code"]
                    .as_str()
                    .map(str::to_owned),
            )
        };
        assert_eq!(got_status, Some(status), "{name}: {final_row:#}");
        assert_eq!(got_code.as_deref(), code, "{name}: {final_row:#}");
        if !sms {
            let converted = status == "delivered";
            assert_eq!(
                final_row["conversion_status"],
                if converted {
                    "converted"
                } else {
                    "unconverted"
                },
                "{name}"
            );
        }
        sim.shutdown().await;
    }
}

/// A carrier that serves only some destinations refuses only their SMS: in
/// `sms-partly-undelivered` the users' messages to the numbers it serves end undelivered with
/// 30007, every other user's is delivered, and so is the test phone's own code.
#[tokio::test]
async fn a_carrier_refuses_only_the_numbers_it_serves() {
    let sim = start("sms-partly-undelivered").await;
    let env = deployed_env(&sim, "nerava-backend").await;
    let twilio = &sim.scenario().twilio;
    let serves = twilio.carrier_serves.clone();
    assert!(!serves.is_empty());
    let sent = otp_start(&sim, PHONE).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let list = || {
        call(
            http()
                .get(format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    sim.urls.twilio, twilio.account_sid
                ))
                .basic_auth(&twilio.account_sid, Some(&twilio.auth_token))
                .query(&[
                    ("From", env["OTP_FROM_NUMBER"].as_str()),
                    ("PageSize", "200"),
                ]),
        )
    };
    // The test phone's code reaches its final status (the simulated carrier takes 1.5 s
    // nominal, scaled).
    let deadline = Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let answer = list().await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let rows = answer.json()["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mine = rows.iter().find(|m| m["to"] == PHONE);
        if mine.is_some_and(|m| m["status"] == "delivered") || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mine = rows
        .iter()
        .find(|m| m["to"] == PHONE)
        .expect("the test SMS");
    assert_eq!(mine["status"], "delivered", "{mine:#}");
    let (mut refused, mut delivered) = (0, 0);
    for m in rows.iter().filter(|m| m["to"] != PHONE) {
        let to = m["to"].as_str().unwrap_or_default();
        let on_it = serves.iter().any(|p| to.starts_with(p.as_str()));
        match m["status"].as_str() {
            Some("undelivered") => {
                assert!(on_it, "{to} is not the refusing carrier's: {m:#}");
                assert_eq!(m["error_code"], 30007, "{m:#}");
                refused += 1;
            }
            Some("delivered") => {
                assert!(!on_it, "{to} is the refusing carrier's: {m:#}");
                delivered += 1;
            }
            _ => {}
        }
    }
    assert!(
        refused > 0 && delivered > refused,
        "{refused} refused, {delivered} delivered"
    );
}
