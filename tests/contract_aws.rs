//! Contract tests for ECS and CloudWatch Logs: every check is written once, as an async fn over
//! a [`Backend`] (the AWS SDK clients plus the names to use), and runs twice: against the
//! simulator (`contract_sim_*`) and against moto's server (`contract_moto_*`), an independent
//! implementation seeded through the same SDK. Where moto is not faithful to AWS (no service
//! events, no running tasks, no `registeredAt`, one deployment that never changes task
//! definition, `fam:2` echoed instead of an ARN, ListTaskDefinitions ignoring `sort`), the
//! check says so in [`Implementation`] and keeps the assertion for the simulator, whose
//! behaviour there follows AWS's API reference. `bash tests/run.sh` installs moto.
//!
//! moto is seeded with launch type EC2 and network mode `bridge`: the real service is
//! FARGATE/awsvpc, but an awsvpc service in moto needs its default VPC's subnet and security
//! group ids from EC2, and nothing checked here depends on the network mode.

#[path = "contract_support/emulator.rs"]
#[macro_use]
mod emulator;
#[path = "contract_support/moto.rs"]
mod moto;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatchlogs::types::OrderBy;
use aws_sdk_ecs::types::{
    DeploymentRolloutState, KeyValuePair, SortOrder, TaskDefinition, TaskDefinitionField,
};
use moto::Registration;
use otp_console::sim::scenario;
use serde_json::Value;

const SCENARIO: &str = "healthy";
/// A plain filter term: the uvicorn access lines (`"GET /health HTTP/1.1" 200 OK`), frequent
/// enough in both backends to page through.
const TERM: &str = "HTTP";

/// What a backend holds, as the scenario registered it: one revision's number, and its
/// environment, secrets and tags (the RegisterTaskDefinition input, in ECS's own JSON names).
#[derive(Debug, Clone)]
struct Revision {
    number: i32,
    registration: Registration,
}

impl Revision {
    fn from_registration(number: i32, registration: &Value) -> Self {
        Self {
            number,
            registration: Registration::of(registration),
        }
    }
}

/// Which implementation a backend is, and so where it is faithful to AWS. Each `false` is a
/// gap of moto's (found by trying it, see EMULATORS.md): those assertions run against the
/// simulator only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Implementation {
    Simulator,
    Moto,
}

impl Implementation {
    /// Services start tasks, report `runningCount` and write `events`.
    fn runs_tasks(self) -> bool {
        self == Self::Simulator
    }

    /// UpdateService starts a new PRIMARY deployment and keeps the old one ACTIVE while it
    /// drains; moto keeps its first deployment, on the first task definition, forever.
    fn tracks_deployments(self) -> bool {
        self == Self::Simulator
    }

    /// ListTaskDefinitions honours `sort`; moto always answers oldest first.
    fn sorts_task_definitions(self) -> bool {
        self == Self::Simulator
    }

    /// Task definitions carry `registeredAt`; moto's do not.
    fn has_registered_at(self) -> bool {
        self == Self::Simulator
    }

    /// UpdateService with `family:revision` answers the full task-definition ARN; moto echoes
    /// the string it was given.
    fn resolves_task_definition_arns(self) -> bool {
        self == Self::Simulator
    }
}

/// One ECS + CloudWatch Logs implementation and the names its deployment goes by.
struct Backend {
    name: &'static str,
    ecs: aws_sdk_ecs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cluster: String,
    service: String,
    family: String,
    log_group: String,
    /// Yesterday's and today's (deployed) revisions.
    old: Revision,
    new: Revision,
    implementation: Implementation,
    /// The running server (a `Simulator` or moto's `Emulator`), stopped when the backend drops.
    _server: Box<dyn std::any::Any>,
}

impl Backend {
    /// The simulator, seeded by its scenario: revisions 41 and 42 of `nerava-backend`.
    async fn simulator() -> Self {
        let scenario = scenario::load(SCENARIO).expect("scenario");
        let setup = scenario.deployment.clone();
        let first = setup.first_revision as i32;
        let old = Revision::from_registration(first, &scenario.yesterday_registration());
        let new = Revision::from_registration(first + 1, &scenario.today_registration());
        let (sim, config) = emulator::simulator(scenario).await;
        Self {
            name: "simulator",
            ecs: aws_sdk_ecs::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cluster: setup.cluster,
            service: setup.service,
            family: "nerava-backend".into(),
            log_group: setup.log_group,
            old,
            new,
            implementation: Implementation::Simulator,
            _server: Box::new(sim),
        }
    }

    /// moto's server, seeded through the SDK with the scenario's deployment: the cluster, both
    /// revisions (as 1 and 2), the service on revision 2, and the log group with two task
    /// streams.
    async fn moto() -> Self {
        let server = emulator::moto().await;
        let config = emulator::sdk_config(&server.url, "testing", "testing").await;
        let scenario = scenario::load(SCENARIO).expect("scenario");
        let setup = &scenario.deployment;
        let mut backend = Self {
            name: "moto",
            ecs: aws_sdk_ecs::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cluster: setup.cluster.clone(),
            service: setup.service.clone(),
            family: "nerava-backend".into(),
            log_group: setup.log_group.clone(),
            old: Revision::from_registration(1, &scenario.yesterday_registration()),
            new: Revision::from_registration(2, &scenario.today_registration()),
            implementation: Implementation::Moto,
            _server: Box::new(server),
        };
        backend.seed_moto(&setup.container).await;
        backend
    }

    async fn seed_moto(&mut self, container: &str) {
        let arns = moto::seed_task_definitions(
            &self.ecs,
            &self.cluster,
            &self.family,
            container,
            &[
                (self.old.number, &self.old.registration),
                (self.new.number, &self.new.registration),
            ],
        )
        .await;
        moto::create_service(&self.ecs, &self.cluster, &self.service, &arns[0], 1).await;
        // Today's deployment, as in the scenario.
        self.ecs
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .task_definition(&arns[1])
            .send()
            .await
            .expect("UpdateService");

        moto::create_log_group(&self.logs, &self.log_group).await;
        let now = chrono::Utc::now().timestamp_millis();
        for (task, age_min) in [("0a1b2c3d4e5f", 26 * 60), ("6a7b8c9d0e1f", 25)] {
            let stream = format!("ecs/{container}/{task}");
            let start = now - age_min * 60_000;
            let lines = [
                "INFO:     Started server process [1]",
                "[OTP] Using Twilio Verify provider",
                "INFO:     10.0.1.23:51234 - \"GET /health HTTP/1.1\" 200 OK",
                "[OTP] OTP sent successfully phone_last4=6318",
                "INFO:     10.0.1.23:51240 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK",
                "[OTP] OTP verified phone_last4=6318",
            ];
            let lines: Vec<(i64, String)> = lines
                .iter()
                .zip(0..)
                .map(|(line, i)| (start + i * 1000, (*line).to_owned()))
                .collect();
            moto::add_log_stream(&self.logs, &self.log_group, &stream, &lines).await;
        }
    }

    fn reference(&self, revision: i32) -> String {
        format!("{}:{revision}", self.family)
    }
}

fn env_of(td: &TaskDefinition) -> BTreeMap<String, String> {
    let environment = td.container_definitions()[0].environment();
    let map: BTreeMap<String, String> = environment
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap_or_default().to_owned(),
                kv.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        map.len(),
        environment.len(),
        "duplicate names: {environment:?}"
    );
    map
}

fn secrets_of(td: &TaskDefinition) -> BTreeMap<String, String> {
    td.container_definitions()[0]
        .secrets()
        .iter()
        .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
        .collect()
}

/// DescribeServices: the service, its deployments and the deployed revision.
async fn check_describe_services(b: &Backend) {
    let out = b
        .ecs
        .describe_services()
        .cluster(&b.cluster)
        .services(&b.service)
        .send()
        .await
        .expect("DescribeServices");
    assert!(
        out.failures().is_empty(),
        "{}: {:?}",
        b.name,
        out.failures()
    );
    let [service] = out.services() else {
        panic!("{}: one service expected: {:?}", b.name, out.services());
    };
    assert_eq!(service.service_name(), Some(b.service.as_str()));
    assert_eq!(service.status(), Some("ACTIVE"));
    assert_eq!(service.desired_count(), 1);
    let deployed = format!(":task-definition/{}", b.reference(b.new.number));
    assert!(
        service
            .task_definition()
            .is_some_and(|t| t.ends_with(&deployed)),
        "{}: {:?}",
        b.name,
        service.task_definition()
    );
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .unwrap_or_else(|| panic!("{}: no PRIMARY deployment", b.name));
    if b.implementation.tracks_deployments() {
        assert!(
            primary
                .task_definition()
                .is_some_and(|t| t.ends_with(&deployed)),
            "{}: {primary:?}",
            b.name
        );
    }
    // moto starts no tasks and writes no service events (EMULATORS.md), so what the console
    // reads about a rollout is checked against the simulator only.
    if b.implementation.runs_tasks() {
        assert_eq!(service.running_count(), 1, "{service:?}");
        assert_eq!(
            primary.rollout_state(),
            Some(&DeploymentRolloutState::Completed)
        );
        assert!(!service.events().is_empty(), "no service events");
    }

    let missing = b
        .ecs
        .describe_services()
        .cluster(&b.cluster)
        .services("no-such-service")
        .send()
        .await
        .expect("DescribeServices (unknown)");
    assert!(missing.services().is_empty(), "{}", b.name);
    assert_eq!(
        missing.failures()[0].reason(),
        Some("MISSING"),
        "{}",
        b.name
    );
}

/// DescribeTaskDefinition with TAGS: both revisions exactly as registered; the bare family
/// means the latest.
async fn check_describe_task_definition(b: &Backend) {
    for revision in [&b.old, &b.new] {
        let out = b
            .ecs
            .describe_task_definition()
            .task_definition(b.reference(revision.number))
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .expect("DescribeTaskDefinition");
        let td = out.task_definition().expect("task definition");
        assert_eq!(td.family(), Some(b.family.as_str()));
        assert_eq!(td.revision(), revision.number);
        assert_eq!(
            env_of(td),
            revision.registration.environment,
            "{} environment",
            b.name
        );
        assert_eq!(
            secrets_of(td),
            revision.registration.secrets,
            "{} secrets",
            b.name
        );
        let tags: BTreeMap<String, String> = out
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(tags, revision.registration.tags, "{} tags", b.name);
        // moto has no registeredAt; AWS always sends it.
        if b.implementation.has_registered_at() {
            assert!(td.registered_at().is_some(), "no registeredAt");
        }
    }
    let latest = b
        .ecs
        .describe_task_definition()
        .task_definition(&b.family)
        .send()
        .await
        .expect("DescribeTaskDefinition (family)");
    assert_eq!(
        latest.task_definition().map(TaskDefinition::revision),
        Some(b.new.number),
        "{}",
        b.name
    );
}

/// ListTaskDefinitions: the family's revisions, oldest first, or newest first with DESC.
async fn check_list_task_definitions(b: &Backend) {
    let list = |order: SortOrder| {
        b.ecs
            .list_task_definitions()
            .family_prefix(&b.family)
            .sort(order)
            .send()
    };
    let expected: Vec<String> = [&b.old, &b.new]
        .iter()
        .map(|r| format!(":task-definition/{}", b.reference(r.number)))
        .collect();
    let ascending = list(SortOrder::Asc).await.expect("ListTaskDefinitions");
    let arns = ascending.task_definition_arns();
    assert_eq!(arns.len(), 2, "{}: {arns:?}", b.name);
    for (arn, suffix) in arns.iter().zip(&expected) {
        assert!(arn.ends_with(suffix.as_str()), "{}: {arns:?}", b.name);
    }
    if b.implementation.sorts_task_definitions() {
        let descending = list(SortOrder::Desc).await.expect("ListTaskDefinitions");
        let mut reversed = descending.task_definition_arns().to_vec();
        reversed.reverse();
        assert_eq!(reversed, arns, "{}", b.name);
    }
}

/// RegisterTaskDefinition + UpdateService: the next revision is registered and deployed.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn check_register_and_update_service(b: &Backend) {
    let current = b
        .ecs
        .describe_task_definition()
        .task_definition(&b.family)
        .send()
        .await
        .expect("DescribeTaskDefinition")
        .task_definition
        .expect("task definition");
    let mut containers = current.container_definitions().to_vec();
    let mut environment = containers[0].environment().to_vec();
    environment.push(
        KeyValuePair::builder()
            .name("CONTRACT_TEST")
            .value("1")
            .build(),
    );
    containers[0].environment = Some(environment);
    let registered = b
        .ecs
        .register_task_definition()
        .family(&b.family)
        .set_container_definitions(Some(containers))
        .set_cpu(current.cpu().map(str::to_owned))
        .set_memory(current.memory().map(str::to_owned))
        .set_network_mode(current.network_mode().cloned())
        .set_requires_compatibilities(Some(current.requires_compatibilities().to_vec()))
        .set_execution_role_arn(current.execution_role_arn().map(str::to_owned))
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition
        .expect("task definition");
    let next = b.new.number + 1;
    assert_eq!(registered.revision(), next, "{}", b.name);
    let mut expected_env = b.new.registration.environment.clone();
    expected_env.insert("CONTRACT_TEST".into(), "1".into());
    assert_eq!(env_of(&registered), expected_env, "{}", b.name);

    let updated = b
        .ecs
        .update_service()
        .cluster(&b.cluster)
        .service(&b.service)
        .task_definition(b.reference(next))
        .send()
        .await
        .expect("UpdateService")
        .service
        .expect("service");
    let arn = registered.task_definition_arn().expect("arn");
    // AWS resolves `family:revision` to the ARN; moto echoes the string it was given.
    if b.implementation.resolves_task_definition_arns() {
        assert_eq!(updated.task_definition(), Some(arn), "{}", b.name);
    } else {
        assert!(
            updated
                .task_definition()
                .is_some_and(|t| t.ends_with(&b.reference(next))),
            "{}: {:?}",
            b.name,
            updated.task_definition()
        );
    }

    let service = b
        .ecs
        .describe_services()
        .cluster(&b.cluster)
        .services(&b.service)
        .send()
        .await
        .expect("DescribeServices")
        .services
        .expect("services")
        .remove(0);
    assert!(
        service
            .task_definition()
            .is_some_and(|t| t.ends_with(&b.reference(next))),
        "{}: {:?}",
        b.name,
        service.task_definition()
    );
    // AWS starts a PRIMARY deployment of the new revision and keeps the old one ACTIVE while
    // it drains; moto keeps one deployment, on the first task definition.
    if b.implementation.tracks_deployments() {
        let primary = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .expect("PRIMARY deployment");
        assert!(
            primary
                .task_definition()
                .is_some_and(|t| t.ends_with(&b.reference(next))),
            "{}: {primary:?}",
            b.name
        );
        assert!(
            service
                .deployments()
                .iter()
                .any(|d| d.status() == Some("ACTIVE")),
            "{:?}",
            service.deployments()
        );
    }
}

/// Every event of the log group matching `TERM` up to `end`, in pages of `limit` (all at once
/// with `None`), with the size of each page.
async fn filtered(
    b: &Backend,
    end: i64,
    limit: Option<i32>,
) -> (Vec<(String, String)>, Vec<usize>) {
    let mut token = None;
    let mut events = Vec::new();
    let mut pages = Vec::new();
    loop {
        let page = b
            .logs
            .filter_log_events()
            .log_group_name(&b.log_group)
            .filter_pattern(TERM)
            .end_time(end)
            .set_limit(limit)
            .set_next_token(token)
            .send()
            .await
            .expect("FilterLogEvents");
        pages.push(page.events().len());
        events.extend(page.events().iter().map(|e| {
            (
                e.event_id().expect("eventId").to_owned(),
                e.message().unwrap_or_default().to_owned(),
            )
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return (events, pages);
        }
    }
}

/// FilterLogEvents with a plain term: paging with `limit` and `nextToken` returns every
/// matching event once, the same ones as one unlimited call.
async fn check_filter_log_events_paging(b: &Backend) {
    // Events up to now only, so the simulator's ongoing traffic cannot change the answer.
    let end = chrono::Utc::now().timestamp_millis();
    let (all, _) = filtered(b, end, None).await;
    assert!(
        all.len() >= 3,
        "{}: too few {TERM} events to page: {all:#?}",
        b.name
    );
    assert!(
        all.iter().all(|(_, message)| message.contains(TERM)),
        "{}: {all:#?}",
        b.name
    );
    let (paged, page_sizes) = filtered(b, end, Some(2)).await;
    assert!(page_sizes.len() >= 2, "{}: {page_sizes:?}", b.name);
    assert!(
        page_sizes.iter().all(|n| *n <= 2),
        "{}: {page_sizes:?}",
        b.name
    );
    let unique: BTreeSet<&String> = paged.iter().map(|(id, _)| id).collect();
    assert_eq!(
        unique.len(),
        paged.len(),
        "{}: duplicates {paged:#?}",
        b.name
    );
    assert_eq!(paged, all, "{}", b.name);
}

/// DescribeLogStreams: the task streams, newest event first, covering every filtered event.
async fn check_describe_log_streams(b: &Backend) {
    let out = b
        .logs
        .describe_log_streams()
        .log_group_name(&b.log_group)
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .send()
        .await
        .expect("DescribeLogStreams");
    let streams = out.log_streams();
    assert!(!streams.is_empty(), "{}", b.name);
    let prefix = format!("ecs/{}/", b.family);
    assert!(
        streams
            .iter()
            .all(|s| s.log_stream_name().is_some_and(|n| n.starts_with(&prefix))),
        "{}: {streams:#?}",
        b.name
    );
    let last: Vec<i64> = streams
        .iter()
        .filter_map(aws_sdk_cloudwatchlogs::types::LogStream::last_event_timestamp)
        .collect();
    assert!(
        last.windows(2).all(|w| w[0] >= w[1]),
        "{}: not newest first: {last:?}",
        b.name
    );
    let names: BTreeSet<&str> = streams
        .iter()
        .filter_map(aws_sdk_cloudwatchlogs::types::LogStream::log_stream_name)
        .collect();
    let events = b
        .logs
        .filter_log_events()
        .log_group_name(&b.log_group)
        .filter_pattern(TERM)
        .send()
        .await
        .expect("FilterLogEvents");
    for event in events.events() {
        let stream = event.log_stream_name().unwrap_or_default();
        assert!(names.contains(stream), "{}: {stream} not described", b.name);
    }
}

on_both_backends!(check_describe_services: contract_sim_describe_services, contract_moto_describe_services);
on_both_backends!(check_describe_task_definition: contract_sim_describe_task_definition, contract_moto_describe_task_definition);
on_both_backends!(check_list_task_definitions: contract_sim_list_task_definitions, contract_moto_list_task_definitions);
on_both_backends!(check_register_and_update_service: contract_sim_register_and_update_service, contract_moto_register_and_update_service);
on_both_backends!(check_filter_log_events_paging: contract_sim_filter_log_events_paging, contract_moto_filter_log_events_paging);
on_both_backends!(check_describe_log_streams: contract_sim_describe_log_streams, contract_moto_describe_log_streams);
