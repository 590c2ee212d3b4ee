//! Twilio's REST error: the JSON body every Twilio API answers with on failure
//! (`code`, `message`, `more_info`, `status`), the codes the simulator uses, and its rendering
//! as an HTTP response (with `WWW-Authenticate` on 401, as Twilio sends it).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error in Twilio's REST shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioError {
    pub status: StatusCode,
    /// Twilio's error-dictionary code, e.g. 20003 or 60200.
    pub code: u32,
    pub message: String,
}

impl TwilioError {
    /// An error with the given HTTP status, Twilio code and message.
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 20003: the credentials are missing or wrong.
    pub fn authenticate() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 20003, "Authenticate")
    }

    /// 20005: the account is suspended or closed, so it may not use the API.
    pub fn account_not_active() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 20005, "Account not active")
    }

    /// 20404: nothing lives at `resource` (written as Twilio writes it in the message).
    pub fn not_found(resource: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            20404,
            format!("The requested resource {resource} was not found"),
        )
    }

    /// 20004: the path exists but not for this method.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 20004, "Method not allowed")
    }

    /// 60200: a Verify parameter is missing or malformed.
    pub fn verify_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 60200, message)
    }

    /// 60200 for a parameter whose value Verify rejects.
    pub fn invalid_parameter(name: &str, value: &str) -> Self {
        Self::verify_invalid(format!("Invalid parameter `{name}`: {value}"))
    }

    /// 60200 for a required parameter that is absent.
    pub fn missing_parameter(name: &str) -> Self {
        Self::verify_invalid(format!("Missing required parameter {name}."))
    }

    /// 60202: too many wrong codes for one verification.
    pub fn max_check_attempts() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            60202,
            "Max check attempts reached",
        )
    }

    /// 60203: too many sends to one phone within Verify's window.
    pub fn max_send_attempts() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            60203,
            "Max send attempts reached",
        )
    }

    /// A Programmable Messaging refusal (HTTP 400) with Twilio's code and message.
    pub fn messaging(code: u32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 21606: `From` is not an SMS-capable number of this account.
    pub fn from_not_owned(from: &str) -> Self {
        Self::messaging(
            21606,
            format!("The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account."),
        )
    }

    /// The JSON body Twilio sends for this error.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        })
    }
}

impl IntoResponse for TwilioError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
        }
        response
    }
}
