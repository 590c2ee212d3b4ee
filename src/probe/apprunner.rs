//! The App Runner probe (aws-sdk-apprunner): the service as App Runner describes it, read into
//! the same platform-neutral [`Snapshot`] the ECS probe gives, so the rules, panes, `check` and
//! the report read one shape.
//!
//! What maps to what: the service's `RuntimeEnvironmentVariables` are the deployed variables
//! and its `RuntimeEnvironmentSecrets` the `secrets` (resolved in memory as ECS's are, and IAM
//! is asked whether the *instance role* may read them: App Runner reads them with it); its
//! image is the image; its operations (ListOperations, newest first) are the deployments and
//! the service events; a `PAUSED` service has no instance (desired 0). App Runner has no
//! revisions and no tasks to list: the revision number shown is the count of the service's
//! configuration operations (create, update, deployment), and the task list is empty.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_apprunner::types::{OperationSummary, OperationType, Service as ArService};
use aws_sdk_apprunner::Client;

use super::aws::call;
use super::ecs::{
    self, Declared, Deployment, EnvVar, Revision, SecretRef, Service, ServiceEvent, Snapshot,
    TaskDefinition,
};
use super::env_files::EnvFilesProbe;
use super::secrets::SecretsProbe;
use super::twilio::CredentialsSeen;
use super::{ErrorKind, ProbeError, System, TwilioCredentials};
use crate::config::{AwsConfig, EnvRules};
use crate::redact;

/// Reads the configured App Runner service.
#[derive(Debug, Clone)]
pub struct AppRunnerProbe {
    client: Client,
    /// `aws.service`: the service's ARN, or its name (resolved by ListServices).
    service: String,
    rules: EnvRules,
    secrets: SecretsProbe,
    env_files: EnvFilesProbe,
}

/// How the service reaches the internet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// App Runner's own egress: no VPC on the path.
    Default,
    /// Through a VPC connector: its subnets and security groups are the service's network.
    Vpc {
        connector: String,
        subnets: Vec<String>,
        security_groups: Vec<String>,
    },
}

fn millis(at: &aws_sdk_apprunner::primitives::DateTime) -> Option<i64> {
    at.to_millis().ok()
}

fn not_found(message: String) -> ProbeError {
    ProbeError {
        system: System::Ecs,
        kind: ErrorKind::NotFound,
        code: Some("ResourceNotFoundException".into()),
        message: redact::sanitize(&message),
    }
}

impl AppRunnerProbe {
    pub fn new(sdk: &SdkConfig, cfg: &AwsConfig, rules: &EnvRules) -> Self {
        Self {
            client: Client::new(sdk),
            service: cfg.service.clone(),
            rules: rules.clone(),
            secrets: SecretsProbe::new(sdk),
            env_files: EnvFilesProbe::new(sdk),
        }
    }

    /// The service's ARN: `aws.service` when it is one, else the service of that name
    /// (ListServices, every page).
    pub async fn arn(&self) -> Result<String, ProbeError> {
        if self.service.starts_with("arn:") {
            return Ok(self.service.clone());
        }
        let mut token: Option<String> = None;
        loop {
            let page = call(
                System::Ecs,
                "apprunner:ListServices",
                Box::pin(
                    self.client
                        .list_services()
                        .set_next_token(token.take())
                        .send(),
                ),
            )
            .await?;
            if let Some(found) = page
                .service_summary_list()
                .iter()
                .find(|s| s.service_name() == Some(self.service.as_str()))
                .and_then(|s| s.service_arn())
            {
                return Ok(found.to_owned());
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_owned()),
                None => {
                    return Err(not_found(format!(
                        "App Runner: no service named {} in this account and region — fix aws.service (its name or ARN) or aws.region",
                        self.service
                    )))
                }
            }
        }
    }

    /// DescribeService.
    pub async fn describe(&self, arn: &str) -> Result<ArService, ProbeError> {
        let out = call(
            System::Ecs,
            "apprunner:DescribeService",
            Box::pin(self.client.describe_service().service_arn(arn).send()),
        )
        .await?;
        out.service.ok_or_else(|| {
            not_found(format!(
                "App Runner DescribeService: no service in the answer for {arn}"
            ))
        })
    }

    /// ListOperations: the newest 20.
    pub async fn operations(&self, arn: &str) -> Result<Vec<OperationSummary>, ProbeError> {
        let out = call(
            System::Ecs,
            "apprunner:ListOperations",
            Box::pin(
                self.client
                    .list_operations()
                    .service_arn(arn)
                    .max_results(20)
                    .send(),
            ),
        )
        .await?;
        Ok(out.operation_summary_list.unwrap_or_default())
    }

    /// The service's application log group: `/aws/apprunner/<ServiceName>/<ServiceId>/application`.
    pub async fn log_group(&self) -> Result<String, ProbeError> {
        let service = self.describe(&self.arn().await?).await?;
        Ok(application_log_group(&service))
    }

    /// How the service reaches the internet: its egress, and a VPC connector's subnets and
    /// security groups (DescribeVpcConnector).
    pub async fn egress(&self) -> Result<Egress, ProbeError> {
        let service = self.describe(&self.arn().await?).await?;
        let egress = service
            .network_configuration()
            .and_then(|n| n.egress_configuration());
        let connector = match egress {
            Some(e) if e.egress_type().is_some_and(|t| t.as_str() == "VPC") => {
                e.vpc_connector_arn().unwrap_or_default().to_owned()
            }
            _ => return Ok(Egress::Default),
        };
        let out = call(
            System::Network,
            "apprunner:DescribeVpcConnector",
            Box::pin(
                self.client
                    .describe_vpc_connector()
                    .vpc_connector_arn(&connector)
                    .send(),
            ),
        )
        .await?;
        let vpc = out.vpc_connector();
        let clean = |v: &[String]| v.iter().map(|x| redact::sanitize(x)).collect();
        Ok(Egress::Vpc {
            connector: redact::sanitize(&connector),
            subnets: vpc.map(|c| clean(c.subnets())).unwrap_or_default(),
            security_groups: vpc.map(|c| clean(c.security_groups())).unwrap_or_default(),
        })
    }

    /// One full read, in the neutral shape: the service, its configuration through the rules,
    /// its secrets resolved, the Twilio credentials it uses.
    pub async fn snapshot(
        &self,
    ) -> Result<(Snapshot, Option<TwilioCredentials>, CredentialsSeen), ProbeError> {
        let arn = self.arn().await?;
        let (service, operations) = tokio::join!(self.describe(&arn), self.operations(&arn));
        let (service, operations) = (service?, operations?);
        let revision = revision(&service, &operations);
        let read: Declared = Box::pin(ecs::read_declared(
            &self.secrets,
            &self.env_files,
            &self.rules,
            &revision,
        ))
        .await;
        let snapshot = Snapshot {
            service: neutral_service(&service, &operations),
            deployed: revision.shown,
            previous: None,
            diff: Vec::new(),
            checks: read.checks,
            tasks: Vec::new(),
            secrets: read.secrets,
            secret_values: read.secret_values,
            env_files: read.env_files,
        };
        Ok((snapshot, read.credentials, read.seen))
    }
}

/// `/aws/apprunner/<ServiceName>/<ServiceId>/application`.
pub fn application_log_group(service: &ArService) -> String {
    redact::sanitize(&format!(
        "/aws/apprunner/{}/{}/application",
        service.service_name(),
        service.service_id()
    ))
}

/// Whether an operation changed what runs (and so counts as a revision).
fn configures(op: &OperationSummary) -> bool {
    matches!(
        op.r#type(),
        Some(
            OperationType::CreateService
                | OperationType::UpdateService
                | OperationType::StartDeployment
        )
    )
}

/// Whether App Runner rolled the operation back: it never ran, the configuration before it
/// still serves.
fn rolled_back(op: &OperationSummary) -> bool {
    op.status()
        .is_some_and(|s| matches!(s.as_str(), "ROLLBACK_SUCCEEDED" | "ROLLBACK_IN_PROGRESS"))
}

/// The service's configuration as a revision: its variables, secrets and image (numbered by
/// the operations that changed what runs; one App Runner rolled back did not).
fn revision(service: &ArService, operations: &[OperationSummary]) -> Revision {
    let image = service
        .source_configuration()
        .and_then(|s| s.image_repository());
    let config = image.and_then(|i| i.image_configuration());
    let env: BTreeMap<String, String> = config
        .and_then(|c| c.runtime_environment_variables())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let secrets: BTreeMap<String, String> = config
        .and_then(|c| c.runtime_environment_secrets())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let name = service.service_name();
    let shown = TaskDefinition {
        arn: redact::sanitize(service.service_arn()),
        family: redact::sanitize(name),
        revision: operations
            .iter()
            .filter(|o| configures(o) && !rolled_back(o))
            .count() as i32,
        image: redact::sanitize(
            image
                .map(aws_sdk_apprunner::types::ImageRepository::image_identifier)
                .unwrap_or_default(),
        ),
        registered_ms: millis(service.updated_at()),
        registered_by: None,
        container: redact::sanitize(name),
        log_group: Some(application_log_group(service)),
        log_region: None,
        other_containers: Vec::new(),
        execution_role: service
            .instance_configuration()
            .and_then(|i| i.instance_role_arn())
            .map(redact::sanitize),
        environment: env
            .iter()
            .map(|(name, value)| EnvVar {
                name: redact::sanitize(name),
                display: redact::env_value(name, value),
                fingerprint: ecs::fingerprint(value),
            })
            .collect(),
        secrets: secrets
            .iter()
            .map(|(name, from)| SecretRef {
                name: redact::sanitize(name),
                value_from: redact::sanitize(from),
            })
            .collect(),
        environment_files: Vec::new(),
        tags: Vec::new(),
    };
    Revision {
        shown,
        env,
        secrets,
        env_files: Vec::new(),
    }
}

/// The service's status and operations in the neutral shape: a paused service wants no
/// instance; each configuring operation is a deployment (the newest the primary one).
fn neutral_service(service: &ArService, operations: &[OperationSummary]) -> Service {
    let status = service.status().as_str().to_owned();
    let serving = u8::from(status != "PAUSED");
    // An operation App Runner rolled back never ran: the configuration before it still serves.
    let primary = operations
        .iter()
        .filter(|o| configures(o))
        .position(|o| !rolled_back(o));
    let deployments = operations
        .iter()
        .filter(|o| configures(o))
        .enumerate()
        .map(|(i, o)| {
            let state = o.status().map_or("", |s| s.as_str());
            Deployment {
                id: redact::sanitize(o.id().unwrap_or_default()),
                status: if Some(i) == primary {
                    "PRIMARY"
                } else {
                    "ACTIVE"
                }
                .into(),
                task_definition: redact::sanitize(service.service_arn()),
                revision: None,
                rollout_state: match state {
                    "SUCCEEDED" => "COMPLETED",
                    "PENDING" | "IN_PROGRESS" => "IN_PROGRESS",
                    _ => "FAILED",
                }
                .into(),
                rollout_reason: redact::sanitize(&format!(
                    "App Runner {} {state}",
                    o.r#type().map_or("", |t| t.as_str())
                )),
                desired: i32::from(serving),
                running: i32::from(serving),
                pending: 0,
                failed: 0,
                created_ms: o.started_at().and_then(millis),
            }
        })
        .collect();
    Service {
        name: redact::sanitize(service.service_name()),
        status: redact::sanitize(&status),
        desired: i32::from(serving),
        running: i32::from(serving),
        pending: 0,
        task_definition: redact::sanitize(service.service_arn()),
        target_container: None,
        deployments,
        events: operations
            .iter()
            .map(|o| ServiceEvent {
                at_ms: o
                    .ended_at()
                    .or(o.started_at())
                    .and_then(millis)
                    .unwrap_or_default(),
                message: redact::sanitize(&format!(
                    "App Runner operation {} {}",
                    o.r#type().map_or("?", |t| t.as_str()),
                    o.status().map_or("?", |s| s.as_str())
                )),
            })
            .collect(),
    }
}
