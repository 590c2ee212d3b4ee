//! CloudTrail's event history (`LookupEvents`), read for what changed on the service's
//! resources over a window (48 h by default): ECS (RegisterTaskDefinition,
//! DeregisterTaskDefinition, UpdateService, CreateService) on the service and its task
//! definition family, Secrets Manager and SSM on the secrets and parameters the deployed
//! revision reads, EC2 network changes on the service's security groups, subnets and route
//! tables, IAM policy changes on its execution and task roles.
//!
//! One lookup attribute per call is all LookupEvents takes, so the probe asks for the account's
//! write events (`ReadOnly=false`) over the window, page by page, and keeps those that touch a
//! resource of the [`Scope`]. LookupEvents allows 2 calls per second per account and region:
//! pages are paced at least [`MIN_INTERVAL`] apart (the SDK's own retry covers a throttle caused
//! by someone else's calls), and at most [`MAX_PAGES`] are read (the answer then says it was
//! truncated). An operator who may not call it gets one line saying which permission is missing.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::aws::call;
use super::changes::{mask_parameters, Change, Changes, Origin};
use super::ecs::Snapshot;
use super::service_read::ServiceRead;
use super::{ProbeError, System};
use crate::redact;

/// At most 2 LookupEvents calls per second: one every 500 ms, with a margin.
pub const MIN_INTERVAL: Duration = Duration::from_millis(550);
/// Pages of 50 read at most per lookup (2,000 write events of the account).
pub const MAX_PAGES: usize = 40;

/// The mutations the timeline shows, by event source.
pub const MUTATIONS: &[(&str, &[&str])] = &[
    (
        "ecs.amazonaws.com",
        &[
            "RegisterTaskDefinition",
            "DeregisterTaskDefinition",
            "UpdateService",
            "CreateService",
        ],
    ),
    (
        "secretsmanager.amazonaws.com",
        &[
            "PutSecretValue",
            "UpdateSecret",
            "RotateSecret",
            "DeleteSecret",
            "RestoreSecret",
        ],
    ),
    ("ssm.amazonaws.com", &["PutParameter", "DeleteParameter"]),
    (
        "apprunner.amazonaws.com",
        &[
            "UpdateService",
            "StartDeployment",
            "PauseService",
            "ResumeService",
        ],
    ),
    (
        "ec2.amazonaws.com",
        &[
            "RevokeSecurityGroupEgress",
            "AuthorizeSecurityGroupEgress",
            "DeleteNatGateway",
            "DeleteRoute",
            "ReplaceRoute",
            "ReplaceNetworkAclEntry",
            "DisassociateRouteTable",
        ],
    ),
    (
        "iam.amazonaws.com",
        &["DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy"],
    ),
];

/// The service's resources: what a change must touch to be shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub cluster: String,
    pub service: String,
    /// The task definition family.
    pub family: String,
    /// Secrets Manager secrets the deployed revision reads: their names, without the
    /// 6-character suffix (CloudTrail names a secret by ARN or by name).
    pub secrets: Vec<String>,
    /// SSM parameter names.
    pub parameters: Vec<String>,
    /// Role names: the execution role (from the snapshot) and the task role ([`CloudTrailProbe::complete`]).
    pub roles: Vec<String>,
    /// Security group, subnet, route table, NAT gateway and network ACL ids.
    pub network: Vec<String>,
}

impl Scope {
    /// The resources of the deployed revision and its service.
    pub fn from_snapshot(snapshot: &Snapshot, cluster: &str) -> Self {
        let deployed = &snapshot.deployed;
        let mut scope = Self {
            cluster: cluster.to_owned(),
            service: snapshot.service.name.clone(),
            family: deployed.family.clone(),
            ..Self::default()
        };
        for r in &snapshot.secrets {
            let from = super::secrets::ValueFrom::parse(&r.value_from);
            match from.store {
                super::secrets::Store::SecretsManager => {
                    let name = from.id.rsplit(":secret:").next().unwrap_or(&from.id);
                    let name = match name.rsplit_once('-') {
                        Some((base, suffix)) if suffix.len() == 6 => base,
                        _ => name,
                    };
                    scope.secrets.push(name.to_owned());
                }
                super::secrets::Store::Ssm => scope.parameters.push(from.id.clone()),
            }
        }
        if let Some(role) = &deployed.execution_role {
            scope
                .roles
                .push(role.rsplit('/').next().unwrap_or(role).to_owned());
        }
        scope.secrets.dedup();
        scope
    }

    /// Whether an event touches one of these resources.
    fn touches(&self, source: &str, resources: &[String], parameters: &Value) -> bool {
        let text = parameters.to_string();
        let any = |needle: &str| {
            !needle.is_empty()
                && (resources.iter().any(|r| r.contains(needle)) || text.contains(needle))
        };
        match source {
            "ecs.amazonaws.com" => {
                let family = format!("task-definition/{}:", self.family);
                let service = format!("/{}", self.service);
                resources
                    .iter()
                    .any(|r| r.contains(&family) || r.ends_with(&service) || *r == self.service)
                    || str_at(parameters, "family") == Some(self.family.as_str())
                    || str_at(parameters, "service")
                        .is_some_and(|s| s == self.service || s.ends_with(&service))
            }
            "secretsmanager.amazonaws.com" => self.secrets.iter().any(|s| any(s)),
            "ssm.amazonaws.com" => self.parameters.iter().any(|p| {
                str_at(parameters, "name") == Some(p.as_str())
                    || resources
                        .iter()
                        .any(|r| r == p || r.ends_with(&format!("parameter{p}")))
            }),
            "iam.amazonaws.com" => self
                .roles
                .iter()
                .any(|r| str_at(parameters, "roleName") == Some(r.as_str())),
            "ec2.amazonaws.com" => self.network.iter().any(|id| any(id)),
            // App Runner names the service by ARN: `…:service/NAME/ID`.
            "apprunner.amazonaws.com" => any(&format!("service/{}/", self.service)),
            _ => false,
        }
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The CloudTrail reader: one SDK client and the time of its last call, shared by clones so
/// the console's schedule and a manual refresh never make more than 2 calls a second together.
#[derive(Debug, Clone)]
pub struct CloudTrailProbe {
    client: aws_sdk_cloudtrail::Client,
    ecs: aws_sdk_ecs::Client,
    last_call: Arc<Mutex<Option<Instant>>>,
    /// The service read shared with the other probes of a round, when the engine gives one.
    described: Option<ServiceRead>,
}

impl CloudTrailProbe {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_cloudtrail::Client::new(sdk),
            ecs: aws_sdk_ecs::Client::new(sdk),
            last_call: Arc::default(),
            described: None,
        }
    }

    /// Reads the service through `described`, shared with the other probes of a round.
    #[must_use]
    pub fn sharing(mut self, described: ServiceRead) -> Self {
        self.described = Some(described);
        self
    }

    /// The changes to `scope`'s resources from `since_ms` to `now_ms`, newest first.
    pub async fn lookup(
        &self,
        scope: &Scope,
        since_ms: i64,
        now_ms: i64,
    ) -> Result<Changes, ProbeError> {
        let mut out = Changes {
            since_ms,
            ..Changes::default()
        };
        let mut token: Option<String> = None;
        for page in 0.. {
            if page == MAX_PAGES {
                out.truncated = true;
                break;
            }
            self.pace().await;
            let request = self
                .client
                .lookup_events()
                .lookup_attributes(
                    LookupAttribute::builder()
                        .attribute_key(LookupAttributeKey::ReadOnly)
                        .attribute_value("false")
                        .build()
                        .map_err(|e| bad_request(&e.to_string()))?,
                )
                .start_time(aws_smithy_types_time(since_ms))
                .end_time(aws_smithy_types_time(now_ms))
                .max_results(50)
                .set_next_token(token.take())
                .send();
            let answer = call(System::CloudTrail, "LookupEvents", request).await?;
            for event in answer.events() {
                if let Some(change) = change_of(event, scope) {
                    out.changes.push(change);
                }
            }
            match answer.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        out.changes.sort_by_key(|c| std::cmp::Reverse(c.at_ms));
        Ok(out)
    }

    /// What the ECS snapshot does not carry: the service's network resources (its
    /// `awsvpcConfiguration` subnets and security groups, for the EC2 changes that may cut it
    /// off) and the deployed revision's task role (for IAM changes), added to `scope`.
    /// Nothing is added when ECS does not say: the lookup still runs on the rest.
    pub async fn complete(&self, scope: &mut Scope, cluster: &str, service: &str) {
        let shared = self
            .described
            .as_ref()
            .filter(|d| d.is_for(cluster, service));
        let answer = if let Some(described) = shared {
            described.describe().await
        } else {
            let request = self
                .ecs
                .describe_services()
                .cluster(cluster)
                .services(service)
                .send();
            call(System::Ecs, "DescribeServices", request).await
        };
        let Ok(answer) = answer else {
            return;
        };
        let Some(found) = answer.services().first() else {
            return;
        };
        if let Some(c) = found
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
        {
            scope
                .network
                .extend(c.subnets().iter().chain(c.security_groups()).cloned());
        }
        let Some(arn) = found.task_definition() else {
            return;
        };
        let request = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .send();
        if let Ok(td) = call(System::Ecs, "DescribeTaskDefinition", request).await {
            if let Some(role) = td.task_definition().and_then(|t| t.task_role_arn()) {
                let name = role.rsplit('/').next().unwrap_or(role).to_owned();
                if !scope.roles.contains(&name) {
                    scope.roles.push(name);
                }
            }
        }
    }

    /// Waits until [`MIN_INTERVAL`] has passed since the previous call.
    async fn pace(&self) {
        let mut last = self.last_call.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + MIN_INTERVAL).await;
        }
        *last = Some(Instant::now());
    }
}

fn aws_smithy_types_time(ms: i64) -> aws_sdk_cloudtrail::primitives::DateTime {
    aws_sdk_cloudtrail::primitives::DateTime::from_millis(ms)
}

fn bad_request(message: &str) -> ProbeError {
    ProbeError {
        system: System::CloudTrail,
        kind: super::ErrorKind::Api,
        code: None,
        message: format!("CloudTrail LookupEvents: request not built ({message})"),
    }
}

/// One LookupEvents event as a [`Change`], when it is a mutation the timeline shows on one of
/// `scope`'s resources.
fn change_of(event: &aws_sdk_cloudtrail::types::Event, scope: &Scope) -> Option<Change> {
    let source = event.event_source()?;
    let name = event.event_name()?;
    let shown = MUTATIONS
        .iter()
        .any(|(s, names)| *s == source && names.contains(&name));
    if !shown {
        return None;
    }
    let record: Value = event
        .cloud_trail_event()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let parameters = record
        .get("requestParameters")
        .cloned()
        .unwrap_or(Value::Null);
    let resources: Vec<String> = event
        .resources()
        .iter()
        .filter_map(|r| r.resource_name().map(str::to_owned))
        .collect();
    if !scope.touches(source, &resources, &parameters) {
        return None;
    }
    let who = record
        .pointer("/userIdentity/arn")
        .and_then(Value::as_str)
        .or(event.username())
        .unwrap_or("unknown principal");
    let user_agent = record.get("userAgent").and_then(Value::as_str);
    let service = source.trim_end_matches(".amazonaws.com");
    let resource = short_resource(resources.first().map_or("", String::as_str), &parameters);
    Some(Change {
        at_ms: event.event_time().map_or(0, |t| t.to_millis().unwrap_or(0)),
        origin: Origin::Cloudtrail,
        service: service.to_owned(),
        action: redact::sanitize(name),
        resource: redact::free_text(&resource),
        who: redact::free_text(who),
        user_agent: user_agent.map(redact::free_text),
        summary: redact::free_text(&if source == "apprunner.amazonaws.com" {
            apprunner_summary(name, resources.first().map_or("", String::as_str))
        } else {
            summary(name, &resource, &parameters)
        }),
        parameters: Some(mask_parameters(&parameters)),
        id: redact::sanitize(event.event_id().unwrap_or_default()),
    })
}

/// A resource's short name: an ARN's last part (`task-definition/nerava-backend:42` →
/// `nerava-backend:42`), a secret's name, or the request's own id.
fn short_resource(resource: &str, parameters: &Value) -> String {
    let from_params = [
        "groupId",
        "natGatewayId",
        "routeTableId",
        "networkAclId",
        "associationId",
        "roleName",
        "name",
        "secretId",
    ]
    .iter()
    .find_map(|k| str_at(parameters, k));
    let resource = if resource.is_empty() {
        from_params.unwrap_or_default()
    } else {
        resource
    };
    if let Some(secret) = resource.split(":secret:").nth(1) {
        return secret.to_owned();
    }
    if resource.starts_with("arn:") {
        let tail = resource.rsplit(':').next().unwrap_or(resource);
        let tail = if resource.contains(":task-definition/") {
            // `…:task-definition/FAMILY:REV`: the family and revision.
            resource.rsplit('/').next().unwrap_or(tail)
        } else {
            tail.rsplit('/').next().unwrap_or(tail)
        };
        return tail.to_owned();
    }
    resource.to_owned()
}

/// What the call did, in a few words.
/// One line for an App Runner operation on the service.
fn apprunner_summary(name: &str, resource: &str) -> String {
    let service = resource
        .split(":service/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(resource);
    match name {
        "PauseService" => format!("paused App Runner service {service}"),
        "ResumeService" => format!("resumed App Runner service {service}"),
        "StartDeployment" => format!("started a deployment of App Runner service {service}"),
        _ => format!("updated App Runner service {service}'s configuration"),
    }
}

fn summary(name: &str, resource: &str, p: &Value) -> String {
    match name {
        "RegisterTaskDefinition" => format!("registered {resource}"),
        "DeregisterTaskDefinition" => format!("deregistered {resource}"),
        "UpdateService" => {
            let mut out = match str_at(p, "taskDefinition") {
                Some(td) => format!(
                    "deployed {} to {}",
                    short_resource(td, &Value::Null),
                    str_at(p, "service").map_or(resource, |s| s.rsplit('/').next().unwrap_or(s))
                ),
                None => format!("updated service {resource}"),
            };
            if p.get("forceNewDeployment").and_then(Value::as_bool) == Some(true) {
                out.push_str(" (force new deployment)");
            }
            if let Some(n) = p.get("desiredCount").and_then(Value::as_i64) {
                let _ = write!(out, " (desired {n})");
            }
            out
        }
        "CreateService" => format!("created service {resource}"),
        "PutSecretValue" => format!("new value put in secret {resource}"),
        "UpdateSecret" => format!("secret {resource} updated"),
        "RotateSecret" => format!("secret {resource} rotated"),
        "DeleteSecret" => {
            if p.get("forceDeleteWithoutRecovery").and_then(Value::as_bool) == Some(true) {
                format!("secret {resource} deleted (no recovery)")
            } else {
                let days = p
                    .get("recoveryWindowInDays")
                    .and_then(Value::as_i64)
                    .unwrap_or(30);
                format!("secret {resource} scheduled for deletion ({days}-day recovery window)")
            }
        }
        "RestoreSecret" => format!("secret {resource} restored"),
        "PutParameter" => format!("parameter {resource} set"),
        "DeleteParameter" => format!("parameter {resource} deleted"),
        "RevokeSecurityGroupEgress" | "AuthorizeSecurityGroupEgress" => {
            let verb = if name.starts_with("Revoke") {
                "revoked"
            } else {
                "authorized"
            };
            let ports: Vec<String> = p
                .pointer("/ipPermissions/items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|perm| match (perm.get("fromPort"), perm.get("toPort")) {
                    (Some(a), Some(b)) if a == b => a.to_string(),
                    (Some(a), Some(b)) => format!("{a}-{b}"),
                    _ => "all".into(),
                })
                .collect();
            if ports.is_empty() {
                format!("{resource} egress {verb}")
            } else {
                format!("{resource} egress {} {verb}", ports.join(","))
            }
        }
        "DeleteNatGateway" => format!("NAT gateway {resource} deleted"),
        "DeleteRoute" => format!("route deleted from {resource}"),
        "ReplaceRoute" => format!("route replaced in {resource}"),
        "ReplaceNetworkAclEntry" => format!("network ACL {resource} entry replaced"),
        "DisassociateRouteTable" => format!("route table association {resource} removed"),
        "DetachRolePolicy" => format!(
            "policy {} detached from role {resource}",
            str_at(p, "policyArn").map_or("?", |a| a.rsplit('/').next().unwrap_or(a))
        ),
        "PutRolePolicy" => format!(
            "inline policy {} put on role {resource}",
            str_at(p, "policyName").unwrap_or("?")
        ),
        "DeleteRolePolicy" => format!(
            "inline policy {} deleted from role {resource}",
            str_at(p, "policyName").unwrap_or("?")
        ),
        other => format!("{other} on {resource}"),
    }
}

/// The changes of one snapshot's scope, read once.
pub fn observation(at_ms: i64, result: Result<Changes, ProbeError>) -> super::Observation {
    super::Observation::Changes {
        at_ms,
        origin: Origin::Cloudtrail,
        result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_resources() {
        assert_eq!(
            short_resource(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/nerava-backend:42",
                &Value::Null
            ),
            "nerava-backend:42"
        );
        assert_eq!(
            short_resource(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o",
                &Value::Null
            ),
            "nerava/prod/twilio-Tw1l1o"
        );
        assert_eq!(
            short_resource("", &json!({"groupId": "sg-0abc"})),
            "sg-0abc"
        );
    }

    #[test]
    fn scope_keeps_only_the_service_s_resources() {
        let scope = Scope {
            cluster: "nerava-cluster".into(),
            service: "nerava-backend".into(),
            family: "nerava-backend".into(),
            secrets: vec!["nerava/prod/twilio".into()],
            parameters: vec!["/nerava/prod/sid".into()],
            roles: vec!["nerava-backend-execution".into()],
            network: vec!["sg-0abc".into()],
        };
        let td = |f: &str| vec![format!("arn:aws:ecs:us-east-1:1:task-definition/{f}:3")];
        assert!(scope.touches("ecs.amazonaws.com", &td("nerava-backend"), &Value::Null));
        assert!(!scope.touches(
            "ecs.amazonaws.com",
            &td("nerava-backend-staging"),
            &Value::Null
        ));
        assert!(scope.touches(
            "secretsmanager.amazonaws.com",
            &["arn:aws:secretsmanager:us-east-1:1:secret:nerava/prod/twilio-Tw1l1o".into()],
            &Value::Null
        ));
        assert!(!scope.touches(
            "secretsmanager.amazonaws.com",
            &["arn:aws:secretsmanager:us-east-1:1:secret:other-Tw1l1o".into()],
            &Value::Null
        ));
        assert!(scope.touches(
            "ssm.amazonaws.com",
            &[],
            &json!({"name": "/nerava/prod/sid"})
        ));
        assert!(scope.touches(
            "iam.amazonaws.com",
            &[],
            &json!({"roleName": "nerava-backend-execution"})
        ));
        assert!(scope.touches("ec2.amazonaws.com", &[], &json!({"groupId": "sg-0abc"})));
        assert!(!scope.touches("ec2.amazonaws.com", &[], &json!({"groupId": "sg-0def"})));
    }

    #[test]
    fn summaries_say_what_changed() {
        assert_eq!(
            summary(
                "RevokeSecurityGroupEgress",
                "sg-0abc",
                &json!({"groupId": "sg-0abc", "ipPermissions": {"items": [{"fromPort": 443, "toPort": 443}]}})
            ),
            "sg-0abc egress 443 revoked"
        );
        assert_eq!(
            summary("DeleteSecret", "s", &json!({"recoveryWindowInDays": 7})),
            "secret s scheduled for deletion (7-day recovery window)"
        );
    }
}
