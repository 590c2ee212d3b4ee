//! The account's other ECS services: what `otp-console init` lists and passes over (a worker,
//! a cron task, the backend's staging copy). Each runs one task of its one revision and
//! never changes; ListClusters, ListServices, DescribeServices and DescribeTaskDefinition
//! answer for them as for the scenario's own service. Nothing else of the world sees them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::aws::AwsError;
use super::world::World;

/// `[[neighbours]]`: one other service of the account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighbourSetup {
    pub cluster: String,
    pub service: String,
    /// Its container's name (the family is the service's name).
    pub container: String,
    pub image: String,
    /// The container's plain variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Its `secrets`: name → `valueFrom`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Its `awslogs-group`.
    pub log_group: String,
}

impl NeighbourSetup {
    fn family(&self) -> &str {
        &self.service
    }
}

fn pairs(map: &BTreeMap<String, String>, key: &str) -> Vec<Value> {
    map.iter()
        .map(|(name, value)| json!({ "name": name, key: value }))
        .collect()
}

impl World {
    fn arn(&self, kind: &str, name: &str) -> String {
        let d = &self.scenario.deployment;
        format!("arn:aws:ecs:{}:{}:{kind}/{name}", d.region, d.account_id)
    }

    /// Every cluster's ARN: the service's, then the other services' (each once).
    pub(super) fn cluster_arns(&self) -> Vec<String> {
        let mut arns = vec![self.service.cluster_arn.clone()];
        for n in &self.scenario.neighbours {
            let arn = self.arn("cluster", &n.cluster);
            if !arns.contains(&arn) {
                arns.push(arn);
            }
        }
        arns
    }

    /// The cluster a reference (name or ARN) names, if the account has it.
    pub(super) fn known_cluster(&self, reference: Option<&str>) -> Result<String, AwsError> {
        let reference = reference.unwrap_or("default");
        let name = reference.rsplit('/').next().unwrap_or(reference);
        self.cluster_arns()
            .into_iter()
            .find(|arn| arn == reference || arn.rsplit('/').next() == Some(name))
            .map(|arn| arn.rsplit('/').next().unwrap_or_default().to_owned())
            .ok_or_else(|| AwsError::client("ClusterNotFoundException", "Cluster not found."))
    }

    /// The other services of `cluster` (its name).
    pub(super) fn neighbours_in(&self, cluster: &str) -> Vec<&NeighbourSetup> {
        self.scenario
            .neighbours
            .iter()
            .filter(|n| n.cluster == cluster)
            .collect()
    }

    fn neighbour_service_arn(&self, n: &NeighbourSetup) -> String {
        self.arn("service", &format!("{}/{}", n.cluster, n.service))
    }

    /// ListServices' ARNs of the other services of `cluster`.
    pub(super) fn neighbour_arns(&self, cluster: &str) -> Vec<String> {
        self.neighbours_in(cluster)
            .into_iter()
            .map(|n| self.neighbour_service_arn(n))
            .collect()
    }

    /// The other service of `cluster` a reference (name or ARN) names, as DescribeServices
    /// answers it.
    pub(super) fn neighbour_json(&self, cluster: &str, reference: &str) -> Option<Value> {
        let n = self
            .neighbours_in(cluster)
            .into_iter()
            .find(|n| n.service == reference || self.neighbour_service_arn(n) == reference)?;
        let td = self.arn("task-definition", &format!("{}:1", n.family()));
        let created = self.service.created_ms as f64 / 1000.0;
        Some(json!({
            "serviceArn": self.neighbour_service_arn(n),
            "serviceName": n.service,
            "clusterArn": self.arn("cluster", &n.cluster),
            "loadBalancers": [],
            "serviceRegistries": [],
            "status": "ACTIVE",
            "desiredCount": 1,
            "runningCount": 1,
            "pendingCount": 0,
            "launchType": "FARGATE",
            "taskDefinition": td,
            "deployments": [{
                "id": format!("ecs-svc/{:019}", n.service.len() * 7_919),
                "status": "PRIMARY",
                "taskDefinition": td,
                "desiredCount": 1,
                "pendingCount": 0,
                "runningCount": 1,
                "failedTasks": 0,
                "createdAt": created,
                "updatedAt": created,
                "launchType": "FARGATE",
                "rolloutState": "COMPLETED",
                "rolloutStateReason": "ECS deployment completed.",
            }],
            "events": [],
            "createdAt": created,
            "schedulingStrategy": "REPLICA",
            "deploymentController": { "type": "ECS" },
        }))
    }

    /// The other services' one revision each, as DescribeTaskDefinition answers it.
    pub(super) fn neighbour_task_definition(
        &self,
        reference: &str,
    ) -> Result<Option<Value>, AwsError> {
        let reference = reference
            .rsplit("task-definition/")
            .next()
            .unwrap_or(reference);
        let (family, revision) = reference.split_once(':').unwrap_or((reference, "1"));
        let Some(n) = self
            .scenario
            .neighbours
            .iter()
            .find(|n| n.family() == family)
        else {
            return Ok(None);
        };
        if revision != "1" {
            return Err(AwsError::client(
                "ClientException",
                "Unable to describe task definition.",
            ));
        }
        let d = &self.scenario.deployment;
        Ok(Some(json!({
            "taskDefinitionArn": self.arn("task-definition", &format!("{family}:1")),
            "family": family,
            "revision": 1,
            "status": "ACTIVE",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "compatibilities": ["EC2", "FARGATE"],
            "cpu": "256",
            "memory": "512",
            "executionRoleArn": format!("arn:aws:iam::{}:role/{}-execution", d.account_id, n.service),
            "containerDefinitions": [{
                "name": n.container,
                "image": n.image,
                "essential": true,
                "cpu": 0,
                "environment": pairs(&n.environment, "value"),
                "secrets": pairs(&n.secrets, "valueFrom"),
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": n.log_group,
                        "awslogs-region": d.region,
                        "awslogs-stream-prefix": "ecs",
                    },
                },
            }],
        })))
    }
}
