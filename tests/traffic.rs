//! Real traffic end to end (#16): for every scenario, `check --check-aws` without a test phone
//! reads what the simulated users got (the backend's access lines, the load balancer's metrics
//! and target health over the simulator's AWS endpoint: ELBv2 in the Query protocol, CloudWatch
//! GetMetricData in Smithy RPC v2 CBOR) and reports it; where the traffic is conclusive with
//! the rest of the evidence, the verdict names the mode and cites the traffic, and it never
//! claims a mode the traffic alone cannot support.

#[path = "contract_support/simulator.rs"]
mod support;

use std::process::Command;

use otp_console::check;
use otp_console::diagnosis::traffic::Signal;
use otp_console::diagnosis::{FailureMode, Item, State};
use otp_console::sim::scenario;
use serde_json::Value;

async fn without_test_phone(name: &'static str) -> check::Report {
    let (_sim, config) = support::simulator(name).await;
    let options = check::Options {
        test_phone: None,
        ..support::check_options()
    };
    check::check(&config, name, &options).await.expect("runs")
}

/// What the users of each scenario get from OTP start, recently: the status most of them get
/// (`None`: no task serves them, the load balancer answers itself). The verdict is the
/// scenario's own `[expect]` (`without_test_phone`, else `failure_mode`).
const CASES: &[(&str, Option<u16>)] = &[
    ("healthy", Some(200)),
    ("missing-env-vars", Some(504)),
    ("invalid-credentials", Some(500)),
    ("verify-service-deleted", Some(500)),
    ("stub-provider", None),
    // Named from the network's configuration (EC2), which traffic alone could not do.
    ("network-blocked", Some(503)),
    ("nat-route-missing", Some(503)),
    ("bridge-sg-blocked", Some(503)),
    ("execution-role-denied", None),
    ("secret-kms-denied", None),
    // Users' codes reach Twilio while their starts hang: neither the network nor a missing
    // variable, the call that holds the server.
    ("event-loop-blocking", Some(504)),
    ("account-suspended", Some(500)),
    // The limit is the test phone's: real users go through.
    ("rate-limited", Some(200)),
    ("sms-healthy", Some(200)),
    ("sms-from-number-released", Some(500)),
    // The carrier drops the SMS after the API said sent: the traffic is 200s, but the
    // account's own list of its messages (and Verify's attempts) says undelivered.
    ("sms-undelivered", Some(200)),
    ("verify-undelivered", Some(200)),
    ("sms-partly-undelivered", Some(200)),
    ("secret-rotated", Some(500)),
    ("secret-deleted", None),
    // Nothing to serve them: the load balancer answers every request itself.
    ("scaled-to-zero", None),
    // The database secret deleted after the tasks read it: nothing fails now.
    ("secret-deleted-after-start", Some(200)),
    ("event-loop-secret-deleted", Some(504)),
    // The container logs to another region than the service's.
    ("logs-other-region", Some(200)),
    // A log router listed before the backend's container.
    ("sidecar-first", Some(200)),
    ("sidecar-missing-env-vars", Some(504)),
    // The idle timeout is the backend's Twilio timeout: nothing hangs, so nothing shows it.
    ("timeout-order", Some(200)),
    // Variables from an env file in S3: as their plain-variable counterparts.
    ("env-file", Some(200)),
    ("env-file-missing-env-vars", Some(504)),
    ("env-file-denied", None),
    // On App Runner: the same backend behind App Runner's own front end (no load balancer of
    // the account's to read), its access lines in App Runner's application log group.
    ("apprunner-healthy", Some(200)),
    ("apprunner-missing-env-vars", Some(504)),
    ("apprunner-vpc-egress-blocked", Some(503)),
    ("apprunner-paused", None),
    // The instance role narrowed after the instances read their secrets: nothing fails now.
    ("apprunner-instance-role-narrowed", Some(200)),
];

#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn every_scenario_reports_its_real_traffic_without_a_test_phone() {
    let handles: Vec<_> = CASES
        .iter()
        .map(|(name, _)| tokio::spawn(without_test_phone(name)))
        .collect();
    let listed: Vec<&str> = CASES.iter().map(|(name, _)| *name).collect();
    for (name, _) in scenario::list() {
        assert!(
            listed.contains(&name),
            "{name}: add its users' status to CASES"
        );
    }
    for ((name, status), handle) in CASES.iter().zip(handles) {
        let expect = scenario::load(name).expect("scenario").expect;
        let verdict = expect.without_test_phone.unwrap_or(expect.failure_mode);
        let report = handle.await.expect("check task");
        let table = check::render_table(&report);
        let traffic = report
            .evidence
            .traffic
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no traffic read\n{table}"));
        let access = traffic
            .access
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // App Runner's front end is its own: no load balancer of the account's to read.
        let on_apprunner = scenario::load(name).expect("scenario").apprunner.is_some();
        if on_apprunner {
            assert!(traffic.load_balancer.is_none(), "{name}");
        } else {
            load_balancer_agrees(name, traffic, *status, &table);
        }
        assert!(table.contains("REAL TRAFFIC"), "{name}\n{table}");

        let signal = Signal::of(&report.evidence).expect("read");
        let otp = signal.otp.expect("access lines read");
        if let Some(status) = status {
            let start = access
                .endpoint("POST", "/v1/auth/otp/start")
                .unwrap_or_else(|| panic!("{name}: no OTP start lines\n{table}"));
            let recent: u64 = start.per_minute[start.per_minute.len() - 15..]
                .iter()
                .map(|m| match status {
                    504 => m.timeouts,
                    503 => m.unavailable,
                    500 => m.errors_5xx - m.timeouts - m.unavailable,
                    _ => m.requests - m.errors_5xx,
                })
                .sum();
            assert!(
                otp.requests > 0 && recent * 2 >= otp.requests,
                "{name}: recent OTP starts are not mostly {status}: {otp:?}\n{table}"
            );
            assert!(signal.health_fine(), "{name}: /health\n{table}");
        } else {
            assert_eq!(otp.requests, 0, "{name}");
        }

        let d = &report.diagnosis;
        assert_eq!(d.verdict.failure_mode.id(), verdict, "{name}\n{table}");
        // Users failing is never "no failure found", and users served is never a failure
        // found in the traffic.
        // A paused App Runner service has no instance to write lines and no load balancer of
        // the account's counts the users' requests: nothing shows them (the verdict comes from
        // the service's status).
        let users_unseen = on_apprunner && status.is_none();
        assert_eq!(
            signal.otp_fails(),
            *status != Some(200) && !users_unseen,
            "{name}: {signal:?}"
        );
        if signal.otp_fails() {
            assert_ne!(d.verdict.failure_mode, FailureMode::None, "{name}");
            let cited = d
                .verdict
                .candidates
                .iter()
                .flat_map(|f| &f.evidence)
                .any(|line| line.starts_with("real traffic:"));
            assert!(cited, "{name}: the traffic is not cited\n{table}");
        }
        // What traffic alone supports stays a candidate.
        if d.verdict.failure_mode == FailureMode::Inconclusive {
            assert!(
                d.verdict.candidates.iter().all(|f| f.confidence == 0),
                "{name}: {:#?}",
                d.verdict.candidates
            );
        }
    }
}

/// The load balancer's view agrees with the users' status: a healthy target and its 504s when
/// they are answered, only its own 5xx when nothing serves them.
fn load_balancer_agrees(
    name: &str,
    traffic: &otp_console::probe::traffic::RealTraffic,
    status: Option<u16>,
    table: &str,
) {
    let lb = traffic
        .load_balancer
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no load balancer"))
        .as_ref()
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let targets = lb
        .targets
        .as_ref()
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert!(
        lb.requests > 0,
        "{name}: the load balancer counted nothing\n{table}"
    );
    if let Some(status) = status {
        assert_eq!(lb.healthy, Some(1), "{name}");
        assert!(
            targets.iter().any(|t| t.state == "healthy"),
            "{name}: {targets:?}"
        );
        if status == 504 {
            assert!(
                lb.elb_504 > 0,
                "{name}: the load balancer saw no 504\n{table}"
            );
        }
    } else {
        assert!(lb.elb_5xx > 0 && lb.healthy == Some(0), "{name}\n{table}");
        assert!(
            targets.iter().all(|t| t.state != "healthy"),
            "{name}: {targets:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runbook_incident_fits_the_hanging_modes_before_any_test_send() {
    let report = without_test_phone("event-loop-blocking").await;
    let d = &report.diagnosis;
    let top = &d.verdict.candidates[0];
    assert_eq!(top.failure_mode, FailureMode::EventLoopBlocked);
    assert!(
        top.evidence[0].starts_with("real traffic: OTP start"),
        "{top:#?}"
    );
    assert!(
        top.evidence
            .iter()
            .any(|l| l.starts_with("image changed since :41")),
        "{top:#?}"
    );
    // Twilio's record of the users' codes, read without sending anything, names it: the
    // calls got out, yet the requests hung.
    assert_eq!(d.verdict.failure_mode, FailureMode::EventLoopBlocked);
    assert!(top.confidence >= 1, "{top:#?}");
    assert!(
        top.evidence[0].contains("— yet Twilio's Verify Attempts list ")
            && top.evidence[0].contains(" of their codes sent in the same minutes"),
        "{top:#?}"
    );
    // The task definition has every variable and the codes get out: neither the provider's
    // wait nor a blocked network fits.
    assert!(d.verdict.candidates.iter().all(|f| !matches!(
        f.failure_mode,
        FailureMode::MissingEnvVars | FailureMode::NetworkBlocked
    )));
    let otp_line = d
        .checklist
        .iter()
        .find(|l| l.item == Item::OtpStartSent)
        .expect("line");
    assert_eq!(otp_line.state, State::Fail);
    assert!(otp_line.evidence.contains("real traffic"), "{otp_line:?}");
}

#[test]
fn binary_reports_the_demo_traffic_under_observations() {
    let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .env_remove("AWS_PROFILE")
        .args([
            "check",
            "--demo",
            "event-loop-blocking",
            "--check-aws",
            "--json",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let traffic = &json["observations"]["traffic"];
    let endpoints = traffic["access"]["endpoints"]
        .as_array()
        .expect("endpoints");
    let otp = endpoints
        .iter()
        .find(|e| e["path"] == "/v1/auth/otp/start")
        .expect("OTP start");
    assert!(otp["by_status"]["504"].as_u64() > Some(0), "{otp}");
    assert_eq!(otp["per_minute"].as_array().map(Vec::len), Some(60));
    let lb = &traffic["load_balancer"];
    assert!(lb["elb_504"].as_u64() > Some(0), "{lb}");
    assert_eq!(lb["targets"][0]["state"], "healthy", "{lb}");
    assert_eq!(json["verdict"]["failure_mode"], "event_loop_blocked");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"),
        "a secret in the JSON"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_balancer_the_operator_cannot_read_is_one_unknown_line() {
    // Least privilege: everything allowed but CloudWatch's GetMetricData.
    let mut scenario = otp_console::sim::scenario::load("event-loop-blocking").expect("loads");
    scenario.aws.access_keys.insert(
        "AKIASIMNOMETRICS0001".into(),
        "AccessDeniedException:cloudwatch:GetMetricData".into(),
    );
    let sim =
        otp_console::sim::Simulator::start(scenario, 0.05, otp_console::sim::Ports::default())
            .await
            .expect("starts");
    let config = otp_console::sim::run::config_for(&sim.urls, sim.scenario());
    let options = check::Options {
        test_phone: None,
        aws_credentials: Some(("AKIASIMNOMETRICS0001".into(), "secret".into())),
        ..support::check_options()
    };
    let report = check::check(&config, "denied", &options)
        .await
        .expect("runs");
    let traffic = report.evidence.traffic.as_ref().expect("read");
    let e = traffic
        .load_balancer
        .as_ref()
        .expect("the service has one")
        .as_ref()
        .expect_err("GetMetricData is denied");
    assert_eq!(e.kind, otp_console::probe::ErrorKind::Credentials, "{e:?}");
    assert!(
        e.message.contains("GetMetricData") && !e.message.contains('\n'),
        "{e:?}"
    );
    // The access lines still tell the story.
    assert!(traffic.access.is_ok());
    let d = &report.diagnosis;
    assert_eq!(
        d.verdict.candidates[0].failure_mode,
        FailureMode::EventLoopBlocked
    );
    assert!(
        d.unknown
            .iter()
            .any(|l| l.starts_with("Real traffic, load balancer:") && l.contains("GetMetricData")),
        "{:?}",
        d.unknown
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_load_balancer_counts_every_request_it_answers() {
    // No background users, no health checks: only the requests this test sends.
    let mut scenario = otp_console::sim::scenario::load("healthy").expect("loads");
    scenario.traffic.otp_starts_per_minute = 0.0;
    scenario.traffic.health_check_secs = 0.0;
    let sim =
        otp_console::sim::Simulator::start(scenario, 0.05, otp_console::sim::Ports::default())
            .await
            .expect("starts");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for path in ["/health", "/health", "/nope"] {
        http.get(format!("{}{path}", sim.urls.api))
            .send()
            .await
            .expect("answer");
    }
    let config = otp_console::sim::run::config_for(&sim.urls, sim.scenario());
    let sdk = otp_console::engine::demo_sdk_config(&config).await;
    let probe = otp_console::probe::metrics::MetricsProbe::new(&sdk, &config.aws);
    let now = chrono::Utc::now().timestamp_millis();
    let lb = Box::pin(probe.read(now - otp_console::probe::traffic::WINDOW_MS, now + 60_000))
        .await
        .expect("a load balancer")
        .expect("read");
    // 404 is the target's answer, not a 5xx: three requests, none failed at the load balancer.
    assert_eq!(
        (lb.requests, lb.elb_5xx, lb.target_5xx),
        (3, 0, 0),
        "{lb:?}"
    );
    assert!(lb.p99_ms.is_some(), "{lb:?}");
    assert_eq!(lb.healthy, None, "no health checks ran: {lb:?}");
}

/// A Twilio slower than the backend's TWILIO_TIMEOUT_SECONDS (a degraded Twilio API, its status
/// page saying so): the backend gives up on every send with a 503, and so do the simulated
/// users' OTP starts, whose access lines the console reads — never a 200 the API cannot give.
#[tokio::test(flavor = "multi_thread")]
async fn a_twilio_slower_than_the_backends_timeout_fails_users_as_it_fails_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slow-twilio.toml");
    std::fs::write(
        &path,
        "description = \"Twilio answers in 35 s, over TWILIO_TIMEOUT_SECONDS=30\"\n\
         [twilio]\nlatency_secs = 35.0\n\
         [statuspage]\nindicator = \"minor\"\ndescription = \"Partial System Outage\"\n",
    )
    .expect("write");
    let (sim, config) = support::simulator(path.to_str().expect("utf-8")).await;
    let options = check::Options {
        test_phone: None,
        ..support::check_options()
    };
    let report = check::check(&config, "slow-twilio", &options)
        .await
        .expect("runs");
    let table = check::render_table(&report);
    let signal = Signal::of(&report.evidence).expect("read");
    let otp = signal.otp.expect("access lines read");
    assert!(
        otp.requests > 0 && otp.unavailable * 2 >= otp.requests,
        "users' OTP starts are not mostly 503: {otp:?}\n{table}"
    );
    assert!(signal.otp_fails(), "{signal:?}");
    assert_ne!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::None,
        "{table}"
    );
    // The API itself answers the same, by the same cause.
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/auth/otp/start", sim.urls.api))
        .json(&serde_json::json!({ "phone": "+17133056318" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status().as_u16(), 503);
}

/// The simulated users' OTP starts leave the backend's own lines, as production's do: the
/// timeouts behind a blocked egress and Twilio's refusals are in the log group before anyone
/// sends a test, each about a user's phone (never the test phone).
#[tokio::test(flavor = "multi_thread")]
async fn users_requests_leave_the_backends_own_lines() {
    for (name, kind, text) in [
        (
            "network-blocked",
            "twilio_timeout",
            "Twilio timeout after 30s",
        ),
        (
            "invalid-credentials",
            "credential_error",
            "Twilio error 20003",
        ),
        ("healthy", "otp_sent", "OTP sent successfully"),
    ] {
        let report = without_test_phone(name).await;
        let e = &report.evidence;
        assert!(
            e.line_counts.get(kind).is_some_and(|n| *n > 0),
            "{name}: {:?}",
            e.line_counts
        );
        let line = e
            .events
            .iter()
            .find(|l| l.message.contains(text))
            .unwrap_or_else(|| panic!("{name}: no {text:?} line"));
        assert!(
            line.message.contains("phone_last4=01") && !line.message.contains("6318"),
            "{name}: {}",
            line.message
        );
    }
}
