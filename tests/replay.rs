//! `check --replay`: recorded evidence diagnosed again with today's rules. `tests/golden/` keeps,
//! for every built-in scenario, what a full check of it recorded (`NAME.recording.json`) and the
//! verdict today's rules give it (`NAME.verdict.json`: the verdict, each candidate's confidence
//! and what it explains, the risks). A rule change that changes any of them shows up as a diff
//! of a `.verdict.json`; a deliberate one is recorded again with
//! `UPDATE_GOLDEN=1 cargo test --test replay` (which runs each scenario on the simulator), or
//! only some with `UPDATE_GOLDEN=NAME,NAME`.

#[path = "contract_support/simulator.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;

use otp_console::check;
use otp_console::diagnosis::Verdict;
use otp_console::sim::scenario;
use serde_json::{json, Value};

fn golden(name: &str, kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.{kind}.json"))
}

/// What a verdict file holds: what a rule change would change, without the evidence's wording.
fn summary(verdict: &Verdict) -> Value {
    let finding = |f: &otp_console::diagnosis::Finding| {
        json!({
            "failure_mode": f.failure_mode,
            "confidence": f.confidence,
            "explains": f.explains,
        })
    };
    json!({
        "failure_mode": verdict.failure_mode,
        "candidates": verdict.candidates.iter().map(finding).collect::<Vec<_>>(),
        "risks": verdict.risks.iter().map(finding).collect::<Vec<_>>(),
    })
}

/// Runs `name` on the simulator and writes its recording and verdict files.
async fn record(name: &str) {
    let (_sim, config) = support::simulator(name).await;
    let report = check::check(&config, name, &support::check_options())
        .await
        .expect("runs");
    let recording = json!({ "recording": check::replay::recording(&report) });
    std::fs::create_dir_all(golden(name, "x").parent().expect("a directory")).expect("mkdir");
    std::fs::write(golden(name, "recording"), recording.to_string()).expect("writes");
    let verdict = serde_json::to_string_pretty(&summary(&report.diagnosis.verdict)).expect("json");
    std::fs::write(golden(name, "verdict"), verdict + "\n").expect("writes");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_golden_recording_gives_its_verdict_with_todays_rules() {
    // `UPDATE_GOLDEN=1` records every scenario again; `UPDATE_GOLDEN=a,b` only those.
    let update = std::env::var("UPDATE_GOLDEN").ok();
    let updates = |name: &str| {
        update
            .as_deref()
            .is_some_and(|u| u == "1" || u.split(',').any(|n| n == name))
    };
    let mut differ = Vec::new();
    for (name, _) in scenario::list() {
        if updates(name) {
            record(name).await;
        }
        let read = |kind| {
            let path = golden(name, kind);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: record it with UPDATE_GOLDEN=1 cargo test --test replay",
                    path.display()
                )
            });
            serde_json::from_str::<Value>(&text).expect("JSON")
        };
        let replayed = check::replay::replay(&read("recording"), name).expect("replays");
        let got = summary(&replayed.diagnosis.verdict);
        let want = read("verdict");
        // The recorded verdict is the scenario's own expectation, too.
        let expect = scenario::load(name).expect("scenario").expect;
        assert_eq!(
            want["failure_mode"], expect.failure_mode,
            "{name}: its golden verdict is not the scenario's [expect]"
        );
        if got != want {
            differ.push(format!(
                "{name}: recorded\n{}\nreplayed today\n{}",
                serde_json::to_string_pretty(&want).unwrap_or_default(),
                serde_json::to_string_pretty(&got).unwrap_or_default()
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "today's rules give other verdicts (if deliberate: UPDATE_GOLDEN=1 cargo test --test replay):\n{}",
        differ.join("\n\n")
    );
}

/// The binary: the same table and exit status as the check that recorded it, and one line
/// with exit 2 for a file it cannot replay.
#[test]
fn the_binary_replays_a_recording_and_refuses_what_it_cannot_read() {
    let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .args(["check", "--replay"])
        .arg(golden("event-loop-blocking", "recording"))
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(table.contains("VERDICT  event_loop_blocked"), "{table}");
    let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .args(["check", "--json", "--replay"])
        .arg(golden("healthy", "recording"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["verdict"]["failure_mode"], "none");
    assert!(json["recording"]["observations"]
        .as_array()
        .is_some_and(|o| !o.is_empty()));

    let dir = std::env::temp_dir().join(format!("otp-console-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (file, text, says) in [
        ("garbage.json", "\u{1b}[31m not json", "not JSON"),
        ("other.json", r#"{"verdict": {}}"#, "no `recording`"),
        (
            "future.json",
            r#"{"recording": {"schema": 9, "at_ms": 0, "lines_since_ms": 0, "names": {"cluster": "", "service": "", "log_group": "", "log_filter": "", "api_base": "", "region": ""}, "observations": []}}"#,
            "schema 9",
        ),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text).expect("writes");
        let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
            .args(["check", "--replay"])
            .arg(&path)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert_eq!(err.lines().count(), 1, "{file}: one line: {err}");
        assert!(err.contains(says), "{file}: {err}");
        assert!(
            !err.contains('\u{1b}'),
            "{file}: no escape from the file: {err:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .args(["check", "--replay", "/nonexistent/incident.json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
