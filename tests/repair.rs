//! The repair flow: (a) a task definition using every field the ECS API has survives the
//! repair's registration with only the intended change — against the simulator and against
//! moto's server (`contract_*`); (b) each repair end to end on the simulator, the backend
//! really behaving differently afterwards; (c) the `otp-console repair` binary.

#[path = "contract_support/emulator.rs"]
mod emulator;

use std::process::Command;
use std::time::Duration;

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{
    self as ecs, Compatibility, ContainerCondition, ContainerDefinition, KeyValuePair, NetworkMode,
    TransportProtocol,
};
use otp_console::check::Options;
use otp_console::config::Config;
use otp_console::diagnosis::FailureMode;
use otp_console::repair::{
    plan, FollowOptions, Repair, Repairer, RevisionRef, RolloutState, Target,
};
use otp_console::sim::{self, scenario, Ports, Simulator};
use serde_json::Value;

const SCALE: f64 = 0.05;
const NEW_TOKEN: &str = "4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a";
const OLD_TOKEN: &str = "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c";
const VERIFY_SID: &str = "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const PHONE: &str = "+17133056318";

/// A RegisterTaskDefinition input that sets every field the API takes (EC2, awsvpc), with a
/// second container for `dependsOn`, `volumesFrom` and FireLens.
#[allow(deprecated)] // inferenceAccelerators: deprecated, still a field to preserve
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
fn maximal(family: &str) -> RegisterTaskDefinitionInput {
    let app = ContainerDefinition::builder()
        .name("app")
        .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.2.3")
        .repository_credentials(
            ecs::RepositoryCredentials::builder()
                .credentials_parameter(
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbC",
                )
                .build()
                .expect("credentials"),
        )
        .cpu(256)
        .memory(1024)
        .memory_reservation(512)
        .links("log_router")
        .port_mappings(
            ecs::PortMapping::builder()
                .container_port(8000)
                .host_port(8000)
                .protocol(TransportProtocol::Tcp)
                .name("http")
                .app_protocol(ecs::ApplicationProtocol::Http)
                .build(),
        )
        .essential(true)
        .restart_policy(
            ecs::ContainerRestartPolicy::builder()
                .enabled(true)
                .ignored_exit_codes(0)
                .restart_attempt_period(60)
                .build()
                .expect("restart policy"),
        )
        .entry_point("/entrypoint.sh")
        .command("uvicorn")
        .command("app.main:app")
        .environment(KeyValuePair::builder().name("A").value("1").build())
        .environment(
            KeyValuePair::builder()
                .name("TWILIO_AUTH_TOKEN")
                .value(OLD_TOKEN)
                .build(),
        )
        .environment_files(
            ecs::EnvironmentFile::builder()
                .value("arn:aws:s3:::bucket/app.env")
                .r#type(ecs::EnvironmentFileType::S3)
                .build()
                .expect("environment file"),
        )
        .mount_points(
            ecs::MountPoint::builder()
                .source_volume("data")
                .container_path("/data")
                .read_only(false)
                .build(),
        )
        .volumes_from(
            ecs::VolumeFrom::builder()
                .source_container("log_router")
                .read_only(true)
                .build(),
        )
        .linux_parameters(
            ecs::LinuxParameters::builder()
                .capabilities(
                    ecs::KernelCapabilities::builder()
                        .add("SYS_PTRACE")
                        .drop("NET_RAW")
                        .build(),
                )
                .devices(
                    ecs::Device::builder()
                        .host_path("/dev/fuse")
                        .container_path("/dev/fuse")
                        .permissions(ecs::DeviceCgroupPermission::Read)
                        .build()
                        .expect("device"),
                )
                .init_process_enabled(true)
                .shared_memory_size(64)
                .tmpfs(
                    ecs::Tmpfs::builder()
                        .container_path("/tmp")
                        .size(32)
                        .mount_options("rw")
                        .build()
                        .expect("tmpfs"),
                )
                .max_swap(0)
                .swappiness(10)
                .build(),
        )
        .secrets(
            ecs::Secret::builder()
                .name("DATABASE_URL")
                .value_from("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf")
                .build()
                .expect("secret"),
        )
        .depends_on(
            ecs::ContainerDependency::builder()
                .container_name("log_router")
                .condition(ContainerCondition::Start)
                .build()
                .expect("dependency"),
        )
        .start_timeout(30)
        .stop_timeout(20)
        .version_consistency(ecs::VersionConsistency::Disabled)
        .hostname("app")
        .user("1000:1000")
        .working_directory("/srv")
        .disable_networking(false)
        .privileged(false)
        .readonly_root_filesystem(true)
        .dns_servers("10.0.0.2")
        .dns_search_domains("internal")
        .extra_hosts(
            ecs::HostEntry::builder()
                .hostname("db.internal")
                .ip_address("10.0.1.5")
                .build()
                .expect("host"),
        )
        .docker_security_options("no-new-privileges")
        .interactive(false)
        .pseudo_terminal(false)
        .docker_labels("team", "otp")
        .ulimits(
            ecs::Ulimit::builder()
                .name(ecs::UlimitName::Nofile)
                .soft_limit(4096)
                .hard_limit(8192)
                .build()
                .expect("ulimit"),
        )
        .log_configuration(
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awsfirelens)
                .options("Name", "cloudwatch")
                .secret_options(
                    ecs::Secret::builder()
                        .name("apikey")
                        .value_from("arn:aws:ssm:us-east-1:123456789012:parameter/log-key")
                        .build()
                        .expect("secret option"),
                )
                .build()
                .expect("log configuration"),
        )
        .health_check(
            ecs::HealthCheck::builder()
                .command("CMD-SHELL")
                .command("curl -fsS http://localhost:8000/health || exit 1")
                .interval(30)
                .timeout(5)
                .retries(3)
                .start_period(10)
                .build()
                .expect("health check"),
        )
        .system_controls(
            ecs::SystemControl::builder()
                .namespace("net.core.somaxconn")
                .value("1024")
                .build(),
        )
        .resource_requirements(
            ecs::ResourceRequirement::builder()
                .value("1")
                .r#type(ecs::ResourceType::Gpu)
                .build()
                .expect("resource requirement"),
        )
        .credential_specs("credentialspecdomainless:arn:aws:s3:::bucket/spec.json")
        .build();
    let router = ContainerDefinition::builder()
        .name("log_router")
        .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
        .memory(128)
        .essential(true)
        .firelens_configuration(
            ecs::FirelensConfiguration::builder()
                .r#type(ecs::FirelensConfigurationType::Fluentbit)
                .options("enable-ecs-log-metadata", "true")
                .build()
                .expect("firelens"),
        )
        .build();
    RegisterTaskDefinitionInput::builder()
        .family(family)
        .task_role_arn("arn:aws:iam::123456789012:role/app-task")
        .execution_role_arn("arn:aws:iam::123456789012:role/app-execution")
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(app)
        .container_definitions(router)
        .volumes(
            ecs::Volume::builder()
                .name("data")
                .host(
                    ecs::HostVolumeProperties::builder()
                        .source_path("/mnt/data")
                        .build(),
                )
                .build(),
        )
        .volumes(
            ecs::Volume::builder()
                .name("shared")
                .efs_volume_configuration(
                    ecs::EfsVolumeConfiguration::builder()
                        .file_system_id("fs-0123456789abcdef0")
                        .root_directory("/")
                        .transit_encryption(ecs::EfsTransitEncryption::Enabled)
                        .transit_encryption_port(2049)
                        .authorization_config(
                            ecs::EfsAuthorizationConfig::builder()
                                .access_point_id("fsap-0123456789abcdef0")
                                .iam(ecs::EfsAuthorizationConfigIam::Enabled)
                                .build(),
                        )
                        .build()
                        .expect("efs"),
                )
                .build(),
        )
        .volumes(
            ecs::Volume::builder()
                .name("scratch")
                .docker_volume_configuration(
                    ecs::DockerVolumeConfiguration::builder()
                        .scope(ecs::Scope::Task)
                        .driver("local")
                        .driver_opts("type", "tmpfs")
                        .labels("purpose", "scratch")
                        .build(),
                )
                .build(),
        )
        .placement_constraints(
            ecs::TaskDefinitionPlacementConstraint::builder()
                .r#type(ecs::TaskDefinitionPlacementConstraintType::MemberOf)
                .expression("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]")
                .build(),
        )
        .requires_compatibilities(Compatibility::Ec2)
        .cpu("1024")
        .memory("2048")
        .tags(ecs::Tag::builder().key("app").value("otp").build())
        .tags(ecs::Tag::builder().key("env").value("prod").build())
        .pid_mode(ecs::PidMode::Task)
        .ipc_mode(ecs::IpcMode::Task)
        .proxy_configuration(
            ecs::ProxyConfiguration::builder()
                .r#type(ecs::ProxyConfigurationType::Appmesh)
                .container_name("log_router")
                .properties(
                    KeyValuePair::builder()
                        .name("IgnoredUID")
                        .value("1337")
                        .build(),
                )
                .properties(
                    KeyValuePair::builder()
                        .name("ProxyIngressPort")
                        .value("15000")
                        .build(),
                )
                .build()
                .expect("proxy"),
        )
        .inference_accelerators(
            ecs::InferenceAccelerator::builder()
                .device_name("device1")
                .device_type("eia2.medium")
                .build()
                .expect("accelerator"),
        )
        .ephemeral_storage(ecs::EphemeralStorage::builder().size_in_gib(30).build())
        .runtime_platform(
            ecs::RuntimePlatform::builder()
                .cpu_architecture(ecs::CpuArchitecture::X8664)
                .operating_system_family(ecs::OsFamily::Linux)
                .build(),
        )
        .enable_fault_injection(true)
        .build()
        .expect("input")
}

/// A described revision without the fields DescribeTaskDefinition adds.
fn writable(mut td: ecs::TaskDefinition) -> ecs::TaskDefinition {
    td.task_definition_arn = None;
    td.revision = 0;
    td.status = None;
    td.requires_attributes = None;
    td.compatibilities = None;
    td.registered_at = None;
    td.registered_by = None;
    td.deregistered_at = None;
    td.delete_requested_at = None;
    td
}

/// The input, as the task definition it describes (what a faithful ECS returns).
#[allow(deprecated)]
fn as_described(input: &RegisterTaskDefinitionInput) -> ecs::TaskDefinition {
    let input = input.clone();
    ecs::TaskDefinition::builder()
        .set_family(input.family)
        .set_task_role_arn(input.task_role_arn)
        .set_execution_role_arn(input.execution_role_arn)
        .set_network_mode(input.network_mode)
        .set_container_definitions(input.container_definitions)
        .set_volumes(input.volumes)
        .set_placement_constraints(input.placement_constraints)
        .set_requires_compatibilities(input.requires_compatibilities)
        .set_cpu(input.cpu)
        .set_memory(input.memory)
        .set_pid_mode(input.pid_mode)
        .set_ipc_mode(input.ipc_mode)
        .set_proxy_configuration(input.proxy_configuration)
        .set_inference_accelerators(input.inference_accelerators)
        .set_ephemeral_storage(input.ephemeral_storage)
        .set_runtime_platform(input.runtime_platform)
        .set_enable_fault_injection(input.enable_fault_injection)
        .build()
}

/// The top-level fields (and the app container's fields) where `a` and `b` differ, by name.
fn differing(a: &ecs::TaskDefinition, b: &ecs::TaskDefinition) -> Vec<String> {
    let fields = |td: &ecs::TaskDefinition| -> Vec<(String, String)> {
        let text = format!("{td:#?}");
        split_fields(&text)
    };
    let (fa, fb) = (fields(a), fields(b));
    let mut out: Vec<String> = fa
        .iter()
        .zip(&fb)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.0.clone())
        .collect();
    if out.contains(&"container_definitions".to_owned()) {
        for (ca, cb) in a
            .container_definitions()
            .iter()
            .zip(b.container_definitions())
        {
            let (ca, cb) = (
                split_fields(&format!("{ca:#?}")),
                split_fields(&format!("{cb:#?}")),
            );
            out.extend(
                ca.iter()
                    .zip(&cb)
                    .filter(|(x, y)| x != y)
                    .map(|(x, _)| format!("container.{}", x.0)),
            );
        }
    }
    out
}

/// `Type {\n    field: value,\n ...}` pretty Debug split into top-level fields.
fn split_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines().skip(1) {
        if let Some(rest) = line.strip_prefix("    ") {
            if !rest.starts_with(' ') {
                if let Some((name, value)) = rest.split_once(": ") {
                    out.push((name.to_owned(), value.to_owned()));
                    continue;
                }
            }
        }
        if let Some(last) = out.last_mut() {
            last.1.push_str(line);
        }
    }
    out
}

/// Registers the maximal task definition, repairs it (one variable changed) and checks that
/// the new revision equals the source but for that change. Returns the fields the backend
/// dropped from the source registration itself.
async fn round_trip(sdk: &aws_config::SdkConfig) -> Vec<String> {
    let mut config = Config::default();
    config.aws.service = "app".into();
    let repairer = Repairer::new(sdk, &config);
    let input = maximal("roundtrip");
    let registered = repairer
        .register(&input)
        .await
        .expect("register the source");
    let source = repairer
        .describe(&format!("roundtrip:{}", registered.revision()))
        .await
        .expect("describe the source");
    let dropped = differing(
        &as_described(&input),
        &writable(source.task_definition.clone()),
    );
    let tags: Vec<(String, String)> = source
        .tags
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().into(),
                t.value().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        tags,
        vec![("app".into(), "otp".into()), ("env".into(), "prod".into())]
    );

    let repair = Repair::Set(vec![("TWILIO_AUTH_TOKEN".into(), NEW_TOKEN.into())]);
    let plan = plan::plan(&repair, "cluster", "app", &source, None).expect("plan");
    let Target::Register(next) = &plan.target else {
        panic!("a registration")
    };
    let again = repairer.register(next).await.expect("register the repair");
    assert_eq!(again.revision(), registered.revision() + 1);
    let after = repairer
        .describe(&format!("roundtrip:{}", again.revision()))
        .await
        .expect("describe the repair");
    assert_eq!(after.tags, source.tags, "tags carried over");

    let mut expected = writable(source.task_definition.clone());
    expected.container_definitions = Some(plan::with_env(
        source.task_definition.container_definitions(),
        0,
        &[("TWILIO_AUTH_TOKEN".into(), NEW_TOKEN.into())],
    ));
    let actual = writable(after.task_definition.clone());
    assert_eq!(
        differing(&expected, &actual),
        Vec::<String>::new(),
        "the repaired revision differs from the source beyond the intended change"
    );
    assert_eq!(actual, expected);
    let env = actual.container_definitions()[0].environment();
    assert_eq!(env[1].value(), Some(NEW_TOKEN));
    assert_eq!(env[0].value(), Some("1"));
    dropped
}

#[tokio::test]
async fn round_trip_on_the_simulator_preserves_every_field() {
    let sim = Simulator::start(
        scenario::load("healthy").expect("scenario"),
        SCALE,
        Ports::default(),
    )
    .await
    .expect("simulator");
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    let sdk = otp_console::runner::demo_sdk_config(&config).await;
    let dropped = Box::pin(round_trip(&sdk)).await;
    assert_eq!(
        dropped,
        Vec::<String>::new(),
        "the simulator dropped fields"
    );
}

#[tokio::test]
async fn contract_moto_round_trip_preserves_every_field() {
    let server = emulator::moto().await;
    let sdk = emulator::sdk_config(&server.url, "testing", "testing").await;
    let dropped = Box::pin(round_trip(&sdk)).await;
    // Where moto's DescribeTaskDefinition is not the registration (moto 5.2): it drops
    // `enableFaultInjection`, and gives the second container (which set none) empty
    // `portMappings`, `mountPoints` and `volumesFrom` lists. The repair's own round trip above
    // holds anyway: whatever moto returned is registered again unchanged.
    let moto_differs = [
        "container_definitions",
        "enable_fault_injection",
        "container.port_mappings",
        "container.mount_points",
        "container.volumes_from",
    ];
    assert_eq!(dropped, moto_differs, "moto's differences changed");
}

/// A simulator of `name` and the console's view of it.
async fn start(name: &str) -> (Simulator, Config, aws_config::SdkConfig) {
    let sim = Simulator::start(
        scenario::load(name).expect("scenario"),
        SCALE,
        Ports::default(),
    )
    .await
    .expect("simulator");
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    let sdk = otp_console::runner::demo_sdk_config(&config).await;
    (sim, config, sdk)
}

fn options(test_phone: Option<&str>) -> Options {
    Options {
        check_aws: false,
        test_phone: test_phone.map(str::to_owned),
        deadline: Duration::from_secs(30),
        aws_credentials: Some((sim::ACCESS_KEY_ID.into(), sim::SECRET_ACCESS_KEY.into())),
        logs_since_ms: None,
        trace: false,
    }
}

/// Plans, applies, follows and verifies `repair` on scenario `name`; the verdict afterwards.
async fn repaired(name: &str, repair: Repair, test_phone: Option<&str>) -> FailureMode {
    let (_sim, config, sdk) = start(name).await;
    let repairer = Repairer::new(&sdk, &config);
    let plan = repairer.plan(&repair).await.expect("plan");
    // A repair that works starts tasks that can read every secret they reference (the one it
    // restores, puts a value into or points elsewhere included): nothing to warn of.
    assert!(plan.warnings.is_empty(), "{name}: {:?}", plan.warnings);
    let applied = Box::pin(repairer.apply(&plan)).await.expect("apply");
    let mut seen = Vec::new();
    let rollout = repairer
        .follow(&plan, &applied, &FollowOptions::scaled(SCALE), |e| {
            seen.push(e.clone());
        })
        .await;
    assert_eq!(
        rollout.state,
        RolloutState::Completed,
        "{name}: {rollout:#?}"
    );
    assert_eq!(seen, rollout.events);
    assert!(
        rollout
            .service_events
            .iter()
            .any(|e| e.contains("has reached a steady state")),
        "{rollout:#?}"
    );
    let deployed = repairer.deployed().await.expect("deployed");
    assert_eq!(deployed.task_definition.revision(), applied.revision);
    let report = Box::pin(otp_console::repair::verify(
        &config,
        name,
        &options(test_phone),
    ))
    .await
    .expect("verification runs");
    report.diagnosis.verdict.failure_mode
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_env_vars_fixed_by_setting_the_variable() {
    let repair = Repair::Set(vec![(
        "TWILIO_VERIFY_SERVICE_SID".into(),
        VERIFY_SID.into(),
    )]);
    assert_eq!(
        repaired("missing-env-vars", repair, Some(PHONE)).await,
        FailureMode::None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_credentials_fixed_by_a_new_token() {
    let repair = || Repair::Set(vec![("TWILIO_AUTH_TOKEN".into(), NEW_TOKEN.into())]);
    assert_eq!(
        repaired("invalid-credentials", repair(), Some(PHONE)).await,
        FailureMode::None
    );
    // Without a test phone nothing has answered an OTP start since the new tasks came up: a
    // token Twilio accepts does not prove the service's own call reaches it.
    assert_eq!(
        repaired("invalid-credentials", repair(), None).await,
        FailureMode::Inconclusive
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn event_loop_blocking_fixed_by_rolling_back() {
    let repair = Repair::RollbackTo(RevisionRef::Previous);
    assert_eq!(
        repaired("event-loop-blocking", repair, Some(PHONE)).await,
        FailureMode::None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_revision_is_reported_stuck_with_its_events() {
    let (_sim, config, sdk) = start("stub-provider").await;
    let repairer = Repairer::new(&sdk, &config);
    let plan = repairer.plan(&Repair::Redeploy).await.expect("plan");
    let applied = Box::pin(repairer.apply(&plan)).await.expect("apply");
    let follow = FollowOptions {
        poll: Duration::from_millis(100),
        timeout: Duration::from_secs(6),
        stall: Duration::from_secs(4),
    };
    let rollout = repairer.follow(&plan, &applied, &follow, |_| {}).await;
    assert!(
        matches!(rollout.state, RolloutState::Stuck | RolloutState::Failed),
        "{rollout:#?}"
    );
    assert!(!rollout.reason.is_empty());
    assert!(
        rollout
            .service_events
            .iter()
            .any(|e| e.contains("has started")),
        "{rollout:#?}"
    );
    assert!(
        rollout
            .stopped_tasks
            .iter()
            .any(|t| t.contains("Essential container in task exited")),
        "{rollout:#?}"
    );
    assert!(rollout
        .suggestion
        .as_deref()
        .is_some_and(|s| s.contains("--rollback-to previous")));
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_otp-console"))
}

#[tokio::test(flavor = "multi_thread")]
async fn without_yes_nothing_changes() {
    let (_sim, config, sdk) = start("missing-env-vars").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("otp-console.toml");
    std::fs::write(&path, config.to_toml_string().expect("toml")).expect("write");
    let out = binary()
        .args(["repair", "--config"])
        .arg(&path)
        .args(["--set", &format!("TWILIO_VERIFY_SERVICE_SID={VERIFY_SID}")])
        .env("AWS_ACCESS_KEY_ID", sim::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", sim::SECRET_ACCESS_KEY)
        .env_remove("AWS_PROFILE")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("+ TWILIO_VERIFY_SERVICE_SID = VA0a1b2c…"),
        "{stdout}"
    );
    assert!(stdout.contains("Nothing changed"), "{stdout}");
    assert!(!stdout.contains(VERIFY_SID), "{stdout}");

    let repairer = Repairer::new(&sdk, &config);
    let deployed = repairer.deployed().await.expect("deployed");
    assert_eq!(deployed.task_definition.revision(), 42);
    assert!(
        repairer.describe("nerava-backend:43").await.is_err(),
        "registered anyway"
    );
    let report = otp_console::repair::verify(&config, "again", &options(None))
        .await
        .expect("check runs");
    assert_eq!(
        report.diagnosis.verdict.failure_mode,
        FailureMode::MissingEnvVars
    );
}

#[test]
fn secret_values_are_never_printed() {
    let out = binary()
        .args([
            "repair",
            "--demo",
            "invalid-credentials",
            "--time-scale",
            "0.05",
        ])
        .args(["--set", &format!("TWILIO_AUTH_TOKEN={NEW_TOKEN}")])
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("~ TWILIO_AUTH_TOKEN changed (•••••••• → ••••••••)"),
        "{text}"
    );
    assert!(text.contains(r#""value": "••••••••""#), "{text}");
    assert!(
        !text.contains(NEW_TOKEN) && !text.contains(OLD_TOKEN),
        "{text}"
    );
}

#[test]
fn yes_json_applies_follows_and_verifies() {
    let out = binary()
        .args([
            "repair",
            "--demo",
            "missing-env-vars",
            "--time-scale",
            "0.05",
            "--yes",
            "--json",
            "--test-phone",
            PHONE,
        ])
        .args(["--set", &format!("TWILIO_VERIFY_SERVICE_SID={VERIFY_SID}")])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["plan"]["action"]["kind"], "set");
    assert_eq!(json["plan"]["source_revision"]["revision"], 42);
    assert_eq!(json["plan"]["diff"][0]["change"], "added");
    assert!(json["plan"]["commands"]
        .as_array()
        .is_some_and(|c| c.len() == 5));
    assert_eq!(json["applied"]["revision"], 43);
    assert!(json["applied"]["task_definition_arn"]
        .as_str()
        .is_some_and(|a| a.ends_with("task-definition/nerava-backend:43")));
    assert!(json["applied"]["deployment_id"]
        .as_str()
        .is_some_and(|d| d.starts_with("ecs-svc/")));
    assert_eq!(json["rollout"]["state"], "completed");
    assert!(json["rollout"]["seconds"].as_f64().is_some());
    assert!(json["rollout"]["events"]
        .as_array()
        .is_some_and(|e| !e.is_empty()));
    assert_eq!(json["verification"]["schema_version"], 1);
    assert_eq!(json["verification"]["verdict"]["failure_mode"], "none");
    assert!(stderr.contains("COMPLETED"), "progress on stderr: {stderr}");
}

#[test]
fn a_bad_assignment_is_one_line_and_exit_2() {
    let out = binary()
        .args(["repair", "--demo", "missing-env-vars", "--set", "FOO"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--set FOO: expected NAME=VALUE"),
        "{stderr}"
    );
    let out = binary()
        .args([
            "repair",
            "--demo",
            "event-loop-blocking",
            "--rollback-to",
            "7",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_made_before_someone_else_deployed_is_not_applied() {
    let (_sim, config, sdk) = start("missing-env-vars").await;
    let repairer = Repairer::new(&sdk, &config);
    let stale = repairer.plan(&Repair::Redeploy).await.expect("plan");
    // Meanwhile, another deploy: the variable is set by someone else.
    let other = repairer
        .plan(&Repair::Set(vec![(
            "TWILIO_VERIFY_SERVICE_SID".into(),
            VERIFY_SID.into(),
        )]))
        .await
        .expect("plan");
    let applied = repairer.apply(&other).await.expect("apply");
    let error = repairer.apply(&stale).await.expect_err("a stale plan");
    assert!(
        error.0.contains(&format!(":{}", applied.revision)) && error.0.contains("plan again"),
        "{error}"
    );
}

/// A plan warns, before anything changes, of each secret the tasks it starts could not read:
/// the runbook's rollback while the database secret it still references is scheduled for
/// deletion (the event loop is the cause, the secret a risk that this repair would turn into
/// tasks that do not start), and a redeploy while the execution role is refused a secret.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_warns_of_a_secret_the_tasks_it_starts_could_not_read() {
    let (_sim, config, sdk) = start("event-loop-secret-deleted").await;
    let plan = Repairer::new(&sdk, &config)
        .plan(&Repair::RollbackTo(RevisionRef::Previous))
        .await
        .expect("plan");
    let shown = otp_console::repair::render::render_plan(&plan, "demo");
    assert_eq!(plan.warnings.len(), 1, "{shown}");
    assert!(
        shown.contains(
            "WARNING  DATABASE_URL ← secretsmanager:nerava/prod/database-AbCdEf: secret "
        ) && shown.contains("was scheduled for deletion")
            && shown.contains("the tasks this plan starts would stop on it"),
        "{shown}"
    );
    assert_eq!(plan.to_json()["warnings"][0], plan.warnings[0].as_str());

    let (_sim, config, sdk) = start("execution-role-denied").await;
    let plan = Repairer::new(&sdk, &config)
        .plan(&Repair::Redeploy)
        .await
        .expect("plan");
    assert!(
        plan.warnings.len() == 1
            && plan.warnings[0].starts_with("TWILIO_AUTH_TOKEN ← ")
            && plan.warnings[0].contains("execution role")
            && plan.warnings[0].contains("may NOT secretsmanager:GetSecretValue"),
        "{:?}",
        plan.warnings
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_deleted_fixed_by_restoring_the_secret() {
    let repair = Repair::RestoreSecret("TWILIO_AUTH_TOKEN".into());
    assert_eq!(
        repaired("secret-deleted", repair, Some(PHONE)).await,
        FailureMode::None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_rotated_fixed_by_putting_the_new_token_in_the_secret() {
    let repair = Repair::PutSecret("TWILIO_AUTH_TOKEN".into(), NEW_TOKEN.into());
    assert_eq!(
        repaired("secret-rotated", repair, Some(PHONE)).await,
        FailureMode::None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_repair_needs_a_secrets_manager_reference() {
    let (_sim, config, sdk) = start("healthy").await;
    let repairer = Repairer::new(&sdk, &config);
    let not_a_secret = repairer
        .plan(&Repair::RestoreSecret("LOG_LEVEL".into()))
        .await
        .expect_err("a plain variable");
    assert!(not_a_secret.0.contains("--set"), "{not_a_secret}");
    let ssm = repairer
        .plan(&Repair::PutSecret(
            "TWILIO_VERIFY_SERVICE_SID".into(),
            VERIFY_SID.into(),
        ))
        .await
        .expect_err("a parameter");
    assert!(ssm.0.contains("aws ssm put-parameter"), "{ssm}");
    let plan = repairer
        .plan(&Repair::PutSecret(
            "TWILIO_AUTH_TOKEN".into(),
            NEW_TOKEN.into(),
        ))
        .await
        .expect("plan");
    assert!(plan.diff.is_empty());
    assert_eq!(
        plan.commands[0],
        "aws secretsmanager put-secret-value --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o --secret-string '••••••••'"
    );
    assert!(!format!("{plan:?}{}", plan.to_json()).contains(NEW_TOKEN));
}

#[test]
fn put_secret_yes_json_never_prints_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("r");
    let out = binary()
        .args([
            "repair",
            "--demo",
            "secret-rotated",
            "--time-scale",
            "0.05",
            "--yes",
            "--json",
            "--test-phone",
            PHONE,
            "--report",
        ])
        .arg(&report)
        .args(["--put-secret", &format!("TWILIO_AUTH_TOKEN={NEW_TOKEN}")])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(json["plan"]["action"]["kind"], "put_secret");
    assert_eq!(json["rollout"]["state"], "completed");
    assert_eq!(json["verification"]["verdict"]["failure_mode"], "none");
    let md = std::fs::read_to_string(report.with_extension("md")).expect("report");
    let js = std::fs::read_to_string(report.with_extension("json")).expect("report");
    for text in [stdout.as_ref(), stderr.as_ref(), md.as_str(), js.as_str()] {
        assert!(
            !text.contains(NEW_TOKEN) && !text.contains(OLD_TOKEN),
            "{text}"
        );
    }
}

/// `repair --yes` stopped by SIGTERM while it follows the rollout: one line says the rollout
/// goes on in ECS and how to follow it, and the exit status is the signal's (143).
#[test]
fn a_repair_stopped_mid_rollout_says_the_rollout_goes_on() {
    use std::io::{BufRead as _, BufReader};
    let mut child = binary()
        .args([
            "repair",
            "--demo",
            "missing-env-vars",
            "--time-scale",
            "1",
            "--yes",
        ])
        .args(["--set", &format!("TWILIO_VERIFY_SERVICE_SID={VERIFY_SID}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("stdout");
    // Wait for the rollout to start (the follower's first line), then stop the command.
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        seen.push(line.clone());
        if line.starts_with("ROLLOUT") {
            break;
        }
    }
    assert!(seen.iter().any(|l| l.starts_with("APPLIED")), "{seen:?}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("interrupted"))
        .unwrap_or_else(|| panic!("no line about the rollout: {stderr}"));
    assert!(
        line.contains("goes on in ECS")
            && line.contains(
                "aws ecs wait services-stable --cluster nerava-cluster --services nerava-backend"
            ),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn execution_role_denied_fixed_by_pointing_the_variable_at_a_secret_the_role_may_read() {
    let repair = Repair::PointSecret(vec![(
        "TWILIO_AUTH_TOKEN".into(),
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o:auth_token::"
            .into(),
    )]);
    assert_eq!(
        repaired("execution-role-denied", repair, Some(PHONE)).await,
        FailureMode::None
    );
}

/// `--set-secret` moves a plain variable into `secrets` (ECS refuses a name in both), keeps
/// every other field, shows references (never values) and refuses what is not a reference.
#[tokio::test(flavor = "multi_thread")]
async fn pointing_a_plain_variable_at_a_secret_moves_it_into_secrets() {
    const FROM: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o:auth_token::";
    let (_sim, config, sdk) = start("invalid-credentials").await;
    let repairer = Repairer::new(&sdk, &config);
    let plan = repairer
        .plan(&Repair::PointSecret(vec![(
            "TWILIO_AUTH_TOKEN".into(),
            FROM.into(),
        )]))
        .await
        .expect("plan");
    let Target::Register(input) = &plan.target else {
        panic!("a new revision: {plan:?}");
    };
    let container = &input.container_definitions()[0];
    assert!(container
        .environment()
        .iter()
        .all(|kv| kv.name() != Some("TWILIO_AUTH_TOKEN")));
    assert!(container
        .secrets()
        .iter()
        .any(|s| s.name() == "TWILIO_AUTH_TOKEN" && s.value_from() == FROM));
    let shown = format!("{plan:?} {}", plan.to_json());
    assert!(!shown.contains(OLD_TOKEN), "{shown}");
    assert!(plan.to_json()["action"]["kind"] == "point_secret");
    for bad in [
        "TWILIO_AUTH_TOKEN",
        "TWILIO_AUTH_TOKEN=hunter2 secret",
        "TWILIO_AUTH_TOKEN=arn:aws:s3:::bucket/key",
        "1X=arn:aws:secretsmanager:us-east-1:1:secret:x",
        "TWILIO_AUTH_TOKEN=4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a",
    ] {
        let e = otp_console::repair::parse_secret_ref(bad).expect_err(bad);
        assert!(e.0.starts_with("--set-secret "), "{e}");
        assert!(!e.0.contains("hunter2") && !e.0.contains(NEW_TOKEN), "{e}");
    }
    for good in [
        FROM,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio",
        "arn:aws:ssm:us-east-1:123456789012:parameter/nerava/prod/x",
        "/nerava/prod/x",
    ] {
        otp_console::repair::parse_secret_ref(&format!("X={good}")).expect(good);
    }
}

/// App Runner (#24): `--set` is an UpdateService with the whole variables map, followed in
/// ListOperations to SUCCEEDED and verified `none`; `--redeploy` of a paused service resumes it;
/// the plan never prints a value; a paused service refuses `--set` in one line (exit 2).
#[test]
fn apprunner_repairs_update_or_resume_follow_the_operation_and_verify() {
    let run = |scenario: &str, flags: &[&str]| {
        let out = binary()
            .args([
                "repair",
                "--demo",
                scenario,
                "--time-scale",
                "0.05",
                "--json",
            ])
            .args(["--test-phone", PHONE])
            .args(flags)
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stdout, stderr)
    };
    let set = format!("TWILIO_VERIFY_SERVICE_SID={VERIFY_SID}");
    let (code, stdout, stderr) = run("apprunner-missing-env-vars", &["--yes", "--set", &set]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains(VERIFY_SID) && !stderr.contains(VERIFY_SID));
    let json: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(json["plan"]["platform"], "apprunner");
    assert_eq!(json["plan"]["diff"][0]["change"], "added");
    // Every secret the new instances read is readable: nothing to warn of.
    assert_eq!(json["plan"]["warnings"], serde_json::json!([]), "{stdout}");
    assert_eq!(json["operation"], "SUCCEEDED");
    assert_eq!(json["verification"]["verdict"]["failure_mode"], "none");
    assert!(
        stderr.contains("IN_PROGRESS") && stderr.contains("SUCCEEDED"),
        "{stderr}"
    );

    let (code, stdout, stderr) = run("apprunner-paused", &["--yes", "--redeploy"]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert!(json["plan"]["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("ResumeService")));
    assert_eq!(json["verification"]["verdict"]["failure_mode"], "none");

    let (code, _, stderr) = run("apprunner-paused", &["--set", &set]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is PAUSED") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
