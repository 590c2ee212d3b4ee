//! The simulated backend API behind a modelled load balancer: `GET /health`, dev login, OTP
//! start and verify, as the runbook's FastAPI service answers them. Each ECS task runs one
//! backend process built from its revision's environment and image; the process has one event
//! loop (a lock every handler holds while it runs on the loop). The fixed image awaits Twilio
//! off the loop with `TWILIO_TIMEOUT_SECONDS`; the regressed image holds the loop through the
//! call, so `/health` stalls while an OTP start is in flight. The load balancer answers 503
//! with no healthy target and 504 when the backend has not answered in 60 s (scaled); the
//! backend goes on with the request after that, as the real one does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use super::scenario::{ImageBehaviour, TwilioCall};
use super::Shared;

/// OTP starts allowed per phone per window.
pub const OTP_STARTS_PER_WINDOW: usize = 5;
/// The rate-limit window, nominal seconds (15 minutes).
pub const OTP_WINDOW_SECS: f64 = 900.0;
/// How long a request waiting for a provider that never initialises lingers before the
/// backend gives up (the client sees the load balancer's 504 long before).
const PROVIDER_WAIT_SECS: f64 = 300.0;
/// How long a `twilio_sms` code stays valid, nominal seconds (10 minutes, as Verify's).
const SMS_CODE_SECS: f64 = 600.0;
/// The regressed image's Twilio call has no timeout; cap it so no task leaks forever.
const UNBOUNDED_CALL_CAP_SECS: f64 = 600.0;

/// One backend process: the configuration it started with and its one event loop.
#[derive(Debug)]
pub struct TaskRuntime {
    pub task_id: String,
    pub stream: String,
    env: BTreeMap<String, String>,
    behaviour: Option<ImageBehaviour>,
    event_loop: tokio::sync::Mutex<()>,
}

impl TaskRuntime {
    /// A process with the resolved environment of its revision and its image's behaviour.
    pub fn new(
        task_id: String,
        stream: String,
        env: BTreeMap<String, String>,
        behaviour: Option<ImageBehaviour>,
    ) -> Self {
        Self {
            task_id,
            stream,
            env,
            behaviour,
            event_loop: tokio::sync::Mutex::new(()),
        }
    }

    /// The image's behaviour, when the simulator knows the image.
    pub(crate) fn behaviour(&self) -> Option<&ImageBehaviour> {
        self.behaviour.as_ref()
    }

    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn timeout_secs(&self) -> f64 {
        self.var("TWILIO_TIMEOUT_SECONDS")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .unwrap_or(30.0)
    }

    /// The Twilio variables the Verify provider needs that this process lacks.
    pub(crate) fn missing_twilio(&self) -> Vec<&'static str> {
        let mut needed = vec!["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"];
        match self.var("OTP_PROVIDER") {
            Some("twilio_sms") => needed.push("OTP_FROM_NUMBER"),
            _ => needed.push("TWILIO_VERIFY_SERVICE_SID"),
        }
        needed
            .into_iter()
            .filter(|n| self.var(n).is_none())
            .collect()
    }
}

/// The process's startup: the log lines it writes, `Err` when validation stops it.
pub fn startup(
    env: &BTreeMap<String, String>,
    image_known: bool,
) -> Result<Vec<String>, Vec<String>> {
    let mut lines = vec![
        "INFO:     Started server process [1]".to_owned(),
        "INFO:     Waiting for application startup.".to_owned(),
    ];
    let var = |name: &str| env.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let fail = |mut lines: Vec<String>, message: String| {
        lines.push("ERROR:    Traceback (most recent call last):".to_owned());
        lines.push("  File \"/app/app/core/config.py\", line 112, in validate_settings".to_owned());
        lines.push(format!("ValueError: {message}"));
        lines.push("ERROR:    Application startup failed. Exiting.".to_owned());
        Err(lines)
    };
    if !image_known {
        return fail(lines, "image has no entry point the simulator knows".into());
    }
    let Some(environment) = var("ENV") else {
        return fail(lines, "ENV is required".into());
    };
    lines.push(format!("[CONFIG] ENV={environment}"));
    match var("OTP_PROVIDER") {
        None => return fail(lines, "OTP_PROVIDER is required".into()),
        Some("stub") if environment == "prod" => {
            return fail(
                lines,
                "OTP_PROVIDER=stub is not allowed when ENV=prod".into(),
            );
        }
        Some("stub") => lines.push("[OTP] Using stub provider (no SMS is sent)".to_owned()),
        Some(provider @ ("twilio_verify" | "twilio_sms")) => {
            let needed: &[&str] = if provider == "twilio_verify" {
                &[
                    "TWILIO_ACCOUNT_SID",
                    "TWILIO_AUTH_TOKEN",
                    "TWILIO_VERIFY_SERVICE_SID",
                ]
            } else {
                &["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "OTP_FROM_NUMBER"]
            };
            let missing: Vec<&str> = needed
                .iter()
                .copied()
                .filter(|n| var(n).is_none())
                .collect();
            if missing.is_empty() {
                lines.push(if provider == "twilio_verify" {
                    "[OTP] Using Twilio Verify provider".to_owned()
                } else {
                    "[OTP] Using Twilio SMS provider".to_owned()
                });
            } else {
                lines.push(format!(
                    "[OTP] WARNING: {} not set; Twilio provider will be initialised on first use",
                    missing.join(", ")
                ));
            }
        }
        Some(other) => {
            return fail(
                lines,
                format!("OTP_PROVIDER={other} is not a known provider"),
            )
        }
    }
    lines.push("INFO:     Application startup complete.".to_owned());
    lines
        .push("INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)".to_owned());
    Ok(lines)
}

/// What a process writes when the scheduler stops it.
pub fn shutdown_lines() -> Vec<String> {
    vec![
        "INFO:     Shutting down".to_owned(),
        "INFO:     Waiting for application shutdown.".to_owned(),
        "INFO:     Application shutdown complete.".to_owned(),
        "INFO:     Finished server process [1]".to_owned(),
    ]
}

/// A uvicorn access-log line.
pub fn access_line(client: &str, method: &str, path: &str, status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("INFO:     {client} - \"{method} {path} HTTP/1.1\" {status} {reason}")
}

/// The last four digits of a phone number, as the service logs it.
/// The line an OTP request whose code Twilio accepted writes (`status`: Twilio's answer).
pub(crate) fn sent_line(tail: &str, status: &str) -> String {
    format!("[OTP] OTP sent successfully phone_last4={tail} status={status}")
}

/// The line an OTP request that Twilio refused writes, with the code's hint.
pub(crate) fn twilio_error_line(code: u64, message: &str, status: u16, tail: &str) -> String {
    let hint = match code {
        20003 => " (Invalid credentials)",
        20404 => " (Service not found)",
        21606 | 21659 | 21212 => " (Invalid From number)",
        _ => "",
    };
    format!("[OTP] Twilio error {code}: {message}{hint} http_status={status} phone_last4={tail}")
}

/// The line an OTP request whose Twilio call timed out after `secs` writes.
pub(crate) fn timeout_line(secs: f64, tail: &str) -> String {
    format!("[OTP] Twilio timeout after {secs:.0}s (TimeoutError) phone_last4={tail}")
}

/// The line an OTP request writes when the provider lacks the variables it needs.
pub(crate) fn not_configured_line(missing: &[&str], tail: &str) -> String {
    format!(
        "[OTP] Twilio Verify provider not configured: {} not set; waiting for provider phone_last4={tail}",
        missing.join(", ")
    )
}

/// The line the stub provider writes instead of sending.
pub(crate) fn stub_line(tail: &str) -> String {
    format!("[OTP] Stub provider: code not sent phone_last4={tail}")
}

pub(crate) fn last4(phone: &str) -> &str {
    &phone[phone.len().saturating_sub(4)..]
}

/// Normalises a phone number to E.164 as the backend does (US numbers without a country
/// code get +1); `None` when it cannot be one.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let has_plus = trimmed.starts_with('+');
    if trimmed
        .chars()
        .skip(usize::from(has_plus))
        .any(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.')))
    {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let e164 = if has_plus {
        format!("+{digits}")
    } else if digits.len() == 10 {
        format!("+1{digits}")
    } else if digits.len() == 11 && digits.starts_with('1') {
        format!("+{digits}")
    } else {
        return None;
    };
    let n = e164.len() - 1;
    ((8..=15).contains(&n) && !e164[1..].starts_with('0')).then_some(e164)
}

/// The router of the API listener: everything goes through the load balancer.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(load_balancer).with_state(shared)
}

/// A request as the backend sees it.
struct Request {
    method: Method,
    path: String,
    body: Bytes,
    client: String,
}

/// A backend answer: status, JSON body and extra headers.
struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl Answer {
    fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            retry_after: None,
        }
    }

    fn detail(status: StatusCode, detail: &str) -> Self {
        Self::json(status, json!({ "detail": detail }))
    }
}

async fn load_balancer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (backend, client) = {
        let mut world = shared.lock_world();
        let picked = (world.next_backend(), world.client_address());
        if picked.0.is_none() {
            world.lb_record(shared.clock.now_ms(), 503, 0.0, true);
        }
        picked
    };
    let Some(backend) = backend else {
        return alb_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Temporarily Unavailable",
        );
    };
    let request = Request {
        method,
        path: uri.path().to_owned(),
        body,
        client,
    };
    // The backend runs on its own: when the load balancer gives up, the request goes on.
    let handle = tokio::spawn(handle(Arc::clone(&shared), backend, request));
    let started = std::time::Instant::now();
    let idle = shared.scenario.deployment.lb_idle_timeout_secs;
    let answered = tokio::time::timeout(shared.clock.secs(idle), handle).await;
    // The load balancer's own records (CloudWatch), for this request as for every user's.
    let (status, by_load_balancer) = match &answered {
        Ok(Ok(answer)) => (answer.status.as_u16(), false),
        Ok(Err(_)) => (502, true),
        Err(_) => (504, true),
    };
    let secs = started.elapsed().as_secs_f64() / shared.clock.scale().max(f64::EPSILON);
    shared
        .lock_world()
        .lb_record(shared.clock.now_ms(), status, secs, by_load_balancer);
    match answered {
        Ok(Ok(answer)) => {
            let mut response = (answer.status, axum::Json(answer.body)).into_response();
            if let Some(secs) = answer.retry_after {
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            response
        }
        Ok(Err(_)) => alb_page(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
        Err(_) => alb_page(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Time-out"),
    }
}

/// The load balancer's own error page.
fn alb_page(status: StatusCode, title: &str) -> Response {
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// One request inside one backend process; writes the access line when it is done.
async fn handle(shared: Arc<Shared>, backend: Arc<TaskRuntime>, request: Request) -> Answer {
    let answer = match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/health") => {
            let _on_loop = backend.event_loop.lock().await;
            Answer::json(StatusCode::OK, json!({ "ok": true }))
        }
        ("POST", "/v1/auth/dev/login") => {
            let _on_loop = backend.event_loop.lock().await;
            dev_login(&shared)
        }
        ("POST", "/v1/auth/otp/start") => otp_start(&shared, &backend, &request.body).await,
        ("POST", "/v1/auth/otp/verify") => otp_verify(&shared, &backend, &request.body).await,
        (_, "/health" | "/v1/auth/dev/login" | "/v1/auth/otp/start" | "/v1/auth/otp/verify") => {
            Answer::detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        }
        _ => Answer::detail(StatusCode::NOT_FOUND, "Not Found"),
    };
    let line = access_line(
        &request.client,
        request.method.as_str(),
        &request.path,
        answer.status.as_u16(),
    );
    shared.log(&backend, &[line]);
    answer
}

fn tokens(shared: &Shared, phone: Option<&str>) -> Value {
    let mut world = shared.lock_world();
    let access = format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.{}",
        world.rng.hex(48),
        world.rng.hex(43)
    );
    let refresh = format!("rt_{}", world.rng.hex(48));
    let user_id = 1000 + world.rng.below(9000);
    json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "user": { "id": user_id, "phone": phone, "role": if phone.is_some() { "driver" } else { "dev" } },
    })
}

fn dev_login(shared: &Shared) -> Answer {
    Answer::json(StatusCode::OK, tokens(shared, None))
}

/// Parses `{"phone": ...}` (and `code`) as FastAPI would: 422 with pydantic's shape.
fn parse_fields(body: &[u8], fields: &[&str]) -> Result<Vec<String>, Answer> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Answer::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "detail": [{ "type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error", "input": {}, "ctx": { "error": e.to_string() } }] }),
        )
    })?;
    let mut out = Vec::new();
    for field in fields {
        match value.get(field).and_then(Value::as_str) {
            Some(v) => out.push(v.to_owned()),
            None => {
                return Err(Answer::json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({ "detail": [{ "type": "missing", "loc": ["body", field], "msg": "Field required", "input": value }] }),
                ))
            }
        }
    }
    Ok(out)
}

async fn otp_start(shared: &Arc<Shared>, backend: &Arc<TaskRuntime>, body: &[u8]) -> Answer {
    let phone = {
        let _on_loop = backend.event_loop.lock().await;
        let raw = match parse_fields(body, &["phone"]) {
            Ok(fields) => fields.into_iter().next().unwrap_or_default(),
            Err(answer) => return answer,
        };
        let Some(phone) = normalize_phone(&raw) else {
            return Answer::detail(
                StatusCode::BAD_REQUEST,
                "Invalid phone number: use E.164 format, e.g. +17133056318",
            );
        };
        if let Some(retry) = shared.rate_limit(&phone) {
            shared.log(
                backend,
                &[format!(
                    "[OTP] Rate limit exceeded phone_last4={}",
                    last4(&phone)
                )],
            );
            let mut answer = Answer::detail(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many OTP requests. Try again in {retry} seconds."),
            );
            answer.retry_after = Some(retry);
            return answer;
        }
        phone
    };
    if backend.var("OTP_PROVIDER") == Some("stub") {
        shared.log(backend, &[stub_line(last4(&phone))]);
        return Answer::json(StatusCode::OK, json!({ "otp_sent": true }));
    }
    let missing = backend.missing_twilio();
    if !missing.is_empty() {
        // The provider cannot be built; the request waits for it, as the runbook describes.
        shared.log(backend, &[not_configured_line(&missing, last4(&phone))]);
        shared
            .clock
            .sleep(Duration::from_secs_f64(PROVIDER_WAIT_SECS))
            .await;
        shared.log(
            backend,
            &["[OTP] ERROR: gave up waiting for the OTP provider".to_owned()],
        );
        return Answer::detail(StatusCode::INTERNAL_SERVER_ERROR, "Failed to send OTP");
    }
    let call = twilio_send(shared, backend, &phone);
    let on_loop = backend
        .behaviour
        .as_ref()
        .is_some_and(|b| b.twilio_call == TwilioCall::EventLoop);
    let outcome = if on_loop {
        let stall = backend
            .behaviour
            .as_ref()
            .map_or(0.0, |b| b.event_loop_stall_seconds);
        let _on_loop = backend.event_loop.lock().await;
        // The synchronous SDK waits on a transport that needs the loop it is blocking,
        // until its socket timeout; then the request goes out, with no timeout of its own.
        shared.clock.sleep(Duration::from_secs_f64(stall)).await;
        within(shared, UNBOUNDED_CALL_CAP_SECS, call).await
    } else {
        within(shared, backend.timeout_secs(), call).await
    };
    let tail = last4(&phone);
    match outcome {
        TwilioOutcome::Sent(status) => {
            shared.log(backend, &[sent_line(tail, &status)]);
            Answer::json(StatusCode::OK, json!({ "otp_sent": true }))
        }
        TwilioOutcome::Error {
            status,
            code,
            message,
        } => {
            shared.log(backend, &[twilio_error_line(code, &message, status, tail)]);
            if code == 60203 {
                let mut answer = Answer::detail(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many verification attempts. Try again later.",
                );
                answer.retry_after = Some(shared.clock.secs(600.0).as_secs().max(1));
                answer
            } else if code == 60200 {
                Answer::detail(StatusCode::BAD_REQUEST, "Invalid phone number")
            } else {
                Answer::detail(StatusCode::INTERNAL_SERVER_ERROR, "Failed to send OTP")
            }
        }
        TwilioOutcome::NoAnswer(failure) => {
            no_answer(shared, backend, failure, tail, "Failed to send OTP")
        }
    }
}

async fn otp_verify(shared: &Arc<Shared>, backend: &Arc<TaskRuntime>, body: &[u8]) -> Answer {
    let (phone, code) = {
        let _on_loop = backend.event_loop.lock().await;
        let fields = match parse_fields(body, &["phone", "code"]) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        let Some(phone) = normalize_phone(&fields[0]) else {
            return Answer::detail(
                StatusCode::BAD_REQUEST,
                "Invalid phone number: use E.164 format, e.g. +17133056318",
            );
        };
        (phone, fields[1].clone())
    };
    if backend.var("OTP_PROVIDER") == Some("stub") {
        return if code == "000000" {
            Answer::json(StatusCode::OK, tokens(shared, Some(&phone)))
        } else {
            Answer::detail(StatusCode::BAD_REQUEST, "Invalid or expired code")
        };
    }
    if !backend.missing_twilio().is_empty() {
        return Answer::detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "OTP provider not configured",
        );
    }
    if backend.var("OTP_PROVIDER") == Some("twilio_sms") {
        return sms_verify(shared, backend, &phone, &code);
    }
    let check = twilio_check(shared, backend, &phone, &code);
    let outcome = within(shared, backend.timeout_secs(), check).await;
    let tail = last4(&phone);
    match outcome {
        TwilioOutcome::Sent(status) if status == "approved" => {
            shared.log(backend, &[format!("[OTP] OTP verified phone_last4={tail}")]);
            Answer::json(StatusCode::OK, tokens(shared, Some(&phone)))
        }
        TwilioOutcome::Sent(_) | TwilioOutcome::Error { code: 20404, .. } => {
            shared.log(
                backend,
                &[format!("[OTP] OTP verification failed phone_last4={tail}")],
            );
            Answer::detail(StatusCode::BAD_REQUEST, "Invalid or expired code")
        }
        TwilioOutcome::Error { code, message, .. } => {
            shared.log(
                backend,
                &[format!(
                    "[OTP] Twilio error {code}: {message} phone_last4={tail}"
                )],
            );
            Answer::detail(StatusCode::INTERNAL_SERVER_ERROR, "Failed to verify OTP")
        }
        TwilioOutcome::NoAnswer(failure) => {
            no_answer(shared, backend, failure, tail, "Failed to verify OTP")
        }
    }
}

/// What came back from Twilio.
enum TwilioOutcome {
    /// 2xx: the verification's `status`.
    Sent(String),
    Error {
        status: u16,
        code: u64,
        message: String,
    },
    NoAnswer(NoAnswer),
}

/// Why no answer came back from Twilio.
enum NoAnswer {
    /// The call's time limit (seconds) ran out.
    Timeout(f64),
    /// The connection failed: the error.
    Unreachable(String),
}

/// `call`, given up after `limit` scenario seconds.
async fn within(
    shared: &Shared,
    limit: f64,
    call: impl std::future::Future<Output = TwilioOutcome>,
) -> TwilioOutcome {
    match tokio::time::timeout(shared.clock.secs(limit), call).await {
        Ok(outcome) => outcome,
        Err(_) => TwilioOutcome::NoAnswer(NoAnswer::Timeout(limit)),
    }
}

/// Logs and answers an OTP request whose Twilio call got no answer, as both OTP endpoints do: a
/// timeout is a 503, a connection error a 500 with `failed` as its detail.
fn no_answer(
    shared: &Shared,
    backend: &TaskRuntime,
    failure: NoAnswer,
    tail: &str,
    failed: &str,
) -> Answer {
    match failure {
        NoAnswer::Timeout(secs) => {
            shared.log(backend, &[timeout_line(secs, tail)]);
            Answer::detail(StatusCode::SERVICE_UNAVAILABLE, "OTP provider timed out")
        }
        NoAnswer::Unreachable(error) => {
            shared.log(
                backend,
                &[format!(
                    "[OTP] Twilio connection error: {error} phone_last4={tail}"
                )],
            );
            Answer::detail(StatusCode::INTERNAL_SERVER_ERROR, failed)
        }
    }
}

/// The `twilio_sms` provider's check: the code it sent to `phone` within the window, once.
fn sms_verify(shared: &Shared, backend: &TaskRuntime, phone: &str, code: &str) -> Answer {
    let now = shared.clock.now_ms();
    let window = shared.clock.secs(SMS_CODE_SECS).as_millis() as i64;
    let matched = {
        let mut world = shared.lock_world();
        let fresh = world
            .sms_codes
            .get(phone)
            .is_some_and(|(sent, at)| sent == code && now - at <= window);
        if fresh {
            world.sms_codes.remove(phone);
        }
        fresh
    };
    let tail = last4(phone);
    if matched {
        shared.log(backend, &[format!("[OTP] OTP verified phone_last4={tail}")]);
        Answer::json(StatusCode::OK, tokens(shared, Some(phone)))
    } else {
        shared.log(
            backend,
            &[format!("[OTP] OTP verification failed phone_last4={tail}")],
        );
        Answer::detail(StatusCode::BAD_REQUEST, "Invalid or expired code")
    }
}

async fn twilio_send(shared: &Shared, backend: &TaskRuntime, phone: &str) -> TwilioOutcome {
    if backend.var("OTP_PROVIDER") == Some("twilio_sms") {
        // backend/app/services/auth/twilio_sms.py: its own code, sent by Programmable SMS.
        let code = {
            let mut world = shared.lock_world();
            let code = format!("{:06}", world.rng.below(1_000_000));
            world
                .sms_codes
                .insert(phone.to_owned(), (code.clone(), shared.clock.now_ms()));
            code
        };
        let account = backend.var("TWILIO_ACCOUNT_SID").unwrap_or_default();
        let url = format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            shared.twilio_url
        );
        let from = backend.var("OTP_FROM_NUMBER").unwrap_or_default();
        let body = format!("Your Nerava verification code is: {code}");
        return twilio_post(
            shared,
            backend,
            &url,
            &[("To", phone), ("From", from), ("Body", &body)],
        )
        .await;
    }
    let service = backend.var("TWILIO_VERIFY_SERVICE_SID").unwrap_or_default();
    let url = format!("{}/v2/Services/{service}/Verifications", shared.twilio_url);
    twilio_post(shared, backend, &url, &[("To", phone), ("Channel", "sms")]).await
}

async fn twilio_check(
    shared: &Shared,
    backend: &TaskRuntime,
    phone: &str,
    code: &str,
) -> TwilioOutcome {
    let service = backend.var("TWILIO_VERIFY_SERVICE_SID").unwrap_or_default();
    let url = format!(
        "{}/v2/Services/{service}/VerificationCheck",
        shared.twilio_url
    );
    twilio_post(shared, backend, &url, &[("To", phone), ("Code", code)]).await
}

/// How often a connection attempt that the VPC drops is retried (a SYN retransmit): a rule
/// authorized meanwhile lets it through, as in AWS.
const SYN_RETRY: std::time::Duration = std::time::Duration::from_millis(200);

/// One Twilio request from inside the VPC: while the service's security groups, network ACL
/// or routes drop it (the world's network, as it stands), it hangs until the caller's timeout.
async fn twilio_post(
    shared: &Shared,
    backend: &TaskRuntime,
    url: &str,
    form: &[(&str, &str)],
) -> TwilioOutcome {
    while !shared.lock_world().twilio_reachable() {
        tokio::time::sleep(SYN_RETRY).await;
    }
    let response = shared
        .http
        .post(url)
        .basic_auth(
            backend.var("TWILIO_ACCOUNT_SID").unwrap_or_default(),
            backend.var("TWILIO_AUTH_TOKEN"),
        )
        .form(form)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return TwilioOutcome::NoAnswer(NoAnswer::Unreachable(e.to_string())),
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        TwilioOutcome::Sent(body["status"].as_str().unwrap_or("pending").to_owned())
    } else {
        TwilioOutcome::Error {
            status,
            code: body["code"].as_u64().unwrap_or(0),
            message: body["message"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalise_to_e164() {
        for (raw, want) in [
            ("+17133056318", Some("+17133056318")),
            ("(713) 305-6318", Some("+17133056318")),
            ("1 713 305 6318", Some("+17133056318")),
            ("+44 20 7946 0958", Some("+442079460958")),
            ("713305", None),
            ("+0123456789", None),
            ("abc", None),
            ("+1713305631899999", None),
            ("", None),
        ] {
            assert_eq!(normalize_phone(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn stub_in_prod_fails_startup() {
        let env: BTreeMap<String, String> = [("ENV", "prod"), ("OTP_PROVIDER", "stub")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let lines = startup(&env, true).expect_err("fails");
        assert!(lines
            .iter()
            .any(|l| l.contains("OTP_PROVIDER=stub is not allowed when ENV=prod")));
    }

    #[test]
    fn verify_provider_logs_its_initialisation() {
        let env: BTreeMap<String, String> = [
            ("ENV", "prod"),
            ("OTP_PROVIDER", "twilio_verify"),
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "t"),
            ("TWILIO_VERIFY_SERVICE_SID", "VA1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let lines = startup(&env, true).expect("starts");
        assert!(lines.contains(&"[OTP] Using Twilio Verify provider".to_owned()));
    }
}
