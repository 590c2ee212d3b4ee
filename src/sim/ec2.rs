//! Simulated EC2 (Query protocol, see [`super::query`]): the service's network as the console
//! reads it. No action is simulated yet: every one is answered `InvalidAction`, as AWS answers an
//! action it does not know.

use super::aws::AwsError;
use super::query::{invalid_action, QueryRequest, QueryService};
use super::world::World;

impl World {
    /// Handles one EC2 action, answering its XML document.
    pub fn ec2_handle(&mut self, request: &QueryRequest, _now: i64) -> Result<String, AwsError> {
        Err(invalid_action(QueryService::Ec2, &request.action))
    }
}
