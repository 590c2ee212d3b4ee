//! `otp-console repair` on App Runner: prints the plan (the masked change to
//! `RuntimeEnvironmentVariables`, the equivalent aws CLI commands); only with `--yes` applies it
//! (UpdateService, StartDeployment or ResumeService), follows the operation in ListOperations
//! until it ends, and runs the same verification as `check` on what the service writes from
//! then on. `--json` prints one object `{plan, applied, operation, verification}`. Exit
//! statuses as the other repairs (1 when the operation failed).

use std::process::ExitCode;

use serde_json::json;

use crate::check::{self, Options};
use crate::cli::RepairArgs;
use crate::config::Config;
use crate::repair::apprunner::AppRunnerRepairer;
use crate::repair::{Repair, RepairError};

pub async fn run(
    args: &RepairArgs,
    repair: &Repair,
    config: &Config,
    target: &str,
    sdk: &aws_config::SdkConfig,
    options: Options,
) -> Result<ExitCode, RepairError> {
    let repairer = AppRunnerRepairer::new(sdk, config);
    let plan = repairer.plan(repair).await?;
    if !args.json {
        print!("{}", plan.render());
    }
    if !args.yes {
        if args.json {
            println!("{:#}", json!({ "plan": plan.to_json(), "applied": null }));
        } else {
            println!("\nNothing changed: run again with --yes to apply this plan.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let say = |line: &str| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let id = repairer.apply(&plan).await?;
    say(&format!("\nAPPLIED  {} (operation {id})", plan.summary()));
    say("OPERATION");
    let scale = if args.demo.is_some() {
        args.time_scale.unwrap_or(1.0)
    } else {
        1.0
    };
    let status = repairer
        .follow(&plan.service_arn, &id, scale, |status| {
            say(&format!("  {status}"));
        })
        .await?;
    if status != "SUCCEEDED" {
        let line = format!(
            "operation {id} ended {status}: App Runner kept (or rolled back to) the previous configuration — aws apprunner list-operations --service-arn {}",
            plan.service_arn
        );
        if args.json {
            println!(
                "{:#}",
                json!({ "plan": plan.to_json(), "applied": { "operation_id": id }, "operation": status, "verification": null })
            );
        }
        eprintln!("otp-console repair: {line}");
        return Ok(ExitCode::from(1));
    }
    say("\nVERIFICATION");
    // The old instances are gone once the operation succeeded: what the service writes from
    // here on is the repaired one's.
    let report = super::verify_from_now(config, target, options).await?;
    if args.json {
        println!(
            "{:#}",
            json!({
                "plan": plan.to_json(),
                "applied": { "operation_id": id },
                "operation": status,
                "verification": check::report_json(&report),
            })
        );
    } else {
        print!("{}", check::render_table(&report));
    }
    Ok(ExitCode::from(
        report.diagnosis.verdict.failure_mode.exit_code(),
    ))
}
