//! Turns [`Command`]s into tokio tasks whose results come back as [`Event`]s. The probes and
//! their schedules are the [`Engine`]'s (health every 5 s, ECS every 20 s, Twilio every 60 s,
//! the status page every 2 min, logs followed every 2 s); the runner adds the demo phone's
//! inbox every second, the repair and the report. In the demo the runner owns the embedded
//! simulator and can switch its scenario live.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::app::Command;
use crate::config::Config;
use crate::engine::Engine;
pub use crate::engine::{demo_sdk_config, every, static_sdk_config};
use crate::event::{Event, Notice, Sms, Target};
use crate::probe::twilio::delivery::Backoff;
use crate::probe::Observation;
use crate::sim::{self, scenario, Ports, Simulator};

/// Runs commands and schedules for the console.
pub struct Runner {
    events: mpsc::UnboundedSender<Event>,
    probes: Option<Engine>,
    /// The scheduled loops of the current target.
    schedules: JoinSet<()>,
    /// One-shot commands in flight.
    oneshots: JoinSet<()>,
    sim: Option<Simulator>,
    time_scale: f64,
    /// `--since`: the changes window of every demo started (a live config has its own).
    pub changes_since: Option<String>,
    /// Where the live configuration came from, for `x` to read another of its contexts.
    pub source: Option<Source>,
}

/// A config file and the flags over it: what a context switch reads again.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: std::path::PathBuf,
    /// `--profile` and `--region`.
    pub aws: crate::cli::AwsArgs,
}

impl Runner {
    /// A runner that reports to `events`.
    pub fn new(events: mpsc::UnboundedSender<Event>, time_scale: f64) -> Self {
        Self {
            events,
            probes: None,
            schedules: JoinSet::new(),
            oneshots: JoinSet::new(),
            sim: None,
            time_scale,
            changes_since: None,
            source: None,
        }
    }

    fn notice(&self, is_error: bool, text: impl Into<String>) {
        let _ = self.events.send(Event::Notice(Notice {
            is_error,
            text: text.into(),
        }));
    }

    /// Starts the embedded simulator on `name` and watches it.
    pub async fn start_demo(&mut self, name: &str) -> Result<(), String> {
        let scenario = scenario::load(name).map_err(|e| e.to_string())?;
        self.stop().await;
        let sim = Simulator::start(scenario, self.time_scale, Ports::default())
            .await
            .map_err(|e| e.to_string())?;
        let mut config = sim::run::config_for(&sim.urls, sim.scenario());
        if let Some(since) = &self.changes_since {
            config.changes.since.clone_from(since);
        }
        let sdk = demo_sdk_config(&config).await;
        let inbox_url = format!(
            "{}/_sim/inbox/{}",
            sim.urls.twilio,
            sim.scenario().twilio.demo_phone
        );
        let secrets = crate::report::demo_secrets(sim.scenario());
        self.sim = Some(sim);
        self.watch(config, sdk, Some(name.to_owned()), secrets)?;
        self.spawn_inbox(inbox_url);
        Ok(())
    }

    /// Watches the deployment of `config` with the SDK's normal credential chain.
    pub async fn start_live(&mut self, config: Config) -> Result<(), String> {
        let sdk = crate::probe::aws::sdk_config(&config.aws).await;
        self.start_with(config, sdk).await
    }

    /// Watches the deployment of `config` with the AWS configuration `sdk` (static keys, an
    /// emulator's endpoint).
    pub async fn start_with(
        &mut self,
        config: Config,
        sdk: aws_config::SdkConfig,
    ) -> Result<(), String> {
        self.stop().await;
        self.watch(config, sdk, None, Vec::new())
    }

    /// Reads the config file again for `context` (the flags over it as at start) and
    /// watches that target; `None`: the demo. The current target goes on when it cannot.
    async fn switch_context(&mut self, context: Option<&str>) -> Result<(), String> {
        let Some(context) = context else {
            return self.start_demo(scenario::DEFAULT_DEMO).await;
        };
        let source = self
            .source
            .clone()
            .ok_or("the console was not started from a config file")?;
        let loaded = Config::load_context(Some(&source.path), Some(context))
            .and_then(|l| source.aws.apply(l))
            .map_err(|e| e.to_string())?;
        let mut config = loaded.config;
        let sdk = crate::probe::aws::sdk_config(&config.aws).await;
        crate::engine::resolve_log_group(&mut config, &sdk).await;
        self.start_with(config, sdk).await
    }

    async fn stop(&mut self) {
        self.schedules.abort_all();
        self.oneshots.abort_all();
        while self.schedules.join_next().await.is_some() {}
        while self.oneshots.join_next().await.is_some() {}
        self.probes = None;
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
    }

    fn watch(
        &mut self,
        config: Config,
        sdk: aws_config::SdkConfig,
        demo: Option<String>,
        secrets: Vec<String>,
    ) -> Result<(), String> {
        let (observations, mut rx) = mpsc::unbounded_channel::<Observation>();
        let target = Target {
            demo_scenario: demo,
            names: crate::diagnosis::Names::from_config(&config),
            test_phone: config.api.test_phone.clone(),
            secrets,
        };
        let engine = Engine::new(config, sdk, observations).map_err(|e| e.message)?;
        let events = self.events.clone();
        // Observations reach the app as events, in the order they were made.
        self.schedules.spawn(async move {
            while let Some(o) = rx.recv().await {
                if events.send(Event::Observed(o)).is_err() {
                    return;
                }
            }
        });
        let _ = self.events.send(Event::Target(target));
        engine.spawn_schedules(&mut self.schedules);
        self.probes = Some(engine);
        Ok(())
    }

    fn spawn_inbox(&mut self, url: String) {
        let events = self.events.clone();
        self.schedules.spawn(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build();
            let Ok(client) = client else { return };
            let mut last: Option<Vec<Sms>> = None;
            loop {
                if let Ok(response) = client.get(&url).send().await {
                    if let Ok(body) = response.json::<serde_json::Value>().await {
                        let messages = body["messages"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|m| Sms {
                                to: crate::redact::phone(m["to"].as_str().unwrap_or_default())
                                    .trim_start_matches('•')
                                    .to_owned(),
                                code: m["code"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .chars()
                                    .filter(char::is_ascii_digit)
                                    .take(10)
                                    .collect(),
                                received_ms: m["received_at_ms"].as_i64().unwrap_or_default(),
                            })
                            .collect();
                        // Only a change is news: an idle console must not redraw every second.
                        if last.as_ref() != Some(&messages) {
                            last = Some(messages.clone());
                            if events.send(Event::Inbox(messages)).is_err() {
                                return;
                            }
                        }
                    }
                }
                tokio::time::sleep(every::INBOX).await;
            }
        });
    }

    /// Runs one command from the app.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    pub async fn handle(&mut self, command: Command) {
        if let Command::SwitchScenario(name) = &command {
            self.notice(false, format!("Switching the demo to {name}…"));
            if let Err(e) = self.start_demo(name).await {
                self.notice(true, format!("Cannot switch to {name}: {e}"));
            }
            return;
        }
        if let Command::SwitchContext(context) = &command {
            let what = context
                .as_deref()
                .map_or_else(|| "the demo".to_owned(), |c| format!("context {c}"));
            self.notice(false, format!("Switching to {what}…"));
            if let Err(e) = self.switch_context(context.as_deref()).await {
                self.notice(true, format!("Cannot switch to {what}: {e}"));
            }
            return;
        }
        let Some(p) = self.probes.clone() else {
            self.notice(true, "Nothing to probe yet");
            return;
        };
        match command {
            Command::ProbeAll => {
                self.notice(false, "Probing everything…");
                self.oneshots.spawn(async move {
                    let ecs_then_twilio = async {
                        p.read_ecs().await;
                        p.ask_twilio().await;
                    };
                    tokio::join!(
                        p.health(),
                        p.status_page(),
                        ecs_then_twilio,
                        p.read_network()
                    );
                });
            }
            Command::ProbeHealth => {
                self.oneshots.spawn(async move { p.health().await });
            }
            Command::RefreshAws => {
                self.notice(false, "Refreshing ECS, the network and CloudTrail…");
                self.oneshots.spawn(async move {
                    tokio::join!(p.read_ecs(), p.read_network());
                    p.read_cloudtrail().await;
                });
            }
            Command::DevLogin => {
                self.oneshots.spawn(async move { p.dev_login().await });
            }
            Command::OtpStart { phone } => {
                self.notice(
                    false,
                    format!(
                        "OTP start to {} in flight; /health is watched meanwhile",
                        crate::redact::phone(&phone)
                    ),
                );
                self.oneshots.spawn(async move {
                    let since = chrono::Utc::now().timestamp_millis();
                    // An OTP the API says it sent is followed to the phone (Messages status or
                    // Verify Attempts), each step one observation.
                    if p.otp_start(&phone, every::HEALTH_DURING_OTP).await {
                        p.follow_api_send(&phone, since, Backoff::CONSOLE).await;
                    }
                });
            }
            Command::TwilioSend { phone } => {
                self.notice(
                    false,
                    format!(
                        "Sending a test straight to Twilio for {} (Verify, or Messages in SMS mode); its delivery is followed",
                        crate::redact::phone(&phone)
                    ),
                );
                let events = self.events.clone();
                self.oneshots.spawn(async move {
                    if let Err(why) = p.send_test(&phone).await {
                        let _ = events.send(Event::Notice(Notice {
                            is_error: true,
                            text: format!("No test send: {why}"),
                        }));
                    }
                });
            }
            Command::Verify { phone, code } => {
                self.notice(false, "Verifying the code through the API…");
                self.oneshots
                    .spawn(async move { p.verify(&phone, &code).await });
            }
            Command::PlanRepair(_)
            | Command::ApplyRepair(_)
            | Command::PlanEgress
            | Command::ApplyEgress(_)
            | Command::ApplyAppRunner(_) => {
                let scale = if self.sim.is_some() {
                    self.time_scale
                } else {
                    1.0
                };
                let events = self.events.clone();
                self.oneshots.spawn(repair::run(p, command, events, scale));
            }
            Command::CompareWith(reference) => {
                let events = self.events.clone();
                self.oneshots.spawn(async move {
                    let result = p
                        .platform
                        .shown_revision(&reference)
                        .await
                        .map(Box::new)
                        .map_err(|e| e.message);
                    let _ = events.send(Event::Compared(result));
                });
            }
            Command::WriteReport(files) => {
                let events = self.events.clone();
                self.oneshots.spawn(async move {
                    let mut written = Vec::new();
                    for (path, text) in files {
                        if let Err(e) = tokio::fs::write(&path, text).await {
                            let _ = events.send(Event::Notice(Notice {
                                is_error: true,
                                text: format!(
                                    "Cannot write the report to {}: {e} (start with --report DIR/FILE to write elsewhere)",
                                    path.display()
                                ),
                            }));
                            return;
                        }
                        written.push(path.display().to_string());
                    }
                    let _ = events.send(Event::Notice(Notice {
                        is_error: false,
                        text: format!("Incident report written: {}", written.join(", ")),
                    }));
                });
            }
            Command::SwitchScenario(_) | Command::SwitchContext(_) | Command::Quit => {}
        }
        // Finished one-shots are reaped as new ones come.
        while self.oneshots.try_join_next().is_some() {}
    }

    /// Stops everything (the simulator too).
    pub async fn shutdown(mut self) {
        self.stop().await;
    }
}

/// The repairs the console runs: planned, applied and followed off the event loop.
mod repair;
