//! Idle CPU of the console: the real binary runs the demo (`healthy`, so nothing is in
//! flight) in tmux at 160×48; after it settles, its CPU time over three 10 s windows is read
//! from `/proc/<pid>/stat` and the median window is reported. Baseline in the same run:
//! `otp-console sim` alone, which is the share of the embedded simulator. The target is under
//! 1 % for the console: it draws only when something changed or on a slow tick, with no busy
//! loop. Exits non-zero when the console's median is not under 1 %.
//!
//! Run with `cargo bench --bench idle_cpu` (needs tmux; Linux).

use std::process::Command;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);
const WINDOW: Duration = Duration::from_secs(10);
const WINDOWS: usize = 3;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --all-targets` builds benches; only `cargo bench` runs this one.
    }
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let ticks = clock_ticks();
    let console = measure("console", &format!("exec {binary} --demo healthy"), ticks);
    let sim = measure(
        "sim",
        &format!("exec {binary} sim --scenario healthy"),
        ticks,
    );
    let show = |v: &[f64]| {
        v.iter()
            .map(|p| format!("{p:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "| process | CPU % per {} s window (n={WINDOWS}) | median CPU % |",
        WINDOW.as_secs()
    );
    println!("|---|---|---:|");
    println!(
        "| `otp-console --demo healthy` (console + simulator) | {} | {:.2} % |",
        show(&console),
        median(&console)
    );
    println!(
        "| `otp-console sim --scenario healthy` (baseline) | {} | {:.2} % |",
        show(&sim),
        median(&sim)
    );
    println!(
        "| console's own share (difference of medians) | | {:.2} % |",
        median(&console) - median(&sim)
    );
    if median(&console) >= 1.0 {
        eprintln!("idle CPU {:.2} % is not under 1 %", median(&console));
        std::process::exit(1);
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// tmux on the bench's own server (`-L`): a test elsewhere that ends the default server
/// cannot take the measured process down mid-run.
fn tmux() -> Command {
    let mut cmd = Command::new("tmux");
    cmd.args([
        "-L",
        &format!("otp-console-idle-bench-{}", std::process::id()),
    ]);
    cmd
}

/// Runs `command` in a fresh tmux session and returns its CPU percentage in each window,
/// after the settling time.
fn measure(name: &str, command: &str, ticks: f64) -> Vec<f64> {
    let session = format!("otp-console-idle-{name}-{}", std::process::id());
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
            command,
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "tmux could not start {command}");
    std::thread::sleep(SETTLE);
    let pid = tmux()
        .args(["display-message", "-p", "-t", &session, "#{pane_pid}"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for _ in 0..WINDOWS {
        let before = cpu_ticks(&pid);
        std::thread::sleep(WINDOW);
        let seconds = (cpu_ticks(&pid) - before) / ticks;
        out.push(seconds / WINDOW.as_secs_f64() * 100.0);
    }
    let _ = tmux().args(["kill-session", "-t", &session]).status();
    out
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: fields start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After ')': state is field 0, utime field 11, stime field 12.
    field(11) + field(12)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
