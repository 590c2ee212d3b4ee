//! The command-line entry points of `check`, `repair` and `sim`: arguments in, the library
//! called, an exit status out. Nothing in the library imports this module or [`crate::cli`].

/// `otp-console check`.
pub mod check;
/// `otp-console init`.
pub mod init;
/// `otp-console repair`.
pub mod repair;
/// `otp-console sim`.
pub mod sim;
