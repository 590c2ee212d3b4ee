use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::{InputLogEvent, StartLiveTailResponseStream};
use tokio::sync::mpsc;

use super::*;
use crate::probe::logs::LineKind;
use crate::sim::{self, scenario, Ports, Simulator};

const GROUP: &str = "/ecs/nerava-backend";

async fn start(scenario: scenario::Scenario) -> Simulator {
    Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("simulator starts")
}

fn aws_cfg(sim: &Simulator, filter: &str) -> AwsConfig {
    AwsConfig {
        endpoint_url: Some(sim.urls.aws.clone()),
        log_filter: filter.into(),
        ..AwsConfig::default()
    }
}

async fn sdk(cfg: &AwsConfig, key: &str) -> SdkConfig {
    crate::probe::aws::sdk_config(cfg)
        .await
        .to_builder()
        .credentials_provider(
            aws_sdk_cloudwatchlogs::config::SharedCredentialsProvider::new(
                aws_sdk_cloudwatchlogs::config::Credentials::new(
                    key,
                    sim::SECRET_ACCESS_KEY,
                    None,
                    None,
                    "test",
                ),
            ),
        )
        .build()
}

fn arn() -> String {
    format!("arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}")
}

/// The line of the test's own OTP start (the simulated users' codes go to other phones).
const TEST_SENT: &str = "OTP sent successfully phone_last4=6318";

async fn otp_start(sim: &Simulator) {
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
}

async fn put(client: &Client, stream: &str, messages: &[String]) {
    let now = chrono::Utc::now().timestamp_millis();
    let _ = client
        .create_log_stream()
        .log_group_name(GROUP)
        .log_stream_name(stream)
        .send()
        .await;
    let events = messages
        .iter()
        .map(|m| {
            InputLogEvent::builder()
                .timestamp(now)
                .message(m)
                .build()
                .expect("event")
        })
        .collect();
    client
        .put_log_events()
        .log_group_name(GROUP)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("put");
}

#[test]
fn the_stream_prefix_goes_for_loopback_hosts_only() {
    let table = [
        (
            "http://stream-127.0.0.1:4566/",
            Some("http://127.0.0.1:4566/"),
        ),
        (
            "http://stream-localhost:5000",
            Some("http://localhost:5000"),
        ),
        ("http://stream-LOCALHOST/x?y", Some("http://LOCALHOST/x?y")),
        ("http://stream-[::1]:8080/", Some("http://[::1]:8080/")),
        ("https://stream-logs.us-east-1.amazonaws.com/", None),
        ("http://stream-127.0.0.1.nip.io:80/", None),
        ("http://stream-localhost.example.com/", None),
        ("http://127.0.0.1:4566/", None),
        ("not a uri", None),
    ];
    for (uri, expected) in table {
        assert_eq!(unprefixed_loopback(uri).as_deref(), expected, "{uri}");
    }
}

/// The SDK's own event-stream decoder reads the simulator's frames: sessionStart with the
/// request's parameters, then updates that carry a line written after the session started.
#[tokio::test]
async fn the_sdk_receives_the_simulators_live_tail() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "OTP");
    let client = client(&sdk(&cfg, sim::ACCESS_KEY_ID).await);
    let out = client
        .start_live_tail()
        .log_group_identifiers(arn())
        .log_event_filter_pattern("OTP")
        .send()
        .await
        .expect("session starts");
    let mut stream = out.response_stream;
    let first = tokio::time::timeout(Duration::from_secs(5), stream.recv())
        .await
        .expect("in time")
        .expect("a frame")
        .expect("not the end");
    let StartLiveTailResponseStream::SessionStart(start) = first else {
        panic!("first frame: {first:?}");
    };
    assert_eq!(start.log_group_identifiers(), [arn()]);
    assert_eq!(start.log_event_filter_pattern(), Some("OTP"));
    assert!(start.session_id().is_some_and(|id| !id.is_empty()));

    otp_start(&sim).await;
    let mut seen = Vec::new();
    let mut updates = 0;
    while !seen.iter().any(|m: &String| m.contains(TEST_SENT)) {
        let frame = tokio::time::timeout(Duration::from_secs(5), stream.recv())
            .await
            .expect("an update every second")
            .expect("a frame")
            .expect("not the end");
        let StartLiveTailResponseStream::SessionUpdate(update) = frame else {
            panic!("not an update: {frame:?}");
        };
        updates += 1;
        assert!(
            updates < 10,
            "no OTP line after {updates} updates: {seen:?}"
        );
        assert!(!update.session_metadata().expect("metadata").sampled());
        for e in update.session_results() {
            assert_eq!(e.log_group_identifier(), Some(arn().as_str()));
            assert!(e.timestamp().is_some() && e.ingestion_time().is_some());
            seen.push(e.message().unwrap_or_default().to_owned());
        }
    }
    // Only lines matching the filter, and only new ones (the scenario's startup lines are
    // older than the session).
    assert!(seen.iter().all(|m| m.contains("OTP")), "{seen:?}");
    assert!(
        !seen
            .iter()
            .any(|m| m.contains("Using Twilio Verify provider")),
        "{seen:?}"
    );
}

/// More than 500 matching lines in a second: one update carries 500 of them, evenly spread,
/// and says it was sampled; the next one is not.
#[tokio::test]
async fn a_burst_is_sampled_as_aws_does() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "burst");
    let client = client(&sdk(&cfg, sim::ACCESS_KEY_ID).await);
    let out = client
        .start_live_tail()
        .log_group_identifiers(arn())
        .log_event_filter_pattern("burst")
        .send()
        .await
        .expect("session starts");
    let mut stream = out.response_stream;
    let lines: Vec<String> = (0..1_200).map(|i| format!("burst {i:04}")).collect();
    put(&client, "storm", &lines).await;
    let mut results = Vec::new();
    let mut sampled = Vec::new();
    while sampled.len() < 4 {
        let frame = tokio::time::timeout(Duration::from_secs(5), stream.recv())
            .await
            .expect("in time")
            .expect("a frame")
            .expect("not the end");
        if let StartLiveTailResponseStream::SessionUpdate(update) = frame {
            sampled.push(update.session_metadata().expect("metadata").sampled());
            results.push(update.session_results().len());
        }
    }
    let burst = sampled.iter().position(|s| *s).expect("one update sampled");
    assert_eq!(results[burst], 500, "{results:?}");
    assert_eq!(results.iter().sum::<usize>(), 500, "{results:?}");
    assert!(!sampled[burst + 1], "{sampled:?}");
}

#[tokio::test]
async fn the_simulator_refuses_bad_requests_as_aws_does() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let client = client(&sdk(&aws_cfg(&sim, ""), sim::ACCESS_KEY_ID).await);
    let code = |r: Result<_, aws_sdk_cloudwatchlogs::error::SdkError<_, _>>| {
        use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
        r.map(|_: aws_sdk_cloudwatchlogs::operation::start_live_tail::StartLiveTailOutput| ())
            .expect_err("refused")
            .code()
            .map(str::to_owned)
    };
    let missing = client
        .start_live_tail()
        .log_group_identifiers(format!("{}-nope", arn()))
        .send()
        .await;
    assert_eq!(code(missing).as_deref(), Some("ResourceNotFoundException"));
    let star = client
        .start_live_tail()
        .log_group_identifiers(format!("{}:*", arn()))
        .send()
        .await;
    assert_eq!(code(star).as_deref(), Some("InvalidParameterException"));
    let both = client
        .start_live_tail()
        .log_group_identifiers(arn())
        .log_stream_names("a")
        .log_stream_name_prefixes("b")
        .send()
        .await;
    assert_eq!(code(both).as_deref(), Some("InvalidParameterException"));
}

/// Everything the follower reported: the follow modes in order, and each line's count by
/// content (a line seen twice is a duplicate).
#[derive(Debug, Default)]
struct Seen {
    modes: Vec<FollowMode>,
    lines: HashMap<(String, i64, String), usize>,
    kinds: Vec<LineKind>,
    errors: Vec<ProbeError>,
}

impl Seen {
    fn take(&mut self, observation: Observation) {
        let Observation::Logs { result, .. } = observation else {
            return;
        };
        match result {
            Ok(batch) => {
                self.modes.extend(batch.follow);
                for e in batch.events {
                    self.kinds.push(e.kind);
                    *self
                        .lines
                        .entry((e.stream, e.timestamp_ms, e.message))
                        .or_default() += 1;
                }
            }
            Err(e) => self.errors.push(e),
        }
    }

    fn count(&self, needle: &str) -> usize {
        self.lines
            .iter()
            .filter(|((_, _, m), _)| m.contains(needle))
            .map(|(_, n)| n)
            .sum()
    }

    fn duplicates(&self) -> Vec<&(String, i64, String)> {
        self.lines
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k)
            .collect()
    }
}

/// Reads observations until `done` holds or `limit` passes.
async fn gather(
    rx: &mut mpsc::UnboundedReceiver<Observation>,
    seen: &mut Seen,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(observation)) => seen.take(observation),
            _ => return,
        }
    }
}

/// Follows with `live` (polling the group of `cfg` every `every` when it falls back) and
/// waits for the first report of how it follows.
async fn following(
    live: LiveTail,
    sdk: &SdkConfig,
    cfg: &AwsConfig,
    every: Duration,
) -> (
    tokio::task::JoinHandle<()>,
    mpsc::UnboundedReceiver<Observation>,
    Seen,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(follow(
        live,
        LogsFollower::new(sdk, cfg, since()),
        every,
        tx,
    ));
    let mut seen = Seen::default();
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        !s.modes.is_empty()
    })
    .await;
    (task, rx, seen)
}

fn since() -> i64 {
    chrono::Utc::now().timestamp_millis() - 30 * 60_000
}

/// The follower on the simulator: Live Tail announced with the backfill, the backfilled lines,
/// then a new line through the stream, each exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn follows_by_live_tail_after_the_backfill_with_no_duplicates() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "OTP");
    let sdk = sdk(&cfg, sim::ACCESS_KEY_ID).await;
    let (task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &cfg),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        seen.modes,
        [FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None
        }]
    );
    assert!(
        seen.kinds.contains(&LineKind::ProviderInitialised),
        "backfill: {seen:?}"
    );
    otp_start(&sim).await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count(TEST_SENT) > 0
    })
    .await;
    // Another second or two: a duplicate would arrive by now.
    gather(&mut rx, &mut seen, Duration::from_secs(2), |_| false).await;
    assert_eq!(seen.count(TEST_SENT), 1, "{seen:?}");
    assert!(seen.duplicates().is_empty(), "{:?}", seen.duplicates());
    assert_eq!(seen.modes.len(), 1, "still Live Tail: {:?}", seen.modes);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("follow ends with its receiver")
        .expect("no panic");
}

/// Sessions renewed every 1.5 s (the 3-hour renewal, shortened): lines written across several
/// sessions each arrive once, none lost in the gaps between sessions.
#[tokio::test(flavor = "multi_thread")]
async fn renewed_sessions_lose_and_repeat_nothing() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "tick");
    let sdk = sdk(&cfg, sim::ACCESS_KEY_ID).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _task = tokio::spawn(follow(
        LiveTail::new(&sdk, &cfg).renewing_after(Duration::from_millis(1_500)),
        LogsFollower::new(&sdk, &cfg, since()),
        Duration::from_millis(200),
        tx,
    ));
    let writer = Client::new(&sdk);
    let mut seen = Seen::default();
    for i in 0..12 {
        put(&writer, "ticks", &[format!("tick {i:02}")]).await;
        gather(&mut rx, &mut seen, Duration::from_millis(400), |_| false).await;
    }
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count("tick ") >= 12
    })
    .await;
    gather(&mut rx, &mut seen, Duration::from_secs(2), |_| false).await;
    for i in 0..12 {
        assert_eq!(seen.count(&format!("tick {i:02}")), 1, "tick {i}: {seen:?}");
    }
    assert_eq!(
        seen.modes,
        [FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None
        }]
    );
}

/// A burst above 500 lines a second: the pane is told Live Tail sampled.
#[tokio::test(flavor = "multi_thread")]
async fn a_sampled_update_is_announced() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "storm");
    let sdk = sdk(&cfg, sim::ACCESS_KEY_ID).await;
    let (_task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &cfg),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    let lines: Vec<String> = (0..2_000).map(|i| format!("storm {i}")).collect();
    put(&Client::new(&sdk), "storm", &lines).await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.modes.len() > 1
    })
    .await;
    assert_eq!(
        seen.modes,
        [
            FollowMode::LiveTail {
                sampled: false,
                backfill_failed: None
            },
            FollowMode::LiveTail {
                sampled: true,
                backfill_failed: None
            }
        ]
    );
    assert_eq!(seen.count("storm "), 500, "the sample, once");
}

/// StartLiveTail refused (the operator may not call it): one line says so, and the lines
/// still come, by polling.
#[tokio::test(flavor = "multi_thread")]
async fn falls_back_to_polling_when_not_permitted() {
    const KEY: &str = "AKIASIMNOLIVETAIL001";
    let mut scenario = scenario::load("healthy").expect("scenario");
    scenario.aws.access_keys.insert(
        KEY.into(),
        "AccessDeniedException:Logs_20140328.StartLiveTail".into(),
    );
    let sim = start(scenario).await;
    let cfg = aws_cfg(&sim, "OTP");
    let sdk = sdk(&cfg, KEY).await;
    let (_task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &cfg),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    let [FollowMode::Polling { why: Some(why) }] = seen.modes.as_slice() else {
        panic!("{:?}", seen.modes);
    };
    assert!(
        why.contains("not permitted (AccessDeniedException on logs:StartLiveTail)"),
        "{why}"
    );
    assert!(!why.contains('\n'));
    assert!(seen.kinds.contains(&LineKind::ProviderInitialised));
    otp_start(&sim).await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count(TEST_SENT) > 0
    })
    .await;
    assert_eq!(seen.count(TEST_SENT), 1, "{seen:?}");
}

/// An endpoint that does not speak Live Tail (here: one that answers every call with
/// UnknownOperationException but FilterLogEvents and DescribeLogGroups, as an older emulator
/// would): the follower says so and polls.
#[tokio::test(flavor = "multi_thread")]
async fn falls_back_to_polling_when_the_endpoint_does_not_support_it() {
    const KEY: &str = "AKIASIMNOSUPPORT0001";
    let mut scenario = scenario::load("healthy").expect("scenario");
    scenario.aws.access_keys.insert(
        KEY.into(),
        "UnknownOperationException:Logs_20140328.StartLiveTail".into(),
    );
    let sim = start(scenario).await;
    let cfg = aws_cfg(&sim, "OTP");
    let sdk = sdk(&cfg, KEY).await;
    let (_task, _rx, seen) = following(
        LiveTail::new(&sdk, &cfg),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    let [FollowMode::Polling { why: Some(why) }] = seen.modes.as_slice() else {
        panic!("{:?}", seen.modes);
    };
    assert!(why.contains("not supported by the endpoint"), "{why}");
    assert!(seen.kinds.contains(&LineKind::ProviderInitialised));
}

/// Live Tail fails for a passing cause — the account's concurrent sessions are all taken (by
/// other engineers' consoles and browser tabs): the follower falls back to polling, says when
/// it tries Live Tail again, keeps the pane fed, and goes back to Live Tail once sessions are
/// free again; every line exactly once across both switches.
#[tokio::test(flavor = "multi_thread")]
async fn tries_live_tail_again_after_a_passing_failure_with_no_duplicates() {
    use crate::sim::logs::live_tail::MAX_SESSIONS;
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "tick");
    let sdk = sdk(&cfg, sim::ACCESS_KEY_ID).await;
    let others = client(&sdk);
    let mut taken = Vec::new();
    for _ in 0..MAX_SESSIONS {
        let session = others
            .start_live_tail()
            .log_group_identifiers(arn())
            .send()
            .await
            .expect("another session");
        taken.push(session);
    }
    let writer = Client::new(&sdk);
    put(&writer, "ticks", &["tick 00".to_owned()]).await;
    let (_task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &cfg).retrying(
            Duration::from_millis(500),
            Duration::from_secs(2),
            Duration::from_millis(20),
        ),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    let [FollowMode::Polling { why: Some(why) }] = seen.modes.as_slice() else {
        panic!("{:?}", seen.modes);
    };
    assert!(why.contains("LimitExceededException"), "{why}");
    assert!(why.contains("Live Tail tried again in 500 ms"), "{why}");
    assert_eq!(seen.count("tick 00"), 1, "backfilled by polling: {seen:?}");

    // Polled while Live Tail cannot be had.
    put(&writer, "ticks", &["tick 01".to_owned()]).await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count("tick 01") > 0
    })
    .await;
    assert_eq!(seen.count("tick 01"), 1, "{seen:?}");

    // The other sessions end: the next try holds.
    drop(taken);
    gather(&mut rx, &mut seen, Duration::from_secs(20), |s| {
        s.modes.last()
            == Some(&FollowMode::LiveTail {
                sampled: false,
                backfill_failed: None,
            })
    })
    .await;
    assert_eq!(
        seen.modes.last(),
        Some(&FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None
        }),
        "{:?}",
        seen.modes
    );
    // Every try that failed went back to polling, with a longer wait.
    let polls = &seen.modes[..seen.modes.len() - 1];
    assert!(
        polls.iter().all(
            |m| matches!(m, FollowMode::Polling { why: Some(w) } if w.contains("tried again"))
        ),
        "{polls:?}"
    );
    for i in 2..6 {
        put(&writer, "ticks", &[format!("tick {i:02}")]).await;
        gather(&mut rx, &mut seen, Duration::from_millis(300), |_| false).await;
    }
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count("tick ") >= 6
    })
    .await;
    // Another second or two: a duplicate would arrive by now.
    gather(&mut rx, &mut seen, Duration::from_secs(2), |_| false).await;
    for i in 0..6 {
        assert_eq!(seen.count(&format!("tick {i:02}")), 1, "tick {i}: {seen:?}");
    }
    assert!(seen.duplicates().is_empty(), "{:?}", seen.duplicates());
    assert_eq!(
        seen.modes.last(),
        Some(&FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None
        }),
        "still Live Tail: {:?}",
        seen.modes
    );
}

/// Credentials that can be swapped while the follower runs, as `aws sso login` or another
/// profile would; each lasts a second, so the SDK asks for them again.
#[derive(Debug, Clone)]
struct Rotating(std::sync::Arc<std::sync::Mutex<&'static str>>);

impl ProvideCredentials for Rotating {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let key = *self.0.lock().expect("lock");
        aws_credential_types::provider::future::ProvideCredentials::ready(Ok(
            aws_sdk_cloudwatchlogs::config::Credentials::new(
                key,
                sim::SECRET_ACCESS_KEY,
                None,
                Some(std::time::SystemTime::now() + Duration::from_secs(1)),
                "rotating",
            ),
        ))
    }
}

/// Not permitted, then the operator's credentials change (another identity, which may hold
/// the permission): Live Tail is tried again, and holds.
#[tokio::test(flavor = "multi_thread")]
async fn not_permitted_is_tried_again_when_the_credentials_change() {
    const DENIED: &str = "AKIASIMNOLIVETAIL002";
    let mut scenario = scenario::load("healthy").expect("scenario");
    scenario.aws.access_keys.insert(
        DENIED.into(),
        "AccessDeniedException:Logs_20140328.StartLiveTail".into(),
    );
    let sim = start(scenario).await;
    let cfg = aws_cfg(&sim, "OTP");
    let key = Rotating(std::sync::Arc::new(std::sync::Mutex::new(DENIED)));
    let sdk = sdk(&cfg, DENIED)
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(key.clone()))
        .build();
    let (_task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &cfg).retrying(
            Duration::from_millis(300),
            Duration::from_millis(300),
            Duration::from_millis(20),
        ),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    let [FollowMode::Polling { why: Some(why) }] = seen.modes.as_slice() else {
        panic!("{:?}", seen.modes);
    };
    assert!(
        why.ends_with("Live Tail tried again when the AWS credentials change"),
        "{why}"
    );
    *key.0.lock().expect("lock") = sim::ACCESS_KEY_ID;
    gather(&mut rx, &mut seen, Duration::from_secs(20), |s| {
        matches!(s.modes.last(), Some(FollowMode::LiveTail { .. }))
    })
    .await;
    assert_eq!(
        seen.modes.last(),
        Some(&FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None
        }),
        "{:?}",
        seen.modes
    );
    otp_start(&sim).await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count(TEST_SENT) > 0
    })
    .await;
    gather(&mut rx, &mut seen, Duration::from_secs(1), |_| false).await;
    assert_eq!(seen.count(TEST_SENT), 1, "{seen:?}");
    assert!(seen.duplicates().is_empty(), "{:?}", seen.duplicates());
}

/// Not permitted is not a passing cause: the follow-mode line says Live Tail is tried again
/// only when the AWS credentials change.
#[test]
fn not_permitted_waits_for_other_credentials_and_not_supported_for_nothing() {
    let denied = Fallback::NotPermitted("AccessDeniedException on logs:StartLiveTail".into());
    assert_eq!(
        denied.line(&Retry::CredentialsChange(None)),
        "polling: Live Tail not permitted (AccessDeniedException on logs:StartLiveTail); \
         Live Tail tried again when the AWS credentials change"
    );
    let unsupported = Fallback::NotSupported("UnknownOperationException".into());
    assert!(!unsupported.line(&Retry::Never).contains("tried again"));
    assert_eq!(
        Fallback::EndsAtOnce.line(&Retry::After(Duration::from_secs(120))),
        "polling: Live Tail sessions end at once (the endpoint closes the stream); \
         Live Tail tried again in 2 min"
    );
    assert_eq!(span(Duration::from_secs(90)), "90 s");
    assert_eq!(span(RETRY_MAX), "15 min");
}

/// The backfill's FilterLogEvents fails — throttled, or not permitted while StartLiveTail is
/// (keys the simulator marks): the follow-mode line says the lines from before the session
/// are missing, why, and when it tries again; no error hides the pane; and the stream still
/// follows: a line written now arrives, once, by Live Tail.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_backfill_is_said_and_the_stream_still_follows() {
    for (key, code) in [
        ("AKIASIMTHROTTLEDFLE1", "ThrottlingException"),
        ("AKIASIMNOFILTERLOGS1", "AccessDeniedException"),
    ] {
        let mut scenario = scenario::load("healthy").expect("scenario");
        scenario
            .aws
            .access_keys
            .insert(key.into(), format!("{code}:Logs_20140328.FilterLogEvents"));
        let sim = start(scenario).await;
        let cfg = aws_cfg(&sim, "OTP");
        let sdk = sdk(&cfg, key).await;
        let (_task, mut rx, mut seen) = following(
            LiveTail::new(&sdk, &cfg).retrying(
                Duration::from_secs(60),
                Duration::from_secs(60),
                Duration::from_millis(100),
            ),
            &sdk,
            &cfg,
            Duration::from_millis(200),
        )
        .await;
        let Some(FollowMode::LiveTail {
            sampled: false,
            backfill_failed: Some(why),
        }) = seen.modes.first()
        else {
            panic!("{code}: {:?}", seen.modes);
        };
        assert!(
            why.starts_with("lines from before the session not read (") && why.contains(code),
            "{why}"
        );
        assert!(why.ends_with("; tried again in 200 ms"), "{why}");
        let line = seen.modes[0].line();
        assert!(line.starts_with("Live Tail; lines from before"), "{line}");
        otp_start(&sim).await;
        gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
            s.count(TEST_SENT) > 0
        })
        .await;
        gather(&mut rx, &mut seen, Duration::from_secs(1), |_| false).await;
        assert_eq!(seen.count(TEST_SENT), 1, "{code}: {seen:?}");
        // Not backfilled: the startup line before the session stays missing, and said so.
        assert!(
            !seen.kinds.contains(&LineKind::ProviderInitialised),
            "{seen:?}"
        );
        assert!(seen.errors.is_empty(), "{code}: {:?}", seen.errors);
        assert!(
            seen.modes.iter().all(|m| matches!(
                m,
                FollowMode::LiveTail {
                    backfill_failed: Some(_),
                    ..
                }
            )),
            "{code}: still Live Tail, still missing the backfill: {:?}",
            seen.modes
        );
    }
}

/// The account's FilterLogEvents quota is spent by another tool (a neighbour polling as fast
/// as the simulator lets it, as AWS's per-account TPS quota counts every caller): the
/// backfill is throttled, said, and the stream follows meanwhile. Once the neighbour stops,
/// the backfill's next try reads the lines from before the session: each line arrives
/// exactly once, the startup line included, and the pane stops saying any are missing.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_backfill_is_read_once_the_accounts_quota_frees() {
    let mut scenario = scenario::load("healthy").expect("scenario");
    scenario
        .aws
        .rate_limits
        .insert("Logs_20140328.FilterLogEvents".into(), 3);
    let sim = start(scenario).await;
    let cfg = aws_cfg(&sim, "OTP");
    let sdk = sdk(&cfg, sim::ACCESS_KEY_ID).await;
    // The neighbour: four loops, no retries, until told to stop.
    let neighbour_sdk = sdk
        .to_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let throttled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut neighbours = Vec::new();
    for _ in 0..4 {
        let client = Client::new(&neighbour_sdk);
        let stopped = stopped.clone();
        let throttled = std::sync::Arc::clone(&throttled);
        neighbours.push(tokio::spawn(async move {
            while !*stopped.borrow() {
                let answer = client
                    .filter_log_events()
                    .log_group_name(GROUP)
                    .limit(1)
                    .send()
                    .await;
                if answer.is_err() {
                    throttled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        throttled.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the neighbour spends the quota"
    );
    let (_task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &cfg).retrying(
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_millis(100),
        ),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    let Some(FollowMode::LiveTail {
        backfill_failed: Some(why),
        ..
    }) = seen.modes.first()
    else {
        panic!("the backfill is throttled first: {:?}", seen.modes);
    };
    assert!(why.contains("ThrottlingException"), "{why}");
    // Meanwhile the stream follows.
    otp_start(&sim).await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count(TEST_SENT) > 0
    })
    .await;
    assert!(!seen.kinds.contains(&LineKind::ProviderInitialised));
    // The other tool stops; the quota frees and the next try reads the gap.
    stop.send(true).expect("neighbours listen");
    for n in neighbours {
        n.await.expect("neighbour ends");
    }
    gather(&mut rx, &mut seen, Duration::from_secs(20), |s| {
        s.kinds.contains(&LineKind::ProviderInitialised)
            && matches!(
                s.modes.last(),
                Some(FollowMode::LiveTail {
                    backfill_failed: None,
                    ..
                })
            )
    })
    .await;
    gather(&mut rx, &mut seen, Duration::from_secs(1), |_| false).await;
    assert!(
        seen.kinds.contains(&LineKind::ProviderInitialised),
        "the line from before the session arrives: {seen:?}"
    );
    assert!(
        matches!(
            seen.modes.last(),
            Some(FollowMode::LiveTail {
                backfill_failed: None,
                ..
            })
        ),
        "nothing missing any more: {:?}",
        seen.modes
    );
    assert_eq!(seen.count(TEST_SENT), 1, "{seen:?}");
    assert!(seen.duplicates().is_empty(), "{:?}", seen.duplicates());
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

/// A backfill that failed and succeeds later (here: the de-dup state as the stream leaves it)
/// repeats none of the lines the stream delivered meanwhile, however long ago.
#[test]
fn held_keys_outlive_the_window_while_a_backfill_is_pending() {
    let mut recent = Recent {
        hold_from: Some(1_000),
        ..Recent::default()
    };
    let event = |ts: i64, m: &str| Event {
        id: String::new(),
        stream: "s".into(),
        timestamp_ms: ts,
        message: m.into(),
        kind: LineKind::Other,
    };
    assert!(recent.admit(&event(1_500, "streamed early"), true));
    recent.forget();
    // A minute of stream later, far past the window.
    assert!(recent.admit(&event(61_500, "streamed late"), true));
    recent.forget();
    // The late backfill reads both again: neither is new.
    assert!(!recent.admit(&event(1_500, "streamed early"), false));
    assert!(!recent.admit(&event(61_500, "streamed late"), false));
    assert!(recent.admit(&event(900, "before the session"), false));
    // Without the hold, the early key is forgotten behind the window.
    recent.hold_from = None;
    recent.forget();
    assert!(!recent.keys.values().any(|ts| *ts == 1_500));
}

/// While a test OTP is in flight the follower polls FilterLogEvents fast besides the stream.
/// Here the session's own filter matches nothing, so the OTP's lines can only come by those
/// polls: they arrive, once each, and the pane still says Live Tail.
#[tokio::test(flavor = "multi_thread")]
async fn a_hot_window_polls_the_test_otps_lines_besides_the_stream() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "OTP");
    let sdk = sdk(&cfg, sim::ACCESS_KEY_ID).await;
    let hot = Hot::new();
    // Polls only as the fallback, and then rarely: not what brings the lines here.
    let (_task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &aws_cfg(&sim, "NOTHING-MATCHES-THIS")).with_hot(hot.watch()),
        &sdk,
        &cfg,
        Duration::from_secs(600),
    )
    .await;
    assert_eq!(
        seen.modes,
        [FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None
        }]
    );
    hot.open(HOT_FOR);
    otp_start(&sim).await;
    hot.settle(HOT_GRACE);
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count(TEST_SENT) > 0
    })
    .await;
    gather(&mut rx, &mut seen, Duration::from_secs(1), |_| false).await;
    assert_eq!(seen.count(TEST_SENT), 1, "{seen:?}");
    assert!(seen.duplicates().is_empty(), "{:?}", seen.duplicates());
    assert_eq!(seen.modes.len(), 1, "still Live Tail: {:?}", seen.modes);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

/// The same with the stream matching too: each line of the test OTP comes once, whichever way
/// arrives first, and so do lines written after the window closed.
#[tokio::test(flavor = "multi_thread")]
async fn hot_polls_and_the_stream_repeat_no_line() {
    let sim = start(scenario::load("healthy").expect("scenario")).await;
    let cfg = aws_cfg(&sim, "OTP");
    let sdk = sdk(&cfg, sim::ACCESS_KEY_ID).await;
    let hot = Hot::new();
    let (_task, mut rx, mut seen) = following(
        LiveTail::new(&sdk, &cfg).with_hot(hot.watch()),
        &sdk,
        &cfg,
        Duration::from_millis(200),
    )
    .await;
    let writer = Client::new(&sdk);
    for i in 0..3 {
        hot.open(HOT_FOR);
        otp_start(&sim).await;
        put(&writer, "ticks", &[format!("[OTP] tick {i}")]).await;
        hot.settle(Duration::from_millis(300));
        gather(&mut rx, &mut seen, Duration::from_millis(700), |_| false).await;
    }
    put(&writer, "ticks", &["[OTP] tick after".to_owned()]).await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.count(TEST_SENT) >= 3 && s.count("tick after") > 0
    })
    .await;
    // Another second or two: a duplicate would arrive by now.
    gather(&mut rx, &mut seen, Duration::from_secs(2), |_| false).await;
    assert_eq!(seen.count(TEST_SENT), 3, "{seen:?}");
    for i in 0..3 {
        assert_eq!(seen.count(&format!("tick {i}")), 1, "{seen:?}");
    }
    assert_eq!(seen.count("tick after"), 1, "{seen:?}");
    assert!(seen.duplicates().is_empty(), "{:?}", seen.duplicates());
    assert_eq!(seen.modes.len(), 1, "still Live Tail: {:?}", seen.modes);
}

/// Fast polls exist only inside a window: none without a test OTP, one at once when it opens,
/// then every [`HOT_EVERY`], doubling after failures up to [`HOT_MAX_EVERY`], and none once
/// the window closed.
#[tokio::test]
async fn fast_polls_only_inside_a_hot_window() {
    assert_eq!(HotPolls::new(None).due(), None);
    let hot = Hot::new();
    let mut polls = HotPolls::new(Some(hot.watch()));
    assert_eq!(polls.due(), None, "no test OTP, no fast poll");
    let before = Instant::now();
    hot.open(HOT_FOR);
    let first = polls.due().expect("due once the window opens");
    assert!(first >= before && first <= Instant::now(), "at once");
    assert!(polls.from_ms > chrono::Utc::now().timestamp_millis() - OVERLAP_MS - 60_000);
    let polled_at = Instant::now();
    polls.polled(true);
    assert!(polls.due().expect("still open") >= polled_at + HOT_EVERY);
    for _ in 0..10 {
        polls.polled(false);
    }
    assert_eq!(polls.every, HOT_MAX_EVERY);
    polls.polled(true);
    assert_eq!(polls.every, HOT_EVERY);
    // A second test OTP goes out; the first one's answer comes: still open.
    hot.open(HOT_FOR);
    hot.settle(Duration::ZERO);
    assert!(polls.due().is_some(), "the second is still in flight");
    // The last answer is in: the window closes after the grace (here none).
    hot.settle(Duration::ZERO);
    assert_eq!(polls.due(), None, "closed");
    // Settling never opens one.
    let idle = Hot::new();
    idle.settle(HOT_GRACE);
    assert_eq!(*idle.watch().borrow(), None);
}

/// A burst inside the de-duplication window: every line admitted once, and the window holds
/// at most about [`MAX_SEEN`] keys whatever the burst's size.
#[test]
fn the_dedup_window_stays_bounded_in_a_burst() {
    let mut recent = Recent::default();
    let event = |i: usize| Event {
        id: i.to_string(),
        stream: "s".into(),
        timestamp_ms: 1_000 + (i / 100) as i64,
        message: format!("retry {i}"),
        kind: LineKind::Other,
    };
    for i in 0..60_000 {
        assert!(recent.admit(&event(i), false), "{i}");
        recent.forget();
        assert!(recent.keys.len() <= MAX_SEEN + 1, "{}", recent.keys.len());
    }
    // The same lines again, from the stream: all known (or behind the window).
    assert!((59_000..60_000).all(|i| !recent.admit(&event(i), true)));
}
