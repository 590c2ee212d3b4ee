//! Thin entry point: parse the command line, load the configuration, dispatch.

use std::process::ExitCode;

use clap::Parser;
use otp_console::cli::{Cli, Command};
use otp_console::{config::Config, sim};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match cli.command {
        Some(Command::Sim(args)) => runtime.block_on(sim::run::run(args)),
        Some(Command::Check(args)) => runtime.block_on(otp_console::check::run(args)),
        None => console(&cli),
    }
}

/// The console; its panes are not built yet, so it says what it would watch.
fn console(cli: &Cli) -> ExitCode {
    let target = if let Some(scenario) = &cli.demo {
        format!("the embedded simulator, scenario {scenario}")
    } else {
        match Config::load(cli.config.as_deref()) {
            Ok(loaded) => match loaded.path {
                Some(path) => format!("the deployment configured in {}", path.display()),
                None => format!(
                    "the embedded simulator, scenario {}",
                    sim::scenario::DEFAULT_DEMO
                ),
            },
            Err(e) => {
                eprintln!("otp-console: {e}");
                return ExitCode::from(2);
            }
        }
    };
    eprintln!(
        "otp-console: the console's panes are not built yet (issue 4); it would watch {target}.\n\
         Meanwhile: `otp-console sim --scenario event-loop-blocking` runs the simulated environment."
    );
    ExitCode::from(2)
}
