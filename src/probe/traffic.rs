//! Real traffic, from the backend's own access lines in CloudWatch Logs: what users got from
//! each endpoint over the last hour, before anyone sends a test SMS. One FilterLogEvents query
//! over the window with its own filter (`aws.access_log_filter`, independent of the OTP filter
//! the logs pane follows), each line parsed by [`parse`] (uvicorn's
//! `"POST /v1/auth/otp/start HTTP/1.1" 504`, nginx's or the ALB's combined form: the same
//! quoted request line and status), and counted by [`summarize`] into requests by status per
//! endpoint per minute. The load balancer's own view (metrics, target health) is
//! [`super::metrics`]; both travel together as [`RealTraffic`].

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use serde::{Deserialize, Serialize};

use super::aws::call;
use super::metrics::LoadBalancer;
use super::{ProbeError, System};
use crate::config::AwsConfig;
use crate::redact;

/// How far back real traffic is read.
pub const WINDOW_MS: i64 = 60 * 60_000;
/// The resolution of every series.
pub const MINUTE_MS: i64 = 60_000;
/// Minutes in the window: the length of every per-minute series.
pub const MINUTES: usize = (WINDOW_MS / MINUTE_MS) as usize;
/// Endpoints counted apart at most; the rest are counted as `other`.
pub const MAX_ENDPOINTS: usize = 12;
/// Pages of FilterLogEvents read at most per probe (up to 10,000 events each): a busier hour
/// is counted from its start as far as they go, and says so (`truncated`).
pub const MAX_PAGES: usize = 100;
/// Durations kept per endpoint for its percentiles at most.
const MAX_DURATIONS: usize = 5_000;
/// A path longer than this is cut (paths come from the network).
const MAX_PATH: usize = 120;

/// What real users got, from the two sources the console reads without sending anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealTraffic {
    /// The window read (ms since the epoch), `to_ms` excluded.
    pub from_ms: i64,
    pub to_ms: i64,
    /// The backend's access lines, counted per endpoint (JSON: the summary, or `{"error"}`).
    #[serde(
        serialize_with = "value_or_error",
        deserialize_with = "value_or_error_de"
    )]
    pub access: Result<AccessSummary, ProbeError>,
    /// The load balancer's metrics and target health; `None` when the service has no load
    /// balancer (DescribeServices lists no target group).
    #[serde(
        serialize_with = "optional_value_or_error",
        deserialize_with = "optional_value_or_error_de"
    )]
    pub load_balancer: Option<Result<LoadBalancer, ProbeError>>,
}

/// A result as its value, or `{"error": …}`.
pub fn value_or_error<T: Serialize, S: serde::Serializer>(
    result: &Result<T, ProbeError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Failed<'a> {
        error: &'a ProbeError,
    }
    match result {
        Ok(value) => value.serialize(serializer),
        Err(error) => Failed { error }.serialize(serializer),
    }
}

/// Reads what [`value_or_error`] wrote: `{"error": …}` or the value. Read through a JSON
/// value (not an untagged enum, whose buffer cannot read the integer keys of a status map).
pub fn value_or_error_de<'de, T: serde::de::DeserializeOwned, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Result<T, ProbeError>, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(deserializer)?;
    let failed = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("error"));
    match failed {
        Some(error) => ProbeError::deserialize(error)
            .map(Err)
            .map_err(D::Error::custom),
        None => T::deserialize(value).map(Ok).map_err(D::Error::custom),
    }
}

/// Reads what [`optional_value_or_error`] wrote.
pub fn optional_value_or_error_de<
    'de,
    T: serde::de::DeserializeOwned,
    D: serde::Deserializer<'de>,
>(
    deserializer: D,
) -> Result<Option<Result<T, ProbeError>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(bound = "T: serde::de::DeserializeOwned")]
    struct Wrapped<T>(#[serde(deserialize_with = "value_or_error_de")] Result<T, ProbeError>);
    Ok(Option::<Wrapped<T>>::deserialize(deserializer)?.map(|Wrapped(result)| result))
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes the field by reference.
pub fn optional_value_or_error<T: Serialize, S: serde::Serializer>(
    result: &Option<Result<T, ProbeError>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match result {
        Some(result) => value_or_error(result, serializer),
        None => serializer.serialize_none(),
    }
}

impl RealTraffic {
    /// The window in whole minutes.
    pub fn minutes(&self) -> i64 {
        (self.to_ms - self.from_ms) / MINUTE_MS
    }

    /// One line: each busy endpoint's requests and errors, then the load balancer's.
    pub fn headline(&self) -> String {
        let mut parts = Vec::new();
        match &self.access {
            Ok(access) if access.endpoints.is_empty() => {
                parts.push(format!("no access lines matching {}", access.filter));
            }
            Ok(access) => {
                for e in access.endpoints.iter().take(3) {
                    parts.push(format!("{}: {}", e.name(), e.describe()));
                }
            }
            Err(e) => parts.push(format!("access lines: {}", e.message)),
        }
        match &self.load_balancer {
            Some(Ok(lb)) => parts.push(format!("load balancer {}: {}", lb.name, lb.describe())),
            Some(Err(e)) => parts.push(format!("load balancer: {}", e.message)),
            None => parts.push("no load balancer on the service".into()),
        }
        format!(
            "real traffic, last {} min: {}",
            self.minutes(),
            parts.join("; ")
        )
    }
}

impl EndpointTraffic {
    /// `143 requests, 141 × 504, 2 × 200`.
    pub fn describe(&self) -> String {
        let mut statuses: Vec<(u16, u64)> = self.by_status.iter().map(|(s, n)| (*s, *n)).collect();
        statuses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let by: Vec<String> = statuses
            .iter()
            .take(4)
            .map(|(s, n)| format!("{n} × {s}"))
            .collect();
        let p99 = self.p99_ms.map_or(String::new(), |ms| {
            format!(", p99 {:.1} s", ms as f64 / 1000.0)
        });
        format!(
            "{} request{} ({}){p99}",
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            by.join(", ")
        )
    }
}

/// One access line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLine {
    pub method: String,
    /// The path without its query string.
    pub path: String,
    pub status: u16,
    /// The request's duration when the line carries one (`… 200 OK 61.2s`, `… 504 … 60012ms`).
    pub duration_ms: Option<u64>,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Reads the first `"METHOD PATH HTTP/x.y" STATUS` in `line`; `None` when there is none. A
/// duration is read from the last word when it is a number with `ms` or `s`.
pub fn parse(line: &str) -> Option<AccessLine> {
    let mut rest = line;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let close = after.find('"')?;
        if let Some(parsed) = request_line(&after[..close], &after[close + 1..]) {
            return Some(parsed);
        }
        rest = &after[close + 1..];
    }
    None
}

fn request_line(quoted: &str, tail: &str) -> Option<AccessLine> {
    let mut words = quoted.split(' ');
    let method = words.next().filter(|m| METHODS.contains(m))?;
    let target = words.next().filter(|t| t.starts_with('/'))?;
    words.next().filter(|v| v.starts_with("HTTP/"))?;
    if words.next().is_some() {
        return None;
    }
    let status_word = tail.split_whitespace().next()?;
    let status: u16 = status_word
        .parse()
        .ok()
        .filter(|s| (100..600).contains(s))?;
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let path: String = redact::sanitize(path).chars().take(MAX_PATH).collect();
    let duration_ms = tail.split_whitespace().skip(1).last().and_then(duration_ms);
    Some(AccessLine {
        method: method.to_owned(),
        path,
        status,
        duration_ms,
    })
}

/// `123ms`, `61.2s` as milliseconds.
fn duration_ms(word: &str) -> Option<u64> {
    let (number, factor) = if let Some(n) = word.strip_suffix("ms") {
        (n, 1.0)
    } else {
        (word.strip_suffix('s')?, 1000.0)
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * factor).round() as u64)
}

/// Requests to one endpoint over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointTraffic {
    pub method: String,
    /// The path, or `other` for the endpoints past [`MAX_ENDPOINTS`].
    pub path: String,
    pub requests: u64,
    /// Requests by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests answered with 5xx.
    pub errors_5xx: u64,
    /// Per minute of the window, oldest first ([`MINUTES`] entries): requests and 5xx.
    pub per_minute: Vec<MinuteCount>,
    /// The 99th percentile of the durations the lines carried, when they carry any.
    pub p99_ms: Option<u64>,
    /// How many lines carried a duration.
    pub timed: u64,
    /// The newest line's time (ms since the epoch).
    pub last_ms: i64,
}

impl EndpointTraffic {
    /// `POST /v1/auth/otp/start`.
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Requests answered with `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Requests answered 2xx or 3xx.
    pub fn ok(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| **s < 400)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One minute of one endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCount {
    pub requests: u64,
    pub errors_5xx: u64,
    /// Requests answered 504 (a gateway gave up waiting).
    pub timeouts: u64,
    /// Requests answered 503 (the backend's own timeout, or no target).
    pub unavailable: u64,
}

/// The access lines of the window, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSummary {
    /// Lines the filter returned.
    pub lines: u64,
    /// Lines that were not access lines.
    pub unparsed: u64,
    /// Whether more lines matched than [`MAX_PAGES`] hold: the newest were not read.
    pub truncated: bool,
    /// The filter pattern used.
    pub filter: String,
    /// Busiest first.
    pub endpoints: Vec<EndpointTraffic>,
}

impl AccessSummary {
    /// The endpoint `method path`, when it had traffic.
    pub fn endpoint(&self, method: &str, path: &str) -> Option<&EndpointTraffic> {
        self.endpoints
            .iter()
            .find(|e| e.method == method && e.path == path)
    }
}

/// Counts `lines` (time in ms since the epoch, message) that fall in `[from_ms, to_ms)`.
pub fn summarize<'a>(
    lines: impl IntoIterator<Item = (i64, &'a str)>,
    from_ms: i64,
    to_ms: i64,
) -> AccessSummary {
    let mut counter = Counter::new(from_ms, to_ms);
    for (at, message) in lines {
        counter.add(at, message);
    }
    counter.finish()
}

/// Counts access lines one at a time, in bounded memory whatever their number: at most
/// [`MAX_ENDPOINTS`] endpoints, each with its fixed per-minute series and at most
/// [`MAX_DURATIONS`] durations kept for its percentile.
#[derive(Debug)]
pub struct Counter {
    from_ms: i64,
    to_ms: i64,
    summary: AccessSummary,
    /// Durations per endpoint, by index in `summary.endpoints`.
    durations: Vec<Vec<u64>>,
}

impl Counter {
    pub fn new(from_ms: i64, to_ms: i64) -> Self {
        Self {
            from_ms,
            to_ms,
            summary: AccessSummary::default(),
            durations: Vec::new(),
        }
    }

    /// Counts one line (outside the window: ignored).
    pub fn add(&mut self, at: i64, message: &str) {
        if at < self.from_ms || at >= self.to_ms {
            return;
        }
        let summary = &mut self.summary;
        summary.lines += 1;
        let Some(line) = parse(message) else {
            summary.unparsed += 1;
            return;
        };
        let known = summary
            .endpoints
            .iter()
            .position(|e| e.method == line.method && e.path == line.path);
        let index = match known {
            Some(i) => i,
            None if summary.endpoints.len() < MAX_ENDPOINTS - 1 => {
                summary.endpoints.push(empty(&line.method, &line.path));
                summary.endpoints.len() - 1
            }
            None => {
                if let Some(i) = summary.endpoints.iter().position(|e| e.path == "other") {
                    i
                } else {
                    summary.endpoints.push(empty("*", "other"));
                    summary.endpoints.len() - 1
                }
            }
        };
        let endpoint = &mut summary.endpoints[index];
        endpoint.requests += 1;
        *endpoint.by_status.entry(line.status).or_default() += 1;
        let minute = ((at - self.from_ms) / MINUTE_MS) as usize;
        let slot = &mut endpoint.per_minute[minute.min(MINUTES - 1)];
        slot.requests += 1;
        if line.status >= 500 {
            endpoint.errors_5xx += 1;
            slot.errors_5xx += 1;
        }
        match line.status {
            504 => slot.timeouts += 1,
            503 => slot.unavailable += 1,
            _ => {}
        }
        endpoint.last_ms = endpoint.last_ms.max(at);
        if let Some(ms) = line.duration_ms {
            endpoint.timed += 1;
            self.durations
                .resize_with(summary.endpoints.len(), Vec::new);
            let kept = &mut self.durations[index];
            if kept.len() < MAX_DURATIONS {
                kept.push(ms);
            }
        }
    }

    /// The counts, busiest endpoint first.
    pub fn finish(mut self) -> AccessSummary {
        for (endpoint, kept) in self.summary.endpoints.iter_mut().zip(&mut self.durations) {
            endpoint.p99_ms = percentile(kept, 0.99);
        }
        self.summary
            .endpoints
            .sort_by(|a, b| b.requests.cmp(&a.requests).then(a.path.cmp(&b.path)));
        self.summary
    }
}

fn empty(method: &str, path: &str) -> EndpointTraffic {
    EndpointTraffic {
        method: method.to_owned(),
        path: path.to_owned(),
        requests: 0,
        by_status: BTreeMap::new(),
        errors_5xx: 0,
        per_minute: vec![MinuteCount::default(); MINUTES],
        p99_ms: None,
        timed: 0,
        last_ms: 0,
    }
}

/// The `q` quantile of `values` (nearest rank); `None` when empty.
pub fn percentile(values: &mut [u64], q: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

/// Reads the access lines of the last hour and counts them.
#[derive(Debug, Clone)]
pub struct AccessLog {
    client: Client,
    log_group: String,
    filter: String,
}

impl AccessLog {
    pub fn new(sdk: &SdkConfig, cfg: &AwsConfig) -> Self {
        Self {
            client: Client::new(&cfg.logs_sdk(sdk)),
            log_group: cfg.log_group_or_fallback(),
            filter: cfg.access_log_filter.trim().to_owned(),
        }
    }

    /// The access lines of `[from_ms, to_ms)`, counted as they arrive (nothing is kept but
    /// the counts); at most [`MAX_PAGES`] pages.
    pub async fn read(&self, from_ms: i64, to_ms: i64) -> Result<AccessSummary, ProbeError> {
        let mut counter = Counter::new(from_ms, to_ms);
        let mut token: Option<String> = None;
        let mut tokens = std::collections::HashSet::new();
        let mut truncated = false;
        for page in 1.. {
            let out = call(
                System::Logs,
                "FilterLogEvents",
                self.client
                    .filter_log_events()
                    .log_group_name(&self.log_group)
                    .set_filter_pattern(Some(self.filter.clone()).filter(|f| !f.is_empty()))
                    .start_time(from_ms)
                    .end_time(to_ms - 1)
                    .set_next_token(token.take())
                    .send(),
            )
            .await?;
            for e in out.events() {
                if let (Some(at), Some(message)) = (e.timestamp(), e.message()) {
                    counter.add(at, message);
                }
            }
            match out.next_token() {
                Some(_) if page >= MAX_PAGES => {
                    truncated = true;
                    break;
                }
                Some(next) if tokens.insert(next.to_owned()) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        let mut summary = counter.finish();
        summary.truncated = truncated;
        summary.filter = redact::sanitize(&self.filter);
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uvicorn_nginx_and_alb_style_lines() {
        let uvicorn = parse(
            "INFO:     10.0.1.23:41234 - \"POST /v1/auth/otp/start HTTP/1.1\" 504 Gateway Timeout",
        )
        .unwrap();
        assert_eq!(uvicorn.method, "POST");
        assert_eq!(uvicorn.path, "/v1/auth/otp/start");
        assert_eq!(uvicorn.status, 504);
        assert_eq!(uvicorn.duration_ms, None);
        let nginx = parse("10.0.1.5 - - [30/Nov/2026:08:00:00 +0000] \"GET /health?x=1 HTTP/1.1\" 200 17 \"-\" \"ELB-HealthChecker/2.0\" 0.003s").unwrap();
        assert_eq!((nginx.path.as_str(), nginx.status), ("/health", 200));
        assert_eq!(nginx.duration_ms, Some(3));
        let timed = parse("\"POST /v1/auth/otp/start HTTP/2.0\" 504 60012ms").unwrap();
        assert_eq!(timed.duration_ms, Some(60_012));
        // A quoted string before the request line is skipped.
        let later = parse("msg=\"hello world\" \"DELETE /v1/me HTTP/1.0\" 204").unwrap();
        assert_eq!((later.method.as_str(), later.status), ("DELETE", 204));
    }

    #[test]
    fn refuses_what_is_not_an_access_line() {
        for line in [
            "[OTP] OTP sent successfully phone_last4=6318 status=pending",
            "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
            "\"POST /v1/auth/otp/start HTTP/1.1\" abc",
            "\"POST /v1/auth/otp/start HTTP/1.1\" 999",
            "\"BREW /pot HTTP/1.1\" 418",
            "\"POST v1/no-slash HTTP/1.1\" 200",
            "\"POST /a b HTTP/1.1\" 200",
            "\"POST /unterminated HTTP/1.1 200",
            "",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }

    #[test]
    fn hostile_paths_are_sanitised_and_cut() {
        let long = format!("\"GET /{}\u{1b}[31m HTTP/1.1\" 200", "a".repeat(500));
        let line = parse(&long).unwrap();
        assert!(line.path.chars().count() <= MAX_PATH);
        assert!(!line.path.contains('\u{1b}'));
    }

    #[test]
    fn counts_by_endpoint_status_and_minute() {
        let from = 1_000_000_000_000;
        let to = from + WINDOW_MS;
        let otp = "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 504 Gateway Timeout";
        let health = "INFO:     10.0.1.3:1 - \"GET /health HTTP/1.1\" 200 OK";
        let lines = vec![
            (from - 1, otp),               // before the window
            (from, otp),                   // minute 0
            (from + 59_999, otp),          // minute 0
            (from + 60_000, health),       // minute 1
            (to - 1, otp),                 // last minute
            (to, otp),                     // after the window
            (from + 5, "[OTP] something"), // not an access line
        ];
        let summary = summarize(lines, from, to);
        assert_eq!(summary.lines, 5);
        assert_eq!(summary.unparsed, 1);
        let start = summary.endpoint("POST", "/v1/auth/otp/start").unwrap();
        assert_eq!(start.requests, 3);
        assert_eq!(start.count(504), 3);
        assert_eq!(start.errors_5xx, 3);
        assert_eq!(start.ok(), 0);
        assert_eq!(start.per_minute.len(), MINUTES);
        assert_eq!(start.per_minute[0].requests, 2);
        assert_eq!(start.per_minute[MINUTES - 1].errors_5xx, 1);
        assert_eq!(start.last_ms, to - 1);
        let h = summary.endpoint("GET", "/health").unwrap();
        assert_eq!((h.requests, h.ok(), h.errors_5xx), (1, 1, 0));
        // Busiest first.
        assert_eq!(summary.endpoints[0].path, "/v1/auth/otp/start");
    }

    #[test]
    fn endpoints_past_the_cap_are_counted_as_other() {
        let from = 0;
        let lines: Vec<String> = (0..40)
            .map(|i| format!("\"GET /item/{i} HTTP/1.1\" 200"))
            .collect();
        let summary = summarize(lines.iter().map(|l| (10, l.as_str())), from, WINDOW_MS);
        assert_eq!(summary.endpoints.len(), MAX_ENDPOINTS);
        let other = summary
            .endpoints
            .iter()
            .find(|e| e.path == "other")
            .unwrap();
        assert_eq!(other.requests, 40 - (MAX_ENDPOINTS as u64 - 1));
        assert_eq!(
            summary.endpoints.iter().map(|e| e.requests).sum::<u64>(),
            40
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&mut values, 0.99), Some(99));
        assert_eq!(percentile(&mut values, 0.5), Some(50));
        assert_eq!(percentile(&mut [], 0.99), None);
        let from = 0;
        let lines: Vec<String> = (1..=100)
            .map(|i| format!("\"POST /x HTTP/1.1\" 200 {i}ms"))
            .collect();
        let summary = summarize(lines.iter().map(|l| (1, l.as_str())), from, WINDOW_MS);
        assert_eq!(summary.endpoints[0].p99_ms, Some(99));
        assert_eq!(summary.endpoints[0].timed, 100);
    }
}
