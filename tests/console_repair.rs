//! The console's repair flow end to end, without a terminal: the real [`Runner`] on the
//! embedded simulator, its events fed to [`App::update`] and the commands update returns
//! handed back to the runner — exactly what the event loop does, with keys as events. Each
//! runbook repair goes from the verdict through the chooser, the form or the rollback, the
//! plan and the typed service name, the rollout and the OTP start after the fix, and must end
//! at verdict `none` with the simulated backend really behaving differently.

#[path = "contract_support/console.rs"]
mod console;

use std::time::Duration;

use console::Console;
use crossterm::event::KeyCode;
use otp_console::app::{Modal, Stage};
use otp_console::diagnosis::FailureMode;

const NEW_TOKEN: &str = "4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a";
const VERIFY_SID: &str = "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9";

impl Console {
    /// Waits for the plan the runner makes.
    async fn plan(&mut self) -> otp_console::repair::Plan {
        self.until("the plan", Duration::from_secs(20), |app| {
            matches!(
                app.repair.as_ref().map(|f| &f.stage),
                Some(Stage::Confirm { .. })
            )
        })
        .await;
        self.app
            .repair
            .as_ref()
            .and_then(|f| f.plan.as_deref().cloned())
            .expect("a plan")
    }

    fn stage(&self) -> Option<&Stage> {
        self.app.repair.as_ref().map(|f| &f.stage)
    }

    /// From the plan on: confirm by the service name, follow the rollout, send an OTP start
    /// through the usual confirmation, and wait for the verification's verdict.
    async fn confirm_follow_and_verify(&mut self) -> FailureMode {
        let service = self.plan().await.service;
        self.typed(&service).await;
        self.key(KeyCode::Enter).await;
        self.until("the rollout to complete", Duration::from_secs(60), |app| {
            matches!(
                app.repair.as_ref().map(|f| &f.stage),
                Some(Stage::Verifying { .. } | Stage::Failed { .. })
            )
        })
        .await;
        assert!(
            matches!(self.stage(), Some(Stage::Verifying { .. })),
            "{:?}",
            self.stage()
        );
        assert!(
            !self.app.repair.as_ref().expect("flow").events.is_empty(),
            "the rollout was followed"
        );
        self.key(KeyCode::Char('o')).await;
        assert!(matches!(self.app.modal, Some(Modal::Confirm { .. })));
        self.key(KeyCode::Enter).await;
        self.until(
            "the OTP start after the fix",
            Duration::from_secs(60),
            |app| app.repair.as_ref().is_some_and(|f| f.verified.is_some()),
        )
        .await;
        // ECS and Twilio are read again after the rollout; the verdict settles on them.
        self.until("verdict none", Duration::from_secs(30), |app| {
            app.diagnosis.verdict.failure_mode == FailureMode::None
        })
        .await;
        // AWS read again now (`a`, CloudTrail too): the repair's own change is in it, and the
        // tasks the rollout replaced logged the old error while they drained; neither brings
        // the repaired failure mode back.
        self.key(KeyCode::Char('a')).await;
        self.holds("verdict none", Duration::from_secs(3), |app| {
            app.diagnosis.verdict.failure_mode == FailureMode::None
        })
        .await;
        self.app.diagnosis.verdict.failure_mode
    }
}

async fn verdict(console: &mut Console, mode: FailureMode) {
    console
        .until(
            &format!("verdict {}", mode.id()),
            Duration::from_secs(60),
            |app| app.diagnosis.verdict.failure_mode == mode && app.evidence.ecs.is_some(),
        )
        .await;
}

/// Sets the variables the form offers (flagged by the diagnosis) to `values`, in order.
async fn set_flagged(console: &mut Console, values: &[&str]) {
    console.key(KeyCode::Char('R')).await;
    console.key(KeyCode::Enter).await;
    let Some(Stage::Form { fields, .. }) = console.stage() else {
        panic!("not the form: {:?}", console.stage());
    };
    assert_eq!(fields.len(), values.len(), "flagged: {fields:?}");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            console.key(KeyCode::Tab).await;
            console.key(KeyCode::Tab).await;
        }
        console.typed(value).await;
    }
    console.key(KeyCode::Enter).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_env_vars_is_fixed_from_the_console_by_setting_the_variable() {
    let mut console = Console::demo("missing-env-vars").await;
    verdict(&mut console, FailureMode::MissingEnvVars).await;
    assert_eq!(
        console.app.flagged_vars(),
        ["TWILIO_VERIFY_SERVICE_SID"],
        "{:#?}",
        console
            .app
            .evidence
            .ecs
            .as_ref()
            .map(|r| r.as_ref().map(|s| &s.checks))
    );
    set_flagged(&mut console, &[VERIFY_SID]).await;
    assert_eq!(console.confirm_follow_and_verify().await, FailureMode::None);
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_credentials_are_fixed_from_the_console_by_a_new_token() {
    let mut console = Console::demo("invalid-credentials").await;
    verdict(&mut console, FailureMode::InvalidCredentials).await;
    assert_eq!(console.app.flagged_vars(), ["TWILIO_AUTH_TOKEN"]);
    set_flagged(&mut console, &[NEW_TOKEN]).await;
    assert_eq!(console.confirm_follow_and_verify().await, FailureMode::None);
    // The report the W key writes holds the repair, and not the token.
    let files = console.app.report_files();
    assert!(files[0].1.contains("repair planned"));
    assert!(files[0].1.contains("rollout completed"));
    for (_, text) in &files {
        assert!(!text.contains(NEW_TOKEN), "the new token is in the report");
    }
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn event_loop_blocking_is_fixed_from_the_console_by_rolling_back() {
    let mut console = Console::demo("event-loop-blocking").await;
    // The verdict needs an OTP start that hangs: send one, as the runbook's curl does.
    console.key(KeyCode::Char('o')).await;
    console.key(KeyCode::Enter).await;
    verdict(&mut console, FailureMode::EventLoopBlocked).await;
    console.key(KeyCode::Char('R')).await;
    console.key(KeyCode::Char('2')).await;
    let plan_source = {
        let plan = console.plan().await;
        assert!(
            plan.diff
                .iter()
                .any(|c| matches!(c, otp_console::probe::ecs::Change::Image { .. })),
            "the roll back changes the image: {:?}",
            plan.diff
        );
        plan.source.revision
    };
    assert_eq!(console.confirm_follow_and_verify().await, FailureMode::None);
    let applied = console
        .app
        .repair
        .as_ref()
        .and_then(|f| f.applied.as_ref())
        .expect("applied");
    assert!(
        applied.revision < plan_source,
        "rolled back to an older revision"
    );
    console.runner.shutdown().await;
}

/// The runbook's roll back while the database secret both revisions read is scheduled for
/// deletion (the event loop is the cause, the secret a risk): the plan on screen warns that
/// the tasks it starts would stop on the secret before the service's name is typed, legible
/// at 80×24.
#[tokio::test(flavor = "multi_thread")]
async fn the_roll_back_plan_warns_of_a_secret_the_new_tasks_could_not_read() {
    let mut console = Console::demo("event-loop-secret-deleted").await;
    console.key(KeyCode::Char('o')).await;
    console.key(KeyCode::Enter).await;
    verdict(&mut console, FailureMode::EventLoopBlocked).await;
    console.key(KeyCode::Char('R')).await;
    console.key(KeyCode::Char('2')).await;
    let plan = console.plan().await;
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].starts_with("DATABASE_URL ← "),
        "{:?}",
        plan.warnings
    );
    let backend = ratatui::backend::TestBackend::new(80, 24);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    terminal
        .draw(|frame| otp_console::ui::render(&console.app, frame))
        .expect("draws");
    let shown: String = terminal
        .backend()
        .buffer()
        .content()
        .chunks(80)
        .map(|row| {
            row.iter()
                .map(ratatui::buffer::Cell::symbol)
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(
        shown.contains("WARNING") && shown.contains("DATABASE_URL"),
        "{shown}"
    );
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_env_pane_compares_with_a_revision_the_user_picks() {
    let mut console = Console::demo("event-loop-blocking").await;
    console
        .until("the deployed revision", Duration::from_secs(20), |app| {
            matches!(&app.evidence.ecs, Some(Ok(_)))
        })
        .await;
    let (family, deployed) = match &console.app.evidence.ecs {
        Some(Ok(s)) => (s.deployed.family.clone(), s.deployed.revision),
        _ => unreachable!(),
    };
    let previous = deployed - 1;
    console.key(KeyCode::Char('p')).await;
    console.typed(&previous.to_string()).await;
    console.key(KeyCode::Enter).await;
    console
        .until("the picked revision", Duration::from_secs(10), |app| {
            app.compare.is_some()
        })
        .await;
    let picked = console.app.compare.clone().expect("picked");
    assert_eq!(
        (picked.family.as_str(), picked.revision),
        (family.as_str(), previous)
    );
    // One that does not exist is explained in the status line.
    console.key(KeyCode::Char('p')).await;
    console.key(KeyCode::Backspace).await;
    console.key(KeyCode::Backspace).await;
    console.typed("999").await;
    console.key(KeyCode::Enter).await;
    console
        .until("the error", Duration::from_secs(10), |app| {
            app.notice
                .as_ref()
                .is_some_and(|(n, _)| n.is_error && n.text.contains("Cannot compare"))
        })
        .await;
    assert_eq!(
        console.app.compare.as_ref().map(|c| c.revision),
        Some(previous)
    );
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_rollout_is_explained_and_the_roll_back_offered_repairs_it() {
    // Fast time: the follower calls a rollout stuck after 300 s × 0.02 = 6 s without progress.
    let mut console = Console::demo_at("stub-provider", 0.02).await;
    verdict(&mut console, FailureMode::StubProvider).await;
    // Redeploying the broken revision cannot come up: its tasks fail startup validation.
    console.key(KeyCode::Char('R')).await;
    console.key(KeyCode::Char('3')).await;
    let service = console.plan().await.service;
    console.typed(&service).await;
    console.key(KeyCode::Enter).await;
    console
        .until("the rollout to fail", Duration::from_secs(60), |app| {
            matches!(
                app.repair.as_ref().map(|f| &f.stage),
                Some(Stage::Failed { .. } | Stage::Verifying { .. })
            )
        })
        .await;
    let flow = console.app.repair.as_ref().expect("flow");
    let rollout = flow.rollout.as_ref().expect("the rollout");
    assert!(
        matches!(console.stage(), Some(Stage::Failed { .. })),
        "{:?}",
        console.stage()
    );
    assert!(
        !rollout.service_events.is_empty() || !rollout.stopped_tasks.is_empty(),
        "nothing explains the failure: {rollout:#?}"
    );
    // b: roll back to the revision before the deployed one, then verify as usual.
    console.key(KeyCode::Char('b')).await;
    let plan = console.plan().await;
    assert!(
        matches!(plan.action, otp_console::repair::Repair::RollbackTo(_)),
        "{:?}",
        plan.action
    );
    assert_eq!(console.confirm_follow_and_verify().await, FailureMode::None);
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_secret_is_fixed_from_the_console_by_putting_the_new_token_in_it() {
    let mut console = Console::demo("secret-rotated").await;
    verdict(&mut console, FailureMode::InvalidCredentials).await;
    assert_eq!(console.app.flagged_vars(), ["TWILIO_AUTH_TOKEN"]);
    set_flagged(&mut console, &[NEW_TOKEN]).await;
    let plan = console.plan().await;
    assert!(
        matches!(&plan.action, otp_console::repair::Repair::PutSecret(name, _) if name == "TWILIO_AUTH_TOKEN"),
        "{plan:?}"
    );
    assert_eq!(console.confirm_follow_and_verify().await, FailureMode::None);
    let files = console.app.report_files();
    for (_, text) in &files {
        assert!(!text.contains(NEW_TOKEN), "the new token in the report");
    }
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_scheduled_for_deletion_is_restored_from_the_console() {
    let mut console = Console::demo("secret-deleted").await;
    verdict(&mut console, FailureMode::SecretUnreadable).await;
    assert_eq!(
        console.app.secrets_scheduled_for_deletion(),
        ["TWILIO_AUTH_TOKEN"]
    );
    // The chooser starts on the restore (★), so Enter picks it.
    console.key(KeyCode::Char('R')).await;
    console.key(KeyCode::Enter).await;
    let plan = console.plan().await;
    assert!(
        matches!(&plan.action, otp_console::repair::Repair::RestoreSecret(name) if name == "TWILIO_AUTH_TOKEN"),
        "{plan:?}"
    );
    assert_eq!(console.confirm_follow_and_verify().await, FailureMode::None);
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_egress_rule_is_fixed_from_the_console_without_a_deployment() {
    let mut console = Console::demo("network-blocked").await;
    console
        .until(
            "network_blocked from the configuration",
            Duration::from_secs(60),
            |app| {
                app.diagnosis.verdict.failure_mode == FailureMode::NetworkBlocked
                    && app.security_group_blocks().is_some()
            },
        )
        .await;
    console.key(KeyCode::Char('R')).await;
    // The egress repair is the suggestion: Enter picks it.
    console.key(KeyCode::Enter).await;
    console
        .until("the egress plan", Duration::from_secs(20), |app| {
            app.repair
                .as_ref()
                .is_some_and(|f| f.egress.is_some() && matches!(f.stage, Stage::Confirm { .. }))
        })
        .await;
    let plan = console
        .app
        .repair
        .as_ref()
        .and_then(|f| f.egress.as_deref().cloned())
        .expect("an egress plan");
    assert_eq!(plan.group, "sg-0f1e2d3c4b5a69788", "{plan:?}");
    let service = console.app.names.service.clone();
    console.typed(&service).await;
    console.key(KeyCode::Enter).await;
    console
        .until("the rule added", Duration::from_secs(20), |app| {
            matches!(
                app.repair.as_ref().map(|f| &f.stage),
                Some(Stage::Verifying { .. } | Stage::Failed { .. })
            )
        })
        .await;
    let flow = console.app.repair.as_ref().expect("flow");
    assert!(
        matches!(flow.stage, Stage::Verifying { .. }),
        "{:?}",
        flow.stage
    );
    assert!(flow.egress_rules.as_ref().is_some_and(|r| !r.is_empty()));
    assert!(flow.events.is_empty(), "no rollout: nothing was deployed");
    // The path is read again: the security group now allows it.
    console
        .until("the path open", Duration::from_secs(20), |app| {
            app.evidence
                .network
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .is_some_and(|p| p.state == otp_console::network::HopState::Pass)
        })
        .await;
    console.key(KeyCode::Char('o')).await;
    assert!(matches!(console.app.modal, Some(Modal::Confirm { .. })));
    console.key(KeyCode::Enter).await;
    console
        .until(
            "the OTP start after the fix",
            Duration::from_secs(60),
            |app| app.repair.as_ref().is_some_and(|f| f.verified.is_some()),
        )
        .await;
    console
        .until("verdict none", Duration::from_secs(30), |app| {
            app.diagnosis.verdict.failure_mode == FailureMode::None
        })
        .await;
    let files = console.app.report_files();
    assert!(files[0].1.contains("repair planned: allow egress tcp 443"));
    console.runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_the_role_may_not_read_is_repointed_from_the_console() {
    let mut console = Console::demo("execution-role-denied").await;
    verdict(&mut console, FailureMode::SecretUnreadable).await;
    console
        .until(
            "the denied secret flagged",
            Duration::from_secs(30),
            |app| app.flagged_vars().contains(&"TWILIO_AUTH_TOKEN".to_owned()),
        )
        .await;
    // The secret's ARN as the value: the variable is pointed at it (valueFrom), not set.
    set_flagged(
        &mut console,
        &["arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o:auth_token::"],
    )
    .await;
    let plan = console.plan().await;
    assert!(
        plan.commands
            .iter()
            .any(|c| c.contains("register-task-definition")),
        "{:?}",
        plan.commands
    );
    assert_eq!(console.confirm_follow_and_verify().await, FailureMode::None);
    console.runner.shutdown().await;
}
