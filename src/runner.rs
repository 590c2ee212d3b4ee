//! Turns [`Command`]s into tokio tasks whose results come back as [`Event`]s, and keeps the
//! probes running on their schedules: health every 5 s, ECS every 20 s, Twilio every 60 s,
//! the status page every 2 min, logs followed every 2 s, and in the demo the demo phone's
//! inbox every second. The only state shared with tasks is the Twilio credentials found in the
//! task definition, passed through a watch channel (never drawn, never logged).
//! In the demo the runner owns the embedded simulator and can switch its scenario live.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::app::Command;
use crate::config::{Config, TwilioCredentials as CredentialsFrom};
use crate::event::{Event, Notice, RepairUpdate, Sms, Target};
use crate::probe::ecs::EcsProbe;
use crate::probe::http::{Endpoint, HttpProbe};
use crate::probe::logs::LogsFollower;
use crate::probe::twilio::{self, Fact, TwilioProbe};
use crate::probe::{Observation, TwilioCredentials};
use crate::repair::{FollowOptions, Repairer};
use crate::sim::{self, scenario, Ports, Simulator};

/// How often each probe runs on its own.
pub mod every {
    use std::time::Duration;

    pub const HEALTH: Duration = Duration::from_secs(5);
    pub const ECS: Duration = Duration::from_secs(20);
    pub const TWILIO: Duration = Duration::from_secs(60);
    pub const STATUS_PAGE: Duration = Duration::from_secs(120);
    pub const LOGS: Duration = Duration::from_secs(2);
    pub const INBOX: Duration = Duration::from_secs(1);
    /// Health probes while an OTP start is in flight.
    pub const HEALTH_DURING_OTP: Duration = Duration::from_millis(500);
}

/// The probes of one target.
#[derive(Clone)]
struct Probes {
    config: Config,
    http: HttpProbe,
    twilio: TwilioProbe,
    ecs: EcsProbe,
    sdk: Arc<aws_config::SdkConfig>,
    creds: watch::Receiver<Option<TwilioCredentials>>,
    creds_tx: Arc<watch::Sender<Option<TwilioCredentials>>>,
    observations: mpsc::UnboundedSender<Observation>,
}

/// Runs commands and schedules for the console.
pub struct Runner {
    events: mpsc::UnboundedSender<Event>,
    probes: Option<Probes>,
    /// The scheduled loops of the current target.
    schedules: JoinSet<()>,
    /// One-shot commands in flight.
    oneshots: JoinSet<()>,
    sim: Option<Simulator>,
    time_scale: f64,
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
        let config = sim::run::config_for(&sim.urls, sim.scenario());
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
        self.stop().await;
        let sdk = crate::probe::aws::sdk_config(&config.aws).await;
        self.watch(config, sdk, None, Vec::new())
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
        let http = HttpProbe::new(&config.api, Duration::from_secs(90)).map_err(|e| e.message)?;
        let twilio =
            TwilioProbe::new(&config.twilio, Duration::from_secs(15)).map_err(|e| e.message)?;
        let ecs = EcsProbe::new(&sdk, &config.aws, &config.rules);
        let (creds_tx, creds) = watch::channel(None);
        let (observations, mut rx) = mpsc::unbounded_channel::<Observation>();
        let events = self.events.clone();
        // Observations reach the app as events, in the order they were made.
        self.schedules.spawn(async move {
            while let Some(o) = rx.recv().await {
                if events.send(Event::Observed(o)).is_err() {
                    return;
                }
            }
        });
        let _ = self.events.send(Event::Target(Target {
            demo_scenario: demo,
            api: config.api.base_url.clone(),
            test_phone: config.api.test_phone.clone(),
            secrets,
        }));
        let probes = Probes {
            config,
            http,
            twilio,
            ecs,
            sdk: Arc::new(sdk),
            creds,
            creds_tx: Arc::new(creds_tx),
            observations,
        };
        self.spawn_schedules(&probes);
        self.probes = Some(probes);
        Ok(())
    }

    fn spawn_schedules(&mut self, p: &Probes) {
        let q = p.clone();
        self.schedules.spawn(async move {
            loop {
                q.http
                    .request(Endpoint::Health, None, None, false, &q.observations)
                    .await;
                tokio::time::sleep(every::HEALTH).await;
            }
        });
        let q = p.clone();
        self.schedules.spawn(async move {
            loop {
                read_ecs(&q).await;
                tokio::time::sleep(every::ECS).await;
            }
        });
        let mut q = p.clone();
        self.schedules.spawn(async move {
            loop {
                // Twilio is asked with the credentials the service uses, once they are known.
                let creds = match q.config.twilio.credentials {
                    CredentialsFrom::Environment => {
                        let creds = twilio::credentials_from_env();
                        if let Some(c) = &creds {
                            let _ = q.observations.send(Observation::Twilio {
                                at_ms: now_ms(),
                                fact: twilio::credentials_seen(c),
                            });
                        }
                        creds
                    }
                    CredentialsFrom::TaskDefinition => {
                        let known = q.creds.borrow().is_some();
                        if !known && q.creds.changed().await.is_err() {
                            return;
                        }
                        q.creds.borrow().clone()
                    }
                };
                if let Some(creds) = creds {
                    ask_twilio(&q, &creds).await;
                }
                tokio::time::sleep(every::TWILIO).await;
            }
        });
        let q = p.clone();
        self.schedules.spawn(async move {
            loop {
                let fact = q.twilio.status_page().await;
                let _ = q.observations.send(Observation::Twilio {
                    at_ms: now_ms(),
                    fact,
                });
                tokio::time::sleep(every::STATUS_PAGE).await;
            }
        });
        let q = p.clone();
        self.schedules.spawn(async move {
            let follower = LogsFollower::new(&q.sdk, &q.config.aws, now_ms() - 30 * 60_000);
            follower.follow(every::LOGS, q.observations.clone()).await;
        });
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
    pub async fn handle(&mut self, command: Command) {
        if let Command::SwitchScenario(name) = &command {
            self.notice(false, format!("Switching the demo to {name}…"));
            if let Err(e) = self.start_demo(name).await {
                self.notice(true, format!("Cannot switch to {name}: {e}"));
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
                    let health =
                        p.http
                            .request(Endpoint::Health, None, None, false, &p.observations);
                    let status = async {
                        let fact = p.twilio.status_page().await;
                        let _ = p.observations.send(Observation::Twilio {
                            at_ms: now_ms(),
                            fact,
                        });
                    };
                    let ecs_then_twilio = async {
                        read_ecs(&p).await;
                        let creds = p.creds.borrow().clone();
                        if let Some(creds) = creds {
                            ask_twilio(&p, &creds).await;
                        }
                    };
                    tokio::join!(health, status, ecs_then_twilio);
                });
            }
            Command::ProbeHealth => {
                self.oneshots.spawn(async move {
                    p.http
                        .request(Endpoint::Health, None, None, false, &p.observations)
                        .await;
                });
            }
            Command::RefreshAws => {
                self.notice(false, "Refreshing ECS…");
                self.oneshots.spawn(async move { read_ecs(&p).await });
            }
            Command::DevLogin => {
                self.oneshots.spawn(async move {
                    p.http
                        .request(Endpoint::DevLogin, None, None, false, &p.observations)
                        .await;
                });
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
                    p.http
                        .otp_start_watching_health(
                            &phone,
                            every::HEALTH_DURING_OTP,
                            &p.observations,
                        )
                        .await;
                });
            }
            Command::TwilioSend { phone } => {
                let creds = p
                    .creds
                    .borrow()
                    .clone()
                    .or_else(twilio::credentials_from_env);
                let Some(creds) = creds else {
                    self.notice(true, "No Twilio credentials yet: the task definition has not been read, or has none");
                    return;
                };
                self.notice(
                    false,
                    format!(
                        "Sending a test straight to Twilio Verify for {}",
                        crate::redact::phone(&phone)
                    ),
                );
                self.oneshots.spawn(async move {
                    let fact = p.twilio.send(&creds, &phone).await;
                    let _ = p.observations.send(Observation::Twilio {
                        at_ms: now_ms(),
                        fact,
                    });
                });
            }
            Command::Verify { phone, code } => {
                self.notice(false, "Verifying the code through the API…");
                self.oneshots.spawn(async move {
                    p.http
                        .request(
                            Endpoint::OtpVerify,
                            Some(&phone),
                            Some(&code),
                            false,
                            &p.observations,
                        )
                        .await;
                });
            }
            Command::PlanRepair(repair) => {
                let events = self.events.clone();
                self.oneshots.spawn(async move {
                    let repairer = Repairer::new(&p.sdk, &p.config);
                    let planned = repairer.plan(&repair).await.map(Box::new).map_err(|e| e.0);
                    let _ = events.send(Event::Repair(RepairUpdate::Planned(planned)));
                });
            }
            Command::ApplyRepair(plan) => {
                let events = self.events.clone();
                let follow = FollowOptions::scaled(if self.sim.is_some() {
                    self.time_scale
                } else {
                    1.0
                });
                self.oneshots.spawn(async move {
                    let repairer = Repairer::new(&p.sdk, &p.config);
                    let applied = match Box::pin(repairer.apply(&plan)).await {
                        Ok(applied) => applied,
                        Err(e) => {
                            let _ = events.send(Event::Repair(RepairUpdate::Applied(Err(e.0))));
                            return;
                        }
                    };
                    let _ = events.send(Event::Repair(RepairUpdate::Applied(Ok(applied.clone()))));
                    let rollout = repairer
                        .follow(&plan, &applied, &follow, |event| {
                            let _ =
                                events.send(Event::Repair(RepairUpdate::Rollout(event.clone())));
                        })
                        .await;
                    let _ = events.send(Event::Repair(RepairUpdate::Finished(Box::new(rollout))));
                });
            }
            Command::CompareWith(reference) => {
                let events = self.events.clone();
                self.oneshots.spawn(async move {
                    let result = p
                        .ecs
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
            Command::SwitchScenario(_) | Command::Quit => {}
        }
        // Finished one-shots are reaped as new ones come.
        while self.oneshots.try_join_next().is_some() {}
    }

    /// Stops everything (the simulator too).
    pub async fn shutdown(mut self) {
        self.stop().await;
    }
}

async fn read_ecs(p: &Probes) {
    let creds = read_ecs_once(&p.ecs, p.config.twilio.credentials, &p.observations).await;
    if p.config.twilio.credentials == CredentialsFrom::TaskDefinition {
        p.creds_tx.send_if_modified(|current| {
            let changed = *current != creds;
            current.clone_from(&creds);
            changed
        });
    }
}

async fn ask_twilio(p: &Probes, creds: &TwilioCredentials) {
    ask_twilio_once(&p.twilio, creds, &p.observations).await;
}

/// Reads ECS once and reports it; returns the Twilio credentials of the deployed task
/// definition when those are the ones to use (`credentials = "task-definition"`).
pub async fn read_ecs_once(
    ecs: &EcsProbe,
    from: CredentialsFrom,
    tx: &mpsc::UnboundedSender<Observation>,
) -> Option<TwilioCredentials> {
    match ecs.snapshot().await {
        Ok((snapshot, creds, seen)) => {
            let _ = tx.send(Observation::Ecs {
                at_ms: now_ms(),
                result: Ok(Box::new(snapshot)),
            });
            if from == CredentialsFrom::TaskDefinition {
                let _ = tx.send(Observation::Twilio {
                    at_ms: now_ms(),
                    fact: Fact::Credentials(seen),
                });
                return creds;
            }
            None
        }
        Err(e) => {
            let _ = tx.send(Observation::Ecs {
                at_ms: now_ms(),
                result: Err(e),
            });
            None
        }
    }
}

/// Asks Twilio for the account and the Verify service with `creds`, reporting both.
pub async fn ask_twilio_once(
    twilio: &TwilioProbe,
    creds: &TwilioCredentials,
    tx: &mpsc::UnboundedSender<Observation>,
) {
    let (account, service) = tokio::join!(twilio.account(creds), twilio.service(creds));
    let _ = tx.send(Observation::Twilio {
        at_ms: now_ms(),
        fact: account,
    });
    let _ = tx.send(Observation::Twilio {
        at_ms: now_ms(),
        fact: service,
    });
}

/// The demo's AWS configuration: the simulator's endpoint and its static credentials.
pub async fn demo_sdk_config(config: &Config) -> aws_config::SdkConfig {
    static_sdk_config(config, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY).await
}

/// An AWS configuration with static credentials and the config's region and endpoint.
pub async fn static_sdk_config(config: &Config, key: &str, secret: &str) -> aws_config::SdkConfig {
    let credentials =
        aws_sdk_ecs::config::Credentials::new(key, secret, None, None, "otp-console-static");
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(config.aws.region.clone()))
        .credentials_provider(credentials);
    if let Some(url) = &config.aws.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
