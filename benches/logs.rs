//! Following logs, in one run on the simulator (`otp-console sim` as its own process, real
//! time), against the tools engineers use today:
//!
//! 1. **Event written → visible**, median of 7: one line at a time is written with
//!    PutLogEvents (the clock starts when the call returns) and timed until each follower has
//!    it, all following at once: the console's follower by Live Tail, by Live Tail during a
//!    test OTP (the bench opens the follower's hot window, as the engine does when it sends a
//!    test OTP, and writes the line 1.3–3 s later, as the backend handling it would:
//!    FilterLogEvents is polled every 0.25 s besides the stream) and by its polling fallback (in this process, headless: the time the line
//!    reaches the channel the console's event loop drains), `awslogs get --watch` (PyPI awslogs 0.15, in a venv under
//!    `target/bench-tools`) and `aws logs tail --follow` (aws CLI v2, Debian's `/usr/bin/aws`),
//!    each timed when its line reaches its stdout. A row is skipped, saying why, when a tool is
//!    not installable.
//! 2. **Catch-up of a 100,000-line backlog**, median of 3: from starting to follow until every
//!    line was delivered — the console's follower (its FilterLogEvents backfill, then Live Tail)
//!    against `awslogs get` (no `--watch`: it exits at the end).
//! 3. **Peak RSS during a 500,000-line burst**: the real console (this build) in tmux, pointed
//!    at the simulator; `VmHWM` from `/proc/PID/status` after a burst written while it follows
//!    by Live Tail, and again for a console started over the burst (its backfill pages through
//!    all 500,000 lines).
//!
//! Targets (issue #18): while an engineer watches a test OTP, median latency ≤ 0.6 s and
//! ≥ 1.5× faster than awslogs; Live Tail alone within its own cadence (median ≤ 1 s: AWS sends
//! one update a second, as awslogs polls once a second, so the two are at parity by
//! construction and only a regression, such as a silent fall back to 2 s polls, exceeds it);
//! backlog ≥ 5× faster than awslogs; peak RSS ≤ 40 MB. Prints a Markdown table; exits 1 when
//! a target is missed. Never contacts AWS: every endpoint is the simulator on 127.0.0.1.
//!
//! `cargo bench --bench logs` (needs python3 with venv, tmux; Linux).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use otp_console::config::AwsConfig;
use otp_console::probe::logs::live_tail::{self, Hot, LiveTail, HOT_FOR};
use otp_console::probe::logs::LogsFollower;
use otp_console::probe::Observation;
use otp_console::sim::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

const GROUP: &str = "/ecs/nerava-backend";
const SAMPLES: usize = 7;
const BACKLOG: usize = 100_000;
const BACKLOG_RUNS: usize = 3;
const BURST: usize = 500_000;
const POLL_EVERY: Duration = Duration::from_secs(2);
/// FilterLogEvents page size, as the console's `engine::follow_logs_live` sets it.
const PAGE: i32 = 1_000;

/// When each follower first showed each token: follower → token → instant.
type Sightings = Arc<Mutex<HashMap<&'static str, HashMap<String, Instant>>>>;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --all-targets` builds benches; only `cargo bench` runs this one.
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = runtime.block_on(run());
    if !ok {
        std::process::exit(1);
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; to split (#27)"
)]
async fn run() -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tools");
    std::fs::create_dir_all(&dir).expect("target/bench-tools");
    let awslogs = install_awslogs(&dir);
    let aws_v2 = aws_cli_v2();
    let sim = Sim::start(&dir);
    let sdk = sdk(&sim.aws_url).await;
    let writer = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let run_id = std::process::id();

    // 1. Latency.
    let sightings: Sightings = Arc::default();
    let cfg = |filter: &str| AwsConfig {
        endpoint_url: Some(sim.aws_url.clone()),
        log_filter: filter.into(),
        ..AwsConfig::default()
    };
    let since = chrono::Utc::now().timestamp_millis() - 5 * 60_000;
    let latency_filter = format!("LATENCY{run_id}");
    let c = cfg(&latency_filter);
    let live = spawn_console(live_tail::follow(
        LiveTail::new(&sdk, &c),
        LogsFollower::new(&sdk, &c, since).with_page_size(PAGE),
        POLL_EVERY,
        watcher("console-live-tail", &sightings),
    ));
    let hot = Hot::new();
    let during_otp = spawn_console(live_tail::follow(
        LiveTail::new(&sdk, &c).with_hot(hot.watch()),
        LogsFollower::new(&sdk, &c, since).with_page_size(PAGE),
        POLL_EVERY,
        watcher("console-test-otp", &sightings),
    ));
    let polling = spawn_console(
        LogsFollower::new(&sdk, &c, since)
            .with_page_size(PAGE)
            .follow(POLL_EVERY, watcher("console-polling", &sightings)),
    );
    let mut children = Vec::new();
    let mut skipped = Vec::new();
    match &awslogs {
        Ok(bin) => children.push(watch_stdout(
            "awslogs",
            Command::new(bin).args([
                "get",
                GROUP,
                "ALL",
                "-w",
                "-f",
                &latency_filter,
                "-s",
                "5m",
                "--aws-endpoint-url",
                &sim.aws_url,
                "--aws-region",
                "us-east-1",
            ]),
            &sightings,
        )),
        Err(why) => skipped.push(("awslogs", why.clone())),
    }
    match &aws_v2 {
        Ok(bin) => children.push(watch_stdout(
            "aws-logs-tail",
            Command::new(bin).args([
                "logs",
                "tail",
                GROUP,
                "--follow",
                "--filter-pattern",
                &latency_filter,
                "--since",
                "5m",
                "--endpoint-url",
                &sim.aws_url,
                "--region",
                "us-east-1",
            ]),
            &sightings,
        )),
        Err(why) => skipped.push(("aws-logs-tail", why.clone())),
    }
    let followers: Vec<&'static str> = ["console-live-tail", "console-test-otp", "console-polling"]
        .into_iter()
        .chain(awslogs.is_ok().then_some("awslogs"))
        .chain(aws_v2.is_ok().then_some("aws-logs-tail"))
        .collect();
    // Every follower must have shown a first line before timing starts.
    let warm = format!("{latency_filter}-warm");
    put(&writer, "latency", &[format!("[OTP] bench {warm}")]).await;
    wait_for(&sightings, &followers, &warm, Duration::from_secs(60)).await;
    let mut latencies: HashMap<&str, Vec<f64>> = HashMap::new();
    for i in 0..SAMPLES {
        // A test OTP goes out: the engine opens the hot window; the backend writes its line
        // later, while the request is handled (here after the pause), so the line lands at any
        // phase of the 0.25 s poll, not just as the window's first poll goes out.
        hot.open(HOT_FOR);
        // Between writes a pause that varies, so no follower's poll phase lines up.
        tokio::time::sleep(Duration::from_millis(1_300 + (i as u64 * 577) % 1_700)).await;
        let token = format!("{latency_filter}-{i}");
        put(&writer, "latency", &[format!("[OTP] bench {token}")]).await;
        let written = Instant::now();
        wait_for(&sightings, &followers, &token, Duration::from_secs(30)).await;
        // Its answer is in and its lines seen: the window closes.
        hot.settle(Duration::ZERO);
        let seen = sightings.lock().expect("lock");
        for f in &followers {
            let at = seen.get(f).and_then(|m| m.get(&token));
            latencies
                .entry(f)
                .or_default()
                .push(at.map_or(f64::NAN, |t| {
                    t.saturating_duration_since(written).as_secs_f64()
                }));
        }
    }
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    live.abort();
    during_otp.abort();
    polling.abort();

    // 2. Backlog.
    let backlog_filter = format!("BACKLOG{run_id}");
    let now = chrono::Utc::now().timestamp_millis();
    let lines: Vec<(i64, String)> = (0..BACKLOG)
        .map(|n| {
            (
                now - 600_000 + (n as i64 * 600_000) / BACKLOG as i64,
                format!("[OTP] {backlog_filter} line {n} phone_last4=6318 status=pending"),
            )
        })
        .collect();
    for chunk in lines.chunks(10_000) {
        put_at(&writer, "backlog", chunk).await;
    }
    let mut console_backlog = Vec::new();
    let mut awslogs_backlog = Vec::new();
    for _ in 0..BACKLOG_RUNS {
        console_backlog.push(console_catch_up(&sdk, &cfg(&backlog_filter)).await);
        if let Ok(bin) = &awslogs {
            awslogs_backlog.push(awslogs_catch_up(bin, &sim.aws_url, &backlog_filter));
        }
    }

    // 3. Peak RSS.
    let rss = rss_during_burst(&sim, &writer).await;

    // The table.
    let median_of = |v: &[f64]| median(v);
    let lt = median_of(latencies.get("console-live-tail").map_or(&[][..], |v| v));
    let hot_median = median_of(latencies.get("console-test-otp").map_or(&[][..], |v| v));
    let poll = median_of(latencies.get("console-polling").map_or(&[][..], |v| v));
    let aw = latencies.get("awslogs").map(|v| median_of(v));
    let tail = latencies.get("aws-logs-tail").map(|v| median_of(v));
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ratio =
        |base: Option<f64>, x: f64| base.map_or("—".to_owned(), |b| format!("{:.1}×", b / x));
    println!("### Event written → visible (s, n={SAMPLES}, one run, all following at once)");
    println!();
    println!("| follower | samples (s) | median s | awslogs ÷ this | `aws logs tail` ÷ this |");
    println!("|---|---|---:|---:|---:|");
    let names = [
        ("console-live-tail", "otp-console, Live Tail"),
        (
            "console-test-otp",
            "otp-console during a test OTP (Live Tail + FilterLogEvents every 0.25 s)",
        ),
        (
            "console-polling",
            "otp-console, polling (fallback, every 2 s, ¼ while lines arrive)",
        ),
        ("awslogs", "`awslogs get --watch` (0.15)"),
        ("aws-logs-tail", "`aws logs tail --follow` (CLI v2)"),
    ];
    for (key, label) in names {
        if let Some(v) = latencies.get(key) {
            let m = median_of(v);
            println!(
                "| {label} | {} | {m:.2} | {} | {} |",
                show(v),
                ratio(aw, m),
                ratio(tail, m)
            );
        }
    }
    for (key, why) in &skipped {
        println!("| {key} | skipped: {why} | | | |");
    }
    println!();
    let cb = median_of(&console_backlog);
    let ab = (!awslogs_backlog.is_empty()).then(|| median_of(&awslogs_backlog));
    println!("### Catch-up of a {BACKLOG}-line backlog (s, n={BACKLOG_RUNS})");
    println!();
    println!("| follower | runs (s) | median s | awslogs ÷ this |");
    println!("|---|---|---:|---:|");
    println!(
        "| otp-console (backfill, then Live Tail) | {} | {cb:.2} | {} |",
        show(&console_backlog),
        ratio(ab, cb)
    );
    if let Some(ab) = ab {
        println!(
            "| `awslogs get` (0.15) | {} | {ab:.2} | 1.0× |",
            show(&awslogs_backlog)
        );
    }
    println!();
    println!("### Peak RSS of the console (real binary in tmux, VmHWM)");
    println!();
    // VmHWM counts the binary's own pages the console touched (RssFile) besides what it
    // allocated (RssAnon): both are shown as of the peak's reading.
    println!("| when | before (MB) | peak (MB) | of it: anon / file (MB) | pane |");
    println!("|---|---:|---:|---:|---|");
    for r in &rss {
        let before = if r.before_mb.is_nan() {
            "—".to_owned()
        } else {
            format!("{:.1}", r.before_mb)
        };
        println!(
            "| {} | {before} | {:.1} | {:.1} / {:.1} | {} |",
            r.what, r.peak_mb, r.anon_mb, r.file_mb, r.pane
        );
    }
    println!();

    let mut ok = true;
    let mut check = |good: bool, what: String| {
        println!("{} {what}", if good { "met:" } else { "MISSED:" });
        ok &= good;
    };
    // Live Tail alone waits for AWS's next update, a uniformly spread 0–1 s, as awslogs waits
    // for its next poll: a median over 7 samples moves around 0.5 s from run to run, so a
    // ratio to awslogs or a 0.6 s bound would pass or fail by luck of phase. The structural
    // bound is the cadence itself.
    check(
        lt <= 1.0,
        format!("Live Tail median {lt:.2} s ≤ 1 s (one update a second)"),
    );
    check(
        hot_median <= 0.6,
        format!("during a test OTP median {hot_median:.2} s ≤ 0.6 s"),
    );
    if let Some(aw) = aw {
        check(
            aw / hot_median >= 1.5,
            format!(
                "during a test OTP {:.1}× faster than awslogs (≥ 1.5×)",
                aw / hot_median
            ),
        );
    }
    if let Some(ab) = ab {
        check(
            ab / cb >= 5.0,
            format!("backlog {:.1}× faster than awslogs (≥ 5×)", ab / cb),
        );
    }
    for r in &rss {
        check(
            r.peak_mb <= 40.0,
            format!("{}: peak {:.1} MB ≤ 40 MB", r.what, r.peak_mb),
        );
    }
    let _ = poll;
    ok
}

fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.len() < values.len() {
        return f64::NAN; // a line never seen is no median
    }
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `otp-console sim` as its own process, on a free port.
struct Sim {
    child: Child,
    aws_url: String,
    config: PathBuf,
}

impl Sim {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = dir.join(format!("logs-bench-{}.toml", std::process::id()));
        let child = Command::new(env!("CARGO_BIN_EXE_otp-console"))
            .args(["sim", "--scenario", "healthy", "--aws-port"])
            .arg(port.to_string())
            .arg("--write-config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("otp-console sim starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() || !config.exists() {
            assert!(Instant::now() < deadline, "the simulator did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            aws_url: format!("http://127.0.0.1:{port}"),
            config,
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

async fn sdk(url: &str) -> aws_config::SdkConfig {
    otp_console::probe::aws::loader()
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "bench",
        ))
        .load()
        .await
}

async fn put(client: &aws_sdk_cloudwatchlogs::Client, stream: &str, messages: &[String]) {
    let now = chrono::Utc::now().timestamp_millis();
    let lines: Vec<(i64, String)> = messages.iter().map(|m| (now, m.clone())).collect();
    put_at(client, stream, &lines).await;
}

async fn put_at(client: &aws_sdk_cloudwatchlogs::Client, stream: &str, lines: &[(i64, String)]) {
    let _ = client
        .create_log_stream()
        .log_group_name(GROUP)
        .log_stream_name(stream)
        .send()
        .await;
    let events = lines
        .iter()
        .map(|(at, m)| {
            InputLogEvent::builder()
                .timestamp(*at)
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
        .expect("PutLogEvents");
}

/// The token in `line` (the word after `bench `), if any.
fn token(line: &str) -> Option<String> {
    let rest = line.split("bench ").nth(1)?;
    Some(rest.split_whitespace().next()?.to_owned())
}

/// A channel whose observations are read as sightings of `name`.
fn watcher(
    name: &'static str,
    sightings: &Sightings,
) -> tokio::sync::mpsc::UnboundedSender<Observation> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sightings = Arc::clone(sightings);
    tokio::spawn(async move {
        while let Some(observation) = rx.recv().await {
            let at = Instant::now();
            if let Observation::Logs {
                result: Ok(batch), ..
            } = observation
            {
                let mut seen = sightings.lock().expect("lock");
                let mine = seen.entry(name).or_default();
                for e in batch.events {
                    if let Some(t) = token(&e.message) {
                        mine.entry(t).or_insert(at);
                    }
                }
            }
        }
    });
    tx
}

fn spawn_console(
    follower: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(follower)
}

/// Starts `command` with the simulator's keys and records each token on its stdout.
fn watch_stdout(name: &'static str, command: &mut Command, sightings: &Sightings) -> Child {
    let mut child = command
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("PYTHONUNBUFFERED", "1")
        .env("AWS_PAGER", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let sightings = Arc::clone(sightings);
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let at = Instant::now();
            if let Some(t) = token(&line) {
                let mut seen = sightings.lock().expect("lock");
                seen.entry(name).or_default().entry(t).or_insert(at);
            }
        }
    });
    child
}

async fn wait_for(sightings: &Sightings, followers: &[&'static str], token: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let all = {
            let seen = sightings.lock().expect("lock");
            followers
                .iter()
                .all(|f| seen.get(f).is_some_and(|m| m.contains_key(token)))
        };
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Seconds from starting the console's follower until it delivered the whole backlog.
async fn console_catch_up(sdk: &aws_config::SdkConfig, cfg: &AwsConfig) -> f64 {
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let since = chrono::Utc::now().timestamp_millis() - 30 * 60_000;
    let task = tokio::spawn(live_tail::follow(
        LiveTail::new(sdk, cfg),
        LogsFollower::new(sdk, cfg, since).with_page_size(PAGE),
        POLL_EVERY,
        tx,
    ));
    let mut count = 0;
    while count < BACKLOG {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(Observation::Logs {
                result: Ok(batch), ..
            })) => count += batch.events.len(),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let took = started.elapsed().as_secs_f64();
    task.abort();
    if count == BACKLOG {
        took
    } else {
        eprintln!("console delivered {count} of {BACKLOG} backlog lines");
        f64::NAN
    }
}

/// Seconds `awslogs get` takes to print the whole backlog and exit.
fn awslogs_catch_up(bin: &Path, url: &str, filter: &str) -> f64 {
    let started = Instant::now();
    let out = Command::new(bin)
        .args([
            "get",
            GROUP,
            "ALL",
            "-f",
            filter,
            "-s",
            "30m",
            "--aws-endpoint-url",
            url,
            "--aws-region",
            "us-east-1",
            "--no-group",
            "--no-stream",
        ])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("awslogs runs");
    let took = started.elapsed().as_secs_f64();
    let lines = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    if lines == BACKLOG {
        took
    } else {
        eprintln!("awslogs printed {lines} of {BACKLOG} backlog lines");
        f64::NAN
    }
}

/// The venv'd awslogs 0.15 under `dir`, installed from PyPI when missing.
fn install_awslogs(dir: &Path) -> Result<PathBuf, String> {
    let venv = dir.join("awslogs");
    let bin = venv.join("bin/awslogs");
    if !bin.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "awslogs==0.15"])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            return Err("cannot install awslogs 0.15 from PyPI into target/bench-tools".into());
        }
    }
    Ok(bin)
}

/// Debian's aws CLI v2 (`apt-get install awscli`): a v1 `aws` on PATH has no `logs tail`.
fn aws_cli_v2() -> Result<PathBuf, String> {
    let bin = PathBuf::from("/usr/bin/aws");
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .map_err(|_| "no /usr/bin/aws: install Debian's awscli (v2) with apt-get".to_owned())?;
    if version.starts_with("aws-cli/2") {
        Ok(bin)
    } else {
        Err(format!("/usr/bin/aws is not v2 ({})", version.trim()))
    }
}

struct Rss {
    what: &'static str,
    before_mb: f64,
    peak_mb: f64,
    /// Resident now: what the console allocated, and the binary's pages it touched.
    anon_mb: f64,
    file_mb: f64,
    pane: String,
}

/// The console in tmux: VmHWM before and after a burst written while it follows, then a fresh
/// console started over the burst.
async fn rss_during_burst(sim: &Sim, writer: &aws_sdk_cloudwatchlogs::Client) -> Vec<Rss> {
    let mut out = Vec::new();
    let console = Tmux::start("follow", &sim.config);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let before = console.vm_kb("VmHWM");
    let now = chrono::Utc::now().timestamp_millis();
    for chunk in 0..BURST / 10_000 {
        let lines: Vec<(i64, String)> = (0..10_000)
            .map(|i| {
                let n = chunk * 10_000 + i;
                (
                    now + (n as i64) / 100,
                    format!("[OTP] Twilio timeout retry {n} phone_last4=6318"),
                )
            })
            .collect();
        put_at(writer, "burst", &lines).await;
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    out.push(Rss {
        what: "500,000 lines written while following (Live Tail)",
        before_mb: before / 1024.0,
        peak_mb: console.vm_kb("VmHWM") / 1024.0,
        anon_mb: console.vm_kb("RssAnon") / 1024.0,
        file_mb: console.vm_kb("RssFile") / 1024.0,
        pane: console.logs_title(),
    });
    drop(console);
    let console = Tmux::start("backfill", &sim.config);
    // Its backfill reads the burst through FilterLogEvents: wait until the pane has settled.
    tokio::time::sleep(Duration::from_secs(25)).await;
    out.push(Rss {
        what: "console started over the 500,000 lines (FilterLogEvents backfill)",
        before_mb: f64::NAN,
        peak_mb: console.vm_kb("VmHWM") / 1024.0,
        anon_mb: console.vm_kb("RssAnon") / 1024.0,
        file_mb: console.vm_kb("RssFile") / 1024.0,
        pane: console.logs_title(),
    });
    out
}

/// tmux on the bench's own server (`-L`): a test elsewhere that ends the default server
/// cannot take the console down mid-run.
fn tmux() -> Command {
    let mut cmd = Command::new("tmux");
    cmd.args([
        "-L",
        &format!("otp-console-logs-bench-{}", std::process::id()),
    ]);
    cmd
}

struct Tmux {
    session: String,
    pid: String,
}

impl Tmux {
    fn start(name: &str, config: &Path) -> Self {
        let session = format!("otp-console-logs-bench-{name}-{}", std::process::id());
        let command = format!(
            "exec env AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY} {} --config {}",
            env!("CARGO_BIN_EXE_otp-console"),
            config.display()
        );
        let ok = tmux()
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "160",
                "-y",
                "48",
                &command,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux could not start the console");
        std::thread::sleep(Duration::from_millis(500));
        let pid = tmux()
            .args(["display-message", "-p", "-t", &session, "#{pane_pid}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Self { session, pid }
    }

    fn vm_kb(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// The logs pane's title and status line, as the screen shows them.
    fn logs_title(&self) -> String {
        let screen = tmux()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let rows: Vec<&str> = screen.lines().collect();
        let Some((i, col)) = rows.iter().enumerate().find_map(|(i, row)| {
            let at = row.find(" 3 Logs ")?;
            Some((i, row[..at].chars().count()))
        }) else {
            return String::new();
        };
        let cut = |row: &str| -> String {
            row.chars()
                .skip(col)
                .take(78)
                .collect::<String>()
                .trim_matches(|c: char| "─│┌┐┏┓┃━┗┛└┘ ".contains(c))
                .replace('|', "/")
        };
        let status = rows.get(i + 1).copied().unwrap_or_default();
        format!("`{}` / `{}`", cut(rows[i]), cut(status))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = tmux().args(["kill-session", "-t", &self.session]).status();
    }
}
