//! The one probe engine, below the console, `check` and the repair's verification: it owns the
//! probes of one target, runs a probe round once ([`Engine::spawn_round`], for `check` and the
//! verification after a repair) or on schedules ([`Engine::spawn_schedules`], for the console),
//! and owns the two policies the callers used to copy: where the Twilio credentials come from
//! (and what to say when there are none), and how logs are followed (the first poll is always
//! reported, so a quiet log group settles instead of "loading" forever).
//!
//! Every probe reports an [`Observation`] on the engine's channel each time it runs, an error
//! included: no pane waits on a probe that decided to stay silent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::{Config, TwilioCredentials as CredentialsFrom};
use crate::probe::cloudtrail::{CloudTrailProbe, Scope};
use crate::probe::http::{Class, Endpoint, HttpProbe};
use crate::probe::logs::live_tail::{self, Hot, LiveTail, HOT_FOR, HOT_GRACE};
use crate::probe::logs::{FollowMode, LogsFollower};
use crate::probe::metrics::MetricsProbe;
use crate::probe::network::NetworkProbe;
use crate::probe::platform::PlatformProbe;
use crate::probe::service_read::ServiceRead;
use crate::probe::traffic::{self as real_traffic, AccessLog, RealTraffic};
use crate::probe::twilio::delivery::{self, Backoff, Via};
use crate::probe::twilio::{self, CredentialsSeen, Fact, Track, TwilioProbe};
use crate::probe::{ErrorKind, Observation, ProbeError, System, TwilioCredentials};
use crate::sim;

/// How often each probe runs on its own in the console.
pub mod every {
    use std::time::Duration;

    pub const HEALTH: Duration = Duration::from_secs(5);
    pub const ECS: Duration = Duration::from_secs(20);
    /// The network path (security groups, ACLs, routes) changes rarely; a repair reads it at once.
    pub const NETWORK: Duration = Duration::from_secs(30);
    pub const TWILIO: Duration = Duration::from_secs(60);
    pub const STATUS_PAGE: Duration = Duration::from_secs(120);
    pub const LOGS: Duration = Duration::from_secs(2);
    pub const INBOX: Duration = Duration::from_secs(1);
    /// CloudTrail and Twilio's Monitor (CloudTrail delivers events minutes after the call).
    pub const CHANGES: Duration = Duration::from_secs(300);
    /// Real traffic: the access lines and the load balancer's metrics (1-minute resolution).
    pub const TRAFFIC: Duration = Duration::from_secs(60);
    /// Health probes while an OTP start is in flight.
    pub const HEALTH_DURING_OTP: Duration = Duration::from_millis(500);
}

/// How soon a `/health` that could not connect is probed again.
pub const HEALTH_CONFIRM: Duration = Duration::from_millis(500);
/// How long a `/health` or dev login probe may wait: an API that hangs is seen as a timeout
/// within seconds, and the next probe goes out on schedule.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an OTP start or verify may wait: past the load balancer's 60 s, so its 504 is seen.
pub const OTP_TIMEOUT: Duration = Duration::from_secs(75);
/// How long one Twilio call may wait.
pub const TWILIO_TIMEOUT: Duration = Duration::from_secs(15);
/// How far back logs are read when a target is first watched.
pub const LOGS_LOOKBACK_MS: i64 = 30 * 60_000;
/// How long after a test OTP start's answer its log lines may still be on their way (the
/// follower polls fast that long).
pub const OTP_LINES_GRACE: Duration = HOT_GRACE;

/// What the Twilio credentials are, as far as the engine knows: not looked for yet, found, or
/// why there are none.
type CredentialsState = Option<Result<TwilioCredentials, ProbeError>>;

/// The probes of one target and the channel they report on. Cheap to clone: every task holds
/// its own copy.
#[derive(Clone)]
pub struct Engine {
    pub config: Arc<Config>,
    pub sdk: Arc<aws_config::SdkConfig>,
    /// Where the service runs: ECS or App Runner, read into one shape.
    pub platform: PlatformProbe,
    pub network: NetworkProbe,
    pub twilio: TwilioProbe,
    pub cloudtrail: CloudTrailProbe,
    /// The deployed revision's resources, known once ECS has been read: what CloudTrail's
    /// changes must touch to be shown.
    scope: Arc<watch::Sender<Option<Scope>>>,
    /// The network resources on the service's path to Twilio (route tables, NAT gateways,
    /// NACLs), from the last EC2 read: CloudTrail's changes to them are the service's too.
    path_ids: Arc<std::sync::Mutex<Vec<String>>>,
    /// Real traffic: the backend's access lines and the load balancer.
    access: AccessLog,
    metrics: MetricsProbe,
    /// OTP start and verify, with [`OTP_TIMEOUT`].
    http: HttpProbe,
    /// `/health` and dev login, with [`HEALTH_TIMEOUT`].
    quick: HttpProbe,
    creds: Arc<watch::Sender<CredentialsState>>,
    /// The last SMS-mode test message per phone: its code and masked SID, so the code typed
    /// with `c` confirms receipt (the backend never knew that code).
    test_messages: Arc<std::sync::Mutex<std::collections::HashMap<String, (String, String)>>>,
    /// Open while a test OTP request (start or verify) is in flight: the log follower polls
    /// fast meanwhile, so that request's lines show without waiting for Live Tail's next update.
    hot: Hot,
    tx: mpsc::UnboundedSender<Observation>,
}

/// One round of probes, run once.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// Read ECS and follow the logs too (ECS is read anyway when the Twilio credentials come
    /// from the task definition).
    pub check_aws: bool,
    /// Send an OTP start to this phone, with `/health` watched while it is in flight.
    pub test_phone: Option<String>,
    /// Read logs from this time (ms since the epoch) instead of [`LOGS_LOOKBACK_MS`] back.
    pub logs_since_ms: Option<i64>,
}

impl Engine {
    /// The probes of `config`, reporting on `tx`.
    pub fn new(
        config: Config,
        sdk: aws_config::SdkConfig,
        tx: mpsc::UnboundedSender<Observation>,
    ) -> Result<Self, ProbeError> {
        let http = HttpProbe::new(&config.api, OTP_TIMEOUT)?;
        let quick = HttpProbe::new(&config.api, HEALTH_TIMEOUT)?;
        let twilio = TwilioProbe::new(&config.twilio, TWILIO_TIMEOUT)?;
        // One DescribeServices answer for the four probes that read the service.
        let described = ServiceRead::new(&sdk, &config.aws.cluster, &config.aws.service).shared();
        let platform = PlatformProbe::new(&sdk, &config, described.clone());
        let mut network = NetworkProbe::new(&sdk, &config.aws).sharing(described.clone());
        if let Some(apprunner) = platform.apprunner() {
            network = network.on_apprunner(apprunner.clone());
        }
        let access = AccessLog::new(&sdk, &config.aws);
        let metrics = MetricsProbe::new(&sdk, &config.aws).sharing(described.clone());
        let (creds, _) = watch::channel(None);
        let (scope, _) = watch::channel(None);
        let cloudtrail = CloudTrailProbe::new(&sdk).sharing(described);
        Ok(Self {
            cloudtrail,
            scope: Arc::new(scope),
            path_ids: Arc::default(),
            config: Arc::new(config),
            sdk: Arc::new(sdk),
            platform,
            network,
            twilio,
            access,
            metrics,
            http,
            quick,
            creds: Arc::new(creds),
            test_messages: Arc::default(),
            hot: Hot::new(),
            tx,
        })
    }

    fn send(&self, observation: Observation) {
        let _ = self.tx.send(observation);
    }

    /// Until when the log follower polls fast for a test OTP (`None`: no window open).
    pub fn hot_until(&self) -> Option<tokio::time::Instant> {
        *self.hot.watch().borrow()
    }

    fn twilio_fact(&self, fact: Fact) {
        self.send(Observation::Twilio {
            at_ms: now_ms(),
            fact,
        });
    }

    /// Whether the Twilio credentials come from the deployed task definition.
    fn uses_task_definition(&self) -> bool {
        self.config.twilio.credentials == CredentialsFrom::TaskDefinition
    }

    /// `GET /health`; a probe that could not connect is followed by a second one a moment
    /// later, so that an unreachable API is named from failures in a row
    /// ([`crate::diagnosis::UNHEALTHY_THRESHOLD`]), not from one sample.
    pub async fn health(&self) {
        let first = self
            .quick
            .request(Endpoint::Health, None, None, None, &self.tx)
            .await;
        if first.class.is_connection_failure() {
            tokio::time::sleep(HEALTH_CONFIRM).await;
            self.quick
                .request(Endpoint::Health, None, None, None, &self.tx)
                .await;
        }
    }

    /// The runbook's dev login (no Twilio behind it).
    pub async fn dev_login(&self) {
        self.quick
            .request(Endpoint::DevLogin, None, None, None, &self.tx)
            .await;
    }

    /// An OTP start to `phone`, with `/health` probed every `health_every` while it is in flight;
    /// whether Twilio may have been called: the API said it sent the code, or the load
    /// balancer gave up on it first (a blocked call may still have reached Twilio: its record
    /// is what the trace shows). The log follower polls fast from the send until a little
    /// after the answer.
    pub async fn otp_start(&self, phone: &str, health_every: Duration) -> bool {
        self.hot.open(HOT_FOR);
        let class = self
            .http
            .otp_start_watching_health(phone, health_every, &self.tx)
            .await
            .class;
        self.hot.settle(HOT_GRACE);
        class.is_ok() || class == Class::GatewayTimeout
    }

    /// Verifies `code` for `phone` through the API.
    /// The code of the console's own SMS-mode test message confirms its receipt instead (it is
    /// not a login code).
    pub async fn verify(&self, phone: &str, code: &str) {
        let sent = self
            .test_messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(phone)
            .cloned();
        if let Some((expected, sid)) = sent {
            if expected == code {
                self.twilio_fact(Fact::Check(Ok(twilio::Verification {
                    sid,
                    status: "approved".into(),
                    to: crate::redact::phone(phone),
                    valid: true,
                })));
                return;
            }
        }
        self.hot.open(HOT_FOR);
        self.http
            .request(Endpoint::OtpVerify, Some(phone), Some(code), None, &self.tx)
            .await;
        self.hot.settle(HOT_GRACE);
    }

    /// Twilio's public status page (needs no credentials).
    pub async fn status_page(&self) {
        let fact = self.twilio.status_page().await;
        self.twilio_fact(fact);
    }

    /// Reads ECS once and reports it; when the Twilio credentials come from the task
    /// definition, reports what it holds and makes them (or why there are none) the current
    /// ones.
    pub async fn read_ecs(&self) {
        let found = match self.platform.snapshot().await {
            Ok((snapshot, creds, seen)) => {
                let scope = Scope::from_snapshot(&snapshot, &self.config.aws.cluster);
                self.scope.send_if_modified(|current| {
                    let changed = current.as_ref() != Some(&scope);
                    *current = Some(scope);
                    changed
                });
                self.send(Observation::Ecs {
                    at_ms: now_ms(),
                    result: Ok(Box::new(snapshot)),
                });
                let found = creds.ok_or_else(|| missing_from_task_definition(&seen));
                if self.uses_task_definition() {
                    self.twilio_fact(Fact::Credentials(seen));
                }
                found
            }
            Err(e) => {
                let why = unreadable_task_definition(&e);
                self.send(Observation::Ecs {
                    at_ms: now_ms(),
                    result: Err(e),
                });
                Err(why)
            }
        };
        if !self.uses_task_definition() {
            return;
        }
        self.creds.send_if_modified(|current| {
            let changed = current.as_ref() != Some(&found);
            if changed {
                *current = Some(found);
            }
            changed
        });
    }

    /// Reads the service's network path to Twilio from EC2 once and reports it.
    pub async fn read_network(&self) {
        let result = self.network.path().await.map(Box::new);
        if let Ok(path) = &result {
            let ids = path_ids(path);
            if let Ok(mut known) = self.path_ids.lock() {
                *known = ids;
            }
        }
        self.send(Observation::Network {
            at_ms: now_ms(),
            result,
        });
    }

    /// The Twilio credentials to use now, or why there are none (in one line that says where
    /// the console looked and how to provide them). From the task definition, ECS is read
    /// first if it has not been yet.
    pub async fn twilio_credentials(&self) -> Result<TwilioCredentials, ProbeError> {
        let found = self.find_twilio_credentials().await;
        if let Ok(creds) = &found {
            // From now on masked wherever text is sanitised, in every disguise.
            crate::redact::register([&creds.account_sid, &creds.auth_token]);
        }
        found
    }

    async fn find_twilio_credentials(&self) -> Result<TwilioCredentials, ProbeError> {
        if !self.uses_task_definition() {
            if let Some(creds) = twilio::credentials_from_env() {
                self.twilio_fact(twilio::credentials_seen(&creds));
                return Ok(creds);
            }
            // The pane's credentials row says what is missing instead of "checking…".
            self.twilio_fact(twilio::credentials_missing_from_env());
            return Err(no_credentials(
                "no Twilio credentials in the console's environment: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (twilio.credentials = \"environment\"), or use credentials = \"task-definition\"",
            ));
        }
        if self.creds.borrow().is_none() {
            self.read_ecs().await;
        }
        self.creds
            .borrow()
            .clone()
            .unwrap_or_else(|| Err(no_credentials("the task definition has not been read yet")))
    }

    /// Asks Twilio for the account and the Verify service with the service's credentials, and
    /// in SMS mode (`OTP_PROVIDER=twilio_sms`) for the From number among the account's
    /// numbers; with no credentials, reports the account and service as not checkable, with
    /// the reason.
    pub async fn ask_twilio(&self) {
        match self.twilio_credentials().await {
            Ok(creds) => {
                let sender = async {
                    if creds.is_sms() {
                        Some(self.twilio.sender(&creds).await)
                    } else {
                        None
                    }
                };
                // An SMS deployment may have no Verify service at all: not a failure.
                let service = async {
                    if creds.is_sms() && creds.verify_service_sid.is_none() {
                        Fact::Service(Err(ProbeError {
                            system: System::Twilio,
                            kind: ErrorKind::Api,
                            code: None,
                            message: "not used: OTP_PROVIDER=twilio_sms sends from OTP_FROM_NUMBER"
                                .into(),
                        }))
                    } else {
                        self.twilio.service(&creds).await
                    }
                };
                let recent = async {
                    if creds.otp_provider.as_deref() == Some("stub") {
                        None
                    } else {
                        Some(self.twilio.recent_sms(&creds, now_ms()).await)
                    }
                };
                let (account, service, sender, recent) =
                    tokio::join!(self.twilio.account(&creds), service, sender, recent);
                // The From number and the recent sends first: `check` concludes once the
                // account and the service are in, so these must be in by then.
                if let Some(sender) = sender {
                    self.twilio_fact(sender);
                }
                if let Some(recent) = recent {
                    self.twilio_fact(recent);
                }
                self.twilio_fact(account);
                self.twilio_fact(service);
            }
            Err(why) => {
                self.twilio_fact(Fact::Account(Err(why.clone())));
                self.twilio_fact(Fact::Service(Err(why)));
            }
        }
    }

    /// A test send straight to Twilio the way the deployed provider sends (Messages API for
    /// `twilio_sms`, Verify otherwise), then its delivery followed to a final state; an error
    /// line when there are no credentials.
    pub async fn send_test(&self, phone: &str) -> Result<(), String> {
        let creds = self.twilio_credentials().await.map_err(|e| e.message)?;
        let (fact, track) = self.twilio.send_tracked(&creds, phone).await;
        if let (Fact::Send(Ok(sent)), Some(code)) =
            (&fact, track.as_ref().and_then(|t| t.test_code.clone()))
        {
            self.test_messages
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(phone.to_owned(), (code, sent.sid.clone()));
        }
        self.twilio_fact(fact);
        if let Some(track) = track {
            self.follow_delivery(&creds, &track, Backoff::CONSOLE).await;
        }
        Ok(())
    }

    /// Follows `track` to its final delivery state, reporting each step.
    async fn follow_delivery(&self, creds: &TwilioCredentials, track: &Track, backoff: Backoff) {
        delivery::follow(
            backoff,
            |_| self.twilio.delivery(creds, track),
            |step| self.twilio_fact(Fact::Delivery(step)),
        )
        .await;
    }

    /// Follows the delivery of the OTP the API sent to `phone` since `since_ms`: the newest
    /// message to it (`twilio_sms`) or Verify attempt (`twilio_verify`). Reports one line
    /// saying why when there is nothing to follow (no credentials, a stub provider).
    pub async fn follow_api_send(&self, phone: &str, since_ms: i64, backoff: Backoff) {
        let creds = match self.twilio_credentials().await {
            Ok(creds) => creds,
            Err(e) => {
                self.twilio_fact(Fact::Delivery(Err(e)));
                return;
            }
        };
        let via = match creds.otp_provider.as_deref() {
            Some("twilio_sms") => Via::Messages,
            Some("stub") => {
                self.twilio_fact(Fact::Delivery(Err(ProbeError {
                    system: System::Twilio,
                    kind: ErrorKind::NotFound,
                    code: None,
                    message: "OTP_PROVIDER=stub sends no SMS: no delivery to follow".into(),
                })));
                return;
            }
            _ => Via::VerifyAttempts,
        };
        let track = Track {
            via,
            phone: phone.to_owned(),
            sid: None,
            since_ms,
            test_code: None,
        };
        self.follow_delivery(&creds, &track, backoff).await;
    }

    /// The window of the changes timeline, from the config (validated when it was loaded).
    fn changes_window_ms(&self) -> i64 {
        self.config.changes.window_ms().unwrap_or(48 * 3_600_000)
    }

    /// Reads what CloudTrail recorded on the service's resources over the window and reports
    /// it. The resources come from the deployed revision: ECS is read first when it has not
    /// been, and when it cannot be read, that is the answer.
    pub async fn read_cloudtrail(&self) {
        if self.scope.borrow().is_none() {
            self.read_ecs().await;
        }
        let scope = self.scope.borrow().clone();
        let now = now_ms();
        let result = match scope {
            Some(mut scope) => {
                // An ECS service's network and task role; App Runner's scope is the snapshot's.
                if self.platform.apprunner().is_none() {
                    self.cloudtrail
                        .complete(&mut scope, &self.config.aws.cluster, &self.config.aws.service)
                        .await;
                }
                // The path's route tables, NAT gateways and ACLs: read the network first when
                // it has not been (a lost default route is a change to the service too).
                if self.path_ids.lock().map_or(true, |ids| ids.is_empty()) {
                    Box::pin(self.read_network()).await;
                }
                if let Ok(ids) = self.path_ids.lock() {
                    for id in ids.iter() {
                        if !scope.network.contains(id) {
                            scope.network.push(id.clone());
                        }
                    }
                }
                self.cloudtrail
                    .lookup(&scope, now - self.changes_window_ms(), now)
                    .await
            }
            None => Err(ProbeError {
                system: System::CloudTrail,
                kind: ErrorKind::NotFound,
                code: None,
                message: "CloudTrail not read: the deployed revision could not be read from ECS, so the service's resources are unknown (see ECS)".into(),
            }),
        };
        self.send(crate::probe::cloudtrail::observation(now_ms(), result));
    }

    /// Reads Twilio's Monitor (events and alerts) over the window with the credentials the
    /// service uses, and reports it; with no credentials, why.
    pub async fn read_twilio_monitor(&self) {
        let now = now_ms();
        let result = match self.twilio_credentials().await {
            Ok(creds) => {
                self.twilio
                    .monitor(&creds, now - self.changes_window_ms())
                    .await
            }
            Err(why) => Err(why),
        };
        self.send(Observation::Changes {
            at_ms: now_ms(),
            origin: crate::probe::changes::Origin::TwilioMonitor,
            result,
        });
    }

    /// Reads what real users got over the last hour (the access lines and the load balancer,
    /// at once) and reports it.
    pub async fn read_traffic(&self) {
        let to_ms = now_ms();
        let from_ms = to_ms - real_traffic::WINDOW_MS;
        // App Runner's front end is its own: no load balancer of the account to read.
        let on_ecs = self.platform.apprunner().is_none();
        let (access, load_balancer) = tokio::join!(
            self.access.read(from_ms, to_ms),
            Box::pin(async {
                if on_ecs {
                    self.metrics.read(from_ms, to_ms).await
                } else {
                    None
                }
            })
        );
        self.send(Observation::Traffic {
            at_ms: now_ms(),
            traffic: Box::new(RealTraffic {
                from_ms,
                to_ms,
                access,
                load_balancer,
            }),
        });
    }

    /// Follows the service's logs from `since_ms`, polling every `every`, until the channel
    /// closes. The policy of [`LogsFollower::follow`]: the first answer and the first good
    /// answer after an error are always reported, later empty polls are not.
    pub async fn follow_logs(&self, since_ms: i64, every: Duration) {
        LogsFollower::new(&self.sdk, &self.config.aws, since_ms)
            .announcing(FollowMode::Polling {
                why: Some(format!(
                    "polling FilterLogEvents every {} ms (a one-shot run opens no Live Tail session)",
                    every.as_millis()
                )),
            })
            .follow(every, self.tx.clone())
            .await;
    }

    /// Follows the service's logs from `since_ms` by Live Tail (the console's way), polling
    /// every `every` when Live Tail cannot be used; the first report says which and why. While
    /// a test OTP is in flight ([`Engine::otp_start`], [`Engine::verify`]) it also polls fast.
    pub async fn follow_logs_live(&self, since_ms: i64, every: Duration) {
        live_tail::follow(
            LiveTail::new(&self.sdk, &self.config.aws).with_hot(self.hot.watch()),
            // Pages of 1,000 instead of the service's 10,000: a backfill over a burst holds a
            // tenth as much at a time (README, "Speed: following logs").
            LogsFollower::new(&self.sdk, &self.config.aws, since_ms).with_page_size(1_000),
            every,
            self.tx.clone(),
        )
        .await;
    }

    /// One round of every probe, once, as tasks in `tasks`: the API (a health baseline, dev
    /// login, then the OTP start with health watched), Twilio's status page, ECS then Twilio
    /// with the credentials the service uses, and (with `check_aws`) the logs, followed until
    /// the caller aborts the tasks.
    pub fn spawn_round(&self, tasks: &mut JoinSet<()>, round: &Round) {
        let e = self.clone();
        let phone = round.test_phone.clone();
        tasks.spawn(async move {
            e.health().await;
            e.dev_login().await;
            if let Some(phone) = phone {
                let since = now_ms();
                if e.otp_start(&phone, Duration::from_millis(250)).await {
                    e.follow_api_send(&phone, since, Backoff::CHECK).await;
                }
            }
        });
        let e = self.clone();
        tasks.spawn(async move { e.status_page().await });
        let e = self.clone();
        let reads_ecs = round.check_aws || self.uses_task_definition();
        tasks.spawn(async move {
            if reads_ecs {
                e.read_ecs().await;
            }
            e.ask_twilio().await;
        });
        if round.check_aws {
            let e = self.clone();
            tasks.spawn(async move { e.read_cloudtrail().await });
            let e = self.clone();
            tasks.spawn(async move { e.read_twilio_monitor().await });
            let e = self.clone();
            tasks.spawn(async move { e.read_network().await });
        }
        if round.check_aws {
            let e = self.clone();
            tasks.spawn(async move { Box::pin(e.read_traffic()).await });
            let e = self.clone();
            let since = round
                .logs_since_ms
                .unwrap_or_else(|| now_ms() - LOGS_LOOKBACK_MS);
            tasks.spawn(async move { e.follow_logs(since, Duration::from_millis(500)).await });
        }
    }

    /// The console's schedules, as tasks in `tasks`: health, ECS, Twilio (asked again at once
    /// when the task definition's credentials change), the status page and the logs.
    pub fn spawn_schedules(&self, tasks: &mut JoinSet<()>) {
        let e = self.clone();
        tasks.spawn(async move {
            loop {
                e.health().await;
                tokio::time::sleep(every::HEALTH).await;
            }
        });
        let e = self.clone();
        tasks.spawn(async move {
            loop {
                e.read_ecs().await;
                tokio::time::sleep(every::ECS).await;
            }
        });
        let e = self.clone();
        tasks.spawn(async move {
            loop {
                e.read_network().await;
                tokio::time::sleep(every::NETWORK).await;
            }
        });
        let e = self.clone();
        tasks.spawn(async move {
            let mut changed = e.creds.subscribe();
            loop {
                e.ask_twilio().await;
                changed.mark_unchanged();
                tokio::select! {
                    () = tokio::time::sleep(every::TWILIO) => {}
                    result = changed.changed() => if result.is_err() { return },
                }
            }
        });
        let e = self.clone();
        tasks.spawn(async move {
            loop {
                e.status_page().await;
                tokio::time::sleep(every::STATUS_PAGE).await;
            }
        });
        let e = self.clone();
        tasks.spawn(async move {
            loop {
                Box::pin(e.read_traffic()).await;
                tokio::time::sleep(every::TRAFFIC).await;
            }
        });
        let e = self.clone();
        tasks.spawn(async move {
            e.follow_logs_live(now_ms() - LOGS_LOOKBACK_MS, every::LOGS)
                .await;
        });
        let e = self.clone();
        tasks.spawn(async move {
            loop {
                tokio::join!(e.read_cloudtrail(), e.read_twilio_monitor());
                tokio::time::sleep(every::CHANGES).await;
            }
        });
    }
}

/// A Twilio check that cannot be made for want of credentials.
fn no_credentials(message: &str) -> ProbeError {
    ProbeError {
        system: System::Twilio,
        kind: ErrorKind::Credentials,
        code: Some("NoCredentials".into()),
        message: message.into(),
    }
}

/// Why the task definition, read, gives no usable Twilio credentials.
fn missing_from_task_definition(seen: &CredentialsSeen) -> ProbeError {
    match (&seen.token_value_from, &seen.account_sid, seen.has_auth_token) {
        (Some(from), _, _) => no_credentials(&format!(
            "the auth token comes from a secret the console could not read ({from}; see the env pane) — fix the secret or the operator's access, or run with twilio.credentials = \"environment\" and TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN set"
        )),
        (None, None, _) => no_credentials(
            "the deployed task definition has no TWILIO_ACCOUNT_SID: nothing to ask Twilio with (see the env pane)",
        ),
        _ => no_credentials(
            "the deployed task definition has no TWILIO_AUTH_TOKEN: nothing to ask Twilio with (see the env pane)",
        ),
    }
}

/// Why there are no Twilio credentials when ECS could not be read.
fn unreadable_task_definition(ecs: &ProbeError) -> ProbeError {
    let cause = match ecs.kind {
        ErrorKind::Credentials => "no usable AWS credentials",
        ErrorKind::NotFound => "the cluster or service was not found",
        ErrorKind::Unreachable | ErrorKind::Timeout => "AWS could not be reached",
        _ => "ECS answered with an error",
    };
    no_credentials(&format!(
        "no Twilio credentials: the task definition could not be read ({cause}; see ECS) — fix AWS access, or set twilio.credentials = \"environment\" with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    ))
}

/// The demo's AWS configuration: the simulator's endpoint and its static credentials.
pub async fn demo_sdk_config(config: &Config) -> aws_config::SdkConfig {
    static_sdk_config(config, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY).await
}

/// An AWS configuration with static credentials and the config's region and endpoint.
pub async fn static_sdk_config(config: &Config, key: &str, secret: &str) -> aws_config::SdkConfig {
    let credentials =
        aws_sdk_ecs::config::Credentials::new(key, secret, None, None, "otp-console-static");
    let mut loader = crate::probe::aws::loader()
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

/// The EC2 resource ids a network path names (`sg-`, `subnet-`, `rtb-`, `nat-`, `acl-`,
/// `igw-`), from its hops and its NAT gateways.
fn path_ids(path: &crate::network::Path) -> Vec<String> {
    const PREFIXES: [&str; 6] = ["sg-", "subnet-", "rtb-", "nat-", "acl-", "igw-"];
    let mut ids: Vec<String> = Vec::new();
    let texts = path
        .hops
        .iter()
        .flat_map(|h| [h.resource.as_str(), h.detail.as_str()])
        .chain(path.nats.iter().map(String::as_str));
    for text in texts {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if PREFIXES
                .iter()
                .any(|p| word.starts_with(p) && word.len() > p.len())
                && !ids.iter().any(|id| id == word)
            {
                ids.push(word.to_owned());
            }
        }
    }
    ids
}

/// How long the start waits for the container's log group before using the fallback.
const LOG_GROUP_WAIT: Duration = Duration::from_secs(3);

/// With no `aws.log_group` configured: the one the deployed app container's `logConfiguration`
/// names (DescribeServices, DescribeTaskDefinition), set in `config` with its region when that
/// is not the service's (`awslogs-region`), or `/ecs/<service>` when
/// it names none or cannot be read within [`LOG_GROUP_WAIT`] (the ECS pane then says why).
/// Returns where it came from, in a few words.
pub async fn resolve_log_group(config: &mut Config, sdk: &aws_config::SdkConfig) -> &'static str {
    // An App Runner service named by its name: its ARN, for every call and printed command.
    if let PlatformProbe::AppRunner(probe) =
        PlatformProbe::new(sdk, config, ServiceRead::new(sdk, "", ""))
    {
        if let Ok(Ok(arn)) = tokio::time::timeout(LOG_GROUP_WAIT, probe.arn()).await {
            config.aws.service = arn;
        }
    }
    if !config.aws.log_group.is_empty() {
        return "the config";
    }
    let described = ServiceRead::new(sdk, &config.aws.cluster, &config.aws.service);
    let probe = PlatformProbe::new(sdk, config, described);
    let read = tokio::time::timeout(LOG_GROUP_WAIT, probe.log_group()).await;
    if let Ok(Ok(Some((group, region)))) = read {
        config.aws.log_group = group;
        // A group in another region than the service's is read there.
        if config.aws.log_region.is_none() {
            config.aws.log_region = region.filter(|r| *r != config.aws.region);
        }
        match probe {
            PlatformProbe::Ecs(_) => "the container's logConfiguration",
            PlatformProbe::AppRunner(_) => "App Runner's application log group",
        }
    } else {
        config.aws.log_group = config.aws.fallback_log_group();
        "the default /ecs/<service>"
    }
}
