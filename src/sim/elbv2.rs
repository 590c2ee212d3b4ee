//! Simulated Elastic Load Balancing v2 (Query protocol, see [`super::query`]): the service's load
//! balancer and target group as the console reads them. No action is simulated yet: every one is
//! answered `InvalidAction`, as AWS answers an action it does not know.

use super::aws::AwsError;
use super::query::{invalid_action, QueryRequest, QueryService};
use super::world::World;

impl World {
    /// Handles one ELBv2 action, answering its XML document.
    pub fn elbv2_handle(&mut self, request: &QueryRequest, _now: i64) -> Result<String, AwsError> {
        Err(invalid_action(QueryService::Elbv2, &request.action))
    }
}
