//! The ECS probe (aws-sdk-ecs, aws-config's normal credential chain, `endpoint_url`
//! honoured): the service (deployments, rollout state, counts, recent events), the deployed
//! task definition with tags, its container `environment` and `secrets` checked against the
//! env-var rules, the previous revision and the difference between the two, running and
//! recently stopped tasks with their stop reasons. Values are masked here, before they leave.

use serde::Serialize;

use crate::config::VarCheck;

/// Everything one ECS read saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub service: Service,
    pub deployed: TaskDefinition,
    pub previous: Option<TaskDefinition>,
    /// What changed from `previous` to `deployed`.
    pub diff: Vec<Change>,
    /// The env-var rules evaluated on the deployed revision, in rule order.
    pub checks: Vec<VarCheck>,
    pub tasks: Vec<Task>,
}

/// The service as DescribeServices showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    /// The PRIMARY deployment's task definition ARN.
    pub task_definition: String,
    pub deployments: Vec<Deployment>,
    /// Newest first, at most 20.
    pub events: Vec<ServiceEvent>,
}

/// One deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEvent {
    pub at_ms: i64,
    pub message: String,
}

/// A task-definition revision, its first container's variables masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskDefinition {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    pub image: String,
    pub registered_ms: Option<i64>,
    pub registered_by: Option<String>,
    pub environment: Vec<EnvVar>,
    pub secrets: Vec<SecretRef>,
    pub tags: Vec<(String, String)>,
}

/// One `environment` entry, as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    /// Masked by [`crate::redact::env_value`].
    pub display: String,
    /// A hash of the real value, so a diff can say "changed" without showing it.
    pub fingerprint: u64,
}

/// One `secrets` entry: where the value comes from, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    pub name: String,
    pub value_from: String,
}

/// One difference between two revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// A task of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
