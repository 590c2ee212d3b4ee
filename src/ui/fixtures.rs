//! Deterministic consoles for snapshot tests: an [`App`] fed with hand-made observations that
//! mirror what the probes see on three scenarios of the simulator (`healthy`,
//! `event-loop-blocking`, `missing-env-vars`), at a fixed time, so every run draws the same.

use crate::app::App;
use crate::config::{EnvRules, EnvView};
use crate::diagnosis::Names;
use crate::event::{Event, Sms, Target};
use crate::probe::http::{Class, Endpoint, Sample};
use crate::probe::logs::{Batch, Event as LogEvent};
use crate::probe::twilio::{
    Account, CredentialsSeen, Fact, StatusPage, Verification, VerifyService,
};
use crate::probe::{ecs, logs, CredentialSource, Observation};
use crate::redact;

/// 2026-01-23 10:00:00 UTC, the runbook's day.
pub const NOW: i64 = 1_769_162_400_000;

const YESTERDAY_IMAGE: &str =
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/nerava-backend:2026.01.22";
const TODAY_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/nerava-backend:2026.01.23";

const ENV: &[(&str, &str)] = &[
    ("ENV", "prod"),
    ("LOG_LEVEL", "INFO"),
    ("OTP_PROVIDER", "twilio_verify"),
    ("PUBLIC_BASE_URL", "https://api.nerava.network"),
    ("TWILIO_ACCOUNT_SID", "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8"),
    ("TWILIO_AUTH_TOKEN", "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"),
    ("TWILIO_TIMEOUT_SECONDS", "30"),
    (
        "TWILIO_VERIFY_SERVICE_SID",
        "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ),
];

fn names() -> Names {
    Names {
        platform: crate::config::Platform::Ecs,
        cluster: "nerava-cluster".into(),
        service: "nerava-backend".into(),
        log_group: "/ecs/nerava-backend".into(),
        log_filter: "OTP".into(),
        api_base: "http://127.0.0.1:8080".into(),
        region: "us-east-1".into(),
        context: None,
    }
}

fn fingerprint(value: &str) -> u64 {
    value.bytes().fold(1_469_598_103_934_665_603_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
    })
}

fn task_definition(
    revision: i32,
    image: &str,
    env: &[(&str, &str)],
    hours_ago: i64,
) -> ecs::TaskDefinition {
    ecs::TaskDefinition {
        arn: format!("arn:aws:ecs:us-east-1:123456789012:task-definition/nerava-backend:{revision}"),
        family: "nerava-backend".into(),
        revision,
        image: image.into(),
        registered_ms: Some(NOW - hours_ago * 3_600_000),
        registered_by: Some("arn:aws:iam::123456789012:user/deploy-bot".into()),
        container: "nerava-backend".into(),
        log_group: None,
        log_region: None,
        other_containers: vec![],
        execution_role: None,
        environment: env
            .iter()
            .map(|(n, v)| ecs::EnvVar { name: (*n).into(), display: redact::env_value(n, v), fingerprint: fingerprint(v) })
            .collect(),
        secrets: vec![
            ecs::SecretRef { name: "DATABASE_URL".into(), value_from: "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/database-AbCdEf".into() },
            ecs::SecretRef { name: "JWT_SECRET".into(), value_from: "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/jwt-GhIjKl".into() },
        ],
        environment_files: vec![],
        tags: vec![("app".into(), "nerava".into()), ("env".into(), "prod".into())],
    }
}

pub fn snapshot(today_env: &[(&str, &str)], today_image: &str) -> ecs::Snapshot {
    let deployed = task_definition(42, today_image, today_env, 1);
    let previous = task_definition(41, YESTERDAY_IMAGE, ENV, 26);
    let diff = crate::probe::ecs::diff(&previous, &deployed);
    let view = today_env
        .iter()
        .fold(EnvView::new(), |v, (n, val)| v.with_value(n, val));
    let view = view
        .with_secret(
            "DATABASE_URL",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/database-AbCdEf",
        )
        .with_secret(
            "JWT_SECRET",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/jwt-GhIjKl",
        );
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
                id: "ecs-svc/4263810664399404613".into(),
                status: "PRIMARY".into(),
                task_definition: deployed.arn.clone(),
                revision: Some(42),
                rollout_state: "COMPLETED".into(),
                rollout_reason: "ECS deployment ecs-svc/4263810664399404613 completed.".into(),
                desired: 1,
                running: 1,
                pending: 0,
                failed: 0,
                created_ms: Some(NOW - 25 * 60_000),
            }],
            events: vec![
                ecs::ServiceEvent { at_ms: NOW - 24 * 60_000, message: "(service nerava-backend) has reached a steady state.".into() },
                ecs::ServiceEvent { at_ms: NOW - 24 * 60_000, message: "(service nerava-backend) has stopped 1 running tasks: (task c82202248a90cde27dc4cf728661158b).".into() },
                ecs::ServiceEvent { at_ms: NOW - 25 * 60_000, message: "(service nerava-backend) has started 1 tasks: (task 9ff1d2f5a68a881e6bfe29f2e32b7aa0).".into() },
            ],
        },
        checks: EnvRules::builtin().evaluate(&view),
        deployed,
        previous: Some(previous),
        diff,
        tasks: vec![
            ecs::Task {
                id: "9ff1d2f5a68a881e6bfe29f2e32b7aa0".into(),
                revision: Some(42),
                last_status: "RUNNING".into(),
                health: "HEALTHY".into(),
                started_ms: Some(NOW - 25 * 60_000),
                stopped_ms: None,
                stopped_reason: None,
                stop_code: None,
                exit_code: None,
            },
            ecs::Task {
                id: "c82202248a90cde27dc4cf728661158b".into(),
                revision: Some(41),
                last_status: "STOPPED".into(),
                health: "UNKNOWN".into(),
                started_ms: Some(NOW - 26 * 3_600_000),
                stopped_ms: Some(NOW - 24 * 60_000),
                stopped_reason: Some("Scaling activity initiated by (deployment ecs-svc/4263810664399404613)".into()),
                stop_code: Some("ServiceSchedulerInitiated".into()),
                exit_code: Some(0),
            },
        ],
        secrets: Vec::new(),
        secret_values: ecs::SecretValues::default(),
        env_files: Vec::new(),
    }
}

fn log_event(i: usize, seconds_ago: i64, message: &str) -> LogEvent {
    LogEvent {
        id: format!("{i:056}"),
        stream: "ecs/nerava-backend/9ff1d2f5a68a881e6bfe29f2e32b7aa0".into(),
        timestamp_ms: NOW - seconds_ago * 1000,
        message: message.into(),
        kind: logs::classify(message),
    }
}

fn health_series(slow_during_otp: bool) -> Vec<Observation> {
    let mut out = Vec::new();
    for i in 0..24u64 {
        let started = NOW - 120_000 + i as i64 * 5_000;
        out.push(Observation::Http(Sample {
            endpoint: Endpoint::Health,
            id: i,
            started_ms: started,
            latency_ms: 8 + (i * 7) % 11,
            status: Some(200),
            class: Class::Ok,
            summary: "ok: true".into(),
            during_otp: false,
            otp_started_ms: None,
            phone_last4: None,
        }));
    }
    if slow_during_otp {
        out.push(Observation::Http(Sample {
            endpoint: Endpoint::Health,
            id: 100,
            started_ms: NOW - 64_000,
            latency_ms: 60_000,
            status: Some(504),
            class: Class::GatewayTimeout,
            summary: "504 Gateway Time-out".into(),
            during_otp: true,
            otp_started_ms: Some(NOW - 65_000),
            phone_last4: None,
        }));
    }
    out
}

fn twilio_facts(with_send: bool) -> Vec<Observation> {
    let fact = |fact| Observation::Twilio {
        at_ms: NOW - 30_000,
        fact,
    };
    let mut out = vec![
        fact(Fact::Credentials(CredentialsSeen {
            source: CredentialSource::TaskDefinition,
            account_sid: Some("AC5f3b1c…".into()),
            has_auth_token: true,
            token_value_from: None,
            token_secret: None,
            verify_service_sid: Some("VA0a1b2c…".into()),
        })),
        fact(Fact::Account(Ok(Account {
            sid: "AC5f3b1c…".into(),
            friendly_name: "Nerava Production".into(),
            status: "active".into(),
        }))),
        fact(Fact::Service(Ok(VerifyService {
            sid: "VA0a1b2c…".into(),
            friendly_name: "Nerava OTP".into(),
            code_length: 6,
        }))),
        fact(Fact::StatusPage(Ok(StatusPage {
            indicator: "none".into(),
            description: "All Systems Operational".into(),
            degraded: vec![],
        }))),
    ];
    if with_send {
        out.push(fact(Fact::Send(Ok(Verification {
            sid: "VEe69840…".into(),
            status: "pending".into(),
            to: "•••6318".into(),
            valid: false,
        }))));
    }
    out
}

/// A console on one of three scenarios, as of [`NOW`].
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
pub fn app(scenario: &str) -> App {
    let scenarios = vec![
        ("healthy".to_owned(), "Everything works".to_owned()),
        (
            "event-loop-blocking".to_owned(),
            "Today's image calls Twilio on the event loop".to_owned(),
        ),
        (
            "missing-env-vars".to_owned(),
            "Today's revision lost TWILIO_VERIFY_SERVICE_SID".to_owned(),
        ),
    ];
    let mut app = App::new(names(), scenarios, NOW);
    app.update(Event::Resize(160, 48));
    app.update(Event::Target(Target {
        demo_scenario: Some(scenario.to_owned()),
        names: crate::diagnosis::Names {
            api_base: "http://127.0.0.1:8080".into(),
            ..names()
        },
        test_phone: "+17133056318".into(),
        secrets: Vec::new(),
    }));
    let missing: Vec<(&str, &str)> = ENV
        .iter()
        .copied()
        .filter(|(n, _)| *n != "TWILIO_VERIFY_SERVICE_SID")
        .map(|(n, v)| {
            if n == "LOG_LEVEL" {
                (n, "WARNING")
            } else {
                (n, v)
            }
        })
        .collect();
    let today: Vec<(&str, &str)> = ENV
        .iter()
        .map(|&(n, v)| {
            if n == "LOG_LEVEL" {
                (n, "WARNING")
            } else {
                (n, v)
            }
        })
        .collect();
    let access = "INFO:     10.0.1.57:41234 - \"GET /v1/chargers/nearby?lat=30.27&lng=-97.74 HTTP/1.1\" 200 OK";
    let mut observations: Vec<Observation> = Vec::new();
    let mut lines = vec![
        log_event(1, 1500, "[OTP] Using Twilio Verify provider"),
        log_event(2, 1490, "INFO:     Application startup complete."),
        log_event(3, 300, access),
    ];
    match scenario {
        "missing-env-vars" => {
            observations.push(Observation::Ecs {
                at_ms: NOW - 20_000,
                result: Ok(Box::new(snapshot(&missing, YESTERDAY_IMAGE))),
            });
            lines[0] = log_event(1, 1500, "[OTP] WARNING: TWILIO_VERIFY_SERVICE_SID not set; Twilio provider will be initialised on first use");
            lines.push(log_event(4, 70, "[OTP] Twilio Verify provider not configured: TWILIO_VERIFY_SERVICE_SID not set; waiting for provider phone_last4=6318"));
            lines.push(log_event(5, 10, "INFO:     10.0.2.12:51012 - \"POST /v1/auth/otp/start HTTP/1.1\" 500 Internal Server Error"));
            observations.extend(health_series(false));
            observations.push(Observation::Http(Sample {
                endpoint: Endpoint::OtpStart,
                id: 200,
                started_ms: NOW - 70_000,
                latency_ms: 60_002,
                status: Some(504),
                class: Class::GatewayTimeout,
                summary: "504 Gateway Time-out".into(),
                during_otp: false,
                otp_started_ms: None,
                phone_last4: Some("6318".into()),
            }));
            observations.extend(twilio_facts(false));
        }
        "event-loop-blocking" => {
            observations.push(Observation::Ecs {
                at_ms: NOW - 20_000,
                result: Ok(Box::new(snapshot(&today, TODAY_IMAGE))),
            });
            lines.push(log_event(
                4,
                40,
                "INFO:     10.0.1.57:41234 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK",
            ));
            lines.push(log_event(
                5,
                40,
                "[OTP] OTP sent successfully phone_last4=6318 status=pending",
            ));
            observations.extend(health_series(true));
            observations.push(Observation::Http(Sample {
                endpoint: Endpoint::OtpStart,
                id: 200,
                started_ms: NOW - 65_000,
                latency_ms: 60_001,
                status: Some(504),
                class: Class::GatewayTimeout,
                summary: "504 Gateway Time-out".into(),
                during_otp: false,
                otp_started_ms: None,
                phone_last4: Some("6318".into()),
            }));
            observations.extend(twilio_facts(false));
        }
        _ => {
            observations.push(Observation::Ecs {
                at_ms: NOW - 20_000,
                result: Ok(Box::new(snapshot(&today, YESTERDAY_IMAGE))),
            });
            lines.push(log_event(
                4,
                20,
                "[OTP] OTP sent successfully phone_last4=6318 status=pending",
            ));
            lines.push(log_event(
                5,
                20,
                "INFO:     10.0.1.57:41234 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK",
            ));
            observations.extend(health_series(false));
            observations.push(Observation::Http(Sample {
                endpoint: Endpoint::OtpStart,
                id: 200,
                started_ms: NOW - 21_000,
                latency_ms: 640,
                status: Some(200),
                class: Class::Ok,
                summary: "otp_sent: true".into(),
                during_otp: false,
                otp_started_ms: None,
                phone_last4: Some("6318".into()),
            }));
            observations.extend(twilio_facts(true));
            app.update(Event::Inbox(vec![Sms {
                to: "6318".into(),
                code: "723674".into(),
                received_ms: NOW - 19_000,
            }]));
        }
    }
    observations.push(Observation::Logs {
        at_ms: NOW - 5_000,
        result: Ok(Batch {
            events: lines,
            follow: None,
        }),
    });
    for o in observations {
        app.update(Event::Observed(o));
    }
    app.update(Event::Tick(NOW));
    app.notice = None;
    app
}

/// One log line from the task in the fixtures, `seconds_ago` before [`NOW`], classified.
pub fn line(i: usize, seconds_ago: i64, message: &str) -> LogEvent {
    log_event(i, seconds_ago, message)
}

/// Feeds `lines` to `app` as one CloudWatch batch, as the logs probe would.
pub fn push_lines(app: &mut App, lines: Vec<LogEvent>) {
    app.update(Event::Observed(Observation::Logs {
        at_ms: app.now_ms,
        result: Ok(Batch {
            events: lines,
            follow: None,
        }),
    }));
}

/// Draws one pane's `render` into a `width`×`height` buffer at the origin.
pub fn pane(
    render: fn(&App, ratatui::layout::Rect, &mut ratatui::buffer::Buffer),
    app: &App,
    width: u16,
    height: u16,
) -> ratatui::buffer::Buffer {
    let area = ratatui::layout::Rect::new(0, 0, width, height);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    render(app, area, &mut buf);
    buf
}

/// A buffer as text, one line per row, trailing spaces trimmed.
pub fn text(buf: &ratatui::buffer::Buffer) -> String {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            let row: String = (area.left()..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect();
            row.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A revision of the fixtures' family as DescribeTaskDefinition would return it, for plans.
fn described(revision: i32, image: &str, env: &[(&str, &str)]) -> crate::repair::Described {
    use aws_sdk_ecs::types as aws;
    let container = aws::ContainerDefinition::builder()
        .name("nerava-backend")
        .image(image)
        .essential(true)
        .set_environment(Some(
            env.iter()
                .map(|(n, v)| aws::KeyValuePair::builder().name(*n).value(*v).build())
                .collect(),
        ))
        .build();
    crate::repair::Described {
        task_definition: aws::TaskDefinition::builder()
            .family("nerava-backend")
            .revision(revision)
            .task_definition_arn(format!(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/nerava-backend:{revision}"
            ))
            .container_definitions(container)
            .cpu("512")
            .memory("1024")
            .build(),
        tags: Vec::new(),
    }
}

/// The plan the runner would make for `repair` on the fixtures' deployed revision 42 (today's
/// image, `TWILIO_VERIFY_SERVICE_SID` missing), rolling back to 41.
pub fn plan(repair: &crate::repair::Repair) -> crate::repair::Plan {
    let missing: Vec<(&str, &str)> = ENV
        .iter()
        .copied()
        .filter(|(n, _)| *n != "TWILIO_VERIFY_SERVICE_SID")
        .collect();
    let deployed = described(42, TODAY_IMAGE, &missing);
    let previous = described(41, YESTERDAY_IMAGE, ENV);
    crate::repair::plan::plan(
        repair,
        "nerava-cluster",
        "nerava-backend",
        &deployed,
        Some(&previous),
    )
    .expect("the fixture plans")
}

/// A rollout as the follower reports it: progress, a service event, and the end.
pub fn rollout(state: crate::repair::RolloutState) -> crate::repair::Rollout {
    use crate::repair::{Rollout, RolloutEvent, RolloutState};
    let events = vec![
        RolloutEvent::Progress {
            elapsed_ms: 1_000,
            deployments: 2,
            rollout_state: "IN_PROGRESS".into(),
            running: 0,
            desired: 1,
            pending: 1,
            failed_tasks: 0,
        },
        RolloutEvent::ServiceEvent {
            at_ms: NOW + 2_000,
            message: "(service nerava-backend) has started 1 tasks: (task 5b0e6f7a).".into(),
        },
    ];
    let failed = state != RolloutState::Completed;
    Rollout {
        state,
        elapsed: std::time::Duration::from_millis(12_400),
        events,
        reason: if failed {
            "deployment ecs-svc/77 FAILED: tasks failed to start".into()
        } else {
            String::new()
        },
        service_events: vec![
            "(service nerava-backend) has started 1 tasks: (task 5b0e6f7a).".into(),
            "(service nerava-backend) deployment ecs-svc/77 deployment failed: tasks failed to start.".into(),
        ],
        stopped_tasks: if failed {
            vec!["5b0e6f7a: Essential container in task exited (exit code 1)".into()]
        } else {
            Vec::new()
        },
        suggestion: failed.then(|| "roll back to the revision before: otp-console repair --rollback-to 42 --yes".into()),
    }
}
