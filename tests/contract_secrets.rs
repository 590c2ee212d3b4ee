//! Contract tests for Secrets Manager and SSM Parameter Store, in the style of
//! `contract_aws.rs`: each check is written once, over the console's own [`SecretsProbe`] and
//! the raw SDK clients, and runs against the simulator (`contract_sim_*`) and against moto's
//! server (`contract_moto_*`), an independent implementation seeded through the SDK. moto adds
//! its own random suffix to a secret's ARN, so the checks take the ARN each backend answered
//! and never assume the simulator's; the ECS suffix `:json-key:version-stage:version-id` is
//! the console's to strip before calling (neither backend would understand it).
//!
//! Seeded on both: the secret `nerava/prod/twilio` (a JSON string with `auth_token`), the
//! SecureString parameter `/nerava/prod/twilio-verify-service-sid`, and the secret
//! `nerava/prod/old-twilio`, scheduled for deletion (DeleteSecret with a recovery window).

#[path = "contract_support/emulator.rs"]
#[macro_use]
mod emulator;

use otp_console::probe::secrets::{SecretState, SecretsProbe, Store};
use otp_console::sim::scenario;

const TOKEN: &str = "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c";
const VERIFY_SID: &str = "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const PARAMETER: &str = "/nerava/prod/twilio-verify-service-sid";
const SIM_TWILIO: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o";
const SIM_OLD: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/old-twilio-Ab12Cd";

/// One Secrets Manager + SSM implementation, and the ARNs it gave the seeded secrets.
struct Backend {
    name: &'static str,
    sdk: aws_config::SdkConfig,
    twilio_arn: String,
    old_arn: String,
    _server: Box<dyn std::any::Any>,
}

impl Backend {
    /// The simulator on `healthy`, with one more secret scheduled for deletion 5 minutes ago.
    async fn simulator() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("contract-secrets.toml");
        std::fs::write(
            &path,
            format!(
                "description = \"healthy, and an old secret scheduled for deletion\"\n\
                 [secrets]\n\"{SIM_OLD}\" = '{{\"auth_token\":\"{TOKEN}\"}}'\n\
                 [secret_state.\"{SIM_OLD}\"]\ndeleted_minutes_ago = 5.0\n"
            ),
        )
        .expect("write");
        let scenario = scenario::load(path.to_str().expect("utf-8")).expect("scenario");
        let (sim, sdk) = emulator::simulator(scenario).await;
        Self {
            name: "simulator",
            sdk,
            twilio_arn: SIM_TWILIO.into(),
            old_arn: SIM_OLD.into(),
            _server: Box::new(sim),
        }
    }

    /// moto's server, seeded through the SDK.
    async fn moto() -> Self {
        let server = emulator::moto().await;
        let sdk = emulator::sdk_config(&server.url, "testing", "testing").await;
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let json = format!("{{\"auth_token\":\"{TOKEN}\"}}");
        let mut arns = Vec::new();
        for name in ["nerava/prod/twilio", "nerava/prod/old-twilio"] {
            let created = sm
                .create_secret()
                .name(name)
                .secret_string(&json)
                .send()
                .await
                .expect("CreateSecret");
            arns.push(created.arn().expect("ARN").to_owned());
        }
        sm.delete_secret()
            .secret_id(&arns[1])
            .recovery_window_in_days(7)
            .send()
            .await
            .expect("DeleteSecret");
        aws_sdk_ssm::Client::new(&sdk)
            .put_parameter()
            .name(PARAMETER)
            .value(VERIFY_SID)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("PutParameter");
        let old_arn = arns.pop().expect("two");
        let twilio_arn = arns.pop().expect("one");
        Self {
            name: "moto",
            sdk,
            twilio_arn,
            old_arn,
            _server: Box::new(server),
        }
    }

    fn probe(&self) -> SecretsProbe {
        SecretsProbe::new(&self.sdk)
    }
}

/// Every `valueFrom` form ECS takes resolves to the value ECS would inject, with its metadata.
async fn check_every_form_resolves(b: &Backend) {
    let probe = b.probe();
    // The ARN each backend gave: Secrets Manager adds `-` and 6 random characters to the name.
    let (partial, suffix) = b.twilio_arn.rsplit_once('-').expect("a suffixed ARN");
    assert_eq!(suffix.len(), 6, "{}: {}", b.name, b.twilio_arn);
    assert!(
        partial.ends_with(":secret:nerava/prod/twilio"),
        "{}",
        b.name
    );
    for from in [
        format!("{}:auth_token::", b.twilio_arn),
        format!("{}:auth_token:AWSCURRENT:", b.twilio_arn),
        format!("{partial}:auth_token::"),
    ] {
        let (shown, value) = probe.resolve("TWILIO_AUTH_TOKEN", &from).await;
        assert_eq!(
            shown.state,
            SecretState::Ok,
            "{}: {from}: {shown:?}",
            b.name
        );
        assert_eq!(value.as_deref(), Some(TOKEN), "{}: {from}", b.name);
        assert_eq!(
            shown.arn.as_deref(),
            Some(b.twilio_arn.as_str()),
            "{}",
            b.name
        );
        assert!(shown.last_changed_ms.is_some(), "{}: {shown:?}", b.name);
        assert!(shown.version.is_some(), "{}: {shown:?}", b.name);
        assert!(shown.fingerprint.is_some());
        assert!(!format!("{shown:?}").contains(TOKEN));
    }
    let (shown, value) = probe.resolve("WHOLE", &b.twilio_arn).await;
    assert_eq!(shown.state, SecretState::Ok, "{}", b.name);
    assert_eq!(
        value.as_deref(),
        Some(format!("{{\"auth_token\":\"{TOKEN}\"}}").as_str()),
        "{}: a JSON secret string comes back as stored",
        b.name
    );

    for from in [
        format!("arn:aws:ssm:us-east-1:123456789012:parameter{PARAMETER}"),
        PARAMETER.to_owned(),
    ] {
        let (shown, value) = probe.resolve("TWILIO_VERIFY_SERVICE_SID", &from).await;
        assert_eq!(
            shown.state,
            SecretState::Ok,
            "{}: {from}: {shown:?}",
            b.name
        );
        assert_eq!(shown.store, Store::Ssm);
        assert_eq!(value.as_deref(), Some(VERIFY_SID), "{}: decrypted", b.name);
        assert!(shown.version.is_some() && shown.last_changed_ms.is_some());
        assert!(
            shown
                .arn
                .as_deref()
                .is_some_and(|a| a.ends_with(&format!("parameter{PARAMETER}"))),
            "{}: {shown:?}",
            b.name
        );
    }
}

/// A secret scheduled for deletion: DescribeSecret answers its DeletedDate, GetSecretValue
/// refuses with InvalidRequestException, and the console says so with the date.
async fn check_scheduled_for_deletion(b: &Backend) {
    let sm = aws_sdk_secretsmanager::Client::new(&b.sdk);
    let described = sm
        .describe_secret()
        .secret_id(&b.old_arn)
        .send()
        .await
        .expect("DescribeSecret");
    assert!(described.deleted_date().is_some(), "{}", b.name);
    let err = sm
        .get_secret_value()
        .secret_id(&b.old_arn)
        .send()
        .await
        .expect_err("marked deleted");
    let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&err);
    assert_eq!(code, Some("InvalidRequestException"), "{}: {err:?}", b.name);

    let (shown, value) = b
        .probe()
        .resolve("TWILIO_AUTH_TOKEN", &format!("{}:auth_token::", b.old_arn))
        .await;
    assert_eq!(
        shown.state,
        SecretState::ScheduledForDeletion,
        "{}: {shown:?}",
        b.name
    );
    assert_eq!(value, None);
    let deleted = shown.deleted_ms.expect("the deletion date");
    let detail = shown.detail.expect("one line");
    assert!(
        detail.contains(&otp_console::probe::secrets::date(deleted)) && !detail.contains('\n'),
        "{}: {detail}",
        b.name
    );
}

/// What is not there: a secret, a JSON key, a parameter, each one line naming it.
async fn check_missing(b: &Backend) {
    let probe = b.probe();
    let absent = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/absent-Zz9Yy8";
    let (shown, _) = probe.resolve("X", absent).await;
    assert_eq!(shown.state, SecretState::NotFound, "{}: {shown:?}", b.name);
    assert!(shown.detail.expect("detail").contains(absent));

    let (shown, value) = probe
        .resolve("TWILIO_AUTH_TOKEN", &format!("{}:token::", b.twilio_arn))
        .await;
    assert_eq!(
        shown.state,
        SecretState::JsonKeyMissing,
        "{}: {shown:?}",
        b.name
    );
    assert_eq!(value, None);
    assert!(!shown.detail.expect("detail").contains(TOKEN));

    let (shown, _) = probe.resolve("Y", "/nerava/prod/absent").await;
    assert_eq!(shown.state, SecretState::NotFound, "{}: {shown:?}", b.name);
    assert!(shown
        .detail
        .expect("detail")
        .contains("/nerava/prod/absent"));
}

on_both_backends!(check_every_form_resolves: contract_sim_secrets_every_form_resolves, contract_moto_secrets_every_form_resolves);
on_both_backends!(check_scheduled_for_deletion: contract_sim_secret_scheduled_for_deletion, contract_moto_secret_scheduled_for_deletion);
on_both_backends!(check_missing: contract_sim_secrets_missing, contract_moto_secrets_missing);
