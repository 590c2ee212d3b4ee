//! Contract tests for S3, the env files' store, in the style of `contract_secrets.rs`: each
//! check is written once, over the console's own [`EnvFilesProbe`] and the raw SDK client, and
//! runs against the simulator (`contract_sim_*`) and against moto's server (`contract_moto_*`),
//! an independent implementation seeded through the SDK (CreateBucket, PutObject).
//!
//! Seeded on both: `nerava-config/prod/otp.env` as the `env-file` scenario holds it.

#[path = "contract_support/emulator.rs"]
#[macro_use]
mod emulator;

use std::collections::BTreeMap;

use otp_console::probe::env_files::{EnvFilesProbe, FileState};
use otp_console::sim::scenario;

const BUCKET: &str = "nerava-config";
const KEY: &str = "prod/otp.env";
const TOKEN: &str = "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c";

/// One S3 implementation holding the env file.
struct Backend {
    name: &'static str,
    sdk: aws_config::SdkConfig,
    _server: Box<dyn std::any::Any>,
}

/// The env file's text, as the `env-file` scenario holds it.
fn env_file() -> String {
    let scenario = scenario::load("env-file").expect("loads");
    scenario.s3_objects[&format!("{BUCKET}/{KEY}")].clone()
}

impl Backend {
    async fn simulator() -> Self {
        let (sim, sdk) = emulator::simulator(scenario::load("env-file").expect("loads")).await;
        Self {
            name: "simulator",
            sdk,
            _server: Box::new(sim),
        }
    }

    /// moto's server, the bucket and the object put through the SDK.
    async fn moto() -> Self {
        let server = emulator::moto().await;
        let sdk = emulator::sdk_config(&server.url, "testing", "testing").await;
        let s3 = client(&sdk);
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("CreateBucket");
        s3.put_object()
            .bucket(BUCKET)
            .key(KEY)
            .body(env_file().into_bytes().into())
            .send()
            .await
            .expect("PutObject");
        Self {
            name: "moto",
            sdk,
            _server: Box::new(server),
        }
    }
}

/// A path-style client, as the console's own is against an endpoint.
fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// The probe reads the file as ECS does: variables in order, the container's own
/// `environment` winning (LOG_LEVEL), an earlier file winning over a later one; a missing key
/// and a missing bucket are `not found`; a reference that is not an S3 object ARN is said so.
async fn check_env_files_read_as_ecs_reads_them(b: &Backend) {
    let arn = format!("arn:aws:s3:::{BUCKET}/{KEY}");
    let entries: Vec<(String, String)> = [
        ("s3", arn.as_str()),
        ("s3", "arn:aws:s3:::nerava-config/prod/gone.env"),
        ("s3", "arn:aws:s3:::no-such-bucket-otp/a.env"),
        ("s3", arn.as_str()),
        ("file", "/etc/otp.env"),
    ]
    .iter()
    .map(|(t, v)| ((*t).to_owned(), (*v).to_owned()))
    .collect();
    let environment = BTreeMap::from([("LOG_LEVEL".to_owned(), "INFO".to_owned())]);
    let read = EnvFilesProbe::new(&b.sdk)
        .read_all(&entries, &environment, None)
        .await;
    let states: Vec<FileState> = read.files.iter().map(|f| f.state).collect();
    assert_eq!(
        states,
        [
            FileState::Ok,
            FileState::NotFound,
            FileState::NotFound,
            FileState::Ok,
            FileState::BadReference
        ],
        "{}: {:?}",
        b.name,
        read.files
    );
    let first = &read.files[0];
    let names: Vec<&str> = first.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "OTP_PROVIDER",
            "TWILIO_VERIFY_SERVICE_SID",
            "TWILIO_AUTH_TOKEN",
            "LOG_LEVEL"
        ],
        "{}",
        b.name
    );
    assert_eq!(first.shadowed, ["LOG_LEVEL"], "{}", b.name);
    assert!(first.last_modified_ms.is_some(), "{}: {first:?}", b.name);
    assert_eq!(first.url, "s3://nerava-config/prod/otp.env");
    // The same file again adds nothing: every name is set by then.
    assert_eq!(read.files[3].shadowed.len(), 4, "{}", b.name);
    let values: Vec<&str> = read.values.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        values,
        [
            "OTP_PROVIDER",
            "TWILIO_VERIFY_SERVICE_SID",
            "TWILIO_AUTH_TOKEN"
        ],
        "{}",
        b.name
    );
    assert!(read.values.iter().any(|(_, v)| v == TOKEN), "{}", b.name);
    let shown = serde_json::to_string(&read.files).expect("serialises");
    assert!(!shown.contains(TOKEN), "{}: the token left memory", b.name);
    assert!(read.files[1]
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("NoSuchKey")));
    assert!(read.files[2]
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("NoSuchBucket")));
}

/// The raw SDK: GetObject's body, ETag and Last-Modified; HeadObject's length; S3's own error
/// codes for a missing key and a missing bucket.
async fn check_get_and_head_object(b: &Backend) {
    let s3 = client(&b.sdk);
    let got = s3
        .get_object()
        .bucket(BUCKET)
        .key(KEY)
        .send()
        .await
        .expect("GetObject");
    assert!(
        got.e_tag().is_some_and(|e| e.len() == 34),
        "{}: {got:?}",
        b.name
    );
    assert!(got.last_modified().is_some(), "{}", b.name);
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(body, env_file().as_bytes(), "{}", b.name);
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key(KEY)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.content_length(), Some(body.len() as i64), "{}", b.name);
    for (bucket, key, code) in [
        (BUCKET, "prod/gone.env", "NoSuchKey"),
        ("no-such-bucket-otp", "a.env", "NoSuchBucket"),
    ] {
        let err = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect_err("missing");
        let got = aws_sdk_s3::error::ProvideErrorMetadata::code(&err);
        assert_eq!(got, Some(code), "{}: {err:?}", b.name);
    }
}

on_both_backends!(check_env_files_read_as_ecs_reads_them: contract_sim_env_files, contract_moto_env_files);
on_both_backends!(check_get_and_head_object: contract_sim_get_and_head_object, contract_moto_get_and_head_object);
