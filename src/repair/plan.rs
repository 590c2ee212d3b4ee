//! The pure half of a repair: from the deployed revision as DescribeTaskDefinition returned
//! it (and, for a rollback, the chosen one) to a [`Plan`] — the registration that carries every
//! field of the source revision over with only the intended environment change, the masked
//! diff, and the equivalent aws CLI commands with secrets redacted. No I/O here.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{self as ecs, KeyValuePair};
use serde_json::{json, Value};

use super::RepairError;
use crate::probe::ecs::{self as probe_ecs, Change};
use crate::redact;

/// Which existing revision to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionRef {
    /// That revision number of the deployed family.
    Number(i32),
    /// The highest ACTIVE revision below the deployed one.
    Previous,
}

impl FromStr for RevisionRef {
    type Err = RepairError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("previous") {
            return Ok(Self::Previous);
        }
        match text.parse::<i32>() {
            Ok(n) if n > 0 => Ok(Self::Number(n)),
            _ => Err(RepairError(format!(
                "--rollback-to {}: give a revision number (e.g. 41) or `previous`",
                redact::sanitize(text)
            ))),
        }
    }
}

impl fmt::Display for RevisionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Previous => f.write_str("previous"),
        }
    }
}

/// One repair the runbook describes.
#[derive(Clone, PartialEq, Eq)]
pub enum Repair {
    /// Set (add or replace) environment variables of the service's container.
    Set(Vec<(String, String)>),
    /// Deploy an existing revision again.
    RollbackTo(RevisionRef),
    /// Force a new deployment of the deployed revision (after rotating a secret outside).
    Redeploy,
    /// Restore the Secrets Manager secret this variable comes from (RestoreSecret: it was
    /// scheduled for deletion), then force a new deployment so new tasks read it.
    RestoreSecret(String),
    /// Put a new value into the secret this variable comes from (PutSecretValue; with a JSON
    /// key, that field of the current JSON), then force a new deployment.
    PutSecret(String, String),
    /// Point variables at other secrets (`NAME` → `valueFrom`) in a new revision; a plain
    /// variable of that name moves into `secrets`. References, never values.
    PointSecret(Vec<(String, String)>),
}

// By hand: the derived form would print the values being set, secrets included.
impl fmt::Debug for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Set(vars) => f
                .debug_tuple("Set")
                .field(
                    &vars
                        .iter()
                        .map(|(n, v)| (n.as_str(), redact::env_value(n, v)))
                        .collect::<Vec<_>>(),
                )
                .finish(),
            Self::RollbackTo(r) => f.debug_tuple("RollbackTo").field(r).finish(),
            Self::Redeploy => f.write_str("Redeploy"),
            Self::RestoreSecret(name) => f.debug_tuple("RestoreSecret").field(name).finish(),
            Self::PutSecret(name, _) => f
                .debug_tuple("PutSecret")
                .field(name)
                .field(&redact::MASK)
                .finish(),
            Self::PointSecret(refs) => f.debug_tuple("PointSecret").field(refs).finish(),
        }
    }
}

impl Repair {
    /// The repair as JSON, values masked.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Set(vars) => json!({
                "kind": "set",
                "variables": vars
                    .iter()
                    .map(|(n, v)| json!({ "name": n, "value": redact::env_value(n, v) }))
                    .collect::<Vec<_>>(),
            }),
            Self::RollbackTo(r) => json!({ "kind": "rollback", "to": r.to_string() }),
            Self::Redeploy => json!({ "kind": "redeploy" }),
            Self::RestoreSecret(name) => json!({ "kind": "restore_secret", "variable": name }),
            Self::PutSecret(name, _) => {
                json!({ "kind": "put_secret", "variable": name, "value": redact::MASK })
            }
            Self::PointSecret(refs) => json!({
                "kind": "point_secret",
                "secrets": refs
                    .iter()
                    .map(|(n, from)| json!({ "name": n, "valueFrom": redact::sanitize(from) }))
                    .collect::<Vec<_>>(),
            }),
        }
    }
}

/// Parses `NAME=VALUE`; the name must be an environment variable name.
pub fn parse_assignment(text: &str) -> Result<(String, String), RepairError> {
    let Some((name, value)) = text.split_once('=') else {
        let shown = text.split(['=', ' ']).next().unwrap_or_default();
        return Err(RepairError(format!(
            "--set {}: expected NAME=VALUE",
            redact::sanitize(shown)
        )));
    };
    let is_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_name {
        return Err(RepairError(format!(
            "--set {}=…: not a variable name (letters, digits and _, not starting with a digit)",
            redact::sanitize(name)
        )));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// A revision as DescribeTaskDefinition (include TAGS) returned it.
#[derive(Clone)]
pub struct Described {
    pub task_definition: ecs::TaskDefinition,
    pub tags: Vec<ecs::Tag>,
}

impl Described {
    /// `family:revision`.
    pub fn reference(&self) -> String {
        format!(
            "{}:{}",
            self.task_definition.family().unwrap_or_default(),
            self.task_definition.revision()
        )
    }
}

/// What the service will run after the repair.
#[derive(Clone, PartialEq)]
pub enum Target {
    /// A new revision, registered from this input.
    Register(Box<RegisterTaskDefinitionInput>),
    /// An existing revision (a rollback, or the deployed one again for a redeploy).
    Existing { arn: String, revision: i32 },
}

/// A repair, planned: nothing has changed yet.
#[derive(Clone, PartialEq)]
pub struct Plan {
    pub action: Repair,
    pub cluster: String,
    pub service: String,
    /// The deployed revision the plan starts from, as shown.
    pub source: probe_ecs::TaskDefinition,
    pub target: Target,
    /// From the deployed revision to the target; secrets only as "changed".
    pub diff: Vec<Change>,
    /// The equivalent aws CLI commands, secrets redacted.
    pub commands: Vec<String>,
    /// What will go wrong if the plan is applied as things stand, one line each: a secret
    /// the new tasks cannot read stops them (filled by [`super::Repairer::plan`]).
    pub warnings: Vec<String>,
}

// By hand: the registration input holds every environment value.
impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("action", &self.action)
            .field("service", &self.service)
            .field("source", &self.source.arn)
            .field("diff", &self.diff)
            .finish_non_exhaustive()
    }
}

impl Plan {
    /// The plan as JSON, values masked.
    pub fn to_json(&self) -> Value {
        let target = match &self.target {
            Target::Register(input) => json!({
                "register": { "family": input.family() },
            }),
            Target::Existing { arn, revision } => json!({ "arn": arn, "revision": revision }),
        };
        json!({
            "action": self.action.to_json(),
            "cluster": self.cluster,
            "service": self.service,
            "source_revision": {
                "arn": self.source.arn,
                "revision": self.source.revision,
                "image": self.source.image,
            },
            "target": target,
            "diff": self.diff,
            "commands": self.commands,
            "warnings": self.warnings,
        })
    }
}

/// Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not take.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// The RegisterTaskDefinition input that registers `source` again with `containers` instead of
/// its own: every other field carried over as described, the read-only ones left out.
// inferenceAccelerators is deprecated (Elastic Inference ended), but a revision that still
// has them must keep them: preserving every field is the point.
#[allow(deprecated)]
pub fn registration(
    source: &ecs::TaskDefinition,
    tags: &[ecs::Tag],
    containers: Vec<ecs::ContainerDefinition>,
) -> Result<RegisterTaskDefinitionInput, RepairError> {
    // Field by field, in the order of the API reference; READ_ONLY_FIELDS are the rest.
    RegisterTaskDefinitionInput::builder()
        .set_family(source.family.clone())
        .set_task_role_arn(source.task_role_arn.clone())
        .set_execution_role_arn(source.execution_role_arn.clone())
        .set_network_mode(source.network_mode.clone())
        .set_container_definitions(Some(containers))
        .set_volumes(source.volumes.clone())
        .set_placement_constraints(source.placement_constraints.clone())
        .set_requires_compatibilities(source.requires_compatibilities.clone())
        .set_cpu(source.cpu.clone())
        .set_memory(source.memory.clone())
        .set_tags((!tags.is_empty()).then(|| tags.to_vec()))
        .set_pid_mode(source.pid_mode.clone())
        .set_ipc_mode(source.ipc_mode.clone())
        .set_proxy_configuration(source.proxy_configuration.clone())
        .set_inference_accelerators(source.inference_accelerators.clone())
        .set_ephemeral_storage(source.ephemeral_storage.clone())
        .set_runtime_platform(source.runtime_platform.clone())
        .set_enable_fault_injection(source.enable_fault_injection)
        .build()
        .map_err(|e| RepairError(format!("cannot build the registration: {e}")))
}

/// `containers` with the environment of container `index` changed: each variable replaced in
/// place, or appended when it is new. Every other field and container is untouched.
pub fn with_env(
    containers: &[ecs::ContainerDefinition],
    index: usize,
    vars: &[(String, String)],
) -> Vec<ecs::ContainerDefinition> {
    let mut containers = containers.to_vec();
    if let Some(container) = containers.get_mut(index) {
        let mut environment = container.environment.clone().unwrap_or_default();
        for (name, value) in vars {
            let entry = KeyValuePair::builder().name(name).value(value).build();
            match environment
                .iter_mut()
                .find(|kv| kv.name() == Some(name.as_str()))
            {
                Some(existing) => *existing = entry,
                None => environment.push(entry),
            }
        }
        container.environment = Some(environment);
    }
    containers
}

/// `containers` with container `index`'s `secrets` pointed at other references: each entry
/// replaced in place or appended, and a plain variable of the same name removed (ECS refuses a
/// name in both). Every other field and container is untouched.
pub fn with_secret_refs(
    containers: &[ecs::ContainerDefinition],
    index: usize,
    refs: &[(String, String)],
) -> Result<Vec<ecs::ContainerDefinition>, RepairError> {
    let mut containers = containers.to_vec();
    if let Some(container) = containers.get_mut(index) {
        let mut secrets = container.secrets.clone().unwrap_or_default();
        for (name, from) in refs {
            let entry = ecs::Secret::builder()
                .name(name)
                .value_from(from)
                .build()
                .map_err(|e| RepairError(format!("--set-secret {name}: {e}")))?;
            match secrets.iter_mut().find(|s| s.name() == name) {
                Some(existing) => *existing = entry,
                None => secrets.push(entry),
            }
        }
        container.secrets = Some(secrets);
        if let Some(environment) = container.environment.as_mut() {
            environment.retain(|kv| !refs.iter().any(|(n, _)| kv.name() == Some(n.as_str())));
        }
    }
    Ok(containers)
}

/// Parses `NAME=VALUEFROM` for `--set-secret`: a variable name, and a Secrets Manager ARN
/// (with ECS's optional `:json-key:stage:version` suffix), an SSM parameter ARN, or a parameter
/// name.
pub fn parse_secret_ref(text: &str) -> Result<(String, String), RepairError> {
    let (name, from) = parse_assignment(text).map_err(|e| {
        RepairError(
            e.0.replacen("--set ", "--set-secret ", 1)
                .replace("NAME=VALUE", "NAME=VALUEFROM"),
        )
    })?;
    let arn_of = |service: &str| {
        from.starts_with(&format!("arn:aws:{service}:"))
            || from.starts_with(&format!("arn:aws-us-gov:{service}:"))
            || from.starts_with(&format!("arn:aws-cn:{service}:"))
    };
    // A hierarchical parameter name only: a bare word could be a token pasted by mistake,
    // which the plan would then print (its ARN works for a top-level parameter).
    let is_parameter_name = from.len() > 1
        && from.starts_with('/')
        && from
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c));
    let fields = from.split(':').count();
    let ok = (arn_of("secretsmanager") && (7..=10).contains(&fields))
        || (arn_of("ssm") && from.contains(":parameter"))
        || is_parameter_name;
    if !ok {
        // An ARN is a reference and may be shown; anything else may be a value pasted by
        // mistake, and is not repeated.
        let shown = if from.starts_with("arn:") {
            redact::sanitize(&from)
        } else {
            "…".to_owned()
        };
        return Err(RepairError(format!(
            "--set-secret {name}={shown}: not a secret reference — give a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key::]), an SSM parameter ARN or a parameter name starting with /"
        )));
    }
    Ok((name, from))
}

/// A repair that registers `source` again with `containers`: the target, the diff from the
/// deployed revision, and the equivalent commands (describe, `jq` with `program`, register,
/// update the service). `unchanged` says why an empty diff is refused (`{}` is the revision).
fn new_revision(
    source: &Described,
    cluster: &str,
    service: &str,
    containers: Vec<ecs::ContainerDefinition>,
    program: &str,
    unchanged: &str,
) -> Result<(Target, Vec<Change>, Vec<String>), RepairError> {
    let td = &source.task_definition;
    let family = td.family().unwrap_or_default();
    let mut next = td.clone();
    next.container_definitions = Some(containers.clone());
    let diff = probe_ecs::diff(
        &probe_ecs::shown(td, &source.tags, service),
        &probe_ecs::shown(&next, &source.tags, service),
    );
    if diff.is_empty() {
        return Err(RepairError(format!(
            "{} (a redeploy restarts its tasks: --redeploy, or R then 3 in the console)",
            unchanged.replacen("{}", &source.reference(), 1)
        )));
    }
    let input = registration(td, &source.tags, containers)?;
    let commands = vec![
        format!(
            "aws ecs describe-task-definition --task-definition {} --include TAGS > task-def.json",
            source.reference()
        ),
        format!(
            "jq {} task-def.json > task-def-updated.json",
            shell_quote(program)
        ),
        "aws ecs register-task-definition --cli-input-json file://task-def-updated.json".to_owned(),
        format!(
            "aws ecs update-service --cluster {cluster} --service {service} --task-definition {family}"
        ),
    ];
    Ok((Target::Register(Box::new(input)), diff, commands))
}

/// Plans `repair` on the deployed revision `source`; `rollback` is the chosen revision for a
/// [`Repair::RollbackTo`].
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
pub fn plan(
    repair: &Repair,
    cluster: &str,
    service: &str,
    source: &Described,
    rollback: Option<&Described>,
) -> Result<Plan, RepairError> {
    let td = &source.task_definition;
    let shown_source = probe_ecs::shown(td, &source.tags, service);
    let family = td.family().unwrap_or_default();
    let wait = format!("aws ecs wait services-stable --cluster {cluster} --services {service}");
    let (target, diff, mut commands) = match repair {
        Repair::Set(vars) => {
            if vars.is_empty() {
                return Err(RepairError("--set: give at least one NAME=VALUE".into()));
            }
            let index = probe_ecs::app_container(td, service).ok_or_else(|| {
                RepairError(format!(
                    "{} has no container definitions",
                    source.reference()
                ))
            })?;
            let container = &td.container_definitions()[index];
            let container_name = container.name().unwrap_or_default();
            for (name, _) in vars {
                if let Some(secret) = container.secrets().iter().find(|s| s.name() == name) {
                    return Err(RepairError(format!(
                        "{name} comes from `secrets` ({}) in {}: change that secret, then force a new deployment (--redeploy, or R then 3 in the console)",
                        redact::sanitize(secret.value_from()),
                        source.reference()
                    )));
                }
            }
            let containers = with_env(td.container_definitions(), index, vars);
            new_revision(
                source,
                cluster,
                service,
                containers,
                &jq_program(container_name, vars),
                "setting these values changes nothing: {} already has them",
            )?
        }
        Repair::PointSecret(refs) => {
            if refs.is_empty() {
                return Err(RepairError(
                    "--set-secret: give at least one NAME=VALUEFROM".into(),
                ));
            }
            let index = probe_ecs::app_container(td, service).ok_or_else(|| {
                RepairError(format!(
                    "{} has no container definitions",
                    source.reference()
                ))
            })?;
            let container_name = td.container_definitions()[index].name().unwrap_or_default();
            let containers = with_secret_refs(td.container_definitions(), index, refs)?;
            new_revision(
                source,
                cluster,
                service,
                containers,
                &jq_secrets_program(container_name, refs),
                "these references change nothing: {} already reads them",
            )?
        }
        Repair::RollbackTo(reference) => {
            let Some(chosen) = rollback else {
                return Err(RepairError(format!(
                    "roll back to {reference}: there is no ACTIVE revision of {family} to go back to"
                )));
            };
            let chosen_td = &chosen.task_definition;
            if chosen_td.revision() == td.revision() {
                return Err(RepairError(format!(
                    "roll back to {reference}: {} is the deployed revision already (a redeploy restarts its tasks: --redeploy, or R then 3 in the console)",
                    source.reference()
                )));
            }
            let diff = probe_ecs::diff(
                &shown_source,
                &probe_ecs::shown(chosen_td, &chosen.tags, service),
            );
            let commands = vec![format!(
                "aws ecs update-service --cluster {cluster} --service {service} --task-definition {}",
                chosen.reference()
            )];
            let target = Target::Existing {
                arn: chosen_td
                    .task_definition_arn()
                    .map_or_else(|| chosen.reference(), str::to_owned),
                revision: chosen_td.revision(),
            };
            (target, diff, commands)
        }
        Repair::RestoreSecret(name) | Repair::PutSecret(name, _) => {
            let id = secret_id(td, service, name, &source.reference())?;
            let secret_command = match repair {
                Repair::RestoreSecret(_) => {
                    format!("aws secretsmanager restore-secret --secret-id {id}")
                }
                _ => format!(
                    "aws secretsmanager put-secret-value --secret-id {id} --secret-string '{}'",
                    redact::MASK
                ),
            };
            let commands = vec![
                secret_command,
                format!(
                    "aws ecs update-service --cluster {cluster} --service {service} --force-new-deployment"
                ),
            ];
            let target = Target::Existing {
                arn: td
                    .task_definition_arn()
                    .map_or_else(|| source.reference(), str::to_owned),
                revision: td.revision(),
            };
            (target, Vec::new(), commands)
        }
        Repair::Redeploy => {
            let commands = vec![format!(
                "aws ecs update-service --cluster {cluster} --service {service} --force-new-deployment"
            )];
            let target = Target::Existing {
                arn: td
                    .task_definition_arn()
                    .map_or_else(|| source.reference(), str::to_owned),
                revision: td.revision(),
            };
            (target, Vec::new(), commands)
        }
    };
    commands.push(wait);
    Ok(Plan {
        action: repair.clone(),
        cluster: cluster.to_owned(),
        service: service.to_owned(),
        source: shown_source,
        target,
        diff,
        commands,
        warnings: Vec::new(),
    })
}

/// The Secrets Manager secret the service's container reads `name` from (its `valueFrom`
/// without ECS's `:json-key:stage:version` suffix), or why a secret repair does not apply.
fn secret_id(
    td: &ecs::TaskDefinition,
    service: &str,
    name: &str,
    reference: &str,
) -> Result<String, RepairError> {
    use crate::probe::secrets::{Store, ValueFrom};
    let container = probe_ecs::app_container(td, service)
        .map(|i| &td.container_definitions()[i])
        .ok_or_else(|| RepairError(format!("{reference} has no container definitions")))?;
    let Some(secret) = container.secrets().iter().find(|s| s.name() == name) else {
        return Err(RepairError(format!(
            "{} is not in the `secrets` of {reference}: a plain variable is set with --set",
            redact::sanitize(name)
        )));
    };
    let from = ValueFrom::parse(secret.value_from());
    if from.store != Store::SecretsManager {
        return Err(RepairError(format!(
            "{} comes from SSM Parameter Store ({}): change the parameter (aws ssm put-parameter), then --redeploy",
            redact::sanitize(name),
            from.source()
        )));
    }
    Ok(redact::sanitize(&from.id))
}

/// The jq program that turns DescribeTaskDefinition's output into the registration: read-only
/// fields deleted, tags moved in, the variables set (values as they may be shown).
fn jq_program(container: &str, vars: &[(String, String)]) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut program = format!(
        ".tags as $tags | .taskDefinition | del({}) | .tags = $tags",
        READ_ONLY_FIELDS
            .iter()
            .map(|f| format!(".{f}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (name, value) in vars {
        let _ = write!(
            program,
            " | (.containerDefinitions[] | select(.name == {}) | .environment) |= (map(select(.name != {name_q})) + [{{\"name\": {name_q}, \"value\": {}}}])",
            quote(container),
            quote(&redact::env_value(name, value)),
            name_q = quote(name),
        );
    }
    program
}

/// The jq program of a `--set-secret` repair: the registration as [`jq_program`] makes it, with
/// each `secrets` entry pointed at its new reference and a plain variable of that name dropped.
fn jq_secrets_program(container: &str, refs: &[(String, String)]) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut program = jq_program(container, &[]);
    for (name, from) in refs {
        let _ = write!(
            program,
            " | (.containerDefinitions[] | select(.name == {c}) | .secrets) |= ((. // []) | map(select(.name != {n})) + [{{\"name\": {n}, \"valueFrom\": {f}}}]) | (.containerDefinitions[] | select(.name == {c}) | .environment) |= ((. // []) | map(select(.name != {n})))",
            c = quote(container),
            n = quote(name),
            f = quote(&redact::sanitize(from)),
        );
    }
    program
}

/// `text` as one single-quoted shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(env: &[(&str, &str)]) -> Described {
        let container = ecs::ContainerDefinition::builder()
            .name("app")
            .image("img:1")
            .memory(512)
            .set_environment(Some(
                env.iter()
                    .map(|(n, v)| KeyValuePair::builder().name(*n).value(*v).build())
                    .collect(),
            ))
            .secrets(
                ecs::Secret::builder()
                    .name("DB")
                    .value_from("arn:db")
                    .build()
                    .expect("secret"),
            )
            .build();
        Described {
            task_definition: ecs::TaskDefinition::builder()
                .family("app")
                .revision(7)
                .task_definition_arn("arn:aws:ecs:us-east-1:1:task-definition/app:7")
                .container_definitions(container)
                .cpu("256")
                .memory("512")
                .build(),
            tags: vec![ecs::Tag::builder().key("env").value("prod").build()],
        }
    }

    #[test]
    fn set_plans_a_masked_diff_and_redacted_commands() {
        let source = described(&[("TWILIO_AUTH_TOKEN", "old-secret-value"), ("A", "1")]);
        let repair = Repair::Set(vec![
            ("TWILIO_AUTH_TOKEN".into(), "new-secret-value".into()),
            ("B".into(), "2".into()),
        ]);
        let plan = plan(&repair, "c", "app", &source, None).expect("plan");
        assert_eq!(
            plan.diff,
            vec![
                Change::Added {
                    name: "B".into(),
                    display: "2".into()
                },
                Change::Changed {
                    name: "TWILIO_AUTH_TOKEN".into(),
                    from: redact::MASK.into(),
                    to: redact::MASK.into()
                },
            ]
        );
        let text = format!("{plan:?} {} {}", plan.to_json(), plan.commands.join("\n"));
        assert!(!text.contains("secret-value"), "{text}");
        assert!(plan.commands[1].contains("\"value\": \"••••••••\""));
        assert!(plan
            .commands
            .last()
            .is_some_and(|c| c.contains("services-stable")));
        let Target::Register(input) = &plan.target else {
            panic!("register")
        };
        let env = input.container_definitions()[0].environment();
        assert_eq!(
            env[0].value(),
            Some("new-secret-value"),
            "replaced in place"
        );
        assert_eq!(env[2].name(), Some("B"), "appended");
        assert_eq!(input.tags().len(), 1);
        assert_eq!(input.cpu(), Some("256"));
    }

    #[test]
    fn set_refuses_no_change_and_secret_names() {
        let source = described(&[("A", "1")]);
        let same = Repair::Set(vec![("A".into(), "1".into())]);
        assert!(plan(&same, "c", "app", &source, None).is_err());
        let secret = Repair::Set(vec![("DB".into(), "x".into())]);
        let err = plan(&secret, "c", "app", &source, None).expect_err("secret");
        assert!(err.0.contains("secrets"), "{err}");
    }

    #[test]
    fn rollback_needs_another_revision() {
        let source = described(&[("A", "1")]);
        let repair = Repair::RollbackTo(RevisionRef::Previous);
        assert!(plan(&repair, "c", "app", &source, None).is_err());
        assert!(plan(&repair, "c", "app", &source, Some(&source)).is_err());
        let mut older = described(&[("A", "0")]);
        older.task_definition.revision = 6;
        let plan = plan(&repair, "c", "app", &source, Some(&older)).expect("plan");
        assert!(matches!(plan.target, Target::Existing { revision: 6, .. }));
        assert_eq!(plan.diff.len(), 1);
        assert!(plan.commands[0].ends_with("--task-definition app:6"));
    }

    #[test]
    fn assignments_and_revisions_parse() {
        assert_eq!(
            parse_assignment("A_1=x=y").expect("ok"),
            ("A_1".into(), "x=y".into())
        );
        assert!(parse_assignment("FOO").is_err());
        assert!(parse_assignment("1A=x").is_err());
        assert!(parse_assignment("=x").is_err());
        assert_eq!(
            "previous".parse::<RevisionRef>().ok(),
            Some(RevisionRef::Previous)
        );
        assert_eq!(
            "41".parse::<RevisionRef>().ok(),
            Some(RevisionRef::Number(41))
        );
        assert!("0".parse::<RevisionRef>().is_err());
    }
}
