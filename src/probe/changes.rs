//! What changed since it last worked, as data: one [`Change`] per mutation CloudTrail recorded
//! on the service's resources ([`super::cloudtrail`]) or event Twilio's Monitor logged on the
//! account, and Twilio's alerts. Everything here is already safe to show: sanitised, secrets
//! and phone numbers masked, request parameters with their values masked by name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redact;

/// Where a change was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// CloudTrail LookupEvents.
    Cloudtrail,
    /// Twilio's Monitor (`monitor.twilio.com/v1` Events and Alerts).
    TwilioMonitor,
}

/// One change, newest first in a [`Changes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// When it was made (ms since the epoch).
    pub at_ms: i64,
    pub origin: Origin,
    /// `ecs`, `secretsmanager`, `ssm`, `ec2`, `iam`, `twilio`.
    pub service: String,
    /// The API call (`RegisterTaskDefinition`) or Twilio's event type.
    pub action: String,
    /// The resource, short: `nerava-backend:42`, `nerava/prod/twilio-Tw1l1o`, `sg-…`.
    pub resource: String,
    /// Who: the principal's ARN, or Twilio's actor.
    pub who: String,
    pub user_agent: Option<String>,
    /// What, in one line.
    pub summary: String,
    /// The request's parameters, values masked by name.
    pub parameters: Option<Value>,
    pub id: String,
}

/// One of Twilio's alerts (an error or warning it logged while answering the account's calls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub at_ms: i64,
    pub error_code: String,
    /// `error`, `warning`, `notice`, `debug`.
    pub log_level: String,
    /// The alert's text, phone numbers, SIDs and tokens masked.
    pub text: String,
}

/// What one origin answered for the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Changes {
    /// The window's start (ms since the epoch).
    pub since_ms: i64,
    /// Newest first.
    pub changes: Vec<Change>,
    /// Twilio's alerts over the window, newest first (empty for CloudTrail).
    pub alerts: Vec<Alert>,
    /// The page limit was reached: older changes in the window were not read.
    pub truncated: bool,
}

/// Request parameters as they may be shown: every string sanitised and the registered secrets
/// masked; a value whose member name says secret (`secretString`, `value`, `password`,
/// `token`…) masked entirely; `{name, value}` pairs (a container's `environment`) masked as
/// the env pane masks that variable.
pub fn mask_parameters(value: &Value) -> Value {
    mask(value, None)
}

fn mask(value: &Value, member: Option<&str>) -> Value {
    match value {
        Value::Object(map) => {
            let pair_name = map.get("name").and_then(Value::as_str);
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let masked = match (k.as_str(), pair_name, v) {
                            ("value", Some(name), Value::String(s)) => {
                                Value::String(redact::env_value(name, s))
                            }
                            _ => mask(v, Some(k)),
                        };
                        (redact::sanitize(k), masked)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| mask(v, member)).collect()),
        Value::String(s) => {
            if member.is_some_and(is_secret_member) && s != HIDDEN {
                Value::String(redact::token(s))
            } else {
                Value::String(redact::free_text(s))
            }
        }
        other => other.clone(),
    }
}

/// What CloudTrail writes in place of a value it never logs.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

fn is_secret_member(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "value"
        || lower == "secretstring"
        || lower == "secretbinary"
        || lower.contains("password")
        || lower.contains("token")
        || lower.contains("secretkey")
        || lower.contains("privatekey")
        || redact::is_secret_name(name)
}

/// `3 min`, `14 h`, `2 d`: how long ago, for one line.
pub fn age(now_ms: i64, at_ms: i64) -> String {
    let secs = ((now_ms - at_ms).max(0) / 1000) as u64;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3_599 => format!("{} min", secs / 60),
        3_600..=172_799 => format!("{} h", secs / 3_600),
        _ => format!("{} d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_are_masked_by_name() {
        let masked = mask_parameters(&json!({
            "family": "nerava-backend",
            "containerDefinitions": [{
                "environment": [
                    { "name": "TWILIO_AUTH_TOKEN", "value": "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c" },
                    { "name": "TWILIO_ACCOUNT_SID", "value": "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8" },
                    { "name": "LOG_LEVEL", "value": "WARNING\u{1b}[2J" },
                ]
            }],
            "secretString": "hunter2-secret-value",
            "name": "/nerava/prod/x",
            "value": "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        }));
        let text = masked.to_string();
        assert!(!text.contains("9c1e7a5b"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("60718293a4b5c6d7e8"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("nerava-backend"), "{text}");
        assert!(text.contains("AC5f3b1c"), "{text}");
        assert!(text.contains("WARNING"), "{text}");
    }

    #[test]
    fn ages_read_in_one_unit() {
        assert_eq!(age(10_000, 0), "10 s");
        assert_eq!(age(25 * 60_000, 0), "25 min");
        assert_eq!(age(26 * 3_600_000, 0), "26 h");
        assert_eq!(age(3 * 86_400_000, 0), "3 d");
    }
}
