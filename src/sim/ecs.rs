//! Simulated Amazon ECS: the JSON 1.1 operations the console and the runbook use
//! (`AmazonEC2ContainerServiceV20141113.*`), and the scheduler behind them. A deployment rolls
//! out over simulated time: new tasks start, run the backend's startup with the revision's
//! environment, pass or fail it; old tasks stop once the new ones are healthy (or at once with
//! `minimumHealthyPercent` 0); failing tasks are replaced with back-off, and the circuit
//! breaker, when enabled, fails (and rolls back) the deployment. Errors use ECS's `__type`s.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::aws::{epoch, parse_body, AwsError};
use super::backend::{self, TaskRuntime};
use super::world::{timing, Action, Deployment, Task, TaskDefinition, World};

/// Fields DescribeTaskDefinition adds that RegisterTaskDefinition does not take.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

impl World {
    /// Answers one ECS operation.
    pub fn ecs_handle(
        &mut self,
        operation: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Value, AwsError> {
        self.advance_to(now);
        match operation {
            "DescribeTaskDefinition" => self.describe_task_definition(parse_body(body)?),
            "ListTaskDefinitions" => Ok(self.list_task_definitions(parse_body(body)?)),
            "RegisterTaskDefinition" => {
                let input: Value = parse_body(body)?;
                let by = format!(
                    "arn:aws:iam::{}:user/otp-console",
                    self.scenario.deployment.account_id
                );
                let index = self.register(&input, &by, now)?;
                let td = &self.task_defs[index];
                Ok(json!({ "taskDefinition": td.json, "tags": td.tags }))
            }
            "DescribeServices" => self.describe_services(parse_body(body)?),
            "UpdateService" => self.update_service(parse_body(body)?, now),
            "ListServices" => {
                let input: ClusterOnly = parse_body(body)?;
                let cluster = self.known_cluster(input.cluster.as_deref())?;
                let mut arns = Vec::new();
                // On App Runner the world's service is App Runner's, not an ECS service.
                if cluster == self.scenario.deployment.cluster && self.scenario.apprunner.is_none()
                {
                    arns.push(self.service.arn.clone());
                }
                arns.extend(self.neighbour_arns(&cluster));
                Ok(json!({ "serviceArns": arns }))
            }
            "ListTasks" => self.list_tasks(parse_body(body)?),
            "DescribeTasks" => self.describe_tasks(parse_body(body)?),
            "DescribeClusters" => Ok(self.describe_clusters(parse_body(body)?)),
            "ListContainerInstances" => self.list_container_instances(parse_body(body)?),
            "DescribeContainerInstances" => self.describe_container_instances(parse_body(body)?),
            "ListClusters" => Ok(json!({ "clusterArns": self.cluster_arns() })),
            other => Err(AwsError::client(
                "UnknownOperationException",
                format!("The operation {other} is not supported by this endpoint."),
            )),
        }
    }

    /// The deployed (primary) revision's `networkMode`: `awsvpc`, `bridge` or `host` (ECS's
    /// default, `bridge`, when the revision names none).
    pub fn network_mode(&self) -> String {
        let td = self
            .service
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
            .map(|d| &self.task_defs[d.td]);
        td.and_then(|t| t.json.get("networkMode"))
            .and_then(Value::as_str)
            .unwrap_or("bridge")
            .to_owned()
    }

    fn is_awsvpc(&self) -> bool {
        self.network_mode() == "awsvpc"
    }

    /// A container instance's ARN.
    fn container_instance_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:ecs:{}:{}:container-instance/{}/{id}",
            self.scenario.deployment.region,
            self.scenario.deployment.account_id,
            self.scenario.deployment.cluster
        )
    }

    /// The container instance a task runs on (bridge/host networking): spread over the
    /// cluster's instances by the task's id, so a task stays where it was placed.
    fn placement(&self, task: &Task) -> Option<String> {
        if self.task_defs[task.td]
            .json
            .get("networkMode")
            .and_then(Value::as_str)
            == Some("awsvpc")
        {
            return None;
        }
        let instances: Vec<&super::ec2::InstanceSetup> = self.network.instances.values().collect();
        if instances.is_empty() {
            return None;
        }
        let n = task.id.bytes().map(usize::from).sum::<usize>() % instances.len();
        Some(self.container_instance_arn(&instances[n].container_instance))
    }

    fn list_container_instances(&self, input: ClusterOnly) -> Result<Value, AwsError> {
        self.check_cluster(input.cluster.as_deref())?;
        let arns: Vec<String> = self
            .network
            .instances
            .values()
            .map(|i| self.container_instance_arn(&i.container_instance))
            .collect();
        Ok(json!({ "containerInstanceArns": arns }))
    }

    fn describe_container_instances(
        &self,
        input: DescribeContainerInstancesInput,
    ) -> Result<Value, AwsError> {
        self.check_cluster(input.cluster.as_deref())?;
        if input.container_instances.is_empty() || input.container_instances.len() > 100 {
            return Err(AwsError::invalid_parameter(
                "containerInstances must contain between 1 and 100 items.",
            ));
        }
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for reference in &input.container_instances {
            let hit = self.network.instances.iter().find(|(_, i)| {
                reference == &i.container_instance
                    || reference == &self.container_instance_arn(&i.container_instance)
            });
            let Some((ec2_id, i)) = hit else {
                let arn = if reference.starts_with("arn:") {
                    reference.clone()
                } else {
                    self.container_instance_arn(reference)
                };
                failures.push(json!({ "arn": arn, "reason": "MISSING" }));
                continue;
            };
            let arn = self.container_instance_arn(&i.container_instance);
            let on_it = |status: &str| {
                self.tasks
                    .iter()
                    .filter(|t| t.last_status == status)
                    .filter(|t| self.placement(t).as_deref() == Some(arn.as_str()))
                    .count()
            };
            let resources = |cpu: i64, memory: i64| {
                json!([
                    { "name": "CPU", "type": "INTEGER", "integerValue": cpu },
                    { "name": "MEMORY", "type": "INTEGER", "integerValue": memory },
                    { "name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"] },
                ])
            };
            found.push(json!({
                "containerInstanceArn": arn,
                "ec2InstanceId": ec2_id,
                "version": 12,
                "versionInfo": { "agentVersion": "1.89.1", "agentHash": "4aa1e1c1", "dockerVersion": "DockerVersion: 25.0.6" },
                "status": "ACTIVE",
                "agentConnected": true,
                "runningTasksCount": on_it("RUNNING"),
                "pendingTasksCount": on_it("PENDING") + on_it("PROVISIONING"),
                "registeredResources": resources(2048, 3904),
                "remainingResources": resources(1536, 2880),
                "attributes": [
                    { "name": "ecs.instance-type", "value": i.instance_type },
                    { "name": "ecs.ami-id", "value": i.image_id },
                    { "name": "ecs.availability-zone", "value": self.network.subnets.get(&i.subnet).map(|s| s.availability_zone.clone()) },
                    { "name": "ecs.os-type", "value": "linux" },
                ],
                "registeredAt": epoch(self.service.created_ms),
                "attachments": [],
                "tags": [],
            }));
        }
        Ok(json!({ "containerInstances": found, "failures": failures }))
    }

    /// Registers a revision from a RegisterTaskDefinition input; returns its index.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    pub fn register(
        &mut self,
        input: &Value,
        registered_by: &str,
        now: i64,
    ) -> Result<usize, AwsError> {
        let Some(fields) = input.as_object() else {
            return Err(AwsError::serialization(
                "Start of structure or map found where not expected.",
            ));
        };
        let family = fields
            .get("family")
            .and_then(Value::as_str)
            .ok_or_else(|| AwsError::client("ClientException", "Family is required."))?
            .to_owned();
        if family.is_empty()
            || family.len() > 255
            || !family
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(AwsError::client(
                "ClientException",
                "Family contains invalid characters. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.",
            ));
        }
        let containers = fields
            .get("containerDefinitions")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                AwsError::client("ClientException", "Container definitions are required.")
            })?;
        let mut names = Vec::new();
        for container in containers {
            let name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if name.is_empty() {
                return Err(AwsError::client(
                    "ClientException",
                    "Container.name should not be null or empty.",
                ));
            }
            if container
                .get("image")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(AwsError::client(
                    "ClientException",
                    "Container.image should not be null or empty.",
                ));
            }
            if names.contains(&name) {
                return Err(AwsError::client(
                    "ClientException",
                    format!("Duplicate container name found: {name}."),
                ));
            }
            names.push(name);
        }
        let revision = self
            .task_defs
            .iter()
            .filter(|td| td.family == family)
            .map(|td| td.revision)
            .max()
            .map_or_else(
                || {
                    if family == self.scenario.yesterday.task_definition["family"] {
                        self.scenario.deployment.first_revision
                    } else {
                        1
                    }
                },
                |r| r + 1,
            );
        let arn = format!(
            "arn:aws:ecs:{}:{}:task-definition/{family}:{revision}",
            self.scenario.deployment.region, self.scenario.deployment.account_id
        );
        let mut td: Map<String, Value> = fields
            .iter()
            .filter(|(k, _)| *k != "tags" && !READ_ONLY_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let requires = td
            .get("requiresCompatibilities")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut compatibilities = vec![json!("EC2")];
        if requires.iter().any(|r| r == "FARGATE") {
            compatibilities.push(json!("FARGATE"));
        }
        let mut attributes = vec![
            json!({ "name": "com.amazonaws.ecs.capability.docker-remote-api.1.18" }),
            json!({ "name": "ecs.capability.task-eni" }),
        ];
        if containers.iter().any(|c| {
            c.get("secrets")
                .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()))
        }) {
            attributes.push(json!({ "name": "ecs.capability.secrets.asm.environment-variables" }));
        }
        if containers
            .iter()
            .any(|c| c["logConfiguration"]["logDriver"] == "awslogs")
        {
            attributes
                .push(json!({ "name": "com.amazonaws.ecs.capability.logging-driver.awslogs" }));
        }
        td.insert("taskDefinitionArn".into(), json!(arn));
        td.insert("revision".into(), json!(revision));
        td.insert("status".into(), json!("ACTIVE"));
        td.insert("requiresAttributes".into(), Value::Array(attributes));
        td.insert("compatibilities".into(), Value::Array(compatibilities));
        td.insert("registeredAt".into(), epoch(now));
        td.insert("registeredBy".into(), json!(registered_by));
        td.entry("volumes").or_insert_with(|| json!([]));
        td.entry("placementConstraints")
            .or_insert_with(|| json!([]));
        let tags = fields.get("tags").cloned().unwrap_or_else(|| json!([]));
        self.task_defs.push(TaskDefinition {
            family,
            revision,
            arn,
            json: Value::Object(td),
            tags,
            is_active: true,
        });
        Ok(self.task_defs.len() - 1)
    }

    /// Finds a revision by family, `family:revision` or ARN (the latest ACTIVE for a family).
    pub fn find_task_definition(&self, reference: &str) -> Option<usize> {
        let reference = reference
            .rsplit("task-definition/")
            .next()
            .unwrap_or(reference);
        let (family, revision) = match reference.rsplit_once(':') {
            Some((family, rev)) => (family, Some(rev.parse::<u32>().ok()?)),
            None => (reference, None),
        };
        self.task_defs
            .iter()
            .enumerate()
            .filter(|(_, td)| td.family == family)
            .filter(|(_, td)| revision.map_or(td.is_active, |r| td.revision == r))
            .max_by_key(|(_, td)| td.revision)
            .map(|(i, _)| i)
    }

    fn describe_task_definition(
        &self,
        input: DescribeTaskDefinitionInput,
    ) -> Result<Value, AwsError> {
        let Some(index) = self.find_task_definition(&input.task_definition) else {
            return match self.neighbour_task_definition(&input.task_definition)? {
                Some(td) => Ok(json!({ "taskDefinition": td })),
                None => Err(AwsError::client(
                    "ClientException",
                    "Unable to describe task definition.",
                )),
            };
        };
        let td = &self.task_defs[index];
        let mut out = json!({ "taskDefinition": td.json });
        if input.include.iter().any(|i| i == "TAGS") {
            out["tags"] = td.tags.clone();
        }
        Ok(out)
    }

    fn list_task_definitions(&self, input: ListTaskDefinitionsInput) -> Value {
        let mut tds: Vec<&TaskDefinition> = self
            .task_defs
            .iter()
            .filter(|td| {
                input
                    .family_prefix
                    .as_ref()
                    .is_none_or(|p| td.family.starts_with(p.as_str()))
            })
            .filter(|td| match input.status.as_deref() {
                Some("INACTIVE") => !td.is_active,
                Some("ALL") => true,
                _ => td.is_active,
            })
            .collect();
        tds.sort_by(|a, b| (a.family.as_str(), a.revision).cmp(&(b.family.as_str(), b.revision)));
        if input.sort.as_deref() == Some("DESC") {
            tds.reverse();
        }
        let start: usize = input
            .next_token
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let max = input.max_results.unwrap_or(100).clamp(1, 100);
        let page: Vec<&str> = tds
            .iter()
            .skip(start)
            .take(max)
            .map(|td| td.arn.as_str())
            .collect();
        let mut out = json!({ "taskDefinitionArns": page });
        if start + max < tds.len() {
            out["nextToken"] = json!((start + max).to_string());
        }
        out
    }

    fn check_cluster(&self, cluster: Option<&str>) -> Result<(), AwsError> {
        let cluster = cluster.unwrap_or("default");
        if cluster == self.scenario.deployment.cluster || cluster == self.service.cluster_arn {
            Ok(())
        } else {
            Err(AwsError::client(
                "ClusterNotFoundException",
                "Cluster not found.",
            ))
        }
    }

    fn is_our_service(&self, reference: &str) -> bool {
        reference == self.service.name || reference == self.service.arn
    }

    fn describe_services(&self, input: DescribeServicesInput) -> Result<Value, AwsError> {
        let cluster = self.known_cluster(input.cluster.as_deref())?;
        let ours = cluster == self.scenario.deployment.cluster;
        if input.services.is_empty() || input.services.len() > 10 {
            return Err(AwsError::invalid_parameter(
                "services must contain between 1 and 10 items.",
            ));
        }
        let mut services = Vec::new();
        let mut failures = Vec::new();
        for reference in &input.services {
            if ours && self.is_our_service(reference) {
                services.push(self.service_json());
            } else if let Some(service) = self.neighbour_json(&cluster, reference) {
                services.push(service);
            } else {
                let arn = if reference.starts_with("arn:") {
                    reference.clone()
                } else {
                    format!(
                        "arn:aws:ecs:{}:{}:service/{cluster}/{reference}",
                        self.scenario.deployment.region, self.scenario.deployment.account_id,
                    )
                };
                failures.push(json!({ "arn": arn, "reason": "MISSING" }));
            }
        }
        Ok(json!({ "services": services, "failures": failures }))
    }

    fn count_tasks(&self, deployment: &str, status: &str) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.deployment_id == deployment && t.last_status == status)
            .count()
    }

    /// The service as DescribeServices returns it.
    pub fn service_json(&self) -> Value {
        let service = &self.service;
        let awsvpc = self.is_awsvpc();
        let launch_type = if awsvpc { "FARGATE" } else { "EC2" };
        let primary = service.deployments.iter().find(|d| d.status == "PRIMARY");
        let deployments: Vec<Value> = service
            .deployments
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "status": d.status,
                    "taskDefinition": self.task_defs[d.td].arn,
                    "desiredCount": d.desired,
                    "pendingCount": self.count_tasks(&d.id, "PENDING") + self.count_tasks(&d.id, "PROVISIONING"),
                    "runningCount": self.count_tasks(&d.id, "RUNNING"),
                    "failedTasks": d.failed_tasks,
                    "createdAt": epoch(d.created_ms),
                    "updatedAt": epoch(d.updated_ms),
                    "launchType": launch_type,
                    "platformVersion": "1.4.0",
                    "platformFamily": "Linux",
                    "rolloutState": d.rollout_state,
                    "rolloutStateReason": d.rollout_reason,
                })
            })
            .collect();
        let running = self
            .tasks
            .iter()
            .filter(|t| t.last_status == "RUNNING")
            .count();
        let pending = self
            .tasks
            .iter()
            .filter(|t| t.last_status == "PENDING" || t.last_status == "PROVISIONING")
            .count();
        let events: Vec<Value> = service
            .events
            .iter()
            .map(|e| json!({ "id": e.id, "createdAt": epoch(e.created_ms), "message": e.message }))
            .collect();
        let mut out = json!({
            "serviceArn": service.arn,
            "serviceName": service.name,
            "clusterArn": service.cluster_arn,
            "loadBalancers": [{
                "targetGroupArn": super::elbv2::target_group_arn(self),
                "containerName": self.scenario.deployment.container,
                "containerPort": super::elbv2::TARGET_PORT,
            }],
            "serviceRegistries": [],
            "status": "ACTIVE",
            "desiredCount": service.desired,
            "runningCount": running,
            "pendingCount": pending,
            "launchType": launch_type,
            "platformVersion": "LATEST",
            "platformFamily": "Linux",
            "taskDefinition": primary.map_or("", |d| self.task_defs[d.td].arn.as_str()),
            "deploymentConfiguration": service.deployment_configuration,
            "deployments": deployments,
            "roleArn": format!("arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS", self.scenario.deployment.account_id),
            "events": events,
            "createdAt": epoch(service.created_ms),
            "placementConstraints": [],
            "placementStrategy": [],
            "networkConfiguration": { "awsvpcConfiguration": {
                "subnets": self.network.service.subnets,
                "securityGroups": self.network.service.security_groups,
                "assignPublicIp": if self.network.service.assign_public_ip { "ENABLED" } else { "DISABLED" }
            }},
            "healthCheckGracePeriodSeconds": 0,
            "schedulingStrategy": "REPLICA",
            "deploymentController": { "type": "ECS" },
            "createdBy": format!("arn:aws:iam::{}:role/deploy", self.scenario.deployment.account_id),
            "enableECSManagedTags": false,
            "propagateTags": "NONE",
            "enableExecuteCommand": false,
        });
        if !awsvpc {
            // EC2 launch type with bridge/host networking: no awsvpcConfiguration, and no
            // Fargate platform.
            if let Some(o) = out.as_object_mut() {
                for key in ["networkConfiguration", "platformVersion", "platformFamily"] {
                    o.remove(key);
                }
            }
            if let Some(ds) = out["deployments"].as_array_mut() {
                for d in ds.iter_mut().filter_map(Value::as_object_mut) {
                    d.remove("platformVersion");
                    d.remove("platformFamily");
                }
            }
        }
        out
    }

    fn update_service(&mut self, input: UpdateServiceInput, now: i64) -> Result<Value, AwsError> {
        self.check_cluster(input.cluster.as_deref())?;
        if !self.is_our_service(&input.service) {
            return Err(AwsError::client(
                "ServiceNotFoundException",
                "Service not found.",
            ));
        }
        if let Some(desired) = input.desired_count {
            self.service.desired = desired;
            for d in &mut self.service.deployments {
                if d.status == "PRIMARY" {
                    d.desired = desired;
                }
            }
        }
        let current = self
            .service
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
            .map(|d| d.td);
        let target = match input.task_definition.as_deref() {
            Some(reference) => Some(self.find_task_definition(reference).ok_or_else(|| {
                AwsError::client(
                    "ClientException",
                    format!("TaskDefinition not found: {reference}"),
                )
            })?),
            None => None,
        };
        match (target, current) {
            (Some(td), Some(cur)) if td != cur => self.deploy(td, now),
            (Some(td), None) => self.deploy(td, now),
            (_, Some(cur)) if input.force_new_deployment => self.deploy(cur, now),
            _ => self.scale_primary(now),
        }
        Ok(json!({ "service": self.service_json() }))
    }

    /// Starts a new PRIMARY deployment of revision `td`.
    pub fn deploy(&mut self, td: usize, now: i64) {
        let id = format!(
            "ecs-svc/{:019}",
            self.rng.next_u64() % 10_000_000_000_000_000_000
        );
        for d in &mut self.service.deployments {
            if d.status == "PRIMARY" {
                d.status = "ACTIVE";
                d.updated_ms = now;
            }
        }
        self.service.deployments.insert(
            0,
            Deployment {
                id: id.clone(),
                status: "PRIMARY",
                td,
                desired: self.service.desired,
                failed_tasks: 0,
                created_ms: now,
                updated_ms: now,
                rollout_state: "IN_PROGRESS",
                rollout_reason: "ECS deployment in progress.".into(),
            },
        );
        self.apprunner_deployed(&id, now);
        let min_healthy = self.service.deployment_configuration["minimumHealthyPercent"]
            .as_u64()
            .unwrap_or(100);
        // App Runner keeps the previous instances serving until the new ones are healthy.
        if min_healthy == 0 && self.scenario.apprunner.is_none() {
            self.stop_tasks_outside(&id, now);
        }
        let started: Vec<String> = (0..self.service.desired)
            .map(|_| self.launch(&id, td, now))
            .collect();
        if !started.is_empty() {
            self.service_event(now, started_message(&started));
        }
    }

    pub(super) fn scale_primary(&mut self, now: i64) {
        let Some(primary) = self
            .service
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
            .cloned()
        else {
            return;
        };
        let live: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| t.deployment_id == primary.id && t.desired_status == "RUNNING")
            .map(|t| t.id.clone())
            .collect();
        let desired = primary.desired as usize;
        if live.len() < desired {
            let started: Vec<String> = (live.len()..desired)
                .map(|_| self.launch(&primary.id, primary.td, now))
                .collect();
            self.service_event(now, started_message(&started));
        } else if live.len() > desired {
            let extra = &live[desired..];
            for id in extra {
                self.stop_task(
                    id,
                    now,
                    "Scaling activity initiated by (deployment ".to_owned() + &primary.id + ")",
                    "ServiceSchedulerInitiated",
                    None,
                );
            }
            self.service_event(now, stopped_message(extra));
        }
    }

    /// Launches one task of deployment `deployment`; returns its id.
    fn launch(&mut self, deployment: &str, td: usize, now: i64) -> String {
        let id = self.rng.hex(32);
        let arn = format!(
            "arn:aws:ecs:{}:{}:task/{}/{id}",
            self.scenario.deployment.region,
            self.scenario.deployment.account_id,
            self.scenario.deployment.cluster
        );
        self.tasks.push(Task {
            id: id.clone(),
            arn,
            deployment_id: deployment.to_owned(),
            td,
            last_status: "PROVISIONING",
            desired_status: "RUNNING",
            health: "UNKNOWN",
            created_ms: now,
            started_ms: None,
            stopped_ms: None,
            stopped_reason: None,
            stop_code: None,
            exit_code: None,
            runtime: None,
        });
        // ECS keeps stopped tasks visible for a while; keep the newest 100 of them.
        let stopped = self
            .tasks
            .iter()
            .filter(|t| t.last_status == "STOPPED")
            .count();
        if stopped > 100 {
            if let Some(oldest) = self.tasks.iter().position(|t| t.last_status == "STOPPED") {
                self.tasks.remove(oldest);
            }
        }
        self.schedule(now, timing::START_SECS, Action::TaskRunning(id.clone()));
        id
    }

    fn stop_task(
        &mut self,
        id: &str,
        now: i64,
        reason: String,
        code: &'static str,
        exit: Option<i32>,
    ) {
        let Some(task) = self
            .tasks
            .iter_mut()
            .find(|t| t.id == id && t.last_status != "STOPPED")
        else {
            return;
        };
        let was_running = task.runtime.is_some();
        task.last_status = "STOPPED";
        task.desired_status = "STOPPED";
        task.stopped_ms = Some(now);
        task.stopped_reason = Some(reason);
        task.stop_code = Some(code);
        task.exit_code = exit.or(Some(0));
        task.runtime = None;
        if was_running && exit.is_none() {
            let lines = backend::shutdown_lines();
            self.log_lines(id, now, &lines);
        }
    }

    pub(super) fn stop_tasks_outside(&mut self, deployment: &str, now: i64) {
        let ids: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| t.deployment_id != deployment && t.last_status != "STOPPED")
            .map(|t| t.id.clone())
            .collect();
        for id in &ids {
            self.stop_task(
                id,
                now,
                format!("Scaling activity initiated by (deployment {deployment})"),
                "ServiceSchedulerInitiated",
                None,
            );
        }
        if !ids.is_empty() {
            self.service_event(now, stopped_message(&ids));
        }
    }

    /// Runs one due agenda action.
    pub fn apply(&mut self, action: Action, now: i64) {
        match action {
            Action::TaskRunning(id) => self.task_running(&id, now),
            Action::TaskExited(id, code) => self.task_exited(&id, code, now),
            Action::TaskHealthy(id) => {
                let Some(task) = self
                    .tasks
                    .iter_mut()
                    .find(|t| t.id == id && t.last_status == "RUNNING")
                else {
                    return;
                };
                task.health = "HEALTHY";
                let deployment = task.deployment_id.clone();
                self.check_rollout(&deployment, now);
            }
            Action::Launch(deployment) => {
                let Some(d) = self
                    .service
                    .deployments
                    .iter()
                    .find(|d| {
                        d.id == deployment
                            && d.status == "PRIMARY"
                            && d.rollout_state == "IN_PROGRESS"
                    })
                    .cloned()
                else {
                    return;
                };
                let live = self
                    .tasks
                    .iter()
                    .filter(|t| t.deployment_id == d.id && t.desired_status == "RUNNING")
                    .count();
                if live < d.desired as usize {
                    let id = self.launch(&d.id, d.td, now);
                    self.service_event(now, started_message(&[id]));
                }
            }
        }
    }

    fn task_running(&mut self, id: &str, now: i64) {
        let Some(td) = self
            .tasks
            .iter()
            .find(|t| t.id == id && t.last_status != "STOPPED")
            .map(|t| t.td)
        else {
            return;
        };
        let env = match self.resolve_env(td, now) {
            Ok(env) => env,
            Err(reason) => {
                self.stop_task(id, now, reason, "TaskFailedToStart", Some(1));
                self.after_failure(id, now);
                return;
            }
        };
        let image = self.task_defs[td]
            .container(&self.scenario.deployment.container)
            .and_then(|c| c.get("image"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let behaviour = self.scenario.images.get(&image).cloned();
        let stream = self.stream_of(id);
        let started = backend::startup(&env, behaviour.is_some());
        let runtime = TaskRuntime::new(id.to_owned(), stream, env, behaviour);
        if let Some(task) = self.tasks.iter_mut().find(|t| t.id == id) {
            task.last_status = "RUNNING";
            task.started_ms = Some(now);
            task.runtime = Some(std::sync::Arc::new(runtime));
        }
        match started {
            Ok(lines) => {
                self.log_lines(id, now, &lines);
                self.schedule(
                    now,
                    timing::HEALTHY_SECS,
                    Action::TaskHealthy(id.to_owned()),
                );
            }
            Err(lines) => {
                self.log_lines(id, now, &lines);
                self.schedule(now, timing::EXIT_SECS, Action::TaskExited(id.to_owned(), 1));
            }
        }
    }

    fn task_exited(&mut self, id: &str, code: i32, now: i64) {
        self.stop_task(
            id,
            now,
            "Essential container in task exited".into(),
            "EssentialContainerExited",
            Some(code),
        );
        self.after_failure(id, now);
    }

    /// A task of a deployment failed: count it, trip the circuit breaker or launch a
    /// replacement after a back-off that doubles per failure.
    fn after_failure(&mut self, id: &str, now: i64) {
        let Some(deployment) = self
            .tasks
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.deployment_id.clone())
        else {
            return;
        };
        if self.apprunner_roll_back(&deployment, now) {
            return;
        }
        let breaker = self.service.deployment_configuration["deploymentCircuitBreaker"].clone();
        let Some(d) = self
            .service
            .deployments
            .iter_mut()
            .find(|d| d.id == deployment)
        else {
            return;
        };
        d.failed_tasks += 1;
        d.updated_ms = now;
        let failed = d.failed_tasks;
        let is_primary = d.status == "PRIMARY";
        if breaker["enable"] == true && failed >= 3 {
            d.rollout_state = "FAILED";
            d.rollout_reason = "ECS deployment circuit breaker: tasks failed to start.".into();
            let message =
                format!("(deployment {deployment}) deployment failed: tasks failed to start.");
            self.service_event(now, message);
            if breaker["rollback"] == true {
                if let Some(previous) = self
                    .service
                    .deployments
                    .iter()
                    .find(|d| d.id != deployment)
                    .map(|d| d.td)
                {
                    self.deploy(previous, now);
                }
            }
            return;
        }
        if failed % 3 == 0 {
            self.service_event(
                now,
                "is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.".into(),
            );
        }
        if is_primary {
            let backoff = (timing::RELAUNCH_SECS
                * 2f64.powi(failed.saturating_sub(1).min(10) as i32))
            .min(timing::RELAUNCH_MAX_SECS);
            self.schedule(now, backoff, Action::Launch(deployment));
        }
    }

    /// Completes the PRIMARY deployment once its healthy tasks reach the desired count.
    fn check_rollout(&mut self, deployment: &str, now: i64) {
        let Some(d) = self
            .service
            .deployments
            .iter()
            .find(|d| {
                d.id == deployment && d.status == "PRIMARY" && d.rollout_state == "IN_PROGRESS"
            })
            .cloned()
        else {
            return;
        };
        let healthy = self
            .tasks
            .iter()
            .filter(|t| {
                t.deployment_id == d.id && t.last_status == "RUNNING" && t.health == "HEALTHY"
            })
            .count();
        if healthy < d.desired as usize {
            return;
        }
        self.stop_tasks_outside(&d.id, now);
        self.service.deployments.retain(|x| x.id == d.id);
        if let Some(primary) = self.service.deployments.first_mut() {
            primary.rollout_state = "COMPLETED";
            primary.rollout_reason = format!("ECS deployment {} completed.", d.id);
            primary.updated_ms = now;
        }
        self.service_event(now, format!("(deployment {}) deployment completed.", d.id));
        self.service_event(now, "has reached a steady state.".into());
    }

    fn list_tasks(&self, input: ListTasksInput) -> Result<Value, AwsError> {
        self.check_cluster(input.cluster.as_deref())?;
        if let Some(service) = &input.service_name {
            if !self.is_our_service(service) {
                return Err(AwsError::client(
                    "ServiceNotFoundException",
                    "Service not found.",
                ));
            }
        }
        let want = input.desired_status.as_deref().unwrap_or("RUNNING");
        let arns: Vec<&str> = self
            .tasks
            .iter()
            .filter(|t| t.desired_status == want)
            .filter(|t| {
                input
                    .family
                    .as_ref()
                    .is_none_or(|f| &self.task_defs[t.td].family == f)
            })
            .map(|t| t.arn.as_str())
            .collect();
        let start: usize = input
            .next_token
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let max = input.max_results.unwrap_or(100).clamp(1, 100);
        let mut out = json!({ "taskArns": arns.iter().skip(start).take(max).collect::<Vec<_>>() });
        if start + max < arns.len() {
            out["nextToken"] = json!((start + max).to_string());
        }
        Ok(out)
    }

    fn describe_tasks(&self, input: DescribeTasksInput) -> Result<Value, AwsError> {
        self.check_cluster(input.cluster.as_deref())?;
        if input.tasks.is_empty() || input.tasks.len() > 100 {
            return Err(AwsError::invalid_parameter("Tasks cannot be empty."));
        }
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        for reference in &input.tasks {
            match self
                .tasks
                .iter()
                .find(|t| &t.arn == reference || &t.id == reference)
            {
                Some(task) => tasks.push(self.task_json(task)),
                None => failures.push(json!({ "arn": reference, "reason": "MISSING" })),
            }
        }
        Ok(json!({ "tasks": tasks, "failures": failures }))
    }

    fn task_json(&self, task: &Task) -> Value {
        let td = &self.task_defs[task.td];
        let container = td.container(&self.scenario.deployment.container);
        let name = container
            .and_then(|c| c.get("name"))
            .cloned()
            .unwrap_or(Value::Null);
        let image = container
            .and_then(|c| c.get("image"))
            .cloned()
            .unwrap_or(Value::Null);
        let mut container_json = json!({
            "containerArn": format!("{}/{}", task.arn.replace(":task/", ":container/"), name.as_str().unwrap_or_default()),
            "taskArn": task.arn,
            "name": name,
            "image": image,
            "lastStatus": task.last_status,
            "healthStatus": task.health,
            "networkInterfaces": [],
            "cpu": "0",
        });
        if let Some(code) = task.exit_code {
            container_json["exitCode"] = json!(code);
        }
        let mut out = json!({
            "taskArn": task.arn,
            "clusterArn": self.service.cluster_arn,
            "taskDefinitionArn": td.arn,
            "group": format!("service:{}", self.service.name),
            "startedBy": task.deployment_id,
            "lastStatus": task.last_status,
            "desiredStatus": task.desired_status,
            "healthStatus": task.health,
            "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "cpu": td.json["cpu"],
            "memory": td.json["memory"],
            "createdAt": epoch(task.created_ms),
            "availabilityZone": format!("{}a", self.scenario.deployment.region),
            "connectivity": "CONNECTED",
            "containers": [container_json],
            "version": 3,
            "tags": [],
        });
        if let Some(instance) = self.placement(task) {
            out["launchType"] = json!("EC2");
            out["containerInstanceArn"] = json!(instance);
            if let Some(o) = out.as_object_mut() {
                o.remove("platformVersion");
                o.remove("platformFamily");
            }
        }
        if let Some(started) = task.started_ms {
            out["startedAt"] = epoch(started);
            out["pullStartedAt"] = epoch(started - 5_000);
        }
        if let Some(stopped) = task.stopped_ms {
            out["stoppingAt"] = epoch(stopped);
            out["stoppedAt"] = epoch(stopped);
            out["executionStoppedAt"] = epoch(stopped);
        }
        if let Some(reason) = &task.stopped_reason {
            out["stoppedReason"] = json!(reason);
        }
        if let Some(code) = task.stop_code {
            out["stopCode"] = json!(code);
        }
        out
    }

    fn describe_clusters(&self, input: DescribeClustersInput) -> Value {
        let mut clusters = Vec::new();
        let mut failures = Vec::new();
        let wanted = if input.clusters.is_empty() {
            vec!["default".to_owned()]
        } else {
            input.clusters
        };
        for c in wanted {
            if self.check_cluster(Some(&c)).is_ok() {
                let running = self
                    .tasks
                    .iter()
                    .filter(|t| t.last_status == "RUNNING")
                    .count();
                clusters.push(json!({
                    "clusterArn": self.service.cluster_arn,
                    "clusterName": self.scenario.deployment.cluster,
                    "status": "ACTIVE",
                    "runningTasksCount": running,
                    "pendingTasksCount": 0,
                    "activeServicesCount": 1,
                    "registeredContainerInstancesCount": self.network.instances.len(),
                }));
            } else {
                failures.push(json!({ "arn": c, "reason": "MISSING" }));
            }
        }
        json!({ "clusters": clusters, "failures": failures })
    }
}

fn started_message(ids: &[String]) -> String {
    let tasks: Vec<String> = ids.iter().map(|id| format!("(task {id})")).collect();
    format!("has started {} tasks: {}.", ids.len(), tasks.join(" "))
}

fn stopped_message(ids: &[String]) -> String {
    let tasks: Vec<String> = ids.iter().map(|id| format!("(task {id})")).collect();
    format!(
        "has stopped {} running tasks: {}.",
        ids.len(),
        tasks.join(" ")
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeTaskDefinitionInput {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListTaskDefinitionsInput {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterOnly {
    cluster: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeServicesInput {
    cluster: Option<String>,
    #[serde(default)]
    services: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateServiceInput {
    cluster: Option<String>,
    service: String,
    desired_count: Option<u32>,
    task_definition: Option<String>,
    #[serde(default)]
    force_new_deployment: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListTasksInput {
    cluster: Option<String>,
    service_name: Option<String>,
    family: Option<String>,
    desired_status: Option<String>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeTasksInput {
    cluster: Option<String>,
    #[serde(default)]
    tasks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeContainerInstancesInput {
    cluster: Option<String>,
    #[serde(default)]
    container_instances: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeClustersInput {
    #[serde(default)]
    clusters: Vec<String>,
}
