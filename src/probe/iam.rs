//! Can the service itself read its secrets? The operator may read a secret the task execution
//! role may not: new tasks then stop with `ResourceInitializationError … AccessDeniedException`.
//! IAM's policy simulator answers it before a task has to fail: one `SimulatePrincipalPolicy`
//! per action (`secretsmanager:GetSecretValue` on the secrets, `ssm:GetParameters` on the
//! parameters, `kms:Decrypt` on the customer-managed keys they are encrypted with), for the
//! execution role, over every referenced ARN. A key's own key policy is not simulated.
//!
//! When the operator may not call the simulator (it needs `iam:SimulatePrincipalPolicy`), each
//! secret says so in one line: unknown is not allowed.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};

use super::aws::call;
use super::secrets::{Resolved, Store};
use super::{ErrorKind, System};
use crate::redact;

/// What IAM says about the execution role reading one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RoleAccess {
    /// The role may read it (the policy that allows it, when IAM named one).
    Allowed { policy: Option<String> },
    /// The role may not: IAM's `implicitDeny` or `explicitDeny` for `action`.
    Denied {
        action: String,
        /// IAM's word, `implicitDeny` or `explicitDeny`.
        iam_decision: String,
        /// The denying policy, for an explicit deny.
        policy: Option<String>,
    },
    /// The console could not ask: why, in one line.
    Unknown { why: String },
}

impl RoleAccess {
    /// One line for the env pane and the evidence.
    pub fn line(&self, role: &str) -> String {
        let role = role.rsplit('/').next().unwrap_or(role);
        match self {
            Self::Allowed { policy: Some(p) } => format!("role {role} may read it ({p})"),
            Self::Allowed { policy: None } => format!("role {role} may read it"),
            Self::Denied {
                action,
                iam_decision,
                policy,
            } => match policy {
                Some(p) => format!("role {role} may NOT {action} ({iam_decision} by {p})"),
                None => format!(
                    "role {role} may NOT {action} ({iam_decision}: no policy of the role allows it)"
                ),
            },
            Self::Unknown { why } => why.clone(),
        }
    }
}

/// The IAM action the ECS agent needs on a secret's customer-managed KMS key.
const KMS_DECRYPT: &str = "kms:Decrypt";

/// The IAM action the ECS agent needs on a secret of `store`.
pub fn action(store: Store) -> &'static str {
    match store {
        Store::SecretsManager => "secretsmanager:GetSecretValue",
        Store::Ssm => "ssm:GetParameters",
    }
}

/// The ARN a simulation is about: the one the service answered, else the `valueFrom` when it is
/// an ARN (without ECS's `:json-key:stage:version` suffix). A bare name has none.
fn resource(r: &Resolved) -> Option<String> {
    if let Some(arn) = &r.arn {
        return Some(arn.clone());
    }
    let from = r.value_from.as_str();
    if !from.starts_with("arn:") {
        return None;
    }
    Some(match r.store {
        Store::SecretsManager => from.split(':').take(7).collect::<Vec<_>>().join(":"),
        Store::Ssm => from.to_owned(),
    })
}

/// Asks IAM, for `role`, whether it may read each of `secrets`, and records the answer on each.
pub async fn check_role(sdk: &SdkConfig, role: Option<&str>, secrets: &mut [Resolved]) {
    if secrets.is_empty() {
        return;
    }
    let Some(role) = role else {
        for r in secrets.iter_mut() {
            r.role_access = Some(RoleAccess::Unknown {
                why: "no role reads them: the task definition has no executionRoleArn (ECS), or the service no instance role (App Runner)".into(),
            });
        }
        return;
    };
    let client = aws_sdk_iam::Client::new(sdk);
    // One call per action, over every ARN that needs it.
    let mut by_action: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for r in secrets.iter() {
        if let Some(arn) = resource(r) {
            by_action.entry(action(r.store)).or_default().push(arn);
        }
        // A customer-managed key: the role needs kms:Decrypt on it too (its key policy is
        // not simulated: only the key's own policy says, and the tasks' stop reasons).
        if let Some(key) = &r.kms_key_id {
            let keys = by_action.entry(KMS_DECRYPT).or_default();
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    let answers = simulate(&client, role, &by_action).await;
    for r in secrets.iter_mut() {
        r.role_access = Some(access_of(r, &answers));
    }
}

/// Asks IAM whether `role` may do `action` on each of `arns` (one SimulatePrincipalPolicy):
/// the decision by ARN, or why the simulator could not say.
pub async fn role_may(
    sdk: &SdkConfig,
    role: &str,
    action: &'static str,
    arns: Vec<String>,
) -> Result<BTreeMap<String, RoleAccess>, String> {
    let client = aws_sdk_iam::Client::new(sdk);
    let answers = simulate(&client, role, &BTreeMap::from([(action, arns)])).await?;
    Ok(answers
        .into_iter()
        .map(|((_, resource), access)| (resource, access))
        .collect())
}

/// IAM's decision for each (action, resource) asked, or why the simulator could not say.
type Answers = Result<BTreeMap<(String, String), RoleAccess>, String>;

/// SimulatePrincipalPolicy for `role`, one call per action over its resources.
async fn simulate(
    client: &aws_sdk_iam::Client,
    role: &str,
    by_action: &BTreeMap<&'static str, Vec<String>>,
) -> Answers {
    let mut answers = BTreeMap::new();
    for (act, arns) in by_action {
        let asked = call(
            System::Secrets,
            "SimulatePrincipalPolicy",
            Box::pin(
                client
                    .simulate_principal_policy()
                    .policy_source_arn(role)
                    .action_names(*act)
                    .set_resource_arns(Some(arns.clone()))
                    .send(),
            ),
        )
        .await;
        let out = match asked {
            Ok(out) => out,
            Err(e) if e.kind == ErrorKind::Credentials => {
                return Err("the operator may not call iam:SimulatePrincipalPolicy, so whether the execution role can read it is unknown (the tasks' stop reasons still tell)".to_owned());
            }
            Err(e) => {
                return Err(format!(
                    "IAM's policy simulator did not answer ({}), so whether the execution role can read it is unknown",
                    e.message
                ));
            }
        };
        for result in out.evaluation_results() {
            let resource = result.eval_resource_name().unwrap_or("*").to_owned();
            let decision = result.eval_decision().as_str().to_owned();
            let policy = result
                .matched_statements()
                .iter()
                .find_map(|s| s.source_policy_id())
                .map(redact::sanitize);
            let access = if decision == "allowed" {
                RoleAccess::Allowed { policy }
            } else {
                RoleAccess::Denied {
                    action: (*act).to_owned(),
                    iam_decision: redact::sanitize(&decision),
                    policy,
                }
            };
            answers.insert(((*act).to_owned(), resource), access);
        }
    }
    Ok(answers)
}

/// What the role may do with `r`: reading it, and decrypting it with its key when it has one.
fn access_of(r: &Resolved, answers: &Answers) -> RoleAccess {
    let answers = match answers {
        Ok(answers) => answers,
        Err(why) => return RoleAccess::Unknown { why: why.clone() },
    };
    let Some(arn) = resource(r) else {
        return RoleAccess::Unknown {
            why: "its ARN is unknown (a name without DescribeSecret), so IAM was not asked".into(),
        };
    };
    let read = answers
        .get(&(action(r.store).to_owned(), arn))
        .cloned()
        .unwrap_or_else(|| RoleAccess::Unknown {
            why: "IAM's policy simulator gave no result for it".into(),
        });
    let decrypt = r
        .kms_key_id
        .as_ref()
        .and_then(|key| answers.get(&(KMS_DECRYPT.to_owned(), key.clone())));
    match (read, decrypt) {
        (RoleAccess::Allowed { .. }, Some(denied @ RoleAccess::Denied { .. })) => denied.clone(),
        (read, _) => read,
    }
}
