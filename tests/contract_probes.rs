//! Contract tests of the console's OWN AWS code — [`EcsProbe::snapshot`], [`LogsFollower`] and
//! the [`Repairer`]'s plan + apply — with one test body each, run against the simulator
//! (`contract_sim_*`) and against moto's server (`contract_moto_*`), an independent ECS and
//! CloudWatch Logs. `tests/contract_aws.rs` pins the raw protocol; this file pins what the
//! console makes of it. `bash tests/run.sh` installs moto.
//!
//! The simulator runs its scenarios (`missing-env-vars`: today's revision 42 lost
//! `TWILIO_VERIFY_SERVICE_SID` and moved `LOG_LEVEL` to `WARNING`). moto is seeded through the
//! SDK with the same scenario's two registrations as revisions 1 and 2, the service, and a log
//! group whose lines this file writes. Where moto is not AWS (EMULATORS.md), the test says so
//! and keeps the assertion for the simulator:
//! - moto never rolls out: no `rolloutState`, `runningCount` 0, no tasks, `events` empty, and
//!   its one deployment keeps the task definition the service was created with (UpdateService
//!   only changes the service's `taskDefinition`, echoing `family:revision` if given that). So
//!   moto's service is created on today's revision directly, as after a finished deployment.
//! - no `registeredAt` on task definitions.
//! - FilterLogEvents does not interleave streams (each stream's events in turn; AWS always
//!   interleaves): the follower's own ordering is what makes the answer ordered.
//!
//! moto runs the revisions with launch type EC2 and `bridge` networking (an awsvpc service in
//! moto needs EC2 subnet and security-group lookups); nothing checked here depends on that.

#[path = "contract_support/emulator.rs"]
mod emulator;
#[path = "contract_support/moto.rs"]
mod moto;

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use moto::Registration;
use otp_console::config::{Config, VarStatus, ViolationKind};
use otp_console::probe::ecs::{family_revision, Change, EcsProbe, SecretRef};
use otp_console::probe::logs::{Batch, LineKind, LogsFollower};
use otp_console::probe::CredentialSource;
use otp_console::redact;
use otp_console::repair::{FollowOptions, Repair, Repairer, RolloutState, Target};
use otp_console::sim::{self, scenario, scenario::Scenario, Ports, Simulator};

/// The scenario whose two revisions differ as an incident's do.
const ECS_SCENARIO: &str = "missing-env-vars";
/// A scenario where an OTP start succeeds and logs `OTP sent successfully`.
const LOGS_SCENARIO: &str = "healthy";
const SCALE: f64 = 0.05;
const FAMILY: &str = "nerava-backend";
const MISSING: &str = "TWILIO_VERIFY_SERVICE_SID";
/// The runbook's filter pattern and a page small enough to need several pages.
const FILTER: &str = "OTP";
const PAGE: i32 = 2;

/// Which implementation a backend is, and so where it is faithful to AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Implementation {
    Simulator,
    Moto,
}

impl Implementation {
    /// Services roll out: tasks start, deployments move and finish (`rolloutState`), events
    /// are written. moto's never do.
    fn rolls_out(self) -> bool {
        self == Self::Simulator
    }

    /// Task definitions carry `registeredAt`; moto's do not.
    fn has_registered_at(self) -> bool {
        self == Self::Simulator
    }
}

/// One backend, and the console's configuration pointing at it.
struct Backend {
    name: &'static str,
    implementation: Implementation,
    scenario: Scenario,
    /// The console's configuration (its `[aws]` section names the backend).
    config: Config,
    /// The AWS SDK configuration the console would build for it.
    sdk: SdkConfig,
    /// Raw clients, for seeding and for cross-checking the console's answers.
    ecs: aws_sdk_ecs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    /// Yesterday's and today's (deployed) revision numbers.
    previous: i32,
    deployed: i32,
    /// The backend API (simulator only): an OTP start there writes log lines.
    api: Option<String>,
    /// The seeded OTP lines of the last 30 minutes in time order (moto only: the simulator
    /// writes its own).
    seeded_otp: Vec<String>,
    /// The running server, stopped when the backend drops.
    _server: Box<dyn std::any::Any>,
}

impl Backend {
    async fn simulator(name: &str) -> Self {
        let scenario = scenario::load(name).expect("scenario");
        let first = i32::try_from(scenario.deployment.first_revision).expect("revision");
        let sim = Simulator::start(scenario.clone(), SCALE, Ports::default())
            .await
            .expect("simulator starts");
        let config = sim::run::config_for(&sim.urls, sim.scenario());
        let sdk = otp_console::runner::demo_sdk_config(&config).await;
        Self {
            name: "simulator",
            implementation: Implementation::Simulator,
            scenario,
            ecs: aws_sdk_ecs::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            config,
            sdk,
            previous: first,
            deployed: first + 1,
            api: Some(sim.urls.api.clone()),
            seeded_otp: Vec::new(),
            _server: Box::new(sim),
        }
    }

    async fn moto(name: &str) -> Self {
        let server = emulator::moto().await;
        let scenario = scenario::load(name).expect("scenario");
        let setup = &scenario.deployment;
        let mut config = Config::default();
        config.aws.region.clone_from(&setup.region);
        config.aws.endpoint_url = Some(server.url.clone());
        config.aws.cluster.clone_from(&setup.cluster);
        config.aws.service.clone_from(&setup.service);
        config.aws.log_group.clone_from(&setup.log_group);
        config.aws.log_filter = FILTER.into();
        let sdk = otp_console::runner::static_sdk_config(&config, "testing", "testing").await;
        let mut backend = Self {
            name: "moto",
            implementation: Implementation::Moto,
            ecs: aws_sdk_ecs::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            config,
            sdk,
            previous: 1,
            deployed: 2,
            api: None,
            seeded_otp: Vec::new(),
            scenario,
            _server: Box::new(server),
        };
        backend.seed_ecs().await;
        backend.seed_logs().await;
        backend
    }

    /// The cluster, yesterday's and today's registrations as revisions 1 and 2, and the
    /// service on revision 2 (created there: moto's UpdateService never moves the deployment).
    async fn seed_ecs(&self) {
        let setup = &self.scenario.deployment;
        let yesterday = Registration::of(&self.scenario.yesterday_registration());
        let today = Registration::of(&self.scenario.today_registration());
        let arns = moto::seed_task_definitions(
            &self.ecs,
            &setup.cluster,
            FAMILY,
            &setup.container,
            &[(self.previous, &yesterday), (self.deployed, &today)],
        )
        .await;
        moto::create_service(
            &self.ecs,
            &setup.cluster,
            &setup.service,
            &arns[1],
            i32::try_from(setup.desired_count).expect("count"),
        )
        .await;
    }

    /// Three task streams: one from yesterday (outside the 30 minutes the follower reads) and
    /// two of today's tasks whose lines interleave in time. Only `[OTP]` lines match `OTP`
    /// (filter patterns are case-sensitive: the access line's `/otp/` does not).
    async fn seed_logs(&mut self) {
        let group = self.config.aws.log_group.clone();
        moto::create_log_group(&self.logs, &group).await;
        let now = chrono::Utc::now().timestamp_millis();
        let min = 60_000;
        let access = |path: &str| format!("INFO:     10.0.1.23:51234 - \"{path} HTTP/1.1\" 200 OK");
        let streams: [(&str, Vec<(i64, String)>); 3] = [
            (
                "0a1b2c3d4e5f",
                vec![
                    (
                        now - 26 * 60 * min,
                        "[OTP] Using Twilio Verify provider".into(),
                    ),
                    (
                        now - 26 * 60 * min + 1000,
                        "[OTP] OTP sent successfully phone_last4=0000 status=pending".into(),
                    ),
                ],
            ),
            (
                "6a7b8c9d0e1f",
                vec![
                    (
                        now - 25 * min,
                        "INFO:     Started server process [1]".into(),
                    ),
                    (
                        now - 25 * min + 1000,
                        "[OTP] Using Twilio Verify provider".into(),
                    ),
                    (now - 20 * min, access("GET /health")),
                    (
                        now - 12 * min,
                        "[OTP] OTP sent successfully phone_last4=6318 status=pending".into(),
                    ),
                    (now - 12 * min + 10, access("POST /v1/auth/otp/start")),
                    (now - 8 * min, "[OTP] OTP verified phone_last4=6318".into()),
                ],
            ),
            (
                "7c8d9e0f1a2b",
                vec![
                    (now - 24 * min, "[OTP] Using Twilio Verify provider".into()),
                    (
                        now - 10 * min,
                        "[OTP] OTP sent successfully phone_last4=4471 status=pending".into(),
                    ),
                    (now - 9 * min, access("GET /health")),
                    (
                        now - 5 * min,
                        "[OTP] OTP verification failed phone_last4=4471".into(),
                    ),
                ],
            ),
        ];
        let since = now - 30 * min;
        let mut seeded = Vec::new();
        for (task, lines) in streams {
            let stream = format!("ecs/{}/{task}", self.scenario.deployment.container);
            moto::add_log_stream(&self.logs, &group, &stream, &lines).await;
            seeded.extend(
                lines
                    .iter()
                    .filter(|(at, line)| *at >= since && line.contains(FILTER))
                    .cloned(),
            );
        }
        seeded.sort();
        self.seeded_otp = seeded.into_iter().map(|(_, line)| line).collect();
    }

    async fn put(&self, stream: &str, lines: &[(i64, String)]) {
        moto::put_log_events(&self.logs, &self.config.aws.log_group, stream, lines).await;
    }

    fn probe(&self) -> EcsProbe {
        EcsProbe::new(&self.sdk, &self.config.aws, &self.config.rules)
    }

    fn arn_suffix(revision: i32) -> String {
        format!(":task-definition/{FAMILY}:{revision}")
    }
}

/// EcsProbe::snapshot: the service, the deployed revision (environment masked, secrets by
/// `valueFrom`, tags), the previous revision and the diff, the env-var rules, and the Twilio
/// credentials of the deployed revision.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn check_ecs_snapshot(b: &Backend) {
    let yesterday = Registration::of(&b.scenario.yesterday_registration());
    let today = Registration::of(&b.scenario.today_registration());
    let (snap, credentials, seen) = b.probe().snapshot().await.unwrap_or_else(|e| {
        panic!("{}: snapshot: {e:?}", b.name);
    });

    // Where the app container's lines go, from its logConfiguration: what `log_group` is
    // when the config names none.
    assert_eq!(
        snap.deployed.log_group.as_deref(),
        Some(b.config.aws.log_group.as_str()),
        "{}",
        b.name
    );
    assert_eq!(
        b.probe().log_group().await.expect("log group"),
        Some((
            b.config.aws.log_group.clone(),
            Some(b.config.aws.region.clone())
        )),
        "{}",
        b.name
    );
    let service = &snap.service;
    assert_eq!(service.name, b.config.aws.service, "{}", b.name);
    assert_eq!(service.status, "ACTIVE", "{}", b.name);
    assert_eq!(
        service.desired,
        i32::try_from(b.scenario.deployment.desired_count).expect("count"),
        "{}",
        b.name
    );
    assert_eq!(
        family_revision(&service.task_definition),
        Some((FAMILY, b.deployed)),
        "{}: {}",
        b.name,
        service.task_definition
    );
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .unwrap_or_else(|| panic!("{}: no PRIMARY deployment: {service:?}", b.name));
    assert_eq!(primary.revision, Some(b.deployed), "{}", b.name);
    // moto never rolls out: no rolloutState, runningCount 0, no tasks, no service events.
    if b.implementation.rolls_out() {
        assert_eq!(primary.rollout_state, "COMPLETED", "{primary:?}");
        assert_eq!(service.running, service.desired, "{service:?}");
        assert!(!service.events.is_empty(), "no service events");
        assert!(
            snap.tasks
                .iter()
                .any(|t| t.last_status == "RUNNING" && t.revision == Some(b.deployed)),
            "{:?}",
            snap.tasks
        );
    }

    let deployed = &snap.deployed;
    assert_eq!(deployed.family, FAMILY, "{}", b.name);
    assert_eq!(deployed.revision, b.deployed, "{}", b.name);
    assert!(
        deployed.arn.ends_with(&Backend::arn_suffix(b.deployed)),
        "{}: {}",
        b.name,
        deployed.arn
    );
    assert_eq!(deployed.image, today.image, "{}", b.name);
    // moto has no registeredAt; AWS always sends it.
    if b.implementation.has_registered_at() {
        assert!(deployed.registered_ms.is_some(), "no registeredAt");
    }
    let shown: BTreeMap<&str, &str> = deployed
        .environment
        .iter()
        .map(|v| (v.name.as_str(), v.display.as_str()))
        .collect();
    let expected: BTreeMap<&str, String> = today
        .environment
        .iter()
        .map(|(n, v)| (n.as_str(), redact::env_value(n, v)))
        .collect();
    assert_eq!(
        shown,
        expected
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .collect::<BTreeMap<_, _>>(),
        "{}: environment as shown",
        b.name
    );
    assert!(!shown.contains_key(MISSING), "{}", b.name);
    assert_eq!(
        shown.get("TWILIO_AUTH_TOKEN"),
        Some(&redact::MASK),
        "{}",
        b.name
    );
    assert_eq!(shown.get("LOG_LEVEL"), Some(&"WARNING"), "{}", b.name);
    let secrets: Vec<SecretRef> = today
        .secrets
        .iter()
        .map(|(name, value_from)| SecretRef {
            name: name.clone(),
            value_from: value_from.clone(),
        })
        .collect();
    assert_eq!(deployed.secrets, secrets, "{}: secrets", b.name);
    let tags: BTreeMap<String, String> = deployed.tags.iter().cloned().collect();
    assert_eq!(tags, today.tags, "{}: tags", b.name);

    let previous = snap
        .previous
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no previous revision", b.name));
    assert_eq!(previous.revision, b.previous, "{}", b.name);
    assert!(
        previous.arn.ends_with(&Backend::arn_suffix(b.previous)),
        "{}: {}",
        b.name,
        previous.arn
    );
    let sid = &yesterday.environment[MISSING];
    assert_eq!(
        snap.diff,
        vec![
            Change::Changed {
                name: "LOG_LEVEL".into(),
                from: "INFO".into(),
                to: "WARNING".into(),
            },
            Change::Removed {
                name: MISSING.into(),
                display: redact::env_value(MISSING, sid),
            },
        ],
        "{}: diff",
        b.name
    );
    assert_eq!(redact::env_value(MISSING, sid), "VA0a1b2c…");

    let violations: Vec<(&str, ViolationKind)> = snap
        .checks
        .iter()
        .filter_map(|c| match &c.status {
            VarStatus::Violation(v) => Some((c.name.as_str(), v.kind)),
            _ => None,
        })
        .collect();
    assert_eq!(
        violations,
        vec![(MISSING, ViolationKind::Missing)],
        "{}: {:#?}",
        b.name,
        snap.checks
    );

    let raw_token = &b.scenario.twilio.auth_token;
    let account = &b.scenario.twilio.account_sid;
    let json = serde_json::to_string(&snap).expect("serialises");
    assert!(
        !json.contains(raw_token.as_str()),
        "{}: raw token shown",
        b.name
    );
    assert!(
        !json.contains(account.as_str()),
        "{}: full account SID",
        b.name
    );
    let credentials = credentials.unwrap_or_else(|| panic!("{}: no credentials", b.name));
    assert_eq!(credentials.source, CredentialSource::TaskDefinition);
    assert_eq!(&credentials.account_sid, account, "{}", b.name);
    assert_eq!(&credentials.auth_token, raw_token, "{}", b.name);
    assert_eq!(credentials.verify_service_sid, None, "{}", b.name);
    assert!(!format!("{credentials:?}").contains(raw_token.as_str()));
    assert!(seen.has_auth_token, "{}", b.name);
    assert_eq!(seen.token_value_from, None, "{}", b.name);
    assert_eq!(seen.verify_service_sid, None, "{}", b.name);
    assert_eq!(seen.account_sid, Some(redact::sid(account)), "{}", b.name);
}

/// `(id, message)` of a batch.
fn lines(batch: &Batch) -> Vec<(String, String)> {
    batch
        .events
        .iter()
        .map(|e| (e.id.clone(), e.message.clone()))
        .collect()
}

/// Every event matching the filter from `since` on, in one unpaged FilterLogEvents (through
/// `nextToken` only if the backend pages anyway), in time order.
async fn reference(b: &Backend, since: i64) -> Vec<(String, String)> {
    let mut token = None;
    let mut events = Vec::new();
    loop {
        let page = b
            .logs
            .filter_log_events()
            .log_group_name(&b.config.aws.log_group)
            .filter_pattern(FILTER)
            .start_time(since)
            .set_next_token(token)
            .send()
            .await
            .expect("FilterLogEvents");
        events.extend(page.events().iter().map(|e| {
            (
                e.timestamp().expect("timestamp"),
                e.event_id().expect("eventId").to_owned(),
                e.message().unwrap_or_default().to_owned(),
            )
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    // moto does not interleave streams; AWS does. Compare in time order either way.
    events.sort();
    events.into_iter().map(|(_, id, m)| (id, m)).collect()
}

/// LogsFollower: from 30 minutes back with the `OTP` filter in pages of two, the first poll
/// returns exactly the matching lines in time order, once each; the next poll nothing; a line
/// written after that, and only it, in the poll after.
async fn check_logs_follow(b: &Backend) {
    let since = chrono::Utc::now().timestamp_millis() - 30 * 60_000;
    let mut config = b.config.aws.clone();
    config.log_filter = FILTER.into();
    let mut follower = LogsFollower::new(&b.sdk, &config, since).with_page_size(PAGE);

    // The simulator's healthy log group holds one OTP line of its own (the provider starting):
    // two OTP starts give it enough to page through.
    if b.implementation == Implementation::Simulator {
        new_otp_line(b, "").await;
        new_otp_line(b, "").await;
    }
    let expected = reference(b, since).await;
    let first = follower
        .poll()
        .await
        .unwrap_or_else(|e| panic!("{}: {e:?}", b.name));
    let got = lines(&first);
    assert_eq!(got, expected, "{}: first poll", b.name);
    assert!(
        got.len() > usize::try_from(PAGE).expect("page"),
        "{}: too few lines to page: {got:?}",
        b.name
    );
    let ids: BTreeSet<&String> = got.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), got.len(), "{}: duplicates", b.name);
    assert!(
        first
            .events
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms),
        "{}: not in time order",
        b.name
    );
    assert!(first.events.iter().all(|e| e.message.contains(FILTER)));
    assert!(
        first
            .events
            .iter()
            .any(|e| e.kind == LineKind::ProviderInitialised),
        "{}: {first:?}",
        b.name
    );
    if b.implementation == Implementation::Moto {
        let messages: Vec<&str> = got.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(messages, b.seeded_otp, "moto: the seeded lines");
    }

    let second = follower.poll().await.expect("second poll");
    assert_eq!(lines(&second), Vec::new(), "{}: nothing new", b.name);

    new_otp_line(b, "9021").await;
    let third = follower.poll().await.expect("third poll");
    let new = lines(&third);
    assert!(
        third.events.iter().any(|e| e.kind == LineKind::OtpSent),
        "{}: {third:?}",
        b.name
    );
    let before: BTreeSet<&String> = got.iter().map(|(id, _)| id).collect();
    assert!(
        new.iter().all(|(id, _)| !before.contains(id)),
        "{}: a line came twice: {new:?}",
        b.name
    );
    // Every line the backend now holds, once across the three polls.
    let mut all = got.clone();
    all.extend(new.iter().cloned());
    assert_eq!(all, reference(b, since).await, "{}: all polls", b.name);
    if b.implementation == Implementation::Moto {
        let messages: Vec<&str> = new.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            ["[OTP] OTP sent successfully phone_last4=9021 status=pending"]
        );
    }
    let fourth = follower.poll().await.expect("fourth poll");
    assert_eq!(lines(&fourth), Vec::new(), "{}: nothing new again", b.name);
}

/// A new OTP line: an OTP start on the simulator's backend (which logs `OTP sent
/// successfully`); on moto, PutLogEvents of that line for the phone ending `last4` and the
/// access line after it.
async fn new_otp_line(b: &Backend, last4: &str) {
    if let Some(api) = &b.api {
        let answer = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .post(format!("{api}/v1/auth/otp/start"))
            .json(&serde_json::json!({ "phone": b.scenario.twilio.demo_phone }))
            .send()
            .await
            .expect("otp start");
        assert!(answer.status().is_success(), "{answer:?}");
    } else {
        let stream = format!("ecs/{}/6a7b8c9d0e1f", b.scenario.deployment.container);
        let now = chrono::Utc::now().timestamp_millis();
        b.put(
            &stream,
            &[
                (
                    now,
                    format!("[OTP] OTP sent successfully phone_last4={last4} status=pending"),
                ),
                (
                    now + 1,
                    "INFO:     10.0.1.23:51250 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK"
                        .into(),
                ),
            ],
        )
        .await;
    }
}

/// The repair path through the console's own Repairer: plan `--set` the missing variable,
/// apply (RegisterTaskDefinition of the next revision + UpdateService onto it).
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn check_repair_set(b: &Backend) {
    let yesterday = Registration::of(&b.scenario.yesterday_registration());
    let today = Registration::of(&b.scenario.today_registration());
    let sid = yesterday.environment[MISSING].clone();
    let repairer = Repairer::new(&b.sdk, &b.config);
    let plan = repairer
        .plan(&Repair::Set(vec![(MISSING.into(), sid.clone())]))
        .await
        .unwrap_or_else(|e| panic!("{}: plan: {e}", b.name));
    assert_eq!(plan.source.revision, b.deployed, "{}", b.name);
    assert_eq!(
        plan.diff,
        vec![Change::Added {
            name: MISSING.into(),
            display: redact::env_value(MISSING, &sid),
        }],
        "{}",
        b.name
    );
    assert!(matches!(plan.target, Target::Register(_)), "{}", b.name);

    let applied = repairer
        .apply(&plan)
        .await
        .unwrap_or_else(|e| panic!("{}: apply: {e}", b.name));
    let next = b.deployed + 1;
    assert_eq!(applied.revision, next, "{}", b.name);
    assert_eq!(
        family_revision(&applied.task_definition_arn),
        Some((FAMILY, next)),
        "{}: {}",
        b.name,
        applied.task_definition_arn
    );

    // The new revision: today's with the variable back, tags carried over.
    let registered = repairer
        .describe(&format!("{FAMILY}:{next}"))
        .await
        .unwrap_or_else(|e| panic!("{}: describe: {e}", b.name));
    let container = &registered.task_definition.container_definitions()[0];
    let env: BTreeMap<String, String> = container
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap_or_default().to_owned(),
                kv.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut expected = today.environment.clone();
    expected.insert(MISSING.into(), sid.clone());
    assert_eq!(env, expected, "{}: environment", b.name);
    let tags: BTreeMap<String, String> = registered
        .tags
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(tags, today.tags, "{}: tags", b.name);

    // The service now names the new revision (both backends).
    let service = b
        .ecs
        .describe_services()
        .cluster(&b.config.aws.cluster)
        .services(&b.config.aws.service)
        .send()
        .await
        .expect("DescribeServices")
        .services
        .expect("services")
        .remove(0);
    assert_eq!(
        service.task_definition().and_then(family_revision),
        Some((FAMILY, next)),
        "{}: {:?}",
        b.name,
        service.task_definition()
    );

    // moto never rolls out: its one deployment keeps the old task definition and no task ever
    // starts, so following the rollout and reading the repaired service back through the
    // probe are checked against the simulator only.
    if b.implementation.rolls_out() {
        let rollout = repairer
            .follow(&plan, &applied, &FollowOptions::scaled(SCALE), |_| {})
            .await;
        assert_eq!(rollout.state, RolloutState::Completed, "{rollout:#?}");
        let (snap, credentials, _) = b.probe().snapshot().await.expect("snapshot");
        assert_eq!(snap.deployed.revision, next);
        assert_eq!(snap.previous.as_ref().map(|p| p.revision), Some(b.deployed));
        assert_eq!(snap.diff, plan.diff);
        assert!(
            snap.checks
                .iter()
                .all(|c| !matches!(c.status, VarStatus::Violation(_))),
            "{:#?}",
            snap.checks
        );
        assert_eq!(
            credentials.and_then(|c| c.verify_service_sid),
            Some(sid.clone())
        );
    }
}

/// One check, as two tests: against the simulator and against moto.
macro_rules! on_both_backends {
    ($check:ident($scenario:expr): $sim:ident, $moto:ident) => {
        #[tokio::test]
        async fn $sim() {
            Box::pin($check(&Backend::simulator($scenario).await)).await;
        }

        #[tokio::test]
        async fn $moto() {
            Box::pin($check(&Backend::moto($scenario).await)).await;
        }
    };
}

on_both_backends!(check_ecs_snapshot(ECS_SCENARIO): contract_sim_ecs_probe_snapshot, contract_moto_ecs_probe_snapshot);
on_both_backends!(check_logs_follow(LOGS_SCENARIO): contract_sim_logs_follower, contract_moto_logs_follower);
on_both_backends!(check_repair_set(ECS_SCENARIO): contract_sim_repair_set_and_update_service, contract_moto_repair_set_and_update_service);
