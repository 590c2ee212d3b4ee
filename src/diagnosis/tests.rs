//! Table-driven tests of the diagnosis: hand-built evidence for each failure mode of the
//! runbook, and the verdict and checklist it must give.

use super::*;
use crate::config::{EnvRules, EnvView};
use crate::probe::http::Class;
use crate::probe::twilio::delivery;
use crate::probe::twilio::{Account, VerifyService};
use crate::probe::{ecs, System};

const NOW: i64 = 1_000_000;

fn names() -> Names {
    Names {
        platform: crate::config::Platform::Ecs,
        cluster: "nerava-cluster".into(),
        service: "nerava-backend".into(),
        log_group: "/ecs/nerava-backend".into(),
        log_filter: "OTP".into(),
        api_base: "https://api.nerava.network".into(),
        region: "us-east-1".into(),
        context: None,
    }
}

fn td(revision: i32, image: &str, env: &[(&str, &str)]) -> ecs::TaskDefinition {
    ecs::TaskDefinition {
        arn: format!("arn:aws:ecs:us-east-1:1:task-definition/nerava-backend:{revision}"),
        family: "nerava-backend".into(),
        revision,
        image: image.into(),
        registered_ms: None,
        registered_by: None,
        container: "nerava-backend".into(),
        log_group: None,
        log_region: None,
        other_containers: vec![],
        execution_role: None,
        environment: env
            .iter()
            .map(|(n, v)| ecs::EnvVar {
                name: (*n).into(),
                display: crate::redact::env_value(n, v),
                fingerprint: 0,
            })
            .collect(),
        secrets: vec![],
        environment_files: vec![],
        tags: vec![],
    }
}

const GOOD: &[(&str, &str)] = &[
    ("ENV", "prod"),
    ("OTP_PROVIDER", "twilio_verify"),
    ("TWILIO_ACCOUNT_SID", "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8"),
    ("TWILIO_AUTH_TOKEN", "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"),
    (
        "TWILIO_VERIFY_SERVICE_SID",
        "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ),
];

/// The good environment with `OTP_PROVIDER=stub`.
/// The runbook's variables without `TWILIO_VERIFY_SERVICE_SID`.
fn without_verify_sid() -> Vec<(&'static str, &'static str)> {
    GOOD.iter()
        .copied()
        .filter(|(n, _)| *n != "TWILIO_VERIFY_SERVICE_SID")
        .collect()
}

fn stub_provider() -> Vec<(&'static str, &'static str)> {
    GOOD.iter()
        .map(|&(n, v)| {
            if n == "OTP_PROVIDER" {
                (n, "stub")
            } else {
                (n, v)
            }
        })
        .collect()
}

fn snapshot(env: &[(&str, &str)], image_change: bool) -> ecs::Snapshot {
    let view = env
        .iter()
        .fold(EnvView::new(), |v, (n, val)| v.with_value(n, val));
    let deployed = td(
        42,
        if image_change {
            "app:2026.01.23"
        } else {
            "app:2026.01.22"
        },
        env,
    );
    let previous = td(41, "app:2026.01.22", GOOD);
    let diff = if image_change {
        vec![ecs::Change::Image {
            from: "app:2026.01.22".into(),
            to: "app:2026.01.23".into(),
        }]
    } else {
        vec![]
    };
    ecs::Snapshot {
        service: ecs::Service {
            name: "nerava-backend".into(),
            status: "ACTIVE".into(),
            desired: 1,
            running: 1,
            pending: 0,
            task_definition: deployed.arn.clone(),
            target_container: None,
            deployments: vec![ecs::Deployment {
                id: "ecs-svc/1".into(),
                status: "PRIMARY".into(),
                task_definition: deployed.arn.clone(),
                revision: Some(42),
                rollout_state: "COMPLETED".into(),
                rollout_reason: String::new(),
                desired: 1,
                running: 1,
                pending: 0,
                failed: 0,
                created_ms: None,
            }],
            events: vec![],
        },
        checks: EnvRules::builtin().evaluate(&view),
        deployed,
        previous: Some(previous),
        diff,
        tasks: vec![],
        secrets: Vec::new(),
        secret_values: ecs::SecretValues::default(),
        env_files: Vec::new(),
    }
}

fn sample(
    endpoint: Endpoint,
    id: u64,
    latency_ms: u64,
    status: Option<u16>,
    class: Class,
    during_otp: bool,
) -> Observation {
    Observation::Http(Sample {
        endpoint,
        id,
        started_ms: NOW - latency_ms as i64,
        latency_ms,
        status,
        class,
        summary: String::new(),
        during_otp,
        otp_started_ms: None,
        phone_last4: None,
    })
}

fn twilio_ok() -> Vec<Observation> {
    vec![
        Observation::Twilio {
            at_ms: NOW,
            fact: Fact::Account(Ok(Account {
                sid: "AC5f3b1c…".into(),
                friendly_name: "Nerava".into(),
                status: "active".into(),
            })),
        },
        Observation::Twilio {
            at_ms: NOW,
            fact: Fact::Service(Ok(VerifyService {
                sid: "VA0a1b2c…".into(),
                friendly_name: "Nerava OTP".into(),
                code_length: 6,
            })),
        },
    ]
}

fn twilio_error(code: &str, kind: ErrorKind) -> ProbeError {
    ProbeError {
        system: System::Twilio,
        kind,
        code: Some(code.into()),
        message: format!("Twilio {code}"),
    }
}

fn log(kind: LineKind, message: &str) -> Observation {
    Observation::Logs {
        at_ms: NOW,
        result: Ok(crate::probe::logs::Batch {
            events: vec![Event {
                id: message.into(),
                stream: "ecs/x/1".into(),
                timestamp_ms: NOW,
                message: message.into(),
                kind,
            }],
            follow: None,
        }),
    }
}

fn ecs_obs(s: ecs::Snapshot) -> Observation {
    Observation::Ecs {
        at_ms: NOW,
        result: Ok(Box::new(s)),
    }
}

fn verdict(observations: Vec<Observation>) -> Diagnosis {
    let mut evidence = Evidence::default();
    for o in observations {
        evidence.record(o);
    }
    diagnose(&evidence, &names(), NOW)
}

fn state(d: &Diagnosis, item: Item) -> State {
    d.checklist
        .iter()
        .find(|l| l.item == item)
        .map_or(State::Unknown, |l| l.state)
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "a table of cases, one per failure mode: read in one place"
)]
fn each_failure_mode_from_its_evidence() {
    let missing = without_verify_sid();
    let stub = stub_provider();
    let cases: Vec<(&str, Vec<Observation>, FailureMode)> = vec![
        (
            "healthy",
            [
                vec![
                    ecs_obs(snapshot(GOOD, false)),
                    sample(Endpoint::Health, 2, 12, Some(200), Class::Ok, false),
                    sample(Endpoint::OtpStart, 1, 800, Some(200), Class::Ok, false),
                ],
                twilio_ok(),
            ]
            .concat(),
            FailureMode::None,
        ),
        (
            "missing",
            [vec![ecs_obs(snapshot(&missing, false))], twilio_ok()].concat(),
            FailureMode::MissingEnvVars,
        ),
        (
            "stub",
            [vec![ecs_obs(snapshot(&stub, false))], twilio_ok()].concat(),
            FailureMode::StubProvider,
        ),
        (
            "credentials",
            vec![
                ecs_obs(snapshot(GOOD, false)),
                Observation::Twilio {
                    at_ms: NOW,
                    fact: Fact::Account(Err(twilio_error("20003", ErrorKind::Credentials))),
                },
            ],
            FailureMode::InvalidCredentials,
        ),
        (
            "service",
            vec![
                ecs_obs(snapshot(GOOD, false)),
                twilio_ok().remove(0),
                Observation::Twilio {
                    at_ms: NOW,
                    fact: Fact::Service(Err(twilio_error("20404", ErrorKind::NotFound))),
                },
            ],
            FailureMode::VerifyServiceMissing,
        ),
        (
            "suspended",
            vec![Observation::Twilio {
                at_ms: NOW,
                fact: Fact::Account(Ok(Account {
                    sid: "AC".into(),
                    friendly_name: "N".into(),
                    status: "suspended".into(),
                })),
            }],
            FailureMode::AccountSuspended,
        ),
        (
            "rate limited",
            vec![sample(
                Endpoint::OtpStart,
                1,
                300,
                Some(429),
                Class::RateLimited,
                false,
            )],
            FailureMode::RateLimited,
        ),
        (
            "event loop",
            [
                vec![
                    ecs_obs(snapshot(GOOD, true)),
                    sample(Endpoint::Health, 1, 12, Some(200), Class::Ok, false),
                    sample(Endpoint::Health, 2, 58_000, Some(200), Class::Ok, true),
                    sample(
                        Endpoint::OtpStart,
                        3,
                        60_000,
                        Some(504),
                        Class::GatewayTimeout,
                        false,
                    ),
                ],
                twilio_ok(),
            ]
            .concat(),
            FailureMode::EventLoopBlocked,
        ),
        (
            "network by logs",
            [
                vec![
                    ecs_obs(snapshot(GOOD, false)),
                    log(LineKind::TwilioTimeout, "[OTP] Twilio timeout after 30s"),
                ],
                twilio_ok(),
            ]
            .concat(),
            FailureMode::NetworkBlocked,
        ),
        (
            "credential lines",
            vec![log(
                LineKind::CredentialError,
                "[OTP] Twilio error 20003: Authenticate",
            )],
            FailureMode::InvalidCredentials,
        ),
    ];
    for (name, observations, want) in cases {
        let d = verdict(observations);
        assert_eq!(
            d.verdict.failure_mode, want,
            "{name}: {:#?}",
            d.verdict.candidates
        );
        assert_eq!(
            d.verdict.candidates.is_empty(),
            want == FailureMode::None,
            "{name}"
        );
    }
}

#[test]
fn an_outstanding_health_probe_during_otp_is_a_stall_before_any_504() {
    let mut evidence = Evidence::default();
    for o in [
        vec![
            ecs_obs(snapshot(GOOD, true)),
            sample(Endpoint::Health, 1, 10, Some(200), Class::Ok, false),
        ],
        twilio_ok(),
    ]
    .concat()
    {
        evidence.record(o);
    }
    evidence.record(Observation::HttpStarted {
        endpoint: Endpoint::OtpStart,
        id: 10,
        started_ms: NOW - 3_000,
        phone_last4: None,
    });
    evidence.record(Observation::HttpStarted {
        endpoint: Endpoint::Health,
        id: 11,
        started_ms: NOW - 2_500,
        phone_last4: None,
    });
    let d = diagnose(&evidence, &names(), NOW);
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::EventLoopBlocked,
        "{:#?}",
        d.verdict
    );
    assert!(d.verdict.candidates[0]
        .evidence
        .iter()
        .any(|e| e.contains("image changed")));
    assert_eq!(state(&d, Item::OtpStartSent), State::Running);
    // A second earlier the stall is not yet conclusive, and not `none` either.
    let d = diagnose(&evidence, &names(), NOW - 1_000);
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive);
}

#[test]
fn a_hang_with_everything_fine_and_fast_health_is_the_network() {
    let mut evidence = Evidence::default();
    for o in [
        vec![
            ecs_obs(snapshot(GOOD, false)),
            sample(Endpoint::Health, 1, 10, Some(200), Class::Ok, false),
            sample(Endpoint::Health, 2, 12, Some(200), Class::Ok, true),
        ],
        twilio_ok(),
    ]
    .concat()
    {
        evidence.record(o);
    }
    evidence.record(Observation::HttpStarted {
        endpoint: Endpoint::OtpStart,
        id: 10,
        started_ms: NOW - 3_500,
        phone_last4: None,
    });
    let d = diagnose(&evidence, &names(), NOW);
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::NetworkBlocked,
        "{:#?}",
        d.verdict
    );
}

#[test]
fn partial_evidence_says_what_is_unknown() {
    let aws_down = ProbeError {
        system: System::Ecs,
        kind: ErrorKind::Credentials,
        code: Some("ExpiredTokenException".into()),
        message: "AWS: ExpiredTokenException — refresh your credentials".into(),
    };
    let d = verdict(vec![
        Observation::Ecs {
            at_ms: NOW,
            result: Err(aws_down),
        },
        Observation::Twilio {
            at_ms: NOW,
            fact: Fact::Account(Err(twilio_error("20003", ErrorKind::Credentials))),
        },
    ]);
    assert_eq!(d.verdict.failure_mode, FailureMode::InvalidCredentials);
    assert!(
        d.unknown
            .iter()
            .any(|u| u.contains("ExpiredTokenException")),
        "{:?}",
        d.unknown
    );
    assert_eq!(state(&d, Item::TwilioEnvVars), State::Unknown);
}

#[test]
fn checklist_follows_the_runbook_and_hides_secrets() {
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                sample(Endpoint::OtpStart, 1, 800, Some(200), Class::Ok, false),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    let labels: Vec<&str> = d.checklist.iter().map(|l| l.label).collect();
    assert_eq!(labels.len(), 9);
    assert_eq!(labels[0], "AWS ECS task definition has all Twilio env vars");
    assert_eq!(state(&d, Item::TwilioEnvVars), State::Pass);
    assert_eq!(state(&d, Item::ProviderNotStub), State::Pass);
    assert_eq!(state(&d, Item::AccountActive), State::Pass);
    assert_eq!(state(&d, Item::OtpStartSent), State::Pass);
    let json = serde_json::to_string(&d).expect("serialises");
    assert!(!json.contains("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"));
    assert!(!json.contains("AC5f3b1c8e9d2a4f60718293a4b5c6d7e8"));
}

#[test]
fn missing_variable_names_the_revision_that_still_had_it() {
    let missing = without_verify_sid();
    let d = verdict([vec![ecs_obs(snapshot(&missing, false))], twilio_ok()].concat());
    let top = &d.verdict.candidates[0];
    assert!(
        top.evidence[0].contains("TWILIO_VERIFY_SERVICE_SID")
            && top.evidence[0].contains("present in :41"),
        "{top:#?}"
    );
    assert!(top
        .commands
        .iter()
        .any(|c| c.starts_with("aws ecs describe-task-definition")));
    assert_eq!(state(&d, Item::TwilioEnvVars), State::Fail);
}

/// A line at `at_ms` from the task `task`'s log stream.
fn task_log(kind: LineKind, message: &str, task: &str, at_ms: i64) -> Observation {
    let mut observation = log(kind, message);
    if let Observation::Logs {
        result: Ok(batch), ..
    } = &mut observation
    {
        batch.events[0].stream = format!("ecs/nerava-backend/{task}");
        batch.events[0].timestamp_ms = at_ms;
    }
    observation
}

fn task(id: &str, revision: i32, status: &str, started_ms: i64) -> ecs::Task {
    ecs::Task {
        id: id.into(),
        revision: Some(revision),
        last_status: status.into(),
        health: "HEALTHY".into(),
        started_ms: Some(started_ms),
        stopped_ms: None,
        stopped_reason: None,
        stop_code: None,
        exit_code: None,
    }
}

/// The verification after a repair judges the new deployment's tasks: what the tasks it
/// replaced log while they drain (after the deployment started) is shown, not evidence; a line
/// of a new task counts; a task that started before and still runs (an egress rule, no
/// deployment) still counts.
#[test]
fn lines_of_the_tasks_a_repair_replaced_are_not_evidence_while_they_drain() {
    let mut evidence = Evidence::default();
    let mut s = snapshot(GOOD, false);
    s.tasks = vec![task("old", 42, "RUNNING", NOW - 600_000)];
    evidence.record(ecs_obs(s.clone()));
    // The repair's deployment starts at NOW; the old task drains and logs its old error.
    evidence.forget_replaced(NOW, vec!["old".into()]);
    evidence.record(task_log(
        LineKind::CredentialError,
        "[OTP] Twilio error 20003",
        "old",
        NOW + 2_000,
    ));
    let d = diagnose(&evidence, &names(), NOW + 3_000);
    assert!(
        !d.verdict
            .candidates
            .iter()
            .any(|f| f.failure_mode == FailureMode::InvalidCredentials && f.confidence > 0),
        "{:#?}",
        d.verdict
    );
    assert_eq!(evidence.events.len(), 1, "the line stays in the log pane");
    // The new revision's task says the same: that is evidence.
    evidence.record(task_log(
        LineKind::CredentialError,
        "[OTP] Twilio error 20003",
        "new",
        NOW + 4_000,
    ));
    assert_eq!(
        diagnose(&evidence, &names(), NOW + 5_000)
            .verdict
            .failure_mode,
        FailureMode::InvalidCredentials
    );

    // Without an explicit list: a task read as STOPPED that started before the repair.
    let mut evidence = Evidence::default();
    evidence.forget_before(NOW);
    s.tasks = vec![task("drained", 42, "STOPPED", NOW - 600_000)];
    evidence.record(task_log(
        LineKind::CredentialError,
        "[OTP] Twilio error 20003",
        "drained",
        NOW + 1_000,
    ));
    evidence.record(ecs_obs(s.clone()));
    assert_eq!(
        evidence.line_counts.get("credential_error"),
        None,
        "{:?}",
        evidence.line_counts
    );
    // A task that started before and still runs (no deployment: an egress rule) counts.
    let mut evidence = Evidence::default();
    evidence.forget_before(NOW);
    s.tasks = vec![task("serving", 42, "RUNNING", NOW - 600_000)];
    evidence.record(ecs_obs(s));
    evidence.record(task_log(
        LineKind::CredentialError,
        "[OTP] Twilio error 20003",
        "serving",
        NOW + 1_000,
    ));
    assert_eq!(evidence.line_counts.get("credential_error"), Some(&1));
}

#[test]
fn lines_before_a_repair_are_shown_but_no_longer_evidence() {
    let mut evidence = Evidence::default();
    evidence.record(log(
        LineKind::CredentialError,
        "[OTP] Twilio error 20003: Authenticate",
    ));
    let before = diagnose(&evidence, &names(), NOW);
    assert_eq!(before.verdict.failure_mode, FailureMode::InvalidCredentials);
    evidence.forget_before(NOW + 1);
    assert_eq!(evidence.events.len(), 1, "the line stays in the log pane");
    let after = diagnose(&evidence, &names(), NOW + 1);
    assert!(
        !after
            .verdict
            .candidates
            .iter()
            .any(|f| f.failure_mode == FailureMode::InvalidCredentials),
        "{after:#?}"
    );
    // A new line after the repair counts again.
    let mut late = log(LineKind::CredentialError, "[OTP] Twilio error 20003 again");
    if let Observation::Logs {
        result: Ok(batch), ..
    } = &mut late
    {
        batch.events[0].timestamp_ms = NOW + 5;
    }
    evidence.record(late);
    assert_eq!(
        diagnose(&evidence, &names(), NOW + 5).verdict.failure_mode,
        FailureMode::InvalidCredentials
    );
}

/// Evidence that fits no template, or shows nothing: never `none`. Each row is what the probes
/// saw and the verdict it must give (the table: unknown Twilio code, a 504 with the config
/// unreadable, /health refused / DNS / hung, nothing reachable, nothing seen at all).
#[test]
#[allow(
    clippy::too_many_lines,
    reason = "a table of cases, one per failure mode: read in one place"
)]
fn evidence_that_fits_no_template_is_never_none() {
    let ecs_denied = Observation::Ecs {
        at_ms: NOW,
        result: Err(ProbeError {
            system: System::Ecs,
            kind: ErrorKind::Credentials,
            code: Some("CredentialsNotLoaded".into()),
            message: "no AWS credentials found".into(),
        }),
    };
    let twilio_unreadable = |what: fn(Result<Account, ProbeError>) -> Fact| Observation::Twilio {
        at_ms: NOW,
        fact: what(Err(ProbeError {
            system: System::Twilio,
            kind: ErrorKind::Credentials,
            code: None,
            message: "no Twilio credentials".into(),
        })),
    };
    let health = |id, class, status| sample(Endpoint::Health, id, 20, status, class, false);
    let cases: Vec<(&str, Vec<Observation>, FailureMode)> = vec![
        (
            "OTP start 500 with an unknown Twilio code",
            [
                vec![
                    ecs_obs(snapshot(GOOD, false)),
                    health(1, Class::Ok, Some(200)),
                    sample(
                        Endpoint::OtpStart,
                        2,
                        900,
                        Some(500),
                        Class::ServerError,
                        false,
                    ),
                    log(
                        LineKind::Other,
                        "[OTP] Twilio error 21608: unverified number",
                    ),
                ],
                twilio_ok(),
            ]
            .concat(),
            FailureMode::Inconclusive,
        ),
        (
            "504 with Twilio and the config unreadable",
            vec![
                ecs_denied.clone(),
                twilio_unreadable(Fact::Account),
                health(1, Class::Ok, Some(200)),
                sample(
                    Endpoint::OtpStart,
                    2,
                    60_000,
                    Some(504),
                    Class::GatewayTimeout,
                    false,
                ),
            ],
            FailureMode::Inconclusive,
        ),
        (
            "/health refused twice in a row",
            [
                vec![
                    health(1, Class::Refused, None),
                    health(2, Class::Refused, None),
                ],
                twilio_ok(),
            ]
            .concat(),
            FailureMode::ApiUnreachable,
        ),
        (
            "/health DNS failure twice in a row",
            vec![
                health(1, Class::Dns, None),
                health(2, Class::Dns, None),
                ecs_denied.clone(),
            ],
            FailureMode::ApiUnreachable,
        ),
        (
            "nothing reachable",
            vec![
                health(1, Class::Timeout, None),
                ecs_denied.clone(),
                twilio_unreadable(Fact::Account),
            ],
            FailureMode::ApiUnreachable,
        ),
        ("nothing seen at all", vec![], FailureMode::Inconclusive),
        (
            "health fine, nothing else could be checked",
            vec![
                health(1, Class::Ok, Some(200)),
                ecs_denied,
                twilio_unreadable(Fact::Account),
            ],
            FailureMode::Inconclusive,
        ),
        (
            "health 503 from the load balancer",
            [
                vec![
                    ecs_obs(snapshot(GOOD, false)),
                    health(1, Class::Unavailable, Some(503)),
                ],
                twilio_ok(),
            ]
            .concat(),
            FailureMode::Inconclusive,
        ),
    ];
    for (name, observations, want) in cases {
        let d = verdict(observations);
        assert_eq!(d.verdict.failure_mode, want, "{name}: {d:#?}");
        if want == FailureMode::Inconclusive {
            assert!(!d.unknown.is_empty(), "{name}: says what it could not see");
        }
    }
}

#[test]
fn a_504_with_the_config_unreadable_lists_the_network_as_a_partial_fit() {
    let mut evidence = Evidence::default();
    evidence.record(sample(Endpoint::Health, 1, 10, Some(200), Class::Ok, false));
    evidence.record(sample(Endpoint::Health, 2, 12, Some(200), Class::Ok, true));
    evidence.record(Observation::HttpStarted {
        endpoint: Endpoint::OtpStart,
        id: 10,
        started_ms: NOW - 4_000,
        phone_last4: None,
    });
    let d = diagnose(&evidence, &names(), NOW);
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive, "{d:#?}");
    assert_eq!(
        d.verdict.candidates[0].failure_mode,
        FailureMode::NetworkBlocked
    );
    assert_eq!(d.verdict.candidates[0].confidence, 0);
}

#[test]
fn a_hung_health_is_named_within_seconds_but_not_during_an_otp_start() {
    let mut evidence = Evidence::default();
    evidence.record(Observation::HttpStarted {
        endpoint: Endpoint::Health,
        id: 1,
        started_ms: NOW - 6_000,
        phone_last4: None,
    });
    let d = diagnose(&evidence, &names(), NOW);
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::ApiUnreachable,
        "{d:#?}"
    );
    assert!(d.verdict.candidates[0].evidence[0].contains("has not answered for 6.0 s"));
    assert!(d.verdict.candidates[0]
        .commands
        .iter()
        .any(|c| c == "dig +short api.nerava.network"));
    // Four seconds in, it is not yet named (and not `none` either).
    let early = diagnose(&evidence, &names(), NOW - 2_000);
    assert_eq!(early.verdict.failure_mode, FailureMode::Inconclusive);
    // With an OTP start in flight, a hung /health is the event loop's evidence instead.
    evidence.record(Observation::HttpStarted {
        endpoint: Endpoint::OtpStart,
        id: 2,
        started_ms: NOW - 7_000,
        phone_last4: None,
    });
    let d = diagnose(&evidence, &names(), NOW);
    assert_ne!(
        d.verdict.failure_mode,
        FailureMode::ApiUnreachable,
        "{d:#?}"
    );
    assert_ne!(d.verdict.failure_mode, FailureMode::None);
}

#[test]
fn exit_codes_follow_the_monitoring_plugin_convention() {
    assert_eq!(FailureMode::None.exit_code(), 0);
    assert_eq!(FailureMode::ApiUnreachable.exit_code(), 1);
    assert_eq!(FailureMode::MissingEnvVars.exit_code(), 1);
    assert_eq!(FailureMode::Inconclusive.exit_code(), 3);
}

fn resolved(
    name: &str,
    state: crate::probe::secrets::SecretState,
) -> crate::probe::secrets::Resolved {
    use crate::probe::secrets::{Resolved, SecretState, Store};
    Resolved {
        name: name.into(),
        value_from:
            "arn:aws:secretsmanager:us-east-1:1:secret:nerava/prod/twilio-Tw1l1o:auth_token::"
                .into(),
        store: Store::SecretsManager,
        source: "secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token".into(),
        arn: Some("arn:aws:secretsmanager:us-east-1:1:secret:nerava/prod/twilio-Tw1l1o".into()),
        state,
        fingerprint: (state == SecretState::Ok).then(|| "106cc468".into()),
        last_changed_ms: Some(1_764_000_000_000),
        deleted_ms: None,
        version: None,
        detail: (state != SecretState::Ok).then(|| format!("the secret is {}", state.label())),
        last_rotated_ms: None,
        kms_key_id: None,
        stages: Vec::new(),
        role_access: None,
    }
}

#[test]
fn secrets_ecs_cannot_read_are_secret_unreadable_and_the_operators_are_unknown() {
    use crate::probe::secrets::SecretState;
    // ECS cannot read it (a failure mode while a deployment cannot start its tasks), or only
    // the operator cannot (unknown).
    for (state, ecs_cannot) in [
        (SecretState::ScheduledForDeletion, true),
        (SecretState::JsonKeyMissing, true),
        (SecretState::NotFound, true),
        (SecretState::NoAccess, false),
        (SecretState::KmsDenied, false),
    ] {
        let mut s = snapshot(GOOD, false);
        s.secrets = vec![resolved("TWILIO_AUTH_TOKEN", state)];
        s.service.running = 0;
        s.service.deployments[0].running = 0;
        s.service.deployments[0].rollout_state = "IN_PROGRESS".into();
        let mut obs = vec![ecs_obs(s)];
        obs.extend(twilio_ok());
        let d = verdict(obs);
        let named = d
            .verdict
            .candidates
            .iter()
            .find(|c| c.failure_mode == FailureMode::SecretUnreadable);
        if ecs_cannot {
            assert_eq!(
                d.verdict.failure_mode,
                FailureMode::SecretUnreadable,
                "{state:?}"
            );
            let evidence = &named.expect("candidate").evidence[0];
            assert!(
                    evidence.starts_with("TWILIO_AUTH_TOKEN ← secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token: the secret is"),
                    "{evidence}"
                );
        } else {
            assert!(named.is_none(), "{state:?}: {named:?}");
            assert!(
                d.unknown
                    .iter()
                    .any(|u| u.starts_with("Secret TWILIO_AUTH_TOKEN ← ")),
                "{state:?}: {:?}",
                d.unknown
            );
        }
    }
    // The tasks' own word: a stop reason about secrets names it too, ahead of the failed
    // deployment it also is.
    let mut s = snapshot(GOOD, false);
    s.service.running = 0;
    s.service.deployments[0].failed = 3;
    s.service.deployments[0].rollout_state = "IN_PROGRESS".into();
    s.tasks = vec![ecs::Task {
        id: "t1".into(),
        revision: Some(42),
        last_status: "STOPPED".into(),
        health: String::new(),
        started_ms: None,
        stopped_ms: Some(NOW),
        stopped_reason: Some("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:x from secrets manager: InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion.".into()),
        stop_code: Some("TaskFailedToStart".into()),
        exit_code: None,
    }];
    let d = verdict(vec![ecs_obs(s.clone())]);
    assert_eq!(d.verdict.failure_mode, FailureMode::SecretUnreadable);
    let evidence = &d.verdict.candidates[0].evidence[0];
    assert!(
        evidence.contains("1 task(s) of :42 stopped: ResourceInitializationError"),
        "{evidence}"
    );
    assert!(
        evidence.ends_with("because it was marked for deletion."),
        "{evidence}"
    );
    assert!(d
        .verdict
        .candidates
        .iter()
        .any(|c| c.failure_mode == FailureMode::DeploymentFailed));
    // Once a new deployment has come up (a repair), those stops are history.
    s.service.running = 1;
    s.service.deployments[0].failed = 0;
    s.service.deployments[0].rollout_state = "COMPLETED".into();
    let mut obs = vec![ecs_obs(s)];
    obs.extend(twilio_ok());
    let d = verdict(obs);
    assert!(
        !d.verdict
            .candidates
            .iter()
            .any(|c| c.failure_mode == FailureMode::SecretUnreadable),
        "{:?}",
        d.verdict
    );
}

#[test]
fn a_rejected_token_from_a_secret_says_which_and_when_it_changed() {
    let mut s = snapshot(GOOD, false);
    s.secrets = vec![resolved(
        "TWILIO_AUTH_TOKEN",
        crate::probe::secrets::SecretState::Ok,
    )];
    let d = verdict(vec![
        ecs_obs(s),
        Observation::Twilio {
            at_ms: NOW,
            fact: Fact::Account(Err(twilio_error("20003", ErrorKind::Credentials))),
        },
    ]);
    assert_eq!(d.verdict.failure_mode, FailureMode::InvalidCredentials);
    let evidence = d.verdict.candidates[0].evidence.join("\n");
    assert!(
        evidence.contains("the rejected token is TWILIO_AUTH_TOKEN ← secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token (fingerprint 106cc468), last changed 2025-11-24"),
        "{evidence}"
    );
    let commands = &d.verdict.candidates[0].commands;
    assert_eq!(
        commands[1],
        "aws secretsmanager put-secret-value --secret-id arn:aws:secretsmanager:us-east-1:1:secret:nerava/prod/twilio-Tw1l1o --secret-string '<the new token as JSON field auth_token>'"
    );
    assert!(
        commands[2].ends_with("--force-new-deployment"),
        "{commands:?}"
    );
}

#[test]
fn log_lines_are_bounded_by_bytes_as_well_as_by_count() {
    let mut evidence = Evidence::default();
    let huge = "x".repeat(crate::probe::logs::MAX_LINE_BYTES);
    let message = crate::probe::logs::cut_line(&format!("{huge}{huge}")).into_owned();
    assert!(message.len() < crate::probe::logs::MAX_LINE_BYTES + 64);
    assert!(
        message.ends_with("[cut: the line has 512 KB]"),
        "{}",
        &message[message.len() - 40..]
    );
    for i in 0..1_000 {
        evidence.record(Observation::Logs {
            at_ms: NOW,
            result: Ok(crate::probe::logs::Batch {
                events: vec![Event {
                    id: i.to_string(),
                    stream: "s".into(),
                    timestamp_ms: NOW,
                    message: message.clone(),
                    kind: LineKind::Other,
                }],
                follow: None,
            }),
        });
    }
    assert!(
        evidence.event_bytes() <= MAX_EVENT_BYTES,
        "{}",
        evidence.event_bytes()
    );
    assert!(evidence.events.len() > 10 && evidence.events.len() < 1_000);
    // Every line was still counted.
    assert_eq!(evidence.line_counts.get("other"), Some(&1_000));
}

/// A health probe that watched an OTP start sent before a repair's deployment is set aside
/// with that OTP start, even when the probe itself was sent (or answered) after: the old
/// tasks' stall is not the new revision's.
#[test]
fn health_watching_an_old_otp_start_is_set_aside_with_it() {
    let mut evidence = Evidence::default();
    for o in [vec![ecs_obs(snapshot(GOOD, false))], twilio_ok()].concat() {
        evidence.record(o);
    }
    evidence.forget_before(NOW - 1_000);
    let mut stalled = sample(
        Endpoint::Health,
        7,
        3_000,
        Some(504),
        Class::GatewayTimeout,
        true,
    );
    if let Observation::Http(s) = &mut stalled {
        s.started_ms = NOW - 500;
        s.otp_started_ms = Some(NOW - 5_000);
    }
    evidence.record(stalled.clone());
    let d = diagnose(&evidence, &names(), NOW);
    assert_ne!(
        d.verdict.failure_mode,
        FailureMode::EventLoopBlocked,
        "{d:#?}"
    );
    // The same probe watching an OTP start sent after the deployment counts.
    if let Observation::Http(s) = &mut stalled {
        s.otp_started_ms = Some(NOW - 800);
    }
    evidence.record(stalled);
    let d = diagnose(&evidence, &names(), NOW);
    assert!(
        d.verdict
            .candidates
            .iter()
            .any(|f| f.failure_mode == FailureMode::EventLoopBlocked),
        "{d:#?}"
    );
}

fn twilio_fact(fact: Fact) -> Observation {
    Observation::Twilio { at_ms: NOW, fact }
}

fn delivery_step(status: &str, code: Option<u32>) -> Observation {
    twilio_fact(Fact::Delivery(Ok(DeliveryStep {
        via: crate::probe::twilio::delivery::Via::Messages,
        sid: "SMde1922…".into(),
        to: "•••6318".into(),
        status: status.into(),
        error_code: code,
        meaning: code
            .and_then(delivery::decode)
            .map(|d| d.meaning.to_owned()),
        is_final: delivery::is_final(status),
        after_ms: 1_600,
    })))
}

/// An SMS deployment that is healthy up to the OTP start, then `extra`.
fn sms_round(extra: Vec<Observation>) -> Diagnosis {
    let mut sms_env = GOOD.to_vec();
    sms_env.retain(|(n, _)| *n != "OTP_PROVIDER");
    sms_env.push(("OTP_PROVIDER", "twilio_sms"));
    sms_env.push(("OTP_FROM_NUMBER", "+18325550147"));
    let mut observations = vec![ecs_obs(snapshot(&sms_env, false))];
    observations.extend(twilio_ok());
    observations.push(sample(Endpoint::Health, 1, 5, Some(200), Class::Ok, false));
    observations.push(sample(
        Endpoint::OtpStart,
        2,
        40,
        Some(200),
        Class::Ok,
        false,
    ));
    observations.extend(extra);
    verdict(observations)
}

#[test]
fn sms_failure_modes_from_their_evidence() {
    let sender = |owned: bool, sms_capable: bool| {
        twilio_fact(Fact::Sender(Ok(Sender {
            from: "•••0147".into(),
            owned,
            sms_capable,
            sid: None,
            friendly_name: "Support line".into(),
        })))
    };
    for (case, extra, want) in [
        (
            "released number",
            vec![sender(false, false)],
            FailureMode::FromNumberInvalid,
        ),
        (
            "voice-only number",
            vec![sender(true, false)],
            FailureMode::FromNumberInvalid,
        ),
        (
            "21606 on a test send",
            vec![twilio_fact(Fact::Send(Err(twilio_error(
                "21606",
                ErrorKind::Api,
            ))))],
            FailureMode::FromNumberInvalid,
        ),
        (
            "30007 after sent",
            vec![
                delivery_step("sent", None),
                delivery_step("undelivered", Some(30007)),
            ],
            FailureMode::SmsUndelivered,
        ),
        (
            "21610 unsubscribed on a test send",
            vec![twilio_fact(Fact::Send(Err(twilio_error(
                "21610",
                ErrorKind::Api,
            ))))],
            FailureMode::SmsUndelivered,
        ),
        (
            "delivered",
            vec![sender(true, true), delivery_step("delivered", None)],
            FailureMode::None,
        ),
        (
            "still sent, no final state yet",
            vec![sender(true, true), delivery_step("sent", None)],
            FailureMode::None,
        ),
    ] {
        let d = sms_round(extra);
        assert_eq!(d.verdict.failure_mode, want, "{case}: {:#?}", d.verdict);
        if want.is_failure() {
            assert_eq!(d.verdict.candidates[0].confidence, 3, "{case}");
            assert!(
                !d.verdict.candidates[0].repair.is_empty()
                    && !d.verdict.candidates[0].commands.is_empty(),
                "{case}"
            );
        }
    }
}

/// A user's OTP-sent log line is not the console's send: with no test of its own the SMS
/// line does not ask for a code it never sent for.
#[test]
fn a_users_otp_sent_line_is_not_a_test_to_confirm() {
    let line = |d: &Diagnosis| {
        d.checklist
            .iter()
            .find(|l| l.item == Item::SmsReceived)
            .expect("line")
            .evidence
            .clone()
    };
    let users = log(
        LineKind::OtpSent,
        "[OTP] OTP sent successfully phone_last4=0130",
    );
    let d = verdict(vec![users.clone()]);
    assert!(!line(&d).contains("enter the code"), "{}", line(&d));
    // After the console's own OTP start, the line is its send.
    let d = verdict(vec![
        sample(Endpoint::OtpStart, 1, 40, Some(200), Class::Ok, false),
        users,
    ]);
    assert_eq!(line(&d), "sent; enter the code to confirm");
}

#[test]
fn sms_received_is_backed_by_delivery_and_the_code_entered() {
    let d = sms_round(vec![]);
    assert_eq!(state(&d, Item::SmsReceived), State::Unknown);
    let d = sms_round(vec![delivery_step("sent", None)]);
    assert_eq!(state(&d, Item::SmsReceived), State::Running);
    let d = sms_round(vec![delivery_step("delivered", None)]);
    let line = d
        .checklist
        .iter()
        .find(|l| l.item == Item::SmsReceived)
        .expect("line");
    assert_eq!(line.state, State::Pass);
    assert!(
        line.evidence.contains("delivered per Twilio"),
        "{}",
        line.evidence
    );
    let d = sms_round(vec![
        delivery_step("delivered", None),
        sample(Endpoint::OtpVerify, 3, 30, Some(200), Class::Ok, false),
    ]);
    let line = d
        .checklist
        .iter()
        .find(|l| l.item == Item::SmsReceived)
        .expect("line");
    assert!(
        line.evidence.contains("and the code entered"),
        "{}",
        line.evidence
    );
    let d = sms_round(vec![delivery_step("undelivered", Some(30007))]);
    let line = d
        .checklist
        .iter()
        .find(|l| l.item == Item::SmsReceived)
        .expect("line");
    assert_eq!(line.state, State::Fail);
    assert!(
        line.evidence.contains("30007") && line.evidence.contains("spam"),
        "{}",
        line.evidence
    );
    assert!(d.verdict.candidates[0].evidence[0].contains("register the sender"));
}

#[test]
fn the_backends_invalid_from_number_line_names_the_from_number() {
    let d = verdict(vec![log(
        LineKind::FromNumberInvalid,
        "[OTP] Twilio error 21606: The From phone number +15125550100 is not a valid, SMS-capable inbound phone number (Invalid From number)",
    )]);
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::FromNumberInvalid,
        "{d:#?}"
    );
    assert!(d.verdict.candidates[0].evidence[0].starts_with("log ×1"));
}

/// The network path of a private subnet behind a NAT, with `egress` as the group's rules.
fn network_obs(egress: Vec<crate::network::Permission>) -> Observation {
    use crate::network as n;
    let route = |d: &str, t: &str| n::Route {
        destination: d.into(),
        target: t.into(),
        state: "active".into(),
    };
    let all = |rule: i32, egress: bool, allow: bool| n::AclEntry {
        rule_number: rule,
        egress,
        protocol: "-1".into(),
        from_port: None,
        to_port: None,
        cidr: Some("0.0.0.0/0".into()),
        allow,
    };
    let config = n::NetworkConfig {
        service: n::ServiceNetwork {
            subnets: vec!["subnet-priv".into()],
            security_groups: vec!["sg-0a1b".into()],
            assign_public_ip: false,
            ..Default::default()
        },
        security_groups: vec![n::SecurityGroup {
            id: "sg-0a1b".into(),
            name: "app".into(),
            vpc_id: "vpc-1".into(),
            egress,
        }],
        subnets: vec![
            n::Subnet {
                id: "subnet-priv".into(),
                vpc_id: "vpc-1".into(),
                cidr: "10.0.1.0/24".into(),
                ..Default::default()
            },
            n::Subnet {
                id: "subnet-pub".into(),
                vpc_id: "vpc-1".into(),
                cidr: "10.0.0.0/24".into(),
                ..Default::default()
            },
        ],
        route_tables: vec![
            n::RouteTable {
                id: "rtb-priv".into(),
                vpc_id: "vpc-1".into(),
                is_main: true,
                subnets: vec![],
                routes: vec![route("0.0.0.0/0", "nat-1")],
            },
            n::RouteTable {
                id: "rtb-pub".into(),
                vpc_id: "vpc-1".into(),
                is_main: false,
                subnets: vec!["subnet-pub".into()],
                routes: vec![route("0.0.0.0/0", "igw-1")],
            },
        ],
        nat_gateways: vec![n::NatGateway {
            id: "nat-1".into(),
            subnet_id: "subnet-pub".into(),
            state: "available".into(),
        }],
        network_acls: vec![n::NetworkAcl {
            id: "acl-1".into(),
            vpc_id: "vpc-1".into(),
            is_default: true,
            subnets: vec![],
            entries: vec![all(100, true, true), all(100, false, true)],
        }],
        prefix_lists: std::collections::BTreeMap::new(),
    };
    Observation::Network {
        at_ms: NOW,
        result: Ok(Box::new(n::evaluate(&config, &[n::ANYWHERE.to_owned()]))),
    }
}

/// The network read refused: the operator may not call ec2:DescribeSecurityGroups.
fn network_denied() -> Observation {
    Observation::Network {
        at_ms: NOW,
        result: Err(ProbeError {
            system: System::Network,
            kind: ErrorKind::Credentials,
            code: Some("UnauthorizedOperation".into()),
            message: "AWS: UnauthorizedOperation — not allowed to call ec2:DescribeSecurityGroups"
                .into(),
        }),
    }
}

fn only_postgres() -> Vec<crate::network::Permission> {
    vec![crate::network::Permission {
        protocol: "tcp".into(),
        from_port: Some(5432),
        to_port: Some(5432),
        cidrs: vec!["10.0.0.0/16".into()],
        ..crate::network::Permission::default()
    }]
}

fn https_anywhere() -> Vec<crate::network::Permission> {
    vec![crate::network::Permission {
        protocol: "tcp".into(),
        from_port: Some(443),
        to_port: Some(443),
        cidrs: vec!["0.0.0.0/0".into()],
        ..crate::network::Permission::default()
    }]
}

fn otp_hanging() -> Observation {
    Observation::HttpStarted {
        endpoint: Endpoint::OtpStart,
        id: 10,
        started_ms: NOW - 3_500,
        phone_last4: None,
    }
}

#[test]
fn the_configuration_alone_names_the_network_and_the_group() {
    let d = verdict(
        [
            vec![ecs_obs(snapshot(GOOD, false)), network_obs(only_postgres())],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::NetworkBlocked);
    let f = &d.verdict.candidates[0];
    assert_eq!(f.confidence, 3);
    assert_eq!(
        f.evidence,
        ["sg-0a1b egress allows only tcp 5432 to 10.0.0.0/16 — no tcp 443 to 0.0.0.0/0"]
    );
    assert!(f.commands.iter().any(|c| c.contains("--group-id sg-0a1b")));
    assert!(
        f.commands.iter().all(|c| !c.contains('<')),
        "{:?}",
        f.commands
    );
    assert_eq!(state(&d, Item::EgressHttps), State::Fail);
}

#[test]
fn configuration_and_a_hanging_otp_start_show_both_in_the_evidence() {
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                network_obs(only_postgres()),
                sample(Endpoint::Health, 1, 10, Some(200), Class::Ok, false),
                sample(Endpoint::Health, 2, 12, Some(200), Class::Ok, true),
                otp_hanging(),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::NetworkBlocked);
    let evidence = &d.verdict.candidates[0].evidence;
    assert!(
        evidence[0].starts_with("sg-0a1b egress allows only"),
        "{evidence:?}"
    );
    assert!(
        evidence
            .iter()
            .any(|e| e.starts_with("OTP start hangs (3.5 s) with config")),
        "{evidence:?}"
    );
}

#[test]
fn a_hang_with_the_path_open_is_not_named_the_network() {
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                network_obs(https_anywhere()),
                sample(Endpoint::Health, 1, 10, Some(200), Class::Ok, false),
                sample(Endpoint::Health, 2, 12, Some(200), Class::Ok, true),
                otp_hanging(),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    // The hang fits nothing the configuration explains: a candidate, never `none`.
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::Inconclusive,
        "{:#?}",
        d.verdict
    );
    assert_eq!(d.verdict.candidates[0].confidence, 0);
    assert_eq!(state(&d, Item::EgressHttps), State::Pass);
}

#[test]
fn an_open_path_alone_passes_the_line_but_is_not_none_without_positive_evidence() {
    let d = verdict(vec![network_obs(https_anywhere())]);
    assert_eq!(state(&d, Item::EgressHttps), State::Pass);
    assert_ne!(d.verdict.failure_mode, FailureMode::None);
}

#[test]
fn an_unreadable_network_is_unknown_and_said_once() {
    let denied = network_denied();
    let d = verdict([vec![ecs_obs(snapshot(GOOD, false)), denied], twilio_ok()].concat());
    assert_eq!(state(&d, Item::EgressHttps), State::Unknown);
    assert_eq!(
        d.unknown
            .iter()
            .filter(|u| u.contains("UnauthorizedOperation"))
            .count(),
        1,
        "{:?}",
        d.unknown
    );
    assert_ne!(d.verdict.failure_mode, FailureMode::NetworkBlocked);
}

#[test]
fn an_undecidable_path_leaves_the_line_to_the_logs_and_says_so() {
    let undecidable = Observation::Network {
        at_ms: NOW,
        result: Ok(Box::new(crate::network::evaluate(
            &crate::network::NetworkConfig::default(),
            &[crate::network::ANYWHERE.to_owned()],
        ))),
    };
    let d = verdict(vec![undecidable.clone()]);
    assert_eq!(state(&d, Item::EgressHttps), State::Unknown);
    assert!(
        d.unknown
            .iter()
            .any(|u| u.contains("no container instance was found")),
        "{:?}",
        d.unknown
    );
    let d = verdict(vec![
        undecidable,
        log(
            LineKind::OtpSent,
            "[OTP] OTP sent successfully phone_last4=6318",
        ),
    ]);
    assert_eq!(state(&d, Item::EgressHttps), State::Pass);
    let line = d
        .checklist
        .iter()
        .find(|l| l.item == Item::EgressHttps)
        .expect("line");
    assert!(
        line.evidence.starts_with("the service's Twilio calls get answers (logs); network: the service has no awsvpcConfiguration"),
        "{}",
        line.evidence
    );
}

/// Real traffic read over the hour before [`NOW`], from these access lines (each a minute
/// before `NOW`), or the access lines' read failing with `error`.
fn traffic_obs(lines: &[&str], error: Option<&str>) -> Observation {
    use crate::probe::traffic::{summarize, RealTraffic, WINDOW_MS};
    let from = NOW - WINDOW_MS;
    let access = match error {
        Some(message) => Err(ProbeError {
            system: System::Logs,
            kind: ErrorKind::NotFound,
            code: Some("ResourceNotFoundException".into()),
            message: message.into(),
        }),
        None => Ok(summarize(
            lines.iter().map(|l| (NOW - 60_000, *l)),
            from,
            NOW,
        )),
    };
    Observation::Traffic {
        at_ms: NOW,
        traffic: Box::new(RealTraffic {
            from_ms: from,
            to_ms: NOW,
            access,
            load_balancer: None,
        }),
    }
}

#[test]
fn the_config_alone_is_not_health_users_or_a_test_must_have_been_answered() {
    // A revoked egress rule or an image that blocks its event loop fails every OTP start while
    // every line the config and Twilio can prove passes: with the network unreadable, no logs
    // and no test sent, nothing shows an OTP start answered.
    let denied = network_denied();
    let base = || {
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                denied.clone(),
                sample(Endpoint::Health, 1, 20, Some(200), Class::Ok, false),
            ],
            twilio_ok(),
        ]
        .concat()
    };
    let d = verdict(base());
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive, "{d:#?}");
    assert!(
        d.unknown[0].starts_with("nothing proves an OTP start is answered")
            && d.unknown[0].contains("give a test phone"),
        "{:?}",
        d.unknown
    );
    // The access lines unreadable (a log group that does not exist): still not health.
    let d = verdict(
        [
            base(),
            vec![traffic_obs(&[], Some("ResourceNotFoundException"))],
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive);
    assert!(d.unknown[0].contains("not read"), "{:?}", d.unknown);
    // A quiet service: no user asked for a code.
    let health_line = "INFO:     10.0.1.3:1 - \"GET /health HTTP/1.1\" 200 OK";
    let d = verdict([base(), vec![traffic_obs(&[health_line], None)]].concat());
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive);
    assert!(
        d.unknown[0].contains("no user's OTP start"),
        "{:?}",
        d.unknown
    );
    // Users' OTP starts answered 200: positive evidence, without a test SMS.
    let otp_200 = "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK";
    let d = verdict([base(), vec![traffic_obs(&[otp_200, health_line], None)]].concat());
    assert_eq!(d.verdict.failure_mode, FailureMode::None, "{d:#?}");
    // The console's own test OTP start that sent is positive evidence on its own.
    let d = verdict(
        [
            base(),
            vec![sample(
                Endpoint::OtpStart,
                2,
                300,
                Some(200),
                Class::Ok,
                false,
            )],
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::None, "{d:#?}");
}

#[test]
fn an_incident_on_twilios_status_page_is_said_when_nothing_else_fits() {
    let page = |indicator: &str| Observation::Twilio {
        at_ms: NOW,
        fact: Fact::StatusPage(Ok(crate::probe::twilio::StatusPage {
            indicator: indicator.into(),
            description: "Partial System Outage".into(),
            degraded: vec!["Programmable Messaging: degraded_performance".into()],
        })),
    };
    // Users' OTP starts answer 503 after the backend's timeout and Twilio does not answer the
    // console in time: no failure mode of the service's own fits.
    let otp_503 =
        "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 503 Service Unavailable";
    let health = "INFO:     10.0.1.3:1 - \"GET /health HTTP/1.1\" 200 OK";
    let world = |indicator: &str| {
        vec![
            ecs_obs(snapshot(GOOD, false)),
            sample(Endpoint::Health, 1, 20, Some(200), Class::Ok, false),
            traffic_obs(&[otp_503, otp_503, health], None),
            page(indicator),
        ]
    };
    let d = verdict(world("minor"));
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive);
    assert!(
        d.unknown[1].starts_with("Twilio's status page reports an incident, minor: Partial System Outage (Programmable Messaging: degraded_performance)"),
        "{:?}",
        d.unknown
    );
    let d = verdict(world("none"));
    assert!(
        d.unknown.iter().all(|u| !u.contains("status page")),
        "{:?}",
        d.unknown
    );
}

#[test]
fn a_service_scaled_to_zero_is_named_with_the_command_that_scales_it_back() {
    let mut s = snapshot(GOOD, false);
    s.service.desired = 0;
    s.service.running = 0;
    s.service.deployments[0].desired = 0;
    s.service.deployments[0].running = 0;
    let d = verdict(
        [
            vec![
                ecs_obs(s),
                sample(Endpoint::Health, 1, 3, Some(503), Class::Unavailable, false),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::ApiUnreachable,
        "{d:#?}"
    );
    let top = &d.verdict.candidates[0];
    assert!(
        top.evidence[0]
            .starts_with("service nerava-backend is scaled to zero: desired 0, running 0"),
        "{top:#?}"
    );
    assert!(top.commands[0].contains("--desired-count 1"), "{top:#?}");
}

#[test]
fn a_token_secret_changed_after_the_tasks_started_is_theirs_to_reread() {
    use crate::probe::secrets::SecretState;
    // The new token was put in the secret a minute ago; the running task started 30 min ago
    // and still sends the old one. The console, reading the secret now, is accepted.
    let world = |changed_ms: i64, extra: Vec<Observation>| {
        let mut s = snapshot(GOOD, false);
        let mut token = resolved("TWILIO_AUTH_TOKEN", SecretState::Ok);
        token.last_changed_ms = Some(changed_ms);
        s.secrets = vec![token];
        s.tasks = vec![ecs::Task {
            id: "t1".into(),
            revision: Some(42),
            last_status: "RUNNING".into(),
            health: "HEALTHY".into(),
            started_ms: Some(NOW - 30 * 60_000),
            stopped_ms: None,
            stopped_reason: None,
            stop_code: None,
            exit_code: None,
        }];
        verdict(
            [
                vec![
                    ecs_obs(s),
                    sample(Endpoint::Health, 1, 20, Some(200), Class::Ok, false),
                ],
                twilio_ok(),
                extra,
            ]
            .concat(),
        )
    };
    let otp_500 =
        "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 500 Internal Server Error";
    let users_fail = || vec![traffic_obs(&[otp_500, otp_500], None)];
    let d = world(NOW - 60_000, users_fail());
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::InvalidCredentials,
        "{d:#?}"
    );
    let top = &d.verdict.candidates[0];
    assert_eq!(top.confidence, 1);
    assert!(
        top.evidence[0].contains("changed 1 min ago, after the running tasks started (30 min ago): they still send its previous value"),
        "{top:#?}"
    );
    assert!(
        top.commands[0].contains("--force-new-deployment"),
        "{top:#?}"
    );
    // The backend's own refusal line makes it stronger.
    let d = world(
        NOW - 60_000,
        [
            users_fail(),
            vec![log(
                LineKind::CredentialError,
                "[OTP] Twilio error 20003: Authenticate (Invalid credentials)",
            )],
        ]
        .concat(),
    );
    assert_eq!(d.verdict.candidates[0].confidence, 2);
    // Changed before the task started: the task has it, and nothing here says otherwise.
    let d = world(NOW - 60 * 60_000, users_fail());
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive, "{d:#?}");
    // Changed after, but nobody fails: nothing to name.
    let otp_200 = "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK";
    let d = world(NOW - 60_000, vec![traffic_obs(&[otp_200], None)]);
    assert!(
        d.verdict
            .candidates
            .iter()
            .all(|f| f.failure_mode != FailureMode::InvalidCredentials),
        "{d:#?}"
    );
}

#[test]
fn rules_that_read_blocked_but_let_the_service_reach_twilio_are_a_lead_not_the_verdict() {
    // Egress 443 allowed only to Twilio's own range reads blocked against 0.0.0.0/0, and the
    // service's own OTP start sends its code through it.
    let otp_sent = sample(Endpoint::OtpStart, 2, 300, Some(200), Class::Ok, false);
    let health = sample(Endpoint::Health, 1, 20, Some(200), Class::Ok, false);
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                network_obs(only_postgres()),
                health.clone(),
                otp_sent.clone(),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::None, "{d:#?}");
    let lead = &d.verdict.candidates[0];
    assert_eq!(
        (lead.failure_mode, lead.confidence),
        (FailureMode::NetworkBlocked, 0)
    );
    assert!(
        lead.evidence[0].contains("— but a test OTP start through the service sent its code"),
        "{lead:#?}"
    );
    assert_eq!(state(&d, Item::EgressHttps), State::Pass);
    // A test that sent half a minute before the read may predate a rule revoked since.
    let earlier = Observation::Http(Sample {
        endpoint: Endpoint::OtpStart,
        id: 3,
        started_ms: NOW - 30_300,
        latency_ms: 300,
        status: Some(200),
        class: Class::Ok,
        summary: String::new(),
        during_otp: false,
        otp_started_ms: None,
        phone_last4: None,
    });
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                health.clone(),
                earlier,
                network_obs(only_postgres()),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::NetworkBlocked);
    // The backend's own "sent" line of a minute ago may predate a rule revoked since: the
    // configuration as it reads now stands.
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                network_obs(only_postgres()),
                health.clone(),
                log(
                    LineKind::OtpSent,
                    "[OTP] OTP sent successfully phone_last4=0123 status=pending",
                ),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::NetworkBlocked);
    assert_eq!(d.verdict.candidates[0].confidence, 3);
    // The stub provider answers 200 without calling Twilio: that proves nothing.
    let stub = stub_provider();
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(&stub, false)),
                network_obs(only_postgres()),
                health,
                otp_sent,
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert!(
        d.verdict
            .candidates
            .iter()
            .any(|f| f.failure_mode == FailureMode::NetworkBlocked && f.confidence == 3),
        "{d:#?}"
    );
    assert_eq!(state(&d, Item::EgressHttps), State::Fail);
}

#[test]
fn load_balancer_504s_with_the_access_lines_unreadable_still_fit_the_hanging_modes() {
    use crate::probe::metrics::{LoadBalancer, Minute};
    use crate::probe::traffic::{RealTraffic, MINUTES, WINDOW_MS};
    let mut minutes = vec![Minute::default(); MINUTES];
    for m in &mut minutes[MINUTES - 5..] {
        m.requests = Some(3.0);
        m.elb_504 = Some(3.0);
        m.elb_5xx = Some(3.0);
        m.healthy = Some(1.0);
    }
    let lb = LoadBalancer::from_minutes("alb".into(), "tg".into(), minutes, Ok(vec![]));
    let traffic = Observation::Traffic {
        at_ms: NOW,
        traffic: Box::new(RealTraffic {
            from_ms: NOW - WINDOW_MS,
            to_ms: NOW,
            access: Err(ProbeError {
                system: System::Logs,
                kind: ErrorKind::Credentials,
                code: Some("AccessDeniedException".into()),
                message: "AWS: AccessDeniedException — not allowed to call logs:FilterLogEvents"
                    .into(),
            }),
            load_balancer: Some(Ok(lb)),
        }),
    };
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, true)),
                sample(Endpoint::Health, 1, 20, Some(200), Class::Ok, false),
                traffic,
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive);
    let top = &d.verdict.candidates[0];
    assert_eq!(
        (top.failure_mode, top.confidence),
        (FailureMode::EventLoopBlocked, 0),
        "{d:#?}"
    );
    assert!(
        top.evidence[0].contains("requests hang to the load balancer's 504"),
        "{top:#?}"
    );
}

#[test]
fn timeouts_in_the_logs_with_the_path_open_are_not_named_the_network() {
    // A Twilio slower than TWILIO_TIMEOUT_SECONDS: the service's calls time out, the console's
    // own time out too, and EC2 reads the path open.
    let slow = Observation::Twilio {
        at_ms: NOW,
        fact: Fact::Account(Err(twilio_error("timeout", ErrorKind::Timeout))),
    };
    let timeout_line = log(
        LineKind::TwilioTimeout,
        "[OTP] Twilio timeout after 30s (TimeoutError) phone_last4=0123",
    );
    let d = verdict(vec![
        ecs_obs(snapshot(GOOD, false)),
        network_obs(https_anywhere()),
        sample(Endpoint::Health, 1, 20, Some(200), Class::Ok, false),
        slow,
        timeout_line.clone(),
    ]);
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive, "{d:#?}");
    let lead = &d.verdict.candidates[0];
    assert_eq!(
        (lead.failure_mode, lead.confidence),
        (FailureMode::NetworkBlocked, 0)
    );
    assert!(
        lead.evidence
            .iter()
            .any(|e| e.contains("Twilio itself may be slow")),
        "{lead:#?}"
    );
    // With the path blocked, the same line names it.
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(GOOD, false)),
                network_obs(only_postgres()),
                timeout_line,
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::NetworkBlocked);
}

/// One `/health` that failed to connect is not an unreachable API (a server closing an idle
/// connection as it was reused fails one probe on healthy services); two in a row are.
#[test]
fn one_failed_health_probe_is_not_an_unreachable_api() {
    for class in [Class::Refused, Class::Other, Class::Dns] {
        let one = verdict(
            [
                vec![
                    health_ok(1),
                    sample(Endpoint::Health, 2, 5, None, class, false),
                ],
                twilio_ok(),
            ]
            .concat(),
        );
        assert_ne!(
            one.verdict.failure_mode,
            FailureMode::ApiUnreachable,
            "{class:?}: {one:#?}"
        );
        let two = verdict(
            [
                vec![
                    health_ok(1),
                    sample(Endpoint::Health, 2, 5, None, class, false),
                    sample(Endpoint::Health, 3, 5, None, class, false),
                ],
                twilio_ok(),
            ]
            .concat(),
        );
        assert_eq!(
            two.verdict.failure_mode,
            FailureMode::ApiUnreachable,
            "{class:?}: {two:#?}"
        );
        assert!(two.verdict.candidates[0].evidence[0].contains("2 probes in a row"));
    }
}

fn health_ok(id: u64) -> Observation {
    sample(Endpoint::Health, id, 20, Some(200), Class::Ok, false)
}

/// The runbook's own test in the event-loop world: the OTP start answered 504 and the
/// `/health` probes sent while it was in flight still hang. They belong to that stall: the
/// verdict stays `event_loop_blocked`, never `api_unreachable`, however long they wait.
#[test]
fn health_sent_during_an_otp_start_never_makes_the_api_unreachable() {
    let mut evidence = Evidence::default();
    for o in [
        vec![ecs_obs(snapshot(GOOD, true)), health_ok(1)],
        twilio_ok(),
    ]
    .concat()
    {
        evidence.record(o);
    }
    // The OTP start ran from NOW-62 s to NOW-2 s (the load balancer's 504); /health probes
    // sent during it, one answered after 3 s, others still waiting.
    evidence.record(Observation::Http(Sample {
        endpoint: Endpoint::OtpStart,
        id: 10,
        started_ms: NOW - 62_000,
        latency_ms: 60_000,
        status: Some(504),
        class: Class::GatewayTimeout,
        summary: String::new(),
        during_otp: false,
        otp_started_ms: None,
        phone_last4: None,
    }));
    evidence.record(Observation::Http(Sample {
        endpoint: Endpoint::Health,
        id: 11,
        started_ms: NOW - 61_000,
        latency_ms: 3_000,
        status: Some(200),
        class: Class::Ok,
        summary: String::new(),
        during_otp: true,
        otp_started_ms: Some(NOW - 62_000),
        phone_last4: None,
    }));
    for (id, started) in [(12, NOW - 30_000), (13, NOW - 5_000)] {
        evidence.record(Observation::HttpStarted {
            endpoint: Endpoint::Health,
            id,
            started_ms: started,
            phone_last4: None,
        });
    }
    for at in [NOW, NOW + 5_000, NOW + 20_000] {
        let d = diagnose(&evidence, &names(), at);
        assert_eq!(
            d.verdict.failure_mode,
            FailureMode::EventLoopBlocked,
            "{at}: {d:#?}"
        );
    }
}

/// A secret that cannot be read while every task runs (deleted after they started) is a risk:
/// the verdict is what the rest of the evidence says, and the secret is listed under risks
/// with its evidence and fix. While a deployment cannot start its tasks, it is the cause.
#[test]
fn a_secret_the_running_tasks_already_read_is_a_risk_not_the_cause() {
    use crate::probe::secrets::SecretState;
    let mut s = snapshot(GOOD, false);
    let mut db = resolved("DATABASE_URL", SecretState::ScheduledForDeletion);
    db.deleted_ms = Some(NOW - 300_000);
    s.secrets = vec![db];
    let sent = sample(Endpoint::OtpStart, 5, 400, Some(200), Class::Ok, false);
    let d = verdict([vec![ecs_obs(s.clone()), health_ok(1), sent], twilio_ok()].concat());
    assert_eq!(d.verdict.failure_mode, FailureMode::None, "{d:#?}");
    assert_eq!(d.verdict.risks.len(), 1, "{d:#?}");
    let risk = &d.verdict.risks[0];
    assert_eq!(risk.failure_mode, FailureMode::SecretUnreadable);
    assert!(risk.evidence[0].starts_with("DATABASE_URL ← "), "{risk:?}");
    assert!(
        risk.evidence
            .iter()
            .any(|e| e.contains("a risk, not the cause")),
        "{risk:?}"
    );
    assert!(risk.commands.iter().any(|c| c.contains("restore-secret")));
    assert_eq!(d.verdict.failure_mode.exit_code(), 0);

    // With the event-loop image as well: that is the verdict, the secret still a risk.
    let mut blocked = s.clone();
    blocked.diff = snapshot(GOOD, true).diff;
    let stalled = sample(Endpoint::Health, 6, 8_000, Some(200), Class::Ok, true);
    let d = verdict([vec![ecs_obs(blocked), health_ok(1), stalled], twilio_ok()].concat());
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::EventLoopBlocked,
        "{d:#?}"
    );
    assert_eq!(d.verdict.risks.len(), 1);

    // A deployment that cannot start its tasks: the secret is the cause.
    let mut failing = s;
    failing.service.running = 0;
    failing.service.deployments[0].running = 0;
    failing.service.deployments[0].rollout_state = "IN_PROGRESS".into();
    let d = verdict([vec![ecs_obs(failing)], twilio_ok()].concat());
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::SecretUnreadable,
        "{d:#?}"
    );
    assert!(d.verdict.risks.is_empty());
}

/// The API down with a variable also missing: nothing answers, so adding the variable would
/// not help: `api_unreachable` is the verdict and the variable a candidate. When the tasks fail
/// to start because of the config, the config is the cause.
#[test]
fn an_api_that_does_not_answer_outranks_a_missing_variable() {
    let missing: Vec<(&str, &str)> = GOOD
        .iter()
        .copied()
        .filter(|(n, _)| *n != "TWILIO_AUTH_TOKEN")
        .collect();
    let refused = |id| sample(Endpoint::Health, id, 5, None, Class::Refused, false);
    let d = verdict(
        [
            vec![ecs_obs(snapshot(&missing, false)), refused(1), refused(2)],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::ApiUnreachable,
        "{d:#?}"
    );
    assert!(d
        .verdict
        .candidates
        .iter()
        .any(|c| c.failure_mode == FailureMode::MissingEnvVars));
    // The backend's startup failure on the stub provider: the config stops the tasks.
    let stub: Vec<(&str, &str)> = GOOD
        .iter()
        .map(|&(n, v)| {
            if n == "OTP_PROVIDER" {
                (n, "stub")
            } else {
                (n, v)
            }
        })
        .collect();
    let d = verdict(
        [
            vec![
                ecs_obs(snapshot(&stub, false)),
                refused(1),
                refused(2),
                log(
                    LineKind::StartupFailure,
                    "RuntimeError: OTP_PROVIDER=stub is not allowed in production",
                ),
            ],
            twilio_ok(),
        ]
        .concat(),
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::StubProvider, "{d:#?}");
}

/// Real traffic with only the load balancer read, its idle timeout `idle` (`None`: not read).
fn lb_traffic(idle: Option<u64>) -> Observation {
    use crate::probe::metrics::{LoadBalancer, Minute};
    use crate::probe::traffic::{RealTraffic, MINUTES, WINDOW_MS};
    let mut lb = LoadBalancer::from_minutes(
        "nerava-alb".into(),
        "tg".into(),
        vec![Minute::default(); MINUTES],
        Ok(vec![]),
    );
    lb.idle_timeout_s = idle.map(Ok);
    Observation::Traffic {
        at_ms: NOW,
        traffic: Box::new(RealTraffic {
            from_ms: NOW - WINDOW_MS,
            to_ms: NOW,
            access: Err(ProbeError {
                system: System::Logs,
                kind: ErrorKind::Credentials,
                code: None,
                message: "not read".into(),
            }),
            load_balancer: Some(Ok(lb)),
        }),
    }
}

/// The evidence of a healthy service whose test OTP start got `otp`, with the load balancer's
/// idle timeout `idle`.
fn budget_evidence(otp: Observation, idle: Option<u64>) -> Evidence {
    let mut evidence = Evidence::default();
    let obs = [
        vec![
            ecs_obs(snapshot(GOOD, false)),
            health_ok(1),
            otp,
            lb_traffic(idle),
        ],
        twilio_ok(),
    ]
    .concat();
    for o in obs {
        evidence.record(o);
    }
    evidence
}

/// The timeout budget: TWILIO_TIMEOUT_SECONDS against the load balancer's idle timeout. Not
/// shorter is a risk (never the verdict); shorter is fine; unread says so and is no risk.
#[test]
fn a_backend_timeout_not_shorter_than_the_load_balancers_is_a_risk() {
    let sent = || sample(Endpoint::OtpStart, 5, 400, Some(200), Class::Ok, false);
    let run = |idle| {
        let evidence = budget_evidence(sent(), idle);
        (
            diagnose(&evidence, &names(), NOW),
            super::budget::of(&evidence, crate::config::Platform::Ecs, false).expect("a budget"),
        )
    };
    // GOOD leaves TWILIO_TIMEOUT_SECONDS unset (the runbook's 30 s): an idle timeout of 30 s
    // leaves it no room.
    let (d, budget) = run(Some(30));
    assert_eq!(budget.first, "load_balancer", "{budget:?}");
    assert_eq!(d.verdict.failure_mode, FailureMode::None, "{d:#?}");
    let risk = d
        .verdict
        .risks
        .iter()
        .find(|r| r.failure_mode == FailureMode::TimeoutOrder)
        .expect("the risk");
    assert!(risk.evidence[0].contains("30 s"), "{risk:?}");
    assert!(risk
        .commands
        .iter()
        .any(|c| c.contains("TWILIO_TIMEOUT_SECONDS=20")));
    assert!(risk
        .commands
        .iter()
        .any(|c| c.contains("--names nerava-alb")));
    // AWS's default 60 s: the backend gives up first, with its own error.
    let (d, budget) = run(Some(60));
    assert_eq!(budget.first, "backend");
    assert!(
        budget.line().contains("the backend gives up first"),
        "{}",
        budget.line()
    );
    assert!(d.verdict.risks.is_empty(), "{d:#?}");
    // Not read: no risk, and the line says so.
    let (d, budget) = run(None);
    assert_eq!(budget.first, "unknown");
    assert!(!budget.is_read());
    assert!(d.verdict.risks.is_empty());
}

/// Seen: the test OTP start got the load balancer's 504, so it fired first whatever the
/// configuration says; the configuration itself is in order, so it is no risk.
#[test]
fn a_504_seen_makes_the_load_balancer_first_without_a_risk() {
    let timed_out = sample(
        Endpoint::OtpStart,
        6,
        60_000,
        Some(504),
        Class::GatewayTimeout,
        false,
    );
    let evidence = budget_evidence(timed_out, Some(60));
    let budget =
        super::budget::of(&evidence, crate::config::Platform::Ecs, false).expect("a budget");
    assert_eq!(budget.first, "load_balancer", "{budget:?}");
    assert_eq!(budget.configured_in_order, Some(true));
    assert!(
        budget.line().contains("seen: the test OTP start"),
        "{}",
        budget.line()
    );
    let d = diagnose(&evidence, &names(), NOW);
    assert!(d.verdict.risks.is_empty(), "{d:#?}");
}

/// App Runner's front end gives up after its fixed 120 s: no load balancer to read, the
/// budget is known from the variable alone, and a backend timeout not under it is a risk whose
/// fix is the variable (the 120 s is no setting).
#[test]
fn on_apprunner_the_budget_is_the_fixed_120_s_request_timeout() {
    let names = Names {
        platform: crate::config::Platform::AppRunner,
        ..names()
    };
    let run = |timeout: &'static str| {
        let env = [GOOD, &[("TWILIO_TIMEOUT_SECONDS", timeout)]].concat();
        let mut evidence = Evidence::default();
        for o in [
            vec![
                ecs_obs(snapshot(&env, false)),
                health_ok(1),
                sample(Endpoint::OtpStart, 5, 400, Some(200), Class::Ok, false),
            ],
            twilio_ok(),
        ]
        .concat()
        {
            evidence.record(o);
        }
        (
            diagnose(&evidence, &names, NOW),
            super::budget::of(&evidence, crate::config::Platform::AppRunner, false)
                .expect("a budget"),
        )
    };
    let (d, budget) = run("30");
    assert_eq!(budget.load_balancer_idle_s, Some(120));
    assert_eq!(budget.first, "backend");
    assert!(
        budget
            .line()
            .starts_with("App Runner request timeout (fixed) 120 s · TWILIO_TIMEOUT_SECONDS 30 s"),
        "{}",
        budget.line()
    );
    assert!(d.verdict.risks.is_empty(), "{d:#?}");
    let (d, budget) = run("150");
    assert_eq!(budget.first, "apprunner");
    let risk = d
        .verdict
        .risks
        .iter()
        .find(|r| r.failure_mode == FailureMode::TimeoutOrder)
        .expect("the risk");
    assert!(
        risk.evidence[0].contains("App Runner's fixed request timeout 120 s"),
        "{risk:?}"
    );
    assert!(
        risk.commands[0].contains("TWILIO_TIMEOUT_SECONDS=110"),
        "{risk:?}"
    );
    assert!(
        risk.commands.iter().all(|c| !c.contains("elbv2")),
        "{risk:?}"
    );
    assert_eq!(d.verdict.failure_mode, FailureMode::None);
}

/// [`super::RULES`] is in the enum's order, and each id is the variant's serde name (what
/// `check --json` writes).
#[test]
fn every_failure_mode_is_described_once_in_order() {
    for (i, m) in super::RULES.iter().enumerate() {
        assert_eq!(m.mode as usize, i, "{m:?}");
        assert_eq!(
            serde_json::to_value(m.mode).expect("serialises"),
            serde_json::Value::from(m.id),
            "{m:?}"
        );
        assert!(!m.title.is_empty() && !m.repair.is_empty(), "{m:?}");
    }
}

/// A missing variable is the verdict from the task definition alone, and explains the test's
/// failure when the OTP start fails; when the test OTP start sends its code (fresh, after the
/// task definition was read) and every task runs, it cannot be what fails: never the verdict,
/// a candidate saying why.
#[test]
fn a_cause_the_symptoms_contradict_is_a_candidate_not_the_verdict() {
    let missing = without_verify_sid();
    let base = [vec![ecs_obs(snapshot(&missing, false))], twilio_ok()].concat();
    let alone = verdict(base.clone());
    assert_eq!(alone.verdict.failure_mode, FailureMode::MissingEnvVars);
    assert!(alone.verdict.candidates[0].explains.is_empty());

    let failed = verdict(
        [
            base.clone(),
            vec![sample(
                Endpoint::OtpStart,
                1,
                300,
                Some(500),
                Class::ServerError,
                false,
            )],
        ]
        .concat(),
    );
    assert_eq!(failed.verdict.failure_mode, FailureMode::MissingEnvVars);
    assert_eq!(
        failed.verdict.candidates[0].explains,
        vec![symptoms::Symptom::OtpFails]
    );
    let json = serde_json::to_value(&failed.verdict).expect("serialises");
    assert_eq!(json["candidates"][0]["explains"][0], "otp_fails");

    let sent = verdict(
        [
            base,
            vec![
                sample(Endpoint::Health, 1, 20, Some(200), Class::Ok, false),
                sample(Endpoint::OtpStart, 2, 400, Some(200), Class::Ok, false),
            ],
        ]
        .concat(),
    );
    assert_eq!(
        sent.verdict.failure_mode,
        FailureMode::Inconclusive,
        "{sent:#?}"
    );
    let env = sent
        .verdict
        .candidates
        .iter()
        .find(|c| c.failure_mode == FailureMode::MissingEnvVars)
        .expect("still a candidate");
    let why = env.evidence.last().expect("a line");
    assert!(
        why.starts_with("cannot explain what fails now:")
            && why.contains("the test OTP start sent its code")
            && why.contains("1 of 1 tasks run"),
        "{why}"
    );
    assert!(
        sent.unknown
            .iter()
            .any(|u| u.starts_with("missing_env_vars is supported but cannot be the cause")),
        "{:#?}",
        sent.unknown
    );
}

/// A success older than the configuration read does not contradict it: the change may have
/// come after it.
#[test]
fn an_old_success_does_not_contradict_a_fresh_read() {
    let missing = without_verify_sid();
    let mut old = sample(Endpoint::OtpStart, 2, 400, Some(200), Class::Ok, false);
    if let Observation::Http(s) = &mut old {
        s.started_ms = NOW - 60_000;
    }
    let d = verdict([vec![old, ecs_obs(snapshot(&missing, false))], twilio_ok()].concat());
    assert_eq!(
        d.verdict.failure_mode,
        FailureMode::MissingEnvVars,
        "{d:#?}"
    );
}

/// The README's table of failure modes is [`super::RULES`], row for row: the id, the title and
/// what it predicts (the test prints the table it expects).
#[test]
fn the_readme_lists_every_failure_mode_from_its_rule() {
    let readme = include_str!("../../README.md");
    let table: Vec<String> = super::RULES
        .iter()
        .map(|r| {
            let predicts: Vec<&str> = r.predicts.iter().map(|s| s.label()).collect();
            let predicts = if predicts.is_empty() {
                "—".to_owned()
            } else {
                predicts.join(", ")
            };
            format!(
                "| `{}` | {} | {predicts} |",
                r.id,
                r.title.replace('|', "\\|")
            )
        })
        .collect();
    let missing: Vec<&String> = table
        .iter()
        .filter(|row| !readme.contains(row.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md lacks these rows of the failure modes table:\n{}\n\nthe whole table:\n{}",
        missing
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        table.join("\n")
    );
}

/// Two causes equally supported that explain as much (the same confidence, the same symptom
/// seen) and neither brings the other about: nothing seen tells them apart, so the verdict is
/// `inconclusive` listing both. A cause that brings the other about (a secret ECS cannot read
/// fails the deployment) is the verdict over it.
#[test]
fn a_tie_that_nothing_settles_is_inconclusive_and_the_deeper_cause_wins_its_own() {
    let failed = sample(
        Endpoint::OtpStart,
        1,
        300,
        Some(500),
        Class::ServerError,
        false,
    );
    let d = verdict(vec![
        ecs_obs(snapshot(GOOD, false)),
        Observation::Twilio {
            at_ms: NOW,
            fact: Fact::Account(Err(twilio_error("20003", ErrorKind::Credentials))),
        },
        Observation::Twilio {
            at_ms: NOW,
            fact: Fact::Send(Err(twilio_error("60203", ErrorKind::Api))),
        },
        failed,
    ]);
    assert_eq!(d.verdict.failure_mode, FailureMode::Inconclusive, "{d:#?}");
    let listed: Vec<FailureMode> = d
        .verdict
        .candidates
        .iter()
        .map(|c| c.failure_mode)
        .collect();
    assert!(
        listed.starts_with(&[FailureMode::InvalidCredentials, FailureMode::RateLimited]),
        "{listed:?}"
    );
    assert!(
        d.unknown[0].starts_with("invalid_credentials and rate_limited are equally supported"),
        "{:?}",
        d.unknown
    );
    assert!(super::RULES[FailureMode::SecretUnreadable as usize]
        .underlies
        .contains(&FailureMode::DeploymentFailed));
}
