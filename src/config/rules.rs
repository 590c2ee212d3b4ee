//! The runbook's table of environment variables as data ([`EnvRules::builtin`]) and its
//! evaluation against one container's variables ([`EnvView`], built by the ECS probe from the
//! task definition's `environment` and `secrets`). The env pane shows [`EnvRules::evaluate`]'s
//! per-variable status; the diagnosis uses [`EnvRules::check`]'s violations. Messages never
//! contain a secret's value, SIDs are quoted by prefix and phone numbers by their last 4.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};

/// The rules, in display order. In a config file, `[[rules]]` entries replace the built-in
/// rule of the same name or add a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnvRules(pub Vec<EnvRule>);

/// One variable's rule: when it is required, its format, values not allowed, whether secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvRule {
    /// Variable name, e.g. `TWILIO_ACCOUNT_SID`.
    pub name: String,
    /// Required in every deployment.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Required only when another variable has a given value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_when: Option<Condition>,
    /// The value is a secret: never shown, never quoted in a message.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
    /// Shape of the value.
    #[serde(default, skip_serializing_if = "Format::is_any")]
    pub format: Format,
    /// Values refused, possibly only under a condition (`stub` when `ENV=prod`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbid: Vec<Forbidden>,
    /// The backend's default when the variable is absent, shown in the env pane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The runbook's "Purpose" column.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purpose: String,
}

/// `var` has the value `equals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Variable name.
    pub var: String,
    /// Value it must have for the condition to hold.
    pub equals: String,
}

/// A value refused, always or when a condition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forbidden {
    /// The refused value.
    pub value: String,
    /// Refused only when this holds; always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
}

/// The shape a value must have; written `format = { kind = "sid", prefix = "AC" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Format {
    /// Any non-empty value.
    #[default]
    Any,
    /// One of the listed values.
    OneOf {
        /// Allowed values.
        values: Vec<String>,
    },
    /// A Twilio SID: `prefix` then 32 hex characters.
    Sid {
        /// Two-letter prefix, `AC` or `VA`.
        prefix: String,
    },
    /// An E.164 phone number: `+` then 8 to 15 digits.
    E164,
    /// A sender Twilio's Messages API takes in `From`: an E.164 number or a Messaging Service
    /// SID (`MG` then 32 hex characters).
    Sender,
    /// A number greater than zero (seconds).
    PositiveNumber,
}

/// A container's variables as the task definition declares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvView {
    vars: BTreeMap<String, EnvSource>,
    /// Sources that could not be read (an env file): a variable not declared may be in one.
    unread: Vec<String>,
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    /// Plain `environment` entry with its value.
    Value(String),
    /// `secrets` entry: a `valueFrom` reference (Secrets Manager / SSM); value unknown.
    Secret {
        /// The reference (an ARN or parameter name), not the value.
        value_from: String,
    },
}

/// The outcome for one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarCheck {
    /// Variable name.
    pub name: String,
    /// Whether its value is a secret.
    pub is_secret: bool,
    /// What was found.
    pub status: VarStatus,
}

/// What was found for one variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VarStatus {
    /// Present and valid.
    Ok,
    /// Set from a secret reference; its value cannot be checked here.
    FromSecret {
        /// The `valueFrom` reference.
        value_from: String,
    },
    /// Absent and not required; the backend uses `default` if any.
    NotSet {
        /// The backend's default.
        default: Option<String>,
    },
    /// Cannot tell: the condition depends on a variable whose value is a secret reference.
    Undetermined {
        /// One line saying why.
        reason: String,
    },
    /// A rule is broken.
    Violation(Violation),
}

/// A broken rule: which variable, how, and one line for humans (no secret values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Variable name.
    pub name: String,
    /// What is wrong.
    pub kind: ViolationKind,
    /// One line for the env pane, `check` and the report.
    pub message: String,
}

/// What is wrong with a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// Required and absent.
    Missing,
    /// Present with an empty value.
    Empty,
    /// Value of the wrong shape.
    BadFormat,
    /// A refused value (`stub` in prod).
    NotAllowed,
}

/// Whether a condition holds for the view.
enum Holds {
    Yes,
    No,
    Unknown(String),
}

impl Default for EnvRules {
    fn default() -> Self {
        Self::builtin()
    }
}

impl EnvRules {
    /// The runbook's table: `OTP_PROVIDER`, the Twilio variables, `OTP_FROM_NUMBER`, `ENV`.
    pub fn builtin() -> Self {
        let rule = |name: &str, purpose: &str| EnvRule {
            name: name.into(),
            required: false,
            required_when: None,
            secret: false,
            format: Format::Any,
            forbid: Vec::new(),
            default: None,
            purpose: purpose.into(),
        };
        let when = |var: &str, equals: &str| Condition {
            var: var.into(),
            equals: equals.into(),
        };
        Self(vec![
            EnvRule {
                required: true,
                format: Format::OneOf {
                    values: vec!["twilio_verify".into(), "twilio_sms".into(), "stub".into()],
                },
                forbid: vec![Forbidden {
                    value: "stub".into(),
                    when: Some(when("ENV", "prod")),
                }],
                ..rule(
                    "OTP_PROVIDER",
                    "OTP provider: twilio_verify or twilio_sms (not stub in prod)",
                )
            },
            EnvRule {
                required: true,
                format: Format::Sid {
                    prefix: "AC".into(),
                },
                ..rule(
                    "TWILIO_ACCOUNT_SID",
                    "Twilio account identifier (starts with AC)",
                )
            },
            EnvRule {
                // 32 hex characters in practice; only presence is checked so that a token of
                // another shape (an API key secret) is not reported as broken.
                required: true,
                secret: true,
                ..rule("TWILIO_AUTH_TOKEN", "Twilio auth token")
            },
            EnvRule {
                required_when: Some(when("OTP_PROVIDER", "twilio_verify")),
                format: Format::Sid {
                    prefix: "VA".into(),
                },
                ..rule(
                    "TWILIO_VERIFY_SERVICE_SID",
                    "Verify service ID (starts with VA)",
                )
            },
            EnvRule {
                required_when: Some(when("OTP_PROVIDER", "twilio_sms")),
                format: Format::Sender,
                ..rule(
                    "OTP_FROM_NUMBER",
                    "Phone number to send from, or a Messaging Service (MG…)",
                )
            },
            EnvRule {
                format: Format::PositiveNumber,
                default: Some("30".into()),
                ..rule("TWILIO_TIMEOUT_SECONDS", "Timeout for Twilio API calls")
            },
            EnvRule {
                required: true,
                format: Format::OneOf {
                    values: vec!["prod".into()],
                },
                ..rule("ENV", "Must be prod for production validation")
            },
        ])
    }

    /// Whether these are exactly the built-in rules (then they are not written out).
    pub fn is_builtin(&self) -> bool {
        *self == Self::builtin()
    }

    /// The rule for `name`.
    pub fn get(&self, name: &str) -> Option<&EnvRule> {
        self.0.iter().find(|r| r.name == name)
    }

    /// Replaces the rule of the same name, or appends a new one.
    pub fn upsert(&mut self, rule: EnvRule) {
        match self.0.iter_mut().find(|r| r.name == rule.name) {
            Some(slot) => *slot = rule,
            None => self.0.push(rule),
        }
    }

    /// Every rule's outcome, in rule order, for the env pane.
    pub fn evaluate(&self, env: &EnvView) -> Vec<VarCheck> {
        self.0
            .iter()
            .map(|rule| VarCheck {
                name: rule.name.clone(),
                is_secret: rule.secret,
                status: rule.evaluate(env),
            })
            .collect()
    }

    /// The broken rules only, for the diagnosis.
    pub fn check(&self, env: &EnvView) -> Vec<Violation> {
        self.0
            .iter()
            .filter_map(|rule| match rule.evaluate(env) {
                VarStatus::Violation(v) => Some(v),
                _ => None,
            })
            .collect()
    }
}

impl EnvRule {
    /// This rule's outcome for `env`.
    pub fn evaluate(&self, env: &EnvView) -> VarStatus {
        let mut undetermined = None;
        let required = self.required
            || self
                .required_when
                .as_ref()
                .is_some_and(|c| match c.holds(env) {
                    Holds::Yes => true,
                    Holds::No => false,
                    Holds::Unknown(reason) => {
                        undetermined = Some(reason);
                        false
                    }
                });
        if let (None, Some(reason)) = (env.get(&self.name), env.maybe_unread(&self.name)) {
            return VarStatus::Undetermined { reason };
        }
        let value = match env.get(&self.name) {
            None if required => {
                return self.violation(
                    ViolationKind::Missing,
                    format!("{} is not set ({})", self.name, self.requirement()),
                )
            }
            None => {
                return match undetermined {
                    Some(reason) => VarStatus::Undetermined { reason },
                    None => VarStatus::NotSet {
                        default: self.default.clone(),
                    },
                }
            }
            Some(EnvSource::Secret { value_from }) => {
                return VarStatus::FromSecret {
                    value_from: value_from.clone(),
                }
            }
            Some(EnvSource::Value(value)) => value,
        };
        if value.trim().is_empty() {
            if required || self.format != Format::Any {
                let message = format!("{} is set but empty ({})", self.name, self.requirement());
                return self.violation(ViolationKind::Empty, message);
            }
            return VarStatus::Ok;
        }
        if let Some(expected) = self.format.mismatch(value) {
            let message = match self.shown(value) {
                Some(shown) => format!("{} is {shown}; expected {expected}", self.name),
                None => format!("{} has the wrong format; expected {expected}", self.name),
            };
            return self.violation(ViolationKind::BadFormat, message);
        }
        for forbidden in &self.forbid {
            if forbidden.value != *value {
                continue;
            }
            let applies = forbidden
                .when
                .as_ref()
                .is_none_or(|c| matches!(c.holds(env), Holds::Yes));
            if applies {
                let mut message = match self.shown(value) {
                    Some(shown) => format!("{} is {shown}, which is not allowed", self.name),
                    None => format!("{} has a value that is not allowed", self.name),
                };
                if let Some(c) = &forbidden.when {
                    message = format!("{message} when {}={}", c.var, c.equals);
                }
                return self.violation(ViolationKind::NotAllowed, message);
            }
        }
        VarStatus::Ok
    }

    fn violation(&self, kind: ViolationKind, message: String) -> VarStatus {
        VarStatus::Violation(Violation {
            name: self.name.clone(),
            kind,
            message,
        })
    }

    /// `required`, or `required when OTP_PROVIDER=twilio_verify`.
    fn requirement(&self) -> String {
        match (&self.required, &self.required_when) {
            (false, Some(c)) => format!("required when {}={}", c.var, c.equals),
            (true, _) => "required".into(),
            (false, None) => "optional, but must not be empty".into(),
        }
    }

    /// How a value may be quoted in a message: never for secrets, a prefix for SIDs, the last
    /// 4 digits for phone numbers, otherwise escaped and truncated.
    fn shown(&self, value: &str) -> Option<String> {
        if self.secret {
            return None;
        }
        let quoted = |s: &str| format!("\"{}\"", s.escape_debug());
        Some(match self.format {
            Format::Sid { .. } => {
                let prefix: String = value.chars().take(8).collect();
                let n = value.chars().count();
                let more = if n > 8 { "…" } else { "" };
                format!("{}{more} ({n} characters)", quoted(&prefix))
            }
            Format::Sender if value.starts_with("MG") => {
                let prefix: String = value.chars().take(8).collect();
                let n = value.chars().count();
                let more = if n > 8 { "…" } else { "" };
                format!("{}{more} ({n} characters)", quoted(&prefix))
            }
            Format::E164 | Format::Sender => {
                let digits: Vec<char> = value.chars().collect();
                let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
                format!("\"…{}\"", tail.escape_debug())
            }
            _ => {
                let short: String = value.chars().take(40).collect();
                let more = if value.chars().count() > 40 {
                    "…"
                } else {
                    ""
                };
                format!("{}{more}", quoted(&short))
            }
        })
    }
}

impl Condition {
    fn holds(&self, env: &EnvView) -> Holds {
        match env.get(&self.var) {
            Some(EnvSource::Value(v)) if *v == self.equals => Holds::Yes,
            None => env
                .maybe_unread(&self.var)
                .map_or(Holds::No, Holds::Unknown),
            Some(EnvSource::Value(_)) => Holds::No,
            Some(EnvSource::Secret { .. }) => Holds::Unknown(format!(
                "required when {}={}, and {} comes from a secret",
                self.var, self.equals, self.var
            )),
        }
    }
}

impl Format {
    fn is_any(&self) -> bool {
        *self == Self::Any
    }

    /// `None` when `value` fits; otherwise what was expected, for the message.
    fn mismatch(&self, value: &str) -> Option<String> {
        let fits = match self {
            Self::Any => true,
            Self::OneOf { values } => values.iter().any(|v| v == value),
            Self::Sid { prefix } => value.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                rest.len() == 32 && rest.chars().all(|c| c.is_ascii_hexdigit())
            }),
            Self::E164 => is_e164(value),
            Self::Sender => {
                is_e164(value)
                    || value.strip_prefix("MG").is_some_and(|rest| {
                        rest.len() == 32 && rest.chars().all(|c| c.is_ascii_hexdigit())
                    })
            }
            Self::PositiveNumber => value
                .trim()
                .parse::<f64>()
                .is_ok_and(|n| n.is_finite() && n > 0.0),
        };
        if fits {
            return None;
        }
        Some(match self {
            Self::Any => String::new(),
            Self::OneOf { values } if values.len() == 1 => values.join(""),
            Self::OneOf { values } => format!("one of {}", values.join(", ")),
            Self::Sid { prefix } => format!("{prefix} followed by 32 hex characters"),
            Self::E164 => "an E.164 number: + then 8 to 15 digits".into(),
            Self::Sender => "an E.164 number (+ then 8 to 15 digits) or a Messaging Service SID (MG followed by 32 hex characters)".into(),
            Self::PositiveNumber => "a positive number".into(),
        })
    }

    /// Why this format cannot work, for rules written in a config file.
    fn problem(&self) -> Option<&'static str> {
        match self {
            Self::OneOf { values } if values.is_empty() => Some("one_of needs at least one value"),
            Self::Sid { prefix } if prefix.is_empty() => Some("sid needs a prefix"),
            _ => None,
        }
    }
}

/// `+` then 8 to 15 ASCII digits.
pub(super) fn is_e164(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
    })
}

impl EnvView {
    /// An empty view (no variables).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plain `environment` variable.
    #[must_use]
    pub fn with_value(mut self, name: &str, value: &str) -> Self {
        self.insert(name, EnvSource::Value(value.into()));
        self
    }

    /// Adds a `secrets` entry (`valueFrom` reference).
    #[must_use]
    pub fn with_secret(mut self, name: &str, value_from: &str) -> Self {
        self.insert(
            name,
            EnvSource::Secret {
                value_from: value_from.into(),
            },
        );
        self
    }

    /// A source of variables that could not be read (`s3://bucket/name.env`): a variable the
    /// view lacks is then unknown, not missing.
    #[must_use]
    pub fn with_unread(mut self, source: &str) -> Self {
        self.unread.push(source.to_owned());
        self
    }

    /// Why a variable the view lacks may still be set: the unread sources, in one line.
    fn maybe_unread(&self, name: &str) -> Option<String> {
        (!self.unread.is_empty()).then(|| {
            format!(
                "{name} may be set by {}, which could not be read",
                self.unread.join(", ")
            )
        })
    }

    /// Sets `name`, replacing an earlier entry.
    pub fn insert(&mut self, name: &str, source: EnvSource) {
        self.vars.insert(name.into(), source);
    }

    /// Where `name` comes from, if declared.
    pub fn get(&self, name: &str) -> Option<&EnvSource> {
        self.vars.get(name)
    }

    /// All declared variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &EnvSource)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

/// Reads `[[rules]]` and merges them into the built-ins by name; a name given twice or a rule
/// that cannot work is an error.
pub(super) fn deserialize_merged<'de, D: Deserializer<'de>>(d: D) -> Result<EnvRules, D::Error> {
    use serde::de::Error as _;
    let overrides = Vec::<EnvRule>::deserialize(d)?;
    let mut rules = EnvRules::builtin();
    let mut seen = BTreeSet::new();
    for rule in overrides {
        let name = rule.name.clone();
        if name.trim().is_empty() || name.contains(['=', ' ']) {
            return Err(D::Error::custom(format!(
                "rule name {name:?} is not a variable name"
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(D::Error::custom(format!(
                "[[rules]]: {name} is given twice"
            )));
        }
        if let Some(problem) = rule.format.problem() {
            return Err(D::Error::custom(format!("[[rules]]: {name}: {problem}")));
        }
        rules.upsert(rule);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const VA: &str = "VA0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "f00dfacef00dfacef00dfacef00dface";

    /// A healthy Verify deployment.
    fn healthy() -> EnvView {
        EnvView::new()
            .with_value("OTP_PROVIDER", "twilio_verify")
            .with_value("TWILIO_ACCOUNT_SID", AC)
            .with_value("TWILIO_AUTH_TOKEN", TOKEN)
            .with_value("TWILIO_VERIFY_SERVICE_SID", VA)
            .with_value("ENV", "prod")
    }

    fn without(env: &EnvView, name: &str) -> EnvView {
        let mut out = EnvView::new();
        for (k, v) in env.iter().filter(|(k, _)| *k != name) {
            out.insert(k, v.clone());
        }
        out
    }

    fn status(env: &EnvView, name: &str) -> VarStatus {
        EnvRules::builtin()
            .evaluate(env)
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.status)
            .expect("rule exists")
    }

    #[test]
    fn healthy_deployment_has_no_violations() {
        assert_eq!(EnvRules::builtin().check(&healthy()), vec![]);
        assert_eq!(
            status(&healthy(), "TWILIO_TIMEOUT_SECONDS"),
            VarStatus::NotSet {
                default: Some("30".into())
            }
        );
        assert_eq!(
            status(&healthy(), "OTP_FROM_NUMBER"),
            VarStatus::NotSet { default: None }
        );
    }

    /// (what to change, variable, expected kind, message) for every rule of the table.
    #[test]
    fn every_rule_table_driven() {
        type Edit = fn(EnvView) -> EnvView;
        let cases: Vec<(Edit, &str, ViolationKind, &str)> = vec![
            (|e| without(&e, "OTP_PROVIDER"), "OTP_PROVIDER", ViolationKind::Missing,
             "OTP_PROVIDER is not set (required)"),
            (|e| e.with_value("OTP_PROVIDER", "twilio"), "OTP_PROVIDER", ViolationKind::BadFormat,
             "OTP_PROVIDER is \"twilio\"; expected one of twilio_verify, twilio_sms, stub"),
            (|e| e.with_value("OTP_PROVIDER", "stub"), "OTP_PROVIDER", ViolationKind::NotAllowed,
             "OTP_PROVIDER is \"stub\", which is not allowed when ENV=prod"),
            (|e| e.with_value("OTP_PROVIDER", ""), "OTP_PROVIDER", ViolationKind::Empty,
             "OTP_PROVIDER is set but empty (required)"),
            (|e| without(&e, "TWILIO_ACCOUNT_SID"), "TWILIO_ACCOUNT_SID", ViolationKind::Missing,
             "TWILIO_ACCOUNT_SID is not set (required)"),
            (|e| e.with_value("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcd"),
             "TWILIO_ACCOUNT_SID", ViolationKind::BadFormat,
             "TWILIO_ACCOUNT_SID is \"AC012345\"… (32 characters); expected AC followed by 32 hex characters"),
            (|e| e.with_value("TWILIO_ACCOUNT_SID", VA), "TWILIO_ACCOUNT_SID", ViolationKind::BadFormat,
             "TWILIO_ACCOUNT_SID is \"VA012345\"… (34 characters); expected AC followed by 32 hex characters"),
            (|e| e.with_value("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdeg"),
             "TWILIO_ACCOUNT_SID", ViolationKind::BadFormat,
             "TWILIO_ACCOUNT_SID is \"AC012345\"… (34 characters); expected AC followed by 32 hex characters"),
            (|e| without(&e, "TWILIO_AUTH_TOKEN"), "TWILIO_AUTH_TOKEN", ViolationKind::Missing,
             "TWILIO_AUTH_TOKEN is not set (required)"),
            (|e| e.with_value("TWILIO_AUTH_TOKEN", "  "), "TWILIO_AUTH_TOKEN", ViolationKind::Empty,
             "TWILIO_AUTH_TOKEN is set but empty (required)"),
            (|e| without(&e, "TWILIO_VERIFY_SERVICE_SID"), "TWILIO_VERIFY_SERVICE_SID",
             ViolationKind::Missing,
             "TWILIO_VERIFY_SERVICE_SID is not set (required when OTP_PROVIDER=twilio_verify)"),
            (|e| e.with_value("TWILIO_VERIFY_SERVICE_SID", AC), "TWILIO_VERIFY_SERVICE_SID",
             ViolationKind::BadFormat,
             "TWILIO_VERIFY_SERVICE_SID is \"AC012345\"… (34 characters); expected VA followed by 32 hex characters"),
            (|e| without(&e, "TWILIO_VERIFY_SERVICE_SID").with_value("OTP_PROVIDER", "twilio_sms"),
             "OTP_FROM_NUMBER", ViolationKind::Missing,
             "OTP_FROM_NUMBER is not set (required when OTP_PROVIDER=twilio_sms)"),
            (|e| e.with_value("OTP_FROM_NUMBER", "7135550123"), "OTP_FROM_NUMBER",
             ViolationKind::BadFormat,
             "OTP_FROM_NUMBER is \"…0123\"; expected an E.164 number (+ then 8 to 15 digits) or a Messaging Service SID (MG followed by 32 hex characters)"),
            (|e| e.with_value("OTP_FROM_NUMBER", "MG0123456789abcdef"), "OTP_FROM_NUMBER",
             ViolationKind::BadFormat,
             "OTP_FROM_NUMBER is \"MG012345\"… (18 characters); expected an E.164 number (+ then 8 to 15 digits) or a Messaging Service SID (MG followed by 32 hex characters)"),
            (|e| e.with_value("TWILIO_TIMEOUT_SECONDS", "abc"), "TWILIO_TIMEOUT_SECONDS",
             ViolationKind::BadFormat,
             "TWILIO_TIMEOUT_SECONDS is \"abc\"; expected a positive number"),
            (|e| e.with_value("TWILIO_TIMEOUT_SECONDS", "0"), "TWILIO_TIMEOUT_SECONDS",
             ViolationKind::BadFormat,
             "TWILIO_TIMEOUT_SECONDS is \"0\"; expected a positive number"),
            (|e| e.with_value("TWILIO_TIMEOUT_SECONDS", ""), "TWILIO_TIMEOUT_SECONDS",
             ViolationKind::Empty,
             "TWILIO_TIMEOUT_SECONDS is set but empty (optional, but must not be empty)"),
            (|e| without(&e, "ENV"), "ENV", ViolationKind::Missing, "ENV is not set (required)"),
            (|e| e.with_value("ENV", "staging"), "ENV", ViolationKind::BadFormat,
             "ENV is \"staging\"; expected prod"),
        ];
        for (edit, name, kind, message) in cases {
            let violations = EnvRules::builtin().check(&edit(healthy()));
            let expected = Violation {
                name: name.into(),
                kind,
                message: message.into(),
            };
            assert_eq!(violations, vec![expected], "case {name}: {message}");
        }
    }

    #[test]
    fn valid_optional_and_conditional_values_pass() {
        let sms = without(&healthy(), "TWILIO_VERIFY_SERVICE_SID")
            .with_value("OTP_PROVIDER", "twilio_sms")
            .with_value("OTP_FROM_NUMBER", "+17135550123")
            .with_value("TWILIO_TIMEOUT_SECONDS", "12.5");
        assert_eq!(EnvRules::builtin().check(&sms), vec![]);
        // Twilio's Messages API takes a Messaging Service SID in `From` too.
        let service = sms.with_value("OTP_FROM_NUMBER", "MG1a2b3c4d5e6f708192a3b4c5d6e7f8a9");
        assert_eq!(EnvRules::builtin().check(&service), vec![]);
        let upper = healthy().with_value("TWILIO_ACCOUNT_SID", &AC.to_uppercase());
        assert_eq!(EnvRules::builtin().check(&upper), vec![]);
        // stub outside prod is allowed by OTP_PROVIDER's rule; ENV's own rule reports it.
        let dev = healthy()
            .with_value("OTP_PROVIDER", "stub")
            .with_value("ENV", "dev");
        let names: Vec<_> = EnvRules::builtin()
            .check(&dev)
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(names, vec!["ENV"]);
    }

    #[test]
    fn secret_references_are_not_violations() {
        let env = healthy()
            .with_secret(
                "TWILIO_AUTH_TOKEN",
                "arn:aws:secretsmanager:us-east-1:1:secret:tw",
            )
            .with_secret(
                "TWILIO_ACCOUNT_SID",
                "arn:aws:ssm:us-east-1:1:parameter/sid",
            );
        assert_eq!(EnvRules::builtin().check(&env), vec![]);
        assert_eq!(
            status(&env, "TWILIO_AUTH_TOKEN"),
            VarStatus::FromSecret {
                value_from: "arn:aws:secretsmanager:us-east-1:1:secret:tw".into()
            }
        );
    }

    #[test]
    fn condition_on_a_secret_is_undetermined() {
        let env =
            without(&healthy(), "TWILIO_VERIFY_SERVICE_SID").with_secret("OTP_PROVIDER", "arn:x");
        assert_eq!(EnvRules::builtin().check(&env), vec![]);
        assert!(matches!(
            status(&env, "TWILIO_VERIFY_SERVICE_SID"),
            VarStatus::Undetermined { reason } if reason.contains("OTP_PROVIDER comes from a secret")
        ));
    }

    #[test]
    fn secret_values_never_appear_in_messages() {
        let mut rules = EnvRules::builtin();
        rules.upsert(EnvRule {
            name: "TWILIO_AUTH_TOKEN".into(),
            required: true,
            secret: true,
            format: Format::Sid {
                prefix: "SK".into(),
            },
            forbid: vec![Forbidden {
                value: "hunter2-secret".into(),
                when: None,
            }],
            required_when: None,
            default: None,
            purpose: String::new(),
        });
        for value in ["hunter2-secret", "hunter2-secret-but-longer"] {
            let env = healthy().with_value("TWILIO_AUTH_TOKEN", value);
            let violations = rules.check(&env);
            assert_eq!(violations.len(), 1);
            assert!(
                !violations[0].message.contains("hunter2"),
                "{}",
                violations[0].message
            );
        }
        assert!(rules.evaluate(&healthy()).iter().any(|c| c.is_secret));
    }

    #[test]
    fn forbid_without_condition_always_applies() {
        let mut rules = EnvRules::builtin();
        rules.upsert(EnvRule {
            forbid: vec![Forbidden {
                value: "dev".into(),
                when: None,
            }],
            format: Format::Any,
            ..rules.get("ENV").cloned().expect("ENV rule")
        });
        let v = rules.check(&healthy().with_value("ENV", "dev"));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].kind, ViolationKind::NotAllowed);
        assert_eq!(v[0].message, "ENV is \"dev\", which is not allowed");
    }

    #[test]
    fn values_are_escaped_and_truncated() {
        let long = format!("\u{1b}[31m{}", "x".repeat(100));
        let v = EnvRules::builtin().check(&healthy().with_value("ENV", &long));
        assert!(!v[0].message.contains('\u{1b}'), "{}", v[0].message);
        assert!(v[0].message.len() < 120, "{}", v[0].message);
    }

    #[test]
    fn e164_bounds() {
        for (value, ok) in [
            ("+12345678", true),
            ("+123456789012345", true),
            ("+1234567", false),
            ("+1234567890123456", false),
            ("17133056318", false),
            ("+1713305631a", false),
            ("+", false),
        ] {
            assert_eq!(is_e164(value), ok, "{value}");
        }
    }
}
