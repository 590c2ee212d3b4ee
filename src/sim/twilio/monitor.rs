//! Twilio's Monitor (`monitor.twilio.com/v1`): the account's Alerts (an alert is written each
//! time the simulated Twilio answers an API call with an error, as Twilio's debugger does) and
//! Events (account and credential changes: the scenario's history, e.g. an auth token rotated
//! yesterday). `GET /v1/Alerts` and `GET /v1/Events` list them newest first with
//! `StartDate`/`EndDate`, `LogLevel`/`EventType` and Twilio's paging (`PageSize`, `Page`,
//! `meta.next_page_url`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::error::TwilioError;
use super::ids::{self, SplitMix64};
use super::{query_params, Params, Twilio};

/// The base URL Twilio writes in Monitor's links.
const MONITOR_BASE: &str = "https://monitor.twilio.com/v1";
/// The most bytes of a request body an alert keeps (Twilio keeps the request's variables).
const MAX_BODY: usize = 64 * 1024;

/// One alert: an error Twilio answered a call of the account with.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub sid: String,
    pub at_ms: i64,
    pub error_code: u32,
    pub log_level: &'static str,
    pub alert_text: String,
    pub request_method: String,
    pub request_url: String,
    pub request_variables: String,
    pub response_body: String,
}

/// One event: a change to the account or one of its resources.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub sid: String,
    pub at_ms: i64,
    pub event_type: String,
    pub description: String,
    pub actor_type: String,
    pub actor_sid: Option<String>,
    pub resource_type: String,
    pub resource_sid: String,
    pub source: String,
}

/// The account's alerts and events, oldest first, and the generator of their SIDs (its own,
/// so Verify's codes stay the same whatever the Monitor records).
#[derive(Debug)]
pub struct Monitor {
    pub alerts: Vec<AlertRecord>,
    pub events: Vec<EventRecord>,
    rng: SplitMix64,
}

impl Monitor {
    pub fn new(seed: u64) -> Self {
        Self {
            alerts: Vec::new(),
            events: Vec::new(),
            rng: SplitMix64::new(seed ^ 0x0A1E_4750),
        }
    }
}

/// Writes an alert for every error the simulated Twilio answers (Monitor's own reads and the
/// simulator's inbox excepted), with the request's variables as Twilio keeps them.
pub async fn record_alerts(
    State(twilio): State<Arc<Twilio>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/v1/Alerts") || path.starts_with("/v1/Events") || path.starts_with("/_sim")
    {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let variables = if method == Method::GET {
        query
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status().as_u16() < 400 {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(code) = answer["code"].as_u64().and_then(|c| u32::try_from(c).ok()) {
        let message = answer["message"].as_str().unwrap_or_default();
        let now = twilio.clock.now_ms();
        let mut monitor = twilio.monitor();
        let sid = monitor.rng.sid("NO");
        let alert_text = form_encode(&[
            ("Msg", message),
            ("ErrorCode", &code.to_string()),
            ("httpResponse", &parts.status.as_u16().to_string()),
            ("url", &path),
            ("requestVariables", &variables),
        ]);
        monitor.alerts.push(AlertRecord {
            sid,
            at_ms: now,
            error_code: code,
            // Every error answered is an error-level alert; warnings are for deliveries.
            log_level: "error",
            alert_text,
            request_method: method.to_string(),
            request_url: format!("https://api.twilio.com{path}"),
            request_variables: variables,
            response_body: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `application/x-www-form-urlencoded`, as Twilio writes an alert's text.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A `StartDate`/`EndDate` bound in ms: `YYYY-MM-DD` (the day's start) or a date-time.
fn bound(params: &Params, name: &str) -> Result<Option<i64>, TwilioError> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    let parsed = if text.len() == 10 {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_millis())
    } else {
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|d| d.timestamp_millis())
    };
    parsed.map(Some).ok_or_else(|| {
        TwilioError::new(
            axum::http::StatusCode::BAD_REQUEST,
            20001,
            format!("Invalid {name}: {text} (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"),
        )
    })
}

/// One page of `rows` (newest first) under `key`, with Monitor's `meta`.
fn page(key: &str, rows: &[Value], params: &Params, uri: &Uri) -> Value {
    let size = super::page_size(params);
    let number: usize = params.get("Page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let shown: Vec<Value> = rows
        .iter()
        .skip(number * size)
        .take(size)
        .cloned()
        .collect();
    let base = format!("{MONITOR_BASE}{}", uri.path().trim_start_matches("/v1"));
    let keep: Vec<String> = [
        "StartDate",
        "EndDate",
        "LogLevel",
        "EventType",
        "ResourceSid",
        "ActorSid",
    ]
    .iter()
    .filter_map(|k| params.get(k).map(|v| format!("{k}={}", percent(v))))
    .collect();
    let filters = if keep.is_empty() {
        String::new()
    } else {
        format!("&{}", keep.join("&"))
    };
    let link = |n: usize| format!("{base}?PageSize={size}&Page={n}{filters}");
    let next = (rows.len() > (number + 1) * size).then(|| link(number + 1));
    json!({
        key: shown,
        "meta": {
            "first_page_url": link(0),
            "key": key,
            "next_page_url": next,
            "page": number,
            "page_size": size,
            "previous_page_url": (number > 0).then(|| link(number - 1)),
            "url": link(number),
        }
    })
}

/// `GET /v1/Alerts`.
pub async fn list_alerts(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    twilio.authenticate(&headers)?;
    let params = query_params(query);
    let (start, end) = (bound(&params, "StartDate")?, bound(&params, "EndDate")?);
    let level = params.get("LogLevel");
    let account = &twilio.setup.account_sid;
    let rows: Vec<Value> = twilio
        .monitor()
        .alerts
        .iter()
        .rev()
        .filter(|a| start.is_none_or(|s| a.at_ms >= s) && end.is_none_or(|e| a.at_ms <= e))
        .filter(|a| level.is_none_or(|l| l == a.log_level))
        .map(|a| alert_json(a, account))
        .collect();
    Ok(Json(page("alerts", &rows, &params, &uri)))
}

fn alert_json(a: &AlertRecord, account: &str) -> Value {
    json!({
        "account_sid": account,
        "alert_text": a.alert_text,
        "api_version": "2010-04-01",
        "date_created": ids::iso8601(a.at_ms),
        "date_generated": ids::iso8601(a.at_ms),
        "date_updated": ids::iso8601(a.at_ms),
        "error_code": a.error_code.to_string(),
        "log_level": a.log_level,
        "more_info": format!("https://www.twilio.com/docs/errors/{}", a.error_code),
        "request_method": a.request_method,
        "request_url": a.request_url,
        "resource_sid": account,
        "service_sid": null,
        "sid": a.sid,
        "url": format!("{MONITOR_BASE}/Alerts/{}", a.sid),
    })
}

/// `GET /v1/Alerts/{Sid}`: one alert with the request and response Twilio kept.
pub async fn fetch_alert(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    twilio.authenticate(&headers)?;
    let sid = super::segment(path, &uri)?;
    let monitor = twilio.monitor();
    let a = monitor
        .alerts
        .iter()
        .find(|a| a.sid == sid)
        .ok_or_else(|| TwilioError::not_found(uri.path()))?;
    let mut out = alert_json(a, &twilio.setup.account_sid);
    out["request_variables"] = json!(a.request_variables);
    out["response_body"] = json!(a.response_body);
    out["response_headers"] = json!("Content-Type=application%2Fjson");
    out["request_headers"] = Value::Null;
    Ok(Json(out))
}

/// `GET /v1/Events`.
pub async fn list_events(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    twilio.authenticate(&headers)?;
    let params = query_params(query);
    let (start, end) = (bound(&params, "StartDate")?, bound(&params, "EndDate")?);
    let event_type = params.get("EventType");
    let resource = params.get("ResourceSid");
    let account = &twilio.setup.account_sid;
    let rows: Vec<Value> = twilio
        .monitor()
        .events
        .iter()
        .rev()
        .filter(|e| start.is_none_or(|s| e.at_ms >= s) && end.is_none_or(|x| e.at_ms <= x))
        .filter(|e| event_type.is_none_or(|t| t == e.event_type))
        .filter(|e| resource.is_none_or(|r| r == e.resource_sid))
        .map(|e| {
            json!({
                "account_sid": account,
                "actor_sid": e.actor_sid,
                "actor_type": e.actor_type,
                "description": e.description,
                "event_data": { "resource_sid": e.resource_sid },
                "event_date": ids::iso8601(e.at_ms),
                "event_type": e.event_type,
                "resource_sid": e.resource_sid,
                "resource_type": e.resource_type,
                "sid": e.sid,
                "source": e.source,
                "source_ip_address": "198.51.100.23",
                "url": format!("{MONITOR_BASE}/Events/{}", e.sid),
                "links": links(e),
            })
        })
        .collect();
    Ok(Json(page("events", &rows, &params, &uri)))
}

/// An event's links: its resource, and its actor when one is known.
fn links(e: &EventRecord) -> Value {
    let mut links = json!({
        "resource": format!("https://api.twilio.com/2010-04-01/Accounts/{}", e.resource_sid),
    });
    if let Some(actor) = &e.actor_sid {
        links["actor"] = json!(format!("https://preview.twilio.com/Users/{actor}"));
    }
    links
}

impl Twilio {
    /// Records an event in the account's Monitor (the scenario's history, or a change made
    /// through a simulated API): `resource_sid` empty means the account itself.
    pub fn record_event(&self, setup: &crate::sim::scenario::TwilioEventSetup, now_ms: i64) {
        let mut monitor = self.monitor();
        let sid = monitor.rng.sid("AE");
        let actor = (setup.actor_type == "user").then(|| monitor.rng.sid("US"));
        let resource_sid = if setup.resource_sid.is_empty() {
            self.setup.account_sid.clone()
        } else {
            setup.resource_sid.clone()
        };
        let event = EventRecord {
            sid,
            at_ms: now_ms - (setup.hours_ago * 3_600_000.0) as i64,
            event_type: setup.event_type.clone(),
            description: setup.description.clone(),
            actor_type: setup.actor_type.clone(),
            actor_sid: actor,
            resource_type: setup.resource_type.clone(),
            resource_sid,
            source: if setup.actor_type == "user" {
                "web"
            } else {
                "api"
            }
            .into(),
        };
        let at = monitor.events.partition_point(|e| e.at_ms <= event.at_ms);
        monitor.events.insert(at, event);
    }
}
