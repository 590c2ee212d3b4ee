//! Simulated time: every nominal duration of the simulated world (the load balancer's 60 s,
//! Twilio's slowness, rollouts, rate-limit windows) is multiplied by the time scale, so
//! `--time-scale 0.1` runs the whole story ten times faster. Timestamps stay wall-clock
//! milliseconds, as AWS and Twilio report them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The simulator's clock: wall-clock timestamps and scaled durations.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    scale: f64,
}

impl SimClock {
    /// A clock whose durations are `scale` times the nominal ones (1.0 = real time).
    pub fn new(scale: f64) -> Self {
        Self { scale }
    }

    /// The time scale this clock was made with.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Milliseconds since the Unix epoch, now.
    pub fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// The real duration that stands for `nominal` in the simulated world.
    pub fn scaled(&self, nominal: Duration) -> Duration {
        nominal.mul_f64(self.scale)
    }

    /// The real duration for `secs` nominal seconds.
    pub fn secs(&self, secs: f64) -> Duration {
        self.scaled(Duration::from_secs_f64(secs))
    }

    /// Sleeps for the scaled equivalent of `nominal`.
    pub async fn sleep(&self, nominal: Duration) {
        tokio::time::sleep(self.scaled(nominal)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_durations() {
        let clock = SimClock::new(0.1);
        assert_eq!(
            clock.scaled(Duration::from_secs(60)),
            Duration::from_secs(6)
        );
        assert_eq!(clock.secs(30.0), Duration::from_secs(3));
    }
}
