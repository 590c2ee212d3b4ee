//! Probes of the backend API with reqwest: `/health`, dev login, OTP start and OTP verify,
//! each recorded with its start time, latency, status, a one-line body summary and an error
//! class. While an OTP start is in flight, `/health` is probed a few times a second: a health
//! probe that stalls while the OTP start is outstanding, and recovers when it ends, is the
//! evidence of a blocked event loop.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::{ErrorKind, Observation, ProbeError, System};
use crate::config::ApiConfig;
use crate::redact;

/// The API endpoints the console probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// Whether the request could not connect or lost its connection (refused, DNS, TLS, reset):
    /// one such `/health` is confirmed by another before the API is called unreachable.
    pub fn is_connection_failure(self) -> bool {
        matches!(self, Self::Refused | Self::Dns | Self::Tls | Self::Other)
    }
}

/// One finished request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// When that OTP start was sent: a health probe watching it counts only as long as the
    /// OTP start does (a repair's new deployment sets both aside together).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_started_ms: Option<i64>,
    /// The last 4 digits of the phone an OTP start or verify was for: what joins its trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_last4: Option<String>,
}

/// The last 4 digits of a phone number (fewer when it has fewer).
pub fn last4(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(4)..].iter().collect()
}

/// Longest body summary, in characters.
const SUMMARY_MAX: usize = 120;
/// Bytes of a response body read at most: enough for any JSON error or load-balancer page.
const BODY_MAX: usize = 64 * 1024;
/// Health probes outstanding at once during an OTP start at most. A stalled event loop keeps
/// every one of them waiting; past this many, more would only add connections, not evidence.
const MAX_OUTSTANDING_HEALTH: usize = 20;
/// Shortest interval between health probes during an OTP start.
const MIN_HEALTH_EVERY: Duration = Duration::from_millis(50);

/// How long an idle connection stays in the pool: under gunicorn's 2 s keep-alive, the
/// shortest of the common Python servers' (uvicorn 5 s, an ALB 60 s).
const POOL_IDLE: Duration = Duration::from_millis(1_500);

/// Request ids, unique in the process, so a `Sample` finds its `HttpStarted`.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The API prober: one reqwest client with the probe timeout, and the endpoint URLs.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    client: reqwest::Client,
    api: Arc<ApiConfig>,
    timeout: Duration,
}

impl HttpProbe {
    /// A prober of `api`; every request gives up after `timeout`.
    pub fn new(api: &ApiConfig, timeout: Duration) -> Result<Self, ProbeError> {
        let error = |message: String| ProbeError {
            system: System::Api,
            kind: ErrorKind::Unreachable,
            code: None,
            message,
        };
        match reqwest::Url::parse(&api.base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return Err(error(format!(
                    "api.base_url {:?} is not an http(s) URL: fix [api] base_url in the config",
                    redact::sanitize(&api.base_url)
                )))
            }
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Idle connections are dropped before common servers close them (gunicorn 2 s,
            // uvicorn 5 s): a request is not sent on a connection the server is closing.
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(|e| error(format!("cannot build the HTTP client: {}", innermost(&e))))?;
        Ok(Self {
            client,
            api: Arc::new(api.clone()),
            timeout,
        })
    }

    /// Sends one request to `endpoint`, announcing it with `HttpStarted` and reporting its
    /// `Sample`, which it also returns. `phone` defaults to the config's test phone;
    /// `watching_otp` is when the OTP start this health probe watches was sent, if it does.
    pub async fn request(
        &self,
        endpoint: Endpoint,
        phone: Option<&str>,
        code: Option<&str>,
        watching_otp: Option<i64>,
        tx: &UnboundedSender<Observation>,
    ) -> Sample {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let started_ms = chrono::Utc::now().timestamp_millis();
        // A closed channel means the console is shutting down: the sample is still returned.
        let phone = phone.unwrap_or(&self.api.test_phone);
        let phone_last4 =
            matches!(endpoint, Endpoint::OtpStart | Endpoint::OtpVerify).then(|| last4(phone));
        let _ = tx.send(Observation::HttpStarted {
            endpoint,
            id,
            started_ms,
            phone_last4: phone_last4.clone(),
        });
        let started = Instant::now();
        let (status, class, summary) = self.exchange(endpoint, phone, code).await;
        let sample = Sample {
            endpoint,
            id,
            started_ms,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            status,
            class,
            summary: one_line(&summary, phone, code),
            during_otp: watching_otp.is_some(),
            otp_started_ms: watching_otp,
            phone_last4,
        };
        let _ = tx.send(Observation::Http(sample.clone()));
        sample
    }

    /// Sends an OTP start for `phone` and, while it is outstanding, probes `/health` every
    /// `health_every` (samples with `during_otp`). Returns the OTP start's sample as soon as
    /// it ends; health probes still outstanding then report on their own when they end.
    pub async fn otp_start_watching_health(
        &self,
        phone: &str,
        health_every: Duration,
        tx: &UnboundedSender<Observation>,
    ) -> Sample {
        let every = health_every.max(MIN_HEALTH_EVERY);
        let otp_started_ms = chrono::Utc::now().timestamp_millis();
        let otp = self.request(Endpoint::OtpStart, Some(phone), None, None, tx);
        tokio::pin!(otp);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        // A late tick is one probe, not a burst of them.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outstanding = Arc::new(AtomicUsize::new(0));
        loop {
            tokio::select! {
                biased;
                sample = &mut otp => return sample,
                _ = tick.tick() => {
                    if outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING_HEALTH {
                        continue;
                    }
                    outstanding.fetch_add(1, Ordering::Relaxed);
                    let probe = self.clone();
                    let tx = tx.clone();
                    let outstanding = Arc::clone(&outstanding);
                    // Detached: a health probe stalled with the OTP start must still report
                    // its latency when it ends, after the OTP sample has been returned.
                    tokio::spawn(async move {
                        probe
                            .request(Endpoint::Health, None, None, Some(otp_started_ms), &tx)
                            .await;
                        outstanding.fetch_sub(1, Ordering::Relaxed);
                    });
                }
            }
        }
    }

    /// The request itself: status, class and an unsanitised summary.
    async fn exchange(
        &self,
        endpoint: Endpoint,
        phone: &str,
        code: Option<&str>,
    ) -> (Option<u16>, Class, String) {
        let api = &self.api;
        let request = match endpoint {
            Endpoint::Health => self.client.get(api.url(&api.health_path)),
            // As the runbook's curl: a JSON content type and no body.
            Endpoint::DevLogin => self
                .client
                .post(api.url(&api.dev_login_path))
                .header(reqwest::header::CONTENT_TYPE, "application/json"),
            Endpoint::OtpStart => self
                .client
                .post(api.url(&api.otp_start_path))
                .json(&json!({ "phone": phone })),
            Endpoint::OtpVerify => self
                .client
                .post(api.url(&api.otp_verify_path))
                .json(&json!({ "phone": phone, "code": code.unwrap_or_default() })),
        };
        let retry = (endpoint == Endpoint::Health)
            .then(|| request.try_clone())
            .flatten();
        let mut sent = request.send().await;
        // A pooled connection the server closed as it was reused (uvicorn closes idle ones
        // after 5 s, gunicorn after 2 s) fails a request that never reached the application:
        // an idempotent GET is sent once more, on a new connection.
        if let (Err(e), Some(again)) = (&sent, retry) {
            if classify_error(e) == Class::Other {
                sent = again.send().await;
            }
        }
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let class = classify_error(&e);
                return (None, class, self.error_line(class, &e));
            }
        };
        let status = response.status().as_u16();
        let is_html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        match read_capped(response).await {
            Ok(body) => {
                let is_html = is_html || body.trim_start().starts_with('<');
                (
                    Some(status),
                    classify_status(status, is_html),
                    summarize(&body),
                )
            }
            Err(e) => {
                // The status still says how the request ended, unless the body never came.
                let class = match classify_error(&e) {
                    Class::Timeout => Class::Timeout,
                    _ => classify_status(status, is_html),
                };
                let line = format!("HTTP {status}, body unread: {}", self.error_line(class, &e));
                (Some(status), class, line)
            }
        }
    }

    /// One line for a failed request.
    fn error_line(&self, class: Class, error: &reqwest::Error) -> String {
        match class {
            Class::Timeout => format!("no answer within {:.1} s", self.timeout.as_secs_f64()),
            _ => innermost(error),
        }
    }
}

/// At most [`BODY_MAX`] bytes of the body, as text.
async fn read_capped(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() >= BODY_MAX {
            body.truncate(BODY_MAX);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The class of an answered request.
fn classify_status(status: u16, is_html: bool) -> Class {
    match status {
        200..=299 => Class::Ok,
        429 => Class::RateLimited,
        503 if is_html => Class::Unavailable,
        504 => Class::GatewayTimeout,
        400..=499 => Class::ClientError,
        500..=599 => Class::ServerError,
        _ => Class::Other,
    }
}

/// The class of a request that got no answer, from reqwest's flags and the error chain.
fn classify_error(error: &reqwest::Error) -> Class {
    if error.is_timeout() {
        return Class::Timeout;
    }
    let mut chain = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut is_refused = false;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::TimedOut => return Class::Timeout,
                std::io::ErrorKind::ConnectionRefused => is_refused = true,
                _ => {}
            }
        }
        chain.push_str(&e.to_string().to_ascii_lowercase());
        chain.push('\n');
        source = e.source();
    }
    let has = |words: &[&str]| words.iter().any(|w| chain.contains(w));
    if is_refused {
        Class::Refused
    } else if has(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no such host",
        "nodename nor servname",
    ]) {
        Class::Dns
    } else if has(&[
        "tls",
        "certificate",
        "handshake",
        "invalidcontenttype",
        "corrupt message",
    ]) {
        Class::Tls
    } else if error.is_connect() {
        Class::Refused
    } else {
        Class::Other
    }
}

/// The innermost message of an error chain (the OS's or resolver's words), after the first.
pub(super) fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    if std::ptr::addr_eq(last, error) {
        error.to_string()
    } else {
        format!("{error}: {last}")
    }
}

/// What a body says, in a few words: FastAPI's `detail`, `otp_sent`, a masked token, the
/// `<title>` of an HTML page, or the start of the text.
fn summarize(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return summarize_json(&value);
    }
    if let Some(title) = html_title(body) {
        return title;
    }
    let text = body.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text.to_owned()
    }
}

fn summarize_json(value: &Value) -> String {
    let Some(object) = value.as_object() else {
        return match value {
            Value::String(text) => text.clone(),
            Value::Array(items) => format!("JSON array of {}", items.len()),
            other => format!("JSON {other}"),
        };
    };
    if object.contains_key("access_token") {
        // Never the token itself, not even a prefix.
        return format!("access_token {}", redact::MASK);
    }
    if let Some(sent) = object.get("otp_sent") {
        return format!("otp_sent: {sent}");
    }
    match object.get("detail") {
        Some(Value::String(detail)) => return detail.clone(),
        Some(Value::Array(items)) => return pydantic_detail(items),
        Some(other) => return other.to_string(),
        None => {}
    }
    if let Some(ok) = object.get("ok") {
        return format!("ok: {ok}");
    }
    // Unknown shape: the keys say what it is; values could be anything.
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    format!("JSON with {}", keys.join(", "))
}

/// FastAPI's validation errors as `body.phone: Field required; …` (never the `input`).
fn pydantic_detail(items: &[Value]) -> String {
    let lines: Vec<String> = items
        .iter()
        .map(|item| {
            let loc: Vec<String> = item["loc"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let msg = item["msg"].as_str().unwrap_or("invalid");
            if loc.is_empty() {
                msg.to_owned()
            } else {
                format!("{}: {msg}", loc.join("."))
            }
        })
        .collect();
    lines.join("; ")
}

/// The text of an HTML page's `<title>`.
fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = body.get(start..end)?.trim();
    (!title.is_empty()).then(|| title.to_owned())
}

/// The summary as it may be shown: sanitised, the phone as its last 4, the code masked, one
/// line of at most [`SUMMARY_MAX`] characters.
fn one_line(text: &str, phone: &str, code: Option<&str>) -> String {
    let mut line = redact::sanitize(text);
    if !phone.is_empty() {
        line = line.replace(phone, &redact::phone(phone));
    }
    if let Some(code) = code.filter(|c| !c.is_empty()) {
        line = line.replace(code, redact::MASK);
    }
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > SUMMARY_MAX {
        let mut cut: String = line.chars().take(SUMMARY_MAX - 1).collect();
        cut.push('…');
        cut
    } else {
        line
    }
}

/// Checks a phone number typed by the user: E.164 (`+`, country code, number; spaces,
/// dashes, dots and parentheses allowed), returned without the separators.
pub fn validate_phone(input: &str) -> Result<String, String> {
    const EXPECTED: &str =
        "expected an E.164 phone number: '+', country code and number, e.g. +17133056318";
    let compact: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let Some(digits) = compact.strip_prefix('+') else {
        return Err(format!("no leading '+': {EXPECTED}"));
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("not only digits: {EXPECTED}"));
    }
    if digits.is_empty() {
        return Err(format!("no digits after '+': {EXPECTED}"));
    }
    if digits.starts_with('0') {
        return Err(format!(
            "no country code starts with 0 (+{}…): {EXPECTED}",
            &digits[..1]
        ));
    }
    if digits.len() < 8 {
        return Err(format!("{} digits is too short: {EXPECTED}", digits.len()));
    }
    if digits.len() > 15 {
        return Err(format!(
            "{} digits is too long (E.164 allows 15): {EXPECTED}",
            digits.len()
        ));
    }
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{scenario, Ports, Simulator};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    const PHONE: &str = "+17133056318";
    /// Simulated time at a twentieth: the load balancer gives up after 3 s.
    const SCALE: f64 = 0.05;

    async fn sim(name: &str) -> Simulator {
        Simulator::start(
            scenario::load(name).expect("scenario"),
            SCALE,
            Ports::default(),
        )
        .await
        .expect("simulator starts")
    }

    fn probe(base_url: &str, timeout: Duration) -> HttpProbe {
        let api = ApiConfig {
            base_url: base_url.to_owned(),
            ..ApiConfig::default()
        };
        HttpProbe::new(&api, timeout).expect("probe")
    }

    async fn one(probe: &HttpProbe, endpoint: Endpoint) -> Sample {
        let (tx, _rx) = mpsc::unbounded_channel();
        probe.request(endpoint, Some(PHONE), None, None, &tx).await
    }

    /// A server with keep-alive that closes each connection exactly `keep` after its last
    /// answer, as uvicorn (5 s) and gunicorn (2 s) do: `/health` probed once every `keep`
    /// (the console's period equal to the server's keep-alive, the worst case) races each
    /// close. Every probe still answers (a reset reused connection is retried once on a new
    /// one), and the diagnosis over them never says `api_unreachable`.
    #[tokio::test]
    async fn a_server_closing_idle_connections_at_the_probe_period_is_never_unreachable() {
        let keep = Duration::from_millis(300);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0_u8; 4096];
                    loop {
                        // The next request within the keep-alive, else the connection closes.
                        let Ok(Ok(n)) = tokio::time::timeout(keep, socket.read(&mut buf)).await
                        else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        let body = r#"{"ok": true}"#;
                        let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let probe = probe(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5));
        let mut evidence = crate::diagnosis::Evidence::default();
        let names = crate::diagnosis::Names::default();
        for i in 0..16_u64 {
            // Around the close: a little before, on it, a little after.
            let jitter = Duration::from_millis(i % 3 * 5);
            tokio::time::sleep((keep + jitter).saturating_sub(Duration::from_millis(5))).await;
            let health = one(&probe, Endpoint::Health).await;
            assert_eq!(health.class, Class::Ok, "probe {i}: {health:?}");
            evidence.record(Observation::Http(health));
            let now = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("after 1970")
                    .as_millis(),
            )
            .expect("fits");
            let d = crate::diagnosis::diagnose(&evidence, &names, now);
            assert_ne!(
                d.verdict.failure_mode,
                crate::diagnosis::FailureMode::ApiUnreachable,
                "probe {i}"
            );
        }
    }

    #[tokio::test]
    async fn healthy_endpoints_are_ok_and_tokens_never_shown() {
        let sim = sim("healthy").await;
        let probe = probe(&sim.urls.api, Duration::from_secs(10));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let health = probe.request(Endpoint::Health, None, None, None, &tx).await;
        assert_eq!(
            (health.status, health.class, health.summary.as_str()),
            (Some(200), Class::Ok, "ok: true")
        );
        match (rx.recv().await, rx.recv().await) {
            (Some(Observation::HttpStarted { id, .. }), Some(Observation::Http(s))) => {
                assert_eq!((id, &s), (health.id, &health));
            }
            other => panic!("started then sample, got {other:?}"),
        }
        let login = one(&probe, Endpoint::DevLogin).await;
        assert_eq!(login.class, Class::Ok, "{login:?}");
        assert_eq!(login.summary, format!("access_token {}", redact::MASK));
        assert!(!serde_json::to_string(&login).expect("json").contains("eyJ"));
        let start = one(&probe, Endpoint::OtpStart).await;
        assert_eq!(
            (start.class, start.summary.as_str()),
            (Class::Ok, "otp_sent: true")
        );
        let code = sim.twilio().inbox(PHONE).last().expect("sms").code.clone();
        let verify = probe
            .request(Endpoint::OtpVerify, Some(PHONE), Some(&code), None, &tx)
            .await;
        assert_eq!(verify.class, Class::Ok, "{verify:?}");
        assert_eq!(verify.summary, format!("access_token {}", redact::MASK));
        let wrong = probe
            .request(Endpoint::OtpVerify, Some(PHONE), Some("000001"), None, &tx)
            .await;
        assert_eq!(
            (wrong.status, wrong.class, wrong.summary.as_str()),
            (Some(400), Class::ClientError, "Invalid or expired code")
        );
        assert!(health.id < login.id && login.id < start.id);
    }

    #[tokio::test]
    async fn validation_errors_and_rate_limit() {
        let sim = sim("healthy").await;
        let probe = probe(&sim.urls.api, Duration::from_secs(10));
        let (tx, _rx) = mpsc::unbounded_channel();
        let bad = probe
            .request(Endpoint::OtpStart, Some("12"), None, None, &tx)
            .await;
        assert_eq!(bad.class, Class::ClientError);
        assert!(bad.summary.contains("E.164"), "{}", bad.summary);
        let phone = "+15125550123";
        let mut last = None;
        for _ in 0..6 {
            last = Some(
                probe
                    .request(Endpoint::OtpStart, Some(phone), None, None, &tx)
                    .await,
            );
        }
        let limited = last.expect("sent");
        assert_eq!(
            (limited.status, limited.class),
            (Some(429), Class::RateLimited)
        );
        assert!(
            limited.summary.starts_with("Too many OTP requests"),
            "{limited:?}"
        );
    }

    #[tokio::test]
    async fn blocked_event_loop_shows_as_gateway_timeout_with_stalled_health() {
        let sim = sim("event-loop-blocking").await;
        let probe = probe(&sim.urls.api, Duration::from_secs(10));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let otp = probe
            .otp_start_watching_health(PHONE, Duration::from_millis(250), &tx)
            .await;
        assert_eq!(
            (otp.status, otp.class),
            (Some(504), Class::GatewayTimeout),
            "{otp:?}"
        );
        assert_eq!(otp.summary, "504 Gateway Time-out");
        assert!(otp.latency_ms >= 3000, "{otp:?}");
        // The detached health probes hold the last senders: the channel closes when they end.
        drop(tx);
        let mut health = Vec::new();
        while let Some(observation) = rx.recv().await {
            if let Observation::Http(s) = observation {
                if s.endpoint == Endpoint::Health {
                    health.push(s);
                }
            }
        }
        assert!(health.len() >= 5, "{health:?}");
        assert!(
            health
                .iter()
                .all(|s| s.during_otp && matches!(s.class, Class::Ok | Class::GatewayTimeout)),
            "{health:#?}"
        );
        let slowest = health.iter().map(|s| s.latency_ms).max().unwrap_or(0);
        assert!(
            slowest >= 2000,
            "health stalls with the OTP start: {health:?}"
        );
        assert!(
            health.iter().any(
                |s| s.started_ms + s.latency_ms as i64 > otp.started_ms + otp.latency_ms as i64
            ),
            "some health probe outlives the OTP start and still reports"
        );
    }

    #[tokio::test]
    async fn no_healthy_target_is_unavailable() {
        let sim = sim("stub-provider").await;
        let probe = probe(&sim.urls.api, Duration::from_secs(10));
        let health = one(&probe, Endpoint::Health).await;
        assert_eq!(
            (health.status, health.class, health.summary.as_str()),
            (
                Some(503),
                Class::Unavailable,
                "503 Service Temporarily Unavailable"
            )
        );
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let sample = one(
            &probe(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5)),
            Endpoint::Health,
        )
        .await;
        assert_eq!(
            (sample.status, sample.class),
            (None, Class::Refused),
            "{sample:?}"
        );
        assert!(
            sample.summary.to_lowercase().contains("refused"),
            "{sample:?}"
        );
    }

    #[tokio::test]
    async fn unresolvable_host_is_dns() {
        let sample = one(
            &probe("http://nonexistent.invalid", Duration::from_secs(10)),
            Endpoint::Health,
        )
        .await;
        assert_eq!(sample.class, Class::Dns, "{sample:?}");
    }

    #[tokio::test]
    async fn tls_to_a_plain_http_server_is_tls() {
        let sim = sim("healthy").await;
        let url = sim.urls.api.replace("http://", "https://");
        let sample = one(&probe(&url, Duration::from_secs(5)), Endpoint::Health).await;
        assert_eq!(sample.class, Class::Tls, "{sample:?}");
    }

    /// A server that accepts and then either writes `reply` and closes, or says nothing.
    async fn raw_server(reply: Option<&'static [u8]>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0_u8; 1024];
                    let _ = socket.read(&mut buf).await;
                    match reply {
                        Some(bytes) => drop(socket.write_all(bytes).await),
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn silent_server_is_timeout() {
        let url = raw_server(None).await;
        let sample = one(&probe(&url, Duration::from_millis(500)), Endpoint::Health).await;
        assert_eq!(
            (sample.status, sample.class),
            (None, Class::Timeout),
            "{sample:?}"
        );
        assert_eq!(sample.summary, "no answer within 0.5 s");
        assert!(sample.latency_ms >= 500 && sample.latency_ms < 3000);
    }

    #[tokio::test]
    async fn garbage_answer_is_other() {
        let url = raw_server(Some(b"\x1b[31mSSH-2.0-garbage\r\n\r\n")).await;
        let sample = one(&probe(&url, Duration::from_secs(5)), Endpoint::Health).await;
        assert_eq!(
            (sample.status, sample.class),
            (None, Class::Other),
            "{sample:?}"
        );
        assert!(!sample.summary.contains('\u{1b}'));
    }

    #[tokio::test]
    async fn html_and_escapes_are_summarised_on_one_short_line() {
        let page = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 57\r\nConnection: close\r\n\r\n<html><head><title>502 Bad Gateway</title></head></html>\n";
        let url = raw_server(Some(page)).await;
        let sample = one(&probe(&url, Duration::from_secs(5)), Endpoint::Health).await;
        assert_eq!(
            (sample.status, sample.class, sample.summary.as_str()),
            (Some(502), Class::ServerError, "502 Bad Gateway")
        );
        let long = format!("\u{1b}[2J{}\nsecond line {PHONE}", "x".repeat(300));
        let line = one_line(&long, PHONE, None);
        assert_eq!(line.chars().count(), SUMMARY_MAX);
        assert!(!line.contains('\u{1b}') && !line.contains('\n'));
        assert_eq!(one_line("to +17133056318", PHONE, None), "to •••6318");
    }

    #[test]
    fn statuses_classify() {
        for (status, html, want) in [
            (200, false, Class::Ok),
            (204, false, Class::Ok),
            (429, false, Class::RateLimited),
            (503, true, Class::Unavailable),
            (503, false, Class::ServerError),
            (504, true, Class::GatewayTimeout),
            (404, false, Class::ClientError),
            (500, false, Class::ServerError),
            (302, false, Class::Other),
        ] {
            assert_eq!(classify_status(status, html), want, "{status} {html}");
        }
    }

    #[test]
    fn bodies_summarise() {
        assert_eq!(
            summarize(r#"{"detail":"Failed to send OTP"}"#),
            "Failed to send OTP"
        );
        assert_eq!(
            summarize(
                r#"{"detail":[{"loc":["body","phone"],"msg":"Field required","input":{"x":"+17133056318"}}]}"#
            ),
            "body.phone: Field required"
        );
        assert_eq!(
            summarize(r#"{"access_token":"eyJsecret","refresh_token":"rt"}"#),
            format!("access_token {}", redact::MASK)
        );
        assert_eq!(summarize(r#"{"a":1,"b":"secret"}"#), "JSON with a, b");
        assert_eq!(summarize(""), "(empty body)");
    }

    #[test]
    fn phones_validate() {
        assert_eq!(validate_phone(" +1 (713) 305-6318 "), Ok(PHONE.to_owned()));
        for bad in ["17133056318", "+1713abc6318", "+123", "+01234567890", ""] {
            let error = validate_phone(bad).expect_err(bad);
            assert!(
                error.contains("+17133056318") && !error.contains('\n'),
                "{error}"
            );
        }
        // Each says what is actually wrong.
        for (bad, says) in [
            ("+0000000000", "no country code starts with 0"),
            ("+1713", "4 digits is too short"),
            ("+1713305631812345", "16 digits is too long"),
            ("+", "no digits"),
        ] {
            let error = validate_phone(bad).expect_err(bad);
            assert!(error.starts_with(says), "{bad}: {error}");
        }
    }

    #[test]
    fn bad_base_url_is_an_error() {
        let api = ApiConfig {
            base_url: "ftp://x".into(),
            ..ApiConfig::default()
        };
        let error = HttpProbe::new(&api, Duration::from_secs(1)).expect_err("refused");
        assert!(error.message.contains("base_url"), "{error:?}");
    }
}
