//! The repair flow through [`App::update`]: each repair from the chooser to its command, the
//! typed confirmation, the rollout's reports, the verification after the fix, the roll back a
//! failed rollout offers, hiding and showing the window, and the report key.

use crossterm::event::KeyCode;

use super::*;
use crate::app::tests::{ch, key, typed};
use crate::event::Event;
use crate::probe::http::{Class, Sample};
use crate::probe::Observation;
use crate::repair::RolloutState;
use crate::ui::fixtures::{self, NOW};
use crate::ui::tests::screen;

fn stage(app: &App) -> &Stage {
    &app.repair.as_ref().expect("a repair flow").stage
}

const NEW_SID: &str = "VA99887766554433221100ffeeddccbbaa";

/// From the chooser to the confirmation of a plan to set the missing SID.
fn planned_set(app: &mut App) -> Box<Plan> {
    app.update(ch('R'));
    assert!(matches!(app.modal, Some(Modal::Repair)));
    assert!(
        app.update(key(KeyCode::Enter)).is_empty(),
        "the form comes first"
    );
    typed(app, NEW_SID);
    let commands = app.update(key(KeyCode::Enter));
    let repair = Repair::Set(vec![("TWILIO_VERIFY_SERVICE_SID".into(), NEW_SID.into())]);
    assert_eq!(commands, vec![Command::PlanRepair(repair.clone())]);
    assert!(matches!(stage(app), Stage::Planning { .. }));
    let plan = Box::new(fixtures::plan(&repair));
    app.update(Event::Repair(RepairUpdate::Planned(Ok(plan.clone()))));
    assert!(matches!(stage(app), Stage::Confirm { .. }));
    plan
}

fn applied() -> Applied {
    Applied {
        task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/nerava-backend:43"
            .into(),
        revision: 43,
        deployment_id: "ecs-svc/77".into(),
        deployment_created_ms: NOW + 1_000,
    }
}

#[test]
fn r_opens_the_chooser_and_esc_closes_it() {
    let mut app = fixtures::app("missing-env-vars");
    assert!(app.update(ch('R')).is_empty());
    assert!(matches!(app.modal, Some(Modal::Repair)));
    assert!(matches!(stage(&app), Stage::Choose { selected: 0 }));
    app.update(ch('j'));
    assert!(matches!(stage(&app), Stage::Choose { selected: 1 }));
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    assert!(
        matches!(stage(&app), Stage::Choose { selected: 4 }),
        "wraps"
    );
    app.update(key(KeyCode::Esc));
    assert!(app.modal.is_none() && app.repair.is_none());
}

#[test]
fn the_form_starts_with_the_flagged_variables() {
    let app = fixtures::app("missing-env-vars");
    assert_eq!(app.flagged_vars(), vec!["TWILIO_VERIFY_SERVICE_SID"]);
    let mut app = fixtures::app("missing-env-vars");
    app.update(ch('R'));
    app.update(key(KeyCode::Enter));
    let Stage::Form { fields, cell, .. } = stage(&app) else {
        panic!("not the form: {:?}", stage(&app));
    };
    assert_eq!(fields[0].name.value(), "TWILIO_VERIFY_SERVICE_SID");
    assert_eq!(*cell, 1, "the cursor is on the value");
}

#[test]
fn set_env_plans_confirms_by_service_name_and_applies() {
    let mut app = fixtures::app("missing-env-vars");
    let plan = planned_set(&mut app);
    // The value typed is never drawn, not in the form and not in the plan.
    let text = screen(&app, 160, 48);
    assert!(text.contains("Type the service name"), "{text}");
    assert!(text.contains("aws ecs register-task-definition"), "{text}");
    assert!(!text.contains(NEW_SID), "{text}");
    // A wrong name is explained and applies nothing.
    typed(&mut app, "nerava");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let Stage::Confirm { error, .. } = stage(&app) else {
        panic!("left the confirmation");
    };
    assert!(error
        .as_deref()
        .is_some_and(|e| e.contains("nerava-backend")));
    typed(&mut app, "-backend");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::ApplyRepair(plan)]
    );
    assert!(matches!(stage(&app), Stage::Applying));
}

#[test]
fn the_typed_value_is_masked_in_the_form() {
    let mut app = fixtures::app("missing-env-vars");
    app.update(ch('R'));
    app.update(key(KeyCode::Enter));
    typed(&mut app, NEW_SID);
    let text = screen(&app, 160, 48);
    assert!(text.contains("TWILIO_VERIFY_SERVICE_SID"), "{text}");
    assert!(text.contains("(34 characters)"), "{text}");
    assert!(
        !text.contains(NEW_SID) && !text.contains("VA998877"),
        "{text}"
    );
}

#[test]
fn a_bad_form_is_explained_and_keeps_what_was_typed() {
    let mut app = fixtures::app("missing-env-vars");
    app.update(ch('R'));
    app.update(key(KeyCode::Enter));
    // No value: nothing planned.
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let Stage::Form { error, .. } = stage(&app) else {
        panic!("left the form");
    };
    assert!(error.as_deref().is_some_and(|e| e.contains("type a value")));
    // A new row past the last value, with a bad name.
    typed(&mut app, "x");
    app.update(key(KeyCode::Tab));
    typed(&mut app, "1BAD");
    app.update(key(KeyCode::Tab));
    typed(&mut app, "v");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let Stage::Form { fields, error, .. } = stage(&app) else {
        panic!("left the form");
    };
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[1].name.value(), "1BAD");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("not a variable name")),
        "{error:?}"
    );
    // Esc goes back to the chooser.
    app.update(key(KeyCode::Esc));
    assert!(matches!(stage(&app), Stage::Choose { .. }));
}

#[test]
fn rollback_and_redeploy_plan_at_once() {
    let mut app = fixtures::app("event-loop-blocking");
    app.update(ch('R'));
    assert_eq!(
        app.update(ch('2')),
        vec![Command::PlanRepair(Repair::RollbackTo(
            RevisionRef::Previous
        ))]
    );
    // The chooser starts on the repair the verdict points at: the roll back here.
    let mut app = fixtures::app("event-loop-blocking");
    app.update(ch('R'));
    assert!(matches!(stage(&app), Stage::Choose { selected: 1 }));
    app.update(key(KeyCode::Down));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::PlanRepair(Repair::Redeploy)]
    );
}

#[test]
fn cancelling_the_plan_changes_nothing() {
    let mut app = fixtures::app("missing-env-vars");
    planned_set(&mut app);
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(app.repair.is_none() && app.modal.is_none());
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|(n, _)| n.text.contains("nothing was changed")));
}

#[test]
fn a_plan_that_cannot_be_made_is_explained() {
    let mut app = fixtures::app("missing-env-vars");
    app.update(ch('R'));
    app.update(ch('3'));
    app.update(Event::Repair(RepairUpdate::Planned(Err(
        "ECS DescribeServices: ExpiredToken: renew your AWS credentials (aws sso login)".into(),
    ))));
    assert!(matches!(stage(&app), Stage::Failed { .. }));
    // Nothing changed: a signal now has nothing to say about a rollout.
    assert_eq!(crate::event_loop::rollout_goes_on(&app), None);
    // No roll back is offered when nothing was applied.
    assert!(app.update(ch('b')).is_empty());
    assert!(screen(&app, 160, 48).contains("ExpiredToken"));
}

#[test]
fn the_rollout_is_followed_then_verified_after_the_fix() {
    let mut app = fixtures::app("missing-env-vars");
    let plan = planned_set(&mut app);
    typed(&mut app, "nerava-backend");
    app.update(key(KeyCode::Enter));
    app.update(Event::Repair(RepairUpdate::Applied(Ok(applied()))));
    assert!(matches!(stage(&app), Stage::Following));
    // Stopped now (SIGTERM), the console says the rollout goes on and how to follow it.
    let note = crate::event_loop::rollout_goes_on(&app).expect("a note while following");
    assert!(
        note.contains("goes on in ECS")
            && note.contains(
                "aws ecs wait services-stable --cluster nerava-cluster --services nerava-backend"
            ),
        "{note}"
    );
    for event in fixtures::rollout(RolloutState::Completed).events {
        app.update(Event::Repair(RepairUpdate::Rollout(event)));
    }
    let text = screen(&app, 160, 48);
    assert!(text.contains("running 0/1"), "{text}");
    assert!(text.contains("has started 1 tasks"), "{text}");
    // Hidden, the rollout stays in the header; R shows it again.
    app.update(key(KeyCode::Esc));
    assert!(app.modal.is_none());
    assert!(screen(&app, 160, 48).contains("repair: rollout 0/1"));
    app.update(ch('R'));
    assert!(matches!(app.modal, Some(Modal::Repair)));
    assert!(matches!(stage(&app), Stage::Following));

    let commands = app.update(Event::Repair(RepairUpdate::Finished(Box::new(
        fixtures::rollout(RolloutState::Completed),
    ))));
    assert_eq!(
        commands,
        vec![Command::ProbeAll],
        "re-probe the new deployment"
    );
    assert!(matches!(stage(&app), Stage::Verifying { .. }));
    assert!(
        app.evidence.samples.is_empty(),
        "the failing samples from before the fix are set aside"
    );
    // The OTP start behind the usual confirmation, then back to the repair window.
    app.update(ch('o'));
    assert!(matches!(app.modal, Some(Modal::Confirm { .. })));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::OtpStart {
            phone: "+17133056318".into()
        }]
    );
    assert!(matches!(app.modal, Some(Modal::Repair)));
    app.update(Event::Observed(Observation::Http(Sample {
        endpoint: Endpoint::OtpStart,
        id: 900,
        started_ms: NOW + 20_000,
        latency_ms: 700,
        status: Some(200),
        class: Class::Ok,
        summary: "otp_sent: true".into(),
        during_otp: false,
        otp_started_ms: None,
        phone_last4: None,
    })));
    let flow = app.repair.as_ref().expect("flow");
    assert!(flow.verified.is_some());
    assert!(app
        .timeline
        .entries()
        .iter()
        .any(|e| e.kind == crate::report::EntryKind::Verification));
    let text = screen(&app, 160, 48);
    assert!(text.contains("OTP start"), "{text}");
    assert!(text.contains("otp_sent: true"), "{text}");
    // ECS is read again: :43 is deployed, its diff is the repair's own.
    let Some(Ok(before)) = app.evidence.ecs.clone() else {
        panic!("no snapshot");
    };
    let mut after = before.clone();
    after.previous = Some(before.deployed.clone());
    after.deployed.revision = 43;
    after.diff = Vec::new();
    app.update(Event::Observed(Observation::Ecs {
        at_ms: NOW + 21_000,
        result: Ok(after),
    }));
    // The report now carries the plan, what was applied and the rollout.
    let files = app.report_files();
    let markdown = &files[0].1;
    assert!(markdown.contains("repair planned"), "{markdown}");
    assert!(markdown.contains("applied:"), "{markdown}");
    assert!(!markdown.contains(NEW_SID), "the value set is masked");
    assert!(
        markdown.contains("What changed: nerava-backend:42 against nerava-backend:41"),
        "the incident's diff, not the repair's: {markdown}"
    );
    drop(plan);
}

#[test]
fn a_failed_rollout_offers_the_roll_back() {
    let mut app = fixtures::app("missing-env-vars");
    let plan = planned_set(&mut app);
    typed(&mut app, "nerava-backend");
    app.update(key(KeyCode::Enter));
    app.update(Event::Repair(RepairUpdate::Applied(Ok(applied()))));
    assert!(app
        .update(Event::Repair(RepairUpdate::Finished(Box::new(
            fixtures::rollout(RolloutState::Failed)
        ))))
        .is_empty());
    let text = screen(&app, 160, 48);
    assert!(text.contains("tasks failed to start"), "{text}");
    assert!(text.contains("exit code 1"), "{text}");
    assert!(text.contains("b roll back"), "{text}");
    // The report can be written from the window, which stays open.
    assert!(matches!(
        app.update(ch('W')).as_slice(),
        [Command::WriteReport(_)]
    ));
    assert!(matches!(app.modal, Some(Modal::Repair)));
    assert_eq!(
        app.update(ch('b')),
        vec![Command::PlanRepair(Repair::RollbackTo(
            RevisionRef::Number(plan.source.revision)
        ))]
    );
    assert!(matches!(stage(&app), Stage::Planning { .. }));
}

#[test]
fn a_new_target_drops_the_repair() {
    let mut app = fixtures::app("missing-env-vars");
    planned_set(&mut app);
    app.update(Event::Target(crate::event::Target {
        demo_scenario: Some("healthy".into()),
        names: crate::diagnosis::Names {
            api_base: "http://127.0.0.1:1".into(),
            ..app.names.clone()
        },
        test_phone: "+17133056318".into(),
        secrets: Vec::new(),
    }));
    assert!(app.repair.is_none() && app.modal.is_none());
}

#[test]
fn w_writes_the_report_as_markdown_and_json_without_secrets() {
    let mut app = fixtures::app("event-loop-blocking");
    app.update(Event::Target(crate::event::Target {
        demo_scenario: Some("event-loop-blocking".into()),
        names: crate::diagnosis::Names {
            api_base: "http://127.0.0.1:8080".into(),
            ..app.names.clone()
        },
        test_phone: "+17133056318".into(),
        secrets: vec!["9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c".into()],
    }));
    app.report_path = Some("/tmp/incident".into());
    let commands = app.update(ch('W'));
    let [Command::WriteReport(files)] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(names, ["/tmp/incident.md", "/tmp/incident.json"]);
    for (_, text) in files {
        assert!(text.contains("event-loop-blocking"));
        assert!(!text.contains("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"));
        assert!(!text.contains("7133056318"));
    }
    serde_json::from_str::<serde_json::Value>(&files[1].1).expect("the JSON parses");
    // Without --report: a timestamped name in the current directory.
    app.report_path = None;
    let commands = app.update(ch('W'));
    let Some(Command::WriteReport(files)) = commands.first() else {
        panic!("no report: {commands:?}");
    };
    assert!(files[0]
        .0
        .display()
        .to_string()
        .starts_with("otp-console-report-2026"));
}

/// The repair window at each stage, as the user sees it.
fn stages() -> Vec<(&'static str, App)> {
    let mut out = Vec::new();
    let mut app = fixtures::app("missing-env-vars");
    app.update(ch('R'));
    out.push(("choose", app.clone()));
    app.update(key(KeyCode::Enter));
    typed(&mut app, "VA99");
    out.push(("form", app.clone()));
    let mut app = fixtures::app("missing-env-vars");
    planned_set(&mut app);
    typed(&mut app, "nerava-backend");
    out.push(("plan", app.clone()));
    app.update(key(KeyCode::Enter));
    app.update(Event::Repair(RepairUpdate::Applied(Ok(applied()))));
    for event in fixtures::rollout(RolloutState::Completed).events {
        app.update(Event::Repair(RepairUpdate::Rollout(event)));
    }
    app.update(Event::Tick(NOW + 9_000));
    out.push(("rollout", app.clone()));
    let mut failed = app.clone();
    app.update(Event::Repair(RepairUpdate::Finished(Box::new(
        fixtures::rollout(RolloutState::Completed),
    ))));
    out.push(("verify", app));
    failed.update(Event::Repair(RepairUpdate::Finished(Box::new(
        fixtures::rollout(RolloutState::Failed),
    ))));
    out.push(("failed", failed));
    out
}

#[test]
fn repair_window_snapshots() {
    for (name, app) in stages() {
        for (width, height) in [(160, 48), (80, 24)] {
            insta::assert_snapshot!(
                format!("repair_{name}_{width}x{height}"),
                screen(&app, width, height)
            );
        }
    }
}

#[test]
fn the_repair_window_never_panics_at_any_size() {
    for (_, app) in stages() {
        for width in (1..=200).step_by(7) {
            for height in (1..=60).step_by(4) {
                let _ = screen(&app, width, height);
            }
        }
    }
}

#[test]
fn p_compares_the_env_vars_with_a_picked_revision() {
    let mut app = fixtures::app("event-loop-blocking");
    app.update(ch('p'));
    assert!(matches!(app.modal, Some(Modal::Compare { .. })));
    typed(&mut app, "x");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let Some(Modal::Compare { error, .. }) = &app.modal else {
        panic!("the modal closed on a bad number");
    };
    assert!(error
        .as_deref()
        .is_some_and(|e| e.contains("revision number")));
    app.update(key(KeyCode::Backspace));
    typed(&mut app, "40");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::CompareWith("nerava-backend:40".into())]
    );
    // The runner's answer: revision 40 had the same image as today's deployed one.
    let Some(Ok(snapshot)) = &app.evidence.ecs else {
        panic!("no snapshot");
    };
    let mut picked = snapshot.deployed.clone();
    picked.revision = 40;
    picked.environment.retain(|v| v.name != "LOG_LEVEL");
    app.update(Event::Compared(Ok(Box::new(picked))));
    app.focus = crate::app::Pane::Env;
    app.is_zoomed = true;
    let text = screen(&app, 160, 48);
    assert!(text.contains("Changed since :40 (picked, p)"), "{text}");
    assert!(text.contains("+ LOG_LEVEL WARNING"), "{text}");
    assert!(!text.contains("~ image"), "{text}");
    // An empty number goes back to the previous revision.
    app.update(ch('p'));
    for _ in 0..2 {
        app.update(key(KeyCode::Backspace));
    }
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert!(app.compare.is_none());
    assert!(screen(&app, 160, 48).contains("Changed since :41"));
    // A revision that is not there is explained.
    app.update(Event::Compared(Err(
        "ECS DescribeTaskDefinition: ClientException: Unable to describe task definition.".into(),
    )));
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|(n, _)| n.is_error && n.text.contains("Cannot compare")));
}

#[test]
fn a_new_repair_from_a_finished_window_starts_on_the_suggestion() {
    let mut app = fixtures::app("event-loop-blocking");
    app.update(ch('R'));
    app.update(ch('3'));
    app.update(Event::Repair(RepairUpdate::Planned(Err("no".into()))));
    assert!(matches!(stage(&app), Stage::Failed { .. }));
    app.update(ch('n'));
    assert!(
        matches!(stage(&app), Stage::Choose { selected: 1 }),
        "{:?}",
        stage(&app)
    );
}

#[test]
fn the_timeline_is_stamped_when_an_observation_was_made() {
    let mut app = fixtures::app("healthy");
    let later = NOW + 200;
    app.update(Event::Observed(Observation::Http(Sample {
        endpoint: Endpoint::DevLogin,
        id: 950,
        started_ms: later - 5,
        latency_ms: 5,
        status: Some(200),
        class: Class::Ok,
        summary: "ok".into(),
        during_otp: false,
        otp_started_ms: None,
        phone_last4: None,
    })));
    let last = app.timeline.entries().last().expect("an entry");
    assert_eq!(
        last.at_ms, later,
        "stamped at the answer, not at the last tick"
    );
}

#[test]
fn restoring_a_secret_needs_one_scheduled_for_deletion() {
    let mut app = fixtures::app("healthy");
    app.update(ch('R'));
    assert!(app.update(ch('4')).is_empty(), "nothing planned");
    let Stage::Failed { error } = stage(&app) else {
        panic!("{:?}", stage(&app));
    };
    assert!(error.contains("nothing to restore"), "{error}");
}

/// The healthy fixture with the path of `network-blocked`'s VPC (its security group allows
/// only tcp 5432), as the probe reports it.
fn network_blocked() -> App {
    let mut app = fixtures::app("healthy");
    let network = crate::sim::scenario::load("network-blocked")
        .expect("scenario")
        .network
        .to_config();
    let path = crate::network::evaluate(&network, &["0.0.0.0/0".to_owned()]);
    app.update(Event::Observed(Observation::Network {
        at_ms: NOW,
        result: Ok(Box::new(path.clone())),
    }));
    app
}

#[test]
fn allow_egress_plans_from_the_path_confirms_by_service_name_and_verifies_without_a_rollout() {
    let mut app = network_blocked();
    let hop = app.security_group_blocks().expect("the SG blocks").clone();
    assert!(
        hop.detail.contains("egress allows only tcp 5432"),
        "{hop:?}"
    );
    app.update(ch('R'));
    let screen_text = screen(&app, 160, 48);
    assert!(
        screen_text.contains("Allow HTTPS egress (security group)")
            && screen_text.contains("egress allows only tcp 5432"),
        "{screen_text}"
    );
    // The fifth choice, by its number.
    let commands = app.update(ch('5'));
    assert_eq!(commands, vec![Command::PlanEgress]);
    assert!(matches!(stage(&app), Stage::Planning { .. }));
    let network = crate::sim::scenario::load("network-blocked")
        .expect("scenario")
        .network
        .to_config();
    let path = crate::network::evaluate(&network, &["0.0.0.0/0".to_owned()]);
    let plan = crate::repair::egress::plan(&path, None, "0.0.0.0/0").expect("a plan");
    app.update(Event::Repair(RepairUpdate::EgressPlanned(Ok(Box::new(
        plan.clone(),
    )))));
    assert!(matches!(stage(&app), Stage::Confirm { .. }));
    let shown = screen(&app, 160, 48);
    assert!(
        shown.contains(&format!("allow outbound HTTPS on {}", plan.group))
            && shown.contains("egress tcp 443 to 0.0.0.0/0")
            && shown.contains("aws ec2 authorize-security-group-egress")
            && shown.contains(&format!("Type the service name {}", app.names.service)),
        "{shown}"
    );
    // A wrong name applies nothing and says what to type.
    typed(&mut app, "nerava");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert!(screen(&app, 160, 48).contains("exactly to apply"));
    typed(&mut app, "-backend");
    let commands = app.update(key(KeyCode::Enter));
    assert_eq!(commands, vec![Command::ApplyEgress(Box::new(plan.clone()))]);
    assert!(matches!(stage(&app), Stage::Applying));
    assert!(screen(&app, 160, 48).contains("AuthorizeSecurityGroupEgress"));

    let commands = app.update(Event::Repair(RepairUpdate::EgressApplied(Ok(vec![
        "sgr-0123456789abcdef0".into(),
    ]))));
    assert_eq!(
        commands,
        vec![Command::ProbeAll],
        "the checks after the fix"
    );
    assert!(matches!(stage(&app), Stage::Verifying { .. }));
    let shown = screen(&app, 160, 48);
    assert!(
        shown.contains(&format!(
            "Egress tcp 443 to 0.0.0.0/0 added on {} (sgr-0123456789abcdef0)",
            plan.group
        )),
        "{shown}"
    );
    let report = app.report_files();
    assert!(report[0].1.contains("repair planned: allow egress tcp 443"));
    assert!(report[0].1.contains("sgr-0123456789abcdef0"));
}

#[test]
fn network_blocked_by_a_security_group_suggests_the_egress_repair() {
    let mut app = network_blocked();
    // The verdict comes from the configuration alone.
    assert_eq!(
        app.diagnosis.verdict.failure_mode,
        FailureMode::NetworkBlocked
    );
    let suggested = app.suggested_choice();
    assert_eq!(Choice::ALL[suggested], Choice::AllowEgress);
    app.update(ch('R'));
    assert!(matches!(stage(&app), Stage::Choose { selected } if *selected == suggested));
    // A plan that cannot be made (the path unreadable) is explained, nothing applied.
    app.update(key(KeyCode::Enter));
    app.update(Event::Repair(RepairUpdate::EgressPlanned(Err(
        "AWS: UnauthorizedOperation — not allowed to call ec2:DescribeSecurityGroups".into(),
    ))));
    assert!(matches!(stage(&app), Stage::Failed { .. }));
    assert!(screen(&app, 160, 48).contains("UnauthorizedOperation"));
}

/// The console on an App Runner service (#24): a fixture whose names say so.
fn on_apprunner() -> App {
    let mut app = fixtures::app("missing-env-vars");
    app.names.platform = crate::config::Platform::AppRunner;
    app
}

const SERVICE_ARN: &str =
    "arn:aws:apprunner:us-east-1:123456789012:service/nerava-backend/8fe1e10304f84fd2b0df550fe98a71fa";

fn apprunner_plan(vars: Vec<(String, String)>) -> crate::repair::apprunner::Plan {
    use crate::repair::apprunner::{Action, Plan};
    Plan {
        service_arn: SERVICE_ARN.into(),
        status: "RUNNING".into(),
        diff: vars
            .iter()
            .map(|(n, v)| crate::probe::ecs::Change::Added {
                name: n.clone(),
                display: crate::redact::env_value(n, v),
            })
            .collect(),
        commands: vec![format!(
            "aws apprunner update-service --service-arn {SERVICE_ARN} --source-configuration file://source-configuration.json"
        )],
        action: Action::Update(vars),
        warnings: Vec::new(),
    }
}

#[test]
fn on_apprunner_the_window_sets_variables_follows_the_operation_and_verifies() {
    let mut app = on_apprunner();
    app.update(ch('R'));
    let shown = screen(&app, 160, 48);
    assert!(
        shown.contains("ECS only: not on App Runner") && shown.contains("Start a deployment"),
        "{shown}"
    );
    // The form says what changes, then the plan comes from App Runner's repairer.
    app.update(key(KeyCode::Enter));
    assert!(screen(&app, 160, 48).contains("UpdateService of nerava-backend"));
    typed(&mut app, NEW_SID);
    let commands = app.update(key(KeyCode::Enter));
    let vars = vec![("TWILIO_VERIFY_SERVICE_SID".to_owned(), NEW_SID.to_owned())];
    assert_eq!(
        commands,
        vec![Command::PlanRepair(Repair::Set(vars.clone()))]
    );
    let plan = Box::new(apprunner_plan(vars));
    app.update(Event::Repair(RepairUpdate::AppRunnerPlanned(Ok(
        plan.clone()
    ))));
    let shown = screen(&app, 160, 48);
    assert!(
        shown.contains("UpdateService nerava-backend: set TWILIO_VERIFY_SERVICE_SID")
            && shown.contains("RuntimeEnvironmentVariables")
            && shown.contains("aws apprunner update-service")
            && shown.contains("Type the service name nerava-backend")
            && !shown.contains(NEW_SID),
        "{shown}"
    );
    typed(&mut app, "nerava-backend");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::ApplyAppRunner(plan)]
    );
    assert!(screen(&app, 160, 48).contains("UpdateService…"));

    // The operation, followed: each status in the window and the header.
    app.update(Event::Repair(RepairUpdate::OperationStarted(Ok(
        "op-1".into()
    ))));
    app.update(Event::Repair(RepairUpdate::Operation("IN_PROGRESS".into())));
    assert!(matches!(stage(&app), Stage::Following));
    assert_eq!(
        app.repair.as_ref().map(RepairFlow::status).as_deref(),
        Some("repair: operation IN_PROGRESS…")
    );
    assert!(screen(&app, 160, 48).contains("UpdateService · operation op-1"));
    app.update(Event::Repair(RepairUpdate::Operation("SUCCEEDED".into())));
    let commands = app.update(Event::Repair(RepairUpdate::OperationEnded(Ok(
        "SUCCEEDED".into()
    ))));
    assert_eq!(
        commands,
        vec![Command::ProbeAll],
        "the checks after the fix"
    );
    assert!(matches!(stage(&app), Stage::Verifying { .. }));
    let shown = screen(&app, 160, 48);
    assert!(
        shown.contains("✓ UpdateService operation op-1 SUCCEEDED"),
        "{shown}"
    );
    let report = &app.report_files()[0].1;
    assert!(
        report.contains("repair planned: UpdateService nerava-backend")
            && report.contains("applied: App Runner UpdateService, operation op-1")
            && report.contains("operation op-1 SUCCEEDED")
            && !report.contains(NEW_SID),
        "{report}"
    );
}

#[test]
fn on_apprunner_a_failed_operation_and_an_ecs_only_repair_are_explained() {
    let mut app = on_apprunner();
    // The verdict's suggestion is one App Runner can make.
    assert!(Choice::ALL[app.suggested_choice()].runs_on(crate::config::Platform::AppRunner));
    app.update(ch('R'));
    assert!(app.update(ch('2')).is_empty(), "no roll back on App Runner");
    assert!(matches!(stage(&app), Stage::Failed { .. }));
    assert!(screen(&app, 160, 48).contains("On App Runner the console sets variables"));

    app.update(ch('n'));
    let commands = app.update(ch('3'));
    assert_eq!(commands, vec![Command::PlanRepair(Repair::Redeploy)]);
    let mut plan = apprunner_plan(Vec::new());
    plan.action = crate::repair::apprunner::Action::StartDeployment;
    app.update(Event::Repair(RepairUpdate::AppRunnerPlanned(Ok(Box::new(
        plan,
    )))));
    typed(&mut app, "nerava-backend");
    app.update(key(KeyCode::Enter));
    app.update(Event::Repair(RepairUpdate::OperationStarted(Ok(
        "op-2".into()
    ))));
    let commands = app.update(Event::Repair(RepairUpdate::OperationEnded(Ok(
        "ROLLBACK_SUCCEEDED".into(),
    ))));
    assert!(commands.is_empty());
    let Stage::Failed { error } = stage(&app) else {
        panic!("not failed: {:?}", stage(&app));
    };
    assert!(
        error.contains("operation op-2 ended ROLLBACK_SUCCEEDED"),
        "{error}"
    );
}
