//! Scenarios as data. `assets/scenarios/base.toml` is the runbook's deployment as it was
//! yesterday; each other file there is merged over it (tables merge, other values replace) and
//! says, under `[today]`, what changed since. The files are embedded at build time, and a path
//! to a file of the same shape works too, so a new scenario needs no code. Everything is fixed
//! in the files (SIDs, tokens, history, the code generator's seed): every run is the same.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

use super::ec2::NetworkSetup;
use super::statuspage::StatusPageSetup;
use super::twilio::TwilioSetup;

/// Every scenario file, by name (`base` included), embedded by `src/build.rs`.
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

/// The scenario the console opens with when no configuration is found: the runbook's own.
pub const DEFAULT_DEMO: &str = "event-loop-blocking";

/// A scenario that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario {name:?}; known scenarios: {known} (or a path to a .toml file)")]
    Unknown { name: String, known: String },
    #[error("scenario {name}: {message}")]
    Invalid { name: String, message: String },
}

/// One simulated world: the deployment, Twilio, the network and the revision history.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub name: String,
    pub description: String,
    pub deployment: DeploymentSetup,
    pub twilio: TwilioSetup,
    #[serde(default)]
    pub statuspage: StatusPageSetup,
    pub network: NetworkSetup,
    pub aws: AwsSetup,
    /// Secrets Manager: full ARN → `SecretString`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// When a secret last changed and whether it is scheduled for deletion, by ARN.
    #[serde(default)]
    pub secret_state: BTreeMap<String, SecretStateSetup>,
    /// SSM Parameter Store: SecureString parameters, name → value.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// S3: `bucket/key` → the object's text (the env files `environmentFiles` point at).
    #[serde(default)]
    pub s3_objects: BTreeMap<String, String>,
    /// The service runs on App Runner: its id, egress, VPC connector, whether it is paused.
    #[serde(default)]
    pub apprunner: Option<super::apprunner::AppRunnerSetup>,
    /// The account's other ECS services (`otp-console init` lists them and passes them over).
    #[serde(default)]
    pub neighbours: Vec<super::neighbours::NeighbourSetup>,
    /// IAM: the roles the deployment uses and their inline policies.
    #[serde(default)]
    pub iam: super::iam::IamSetup,
    /// KMS: customer-managed keys by ARN, and who their key policies let decrypt.
    #[serde(default)]
    pub kms_keys: BTreeMap<String, KmsKeySetup>,
    pub images: BTreeMap<String, ImageBehaviour>,
    pub yesterday: RevisionSetup,
    pub today: RevisionChange,
    /// What else changed before the incident, as CloudTrail and Twilio's Monitor record it.
    #[serde(default)]
    pub history: History,
    /// The background users' rate and the load balancer's health checks.
    #[serde(default)]
    pub traffic: super::traffic::TrafficSetup,
    /// What the console must conclude about this world: the tests and benches read it here
    /// instead of keeping lists of their own.
    #[serde(default)]
    pub expect: Expectation,
}

/// A scenario's expected diagnosis, by the failure modes' JSON identifiers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The verdict of `check` with a test phone.
    #[serde(default)]
    pub failure_mode: String,
    /// The verdict without a test phone, from real traffic alone, where it differs.
    #[serde(default)]
    pub without_test_phone: Option<String>,
    /// The risks listed beside the verdict.
    #[serde(default)]
    pub risks: Vec<String>,
}

/// A scenario's story beyond the two revisions: who changed what, and when.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// CloudTrail management events.
    #[serde(default)]
    pub aws: Vec<AwsChangeSetup>,
    /// Twilio Monitor events (account and credential changes).
    #[serde(default)]
    pub twilio: Vec<TwilioEventSetup>,
}

/// One CloudTrail event of the scenario's history.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsChangeSetup {
    /// Before the simulator's start.
    pub hours_ago: f64,
    pub event_source: String,
    pub event_name: String,
    /// The principal's ARN.
    pub principal: String,
    #[serde(default = "default_access_key")]
    pub access_key_id: String,
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    pub resource_type: String,
    pub resource_name: String,
    /// As CloudTrail logs them (secret values already hidden).
    #[serde(default)]
    pub request_parameters: Value,
}

/// One Twilio Monitor event of the scenario's history.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioEventSetup {
    pub hours_ago: f64,
    /// e.g. `account.auth-token.rotated`.
    pub event_type: String,
    pub description: String,
    /// `user` (the Twilio Console) or `account` (an API request).
    pub actor_type: String,
    pub resource_type: String,
    /// The resource's SID; the account's when empty.
    #[serde(default)]
    pub resource_sid: String,
}

fn default_access_key() -> String {
    "ASIASIMULATEDDEPLOY1".into()
}

/// The user agent of the scenarios' deploys (a CI job running the aws CLI).
pub fn default_user_agent() -> String {
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 exec-env/GitHubActions".into()
}

/// The ECS side of the deployment: names, counts and when the two revisions went out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSetup {
    pub region: String,
    pub account_id: String,
    pub cluster: String,
    pub service: String,
    pub container: String,
    pub log_group: String,
    /// The log group's region when it is not `region` (the container's `awslogs-region`
    /// says so too): CloudWatch Logs calls signed for another region find no group.
    #[serde(default)]
    pub log_region: Option<String>,
    pub desired_count: u32,
    pub first_revision: u32,
    pub yesterday_deployed_hours_ago: f64,
    pub today_deployed_minutes_ago: f64,
    /// The service's `deploymentConfiguration`, in the ECS API's own names.
    pub configuration: Value,
    /// The load balancer's idle timeout (`idle_timeout.timeout_seconds`), nominal seconds: a
    /// request the target has not answered by then gets the load balancer's own 504.
    #[serde(default = "default_idle_timeout")]
    pub lb_idle_timeout_secs: f64,
}

/// AWS's default idle timeout for an application load balancer.
fn default_idle_timeout() -> f64 {
    60.0
}

/// A secret's history relative to the simulator's start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretStateSetup {
    /// Its value was last put this long ago (default 90 days).
    pub changed_hours_ago: Option<f64>,
    /// DeleteSecret with a recovery window was called this long ago.
    pub deleted_minutes_ago: Option<f64>,
    /// Secrets Manager's rotation last ran this long ago (rotation enabled).
    pub rotated_hours_ago: Option<f64>,
    /// The customer-managed KMS key it is encrypted with (default: the account's
    /// `aws/secretsmanager` key, which every principal of the account may use).
    pub kms_key_id: Option<String>,
}

/// A customer-managed KMS key: the principals its key policy lets decrypt (IAM still has to
/// allow `kms:Decrypt` too).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsKeySetup {
    #[serde(default)]
    pub decrypt_principals: Vec<String>,
}

/// AWS-side facts: which access key ids get which credential error, and the account's
/// request-rate quotas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSetup {
    #[serde(default)]
    pub access_keys: BTreeMap<String, String>,
    /// Calls a second the account may make to an operation (its `X-Amz-Target`, such as
    /// `Logs_20140328.FilterLogEvents`), every caller counted together, as AWS's per-account,
    /// per-Region TPS quotas are; past it the call answers `ThrottlingException` until the
    /// last second's calls age out. None by default: only the scenarios that set one.
    #[serde(default)]
    pub rate_limits: BTreeMap<String, u32>,
}

/// What an image does with the Twilio call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageBehaviour {
    pub twilio_call: TwilioCall,
    /// How long the blocked event loop waits before the SDK's socket timeout frees it.
    #[serde(default)]
    pub event_loop_stall_seconds: f64,
}

/// Where the backend runs the Twilio SDK call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TwilioCall {
    /// In an executor thread with `TWILIO_TIMEOUT_SECONDS` (the runbook's fix).
    Executor,
    /// On the server's one event loop (the runbook's root cause).
    EventLoop,
}

/// Yesterday's working revision, in full.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionSetup {
    pub image: String,
    pub registered_by: String,
    pub environment: BTreeMap<String, String>,
    /// Names of the base world's `environment` this scenario does not have (a scenario that
    /// moves a variable to `secrets`).
    #[serde(default)]
    pub unset: Vec<String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// The service's container's `environmentFiles`: S3 object ARNs, in order.
    #[serde(default)]
    pub environment_files: Vec<String>,
    pub task_definition: Value,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Today's revision as a change to yesterday's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionChange {
    pub image: Option<String>,
    pub registered_by: Option<String>,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub unset: Vec<String>,
    #[serde(default)]
    pub set_secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub unset_secrets: Vec<String>,
    /// Today's `environmentFiles` instead of yesterday's.
    pub environment_files: Option<Vec<String>>,
}

/// Names and one-line descriptions of every built-in scenario, in name order.
pub fn list() -> Vec<(&'static str, String)> {
    EMBEDDED
        .iter()
        .filter(|(name, _)| *name != "base")
        .map(|(name, _)| {
            let description = load(name).map_or_else(|e| e.to_string(), |s| s.description);
            (*name, description)
        })
        .collect()
}

/// Loads a built-in scenario by name, or a scenario file by path, merged over the base world.
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    let (name, text) = if let Some((name, text)) = EMBEDDED
        .iter()
        .find(|(name, _)| *name == name_or_path && *name != "base")
    {
        ((*name).to_owned(), (*text).to_owned())
    } else if Path::new(name_or_path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        || Path::new(name_or_path).is_file()
    {
        let text = std::fs::read_to_string(name_or_path).map_err(|e| ScenarioError::Invalid {
            name: name_or_path.to_owned(),
            message: format!("cannot read it: {e}"),
        })?;
        (name_or_path.to_owned(), text)
    } else {
        return Err(ScenarioError::Unknown {
            name: name_or_path.to_owned(),
            known: EMBEDDED
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| *n != "base")
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let invalid = |message: String| ScenarioError::Invalid {
        name: name.clone(),
        message,
    };
    let base_text = EMBEDDED
        .iter()
        .find(|(n, _)| *n == "base")
        .map_or("", |(_, t)| t);
    let mut merged: toml::Table = toml::from_str(base_text).map_err(|e| invalid(e.to_string()))?;
    let patch: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    merge(&mut merged, patch);
    let mut scenario: Scenario = toml::Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
    Path::new(&name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(&name)
        .clone_into(&mut scenario.name);
    scenario.validate().map_err(invalid)?;
    Ok(scenario)
}

/// Deep-merges `patch` into `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, patch: toml::Table) {
    for (key, value) in patch {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(p)) => merge(b, p),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

impl Scenario {
    fn validate(&self) -> Result<(), String> {
        for image in [Some(&self.yesterday.image), self.today.image.as_ref()]
            .into_iter()
            .flatten()
        {
            if !self.images.contains_key(image) {
                return Err(format!("image {image} has no entry under [images]"));
            }
        }
        if self
            .yesterday
            .task_definition
            .get("containerDefinitions")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            return Err("yesterday.task_definition needs containerDefinitions".into());
        }
        Ok(())
    }

    /// The task definition's `networkMode` (`awsvpc`, or `bridge` / `host` on container
    /// instances; ECS's default `bridge` when it names none).
    pub fn network_mode(&self) -> &str {
        self.yesterday
            .task_definition
            .get("networkMode")
            .and_then(Value::as_str)
            .unwrap_or("bridge")
    }

    /// Yesterday's container `environment`, `[yesterday] unset` applied.
    pub fn yesterday_environment(&self) -> BTreeMap<String, String> {
        let mut environment = self.yesterday.environment.clone();
        for name in &self.yesterday.unset {
            environment.remove(name);
        }
        environment
    }

    /// The `RegisterTaskDefinition` input of yesterday's revision.
    pub fn yesterday_registration(&self) -> Value {
        registration(
            &self.yesterday.task_definition,
            &self.deployment.container,
            &self.yesterday.image,
            &self.yesterday_environment(),
            &self.yesterday.secrets,
            &self.yesterday.environment_files,
            &self.yesterday.tags,
        )
    }

    /// The `RegisterTaskDefinition` input of today's revision: yesterday's with `[today]` applied.
    pub fn today_registration(&self) -> Value {
        let mut environment = self.yesterday_environment();
        environment.extend(self.today.set.clone());
        for name in &self.today.unset {
            environment.remove(name);
        }
        let mut secrets = self.yesterday.secrets.clone();
        secrets.extend(self.today.set_secrets.clone());
        for name in &self.today.unset_secrets {
            secrets.remove(name);
        }
        registration(
            &self.yesterday.task_definition,
            &self.deployment.container,
            self.today.image.as_ref().unwrap_or(&self.yesterday.image),
            &environment,
            &secrets,
            self.today
                .environment_files
                .as_ref()
                .unwrap_or(&self.yesterday.environment_files),
            &self.yesterday.tags,
        )
    }
}

/// Builds a `RegisterTaskDefinition` request: the other fields as given, the service's own
/// container's (`container`, else the first) image, environment, secrets and env files from the shorthand
/// maps, tags as ECS's key/value list.
fn registration(
    task_definition: &Value,
    container: &str,
    image: &str,
    environment: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    environment_files: &[String],
    tags: &BTreeMap<String, String>,
) -> Value {
    let mut td = task_definition.clone();
    let containers = td
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut);
    let own = containers.and_then(|c| {
        let at = c
            .iter()
            .position(|d| d.get("name").and_then(Value::as_str) == Some(container))
            .unwrap_or(0);
        c.get_mut(at)
    });
    if let Some(first) = own.and_then(Value::as_object_mut) {
        first.insert("image".into(), json!(image));
        first.insert(
            "environment".into(),
            environment
                .iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect(),
        );
        first.insert(
            "secrets".into(),
            secrets
                .iter()
                .map(|(name, from)| json!({ "name": name, "valueFrom": from }))
                .collect(),
        );
        if !environment_files.is_empty() {
            first.insert(
                "environmentFiles".into(),
                environment_files
                    .iter()
                    .map(|arn| json!({ "value": arn, "type": "s3" }))
                    .collect(),
            );
        }
    }
    if let Some(obj) = td.as_object_mut() {
        obj.insert(
            "tags".into(),
            tags.iter()
                .map(|(key, value)| json!({ "key": key, "value": value }))
                .collect(),
        );
    }
    td
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(registration: &Value) -> BTreeMap<String, String> {
        registration["containerDefinitions"][0]["environment"]
            .as_array()
            .expect("environment list")
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().expect("name").to_owned(),
                    e["value"].as_str().expect("value").to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn every_builtin_scenario_loads() {
        let all = list();
        assert!(all.len() >= 9, "{all:?}");
        for (name, description) in all {
            let scenario = load(name).expect(name);
            assert_eq!(scenario.name, name);
            assert!(!description.is_empty());
            assert!(!description.starts_with("scenario"), "{description}");
        }
    }

    #[test]
    fn sids_have_twilio_formats() {
        let hex32 = |s: &str| s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit());
        for (name, _) in list() {
            let s = load(name).expect(name);
            assert!(s.twilio.account_sid.starts_with("AC") && hex32(&s.twilio.account_sid[2..]));
            assert!(hex32(&s.twilio.auth_token), "{name}");
            for service in &s.twilio.services {
                assert!(
                    service.sid.starts_with("VA") && hex32(&service.sid[2..]),
                    "{name}"
                );
            }
            for number in &s.twilio.phone_numbers {
                assert!(
                    number.sid.starts_with("PN") && hex32(&number.sid[2..]),
                    "{name}"
                );
                assert!(number.phone_number.starts_with("+1"), "{name}");
            }
            for service in &s.twilio.messaging_services {
                assert!(
                    service.sid.starts_with("MG") && hex32(&service.sid[2..]),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn today_applies_the_change() {
        let s = load("missing-env-vars").expect("loads");
        let yesterday = env_of(&s.yesterday_registration());
        let today = env_of(&s.today_registration());
        assert!(yesterday.contains_key("TWILIO_VERIFY_SERVICE_SID"));
        assert!(!today.contains_key("TWILIO_VERIFY_SERVICE_SID"));
        assert_eq!(today["LOG_LEVEL"], "WARNING");
        let s = load("event-loop-blocking").expect("loads");
        assert!(s.today_registration()["containerDefinitions"][0]["image"]
            .as_str()
            .is_some_and(|i| i.ends_with(":2026.01.23")));
    }

    #[test]
    fn unknown_scenario_names_the_known_ones() {
        let err = load("nope").expect_err("unknown");
        let text = err.to_string();
        assert!(text.contains("unknown scenario \"nope\""), "{text}");
        assert!(text.contains("event-loop-blocking"), "{text}");
    }

    #[test]
    fn scenario_file_by_path_merges_over_base() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("custom.toml");
        std::fs::write(
            &path,
            "description = \"custom\"\n[twilio]\nstatus = \"closed\"\n",
        )
        .expect("write");
        let s = load(path.to_str().expect("utf-8")).expect("loads");
        assert_eq!(s.name, "custom");
        assert_eq!(s.deployment.cluster, "nerava-cluster");
        std::fs::write(&path, "description = \"bad\"\n[twilio]\nstatuz = 1\n").expect("write");
        let err = load(path.to_str().expect("utf-8")).expect_err("bad key");
        assert!(err.to_string().contains("statuz"), "{err}");
    }
}
