//! The platform seam: what the engine asks of where the service runs, per round, in one
//! platform-neutral shape ([`Snapshot`]: the deployed configuration with its variables and
//! secrets, the running units, the deployments or operations, the log group). ECS
//! ([`EcsProbe`]) and App Runner ([`AppRunnerProbe`]) answer it; the rules, the panes, `check`
//! and the report read only the shape. `[aws] platform` picks one.

use aws_config::SdkConfig;

use super::apprunner::AppRunnerProbe;
use super::ecs::{EcsProbe, Snapshot};
use super::service_read::ServiceRead;
use super::twilio::CredentialsSeen;
use super::{ProbeError, TwilioCredentials};
use crate::config::{Config, Platform};

/// The probe of the configured platform.
#[derive(Debug, Clone)]
pub enum PlatformProbe {
    Ecs(EcsProbe),
    AppRunner(AppRunnerProbe),
}

impl PlatformProbe {
    /// The probe `config.aws.platform` names; an ECS probe reads the service through
    /// `described`, shared with the other probes of a round.
    pub fn new(sdk: &SdkConfig, config: &Config, described: ServiceRead) -> Self {
        match config.aws.platform {
            Platform::Ecs => {
                Self::Ecs(EcsProbe::new(sdk, &config.aws, &config.rules).sharing(described))
            }
            Platform::AppRunner => {
                Self::AppRunner(AppRunnerProbe::new(sdk, &config.aws, &config.rules))
            }
        }
    }

    /// One full read of the deployed configuration and the running units, and the Twilio
    /// credentials the service uses.
    pub async fn snapshot(
        &self,
    ) -> Result<(Snapshot, Option<TwilioCredentials>, CredentialsSeen), ProbeError> {
        match self {
            Self::Ecs(p) => Box::pin(p.snapshot()).await,
            Self::AppRunner(p) => Box::pin(p.snapshot()).await,
        }
    }

    /// The log group the service's application writes to, when the platform says.
    pub async fn log_group(&self) -> Result<Option<(String, Option<String>)>, ProbeError> {
        match self {
            Self::Ecs(p) => p.log_group().await,
            Self::AppRunner(p) => p.log_group().await.map(|g| Some((g, None))),
        }
    }

    /// A revision to compare the deployed one with (`family:N` or an ARN): ECS keeps them;
    /// App Runner keeps no past configuration to read.
    pub async fn shown_revision(
        &self,
        reference: &str,
    ) -> Result<super::ecs::TaskDefinition, ProbeError> {
        match self {
            Self::Ecs(p) => p.shown_revision(reference).await,
            Self::AppRunner(_) => Err(ProbeError {
                system: super::System::Ecs,
                kind: super::ErrorKind::NotFound,
                code: None,
                message: format!(
                    "App Runner keeps no past configuration of a service to compare {} with: only its current one (DescribeService) and its operations (ListOperations)",
                    crate::redact::sanitize(reference)
                ),
            }),
        }
    }

    /// The App Runner probe, when the service runs there.
    pub fn apprunner(&self) -> Option<&AppRunnerProbe> {
        match self {
            Self::AppRunner(p) => Some(p),
            Self::Ecs(_) => None,
        }
    }
}
