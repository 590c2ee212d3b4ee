//! Simulated CloudWatch Logs Live Tail (`Logs_20140328.StartLiveTail`): the request is
//! validated like any other call ([`super::LogStore::handle`] answers errors as AWS JSON), and a
//! valid one is answered with an AWS event stream (`application/vnd.amazon.eventstream`): one
//! `sessionStart` frame, then a `sessionUpdate` frame every second with the events ingested
//! since the last one that match the session's log groups, streams and filter pattern, for as
//! long as the client stays (or until the session limit, 3 hours of simulated time, ends it with
//! a `SessionTimeoutException` frame). Above [`MAX_RESULTS`] events in a second the update is
//! sampled, as AWS does: at most that many, evenly spread, and `sessionMetadata.sampled`.
//! An account holds at most [`MAX_SESSIONS`] sessions at once (AWS's default quota); one more
//! is refused with `LimitExceededException` until another ends — a cause of failing sessions
//! that goes away by itself, as another engineer's console or browser tab closes.
//!
//! Events reach a session through a [`Feed`] inside the log store: each session subscribes
//! under the store's lock when its request is validated, so nothing written after the answer
//! was decided is missed, and the store copies an event only for the sessions that match it.
//! Frames are written with the SDK's own event-stream framing (`aws-smithy-eventstream`:
//! prelude, headers, CRCs), so the SDK's decoder is the first judge of them.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue as HttpHeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::pattern::FilterPattern;
use super::{group_arn, LogStore, ACCOUNT, REGION};
use crate::sim::aws::{parse_body, AwsError};
use crate::sim::Shared;

/// The `X-Amz-Target` of the operation.
pub const TARGET: &str = "Logs_20140328.StartLiveTail";
/// Events one `sessionUpdate` carries at most; above it the update is sampled.
pub const MAX_RESULTS: usize = 500;
/// How often a session sends an update (real time: the cadence AWS documents).
pub const UPDATE_EVERY: Duration = Duration::from_secs(1);
/// How long a session lasts at most, in simulated seconds (AWS: 3 hours).
pub const SESSION_LIMIT_SECS: f64 = 3.0 * 3600.0;
/// Live Tail sessions open at once at most (AWS's default quota per account and Region).
pub const MAX_SESSIONS: usize = 15;
/// Events a session holds between two updates at most: past it the oldest are dropped (the
/// update is sampled anyway), so a client that stops reading costs bounded memory.
const MAX_PENDING: usize = 20 * MAX_RESULTS;
/// Message bytes one update carries at most (a frame's limit is 16 MB).
const MAX_UPDATE_BYTES: usize = 8 * 1024 * 1024;

/// Who is tailing which log groups, and what each has not been sent yet.
#[derive(Debug, Default)]
pub struct Feed {
    sessions: BTreeMap<String, Session>,
    started: u64,
}

#[derive(Debug)]
struct Session {
    groups: Vec<String>,
    streams: Option<Vec<String>>,
    prefixes: Option<Vec<String>>,
    pattern: FilterPattern,
    pending: VecDeque<Value>,
    /// Events that matched since the last update (more than `pending` when it overflowed).
    matched: usize,
}

impl Feed {
    /// Offers one event just stored to every session that matches it.
    pub fn offer(&mut self, group: &str, stream: &str, timestamp: i64, ingestion: i64, msg: &str) {
        for session in self.sessions.values_mut() {
            let wanted = session.groups.iter().any(|g| g == group)
                && session
                    .streams
                    .as_ref()
                    .is_none_or(|names| names.iter().any(|n| n == stream))
                && session
                    .prefixes
                    .as_ref()
                    .is_none_or(|ps| ps.iter().any(|p| stream.starts_with(p.as_str())))
                && session.pattern.matches(msg);
            if !wanted {
                continue;
            }
            session.matched += 1;
            session.pending.push_back(json!({
                "logStreamName": stream,
                "logGroupIdentifier": group_arn(group),
                "message": msg,
                "timestamp": timestamp,
                "ingestionTime": ingestion,
            }));
            if session.pending.len() > MAX_PENDING {
                session.pending.pop_front();
            }
        }
    }

    /// The next `sessionUpdate` payload of `session_id`, or `None` when it is gone.
    fn update(&mut self, session_id: &str) -> Option<Value> {
        let session = self.sessions.get_mut(session_id)?;
        let pending: Vec<Value> = session.pending.drain(..).collect();
        let mut sampled = std::mem::take(&mut session.matched) > MAX_RESULTS;
        let mut results: Vec<Value> = if pending.len() > MAX_RESULTS {
            // Evenly spread over the second, oldest first.
            let n = pending.len();
            (0..MAX_RESULTS)
                .map(|i| pending[i * n / MAX_RESULTS].clone())
                .collect()
        } else {
            pending
        };
        // An event-stream frame holds 16 MB at most: 500 long lines are sampled further.
        let mut bytes = 0;
        let whole = results.len();
        results.retain(|e| {
            bytes += e["message"].as_str().map_or(0, str::len);
            bytes <= MAX_UPDATE_BYTES
        });
        sampled |= results.len() < whole;
        Some(json!({
            "sessionMetadata": { "sampled": sampled },
            "sessionResults": results,
        }))
    }

    fn end(&mut self, session_id: &str) {
        self.sessions.remove(session_id);
    }

    /// Sessions open now.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }
}

// The API's own member names.
#[allow(clippy::struct_field_names)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartLiveTailRequest {
    log_group_identifiers: Option<Vec<String>>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefixes: Option<Vec<String>>,
    log_event_filter_pattern: Option<String>,
}

impl LogStore {
    /// Validates a `StartLiveTail` request as AWS does and opens its session; the answer is the
    /// `sessionStart` payload, which [`respond`] streams.
    pub(super) fn start_live_tail(&mut self, body: &[u8], now_ms: i64) -> Result<Value, AwsError> {
        let req: StartLiveTailRequest = parse_body(body)?;
        let identifiers = req.log_group_identifiers.unwrap_or_default();
        if identifiers.is_empty() || identifiers.len() > 10 {
            return Err(AwsError::invalid_parameter(
                "1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy \
                 constraint: Member must have length between 1 and 10",
            ));
        }
        let mut groups = Vec::new();
        for id in &identifiers {
            if id.ends_with('*') {
                return Err(AwsError::invalid_parameter(format!(
                    "Log group identifier {id} must not end with an asterisk (*)"
                )));
            }
            let name = match id.strip_prefix("arn:") {
                Some(_) => arn_group(id).ok_or_else(|| {
                    AwsError::invalid_parameter(format!("Invalid log group ARN: {id}"))
                })?,
                None => id.clone(),
            };
            if !self.groups.contains_key(&name) {
                return Err(AwsError::client(
                    "ResourceNotFoundException",
                    format!("The specified log group does not exist: {id}"),
                ));
            }
            groups.push(name);
        }
        if req.log_stream_names.is_some() && req.log_stream_name_prefixes.is_some() {
            return Err(AwsError::invalid_parameter(
                "logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.",
            ));
        }
        for (list, field) in [
            (&req.log_stream_names, "logStreamNames"),
            (&req.log_stream_name_prefixes, "logStreamNamePrefixes"),
        ] {
            if let Some(list) = list {
                if list.is_empty() || list.len() > 100 {
                    return Err(AwsError::invalid_parameter(format!(
                        "1 validation error detected: Value at '{field}' failed to satisfy \
                         constraint: Member must have length between 1 and 100"
                    )));
                }
                if groups.len() != 1 {
                    return Err(AwsError::invalid_parameter(format!(
                        "{field} can only be used with exactly one log group identifier."
                    )));
                }
            }
        }
        let filter = req.log_event_filter_pattern.unwrap_or_default();
        if filter.len() > 1024 {
            return Err(AwsError::invalid_parameter(
                "logEventFilterPattern must be at most 1024 characters",
            ));
        }
        let pattern = FilterPattern::parse(&filter)
            .map_err(|e| AwsError::invalid_parameter(e.to_string()))?;
        if self.live.sessions.len() >= MAX_SESSIONS {
            return Err(AwsError::client(
                "LimitExceededException",
                "You have reached the maximum number of resources that can be created.",
            ));
        }
        self.live.started += 1;
        let session_id = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            now_ms as u32,
            self.live.started & 0xffff,
            self.last_seq & 0xfff,
            (now_ms >> 32) & 0xfff,
            self.live.started
        );
        let mut start = json!({
            "requestId": format!("{:032x}", u128::from(self.live.started) << 64 | u128::from(now_ms as u64)),
            "sessionId": session_id,
            "logGroupIdentifiers": identifiers,
            "logEventFilterPattern": filter,
        });
        if let Some(names) = &req.log_stream_names {
            start["logStreamNames"] = json!(names);
        }
        if let Some(prefixes) = &req.log_stream_name_prefixes {
            start["logStreamNamePrefixes"] = json!(prefixes);
        }
        self.live.sessions.insert(
            session_id,
            Session {
                groups,
                streams: req.log_stream_names,
                prefixes: req.log_stream_name_prefixes,
                pattern,
                pending: VecDeque::new(),
                matched: 0,
            },
        );
        Ok(start)
    }
}

/// The log group name in `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`.
fn arn_group(arn: &str) -> Option<String> {
    let rest = arn.strip_prefix(&format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"))?;
    Some(rest.to_owned()).filter(|n| !n.is_empty())
}

/// The streaming answer to a validated `StartLiveTail` whose `sessionStart` payload is
/// `start`: frames from a task that lives as long as the client reads, the session limit, or
/// the simulator (whichever ends first).
pub fn respond(shared: Arc<Shared>, start: Value) -> Response {
    let session_id = start["sessionId"].as_str().unwrap_or_default().to_owned();
    let request_id = start["requestId"].as_str().unwrap_or_default().to_owned();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(stream_session(shared, session_id, start, tx));
    let mut response = (StatusCode::OK, Body::from_stream(Frames(rx))).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HttpHeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if let Ok(id) = HttpHeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

async fn stream_session(
    shared: Arc<Shared>,
    session_id: String,
    start: Value,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut stopped = shared.stopped.clone();
    let limit = tokio::time::sleep(shared.clock.secs(SESSION_LIMIT_SECS));
    tokio::pin!(limit);
    let mut tick = tokio::time::interval(UPDATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut next = Some(event_frame("sessionStart", &start));
    while let Some(frame) = next.take() {
        let sent = tokio::select! {
            sent = tx.send(Ok(frame)) => sent.is_ok(),
            () = stopping(&mut stopped) => false,
        };
        if !sent {
            break;
        }
        next = tokio::select! {
            _ = tick.tick() => shared
                .lock_world()
                .logs
                .live
                .update(&session_id)
                .map(|update| event_frame("sessionUpdate", &update)),
            () = &mut limit => {
                let _ = tx.send(Ok(exception_frame(
                    "SessionTimeoutException",
                    "The Live Tail session ended after reaching its maximum duration of 3 hours.",
                ))).await;
                None
            }
            () = stopping(&mut stopped) => None,
        };
    }
    shared.lock_world().logs.live.end(&session_id);
}

/// Returns when the simulator stops.
async fn stopping(stopped: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await.is_ok();
}

/// One `:message-type event` frame with a JSON payload.
fn event_frame(event_type: &'static str, payload: &Value) -> Bytes {
    frame(
        vec![
            Header::new(":message-type", HeaderValue::String("event".into())),
            Header::new(":event-type", HeaderValue::String(event_type.into())),
            Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ),
        ],
        payload,
    )
}

/// One `:message-type exception` frame, as AWS ends a session.
fn exception_frame(exception_type: &'static str, message: &str) -> Bytes {
    frame(
        vec![
            Header::new(":message-type", HeaderValue::String("exception".into())),
            Header::new(
                ":exception-type",
                HeaderValue::String(exception_type.into()),
            ),
            Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ),
        ],
        &json!({ "message": message }),
    )
}

fn frame(headers: Vec<Header>, payload: &Value) -> Bytes {
    let message = Message::new_from_parts(headers, payload.to_string().into_bytes());
    let mut buffer = Vec::new();
    // Writing to a Vec fails only for a frame over the format's 16 MB limit; an update holds
    // at most 500 events of 256 KB, so that cannot happen, and an empty frame would be refused
    // by the client's decoder rather than passed off as data.
    if aws_smithy_eventstream::frame::write_message_to(&message, &mut buffer).is_err() {
        buffer.clear();
    }
    Bytes::from(buffer)
}

/// The frames as the response body's stream.
struct Frames(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Frames {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::LogStore;
    use super::{MAX_PENDING, MAX_RESULTS, MAX_SESSIONS};

    const GROUP: &str = "/ecs/nerava-backend";

    fn open(store: &mut LogStore, body: &serde_json::Value) -> String {
        let start = store
            .handle("StartLiveTail", body.to_string().as_bytes(), 1_000)
            .expect("session opens");
        start["sessionId"].as_str().expect("session id").to_owned()
    }

    /// A client that stops reading costs bounded memory: a session holds at most
    /// [`MAX_PENDING`] lines, and its next update is a sample of 500 that says so.
    #[test]
    fn a_session_holds_a_bounded_backlog_and_samples_it() {
        let mut store = LogStore::new();
        store.create_group(GROUP, 0);
        let id = open(&mut store, &json!({ "logGroupIdentifiers": [GROUP] }));
        for i in 0..50_000 {
            store.put(GROUP, "s", 2_000 + i, &format!("line {i}"));
        }
        let held = store.live.sessions[&id].pending.len();
        assert_eq!(held, MAX_PENDING);
        let update = store.live.update(&id).expect("update");
        assert_eq!(update["sessionMetadata"]["sampled"], true);
        let results = update["sessionResults"].as_array().expect("results");
        assert_eq!(results.len(), MAX_RESULTS);
        // The newest lines are kept, oldest first.
        assert_eq!(results.last().expect("one")["message"], "line 49980");
        let next = store.live.update(&id).expect("update");
        assert_eq!(next["sessionMetadata"]["sampled"], false);
        assert_eq!(next["sessionResults"], json!([]));
    }

    /// Only the session's groups, streams (by name or prefix) and pattern reach it.
    #[test]
    fn a_session_gets_only_what_it_asked_for() {
        let mut store = LogStore::new();
        store.create_group(GROUP, 0);
        store.create_group("/other", 0);
        let by_prefix = open(
            &mut store,
            &json!({
                "logGroupIdentifiers": [format!("arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}")],
                "logStreamNamePrefixes": ["ecs/"],
                "logEventFilterPattern": "OTP",
            }),
        );
        store.put(GROUP, "ecs/a", 2_000, "[OTP] yes");
        store.put(GROUP, "ecs/a", 2_001, "no");
        store.put(GROUP, "other/a", 2_002, "[OTP] wrong stream");
        store.put("/other", "ecs/a", 2_003, "[OTP] wrong group");
        let update = store.live.update(&by_prefix).expect("update");
        let messages: Vec<&str> = update["sessionResults"]
            .as_array()
            .expect("results")
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect();
        assert_eq!(messages, ["[OTP] yes"]);
        store.live.end(&by_prefix);
        assert_eq!(store.live.sessions(), 0);
        store.put(GROUP, "ecs/a", 2_004, "[OTP] nobody listens");
        assert!(store.live.update(&by_prefix).is_none());
    }

    /// One session more than the quota is refused as AWS refuses it, and accepted again once
    /// another session ends.
    #[test]
    fn sessions_past_the_quota_are_refused_until_one_ends() {
        let mut store = LogStore::new();
        store.create_group(GROUP, 0);
        let body = json!({ "logGroupIdentifiers": [GROUP] });
        let ids: Vec<String> = (0..MAX_SESSIONS).map(|_| open(&mut store, &body)).collect();
        let refused = store
            .handle("StartLiveTail", body.to_string().as_bytes(), 1_000)
            .expect_err("over the quota");
        assert_eq!(refused.kind, "LimitExceededException");
        store.live.end(&ids[0]);
        open(&mut store, &body);
        assert_eq!(store.live.sessions(), MAX_SESSIONS);
    }
}
