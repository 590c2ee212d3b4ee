//! Whole-screen tests: the three fixture scenarios drawn at 160×48 and 80×24 (insta
//! snapshots), every size from 1×1 to 200×60 without a panic, and severity colours.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::fixtures::app;
use super::render_to;
use crate::app::App;
use crate::diagnosis::FailureMode;

/// The screen as text, one line per row, trailing spaces trimmed.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    render_to(app, area, &mut buf);
    (0..height)
        .map(|y| {
            let row: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            row.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fixtures_carry_their_verdicts() {
    assert_eq!(
        app("healthy").diagnosis.verdict.failure_mode,
        FailureMode::None
    );
    assert_eq!(
        app("event-loop-blocking").diagnosis.verdict.failure_mode,
        FailureMode::EventLoopBlocked
    );
    assert_eq!(
        app("missing-env-vars").diagnosis.verdict.failure_mode,
        FailureMode::MissingEnvVars
    );
}

#[test]
fn never_panics_at_any_size() {
    let app = app("event-loop-blocking");
    // Every size, split over a few threads: 12,000 frames take a while in a debug build.
    std::thread::scope(|scope| {
        for part in 0..4u16 {
            let app = &app;
            scope.spawn(move || {
                for width in (1..=200u16).filter(|w| w % 4 == part) {
                    for height in 1..=60 {
                        let area = Rect::new(0, 0, width, height);
                        render_to(app, area, &mut Buffer::empty(area));
                    }
                }
            });
        }
    });
}

#[test]
fn never_panics_zoomed_or_with_a_modal() {
    let mut app = app("missing-env-vars");
    app.is_zoomed = true;
    for (width, height) in [
        (1, 1),
        (2, 2),
        (20, 5),
        (40, 12),
        (80, 24),
        (119, 35),
        (120, 36),
        (200, 60),
    ] {
        let _ = screen(&app, width, height);
    }
    app.is_zoomed = false;
    app.modal = Some(crate::app::Modal::Help);
    for width in (1..=200).step_by(9) {
        for height in (1..=60).step_by(5) {
            let _ = screen(&app, width, height);
        }
    }
}

#[test]
fn whole_screen_snapshots() {
    for scenario in ["healthy", "event-loop-blocking", "missing-env-vars"] {
        let app = app(scenario);
        for (width, height) in [(160, 48), (80, 24)] {
            insta::assert_snapshot!(
                format!("screen_{scenario}_{width}x{height}"),
                screen(&app, width, height)
            );
        }
    }
}

#[test]
fn severity_colours_on_the_whole_screen() {
    use ratatui::style::Color;
    let app = app("missing-env-vars");
    let area = Rect::new(0, 0, 160, 48);
    let mut buf = Buffer::empty(area);
    render_to(&app, area, &mut buf);
    let find = |needle: &str| {
        (0..area.height).find_map(|y| {
            let row: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
            row.find(needle)
                .map(|i| (row[..i].chars().count() as u16, y))
        })
    };
    let (x, y) = find("✗ AWS ECS").expect("the failed checklist line");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let (x, y) = find("✓ OTP_PROVIDER").expect("a passing checklist line");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    let (x, y) = find("verdict: missing_env_vars").expect("the verdict badge");
    assert_eq!(buf[(x, y)].bg, Color::Red);
}

#[test]
fn nothing_secret_on_any_screen() {
    for scenario in ["healthy", "event-loop-blocking", "missing-env-vars"] {
        let mut app = app(scenario);
        for pane in crate::app::Pane::ALL {
            app.focus = pane;
            for zoomed in [false, true] {
                app.is_zoomed = zoomed;
                let text = screen(&app, 200, 60);
                for secret in [
                    "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
                    "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
                    "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                    "7133056318",
                    "postgresql://",
                ] {
                    assert!(
                        !text.contains(secret),
                        "{scenario} {pane:?}: {secret} on screen"
                    );
                }
            }
        }
    }
}

#[test]
fn a_pane_in_error_says_when_it_is_tried_again() {
    let mut app = app("healthy");
    app.evidence.ecs = Some(Err(crate::probe::ProbeError {
        system: crate::probe::System::Ecs,
        kind: crate::probe::ErrorKind::Unreachable,
        code: None,
        message: "AWS DescribeServices: cannot reach the endpoint".into(),
    }));
    let shown = screen(&app, 160, 48);
    assert!(
        shown.contains("2 Env vars error · retried every 20 s"),
        "{shown}"
    );
}

#[test]
fn the_env_pane_shows_what_resolving_each_secret_found_never_the_value() {
    use crate::probe::ecs::SecretValues;
    use crate::probe::secrets::{fingerprint, Resolved, SecretState};
    let mut app = app("healthy");
    let now = app.now_ms;
    let resolved = |name: &str, from: &str, state: SecretState| Resolved {
        fingerprint: (state == SecretState::Ok)
            .then(|| fingerprint("postgresql://nerava:pw@db.internal:5432/nerava")),
        last_changed_ms: Some(now - 3 * 86_400_000),
        deleted_ms: (state == SecretState::ScheduledForDeletion).then_some(now - 40 * 60_000),
        ..secret_from(name, from, state)
    };
    let Some(Ok(snapshot)) = app.evidence.ecs.as_mut() else {
        panic!("the healthy fixture has an ECS snapshot");
    };
    snapshot.secrets = vec![
        resolved(
            "DATABASE_URL",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/database-AbCdEf",
            SecretState::Ok,
        ),
        resolved(
            "JWT_SECRET",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/jwt-GhIjKl",
            SecretState::ScheduledForDeletion,
        ),
    ];
    snapshot.deployed.execution_role =
        Some("arn:aws:iam::123456789012:role/nerava-backend-execution".into());
    snapshot.tasks.push(crate::probe::ecs::Task {
        id: "dfc4b3fdfa9cf8f86014a65909fca426".into(),
        revision: Some(42),
        last_status: "STOPPED".into(),
        health: String::new(),
        started_ms: None,
        stopped_ms: Some(now - 26_000),
        stopped_reason: Some("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/jwt-GhIjKl from secrets manager: InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion.".into()),
        stop_code: Some("TaskFailedToStart".into()),
        exit_code: None,
    });
    snapshot.secret_values = SecretValues(vec![(
        "DATABASE_URL".into(),
        "postgresql://nerava:pw@db.internal:5432/nerava".into(),
    )]);
    app.focus = crate::app::Pane::Env;
    app.is_zoomed = true;
    let text = screen(&app, 160, 48);
    let fp = fingerprint("postgresql://nerava:pw@db.internal:5432/nerava");
    assert!(
        text.contains(&format!("└ ok · fp {fp} · changed 3 d ago")),
        "{text}"
    );
    assert!(
        text.contains("└ scheduled for deletion 40 min ago ("),
        "{text}"
    );
    assert!(
        text.contains("← secretsmanager:nerava/prod/jwt-GhIjKl"),
        "{text}"
    );
    assert!(
        text.contains("secrets read by nerava-backend-execution"),
        "{text}"
    );
    // A secrets stop reason keeps its cause, at the end, when it is cut.
    assert!(
        text.contains("stopped 26 s ago: ResourceInitializationError …")
            && text.contains("because it was marked for deletion."),
        "{text}"
    );
    for size in [(160, 48), (80, 24)] {
        app.is_zoomed = false;
        let text = screen(&app, size.0, size.1);
        assert!(!text.contains("postgresql://"), "{text}");
        assert!(!text.contains("db.internal"), "{text}");
    }
}

#[test]
fn the_env_pane_marks_a_secret_the_execution_role_may_not_read_and_shows_rotation_and_stage() {
    use crate::probe::secrets::{Resolved, RoleAccess, SecretState};
    let mut app = app("healthy");
    let now = app.now_ms;
    let resolved = |name: &str, arn: &str, access: RoleAccess| Resolved {
        fingerprint: Some("106cc468".into()),
        last_changed_ms: Some(now - 30 * 60_000),
        version: Some("5e1d0c2a-7b3f".into()),
        last_rotated_ms: Some(now - 20 * 3_600_000),
        stages: vec!["AWSCURRENT".into()],
        role_access: Some(access),
        ..secret_from(name, arn, SecretState::Ok)
    };
    let Some(Ok(snapshot)) = app.evidence.ecs.as_mut() else {
        panic!("the healthy fixture has an ECS snapshot");
    };
    snapshot.secrets = vec![
        resolved(
            "DATABASE_URL",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/database-AbCdEf",
            RoleAccess::Allowed {
                policy: Some("nerava-prod-secrets".into()),
            },
        ),
        resolved(
            "JWT_SECRET",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/twilio/jwt-GhIjKl",
            RoleAccess::Denied {
                action: "secretsmanager:GetSecretValue".into(),
                iam_decision: "implicitDeny".into(),
                policy: None,
            },
        ),
    ];
    app.focus = crate::app::Pane::Env;
    app.is_zoomed = true;
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("└ ok · role ✓ · fp 106cc468 · changed 30 min ago · rotated 20 h ago · AWSCURRENT v5e1d0c2…"),
        "{text}"
    );
    assert!(
        text.contains("└ role may NOT read it (implicitDeny) · fp 106cc468"),
        "{text}"
    );
}

/// A Secrets Manager secret of the env pane's table, read from `arn`, with nothing else known.
fn secret_from(
    name: &str,
    arn: &str,
    state: crate::probe::secrets::SecretState,
) -> crate::probe::secrets::Resolved {
    crate::probe::secrets::Resolved {
        name: name.into(),
        value_from: arn.into(),
        store: crate::probe::secrets::Store::SecretsManager,
        source: format!(
            "secretsmanager:{}",
            arn.rsplit(":secret:").next().unwrap_or(arn)
        ),
        arn: Some(arn.into()),
        state,
        fingerprint: None,
        last_changed_ms: None,
        deleted_ms: None,
        version: None,
        detail: None,
        last_rotated_ms: None,
        kms_key_id: None,
        stages: Vec::new(),
        role_access: None,
    }
}
