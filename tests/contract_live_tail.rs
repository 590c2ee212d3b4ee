//! Contract tests of Live Tail (`StartLiveTail`) against implementations nobody here wrote:
//! - moto's server answers a session once (sessionStart, then one update with every stored
//!   event) and closes the stream, where AWS streams for up to 3 hours. The console's follower
//!   must show each line once, fall back to polling with one line saying why, and keep showing
//!   new lines. The requests it sent on the way (through a recording proxy in front of moto)
//!   must validate against AWS's own service model as botocore ships it.
//! - botocore's event-stream decoder (prelude and message CRCs) and its JSON event-stream
//!   parser, with the model's `responseStream` shape, read the simulator's raw answer: the
//!   frames, their headers and every member are what AWS's model declares.
//!
//! botocore is the one moto's virtualenv holds (`bash tests/run.sh` installs moto, which
//! depends on it); a missing moto fails the test with the command that installs it.

#[path = "contract_support/emulator.rs"]
mod emulator;
#[path = "contract_support/recorder.rs"]
mod recorder;
// Only its log-group helpers are used here.
#[allow(dead_code)]
#[path = "contract_support/moto.rs"]
mod moto;

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use otp_console::config::AwsConfig;
use otp_console::probe::logs::live_tail::{self, LiveTail};
use otp_console::probe::logs::{FollowMode, LogsFollower};
use otp_console::probe::Observation;
use otp_console::sim::{self, scenario, Ports, Simulator};
use tokio::sync::mpsc;

const GROUP: &str = "/ecs/nerava-backend";

/// Runs `script` with botocore, `input` on stdin; its stdout.
fn botocore(script: &str, input: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(emulator::python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("python ends");
    assert!(
        out.status.success(),
        "botocore script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Validates each JSON request body on stdin's lines against StartLiveTail's input shape;
/// prints `ok` or the validation report per line.
const VALIDATE_REQUESTS: &str = r#"
import json, sys
import botocore.session
from botocore.validate import ParamValidator
op = botocore.session.get_session().get_service_model("logs").operation_model("StartLiveTail")
for line in sys.stdin:
    report = ParamValidator().validate(json.loads(line), op.input_shape)
    print("ok" if not report.has_errors() else report.generate_report().replace("\n", " | "))
"#;

/// Decodes stdin as an AWS event stream (CRCs checked) and parses each frame with the JSON
/// event-stream parser against StartLiveTail's `responseStream`; prints one JSON per frame.
const PARSE_FRAMES: &str = r#"
import json, sys
import botocore.session
from botocore.eventstream import EventStreamBuffer
from botocore.parsers import EventStreamJSONParser
op = botocore.session.get_session().get_service_model("logs").operation_model("StartLiveTail")
shape = op.output_shape.members["responseStream"]
buffer = EventStreamBuffer()
buffer.add_data(sys.stdin.buffer.read())
parser = EventStreamJSONParser()
for message in buffer:
    response = message.to_response_dict()
    parsed = parser.parse(response, shape)
    print(json.dumps({"status": response["status_code"], "headers": {k: str(v) for k, v in message.headers.items()}, "parsed": parsed}, default=str))
"#;

/// Lines reported, by content, and the follow modes in order.
#[derive(Debug, Default)]
struct Seen {
    modes: Vec<FollowMode>,
    lines: HashMap<String, usize>,
}

async fn gather(
    rx: &mut mpsc::UnboundedReceiver<Observation>,
    seen: &mut Seen,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Observation::Logs {
                result: Ok(batch), ..
            })) => {
                seen.modes.extend(batch.follow);
                for e in batch.events {
                    *seen.lines.entry(e.message).or_default() += 1;
                }
            }
            Ok(Some(_)) => {}
            _ => return,
        }
    }
}

/// moto answers each Live Tail session once and closes it: the follower shows every line
/// once (backfill and moto's replays de-duplicated), falls back to polling saying why, and a
/// line written afterwards arrives once by polling. Its StartLiveTail requests name the log
/// group by ARN, carry the filter, and validate against botocore's model.
#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn contract_moto_live_tail_answers_once_and_the_follower_falls_back() {
    let moto = emulator::moto().await;
    let (proxy, seen_requests) = recorder::recording_proxy(&moto.url).await;
    let sdk = emulator::sdk_config(&proxy, "testing", "testing").await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    moto::create_log_group(&logs, GROUP).await;
    let now = chrono::Utc::now().timestamp_millis();
    let lines: Vec<(i64, String)> = (0..6)
        .map(|i| (now - 60_000 + i * 1_000, format!("[OTP] line {i}")))
        .collect();
    moto::add_log_stream(&logs, GROUP, "ecs/nerava-backend/aaaa", &lines).await;
    moto::add_log_stream(
        &logs,
        GROUP,
        "ecs/nerava-backend/bbbb",
        &[(now - 30_000, "INFO: not an otp line".into())],
    )
    .await;

    let cfg = AwsConfig {
        endpoint_url: Some(proxy.clone()),
        log_filter: "OTP".into(),
        ..AwsConfig::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let since = now - 30 * 60_000;
    let task = tokio::spawn(live_tail::follow(
        LiveTail::new(&sdk, &cfg),
        LogsFollower::new(&sdk, &cfg, since),
        Duration::from_millis(200),
        tx,
    ));
    let mut seen = Seen::default();
    gather(&mut rx, &mut seen, Duration::from_secs(30), |s| {
        s.modes.len() >= 2
    })
    .await;
    assert_eq!(
        seen.modes.first(),
        Some(&FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None
        }),
        "{seen:?}"
    );
    let Some(FollowMode::Polling { why: Some(why) }) = seen.modes.get(1) else {
        panic!("no fallback to polling: {seen:?}");
    };
    assert!(why.contains("end at once"), "{why}");
    for (_, line) in &lines {
        assert_eq!(seen.lines.get(line), Some(&1), "{line}: {seen:?}");
    }
    assert!(!seen.lines.contains_key("INFO: not an otp line"));

    moto::put_log_events(
        &logs,
        GROUP,
        "ecs/nerava-backend/aaaa",
        &[(chrono::Utc::now().timestamp_millis(), "[OTP] after".into())],
    )
    .await;
    gather(&mut rx, &mut seen, Duration::from_secs(10), |s| {
        s.lines.contains_key("[OTP] after")
    })
    .await;
    gather(&mut rx, &mut seen, Duration::from_millis(800), |_| false).await;
    assert_eq!(seen.lines.get("[OTP] after"), Some(&1), "{seen:?}");
    assert!(seen.lines.values().all(|n| *n == 1), "duplicates: {seen:?}");
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("follow ends with its receiver")
        .expect("no panic");

    let requests: Vec<Bytes> = seen_requests
        .lock()
        .expect("lock")
        .iter()
        .filter(|e| e.target == "Logs_20140328.StartLiveTail")
        .map(|e| e.request.clone())
        .collect();
    assert_eq!(
        requests.len(),
        3,
        "three short sessions before falling back"
    );
    let mut input = Vec::new();
    for body in &requests {
        let json: serde_json::Value = serde_json::from_slice(body).expect("json body");
        assert_eq!(
            json["logGroupIdentifiers"],
            serde_json::json!([format!(
                "arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"
            )])
        );
        assert_eq!(json["logEventFilterPattern"], "OTP");
        input.extend_from_slice(&serde_json::to_vec(&json).expect("json"));
        input.push(b'\n');
    }
    let verdicts = botocore(VALIDATE_REQUESTS, &input);
    assert_eq!(
        verdicts.lines().collect::<Vec<_>>(),
        ["ok"; 3],
        "{verdicts}"
    );
}

/// The simulator's raw Live Tail answer, read for 2.5 s with a line written meanwhile, is a
/// valid AWS event stream by botocore's decoder and parser: sessionStart first with the
/// request's parameters, then sessionUpdate frames with `sessionMetadata.sampled` and the line
/// in `sessionResults`, each member typed as the model says.
#[tokio::test(flavor = "multi_thread")]
async fn contract_sim_live_tail_frames_parse_with_botocore() {
    let sim = Simulator::start(
        scenario::load("healthy").expect("scenario"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("simulator");
    let arn = format!("arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}");
    let request = serde_json::json!({
        "logGroupIdentifiers": [arn],
        "logEventFilterPattern": "contract",
    });
    let input = format!("{request}\n");
    assert_eq!(botocore(VALIDATE_REQUESTS, input.as_bytes()).trim(), "ok");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut answer = http
        .post(&sim.urls.aws)
        .header("x-amz-target", "Logs_20140328.StartLiveTail")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/20261130/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0",
                sim::ACCESS_KEY_ID
            ),
        )
        .body(request.to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    let writer = aws_sdk_cloudwatchlogs::Client::new(
        &emulator::sdk_config(&sim.urls.aws, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY).await,
    );
    moto::add_log_stream(
        &writer,
        GROUP,
        "contract",
        &[(
            chrono::Utc::now().timestamp_millis(),
            "contract line".into(),
        )],
    )
    .await;
    let mut raw = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2_500);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, answer.chunk()).await {
        raw.extend_from_slice(&chunk);
    }
    drop(answer);
    let frames: Vec<serde_json::Value> = botocore(PARSE_FRAMES, &raw)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert!(frames.len() >= 2, "{frames:?}");
    assert!(frames.iter().all(|f| f["status"] == 200), "{frames:?}");
    let start = &frames[0]["parsed"]["sessionStart"];
    assert_eq!(frames[0]["headers"][":event-type"], "sessionStart");
    assert_eq!(start["logGroupIdentifiers"], serde_json::json!([arn]));
    assert_eq!(start["logEventFilterPattern"], "contract");
    assert!(start["sessionId"].as_str().is_some_and(|s| !s.is_empty()));
    let updates: Vec<&serde_json::Value> = frames[1..]
        .iter()
        .map(|f| &f["parsed"]["sessionUpdate"])
        .collect();
    assert!(
        updates
            .iter()
            .all(|u| u["sessionMetadata"]["sampled"].is_boolean()),
        "{updates:?}"
    );
    let results: Vec<&serde_json::Value> = updates
        .iter()
        .filter_map(|u| u["sessionResults"].as_array())
        .flatten()
        .collect();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["message"], "contract line");
    assert_eq!(results[0]["logStreamName"], "contract");
    assert_eq!(results[0]["logGroupIdentifier"], arn);
    assert!(results[0]["timestamp"].is_i64() && results[0]["ingestionTime"].is_i64());
}
