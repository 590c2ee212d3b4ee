//! `otp-console repair`: the scripting form of the repair flow, in the spirit of ecs-deploy.
//! Prints the plan (masked diff, equivalent aws CLI commands); only with `--yes` applies it,
//! follows the rollout with a line per change and runs the verification, printing the check
//! table. `--json` prints one object `{plan, applied, rollout, verification}` (verification in
//! `check --json`'s shape) and sends the progress lines to stderr. Exit status: 0 when the
//! verification's verdict is none (or a plan was only printed), 1 when the rollout failed or
//! the verdict is a failure mode, 2 when the repair could not run (one line on stderr), 3 when
//! the verification is inconclusive.
//! `--report FILE` writes the incident report: the plan, what was applied, each rollout event
//! and the verification's timeline and verdict (written too when the rollout fails).

/// App Runner's repairs: UpdateService, StartDeployment, ResumeService; the operation followed.
mod apprunner;
/// `--allow-egress`: the security group repair, plan → --yes → verify.
mod egress;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

use crate::check::{self, Options};
use crate::cli::RepairArgs;
use crate::config::Config;
use crate::diagnosis::Names;
use crate::probe::{self, http};
use crate::redact;
use crate::repair::render::{render_plan, rollout_json, summary};
use crate::repair::{
    self, FollowOptions, Plan, Repair, RepairError, Repairer, Rollout, RolloutState,
};
use crate::report::{self, ReportHeader, Timeline};
use crate::sim::{self, scenario, Ports, Simulator};

/// Runs `otp-console repair` and returns its exit status.
pub async fn run(args: RepairArgs) -> ExitCode {
    match Box::pin(repair(args)).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("otp-console repair: {e}");
            ExitCode::from(2)
        }
    }
}

/// The repair the flags ask for.
fn requested(args: &RepairArgs) -> Result<Repair, RepairError> {
    if let Some(reference) = &args.rollback_to {
        return Ok(Repair::RollbackTo(reference.parse()?));
    }
    if args.redeploy {
        return Ok(Repair::Redeploy);
    }
    if let Some(name) = &args.restore_secret {
        return Ok(Repair::RestoreSecret(name.clone()));
    }
    if let Some(assignment) = &args.put_secret {
        let (name, value) = repair::parse_assignment(assignment)?;
        return Ok(Repair::PutSecret(name, value));
    }
    if !args.set_secret.is_empty() {
        let refs = args
            .set_secret
            .iter()
            .map(|a| repair::parse_secret_ref(a))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Repair::PointSecret(refs));
    }
    let vars = args
        .set
        .iter()
        .map(|a| repair::parse_assignment(a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Repair::Set(vars))
}

#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn repair(args: RepairArgs) -> Result<ExitCode, RepairError> {
    let repair = requested(&args)?;
    let test_phone = args
        .test_phone
        .as_deref()
        .map(http::validate_phone)
        .transpose()
        .map_err(|e| RepairError(format!("--test-phone: {e}")))?;
    let scale = args.time_scale.unwrap_or(1.0);
    // The logs are read from the new deployment on (set below): the last 30 minutes still
    // hold the failure the repair just fixed.
    let mut options = Options {
        check_aws: true,
        test_phone,
        deadline: Duration::from_secs(90),
        aws_credentials: None,
        logs_since_ms: None,
        trace: false,
    };
    let (config, target, sdk, sim) = if let Some(name) = &args.demo {
        let scenario = scenario::load(name).map_err(|e| RepairError(e.to_string()))?;
        let sim = Simulator::start(scenario, scale, Ports::default())
            .await
            .map_err(|e| RepairError(e.to_string()))?;
        options.aws_credentials = Some((sim::ACCESS_KEY_ID.into(), sim::SECRET_ACCESS_KEY.into()));
        let config = sim::run::config_for(&sim.urls, sim.scenario());
        let sdk = crate::engine::demo_sdk_config(&config).await;
        (config, format!("demo:{name}"), sdk, Some(sim))
    } else {
        let loaded = Config::load_context(args.config.as_deref(), args.aws.context.as_deref())
            .and_then(|l| args.aws.apply(l))
            .map_err(|e| RepairError(e.to_string()))?;
        if loaded.path.is_none() {
            return Err(RepairError(
                "no configuration found (give --config FILE, create ./otp-console.toml, or use --demo SCENARIO)".into(),
            ));
        }
        let sdk = probe::aws::sdk_config(&loaded.config.aws).await;
        let target = loaded.config.target_name();
        (loaded.config, target, sdk, None)
    };
    if args.allow_egress {
        return Box::pin(egress::run(&args, &config, &target, &sdk, options)).await;
    }
    if config.aws.platform == crate::config::Platform::AppRunner {
        return Box::pin(apprunner::run(
            &args, &repair, &config, &target, &sdk, options,
        ))
        .await;
    }
    let repairer = Repairer::new(&sdk, &config);
    let started_ms = now_ms();
    let plan = repairer.plan(&repair).await?;
    // The report's timeline, written at every way out once the plan exists.
    let mut timeline = Timeline::new();
    let mut secrets: Vec<String> = options.test_phone.iter().cloned().collect();
    if let Repair::Set(vars) = &repair {
        secrets.extend(
            vars.iter()
                .filter(|(name, _)| redact::is_secret_name(name) || name.ends_with("_SID"))
                .map(|(_, value)| value.clone()),
        );
    }
    if let Repair::PutSecret(_, value) = &repair {
        secrets.push(value.clone());
    }
    if let Some(sim) = &sim {
        secrets.extend(report::demo_secrets(sim.scenario()));
    }
    timeline.with_secrets(secrets);
    timeline.record_action_with(
        format!("repair planned: {}", summary(&plan)),
        plan.to_json(),
        now_ms(),
    );
    let write_report = |timeline: &Timeline, header: ReportHeader| match &args.report {
        Some(path) => report::write(path, timeline, &header)
            .map(|_| ())
            .map_err(RepairError),
        None => Ok(()),
    };
    let header = |ended_ms: i64| ReportHeader::new(target.clone(), started_ms, ended_ms);
    let say = |line: &str| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    if !args.json {
        print!("{}", render_plan(&plan, &target));
    }
    if !args.yes {
        if args.json {
            println!("{}", to_json(&plan, None, None, None));
        } else {
            println!("\nNothing changed: run again with --yes to apply this plan.");
        }
        write_report(&timeline, header(now_ms()).with_repair(&plan, None, None))?;
        return Ok(ExitCode::SUCCESS);
    }

    let applied = Box::pin(repairer.apply(&plan)).await?;
    timeline.record_action_with(
        format!(
            "applied: {} (revision {}), deployment {}",
            applied.task_definition_arn, applied.revision, applied.deployment_id
        ),
        applied.to_json(),
        now_ms(),
    );
    say(&format!("\nAPPLIED  {}", applied.line()));
    // From here a stop leaves a rollout going on: catch it (installed before the first line
    // about the rollout, so no signal can slip in between).
    let interrupted = interrupted();
    say("ROLLOUT");
    let follow = FollowOptions::scaled(if args.demo.is_some() { scale } else { 1.0 });
    let following = repairer.follow(&plan, &applied, &follow, |event| {
        say(&format!("  {}", event.line()));
        timeline.record_rollout_event(event, now_ms());
    });
    // Stopped while following: the rollout goes on in ECS without us; say so, and how to
    // follow it, before exiting as the signal asks.
    let rollout = tokio::select! {
        rollout = following => rollout,
        signal = interrupted => {
            eprintln!(
                "otp-console repair: interrupted; the rollout of {} goes on in ECS. Follow it with: aws ecs wait services-stable --cluster {} --services {}",
                applied.task_definition_arn, plan.cluster, plan.service
            );
            return Ok(ExitCode::from(signal));
        }
    };
    timeline.record_action(rollout.summary(), now_ms());
    if rollout.state != RolloutState::Completed {
        if args.json {
            println!(
                "{}",
                to_json(&plan, Some(&applied.to_json()), Some(&rollout), None)
            );
        } else {
            print!("{}", render_failure(&rollout));
        }
        write_report(
            &timeline,
            header(now_ms()).with_repair(&plan, Some(&applied), Some(&rollout)),
        )?;
        return Ok(ExitCode::from(1));
    }
    say(&format!(
        "  stable after {:.1} s\n\nVERIFICATION",
        rollout.elapsed.as_secs_f64()
    ));
    options.logs_since_ms = Some(applied.deployment_created_ms);
    let report = repair::verify(&config, &target, &options)
        .await
        .map_err(|e| RepairError(format!("verification: {e}")))?;
    if args.json {
        let verification = check::report_json(&report);
        println!(
            "{}",
            to_json(
                &plan,
                Some(&applied.to_json()),
                Some(&rollout),
                Some(&verification)
            )
        );
    } else {
        print!("{}", check::render_table(&report));
    }
    timeline.record_check(&report, &Names::from_config(&config));
    timeline.record_verification(&report.diagnosis, now_ms());
    write_report(
        &timeline,
        header(now_ms())
            .with_diagnosis(&report.diagnosis)
            .with_evidence(&report.evidence)
            .with_repair(&plan, Some(&applied), Some(&rollout))
            .with_verification(&report),
    )?;
    // The verification's verdict, with check's exit statuses (3: inconclusive).
    Ok(ExitCode::from(
        report.diagnosis.verdict.failure_mode.exit_code(),
    ))
}

/// The verification of a repair that needs no rollout followed (a rule added, an App Runner
/// operation ended): `check` on what the service writes from now on.
async fn verify_from_now(
    config: &Config,
    target: &str,
    mut options: Options,
) -> Result<check::Report, RepairError> {
    options.logs_since_ms = Some(now_ms());
    check::check(config, target, &options)
        .await
        .map_err(|e| RepairError(format!("verification: {e}")))
}

/// The one JSON object of `--json`.
fn to_json(
    plan: &Plan,
    applied: Option<&Value>,
    rollout: Option<&Rollout>,
    verification: Option<&Value>,
) -> String {
    let rollout = rollout.map(rollout_json);
    let value = json!({
        "plan": plan.to_json(),
        "applied": applied,
        "rollout": rollout,
        "verification": verification,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// A rollout that did not complete, with what explains it.
fn render_failure(rollout: &Rollout) -> String {
    let mut out = String::new();
    let state = match rollout.state {
        RolloutState::Failed => "FAILED",
        RolloutState::Stuck => "STUCK",
        RolloutState::Completed => "COMPLETED",
    };
    let _ = writeln!(
        out,
        "\nROLLOUT {state} after {:.1} s — {}",
        rollout.elapsed.as_secs_f64(),
        rollout.reason
    );
    if !rollout.service_events.is_empty() {
        let _ = writeln!(out, "  service events:");
        for event in rollout.service_events.iter().rev().take(10).rev() {
            let _ = writeln!(out, "    {event}");
        }
    }
    if !rollout.stopped_tasks.is_empty() {
        let _ = writeln!(out, "  stopped tasks:");
        for task in &rollout.stopped_tasks {
            let _ = writeln!(out, "    {task}");
        }
    }
    if let Some(suggestion) = &rollout.suggestion {
        let _ = writeln!(out, "  {suggestion}");
    }
    let _ = writeln!(out, "  verification not run: the rollout did not complete");
    out
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP with the exit status a shell gives that signal; the
/// handlers are installed when this is called.
fn interrupted() -> impl std::future::Future<Output = u8> {
    #[cfg(unix)]
    let interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let terminate = crate::event_loop::terminate_signal();
    async move {
        #[cfg(unix)]
        let ctrl_c = async move {
            match interrupt {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tokio::select! {
            () = ctrl_c => 130,
            signal = terminate => signal.exit_code(),
        }
    }
}
