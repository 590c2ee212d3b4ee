//! otp-console: a terminal incident console for OTP login outages.
//!
//! Map of the crate, in the order data flows, from the outside world up to the command line
//! (imports point one way: no cycle between these modules):
//! - [`config`] the TOML configuration, with the runbook's values and env-var rules as defaults;
//!   [`redact`] masking and terminal-safe text, for every output path.
//! - [`sim`] the embedded simulated environment: real HTTP servers on loopback that speak the
//!   backend's, Twilio's, ECS's and CloudWatch Logs' wire protocols (the demo and the tests).
//! - [`probe`] one module per outside system; each call's result is an `Observation`.
//! - [`diagnosis`] observations → evidence → the checklist and a verdict (pure).
//! - [`engine`] the one probe engine: a round once, or the console's schedules.
//! - [`check`] a round diagnosed without a screen; [`repair`] plan, apply, follow, verify;
//!   [`report`] the incident timeline as Markdown and JSON.
//! - [`event`] → [`app`] (`update`, no I/O) → [`keymap`], [`layout`], [`ui`] (drawing, pure);
//!   [`runner`] turns the app's commands into tasks; [`event_loop`] owns the terminal.
//! - [`cmd`] the command-line entry points (the console, `check`, `repair`, `init`, `sim`) and
//!   `cmd::main`, which `main.rs` calls; [`cli`] the arguments.

/// The console's state and `update`: events in, commands out; no I/O.
pub mod app;
/// One probe round diagnosed without a screen (what `otp-console check` runs).
pub mod check;
/// Command-line interface (clap): the console, `check`, `repair` and `sim`.
pub mod cli;
/// The command-line entry points of `check`, `repair` and `sim`.
pub mod cmd;
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
/// `otp-console init`: the OTP service found in the account, written down as a config file.
pub mod init;
/// One table of key → action → label.
pub mod keymap;
/// The screen's geometry: which pane goes where, for the app's mouse hits and the ui.
pub mod layout;
/// The service's network path to Twilio on 443, evaluated from plain data (pure).
pub mod network;
/// What the probes see, and the probes (one module per outside system).
pub mod probe;
/// Masking of secrets and terminal-safe text, shared by every output path.
pub mod redact;
/// Repairs as plan → apply → follow the rollout → verify.
pub mod repair;
/// The incident report: the session's timeline as Markdown and JSON, secrets masked.
pub mod report;
/// Turns the app's commands into tasks; starts the engine's schedules; owns the demo simulator.
pub mod runner;
/// The simulated environment: backend API, Twilio, status page, ECS and CloudWatch Logs.
pub mod sim;
/// Drawing: `render(&App)`, one file per pane.
pub mod ui;
