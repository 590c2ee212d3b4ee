//! `otp-console check` end to end: every scenario of the simulator diagnosed from observations
//! alone (the library entry point, and the real binary for exit statuses, the JSON schema and
//! the one-line errors of bad input).

#[path = "contract_support/simulator.rs"]
mod support;

use std::process::Command;

use otp_console::check;
use otp_console::diagnosis::{self, Evidence, FailureMode, Names, State};
use otp_console::probe::http::Endpoint;
use otp_console::sim::scenario;
use serde_json::Value;

async fn diagnose(name: &str) -> check::Report {
    let (_sim, config) = support::simulator(name).await;
    check::check(&config, name, &support::check_options())
        .await
        .expect("runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_scenario_gets_its_failure_mode() {
    // Every built-in scenario, with the verdict and risks its own file expects.
    let cases: Vec<(&str, scenario::Expectation)> = scenario::list()
        .into_iter()
        .map(|(name, _)| (name, scenario::load(name).expect("scenario").expect))
        .collect();
    // Eight at a time: forty simulators and their checks at once on two cores starve the
    // probes (a /health answered in over 2 s during an OTP start reads as a stall).
    let mut reports = Vec::new();
    for chunk in cases.chunks(8) {
        reports.extend(futures_join(chunk.iter().map(|(name, _)| diagnose(name))).await);
    }
    for ((name, want), report) in cases.iter().zip(reports) {
        assert_eq!(
            report.diagnosis.verdict.failure_mode.id(),
            want.failure_mode,
            "{name}: {}",
            check::render_table(&report)
        );
        let risks: Vec<&str> = report
            .diagnosis
            .verdict
            .risks
            .iter()
            .map(|r| r.failure_mode.id())
            .collect();
        assert_eq!(
            risks,
            want.risks,
            "{name}: {}",
            check::render_table(&report)
        );
        // Every verdict the run would have shown on its way there: the expected one or
        // `inconclusive`, never another failure mode, never `none` before a failure.
        let shown = verdicts_over_time(&report);
        assert!(
            shown
                .iter()
                .all(|(_, mode)| mode.id() == want.failure_mode
                    || *mode == FailureMode::Inconclusive),
            "{name}: shown {shown:?}"
        );
        assert_eq!(
            shown.last().map(|(_, mode)| mode.id()),
            Some(want.failure_mode.as_str()),
            "{name}: shown {shown:?}"
        );
        // A failure named while its own OTP start was still waiting explains something seen.
        let verdict = &report.diagnosis.verdict;
        let otp_waiting = report
            .outstanding
            .iter()
            .any(|(e, _)| *e == Endpoint::OtpStart);
        if verdict.failure_mode.is_failure() && otp_waiting {
            assert!(
                verdict
                    .candidates
                    .iter()
                    .any(|c| c.failure_mode == verdict.failure_mode && !c.explains.is_empty()),
                "{name}: concluded with its OTP start in flight on a cause that explains nothing seen: {}",
                check::render_table(&report)
            );
        }
        // What it recorded, diagnosed again, gives the same answer.
        let replayed = check::replay::replay(&check::report_json(&report), name).expect("replays");
        assert_eq!(
            replayed.diagnosis.verdict, report.diagnosis.verdict,
            "{name}: the replay differs"
        );
        let json = check::report_json(&report).to_string();
        for secret in [
            "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
            "4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a",
            "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
            "7133056318",
            "jwt-signing-key",
        ] {
            assert!(!json.contains(secret), "{name}: a secret in the JSON");
        }
    }
}

/// The verdicts a run showed, in order, each with when it first showed (ms since the run's
/// first observation): the run's observations replayed into the diagnosis one by one, and
/// diagnosed again every 100 ms between them (a hang's age changes the verdict by itself).
fn verdicts_over_time(report: &check::Report) -> Vec<(i64, FailureMode)> {
    let mut evidence = Evidence::default();
    let names = Names::default();
    let mut shown: Vec<(i64, FailureMode)> = Vec::new();
    let Some(first) = report.observations.first().map(|(at, _)| *at) else {
        return shown;
    };
    let mut note = |evidence: &Evidence, at: i64| {
        let mode = diagnosis::diagnose(evidence, &names, at)
            .verdict
            .failure_mode;
        if shown.last().map(|(_, m)| *m) != Some(mode) {
            shown.push((at - first, mode));
        }
    };
    let mut clock = first;
    for (at, observation) in &report.observations {
        while clock + 100 < *at {
            clock += 100;
            note(&evidence, clock);
        }
        evidence.record(observation.clone());
        clock = clock.max(*at);
        note(&evidence, *at);
    }
    shown
}

async fn futures_join<F: std::future::Future<Output = check::Report> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<check::Report> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("check task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn healthy_checklist_passes_and_the_event_loop_verdict_comes_before_the_504() {
    let healthy = diagnose("healthy").await;
    let state = |r: &check::Report, label: &str| {
        r.diagnosis
            .checklist
            .iter()
            .find(|l| l.label.starts_with(label))
            .map(|l| l.state)
    };
    assert_eq!(
        state(&healthy, "AWS ECS task definition"),
        Some(State::Pass)
    );
    assert_eq!(
        state(&healthy, "Twilio account is active"),
        Some(State::Pass)
    );
    assert_eq!(state(&healthy, "Test OTP request"), Some(State::Pass));
    assert!(healthy.outstanding.is_empty());
    let table = check::render_table(&healthy);
    assert!(
        table.contains("\nLOGS  followed by polling FilterLogEvents every 500 ms"),
        "{table}"
    );

    let blocked = diagnose("event-loop-blocking").await;
    // The verdict does not wait for the load balancer's 504: the OTP start is still
    // outstanding when it is given (a fact, not a timing, so a loaded machine cannot flake it).
    assert!(blocked
        .outstanding
        .iter()
        .any(|(e, _)| *e == otp_console::probe::http::Endpoint::OtpStart));
    assert_eq!(state(&blocked, "Test OTP request"), Some(State::Running));
    let top = &blocked.diagnosis.verdict.candidates[0];
    assert!(
        top.commands
            .iter()
            .any(|c| c.contains("--task-definition nerava-backend:41")),
        "{top:#?}"
    );
}

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otp-console"));
    cmd.env_remove("AWS_PROFILE");
    cmd
}

/// `check --demo SCENARIO --check-aws` with a test phone and a report written in `dir` (and
/// `--json` when asked): what it printed, and the report's Markdown and JSON.
fn full_check_with_report(
    dir: &std::path::Path,
    scenario: &str,
    json: bool,
) -> (std::process::Output, String, String) {
    let report = dir.join(format!("{scenario}-{json}"));
    let mut cmd = binary();
    cmd.args([
        "check",
        "--demo",
        scenario,
        "--check-aws",
        "--test-phone",
        "+17133056318",
    ])
    .args(["--time-scale", "0.05", "--report"])
    .arg(&report);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().expect("runs");
    let md = std::fs::read_to_string(report.with_extension("md")).expect("report.md");
    let js = std::fs::read_to_string(report.with_extension("json")).expect("report.json");
    (out, md, js)
}

#[test]
fn binary_json_schema_and_exit_statuses() {
    let out = binary()
        .args([
            "check",
            "--demo",
            "healthy",
            "--json",
            "--check-aws",
            "--test-phone",
            "+17133056318",
            "--time-scale",
            "0.05",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["verdict"]["failure_mode"], "none");
    assert!(json["verdict"]["candidates"]
        .as_array()
        .is_some_and(Vec::is_empty));
    assert_eq!(json["checklist"].as_array().map(Vec::len), Some(9));
    assert!(
        json["observations"]["http"].is_array()
            && json["observations"]["ecs"]["deployed"].is_object()
    );
    // How the logs were followed: a one-shot check polls, and says so.
    let follow = &json["observations"]["logs"]["follow"];
    assert_eq!(follow["mode"], "polling", "{follow}");
    assert!(
        follow["line"]
            .as_str()
            .is_some_and(|l| l.starts_with("polling FilterLogEvents every 500 ms")),
        "{follow}"
    );

    let out = binary()
        .args(["check", "--demo", "missing-env-vars", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["verdict"]["failure_mode"], "missing_env_vars");
}

/// #26: `check --json` traces the OTP start it sent: in the runbook's incident, the request
/// and the load balancer's 504, the `/health` probes that stalled beside it and the backend's
/// line for the phone, in time order; the timeout budget names the load balancer's 60 s as the
/// first to fire. The table prints the same trace.
#[test]
fn check_traces_the_otp_start_it_sent() {
    let args = [
        "check",
        "--demo",
        "event-loop-blocking",
        "--check-aws",
        "--test-phone",
        "+17133056318",
        "--trace",
        "--time-scale",
        "0.05",
    ];
    let out = binary().args(args).arg("--json").output().expect("runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["verdict"]["failure_mode"], "event_loop_blocked");
    let trace = &json["traces"][0];
    assert_eq!(trace["phone_last4"], "6318", "{trace:#}");
    let hop = |kind: &str| {
        trace["hops"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| h["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} hop: {trace:#}"))
    };
    assert_eq!(hop("request")["state"], "fail");
    assert!(hop("request")["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("504 after")));
    assert_eq!(hop("health")["state"], "fail", "{trace:#}");
    assert!(
        hop("log")["text"]
            .as_str()
            .is_some_and(|t| t.contains("phone_last4=6318")),
        "{trace:#}"
    );
    let times: Vec<i64> = trace["hops"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["at_ms"].as_i64())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{trace:#}");
    let timeouts = &json["observations"]["timeouts"];
    assert_eq!(timeouts["first"], "load_balancer", "{timeouts:#}");
    assert_eq!(timeouts["load_balancer_idle_s"], 60, "{timeouts:#}");
    let table = binary().args(args).output().expect("runs");
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("TRACE  OTP start to •6318 · 504 after"),
        "{table}"
    );
    // Without --trace the verdict comes before the 504: the trace shows the start as far as
    // it got, and the budget already names the load balancer (the blocked loop never lets
    // the backend's own 30 s run).
    let early: Vec<&str> = args.iter().copied().filter(|a| *a != "--trace").collect();
    let out = binary().args(&early).arg("--json").output().expect("runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["verdict"]["failure_mode"], "event_loop_blocked");
    assert_eq!(
        json["traces"][0]["hops"][0]["kind"], "request",
        "{:#}",
        json["traces"]
    );
    assert_eq!(json["observations"]["timeouts"]["first"], "load_balancer");
}

/// #25: `--context` picks a target of a file with several; without it the file's
/// `default_context`; `check --json` carries the context; an unknown one is one line, exit 2.
#[test]
fn check_reads_the_context_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = |n: u16| format!("http://127.0.0.1:{n}");
    let path = dir.path().join("otp-console.toml");
    std::fs::write(
        &path,
        format!(
            "default_context = \"staging\"\n\
             [twilio]\napi_url = \"{t}\"\nverify_url = \"{t}\"\nstatus_url = \"{t}\"\n\
             [contexts.prod]\ncolor = \"red\"\n[contexts.prod.api]\nbase_url = \"{p}\"\n\
             [contexts.staging.api]\nbase_url = \"{s}\"\n",
            t = closed(9),
            p = closed(7),
            s = closed(8)
        ),
    )
    .expect("config");
    let run = |extra: &[&str]| {
        binary()
            .args(["check", "--json", "--config"])
            .arg(&path)
            .args(extra)
            .output()
            .expect("runs")
    };
    let json = |out: &std::process::Output| -> Value {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let prod = json(&run(&["--context", "prod"]));
    assert_eq!(prod["context"]["name"], "prod", "{:#}", prod["context"]);
    assert_eq!(prod["context"]["color"], "red");
    assert_eq!(prod["target"], format!("prod · {}", closed(7)));
    let staging = json(&run(&[]));
    assert_eq!(staging["context"]["name"], "staging");
    assert_eq!(staging["target"], format!("staging · {}", closed(8)));
    let out = run(&["--context", "qa"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no context \"qa\"") && stderr.contains("prod, staging"),
        "{stderr}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let one_line = |out: &std::process::Output| {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    let err = one_line(
        &binary()
            .args(["check", "--demo", "healthy", "--test-phone", "713-305"])
            .output()
            .expect("runs"),
    );
    assert!(err.contains("E.164"), "{err}");
    let err = one_line(
        &binary()
            .args(["check", "--demo", "no-such-scenario"])
            .output()
            .expect("runs"),
    );
    assert!(err.contains("unknown scenario"), "{err}");
    for (args, says) in [
        (
            &["check", "--demo", "healthy", "--time-scale", "-1"][..],
            "from 0.01 to 100",
        ),
        (
            &["check", "--demo", "healthy", "--time-scale", "1e-300"],
            "from 0.01 to 100",
        ),
        (&["check", "--config", "/dev/zero"], "not a regular file"),
        (
            &["check", "--demo", "healthy", "--test-phone", "+0000000000"],
            "no country code starts with 0",
        ),
    ] {
        let err = one_line(&binary().args(args).output().expect("runs"));
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[aws]\nregoin = \"us-east-1\"\n").expect("write");
    let err = one_line(
        &binary()
            .args(["check", "--config"])
            .arg(&bad)
            .output()
            .expect("runs"),
    );
    assert!(
        err.contains("bad.toml:2") && err.contains("regoin"),
        "{err}"
    );
    let err = one_line(
        &binary()
            .args(["check", "--config"])
            .arg(dir.path().join("absent.toml"))
            .output()
            .expect("runs"),
    );
    assert!(err.contains("absent.toml"), "{err}");
}

/// The binary with no AWS credentials anywhere (no keys, no profile, no instance metadata).
fn without_aws_credentials(cmd: &mut Command, home: &std::path::Path) {
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE");
}

/// No AWS credentials at all: the check still probes the API and Twilio's status page, and
/// the AWS part becomes unknown with the one line that names the cause. The config cannot be
/// seen, so the verdict is `inconclusive` (exit 3), never `none`.
#[tokio::test(flavor = "multi_thread")]
async fn no_aws_credentials_at_all_is_inconclusive_and_says_why() {
    let (_sim, config) = support::simulator("missing-env-vars").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("otp-console.toml");
    std::fs::write(&path, config.to_toml_string().expect("toml")).expect("write");
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = binary();
        cmd.args(["check", "--check-aws", "--config"]).arg(&path);
        without_aws_credentials(&mut cmd, dir.path());
        cmd.output().expect("runs")
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("VERDICT  inconclusive"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("ECS:") && l.contains("no AWS credentials")),
        "the credentials line: {stdout}"
    );
    // The API was still probed.
    assert!(!stdout.contains("/health: no answer yet"), "{stdout}");
}

/// The API's port closed: `api_unreachable`, exit 1, within seconds and with the URL's
/// first checks to run.
#[tokio::test(flavor = "multi_thread")]
async fn api_port_closed_is_api_unreachable() {
    let (_sim, mut config) = support::simulator("healthy").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    config.api.base_url = format!("http://127.0.0.1:{closed}");
    let report = check::check(&config, "closed", &support::check_options())
        .await
        .expect("runs");
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::ApiUnreachable,
        "{}",
        check::render_table(&report)
    );
    assert!(report.diagnosis.verdict.candidates[0].evidence[0].contains("connection refused"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("otp-console.toml");
    std::fs::write(&path, config.to_toml_string().expect("toml")).expect("write");
    let out = tokio::task::spawn_blocking(move || {
        binary()
            .args(["check", "--json", "--config"])
            .arg(&path)
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["verdict"]["failure_mode"], "api_unreachable");
}

/// An API that accepts connections and never answers: named `api_unreachable` while its
/// `/health` is still outstanding (a fact, not a timing: the verdict does not wait for the
/// probe's own timeout, let alone the 75 s the check used to take).
#[tokio::test(flavor = "multi_thread")]
async fn an_api_that_never_answers_is_named_before_its_probe_times_out() {
    let (_sim, mut config) = support::simulator("healthy").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    config.api.base_url = format!("http://127.0.0.1:{port}");
    let report = check::check(&config, "hung", &support::check_options())
        .await
        .expect("runs");
    held.abort();
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::ApiUnreachable,
        "{}",
        check::render_table(&report)
    );
    assert!(
        report
            .outstanding
            .iter()
            .any(|(e, _)| *e == otp_console::probe::http::Endpoint::Health),
        "{}",
        check::render_table(&report)
    );
    assert!(report.diagnosis.verdict.candidates[0].evidence[0].contains("has not answered"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_scenarios_follow_the_test_send_to_the_phone() {
    let state = |r: &check::Report, label: &str| {
        r.diagnosis
            .checklist
            .iter()
            .find(|l| l.label.starts_with(label))
            .map(|l| (l.state, l.evidence.clone()))
    };
    let healthy = diagnose("sms-healthy").await;
    let (received, evidence) = state(&healthy, "SMS received").expect("line");
    assert_eq!(received, State::Pass, "{evidence}");
    assert!(evidence.contains("delivered per Twilio"), "{evidence}");
    let sender = healthy
        .evidence
        .sender
        .clone()
        .expect("From number checked")
        .expect("ok");
    assert!(sender.owned && sender.sms_capable, "{sender:?}");
    assert_eq!(sender.from, "•••0147");
    let statuses: Vec<String> = healthy
        .evidence
        .deliveries
        .iter()
        .flatten()
        .map(|d| d.status.clone())
        .collect();
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("delivered"),
        "{statuses:?}"
    );

    let released = diagnose("sms-from-number-released").await;
    let top = &released.diagnosis.verdict.candidates[0];
    assert_eq!(top.failure_mode, FailureMode::FromNumberInvalid);
    assert!(top.evidence[0].contains("•••0147"), "{top:#?}");
    assert!(top.repair.contains("OTP_FROM_NUMBER"));

    let undelivered = diagnose("sms-undelivered").await;
    let (received, evidence) = state(&undelivered, "SMS received").expect("line");
    assert_eq!(received, State::Fail);
    assert!(evidence.contains("30007"), "{evidence}");
    let top = &undelivered.diagnosis.verdict.candidates[0];
    assert!(top.evidence[0].contains("spam"), "{top:#?}");
    let json = check::report_json(&undelivered);
    let deliveries = json["observations"]["twilio"]["deliveries"]
        .as_array()
        .expect("deliveries");
    assert_eq!(deliveries.last().expect("a step")["error_code"], 30007);
    assert!(!json.to_string().contains("7133056318"));

    // The test phone gets its code; a share of users, on the carrier that filters the
    // sender, do not: the SMS line fails with their count and the verdict names it.
    let partly = diagnose("sms-partly-undelivered").await;
    let (received, evidence) = state(&partly, "SMS received").expect("line");
    assert_eq!(received, State::Fail, "{evidence}");
    assert!(
        evidence.starts_with("delivered per Twilio") && evidence.contains("; but real users' SMS"),
        "{evidence}"
    );
    let top = &partly.diagnosis.verdict.candidates[0];
    assert_eq!(top.failure_mode, FailureMode::SmsUndelivered);
    assert_eq!(top.confidence, 1, "{top:#?}");
    assert!(
        top.evidence[0].contains("a share of users, not all"),
        "{top:#?}"
    );
}

#[test]
fn binary_names_the_sms_failure_modes() {
    for (scenario, code, mode) in [
        ("sms-from-number-released", 1, "from_number_invalid"),
        ("sms-undelivered", 1, "sms_undelivered"),
        ("sms-healthy", 0, "none"),
    ] {
        let out = binary()
            .args([
                "check",
                "--demo",
                scenario,
                "--json",
                "--check-aws",
                "--test-phone",
                "+17133056318",
                "--time-scale",
                "0.05",
            ])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(code), "{scenario}");
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(json["verdict"]["failure_mode"], mode, "{scenario}");
    }
}

/// The issue's "done when": the rotated token is named with the secret it came from and when
/// that secret last changed, the deleted secret with its ARN and date, and no resolved value
/// (the token, the JSON secret holding it, the Verify SID from Parameter Store) appears in the
/// JSON, the table or the report files.
#[test]
fn secret_scenarios_name_the_secret_and_never_show_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |scenario: &str, json: bool| full_check_with_report(dir.path(), scenario, json);
    let never = [
        "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
        "4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a",
        "{\"auth_token\"",
        "7133056318",
    ];
    for (scenario, mode, must) in [
        (
            "secret-rotated",
            "invalid_credentials",
            vec![
                "TWILIO_AUTH_TOKEN ← secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token",
                "last changed 20",
            ],
        ),
        (
            "secret-deleted",
            "secret_unreadable",
            vec![
                "secret arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o was scheduled for deletion on 20",
                "ResourceInitializationError",
            ],
        ),
    ] {
        let (out, md, js) = run(scenario, true);
        assert_eq!(out.status.code(), Some(1), "{scenario}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let json: Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(json["verdict"]["failure_mode"], mode, "{scenario}");
        let evidence = json["verdict"]["candidates"][0]["evidence"].to_string();
        for needle in must {
            assert!(evidence.contains(needle), "{scenario}: {needle} in {evidence}");
        }
        let secrets = &json["observations"]["ecs"]["secrets"];
        let token = secrets
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "TWILIO_AUTH_TOKEN"))
            .expect("the token's secret in observations.ecs.secrets");
        assert_eq!(token["source"], "secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token");
        let (table, _, _) = run(scenario, false);
        let table = String::from_utf8_lossy(&table.stdout).into_owned();
        for text in [&stdout, &table, &md, &js] {
            for secret in never {
                assert!(!text.contains(secret), "{scenario}: {secret} written");
            }
        }
    }
}

/// The operator can read the secret, the execution role cannot: IAM's policy simulator names
/// the role, the action and the ARN before a task has to fail, with the commands to see and fix
/// it. An operator who may not call the simulator still gets the verdict from the tasks' stop
/// reasons, and the env pane's secret says why the role's access is unknown.
#[tokio::test(flavor = "multi_thread")]
async fn execution_role_denied_is_named_by_iam_and_still_found_without_it() {
    const ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/twilio/auth-token-Qw3rTy";
    let report = diagnose("execution-role-denied").await;
    let verdict = &report.diagnosis.verdict;
    assert_eq!(verdict.failure_mode, FailureMode::SecretUnreadable);
    let finding = verdict
        .candidates
        .iter()
        .find(|f| f.failure_mode == FailureMode::SecretUnreadable)
        .expect("finding");
    let iam = finding
        .evidence
        .iter()
        .find(|e| e.contains("IAM policy simulation"))
        .expect("IAM evidence");
    assert!(
        iam.contains("nerava-backend-execution")
            && iam.contains("secretsmanager:GetSecretValue")
            && iam.contains("implicitDeny")
            && iam.contains(ARN),
        "{iam}"
    );
    assert!(
        finding.commands[0].starts_with("aws iam simulate-principal-policy")
            && finding.commands[0].contains(ARN),
        "{:?}",
        finding.commands
    );
    assert!(finding.commands[1]
        .starts_with("aws iam put-role-policy --role-name nerava-backend-execution"));
    let json = check::report_json(&report);
    let secret = json.to_string();
    assert!(secret.contains("\"decision\":\"denied\""), "{secret}");
    assert!(!secret.contains("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"));

    let (_sim, config) = support::simulator("execution-role-denied").await;
    let mut options = support::check_options();
    options.aws_credentials = Some((
        "AKIASIMNOSIMULATE001".into(),
        otp_console::sim::SECRET_ACCESS_KEY.into(),
    ));
    let blind = check::check(&config, "execution-role-denied", &options)
        .await
        .expect("runs");
    assert_eq!(
        blind.diagnosis.verdict.failure_mode,
        FailureMode::SecretUnreadable,
        "{}",
        check::render_table(&blind)
    );
    let json = check::report_json(&blind).to_string();
    assert!(
        json.contains("may not call iam:SimulatePrincipalPolicy"),
        "{json}"
    );
    assert!(!json.contains("IAM policy simulation;"));
}

/// A customer-managed key whose policy refuses both the operator and the execution role: the
/// verdict names the key and the command that shows its policy, and the secret's line says KMS
/// refused, with the key.
#[tokio::test(flavor = "multi_thread")]
async fn a_kms_key_that_refuses_is_named_with_its_policy_command() {
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/7f3a9c2e-security-only";
    let report = diagnose("secret-kms-denied").await;
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::SecretUnreadable
    );
    let finding = &report.diagnosis.verdict.candidates[0];
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.contains(KEY) && e.contains("refuses to decrypt")),
        "{:?}",
        finding.evidence
    );
    assert_eq!(
        finding.commands[0],
        format!("aws kms get-key-policy --key-id {KEY} --policy-name default --output text")
    );
    let json = check::report_json(&report);
    let secret = json["observations"]["ecs"]["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .find(|s| s["name"] == "TWILIO_AUTH_TOKEN")
        .expect("the token's secret");
    assert_eq!(secret["state"], "kms_denied", "{secret}");
    assert_eq!(secret["kms_key_id"], KEY);
}

/// A customer-managed key both the operator and the execution role are named in, but the role's
/// IAM policy lost `kms:Decrypt`: the operator reads the secret, the policy simulation says the
/// role may read the secret and may NOT decrypt with its key, and that is the verdict's cause,
/// with the key's ARN.
#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_kms_decrypt_on_the_secrets_key_is_named_by_iam() {
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1b2c3d4e-app-secrets";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("role-without-kms-decrypt.toml");
    std::fs::write(
        &path,
        format!(
            r#"description = "the execution role's policy lost kms:Decrypt; the token's secret uses a customer-managed key"

[deployment.configuration]
minimumHealthyPercent = 0

[yesterday]
unset = ["TWILIO_AUTH_TOKEN"]

[yesterday.secrets]
TWILIO_AUTH_TOKEN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o:auth_token::"

[secret_state."arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o"]
changed_hours_ago = 2.0
kms_key_id = "{KEY}"

[kms_keys."{KEY}"]
decrypt_principals = ["arn:aws:iam::123456789012:user/on-call", "arn:aws:iam::123456789012:role/nerava-backend-execution"]

[iam.roles."arn:aws:iam::123456789012:role/nerava-backend-execution".policies]
nerava-prod-secrets = '{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/*"}}]}}'
"#
        ),
    )
    .expect("writes");
    let name = path.to_str().expect("utf-8");
    let report = diagnose(name).await;
    let table = check::render_table(&report);
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::SecretUnreadable,
        "{table}"
    );
    let evidence = &report.diagnosis.verdict.candidates[0].evidence;
    assert!(
        evidence.iter().any(|e| e.contains("may NOT kms:Decrypt")
            && e.contains(&format!("on {KEY} — IAM policy simulation"))),
        "{evidence:?}"
    );
    let commands = &report.diagnosis.verdict.candidates[0].commands;
    assert!(
        commands[1].contains("\"Action\":\"kms:Decrypt\",\"Resource\":\"arn:aws:kms:"),
        "{commands:?}"
    );
    // The simulated ECS agent met the same cause.
    assert!(
        evidence
            .iter()
            .any(|e| e.contains("task(s) of :42 stopped")),
        "{evidence:?}"
    );
}

/// The engine opens the log follower's fast-poll window when it sends a test OTP, keeps it open
/// while the request is in flight, and closes it a few seconds after the answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_test_otp_opens_the_log_followers_fast_window_until_just_after_its_answer() {
    use otp_console::probe::logs::live_tail::{HOT_FOR, HOT_GRACE};
    use std::time::Duration;
    // event-loop-blocking: the OTP start waits for the load balancer's 504 (3 s at this scale).
    let (_sim, config) = support::simulator("event-loop-blocking").await;
    let sdk = otp_console::engine::static_sdk_config(
        &config,
        otp_console::sim::ACCESS_KEY_ID,
        otp_console::sim::SECRET_ACCESS_KEY,
    )
    .await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let engine =
        std::sync::Arc::new(otp_console::engine::Engine::new(config, sdk, tx).expect("engine"));
    assert_eq!(engine.hot_until(), None, "no window before a test OTP");
    let sending = std::sync::Arc::clone(&engine);
    let otp = tokio::spawn(async move {
        sending
            .otp_start("+17133056318", Duration::from_millis(250))
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!otp.is_finished(), "the OTP start is still in flight");
    let open = engine.hot_until().expect("open while in flight");
    assert!(
        open > tokio::time::Instant::now() + HOT_FOR - Duration::from_secs(5),
        "open for the whole request"
    );
    otp.await.expect("otp start");
    let settled = engine.hot_until().expect("still open for the grace");
    assert!(
        settled <= tokio::time::Instant::now() + HOT_GRACE,
        "closes within {HOT_GRACE:?} of the answer"
    );
}

/// Without a test phone or `--check-aws`, only the config and Twilio are seen: they pass in a
/// world whose revoked egress rule fails every OTP start, so the verdict may not be `none`.
#[test]
fn binary_config_alone_is_inconclusive_not_healthy() {
    for scenario in ["network-blocked", "event-loop-blocking", "healthy"] {
        let out = binary()
            .args(["check", "--demo", scenario, "--json"])
            .output()
            .expect("runs");
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(out.status.code(), Some(3), "{scenario}: {json}");
        assert_eq!(
            json["verdict"]["failure_mode"], "inconclusive",
            "{scenario}"
        );
        let why = json["unknown"][0].as_str().unwrap_or_default();
        assert!(
            why.starts_with("nothing proves an OTP start is answered")
                && why.contains("--check-aws"),
            "{scenario}: {why}"
        );
    }
}

/// The `twilio_sms` provider sending through a Messaging Service (`OTP_FROM_NUMBER=MG…`, which
/// Twilio's Messages API takes in `From`): a working world is `none`, not a bad-format variable,
/// and the simulated backend's own send goes out through the service's pool.
#[tokio::test(flavor = "multi_thread")]
async fn a_messaging_service_sender_is_a_valid_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sms-messaging-service.toml");
    std::fs::write(
        &path,
        r#"description = "twilio_sms through a Messaging Service whose pool holds the account's number"
[yesterday.environment]
OTP_PROVIDER = "twilio_sms"
OTP_FROM_NUMBER = "MG1a2b3c4d5e6f708192a3b4c5d6e7f8a9"
[twilio]
messaging_services = [{ sid = "MG1a2b3c4d5e6f708192a3b4c5d6e7f8a9", friendly_name = "Nerava OTP", senders = ["+18325550147"] }]
"#,
    )
    .expect("write");
    let report = diagnose(path.to_str().expect("utf-8")).await;
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::None,
        "{}",
        check::render_table(&report)
    );
    let delivered = report
        .evidence
        .deliveries
        .iter()
        .flatten()
        .any(|d| d.status == "delivered");
    assert!(delivered, "{}", check::render_table(&report));
}

/// A log router listed before the backend's container (FireLens, `essential: false`, no
/// Twilio variables) and the backend named neither like the service nor the family: the
/// console reads the container the service's load balancer targets, says so, and names a
/// variable missing from it (the sidecar lacks every one of them).
#[tokio::test(flavor = "multi_thread")]
async fn the_container_read_is_the_one_the_load_balancer_targets() {
    let healthy = diagnose("sidecar-first").await;
    let table = check::render_table(&healthy);
    let s = healthy.evidence.snapshot().expect("ECS read");
    assert_eq!(
        s.service.target_container.as_deref(),
        Some("api"),
        "{table}"
    );
    assert_eq!(s.deployed.container, "api", "{table}");
    assert_eq!(s.deployed.other_containers, ["log-router"], "{table}");
    assert_eq!(
        healthy.diagnosis.verdict.failure_mode,
        FailureMode::None,
        "{table}"
    );
    let missing = diagnose("sidecar-missing-env-vars").await;
    let table = check::render_table(&missing);
    let top = &missing.diagnosis.verdict.candidates[0];
    assert_eq!(top.failure_mode, FailureMode::MissingEnvVars, "{table}");
    assert!(
        top.evidence
            .iter()
            .any(|e| e.contains("TWILIO_VERIFY_SERVICE_SID")),
        "{table}"
    );
    assert!(
        !top.evidence
            .iter()
            .any(|e| e.contains("TWILIO_ACCOUNT_SID") || e.contains("OTP_PROVIDER is not set")),
        "the sidecar's variables were read: {table}"
    );
    let json = check::report_json(&missing);
    assert_eq!(json["observations"]["ecs"]["deployed"]["container"], "api");
}

/// The timeout budget as the runbook's incident shows it: TWILIO_TIMEOUT_SECONDS (30) is
/// shorter than the load balancer's 60 s, yet users' OTP starts get the load balancer's 504 (a
/// call that blocks the event loop never lets the backend's timeout run): the load balancer
/// fires first, as seen. The configuration is in order, so it is no risk.
#[tokio::test(flavor = "multi_thread")]
async fn the_event_loop_incident_shows_the_load_balancer_firing_first() {
    let report = diagnose("event-loop-blocking").await;
    let json = check::report_json(&report);
    let timeouts = &json["observations"]["timeouts"];
    assert_eq!(timeouts["load_balancer_idle_s"], 60, "{timeouts}");
    assert_eq!(timeouts["twilio_timeout_s"], 30, "{timeouts}");
    assert_eq!(timeouts["first"], "load_balancer", "{timeouts}");
    assert_eq!(timeouts["configured_in_order"], true, "{timeouts}");
    assert!(
        timeouts["seen"]
            .as_str()
            .is_some_and(|s| s.contains("load balancer's 504")),
        "{timeouts}"
    );
    assert!(check::render_table(&report).contains("TIMEOUTS  load balancer idle 60 s"));
    assert!(report.diagnosis.verdict.risks.is_empty());
}

/// Without `--check-aws` (no real traffic, no logs) the task definition alone names a missing
/// variable at once, but while the console's own OTP start has not answered it explains nothing
/// seen: `check` waits until the start fails or hangs past the hang threshold, and the verdict
/// then says what of it the variable explains.
#[tokio::test(flavor = "multi_thread")]
async fn check_does_not_conclude_on_a_cause_that_explains_nothing_while_its_otp_start_waits() {
    let (_sim, mut config) = support::simulator("missing-env-vars").await;
    config.twilio.credentials = otp_console::config::TwilioCredentials::TaskDefinition;
    let options = check::Options {
        check_aws: false,
        ..support::check_options()
    };
    let report = check::check(&config, "missing-env-vars", &options)
        .await
        .expect("runs");
    let verdict = &report.diagnosis.verdict;
    assert_eq!(
        verdict.failure_mode,
        FailureMode::MissingEnvVars,
        "{}",
        check::render_table(&report)
    );
    let explains = &verdict.candidates[0].explains;
    assert!(!explains.is_empty(), "{}", check::render_table(&report));
    let waited = report
        .outstanding
        .iter()
        .find(|(e, _)| *e == Endpoint::OtpStart)
        .map(|(_, age)| *age);
    assert!(
        waited.is_none_or(|age| age >= diagnosis::HANG_MS),
        "concluded {waited:?} ms into the OTP start: {}",
        check::render_table(&report)
    );
}

/// The four probes that read the service (ECS, the network path, the load balancer's metrics,
/// CloudTrail's scope) share one DescribeServices answer per round.
#[tokio::test(flavor = "multi_thread")]
async fn a_check_reads_the_service_once() {
    let (sim, config) = support::simulator("healthy").await;
    let report = check::check(&config, "healthy", &support::check_options())
        .await
        .expect("runs");
    assert_eq!(report.diagnosis.verdict.failure_mode, FailureMode::None);
    assert_eq!(
        sim.served("AmazonEC2ContainerServiceV20141113.DescribeServices"),
        1,
        "DescribeServices calls in one check"
    );
}

/// With no log group configured, `check --check-aws` reads the one the deployed app
/// container's `logConfiguration` names, here not `/ecs/<service>`: its lines are read, the
/// commands name it, and the task definition shows it.
#[tokio::test(flavor = "multi_thread")]
async fn with_no_log_group_configured_the_containers_own_is_read() {
    use otp_console::sim::{self, Ports, Simulator};
    const GROUP: &str = "/aws/ecs/otp-api";
    let mut scenario = scenario::load("missing-env-vars").expect("scenario");
    scenario.deployment.log_group = GROUP.into();
    for container in scenario.yesterday.task_definition["containerDefinitions"]
        .as_array_mut()
        .expect("containers")
    {
        container["logConfiguration"]["options"]["awslogs-group"] = GROUP.into();
    }
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    let mut config = sim::run::config_for(&sim.urls, sim.scenario());
    config.aws.log_group = String::new();
    let report = check::check(&config, "missing-env-vars", &support::check_options())
        .await
        .expect("runs");
    assert_eq!(report.names.log_group, GROUP);
    let deployed = &report.evidence.snapshot().expect("ECS read").deployed;
    assert_eq!(deployed.log_group.as_deref(), Some(GROUP));
    assert!(
        report
            .evidence
            .events
            .iter()
            .any(|e| e.message.contains("provider not configured")),
        "{}",
        check::render_table(&report)
    );
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::MissingEnvVars
    );
    // Named nowhere, and nothing answers: the ECS console's default.
    let mut config = config.clone();
    config.aws.log_group = String::new();
    config.aws.service = "no-such-service".into();
    let sdk = otp_console::engine::demo_sdk_config(&config).await;
    assert_eq!(
        otp_console::engine::resolve_log_group(&mut config, &sdk).await,
        "the default /ecs/<service>"
    );
    assert_eq!(config.aws.log_group, "/ecs/no-such-service");
}

/// #24: a container that logs to another region (`awslogs-region`) is read there: with no
/// `log_group` or `log_region` configured, both come from its `logConfiguration`, and the
/// verdict is `none`. Read in the service's own region, the simulated CloudWatch Logs (which
/// keeps the group in us-west-2 alone, as AWS does) has no such group, and the error says
/// which keys to fix.
#[tokio::test(flavor = "multi_thread")]
async fn logs_are_read_in_the_region_the_container_logs_to() {
    let (_sim, mut config) = support::simulator("logs-other-region").await;
    assert_eq!(config.aws.log_region.as_deref(), Some("us-west-2"));
    config.aws.log_group = String::new();
    config.aws.log_region = None;
    let options = support::check_options();
    let report = check::check(&config, "logs-other-region", &options)
        .await
        .expect("runs");
    let table = check::render_table(&report);
    let deployed = &report.evidence.snapshot().expect("ECS read").deployed;
    assert_eq!(deployed.log_region.as_deref(), Some("us-west-2"), "{table}");
    assert!(
        report
            .evidence
            .events
            .iter()
            .any(|e| e.kind == otp_console::probe::logs::LineKind::ProviderInitialised),
        "{table}"
    );
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::None,
        "{table}"
    );
    // The same service read with its logs in us-east-1: no group there.
    config.aws.log_region = Some("us-east-1".into());
    config.aws.log_group = "/ecs/nerava-backend".into();
    let report = check::check(&config, "logs-other-region", &options)
        .await
        .expect("runs");
    let table = check::render_table(&report);
    assert!(
        table.contains("log group does not exist") && table.contains("aws.log_region"),
        "{table}"
    );
    assert!(
        !report
            .evidence
            .events
            .iter()
            .any(|e| e.kind == otp_console::probe::logs::LineKind::ProviderInitialised),
        "{table}"
    );
}

/// Env files (#24): the file's variables pass the rules and carry the Twilio token, which no
/// output shows; a revision pointing at a regenerated file that lost a variable names it and
/// the files' change; a file in a bucket outside the execution role's grant is
/// `env_file_unreadable`, named by IAM with the role, the action and the ARN; and a file the
/// operator may not read leaves the variables it may hold unknown, never missing.
#[test]
fn env_file_scenarios_read_the_file_and_never_show_its_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |scenario: &str, json: bool| full_check_with_report(dir.path(), scenario, json);
    let never = [
        "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
        "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ];
    for (scenario, status, mode, must) in [
        ("env-file", 0, "none", vec![]),
        (
            "env-file-missing-env-vars",
            1,
            "missing_env_vars",
            vec![
                "TWILIO_VERIFY_SERVICE_SID is not set",
                "env files → s3://nerava-config/prod/otp-2026-12.env in :42",
            ],
        ),
        (
            "env-file-denied",
            1,
            "env_file_unreadable",
            vec![
                "s3://nerava-platform-config/otp/prod.env: execution role nerava-backend-execution may NOT s3:GetObject (implicitDeny",
                "failed to download env files",
            ],
        ),
    ] {
        let (out, md, js) = run(scenario, true);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(status), "{scenario}: {stdout}");
        let json: Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(json["verdict"]["failure_mode"], mode, "{scenario}");
        let evidence = json["verdict"]["candidates"][0]["evidence"].to_string();
        for needle in must {
            assert!(evidence.contains(needle), "{scenario}: {needle} in {evidence}");
        }
        let files = &json["observations"]["ecs"]["env_files"];
        assert!(files[0]["variables"].as_array().is_some_and(|v| !v.is_empty()), "{scenario}: {files}");
        let (table, _, _) = run(scenario, false);
        let table = String::from_utf8_lossy(&table.stdout).into_owned();
        for text in [&stdout, &table, &md, &js] {
            for secret in never {
                assert!(!text.contains(secret), "{scenario}: {secret} written");
            }
        }
    }
    let (ok, _, _) = run("env-file", true);
    let json: Value = serde_json::from_slice(&ok.stdout).expect("JSON");
    let file = &json["observations"]["ecs"]["env_files"][0];
    assert_eq!(file["url"], "s3://nerava-config/prod/otp.env");
    assert_eq!(file["shadowed"], serde_json::json!(["LOG_LEVEL"]));
    assert_eq!(file["role_access"]["decision"], "allowed");
}

/// The operator may not read the env file (the execution role may): the variables it may hold
/// are unknown, not missing, and the verdict rests on what the test OTP shows.
#[tokio::test(flavor = "multi_thread")]
async fn an_env_file_the_operator_cannot_read_leaves_its_variables_unknown() {
    let (_sim, config) = support::simulator("env-file").await;
    let mut options = support::check_options();
    options.aws_credentials = Some((
        "AKIASIMNOS3READ00001".into(),
        otp_console::sim::SECRET_ACCESS_KEY.into(),
    ));
    let report = check::check(&config, "env-file", &options)
        .await
        .expect("runs");
    let table = check::render_table(&report);
    assert_ne!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::MissingEnvVars,
        "{table}"
    );
    let snapshot = report.evidence.snapshot().expect("ECS read");
    let provider = snapshot
        .checks
        .iter()
        .find(|c| c.name == "OTP_PROVIDER")
        .expect("rule");
    assert!(
        matches!(&provider.status, otp_console::config::VarStatus::Undetermined { reason } if reason.contains("s3://nerava-config/prod/otp.env")),
        "{provider:?}"
    );
    assert_eq!(
        snapshot.env_files[0].state,
        otp_console::probe::env_files::FileState::NoAccess
    );
}

/// App Runner (#24): each scenario's verdict read from App Runner's API alone (no ECS call),
/// with the App Runner commands that show and fix it; the service named by its name is found
/// by ListServices and the commands carry its ARN.
#[tokio::test(flavor = "multi_thread")]
async fn apprunner_services_are_read_from_apprunner_alone() {
    let cases = [
        ("apprunner-healthy", FailureMode::None, "", ""),
        (
            "apprunner-missing-env-vars",
            FailureMode::MissingEnvVars,
            "TWILIO_VERIFY_SERVICE_SID is not set",
            "aws apprunner describe-service",
        ),
        (
            "apprunner-vpc-egress-blocked",
            FailureMode::NetworkBlocked,
            "rtb-0d4e5f6a7b8c9d0e1",
            "aws ec2",
        ),
        (
            "apprunner-paused",
            FailureMode::ApiUnreachable,
            "changed: paused App Runner service nerava-backend 10 min ago by arn:aws:sts::123456789012:assumed-role/platform-admin/cost-saver (CloudTrail)",
            "aws apprunner resume-service --service-arn arn:aws:apprunner:",
        ),
    ];
    for (name, mode, evidence, command) in cases {
        let (sim, mut config) = support::simulator(name).await;
        // Named by its name: ListServices finds its ARN.
        config.aws.service = "nerava-backend".into();
        let report = check::check(&config, name, &support::check_options())
            .await
            .expect("runs");
        let table = check::render_table(&report);
        let verdict = &report.diagnosis.verdict;
        assert_eq!(verdict.failure_mode, mode, "{name}\n{table}");
        if let Some(f) = verdict.candidates.first() {
            assert!(
                f.evidence.iter().any(|e| e.contains(evidence)),
                "{name}: {evidence}\n{table}"
            );
            assert!(
                f.commands.iter().any(|c| c.starts_with(command)),
                "{name}: {command}\n{table}"
            );
            assert!(
                !f.commands.iter().any(|c| c.starts_with("aws ecs")),
                "{name}\n{table}"
            );
        }
        for ecs in ["DescribeServices", "DescribeTaskDefinition", "ListTasks"] {
            let target = format!("AmazonEC2ContainerServiceV20141113.{ecs}");
            assert_eq!(sim.served(&target), 0, "{name}: {ecs} called on App Runner");
        }
        assert!(sim.served("AppRunner.DescribeService") >= 1, "{name}");
        assert!(sim.served("AppRunner.ListServices") >= 1, "{name}");
        let snapshot = report.evidence.snapshot().expect("App Runner read");
        assert!(
            snapshot.deployed.arn.starts_with("arn:aws:apprunner:"),
            "{name}"
        );
        // Its secrets, read as App Runner reads them: with the instance role.
        assert_eq!(
            snapshot.deployed.execution_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/nerava-backend-apprunner-instance")
        );
        assert!(
            !snapshot.secrets.is_empty()
                && snapshot.secrets.iter().all(|r| matches!(
                    r.role_access,
                    Some(otp_console::probe::iam::RoleAccess::Allowed { .. })
                )),
            "{name}: {:?}",
            snapshot.secrets
        );
        assert_eq!(
            snapshot.deployed.log_group.as_deref(),
            Some("/aws/apprunner/nerava-backend/8fe1e10304f84fd2b0df550fe98a71fa/application")
        );
    }
}

/// App Runner's own egress (`DEFAULT`) is one passing hop: no VPC of the account on the path.
#[tokio::test(flavor = "multi_thread")]
async fn apprunner_default_egress_is_one_passing_hop() {
    let report = diagnose("apprunner-healthy").await;
    let path = report
        .evidence
        .network
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .expect("the path read");
    assert_eq!(path.hops.len(), 1, "{path:?}");
    assert!(path.hops[0].detail.starts_with("App Runner egress DEFAULT"));
}

/// App Runner (#24): an instance role narrowed after the instances read their secrets is a
/// risk naming the role and each secret it may no longer read, never the verdict (every OTP
/// start works). A deployment then fails on it as App Runner fails one: the operation ends
/// `ROLLBACK_SUCCEEDED`, the previous instances keep serving, and the risk says so.
#[tokio::test(flavor = "multi_thread")]
async fn apprunner_instance_role_narrowed_is_a_risk_until_a_deployment_rolls_back() {
    let name = "apprunner-instance-role-narrowed";
    let (_sim, config) = support::simulator(name).await;
    let risk_of = |report: &check::Report| {
        let table = check::render_table(report);
        assert_eq!(
            report.diagnosis.verdict.failure_mode,
            FailureMode::None,
            "{table}"
        );
        let risk = report
            .diagnosis
            .verdict
            .risks
            .iter()
            .find(|r| r.failure_mode == FailureMode::SecretUnreadable)
            .unwrap_or_else(|| panic!("the role's refusal is a risk\n{table}"))
            .evidence
            .join("\n");
        (risk, table)
    };
    let report = check::check(&config, name, &support::check_options())
        .await
        .expect("runs");
    let (risk, table) = risk_of(&report);
    for needle in [
        "DATABASE_URL ← secretsmanager:nerava/prod/database-AbCdEf: instance role nerava-backend-apprunner-instance may NOT secretsmanager:GetSecretValue",
        "App Runner read their secrets when they started",
        "inline policy nerava-prod-secrets put on role nerava-backend-apprunner-instance",
    ] {
        assert!(risk.contains(needle), "{needle}\n{table}");
    }
    assert!(!risk.contains("ROLLBACK"), "{table}");
    let revision_of = |report: &check::Report| {
        report
            .evidence
            .snapshot()
            .expect("App Runner read")
            .deployed
            .revision
    };
    let running = revision_of(&report);

    // A deployment now: its instance cannot read the secrets, App Runner rolls it back. The
    // repair's plan says so before anything is applied.
    let sdk = otp_console::engine::static_sdk_config(
        &config,
        otp_console::sim::ACCESS_KEY_ID,
        otp_console::sim::SECRET_ACCESS_KEY,
    )
    .await;
    let plan = otp_console::repair::apprunner::AppRunnerRepairer::new(&sdk, &config)
        .plan(&otp_console::repair::Repair::Redeploy)
        .await
        .expect("plans");
    let shown = plan.render();
    assert!(
        shown.contains("WARNING  DATABASE_URL ← secretsmanager:nerava/prod/database-AbCdEf: instance role nerava-backend-apprunner-instance may NOT secretsmanager:GetSecretValue")
            && shown.contains("— this plan starts new instances"),
        "{shown}"
    );
    let apprunner = aws_sdk_apprunner::Client::new(&sdk);
    let arn = config.aws.service.clone();
    let id = apprunner
        .start_deployment()
        .service_arn(&arn)
        .send()
        .await
        .expect("StartDeployment")
        .operation_id
        .clone();
    let repairer = otp_console::repair::apprunner::AppRunnerRepairer::new(&sdk, &config);
    let status = repairer
        .follow(&arn, &id, 0.04, |_| {})
        .await
        .expect("follows");
    assert_eq!(status, "ROLLBACK_SUCCEEDED");
    let report = check::check(&config, name, &support::check_options())
        .await
        .expect("runs");
    let (risk, table) = risk_of(&report);
    assert!(
        risk.contains("App Runner START_DEPLOYMENT ROLLBACK_SUCCEEDED: the previous configuration still serves"),
        "{table}"
    );
    // The rolled-back operation never ran: the revision shown is still the running one's.
    assert_eq!(revision_of(&report), running, "{table}");
}
