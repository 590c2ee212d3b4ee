//! Repairs, each as plan → apply → follow → verify (the runbook's "Repair Actions" and
//! "Verification After Fix" as one safe flow). [`plan`] is pure: the deployed revision in, the
//! registration that preserves every field, the masked diff and the equivalent aws CLI
//! commands out. [`Repairer`] does the I/O: reads the deployed revision, registers and
//! deploys, follows the rollout like the `services-stable` waiter ([`rollout`]); [`verify`]
//! runs the same check as `otp-console check`; [`render`] lays a plan and a rollout out as text
//! and JSON. The headless `otp-console repair` is the `cmd` module's.

/// App Runner: UpdateService, StartDeployment, ResumeService, the operation followed.
pub mod apprunner;
/// Allowing outbound HTTPS on the service's security group (no deployment).
pub mod egress;
/// The pure plan: registration, diff, commands.
pub mod plan;
/// A plan and a rollout as text and JSON.
pub mod render;
/// Following a rollout to stable, failed or stuck.
pub mod rollout;

use aws_config::SdkConfig;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::TaskDefinitionField;
use aws_sdk_ecs::Client;

pub use self::plan::{
    parse_assignment, parse_secret_ref, Described, Plan, Repair, RevisionRef, Target,
};
pub use self::rollout::{FollowOptions, Rollout, RolloutEvent, RolloutState};
use self::rollout::{Follower, Verdict};
use crate::check::{self, CannotRun, Options, Report};
use crate::config::Config;
use crate::probe::aws::call;
use crate::probe::ecs::{self as probe_ecs, EcsProbe};
use crate::probe::{ProbeError, System};
use crate::redact;

/// The repairs the console offers: a failure mode's rule names those it suggests.
pub use crate::diagnosis::rules::Choice;

/// A repair that cannot go on: one line saying why and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RepairError(pub String);

impl From<ProbeError> for RepairError {
    fn from(e: ProbeError) -> Self {
        Self(e.message)
    }
}

/// What applying a plan did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub task_definition_arn: String,
    pub revision: i32,
    /// The deployment UpdateService started (empty when ECS named none).
    pub deployment_id: String,
    /// When that deployment was created (ms since the epoch): its service events are newer.
    pub deployment_created_ms: i64,
}

impl Applied {
    /// `ARN (revision N) · deployment ID`.
    pub fn line(&self) -> String {
        format!(
            "{} (revision {}) · deployment {}",
            self.task_definition_arn,
            self.revision,
            if self.deployment_id.is_empty() {
                "?"
            } else {
                &self.deployment_id
            }
        )
    }

    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "task_definition_arn": self.task_definition_arn,
            "revision": self.revision,
            "deployment_id": self.deployment_id,
        })
    }
}

/// Plans, applies and follows repairs of one service.
#[derive(Debug, Clone)]
pub struct Repairer {
    client: Client,
    secrets: aws_sdk_secretsmanager::Client,
    probe: EcsProbe,
    cluster: String,
    service: String,
    platform: crate::config::Platform,
}

impl Repairer {
    /// A repairer of `config.aws.cluster` / `config.aws.service`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Self {
        Self {
            client: Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            probe: EcsProbe::new(sdk, &config.aws, &config.rules),
            cluster: config.aws.cluster.clone(),
            service: config.aws.service.clone(),
            platform: config.aws.platform,
        }
    }

    /// DescribeTaskDefinition (include TAGS) of a `family:revision` or ARN.
    pub async fn describe(&self, reference: &str) -> Result<Described, RepairError> {
        let out = call(
            System::Ecs,
            "DescribeTaskDefinition",
            self.client
                .describe_task_definition()
                .task_definition(reference)
                .include(TaskDefinitionField::Tags)
                .send(),
        )
        .await?;
        let tags = out.tags().to_vec();
        let task_definition = out.task_definition.ok_or_else(|| {
            RepairError(format!(
                "ECS DescribeTaskDefinition: no task definition in the answer for {reference}"
            ))
        })?;
        Ok(Described {
            task_definition,
            tags,
        })
    }

    /// The revision the service's PRIMARY deployment runs.
    pub async fn deployed(&self) -> Result<Described, RepairError> {
        let service = self.probe.service().await?;
        self.describe(&service.task_definition).await
    }

    /// Reads what `repair` needs and plans it; changes nothing.
    pub async fn plan(&self, repair: &Repair) -> Result<Plan, RepairError> {
        if self.platform == crate::config::Platform::AppRunner {
            return Err(RepairError(format!(
                "{} is an App Runner service: its repairs are App Runner's (UpdateService, StartDeployment, ResumeService), not a task definition's",
                self.service
            )));
        }
        let deployed = self.deployed().await?;
        let rollback = match repair {
            Repair::RollbackTo(reference) => self.rollback_target(&deployed, *reference).await?,
            _ => None,
        };
        let mut plan = plan::plan(
            repair,
            &self.cluster,
            &self.service,
            &deployed,
            rollback.as_ref(),
        )?;
        let target = match &plan.target {
            Target::Register(input) => input.container_definitions(),
            Target::Existing { .. } => rollback
                .as_ref()
                .unwrap_or(&deployed)
                .task_definition
                .container_definitions(),
        };
        plan.warnings = self.preflight(repair, &references(target)).await;
        Ok(plan)
    }

    /// Every ECS repair starts new tasks, and the ECS agent reads their `secrets` as the
    /// execution role when it starts one: a secret they reference that is gone, or refused to
    /// the role, stops them. Read as the console reads the service (the secrets resolved,
    /// IAM's policy simulation for the role), kept to the references the new tasks keep
    /// (`(name, valueFrom)` in `target`) and leaving out what the repair itself mends (the
    /// secret it restores or puts a value into). A read that fails is said too.
    async fn preflight(&self, repair: &Repair, target: &[(String, String)]) -> Vec<String> {
        let mended = match repair {
            Repair::RestoreSecret(name) | Repair::PutSecret(name, _) => Some(name.as_str()),
            _ => None,
        };
        match Box::pin(self.probe.snapshot()).await {
            Ok((snapshot, _, _)) => {
                crate::diagnosis::rules::secret_unreadable::unreadable(&snapshot)
                    .into_iter()
                    .filter(|u| {
                        target
                            .iter()
                            .any(|(n, from)| *n == u.secret.name && *from == u.secret.value_from)
                            && (u.by_role || mended != Some(u.secret.name.as_str()))
                    })
                    .map(|u| format!("{} — the tasks this plan starts would stop on it", u.line))
                    .collect()
            }
            Err(e) => vec![format!(
                "could not check that new tasks can read the service's secrets: {}",
                e.message
            )],
        }
    }

    async fn rollback_target(
        &self,
        deployed: &Described,
        reference: RevisionRef,
    ) -> Result<Option<Described>, RepairError> {
        let family = deployed.task_definition.family().unwrap_or_default();
        match reference {
            RevisionRef::Number(n) => match self.describe(&format!("{family}:{n}")).await {
                Ok(found) => Ok(Some(found)),
                Err(e) => Err(RepairError(format!(
                    "--rollback-to {n}: no revision {family}:{n} ({e})"
                ))),
            },
            RevisionRef::Previous => {
                let shown = probe_ecs::shown(&deployed.task_definition, &[], &self.service);
                match self.probe.previous_arn(&shown).await? {
                    Some(arn) => Ok(Some(self.describe(&arn).await?)),
                    None => Ok(None),
                }
            }
        }
    }

    /// Registers the new revision (if any) and updates the service. Refuses when the service
    /// no longer runs the revision the plan was made from (someone deployed meanwhile): the
    /// plan's diff would not be what gets applied.
    pub async fn apply(&self, plan: &Plan) -> Result<Applied, RepairError> {
        let now = Box::pin(self.deployed()).await?;
        if now.task_definition.revision() != plan.source.revision {
            return Err(RepairError(format!(
                "not applied: {}/{} now runs {}, not {}:{} the plan was made from; plan again",
                plan.cluster,
                plan.service,
                now.reference(),
                plan.source.family,
                plan.source.revision
            )));
        }
        let (arn, revision, force) = match &plan.target {
            Target::Register(input) => {
                let registered = self.register(input).await?;
                let arn = registered.task_definition_arn().map_or_else(
                    || {
                        format!(
                            "{}:{}",
                            registered.family().unwrap_or_default(),
                            registered.revision()
                        )
                    },
                    str::to_owned,
                );
                (arn, registered.revision(), false)
            }
            Target::Existing { arn, revision } => (
                arn.clone(),
                *revision,
                matches!(
                    plan.action,
                    Repair::Redeploy | Repair::RestoreSecret(_) | Repair::PutSecret(..)
                ),
            ),
        };
        Box::pin(self.change_secret(plan)).await?;
        let out = Box::pin(call(
            System::Ecs,
            "UpdateService",
            self.client
                .update_service()
                .cluster(&plan.cluster)
                .service(&plan.service)
                .task_definition(&arn)
                .force_new_deployment(force)
                .send(),
        ))
        .await?;
        let primary = out.service().and_then(|s| {
            s.deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))
        });
        Ok(Applied {
            task_definition_arn: arn,
            revision,
            deployment_id: primary.and_then(|d| d.id()).unwrap_or_default().to_owned(),
            deployment_created_ms: primary
                .and_then(|d| d.created_at())
                .and_then(|t| t.to_millis().ok())
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
        })
    }

    /// The Secrets Manager half of a secret repair, before the new deployment: RestoreSecret,
    /// or PutSecretValue (with a JSON key, the current JSON with that field replaced).
    async fn change_secret(&self, plan: &Plan) -> Result<(), RepairError> {
        use crate::probe::secrets::ValueFrom;
        let (name, value) = match &plan.action {
            Repair::RestoreSecret(name) => (name, None),
            Repair::PutSecret(name, value) => (name, Some(value)),
            _ => return Ok(()),
        };
        let from = plan
            .source
            .secrets
            .iter()
            .find(|s| &s.name == name)
            .map(|s| ValueFrom::parse(&s.value_from))
            .ok_or_else(|| RepairError(format!("{name} is not in the plan's `secrets`")))?;
        let Some(value) = value else {
            call(
                System::Secrets,
                "RestoreSecret",
                self.secrets.restore_secret().secret_id(&from.id).send(),
            )
            .await?;
            return Ok(());
        };
        let string = match &from.json_key {
            None => value.clone(),
            Some(key) => {
                let current = call(
                    System::Secrets,
                    "GetSecretValue",
                    self.secrets.get_secret_value().secret_id(&from.id).send(),
                )
                .await?;
                let mut json = current
                    .secret_string()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                    .filter(serde_json::Value::is_object)
                    .unwrap_or_else(|| serde_json::json!({}));
                json[key.as_str()] = serde_json::Value::String(value.clone());
                json.to_string()
            }
        };
        call(
            System::Secrets,
            "PutSecretValue",
            self.secrets
                .put_secret_value()
                .secret_id(&from.id)
                .secret_string(string)
                .send(),
        )
        .await
        .map_err(|e| RepairError(redact::scrub(&e.message, &[value.as_str()])))?;
        Ok(())
    }

    /// RegisterTaskDefinition with every field of `input`.
    // inferenceAccelerators is deprecated but carried over, as in `plan::registration`.
    #[allow(deprecated)]
    pub async fn register(
        &self,
        input: &RegisterTaskDefinitionInput,
    ) -> Result<aws_sdk_ecs::types::TaskDefinition, RepairError> {
        let input = input.clone();
        let out = call(
            System::Ecs,
            "RegisterTaskDefinition",
            self.client
                .register_task_definition()
                .set_family(input.family)
                .set_task_role_arn(input.task_role_arn)
                .set_execution_role_arn(input.execution_role_arn)
                .set_network_mode(input.network_mode)
                .set_container_definitions(input.container_definitions)
                .set_volumes(input.volumes)
                .set_placement_constraints(input.placement_constraints)
                .set_requires_compatibilities(input.requires_compatibilities)
                .set_cpu(input.cpu)
                .set_memory(input.memory)
                .set_tags(input.tags)
                .set_pid_mode(input.pid_mode)
                .set_ipc_mode(input.ipc_mode)
                .set_proxy_configuration(input.proxy_configuration)
                .set_inference_accelerators(input.inference_accelerators)
                .set_ephemeral_storage(input.ephemeral_storage)
                .set_runtime_platform(input.runtime_platform)
                .set_enable_fault_injection(input.enable_fault_injection)
                .send(),
        )
        .await?;
        out.task_definition.ok_or_else(|| {
            RepairError("ECS RegisterTaskDefinition: no task definition in the answer".into())
        })
    }

    /// Follows the deployment `applied` started until it is stable, failed or stuck, telling
    /// `on_event` about every change.
    pub async fn follow(
        &self,
        plan: &Plan,
        applied: &Applied,
        options: &FollowOptions,
        mut on_event: impl FnMut(&RolloutEvent),
    ) -> Rollout {
        let mut follower = Follower::new(&applied.deployment_id, applied.deployment_created_ms);
        let (state, reason) = loop {
            match self.probe.service().await {
                Ok(service) => {
                    let (events, verdict) = follower.observe(&service);
                    events.iter().for_each(&mut on_event);
                    match verdict {
                        Verdict::Stable => break (RolloutState::Completed, String::new()),
                        Verdict::Failed(reason) => break (RolloutState::Failed, reason),
                        Verdict::InProgress => {}
                    }
                }
                Err(e) => on_event(&follower.error(&e.message)),
            }
            if let Some(reason) = follower.stuck(options) {
                break (RolloutState::Stuck, reason);
            }
            tokio::time::sleep(options.poll).await;
        };
        let (stopped_tasks, suggestion) = if state == RolloutState::Completed {
            (Vec::new(), None)
        } else {
            let tasks = self.probe.tasks().await.unwrap_or_default();
            (
                rollout::stopped_reasons(&tasks, applied.revision),
                Some(rollback_suggestion(plan, applied)),
            )
        };
        Rollout {
            state,
            elapsed: follower.elapsed(),
            events: follower.events.clone(),
            reason,
            service_events: follower.service_events.clone(),
            stopped_tasks,
            suggestion,
        }
    }
}

/// Where to go back to when the new deployment does not come up: the revision the repair
/// started from, or the one before it when the repair redeployed that revision.
fn rollback_suggestion(plan: &Plan, applied: &Applied) -> String {
    let to = if applied.revision == plan.source.revision {
        "previous".to_owned()
    } else {
        plan.source.revision.to_string()
    };
    format!("roll back to the revision before: otp-console repair --rollback-to {to} --yes")
}

/// The verification after a stable rollout: the same probes and diagnosis as `check`.
pub async fn verify(config: &Config, target: &str, options: &Options) -> Result<Report, CannotRun> {
    check::check(config, target, options).await
}

/// Every `secrets` reference of `containers`, as `(name, valueFrom)`.
fn references(containers: &[aws_sdk_ecs::types::ContainerDefinition]) -> Vec<(String, String)> {
    containers
        .iter()
        .flat_map(aws_sdk_ecs::types::ContainerDefinition::secrets)
        .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
        .collect()
}
