//! The deployed container's `secrets` (`valueFrom`), resolved with the operator's AWS
//! credentials as ECS resolves them when it starts a task: Secrets Manager (DescribeSecret for
//! the metadata, GetSecretValue for the value, the ECS suffix `:json-key:version-stage:version-id`
//! stripped before calling and applied after) and SSM Parameter Store (GetParameters with
//! decryption). Values stay in memory: what leaves this module as data is a [`Resolved`] (where
//! the value comes from, a short fingerprint, when it last changed, its state), and the value
//! itself only as a [`SecretValues`] entry, which is never serialised nor printed.

use aws_config::{Region, SdkConfig};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::aws::call;
use super::{ErrorKind, ProbeError, System};
use crate::redact;

/// Where a `valueFrom` points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    SecretsManager,
    Ssm,
}

impl Store {
    /// The prefix the env pane shows: `secretsmanager`, `ssm`.
    pub fn label(self) -> &'static str {
        match self {
            Self::SecretsManager => "secretsmanager",
            Self::Ssm => "ssm",
        }
    }
}

/// A `valueFrom` taken apart, as ECS reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueFrom {
    pub store: Store,
    /// What is asked for: the secret's ARN (full or partial) without ECS's suffix, or the
    /// parameter's name (an ARN's `parameter/…` turned back into the name).
    pub id: String,
    /// The region an ARN names (a bare name is in the task's region).
    pub region: Option<String>,
    /// Secrets Manager: the JSON key whose value the variable gets.
    pub json_key: Option<String>,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
}

impl ValueFrom {
    /// Parses a container's `secrets[].valueFrom`:
    /// - `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX][:json-key:version-stage:version-id]`
    ///   (the full ARN, or the partial one without the 6-character suffix Secrets Manager adds;
    ///   empty suffix fields mean "the whole string", `AWSCURRENT`, "the current version");
    /// - `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME` (the name of `parameter/a/b` is `/a/b`);
    /// - anything else is a parameter name in the task's region, as ECS takes it.
    pub fn parse(value_from: &str) -> Self {
        let value_from = value_from.trim();
        let parts: Vec<&str> = value_from.split(':').collect();
        let none_if_empty = |s: Option<&&str>| s.filter(|s| !s.is_empty()).map(|s| (*s).to_owned());
        if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "secretsmanager" {
            return Self {
                store: Store::SecretsManager,
                id: parts[..7].join(":"),
                region: none_if_empty(parts.get(3)),
                json_key: none_if_empty(parts.get(7)),
                version_stage: none_if_empty(parts.get(8)),
                version_id: none_if_empty(parts.get(9)),
            };
        }
        if parts.len() >= 6 && parts[0] == "arn" && parts[2] == "ssm" {
            let resource = parts[5..].join(":");
            let rest = resource.strip_prefix("parameter").unwrap_or(&resource);
            let id = match rest.strip_prefix('/') {
                Some(name) if name.contains('/') => rest.to_owned(),
                Some(name) => name.to_owned(),
                None => rest.to_owned(),
            };
            return Self {
                store: Store::Ssm,
                id,
                region: none_if_empty(parts.get(3)),
                json_key: None,
                version_stage: None,
                version_id: None,
            };
        }
        Self {
            store: Store::Ssm,
            id: value_from.to_owned(),
            region: None,
            json_key: None,
            version_stage: None,
            version_id: None,
        }
    }

    /// What the env pane shows as the source: `secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token`,
    /// `ssm:/nerava/prod/verify-sid`.
    pub fn source(&self) -> String {
        let short = match self.store {
            Store::SecretsManager => self
                .id
                .split_once(":secret:")
                .map_or(self.id.as_str(), |(_, name)| name),
            Store::Ssm => self.id.as_str(),
        };
        let mut out = format!("{}:{short}", self.store.label());
        if let Some(key) = &self.json_key {
            out.push('#');
            out.push_str(key);
        }
        if let Some(stage) = &self.version_stage {
            out.push('@');
            out.push_str(stage);
        }
        if let Some(version) = &self.version_id {
            out.push('@');
            out.push_str(version);
        }
        redact::sanitize(&out)
    }
}

pub use super::iam::RoleAccess;

/// What became of one `secrets` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretState {
    /// Read: the value is in memory.
    Ok,
    /// Secrets Manager has a `DeletedDate`: ECS cannot read it, and after the recovery window
    /// it is gone.
    ScheduledForDeletion,
    NotFound,
    /// The operator may not read it (the service may still).
    NoAccess,
    /// The operator may read it but KMS refused to decrypt it.
    KmsDenied,
    /// The secret has no such JSON key (or is not JSON).
    JsonKeyMissing,
    /// Anything else (unreachable, throttled, an error of the service's own).
    Error,
}

impl SecretState {
    /// The env pane's word for it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ScheduledForDeletion => "scheduled for deletion",
            Self::NotFound => "not found",
            Self::NoAccess => "no access",
            Self::KmsDenied => "kms decrypt denied",
            Self::JsonKeyMissing => "json key missing",
            Self::Error => "error",
        }
    }
}

/// One `secrets` entry as it may be shown: never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// The container's variable.
    pub name: String,
    pub value_from: String,
    pub store: Store,
    /// [`ValueFrom::source`].
    pub source: String,
    /// The secret's or parameter's ARN as the service answered it.
    pub arn: Option<String>,
    pub state: SecretState,
    /// [`fingerprint`] of the value, when it was read.
    pub fingerprint: Option<String>,
    /// Secrets Manager's `LastChangedDate`, SSM's `LastModifiedDate`.
    pub last_changed_ms: Option<i64>,
    /// Secrets Manager's `DeletedDate` (when it was scheduled for deletion).
    pub deleted_ms: Option<i64>,
    /// The version read: Secrets Manager's version id, SSM's version number.
    pub version: Option<String>,
    /// One line when the state is not `ok`: what happened and what to do.
    pub detail: Option<String>,
    /// Secrets Manager's `LastRotatedDate`, for a secret its rotation has rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated_ms: Option<i64>,
    /// The customer-managed KMS key it is encrypted with (DescribeSecret's `KmsKeyId`; none for
    /// the account's default key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The staging labels of the version read (`AWSCURRENT`, `AWSPREVIOUS`, a custom one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// Whether the task execution role may read it, as IAM's policy simulator says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_access: Option<super::iam::RoleAccess>,
}

/// Resolved values by variable name: in memory only. Never serialised; `Debug` shows the
/// names alone.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(pub Vec<(String, String)>);

impl SecretValues {
    /// The value of `name`, when it was read.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value, for the masking of output.
    pub fn values(&self) -> Vec<String> {
        self.0.iter().map(|(_, v)| v.clone()).collect()
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// A short, non-reversible fingerprint of a value, the same on every machine: the first 8 hex
/// digits (32 bits) of SHA-256 over `otp-console:fingerprint:v1:` and the value. Two screens
/// showing the same fingerprint almost surely hold the same value; 32 bits of a hash say nothing
/// useful about a 128-bit token.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(format!("otp-console:fingerprint:v1:{value}").as_bytes());
    digest.iter().take(4).fold(String::new(), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Reads `secrets` entries with the operator's credentials.
#[derive(Debug, Clone)]
pub struct SecretsProbe {
    sdk: SdkConfig,
    sm: aws_sdk_secretsmanager::Client,
    ssm: aws_sdk_ssm::Client,
}

/// A call that failed: the [`ProbeError`] of [`call`], and the service's own message (which
/// tells a KMS refusal from an IAM one).
struct Failure {
    error: ProbeError,
    raw: String,
}

/// [`call`], keeping the service's own error message.
async fn ask<T, E, R>(
    operation: &str,
    request: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, Failure>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let mut raw = String::new();
    // Boxed: an SDK call's future is large, and it would be inlined into every caller's.
    let result = call(
        System::Secrets,
        operation,
        Box::pin(async {
            let result = request.await;
            if let Err(e) = &result {
                e.message().unwrap_or_default().clone_into(&mut raw);
            }
            result
        }),
    )
    .await;
    result.map_err(|error| Failure {
        error,
        raw: redact::sanitize(&raw),
    })
}

/// The SDK's date (one type across the AWS crates) in ms since the epoch.
fn millis(at: &aws_sdk_ecs::primitives::DateTime) -> Option<i64> {
    at.to_millis().ok()
}

impl SecretsProbe {
    /// Clients of `sdk` (its credentials, region and endpoint).
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            sm: aws_sdk_secretsmanager::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
        }
    }

    fn sm_in(&self, region: Option<&str>) -> aws_sdk_secretsmanager::Client {
        match region {
            Some(r) if self.sdk.region().is_none_or(|own| own.as_ref() != r) => {
                aws_sdk_secretsmanager::Client::from_conf(
                    aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
                        .region(Region::new(r.to_owned()))
                        .build(),
                )
            }
            _ => self.sm.clone(),
        }
    }

    fn ssm_in(&self, region: Option<&str>) -> aws_sdk_ssm::Client {
        match region {
            Some(r) if self.sdk.region().is_none_or(|own| own.as_ref() != r) => {
                aws_sdk_ssm::Client::from_conf(
                    aws_sdk_ssm::config::Builder::from(&self.sdk)
                        .region(Region::new(r.to_owned()))
                        .build(),
                )
            }
            _ => self.ssm.clone(),
        }
    }

    /// Resolves every entry (`name` → `valueFrom`) at once, each in its own task (an ECS read
    /// waits for the slowest one, not for their sum); results in the entries' order.
    pub async fn resolve_all<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> (Vec<Resolved>, SecretValues) {
        let mut tasks = tokio::task::JoinSet::new();
        let mut count = 0;
        for (i, (name, value_from)) in entries.into_iter().enumerate() {
            let probe = self.clone();
            let (name, value_from) = (name.clone(), value_from.clone());
            tasks.spawn(async move {
                let result = Box::pin(probe.resolve(&name, &value_from)).await;
                (i, name, result)
            });
            count = i + 1;
        }
        let mut found: Vec<Option<(String, Resolved, Option<String>)>> = vec![None; count];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, name, (resolved, value))) = joined {
                found[i] = Some((name, resolved, value));
            }
        }
        let mut shown = Vec::with_capacity(count);
        let mut values = SecretValues::default();
        for (name, resolved, value) in found.into_iter().flatten() {
            if let Some(value) = value {
                values.0.push((name, value));
            }
            shown.push(resolved);
        }
        (shown, values)
    }

    /// Asks IAM whether the execution role `role` may read each of `secrets`
    /// ([`super::iam::check_role`]).
    pub async fn check_role(&self, role: Option<&str>, secrets: &mut [Resolved]) {
        super::iam::check_role(&self.sdk, role, secrets).await;
    }

    /// Resolves one entry: what may be shown, and the value when it was read.
    pub async fn resolve(&self, name: &str, value_from: &str) -> (Resolved, Option<String>) {
        let parsed = ValueFrom::parse(value_from);
        let mut shown = Resolved {
            name: redact::sanitize(name),
            value_from: redact::sanitize(value_from),
            store: parsed.store,
            source: parsed.source(),
            arn: None,
            state: SecretState::Ok,
            fingerprint: None,
            last_changed_ms: None,
            deleted_ms: None,
            version: None,
            detail: None,
            last_rotated_ms: None,
            kms_key_id: None,
            stages: Vec::new(),
            role_access: None,
        };
        let value = match parsed.store {
            Store::SecretsManager => self.secrets_manager(&parsed, &mut shown).await,
            Store::Ssm => self.parameter(&parsed, &mut shown).await,
        };
        if let Some(value) = &value {
            shown.fingerprint = Some(fingerprint(value));
            // An error line must never carry the value back.
            shown.detail = shown.detail.map(|d| redact::scrub(&d, &[value.as_str()]));
        }
        (shown, value)
    }

    async fn secrets_manager(&self, vf: &ValueFrom, shown: &mut Resolved) -> Option<String> {
        let client = self.sm_in(vf.region.as_deref());
        let meta = ask(
            "DescribeSecret",
            client.describe_secret().secret_id(&vf.id).send(),
        )
        .await;
        // Least privilege often grants GetSecretValue without DescribeSecret (it is all ECS
        // needs): without the metadata, the value is still read.
        let mut no_metadata = None;
        match meta {
            Ok(meta) => {
                shown.arn = meta.arn().map(redact::sanitize);
                shown.last_changed_ms = meta
                    .last_changed_date()
                    .or(meta.created_date())
                    .and_then(millis);
                shown.deleted_ms = meta.deleted_date().and_then(millis);
                shown.last_rotated_ms = meta.last_rotated_date().and_then(millis);
                shown.kms_key_id = meta.kms_key_id().map(redact::sanitize);
            }
            Err(f) => {
                fail(shown, &vf.id, "DescribeSecret", &f);
                if shown.state != SecretState::NoAccess {
                    return None;
                }
                no_metadata = shown.detail.take();
                shown.state = SecretState::Ok;
            }
        }
        let arn = shown.arn.clone().unwrap_or_else(|| vf.id.clone());
        if let Some(deleted) = shown.deleted_ms {
            shown.state = SecretState::ScheduledForDeletion;
            shown.detail = Some(format!(
                "secret {arn} was scheduled for deletion on {} — ECS cannot read it, so new tasks fail to start; restore it (aws secretsmanager restore-secret --secret-id {arn}) before the recovery window ends",
                date(deleted)
            ));
            return None;
        }
        let got = ask(
            "GetSecretValue",
            client
                .get_secret_value()
                .secret_id(&vf.id)
                .set_version_stage(vf.version_stage.clone())
                .set_version_id(vf.version_id.clone())
                .send(),
        )
        .await;
        let got = match got {
            Ok(got) => got,
            Err(f) => {
                fail(shown, &arn, "GetSecretValue", &f);
                return None;
            }
        };
        shown.version = got.version_id().map(redact::sanitize);
        shown.stages = got
            .version_stages()
            .iter()
            .map(|s| redact::sanitize(s))
            .collect();
        if let Some(why) = no_metadata {
            // The current version's creation is when the value last changed.
            shown.arn = got.arn().map(redact::sanitize).or(shown.arn.take());
            shown.last_changed_ms = got.created_date().and_then(millis);
            shown.detail = Some(format!("read, but its metadata could not be: {why}"));
        }
        let Some(text) = got.secret_string() else {
            shown.state = SecretState::Error;
            shown.detail = Some(format!(
                "secret {arn} holds binary data: ECS passes only a SecretString to a variable"
            ));
            return None;
        };
        let Some(key) = &vf.json_key else {
            return Some(text.to_owned());
        };
        let field = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|json| json.get(key).cloned());
        match field {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
            None => {
                shown.state = SecretState::JsonKeyMissing;
                shown.detail = Some(redact::sanitize(&format!(
                    "secret {arn} has no JSON key {key:?} — ECS cannot set {} and new tasks fail to start; add the key or fix the valueFrom",
                    shown.name
                )));
                None
            }
        }
    }

    async fn parameter(&self, vf: &ValueFrom, shown: &mut Resolved) -> Option<String> {
        let client = self.ssm_in(vf.region.as_deref());
        let out = ask(
            "GetParameters",
            client
                .get_parameters()
                .names(&vf.id)
                .with_decryption(true)
                .send(),
        )
        .await;
        let out = match out {
            Ok(out) => out,
            Err(f) => {
                fail(shown, &vf.id, "GetParameters", &f);
                return None;
            }
        };
        let Some(p) = out.parameters().first() else {
            shown.state = SecretState::NotFound;
            shown.detail = Some(redact::sanitize(&format!(
                "SSM parameter {} not found (GetParameters lists it as invalid) — ECS cannot set {} and new tasks fail to start",
                vf.id, shown.name
            )));
            return None;
        };
        shown.arn = p.arn().map(redact::sanitize);
        shown.last_changed_ms = p.last_modified_date().and_then(millis);
        shown.version = Some(p.version().to_string());
        p.value().map(str::to_owned)
    }
}

/// Records a failed call on `shown`: its state and one line naming the action and the resource.
fn fail(shown: &mut Resolved, resource: &str, operation: &str, f: &Failure) {
    let code = f.error.code.as_deref().unwrap_or_default();
    let action = match shown.store {
        Store::SecretsManager => format!("secretsmanager:{operation}"),
        Store::Ssm => format!("ssm:{operation}"),
    };
    let kms = code == "DecryptionFailure"
        || code.starts_with("KMS")
        || f.raw.contains("KMS")
        || f.raw.contains("kms:");
    let (state, line) = if kms {
        (
            SecretState::KmsDenied,
            match &shown.kms_key_id {
                Some(key) => format!("KMS refused to decrypt {resource} with key {key} ({code}) for the operator — its key policy and IAM must both allow kms:Decrypt; the execution role needs it too"),
                None => format!("KMS refused to decrypt {resource} ({code}) for the operator — allow kms:Decrypt on its key; the execution role needs it too"),
            },
        )
    } else {
        match (code, f.error.kind) {
            ("AccessDeniedException" | "AccessDenied", _) => (
                SecretState::NoAccess,
                format!("not allowed to call {action} on {resource} (AccessDeniedException) — the console still shows the reference; ask for that permission to check the value"),
            ),
            ("ResourceNotFoundException" | "ParameterNotFound", _) => (
                SecretState::NotFound,
                format!("{resource} not found ({code}) — ECS cannot set {} and new tasks fail to start", shown.name),
            ),
            ("InvalidRequestException", _) if f.raw.contains("deleted") || f.raw.contains("deletion") => (
                SecretState::ScheduledForDeletion,
                format!("{resource} is marked for deletion ({code}) — restore it (RestoreSecret) before the recovery window ends"),
            ),
            (_, ErrorKind::Credentials) => (SecretState::NoAccess, f.error.message.clone()),
            _ => (SecretState::Error, f.error.message.clone()),
        }
    };
    shown.state = state;
    shown.detail = Some(redact::sanitize(&line));
}

/// A date for a one-line message: `2026-11-30 05:10 UTC`.
pub fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o";

    #[test]
    fn full_arn() {
        let v = ValueFrom::parse(ARN);
        assert_eq!(v.store, Store::SecretsManager);
        assert_eq!(v.id, ARN);
        assert_eq!(v.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            (v.json_key, v.version_stage, v.version_id),
            (None, None, None)
        );
        assert_eq!(
            ValueFrom::parse(ARN).source(),
            "secretsmanager:nerava/prod/twilio-Tw1l1o"
        );
    }

    #[test]
    fn partial_arn() {
        let partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nerava/prod/twilio";
        let v = ValueFrom::parse(partial);
        assert_eq!(v.store, Store::SecretsManager);
        assert_eq!(v.id, partial);
        assert_eq!(v.region.as_deref(), Some("eu-west-1"));
        assert_eq!(v.json_key, None);
    }

    #[test]
    fn json_key_suffix_is_stripped() {
        let v = ValueFrom::parse(&format!("{ARN}:auth_token::"));
        assert_eq!(v.id, ARN);
        assert_eq!(v.json_key.as_deref(), Some("auth_token"));
        assert_eq!((v.version_stage, v.version_id), (None, None));
        assert_eq!(
            ValueFrom::parse(&format!("{ARN}:auth_token::")).source(),
            "secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token"
        );
    }

    #[test]
    fn stage_and_version_suffixes() {
        let v = ValueFrom::parse(&format!("{ARN}::AWSPREVIOUS:"));
        assert_eq!(v.id, ARN);
        assert_eq!(v.json_key, None);
        assert_eq!(v.version_stage.as_deref(), Some("AWSPREVIOUS"));
        let v = ValueFrom::parse(&format!(
            "{ARN}:auth_token::0b4a2c3e-1111-2222-3333-444455556666"
        ));
        assert_eq!(v.json_key.as_deref(), Some("auth_token"));
        assert_eq!(v.version_stage, None);
        assert_eq!(
            v.version_id.as_deref(),
            Some("0b4a2c3e-1111-2222-3333-444455556666")
        );
        let v = ValueFrom::parse(&format!("{ARN}:auth_token:AWSCURRENT:"));
        assert_eq!(v.version_stage.as_deref(), Some("AWSCURRENT"));
        assert_eq!(
            v.source(),
            "secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token@AWSCURRENT"
        );
    }

    #[test]
    fn ssm_arns_and_names() {
        let v =
            ValueFrom::parse("arn:aws:ssm:us-east-1:123456789012:parameter/nerava/prod/verify-sid");
        assert_eq!(v.store, Store::Ssm);
        assert_eq!(v.id, "/nerava/prod/verify-sid");
        assert_eq!(v.region.as_deref(), Some("us-east-1"));
        assert_eq!(v.source(), "ssm:/nerava/prod/verify-sid");
        let v = ValueFrom::parse("arn:aws:ssm:us-west-2:123456789012:parameter/twilio-token");
        assert_eq!(v.id, "twilio-token");
        assert_eq!(v.region.as_deref(), Some("us-west-2"));
        let v = ValueFrom::parse("/nerava/prod/verify-sid");
        assert_eq!(v.store, Store::Ssm);
        assert_eq!(v.id, "/nerava/prod/verify-sid");
        assert_eq!(v.region, None);
        let v = ValueFrom::parse("twilio-token");
        assert_eq!((v.store, v.id.as_str()), (Store::Ssm, "twilio-token"));
    }

    #[test]
    fn fingerprints_are_short_stable_and_not_the_value() {
        let a = fingerprint("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c");
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, fingerprint("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"));
        assert_ne!(a, fingerprint("4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a"));
        assert!(!"9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c".contains(&a));
        // As the README computes it:
        // printf 'otp-console:fingerprint:v1:%s' "$VALUE" | sha256sum | cut -c1-8
        assert_eq!(a, "106cc468");
    }

    mod against_the_simulator {
        use super::super::*;
        use crate::config::AwsConfig;
        use crate::sim::{self, scenario, Ports, Simulator};

        const TOKEN: &str = "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c";
        const TWILIO: &str =
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o";

        async fn start(scenario: scenario::Scenario) -> Simulator {
            Simulator::start(scenario, 0.05, Ports::default())
                .await
                .expect("simulator starts")
        }

        async fn probe(sim: &Simulator, key: &str) -> SecretsProbe {
            let cfg = AwsConfig {
                endpoint_url: Some(sim.urls.aws.clone()),
                ..AwsConfig::default()
            };
            let sdk = crate::probe::aws::sdk_config(&cfg)
                .await
                .to_builder()
                .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                    aws_sdk_ecs::config::Credentials::new(
                        key,
                        sim::SECRET_ACCESS_KEY,
                        None,
                        None,
                        "test",
                    ),
                ))
                .build();
            SecretsProbe::new(&sdk)
        }

        #[tokio::test]
        async fn every_form_resolves() {
            let sim = start(scenario::load("healthy").expect("scenario")).await;
            let p = probe(&sim, sim::ACCESS_KEY_ID).await;
            let now = chrono::Utc::now().timestamp_millis();
            for from in [
                format!("{TWILIO}:auth_token::"),
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio:auth_token::"
                    .to_owned(),
                format!("{TWILIO}:auth_token:AWSCURRENT:"),
            ] {
                let (shown, value) = p.resolve("TWILIO_AUTH_TOKEN", &from).await;
                assert_eq!(shown.state, SecretState::Ok, "{from}: {shown:?}");
                assert_eq!(value.as_deref(), Some(TOKEN), "{from}");
                assert_eq!(shown.fingerprint.as_deref(), Some(fingerprint(TOKEN).as_str()));
                assert_eq!(shown.arn.as_deref(), Some(TWILIO));
                assert!(shown.version.is_some());
                let age_days = (now - shown.last_changed_ms.expect("changed")) / 86_400_000;
                assert_eq!(age_days, 60, "{shown:?}");
                assert!(!format!("{shown:?}").contains(TOKEN));
            }
            let (shown, value) = p.resolve("WHOLE", TWILIO).await;
            assert_eq!(shown.state, SecretState::Ok);
            assert!(value.expect("whole string").contains("auth_token"));

            for from in [
                "arn:aws:ssm:us-east-1:123456789012:parameter/nerava/prod/twilio-verify-service-sid",
                "/nerava/prod/twilio-verify-service-sid",
            ] {
                let (shown, value) = p.resolve("TWILIO_VERIFY_SERVICE_SID", from).await;
                assert_eq!(shown.state, SecretState::Ok, "{from}: {shown:?}");
                assert_eq!(shown.store, Store::Ssm);
                assert_eq!(value.as_deref(), Some("VA0a1b2c3d4e5f60718293a4b5c6d7e8f9"));
                assert_eq!(shown.version.as_deref(), Some("3"));
                assert!(shown.last_changed_ms.is_some());
            }
        }

        #[tokio::test]
        async fn failures_are_one_line_states() {
            let sim = start(scenario::load("healthy").expect("scenario")).await;
            let p = probe(&sim, sim::ACCESS_KEY_ID).await;
            let (shown, value) = p
                .resolve("TWILIO_AUTH_TOKEN", &format!("{TWILIO}:token::"))
                .await;
            assert_eq!(shown.state, SecretState::JsonKeyMissing);
            assert_eq!(value, None);
            let detail = shown.detail.expect("detail");
            assert!(detail.contains("no JSON key \"token\""), "{detail}");
            assert!(!detail.contains(TOKEN));

            let gone =
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/gone-AAAAAA";
            let (shown, _) = p.resolve("X", gone).await;
            assert_eq!(shown.state, SecretState::NotFound, "{shown:?}");
            assert!(shown.detail.expect("detail").contains(gone));

            let (shown, _) = p.resolve("Y", "/nerava/prod/nothing-here").await;
            assert_eq!(shown.state, SecretState::NotFound, "{shown:?}");
            assert!(shown
                .detail
                .expect("detail")
                .contains("/nerava/prod/nothing-here"));

            let denied = probe(&sim, "AKIASIMDENIED0000001").await;
            let (shown, _) = denied.resolve("TWILIO_AUTH_TOKEN", TWILIO).await;
            assert_eq!(shown.state, SecretState::NoAccess, "{shown:?}");
            let detail = shown.detail.expect("detail");
            assert!(
                detail.contains("secretsmanager:GetSecretValue") && detail.contains(TWILIO),
                "{detail}"
            );
            let (shown, _) = denied
                .resolve("V", "/nerava/prod/twilio-verify-service-sid")
                .await;
            assert_eq!(shown.state, SecretState::NoAccess);
            assert!(shown.detail.expect("detail").contains("ssm:GetParameters"));
        }

        #[tokio::test]
        async fn without_describe_secret_the_value_is_still_read() {
            let sim = start(scenario::load("healthy").expect("scenario")).await;
            let p = probe(&sim, "AKIASIMNODESCRIBE001").await;
            let (shown, value) = p
                .resolve("TWILIO_AUTH_TOKEN", &format!("{TWILIO}:auth_token::"))
                .await;
            assert_eq!(shown.state, SecretState::Ok, "{shown:?}");
            assert_eq!(value.as_deref(), Some(TOKEN));
            assert_eq!(shown.arn.as_deref(), Some(TWILIO));
            let now = chrono::Utc::now().timestamp_millis();
            let age_days = (now - shown.last_changed_ms.expect("from the version")) / 86_400_000;
            assert_eq!(age_days, 60);
            let detail = shown.detail.expect("says what was not read");
            assert!(detail.contains("secretsmanager:DescribeSecret"), "{detail}");
        }

        #[tokio::test]
        async fn a_secret_scheduled_for_deletion_says_when() {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("deleted.toml");
            std::fs::write(
                &path,
                format!("description = \"d\"\n[secret_state.\"{TWILIO}\"]\ndeleted_minutes_ago = 40.0\n"),
            )
            .expect("write");
            let sim = start(scenario::load(path.to_str().expect("utf-8")).expect("scenario")).await;
            let p = probe(&sim, sim::ACCESS_KEY_ID).await;
            let (shown, value) = p
                .resolve("TWILIO_AUTH_TOKEN", &format!("{TWILIO}:auth_token::"))
                .await;
            assert_eq!(shown.state, SecretState::ScheduledForDeletion, "{shown:?}");
            assert_eq!(value, None);
            let deleted = shown.deleted_ms.expect("deleted date");
            let detail = shown.detail.expect("detail");
            assert!(detail.contains(&date(deleted)), "{detail}");
            assert!(detail.contains("restore-secret"), "{detail}");
        }
    }

    #[test]
    fn failures_are_classified_by_code_and_the_services_words() {
        let shown = |store| Resolved {
            name: "TWILIO_AUTH_TOKEN".into(),
            value_from: ARN.into(),
            store,
            source: String::new(),
            arn: None,
            state: SecretState::Ok,
            fingerprint: None,
            last_changed_ms: None,
            deleted_ms: None,
            version: None,
            detail: None,
            last_rotated_ms: None,
            kms_key_id: None,
            stages: Vec::new(),
            role_access: None,
        };
        let failure = |code: &str, kind, raw: &str| Failure {
            error: ProbeError {
                system: System::Secrets,
                kind,
                code: Some(code.into()),
                message: format!("AWS: {code}"),
            },
            raw: raw.into(),
        };
        for (store, code, kind, raw, state, needle) in [
            (
                Store::SecretsManager,
                "AccessDeniedException",
                ErrorKind::Credentials,
                "User: arn:aws:iam::1:user/on-call is not authorized to perform: secretsmanager:GetSecretValue",
                SecretState::NoAccess,
                "not allowed to call secretsmanager:GetSecretValue on arn:aws:secretsmanager:",
            ),
            (
                Store::SecretsManager,
                "AccessDeniedException",
                ErrorKind::Credentials,
                "Access to KMS is not allowed",
                SecretState::KmsDenied,
                "KMS refused to decrypt",
            ),
            (
                Store::SecretsManager,
                "DecryptionFailure",
                ErrorKind::Api,
                "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
                SecretState::KmsDenied,
                "allow kms:Decrypt",
            ),
            (
                Store::SecretsManager,
                "InvalidRequestException",
                ErrorKind::Api,
                "You can't perform this operation on the secret because it was marked for deletion.",
                SecretState::ScheduledForDeletion,
                "marked for deletion",
            ),
            (
                Store::SecretsManager,
                "ResourceNotFoundException",
                ErrorKind::NotFound,
                "Secrets Manager can't find the specified secret.",
                SecretState::NotFound,
                "not found (ResourceNotFoundException)",
            ),
            (
                Store::Ssm,
                "AccessDeniedException",
                ErrorKind::Credentials,
                "not authorized to perform: ssm:GetParameters",
                SecretState::NoAccess,
                "not allowed to call ssm:GetParameters on",
            ),
            (
                Store::Ssm,
                "ThrottlingException",
                ErrorKind::Throttled,
                "Rate exceeded",
                SecretState::Error,
                "AWS: ThrottlingException",
            ),
        ] {
            let mut r = shown(store);
            let op = match store {
                Store::SecretsManager => "GetSecretValue",
                Store::Ssm => "GetParameters",
            };
            fail(&mut r, ARN, op, &failure(code, kind, raw));
            assert_eq!(r.state, state, "{code}: {raw}");
            let detail = r.detail.expect("one line");
            assert!(detail.contains(needle), "{code}: {detail}");
            assert!(!detail.contains('\n'));
        }
    }

    #[test]
    fn values_are_never_printed() {
        let values = SecretValues(vec![("TWILIO_AUTH_TOKEN".into(), "s3cr3t-value".into())]);
        let text = format!("{values:?}");
        assert!(text.contains("TWILIO_AUTH_TOKEN"));
        assert!(!text.contains("s3cr3t-value"));
        assert_eq!(values.get("TWILIO_AUTH_TOKEN"), Some("s3cr3t-value"));
    }
}
