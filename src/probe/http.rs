//! Probes of the backend API with reqwest: `/health`, dev login, OTP start and OTP verify,
//! each recorded with its start time, latency, status, a one-line body summary and an error
//! class. While an OTP start is in flight, `/health` is probed a few times a second: a health
//! probe that stalls while the OTP start is outstanding, and recovers when it ends, is the
//! evidence of a blocked event loop.

use serde::Serialize;

/// The API endpoints the console probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Health,
    DevLogin,
    OtpStart,
    OtpVerify,
}

impl Endpoint {
    /// Every endpoint, in display order.
    pub const ALL: [Endpoint; 4] = [
        Self::Health,
        Self::DevLogin,
        Self::OtpStart,
        Self::OtpVerify,
    ];

    /// A short label for tables and panes.
    pub fn label(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::DevLogin => "dev login",
            Self::OtpStart => "OTP start",
            Self::OtpVerify => "OTP verify",
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// 2xx.
    Ok,
    /// 4xx other than 429.
    ClientError,
    /// 429: rate limited.
    RateLimited,
    /// 5xx from the backend other than the load balancer's.
    ServerError,
    /// 503 from the load balancer: no healthy target.
    Unavailable,
    /// 504 from the load balancer: the backend did not answer in its timeout.
    GatewayTimeout,
    /// The console's own timeout passed with no answer.
    Timeout,
    /// Connection refused.
    Refused,
    /// The host name did not resolve.
    Dns,
    /// TLS handshake or certificate failure.
    Tls,
    /// Anything else that broke the request.
    Other,
}

impl Class {
    /// Whether the request got a successful answer.
    pub fn is_ok(self) -> bool {
        self == Self::Ok
    }
}

/// One finished request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    pub endpoint: Endpoint,
    /// Matches the `id` of the [`super::Observation::HttpStarted`] that announced it.
    pub id: u64,
    pub started_ms: i64,
    pub latency_ms: u64,
    pub status: Option<u16>,
    pub class: Class,
    /// One line: the JSON `detail`/`otp_sent`, the load balancer's title, or the error;
    /// sanitised, tokens masked.
    pub summary: String,
    /// A health probe sent while an OTP start was outstanding.
    pub during_otp: bool,
}
