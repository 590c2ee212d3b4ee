//! The simulated world's state: ECS task definitions, the service and its deployments, the
//! tasks and the backends they run, the log group, and the per-phone rate limiter. One owner
//! (a `Mutex<World>` in [`super::Shared`]), never held across an await. Time moves forward
//! through [`World::advance`], which runs due actions of the agenda (a task reaching RUNNING,
//! becoming healthy, exiting; a replacement launch), so rollouts take simulated time and the
//! backend switches to a new revision only when its tasks are healthy.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value;

use super::backend::TaskRuntime;
use super::clock::SimClock;
use super::logs::LogStore;
use super::scenario::Scenario;

/// A small deterministic generator (splitmix64): the same scenario gives the same ids.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n + 16);
        while out.len() < n {
            let _ = write!(out, "{:016x}", self.next_u64());
        }
        out.truncate(n);
        out
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A registered task-definition revision, as DescribeTaskDefinition returns it.
#[derive(Debug, Clone)]
pub struct TaskDefinition {
    pub family: String,
    pub revision: u32,
    pub arn: String,
    /// The full `taskDefinition` object, read-only fields included.
    pub json: Value,
    /// ECS's `[{key, value}]` tag list.
    pub tags: Value,
    pub is_active: bool,
}

impl TaskDefinition {
    /// The container named `name` (the service's own: its image, environment and
    /// resolved-at-start secrets references), else the first.
    pub fn container(&self, name: &str) -> Option<&serde_json::Map<String, Value>> {
        let containers = self.json.get("containerDefinitions")?.as_array()?;
        containers
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .or_else(|| containers.first())?
            .as_object()
    }
}

/// `ecs-svc/…` deployment of one revision.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: String,
    /// `PRIMARY` or `ACTIVE`.
    pub status: &'static str,
    pub td: usize,
    pub desired: u32,
    pub failed_tasks: u32,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub rollout_state: &'static str,
    pub rollout_reason: String,
}

/// One line of the service's event log.
#[derive(Debug, Clone)]
pub struct ServiceEvent {
    pub id: String,
    pub created_ms: i64,
    pub message: String,
}

/// The one ECS service of the scenario.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub arn: String,
    pub cluster_arn: String,
    pub desired: u32,
    pub created_ms: i64,
    pub deployment_configuration: Value,
    pub deployments: Vec<Deployment>,
    /// Newest first, as DescribeServices returns them.
    pub events: VecDeque<ServiceEvent>,
}

/// An ECS task and, while it runs, the backend process inside it.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub arn: String,
    pub deployment_id: String,
    pub td: usize,
    pub last_status: &'static str,
    pub desired_status: &'static str,
    /// `UNKNOWN`, `HEALTHY` or `UNHEALTHY`.
    pub health: &'static str,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<&'static str>,
    pub exit_code: Option<i32>,
    pub runtime: Option<Arc<TaskRuntime>>,
}

/// Something that happens to the deployment at a given time.
#[derive(Debug, Clone)]
pub enum Action {
    /// The task's container has started: run the backend's startup.
    TaskRunning(String),
    /// The backend's startup failed: the essential container exits.
    TaskExited(String, i32),
    /// The container health check passed.
    TaskHealthy(String),
    /// The scheduler launches a replacement for a failed task of this deployment.
    Launch(String),
}

/// The simulated world.
#[derive(Debug)]
pub struct World {
    pub clock: SimClock,
    pub scenario: Arc<Scenario>,
    pub logs: LogStore,
    pub task_defs: Vec<TaskDefinition>,
    pub service: Service,
    pub tasks: Vec<Task>,
    pub agenda: Vec<(i64, Action)>,
    pub rng: SplitMix64,
    /// OTP starts per normalised phone, for the backend's 5-per-15-minutes limit.
    pub otp_starts: HashMap<String, VecDeque<i64>>,
    /// The `twilio_sms` provider's pending codes per phone: the code and when it was sent.
    pub sms_codes: HashMap<String, (String, i64)>,
    pub lb_next: usize,
    pub next_traffic_ms: i64,
    /// Simulated Secrets Manager and Parameter Store.
    pub secrets: Vec<super::secrets::SimSecret>,
    pub parameters: Vec<super::secrets::SimParameter>,
    /// App Runner's operations on the service, oldest first (App Runner scenarios only).
    pub apprunner_ops: Vec<super::apprunner::Operation>,
    /// Simulated S3: `bucket/key` → object (the env files).
    pub s3: BTreeMap<String, super::s3::SimObject>,
    /// Simulated IAM: roles and their policies (PutRolePolicy changes them).
    pub iam: super::iam::IamSetup,
    /// CloudTrail's event history of the account ([`World::record_change`]).
    pub trail: super::cloudtrail::Trail,
    /// The service's VPC as it stands: EC2 reads and changes it, the backend's egress follows it.
    pub network: super::ec2::NetworkSetup,
    /// When the simulator started: the background users begin an hour before it.
    pub started_ms: i64,
    /// Where the simulator's load balancer answers (`127.0.0.1:PORT`), once its servers run.
    pub front_door: Option<String>,
    /// The background users and the load balancer's records (`super::traffic`).
    pub users: super::traffic::Users,
    /// The simulated Twilio account the users' codes are sent through (their messages and
    /// Verify attempts are listed there); `None` in worlds built without one.
    pub twilio: Option<Arc<super::twilio::Twilio>>,
}

/// Nominal durations of the ECS rollout, scaled by the clock.
pub mod timing {
    /// From launch to the container running.
    pub const START_SECS: f64 = 20.0;
    /// From running to the health check passing (the container's startPeriod and first check).
    pub const HEALTHY_SECS: f64 = 15.0;
    /// From running to the essential container exiting when startup fails.
    pub const EXIT_SECS: f64 = 4.0;
    /// First back-off before a replacement launch; doubles per failure.
    pub const RELAUNCH_SECS: f64 = 30.0;
    /// Longest back-off between replacement launches.
    pub const RELAUNCH_MAX_SECS: f64 = 600.0;
    /// Real seconds between two lines of the other traffic the service serves.
    pub const TRAFFIC_SECS: i64 = 12;
}

impl World {
    /// The world of `scenario` as it stands now: yesterday's revision deployed long ago, then
    /// today's deployed `today_deployed_minutes_ago`, with the history both left behind.
    pub fn new(scenario: Arc<Scenario>, clock: SimClock) -> Self {
        Self::with_twilio(scenario, clock, None)
    }

    /// [`World::new`], the users' codes sent through `twilio` (from an hour before now on).
    pub fn with_twilio(
        scenario: Arc<Scenario>,
        clock: SimClock,
        twilio: Option<Arc<super::twilio::Twilio>>,
    ) -> Self {
        let now = clock.now_ms();
        let setup = &scenario.deployment;
        let cluster_arn = format!(
            "arn:aws:ecs:{}:{}:cluster/{}",
            setup.region, setup.account_id, setup.cluster
        );
        let service = Service {
            name: setup.service.clone(),
            arn: format!(
                "arn:aws:ecs:{}:{}:service/{}/{}",
                setup.region, setup.account_id, setup.cluster, setup.service
            ),
            cluster_arn,
            desired: setup.desired_count,
            created_ms: now - 400 * 24 * 3_600_000,
            deployment_configuration: setup.configuration.clone(),
            deployments: Vec::new(),
            events: VecDeque::new(),
        };
        let mut world = Self {
            clock,
            rng: SplitMix64::new(scenario.twilio.seed ^ 0x5EED),
            logs: LogStore::new(),
            task_defs: Vec::new(),
            service,
            tasks: Vec::new(),
            agenda: Vec::new(),
            otp_starts: HashMap::new(),
            sms_codes: HashMap::new(),
            lb_next: 0,
            next_traffic_ms: now - 30 * 60_000,
            scenario: Arc::clone(&scenario),
            secrets: Vec::new(),
            parameters: Vec::new(),
            s3: super::s3::seed(&scenario, now),
            apprunner_ops: Vec::new(),
            iam: scenario.iam.clone(),
            trail: super::cloudtrail::Trail::default(),
            network: scenario.network.clone(),
            started_ms: now,
            front_door: None,
            users: super::traffic::Users::new(scenario.twilio.seed),
            twilio,
        };
        (world.secrets, world.parameters) = super::secrets::seed(&scenario, now);
        let yesterday_ms = now - (setup.yesterday_deployed_hours_ago * 3_600_000.0) as i64;
        let today_ms = now - (setup.today_deployed_minutes_ago * 60_000.0) as i64;
        world
            .logs
            .create_group(&setup.log_group, yesterday_ms - 86_400_000);
        world.logs.region.clone_from(&setup.log_region);
        let registered_by = &scenario.yesterday.registered_by;
        let yesterday = world
            .register(
                &scenario.yesterday_registration(),
                registered_by,
                yesterday_ms - 600_000,
            )
            .unwrap_or_default();
        world.record_deploy(
            yesterday,
            registered_by,
            yesterday_ms - 600_000,
            yesterday_ms,
        );
        world.deploy(yesterday, yesterday_ms);
        world.advance_to(yesterday_ms + 3_600_000);
        let registered_by = scenario
            .today
            .registered_by
            .as_ref()
            .unwrap_or(registered_by);
        let today = world
            .register(
                &scenario.today_registration(),
                registered_by,
                today_ms - 300_000,
            )
            .unwrap_or_default();
        world.record_deploy(today, registered_by, today_ms - 300_000, today_ms);
        world.deploy(today, today_ms);
        world.record_history(now);
        world.replay_iam_history(now);
        world.advance_to(now);
        world.seed_apprunner(now);
        world
    }

    /// The scenario's RegisterTaskDefinition of `td` and the UpdateService that deployed it, in
    /// CloudTrail, by `principal`.
    fn record_deploy(&mut self, td: usize, principal: &str, registered_ms: i64, deployed_ms: i64) {
        use super::cloudtrail::{logged_parameters, NewChange};
        let Some(def) = self.task_defs.get(td) else {
            return;
        };
        let mut request = def.json.clone();
        if let Some(fields) = request.as_object_mut() {
            for read_only in super::ecs::READ_ONLY_FIELDS {
                fields.remove(*read_only);
            }
        }
        let arn = def.arn.clone();
        // On App Runner a deployment is one UpdateService of the service's source configuration.
        if let Some(service_arn) = self.apprunner_service_arn() {
            let change = NewChange {
                at_ms: deployed_ms,
                event_source: "apprunner.amazonaws.com".into(),
                event_name: "UpdateService".into(),
                principal: principal.to_owned(),
                access_key_id: "ASIASIMULATEDDEPLOY1".into(),
                user_agent: super::scenario::default_user_agent(),
                resources: vec![("AWS::AppRunner::Service".to_owned(), service_arn.clone())],
                request_parameters: serde_json::json!({
                    "serviceArn": service_arn,
                    "sourceConfiguration": "HIDDEN_DUE_TO_SECURITY_REASONS",
                }),
            };
            self.record_change(change);
            return;
        }
        let change = |at_ms, event_name: &str, resources, request_parameters| NewChange {
            at_ms,
            event_source: "ecs.amazonaws.com".into(),
            event_name: event_name.into(),
            principal: principal.to_owned(),
            access_key_id: "ASIASIMULATEDDEPLOY1".into(),
            user_agent: super::scenario::default_user_agent(),
            resources,
            request_parameters,
        };
        let register = change(
            registered_ms,
            "RegisterTaskDefinition",
            vec![("AWS::ECS::TaskDefinition".to_owned(), arn.clone())],
            logged_parameters(&request),
        );
        let update = change(
            deployed_ms,
            "UpdateService",
            vec![
                ("AWS::ECS::Service".to_owned(), self.service.arn.clone()),
                ("AWS::ECS::TaskDefinition".to_owned(), arn.clone()),
            ],
            serde_json::json!({
                "cluster": self.scenario.deployment.cluster,
                "service": self.service.name,
                "taskDefinition": arn,
            }),
        );
        self.record_change(register);
        self.record_change(update);
    }

    /// The scenario's `[[history.aws]]` entries, in CloudTrail.
    fn record_history(&mut self, now: i64) {
        let entries = self.scenario.history.aws.clone();
        for h in entries {
            self.record_change(super::cloudtrail::NewChange {
                at_ms: now - (h.hours_ago * 3_600_000.0) as i64,
                event_source: h.event_source,
                event_name: h.event_name,
                principal: h.principal,
                access_key_id: h.access_key_id,
                user_agent: h.user_agent,
                resources: vec![(h.resource_type, h.resource_name)],
                request_parameters: h.request_parameters,
            });
        }
    }

    /// Runs every action due by `now`, in time order, then the service's other traffic.
    pub fn advance_to(&mut self, now: i64) {
        while let Some(index) = self
            .agenda
            .iter()
            .enumerate()
            .filter(|(_, (due, _))| *due <= now)
            .min_by_key(|(_, (due, _))| *due)
            .map(|(i, _)| i)
        {
            let (due, action) = self.agenda.swap_remove(index);
            // Users arriving before the action see the world as it was.
            self.serve_users(due);
            self.apply(action, due);
        }
        self.serve_users(now);
        while self.next_traffic_ms <= now {
            let at = self.next_traffic_ms;
            self.other_traffic(at);
            self.next_traffic_ms += timing::TRAFFIC_SECS * 1000;
        }
    }

    /// Schedules `action` `nominal_secs` of simulated time after `now`.
    pub fn schedule(&mut self, now: i64, nominal_secs: f64, action: Action) {
        let due = now + self.clock.secs(nominal_secs).as_millis() as i64;
        self.agenda.push((due, action));
    }

    /// Adds a line to the service's event log.
    pub fn service_event(&mut self, at: i64, message: String) {
        let id = self.uuid();
        self.service.events.push_front(ServiceEvent {
            id,
            created_ms: at,
            message: format!("(service {}) {message}", self.service.name),
        });
        self.service.events.truncate(100);
    }

    /// A random UUID-shaped id.
    pub fn uuid(&mut self) -> String {
        let h = self.rng.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// The log stream of a task: `ecs/<container>/<task-id>`.
    pub fn stream_of(&self, task_id: &str) -> String {
        format!("ecs/{}/{task_id}", self.scenario.deployment.container)
    }

    /// Writes lines to a task's log stream, one event each, at `at`.
    pub fn log_lines(&mut self, task_id: &str, at: i64, lines: &[String]) {
        let group = self.scenario.deployment.log_group.clone();
        let stream = self.stream_of(task_id);
        for line in lines {
            self.logs.put(&group, &stream, at, line);
        }
    }

    /// The backends the load balancer may send a request to: running, healthy tasks.
    pub fn next_backend(&mut self) -> Option<Arc<TaskRuntime>> {
        let healthy: Vec<_> = self
            .tasks
            .iter()
            .filter(|t| t.last_status == "RUNNING" && t.health == "HEALTHY")
            .filter_map(|t| t.runtime.clone())
            .collect();
        if healthy.is_empty() {
            return None;
        }
        self.lb_next = self.lb_next.wrapping_add(1);
        healthy.get(self.lb_next % healthy.len()).cloned()
    }

    /// The rest of the service's traffic: an access line on a running task now and then.
    fn other_traffic(&mut self, at: i64) {
        const PATHS: &[(&str, &str)] = &[
            ("GET", "/v1/chargers/nearby?lat=30.27&lng=-97.74"),
            ("GET", "/v1/me"),
            ("GET", "/health"),
            ("POST", "/v1/sessions/heartbeat"),
            ("GET", "/v1/stations/1042/availability"),
        ];
        let running: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| t.last_status == "RUNNING" && t.health == "HEALTHY")
            .filter(|t| t.started_ms.is_some_and(|s| s <= at))
            .map(|t| t.id.clone())
            .collect();
        if running.is_empty() {
            return;
        }
        let task = running[self.rng.below(running.len() as u64) as usize].clone();
        let (method, path) = PATHS[self.rng.below(PATHS.len() as u64) as usize];
        let line = super::backend::access_line(&self.client_address(), method, path, 200);
        self.log_lines(&task, at, &[line]);
    }

    /// A client address as the load balancer's private side shows it.
    pub fn client_address(&mut self) -> String {
        format!(
            "10.0.{}.{}:{}",
            1 + self.rng.below(3),
            10 + self.rng.below(200),
            30_000 + self.rng.below(30_000)
        )
    }

    /// Resolves a revision's environment for the process: `environment` values, its env files'
    /// (read from the simulated S3 as the execution role), plus `secrets`
    /// read from the simulated Secrets Manager or Parameter Store as they are at `now` (a task
    /// keeps what it read when it started). An unreadable secret is the error ECS reports.
    pub fn resolve_env(&self, td: usize, now: i64) -> Result<BTreeMap<String, String>, String> {
        let mut env = BTreeMap::new();
        let Some(container) = self
            .task_defs
            .get(td)
            .and_then(|t| t.container(&self.scenario.deployment.container))
        else {
            return Ok(env);
        };
        // The ECS agent reads `secrets` as the task's execution role; App Runner as the
        // service's instance role.
        let role = match &self.scenario.apprunner {
            Some(apprunner) => apprunner.instance_role.as_deref(),
            None => self.task_defs[td]
                .json
                .get("executionRoleArn")
                .and_then(Value::as_str),
        };
        for entry in container
            .get("environment")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(name), Some(value)) = (
                entry.get("name").and_then(Value::as_str),
                entry.get("value").and_then(Value::as_str),
            ) {
                env.insert(name.to_owned(), value.to_owned());
            }
        }
        // Then the env files, in order, each adding only what is not set yet.
        for arn in container
            .get("environmentFiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("value").and_then(Value::as_str))
        {
            for (name, value) in self.read_env_file(arn, role)? {
                env.entry(name).or_insert(value);
            }
        }
        for entry in container
            .get("secrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(from)) = (
                entry.get("name").and_then(Value::as_str),
                entry.get("valueFrom").and_then(Value::as_str),
            ) else {
                continue;
            };
            env.insert(name.to_owned(), self.resolve_secret(from, role, now)?);
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        assert_eq!(a.hex(32), b.hex(32));
        assert_eq!(a.hex(40).len(), 40);
    }
}
