//! `otp-console` without a subcommand: the console, on the demo or live.

use std::process::ExitCode;

use crate::app::App;
use crate::cli::Cli;
use crate::config::Config;
use crate::diagnosis::Names;
use crate::runner::Runner;
use crate::{event_loop, sim};

/// The demo's time scale when none is given: the runbook's 60 s timeout becomes 12 s.
const DEMO_TIME_SCALE: f64 = 0.2;

/// The console: on the demo when asked or when no configuration is found, else live.
pub async fn run(cli: &Cli) -> ExitCode {
    let mut source = None;
    let mut contexts = Vec::new();
    let (demo, config) = if let Some(scenario) = &cli.demo {
        (Some(scenario.clone()), Config::default())
    } else {
        match Config::load_context(cli.config.as_deref(), cli.aws.context.as_deref())
            .and_then(|l| cli.aws.apply(l))
        {
            Ok(loaded) if loaded.path.is_some() => {
                source = loaded.path.clone().map(|path| crate::runner::Source {
                    path,
                    aws: cli.aws.clone(),
                });
                contexts.clone_from(&loaded.contexts);
                (None, loaded.config)
            }
            Ok(loaded) => (Some(sim::scenario::DEFAULT_DEMO.to_owned()), loaded.config),
            Err(e) => {
                eprintln!("otp-console: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let mut config = config;
    if let Some(since) = &cli.since {
        config.changes.since.clone_from(since);
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut runner = Runner::new(tx.clone(), cli.time_scale.unwrap_or(DEMO_TIME_SCALE));
    runner.changes_since.clone_from(&cli.since);
    runner.source = source;
    let started = if let Some(scenario) = &demo {
        runner.start_demo(scenario).await
    } else {
        // The log group the container writes to, when the config names none: read before
        // the screen opens (at most 3 s), so every pane and command names the same one.
        let sdk = crate::probe::aws::sdk_config(&config.aws).await;
        crate::engine::resolve_log_group(&mut config, &sdk).await;
        runner.start_with(config.clone(), sdk).await
    };
    if let Err(e) = started {
        eprintln!("otp-console: {e}");
        return ExitCode::from(2);
    }
    let scenarios = if demo.is_some() {
        sim::scenario::list()
            .into_iter()
            .map(|(n, d)| (n.to_owned(), d))
            .collect()
    } else {
        Vec::new()
    };
    let mut app = App::new(
        Names::from_config(&config),
        scenarios,
        chrono::Utc::now().timestamp_millis(),
    );
    app.report_path.clone_from(&cli.report);
    app.contexts = contexts;
    match Box::pin(event_loop::run(app, runner, tx, rx)).await {
        Ok(event_loop::Ended::Quit) => ExitCode::SUCCESS,
        Ok(event_loop::Ended::Signal { signal, note }) => {
            // The terminal is restored by now: the line lands on the user's screen.
            if let Some(note) = note {
                eprintln!("{note}");
            }
            ExitCode::from(signal.exit_code())
        }
        Err(e) => {
            eprintln!("otp-console: the terminal failed: {e} (is this a terminal? `otp-console check` works without one)");
            ExitCode::from(2)
        }
    }
}
