//! The CloudWatch Logs probe (aws-sdk-cloudwatchlogs): FilterLogEvents from 30 minutes back,
//! as the runbook's `aws logs tail --since 30m`, then follow: poll, page through `nextToken`,
//! never report an event twice (by eventId), back off on ThrottlingException. Each line is
//! classified against the runbook's list (provider initialised, OTP sent, credential error,
//! service not found, Twilio timeout, ...) so panes highlight and the diagnosis counts them.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use super::aws::call;
use super::{ErrorKind, Observation, ProbeError, System};
use crate::config::AwsConfig;
use crate::redact;

/// Live Tail first, polling as the fallback (`live_tail.rs`).
pub mod live_tail;

/// New events from one poll (or one Live Tail update), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub events: Vec<Event>,
    /// How the lines are followed from now on, when that changed with this batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow: Option<FollowMode>,
}

/// How the follower gets new lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum FollowMode {
    /// A CloudWatch Logs Live Tail session streams them; `sampled` while Live Tail sends only a
    /// sample of the matching lines (more than 500 a second); `backfill_failed` says why the
    /// lines from before the session are missing (FilterLogEvents failed) until a later try
    /// reads them.
    LiveTail {
        sampled: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        backfill_failed: Option<String>,
    },
    /// FilterLogEvents is polled; `why` says why not Live Tail (one line), when it was tried.
    Polling { why: Option<String> },
}

impl FollowMode {
    /// How the lines are followed, in one line for `check`'s table and the report.
    pub fn line(&self) -> String {
        match self {
            Self::LiveTail {
                sampled,
                backfill_failed,
            } => {
                let mut line = "Live Tail".to_owned();
                if *sampled {
                    line.push_str(
                        ", sampled (more than 500 matching lines a second: not every line is shown)",
                    );
                }
                if let Some(why) = backfill_failed {
                    line.push_str("; ");
                    line.push_str(why);
                }
                line
            }
            Self::Polling { why: Some(why) } => why.clone(),
            Self::Polling { why: None } => "polling FilterLogEvents".into(),
        }
    }
}

/// One log event, sanitised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub stream: String,
    pub timestamp_ms: i64,
    pub message: String,
    pub kind: LineKind,
}

/// What a line says, by the runbook's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Twilio 21606 / 21659 / 21212: the SMS provider's From number is not usable.
    FromNumberInvalid,
    /// The provider is not configured: variables missing.
    ProviderNotConfigured,
    /// Startup validation failed (`ValueError`, `Application startup failed`).
    StartupFailure,
    /// A uvicorn access line.
    Access,
    Other,
}

/// How far back each poll looks again, for events ingested late.
pub const OVERLAP_MS: i64 = 5_000;
/// The longest wait between polls while throttled.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Pages read by one poll at most; the rest is read by the next (it starts where this ended).
const MAX_PAGES: usize = 50;
/// Event ids remembered for de-duplication at most (a burst's overlap window can hold more).
pub const MAX_SEEN: usize = 20_000;

/// Follows the service's log group: each [`LogsFollower::poll`] returns only unseen events.
#[derive(Debug)]
pub struct LogsFollower {
    client: Client,
    log_group: String,
    filter: Option<String>,
    since_ms: i64,
    /// Newest timestamp seen so far.
    last_ms: Option<i64>,
    /// eventIds seen within the overlap window, with their timestamps (at most about
    /// [`MAX_SEEN`]).
    seen: HashMap<String, i64>,
    /// No poll starts before this: raised when a burst fills the overlap window.
    floor_ms: i64,
    /// FilterLogEvents `limit`; `None` leaves it to the service (10 000).
    page_size: Option<i32>,
    /// How [`LogsFollower::follow`] tells the pane it follows, with its first good report.
    announce: Option<FollowMode>,
}

impl LogsFollower {
    /// Follows `cfg.log_group` with `cfg.log_filter` (empty: every line) from `since_ms`.
    pub fn new(sdk: &SdkConfig, cfg: &AwsConfig, since_ms: i64) -> Self {
        Self {
            client: Client::new(&cfg.logs_sdk(sdk)),
            log_group: cfg.log_group_or_fallback(),
            filter: Some(cfg.log_filter.trim().to_owned()).filter(|f| !f.is_empty()),
            since_ms,
            last_ms: None,
            seen: HashMap::new(),
            floor_ms: i64::MIN,
            page_size: None,
            announce: None,
        }
    }

    /// Says how the lines are followed with the first good report of [`LogsFollower::follow`].
    #[must_use]
    pub fn announcing(mut self, mode: FollowMode) -> Self {
        self.announce = Some(mode);
        self
    }

    /// Sets the events per FilterLogEvents page (tests use a small one to exercise paging).
    #[must_use]
    pub fn with_page_size(mut self, events: i32) -> Self {
        self.page_size = Some(events);
        self
    }

    /// Reads every page of events since the last poll (minus [`OVERLAP_MS`]); returns those
    /// never returned before, sanitised and classified, oldest first.
    pub async fn poll(&mut self) -> Result<Batch, ProbeError> {
        let mut events = Vec::new();
        self.poll_pages(|batch| events.extend(batch.events)).await?;
        events.sort_by(|a, b| (a.timestamp_ms, &a.id).cmp(&(b.timestamp_ms, &b.id)));
        Ok(Batch {
            events,
            follow: None,
        })
    }

    /// Reads every page of events since the last poll (minus [`OVERLAP_MS`]) and hands each
    /// page's unseen events to `page` as soon as it arrives, so a burst never piles up here;
    /// returns how many events were new. A failed page loses nothing: the next poll starts
    /// before it.
    pub async fn poll_pages(&mut self, page: impl FnMut(Batch)) -> Result<usize, ProbeError> {
        self.poll_pages_since(i64::MIN, page).await
    }

    /// [`LogsFollower::poll_pages`], starting no earlier than `not_before_ms` (a narrow read
    /// of the last seconds, whatever the follower has seen).
    pub async fn poll_pages_since(
        &mut self,
        not_before_ms: i64,
        mut page: impl FnMut(Batch),
    ) -> Result<usize, ProbeError> {
        let start = self.next_start().max(not_before_ms);
        let mut token: Option<String> = None;
        let mut tokens = HashSet::new();
        let mut new = 0;
        for _ in 0..MAX_PAGES {
            let out = call(
                System::Logs,
                "FilterLogEvents",
                self.client
                    .filter_log_events()
                    .log_group_name(&self.log_group)
                    .set_filter_pattern(self.filter.clone())
                    .start_time(start)
                    .set_limit(self.page_size)
                    .set_next_token(token.take())
                    .send(),
            )
            .await?;
            let mut events = Vec::new();
            for e in out.events() {
                let (Some(id), Some(timestamp_ms)) = (e.event_id(), e.timestamp()) else {
                    continue;
                };
                if self.seen.insert(id.to_owned(), timestamp_ms).is_some() {
                    continue;
                }
                let message = redact::sanitize(&cut_line(e.message().unwrap_or_default()));
                events.push(Event {
                    id: id.to_owned(),
                    stream: redact::sanitize(e.log_stream_name().unwrap_or_default()),
                    timestamp_ms,
                    kind: classify(&message),
                    message,
                });
            }
            if let Some(newest) = events.iter().map(|e| e.timestamp_ms).max() {
                self.last_ms = Some(self.last_ms.map_or(newest, |last| last.max(newest)));
            }
            self.forget_old_ids();
            if !events.is_empty() {
                new += events.len();
                events.sort_by(|a, b| (a.timestamp_ms, &a.id).cmp(&(b.timestamp_ms, &b.id)));
                page(Batch {
                    events,
                    follow: None,
                });
            }
            // A token seen before would loop forever: stop there.
            match out.next_token() {
                Some(next) if tokens.insert(next.to_owned()) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(new)
    }

    /// Records that events up to `timestamp_ms` were seen another way (Live Tail), so the next
    /// poll starts [`OVERLAP_MS`] before them instead of re-reading what the stream delivered.
    pub fn saw_until(&mut self, timestamp_ms: i64) {
        self.last_ms = Some(
            self.last_ms
                .map_or(timestamp_ms, |last| last.max(timestamp_ms)),
        );
    }

    /// Where the next poll starts: [`OVERLAP_MS`] before the newest event seen (for events
    /// ingested late), or later when a burst filled that window past [`MAX_SEEN`] ids.
    fn next_start(&self) -> i64 {
        let overlap = self
            .last_ms
            .map_or(self.since_ms, |last| self.since_ms.max(last - OVERLAP_MS));
        overlap.max(self.floor_ms)
    }

    /// Forgets the ids the next poll cannot return again. In a burst that leaves more than
    /// [`MAX_SEEN`] of them, the overlap shrinks to the newest millisecond instead: memory stays
    /// bounded, and only an event ingested late inside the burst could be missed.
    fn forget_old_ids(&mut self) {
        let start = self.next_start();
        self.seen.retain(|_, ts| *ts >= start);
        if self.seen.len() > MAX_SEEN {
            if let Some(last) = self.last_ms {
                self.floor_ms = last;
                self.seen.retain(|_, ts| *ts >= last);
            }
        }
    }

    /// Polls and sends what is new (or the error) as [`Observation::Logs`], one observation per
    /// page as it arrives, waiting [`next_wait`] between polls. Ends when the receiver is
    /// dropped.
    pub async fn follow(mut self, every: Duration, tx: UnboundedSender<Observation>) {
        let mut wait = every;
        // Whether the last report was a good answer: the first answer and the first good one
        // after an error are news even when empty (a quiet log group settles, a pane in error
        // recovers); later empty polls are not, so an idle console does not redraw.
        let mut reported_ok: Option<bool> = None;
        let mut announce = self.announce.take();
        loop {
            let mut send = |result: Result<Batch, ProbeError>| {
                let at_ms = chrono::Utc::now().timestamp_millis();
                let result = result.map(|mut batch| {
                    if batch.follow.is_none() {
                        batch.follow = announce.take();
                    }
                    batch
                });
                tx.send(Observation::Logs { at_ms, result }).is_ok()
            };
            let mut receiver_gone = false;
            let result = tokio::select! {
                result = self.poll_pages(|batch| receiver_gone |= !send(Ok(batch))) => result,
                () = tx.closed() => return,
            };
            if receiver_gone {
                return;
            }
            wait = next_wait(wait, every, &result);
            match result {
                Ok(new) => {
                    if new == 0 && reported_ok != Some(true) && !send(Ok(Batch::default())) {
                        return;
                    }
                    reported_ok = Some(true);
                }
                Err(e) => {
                    reported_ok = Some(false);
                    if !send(Err(e)) {
                        return;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = tx.closed() => return,
            }
        }
    }
}

/// The wait before the next poll, after one that found `result` new lines (or failed) and
/// waited `wait` before: a quarter of `every` while lines keep coming (an engineer watching a
/// test OTP sees its lines sooner), `every` when idle; throttling doubles it up to
/// [`MAX_BACKOFF`], a success resets it.
pub fn next_wait(wait: Duration, every: Duration, result: &Result<usize, ProbeError>) -> Duration {
    match result {
        Err(e) if e.kind == ErrorKind::Throttled => (wait * 2).min(MAX_BACKOFF).max(every),
        Ok(0) => every,
        Ok(_) => (every / 4).max(Duration::from_millis(100)),
        Err(_) => wait,
    }
}

/// The longest log line stored: CloudWatch Logs caps an event at 256 KB, so only a line from
/// something else (or a changed limit) is cut.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// `message` as it is stored: whole, or cut at [`MAX_LINE_BYTES`] with its real length said.
pub fn cut_line(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_LINE_BYTES {
        return std::borrow::Cow::Borrowed(message);
    }
    let mut end = MAX_LINE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{} … [cut: the line has {} KB]",
        &message[..end],
        message.len() / 1024
    ))
}

/// What a log line says, by the runbook's list (first match wins, most specific first).
pub fn classify(message: &str) -> LineKind {
    let lower = message.to_ascii_lowercase();
    // Words of letters, digits and `_`, so `TWILIO_TIMEOUT_SECONDS` is not "timeout" and
    // `20003` matches only as a whole number.
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let word = |w: &str| words.contains(&w);
    let any = |ws: &[&str]| ws.iter().any(|w| word(w));
    let has = |p: &str| lower.contains(p);

    let trimmed = lower.trim_start();
    if trimmed.starts_with("info:") && has("\" ") && has(" http/") {
        LineKind::Access
    } else if has("otp sent successfully") {
        LineKind::OtpSent
    } else if has("otp verified") {
        LineKind::OtpVerified
    } else if has("using twilio verify provider") || has("using twilio sms provider") {
        LineKind::ProviderInitialised
    } else if word("20003") || has("invalid credentials") || word("authenticate") {
        LineKind::CredentialError
    } else if word("20404") || has("service not found") {
        LineKind::ServiceNotFound
    } else if any(&["20005", "10001"]) || has("account not active") || has("suspended") {
        LineKind::AccountInactive
    } else if any(&["60203", "60202"]) || has("rate limit") || has("too many") {
        LineKind::RateLimited
    } else if any(&["timeout", "timeouterror"]) || has("timed out") {
        LineKind::TwilioTimeout
    } else if any(&["21606", "21659", "21212"]) || has("invalid from number") {
        LineKind::FromNumberInvalid
    } else if has("twilio error") || has("twilio connection error") {
        LineKind::TwilioError
    } else if has("not configured")
        || has("waiting for the otp provider")
        || (has("[otp]") && has(" not set"))
    {
        LineKind::ProviderNotConfigured
    } else if word("valueerror") || has("application startup failed") || has("traceback") {
        LineKind::StartupFailure
    } else {
        LineKind::Other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::sim::{self, scenario, Ports, Simulator};

    async fn start(name: &str) -> Simulator {
        Simulator::start(
            scenario::load(name).expect("scenario"),
            0.05,
            Ports::default(),
        )
        .await
        .expect("simulator starts")
    }

    async fn follower(sim: &Simulator, filter: &str) -> LogsFollower {
        let cfg = AwsConfig {
            endpoint_url: Some(sim.urls.aws.clone()),
            log_filter: filter.into(),
            ..AwsConfig::default()
        };
        let since = chrono::Utc::now().timestamp_millis() - 30 * 60_000;
        LogsFollower::new(&sim_sdk(&cfg).await, &cfg, since)
    }

    /// The SDK configuration for the simulator at `cfg.endpoint_url`, with its keys.
    async fn sim_sdk(cfg: &AwsConfig) -> SdkConfig {
        super::super::aws::sdk_config(cfg)
            .await
            .to_builder()
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                aws_sdk_ecs::config::Credentials::new(
                    sim::ACCESS_KEY_ID,
                    sim::SECRET_ACCESS_KEY,
                    None,
                    None,
                    "test",
                ),
            ))
            .build()
    }

    fn ids(batch: &Batch) -> HashSet<String> {
        batch.events.iter().map(|e| e.id.clone()).collect()
    }

    #[tokio::test]
    async fn polls_never_repeat_and_see_new_lines() {
        let sim = start("healthy").await;
        let mut logs = follower(&sim, "OTP").await;
        let first = logs.poll().await.expect("first poll");
        assert!(first
            .events
            .iter()
            .any(|e| e.kind == LineKind::ProviderInitialised));
        assert!(first
            .events
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));

        let answer = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .post(format!("{}/v1/auth/otp/start", sim.urls.api))
            .json(&serde_json::json!({ "phone": "+17133056318" }))
            .send()
            .await
            .expect("otp start");
        assert!(answer.status().is_success());

        let second = logs.poll().await.expect("second poll");
        assert!(ids(&first).is_disjoint(&ids(&second)));
        assert!(
            second.events.iter().any(|e| e.kind == LineKind::OtpSent),
            "{second:?}"
        );
        let third = logs.poll().await.expect("third poll");
        assert!(ids(&third).is_disjoint(&ids(&first)));
        assert!(ids(&third).is_disjoint(&ids(&second)));
    }

    #[tokio::test]
    async fn pages_through_next_token() {
        let sim = start("healthy").await;
        let mut whole = follower(&sim, "").await;
        let before = whole.poll().await.expect("one page");
        assert!(before.events.len() > 6, "too few events to page");
        // Small pages, but enough of them for the background users' access lines too.
        let mut paged = follower(&sim, "").await.with_page_size(10);
        let batch = paged.poll().await.expect("paged");
        let paged_ids = ids(&batch);
        assert_eq!(paged_ids.len(), batch.events.len(), "duplicates");
        assert!(ids(&before).is_subset(&paged_ids));
    }

    #[tokio::test]
    async fn follow_sends_batches_and_ends_with_the_receiver() {
        let sim = start("healthy").await;
        let logs = follower(&sim, "OTP").await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(logs.follow(Duration::from_millis(50), tx));
        let observation = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("in time")
            .expect("an observation");
        assert!(
            matches!(&observation, Observation::Logs { result: Ok(b), .. } if !b.events.is_empty()),
            "{observation:?}"
        );
        drop(rx);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("follow ends")
            .expect("no panic");
    }

    /// A retry storm: 30,000 matching lines inside one overlap window. Pages reach the caller
    /// as they arrive (never more than a page at once), every line is counted once, and the
    /// follower remembers at most [`MAX_SEEN`] ids, so a burst of any size is bounded here.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_burst_flows_page_by_page_and_memory_stays_bounded() {
        let sim = start("healthy").await;
        let sdk = sim_sdk(&AwsConfig {
            endpoint_url: Some(sim.urls.aws.clone()),
            ..AwsConfig::default()
        })
        .await;
        let logs = Client::new(&sdk);
        let group = AwsConfig::default().log_group_or_fallback();
        logs.create_log_stream()
            .log_group_name(&group)
            .log_stream_name("storm")
            .send()
            .await
            .expect("stream");
        let now = chrono::Utc::now().timestamp_millis();
        for chunk in 0..3 {
            let events = (0..10_000)
                .map(|i| {
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(now - 2_000 + (chunk * 10_000 + i) / 20)
                        .message(format!("[OTP] Twilio timeout retry {chunk}-{i}"))
                        .build()
                        .expect("event")
                })
                .collect();
            logs.put_log_events()
                .log_group_name(&group)
                .log_stream_name("storm")
                .set_log_events(Some(events))
                .send()
                .await
                .expect("put");
        }
        let mut follower = follower(&sim, "retry").await.with_page_size(1_000);
        let (mut pages, mut largest, mut ids) = (0, 0, HashSet::new());
        let mut total = 0;
        // Several polls: one reads at most MAX_PAGES pages, the next goes on from there.
        for _ in 0..4 {
            total += follower
                .poll_pages(|batch| {
                    pages += 1;
                    largest = largest.max(batch.events.len());
                    ids.extend(batch.events.into_iter().map(|e| e.id));
                })
                .await
                .expect("a poll");
            assert!(
                follower.seen.len() <= MAX_SEEN + 1_000,
                "{}",
                follower.seen.len()
            );
        }
        assert_eq!(total, 30_000, "every line once");
        assert_eq!(ids.len(), 30_000, "no duplicates");
        assert!(
            pages >= 30 && largest <= 1_000,
            "{pages} pages, largest {largest}"
        );
    }

    #[tokio::test]
    async fn missing_log_group_is_not_found() {
        let sim = start("healthy").await;
        let mut logs = follower(&sim, "OTP").await;
        logs.log_group = "/ecs/nope".into();
        let err = logs.poll().await.expect_err("no group");
        assert_eq!(err.kind, ErrorKind::NotFound, "{err:?}");
        assert_eq!(err.code.as_deref(), Some("ResourceNotFoundException"));
        assert!(err.message.contains("aws.log_group"));
    }

    #[test]
    fn classifies_the_runbook_lines() {
        use LineKind::*;
        let table = [
            ("[OTP] Using Twilio Verify provider", ProviderInitialised),
            ("[OTP] Using Twilio SMS provider", ProviderInitialised),
            ("[OTP] OTP sent successfully phone_last4=6318 status=pending", OtpSent),
            ("[OTP] OTP verified phone_last4=6318", OtpVerified),
            ("[OTP] OTP verification failed phone_last4=6318", Other),
            ("[OTP] Twilio error 20003: Authenticate (Invalid credentials) http_status=401 phone_last4=6318", CredentialError),
            ("Invalid credentials", CredentialError),
            ("[OTP] Twilio error 20404: The requested resource /Services/VA0a1b2c3d4e5f60718293a4b5c6d7e8f9 was not found (Service not found) http_status=404 phone_last4=6318", ServiceNotFound),
            ("Service not found", ServiceNotFound),
            ("[OTP] Twilio error 20005: Account not active http_status=401 phone_last4=6318", AccountInactive),
            ("[OTP] Twilio error 60203: Max send attempts reached http_status=429 phone_last4=6318", RateLimited),
            ("[OTP] Rate limit exceeded phone_last4=6318", RateLimited),
            ("[OTP] Twilio timeout after 30s (TimeoutError) phone_last4=6318", TwilioTimeout),
            ("timeout", TwilioTimeout),
            ("[OTP] Twilio connection error: connect timed out phone_last4=6318", TwilioTimeout),
            ("[OTP] Twilio error 60200: Invalid parameter `To` http_status=400 phone_last4=6318", TwilioError),
            ("[OTP] Twilio Verify provider not configured: TWILIO_VERIFY_SERVICE_SID not set; waiting for provider phone_last4=6318", ProviderNotConfigured),
            ("[OTP] WARNING: TWILIO_VERIFY_SERVICE_SID not set; Twilio provider will be initialised on first use", ProviderNotConfigured),
            ("[OTP] ERROR: gave up waiting for the OTP provider", ProviderNotConfigured),
            ("ValueError: OTP_PROVIDER=stub is not allowed when ENV=prod", StartupFailure),
            ("ERROR:    Application startup failed. Exiting.", StartupFailure),
            ("ERROR:    Traceback (most recent call last):", StartupFailure),
            ("INFO:     10.0.1.2:1234 - \"GET /health HTTP/1.1\" 200 OK", Access),
            ("INFO:     10.0.1.2:1234 - \"POST /v1/auth/otp/start HTTP/1.1\" 500 Internal Server Error", Access),
            ("INFO:     Application startup complete.", Other),
            ("[CONFIG] TWILIO_TIMEOUT_SECONDS=30", Other),
            ("[OTP] Using stub provider (no SMS is sent)", Other),
            ("20003", CredentialError),
            ("[OTP] Twilio error 21606: The From phone number +15125550100 is not a valid, SMS-capable inbound phone number (Invalid From number)", FromNumberInvalid),
            ("took 21606ms", Other),
            // Codes match as whole numbers only.
            ("phone_last4=2000 took 20003ms", Other),
        ];
        for (line, kind) in table {
            assert_eq!(classify(line), kind, "{line}");
        }
    }
}
