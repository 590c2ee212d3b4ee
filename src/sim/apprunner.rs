//! Simulated App Runner (AWS JSON 1.0, `X-Amz-Target: AppRunner.<Operation>`): the scenario's
//! service as App Runner shows it, when the scenario has an `[apprunner]` section.
//!
//! App Runner runs the same backend the world runs: the service's image, its
//! `RuntimeEnvironmentVariables` and `RuntimeEnvironmentSecrets` are the deployed revision's
//! container image, `environment` and `secrets`; each deployment of the world is an operation
//! (`CREATE_SERVICE`, then `UPDATE_SERVICE`), its status the rollout's; a paused service has no
//! instance (the world's desired count is 0). Egress `DEFAULT` reaches the internet whatever the
//! VPC says; egress `VPC` goes through a VPC connector whose subnets and security groups are the
//! world's service network, so a revoked rule or a lost route blocks it as it blocks ECS tasks.
//! Answers: DescribeService, ListServices, ListOperations, DescribeVpcConnector; and the
//! repairs: UpdateService (the image configuration's variables and secrets, registered and
//! deployed as the world's next revision), StartDeployment, PauseService and ResumeService
//! (the world's desired count to 0 and back), each an operation that CloudTrail records.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::aws::{epoch, parse_body, AwsError};
use super::world::World;

/// `[apprunner]`: the scenario's service runs on App Runner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRunnerSetup {
    /// App Runner's id of the service: 32 hex digits.
    pub service_id: String,
    /// `DEFAULT` (the internet, directly) or `VPC` (through `vpc_connector`).
    #[serde(default = "default_egress")]
    pub egress: String,
    /// The VPC connector's name (egress `VPC`).
    #[serde(default)]
    pub vpc_connector: Option<String>,
    /// PauseService was called this long ago: the service is `PAUSED`, no instance runs.
    #[serde(default)]
    pub paused_minutes_ago: Option<f64>,
    /// The instance role: what the service reads its `RuntimeEnvironmentSecrets` with.
    #[serde(default)]
    pub instance_role: Option<String>,
}

fn default_egress() -> String {
    "DEFAULT".into()
}

/// One App Runner operation on the service.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    /// `CREATE_SERVICE`, `UPDATE_SERVICE`, `START_DEPLOYMENT`, `PAUSE_SERVICE`, `RESUME_SERVICE`.
    pub kind: &'static str,
    /// The world's deployment it started, when it started one.
    pub deployment: Option<String>,
    pub started_ms: i64,
    /// When App Runner rolled it back (its new instances did not start): `ROLLBACK_SUCCEEDED`.
    pub rolled_back_ms: Option<i64>,
}

/// The operation (`AppRunner.X`) of an `X-Amz-Target`.
pub fn operation(target: &str) -> Option<&str> {
    target.strip_prefix("AppRunner.")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceArnInput {
    service_arn: Option<String>,
    #[serde(default)]
    max_results: Option<usize>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConnectorInput {
    vpc_connector_arn: Option<String>,
}

impl World {
    fn apprunner(&self) -> Result<&AppRunnerSetup, AwsError> {
        self.scenario.apprunner.as_ref().ok_or_else(|| {
            AwsError::client(
                "ResourceNotFoundException",
                "This account has no App Runner service (the scenario runs on ECS).",
            )
        })
    }

    /// The service's ARN: `arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID`.
    pub fn apprunner_service_arn(&self) -> Option<String> {
        let setup = self.scenario.apprunner.as_ref()?;
        let d = &self.scenario.deployment;
        Some(format!(
            "arn:aws:apprunner:{}:{}:service/{}/{}",
            d.region, d.account_id, d.service, setup.service_id
        ))
    }

    fn connector_arn(&self, name: &str) -> String {
        let d = &self.scenario.deployment;
        let id = self
            .scenario
            .apprunner
            .as_ref()
            .map_or("", |s| &s.service_id);
        format!(
            "arn:aws:apprunner:{}:{}:vpcconnector/{name}/1/{}",
            d.region,
            d.account_id,
            id.chars().rev().collect::<String>()
        )
    }

    /// Whether the service's egress is App Runner's own (`DEFAULT`): the VPC is not on its path.
    pub fn apprunner_default_egress(&self) -> bool {
        self.scenario
            .apprunner
            .as_ref()
            .is_some_and(|s| s.egress == "DEFAULT")
    }

    /// Records the deployment `id` the world just started as App Runner's operation: the
    /// service's creation first, an update after.
    pub fn apprunner_deployed(&mut self, id: &str, now: i64) {
        if self.scenario.apprunner.is_none() {
            return;
        }
        let op = Operation {
            id: self.uuid(),
            kind: if self.apprunner_ops.is_empty() {
                "CREATE_SERVICE"
            } else {
                "UPDATE_SERVICE"
            },
            deployment: Some(id.to_owned()),
            started_ms: now,
            rolled_back_ms: None,
        };
        self.apprunner_ops.push(op);
    }

    /// App Runner fails an operation whose new instances do not start (a secret the instance
    /// role may not read, a crash at startup) and rolls back to the configuration before it:
    /// the previous instances never stopped serving. Whether `deployment` was rolled back (a
    /// service's creation has nothing to roll back to: ECS's behaviour then stands).
    pub(super) fn apprunner_roll_back(&mut self, deployment: &str, now: i64) -> bool {
        if self.scenario.apprunner.is_none() || self.service.deployments.len() < 2 {
            return false;
        }
        let Some(at) = self
            .service
            .deployments
            .iter()
            .position(|d| d.id == deployment && d.status == "PRIMARY")
        else {
            return false;
        };
        self.service.deployments.remove(at);
        let Some(previous) = self.service.deployments.first_mut() else {
            return false;
        };
        previous.status = "PRIMARY";
        previous.updated_ms = now;
        let keep = previous.id.clone();
        self.stop_tasks_outside(&keep, now);
        for op in &mut self.apprunner_ops {
            if op.deployment.as_deref() == Some(deployment) {
                op.rolled_back_ms = Some(now);
            }
        }
        true
    }

    /// Records a pause the scenario says happened.
    pub fn seed_apprunner(&mut self, now: i64) {
        let Some(setup) = self.scenario.apprunner.clone() else {
            return;
        };
        if let Some(minutes) = setup.paused_minutes_ago {
            let op = Operation {
                id: self.uuid(),
                kind: "PAUSE_SERVICE",
                deployment: None,
                started_ms: now - (minutes * 60_000.0) as i64,
                rolled_back_ms: None,
            };
            self.apprunner_ops.push(op);
        }
    }

    /// Handles one App Runner operation.
    pub fn apprunner_handle(&mut self, op: &str, body: &[u8], now: i64) -> Result<Value, AwsError> {
        // An account without App Runner services lists none.
        if op == "ListServices" && self.scenario.apprunner.is_none() {
            return Ok(json!({ "ServiceSummaryList": [] }));
        }
        self.apprunner()?;
        match op {
            "DescribeService" => {
                let input: ServiceArnInput = parse_body(body)?;
                self.check_service_arn(input.service_arn.as_deref())?;
                Ok(json!({ "Service": self.apprunner_service_json(now) }))
            }
            "ListServices" => {
                let s = self.apprunner_service_json(now);
                let keys = [
                    "ServiceName",
                    "ServiceId",
                    "ServiceArn",
                    "ServiceUrl",
                    "CreatedAt",
                    "UpdatedAt",
                    "Status",
                ];
                let summary: Map<String, Value> = keys
                    .iter()
                    .filter_map(|k| Some(((*k).to_owned(), s.get(*k)?.clone())))
                    .collect();
                Ok(json!({ "ServiceSummaryList": [summary] }))
            }
            "ListOperations" => {
                let input: ServiceArnInput = parse_body(body)?;
                self.check_service_arn(input.service_arn.as_deref())?;
                Ok(self.list_operations(input.max_results, input.next_token.as_deref()))
            }
            "DescribeVpcConnector" => {
                let input: ConnectorInput = parse_body(body)?;
                self.describe_vpc_connector(input.vpc_connector_arn.as_deref())
            }
            "PauseService" | "ResumeService" | "StartDeployment" | "UpdateService" => {
                let input: Value = parse_body(body)?;
                self.check_service_arn(input.get("ServiceArn").and_then(Value::as_str))?;
                let id = self.apprunner_mutate(op, &input, now)?;
                let mut out = json!({ "OperationId": id });
                if op != "StartDeployment" {
                    out["Service"] = self.apprunner_service_json(now);
                }
                Ok(out)
            }
            _ => Err(AwsError::client(
                "InvalidRequestException",
                format!("The simulated App Runner does not implement {op}"),
            )),
        }
    }

    /// Applies one repair; the id of the operation it started.
    fn apprunner_mutate(&mut self, op: &str, input: &Value, now: i64) -> Result<String, AwsError> {
        let status = self.apprunner_status();
        // StartDeployment declares no InvalidStateException: App Runner answers it with
        // InvalidRequestException.
        let kind = if op == "StartDeployment" {
            "InvalidRequestException"
        } else {
            "InvalidStateException"
        };
        let invalid = |why: &str| Err(AwsError::client(kind, why));
        match (op, status) {
            ("PauseService", "PAUSED") => return invalid("The service is already paused."),
            ("ResumeService", s) if s != "PAUSED" => {
                return invalid("The service is not paused: only a paused service can be resumed.")
            }
            ("PauseService" | "StartDeployment" | "UpdateService", "OPERATION_IN_PROGRESS") => {
                return invalid("An operation is in progress on the service: wait for it to end.")
            }
            ("StartDeployment" | "UpdateService", "PAUSED") => {
                return invalid("The service is paused: resume it first.")
            }
            _ => {}
        }
        let primary = self.primary_td();
        match op {
            "PauseService" | "ResumeService" => {
                let desired = u32::from(op != "PauseService");
                self.service.desired = desired;
                for d in &mut self.service.deployments {
                    if d.status == "PRIMARY" {
                        d.desired = desired;
                    }
                }
                self.scale_primary(now);
                let kind = if op == "PauseService" {
                    "PAUSE_SERVICE"
                } else {
                    "RESUME_SERVICE"
                };
                let id = self.uuid();
                self.apprunner_ops.push(Operation {
                    id: id.clone(),
                    kind,
                    deployment: None,
                    started_ms: now,
                    rolled_back_ms: None,
                });
                return Ok(id);
            }
            "UpdateService" => {
                let td = self.registered_update(primary, input, now)?;
                self.deploy(td, now);
            }
            _ => self.deploy(primary.unwrap_or_default(), now),
        }
        let last = self.apprunner_ops.last_mut().ok_or_else(|| {
            AwsError::client("InternalServiceErrorException", "no operation recorded")
        })?;
        if op == "StartDeployment" {
            last.kind = "START_DEPLOYMENT";
        }
        Ok(last.id.clone())
    }

    /// UpdateService's image configuration as the world's next revision: the deployed one with
    /// the service's container's image, `environment` (the whole `RuntimeEnvironmentVariables`
    /// map, as App Runner replaces it) and `secrets` as given ([`World::register`] drops the
    /// read-only fields the stored revision carries).
    fn registered_update(
        &mut self,
        primary: Option<usize>,
        input: &Value,
        now: i64,
    ) -> Result<usize, AwsError> {
        let Some(mut td) = primary
            .and_then(|td| self.task_defs.get(td))
            .map(|t| t.json.clone())
        else {
            return Err(AwsError::client(
                "InvalidStateException",
                "The service has no deployed configuration.",
            ));
        };
        let image = &input["SourceConfiguration"]["ImageRepository"];
        let config = &image["ImageConfiguration"];
        let own = self.scenario.deployment.container.clone();
        if let Some(containers) = td["containerDefinitions"].as_array_mut() {
            let at = containers
                .iter()
                .position(|c| c["name"] == own.as_str())
                .unwrap_or(0);
            let container = &mut containers[at];
            if let Some(id) = image["ImageIdentifier"].as_str() {
                container["image"] = json!(id);
            }
            for (member, list, key) in [
                ("RuntimeEnvironmentVariables", "environment", "value"),
                ("RuntimeEnvironmentSecrets", "secrets", "valueFrom"),
            ] {
                if let Some(map) = config[member].as_object() {
                    container[list] = map
                        .iter()
                        .map(|(name, value)| json!({ "name": name, key: value }))
                        .collect();
                }
            }
        }
        let by = format!(
            "arn:aws:iam::{}:user/otp-console",
            self.scenario.deployment.account_id
        );
        self.register(&td, &by, now)
    }

    fn check_service_arn(&self, arn: Option<&str>) -> Result<(), AwsError> {
        let Some(arn) = arn else {
            return Err(AwsError::client(
                "InvalidRequestException",
                "1 validation error detected: Value null at 'serviceArn' failed to satisfy constraint: Member must not be null",
            ));
        };
        if Some(arn) == self.apprunner_service_arn().as_deref() {
            return Ok(());
        }
        Err(AwsError::client(
            "ResourceNotFoundException",
            format!("Resource not found: {arn}"),
        ))
    }

    /// `PAUSED`, `OPERATION_IN_PROGRESS` while a deployment rolls out, else `RUNNING`.
    fn apprunner_status(&self) -> &'static str {
        let paused = self
            .apprunner_ops
            .iter()
            .rev()
            .find(|o| matches!(o.kind, "PAUSE_SERVICE" | "RESUME_SERVICE"))
            .is_some_and(|o| o.kind == "PAUSE_SERVICE");
        if paused {
            "PAUSED"
        } else if self
            .apprunner_ops
            .iter()
            .any(|o| self.operation_status(o) == "IN_PROGRESS")
        {
            "OPERATION_IN_PROGRESS"
        } else {
            "RUNNING"
        }
    }

    /// An operation's status: a deployment's, from its rollout; the others done at once.
    fn operation_status(&self, op: &Operation) -> &'static str {
        if op.rolled_back_ms.is_some() {
            return "ROLLBACK_SUCCEEDED";
        }
        let Some(id) = &op.deployment else {
            // A resume ends once an instance serves again.
            if op.kind == "RESUME_SERVICE" && !self.apprunner_serving() {
                return "IN_PROGRESS";
            }
            return "SUCCEEDED";
        };
        match self.service.deployments.iter().find(|d| &d.id == id) {
            // A deployment of a service paused since has nothing left to roll out.
            Some(d) if d.rollout_state == "IN_PROGRESS" && self.service.desired > 0 => {
                "IN_PROGRESS"
            }
            Some(d) if d.rollout_state == "FAILED" => "FAILED",
            _ => "SUCCEEDED",
        }
    }

    /// The revision the PRIMARY deployment runs: the service's configuration now.
    fn primary_td(&self) -> Option<usize> {
        self.service
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
            .map(|d| d.td)
    }

    /// Whether a task of the primary deployment runs healthy.
    fn apprunner_serving(&self) -> bool {
        let Some(primary) = self
            .service
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
        else {
            return false;
        };
        self.tasks.iter().any(|t| {
            t.deployment_id == primary.id && t.last_status == "RUNNING" && t.health == "HEALTHY"
        })
    }

    fn list_operations(&self, max: Option<usize>, token: Option<&str>) -> Value {
        let skip = token.and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
        let max = max.unwrap_or(20).clamp(1, 20);
        let mut ops: Vec<&Operation> = self.apprunner_ops.iter().collect();
        ops.sort_by_key(|o| std::cmp::Reverse(o.started_ms));
        let arn = self.apprunner_service_arn().unwrap_or_default();
        let page: Vec<Value> = ops
            .iter()
            .skip(skip)
            .take(max)
            .map(|o| {
                let status = self.operation_status(o);
                let ended = o.rolled_back_ms.unwrap_or_else(|| {
                    o.deployment
                        .as_ref()
                        .and_then(|id| self.service.deployments.iter().find(|d| &d.id == id))
                        .map_or(o.started_ms + 60_000, |d| d.updated_ms)
                });
                let mut v = json!({
                    "Id": o.id,
                    "Type": o.kind,
                    "Status": status,
                    "TargetArn": arn,
                    "StartedAt": epoch(o.started_ms),
                    "UpdatedAt": epoch(ended),
                });
                if status != "IN_PROGRESS" {
                    v["EndedAt"] = epoch(ended);
                }
                v
            })
            .collect();
        let mut out = json!({ "OperationSummaryList": page });
        if skip + max < ops.len() {
            out["NextToken"] = json!((skip + max).to_string());
        }
        out
    }

    /// The service as DescribeService answers it.
    pub fn apprunner_service_json(&self, now: i64) -> Value {
        let Some(setup) = self.scenario.apprunner.as_ref() else {
            return Value::Null;
        };
        let d = &self.scenario.deployment;
        let primary = self.primary_td();
        let container = primary
            .and_then(|td| self.task_defs.get(td))
            .and_then(|td| td.container(&d.container));
        let env: Map<String, Value> = pairs(container, "environment", "value");
        let secrets: Map<String, Value> = pairs(container, "secrets", "valueFrom");
        let image = container
            .and_then(|c| c.get("image"))
            .cloned()
            .unwrap_or_default();
        let mut egress = json!({ "EgressType": setup.egress });
        if let Some(name) = &setup.vpc_connector {
            egress["VpcConnectorArn"] = json!(self.connector_arn(name));
        }
        let mut instance = json!({ "Cpu": "1024", "Memory": "2048" });
        if let Some(role) = &setup.instance_role {
            instance["InstanceRoleArn"] = json!(role);
        }
        let updated = self
            .apprunner_ops
            .iter()
            .map(|o| o.started_ms)
            .max()
            .unwrap_or(now);
        json!({
            "ServiceName": d.service,
            "ServiceId": setup.service_id,
            "ServiceArn": self.apprunner_service_arn(),
            "ServiceUrl": format!("{}.{}.awsapprunner.com", &setup.service_id[..10.min(setup.service_id.len())], d.region),
            "CreatedAt": epoch(self.service.created_ms),
            "UpdatedAt": epoch(updated),
            "Status": self.apprunner_status(),
            "SourceConfiguration": {
                "ImageRepository": {
                    "ImageIdentifier": image,
                    "ImageConfiguration": {
                        "RuntimeEnvironmentVariables": env,
                        "RuntimeEnvironmentSecrets": secrets,
                        "Port": "8000",
                    },
                    "ImageRepositoryType": "ECR",
                },
                "AutoDeploymentsEnabled": false,
                "AuthenticationConfiguration": {
                    "AccessRoleArn": format!("arn:aws:iam::{}:role/service-role/AppRunnerECRAccessRole", d.account_id),
                },
            },
            "InstanceConfiguration": instance,
            "HealthCheckConfiguration": {
                "Protocol": "HTTP", "Path": "/health", "Interval": 10, "Timeout": 5,
                "HealthyThreshold": 1, "UnhealthyThreshold": 5,
            },
            "AutoScalingConfigurationSummary": {
                "AutoScalingConfigurationArn": format!("arn:aws:apprunner:{}:{}:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001", d.region, d.account_id),
                "AutoScalingConfigurationName": "DefaultConfiguration",
                "AutoScalingConfigurationRevision": 1,
                "Status": "ACTIVE",
                "IsDefault": true,
            },
            "NetworkConfiguration": {
                "EgressConfiguration": egress,
                "IngressConfiguration": { "IsPubliclyAccessible": true },
                "IpAddressType": "IPV4",
            },
            "ObservabilityConfiguration": { "ObservabilityEnabled": false },
        })
    }

    fn describe_vpc_connector(&self, arn: Option<&str>) -> Result<Value, AwsError> {
        let name = self
            .scenario
            .apprunner
            .as_ref()
            .and_then(|s| s.vpc_connector.clone());
        let found = name.filter(|n| arn == Some(self.connector_arn(n).as_str()));
        let Some(name) = found else {
            return Err(AwsError::client(
                "ResourceNotFoundException",
                format!("Resource not found: {}", arn.unwrap_or("null")),
            ));
        };
        Ok(json!({ "VpcConnector": {
            "VpcConnectorName": name,
            "VpcConnectorArn": self.connector_arn(&name),
            "VpcConnectorRevision": 1,
            "Subnets": self.network.service.subnets,
            "SecurityGroups": self.network.service.security_groups,
            "Status": "ACTIVE",
            "CreatedAt": epoch(self.service.created_ms),
        }}))
    }
}

/// A container's `[{name, KEY}]` list as App Runner's `{name: KEY}` map.
fn pairs(container: Option<&Map<String, Value>>, list: &str, key: &str) -> Map<String, Value> {
    container
        .and_then(|c| c.get(list))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e.get("name")?.as_str()?.to_owned(), e.get(key)?.clone())))
        .collect()
}
