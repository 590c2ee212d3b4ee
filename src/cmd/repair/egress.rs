//! `otp-console repair --allow-egress`: prints the plan (the security group as it is, the rule
//! to add, what else blocks the path, the equivalent aws CLI command); only with `--yes` adds
//! the rule, reads the path again and runs the same verification as `check`. `--json` prints
//! one object `{plan, applied, path_after, verification}`. Exit statuses as the other repairs.

use std::process::ExitCode;

use serde_json::json;

use crate::check::{self, Options};
use crate::cli::RepairArgs;
use crate::config::Config;
use crate::network::HopState;
use crate::repair::egress::{self, EgressRepairer};
use crate::repair::RepairError;

pub async fn run(
    args: &RepairArgs,
    config: &Config,
    target: &str,
    sdk: &aws_config::SdkConfig,
    options: Options,
) -> Result<ExitCode, RepairError> {
    let repairer = EgressRepairer::new(sdk, &config.aws);
    let before = repairer.path().await?;
    let cidr = args
        .cidr
        .clone()
        .unwrap_or_else(|| egress::default_cidr(&config.aws));
    let plan = egress::plan(&before, args.group_id.as_deref(), &cidr)?;
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
    let rules = repairer.apply(&plan).await?;
    let say = |line: &str| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(&format!(
        "\nAPPLIED  {} egress tcp 443 to {} ({})",
        plan.group,
        plan.cidr,
        rules.join(", ")
    ));
    let after = repairer.path().await?;
    let sg_open = after
        .hops
        .iter()
        .filter(|h| h.kind == crate::network::HopKind::SecurityGroup)
        .all(|h| h.state == HopState::Pass);
    say(&format!(
        "PATH     {} {}",
        if after.state == HopState::Pass {
            "✓"
        } else {
            "✗"
        },
        after.summary()
    ));
    if !sg_open {
        return Err(RepairError(format!(
            "the rule was added but the security groups still block: {}",
            after.summary()
        )));
    }
    say("\nVERIFICATION");
    // As after a deployment: the logs and the real traffic count from the fix on (the last
    // minutes still hold the failures it just fixed).
    let report = super::verify_from_now(config, target, options).await?;
    if args.json {
        println!(
            "{:#}",
            json!({
                "plan": plan.to_json(),
                "applied": { "group_id": plan.group, "rules": rules },
                "path_after": after,
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
