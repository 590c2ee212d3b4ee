//! Simulated IAM (Query protocol, see [`super::query`]): the roles the deployment uses, each
//! with its inline policies as real IAM policy documents, evaluated as IAM evaluates them for
//! one principal (an explicit `Deny` wins, then an `Allow`, else the implicit deny).
//!
//! The same evaluation decides what the simulated ECS agent may read when it starts a task with
//! the task definition's execution role ([`World::execution_role_denies`]), and what
//! `SimulatePrincipalPolicy` answers — so a role that lost access to a secret stops new tasks
//! with ECS's own `AccessDeniedException` line *and* shows in the simulation, by one cause.
//! Actions: SimulatePrincipalPolicy, GetRole, ListRolePolicies, GetRolePolicy, PutRolePolicy.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::Value;

use super::aws::AwsError;
use super::query::{QueryRequest, QueryService, Xml};
use super::world::World;

/// A role of the simulated account: its inline policies (name → policy document JSON).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSetup {
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
}

/// The simulated account's roles, by role ARN.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamSetup {
    #[serde(default)]
    pub roles: BTreeMap<String, RoleSetup>,
}

/// IAM's answer for one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `allowed`, `explicitDeny` or `implicitDeny`, IAM's words.
    pub decision: &'static str,
    /// The policy whose statement decided it (none for the implicit deny).
    pub policy: Option<String>,
}

/// One statement of a policy document, as far as the simulator evaluates it.
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// The strings of a policy element that is one string or a list of them.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document; a document that is not valid JSON grants nothing.
fn statements(document: &str) -> Vec<Statement> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return Vec::new();
    };
    let list = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    list.iter()
        .map(|s| Statement {
            allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
            actions: strings(s.get("Action")),
            resources: strings(s.get("Resource")),
        })
        .collect()
}

/// IAM's wildcard match: `*` any run of characters, `?` one.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Evaluates `action` on `resource` against a role's policies, as IAM does for identity
/// policies: actions match without regard to case, resources exactly.
pub fn evaluate(role: &RoleSetup, action: &str, resource: &str) -> Decision {
    let action = action.to_ascii_lowercase();
    let mut allowed_by = None;
    for (name, document) in &role.policies {
        for s in statements(document) {
            let acts = s
                .actions
                .iter()
                .any(|a| wildcard(&a.to_ascii_lowercase(), &action));
            let res = s.resources.iter().any(|r| wildcard(r, resource));
            if !(acts && res) {
                continue;
            }
            if !s.allow {
                return Decision {
                    decision: "explicitDeny",
                    policy: Some(name.clone()),
                };
            }
            allowed_by.get_or_insert_with(|| name.clone());
        }
    }
    match allowed_by {
        Some(policy) => Decision {
            decision: "allowed",
            policy: Some(policy),
        },
        None => Decision {
            decision: "implicitDeny",
            policy: None,
        },
    }
}

fn no_such_role(name: &str) -> AwsError {
    AwsError {
        status: StatusCode::NOT_FOUND,
        kind: "NoSuchEntity".into(),
        message: format!("The role with name {name} cannot be found."),
    }
}

/// A role's name from its ARN (`arn:aws:iam::ACCOUNT:role/path/NAME`).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The XML document of one action's answer, with its result wrapper and request id.
fn answer(action: &str, result: impl FnOnce(&mut Xml)) -> String {
    Xml::document(
        &format!("{action}Response"),
        QueryService::Iam.xmlns(),
        |x| {
            x.elem(&format!("{action}Result"), result)
                .elem("ResponseMetadata", |x| {
                    x.leaf("RequestId", super::query::request_id());
                });
        },
    )
}

impl World {
    /// The role with this ARN or name.
    fn role(&self, arn_or_name: &str) -> Option<(&String, &RoleSetup)> {
        self.iam
            .roles
            .iter()
            .find(|(arn, _)| *arn == arn_or_name || role_name(arn) == arn_or_name)
    }

    /// Why the execution role `role_arn` may not run `action` on `resource`, in the words of
    /// the ECS agent's `AccessDeniedException`; `None` when it may (or the world does not model
    /// the role: then nothing is denied).
    pub fn execution_role_denies(
        &self,
        role_arn: Option<&str>,
        action: &str,
        resource: &str,
    ) -> Option<String> {
        let (arn, role) = self.role(role_arn?)?;
        let decision = evaluate(role, action, resource);
        (decision.decision != "allowed").then(|| {
            let account = arn.split(':').nth(4).unwrap_or_default();
            let because = if decision.decision == "explicitDeny" {
                "with an explicit deny in an identity-based policy".to_owned()
            } else {
                format!("because no identity-based policy allows the {action} action")
            };
            format!(
                "AccessDeniedException: User: arn:aws:sts::{account}:assumed-role/{}/ecs-agent is not authorized to perform: {action} on resource: {resource} {because}",
                role_name(arn)
            )
        })
    }

    /// Sets the inline policy `policy` of the role `name` (its name or ARN) to `document`.
    fn put_role_policy(
        &mut self,
        name: &str,
        policy: String,
        document: String,
    ) -> Result<(), AwsError> {
        let arn = self
            .role(name)
            .map(|(arn, _)| arn.clone())
            .ok_or_else(|| no_such_role(name))?;
        if let Some(role) = self.iam.roles.get_mut(&arn) {
            role.policies.insert(policy, document);
        }
        Ok(())
    }

    /// The scenario's IAM changes (`[[history.aws]]` PutRolePolicy and DeleteRolePolicy, with
    /// the request parameters CloudTrail logs) made in the world at their time: tasks started
    /// before keep what they read, those started after meet the new policy.
    pub(super) fn replay_iam_history(&mut self, now: i64) {
        let mut changes: Vec<(i64, String, Value)> = self
            .scenario
            .history
            .aws
            .iter()
            .filter(|h| h.event_source == "iam.amazonaws.com")
            .map(|h| {
                let at = now - (h.hours_ago * 3_600_000.0) as i64;
                (at, h.event_name.clone(), h.request_parameters.clone())
            })
            .collect();
        changes.sort_by_key(|(at, _, _)| *at);
        for (at, event, p) in changes {
            self.advance_to(at);
            let text = |key: &str| p.get(key).and_then(Value::as_str).unwrap_or_default();
            let (role, policy) = (text("roleName"), text("policyName"));
            match event.as_str() {
                "PutRolePolicy" => {
                    let document = text("policyDocument").to_owned();
                    let _ = self.put_role_policy(role, policy.to_owned(), document);
                }
                "DeleteRolePolicy" => {
                    if let Some(arn) = self.role(role).map(|(arn, _)| arn.clone()) {
                        if let Some(r) = self.iam.roles.get_mut(&arn) {
                            r.policies.remove(policy);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Handles one IAM action, answering its XML document.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    pub fn iam_handle(&mut self, request: &QueryRequest, _now: i64) -> Result<String, AwsError> {
        let p = &request.params;
        match request.action.as_str() {
            "SimulatePrincipalPolicy" => {
                let source = p.required("PolicySourceArn")?;
                let (_, role) = self.role(source).ok_or_else(|| {
                    AwsError::client(
                        "NoSuchEntity",
                        format!("PolicySourceArn {source} is not a principal the account has."),
                    )
                })?;
                let actions = p.list("ActionNames.member");
                if actions.is_empty() {
                    return Err(AwsError::client(
                        "ValidationError",
                        "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
                    ));
                }
                let resources = p.list("ResourceArns.member");
                let resources = if resources.is_empty() {
                    vec!["*"]
                } else {
                    resources
                };
                let results: Vec<(&str, &str, Decision)> = actions
                    .iter()
                    .flat_map(|a| resources.iter().map(move |r| (*a, *r)))
                    .map(|(a, r)| (a, r, evaluate(role, a, r)))
                    .collect();
                Ok(answer("SimulatePrincipalPolicy", |x| {
                    x.elem("EvaluationResults", |x| {
                        for (action, resource, d) in &results {
                            x.elem("member", |x| {
                                x.leaf("EvalActionName", action)
                                    .leaf("EvalResourceName", resource)
                                    .leaf("EvalDecision", d.decision)
                                    .elem("MatchedStatements", |x| {
                                        if let Some(policy) = &d.policy {
                                            x.elem("member", |x| {
                                                x.leaf("SourcePolicyId", policy)
                                                    .leaf("SourcePolicyType", "IAM Policy");
                                            });
                                        }
                                    })
                                    .elem("MissingContextValues", |_| {});
                            });
                        }
                    })
                    .leaf("IsTruncated", "false");
                }))
            }
            "GetRole" => {
                let name = p.required("RoleName")?;
                let (arn, _) = self.role(name).ok_or_else(|| no_such_role(name))?;
                let arn = arn.clone();
                Ok(answer("GetRole", |x| {
                    x.elem("Role", |x| {
                        x.leaf("Path", "/")
                            .leaf("RoleName", role_name(&arn))
                            .leaf("RoleId", "AROASIMULATEDROLE0001")
                            .leaf("Arn", &arn)
                            .leaf("CreateDate", "2025-01-10T09:00:00Z");
                    });
                }))
            }
            "ListRolePolicies" => {
                let name = p.required("RoleName")?;
                let (_, role) = self.role(name).ok_or_else(|| no_such_role(name))?;
                let names: Vec<String> = role.policies.keys().cloned().collect();
                Ok(answer("ListRolePolicies", |x| {
                    x.elem("PolicyNames", |x| {
                        for n in &names {
                            x.leaf("member", n);
                        }
                    })
                    .leaf("IsTruncated", "false");
                }))
            }
            "GetRolePolicy" => {
                let name = p.required("RoleName")?;
                let policy = p.required("PolicyName")?;
                let (arn, role) = self.role(name).ok_or_else(|| no_such_role(name))?;
                let document = role.policies.get(policy).cloned().ok_or_else(|| AwsError {
                    status: StatusCode::NOT_FOUND,
                    kind: "NoSuchEntity".into(),
                    message: format!("The role policy with name {policy} cannot be found."),
                })?;
                let role = role_name(arn).to_owned();
                // IAM answers the document URL-encoded.
                let encoded: String =
                    form_urlencoded::byte_serialize(document.as_bytes()).collect();
                Ok(answer("GetRolePolicy", |x| {
                    x.leaf("RoleName", &role)
                        .leaf("PolicyName", policy)
                        .leaf("PolicyDocument", encoded.replace('+', "%20"));
                }))
            }
            "PutRolePolicy" => {
                let name = p.required("RoleName")?.to_owned();
                let policy = p.required("PolicyName")?.to_owned();
                let document = p.required("PolicyDocument")?.to_owned();
                if serde_json::from_str::<Value>(&document).is_err() {
                    return Err(AwsError::client(
                        "MalformedPolicyDocument",
                        "Syntax errors in policy.",
                    ));
                }
                self.put_role_policy(&name, policy, document)?;
                Ok(answer("PutRolePolicy", |_| {}))
            }
            _ => Err(super::query::invalid_action(
                QueryService::Iam,
                &request.action,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(documents: &[&str]) -> RoleSetup {
        RoleSetup {
            policies: documents
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("p{i}"), (*d).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn wildcards_match_as_iam_matches() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard(
            "arn:aws:secretsmanager:us-east-1:123:secret:nerava/prod/*",
            "arn:aws:secretsmanager:us-east-1:123:secret:nerava/prod/twilio-Tw1l1o"
        ));
        assert!(!wildcard(
            "arn:aws:secretsmanager:us-east-1:123:secret:nerava/prod/*",
            "arn:aws:secretsmanager:us-east-1:123:secret:nerava/twilio/auth-Qw3rTy"
        ));
        assert!(wildcard(
            "secretsmanager:Get*",
            "secretsmanager:GetSecretValue"
        ));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
        assert!(wildcard("*a*b*", "xxaxxbxx"));
        assert!(!wildcard("abc", "abcd"));
    }

    #[test]
    fn an_explicit_deny_beats_an_allow_and_nothing_is_an_implicit_deny() {
        let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:s:*"}}"#;
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["secretsmanager:*"],"Resource":["arn:s:secret-b"]}]}"#;
        let r = role(&[allow, deny]);
        assert_eq!(
            evaluate(&r, "SecretsManager:GetSecretValue", "arn:s:secret-a").decision,
            "allowed"
        );
        let d = evaluate(&r, "secretsmanager:GetSecretValue", "arn:s:secret-b");
        assert_eq!(d.decision, "explicitDeny");
        assert_eq!(d.policy.as_deref(), Some("p1"));
        assert_eq!(
            evaluate(&r, "ssm:GetParameters", "arn:s:secret-a").decision,
            "implicitDeny"
        );
        assert_eq!(
            evaluate(&role(&["not json"]), "a:b", "*").decision,
            "implicitDeny"
        );
    }
}
