//! The CloudWatch Logs probe (aws-sdk-cloudwatchlogs): FilterLogEvents from 30 minutes back,
//! as the runbook's `aws logs tail --since 30m`, then follow: poll, page through `nextToken`,
//! never report an event twice (by eventId), back off on ThrottlingException. Each line is
//! classified against the runbook's list (provider initialised, OTP sent, credential error,
//! service not found, Twilio timeout, ...) so panes highlight and the diagnosis counts them.

use serde::Serialize;

/// New events from one poll, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Batch {
    pub events: Vec<Event>,
}

/// One log event, sanitised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub id: String,
    pub stream: String,
    pub timestamp_ms: i64,
    pub message: String,
    pub kind: LineKind,
}

/// What a line says, by the runbook's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// `[OTP] Using Twilio Verify provider` (or SMS).
    ProviderInitialised,
    /// `[OTP] OTP sent successfully`.
    OtpSent,
    /// `[OTP] OTP verified`.
    OtpVerified,
    /// Twilio 20003 / "Invalid credentials" / "Authenticate".
    CredentialError,
    /// Twilio 20404 / "Service not found".
    ServiceNotFound,
    /// Twilio 20005 / 10001: the account is not active.
    AccountInactive,
    /// Twilio 60203 / 60202 or the backend's own rate limit.
    RateLimited,
    /// A Twilio call timed out.
    TwilioTimeout,
    /// Any other Twilio error code.
    TwilioError,
    /// The provider is not configured: variables missing.
    ProviderNotConfigured,
    /// Startup validation failed (`ValueError`, `Application startup failed`).
    StartupFailure,
    /// A uvicorn access line.
    Access,
    Other,
}
