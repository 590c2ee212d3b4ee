//! The ECS probe (aws-sdk-ecs, aws-config's normal credential chain, `endpoint_url`
//! honoured): the service (deployments, rollout state, counts, recent events), the deployed
//! task definition with tags, its container `environment` and `secrets` checked against the
//! env-var rules, the previous revision and the difference between the two, running and
//! recently stopped tasks with their stop reasons. Values are masked here, before they leave.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

use aws_config::SdkConfig;
use aws_sdk_ecs::types::{self as ecs, DesiredStatus, SortOrder, TaskDefinitionField};
use aws_sdk_ecs::Client;

use super::service_read::ServiceRead;
use serde::{Deserialize, Serialize};

use super::aws::call;
use super::env_files::{EnvFile, EnvFilesProbe, FileState};
pub use super::secrets::SecretValues;
use super::secrets::{Resolved, SecretsProbe};
use super::twilio::CredentialsSeen;
use super::{CredentialSource, ErrorKind, ProbeError, System, TwilioCredentials};
use crate::config::{AwsConfig, EnvRules, EnvView, VarCheck};
use crate::redact;

/// Everything one ECS read saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub service: Service,
    pub deployed: TaskDefinition,
    pub previous: Option<TaskDefinition>,
    /// What changed from `previous` to `deployed`.
    pub diff: Vec<Change>,
    /// The env-var rules evaluated on the deployed revision (resolved `secrets` values
    /// checked like plain ones), in rule order.
    pub checks: Vec<VarCheck>,
    pub tasks: Vec<Task>,
    /// The deployed container's `secrets`, resolved: source, fingerprint, age, state.
    pub secrets: Vec<Resolved>,
    /// Their values, in memory only: never serialised, `Debug` shows names only. The report
    /// registers them as secrets to mask. The secret-named variables of the env files are here
    /// too.
    #[serde(skip)]
    pub secret_values: SecretValues,
    /// The deployed container's `environmentFiles`, read from S3 as ECS reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_files: Vec<EnvFile>,
}

impl Snapshot {
    /// Whether this is an App Runner service's read (its configuration is the service's).
    pub fn on_apprunner(&self) -> bool {
        self.deployed.arn.starts_with("arn:aws:apprunner:")
    }

    /// A plain variable as the container gets it, masked: its own `environment` first, then the
    /// env files in ECS's order ([`super::env_files`]). `secrets` are not here (no value).
    pub fn variable(&self, name: &str) -> Option<&EnvVar> {
        self.deployed
            .environment
            .iter()
            .find(|v| v.name == name)
            .or_else(|| {
                self.from_env_files()
                    .find(|(v, _)| v.name == name)
                    .map(|(v, _)| v)
            })
    }

    /// The variables the container gets from its env files (not those its `environment` or an
    /// earlier file sets first), each with its file.
    pub fn from_env_files(&self) -> impl Iterator<Item = (&EnvVar, &EnvFile)> {
        self.env_files.iter().flat_map(|f| {
            f.variables
                .iter()
                .filter(|v| !f.shadowed.contains(&v.name))
                .map(move |v| (v, f))
        })
    }
}

/// The service as DescribeServices showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    /// The PRIMARY deployment's task definition ARN.
    pub task_definition: String,
    /// The container the service's load balancer targets (`loadBalancers[].containerName`):
    /// the one ECS routes the API's requests to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_container: Option<String>,
    pub deployments: Vec<Deployment>,
    /// Newest first, at most 20.
    pub events: Vec<ServiceEvent>,
}

/// One deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    /// `PRIMARY` or `ACTIVE`.
    pub status: String,
    pub task_definition: String,
    pub revision: Option<i32>,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`, or empty when ECS gave none.
    pub rollout_state: String,
    pub rollout_reason: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
    pub created_ms: Option<i64>,
}

/// A service event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub at_ms: i64,
    pub message: String,
}

/// A task-definition revision, its first container's variables masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinition {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    pub image: String,
    pub registered_ms: Option<i64>,
    pub registered_by: Option<String>,
    /// The container whose variables are read: the service's own (see [`app_container_for`]).
    #[serde(default)]
    pub container: String,
    /// Its log group, from the container's `logConfiguration` (`awslogs` driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    /// The log group's region when the container names one (`awslogs-region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_region: Option<String>,
    /// The task definition's other containers (sidecars), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_containers: Vec<String>,
    /// The task execution role: what ECS pulls the `secrets` with (not the operator).
    #[serde(default)]
    pub execution_role: Option<String>,
    pub environment: Vec<EnvVar>,
    pub secrets: Vec<SecretRef>,
    /// Its `environmentFiles`, in order: the S3 object ARNs its other variables come from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<String>,
    pub tags: Vec<(String, String)>,
}

/// One `environment` entry, as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    /// Masked by [`crate::redact::env_value`].
    pub display: String,
    /// A hash of the real value, so a diff can say "changed" without showing it.
    pub fingerprint: u64,
}

/// One `secrets` entry: where the value comes from, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: String,
    pub value_from: String,
}

/// One difference between two revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Added {
        name: String,
        display: String,
    },
    Removed {
        name: String,
        display: String,
    },
    /// For a secret only the fact that it changed; `from`/`to` are masked displays.
    Changed {
        name: String,
        from: String,
        to: String,
    },
    SecretAdded {
        name: String,
        value_from: String,
    },
    SecretRemoved {
        name: String,
        value_from: String,
    },
    SecretChanged {
        name: String,
        from: String,
        to: String,
    },
    Image {
        from: String,
        to: String,
    },
    /// The container's `environmentFiles` (S3 object ARNs, in order) are not the same list.
    EnvFiles {
        from: Vec<String>,
        to: Vec<String>,
    },
}

impl Change {
    /// `s3://bucket/key` of an env file's ARN, or the ARN as it is; `(none)` for no files.
    pub fn env_files_short(arns: &[String]) -> String {
        if arns.is_empty() {
            return "(none)".into();
        }
        arns.iter()
            .map(|arn| {
                super::env_files::EnvFile::object(arn)
                    .map_or_else(|| arn.clone(), |(b, k)| format!("s3://{b}/{k}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A task of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub revision: Option<i32>,
    pub last_status: String,
    pub health: String,
    pub started_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub exit_code: Option<i32>,
}

/// Service events kept in a [`Snapshot`].
const MAX_EVENTS: usize = 20;
/// Twilio variables the console reads to talk to Twilio as the service does.
const ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
const AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";
const VERIFY_SERVICE_SID: &str = "TWILIO_VERIFY_SERVICE_SID";

/// Reads the configured service and its task definitions.
#[derive(Debug, Clone)]
pub struct EcsProbe {
    client: Client,
    cluster: String,
    service: String,
    rules: EnvRules,
    secrets: SecretsProbe,
    env_files: EnvFilesProbe,
    described: ServiceRead,
}

/// A revision as shown, and its container's variables as declared (values unmasked, kept
/// only long enough to check the rules and read the Twilio credentials).
pub(crate) struct Revision {
    pub(crate) shown: TaskDefinition,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) secrets: BTreeMap<String, String>,
    /// `environmentFiles` as (type, value).
    pub(crate) env_files: Vec<(String, String)>,
}

impl EcsProbe {
    /// A probe of `cfg.cluster` / `cfg.service` whose env vars are checked against `rules`.
    pub fn new(sdk: &SdkConfig, cfg: &AwsConfig, rules: &EnvRules) -> Self {
        Self {
            client: Client::new(sdk),
            cluster: cfg.cluster.clone(),
            service: cfg.service.clone(),
            rules: rules.clone(),
            secrets: SecretsProbe::new(sdk),
            env_files: EnvFilesProbe::new(sdk),
            described: ServiceRead::new(sdk, &cfg.cluster, &cfg.service),
        }
    }

    /// Reads the service through `described`, shared with the other probes of a round.
    #[must_use]
    pub fn sharing(mut self, described: ServiceRead) -> Self {
        self.described = described;
        self
    }

    /// One full read: service, deployed and previous revisions, their diff, the rules, tasks;
    /// and the Twilio credentials the deployed revision uses (when they are plain values).
    pub async fn snapshot(
        &self,
    ) -> Result<(Snapshot, Option<TwilioCredentials>, CredentialsSeen), ProbeError> {
        let service = self.service().await?;
        let target = service.target_container.as_deref();
        let deployed = self.revision(&service.task_definition, target).await?;
        let previous = match self.previous_arn(&deployed.shown).await? {
            Some(arn) => Some(self.revision(&arn, target).await?.shown),
            None => None,
        };
        let tasks = self.tasks().await?;
        let read = Box::pin(read_declared(
            &self.secrets,
            &self.env_files,
            &self.rules,
            &deployed,
        ))
        .await;
        let diff = previous
            .as_ref()
            .map(|p| diff(p, &deployed.shown))
            .unwrap_or_default();
        let snapshot = Snapshot {
            service,
            deployed: deployed.shown,
            previous,
            diff,
            checks: read.checks,
            tasks,
            secrets: read.secrets,
            secret_values: read.secret_values,
            env_files: read.env_files,
        };
        Ok((snapshot, read.credentials, read.seen))
    }

    /// DescribeServices: the service, its deployments and recent events.
    pub async fn service(&self) -> Result<Service, ProbeError> {
        let out = self.described.describe().await?;
        let Some(s) = out.services().first() else {
            let reason = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("MISSING");
            return Err(ProbeError {
                system: System::Ecs,
                kind: ErrorKind::NotFound,
                code: Some(reason.to_owned()),
                message: redact::sanitize(&format!(
                    "ECS: service {} not in cluster {} ({reason}) — fix aws.service in the config",
                    self.service, self.cluster
                )),
            });
        };
        let deployments: Vec<Deployment> = s
            .deployments()
            .iter()
            .map(|d| Deployment {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                revision: d.task_definition().and_then(revision_of),
                rollout_state: d
                    .rollout_state()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                rollout_reason: redact::sanitize(d.rollout_state_reason().unwrap_or_default()),
                desired: d.desired_count(),
                running: d.running_count(),
                pending: d.pending_count(),
                failed: d.failed_tasks(),
                created_ms: d.created_at().and_then(millis),
            })
            .collect();
        let primary = deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
            .map(|d| d.task_definition.clone())
            .filter(|arn| !arn.is_empty())
            .or_else(|| s.task_definition().map(str::to_owned))
            .ok_or_else(|| ProbeError {
                system: System::Ecs,
                kind: ErrorKind::BadResponse,
                code: None,
                message: format!(
                    "ECS: service {} has no PRIMARY deployment with a task definition",
                    self.service
                ),
            })?;
        Ok(Service {
            name: s.service_name().unwrap_or(&self.service).to_owned(),
            status: s.status().unwrap_or_default().to_owned(),
            desired: s.desired_count(),
            running: s.running_count(),
            pending: s.pending_count(),
            task_definition: primary,
            target_container: s
                .load_balancers()
                .iter()
                .find_map(|lb| lb.container_name())
                .map(redact::sanitize),
            deployments,
            events: s
                .events()
                .iter()
                .take(MAX_EVENTS)
                .map(|e| ServiceEvent {
                    at_ms: e.created_at().and_then(millis).unwrap_or_default(),
                    message: redact::sanitize(e.message().unwrap_or_default()),
                })
                .collect(),
        })
    }

    async fn revision(&self, arn: &str, target: Option<&str>) -> Result<Revision, ProbeError> {
        let out = call(
            System::Ecs,
            "DescribeTaskDefinition",
            self.client
                .describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send(),
        )
        .await?;
        let td = out.task_definition().ok_or_else(|| ProbeError {
            system: System::Ecs,
            kind: ErrorKind::BadResponse,
            code: None,
            message: redact::sanitize(&format!(
                "ECS DescribeTaskDefinition: no task definition in the answer for {arn}"
            )),
        })?;
        Ok(read_revision(td, out.tags(), &self.service, target, arn))
    }

    /// The log group the deployed app container writes to and its region (its
    /// `logConfiguration`), if it says.
    pub async fn log_group(&self) -> Result<Option<(String, Option<String>)>, ProbeError> {
        let service = self.service().await?;
        let deployed = self
            .revision(
                &service.task_definition,
                service.target_container.as_deref(),
            )
            .await?;
        let shown = deployed.shown;
        Ok(shown.log_group.map(|group| (group, shown.log_region)))
    }

    /// A revision (`family:N` or an ARN) as the env pane shows it, to compare with.
    pub async fn shown_revision(&self, reference: &str) -> Result<TaskDefinition, ProbeError> {
        Ok(self.revision(reference, None).await?.shown)
    }

    /// The highest ACTIVE revision of the same family below the deployed one.
    pub async fn previous_arn(
        &self,
        deployed: &TaskDefinition,
    ) -> Result<Option<String>, ProbeError> {
        let mut token = None;
        let mut best: Option<(i32, String)> = None;
        let mut tokens_seen = HashSet::new();
        loop {
            let out = call(
                System::Ecs,
                "ListTaskDefinitions",
                self.client
                    .list_task_definitions()
                    .family_prefix(&deployed.family)
                    .status(ecs::TaskDefinitionStatus::Active)
                    .sort(SortOrder::Desc)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            for arn in out.task_definition_arns() {
                let Some((family, revision)) = family_revision(arn) else {
                    continue;
                };
                if family == deployed.family
                    && revision < deployed.revision
                    && best.as_ref().is_none_or(|(r, _)| revision > *r)
                {
                    best = Some((revision, arn.clone()));
                }
            }
            // Sorted newest first: once a candidate is found, later pages hold older ones.
            token = out.next_token().map(str::to_owned);
            match &token {
                Some(t) if best.is_none() && tokens_seen.insert(t.clone()) => {}
                _ => return Ok(best.map(|(_, arn)| arn)),
            }
        }
    }

    /// Running and stopped tasks of the service, running first, then newest stop first.
    pub async fn tasks(&self) -> Result<Vec<Task>, ProbeError> {
        let mut arns = Vec::new();
        for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
            // The SDK's paginator, as the network probe pages ListTasks.
            let mut pages = self
                .client
                .list_tasks()
                .cluster(&self.cluster)
                .service_name(&self.service)
                .desired_status(status)
                .into_paginator()
                .send();
            while let Some(page) = call(System::Ecs, "ListTasks", async {
                pages.next().await.transpose()
            })
            .await?
            {
                arns.extend(page.task_arns().iter().cloned());
            }
        }
        let mut tasks = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(100) {
            let out = call(
                System::Ecs,
                "DescribeTasks",
                self.client
                    .describe_tasks()
                    .cluster(&self.cluster)
                    .set_tasks(Some(chunk.to_vec()))
                    .send(),
            )
            .await?;
            tasks.extend(out.tasks().iter().map(task));
        }
        tasks.sort_by_key(|t| (t.last_status == "STOPPED", std::cmp::Reverse(t.stopped_ms)));
        Ok(tasks)
    }
}

fn task(t: &ecs::Task) -> Task {
    let arn = t.task_arn().unwrap_or_default();
    Task {
        id: arn.rsplit('/').next().unwrap_or(arn).to_owned(),
        revision: t.task_definition_arn().and_then(revision_of),
        last_status: t.last_status().unwrap_or_default().to_owned(),
        health: t
            .health_status()
            .map(|h| h.as_str().to_owned())
            .unwrap_or_default(),
        started_ms: t.started_at().and_then(millis),
        stopped_ms: t.stopped_at().and_then(millis),
        stopped_reason: t.stopped_reason().map(redact::sanitize),
        stop_code: t.stop_code().map(|c| c.as_str().to_owned()),
        exit_code: t.containers().first().and_then(ecs::Container::exit_code),
    }
}

/// The index of the service's own container in a task definition, without the service's load
/// balancer to say ([`app_container_for`] with no target).
pub fn app_container(td: &ecs::TaskDefinition, service: &str) -> Option<usize> {
    app_container_for(td, service, None)
}

/// The index of the service's own container in a task definition, as ECS reads it: the one
/// the service's load balancer targets (`target`), else the one named after the service or
/// the family, else the essential container whose variables the runbook's rules name
/// (`OTP_PROVIDER` or any `TWILIO_*`), else any container that has them, else the first
/// essential one, else the first. A log router or agent sidecar listed first is not it.
pub fn app_container_for(
    td: &ecs::TaskDefinition,
    service: &str,
    target: Option<&str>,
) -> Option<usize> {
    let family = td.family().unwrap_or_default();
    let containers = td.container_definitions();
    let named = |name: &str| containers.iter().position(|c| c.name() == Some(name));
    let essential = |c: &ecs::ContainerDefinition| c.essential().unwrap_or(true);
    let reads_rules = |c: &ecs::ContainerDefinition| {
        c.environment()
            .iter()
            .filter_map(ecs::KeyValuePair::name)
            .chain(c.secrets().iter().map(ecs::Secret::name))
            .any(|n| n == "OTP_PROVIDER" || n.starts_with("TWILIO_"))
    };
    target
        .and_then(named)
        .or_else(|| named(service))
        .or_else(|| named(family))
        .or_else(|| {
            containers
                .iter()
                .position(|c| essential(c) && reads_rules(c))
        })
        .or_else(|| containers.iter().position(reads_rules))
        .or_else(|| containers.iter().position(essential))
        .or((!containers.is_empty()).then_some(0))
}

/// A described revision as it may be shown (values masked), for `service`'s container.
pub fn shown(td: &ecs::TaskDefinition, tags: &[ecs::Tag], service: &str) -> TaskDefinition {
    read_revision(td, tags, service, None, "").shown
}

/// A described revision, its container's variables read and masked for display.
/// The container's `logConfiguration` option `key` (`awslogs-group`, `awslogs-region`), with
/// the `awslogs` driver (FireLens and others send the lines elsewhere).
pub(crate) fn awslogs(container: &ecs::ContainerDefinition, key: &str) -> Option<String> {
    let config = container.log_configuration()?;
    if config.log_driver().as_str() != "awslogs" {
        return None;
    }
    config
        .options()?
        .get(key)
        .filter(|g| !g.is_empty())
        .map(|g| redact::sanitize(g))
}

fn read_revision(
    td: &ecs::TaskDefinition,
    tags: &[ecs::Tag],
    service: &str,
    target: Option<&str>,
    arn: &str,
) -> Revision {
    let family = td.family().unwrap_or_default();
    let index = app_container_for(td, service, target);
    let container = index.map(|i| &td.container_definitions()[i]);
    let other_containers: Vec<String> = td
        .container_definitions()
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != index)
        .map(|(_, c)| redact::sanitize(c.name().unwrap_or("?")))
        .collect();
    let env: BTreeMap<String, String> = container
        .map(ecs::ContainerDefinition::environment)
        .unwrap_or_default()
        .iter()
        .filter_map(|kv| {
            Some((
                kv.name()?.to_owned(),
                kv.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let secrets: BTreeMap<String, String> = container
        .map(ecs::ContainerDefinition::secrets)
        .unwrap_or_default()
        .iter()
        .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
        .collect();
    let env_files: Vec<(String, String)> = container
        .map(ecs::ContainerDefinition::environment_files)
        .unwrap_or_default()
        .iter()
        .map(|f| (f.r#type().as_str().to_owned(), f.value().to_owned()))
        .collect();
    let shown = TaskDefinition {
        arn: td.task_definition_arn().unwrap_or(arn).to_owned(),
        family: family.to_owned(),
        revision: td.revision(),
        image: redact::sanitize(container.and_then(|c| c.image()).unwrap_or_default()),
        registered_ms: td.registered_at().and_then(millis),
        registered_by: td.registered_by().map(redact::sanitize),
        container: redact::sanitize(container.and_then(|c| c.name()).unwrap_or_default()),
        log_group: container.and_then(|c| awslogs(c, "awslogs-group")),
        log_region: container.and_then(|c| awslogs(c, "awslogs-region")),
        other_containers,
        execution_role: td.execution_role_arn().map(redact::sanitize),
        environment: env
            .iter()
            .map(|(name, value)| EnvVar {
                name: redact::sanitize(name),
                display: redact::env_value(name, value),
                fingerprint: fingerprint(value),
            })
            .collect(),
        secrets: secrets
            .iter()
            .map(|(name, value_from)| SecretRef {
                name: redact::sanitize(name),
                value_from: redact::sanitize(value_from),
            })
            .collect(),
        environment_files: env_files
            .iter()
            .map(|(_, arn)| redact::sanitize(arn))
            .collect(),
        tags: tags
            .iter()
            .map(|t| {
                (
                    redact::sanitize(t.key().unwrap_or_default()),
                    redact::sanitize(t.value().unwrap_or_default()),
                )
            })
            .collect(),
    };
    Revision {
        shown,
        env,
        secrets,
        env_files,
    }
}

/// What changed from `previous` to `deployed`: image, then variables, then secrets, by name.
pub fn diff(previous: &TaskDefinition, deployed: &TaskDefinition) -> Vec<Change> {
    let mut changes = Vec::new();
    if previous.image != deployed.image {
        changes.push(Change::Image {
            from: previous.image.clone(),
            to: deployed.image.clone(),
        });
    }
    if previous.environment_files != deployed.environment_files {
        changes.push(Change::EnvFiles {
            from: previous.environment_files.clone(),
            to: deployed.environment_files.clone(),
        });
    }
    let before: BTreeMap<&str, &EnvVar> = previous
        .environment
        .iter()
        .map(|v| (v.name.as_str(), v))
        .collect();
    let after: BTreeMap<&str, &EnvVar> = deployed
        .environment
        .iter()
        .map(|v| (v.name.as_str(), v))
        .collect();
    for name in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (before.get(name), after.get(name)) {
            (Some(old), None) => changes.push(Change::Removed {
                name: old.name.clone(),
                display: old.display.clone(),
            }),
            (None, Some(new)) => changes.push(Change::Added {
                name: new.name.clone(),
                display: new.display.clone(),
            }),
            (Some(old), Some(new)) if old.fingerprint != new.fingerprint => {
                changes.push(Change::Changed {
                    name: new.name.clone(),
                    from: old.display.clone(),
                    to: new.display.clone(),
                });
            }
            _ => {}
        }
    }
    let before: BTreeMap<&str, &str> = previous
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.value_from.as_str()))
        .collect();
    let after: BTreeMap<&str, &str> = deployed
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.value_from.as_str()))
        .collect();
    for name in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (before.get(name), after.get(name)) {
            (Some(old), None) => changes.push(Change::SecretRemoved {
                name: (*name).to_owned(),
                value_from: (*old).to_owned(),
            }),
            (None, Some(new)) => changes.push(Change::SecretAdded {
                name: (*name).to_owned(),
                value_from: (*new).to_owned(),
            }),
            (Some(old), Some(new)) if old != new => changes.push(Change::SecretChanged {
                name: (*name).to_owned(),
                from: (*old).to_owned(),
                to: (*new).to_owned(),
            }),
            _ => {}
        }
    }
    changes
}

/// The Twilio credentials of the deployed revision, from plain values or resolved `secrets`,
/// and what was seen of them either way (a `secrets` reference that could not be read is
/// reported with its state, not guessed).
/// A deployed configuration, read as the service reads it: the rules' verdicts, the secrets
/// resolved (and whether the role may read them), the env files, the Twilio credentials.
pub(crate) struct Declared {
    pub checks: Vec<VarCheck>,
    pub secrets: Vec<Resolved>,
    pub secret_values: SecretValues,
    pub env_files: Vec<EnvFile>,
    pub credentials: Option<TwilioCredentials>,
    pub seen: CredentialsSeen,
}

/// Reads what `revision` declares, on any platform: its `secrets` resolved and its env files
/// downloaded at once (both as `revision`'s role would), then the rules over every variable.
pub(crate) async fn read_declared(
    secrets_probe: &SecretsProbe,
    files_probe: &EnvFilesProbe,
    rules: &EnvRules,
    revision: &Revision,
) -> Declared {
    let role = revision.shown.execution_role.as_deref();
    let ((mut secrets, mut secret_values), files) = tokio::join!(
        secrets_probe.resolve_all(&revision.secrets),
        files_probe.read_all(&revision.env_files, &revision.env, role)
    );
    secrets_probe.check_role(role, &mut secrets).await;
    let view = revision
        .env
        .iter()
        .fold(EnvView::new(), |view, (k, v)| view.with_value(k, v));
    let view = revision
        .secrets
        .iter()
        .fold(view, |view, (k, v)| match secret_values.get(k) {
            Some(value) => view.with_value(k, value),
            None => view.with_secret(k, v),
        });
    let view = files.values.iter().fold(view, |view, (k, v)| {
        if view.get(k).is_some() {
            view
        } else {
            view.with_value(k, v)
        }
    });
    let view = files
        .files
        .iter()
        .filter(|f| f.state != FileState::Ok)
        .fold(view, |view, f| view.with_unread(&f.url));
    let checks = rules.evaluate(&view);
    let (credentials, seen) = twilio_credentials(revision, &secrets, &secret_values, &files.values);
    secret_values.0.extend(
        files
            .values
            .into_iter()
            .filter(|(name, _)| redact::is_secret_name(name)),
    );
    Declared {
        checks,
        secrets,
        secret_values,
        env_files: files.files,
        credentials,
        seen,
    }
}

fn twilio_credentials(
    deployed: &Revision,
    resolved: &[Resolved],
    values: &SecretValues,
    from_files: &[(String, String)],
) -> (Option<TwilioCredentials>, CredentialsSeen) {
    let plain = |name: &str| {
        deployed
            .env
            .get(name)
            .map(String::as_str)
            .or_else(|| values.get(name))
            .or_else(|| {
                from_files
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
            })
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let account_sid = plain(ACCOUNT_SID);
    let auth_token = plain(AUTH_TOKEN);
    let verify_service_sid = plain(VERIFY_SERVICE_SID);
    let token_value_from = match (deployed.secrets.get(AUTH_TOKEN), values.get(AUTH_TOKEN)) {
        (Some(from), None) => Some(resolved.iter().find(|r| r.name == AUTH_TOKEN).map_or_else(
            || from.clone(),
            |r| format!("{} — {}", r.source, r.state.label()),
        )),
        _ => None,
    };
    let seen = CredentialsSeen {
        source: CredentialSource::TaskDefinition,
        account_sid: account_sid
            .as_deref()
            .or_else(|| deployed.secrets.get(ACCOUNT_SID).map(|_| ""))
            .filter(|s| !s.is_empty())
            .map(redact::sid),
        has_auth_token: auth_token.is_some() || token_value_from.is_some(),
        token_value_from: token_value_from.as_deref().map(redact::sanitize),
        token_secret: values.get(AUTH_TOKEN).and_then(|_| {
            let r = resolved.iter().find(|r| r.name == AUTH_TOKEN)?;
            Some(format!(
                "{} · fp {}",
                r.source,
                r.fingerprint.as_deref().unwrap_or("?")
            ))
        }),
        verify_service_sid: verify_service_sid.as_deref().map(redact::sid),
    };
    let credentials = match (account_sid, auth_token) {
        (Some(account_sid), Some(auth_token)) => Some(TwilioCredentials {
            source: CredentialSource::TaskDefinition,
            account_sid,
            auth_token,
            verify_service_sid,
            otp_provider: plain("OTP_PROVIDER"),
            from_number: plain("OTP_FROM_NUMBER"),
        }),
        _ => None,
    };
    (credentials, seen)
}

/// A hash of a real value, keyed once per process: equal values give equal fingerprints
/// within a run, and a fingerprint cannot be checked against guesses outside it.
pub(crate) fn fingerprint(value: &str) -> u64 {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    KEY.get_or_init(RandomState::new).hash_one(value)
}

/// `family` and revision of a task-definition ARN or `family:revision`.
pub fn family_revision(arn: &str) -> Option<(&str, i32)> {
    let tail = arn.rsplit("task-definition/").next().unwrap_or(arn);
    let (family, revision) = tail.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

fn revision_of(arn: &str) -> Option<i32> {
    family_revision(arn).map(|(_, r)| r)
}

fn millis(at: &aws_sdk_ecs::primitives::DateTime) -> Option<i64> {
    at.to_millis().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{VarStatus, ViolationKind};
    use crate::sim::{self, scenario, Ports, Simulator};

    async fn start(name: &str) -> Simulator {
        Simulator::start(
            scenario::load(name).expect("scenario"),
            0.05,
            Ports::default(),
        )
        .await
        .expect("simulator starts")
    }

    fn aws_cfg(sim: &Simulator) -> AwsConfig {
        AwsConfig {
            endpoint_url: Some(sim.urls.aws.clone()),
            ..AwsConfig::default()
        }
    }

    /// The console's own SDK config, with the given access key instead of the chain.
    async fn sdk(cfg: &AwsConfig, access_key: &str) -> SdkConfig {
        super::super::aws::sdk_config(cfg)
            .await
            .to_builder()
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                aws_sdk_ecs::config::Credentials::new(
                    access_key,
                    sim::SECRET_ACCESS_KEY,
                    None,
                    None,
                    "test",
                ),
            ))
            .build()
    }

    async fn snapshot(
        cfg: &AwsConfig,
        key: &str,
    ) -> Result<(Snapshot, Option<TwilioCredentials>, CredentialsSeen), ProbeError> {
        EcsProbe::new(&sdk(cfg, key).await, cfg, &EnvRules::default())
            .snapshot()
            .await
    }

    #[tokio::test]
    async fn missing_env_vars_snapshot() {
        let sim = start("missing-env-vars").await;
        let (snap, creds, seen) = snapshot(&aws_cfg(&sim), sim::ACCESS_KEY_ID)
            .await
            .expect("snapshot");
        assert_eq!(snap.deployed.revision, 42);
        assert_eq!(snap.service.name, "nerava-backend");
        assert!(snap.service.task_definition.ends_with(":42"));
        assert_eq!(snap.previous.as_ref().map(|p| p.revision), Some(41));
        assert!(snap.deployed.tags.contains(&("env".into(), "prod".into())));

        let missing = snap
            .checks
            .iter()
            .find(|c| c.name == "TWILIO_VERIFY_SERVICE_SID")
            .expect("rule checked");
        assert!(
            matches!(&missing.status, VarStatus::Violation(v) if v.kind == ViolationKind::Missing),
            "{missing:?}"
        );
        assert!(snap.diff.contains(&Change::Removed {
            name: "TWILIO_VERIFY_SERVICE_SID".into(),
            display: "VA0a1b2c…".into(),
        }));
        assert!(snap.diff.contains(&Change::Changed {
            name: "LOG_LEVEL".into(),
            from: "INFO".into(),
            to: "WARNING".into(),
        }));
        assert!(!snap.diff.iter().any(|c| matches!(c, Change::Image { .. })));
        assert!(snap.deployed.secrets.contains(&SecretRef {
            name: "DATABASE_URL".into(),
            value_from:
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/database-AbCdEf"
                    .into(),
        }));

        let token = snap
            .deployed
            .environment
            .iter()
            .find(|v| v.name == "TWILIO_AUTH_TOKEN")
            .expect("token var");
        assert_eq!(token.display, redact::MASK);
        let raw = &sim.scenario().twilio.auth_token;
        let json = serde_json::to_string(&snap).expect("serialises");
        assert!(!json.contains(raw.as_str()), "raw token in the snapshot");
        assert!(!json.contains("AC5f3b1c8e9d2a4f60718293a4b5c6d7e8"));

        let creds = creds.expect("plain credentials");
        assert_eq!(creds.source, CredentialSource::TaskDefinition);
        assert_eq!(&creds.auth_token, raw);
        assert_eq!(creds.verify_service_sid, None);
        assert!(!format!("{creds:?}").contains(raw.as_str()));
        assert!(seen.has_auth_token);
        assert_eq!(seen.token_value_from, None);
        assert_eq!(seen.verify_service_sid, None);
        assert_eq!(seen.account_sid.as_deref(), Some("AC5f3b1c…"));
        assert!(!snap.tasks.is_empty());
    }

    #[tokio::test]
    async fn credentials_come_from_resolved_secrets_and_go_through_the_rules() {
        use crate::probe::secrets::SecretState;
        let sim = start("healthy").await;
        let (snap, creds, seen) = snapshot(&aws_cfg(&sim), sim::ACCESS_KEY_ID)
            .await
            .expect("snapshot");
        let token = &sim.scenario().twilio.auth_token;
        let creds = creds.expect("credentials from the secrets");
        assert_eq!(&creds.auth_token, token);
        assert_eq!(
            creds.verify_service_sid.as_deref(),
            Some("VA0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
            "the Verify SID from Parameter Store"
        );
        assert_eq!(
            seen.token_secret.as_deref(),
            Some("secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token · fp 106cc468")
        );
        assert_eq!(seen.token_value_from, None);
        assert_eq!(snap.secrets.len(), 4);
        assert!(
            snap.secrets.iter().all(|r| r.state == SecretState::Ok),
            "{:?}",
            snap.secrets
        );
        // The resolved SID is checked by the rules like a plain value.
        let sid = snap
            .checks
            .iter()
            .find(|c| c.name == "TWILIO_VERIFY_SERVICE_SID")
            .expect("rule");
        assert_eq!(sid.status, VarStatus::Ok, "{sid:?}");
        let json = serde_json::to_string(&snap).expect("serialises");
        let debug = format!("{snap:?}{seen:?}");
        for text in [&json, &debug] {
            assert!(!text.contains(token.as_str()), "the token in {text}");
            assert!(!text.contains("postgresql://"), "a value in {text}");
        }

        let sim = start("secret-deleted").await;
        let (snap, creds, seen) = snapshot(&aws_cfg(&sim), sim::ACCESS_KEY_ID)
            .await
            .expect("snapshot");
        assert!(creds.is_none());
        assert_eq!(
            seen.token_value_from.as_deref(),
            Some("secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token — scheduled for deletion")
        );
        let token = snap
            .secrets
            .iter()
            .find(|r| r.name == AUTH_TOKEN)
            .expect("the token's secret");
        assert_eq!(token.state, SecretState::ScheduledForDeletion);
        assert!(token.deleted_ms.is_some());
    }

    #[tokio::test]
    async fn stub_provider_shows_failing_rollout() {
        let sim = start("stub-provider").await;
        let (snap, _, _) = snapshot(&aws_cfg(&sim), sim::ACCESS_KEY_ID)
            .await
            .expect("snapshot");
        let primary = snap
            .service
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
            .expect("primary");
        assert_eq!(primary.rollout_state, "IN_PROGRESS");
        assert!(primary.failed >= 1, "{primary:?}");
        assert_eq!(primary.revision, Some(42));
        let stopped: Vec<&Task> = snap
            .tasks
            .iter()
            .filter(|t| t.last_status == "STOPPED")
            .collect();
        assert!(!stopped.is_empty());
        assert!(stopped
            .iter()
            .any(|t| t.stopped_reason.as_deref() == Some("Essential container in task exited")));
        assert!(snap.tasks.iter().all(|t| !t.id.contains('/')));
        assert!(snap.diff.iter().any(|c| matches!(
            c,
            Change::Changed { name, to, .. } if name == "OTP_PROVIDER" && to == "stub"
        )));
    }

    #[tokio::test]
    async fn event_loop_blocking_diff_has_image() {
        let sim = start("event-loop-blocking").await;
        let (snap, _, _) = snapshot(&aws_cfg(&sim), sim::ACCESS_KEY_ID)
            .await
            .expect("snapshot");
        assert!(snap.diff.iter().any(|c| matches!(
            c,
            Change::Image { from, to } if from.ends_with(":2026.01.22") && to.ends_with(":2026.01.23")
        )));
    }

    #[tokio::test]
    async fn credential_errors_by_marked_key() {
        let sim = start("healthy").await;
        let cfg = aws_cfg(&sim);
        for (key, code) in [
            ("AKIASIMEXPIRED000001", "ExpiredTokenException"),
            ("AKIASIMUNKNOWN000001", "UnrecognizedClientException"),
            ("AKIASIMDENIED0000001", "AccessDeniedException"),
        ] {
            let err = snapshot(&cfg, key).await.expect_err(key);
            assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
            assert_eq!(err.code.as_deref(), Some(code));
            assert_eq!(err.system, System::Ecs);
            assert!(!err.message.contains('\n'));
        }
        let err = snapshot(&cfg, "AKIASIMEXPIRED000001")
            .await
            .expect_err("expired");
        assert_eq!(
            err.message,
            "AWS: ExpiredTokenException — the session credentials have expired; refresh them (`aws sso login`, or new keys) and retry"
        );
        let denied = snapshot(&cfg, "AKIASIMDENIED0000001")
            .await
            .expect_err("denied");
        assert!(
            denied.message.contains("ecs:DescribeServices"),
            "{denied:?}"
        );
    }

    #[tokio::test]
    async fn wrong_names_are_not_found() {
        let sim = start("healthy").await;
        let cfg = AwsConfig {
            cluster: "nerava-clustr".into(),
            ..aws_cfg(&sim)
        };
        let err = snapshot(&cfg, sim::ACCESS_KEY_ID)
            .await
            .expect_err("no cluster");
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(err.code.as_deref(), Some("ClusterNotFoundException"));
        assert!(err.message.contains("aws.cluster"));

        let cfg = AwsConfig {
            service: "nerava-backnd".into(),
            ..aws_cfg(&sim)
        };
        let err = snapshot(&cfg, sim::ACCESS_KEY_ID)
            .await
            .expect_err("no service");
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(err.code.as_deref(), Some("MISSING"));
        assert!(err.message.contains("aws.service"));
    }

    #[tokio::test]
    async fn unreachable_endpoint() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let cfg = AwsConfig {
            endpoint_url: Some(format!("http://127.0.0.1:{port}")),
            ..AwsConfig::default()
        };
        let probe = EcsProbe::new(
            &sdk(&cfg, sim::ACCESS_KEY_ID).await,
            &cfg,
            &EnvRules::default(),
        );
        let err = probe.snapshot().await.expect_err("refused");
        assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    }

    #[tokio::test]
    #[allow(deprecated)] // ProfileFiles' replacement lives in aws-runtime, not a dependency
    async fn no_credentials_at_all() {
        let cfg = AwsConfig {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..AwsConfig::default()
        };
        let chain = aws_config::meta::credentials::CredentialsProviderChain::first_try(
            "nothing",
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                // The providers a profile may name are built with it: they need the HTTP
                // client every AWS configuration here gets from `aws::loader`.
                .configure(
                    &aws_config::provider_config::ProviderConfig::without_region()
                        .with_http_client(super::super::aws::https_client()),
                )
                .profile_name("otp-console-test-no-such-profile")
                .profile_files(
                    aws_config::profile::profile_file::ProfileFiles::builder()
                        .with_contents(
                            aws_config::profile::profile_file::ProfileFileKind::Config,
                            "",
                        )
                        .build(),
                )
                .build(),
        );
        let sdk = super::super::aws::sdk_config(&cfg)
            .await
            .to_builder()
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(chain))
            .build();
        let err = EcsProbe::new(&sdk, &cfg, &EnvRules::default())
            .snapshot()
            .await
            .expect_err("no credentials");
        assert_eq!(err.kind, ErrorKind::Credentials, "{err:?}");
        assert_eq!(
            err.message,
            "no AWS credentials found — set AWS_PROFILE, run `aws configure`, or `aws sso login`"
        );
        assert_eq!(err.code.as_deref(), Some("CredentialsNotLoaded"));
    }

    #[test]
    fn diff_of_secrets_and_env() {
        let var = |name: &str, value: &str| EnvVar {
            name: name.into(),
            display: redact::env_value(name, value),
            fingerprint: fingerprint(value),
        };
        let secret = |name: &str, from: &str| SecretRef {
            name: name.into(),
            value_from: from.into(),
        };
        let td = |environment, secrets| TaskDefinition {
            arn: String::new(),
            family: "f".into(),
            revision: 1,
            image: "img:1".into(),
            registered_ms: None,
            registered_by: None,
            container: "nerava-backend".into(),
            log_group: None,
            log_region: None,
            other_containers: vec![],
            execution_role: None,
            environment,
            secrets,
            environment_files: vec![],
            tags: vec![],
        };
        let old = td(
            vec![var("TWILIO_AUTH_TOKEN", "old-token"), var("A", "1")],
            vec![secret("S1", "arn:1"), secret("S2", "arn:2")],
        );
        let new = td(
            vec![var("TWILIO_AUTH_TOKEN", "new-token"), var("B", "2")],
            vec![secret("S1", "arn:1b"), secret("S3", "arn:3")],
        );
        let mask = redact::MASK.to_owned();
        assert_eq!(
            diff(&old, &new),
            vec![
                Change::Removed {
                    name: "A".into(),
                    display: "1".into()
                },
                Change::Added {
                    name: "B".into(),
                    display: "2".into()
                },
                Change::Changed {
                    name: "TWILIO_AUTH_TOKEN".into(),
                    from: mask.clone(),
                    to: mask
                },
                Change::SecretChanged {
                    name: "S1".into(),
                    from: "arn:1".into(),
                    to: "arn:1b".into()
                },
                Change::SecretRemoved {
                    name: "S2".into(),
                    value_from: "arn:2".into()
                },
                Change::SecretAdded {
                    name: "S3".into(),
                    value_from: "arn:3".into()
                },
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn token_from_secrets_is_reported_not_guessed() {
        let revision = Revision {
            shown: TaskDefinition {
                arn: String::new(),
                family: "f".into(),
                revision: 1,
                image: String::new(),
                registered_ms: None,
                registered_by: None,
                container: "nerava-backend".into(),
                log_group: None,
                log_region: None,
                other_containers: vec![],
                execution_role: None,
                environment: vec![],
                secrets: vec![],
                environment_files: vec![],
                tags: vec![],
            },
            env: BTreeMap::from([(
                ACCOUNT_SID.into(),
                "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8".into(),
            )]),
            secrets: BTreeMap::from([(AUTH_TOKEN.into(), "arn:aws:ssm:p/twilio".into())]),
            env_files: Vec::new(),
        };
        let (creds, seen) = twilio_credentials(&revision, &[], &SecretValues::default(), &[]);
        assert!(creds.is_none());
        assert!(seen.has_auth_token);
        assert_eq!(
            seen.token_value_from.as_deref(),
            Some("arn:aws:ssm:p/twilio")
        );
    }
}
