//! Following the log group with CloudWatch Logs Live Tail (`StartLiveTail`, the SDK's
//! event-stream receiver), polling as the fallback.
//!
//! [`follow`] opens a session on the log group's ARN with the filter pattern, waits for its
//! `sessionStart`, then backfills with FilterLogEvents ([`LogsFollower`]: the last 30 minutes on
//! the first session, the gap since the last line on later ones) and streams each
//! `sessionUpdate`'s lines, sanitised and classified like polled ones. Live Tail events have no
//! eventId, so lines are de-duplicated across the backfill and the stream by their content
//! (stream, timestamp, message) within a window of [`OVERLAP_MS`] behind the newest line: two
//! identical lines in one stream in the same millisecond read as one.
//!
//! A backfill that fails (FilterLogEvents throttled, or not permitted while StartLiveTail is)
//! does not stop the stream: the session streams on, the pane's follow-mode line says the
//! lines from before the session are missing and when the backfill is tried again (after 2 s,
//! doubling to a minute), and the keys of streamed lines are held meanwhile, so the late
//! backfill repeats none of them.
//!
//! A session is renewed before AWS's 3-hour limit ([`SESSION_RENEW`]) and after it ends
//! (`SessionTimeoutException`), and reopened after an error with a growing pause. The follower
//! falls back to [`LogsFollower`]'s adaptive polling, saying why in one line, when Live Tail is
//! not permitted (AccessDenied), not supported by the endpoint (unknown operation, not an event
//! stream, the `stream-` host does not resolve), its sessions end at once without the limit
//! (moto answers one update and closes), or keep failing. Every read of the stream has a
//! timeout ([`QUIET_LIMIT`]: AWS sends an update every second), so a dead connection is noticed.
//!
//! A fallback for a passing cause (sessions that fail, or end at once: a quota of concurrent
//! sessions reached, a network hiccup) is not for good: polling keeps the pane fed while Live
//! Tail is tried again after [`RETRY_FIRST`], doubling to [`RETRY_MAX`], once each time (a
//! session that holds resets the back-off). Not permitted is tried again only when the AWS
//! credentials change (another profile, a new role session: the permissions may differ), not
//! supported never. Polled lines pass the same de-duplication as the stream's, so nothing is
//! shown twice across a switch either way, and the pane's follow-mode line says which way
//! lines come and when Live Tail is tried again.
//!
//! While the console's own test OTP is in flight ([`Hot`], opened by the engine when it sends
//! one and settled when its answer is in), the follower also polls FilterLogEvents every
//! [`HOT_EVERY`] from a few seconds back, so that request's lines reach the pane without
//! waiting for the next one-a-second update; polled lines pass the same de-duplication, a
//! throttled or failed poll doubles the wait (to [`HOT_MAX_EVERY`]), and with no test OTP
//! there is no such poll at all (an idle console costs what it did).
//!
//! The SDK sends StartLiveTail to `stream-<host>`; for a loopback endpoint (the simulator,
//! moto) that name does not resolve, so [`LoopbackStreamHost`] removes the prefix before the
//! request is signed — only for 127.0.0.1, localhost and [::1].

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_cloudwatchlogs::config::{
    ConfigBag, Intercept, ProvideCredentials, RuntimeComponents, SharedCredentialsProvider,
};
use aws_sdk_cloudwatchlogs::error::BoxError;
use aws_sdk_cloudwatchlogs::types::error::StartLiveTailResponseStreamError;
use aws_sdk_cloudwatchlogs::types::{
    LiveTailSessionLogEvent, LiveTailSessionMetadata, StartLiveTailResponseStream,
};
use aws_sdk_cloudwatchlogs::Client;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{
    classify, cut_line, next_wait, Batch, Event, FollowMode, LogsFollower, MAX_SEEN, OVERLAP_MS,
};
use crate::config::AwsConfig;
use crate::probe::aws::{call, error};
use crate::probe::{ErrorKind, Observation, ProbeError, System};
use crate::redact;

/// A session is closed and a new one opened after this long, before AWS ends it at 3 hours.
pub const SESSION_RENEW: Duration = Duration::from_secs(3 * 3600 - 5 * 60);
/// No frame for this long (AWS sends an update every second) ends the session as failed.
pub const QUIET_LIMIT: Duration = Duration::from_secs(15);
/// A session the server closes sooner than this, without the time limit, ended "at once".
const SHORT_SESSION: Duration = Duration::from_secs(10);
/// Sessions in a row that end at once, or fail, before the follower falls back to polling.
const TRIES: u32 = 3;
/// FilterLogEvents polls one backfill makes at most (each reads up to 50 pages).
const BACKFILL_POLLS: usize = 20;
/// The `sampled` badge stays this long after the last sampled update, so it can be read.
const SAMPLED_BADGE: Duration = Duration::from_secs(30);
/// After a fallback for a passing cause, Live Tail is tried again this long later...
pub const RETRY_FIRST: Duration = Duration::from_secs(60);
/// ...doubling each time it fails again, up to this (also how often changed credentials are
/// looked for after "not permitted").
pub const RETRY_MAX: Duration = Duration::from_secs(15 * 60);
/// A session that streamed this long held: the back-off starts over.
const HELD: Duration = Duration::from_secs(60);
/// While a test OTP is in flight, FilterLogEvents is polled this often besides the stream...
pub const HOT_EVERY: Duration = Duration::from_millis(250);
/// ...doubling on throttling or errors up to this.
pub const HOT_MAX_EVERY: Duration = Duration::from_secs(2);
/// A hot window lasts this long at most after a test OTP is sent...
pub const HOT_FOR: Duration = Duration::from_secs(60);
/// ...or this long after its answer came (its last lines are being ingested meanwhile).
pub const HOT_GRACE: Duration = Duration::from_secs(3);

/// The console's own test OTP in flight, as the follower sees it: until when it polls
/// FilterLogEvents fast besides the stream. The engine opens a window when it sends a test OTP
/// ([`Hot::open`]) and settles it when the answer is in ([`Hot::settle`]); the follower holds a
/// [`Hot::watch`]. Test OTPs in flight together keep it open until the last one's answer.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hot {
    window: Arc<watch::Sender<Option<Instant>>>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for Hot {
    fn default() -> Self {
        Self {
            window: Arc::new(watch::channel(None).0),
            in_flight: Arc::default(),
        }
    }
}

impl Hot {
    /// No window open.
    pub fn new() -> Self {
        Self::default()
    }

    /// A test OTP was just sent: the window lasts `lasting` from now (or longer, when one
    /// already does).
    pub fn open(&self, lasting: Duration) {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let until = Instant::now() + lasting;
        self.window.send_modify(|current| {
            *current = Some(current.map_or(until, |c| c.max(until)));
        });
    }

    /// The test OTP's answer is in: the window closes `grace` from now at the latest, unless
    /// another test OTP opened since is still in flight.
    pub fn settle(&self, grace: Duration) {
        let settled = self.in_flight.fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |n| Some(n.saturating_sub(1)),
        );
        if settled.unwrap_or(0) > 1 {
            return;
        }
        let until = Instant::now() + grace;
        self.window.send_modify(|current| {
            if let Some(c) = current {
                *c = (*c).min(until);
            }
        });
    }

    /// What the follower reads.
    pub fn watch(&self) -> watch::Receiver<Option<Instant>> {
        self.window.subscribe()
    }
}

/// Removes the `stream-` host prefix the SDK adds to StartLiveTail for loopback endpoints
/// (`http://stream-127.0.0.1:PORT` does not resolve); every other host is left alone.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackStreamHost;

impl Intercept for LoopbackStreamHost {
    fn name(&self) -> &'static str {
        "LoopbackStreamHost"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(uri) = unprefixed_loopback(context.request().uri()) {
            context.request_mut().set_uri(uri)?;
        }
        Ok(())
    }
}

/// `uri` without the `stream-` host prefix when the host behind it is loopback.
pub fn unprefixed_loopback(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host_and_rest = rest.strip_prefix("stream-")?;
    let host_end = if host_and_rest.starts_with('[') {
        host_and_rest.find(']')? + 1
    } else {
        host_and_rest
            .find([':', '/', '?'])
            .unwrap_or(host_and_rest.len())
    };
    let host = &host_and_rest[..host_end];
    matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "[::1]"
    )
    .then(|| format!("{scheme}://{host_and_rest}"))
}

/// The CloudWatch Logs client for Live Tail: the SDK configuration plus [`LoopbackStreamHost`].
pub fn client(sdk: &SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
            .interceptor(LoopbackStreamHost)
            .build(),
    )
}

/// Why the follower polls instead.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fallback {
    /// The code and the action refused.
    NotPermitted(String),
    NotSupported(String),
    EndsAtOnce,
    Failing(String),
}

/// When Live Tail is tried again after a fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Retry {
    /// The endpoint does not speak it.
    Never,
    /// After this long (sessions failed, or ended at once).
    After(Duration),
    /// When the access key differs from this one (`None`: none could be had).
    CredentialsChange(Option<String>),
}

impl Fallback {
    /// The pane's follow-mode line: why polling, and when Live Tail is tried again.
    fn line(&self, retry: &Retry) -> String {
        let why = self.why();
        match retry {
            Retry::Never => why,
            Retry::After(after) => format!("{why}; Live Tail tried again in {}", span(*after)),
            Retry::CredentialsChange(_) => {
                format!("{why}; Live Tail tried again when the AWS credentials change")
            }
        }
    }

    fn why(&self) -> String {
        match self {
            Self::NotPermitted(what) => format!("polling: Live Tail not permitted ({what})"),
            Self::NotSupported(what) => {
                format!("polling: Live Tail not supported by the endpoint ({what})")
            }
            Self::EndsAtOnce => {
                "polling: Live Tail sessions end at once (the endpoint closes the stream)"
                    .to_owned()
            }
            Self::Failing(last) => format!("polling: Live Tail sessions keep failing ({last})"),
        }
    }
}

/// How one session ended.
enum Ended {
    /// Renewed before the limit, or AWS's `SessionTimeoutException`: open the next at once.
    Renew,
    /// The server closed the stream without the limit, after `lasted`.
    Closed { lasted: Duration },
    /// The stream failed, or went quiet.
    Failed(ProbeError),
    /// Nobody listens any more.
    ReceiverGone,
}

/// `90 s`, `1 min`, `15 min`, `500 ms`: a back-off as the follow-mode line says it.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else if secs > 0 {
        format!("{secs} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// How a backfill ended: read (or failed and to be tried again), or nobody listens.
enum Backfilled {
    Done,
    ReceiverGone,
}

/// A backfill that failed, to be tried again while the session streams.
#[derive(Debug)]
struct PendingBackfill {
    /// When it is tried again.
    due: Instant,
    failures: u32,
    /// The pane's words: what is missing, why, and when it is tried again.
    why: String,
}

/// Lines delivered lately, by content, to drop the same line coming the other way.
#[derive(Debug, Default)]
struct Recent {
    keys: HashMap<u64, i64>,
    newest: Option<i64>,
    floor: i64,
    /// While a backfill is pending, keys from here on are kept past the window (up to
    /// [`MAX_SEEN`]): the late backfill will read the lines the stream already delivered.
    hold_from: Option<i64>,
}

impl Recent {
    fn key(event: &Event) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&event.stream, event.timestamp_ms, &event.message).hash(&mut hasher);
        hasher.finish()
    }

    /// Whether `event` is new (and remembers it); a stream line older than the window is
    /// not (it was backfilled, or is a replay like moto's).
    fn admit(&mut self, event: &Event, from_stream: bool) -> bool {
        if from_stream && event.timestamp_ms < self.window_start() {
            return false;
        }
        if self
            .keys
            .insert(Self::key(event), event.timestamp_ms)
            .is_some()
        {
            return false;
        }
        self.newest = Some(
            self.newest
                .map_or(event.timestamp_ms, |n| n.max(event.timestamp_ms)),
        );
        true
    }

    fn window_start(&self) -> i64 {
        self.newest
            .map_or(i64::MIN, |n| n - OVERLAP_MS)
            .max(self.floor)
    }

    /// Forgets keys behind the window; past [`MAX_SEEN`] (a burst), the window shrinks to the
    /// newest millisecond so memory stays bounded.
    fn forget(&mut self) {
        let start = self.window_start();
        let keep_from = self.hold_from.map_or(start, |held| held.min(start));
        self.keys.retain(|_, ts| *ts >= keep_from);
        if self.keys.len() > MAX_SEEN {
            if let Some(newest) = self.newest {
                self.floor = newest;
                self.keys.retain(|_, ts| *ts >= newest);
            }
        }
    }
}

/// Follows the service's log group by Live Tail.
#[derive(Debug)]
pub struct LiveTail {
    client: Client,
    log_group: String,
    filter: Option<String>,
    renew_after: Duration,
    retry_first: Duration,
    retry_max: Duration,
    /// Failed sessions in a row pause 2, 4, ... times this before the next.
    pause_unit: Duration,
    /// Whose access key says whether the credentials changed after "not permitted".
    credentials: Option<SharedCredentialsProvider>,
    /// Test OTPs in flight.
    hot: Option<watch::Receiver<Option<Instant>>>,
}

impl LiveTail {
    /// Live Tail of `cfg.log_group` with `cfg.log_filter`.
    pub fn new(sdk: &SdkConfig, cfg: &AwsConfig) -> Self {
        Self {
            client: client(&cfg.logs_sdk(sdk)),
            log_group: cfg.log_group_or_fallback(),
            filter: Some(cfg.log_filter.trim().to_owned()).filter(|f| !f.is_empty()),
            renew_after: SESSION_RENEW,
            retry_first: RETRY_FIRST,
            retry_max: RETRY_MAX,
            pause_unit: Duration::from_secs(1),
            credentials: sdk.credentials_provider(),
            hot: None,
        }
    }

    /// Polls fast besides the stream while `hot` has a window open (the console's test OTP).
    #[must_use]
    pub fn with_hot(mut self, hot: watch::Receiver<Option<Instant>>) -> Self {
        self.hot = Some(hot);
        self
    }

    /// Tries Live Tail again `first` after a fallback, doubling up to `max`, and pauses
    /// `pause_unit` times 2, 4, ... after failed sessions, instead of [`RETRY_FIRST`],
    /// [`RETRY_MAX`] and a second (tests).
    #[must_use]
    pub fn retrying(mut self, first: Duration, max: Duration, pause_unit: Duration) -> Self {
        self.retry_first = first;
        self.retry_max = max;
        self.pause_unit = pause_unit;
        self
    }

    /// The access key id the credentials give now (never printed: compared only).
    async fn access_key(&self) -> Option<String> {
        let provider = self.credentials.as_ref()?;
        let credentials = provider.provide_credentials().await.ok()?;
        Some(credentials.access_key_id().to_owned())
    }

    /// Renews each session after `after` instead of [`SESSION_RENEW`] (tests).
    #[must_use]
    pub fn renewing_after(mut self, after: Duration) -> Self {
        self.renew_after = after;
        self
    }

    /// The log group's ARN (StartLiveTail takes ARNs), from DescribeLogGroups.
    pub async fn group_arn(&self) -> Result<String, ProbeError> {
        let out = call(
            System::Logs,
            "DescribeLogGroups",
            self.client
                .describe_log_groups()
                .log_group_name_prefix(&self.log_group)
                .send(),
        )
        .await?;
        out.log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(self.log_group.as_str()))
            .and_then(|g| {
                g.log_group_arn()
                    .map(str::to_owned)
                    .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_owned()))
            })
            .ok_or_else(|| ProbeError {
                system: System::Logs,
                kind: ErrorKind::NotFound,
                code: Some("ResourceNotFoundException".into()),
                message: format!(
                    "AWS DescribeLogGroups: no log group {} — fix aws.log_group (or aws.log_region) in the config",
                    redact::sanitize(&self.log_group)
                ),
            })
    }
}

/// Follows the logs by Live Tail from `poller`'s start (its backfill), sending what is new on
/// `tx` as [`Observation::Logs`] (the first report says how it follows); polls every `every` as
/// [`LogsFollower::follow`] does while Live Tail cannot be used, and tries it again after a
/// fallback for a passing cause. Ends when the receiver is dropped.
pub async fn follow(
    live: LiveTail,
    mut poller: LogsFollower,
    every: Duration,
    tx: UnboundedSender<Observation>,
) {
    let mut state = State {
        tx: &tx,
        recent: Recent::default(),
        announce: Some(FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None,
        }),
        sampled_until: None,
        backfill: None,
        hot: HotPolls::new(live.hot.clone()),
        reported: false,
        errored: false,
        held: false,
    };
    let mut tries = TRIES;
    let mut backoff = live.retry_first;
    loop {
        state.held = false;
        let Some(fallback) = state.run(&live, &mut poller, tries).await else {
            return;
        };
        if state.held {
            backoff = live.retry_first;
        }
        let retry = match &fallback {
            Fallback::NotSupported(_) => Retry::Never,
            Fallback::NotPermitted(_) => Retry::CredentialsChange(live.access_key().await),
            Fallback::EndsAtOnce | Fallback::Failing(_) => Retry::After(backoff),
        };
        state.announce = Some(FollowMode::Polling {
            why: Some(fallback.line(&retry)),
        });
        loop {
            let until = match &retry {
                Retry::Never => None,
                Retry::After(after) => Some(Instant::now() + *after),
                Retry::CredentialsChange(_) => Some(Instant::now() + live.retry_max),
            };
            if !state.poll_until(&mut poller, every, until).await {
                return;
            }
            match &retry {
                Retry::CredentialsChange(denied) if live.access_key().await == *denied => {}
                _ => break,
            }
        }
        // Once: a retry that fails goes back to polling at once, with a longer back-off.
        tries = 1;
        backoff = (backoff * 2).min(live.retry_max);
        state.sampled_until = None;
        state.announce = Some(state.live_mode());
    }
}

/// What the follower has reported so far.
struct State<'a> {
    tx: &'a UnboundedSender<Observation>,
    recent: Recent,
    /// The follow mode to send with the next report, when it changed.
    announce: Option<FollowMode>,
    /// Until when the pane shows `sampled`.
    sampled_until: Option<Instant>,
    /// A backfill that failed and is tried again.
    backfill: Option<PendingBackfill>,
    hot: HotPolls,
    /// Whether a good answer was reported yet (the first one is news even when empty).
    reported: bool,
    /// Whether the last report was an error (the next good answer is news even when empty).
    errored: bool,
    /// Whether a session held since the last fallback (streamed [`HELD`], or was renewed).
    held: bool,
}

impl State<'_> {
    /// Sessions, one after another, until the receiver goes (`None`) or Live Tail cannot be
    /// used (why): `limit` failures in a row (or sessions that end at once) fall back, a
    /// session that held restores [`TRIES`].
    async fn run(
        &mut self,
        live: &LiveTail,
        poller: &mut LogsFollower,
        mut limit: u32,
    ) -> Option<Fallback> {
        let mut tries = 0;
        let arn = loop {
            match live.group_arn().await {
                Ok(arn) => break arn,
                // Without DescribeLogGroups the ARN is unknown; polling needs neither.
                Err(e) if is_denied(&e) => {
                    return Some(Fallback::NotPermitted(format!(
                        "{} on logs:DescribeLogGroups",
                        e.code.unwrap_or_default()
                    )));
                }
                Err(e) => {
                    tries += 1;
                    if tries >= limit {
                        return Some(Fallback::Failing(e.message));
                    }
                    if !self.send(Err(e)) {
                        return None;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(live.pause_unit * 5) => {}
                        () = self.tx.closed() => return None,
                    }
                }
            }
        };
        let (mut short, mut failed) = (0, 0);
        loop {
            let began = Instant::now();
            let ended = match self.session(live, &arn, poller).await {
                Ok(ended) => ended,
                Err(fallback) => return Some(fallback),
            };
            if matches!(ended, Ended::Renew) || began.elapsed() >= HELD {
                self.held = true;
                limit = TRIES;
            }
            match ended {
                Ended::ReceiverGone => return None,
                Ended::Closed { lasted } if lasted < SHORT_SESSION => {
                    short += 1;
                    if short >= limit {
                        return Some(Fallback::EndsAtOnce);
                    }
                }
                Ended::Renew | Ended::Closed { .. } => (short, failed) = (0, 0),
                Ended::Failed(e) => {
                    failed += 1;
                    if failed >= limit {
                        return Some(Fallback::Failing(e.message));
                    }
                    let pause = live.pause_unit * (1 << failed);
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = self.tx.closed() => return None,
                    }
                }
            }
        }
    }

    /// One session: start, backfill the gap, stream until it ends. `Err` when Live Tail
    /// cannot be used at all.
    async fn session(
        &mut self,
        live: &LiveTail,
        arn: &str,
        poller: &mut LogsFollower,
    ) -> Result<Ended, Fallback> {
        let started = Instant::now();
        let started_ms = chrono::Utc::now().timestamp_millis();
        let request = live
            .client
            .start_live_tail()
            .log_group_identifiers(arn)
            .set_log_event_filter_pattern(live.filter.clone())
            .send();
        let output = match call(System::Logs, "StartLiveTail", request).await {
            Ok(output) => output,
            Err(e) => return unusable(&e).map_or(Ok(Ended::Failed(e)), Err),
        };
        let mut stream = output.response_stream;
        // The session is open once sessionStart arrives: what is written from then on comes
        // through the stream, so the backfill below meets it with nothing missed.
        match tokio::time::timeout(QUIET_LIMIT, stream.recv()).await {
            Ok(Ok(Some(StartLiveTailResponseStream::SessionStart(_)))) => {}
            Ok(Ok(Some(_))) => {
                return Err(Fallback::NotSupported(
                    "the stream did not start with sessionStart".into(),
                ))
            }
            Ok(Ok(None)) => {
                return Ok(Ended::Closed {
                    lasted: started.elapsed(),
                })
            }
            Ok(Err(e)) => {
                let e = error(System::Logs, "StartLiveTail", &e);
                return unusable(&e).map_or(Ok(Ended::Failed(e)), Err);
            }
            Err(_) => return Ok(Ended::Failed(quiet())),
        }
        // A failed backfill is said and tried again later; the stream goes on meanwhile.
        if let Backfilled::ReceiverGone = self.backfill(live, poller, started_ms).await {
            return Ok(Ended::ReceiverGone);
        }
        let renew_at = started + live.renew_after;
        loop {
            let backfill_due = self.backfill.as_ref().map(|b| b.due);
            // No fast poll while a backfill is pending: the poller stands before its gap.
            let hot_due = self.hot.due().filter(|_| self.backfill.is_none());
            let next = tokio::select! {
                next = tokio::time::timeout(QUIET_LIMIT, stream.recv()) => next,
                () = tokio::time::sleep_until(renew_at) => return Ok(Ended::Renew),
                () = self.tx.closed() => return Ok(Ended::ReceiverGone),
                () = until(backfill_due) => {
                    if let Backfilled::ReceiverGone = self.backfill(live, poller, started_ms).await {
                        return Ok(Ended::ReceiverGone);
                    }
                    continue;
                }
                () = until(hot_due) => {
                    if !self.hot_poll(poller).await {
                        return Ok(Ended::ReceiverGone);
                    }
                    continue;
                }
                () = self.hot.changed() => continue,
            };
            match next {
                Ok(Ok(Some(StartLiveTailResponseStream::SessionUpdate(update)))) => {
                    let sampled = update
                        .session_metadata()
                        .is_some_and(LiveTailSessionMetadata::sampled);
                    if !self.update(update.session_results(), sampled, poller) {
                        return Ok(Ended::ReceiverGone);
                    }
                }
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => {
                    return Ok(Ended::Closed {
                        lasted: started.elapsed(),
                    })
                }
                Ok(Err(e)) => {
                    if e.as_service_error()
                        .is_some_and(StartLiveTailResponseStreamError::is_session_timeout_exception)
                    {
                        return Ok(Ended::Renew);
                    }
                    return Ok(Ended::Failed(error(System::Logs, "StartLiveTail", &e)));
                }
                Err(_) => return Ok(Ended::Failed(quiet())),
            }
        }
    }

    /// FilterLogEvents from where the poller stands, each page sent as it arrives. A failure
    /// is said on the follow-mode line and the backfill tried again later (the poller still
    /// stands before the gap); the streamed lines' keys are held from the session's start
    /// (`session_ms`) until then.
    async fn backfill(
        &mut self,
        live: &LiveTail,
        poller: &mut LogsFollower,
        session_ms: i64,
    ) -> Backfilled {
        let mut gone = false;
        let mut new = 0;
        let mut result = Ok(0);
        // One poll reads a bounded number of pages: poll again until one finds nothing new
        // (lines written meanwhile come by the stream), at most BACKFILL_POLLS times.
        for _ in 0..BACKFILL_POLLS {
            let before = new;
            result = poller
                .poll_pages(|batch| match self.send_polled(batch.events) {
                    Some(n) => new += n,
                    None => gone = true,
                })
                .await;
            if gone || result.is_err() || new == before {
                break;
            }
        }
        if gone {
            return Backfilled::ReceiverGone;
        }
        match result {
            Ok(_) => {
                if self.backfill.take().is_some() {
                    self.recent.hold_from = None;
                    self.announce = Some(self.live_mode());
                }
                if let Some(newest) = self.recent.newest {
                    poller.saw_until(newest);
                }
            }
            Err(e) => {
                let failures = self.backfill.as_ref().map_or(0, |b| b.failures) + 1;
                let pause = (live.pause_unit * (1 << failures.min(6))).min(live.pause_unit * 60);
                self.backfill = Some(PendingBackfill {
                    due: Instant::now() + pause,
                    failures,
                    why: format!(
                        "lines from before the session not read ({}); tried again in {}",
                        e.message,
                        span(pause)
                    ),
                });
                self.recent.hold_from.get_or_insert(session_ms - OVERLAP_MS);
                self.announce = Some(self.live_mode());
            }
        }
        if new == 0 && self.is_news() && !self.send(Ok(Vec::new())) {
            return Backfilled::ReceiverGone;
        }
        Backfilled::Done
    }

    /// The Live Tail follow mode as it stands: sampled lately, a backfill missing.
    fn live_mode(&self) -> FollowMode {
        FollowMode::LiveTail {
            sampled: self.sampled_until.is_some(),
            backfill_failed: self.backfill.as_ref().map(|b| b.why.clone()),
        }
    }

    /// Polls FilterLogEvents (the fallback) every `every`, adapting as [`LogsFollower::follow`]
    /// does, until `until` (forever with `None`); false when the receiver is gone. Lines pass
    /// the same de-duplication as the stream's, so the switch either way repeats none.
    async fn poll_until(
        &mut self,
        poller: &mut LogsFollower,
        every: Duration,
        until: Option<Instant>,
    ) -> bool {
        let tx = self.tx;
        let mut wait = every;
        loop {
            let (mut new, mut gone) = (0, false);
            let result = tokio::select! {
                result = poller.poll_pages(|batch| match self.send_polled(batch.events) {
                    Some(n) => new += n,
                    None => gone = true,
                }) => result,
                () = tx.closed() => return false,
            };
            if gone {
                return false;
            }
            wait = next_wait(
                wait,
                every,
                &result.as_ref().map(|_| new).map_err(Clone::clone),
            );
            let throttled = result
                .as_ref()
                .is_err_and(|e| e.kind == crate::probe::ErrorKind::Throttled);
            if self.hot.due().is_some() && !throttled {
                wait = wait.min(HOT_EVERY);
            }
            // Caught up: the gap a failed backfill left is read.
            if new == 0 && result.is_ok() && self.backfill.take().is_some() {
                self.recent.hold_from = None;
            }
            let sent = match result {
                Ok(_) if new == 0 && self.is_news() => self.send(Ok(Vec::new())),
                Ok(_) => true,
                Err(e) => self.send(Err(e)),
            };
            if !sent {
                return false;
            }
            let next = Instant::now() + wait;
            let next = until.map_or(next, |until| next.min(until));
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = tx.closed() => return false,
                // A test OTP was sent: poll at once.
                () = self.hot.changed() => {}
            }
            if until.is_some_and(|until| Instant::now() >= until) {
                return true;
            }
        }
    }

    /// One fast poll of the last seconds while a test OTP is in flight; false when the
    /// receiver is gone. Its failures are not reported (the stream goes on): they only
    /// lengthen the wait before the next.
    async fn hot_poll(&mut self, poller: &mut LogsFollower) -> bool {
        let from = self.hot.from_ms;
        let mut gone = false;
        let result = poller
            .poll_pages_since(from, |batch| {
                gone |= self.send_polled(batch.events).is_none();
            })
            .await;
        self.hot.polled(result.is_ok());
        !gone
    }

    /// Whether an empty good answer is news: the first, the first after an error, or one that
    /// carries a new follow mode.
    fn is_news(&self) -> bool {
        !self.reported || self.errored || self.announce.is_some()
    }

    /// One update's lines, new ones sent; false when the receiver is gone.
    fn update(
        &mut self,
        results: &[LiveTailSessionLogEvent],
        sampled: bool,
        poller: &mut LogsFollower,
    ) -> bool {
        let now = Instant::now();
        if sampled {
            let was = self.sampled_until.replace(now + SAMPLED_BADGE);
            if was.is_none() {
                self.announce = Some(self.live_mode());
            }
        } else if self.sampled_until.is_some_and(|until| until <= now) {
            self.sampled_until = None;
            self.announce = Some(self.live_mode());
        }
        let mut events: Vec<Event> = results
            .iter()
            .filter_map(live_event)
            .filter(|e| self.recent.admit(e, true))
            .collect();
        self.recent.forget();
        // While a backfill is pending the poller stays before the gap, for the next try.
        if let Some(newest) = events.iter().map(|e| e.timestamp_ms).max() {
            if self.backfill.is_none() {
                poller.saw_until(newest);
            }
        }
        if events.is_empty() && self.announce.is_none() {
            return true;
        }
        events.sort_by(|a, b| (a.timestamp_ms, &a.id).cmp(&(b.timestamp_ms, &b.id)));
        self.send(Ok(events))
    }

    /// Sends a report (with the follow mode when it changed); false when the receiver is gone.
    /// Sends the lines of a FilterLogEvents page (a backfill, the fallback's poll, a fast poll)
    /// that nothing delivered yet, past the de-duplication the stream's lines pass too: how
    /// many, or `None` when the receiver is gone.
    fn send_polled(&mut self, events: Vec<Event>) -> Option<usize> {
        let events: Vec<Event> = events
            .into_iter()
            .filter(|e| self.recent.admit(e, false))
            .collect();
        self.recent.forget();
        let new = events.len();
        (new == 0 || self.send(Ok(events))).then_some(new)
    }

    fn send(&mut self, result: Result<Vec<Event>, ProbeError>) -> bool {
        self.errored = result.is_err();
        let result = result.map(|events| {
            self.reported = true;
            Batch {
                events,
                follow: self.announce.take(),
            }
        });
        let at_ms = chrono::Utc::now().timestamp_millis();
        self.tx.send(Observation::Logs { at_ms, result }).is_ok()
    }
}

/// A Live Tail line as the follower's [`Event`]: sanitised, cut, classified; its id made from
/// its content (Live Tail events carry no eventId).
fn live_event(e: &LiveTailSessionLogEvent) -> Option<Event> {
    let timestamp_ms = e.timestamp()?;
    let message = redact::sanitize(&cut_line(e.message().unwrap_or_default()));
    let mut event = Event {
        id: String::new(),
        stream: redact::sanitize(e.log_stream_name().unwrap_or_default()),
        timestamp_ms,
        kind: classify(&message),
        message,
    };
    event.id = format!("live-{:016x}", Recent::key(&event));
    Some(event)
}

/// The fast polls of hot windows: when the next is due, and how far back they read.
struct HotPolls {
    watch: Option<watch::Receiver<Option<Instant>>>,
    /// When the next poll is due; `None` between windows.
    next: Option<Instant>,
    every: Duration,
    /// Polls read from here (ms since the epoch): a little before the window opened.
    from_ms: i64,
}

impl HotPolls {
    fn new(watch: Option<watch::Receiver<Option<Instant>>>) -> Self {
        Self {
            watch,
            next: None,
            every: HOT_EVERY,
            from_ms: i64::MIN,
        }
    }

    /// When the next fast poll is due, while a window is open.
    fn due(&mut self) -> Option<Instant> {
        let until = self.watch.as_ref().and_then(|w| *w.borrow())?;
        let now = Instant::now();
        if until <= now {
            self.next = None;
            return None;
        }
        if self.next.is_none() {
            // A new window: read from a little before it opened, at once.
            self.from_ms = chrono::Utc::now().timestamp_millis() - OVERLAP_MS;
            self.every = HOT_EVERY;
        }
        Some(*self.next.get_or_insert(now))
    }

    /// A fast poll ended: the next after [`HOT_EVERY`], doubled after a failure.
    fn polled(&mut self, ok: bool) {
        self.every = if ok {
            HOT_EVERY
        } else {
            (self.every * 2).min(HOT_MAX_EVERY)
        };
        self.next = Some(Instant::now() + self.every);
    }

    /// Returns when a window opens or changes; never without a watch (or once its sender is
    /// gone).
    async fn changed(&mut self) {
        let open = match self.watch.as_mut() {
            Some(watch) => watch.changed().await.is_ok(),
            None => false,
        };
        if !open {
            std::future::pending::<()>().await;
        }
    }
}

/// Returns at `at`, or never.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn quiet() -> ProbeError {
    ProbeError {
        system: System::Logs,
        kind: ErrorKind::Timeout,
        code: None,
        message: format!(
            "AWS StartLiveTail: no update in {} s — the session is reopened",
            QUIET_LIMIT.as_secs()
        ),
    }
}

fn is_denied(e: &ProbeError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("AccessDeniedException" | "AccessDenied")
    )
}

/// Why Live Tail cannot be used at all, when `e` says so: not permitted, or not spoken by the
/// endpoint (an unknown operation, an answer that is not an event stream, a `stream-` host
/// that does not resolve).
fn unusable(e: &ProbeError) -> Option<Fallback> {
    if is_denied(e) {
        return Some(Fallback::NotPermitted(format!(
            "{} on logs:StartLiveTail",
            e.code.as_deref().unwrap_or_default()
        )));
    }
    match (e.kind, e.code.as_deref()) {
        (
            _,
            Some(
                code @ ("UnknownOperationException"
                | "InvalidAction"
                | "UnsupportedOperation"
                | "NotImplemented"),
            ),
        ) => Some(Fallback::NotSupported(code.to_owned())),
        (ErrorKind::BadResponse, _) => Some(Fallback::NotSupported("not an event stream".into())),
        (ErrorKind::Api, None) => Some(Fallback::NotSupported(e.message.clone())),
        (ErrorKind::Unreachable, _) if e.message.contains("stream-") => Some(
            Fallback::NotSupported("its stream- host cannot be reached".into()),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
