//! The command-line entry points of the console, `check`, `repair`, `init` and `sim`: arguments
//! in, the library called, an exit status out; [`main`] dispatches. Nothing else in the library
//! imports this module or [`crate::cli`].

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

/// `otp-console check`.
pub mod check;
/// `otp-console` itself: the console.
pub mod console;
/// `otp-console init`.
pub mod init;
/// `otp-console repair`.
pub mod repair;
/// `otp-console sim`.
pub mod sim;

/// The whole program: parse the command line, start the runtime, run the command.
///
/// Lives in the library, not in `main.rs`, so the binary crate has nothing to compile but a
/// call: every `async fn` a binary polls is compiled again inside the binary (coroutines are
/// instantiated where they are polled), which cost the release build 40 s of its serial tail.
pub fn main() -> ExitCode {
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
        Some(Command::Sim(args)) => runtime.block_on(sim::run(args)),
        Some(Command::Check(args)) => runtime.block_on(check::run(args)),
        Some(Command::Repair(args)) => runtime.block_on(repair::run(args)),
        Some(Command::Init(args)) => runtime.block_on(init::run(args)),
        None => runtime.block_on(console::run(&cli)),
    };
    // Tasks still waiting (a request outstanding, a server draining) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}
