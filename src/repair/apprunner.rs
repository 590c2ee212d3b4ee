//! Repairs of an App Runner service: set variables (UpdateService with the whole
//! `RuntimeEnvironmentVariables` map, as App Runner replaces it), redeploy (StartDeployment), or
//! resume a paused service (ResumeService); then the operation followed in ListOperations until
//! it ends. Plans change nothing; values are masked in every plan line.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_apprunner::types::{ImageConfiguration, ImageRepository, SourceConfiguration};
use aws_sdk_apprunner::Client;
use serde_json::{json, Value};

use super::{Repair, RepairError};
use crate::config::Config;
use crate::probe::apprunner::AppRunnerProbe;
use crate::probe::aws::call;
use crate::probe::ecs::Change;
use crate::probe::System;
use crate::redact;

/// How often an operation is read (before the simulator's time scale), and for how long at
/// most: App Runner deploys in minutes.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(5);
pub const FOLLOW_LIMIT: Duration = Duration::from_secs(20 * 60);

/// What a plan does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// UpdateService: these variables set in the image configuration (values in memory only).
    Update(Vec<(String, String)>),
    StartDeployment,
    Resume,
}

/// A repair of one App Runner service, planned: nothing changed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub service_arn: String,
    /// The service's status when planned (`RUNNING`, `PAUSED`, …).
    pub status: String,
    pub action: Action,
    /// What changes in `RuntimeEnvironmentVariables`, masked.
    pub diff: Vec<Change>,
    /// The equivalent aws CLI commands.
    pub commands: Vec<String>,
    /// What will go wrong if the plan is applied as the service stands, one line each: a
    /// secret new instances cannot read makes the operation roll back ([`preflight`]).
    pub warnings: Vec<String>,
}

impl Plan {
    /// The service's name, from its ARN (`…:service/NAME/ID`): what confirming a plan asks
    /// the user to type.
    pub fn service_name(&self) -> &str {
        self.service_arn
            .split_once(":service/")
            .map_or(self.service_arn.as_str(), |(_, rest)| {
                rest.split('/').next().unwrap_or(rest)
            })
    }

    /// The API call applying the plan makes.
    pub fn call(&self) -> &'static str {
        match self.action {
            Action::Update(_) => "UpdateService",
            Action::StartDeployment => "StartDeployment",
            Action::Resume => "ResumeService",
        }
    }

    /// One line: what will be done (the service by name; its ARN is in the commands).
    pub fn summary(&self) -> String {
        let name = self.service_name();
        match &self.action {
            Action::Update(vars) => format!(
                "UpdateService {name}: set {}",
                vars.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Action::StartDeployment => format!("StartDeployment {name}"),
            Action::Resume => format!("ResumeService {name} (it is PAUSED)"),
        }
    }

    /// The plan as `--json` prints it (no value).
    pub fn to_json(&self) -> Value {
        json!({
            "platform": "apprunner",
            "service_arn": self.service_arn,
            "status": self.status,
            "summary": self.summary(),
            "diff": self.diff,
            "commands": self.commands,
            "warnings": self.warnings,
        })
    }

    /// The plan as text.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!("PLAN  {}\n", self.summary());
        for change in &self.diff {
            let _ = writeln!(out, "  {}", super::render::change_line(change));
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "WARNING  {warning}");
        }
        out.push_str("COMMANDS\n");
        for c in &self.commands {
            let _ = writeln!(out, "  $ {c}");
        }
        out
    }
}

/// Plans, applies and follows repairs of one App Runner service.
#[derive(Debug, Clone)]
pub struct AppRunnerRepairer {
    client: Client,
    probe: AppRunnerProbe,
}

impl AppRunnerRepairer {
    pub fn new(sdk: &SdkConfig, config: &Config) -> Self {
        Self {
            client: Client::new(sdk),
            probe: AppRunnerProbe::new(sdk, &config.aws, &config.rules),
        }
    }

    /// Reads the service and plans `repair`: `--set` (UpdateService) or `--redeploy`
    /// (StartDeployment, or ResumeService when the service is paused).
    pub async fn plan(&self, repair: &Repair) -> Result<Plan, RepairError> {
        let arn = self.probe.arn().await?;
        let service = self.probe.describe(&arn).await?;
        let status = service.status().as_str().to_owned();
        let image = service
            .source_configuration()
            .and_then(|s| s.image_repository())
            .and_then(|i| i.image_configuration());
        let current = image
            .and_then(|c| c.runtime_environment_variables())
            .cloned()
            .unwrap_or_default();
        if let (Repair::Set(vars), Some(secrets)) =
            (repair, image.and_then(|c| c.runtime_environment_secrets()))
        {
            if let Some((name, _)) = vars.iter().find(|(n, _)| secrets.contains_key(n)) {
                return Err(RepairError(format!(
                    "{name} comes from a secret (RuntimeEnvironmentSecrets): put the new value in that secret (aws secretsmanager put-secret-value --secret-id {}), then redeploy",
                    redact::sanitize(&secrets[name])
                )));
            }
        }
        let action = match repair {
            Repair::Set(_) if status == "PAUSED" => {
                return Err(RepairError(format!(
                    "{arn} is PAUSED: App Runner updates a running service only — resume it first (otp-console repair --redeploy)"
                )));
            }
            Repair::Set(vars) => Action::Update(vars.clone()),
            Repair::Redeploy if status == "PAUSED" => Action::Resume,
            Repair::Redeploy => Action::StartDeployment,
            _ => {
                return Err(RepairError(
                    "on App Runner the console repairs with --set NAME=VALUE (UpdateService) or --redeploy (StartDeployment; ResumeService when paused)".into(),
                ))
            }
        };
        let diff = match &action {
            Action::Update(vars) => vars
                .iter()
                .filter_map(|(name, value)| match current.get(name) {
                    Some(old) if old == value => None,
                    Some(old) => Some(Change::Changed {
                        name: redact::sanitize(name),
                        from: redact::env_value(name, old),
                        to: redact::env_value(name, value),
                    }),
                    None => Some(Change::Added {
                        name: redact::sanitize(name),
                        display: redact::env_value(name, value),
                    }),
                })
                .collect(),
            _ => Vec::new(),
        };
        let commands = commands(&arn, &action);
        let warnings = self.preflight().await;
        Ok(Plan {
            service_arn: arn,
            status,
            action,
            diff,
            commands,
            warnings,
        })
    }

    /// Every plan starts new instances, which read the service's `RuntimeEnvironmentSecrets`
    /// as its instance role: a secret they cannot read (gone, or refused to the role) makes
    /// App Runner roll the operation back. Read as the console reads the service (the secrets
    /// resolved, IAM's policy simulation for the role); a read that fails is said too, since
    /// unknown is not safe.
    async fn preflight(&self) -> Vec<String> {
        match Box::pin(self.probe.snapshot()).await {
            Ok((snapshot, _, _)) => {
                crate::diagnosis::rules::secret_unreadable::unreadable(&snapshot)
                    .into_iter()
                    .map(|u| format!("{} — this plan starts new instances", u.line))
                    .collect()
            }
            Err(e) => vec![format!(
                "could not check that new instances can read the service's secrets: {}",
                e.message
            )],
        }
    }

    /// Applies `plan`; the id of the operation App Runner started.
    pub async fn apply(&self, plan: &Plan) -> Result<String, RepairError> {
        let arn = plan.service_arn.as_str();
        let id = match &plan.action {
            Action::Update(vars) => {
                let service = self.probe.describe(arn).await?;
                let source = updated_source(service.source_configuration(), vars)?;
                let out = call(
                    System::Ecs,
                    "apprunner:UpdateService",
                    Box::pin(
                        self.client
                            .update_service()
                            .service_arn(arn)
                            .source_configuration(source)
                            .send(),
                    ),
                )
                .await?;
                out.operation_id
            }
            Action::StartDeployment => {
                let out = call(
                    System::Ecs,
                    "apprunner:StartDeployment",
                    Box::pin(self.client.start_deployment().service_arn(arn).send()),
                )
                .await?;
                out.operation_id
            }
            Action::Resume => {
                let out = call(
                    System::Ecs,
                    "apprunner:ResumeService",
                    Box::pin(self.client.resume_service().service_arn(arn).send()),
                )
                .await?;
                out.operation_id.unwrap_or_default()
            }
        };
        Ok(redact::sanitize(&id))
    }

    /// ListOperations every [`FOLLOW_EVERY`] (times the simulator's time `scale`, 1 on a real
    /// service) until operation `id` ends, for [`FOLLOW_LIMIT`] at most; each status it reaches
    /// is passed to `seen`. Its last status.
    pub async fn follow(
        &self,
        arn: &str,
        id: &str,
        scale: f64,
        mut seen: impl FnMut(&str),
    ) -> Result<String, RepairError> {
        let every = FOLLOW_EVERY
            .mul_f64(scale.clamp(0.01, 1.0))
            .max(Duration::from_millis(50));
        let limit = FOLLOW_LIMIT;
        let started = tokio::time::Instant::now();
        let mut last = String::new();
        loop {
            let ops = self.probe.operations(arn).await?;
            let status = ops
                .iter()
                .find(|o| o.id() == Some(id))
                .and_then(|o| o.status())
                .map_or("PENDING", |s| s.as_str())
                .to_owned();
            if status != last {
                seen(&status);
                last.clone_from(&status);
            }
            if !matches!(status.as_str(), "PENDING" | "IN_PROGRESS") {
                return Ok(status);
            }
            if started.elapsed() >= limit {
                return Err(RepairError(format!(
                    "operation {id} still {status} after {} s — follow it with: aws apprunner list-operations --service-arn {arn}",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// The equivalent aws CLI commands of `action` (no value in them).
fn commands(arn: &str, action: &Action) -> Vec<String> {
    match action {
        Action::Update(_) => vec![
            format!("aws apprunner describe-service --service-arn {arn} --query Service.SourceConfiguration > source-configuration.json   # set the variables in ImageRepository.ImageConfiguration.RuntimeEnvironmentVariables"),
            format!("aws apprunner update-service --service-arn {arn} --source-configuration file://source-configuration.json"),
            format!("aws apprunner list-operations --service-arn {arn} --max-results 1"),
        ],
        Action::StartDeployment => vec![
            format!("aws apprunner start-deployment --service-arn {arn}"),
            format!("aws apprunner list-operations --service-arn {arn} --max-results 1"),
        ],
        Action::Resume => vec![
            format!("aws apprunner resume-service --service-arn {arn}"),
            format!("aws apprunner list-operations --service-arn {arn} --max-results 1"),
        ],
    }
}

/// The service's source configuration with `vars` set in its image configuration's
/// `RuntimeEnvironmentVariables` (the whole map goes back: App Runner replaces it).
fn updated_source(
    source: Option<&SourceConfiguration>,
    vars: &[(String, String)],
) -> Result<SourceConfiguration, RepairError> {
    let image = source.and_then(SourceConfiguration::image_repository).ok_or_else(|| {
        RepairError("the service is built from source code, not an image: its variables live in its CodeConfiguration, which the console does not change".into())
    })?;
    let config = image.image_configuration();
    let mut env = config
        .and_then(ImageConfiguration::runtime_environment_variables)
        .cloned()
        .unwrap_or_default();
    for (name, value) in vars {
        env.insert(name.clone(), value.clone());
    }
    let config = ImageConfiguration::builder()
        .set_runtime_environment_variables(Some(env))
        .set_runtime_environment_secrets(
            config.and_then(|c| c.runtime_environment_secrets().cloned()),
        )
        .set_start_command(config.and_then(|c| c.start_command().map(str::to_owned)))
        .set_port(config.and_then(|c| c.port().map(str::to_owned)))
        .build();
    let image = ImageRepository::builder()
        .image_identifier(image.image_identifier())
        .image_repository_type(image.image_repository_type().clone())
        .image_configuration(config)
        .build()
        .map_err(|e| RepairError(format!("App Runner UpdateService: {e}")))?;
    Ok(SourceConfiguration::builder()
        .image_repository(image)
        .set_auto_deployments_enabled(
            source.and_then(SourceConfiguration::auto_deployments_enabled),
        )
        .set_authentication_configuration(
            source.and_then(|s| s.authentication_configuration().cloned()),
        )
        .build())
}
