//! The console's per-frame cost on a busy incident: what the event loop does for a burst of
//! log lines (`App::update`) and for one full draw at 160×48, with the log pane and the
//! latency series full (5,000 lines, 2,000 samples, the most the evidence keeps). Baseline in
//! the same run: the same draw of a console that has seen nothing yet. A burst must be applied
//! and drawn well within one 250 ms tick, or the screen would lag behind the outage.
//!
//! Run with `cargo bench --bench frame`. Prints medians (n = `BENCH_FRAMES`, default 50) and
//! exits non-zero when a full draw's median is over 50 ms.

use std::time::{Duration, Instant};

use otp_console::app::App;
use otp_console::diagnosis::Names;
use otp_console::event::{Event, Target};
use otp_console::probe::http::{Class, Endpoint, Sample};
use otp_console::probe::logs::{self, Batch};
use otp_console::probe::Observation;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const NOW: i64 = 1_769_162_400_000;
const LINES: usize = 5_000;
const SAMPLES: usize = 2_000;
const BURST: usize = 1_000;
/// The draw's budget: a fifth of a tick.
const DRAW_BUDGET: Duration = Duration::from_millis(50);

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --all-targets` builds benches; only `cargo bench` runs this one.
    }
    let runs: usize = std::env::var("BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let area = Rect::new(0, 0, 160, 48);

    let empty = console();
    let draw_empty = median(runs, || draw(&empty, area));

    let mut busy = console();
    busy.update(Event::Observed(Observation::Logs {
        at_ms: NOW,
        result: Ok(Batch {
            events: lines(0, LINES),
            follow: None,
        }),
    }));
    for i in 0..SAMPLES {
        busy.update(Event::Observed(Observation::Http(sample(i))));
    }
    let draw_busy = median(runs, || draw(&busy, area));

    let mut next = LINES;
    let apply_burst = median(runs, || {
        let batch = lines(next, BURST);
        next += BURST;
        let started = Instant::now();
        busy.update(Event::Observed(Observation::Logs {
            at_ms: NOW,
            result: Ok(Batch {
                events: batch,
                follow: None,
            }),
        }));
        started.elapsed()
    });

    println!("| what (160×48, median of {runs}) | time |");
    println!("|---|---:|");
    println!("| draw, nothing seen yet (baseline) | {} |", ms(draw_empty));
    println!(
        "| draw, {LINES} log lines + {SAMPLES} samples | {} ({:.1}× the baseline) |",
        ms(draw_busy),
        draw_busy.as_secs_f64() / draw_empty.as_secs_f64().max(1e-9)
    );
    println!(
        "| update, a burst of {BURST} log lines (full pane) | {} |",
        ms(apply_burst)
    );
    if draw_busy > DRAW_BUDGET {
        eprintln!(
            "a full draw takes {} (budget {})",
            ms(draw_busy),
            ms(DRAW_BUDGET)
        );
        std::process::exit(1);
    }
}

fn console() -> App {
    let mut app = App::new(Names::default(), Vec::new(), NOW);
    app.update(Event::Resize(160, 48));
    app.update(Event::Target(Target {
        demo_scenario: Some("event-loop-blocking".into()),
        names: Names {
            api_base: "http://127.0.0.1:8080".into(),
            ..Names::default()
        },
        test_phone: "+17133056318".into(),
        secrets: Vec::new(),
    }));
    app.update(Event::Tick(NOW));
    app
}

/// `n` log lines from `from` on, a mix of what the runbook highlights and access lines.
fn lines(from: usize, n: usize) -> Vec<logs::Event> {
    (from..from + n)
        .map(|i| {
            let message = match i % 4 {
                0 => "[OTP] OTP sent successfully phone_last4=6318 status=pending".to_owned(),
                1 => format!(
                    "INFO:     10.0.1.57:{} - \"GET /health HTTP/1.1\" 200 OK",
                    40_000 + i % 20_000
                ),
                2 => "[OTP] Twilio timeout after 30s phone_last4=6318".to_owned(),
                _ => format!(
                    "INFO:     10.0.2.12:{} - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK",
                    50_000 + i % 10_000
                ),
            };
            logs::Event {
                id: format!("event-{i}"),
                stream: "ecs/nerava-backend/9ff1d2f5a68a881e6bfe29f2e32b7aa0".into(),
                timestamp_ms: NOW - 3_600_000 + i as i64 * 100,
                kind: logs::classify(&message),
                message,
            }
        })
        .collect()
}

fn sample(i: usize) -> Sample {
    let endpoint = if i % 10 == 0 {
        Endpoint::OtpStart
    } else {
        Endpoint::Health
    };
    Sample {
        endpoint,
        id: i as u64,
        started_ms: NOW - 3_600_000 + i as i64 * 1_000,
        latency_ms: if i % 7 == 0 { 12_000 } else { 3 },
        status: Some(200),
        class: Class::Ok,
        summary: "ok: true".into(),
        during_otp: false,
        otp_started_ms: None,
        phone_last4: None,
    }
}

fn draw(app: &App, area: Rect) -> Duration {
    let mut buf = Buffer::empty(area);
    let started = Instant::now();
    otp_console::ui::render_to(app, area, &mut buf);
    let elapsed = started.elapsed();
    std::hint::black_box(&buf);
    elapsed
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs.max(1)).map(|_| f()).collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
