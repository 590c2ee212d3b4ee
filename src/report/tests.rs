use std::path::Path;

use super::*;
use crate::diagnosis::{diagnose, FailureMode, State};
use crate::probe::http::{Class, Endpoint, Sample};
use crate::probe::logs::{Batch, Event, LineKind};
use crate::probe::twilio::{Fact, StatusPage};
use crate::probe::{ErrorKind, ProbeError, System};

const HOUR_MS: i64 = 3_600_000;

fn health(at_ms: i64, latency_ms: u64, class: Class) -> Observation {
    Observation::Http(Sample {
        endpoint: Endpoint::Health,
        id: at_ms as u64,
        started_ms: at_ms,
        latency_ms,
        status: (class == Class::Ok).then_some(200),
        class,
        summary: format!("ok uptime={at_ms}"),
        during_otp: false,
        otp_started_ms: None,
        phone_last4: None,
    })
}

fn logs(at_ms: i64, kinds: &[LineKind]) -> Observation {
    Observation::Logs {
        at_ms,
        result: Ok(Batch {
            events: kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| Event {
                    id: format!("{at_ms}-{i}"),
                    stream: "ecs/api/1".into(),
                    timestamp_ms: at_ms,
                    message: format!("line {i} to +17133056318"),
                    kind: *kind,
                })
                .collect(),
            follow: None,
        }),
    }
}

fn status_page(at_ms: i64) -> Observation {
    Observation::Twilio {
        at_ms,
        fact: Fact::StatusPage(Ok(StatusPage {
            indicator: "none".into(),
            description: "All Systems Operational".into(),
            degraded: Vec::new(),
        })),
    }
}

/// An hour of a quiet console: health every 5 s, logs every 500 ms, the status page every
/// minute, a diagnosis after each; one slow minute in the middle.
fn hour() -> Timeline {
    let mut t = Timeline::new();
    let mut evidence = Evidence::default();
    let names = Names::default();
    let mut at = 1_700_000_000_000;
    let end = at + HOUR_MS;
    while at < end {
        let mut seen = vec![logs(at, &[LineKind::Access, LineKind::Access])];
        if at % 5_000 == 0 {
            let slow = (at - 1_700_000_000_000) / 60_000 == 30;
            seen.push(health(
                at,
                if slow { 4_000 } else { 7 + (at % 3) as u64 },
                Class::Ok,
            ));
        }
        if at % 60_000 == 0 {
            seen.push(status_page(at));
        }
        for o in seen {
            t.record_observation(&o, at);
            evidence.record(o);
        }
        // As often as the console's health probe; diagnosing on every line only costs time.
        if at % 5_000 == 0 {
            t.record_diagnosis(&diagnose(&evidence, &names, at), at);
        }
        at += 500;
    }
    t
}

#[test]
fn an_hour_long_session_stays_small() {
    let t = hour();
    assert!(t.entries().len() < 40, "{:#?}", t.entries());
    let first = t
        .entries()
        .iter()
        .find(|e| e.text.starts_with("health 200 ×"))
        .expect("health folded");
    assert!(first.text.contains("(p50 8 ms)"), "{}", first.text);
    assert!(t
        .entries()
        .iter()
        .any(|e| e.text.starts_with("logs: ") && e.text.contains("access")));
    let header = ReportHeader::new("demo:healthy", 1_700_000_000_000, 1_700_003_600_000);
    let markdown = t.to_markdown(&header);
    let json = t.to_json(&header).to_string();
    assert!(markdown.len() < 16_000, "{} bytes", markdown.len());
    assert!(json.len() < 32_000, "{} bytes", json.len());
    assert!(!markdown.contains("7133056318") && !json.contains("7133056318"));
}

#[test]
fn memory_is_bounded_even_when_nothing_repeats() {
    let mut t = Timeline::new();
    for i in 0..(3 * MAX_ENTRIES as i64) {
        t.record_observation(&health(i, (i % 2) as u64, Class::Ok), i);
        t.record_observation(&health(i, 5, Class::Timeout), i);
    }
    t.record_action("OTP start to •••6318", 0);
    assert_eq!(t.entries().len(), MAX_ENTRIES);
    assert!(t.dropped() > 0);
    assert!(t.entries().iter().any(|e| e.kind == EntryKind::Action));
}

#[test]
fn only_changes_in_the_diagnosis_become_entries() {
    let names = Names::default();
    let mut t = Timeline::new();
    let mut evidence = Evidence::default();
    t.record_diagnosis(&diagnose(&evidence, &names, 0), 0);
    let before = t.entries().len();
    t.record_diagnosis(&diagnose(&evidence, &names, 1), 1);
    assert_eq!(
        t.entries().len(),
        before,
        "the same diagnosis twice adds nothing"
    );
    evidence.record(Observation::Twilio {
        at_ms: 2,
        fact: Fact::Account(Err(ProbeError {
            system: System::Twilio,
            kind: ErrorKind::Credentials,
            code: Some("20003".into()),
            message: "Authenticate: the auth token is wrong".into(),
        })),
    });
    let d = diagnose(&evidence, &names, 2);
    assert_eq!(d.verdict.failure_mode, FailureMode::InvalidCredentials);
    t.record_diagnosis(&d, 2);
    let texts: Vec<&str> = t.entries()[before..]
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert!(
        texts.contains(
            &"verdict: inconclusive → invalid_credentials (Invalid or rotated Twilio credentials)"
        ),
        "{texts:#?}"
    );
    assert!(texts
        .iter()
        .any(|t| t.starts_with("finding: invalid_credentials")));
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("auth token valid: running → fail")),
        "{texts:#?}"
    );
    let finding = t
        .entries()
        .iter()
        .find(|e| e.kind == EntryKind::Finding && e.text.starts_with("finding:"))
        .expect("finding");
    assert_eq!(finding.detail.as_ref().expect("detail")["confidence"], 3);
    assert!(d.checklist.iter().any(|l| l.state == State::Fail));
}

#[test]
fn registered_secrets_are_masked_even_when_registered_late() {
    let mut t = Timeline::new();
    t.record_action("rotated the token to 9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c", 1);
    t.record_action_with(
        "set TWILIO_AUTH_TOKEN",
        serde_json::json!({ "value": "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c", "db": "postgresql://nerava:pw@db/x" }),
        2,
    );
    t.with_secrets(vec![
        "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c".into(),
        "+17133056318".into(),
    ]);
    t.record_action("called 7133056318", 3);
    let header = ReportHeader::new("demo:x", 0, 3);
    let markdown = t.to_markdown(&header);
    let json = t.to_json(&header).to_string();
    for text in [&markdown, &json] {
        assert!(!text.contains("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"), "{text}");
        assert!(!text.contains("7133056318"), "{text}");
        assert!(!text.contains("nerava:pw"), "{text}");
    }
    assert!(markdown.contains(redact::MASK));
}

#[test]
fn the_file_name_chooses_the_format() {
    assert_eq!(
        paths(Path::new("out/r.md")),
        vec![(PathBuf::from("out/r.md"), Format::Markdown)]
    );
    assert_eq!(
        paths(Path::new("r.json")),
        vec![(PathBuf::from("r.json"), Format::Json)]
    );
    assert_eq!(
        paths(Path::new("incident-42")),
        vec![
            (PathBuf::from("incident-42.md"), Format::Markdown),
            (PathBuf::from("incident-42.json"), Format::Json)
        ]
    );
}

#[test]
fn values_resolved_from_secrets_are_masked_from_the_ecs_read_on() {
    let mut snapshot = crate::ui::fixtures::snapshot(&[], "app:1");
    snapshot.secret_values = crate::probe::ecs::SecretValues(vec![(
        "TWILIO_AUTH_TOKEN".into(),
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
    )]);
    let mut t = Timeline::new();
    t.record_observation(
        &Observation::Ecs {
            at_ms: 1,
            result: Ok(Box::new(snapshot)),
        },
        1,
    );
    t.record_action("a body echoed 0f1e2d3c4b5a69788796a5b4c3d2e1f0 back", 2);
    let header = ReportHeader::new("prod", 0, 2);
    for text in [t.to_markdown(&header), t.to_json(&header).to_string()] {
        assert!(!text.contains("0f1e2d3c4b5a69788796a5b4c3d2e1f0"), "{text}");
        assert!(text.contains("a body echoed"), "{text}");
    }
}

/// How the logs were followed is in the report: each change of mode as a timeline entry, the
/// last one in the header (Markdown and JSON).
#[test]
fn the_report_says_how_the_logs_were_followed() {
    use crate::probe::logs::FollowMode;
    let follow = |at_ms: i64, mode: FollowMode| Observation::Logs {
        at_ms,
        result: Ok(Batch {
            events: Vec::new(),
            follow: Some(mode),
        }),
    };
    let why = "polling: Live Tail sessions keep failing (AWS StartLiveTail: LimitExceededException: You have reached the maximum number of resources that can be created.); Live Tail tried again in 1 min";
    let mut t = Timeline::new();
    let mut evidence = Evidence::default();
    let start = 1_700_000_000_000;
    for (i, mode) in [
        FollowMode::Polling {
            why: Some(why.into()),
        },
        FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None,
        },
        FollowMode::LiveTail {
            sampled: true,
            backfill_failed: None,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let o = follow(start + i as i64 * 60_000, mode);
        t.record_observation(&o, start + i as i64 * 60_000);
        evidence.record(o);
    }
    let texts: Vec<&str> = t.entries().iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            format!("Logs followed by {why}").as_str(),
            "Logs followed by Live Tail",
            "Logs followed by Live Tail, sampled (more than 500 matching lines a second: not every line is shown)",
        ]
    );
    let header = ReportHeader::new("demo:healthy", start, start + 180_000).with_evidence(&evidence);
    let markdown = t.to_markdown(&header);
    assert!(
        markdown.contains("- Logs followed by Live Tail, sampled (more than 500"),
        "{markdown}"
    );
    let json = t.to_json(&header);
    assert_eq!(json["logs_follow"]["mode"], "live_tail");
    assert_eq!(json["logs_follow"]["sampled"], true);
    assert_eq!(json["timeline"][0]["detail"]["mode"], "polling");
    assert_eq!(json["timeline"][0]["detail"]["why"], why);

    // No report of the logs at all: nothing said.
    let header = ReportHeader::new("demo:healthy", start, start);
    assert!(!Timeline::new()
        .to_markdown(&header)
        .contains("Logs followed"));
    assert!(Timeline::new().to_json(&header)["logs_follow"].is_null());
}

fn verdict_of(mode: FailureMode, evidence: &[&str]) -> crate::diagnosis::Diagnosis {
    use crate::diagnosis::{Diagnosis, Finding, Verdict};
    Diagnosis {
        verdict: Verdict {
            failure_mode: mode,
            candidates: if mode.is_failure() {
                vec![Finding {
                    failure_mode: mode,
                    title: mode.title(),
                    confidence: 2,
                    evidence: evidence.iter().map(|e| (*e).to_owned()).collect(),
                    repair: mode.repair(),
                    explains: Vec::new(),
                    commands: vec![],
                }]
            } else {
                vec![]
            },
            risks: vec![],
        },
        checklist: vec![],
        unknown: vec![],
        timeouts: None,
    }
}

/// The report opens like a postmortem: the incident as first named (not the final verdict),
/// on what evidence and how soon, the change behind it, what was done, the verification and
/// the time to recover; the same facts in the JSON's `summary`.
#[test]
fn the_report_opens_with_the_incident_not_the_final_verdict() {
    let start = 1_000_000;
    let mut timeline = Timeline::new();
    timeline.record_diagnosis(&verdict_of(FailureMode::Inconclusive, &[]), start + 1_000);
    timeline.record_diagnosis(
        &verdict_of(
            FailureMode::EventLoopBlocked,
            &["/health took 8.0 s while an OTP start was in flight (normally 12 ms)"],
        ),
        start + 4_500,
    );
    timeline.record_action("roll back to nerava-backend:41", start + 30_000);
    timeline.record_action(
        "repair confirmed: roll back nerava-backend to :41",
        start + 40_000,
    );
    timeline.record_action("rollout completed after 42.0 s", start + 82_000);
    let fixed = verdict_of(FailureMode::None, &[]);
    timeline.record_verification(&fixed, start + 95_000);
    let mut header = ReportHeader::new("demo:event-loop-blocking", start, start + 100_000)
        .with_diagnosis(&fixed);
    header.changes = vec![ChangeLine {
        at_ms: start - 1_500_000,
        who: "arn:aws:iam::123456789012:user/deploy-bot".into(),
        user_agent: None,
        what: "deployed nerava-backend:42 (image …:2026.01.23)".into(),
        related: true,
    }];
    // The repair's own deployment, as CloudTrail recorded its caller.
    header.changes.insert(
        0,
        ChangeLine {
            at_ms: start + 40_500,
            who: "arn:aws:sts::123456789012:assumed-role/oncall/alex".into(),
            user_agent: None,
            what: "deployed nerava-backend:41 to nerava-backend".into(),
            related: false,
        },
    );
    header.users = Some("OTP start 45 requests in the last 15 min, 45 × 504".into());
    header.repair = Some(serde_json::json!({ "summary": "roll back nerava-backend to :41" }));
    header.verification = Some(serde_json::json!({ "verdict": { "failure_mode": "none" } }));
    let md = timeline.to_markdown(&header);
    let summary: Vec<&str> = md
        .lines()
        .skip_while(|l| *l != "## Summary")
        .take_while(|l| !l.starts_with("- Target"))
        .collect();
    let text = summary.join("\n");
    assert!(
        text.contains("Incident: **event_loop_blocked** — Async event loop blocked by the Twilio call; now: **none**"),
        "{md}"
    );
    assert!(
        text.contains("What users saw: OTP start 45 requests"),
        "{text}"
    );
    assert!(
        text.contains("Named 4.5 s after the session began, on: /health took 8.0 s"),
        "{text}"
    );
    assert!(
        text.contains("The change behind it: deployed nerava-backend:42"),
        "{text}"
    );
    assert!(
        text.contains("Done: roll back nerava-backend to :41"),
        "{text}"
    );
    assert!(
        text.contains("Verified: **none**, 95 s after the session began"),
        "{text}"
    );
    assert!(
        text.contains("Confirmed 40 s after the session began (the service's name typed), applied as arn:aws:sts::123456789012:assumed-role/oncall/alex (CloudTrail); completed 82 s after the session began"),
        "{text}"
    );
    let json = timeline.to_json(&header);
    assert_eq!(
        json["summary"]["incident"]["failure_mode"],
        "event_loop_blocked"
    );
    assert_eq!(json["summary"]["time_to_diagnose_ms"], 4_500);
    assert_eq!(json["summary"]["time_to_recover_ms"], 95_000);
    assert_eq!(
        json["summary"]["applied_by"],
        "arn:aws:sts::123456789012:assumed-role/oncall/alex"
    );
    assert_eq!(json["summary"]["confirmed_ms"], 40_000);
}
