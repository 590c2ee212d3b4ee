//! Thin entry point: everything, the parsing of the command line included, lives in the
//! library ([`otp_console::cmd::main`]), so this crate compiles in a moment.

fn main() -> std::process::ExitCode {
    otp_console::cmd::main()
}
