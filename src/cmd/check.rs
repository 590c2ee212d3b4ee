//! `otp-console check` from the command line: reads the arguments and the config (or starts
//! the demo's simulator), runs [`crate::check::check`], prints the table or the JSON, writes the
//! report, and turns the verdict into the exit status (0 none, 1 a failure mode, 2 could not
//! run, 3 inconclusive).

use std::process::ExitCode;
use std::time::Duration;

use crate::check::{check, render_table, report_json, CannotRun, Options};
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::diagnosis::Names;
use crate::probe::http;
use crate::sim::{self, scenario, Ports, Simulator};

/// Runs `otp-console check` and returns its exit status.
pub async fn run(args: CheckArgs) -> ExitCode {
    if let Some(path) = &args.replay {
        return replay(path, args.json);
    }
    let test_phone = match args
        .test_phone
        .as_deref()
        .map(http::validate_phone)
        .transpose()
    {
        Ok(phone) => phone,
        Err(e) => {
            eprintln!("otp-console check: --test-phone: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = Options {
        check_aws: args.check_aws,
        test_phone,
        deadline: Duration::from_secs(90),
        aws_credentials: None,
        logs_since_ms: None,
        trace: args.trace,
    };
    let (config, target, sim) = if let Some(name) = &args.demo {
        let scenario = match scenario::load(name) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("otp-console check: {e}");
                return ExitCode::from(2);
            }
        };
        let scale = args.time_scale.unwrap_or(1.0);
        let sim = match Simulator::start(scenario, scale, Ports::default()).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("otp-console check: {e}");
                return ExitCode::from(2);
            }
        };
        options.aws_credentials = Some((sim::ACCESS_KEY_ID.into(), sim::SECRET_ACCESS_KEY.into()));
        // The demo is diagnosed like production: through its config and its protocols only.
        let config = sim::run::config_for(&sim.urls, sim.scenario());
        (config, format!("demo:{name}"), Some(sim))
    } else {
        match Config::load_context(args.config.as_deref(), args.aws.context.as_deref())
            .and_then(|l| args.aws.apply(l))
        {
            Ok(loaded) if loaded.path.is_none() => {
                eprintln!("otp-console check: no configuration found (give --config FILE, create ./otp-console.toml, or use --demo SCENARIO)");
                return ExitCode::from(2);
            }
            Ok(loaded) => {
                let target = loaded.config.target_name();
                (loaded.config, target, None)
            }
            Err(e) => {
                eprintln!("otp-console check: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let mut config = config;
    if let Some(since) = &args.since {
        config.changes.since.clone_from(since);
    }
    match check(&config, &target, &options).await {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report_json(&report)).unwrap_or_default()
                );
            } else {
                print!("{}", render_table(&report));
            }
            if let Some(path) = &args.report {
                let mut timeline = crate::report::Timeline::new();
                let mut secrets: Vec<String> = options.test_phone.iter().cloned().collect();
                if let Some(sim) = &sim {
                    secrets.extend(crate::report::demo_secrets(sim.scenario()));
                }
                timeline.with_secrets(secrets);
                timeline.record_check(&report, &Names::from_config(&config));
                let header = crate::report::ReportHeader::for_check(&report);
                if let Err(e) = crate::report::write(path, &timeline, &header) {
                    eprintln!("otp-console check: {e}");
                    return ExitCode::from(2);
                }
            }
            ExitCode::from(report.diagnosis.verdict.failure_mode.exit_code())
        }
        Err(CannotRun(message)) => {
            eprintln!("otp-console check: {message}");
            ExitCode::from(2)
        }
    }
}

/// `check --replay FILE`: prints the recorded evidence's diagnosis as `check` would, and exits
/// with its status (2 when FILE cannot be read).
fn replay(path: &std::path::Path, json: bool) -> ExitCode {
    let read = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read it: {e}"))
        .and_then(|text| {
            serde_json::from_str::<serde_json::Value>(&text).map_err(|e| format!("not JSON: {e}"))
        })
        .and_then(|value| {
            crate::check::replay::replay(&value, &format!("replay:{}", path.display()))
        });
    match read {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report_json(&report)).unwrap_or_default()
                );
            } else {
                print!("{}", render_table(&report));
            }
            ExitCode::from(report.diagnosis.verdict.failure_mode.exit_code())
        }
        Err(why) => {
            eprintln!("otp-console check: --replay {}: {why}", path.display());
            ExitCode::from(2)
        }
    }
}
