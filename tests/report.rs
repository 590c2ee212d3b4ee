//! The incident report end to end: built from real checks of scenarios whose secrets are
//! known, none of them is in the Markdown or the JSON; and the binary's `check --report` and
//! `repair --report`, including a file that cannot be written.

#[path = "contract_support/simulator.rs"]
mod support;

use std::process::Command;

use otp_console::check;
use otp_console::diagnosis::Names;
use otp_console::report::{ReportHeader, Timeline};
use serde_json::Value;

const VERIFY_SID: &str = "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// Every secret value the scenario files hold, and the test phone.
const SECRETS: [&str; 8] = [
    "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
    "4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a",
    "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
    VERIFY_SID,
    "7133056318",
    "postgresql://nerava:pw@",
    "nerava:pw",
    "jwt-signing-key",
];

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what}: {secret} in\n{text}");
    }
}

/// The report `check --report` writes, built in-process without registering any secret: the
/// masking upstream and the report's own patterns must be enough.
async fn report_of(name: &str) -> (String, Value) {
    let (_sim, config) = support::simulator(name).await;
    let report = check::check(&config, &format!("demo:{name}"), &support::check_options())
        .await
        .expect("runs");
    let mut timeline = Timeline::new();
    timeline.record_check(&report, &Names::from_config(&config));
    let header = ReportHeader::for_check(&report);
    (timeline.to_markdown(&header), timeline.to_json(&header))
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_of_the_scenario_is_in_the_report() {
    for (name, mode) in [
        ("invalid-credentials", "invalid_credentials"),
        ("missing-env-vars", "missing_env_vars"),
    ] {
        let (markdown, json) = report_of(name).await;
        assert_no_secret(name, &markdown);
        assert_no_secret(name, &json.to_string());
        assert_eq!(json["verdict"]["failure_mode"], mode, "{name}");
        assert!(markdown.contains(&format!("**{mode}**")), "{markdown}");
        let timeline = json["timeline"].as_array().expect("timeline");
        for kind in ["probe", "finding", "checklist_change"] {
            assert!(
                timeline.iter().any(|e| e["kind"] == kind),
                "{name}: no {kind} entry in {json:#}"
            );
        }
        // The SIDs are there, by their prefix only.
        assert!(json.to_string().contains("AC5f3b1c…"), "{name}");
    }
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_otp-console"))
}

#[test]
fn check_writes_markdown_with_verdict_checklist_and_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("incident.md");
    let out = binary()
        .args([
            "check",
            "--demo",
            "missing-env-vars",
            "--check-aws",
            "--time-scale",
            "0.05",
            "--report",
        ])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let markdown = std::fs::read_to_string(&path).expect("written");
    assert!(
        markdown.contains("- Verdict: **missing_env_vars**"),
        "{markdown}"
    );
    assert!(markdown.contains("## Checklist"), "{markdown}");
    assert!(
        markdown.contains("AWS ECS task definition has all Twilio env vars"),
        "{markdown}"
    );
    assert!(
        markdown.contains("## What changed: nerava-backend:42"),
        "{markdown}"
    );
    assert!(markdown.contains("TWILIO_VERIFY_SERVICE_SID"), "{markdown}");
    assert!(markdown.contains("## Timeline"), "{markdown}");
    assert!(
        markdown.contains("| probe | ECS: nerava-backend:42"),
        "{markdown}"
    );
    assert!(markdown.contains("| checklist | "), "{markdown}");
    assert!(
        markdown.contains("- Logs followed by polling FilterLogEvents every 500 ms"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| probe | Logs followed by polling FilterLogEvents"),
        "{markdown}"
    );
    assert_no_secret("check --report", &markdown);
    assert!(!dir.path().join("incident.md.json").exists());
}

#[test]
fn repair_writes_json_with_plan_applied_rollout_and_verification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("incident.json");
    let out = binary()
        .args([
            "repair",
            "--demo",
            "missing-env-vars",
            "--set",
            &format!("TWILIO_VERIFY_SERVICE_SID={VERIFY_SID}"),
            "--yes",
            "--time-scale",
            "0.05",
            // The verification's positive evidence: an OTP start through the new tasks.
            "--test-phone",
            "+17133056318",
            "--report",
        ])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("written");
    assert_no_secret("repair --report", &text);
    assert!(text.contains("VA0a1b2c…"), "the SID by its prefix: {text}");
    let json: Value = serde_json::from_str(&text).expect("JSON");
    let repair = &json["repair"];
    assert_eq!(repair["plan"]["action"]["kind"], "set");
    assert_eq!(
        repair["plan"]["action"]["variables"][0]["value"],
        "VA0a1b2c…"
    );
    assert_eq!(repair["applied"]["revision"], 43);
    assert_eq!(repair["rollout"]["state"], "completed");
    assert_eq!(json["verification"]["verdict"]["failure_mode"], "none");
    assert_eq!(json["verdict"]["failure_mode"], "none");
    let timeline = json["timeline"].as_array().expect("timeline");
    let texts: Vec<&str> = timeline.iter().filter_map(|e| e["text"].as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("repair planned: set TWILIO_VERIFY_SERVICE_SID")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("applied: ")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("rollout completed")),
        "{texts:#?}"
    );
    assert!(
        timeline
            .iter()
            .any(|e| e["kind"] == "verification" && e["detail"]["failure_mode"] == "none"),
        "{texts:#?}"
    );
}

#[test]
fn an_unwritable_report_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no-such-dir").join("incident");
    let out = binary()
        .args([
            "check",
            "--demo",
            "healthy",
            "--time-scale",
            "0.05",
            "--report",
        ])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--report") && stderr.contains("incident.md"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_has_the_sms_delivery_steps_with_times_masked() {
    // Without real users (whose undelivered SMS name the failure before any test send is
    // followed), the test send is the evidence: its steps are in the report.
    let quiet = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temporary file");
    let scenario = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/scenarios/sms-undelivered.toml"
    ))
    .expect("scenario");
    std::fs::write(
        quiet.path(),
        format!("{scenario}\n[traffic]\notp_starts_per_minute = 0\n"),
    )
    .expect("written");
    let (markdown, json) = report_of(quiet.path().to_str().expect("utf-8")).await;
    assert_no_secret("sms-undelivered", &markdown);
    assert_no_secret("sms-undelivered", &json.to_string());
    assert!(
        !markdown.contains("8325550147"),
        "the From number in\n{markdown}"
    );
    assert_eq!(json["verdict"]["failure_mode"], "sms_undelivered");
    assert!(
        markdown.contains("Twilio From number •••0147: owned, SMS-capable"),
        "{markdown}"
    );
    let step = markdown
        .lines()
        .find(|l| l.contains("Twilio delivery of SM") && l.contains("undelivered after"))
        .unwrap_or_else(|| panic!("no delivery step in\n{markdown}"));
    assert!(
        step.contains("to •••6318") && step.contains("error 30007"),
        "{step}"
    );
}
