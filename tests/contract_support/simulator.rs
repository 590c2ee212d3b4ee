//! What the end-to-end tests of `check` share (`tests/check.rs`, `tests/report.rs`): a
//! simulator running a scenario with the console's configuration for it, and the options of a
//! full check against it.

use std::time::Duration;

use otp_console::check::Options;
use otp_console::config::Config;
use otp_console::sim::{self, scenario, Ports, Simulator};

/// The simulator's time scale: its scenarios' delays at a twentieth.
const SCALE: f64 = 0.05;

/// The simulator running scenario `name` (stopped when dropped), and the console's
/// configuration pointing at it.
pub async fn simulator(name: &str) -> (Simulator, Config) {
    let sim = Simulator::start(
        scenario::load(name).expect("loads"),
        SCALE,
        Ports::default(),
    )
    .await
    .expect("starts");
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    (sim, config)
}

/// A full check against the simulator: AWS too (with the simulator's keys), an OTP start to the
/// scenarios' test phone, within 30 seconds.
pub fn check_options() -> Options {
    Options {
        check_aws: true,
        test_phone: Some("+17133056318".into()),
        deadline: Duration::from_secs(30),
        aws_credentials: Some((sim::ACCESS_KEY_ID.into(), sim::SECRET_ACCESS_KEY.into())),
        logs_since_ms: None,
        trace: false,
    }
}
