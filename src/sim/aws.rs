//! The AWS JSON 1.1 endpoint shared by ECS, CloudWatch Logs, Secrets Manager and SSM, told apart
//! by `X-Amz-Target` as moto does: one `aws.endpoint_url` serves them all. Checks the caller's
//! access key id against the scenario's marked keys, dispatches to [`super::ecs`],
//! [`super::logs`] or [`super::secrets`], and renders
//! errors in AWS's JSON shape (`__type`, `message`) with the right status codes.

use axum::http::StatusCode;
use serde_json::Value;

/// An error in AWS's JSON 1.1 shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub status: StatusCode,
    /// The `__type`, e.g. `ClientException` or `ResourceNotFoundException`.
    pub kind: String,
    pub message: String,
}

impl AwsError {
    /// A 400 error of the given `__type`.
    pub fn client(kind: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: kind.to_owned(),
            message: message.into(),
        }
    }

    /// `InvalidParameterException`, the common answer to a malformed request.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::client("InvalidParameterException", message)
    }

    /// `SerializationException`: the body is not the JSON the operation takes.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::client("SerializationException", message)
    }

    /// The JSON body AWS sends for this error.
    pub fn body(&self) -> Value {
        serde_json::json!({ "__type": self.kind, "message": self.message })
    }
}

/// A timestamp as AWS's JSON protocols send it: seconds since the epoch, as a number.
pub fn epoch(ms: i64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

/// Parses an operation's JSON body, answering `SerializationException` for anything else.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| AwsError::serialization(e.to_string()))
}
