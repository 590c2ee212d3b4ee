//! moto's server for the contract tests that run against it (`contract_aws.rs`,
//! `contract_probes.rs`): starting it, and seeding it through the AWS SDK with a scenario's
//! deployment: the cluster, the scenario's registrations as revisions, the service, and log
//! streams. Included next to `emulator.rs` (`emulator::moto` starts it).
//!
//! Revisions are registered with launch type EC2 and network mode `bridge`: the real service is
//! FARGATE/awsvpc, but an awsvpc service in moto needs its default VPC's subnet and security
//! group ids from EC2, and nothing the contract tests check depends on the network mode.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, LaunchType, NetworkMode, Secret, Tag,
    TaskDefinition,
};
use serde_json::Value;

/// A registration of the scenario (its `RegisterTaskDefinition` input), as plain maps: the first
/// container's image, environment and secrets (by `valueFrom`), and the tags.
#[derive(Debug, Clone)]
pub struct Registration {
    pub image: String,
    pub environment: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl Registration {
    pub fn of(registration: &Value) -> Self {
        let container = &registration["containerDefinitions"][0];
        let pairs = |list: &Value, key: &str, value: &str| -> BTreeMap<String, String> {
            list.as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    (
                        p[key].as_str().expect("name").to_owned(),
                        p[value].as_str().expect("value").to_owned(),
                    )
                })
                .collect()
        };
        Self {
            image: container["image"].as_str().expect("image").to_owned(),
            environment: pairs(&container["environment"], "name", "value"),
            secrets: pairs(&container["secrets"], "name", "valueFrom"),
            tags: pairs(&registration["tags"], "key", "value"),
        }
    }
}

/// Creates `cluster` and registers `revisions` in order as revisions of `family` (one container
/// named `container`, on EC2 with bridge networking), asserting that each gets its expected
/// number. Returns their task-definition ARNs, in the same order.
pub async fn seed_task_definitions(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    family: &str,
    container: &str,
    revisions: &[(i32, &Registration)],
) -> Vec<String> {
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("CreateCluster");
    let mut arns = Vec::new();
    for &(number, registration) in revisions {
        let registered = register(ecs, family, container, registration).await;
        assert_eq!(registered.revision(), number);
        arns.push(registered.task_definition_arn().expect("arn").to_owned());
    }
    arns
}

/// Registers `registration` as the next revision of `family`: one container on EC2 with bridge
/// networking.
async fn register(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    container: &str,
    registration: &Registration,
) -> TaskDefinition {
    let container = ContainerDefinition::builder()
        .name(container)
        .image(&registration.image)
        .memory(1024)
        .essential(true)
        .set_environment(Some(
            registration
                .environment
                .iter()
                .map(|(n, v)| KeyValuePair::builder().name(n).value(v).build())
                .collect(),
        ))
        .set_secrets(Some(
            registration
                .secrets
                .iter()
                .map(|(n, v)| {
                    Secret::builder()
                        .name(n)
                        .value_from(v)
                        .build()
                        .expect("secret")
                })
                .collect(),
        ))
        // As the ECS console writes it: the awslogs driver into /ecs/<family>.
        .log_configuration(
            aws_sdk_ecs::types::LogConfiguration::builder()
                .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
                .options("awslogs-group", format!("/ecs/{family}"))
                .options("awslogs-region", "us-east-1")
                .options("awslogs-stream-prefix", "ecs")
                .build()
                .expect("log configuration"),
        )
        .build();
    ecs.register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Bridge)
        .requires_compatibilities(Compatibility::Ec2)
        .container_definitions(container)
        .set_tags(Some(
            registration
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition
        .expect("task definition")
}

/// Creates `service` in `cluster` on `task_definition`, with launch type EC2.
pub async fn create_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    task_definition: &str,
    desired_count: i32,
) {
    ecs.create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(task_definition)
        .desired_count(desired_count)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("CreateService");
}

/// Creates the log group `group`.
pub async fn create_log_group(logs: &aws_sdk_cloudwatchlogs::Client, group: &str) {
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("CreateLogGroup");
}

/// Creates `stream` in `group` and writes `lines` (timestamp in milliseconds, message) to it.
pub async fn add_log_stream(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    lines: &[(i64, String)],
) {
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("CreateLogStream");
    put_log_events(logs, group, stream, lines).await;
}

/// Writes `lines` (timestamp in milliseconds, message) to the existing `stream` in `group`.
pub async fn put_log_events(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    lines: &[(i64, String)],
) {
    let events = lines
        .iter()
        .map(|(at, line)| {
            InputLogEvent::builder()
                .timestamp(*at)
                .message(line)
                .build()
                .expect("event")
        })
        .collect();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("PutLogEvents");
}
