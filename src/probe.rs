//! What the probes see. One module per outside system under `probe/` (http, ecs, logs,
//! twilio); each runs its calls with a timeout and sends [`Observation`]s back over a channel.
//! A failed call is an observation too ([`ProbeError`]: what failed and one line saying what to
//! do), never a crash, and one system's failure never stops the others. Observations carry no
//! secret: values are masked by [`crate::redact`] before they are stored here, and Twilio
//! credentials travel separately in [`TwilioCredentials`], whose `Debug` hides the token.

/// App Runner: the service, its operations and VPC connector, in the platform-neutral shape.
pub mod apprunner;
/// What the AWS probes share: SDK config, call timeout, SDK errors as [`ProbeError`]s.
pub mod aws;
/// What changed since it last worked: the changes timeline's entries, from CloudTrail and
/// Twilio's Monitor.
pub mod changes;
/// CloudTrail LookupEvents: mutations of the service's resources over a window.
pub mod cloudtrail;
/// ECS: the service, its deployments, the deployed and previous task definitions, tasks.
pub mod ecs;
/// ECS's `environmentFiles`: `.env` objects in S3, read as the ECS agent reads them.
pub mod env_files;
/// Probes of the backend API: health, dev login, OTP start and verify.
pub mod http;
/// Can the task execution role read the secrets? IAM's policy simulator.
pub mod iam;
/// CloudWatch Logs: the service's log group, followed, lines classified.
pub mod logs;
/// The load balancer: target health and its CloudWatch metrics over the last hour.
pub mod metrics;
/// EC2: the service's network path to Twilio (security groups, NACLs, routes, NAT).
pub mod network;
/// Where the service runs (ECS or App Runner), read into one shape.
pub mod platform;
/// The task definition's `secrets`: Secrets Manager and SSM, resolved in memory.
pub mod secrets;
/// One DescribeServices answer shared by the probes of a round.
pub mod service_read;
/// Real traffic: the backend's access lines counted per endpoint, with the load balancer's view.
pub mod traffic;
/// Twilio: account, Verify service, status page, test sends and checks.
pub mod twilio;

use serde::{Deserialize, Serialize};

/// The outside systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Api,
    Ecs,
    Logs,
    /// Secrets Manager and SSM Parameter Store (the task definition's `secrets`), and the S3
    /// objects of its `environmentFiles`: where the container's variables are read from.
    Secrets,
    /// EC2: the service's VPC (security groups, network ACLs, route tables, NAT gateways).
    Network,
    Twilio,
    /// CloudTrail's event history (LookupEvents).
    #[serde(rename = "cloudtrail")]
    CloudTrail,
    /// The load balancer (ELBv2) and its CloudWatch metrics.
    LoadBalancer,
}

/// A call that failed, as data: which system, what kind of failure, and one line for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeError {
    pub system: System,
    pub kind: ErrorKind,
    /// The service's own error code when it gave one (`ExpiredTokenException`, `20003`).
    pub code: Option<String>,
    /// One line: what happened and what to do.
    pub message: String,
}

/// The kinds of failure the console tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No credentials, or credentials refused (expired, unknown, access denied).
    Credentials,
    /// Connection refused, DNS, TLS: the system could not be reached.
    Unreachable,
    /// No answer in time.
    Timeout,
    /// The thing asked about does not exist.
    NotFound,
    /// Throttled or rate limited.
    Throttled,
    /// The service answered with an error of its own.
    Api,
    /// The answer could not be understood.
    BadResponse,
}

/// Everything a probe can report; the input of the diagnosis and of every pane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Observation {
    /// One HTTP request to the API finished (or was found outstanding).
    Http(http::Sample),
    /// A request to the API was sent and is still waiting.
    HttpStarted {
        endpoint: http::Endpoint,
        id: u64,
        started_ms: i64,
        /// The phone's last 4 digits, for an OTP start or verify: what its trace joins on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone_last4: Option<String>,
    },
    /// The ECS service and its task definitions, read at `at_ms`.
    Ecs {
        at_ms: i64,
        result: Result<Box<ecs::Snapshot>, ProbeError>,
    },
    /// New log events (never one seen before), or why they could not be read.
    Logs {
        at_ms: i64,
        result: Result<logs::Batch, ProbeError>,
    },
    /// One Twilio fact.
    Twilio { at_ms: i64, fact: twilio::Fact },
    /// What changed over the window, from one origin (CloudTrail or Twilio's Monitor).
    Changes {
        at_ms: i64,
        origin: changes::Origin,
        result: Result<changes::Changes, ProbeError>,
    },
    /// The service's network path to Twilio on 443, read from EC2 at `at_ms`.
    Network {
        at_ms: i64,
        result: Result<Box<crate::network::Path>, ProbeError>,
    },
    /// What real users got over the last hour (access lines, the load balancer), read at
    /// `at_ms`.
    Traffic {
        at_ms: i64,
        traffic: Box<traffic::RealTraffic>,
    },
}

impl Observation {
    /// When it was made (ms since the epoch): a request's answer when it arrived, a read when
    /// it was read.
    pub fn at_ms(&self) -> i64 {
        match self {
            Self::Http(sample) => sample.started_ms + sample.latency_ms as i64,
            Self::HttpStarted { started_ms, .. } => *started_ms,
            Self::Ecs { at_ms, .. }
            | Self::Logs { at_ms, .. }
            | Self::Twilio { at_ms, .. }
            | Self::Changes { at_ms, .. }
            | Self::Network { at_ms, .. }
            | Self::Traffic { at_ms, .. } => *at_ms,
        }
    }
}

/// Twilio credentials as the service really uses them (or from the environment). Never
/// serialised; `Debug` shows the account SID's prefix only.
#[derive(Clone, PartialEq, Eq)]
pub struct TwilioCredentials {
    pub source: CredentialSource,
    pub account_sid: String,
    pub auth_token: String,
    pub verify_service_sid: Option<String>,
    /// The deployed `OTP_PROVIDER` (`twilio_verify`, `twilio_sms`, `stub`), when known.
    pub otp_provider: Option<String>,
    /// `OTP_FROM_NUMBER`: the number (or `MG…` Messaging Service) `twilio_sms` sends from.
    pub from_number: Option<String>,
}

impl TwilioCredentials {
    /// Whether the service sends its own SMS through the Messages API (`twilio_sms`).
    pub fn is_sms(&self) -> bool {
        self.otp_provider.as_deref() == Some("twilio_sms")
    }
}

impl std::fmt::Debug for TwilioCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioCredentials")
            .field("source", &self.source)
            .field("account_sid", &crate::redact::sid(&self.account_sid))
            .field("auth_token", &crate::redact::token(&self.auth_token))
            .field(
                "verify_service_sid",
                &self.verify_service_sid.as_deref().map(crate::redact::sid),
            )
            .field("otp_provider", &self.otp_provider)
            .field(
                "from_number",
                &self.from_number.as_deref().map(crate::redact::phone),
            )
            .finish()
    }
}

/// Where the console's Twilio credentials came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialSource {
    /// The deployed task definition's container environment.
    TaskDefinition,
    /// `TWILIO_ACCOUNT_SID` / `TWILIO_AUTH_TOKEN` in the console's environment.
    Environment,
}
