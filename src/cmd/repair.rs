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
    let (config, target, sdk, sim) = Box::pin(target_of(&args, scale, &mut options)).await?;
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
    let mut run = EcsRun {
        args: &args,
        target: &target,
        started_ms,
        timeline: Timeline::new(),
    };
    run.timeline
        .with_secrets(secrets_of(&repair, &options, sim.as_ref()));
    run.timeline.record_action_with(
        format!("repair planned: {}", summary(&plan)),
        plan.to_json(),
        now_ms(),
    );
    if !args.json {
        print!("{}", render_plan(&plan, &target));
    }
    if !args.yes {
        if args.json {
            println!("{}", to_json(&plan, None, None, None));
        } else {
            println!("\nNothing changed: run again with --yes to apply this plan.");
        }
        run.write_report(run.header().with_repair(&plan, None, None))?;
        return Ok(ExitCode::SUCCESS);
    }
    let applied = Box::pin(repairer.apply(&plan)).await?;
    let follow = FollowOptions::scaled(if args.demo.is_some() { scale } else { 1.0 });
    let rollout = match Box::pin(run.follow(&repairer, &plan, &applied, &follow)).await {
        Ok(rollout) => rollout,
        Err(signal) => return Ok(ExitCode::from(signal)),
    };
    if rollout.state != RolloutState::Completed {
        if args.json {
            println!(
                "{}",
                to_json(&plan, Some(&applied.to_json()), Some(&rollout), None)
            );
        } else {
            print!("{}", render_failure(&rollout));
        }
        run.write_report(
            run.header()
                .with_repair(&plan, Some(&applied), Some(&rollout)),
        )?;
        return Ok(ExitCode::from(1));
    }
    options.logs_since_ms = Some(applied.deployment_created_ms);
    Box::pin(run.verify(&config, &options, &plan, &applied, &rollout)).await
}

/// A progress line: on stdout, or stderr under `--json` (stdout holds the one object).
fn say(json: bool, line: &str) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// An ECS repair once planned: where its progress lines go, and the report's timeline, written
/// at every way out.
struct EcsRun<'a> {
    args: &'a RepairArgs,
    target: &'a str,
    started_ms: i64,
    timeline: Timeline,
}

impl EcsRun<'_> {
    fn say(&self, line: &str) {
        say(self.args.json, line);
    }

    /// The report's header as of now.
    fn header(&self) -> ReportHeader {
        ReportHeader::new(self.target.to_owned(), self.started_ms, now_ms())
    }

    /// Writes the report when `--report` asks for one.
    fn write_report(&self, header: ReportHeader) -> Result<(), RepairError> {
        match &self.args.report {
            Some(path) => report::write(path, &self.timeline, &header)
                .map(|_| ())
                .map_err(RepairError),
            None => Ok(()),
        }
    }

    /// Follows the rollout `applied` started, a line per change; a signal while following
    /// leaves the rollout going on in ECS: said, with how to follow it, and the signal's exit
    /// status returned as the error.
    async fn follow(
        &mut self,
        repairer: &Repairer,
        plan: &Plan,
        applied: &repair::Applied,
        follow: &FollowOptions,
    ) -> Result<Rollout, u8> {
        self.timeline.record_action_with(
            format!(
                "applied: {} (revision {}), deployment {}",
                applied.task_definition_arn, applied.revision, applied.deployment_id
            ),
            applied.to_json(),
            now_ms(),
        );
        self.say(&format!("\nAPPLIED  {}", applied.line()));
        // From here a stop leaves a rollout going on: catch it (installed before the first
        // line about the rollout, so no signal can slip in between).
        let interrupted = interrupted();
        self.say("ROLLOUT");
        let json = self.args.json;
        let timeline = &mut self.timeline;
        let following = repairer.follow(plan, applied, follow, |event| {
            say(json, &format!("  {}", event.line()));
            timeline.record_rollout_event(event, now_ms());
        });
        let rollout = tokio::select! {
            rollout = following => rollout,
            signal = interrupted => {
                eprintln!(
                    "otp-console repair: interrupted; the rollout of {} goes on in ECS. Follow it with: aws ecs wait services-stable --cluster {} --services {}",
                    applied.task_definition_arn, plan.cluster, plan.service
                );
                return Err(signal);
            }
        };
        self.timeline.record_action(rollout.summary(), now_ms());
        Ok(rollout)
    }

    /// The verification once the rollout is stable: `check` on what the new deployment
    /// writes, printed (or the one JSON object), recorded and written to the report; exit
    /// statuses as `check`'s (3: inconclusive).
    async fn verify(
        &mut self,
        config: &Config,
        options: &Options,
        plan: &Plan,
        applied: &repair::Applied,
        rollout: &Rollout,
    ) -> Result<ExitCode, RepairError> {
        self.say(&format!(
            "  stable after {:.1} s\n\nVERIFICATION",
            rollout.elapsed.as_secs_f64()
        ));
        let report = repair::verify(config, self.target, options)
            .await
            .map_err(|e| RepairError(format!("verification: {e}")))?;
        if self.args.json {
            let verification = check::report_json(&report);
            println!(
                "{}",
                to_json(
                    plan,
                    Some(&applied.to_json()),
                    Some(rollout),
                    Some(&verification)
                )
            );
        } else {
            print!("{}", check::render_table(&report));
        }
        self.timeline
            .record_check(&report, &Names::from_config(config));
        self.timeline
            .record_verification(&report.diagnosis, now_ms());
        self.write_report(
            self.header()
                .with_diagnosis(&report.diagnosis)
                .with_evidence(&report.evidence)
                .with_repair(plan, Some(applied), Some(rollout))
                .with_verification(&report),
        )?;
        Ok(ExitCode::from(
            report.diagnosis.verdict.failure_mode.exit_code(),
        ))
    }
}

/// What the repair runs against: the config, the target's name, the SDK configuration, and
/// the simulator of `--demo` (its keys put in `options`), else the configuration file.
async fn target_of(
    args: &RepairArgs,
    scale: f64,
    options: &mut Options,
) -> Result<(Config, String, aws_config::SdkConfig, Option<Simulator>), RepairError> {
    if let Some(name) = &args.demo {
        let scenario = scenario::load(name).map_err(|e| RepairError(e.to_string()))?;
        let sim = Simulator::start(scenario, scale, Ports::default())
            .await
            .map_err(|e| RepairError(e.to_string()))?;
        options.aws_credentials = Some((sim::ACCESS_KEY_ID.into(), sim::SECRET_ACCESS_KEY.into()));
        let config = sim::run::config_for(&sim.urls, sim.scenario());
        let sdk = crate::engine::demo_sdk_config(&config).await;
        Ok((config, format!("demo:{name}"), sdk, Some(sim)))
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
        Ok((loaded.config, target, sdk, None))
    }
}

/// The values the report masks: the test phone, the secret-looking values set, the value put
/// into a secret, and the demo's own secrets.
fn secrets_of(repair: &Repair, options: &Options, sim: Option<&Simulator>) -> Vec<String> {
    let mut secrets: Vec<String> = options.test_phone.iter().cloned().collect();
    if let Repair::Set(vars) = repair {
        secrets.extend(
            vars.iter()
                .filter(|(name, _)| redact::is_secret_name(name) || name.ends_with("_SID"))
                .map(|(_, value)| value.clone()),
        );
    }
    if let Repair::PutSecret(_, value) = repair {
        secrets.push(value.clone());
    }
    if let Some(sim) = sim {
        secrets.extend(report::demo_secrets(sim.scenario()));
    }
    secrets
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
