//! Simulated CloudWatch: GetMetricData over the load balancer's per-minute records
//! ([`super::traffic::LbMetrics`]), in the protocols real clients send. The Rust SDK speaks
//! Smithy RPC v2 CBOR (`POST /service/GraniteServiceVersion20100801/operation/GetMetricData`,
//! `smithy-protocol: rpc-v2-cbor`, a CBOR body with epoch-seconds timestamps under tag 1);
//! botocore (the aws CLI v1) prefers AWS JSON 1.0 (`X-Amz-Target:
//! GraniteServiceVersion20100801.GetMetricData`). Both decode into one [`Input`] and are
//! answered from the same [`World::get_metric_data`]; errors carry CloudWatch's shape names
//! in `__type` and the Query-compatible code in `x-amzn-query-error`, as AWS sends them.
//!
//! Only `AWS/ApplicationELB` metrics of the service's load balancer exist, with the dimension
//! sets AWS publishes them under; anything else is an empty result, as CloudWatch answers a
//! metric it has no data for.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::aws::AwsError;
use super::elbv2;
use super::traffic::{Bucket, LbMetrics};
use super::world::World;

/// The service id in the CBOR path and the JSON target.
pub const SERVICE: &str = "GraniteServiceVersion20100801";
/// Queries per request at most (CloudWatch's limit).
const MAX_QUERIES: usize = 500;
/// Nesting accepted in a CBOR body at most.
const MAX_DEPTH: usize = 32;

/// A CBOR data item, as much of it as the protocol uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor {
    Int(i128),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Bool(bool),
    Null,
    Tag(u64, Box<Cbor>),
}

impl Cbor {
    /// Decodes one whole item; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut d = minicbor::Decoder::new(bytes);
        let item = decode_item(&mut d, 0)?;
        if d.position() != bytes.len() {
            return Err("trailing bytes after the CBOR item".into());
        }
        Ok(item)
    }

    /// A map's member by key.
    pub fn get(&self, key: &str) -> Option<&Cbor> {
        match self {
            Self::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, Self::Text(t) if t == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// As JSON, for one code path over both protocols: timestamps (tag 1) become numbers.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Int(i) => i64::try_from(*i).map_or(Value::Null, Value::from),
            Self::Float(f) => json!(f),
            Self::Text(t) => Value::from(t.as_str()),
            Self::Bytes(_) | Self::Null => Value::Null,
            Self::Bool(b) => Value::from(*b),
            Self::Array(items) => Value::Array(items.iter().map(Self::to_json).collect()),
            Self::Map(pairs) => Value::Object(
                pairs
                    .iter()
                    .filter_map(|(k, v)| match k {
                        Self::Text(k) => Some((k.clone(), v.to_json())),
                        _ => None,
                    })
                    .collect(),
            ),
            Self::Tag(_, inner) => inner.to_json(),
        }
    }
}

fn decode_item(d: &mut minicbor::Decoder<'_>, depth: usize) -> Result<Cbor, String> {
    use minicbor::data::Type;
    let e = |e: minicbor::decode::Error| e.to_string();
    if depth > MAX_DEPTH {
        return Err("CBOR nested too deeply".into());
    }
    Ok(match d.datatype().map_err(e)? {
        Type::Bool => Cbor::Bool(d.bool().map_err(e)?),
        Type::Null => {
            d.null().map_err(e)?;
            Cbor::Null
        }
        Type::Undefined => {
            d.undefined().map_err(e)?;
            Cbor::Null
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Cbor::Int(i128::from(d.u64().map_err(e)?)),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            Cbor::Int(i128::from(d.int().map_err(e)?))
        }
        Type::F16 | Type::F32 | Type::F64 => Cbor::Float(d.f64().map_err(e)?),
        Type::String | Type::StringIndef => {
            let mut text = String::new();
            for part in d.str_iter().map_err(e)? {
                text.push_str(part.map_err(e)?);
            }
            Cbor::Text(text)
        }
        Type::Bytes | Type::BytesIndef => {
            let mut bytes = Vec::new();
            for part in d.bytes_iter().map_err(e)? {
                bytes.extend_from_slice(part.map_err(e)?);
            }
            Cbor::Bytes(bytes)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(e)?;
            let mut items = Vec::new();
            while more(d, len, items.len())? {
                items.push(decode_item(d, depth + 1)?);
            }
            Cbor::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(e)?;
            let mut pairs = Vec::new();
            while more(d, len, pairs.len())? {
                let key = decode_item(d, depth + 1)?;
                let value = decode_item(d, depth + 1)?;
                pairs.push((key, value));
            }
            Cbor::Map(pairs)
        }
        Type::Tag => {
            let tag = d.tag().map_err(e)?;
            Cbor::Tag(tag.as_u64(), Box::new(decode_item(d, depth + 1)?))
        }
        other => return Err(format!("unexpected CBOR item {other}")),
    })
}

/// Whether a definite (`len`) or indefinite container has another item after `seen`; an
/// indefinite one's break is consumed.
fn more(d: &mut minicbor::Decoder<'_>, len: Option<u64>, seen: usize) -> Result<bool, String> {
    match len {
        Some(n) => Ok((seen as u64) < n),
        None => {
            if d.datatype().map_err(|e| e.to_string())? == minicbor::data::Type::Break {
                d.set_position(d.position() + 1);
                Ok(false)
            } else {
                Ok(true)
            }
        }
    }
}

/// One query of a GetMetricData request.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub id: String,
    pub label: Option<String>,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub period: i64,
    pub stat: String,
    pub return_data: bool,
}

/// A GetMetricData request, whichever protocol it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub queries: Vec<Query>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub ascending: bool,
}

/// One query's answer: newest first unless asked otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: String,
    pub label: String,
    pub points: Vec<(i64, f64)>,
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::client("InvalidParameterValue", message)
}

fn missing(name: &str) -> AwsError {
    AwsError::client(
        "MissingParameter",
        format!("The parameter {name} is required."),
    )
}

/// Milliseconds since the epoch of a timestamp member (epoch seconds, as both protocols send
/// them).
fn time_ms(value: Option<&Value>, name: &str) -> Result<i64, AwsError> {
    let secs = value.ok_or_else(|| missing(name))?;
    secs.as_f64()
        .filter(|s| s.is_finite())
        .map(|s| (s * 1000.0).round() as i64)
        .ok_or_else(|| invalid(format!("The parameter {name} must be a timestamp.")))
}

impl Input {
    /// Reads a request body already turned into JSON (AWS JSON 1.0, or CBOR via
    /// [`Cbor::to_json`]).
    pub fn from_json(body: &Value) -> Result<Self, AwsError> {
        let start_ms = time_ms(body.get("StartTime"), "StartTime")?;
        let end_ms = time_ms(body.get("EndTime"), "EndTime")?;
        if start_ms >= end_ms {
            return Err(invalid(
                "The parameter StartTime must be less than the parameter EndTime.",
            ));
        }
        let raw = body
            .get("MetricDataQueries")
            .and_then(Value::as_array)
            .filter(|q| !q.is_empty())
            .ok_or_else(|| missing("MetricDataQueries"))?;
        if raw.len() > MAX_QUERIES {
            return Err(invalid(format!(
                "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
            )));
        }
        let mut queries = Vec::new();
        for (n, q) in raw.iter().enumerate() {
            let at = n + 1;
            let id = q
                .get("Id")
                .and_then(Value::as_str)
                .ok_or_else(|| missing(&format!("MetricDataQueries.member.{at}.Id")))?;
            let well_formed = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !well_formed || id.len() > 255 {
                return Err(AwsError::client(
                    "ValidationError",
                    format!("The value {id} for parameter MetricDataQueries.member.{at}.Id is not valid: it must start with a lowercase letter and contain only letters, digits and underscores."),
                ));
            }
            if q.get("Expression").is_some() {
                return Err(invalid(format!(
                    "MetricDataQueries.member.{at}.Expression: metric math is not simulated; query the metrics with MetricStat."
                )));
            }
            let stat = q
                .get("MetricStat")
                .ok_or_else(|| missing(&format!("MetricDataQueries.member.{at}.MetricStat")))?;
            let metric = stat.get("Metric").ok_or_else(|| {
                missing(&format!("MetricDataQueries.member.{at}.MetricStat.Metric"))
            })?;
            let text = |v: Option<&Value>, name: &str| {
                v.and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                    missing(&format!("MetricDataQueries.member.{at}.MetricStat.{name}"))
                })
            };
            let period = stat.get("Period").and_then(Value::as_i64).ok_or_else(|| {
                missing(&format!("MetricDataQueries.member.{at}.MetricStat.Period"))
            })?;
            if period <= 0 || (period % 60 != 0 && ![1, 5, 10, 30].contains(&period)) {
                return Err(invalid(format!(
                    "The parameter MetricDataQueries.member.{at}.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60."
                )));
            }
            let stat_name = text(stat.get("Stat"), "Stat")?;
            if !is_statistic(&stat_name) {
                return Err(invalid(format!(
                    "The value {stat_name} for parameter MetricDataQueries.member.{at}.MetricStat.Stat is not a valid statistic."
                )));
            }
            let dimensions = metric
                .get("Dimensions")
                .and_then(Value::as_array)
                .map(|dims| {
                    dims.iter()
                        .filter_map(|d| {
                            Some((
                                d.get("Name")?.as_str()?.to_owned(),
                                d.get("Value")?.as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            queries.push(Query {
                id: id.to_owned(),
                label: q.get("Label").and_then(Value::as_str).map(str::to_owned),
                namespace: text(metric.get("Namespace"), "Metric.Namespace")?,
                metric: text(metric.get("MetricName"), "Metric.MetricName")?,
                dimensions,
                period,
                stat: stat_name,
                return_data: q.get("ReturnData").and_then(Value::as_bool).unwrap_or(true),
            });
        }
        let ascending = body.get("ScanBy").and_then(Value::as_str) == Some("TimestampAscending");
        Ok(Self {
            queries,
            start_ms,
            end_ms,
            ascending,
        })
    }
}

fn is_statistic(stat: &str) -> bool {
    matches!(
        stat,
        "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount"
    ) || stat
        .strip_prefix('p')
        .and_then(|q| q.parse::<f64>().ok())
        .is_some_and(|q| (0.0..=100.0).contains(&q))
}

/// The dimension sets each `AWS/ApplicationELB` metric is published under.
fn published(metric: &str) -> &'static [&'static [&'static str]] {
    match metric {
        "HTTPCode_ELB_504_Count" | "HTTPCode_ELB_5XX_Count" => &[&["LoadBalancer"]],
        "RequestCount" | "HTTPCode_Target_5XX_Count" | "TargetResponseTime" => {
            &[&["LoadBalancer"], &["LoadBalancer", "TargetGroup"]]
        }
        "HealthyHostCount" | "UnHealthyHostCount" => &[&["LoadBalancer", "TargetGroup"]],
        _ => &[],
    }
}

/// Folds minute buckets into one period's bucket.
fn merge(buckets: &[&Bucket]) -> Bucket {
    let mut out = Bucket::default();
    for b in buckets {
        out.requests += b.requests;
        out.elb_504 += b.elb_504;
        out.elb_5xx += b.elb_5xx;
        out.target_5xx += b.target_5xx;
        out.response_times.extend_from_slice(&b.response_times);
        out.healthy = match (out.healthy, b.healthy) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        out.unhealthy = match (out.unhealthy, b.unhealthy) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    out
}

impl World {
    /// Answers GetMetricData from the load balancer's records.
    pub fn get_metric_data(&self, input: &Input) -> Vec<Series> {
        let lb = elbv2::load_balancer_arn(self);
        let tg = elbv2::target_group_arn(self);
        let ours = |name: &str, value: &str| match name {
            "LoadBalancer" => value == crate::probe::metrics::dimension_of(&lb),
            "TargetGroup" => value == crate::probe::metrics::dimension_of(&tg),
            _ => false,
        };
        input
            .queries
            .iter()
            .filter(|q| q.return_data)
            .map(|q| {
                let mut names: Vec<&str> = q.dimensions.iter().map(|(n, _)| n.as_str()).collect();
                names.sort_unstable();
                let exists = q.namespace == "AWS/ApplicationELB"
                    && published(&q.metric).contains(&names.as_slice())
                    && q.dimensions.iter().all(|(n, v)| ours(n, v));
                let mut points = Vec::new();
                if exists {
                    // Sub-minute periods see the minute's datapoint (the load balancer
                    // publishes once a minute).
                    let period_ms = q.period.max(60) * 1000;
                    let mut periods: std::collections::BTreeMap<i64, Vec<&Bucket>> =
                        std::collections::BTreeMap::new();
                    for (minute, bucket) in self
                        .users
                        .metrics
                        .minutes
                        .range(input.start_ms..input.end_ms)
                    {
                        periods
                            .entry(minute - minute.rem_euclid(period_ms))
                            .or_default()
                            .push(bucket);
                    }
                    for (at, buckets) in periods {
                        if at < input.start_ms {
                            continue;
                        }
                        if let Some(v) = LbMetrics::value(&merge(&buckets), &q.metric, &q.stat) {
                            points.push((at, v));
                        }
                    }
                }
                if !input.ascending {
                    points.reverse();
                }
                Series {
                    id: q.id.clone(),
                    label: q.label.clone().unwrap_or_else(|| q.metric.clone()),
                    points,
                }
            })
            .collect()
    }
}

/// The error shape name of a Query-compatible code (`InvalidParameterValue` →
/// `InvalidParameterValueException`), as CloudWatch's model names them.
fn shape_name(code: &str) -> String {
    match code {
        "MissingParameter" => "MissingRequiredParameterException".into(),
        "ValidationError" | "InvalidAction" | "MissingAuthenticationTokenException" => {
            code.to_owned()
        }
        c if c.ends_with("Exception") => c.to_owned(),
        c => format!("{c}Exception"),
    }
}

/// The series as the JSON both encoders start from.
fn output_json(series: &[Series]) -> Value {
    json!({
        "MetricDataResults": series.iter().map(|s| json!({
            "Id": s.id,
            "Label": s.label,
            "Timestamps": s.points.iter().map(|(t, _)| *t as f64 / 1000.0).collect::<Vec<_>>(),
            "Values": s.points.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            "StatusCode": "Complete",
        })).collect::<Vec<_>>(),
        "Messages": [],
    })
}

fn with_headers(
    mut response: Response,
    content_type: &'static str,
    cbor: bool,
    error: Option<&AwsError>,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if cbor {
        headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    }
    if let Some(e) = error {
        let fault = if e.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", e.kind)) {
            headers.insert("x-amzn-query-error", v);
        }
    }
    response
}

/// Answers one CloudWatch operation sent in Smithy RPC v2 CBOR; `call` runs it.
pub fn cbor_response(
    operation: &str,
    body: &[u8],
    call: impl FnOnce(&Input) -> Result<Vec<Series>, AwsError>,
) -> Response {
    let result = if operation == "GetMetricData" {
        Cbor::decode(body)
            .map_err(|e| {
                AwsError::client(
                    "SerializationException",
                    format!("The request body is not valid CBOR: {e}"),
                )
            })
            .and_then(|item| Input::from_json(&item.to_json()))
            .and_then(|input| call(&input))
    } else {
        Err(unknown_operation(operation))
    };
    match result {
        Ok(series) => {
            let bytes = encode_output(&series);
            with_headers(
                (StatusCode::OK, bytes).into_response(),
                "application/cbor",
                true,
                None,
            )
        }
        Err(e) => {
            let bytes = encode_error(&e);
            with_headers(
                (e.status, bytes).into_response(),
                "application/cbor",
                true,
                Some(&e),
            )
        }
    }
}

/// Answers one CloudWatch operation sent in AWS JSON 1.0; `call` runs it.
pub fn json_response(
    operation: &str,
    body: &[u8],
    call: impl FnOnce(&Input) -> Result<Vec<Series>, AwsError>,
) -> Response {
    let result = if operation == "GetMetricData" {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| {
                AwsError::client(
                    "SerializationException",
                    format!("The request body is not valid JSON: {e}"),
                )
            })
            .and_then(|v| Input::from_json(&v))
            .and_then(|input| call(&input))
    } else {
        Err(unknown_operation(operation))
    };
    let (status, body, error) = match result {
        Ok(series) => (StatusCode::OK, output_json(&series), None),
        Err(e) => (
            e.status,
            json!({ "__type": format!("com.amazonaws.cloudwatch#{}", shape_name(&e.kind)), "message": e.message }),
            Some(e),
        ),
    };
    with_headers(
        (status, body.to_string()).into_response(),
        "application/x-amz-json-1.0",
        false,
        error.as_ref(),
    )
}

/// An error before the operation ran (no signature, a marked key), in CBOR or JSON.
pub fn error_response(e: &AwsError, cbor: bool) -> Response {
    if cbor {
        with_headers(
            (e.status, encode_error(e)).into_response(),
            "application/cbor",
            true,
            Some(e),
        )
    } else {
        let body = json!({ "__type": format!("com.amazonaws.cloudwatch#{}", shape_name(&e.kind)), "message": e.message });
        with_headers(
            (e.status, body.to_string()).into_response(),
            "application/x-amz-json-1.0",
            false,
            Some(e),
        )
    }
}

fn unknown_operation(operation: &str) -> AwsError {
    AwsError::client(
        "UnknownOperationException",
        format!("CloudWatch {operation} is not simulated: this endpoint answers GetMetricData."),
    )
}

/// CloudWatch's Query API version (what older botocore, such as the aws CLI 2.9, sends).
pub const QUERY_VERSION: &str = "2010-08-01";
const XMLNS: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

/// Whether a form-encoded request is for CloudWatch: signed for `monitoring`, else its version.
pub fn is_query_request(authorization: &str, body: &[u8]) -> bool {
    match super::query::signing_name(authorization) {
        Some(name) => name == "monitoring",
        None => form_urlencoded::parse(body).any(|(k, v)| k == "Version" && v == QUERY_VERSION),
    }
}

/// A Query-protocol timestamp (ISO 8601, or epoch seconds) as epoch seconds.
fn query_time(text: Option<&str>) -> Value {
    let Some(text) = text else {
        return Value::Null;
    };
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| json!(t.timestamp_millis() as f64 / 1000.0))
        .or_else(|_| text.parse::<f64>().map(|s| json!(s)))
        .unwrap_or_else(|_| Value::from(text))
}

/// The flattened Query parameters of GetMetricData as the JSON [`Input::from_json`] reads.
fn query_input(params: &super::query::Params) -> Value {
    let queries: Vec<Value> = params
        .structs("MetricDataQueries.member")
        .iter()
        .map(|q| {
            let dimensions: Vec<Value> = q
                .structs("MetricStat.Metric.Dimensions.member")
                .iter()
                .map(|d| json!({ "Name": d.get("Name"), "Value": d.get("Value") }))
                .collect();
            let mut query = json!({ "Id": q.get("Id") });
            if let Some(label) = q.get("Label") {
                query["Label"] = json!(label);
            }
            if let Some(expression) = q.get("Expression") {
                query["Expression"] = json!(expression);
            }
            if let Some(data) = q.get("ReturnData") {
                query["ReturnData"] = json!(data == "true");
            }
            if q.get("MetricStat.Metric.MetricName").is_some() {
                query["MetricStat"] = json!({
                    "Metric": {
                        "Namespace": q.get("MetricStat.Metric.Namespace"),
                        "MetricName": q.get("MetricStat.Metric.MetricName"),
                        "Dimensions": dimensions,
                    },
                    "Period": q.get("MetricStat.Period").and_then(|p| p.parse::<i64>().ok()),
                    "Stat": q.get("MetricStat.Stat"),
                });
            }
            query
        })
        .collect();
    json!({
        "MetricDataQueries": queries,
        "StartTime": query_time(params.get("StartTime")),
        "EndTime": query_time(params.get("EndTime")),
        "ScanBy": params.get("ScanBy"),
    })
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Answers one CloudWatch operation sent in the Query protocol (form in, XML out); `call`
/// runs it.
pub fn query_response(
    body: &[u8],
    call: impl FnOnce(&Input) -> Result<Vec<Series>, AwsError>,
) -> Response {
    let result = super::query::QueryRequest::parse(body).and_then(|request| {
        if request.action == "GetMetricData" {
            Input::from_json(&query_input(&request.params)).and_then(|input| call(&input))
        } else {
            Err(AwsError::client(
                "InvalidAction",
                format!(
                    "The action {} is not valid for this web service (cloudwatch).",
                    request.action
                ),
            ))
        }
    });
    let (status, xml) = match result {
        Ok(series) => (
            StatusCode::OK,
            super::query::Xml::document("GetMetricDataResponse", XMLNS, |x| {
                x.elem("GetMetricDataResult", |x| {
                    x.elem("MetricDataResults", |x| {
                        for s in &series {
                            x.elem("member", |x| {
                                x.leaf("Id", &s.id)
                                    .leaf("Label", &s.label)
                                    .elem("Timestamps", |x| {
                                        for (t, _) in &s.points {
                                            x.leaf("member", iso(*t));
                                        }
                                    })
                                    .elem("Values", |x| {
                                        for (_, v) in &s.points {
                                            x.leaf("member", v);
                                        }
                                    })
                                    .leaf("StatusCode", "Complete");
                            });
                        }
                    })
                    .elem("Messages", |_| {});
                })
                .elem("ResponseMetadata", |x| {
                    x.leaf("RequestId", super::query::request_id());
                });
            }),
        ),
        Err(e) => (e.status, query_error(&e)),
    };
    let mut response = (status, xml).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

/// CloudWatch's Query error document.
pub fn query_error(e: &AwsError) -> String {
    let fault = if e.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>{fault}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        super::query::escape(&e.kind),
        super::query::escape(&e.message),
        super::query::request_id()
    )
}

/// GetMetricData's output in CBOR: definite lengths, timestamps as tag 1 epoch seconds.
fn encode_output(series: &[Series]) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    let written = (|| -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        e.map(2)?
            .str("MetricDataResults")?
            .array(series.len() as u64)?;
        for s in series {
            e.map(5)?;
            e.str("Id")?.str(&s.id)?;
            e.str("Label")?.str(&s.label)?;
            e.str("Timestamps")?.array(s.points.len() as u64)?;
            for (t, _) in &s.points {
                e.tag(minicbor::data::Tag::new(1))?
                    .f64(*t as f64 / 1000.0)?;
            }
            e.str("Values")?.array(s.points.len() as u64)?;
            for (_, v) in &s.points {
                e.f64(*v)?;
            }
            e.str("StatusCode")?.str("Complete")?;
        }
        e.str("Messages")?.array(0)?;
        Ok(())
    })();
    debug_assert!(written.is_ok());
    e.into_writer()
}

/// An error body in CBOR: `__type` (the shape id) and `message`.
fn encode_error(error: &AwsError) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    let written = (|| -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        e.map(2)?
            .str("__type")?
            .str(&format!(
                "com.amazonaws.cloudwatch#{}",
                shape_name(&error.kind)
            ))?
            .str("message")?
            .str(&error.message)?;
        Ok(())
    })();
    debug_assert!(written.is_ok());
    e.into_writer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(start: f64, end: f64) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("MetricDataQueries").unwrap().array(1).unwrap();
        e.map(2).unwrap();
        e.str("Id").unwrap().str("requests").unwrap();
        e.str("MetricStat").unwrap().map(3).unwrap();
        e.str("Metric").unwrap().map(3).unwrap();
        e.str("Namespace")
            .unwrap()
            .str("AWS/ApplicationELB")
            .unwrap();
        e.str("MetricName").unwrap().str("RequestCount").unwrap();
        e.str("Dimensions").unwrap().array(1).unwrap();
        e.map(2).unwrap();
        e.str("Name").unwrap().str("LoadBalancer").unwrap();
        e.str("Value").unwrap().str("app/x/1").unwrap();
        e.str("Period").unwrap().u64(60).unwrap();
        e.str("Stat").unwrap().str("Sum").unwrap();
        e.str("StartTime")
            .unwrap()
            .tag(minicbor::data::Tag::new(1))
            .unwrap()
            .f64(start)
            .unwrap();
        e.str("EndTime")
            .unwrap()
            .tag(minicbor::data::Tag::new(1))
            .unwrap()
            .u64(end as u64)
            .unwrap();
        e.end().unwrap();
        e.into_writer()
    }

    #[test]
    fn decodes_indefinite_maps_and_tagged_times() {
        let item = Cbor::decode(&request(1_700_000_000.5, 1_700_003_600.0)).unwrap();
        let input = Input::from_json(&item.to_json()).unwrap();
        assert_eq!(input.start_ms, 1_700_000_000_500);
        assert_eq!(input.end_ms, 1_700_003_600_000);
        assert_eq!(input.queries[0].metric, "RequestCount");
        assert_eq!(
            input.queries[0].dimensions,
            [("LoadBalancer".into(), "app/x/1".into())]
        );
        assert!(!input.ascending);
    }

    #[test]
    fn refuses_bad_input_as_cloudwatch_does() {
        let bad = Input::from_json(&Cbor::decode(&request(2.0, 1.0)).unwrap().to_json());
        assert_eq!(bad.unwrap_err().kind, "InvalidParameterValue");
        assert!(Cbor::decode(&[0xbf, 0x61]).is_err(), "truncated");
        assert!(Cbor::decode(&[0x01, 0x02]).is_err(), "trailing bytes");
        let deep: Vec<u8> = std::iter::repeat_n(0x81, 100).chain([0x01]).collect();
        assert!(Cbor::decode(&deep).is_err(), "nesting");
        let no_stat = json!({"StartTime": 1, "EndTime": 2, "MetricDataQueries": [{"Id": "a"}]});
        assert_eq!(
            Input::from_json(&no_stat).unwrap_err().kind,
            "MissingParameter"
        );
        let bad_id = json!({"StartTime": 1, "EndTime": 2, "MetricDataQueries": [{"Id": "A-b"}]});
        assert_eq!(
            Input::from_json(&bad_id).unwrap_err().kind,
            "ValidationError"
        );
    }

    #[test]
    fn output_round_trips_through_the_decoder() {
        let series = vec![Series {
            id: "p99".into(),
            label: "TargetResponseTime".into(),
            points: vec![(1_700_000_060_000, 60.0), (1_700_000_000_000, 0.25)],
        }];
        let item = Cbor::decode(&encode_output(&series)).unwrap();
        let result = &item.get("MetricDataResults").unwrap();
        let Cbor::Array(results) = result else {
            panic!("{result:?}")
        };
        let times = results[0].get("Timestamps").unwrap();
        assert_eq!(
            times,
            &Cbor::Array(vec![
                Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_060.0))),
                Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_000.0)))
            ])
        );
        let error = Cbor::decode(&encode_error(&invalid("x"))).unwrap();
        assert_eq!(
            error.get("__type"),
            Some(&Cbor::Text(
                "com.amazonaws.cloudwatch#InvalidParameterValueException".into()
            ))
        );
    }
}
