//! Thin entry point: parse the command line, load the configuration, dispatch to the console,
//! `check` or `sim`.

use std::process::ExitCode;

use clap::Parser as _;
use otp_console::app::App;
use otp_console::cli::{Cli, Command};
use otp_console::config::Config;
use otp_console::diagnosis::Names;
use otp_console::runner::Runner;
use otp_console::{cmd, event_loop, sim};

/// The demo's time scale when none is given: the runbook's 60 s timeout becomes 12 s.
const DEMO_TIME_SCALE: f64 = 0.2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // One line, as every other refusal: clap's first line names the flag and the fix.
            let text = e.render().to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("otp-console: bad arguments")
            );
            return ExitCode::from(2);
        }
        // --help and --version.
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("otp-console: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = match cli.command {
        Some(Command::Sim(args)) => runtime.block_on(cmd::sim::run(args)),
        Some(Command::Check(args)) => runtime.block_on(cmd::check::run(args)),
        Some(Command::Repair(args)) => runtime.block_on(cmd::repair::run(args)),
        Some(Command::Init(args)) => runtime.block_on(cmd::init::run(args)),
        None => runtime.block_on(console(&cli)),
    };
    // Tasks still waiting (a request outstanding, a server draining) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// The console: on the demo when asked or when no configuration is found, else live.
async fn console(cli: &Cli) -> ExitCode {
    let mut source = None;
    let mut contexts = Vec::new();
    let (demo, config) = if let Some(scenario) = &cli.demo {
        (Some(scenario.clone()), Config::default())
    } else {
        match Config::load_context(cli.config.as_deref(), cli.aws.context.as_deref())
            .and_then(|l| cli.aws.apply(l))
        {
            Ok(loaded) if loaded.path.is_some() => {
                source = loaded.path.clone().map(|path| otp_console::runner::Source {
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
        let sdk = otp_console::probe::aws::sdk_config(&config.aws).await;
        otp_console::engine::resolve_log_group(&mut config, &sdk).await;
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
