//! Simulated CloudWatch Logs: log groups, streams and events behind the `Logs_20140328.*`
//! operations of the AWS JSON 1.1 endpoint ([`super::aws`] dispatches here by `X-Amz-Target`).
//! The simulated backend writes its lines with [`LogStore::put`]; the console's probes (and the
//! aws CLI) read them back with `FilterLogEvents`, `GetLogEvents` and `DescribeLogStreams`,
//! answered with the request and response shapes, defaults, limits and errors of the CloudWatch
//! Logs API reference. Paging tokens hold a position (the last event's timestamp and id), never
//! an offset, so lines appended between pages are neither repeated nor skipped.

/// Live Tail (`StartLiveTail`): the event-stream answer and the feed of new events.
pub mod live_tail;
/// Filter-pattern parsing and matching (`FilterLogEvents`' `filterPattern`).
pub mod pattern;

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use self::pattern::FilterPattern;
use super::aws::{parse_body, AwsError};

/// The region and account in every ARN the simulator hands out.
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// Events a single `FilterLogEvents` or `GetLogEvents` page returns at most (and by default).
const MAX_EVENTS: i64 = 10_000;
/// Streams or groups a `Describe*` page returns at most (and by default).
const MAX_DESCRIBED: i64 = 50;
/// `PutLogEvents` rejects events more than 2 hours ahead of now...
const TOO_NEW_MS: i64 = 2 * 60 * 60 * 1000;
/// ...or more than 14 days behind it.
const TOO_OLD_MS: i64 = 14 * 24 * 60 * 60 * 1000;
/// A `PutLogEvents` batch may span at most 24 hours.
const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// An event's place in the (timestamp, eventId) order; the sequence number is the eventId.
type Position = (i64, u64);

/// The simulated log groups, streams and events: plain data, behind the simulator's own lock.
#[derive(Debug, Default)]
pub struct LogStore {
    groups: BTreeMap<String, LogGroup>,
    /// The last event sequence number handed out; eventIds are this counter, zero-padded.
    last_seq: u64,
    /// Live Tail sessions and the events they have not been sent yet.
    pub live: live_tail::Feed,
    /// The region the groups are in, when the scenario says (`[deployment] log_region`):
    /// calls signed for another region find none.
    pub region: Option<String>,
}

#[derive(Debug)]
struct LogGroup {
    creation_time: i64,
    streams: BTreeMap<String, LogStream>,
}

#[derive(Debug)]
struct LogStream {
    creation_time: i64,
    /// Sorted by (timestamp, sequence number).
    events: Vec<LogEvent>,
    last_ingestion_time: Option<i64>,
    upload_sequence: u64,
}

#[derive(Debug)]
struct LogEvent {
    timestamp: i64,
    seq: u64,
    ingestion_time: i64,
    message: String,
}

impl LogEvent {
    fn position(&self) -> Position {
        (self.timestamp, self.seq)
    }

    /// A 56-digit numeric id, like AWS's, stable for the event's life.
    fn event_id(&self) -> String {
        format!("{:056}", self.seq)
    }
}

impl LogStream {
    fn new(creation_time: i64) -> Self {
        Self {
            creation_time,
            events: Vec::new(),
            last_ingestion_time: None,
            upload_sequence: 1,
        }
    }

    fn first_event_timestamp(&self) -> Option<i64> {
        self.events.first().map(|e| e.timestamp)
    }

    fn last_event_timestamp(&self) -> Option<i64> {
        self.events.last().map(|e| e.timestamp)
    }

    fn insert(&mut self, event: LogEvent) {
        self.last_ingestion_time = Some(
            self.last_ingestion_time
                .map_or(event.ingestion_time, |t| t.max(event.ingestion_time)),
        );
        // Nearly always an append: the new sequence number is the largest yet.
        let at = self
            .events
            .partition_point(|e| e.position() < event.position());
        self.events.insert(at, event);
    }
}

impl LogStore {
    /// An empty store, with no log groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a log group if it does not exist yet (the scenario's setup, not an API call).
    pub fn create_group(&mut self, name: &str, now_ms: i64) {
        self.groups.entry(name.to_owned()).or_insert(LogGroup {
            creation_time: now_ms,
            streams: BTreeMap::new(),
        });
    }

    /// Appends one line as the simulated backend writes it, creating its group and stream
    /// if needed; the ingestion time is the timestamp, and the event gets a fresh eventId.
    pub fn put(&mut self, group: &str, stream: &str, timestamp_ms: i64, message: &str) {
        self.create_group(group, timestamp_ms);
        self.last_seq += 1;
        let event = LogEvent {
            timestamp: timestamp_ms,
            seq: self.last_seq,
            ingestion_time: timestamp_ms,
            message: message.to_owned(),
        };
        self.live
            .offer(group, stream, timestamp_ms, timestamp_ms, message);
        if let Some(group) = self.groups.get_mut(group) {
            group
                .streams
                .entry(stream.to_owned())
                .or_insert_with(|| LogStream::new(timestamp_ms))
                .insert(event);
        }
    }

    /// Answers one `Logs_20140328.<operation>` call signed for `region`: log groups are
    /// regional, so with the store's region set (the scenario's `log_region`) a call signed
    /// for another one finds no group, as AWS answers it.
    pub fn handle_in(
        &mut self,
        region: Option<&str>,
        operation: &str,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Value, AwsError> {
        match (&self.region, region) {
            (Some(home), Some(asked)) if home != asked => match operation {
                "DescribeLogGroups" => Ok(serde_json::json!({ "logGroups": [] })),
                // The simulator holds one region's logs: nothing is written elsewhere either.
                _ => Err(group_not_found()),
            },
            _ => self.handle(operation, body, now_ms),
        }
    }

    /// Answers one `Logs_20140328.<operation>` call with its JSON response body.
    pub fn handle(&mut self, operation: &str, body: &[u8], now_ms: i64) -> Result<Value, AwsError> {
        match operation {
            "FilterLogEvents" => self.filter_log_events(parse_body(body)?),
            "DescribeLogStreams" => self.describe_log_streams(parse_body(body)?),
            "DescribeLogGroups" => self.describe_log_groups(parse_body(body)?),
            "GetLogEvents" => self.get_log_events(parse_body(body)?),
            "CreateLogGroup" => self.create_log_group(parse_body(body)?, now_ms),
            "CreateLogStream" => self.create_log_stream(parse_body(body)?, now_ms),
            "PutLogEvents" => self.put_log_events(parse_body(body)?, now_ms),
            "StartLiveTail" => self.start_live_tail(body, now_ms),
            _ => Err(AwsError::client(
                "UnknownOperationException",
                format!("Unknown operation: {operation}"),
            )),
        }
    }

    fn group(&self, name: &str) -> Result<&LogGroup, AwsError> {
        self.groups.get(name).ok_or_else(group_not_found)
    }

    fn filter_log_events(&self, req: FilterLogEventsRequest) -> Result<Value, AwsError> {
        let group_name = group_name(req.log_group_name, req.log_group_identifier)?;
        if req.log_stream_names.is_some() && req.log_stream_name_prefix.is_some() {
            return Err(AwsError::invalid_parameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
            ));
        }
        if let Some(names) = &req.log_stream_names {
            if names.is_empty() || names.len() > 100 {
                return Err(AwsError::invalid_parameter(format!(
                    "1 validation error detected: Value '{names:?}' at 'logStreamNames' failed \
                     to satisfy constraint: Member must have length between 1 and 100"
                )));
            }
        }
        let limit = page_limit(req.limit, MAX_EVENTS)?;
        let start = non_negative(req.start_time, "startTime")?.unwrap_or(i64::MIN);
        let end = non_negative(req.end_time, "endTime")?.unwrap_or(i64::MAX);
        let pattern = FilterPattern::parse(req.filter_pattern.as_deref().unwrap_or(""))
            .map_err(|e| AwsError::invalid_parameter(e.to_string()))?;
        let from = match &req.next_token {
            Some(token) => decode_filter_token(token)?,
            None => (i64::MIN, 0),
        };
        let group = self.group(&group_name)?;

        let streams: Vec<(&str, &LogStream)> = group
            .streams
            .iter()
            .filter(
                |(name, _)| match (&req.log_stream_names, &req.log_stream_name_prefix) {
                    (Some(names), _) => names.iter().any(|n| n == *name),
                    (None, Some(prefix)) => name.starts_with(prefix.as_str()),
                    (None, None) => true,
                },
            )
            .map(|(name, stream)| (name.as_str(), stream))
            .collect();
        let mut hits: Vec<(&str, &LogEvent)> = streams
            .iter()
            .flat_map(|&(name, stream)| {
                // Both ends inclusive: FilterLogEvents drops events before startTime and
                // after endTime.
                let first = stream.events.partition_point(|e| e.position() < from);
                stream.events[first..]
                    .iter()
                    .filter(|e| e.timestamp >= start && e.timestamp <= end)
                    .filter(|e| pattern.matches(&e.message))
                    .map(move |e| (name, e))
            })
            .collect();
        hits.sort_by_key(|(_, e)| e.position());
        let rest = if hits.len() > limit {
            hits.split_off(limit)
        } else {
            Vec::new()
        };

        let events: Vec<Value> = hits
            .iter()
            .map(|(stream, e)| {
                json!({
                    "logStreamName": stream,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": e.event_id(),
                })
            })
            .collect();
        let searched: Vec<Value> = streams
            .iter()
            .map(|(name, _)| {
                json!({
                    "logStreamName": name,
                    "searchedCompletely": !rest.iter().any(|(s, _)| s == name),
                })
            })
            .collect();
        let mut response = Map::new();
        response.insert("events".into(), Value::Array(events));
        response.insert("searchedLogStreams".into(), Value::Array(searched));
        if let (false, Some((_, last))) = (rest.is_empty(), hits.last()) {
            response.insert(
                "nextToken".into(),
                Value::String(encode_filter_token(after(last.position()))),
            );
        }
        Ok(Value::Object(response))
    }

    fn describe_log_streams(&self, req: DescribeLogStreamsRequest) -> Result<Value, AwsError> {
        let group_name = group_name(req.log_group_name, req.log_group_identifier)?;
        let by_last_event = match req.order_by.as_deref() {
            None | Some("LogStreamName") => false,
            Some("LastEventTime") => true,
            Some(other) => {
                return Err(AwsError::invalid_parameter(format!(
                    "1 validation error detected: Value '{other}' at 'orderBy' failed to \
                     satisfy constraint: Member must satisfy enum value set: \
                     [LogStreamName, LastEventTime]"
                )))
            }
        };
        if by_last_event && req.log_stream_name_prefix.is_some() {
            return Err(AwsError::invalid_parameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let limit = page_limit(req.limit, MAX_DESCRIBED)?;
        let descending = req.descending.unwrap_or(false);
        let after_key = req
            .next_token
            .as_deref()
            .map(decode_name_token)
            .transpose()?;
        let group = self.group(&group_name)?;

        let sort_key = |name: &str, stream: &LogStream| -> (i64, String) {
            let time = if by_last_event {
                stream.last_event_timestamp().unwrap_or(i64::MIN)
            } else {
                0
            };
            (time, name.to_owned())
        };
        let prefix = req.log_stream_name_prefix.unwrap_or_default();
        let mut streams: Vec<((i64, String), &LogStream)> = group
            .streams
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, stream)| (sort_key(name, stream), stream))
            .collect();
        streams.sort_by(|a, b| a.0.cmp(&b.0));
        if descending {
            streams.reverse();
        }
        if let Some(key) = &after_key {
            streams.retain(|(k, _)| if descending { k < key } else { k > key });
        }
        let has_more = streams.len() > limit;
        streams.truncate(limit);

        let described: Vec<Value> = streams
            .iter()
            .map(|((_, name), stream)| {
                let mut s = Map::new();
                s.insert("logStreamName".into(), json!(name));
                s.insert("creationTime".into(), json!(stream.creation_time));
                if let Some(first) = stream.first_event_timestamp() {
                    s.insert("firstEventTimestamp".into(), json!(first));
                }
                if let Some(last) = stream.last_event_timestamp() {
                    s.insert("lastEventTimestamp".into(), json!(last));
                }
                if let Some(ingested) = stream.last_ingestion_time {
                    s.insert("lastIngestionTime".into(), json!(ingested));
                }
                s.insert(
                    "uploadSequenceToken".into(),
                    json!(sequence_token(stream.upload_sequence)),
                );
                s.insert("arn".into(), json!(stream_arn(&group_name, name)));
                // Documented as always zero for streams since 2019.
                s.insert("storedBytes".into(), json!(0));
                Value::Object(s)
            })
            .collect();
        let mut response = Map::new();
        response.insert("logStreams".into(), Value::Array(described));
        if let (true, Some((key, _))) = (has_more, streams.last()) {
            response.insert("nextToken".into(), json!(encode_name_token(key)));
        }
        Ok(Value::Object(response))
    }

    fn describe_log_groups(&self, req: DescribeLogGroupsRequest) -> Result<Value, AwsError> {
        if req.log_group_name_prefix.is_some() && req.log_group_name_pattern.is_some() {
            return Err(AwsError::invalid_parameter(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            ));
        }
        let limit = page_limit(req.limit, MAX_DESCRIBED)?;
        let after_key = req
            .next_token
            .as_deref()
            .map(decode_name_token)
            .transpose()?;
        let pattern = req.log_group_name_pattern.map(|p| p.to_lowercase());
        let mut groups: Vec<(&String, &LogGroup)> = self
            .groups
            .iter()
            .filter(|(name, _)| {
                req.log_group_name_prefix
                    .as_deref()
                    .is_none_or(|p| name.starts_with(p))
                    && pattern
                        .as_deref()
                        .is_none_or(|p| name.to_lowercase().contains(p))
            })
            .filter(|(name, _)| after_key.as_ref().is_none_or(|(_, k)| *name > k))
            .collect();
        let has_more = groups.len() > limit;
        groups.truncate(limit);

        let described: Vec<Value> = groups
            .iter()
            .map(|(name, group)| {
                let stored: usize = group
                    .streams
                    .values()
                    .flat_map(|s| &s.events)
                    .map(|e| e.message.len())
                    .sum();
                json!({
                    "logGroupName": name,
                    "creationTime": group.creation_time,
                    "metricFilterCount": 0,
                    "arn": format!("{}:*", group_arn(name)),
                    "storedBytes": stored,
                    "logGroupClass": "STANDARD",
                    "logGroupArn": group_arn(name),
                })
            })
            .collect();
        let mut response = Map::new();
        response.insert("logGroups".into(), Value::Array(described));
        if let (true, Some((name, _))) = (has_more, groups.last()) {
            response.insert(
                "nextToken".into(),
                json!(encode_name_token(&(0, (*name).clone()))),
            );
        }
        Ok(Value::Object(response))
    }

    fn get_log_events(&self, req: GetLogEventsRequest) -> Result<Value, AwsError> {
        let group_name = group_name(req.log_group_name, req.log_group_identifier)?;
        let stream_name = required(req.log_stream_name, "logStreamName")?;
        let limit = page_limit(req.limit, MAX_EVENTS)?;
        let start = non_negative(req.start_time, "startTime")?.unwrap_or(i64::MIN);
        let end = non_negative(req.end_time, "endTime")?.unwrap_or(i64::MAX);
        let token = req
            .next_token
            .as_deref()
            .map(decode_get_token)
            .transpose()?;
        let stream = self
            .group(&group_name)?
            .streams
            .get(&stream_name)
            .ok_or_else(stream_not_found)?;

        // GetLogEvents' endTime is exclusive, unlike FilterLogEvents'.
        let in_range = |e: &&LogEvent| e.timestamp >= start && e.timestamp < end;
        // Without a token, startFromHead (default false) reads forward from the first event
        // or backward from the last.
        let (forward, boundary) = token.unwrap_or(if req.start_from_head.unwrap_or(false) {
            (true, (i64::MIN, 0))
        } else {
            (false, (i64::MAX, u64::MAX))
        });
        let split = stream.events.partition_point(|e| e.position() < boundary);
        let page: Vec<&LogEvent> = if forward {
            stream.events[split..]
                .iter()
                .filter(in_range)
                .take(limit)
                .collect()
        } else {
            let mut page: Vec<&LogEvent> = stream.events[..split]
                .iter()
                .rev()
                .filter(in_range)
                .take(limit)
                .collect();
            page.reverse();
            page
        };
        // At either end the token handed back equals the one sent, which is how the aws CLI
        // and the SDK paginators know to stop.
        let (next_forward, next_backward) = match (page.first(), page.last()) {
            (Some(first), Some(last)) => (after(last.position()), first.position()),
            _ => (boundary, boundary),
        };
        let events: Vec<Value> = page
            .iter()
            .map(|e| {
                json!({
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                })
            })
            .collect();
        Ok(json!({
            "events": events,
            "nextForwardToken": encode_get_token(true, next_forward),
            "nextBackwardToken": encode_get_token(false, next_backward),
        }))
    }

    fn create_log_group(
        &mut self,
        req: CreateLogGroupRequest,
        now_ms: i64,
    ) -> Result<Value, AwsError> {
        let name = required(req.log_group_name, "logGroupName")?;
        valid_name(&name, "logGroupName", |c| {
            c.is_ascii_alphanumeric() || "._-/#".contains(c)
        })?;
        if self.groups.contains_key(&name) {
            return Err(AwsError::client(
                "ResourceAlreadyExistsException",
                "The specified log group already exists",
            ));
        }
        self.create_group(&name, now_ms);
        Ok(json!({}))
    }

    fn create_log_stream(
        &mut self,
        req: CreateLogStreamRequest,
        now_ms: i64,
    ) -> Result<Value, AwsError> {
        let group_name = required(req.log_group_name, "logGroupName")?;
        let stream_name = required(req.log_stream_name, "logStreamName")?;
        valid_name(&stream_name, "logStreamName", |c| c != ':' && c != '*')?;
        let group = self
            .groups
            .get_mut(&group_name)
            .ok_or_else(group_not_found)?;
        if group.streams.contains_key(&stream_name) {
            return Err(AwsError::client(
                "ResourceAlreadyExistsException",
                "The specified log stream already exists",
            ));
        }
        group.streams.insert(stream_name, LogStream::new(now_ms));
        Ok(json!({}))
    }

    fn put_log_events(&mut self, req: PutLogEventsRequest, now_ms: i64) -> Result<Value, AwsError> {
        let group_name = required(req.log_group_name, "logGroupName")?;
        let stream_name = required(req.log_stream_name, "logStreamName")?;
        let batch = required(req.log_events, "logEvents")?;
        if batch.is_empty() || batch.len() > 10_000 {
            return Err(AwsError::invalid_parameter(
                "1 validation error detected: Value at 'logEvents' failed to satisfy \
                 constraint: Member must have length between 1 and 10000",
            ));
        }
        let mut accepted = Vec::with_capacity(batch.len());
        for event in batch {
            accepted.push((
                required(event.timestamp, "logEvents.member.timestamp")?,
                required(event.message, "logEvents.member.message")?,
            ));
        }
        let timestamps: Vec<i64> = accepted.iter().map(|(t, _)| *t).collect();
        if timestamps.windows(2).any(|w| w[1] < w[0]) {
            return Err(AwsError::invalid_parameter(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        if let (Some(first), Some(last)) = (timestamps.first(), timestamps.last()) {
            if last - first > MAX_BATCH_SPAN_MS {
                return Err(AwsError::invalid_parameter(
                    "The batch of log events in a single PutLogEvents request cannot span more \
                     than 24 hours.",
                ));
            }
        }
        let stream = self
            .groups
            .get_mut(&group_name)
            .ok_or_else(group_not_found)?
            .streams
            .get_mut(&stream_name)
            .ok_or_else(stream_not_found)?;

        // The batch is chronological, so rejected events form a prefix (too old) and a suffix
        // (too new); AWS reports them by index and accepts the rest.
        let too_old_end = timestamps.partition_point(|&t| t < now_ms - TOO_OLD_MS);
        let too_new_start = timestamps.partition_point(|&t| t <= now_ms + TOO_NEW_MS);
        for (timestamp, message) in accepted.into_iter().take(too_new_start).skip(too_old_end) {
            self.live
                .offer(&group_name, &stream_name, timestamp, now_ms, &message);
            self.last_seq += 1;
            stream.insert(LogEvent {
                timestamp,
                seq: self.last_seq,
                ingestion_time: now_ms,
                message,
            });
        }
        stream.upload_sequence += 1;

        let mut response = Map::new();
        response.insert(
            "nextSequenceToken".into(),
            json!(sequence_token(stream.upload_sequence)),
        );
        let mut rejected = Map::new();
        if too_old_end > 0 {
            rejected.insert("tooOldLogEventEndIndex".into(), json!(too_old_end - 1));
        }
        if too_new_start < timestamps.len() {
            rejected.insert("tooNewLogEventStartIndex".into(), json!(too_new_start));
        }
        if !rejected.is_empty() {
            response.insert("rejectedLogEventsInfo".into(), Value::Object(rejected));
        }
        Ok(Value::Object(response))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogStreamsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogGroupsRequest {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateLogGroupRequest {
    log_group_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateLogStreamRequest {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)] // the API's own member names
struct PutLogEventsRequest {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    log_events: Option<Vec<InputLogEvent>>,
}

#[derive(Deserialize)]
struct InputLogEvent {
    timestamp: Option<i64>,
    message: Option<String>,
}

fn group_not_found() -> AwsError {
    AwsError::client(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

fn stream_not_found() -> AwsError {
    AwsError::client(
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
}

/// AWS's wording for a missing required member.
fn required<T>(value: Option<T>, field: &str) -> Result<T, AwsError> {
    value.ok_or_else(|| {
        AwsError::invalid_parameter(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy \
             constraint: Member must not be null"
        ))
    })
}

/// The log group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN), one only.
fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String, AwsError> {
    match (name, identifier) {
        (Some(name), None) => Ok(name),
        (None, Some(identifier)) => Ok(identifier
            .split_once(":log-group:")
            .map_or(identifier.as_str(), |(_, rest)| {
                rest.strip_suffix(":*").unwrap_or(rest)
            })
            .to_owned()),
        (Some(_), Some(_)) => Err(AwsError::invalid_parameter(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (None, None) => Err(AwsError::invalid_parameter(
            "Should provide either name or ARN of the log group.",
        )),
    }
}

/// A page size: `max` when absent, else it must lie in 1..=max.
fn page_limit(limit: Option<i64>, max: i64) -> Result<usize, AwsError> {
    match limit {
        None => Ok(max as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(AwsError::invalid_parameter(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy \
             constraint: Member must have value between 1 and {max}"
        ))),
    }
}

fn non_negative(value: Option<i64>, field: &str) -> Result<Option<i64>, AwsError> {
    match value {
        Some(v) if v < 0 => Err(AwsError::invalid_parameter(format!(
            "1 validation error detected: Value '{v}' at '{field}' failed to satisfy \
             constraint: Member must have value greater than or equal to 0"
        ))),
        _ => Ok(value),
    }
}

/// Names are 1–512 characters, each allowed by `allowed`.
fn valid_name(name: &str, field: &str, allowed: impl Fn(char) -> bool) -> Result<(), AwsError> {
    let length = name.chars().count();
    if (1..=512).contains(&length) && name.chars().all(allowed) {
        Ok(())
    } else {
        Err(AwsError::invalid_parameter(format!(
            "1 validation error detected: Value '{name}' at '{field}' failed to satisfy \
             constraint: Member must have length between 1 and 512 and use only allowed \
             characters"
        )))
    }
}

/// The position just after `p`: every later event sorts at or after it, since ids are unique.
fn after(p: Position) -> Position {
    (p.0, p.1.saturating_add(1))
}

fn group_arn(group: &str) -> String {
    format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}")
}

fn stream_arn(group: &str, stream: &str) -> String {
    format!("{}:log-stream:{stream}", group_arn(group))
}

fn sequence_token(n: u64) -> String {
    format!("{n:056}")
}

fn invalid_token() -> AwsError {
    AwsError::invalid_parameter("The specified nextToken is invalid.")
}

fn encode_opaque(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode_opaque(token: &str) -> Result<String, AwsError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid_token)
}

/// A `FilterLogEvents` token: the first position the next page may return, base64-wrapped.
fn encode_filter_token(from: Position) -> String {
    encode_opaque(&format!("filter/{}/{}", from.0, from.1))
}

fn decode_filter_token(token: &str) -> Result<Position, AwsError> {
    let text = decode_opaque(token)?;
    text.strip_prefix("filter/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(t, s)| Some((t.parse().ok()?, s.parse().ok()?)))
        .ok_or_else(invalid_token)
}

/// A `Describe*` token: the sort key (time, name) of the last entry returned.
fn encode_name_token(key: &(i64, String)) -> String {
    encode_opaque(&format!("after/{}/{}", key.0, key.1))
}

fn decode_name_token(token: &str) -> Result<(i64, String), AwsError> {
    let text = decode_opaque(token)?;
    text.strip_prefix("after/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(t, name)| Some((t.parse().ok()?, name.to_owned())))
        .ok_or_else(invalid_token)
}

/// A `GetLogEvents` token in AWS's `f/…` / `b/…` style: a boundary position, read forward
/// (events at or after it) or backward (events before it).
fn encode_get_token(forward: bool, boundary: Position) -> String {
    let direction = if forward { 'f' } else { 'b' };
    format!("{direction}/{}/{}", boundary.0, boundary.1)
}

fn decode_get_token(token: &str) -> Result<(bool, Position), AwsError> {
    let (forward, rest) = if let Some(rest) = token.strip_prefix("f/") {
        (true, rest)
    } else if let Some(rest) = token.strip_prefix("b/") {
        (false, rest)
    } else {
        return Err(invalid_token());
    };
    rest.split_once('/')
        .and_then(|(t, s)| Some((forward, (t.parse().ok()?, s.parse().ok()?))))
        .ok_or_else(invalid_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "/ecs/nerava-backend";
    const NOW: i64 = 1_769_100_000_000;

    fn call(store: &mut LogStore, operation: &str, body: &Value) -> Result<Value, AwsError> {
        store.handle(operation, body.to_string().as_bytes(), NOW)
    }

    fn ok(store: &mut LogStore, operation: &str, body: &Value) -> Value {
        call(store, operation, body).unwrap_or_else(|e| panic!("{operation}: {e:?}"))
    }

    fn kind(result: Result<Value, AwsError>) -> String {
        result.expect_err("should fail").kind
    }

    /// Three streams; every third line mentions OTP.
    fn seeded() -> LogStore {
        let mut store = LogStore::new();
        store.create_group(GROUP, NOW - 100_000);
        for i in 0..30_i64 {
            let stream = format!("ecs/api/task-{}", i % 3);
            let text = if i % 3 == 0 {
                format!("[OTP] line {i}")
            } else {
                format!("GET /health {i}")
            };
            // Pairs of lines share a timestamp, to exercise the eventId tie-break.
            store.put(GROUP, &stream, NOW - 60_000 + (i / 2) * 1000, &text);
        }
        store
    }

    fn messages(response: &Value) -> Vec<String> {
        response["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Pages through `FilterLogEvents`, running `between` after every page.
    fn filter_all(
        store: &mut LogStore,
        request: &Value,
        mut between: impl FnMut(&mut LogStore),
    ) -> Vec<Value> {
        let mut events = Vec::new();
        let mut request = request.clone();
        for _ in 0..100 {
            let page = ok(store, "FilterLogEvents", &request);
            events.extend(page["events"].as_array().cloned().unwrap_or_default());
            match page.get("nextToken") {
                Some(token) => request["nextToken"] = token.clone(),
                None => return events,
            }
            between(store);
        }
        panic!("paging did not end");
    }

    #[test]
    fn filter_returns_events_in_timestamp_then_id_order() {
        let mut store = seeded();
        let page = ok(
            &mut store,
            "FilterLogEvents",
            &json!({"logGroupName": GROUP}),
        );
        let events = page["events"].as_array().cloned().unwrap_or_default();
        assert_eq!(events.len(), 30);
        assert!(page.get("nextToken").is_none());
        let keys: Vec<(i64, String)> = events
            .iter()
            .map(|e| {
                (
                    e["timestamp"].as_i64().unwrap_or_default(),
                    e["eventId"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let first = &events[0];
        assert_eq!(first["logStreamName"], "ecs/api/task-0");
        assert_eq!(first["message"], "[OTP] line 0");
        assert_eq!(first["ingestionTime"], first["timestamp"]);
        let id = first["eventId"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 56);
        assert!(id.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(page["searchedLogStreams"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn filter_applies_pattern_streams_and_inclusive_times() {
        let mut store = seeded();
        let cases: &[(Value, usize)] = &[
            (json!({"filterPattern": "OTP"}), 10),
            (json!({"filterPattern": "?OTP ?health"}), 30),
            (json!({"filterPattern": "GET -health"}), 0),
            (json!({"filterPattern": "\" \""}), 30),
            (json!({"logStreamNames": ["ecs/api/task-1"]}), 10),
            (json!({"logStreamNames": ["ecs/api/task-1", "nope"]}), 10),
            (json!({"logStreamNamePrefix": "ecs/api/task-"}), 30),
            (json!({"logStreamNamePrefix": "other"}), 0),
            // Lines 0 and 1 are at NOW - 60 s, 28 and 29 at NOW - 46 s: both ends inclusive.
            (
                json!({"startTime": NOW - 60_000, "endTime": NOW - 60_000}),
                2,
            ),
            (json!({"startTime": NOW - 47_000}), 4),
            (json!({"endTime": NOW - 59_000}), 4),
            (json!({"logGroupIdentifier": group_arn(GROUP)}), 30),
            (
                json!({"logGroupIdentifier": format!("{}:*", group_arn(GROUP))}),
                30,
            ),
        ];
        for (extra, expected) in cases {
            let mut request = extra.clone();
            if request.get("logGroupIdentifier").is_none() {
                request["logGroupName"] = json!(GROUP);
            }
            let page = ok(&mut store, "FilterLogEvents", &request);
            assert_eq!(messages(&page).len(), *expected, "{extra}");
        }
    }

    #[test]
    fn filter_pages_by_position_even_while_lines_arrive() {
        let mut store = seeded();
        let request = json!({"logGroupName": GROUP, "filterPattern": "OTP", "limit": 3});
        let mut appended = 0;
        let events = filter_all(&mut store, &request, |store| {
            // A newer matching line arrives between every two pages.
            appended += 1;
            store.put(
                GROUP,
                "ecs/api/task-9",
                NOW + appended,
                &format!("[OTP] late {appended}"),
            );
        });
        let ids: Vec<&str> = events
            .iter()
            .filter_map(|e| e["eventId"].as_str())
            .collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "an event came back twice");
        let texts: Vec<&str> = events
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect();
        assert_eq!(texts.len(), 10 + appended as usize, "{texts:?}");
        assert!(texts.contains(&"[OTP] line 27"));
        assert_eq!(
            texts.last().copied(),
            Some(format!("[OTP] late {appended}").as_str())
        );
    }

    #[test]
    fn filter_next_token_only_when_more_match() {
        let mut store = seeded();
        let exact = json!({"logGroupName": GROUP, "filterPattern": "OTP", "limit": 10});
        assert!(ok(&mut store, "FilterLogEvents", &exact)
            .get("nextToken")
            .is_none());
        let short = json!({"logGroupName": GROUP, "filterPattern": "OTP", "limit": 9});
        let page = ok(&mut store, "FilterLogEvents", &short);
        assert!(page.get("nextToken").is_some());
        let incomplete: Vec<bool> = page["searchedLogStreams"]
            .as_array()
            .map(|s| s.iter().map(|s| s["searchedCompletely"] == true).collect())
            .unwrap_or_default();
        assert_eq!(incomplete, [false, true, true]);
    }

    #[test]
    fn filter_rejects_bad_requests() {
        let mut store = seeded();
        let cases: &[(&str, Value)] = &[
            ("InvalidParameterException", json!({})),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "logGroupIdentifier": GROUP}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "logStreamNames": ["a"], "logStreamNamePrefix": "a"}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "limit": 0}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "limit": 10_001}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "startTime": -1}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "nextToken": "zz"}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "nextToken": encode_opaque("after/0/x")}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "filterPattern": "\"OTP"}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "filterPattern": "{ $.level = \"ERROR\" }"}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "filterPattern": "[a, b]"}),
            ),
            (
                "ResourceNotFoundException",
                json!({"logGroupName": "/ecs/none"}),
            ),
            (
                "SerializationException",
                json!({"logGroupName": GROUP, "limit": "ten"}),
            ),
        ];
        for (expected, request) in cases {
            assert_eq!(
                kind(call(&mut store, "FilterLogEvents", request)),
                *expected,
                "{request}"
            );
        }
        let unsupported = call(
            &mut store,
            "FilterLogEvents",
            &json!({"logGroupName": GROUP, "filterPattern": "{ $.a = 1 }"}),
        );
        assert!(unsupported
            .expect_err("json")
            .message
            .starts_with("unsupported filter pattern"));
        let missing = call(
            &mut store,
            "FilterLogEvents",
            &json!({"logGroupName": "/x"}),
        );
        assert_eq!(
            missing.expect_err("missing").message,
            "The specified log group does not exist."
        );
    }

    #[test]
    fn malformed_json_and_unknown_operations() {
        let mut store = seeded();
        let bad = store.handle("FilterLogEvents", b"{not json", NOW);
        assert_eq!(kind(bad), "SerializationException");
        let empty = store.handle("DescribeLogGroups", b"", NOW);
        assert!(empty.is_ok());
        let unknown = store.handle("StartQuery", b"{}", NOW);
        assert_eq!(kind(unknown), "UnknownOperationException");
        // Live Tail is served, and validates its request as AWS does.
        let no_groups = store.handle("StartLiveTail", b"{}", NOW);
        assert_eq!(kind(no_groups), "InvalidParameterException");
    }

    #[test]
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    fn describe_log_streams_orders_pages_and_validates() {
        let mut store = seeded();
        store.put(GROUP, "aaa-oldest", NOW - 90_000, "early");
        let page = |store: &mut LogStore, request: Value| -> Vec<String> {
            let mut names = Vec::new();
            let mut request = request;
            for _ in 0..10 {
                let response = ok(store, "DescribeLogStreams", &request);
                names.extend(
                    response["logStreams"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["logStreamName"].as_str().map(str::to_owned)),
                );
                match response.get("nextToken") {
                    Some(token) => request["nextToken"] = token.clone(),
                    None => return names,
                }
            }
            panic!("paging did not end");
        };
        let by_name = [
            "aaa-oldest",
            "ecs/api/task-0",
            "ecs/api/task-1",
            "ecs/api/task-2",
        ];
        assert_eq!(
            page(&mut store, json!({"logGroupName": GROUP, "limit": 1})),
            by_name
        );
        let mut reversed = by_name;
        reversed.reverse();
        assert_eq!(
            page(
                &mut store,
                json!({"logGroupName": GROUP, "limit": 3, "descending": true})
            ),
            reversed
        );
        assert_eq!(
            page(
                &mut store,
                json!({"logGroupName": GROUP, "logStreamNamePrefix": "ecs/api/task-1"})
            ),
            ["ecs/api/task-1"]
        );
        // task-2 and task-1 wrote last (lines 29 and 28, same second: the name breaks the tie),
        // then task-0 (27), and aaa-oldest long ago.
        assert_eq!(
            page(
                &mut store,
                json!({"logGroupName": GROUP, "orderBy": "LastEventTime", "descending": true, "limit": 2})
            ),
            [
                "ecs/api/task-2",
                "ecs/api/task-1",
                "ecs/api/task-0",
                "aaa-oldest"
            ]
        );

        let response = ok(
            &mut store,
            "DescribeLogStreams",
            &json!({"logGroupName": GROUP, "limit": 1}),
        );
        let stream = &response["logStreams"][0];
        assert_eq!(stream["logStreamName"], "aaa-oldest");
        assert_eq!(stream["creationTime"], NOW - 90_000);
        assert_eq!(stream["firstEventTimestamp"], NOW - 90_000);
        assert_eq!(stream["lastEventTimestamp"], NOW - 90_000);
        assert_eq!(stream["lastIngestionTime"], NOW - 90_000);
        assert_eq!(stream["storedBytes"], 0);
        assert_eq!(
            stream["arn"],
            "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/nerava-backend:log-stream:aaa-oldest"
        );
        assert!(stream["uploadSequenceToken"].is_string());

        let errors: &[(&str, Value)] = &[
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "orderBy": "LastEventTime", "logStreamNamePrefix": "e"}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "orderBy": "Size"}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "limit": 51}),
            ),
            ("InvalidParameterException", json!({})),
            (
                "ResourceNotFoundException",
                json!({"logGroupName": "/nope"}),
            ),
        ];
        for (expected, request) in errors {
            assert_eq!(
                kind(call(&mut store, "DescribeLogStreams", request)),
                *expected,
                "{request}"
            );
        }
    }

    #[test]
    fn describe_log_groups_filters_and_pages() {
        let mut store = seeded();
        store.create_group("/ecs/other", NOW);
        store.create_group("/aws/lambda/x", NOW);
        let names = |response: &Value| -> Vec<String> {
            response["logGroups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["logGroupName"].as_str().map(str::to_owned))
                .collect()
        };
        let all = ok(&mut store, "DescribeLogGroups", &json!({}));
        assert_eq!(
            names(&all),
            ["/aws/lambda/x", "/ecs/nerava-backend", "/ecs/other"]
        );
        let ecs = ok(
            &mut store,
            "DescribeLogGroups",
            &json!({"logGroupNamePrefix": "/ecs/"}),
        );
        assert_eq!(names(&ecs), ["/ecs/nerava-backend", "/ecs/other"]);
        let pattern = ok(
            &mut store,
            "DescribeLogGroups",
            &json!({"logGroupNamePattern": "NERAVA"}),
        );
        assert_eq!(names(&pattern), ["/ecs/nerava-backend"]);
        let first = ok(&mut store, "DescribeLogGroups", &json!({"limit": 2}));
        assert_eq!(names(&first).len(), 2);
        let second = ok(
            &mut store,
            "DescribeLogGroups",
            &json!({"limit": 2, "nextToken": first["nextToken"]}),
        );
        assert_eq!(names(&second), ["/ecs/other"]);
        assert!(second.get("nextToken").is_none());
        let group = &ecs["logGroups"][0];
        assert_eq!(group["arn"], format!("{}:*", group_arn(GROUP)));
        assert_eq!(group["logGroupArn"], group_arn(GROUP));
        assert_eq!(group["creationTime"], NOW - 100_000);
        assert_eq!(
            kind(call(
                &mut store,
                "DescribeLogGroups",
                &json!({"logGroupNamePrefix": "a", "logGroupNamePattern": "b"})
            )),
            "InvalidParameterException"
        );
    }

    #[test]
    fn get_log_events_reads_both_ways_with_stable_end_tokens() {
        let mut store = seeded();
        let stream = "ecs/api/task-0";
        let base = json!({"logGroupName": GROUP, "logStreamName": stream, "limit": 4});

        // Default: the newest events, in ascending order.
        let tail = ok(&mut store, "GetLogEvents", &base);
        assert_eq!(
            messages(&tail),
            [
                "[OTP] line 18",
                "[OTP] line 21",
                "[OTP] line 24",
                "[OTP] line 27"
            ]
        );
        // Forward from the tail: nothing yet, and the same token back.
        let mut forward = base.clone();
        forward["nextToken"] = tail["nextForwardToken"].clone();
        let at_end = ok(&mut store, "GetLogEvents", &forward);
        assert!(messages(&at_end).is_empty());
        assert_eq!(at_end["nextForwardToken"], tail["nextForwardToken"]);
        // A new line shows up on the next forward read.
        store.put(GROUP, stream, NOW, "[OTP] OTP sent successfully");
        let fresh = ok(&mut store, "GetLogEvents", &forward);
        assert_eq!(messages(&fresh), ["[OTP] OTP sent successfully"]);

        // Backward from the tail.
        let mut backward = base.clone();
        backward["nextToken"] = tail["nextBackwardToken"].clone();
        let earlier = ok(&mut store, "GetLogEvents", &backward);
        assert_eq!(
            messages(&earlier),
            [
                "[OTP] line 6",
                "[OTP] line 9",
                "[OTP] line 12",
                "[OTP] line 15"
            ]
        );

        // From the head, paging forward until the token repeats.
        let mut request = base.clone();
        request["startFromHead"] = json!(true);
        let mut seen = Vec::new();
        for _ in 0..10 {
            let response = ok(&mut store, "GetLogEvents", &request);
            seen.extend(messages(&response));
            if request.get("nextToken") == Some(&response["nextForwardToken"]) {
                break;
            }
            request["nextToken"] = response["nextForwardToken"].clone();
        }
        assert_eq!(seen.len(), 11);
        assert_eq!(seen.first().map(String::as_str), Some("[OTP] line 0"));

        // endTime is exclusive here.
        let window = json!({"logGroupName": GROUP, "logStreamName": stream, "startFromHead": true,
            "startTime": NOW - 60_000, "endTime": NOW - 58_500});
        assert_eq!(
            messages(&ok(&mut store, "GetLogEvents", &window)),
            ["[OTP] line 0", "[OTP] line 3"]
        );

        let errors: &[(&str, Value)] = &[
            ("InvalidParameterException", json!({"logGroupName": GROUP})),
            (
                "ResourceNotFoundException",
                json!({"logGroupName": GROUP, "logStreamName": "nope"}),
            ),
            (
                "ResourceNotFoundException",
                json!({"logGroupName": "/nope", "logStreamName": stream}),
            ),
            (
                "InvalidParameterException",
                json!({"logGroupName": GROUP, "logStreamName": stream, "nextToken": "x/1/2"}),
            ),
        ];
        for (expected, request) in errors {
            assert_eq!(
                kind(call(&mut store, "GetLogEvents", request)),
                *expected,
                "{request}"
            );
        }
    }

    #[test]
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    fn create_and_put_round_trip() {
        let mut store = LogStore::new();
        ok(
            &mut store,
            "CreateLogGroup",
            &json!({"logGroupName": GROUP}),
        );
        assert_eq!(
            kind(call(
                &mut store,
                "CreateLogGroup",
                &json!({"logGroupName": GROUP})
            )),
            "ResourceAlreadyExistsException"
        );
        assert_eq!(
            kind(call(
                &mut store,
                "CreateLogGroup",
                &json!({"logGroupName": "bad:name"})
            )),
            "InvalidParameterException"
        );
        assert_eq!(
            kind(call(&mut store, "CreateLogGroup", &json!({}))),
            "InvalidParameterException"
        );
        let stream = json!({"logGroupName": GROUP, "logStreamName": "s"});
        assert_eq!(
            kind(call(
                &mut store,
                "PutLogEvents",
                &json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": [{"timestamp": NOW, "message": "x"}]})
            )),
            "ResourceNotFoundException"
        );
        ok(&mut store, "CreateLogStream", &stream);
        assert_eq!(
            kind(call(&mut store, "CreateLogStream", &stream)),
            "ResourceAlreadyExistsException"
        );
        assert_eq!(
            kind(call(
                &mut store,
                "CreateLogStream",
                &json!({"logGroupName": "/nope", "logStreamName": "s"})
            )),
            "ResourceNotFoundException"
        );

        let old = ok(
            &mut store,
            "PutLogEvents",
            &json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": [
                {"timestamp": NOW - TOO_OLD_MS - 1, "message": "ancient"},
            ]}),
        );
        assert_eq!(
            old["rejectedLogEventsInfo"],
            json!({"tooOldLogEventEndIndex": 0})
        );
        let put = ok(
            &mut store,
            "PutLogEvents",
            &json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": [
                {"timestamp": NOW - 1000, "message": "[OTP] Using Twilio Verify provider"},
                {"timestamp": NOW, "message": "[OTP] OTP sent successfully"},
                {"timestamp": NOW + TOO_NEW_MS + 1, "message": "future"},
            ]}),
        );
        assert!(put["nextSequenceToken"].is_string());
        assert_ne!(put["nextSequenceToken"], old["nextSequenceToken"]);
        assert_eq!(
            put["rejectedLogEventsInfo"],
            json!({"tooNewLogEventStartIndex": 2})
        );
        let page = ok(
            &mut store,
            "FilterLogEvents",
            &json!({"logGroupName": GROUP}),
        );
        assert_eq!(
            messages(&page),
            [
                "[OTP] Using Twilio Verify provider",
                "[OTP] OTP sent successfully"
            ]
        );
        assert_eq!(page["events"][0]["ingestionTime"], NOW);

        let clean = ok(
            &mut store,
            "PutLogEvents",
            &json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": [{"timestamp": NOW, "message": "x"}]}),
        );
        assert!(clean.get("rejectedLogEventsInfo").is_none());

        let errors: &[Value] = &[
            json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": []}),
            json!({"logGroupName": GROUP, "logStreamName": "s"}),
            json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": [
                {"timestamp": NOW, "message": "b"}, {"timestamp": NOW - 1, "message": "a"}]}),
            json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": [
                {"timestamp": NOW - MAX_BATCH_SPAN_MS - 1, "message": "a"}, {"timestamp": NOW, "message": "b"}]}),
            json!({"logGroupName": GROUP, "logStreamName": "s", "logEvents": [{"timestamp": NOW}]}),
        ];
        for request in errors {
            assert_eq!(
                kind(call(&mut store, "PutLogEvents", request)),
                "InvalidParameterException",
                "{request}"
            );
        }
    }

    /// The tiny HTTP front the real dispatcher replaces: POST `/`, operation from `X-Amz-Target`.
    mod wire {
        use std::sync::{Arc, Mutex};

        use axum::body::Bytes;
        use axum::extract::State;
        use axum::http::{header, HeaderMap, StatusCode};
        use axum::response::{IntoResponse, Response};
        use axum::routing::post;
        use axum::Router;

        use super::super::LogStore;
        use super::NOW;

        const JSON_1_1: &str = "application/x-amz-json-1.1";

        async fn dispatch(
            State(store): State<Arc<Mutex<LogStore>>>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let operation = target.strip_prefix("Logs_20140328.").unwrap_or("");
            let result = store
                .lock()
                .expect("store lock")
                .handle(operation, &body, NOW);
            match result {
                Ok(value) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, JSON_1_1)],
                    value.to_string(),
                )
                    .into_response(),
                Err(e) => (
                    e.status,
                    [
                        (header::CONTENT_TYPE, JSON_1_1.to_owned()),
                        (
                            header::HeaderName::from_static("x-amzn-errortype"),
                            e.kind.clone(),
                        ),
                    ],
                    e.body().to_string(),
                )
                    .into_response(),
            }
        }

        /// Serves `store` on 127.0.0.1:0 and returns its base URL.
        pub async fn serve(store: LogStore) -> String {
            let app = Router::new()
                .route("/", post(dispatch))
                .with_state(Arc::new(Mutex::new(store)));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let addr = listener.local_addr().expect("local addr");
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}")
        }
    }

    async fn sdk_client(url: String) -> aws_sdk_cloudwatchlogs::Client {
        use aws_config::Region;
        use aws_sdk_cloudwatchlogs::config::Credentials;
        let config = crate::probe::aws::loader()
            .endpoint_url(url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .load()
            .await;
        aws_sdk_cloudwatchlogs::Client::new(&config)
    }

    #[tokio::test]
    async fn the_aws_sdk_reads_it_unchanged() {
        let client = sdk_client(wire::serve(seeded()).await).await;

        let mut messages = Vec::new();
        let mut ids = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let page = client
                .filter_log_events()
                .log_group_name(GROUP)
                .filter_pattern("OTP")
                .start_time(NOW - 60_000)
                .limit(4)
                .set_next_token(token)
                .send()
                .await
                .expect("filter_log_events");
            pages += 1;
            for event in page.events() {
                messages.push(event.message().unwrap_or_default().to_owned());
                ids.push(event.event_id().unwrap_or_default().to_owned());
                assert_eq!(event.ingestion_time(), event.timestamp());
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(messages.len(), 10);
        assert!(messages.iter().all(|m| m.starts_with("[OTP]")));
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10);

        let streams = client
            .describe_log_streams()
            .log_group_name(GROUP)
            .order_by(aws_sdk_cloudwatchlogs::types::OrderBy::LastEventTime)
            .descending(true)
            .send()
            .await
            .expect("describe_log_streams");
        let names: Vec<&str> = streams
            .log_streams()
            .iter()
            .filter_map(|s| s.log_stream_name())
            .collect();
        assert_eq!(
            names,
            ["ecs/api/task-2", "ecs/api/task-1", "ecs/api/task-0"]
        );
        assert_eq!(
            streams.log_streams()[0].last_event_timestamp(),
            Some(NOW - 46_000)
        );

        let missing = client
            .filter_log_events()
            .log_group_name("/ecs/does-not-exist")
            .send()
            .await
            .expect_err("unknown group")
            .into_service_error();
        assert!(missing.is_resource_not_found_exception(), "{missing:?}");
        assert_eq!(
            missing.meta().message(),
            Some("The specified log group does not exist.")
        );

        let invalid = client
            .filter_log_events()
            .log_group_name(GROUP)
            .filter_pattern("{ $.level = \"ERROR\" }")
            .send()
            .await
            .expect_err("json pattern")
            .into_service_error();
        assert!(invalid.is_invalid_parameter_exception(), "{invalid:?}");
    }
}
