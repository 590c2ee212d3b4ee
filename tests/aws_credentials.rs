//! AWS credential failures told apart from network failures, each with its own line: the real
//! ECS probe (`EcsProbe`) against the SDK's real credential chain, the embedded simulator or a
//! closed loopback port; no network beyond loopback.
//!
//! The credential chain reads the process environment (AWS_* variables, HOME, ~/.aws), which
//! a test cannot change for itself alone. Those tests run in a child: the test binary runs
//! again for that one test, with a cleared environment and a temporary HOME.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use otp_console::config::{AwsConfig, Config, EnvRules};
use otp_console::probe::ecs::EcsProbe;
use otp_console::probe::{ErrorKind, ProbeError, System};
use otp_console::sim::{self, scenario, Ports, Simulator};

/// Set in the child process: the test body runs there.
const CHILD: &str = "OTP_CONSOLE_TEST_CREDENTIALS_CHILD";

/// In the parent: runs test `name` in a child with a cleared environment, HOME an empty
/// temporary directory (after `setup` wrote into it), the AWS config and credentials files
/// inside it, instance metadata disabled unless `env` says otherwise, and `env`; asserts the
/// child passed and returns `false`. In the child: returns `true`, and the test goes on.
fn in_child(name: &str, setup: impl FnOnce(&Path), env: &[(&str, String)]) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".aws")).expect(".aws");
    setup(home.path());
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env(CHILD, "1")
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join(".aws/credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "child ran no test:\n{stdout}");
    false
}

/// A loopback port nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// An ECS config whose endpoint is a closed loopback port: should credentials be found after
/// all, the call still goes nowhere.
fn nowhere(profile: Option<&str>) -> AwsConfig {
    AwsConfig {
        endpoint_url: Some(format!("http://127.0.0.1:{}", closed_port())),
        profile: profile.map(str::to_owned),
        ..AwsConfig::default()
    }
}

/// DescribeServices through the real probe, with the SDK's normal chain for `cfg`.
fn describe_with_chain(cfg: &AwsConfig) -> ProbeError {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sdk = otp_console::probe::aws::sdk_config(cfg).await;
        EcsProbe::new(&sdk, cfg, &EnvRules::default())
            .service()
            .await
            .expect_err("no credentials")
    })
}

fn assert_one_line(err: &ProbeError) {
    assert!(!err.message.contains('\n'), "{err:?}");
    assert!(!err.message.contains("cannot reach"), "{err:?}");
    assert_eq!(err.system, System::Ecs);
}

#[test]
fn no_credential_chain_at_all() {
    if !in_child("no_credential_chain_at_all", |_| {}, &[]) {
        return;
    }
    let err = describe_with_chain(&nowhere(None));
    assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
    assert_eq!(err.code.as_deref(), Some("CredentialsNotLoaded"), "{err:?}");
    assert_eq!(
        err.message,
        "no AWS credentials found — set AWS_PROFILE, run `aws configure`, or `aws sso login`"
    );
    assert_one_line(&err);
}

#[test]
fn a_named_profile_that_does_not_exist() {
    if !in_child("a_named_profile_that_does_not_exist", |_| {}, &[]) {
        return;
    }
    let err = describe_with_chain(&nowhere(Some("oncall")));
    assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
    assert_eq!(err.code.as_deref(), Some("CredentialsNotLoaded"), "{err:?}");
    assert!(
        err.message
            .starts_with("no AWS credentials for profile oncall — "),
        "{err:?}"
    );
    assert!(
        err.message.contains("aws configure --profile oncall"),
        "{err:?}"
    );
    assert_one_line(&err);
}

/// A profile on an SSO session whose cached token expired yesterday, with nothing to refresh
/// it with: the chain fails on the token, locally, before any call to SSO.
fn expired_sso_session(home: &Path) {
    std::fs::write(
        home.join(".aws/config"),
        "[profile dev]\n\
         sso_session = corp\n\
         sso_account_id = 123456789012\n\
         sso_role_name = OnCall\n\
         region = us-east-1\n\
         \n\
         [sso-session corp]\n\
         sso_start_url = https://corp.awsapps.com/start\n\
         sso_region = us-east-1\n\
         sso_registration_scopes = sso:account:access\n",
    )
    .expect("config");
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    // The cache file is named by the SHA-1 of the session name: sha1("corp").
    std::fs::write(
        cache.join("ee0bfd2552fbd840c02cc48b6e823320543c450f.json"),
        r#"{"accessToken":"expired-sso-access-token","expiresAt":"2020-01-01T00:00:00Z","region":"us-east-1","startUrl":"https://corp.awsapps.com/start"}"#,
    )
    .expect("cache file");
}

#[test]
fn expired_sso_session_names_the_profile() {
    if !in_child(
        "expired_sso_session_names_the_profile",
        expired_sso_session,
        &[],
    ) {
        return;
    }
    let err = describe_with_chain(&nowhere(Some("dev")));
    assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
    assert_eq!(err.code.as_deref(), Some("SsoTokenExpired"), "{err:?}");
    assert_eq!(
        err.message,
        "AWS SSO session expired or not started — run `aws sso login --profile dev`"
    );
    assert!(!err.message.contains("expired-sso-access-token"));
    assert_one_line(&err);
}

#[test]
fn expired_sso_session_from_aws_profile() {
    if !in_child(
        "expired_sso_session_from_aws_profile",
        expired_sso_session,
        &[("AWS_PROFILE", "dev".into())],
    ) {
        return;
    }
    let err = describe_with_chain(&nowhere(None));
    assert_eq!(err.code.as_deref(), Some("SsoTokenExpired"), "{err:?}");
    assert!(
        err.message.ends_with("run `aws sso login --profile dev`"),
        "{err:?}"
    );
}

/// A loopback server giving every request the same `answer` (a whole HTTP response); its port.
fn answering(answer: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port
}

/// A stand-in for instance metadata that refuses every request with 403, as it does on these
/// machines ("request forbidden: IMDS is disabled").
fn forbidding_imds() -> u16 {
    answering("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
}

/// A legacy SSO profile (`sso_start_url` in the profile, no `sso_session`): the SDK does not
/// check the cached token's expiry itself but sends it to the SSO portal, which refuses it.
fn legacy_sso_profile(home: &Path) {
    std::fs::write(
        home.join(".aws/config"),
        "[profile old]\n\
         sso_start_url = https://legacy.awsapps.com/start\n\
         sso_region = us-east-1\n\
         sso_account_id = 123456789012\n\
         sso_role_name = OnCall\n\
         region = us-east-1\n",
    )
    .expect("config");
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    // Named by the SHA-1 of the start URL: sha1("https://legacy.awsapps.com/start").
    std::fs::write(
        cache.join("79e435d7a515078e81c9dffc35f38d5687ebd3a7.json"),
        r#"{"accessToken":"legacy-sso-access-token","expiresAt":"2020-01-01T00:00:00Z","region":"us-east-1","startUrl":"https://legacy.awsapps.com/start"}"#,
    )
    .expect("cache file");
}

#[test]
fn legacy_sso_profile_refused_by_the_portal() {
    let port = if std::env::var_os(CHILD).is_some() {
        0
    } else {
        answering(
            "HTTP/1.1 401 Unauthorized\r\n\
             x-amzn-errortype: UnauthorizedException\r\n\
             content-type: application/json\r\n\
             content-length: 48\r\nconnection: close\r\n\r\n\
             {\"message\":\"Session token not found or invalid\"}",
        )
    };
    if !in_child(
        "legacy_sso_profile_refused_by_the_portal",
        legacy_sso_profile,
        &[("AWS_ENDPOINT_URL_SSO", format!("http://127.0.0.1:{port}"))],
    ) {
        return;
    }
    let err = describe_with_chain(&nowhere(Some("old")));
    assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
    assert_eq!(err.code.as_deref(), Some("SsoTokenExpired"), "{err:?}");
    assert_eq!(
        err.message,
        "AWS SSO session expired or not started — run `aws sso login --profile old`"
    );
    assert!(!err.message.contains("legacy-sso-access-token"));
}

#[test]
fn instance_metadata_forbidden() {
    let port = if std::env::var_os(CHILD).is_some() {
        0
    } else {
        forbidding_imds()
    };
    if !in_child(
        "instance_metadata_forbidden",
        |_| {},
        &[
            ("AWS_EC2_METADATA_DISABLED", "false".into()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
        ],
    ) {
        return;
    }
    let err = describe_with_chain(&nowhere(None));
    assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
    assert_eq!(err.code.as_deref(), Some("ImdsUnavailable"), "{err:?}");
    assert!(
        err.message.starts_with(
            "no AWS credentials: the chain reached instance metadata, which is unavailable here — set AWS_PROFILE or keys"
        ),
        "{err:?}"
    );
    assert_one_line(&err);
}

#[test]
fn instance_metadata_unreachable() {
    let port = if std::env::var_os(CHILD).is_some() {
        0
    } else {
        closed_port()
    };
    if !in_child(
        "instance_metadata_unreachable",
        |_| {},
        &[
            ("AWS_EC2_METADATA_DISABLED", "false".into()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
        ],
    ) {
        return;
    }
    let err = describe_with_chain(&nowhere(None));
    assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
    assert_eq!(err.code.as_deref(), Some("ImdsUnavailable"), "{err:?}");
    assert_one_line(&err);
}

/// DescribeServices through the real probe with static keys against `endpoint`.
async fn describe_with_keys(endpoint: &str, key: &str) -> ProbeError {
    let mut config = Config::default();
    config.aws.endpoint_url = Some(endpoint.to_owned());
    let sdk = otp_console::runner::static_sdk_config(&config, key, "not-a-real-secret-key").await;
    EcsProbe::new(&sdk, &config.aws, &EnvRules::default())
        .service()
        .await
        .expect_err("refused")
}

#[tokio::test]
async fn keys_refused_by_the_service() {
    let scenario = scenario::load("healthy").expect("scenario");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("simulator");
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    let endpoint = config.aws.endpoint_url.clone().expect("endpoint");
    let expired = describe_with_keys(&endpoint, "AKIASIMEXPIRED000001").await;
    assert_eq!(expired.kind, ErrorKind::Credentials, "{expired:?}");
    assert_eq!(expired.code.as_deref(), Some("ExpiredTokenException"));
    assert_eq!(
        expired.message,
        "AWS: ExpiredTokenException — the session credentials have expired; refresh them (`aws sso login`, or new keys) and retry"
    );
    let unknown = describe_with_keys(&endpoint, "AKIASIMUNKNOWN000001").await;
    assert_eq!(unknown.kind, ErrorKind::Credentials, "{unknown:?}");
    assert_eq!(unknown.code.as_deref(), Some("UnrecognizedClientException"));
    assert!(
        unknown
            .message
            .contains("AWS does not know these access keys"),
        "{unknown:?}"
    );
    let denied = describe_with_keys(&endpoint, "AKIASIMDENIED0000001").await;
    assert_eq!(denied.kind, ErrorKind::Credentials, "{denied:?}");
    assert_eq!(denied.code.as_deref(), Some("AccessDeniedException"));
    assert_eq!(
        denied.message,
        "AWS: AccessDeniedException — not allowed to call ecs:DescribeServices — ask for that permission or use another profile"
    );
    for err in [&expired, &unknown, &denied] {
        assert!(!err.message.contains("not-a-real-secret-key"), "{err:?}");
        assert!(!err.message.contains("AKIASIM"), "{err:?}");
        assert_one_line(err);
    }
}

#[tokio::test]
async fn a_closed_endpoint_is_still_the_network() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let err = describe_with_keys(&endpoint, sim::ACCESS_KEY_ID).await;
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    assert_eq!(err.code, None);
    assert!(
        err.message
            .starts_with("AWS DescribeServices: cannot reach the endpoint ("),
        "{err:?}"
    );
    assert!(!err.message.contains('\n'));
}

/// `otp-console` with a cleared environment and `home` as HOME.
fn binary(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otp-console"));
    cmd.env_clear()
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join(".aws/config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(home);
    cmd
}

/// A config file whose every URL is a closed loopback port, with its own region and profile.
fn config_file(home: &Path) -> std::path::PathBuf {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let path = home.join("otp-console.toml");
    std::fs::write(
        &path,
        format!(
            "[api]\nbase_url = \"{url}\"\n\
             [aws]\nregion = \"eu-west-1\"\nprofile = \"staging\"\nendpoint_url = \"{url}\"\n\
             [twilio]\napi_url = \"{url}\"\nverify_url = \"{url}\"\nstatus_url = \"{url}\"\n"
        ),
    )
    .expect("config");
    path
}

#[test]
fn profile_flag_overrides_the_config_file() {
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".aws")).expect(".aws");
    expired_sso_session(home.path());
    let config = config_file(home.path());
    let out = binary(home.path())
        .args(["check", "--json", "--check-aws", "--profile", "dev"])
        .arg("--config")
        .arg(&config)
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let ecs = &json["observations"]["ecs"]["error"];
    assert_eq!(ecs["kind"], "credentials", "{ecs}");
    assert_eq!(ecs["code"], "SsoTokenExpired", "{ecs}");
    assert_eq!(
        ecs["message"],
        "AWS SSO session expired or not started — run `aws sso login --profile dev`"
    );
}

#[test]
fn empty_region_or_profile_flag_is_one_line_and_exit_2() {
    let home = tempfile::tempdir().expect("home");
    let config = config_file(home.path());
    for (args, want) in [
        (
            vec!["check", "--region", ""],
            "otp-console check: --region must not be empty",
        ),
        (
            vec!["check", "--profile", ""],
            "otp-console check: --profile must not be empty",
        ),
        (
            vec!["repair", "--redeploy", "--region", ""],
            "otp-console repair: --region must not be empty",
        ),
        (
            vec!["--profile", " "],
            "otp-console: --profile must not be empty",
        ),
    ] {
        let out = binary(home.path())
            .args(&args)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(want), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
