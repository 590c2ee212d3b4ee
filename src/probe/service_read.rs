//! One DescribeServices answer for every probe that needs the service: the ECS probe (its
//! deployments), the network path (its subnets and security groups), the load balancer's
//! metrics (its target group) and CloudTrail's scope. Reads that overlap share one call (the
//! first makes it, the others wait for its answer), and an answer younger than [`MAX_AGE`] is
//! reused, so a round of the engine (`check` starts all four at once) calls DescribeServices
//! once instead of four times. Clones share the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use tokio::sync::Mutex;

use super::aws::call;
use super::{ProbeError, System};

/// How long the engine's shared read reuses an answer: a round's reads start within it, and
/// nothing shown is older.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// The last answer and when it came.
type Last = Option<(Instant, Result<DescribeServicesOutput, ProbeError>)>;

/// DescribeServices of one service, shared.
#[derive(Debug, Clone)]
pub struct ServiceRead {
    client: aws_sdk_ecs::Client,
    cluster: String,
    service: String,
    /// How long an answer is reused (zero: every read calls, overlapping ones still share).
    max_age: Duration,
    last: Arc<Mutex<Last>>,
}

impl ServiceRead {
    /// A read whose every call is fresh (a repair watching its own rollout needs that).
    pub fn new(sdk: &SdkConfig, cluster: &str, service: &str) -> Self {
        Self {
            client: aws_sdk_ecs::Client::new(sdk),
            cluster: cluster.to_owned(),
            service: service.to_owned(),
            max_age: Duration::ZERO,
            last: Arc::default(),
        }
    }

    /// The engine's: an answer is reused for [`MAX_AGE`].
    #[must_use]
    pub fn shared(mut self) -> Self {
        self.max_age = MAX_AGE;
        self
    }

    /// Whether it reads `service` of `cluster`.
    pub fn is_for(&self, cluster: &str, service: &str) -> bool {
        self.cluster == cluster && self.service == service
    }

    /// DescribeServices' answer: the one a read that overlaps or just ended got, else a new
    /// call's.
    pub async fn describe(&self) -> Result<DescribeServicesOutput, ProbeError> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = last.as_ref() {
            if at.elapsed() < self.max_age {
                return answer.clone();
            }
        }
        let answer = call(
            System::Ecs,
            "DescribeServices",
            self.client
                .describe_services()
                .cluster(&self.cluster)
                .services(&self.service)
                .send(),
        )
        .await;
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}
