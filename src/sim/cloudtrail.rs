//! Simulated CloudTrail: the event history of the simulated account and `LookupEvents` over it
//! (AWS JSON 1.1, `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`).
//!
//! Two things write into the history: every mutation made through the simulator's own AWS APIs
//! (recorded by [`super::aws_endpoint`] with the caller's access key as the principal), and each
//! scenario's story of what changed before the incident (yesterday's and today's
//! RegisterTaskDefinition and UpdateService, and the scenario's `[[history.aws]]` entries).
//! Another simulated service records through [`World::record_change`]. LookupEvents answers as
//! AWS does: newest first, at most 50 a page with a `NextToken`, one lookup attribute, a
//! `ThrottlingException` past 2 calls per second per access key, and the errors of bad input.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::aws::{parse_body, AwsError};
use super::world::World;

/// The `X-Amz-Target` prefix of CloudTrail's operations, as botocore (the aws CLI) sends it.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
/// The short prefix the AWS SDK for Rust sends (its Smithy model's service name).
pub const SHORT_TARGET_PREFIX: &str = "CloudTrail_20131101.";

/// The operation of a CloudTrail `X-Amz-Target`, in either form.
pub fn operation(target: &str) -> Option<&str> {
    target
        .strip_prefix(TARGET_PREFIX)
        .or_else(|| target.strip_prefix(SHORT_TARGET_PREFIX))
}

/// LookupEvents calls allowed per second per account and region.
pub const CALLS_PER_SECOND: usize = 2;

/// One recorded management event.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailEvent {
    pub id: String,
    pub at_ms: i64,
    /// `ecs.amazonaws.com`, `secretsmanager.amazonaws.com`, `ssm.amazonaws.com`, …
    pub event_source: String,
    pub event_name: String,
    /// The principal's ARN (`arn:aws:iam::…:user/…`, `arn:aws:sts::…:assumed-role/…/…`).
    pub principal: String,
    pub access_key_id: String,
    pub user_agent: String,
    /// `(ResourceType, ResourceName)` pairs, as LookupEvents lists them.
    pub resources: Vec<(String, String)>,
    /// As CloudTrail logs them: secret values already `HIDDEN_DUE_TO_SECURITY_REASONS`.
    pub request_parameters: Value,
    pub read_only: bool,
}

/// A change to record: everything but the id, which the world assigns.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub at_ms: i64,
    pub event_source: String,
    pub event_name: String,
    pub principal: String,
    pub access_key_id: String,
    pub user_agent: String,
    pub resources: Vec<(String, String)>,
    pub request_parameters: Value,
}

/// The event history and the per-key call times the throttle counts.
#[derive(Debug, Default)]
pub struct Trail {
    /// Oldest first.
    pub events: Vec<TrailEvent>,
    calls: HashMap<String, Vec<i64>>,
}

/// What CloudTrail writes in place of a secret value.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Request members CloudTrail never logs in clear.
const HIDDEN_MEMBERS: &[&str] = &["secretString", "secretBinary"];

/// A request body as CloudTrail logs it: member names start lower-case, secret values hidden
/// (a secret's value, a parameter's `value`); a container's `environment` values are logged
/// as they are, as AWS does.
pub fn logged_parameters(body: &Value) -> Value {
    let mut logged = lower_members(body);
    if let Some(value) = logged.get_mut("value").filter(|v| v.is_string()) {
        *value = json!(HIDDEN);
    }
    logged
}

fn lower_members(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = chars.next().map_or_else(String::new, |c| {
                        c.to_lowercase().chain(chars).collect::<String>()
                    });
                    let v = if HIDDEN_MEMBERS.contains(&key.as_str()) && !v.is_object() {
                        json!(HIDDEN)
                    } else {
                        lower_members(v)
                    };
                    (key, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(lower_members).collect()),
        other => other.clone(),
    }
}

/// The mutating operations the simulator records, by `X-Amz-Target`: the event source and name.
pub fn mutation(target: &str) -> Option<(&'static str, &str)> {
    const ECS: &[&str] = &[
        "RegisterTaskDefinition",
        "DeregisterTaskDefinition",
        "UpdateService",
        "CreateService",
    ];
    const SECRETS: &[&str] = &[
        "PutSecretValue",
        "UpdateSecret",
        "RotateSecret",
        "DeleteSecret",
        "RestoreSecret",
    ];
    const SSM: &[&str] = &["PutParameter", "DeleteParameter"];
    const APPRUNNER: &[&str] = &[
        "UpdateService",
        "StartDeployment",
        "PauseService",
        "ResumeService",
    ];
    let (prefix, source, ops): (&str, &'static str, &[&str]) =
        if target.starts_with("AmazonEC2ContainerServiceV20141113.") {
            (
                "AmazonEC2ContainerServiceV20141113.",
                "ecs.amazonaws.com",
                ECS,
            )
        } else if target.starts_with("secretsmanager.") {
            ("secretsmanager.", "secretsmanager.amazonaws.com", SECRETS)
        } else if target.starts_with("AmazonSSM.") {
            ("AmazonSSM.", "ssm.amazonaws.com", SSM)
        } else if target.starts_with("AppRunner.") {
            ("AppRunner.", "apprunner.amazonaws.com", APPRUNNER)
        } else {
            return None;
        };
    let op = target.strip_prefix(prefix)?;
    ops.contains(&op).then_some((source, op))
}

/// The principal an access key stands for in the simulated account.
pub fn principal_of(account_id: &str, access_key_id: &str) -> String {
    if access_key_id == super::ACCESS_KEY_ID {
        format!("arn:aws:iam::{account_id}:user/otp-console")
    } else {
        format!("arn:aws:iam::{account_id}:user/{access_key_id}")
    }
}

/// The user name part of a principal ARN (`user/NAME`, `assumed-role/ROLE/SESSION`).
fn username(principal: &str) -> String {
    let resource = principal.rsplit(':').next().unwrap_or(principal);
    match resource.split('/').collect::<Vec<_>>().as_slice() {
        ["assumed-role", _, session] => (*session).to_owned(),
        [_, name, ..] => (*name).to_owned(),
        _ => resource.to_owned(),
    }
}

impl World {
    /// Records a change in the account's CloudTrail event history. Any simulated service calls
    /// this for each mutation it applies (ECS, Secrets Manager and SSM through
    /// [`super::aws_endpoint`]; EC2 and IAM the same way).
    pub fn record_change(&mut self, change: NewChange) {
        let id = self.uuid();
        let event = TrailEvent {
            id,
            at_ms: change.at_ms,
            event_source: change.event_source,
            event_name: change.event_name,
            principal: change.principal,
            access_key_id: change.access_key_id,
            user_agent: change.user_agent,
            resources: change.resources,
            request_parameters: change.request_parameters,
            read_only: false,
        };
        let at = self
            .trail
            .events
            .partition_point(|e| e.at_ms <= event.at_ms);
        self.trail.events.insert(at, event);
    }

    /// Records a mutation made through the simulator's AWS endpoint: `target` and its request
    /// body, by the caller's access key, with the resources the request and answer name.
    pub fn record_call(
        &mut self,
        target: &str,
        body: &[u8],
        answer: &Value,
        access_key_id: &str,
        user_agent: &str,
        now: i64,
    ) {
        let Some((source, op)) = mutation(target) else {
            return;
        };
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let resources = resources_of(op, &request, answer, &self.scenario.deployment);
        let change = NewChange {
            at_ms: now,
            event_source: source.to_owned(),
            event_name: op.to_owned(),
            principal: principal_of(&self.scenario.deployment.account_id, access_key_id),
            access_key_id: access_key_id.to_owned(),
            user_agent: user_agent.to_owned(),
            resources,
            request_parameters: logged_parameters(&request),
        };
        self.record_change(change);
    }

    /// Records a successful Query-protocol call (IAM, EC2) when it changes something the
    /// service depends on: the execution and task roles' policies, the security groups' rules.
    /// The request's flattened parameters are logged with lower-case first letters, as CloudTrail
    /// logs them (a policy document is not a secret; CloudTrail logs it too).
    pub fn record_query_call(
        &mut self,
        service: super::query::QueryService,
        request: &super::query::QueryRequest,
        access_key_id: &str,
        user_agent: &str,
        now: i64,
    ) {
        use super::query::QueryService;
        const IAM: &[&str] = &[
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
        ];
        const EC2: &[&str] = &[
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupEgress",
            "DeleteNatGateway",
            "CreateRoute",
            "DeleteRoute",
            "ReplaceRoute",
            "ReplaceNetworkAclEntry",
            "DisassociateRouteTable",
        ];
        let p = &request.params;
        let account = &self.scenario.deployment.account_id;
        let (source, resources) = match service {
            QueryService::Iam if IAM.contains(&request.action.as_str()) => (
                "iam.amazonaws.com",
                p.get("RoleName")
                    .map(|role| {
                        vec![(
                            "AWS::IAM::Role".to_owned(),
                            format!("arn:aws:iam::{account}:role/{role}"),
                        )]
                    })
                    .unwrap_or_default(),
            ),
            QueryService::Ec2 if EC2.contains(&request.action.as_str()) => (
                "ec2.amazonaws.com",
                [
                    ("GroupId", "AWS::EC2::SecurityGroup"),
                    ("NatGatewayId", "AWS::EC2::NatGateway"),
                    ("RouteTableId", "AWS::EC2::RouteTable"),
                    ("NetworkAclId", "AWS::EC2::NetworkAcl"),
                    ("AssociationId", "AWS::EC2::SubnetRouteTableAssociation"),
                ]
                .iter()
                .filter_map(|(param, kind)| {
                    p.get(param).map(|id| ((*kind).to_owned(), id.to_owned()))
                })
                .collect(),
            ),
            _ => return,
        };
        let parameters: serde_json::Map<String, Value> = p
            .pairs()
            .iter()
            .filter(|(k, _)| k != "Action" && k != "Version")
            .map(|(k, v)| {
                let mut key = k.clone();
                if let Some(first) = key.get(..1).map(str::to_ascii_lowercase) {
                    key.replace_range(..1, &first);
                }
                (key, json!(v))
            })
            .collect();
        let change = NewChange {
            at_ms: now,
            event_source: source.to_owned(),
            event_name: request.action.clone(),
            principal: principal_of(account, access_key_id),
            access_key_id: access_key_id.to_owned(),
            user_agent: user_agent.to_owned(),
            resources,
            request_parameters: Value::Object(parameters),
        };
        self.record_change(change);
    }

    /// Answers one CloudTrail operation for `access_key_id`.
    pub fn cloudtrail_handle(
        &mut self,
        op: &str,
        body: &[u8],
        access_key_id: &str,
        now: i64,
    ) -> Result<Value, AwsError> {
        match op {
            "LookupEvents" => {
                // Real time, not simulated: the limit is AWS's, per second of the caller's clock.
                let calls = self
                    .trail
                    .calls
                    .entry(access_key_id.to_owned())
                    .or_default();
                calls.retain(|t| *t > now - 1000);
                if calls.len() >= CALLS_PER_SECOND {
                    return Err(AwsError::client("ThrottlingException", "Rate exceeded"));
                }
                calls.push(now);
                let input: LookupEventsInput = parse_body(body)?;
                lookup_events(&self.trail.events, &input, &self.scenario.deployment, now)
            }
            other => Err(AwsError::client(
                "UnknownOperationException",
                format!("CloudTrail_20131101.{other} is not simulated (only LookupEvents)"),
            )),
        }
    }
}

/// The resources CloudTrail lists for a recorded call.
fn resources_of(
    op: &str,
    request: &Value,
    answer: &Value,
    deployment: &super::scenario::DeploymentSetup,
) -> Vec<(String, String)> {
    let s = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    // App Runner's operations name their service by ARN (its UpdateService is not ECS's).
    if let Some(arn) = s(request, "ServiceArn") {
        return vec![("AWS::AppRunner::Service".to_owned(), arn)];
    }
    let mut out = Vec::new();
    match op {
        "RegisterTaskDefinition" | "DeregisterTaskDefinition" => {
            let arn = answer
                .get("taskDefinition")
                .and_then(|td| s(td, "taskDefinitionArn"))
                .or_else(|| s(request, "taskDefinition"));
            out.extend(arn.map(|a| ("AWS::ECS::TaskDefinition".to_owned(), a)));
        }
        "UpdateService" | "CreateService" => {
            let service = answer
                .get("service")
                .and_then(|sv| s(sv, "serviceArn"))
                .or_else(|| s(request, "service"))
                .unwrap_or_else(|| deployment.service.clone());
            out.push(("AWS::ECS::Service".to_owned(), service));
            if let Some(td) = s(request, "taskDefinition") {
                out.push(("AWS::ECS::TaskDefinition".to_owned(), td));
            }
        }
        "PutParameter" | "DeleteParameter" => {
            out.extend(s(request, "Name").map(|n| ("AWS::SSM::Parameter".to_owned(), n)));
        }
        _ => {
            let arn = s(answer, "ARN").or_else(|| s(request, "SecretId"));
            out.extend(arn.map(|a| ("AWS::SecretsManager::Secret".to_owned(), a)));
        }
    }
    out
}

/// `LookupEvents`' input, in its own member names.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LookupEventsInput {
    #[serde(default)]
    lookup_attributes: Vec<LookupAttribute>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}

const ATTRIBUTE_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

fn matches(event: &TrailEvent, attribute: &LookupAttribute) -> bool {
    let value = attribute.attribute_value.as_str();
    match attribute.attribute_key.as_str() {
        "EventId" => event.id == value,
        "EventName" => event.event_name == value,
        "ReadOnly" => event.read_only.to_string() == value,
        "Username" => username(&event.principal) == value,
        "ResourceType" => event.resources.iter().any(|(t, _)| t == value),
        "ResourceName" => event.resources.iter().any(|(_, n)| n == value),
        "EventSource" => event.event_source == value,
        "AccessKeyId" => event.access_key_id == value,
        _ => false,
    }
}

fn lookup_events(
    events: &[TrailEvent],
    input: &LookupEventsInput,
    deployment: &super::scenario::DeploymentSetup,
    now: i64,
) -> Result<Value, AwsError> {
    if input.lookup_attributes.len() > 1 {
        return Err(AwsError::client(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        ));
    }
    if let Some(a) = input
        .lookup_attributes
        .iter()
        .find(|a| !ATTRIBUTE_KEYS.contains(&a.attribute_key.as_str()))
    {
        return Err(AwsError::client(
            "InvalidLookupAttributesException",
            format!("The attribute key {} is not valid.", a.attribute_key),
        ));
    }
    if input
        .event_category
        .as_deref()
        .is_some_and(|c| c != "insight")
    {
        return Err(AwsError::client(
            "InvalidEventCategoryException",
            "The event category is not valid: the only value is insight.",
        ));
    }
    let max = input.max_results.unwrap_or(50);
    if !(1..=50).contains(&max) {
        return Err(AwsError::client(
            "InvalidMaxResultsException",
            "MaxResults must be between 1 and 50.",
        ));
    }
    let start = input
        .start_time
        .map_or(now - 90 * 86_400_000, |s| (s * 1000.0) as i64);
    let end = input.end_time.map_or(now, |s| (s * 1000.0) as i64);
    if start > end {
        return Err(AwsError::client(
            "InvalidTimeRangeException",
            "The start time must not be after the end time.",
        ));
    }
    let skip = match &input.next_token {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                AwsError::client("InvalidNextTokenException", "The NextToken is not valid.")
            })?,
    };
    // An insight lookup finds none: the simulated account has no Insights enabled.
    let insight = input.event_category.is_some();
    let found: Vec<&TrailEvent> = events
        .iter()
        .rev()
        .filter(|e| !insight && e.at_ms >= start && e.at_ms <= end)
        .filter(|e| input.lookup_attributes.iter().all(|a| matches(e, a)))
        .collect();
    let page: Vec<Value> = found
        .iter()
        .skip(skip)
        .take(max as usize)
        .map(|e| event_json(e, deployment))
        .collect();
    let mut out = json!({ "Events": page });
    if found.len() > skip + max as usize {
        out["NextToken"] = json!(format!("page-{}", skip + max as usize));
    }
    Ok(out)
}

fn event_json(e: &TrailEvent, deployment: &super::scenario::DeploymentSetup) -> Value {
    let time = chrono::DateTime::from_timestamp_millis(e.at_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let identity = if e.principal.contains(":assumed-role/") {
        json!({
            "type": "AssumedRole",
            "principalId": format!("AROASIMULATED0000000:{}", username(&e.principal)),
            "arn": e.principal,
            "accountId": deployment.account_id,
            "accessKeyId": e.access_key_id,
        })
    } else {
        json!({
            "type": "IAMUser",
            "principalId": "AIDASIMULATED0000000",
            "arn": e.principal,
            "accountId": deployment.account_id,
            "accessKeyId": e.access_key_id,
            "userName": username(&e.principal),
        })
    };
    let record = json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": e.event_source,
        "eventName": e.event_name,
        "awsRegion": deployment.region,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": e.user_agent,
        "requestParameters": e.request_parameters,
        "responseElements": Value::Null,
        "requestID": e.id,
        "eventID": e.id,
        "readOnly": e.read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": deployment.account_id,
        "eventCategory": "Management",
    });
    json!({
        "EventId": e.id,
        "EventName": e.event_name,
        "ReadOnly": e.read_only.to_string(),
        "AccessKeyId": e.access_key_id,
        "EventTime": e.at_ms as f64 / 1000.0,
        "EventSource": e.event_source,
        "Username": username(&e.principal),
        "Resources": e.resources.iter().map(|(t, n)| json!({ "ResourceType": t, "ResourceName": n })).collect::<Vec<_>>(),
        "CloudTrailEvent": record.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};

    use super::*;
    use crate::sim::clock::SimClock;
    use crate::sim::scenario;

    fn world() -> World {
        let scenario = Arc::new(scenario::load("healthy").expect("loads"));
        World::new(scenario, SimClock::new(0.01))
    }

    fn call(world: &mut World, target: &str, body: &Value) -> Result<Value, AwsError> {
        let now = world.clock.now_ms();
        let bytes = body.to_string().into_bytes();
        let (service, op) = target.split_once('.').expect("a target");
        let answer = match service {
            "secretsmanager" => world.secrets_handle(op, &bytes, now),
            _ => world.ssm_handle(op, &bytes, now),
        };
        if let Ok(value) = &answer {
            world.record_call(target, &bytes, value, "AKIATEST000000000001", "test/1", now);
        }
        answer
    }

    fn lookup(world: &mut World, body: &Value) -> Result<Value, AwsError> {
        let now = world.clock.now_ms();
        let key = format!("AKIALOOKUP{:010}", world.rng.below(1 << 30));
        world.cloudtrail_handle("LookupEvents", body.to_string().as_bytes(), &key, now)
    }

    #[test]
    fn mutations_are_recorded_newest_first_with_their_values_hidden() {
        let mut w = world();
        call(&mut w, "AmazonSSM.PutParameter", &json!({
            "Name": "/nerava/prod/twilio-verify-service-sid", "Value": "VA-new-value", "Type": "SecureString", "Overwrite": true
        }))
        .expect("overwritten");
        let refused = call(
            &mut w,
            "AmazonSSM.PutParameter",
            &json!({
                "Name": "/nerava/prod/twilio-verify-service-sid", "Value": "x", "Type": "SecureString"
            }),
        );
        assert_eq!(
            refused.map_err(|e| e.kind),
            Err("ParameterAlreadyExists".to_owned())
        );
        let window = call(
            &mut w,
            "secretsmanager.DeleteSecret",
            &json!({
                "SecretId": "nerava/prod/jwt", "RecoveryWindowInDays": 3
            }),
        );
        assert_eq!(
            window.map_err(|e| e.kind),
            Err("InvalidParameterException".to_owned())
        );
        call(
            &mut w,
            "secretsmanager.DeleteSecret",
            &json!({
                "SecretId": "nerava/prod/jwt", "RecoveryWindowInDays": 7
            }),
        )
        .expect("scheduled");
        let found = lookup(&mut w, &json!({ "LookupAttributes": [{ "AttributeKey": "Username", "AttributeValue": "AKIATEST000000000001" }] }))
            .expect("answers");
        let names: Vec<&str> = found["Events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["EventName"].as_str())
            .collect();
        // The refused calls are not in the history.
        assert_eq!(names, ["DeleteSecret", "PutParameter"]);
        let text = found.to_string();
        assert!(!text.contains("VA-new-value"), "{text}");
        assert!(text.contains(HIDDEN));
    }

    #[test]
    fn lookup_refuses_what_aws_refuses_and_pages() {
        let mut w = world();
        for body in [
            json!({ "MaxResults": 0 }),
            json!({ "LookupAttributes": [{ "AttributeKey": "Nope", "AttributeValue": "x" }] }),
            json!({ "StartTime": 10.0, "EndTime": 5.0 }),
            json!({ "NextToken": "page-x" }),
            json!({ "EventCategory": "management" }),
            json!({ "Unknown": 1 }),
        ] {
            assert!(lookup(&mut w, &body).is_err(), "{body}");
        }
        let first = lookup(&mut w, &json!({ "MaxResults": 3 })).expect("page");
        assert_eq!(first["Events"].as_array().map(Vec::len), Some(3));
        let token = first["NextToken"].as_str().expect("more");
        let second = lookup(&mut w, &json!({ "MaxResults": 3, "NextToken": token })).expect("page");
        assert_eq!(second["Events"].as_array().map(Vec::len), Some(1));
        assert!(second.get("NextToken").is_none());
        // Throttled past 2 calls a second for one key.
        let key = "AKIASAMEKEY000000001";
        let now = w.clock.now_ms();
        let mut kinds = Vec::new();
        for _ in 0..3 {
            kinds.push(
                w.cloudtrail_handle("LookupEvents", b"{}", key, now)
                    .err()
                    .map(|e| e.kind),
            );
        }
        assert_eq!(kinds, [None, None, Some("ThrottlingException".to_owned())]);
    }
}
