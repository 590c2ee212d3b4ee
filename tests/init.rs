//! `otp-console init` end to end: the real binary reads the simulator's account (three
//! clusters: the backend and its worker, a cron task, the staging copy), picks the OTP
//! service, and the config it prints diagnoses that world as the demo does. Writing: never over
//! an existing file without `--force`, a context added with `--context`. No credentials: one
//! line, exit 2. Every https request the binary could make goes to a closed loopback proxy, so
//! no URL of the account (`https://api.nerava.network`) is ever reached.

#[path = "contract_support/simulator.rs"]
#[allow(dead_code, reason = "check_options: the checks here run the binary")]
mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use otp_console::config::Config;
use otp_console::sim;
use serde_json::Value;

const PHONE: &str = "+17133056318";

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// The binary with a clean AWS environment: the simulator's keys (unless `keys` is false), no
/// profile files, no instance metadata, and https only through a closed loopback proxy.
fn binary(home: &Path, keys: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otp-console"));
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", closed_port()))
        .env("NO_PROXY", "127.0.0.1")
        .current_dir(home);
    if keys {
        cmd.env("AWS_ACCESS_KEY_ID", sim::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", sim::SECRET_ACCESS_KEY);
    }
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `init` against the simulator at `aws`, with `args`.
fn init(home: &Path, aws: &str, args: &[&str]) -> Output {
    binary(home, true)
        .args(["init", "--region", "us-east-1", "--endpoint-url", aws])
        .args(args)
        .output()
        .expect("runs")
}

/// The simulator's Twilio stands in for api.twilio.com: not in the AWS account, so not
/// something init can find; the test adds it as an operator would for an emulator.
fn with_simulated_twilio(config: &str, urls: &sim::Urls) -> String {
    format!(
        "{config}\n[twilio]\napi_url = \"{t}\"\nverify_url = \"{t}\"\nmessaging_url = \"{t}\"\nmonitor_url = \"{t}\"\nstatus_url = \"{}\"\n",
        urls.status,
        t = urls.twilio
    )
}

/// `check --config FILE --check-aws --test-phone --json`'s verdict.
fn verdict(home: &Path, file: &Path) -> String {
    let out = binary(home, true)
        .args([
            "check",
            "--check-aws",
            "--json",
            "--test-phone",
            PHONE,
            "--config",
        ])
        .arg(file)
        .output()
        .expect("check runs");
    let (stdout, stderr) = text(&out);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    json["verdict"]["failure_mode"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn init_picks_the_otp_service_and_its_config_diagnoses_as_the_demo() {
    let name = "missing-env-vars";
    let (sim, _) = support::simulator(name).await;
    let home = tempfile::tempdir().expect("home");
    let out = init(home.path(), &sim.urls.aws, &["--print"]);
    let (_, stderr) = text(&out);
    // Two services read the runbook's variables (prod and staging): not a terminal, so --service.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("several services send OTPs")
            && stderr.contains("nerava-staging/nerava-backend-staging")
            && stderr.contains("passed over: ECS nerava-cluster/nerava-worker (container worker: none of the variables)")
            && stderr.contains("passed over: ECS nerava-batch/nerava-nightly-cron"),
        "{stderr}"
    );
    let out = init(
        home.path(),
        &sim.urls.aws,
        &["--print", "--service", "nerava-backend"],
    );
    let (config, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("ECS: cluster 1 of 3"), "progress: {stderr}");
    let parsed = Config::from_toml_str(&config, "init").expect("loads");
    assert_eq!(parsed.aws.cluster, "nerava-cluster");
    assert_eq!(parsed.aws.service, "nerava-backend");
    assert_eq!(parsed.aws.log_group, "/ecs/nerava-backend");
    // Tried in order: the HTTPS listener's certificate name (the real API's host: here through
    // a closed proxy, never reached), the HTTPS listener on the load balancer's address, then
    // its HTTP listener, which answered /health. The container's PUBLIC_BASE_URL is the same URL
    // as the certificate's: listed once.
    assert_eq!(parsed.api.base_url, sim.urls.api);
    for line in [
        "https://api.nerava.network  (the certificate of nerava-backend-alb's HTTPS listener): could not connect",
        "https://127.0.0.1  (load balancer nerava-backend-alb, listener HTTPS 443): ",
        "(load balancer nerava-backend-alb, listener HTTP ",
    ] {
        assert!(config.contains(line), "{line}\n{config}");
    }
    assert_eq!(
        config.matches("https://api.nerava.network").count(),
        1,
        "{config}"
    );
    // No value of the task definition: variables by name only.
    for secret in [
        "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
        "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
    ] {
        assert!(!config.contains(secret) && !stderr.contains(secret));
    }
    let file = home.path().join("init.toml");
    std::fs::write(&file, with_simulated_twilio(&config, &sim.urls)).expect("write");
    assert_eq!(verdict(home.path(), &file), "missing_env_vars");
    let demo = binary(home.path(), false)
        .args([
            "check",
            "--demo",
            name,
            "--check-aws",
            "--json",
            "--time-scale",
            "0.05",
        ])
        .args(["--test-phone", PHONE])
        .output()
        .expect("demo check");
    let json: Value = serde_json::from_slice(&demo.stdout).expect("JSON");
    assert_eq!(json["verdict"]["failure_mode"], "missing_env_vars");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_finds_an_apprunner_service_by_its_name() {
    let name = "apprunner-missing-env-vars";
    let (sim, _) = support::simulator(name).await;
    let home = tempfile::tempdir().expect("home");
    let out = init(
        home.path(),
        &sim.urls.aws,
        &[
            "--print",
            "--platform",
            "apprunner",
            "--base-url",
            &sim.urls.api,
        ],
    );
    let (config, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let parsed = Config::from_toml_str(&config, "init").expect("loads");
    assert_eq!(
        parsed.aws.platform,
        otp_console::config::Platform::AppRunner
    );
    assert!(
        parsed
            .aws
            .service
            .starts_with("arn:aws:apprunner:us-east-1:123456789012:service/nerava-backend/"),
        "{config}"
    );
    assert!(parsed.aws.log_group.ends_with("/application"), "{config}");
    assert!(config.contains("(--base-url): 200 in"), "{config}");
    // App Runner's ServiceUrl is listed (https, through the closed proxy here: never reached).
    assert!(config.contains("App Runner's ServiceUrl"), "{config}");
    let file = home.path().join("init.toml");
    std::fs::write(&file, with_simulated_twilio(&config, &sim.urls)).expect("write");
    assert_eq!(verdict(home.path(), &file), "missing_env_vars");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_keeps_an_existing_file_and_adds_a_context_to_it() {
    let (sim, _) = support::simulator("healthy").await;
    let home = tempfile::tempdir().expect("home");
    let file = home.path().join("otp-console.toml");
    let out = init(home.path(), &sim.urls.aws, &["--service", "nerava-backend"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.starts_with(
            "wrote otp-console.toml: ECS nerava-cluster/nerava-backend, base URL http://127.0.0.1:"
        ),
        "{stdout}"
    );
    let first = std::fs::read_to_string(&file).expect("written");

    let out = init(home.path(), &sim.urls.aws, &["--service", "nerava-backend"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("otp-console.toml exists: --force overwrites it, --context NAME adds")
            && stderr.lines().count() < 12,
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), first);

    let args = [
        "--service",
        "nerava-staging/nerava-backend-staging",
        "--context",
        "staging",
    ];
    let out = init(home.path(), &sim.urls.aws, &args);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let staging = Config::load_context(Some(&file), Some("staging")).expect("loads");
    assert_eq!(staging.config.aws.cluster, "nerava-staging");
    assert_eq!(staging.config.aws.service, "nerava-backend-staging");
    assert_eq!(staging.config.aws.log_group, "/ecs/nerava-backend-staging");
    assert_eq!(staging.contexts, ["staging"]);
    // The top level is still the first service.
    let top = Config::load(Some(&file)).expect("loads");
    assert_eq!(top.config.aws.service, "nerava-backend");
    // The same context again is refused; --force starts the file over.
    let out = init(home.path(), &sim.urls.aws, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("already has a context staging"));
    let out = init(
        home.path(),
        &sim.urls.aws,
        &["--service", "nerava-backend", "--force"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(Config::load(Some(&file)).expect("loads").contexts.len(), 0);
}

#[test]
fn init_without_credentials_says_so_in_one_line() {
    let home = tempfile::tempdir().expect("home");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let out = binary(home.path(), false)
        .args(["init", "--region", "us-east-1", "--endpoint-url", &endpoint])
        .output()
        .expect("runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("otp-console init: no AWS credentials"),
        "{stderr}"
    );
    assert!(!home.path().join("otp-console.toml").exists());
}

/// A refused call is one line naming the IAM action to ask for (exit 2), and the AWS endpoint
/// the SDK was given by AWS_ENDPOINT_URL is written down so the config works without it.
#[tokio::test(flavor = "multi_thread")]
async fn init_names_the_refused_action_and_keeps_the_endpoint_it_was_given() {
    let (sim, _) = support::simulator("healthy").await;
    let home = tempfile::tempdir().expect("home");
    let out = binary(home.path(), false)
        .env("AWS_ACCESS_KEY_ID", "AKIASIMDENIED0000001")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .args([
            "init",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &sim.urls.aws,
        ])
        .output()
        .expect("runs");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("not allowed to call ecs:ListClusters"),
        "{stderr}"
    );
    let out = binary(home.path(), true)
        .env("AWS_ENDPOINT_URL", &sim.urls.aws)
        .args([
            "init",
            "--region",
            "us-east-1",
            "--print",
            "--service",
            "nerava-backend",
        ])
        .output()
        .expect("runs");
    let (config, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let parsed = Config::from_toml_str(&config, "init").expect("loads");
    assert_eq!(
        parsed.aws.endpoint_url.as_deref(),
        Some(sim.urls.aws.as_str())
    );
}
