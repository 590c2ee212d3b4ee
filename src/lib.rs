//! otp-console: a terminal incident console for OTP login outages.
//!
//! Map of the crate, in the order data flows:
//! - [`cli`] parses the command line; `main.rs` dispatches to the console, `check` or `sim`.
//! - [`config`] loads the TOML configuration, with the runbook's values and env-var rules as
//!   defaults.
//! - [`sim`] is the embedded simulated environment: real HTTP servers on loopback that speak
//!   the backend's, Twilio's, ECS's and `CloudWatch` Logs' wire protocols. The demo and every
//!   test run against it.

/// The console's state and `update`: events in, commands out; no I/O.
pub mod app;
/// `otp-console check`: probes and diagnosis without a screen.
pub mod check;
/// Command-line interface (clap): the console, `check` and `sim`.
pub mod cli;
/// Configuration file, defaults from the runbook, env-var rules, clear errors.
pub mod config;
/// Observations in, the runbook's checklist and a verdict out (pure).
pub mod diagnosis;
/// The one probe engine: a round once (check, verification) or on schedules (the console).
pub mod engine;
/// Everything that can happen to the console, as data.
pub mod event;
/// Owns the terminal: drain events, update, draw; restores it on every way out.
pub mod event_loop;
/// One table of key → action → label.
pub mod keymap;
/// The screen's geometry: which pane goes where, for the app's mouse hits and the ui.
pub mod layout;
/// What the probes see, and the probes (one module per outside system).
pub mod probe;
/// Masking of secrets and terminal-safe text, shared by every output path.
pub mod redact;
/// Repairs as plan → apply → follow the rollout → verify; `otp-console repair`.
pub mod repair;
/// The incident report: the session's timeline as Markdown and JSON, secrets masked.
pub mod report;
/// Turns commands into tasks; keeps the probes on their schedules; owns the demo simulator.
pub mod runner;
/// The simulated environment: backend API, Twilio, status page, ECS and CloudWatch Logs.
pub mod sim;
/// Drawing: `render(&App)`, one file per pane.
pub mod ui;
