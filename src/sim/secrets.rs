//! Simulated Secrets Manager (`secretsmanager.*`: DescribeSecret, GetSecretValue, ListSecrets,
//! and the repairs RestoreSecret and PutSecretValue)
//! and SSM Parameter Store (`AmazonSSM.*`: GetParameters, GetParameter) on the shared AWS JSON
//! 1.1 endpoint, and how the simulated ECS resolves a container's `secrets` when it starts a
//! task ([`World::resolve_secret`]): a secret scheduled for deletion, a missing JSON key or a
//! missing parameter make the task stop with ECS's `ResourceInitializationError`, and a value
//! changed later reaches the backend only with the next deployment's tasks.

use serde::Deserialize;
use serde_json::{json, Value};

use super::aws::{epoch, parse_body, AwsError};
use super::scenario::Scenario;
use super::world::World;

/// A secret in the simulated Secrets Manager.
#[derive(Debug, Clone)]
pub struct SimSecret {
    /// Full ARN, with the 6-character suffix Secrets Manager adds.
    pub arn: String,
    pub name: String,
    pub value: String,
    pub version_id: String,
    pub created_ms: i64,
    pub changed_ms: i64,
    /// When it was scheduled for deletion (DeleteSecret with a recovery window).
    pub deleted_ms: Option<i64>,
    /// When rotation last ran, for a secret with rotation enabled.
    pub rotated_ms: Option<i64>,
    /// The version `AWSPREVIOUS` labels (its id and value), once a value has been put over
    /// another.
    pub previous: Option<(String, String)>,
    /// The customer-managed KMS key it is encrypted with, when not the default one.
    pub kms_key_id: Option<String>,
}

/// A SecureString parameter in the simulated Parameter Store.
#[derive(Debug, Clone)]
pub struct SimParameter {
    pub name: String,
    pub arn: String,
    pub value: String,
    pub version: i64,
    pub changed_ms: i64,
}

/// The secrets and parameters of `scenario` as they stand at `now`.
pub fn seed(scenario: &Scenario, now: i64) -> (Vec<SimSecret>, Vec<SimParameter>) {
    let hours = |h: f64| (h * 3_600_000.0) as i64;
    let secrets = scenario
        .secrets
        .iter()
        .enumerate()
        .map(|(i, (arn, value))| {
            let state = scenario.secret_state.get(arn);
            let changed_ms = now - hours(state.and_then(|s| s.changed_hours_ago).unwrap_or(2160.0));
            let name = arn
                .split_once(":secret:")
                .map_or(arn.as_str(), |(_, n)| n)
                .to_owned();
            // The suffix Secrets Manager adds is `-` and 6 characters.
            let name = match name.rsplit_once('-') {
                Some((base, suffix)) if suffix.len() == 6 => base.to_owned(),
                _ => name,
            };
            SimSecret {
                arn: arn.clone(),
                name,
                value: value.clone(),
                version_id: format!("5e1d0c2a-7b3f-4e8a-9c6d-{:012x}", 0x00ab_cdef_0000 + i),
                created_ms: now - hours(24.0 * 400.0),
                changed_ms,
                deleted_ms: state
                    .and_then(|s| s.deleted_minutes_ago)
                    .map(|m| now - (m * 60_000.0) as i64),
                rotated_ms: state
                    .and_then(|s| s.rotated_hours_ago)
                    .map(|h| now - hours(h)),
                previous: None,
                kms_key_id: state.and_then(|s| s.kms_key_id.clone()),
            }
        })
        .collect();
    let d = &scenario.deployment;
    let parameters = scenario
        .parameters
        .iter()
        .map(|(name, value)| SimParameter {
            arn: format!(
                "arn:aws:ssm:{}:{}:parameter{}{name}",
                d.region,
                d.account_id,
                if name.starts_with('/') { "" } else { "/" }
            ),
            name: name.clone(),
            value: value.clone(),
            version: 3,
            changed_ms: now - hours(24.0 * 30.0),
        })
        .collect();
    (secrets, parameters)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretIdInput {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutInput {
    secret_id: String,
    secret_string: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteInput {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutParameterInput {
    name: String,
    value: String,
    #[serde(default)]
    overwrite: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ParametersInput {
    #[serde(default)]
    names: Vec<String>,
    name: Option<String>,
    #[serde(default)]
    with_decryption: bool,
}

fn not_found() -> AwsError {
    AwsError::client(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )
}

/// Secrets Manager's answer when KMS will not decrypt for the caller.
fn kms_not_allowed() -> AwsError {
    AwsError::client("AccessDeniedException", "Access to KMS is not allowed")
}

fn marked_for_deletion() -> AwsError {
    AwsError::client(
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

impl World {
    /// The secret a `SecretId` names: full ARN, partial ARN (no suffix) or name.
    fn secret(&self, id: &str) -> Option<&SimSecret> {
        self.secrets.iter().find(|s| {
            s.arn == id
                || s.name == id
                || s.arn
                    .rsplit_once('-')
                    .is_some_and(|(partial, _)| partial == id)
        })
    }

    /// Whether `principal` may decrypt with the secret's key: a customer-managed key's policy
    /// must name it; the default key lets every principal of the account.
    fn kms_allows(&self, secret: &SimSecret, principal: &str) -> bool {
        secret.kms_key_id.as_ref().is_none_or(|key| {
            self.scenario
                .kms_keys
                .get(key)
                .is_none_or(|k| k.decrypt_principals.iter().any(|p| p == principal))
        })
    }

    /// The principal the simulated AWS answers as for an operator's access key.
    fn operator_principal(&self) -> String {
        format!(
            "arn:aws:iam::{}:user/on-call",
            self.scenario.deployment.account_id
        )
    }

    fn secret_index(&self, id: &str) -> Option<usize> {
        let found = self.secret(id)?;
        let arn = found.arn.clone();
        self.secrets.iter().position(|s| s.arn == arn)
    }

    /// The parameter a name or ARN names.
    fn parameter(&self, id: &str) -> Option<&SimParameter> {
        self.parameters.iter().find(|p| p.name == id || p.arn == id)
    }

    /// One `secretsmanager.*` operation.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    pub fn secrets_handle(&mut self, op: &str, body: &[u8], now: i64) -> Result<Value, AwsError> {
        self.advance_to(now);
        match op {
            "DescribeSecret" => {
                let input: SecretIdInput = parse_body(body)?;
                let s = self.secret(&input.secret_id).ok_or_else(not_found)?;
                let mut out = json!({
                    "ARN": s.arn,
                    "Name": s.name,
                    "CreatedDate": epoch(s.created_ms),
                    "LastChangedDate": epoch(s.changed_ms),
                    "VersionIdsToStages": { s.version_id.clone(): ["AWSCURRENT"] },
                    "RotationEnabled": s.rotated_ms.is_some(),
                });
                if let Some((previous, _)) = &s.previous {
                    out["VersionIdsToStages"][previous] = json!(["AWSPREVIOUS"]);
                }
                if let Some(rotated) = s.rotated_ms {
                    out["LastRotatedDate"] = epoch(rotated);
                }
                if let Some(key) = &s.kms_key_id {
                    out["KmsKeyId"] = json!(key);
                }
                if let Some(deleted) = s.deleted_ms {
                    out["DeletedDate"] = epoch(deleted);
                }
                Ok(out)
            }
            "GetSecretValue" => {
                let input: SecretIdInput = parse_body(body)?;
                let s = self.secret(&input.secret_id).ok_or_else(not_found)?;
                if s.deleted_ms.is_some_and(|d| d <= now) {
                    return Err(marked_for_deletion());
                }
                if !self.kms_allows(s, &self.operator_principal()) {
                    return Err(kms_not_allowed());
                }
                // A version by id or by staging label: the current one, or AWSPREVIOUS.
                let current = (s.version_id.as_str(), s.value.as_str(), "AWSCURRENT");
                let previous = s
                    .previous
                    .as_ref()
                    .map(|(id, value)| (id.as_str(), value.as_str(), "AWSPREVIOUS"));
                let chosen =
                    [Some(current), previous]
                        .into_iter()
                        .flatten()
                        .find(|(id, _, stage)| {
                            input.version_id.as_deref().is_none_or(|v| v == *id)
                                && input.version_stage.as_deref().unwrap_or(
                                    if input.version_id.is_some() {
                                        stage
                                    } else {
                                        "AWSCURRENT"
                                    },
                                ) == *stage
                        });
                let Some((id, value, stage)) = chosen else {
                    return Err(AwsError::client(
                        "ResourceNotFoundException",
                        "Secrets Manager can't find the specified secret value for staging label or version.",
                    ));
                };
                Ok(json!({
                    "ARN": s.arn,
                    "Name": s.name,
                    "VersionId": id,
                    "SecretString": value,
                    "VersionStages": [stage],
                    "CreatedDate": epoch(s.changed_ms),
                }))
            }
            "DeleteSecret" => {
                let input: DeleteInput = parse_body(body)?;
                let i = self.secret_index(&input.secret_id).ok_or_else(not_found)?;
                let force = input.force_delete_without_recovery.unwrap_or(false);
                if force && input.recovery_window_in_days.is_some() {
                    return Err(AwsError::invalid_parameter(
                        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
                    ));
                }
                let days = input.recovery_window_in_days.unwrap_or(30);
                if !(7..=30).contains(&days) {
                    return Err(AwsError::invalid_parameter(
                        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
                    ));
                }
                if self.secrets[i].deleted_ms.is_some() && !force {
                    return Err(marked_for_deletion());
                }
                let (arn, name) = (self.secrets[i].arn.clone(), self.secrets[i].name.clone());
                let deletion = if force {
                    self.secrets.remove(i);
                    now
                } else {
                    self.secrets[i].deleted_ms = Some(now);
                    now + days * 86_400_000
                };
                Ok(json!({ "ARN": arn, "Name": name, "DeletionDate": epoch(deletion) }))
            }
            "UpdateSecret" => {
                let input: PutInput = parse_body(body)?;
                let i = self.secret_index(&input.secret_id).ok_or_else(not_found)?;
                if self.secrets[i].deleted_ms.is_some() {
                    return Err(marked_for_deletion());
                }
                let version = input.secret_string.as_ref().map(|_| self.uuid());
                let s = &mut self.secrets[i];
                let mut out = json!({ "ARN": s.arn, "Name": s.name });
                if let (Some(value), Some(version)) = (input.secret_string, version) {
                    s.value = value;
                    s.version_id.clone_from(&version);
                    s.changed_ms = now;
                    out["VersionId"] = json!(version);
                }
                Ok(out)
            }
            "RestoreSecret" => {
                let input: SecretIdInput = parse_body(body)?;
                let i = self.secret_index(&input.secret_id).ok_or_else(not_found)?;
                let s = &mut self.secrets[i];
                if s.deleted_ms.take().is_some() {
                    s.changed_ms = now;
                }
                Ok(json!({ "ARN": s.arn, "Name": s.name }))
            }
            "PutSecretValue" => {
                let input: PutInput = parse_body(body)?;
                let i = self.secret_index(&input.secret_id).ok_or_else(not_found)?;
                let Some(value) = input.secret_string else {
                    return Err(AwsError::invalid_parameter(
                        "You must provide either SecretString or SecretBinary.",
                    ));
                };
                let version = self.uuid();
                let s = &mut self.secrets[i];
                if s.deleted_ms.is_some_and(|d| d <= now) {
                    return Err(marked_for_deletion());
                }
                let old_id = std::mem::replace(&mut s.version_id, version);
                let old_value = std::mem::replace(&mut s.value, value);
                s.previous = Some((old_id, old_value));
                s.changed_ms = now;
                Ok(json!({
                    "ARN": s.arn,
                    "Name": s.name,
                    "VersionId": s.version_id,
                    "VersionStages": ["AWSCURRENT"],
                }))
            }
            "ListSecrets" => Ok(json!({
                "SecretList": self.secrets.iter().map(|s| {
                    let mut out = json!({
                        "ARN": s.arn,
                        "Name": s.name,
                        "CreatedDate": epoch(s.created_ms),
                        "LastChangedDate": epoch(s.changed_ms),
                    });
                    if let Some(deleted) = s.deleted_ms {
                        out["DeletedDate"] = epoch(deleted);
                    }
                    out
                }).collect::<Vec<_>>()
            })),
            _ => Err(AwsError::client(
                "UnknownOperationException",
                format!("secretsmanager.{op} is not simulated"),
            )),
        }
    }

    /// One `AmazonSSM.*` operation.
    pub fn ssm_handle(&mut self, op: &str, body: &[u8], now: i64) -> Result<Value, AwsError> {
        self.advance_to(now);
        let input: ParametersInput = parse_body(body)?;
        let shown = |p: &SimParameter, decrypt: bool| {
            json!({
                "Name": p.name,
                "Type": "SecureString",
                "Value": if decrypt { p.value.clone() } else { format!("kms:alias/aws/ssm:{}", "*".repeat(8)) },
                "Version": p.version,
                "LastModifiedDate": epoch(p.changed_ms),
                "ARN": p.arn,
                "DataType": "text",
            })
        };
        match op {
            "GetParameters" => {
                let mut found = Vec::new();
                let mut invalid = Vec::new();
                for name in &input.names {
                    match self.parameter(name) {
                        Some(p) => found.push(shown(p, input.with_decryption)),
                        None => invalid.push(name.clone()),
                    }
                }
                Ok(json!({ "Parameters": found, "InvalidParameters": invalid }))
            }
            "GetParameter" => {
                let name = input.name.unwrap_or_default();
                let p = self.parameter(&name).ok_or_else(|| {
                    AwsError::client("ParameterNotFound", format!("Parameter {name} not found."))
                })?;
                Ok(json!({ "Parameter": shown(p, input.with_decryption) }))
            }
            "PutParameter" => {
                let input: PutParameterInput = parse_body(body)?;
                let setup = &self.scenario.deployment;
                let arn = format!(
                    "arn:aws:ssm:{}:{}:parameter/{}",
                    setup.region,
                    setup.account_id,
                    input.name.trim_start_matches('/')
                );
                let version = match self.parameters.iter_mut().find(|p| p.name == input.name) {
                    Some(_) if !input.overwrite => {
                        return Err(AwsError::client(
                            "ParameterAlreadyExists",
                            "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
                        ))
                    }
                    Some(p) => {
                        p.value = input.value;
                        p.version += 1;
                        p.changed_ms = now;
                        p.version
                    }
                    None => {
                        self.parameters.push(SimParameter {
                            name: input.name,
                            arn,
                            value: input.value,
                            version: 1,
                            changed_ms: now,
                        });
                        1
                    }
                };
                Ok(json!({ "Version": version, "Tier": "Standard" }))
            }
            "DeleteParameter" => {
                let name = input.name.unwrap_or_default();
                let before = self.parameters.len();
                self.parameters.retain(|p| p.name != name);
                if self.parameters.len() == before {
                    return Err(AwsError::client(
                        "ParameterNotFound",
                        format!("Parameter {name} not found."),
                    ));
                }
                Ok(json!({}))
            }
            _ => Err(AwsError::client(
                "UnknownOperationException",
                format!("AmazonSSM.{op} is not simulated"),
            )),
        }
    }

    /// What ECS's agent gets for one `secrets` entry when it starts a task at `now` as the
    /// execution role `role`, or the task's stop reason.
    pub fn resolve_secret(
        &self,
        value_from: &str,
        role: Option<&str>,
        now: i64,
    ) -> Result<String, String> {
        const FAILED: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed";
        let parts: Vec<&str> = value_from.split(':').collect();
        if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "secretsmanager" {
            let id = parts[..7].join(":");
            let json_key = parts.get(7).filter(|k| !k.is_empty());
            let Some(s) = self.secret(&id) else {
                return Err(format!("{FAILED}: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {id} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret."));
            };
            if let Some(denied) =
                self.execution_role_denies(role, "secretsmanager:GetSecretValue", &s.arn)
            {
                return Err(format!("{FAILED}: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {id} from secrets manager: {denied}"));
            }
            if s.deleted_ms.is_some_and(|d| d <= now) {
                return Err(format!("{FAILED}: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {id} from secrets manager: InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion."));
            }
            if let Some(key) = &s.kms_key_id {
                let denied = self.execution_role_denies(role, "kms:Decrypt", key);
                if denied.is_some() || role.is_some_and(|r| !self.kms_allows(s, r)) {
                    return Err(format!("{FAILED}: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {id} from secrets manager: AccessDeniedException: Access to KMS is not allowed"));
                }
            }
            let Some(key) = json_key else {
                return Ok(s.value.clone());
            };
            return match serde_json::from_str::<Value>(&s.value)
                .ok()
                .and_then(|v| v.get(*key).cloned())
            {
                Some(Value::String(v)) => Ok(v),
                Some(other) => Ok(other.to_string()),
                None => Err(format!("{FAILED}: unable to retrieve secrets from asm: retrieved secret from Secrets Manager did not contain json key {key}")),
            };
        }
        let name = value_from;
        let found = self.parameter(name).or_else(|| {
            // An ARN's `parameter/x` is the name `x`; `parameter/a/b` is `/a/b`.
            let rest = name.split_once(":parameter")?.1;
            let bare = rest.strip_prefix('/')?;
            self.parameter(bare).or_else(|| self.parameter(rest))
        });
        let found = found.ok_or_else(|| {
            format!("{FAILED}: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: {name}")
        })?;
        if let Some(denied) = self.execution_role_denies(role, "ssm:GetParameters", &found.arn) {
            return Err(format!("{FAILED}: unable to retrieve secrets from ssm: service call has been retried 1 time(s): {denied}"));
        }
        Ok(found.value.clone())
    }
}
