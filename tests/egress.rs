//! Egress (#13) end to end on the simulator: `check --demo … --check-aws` names
//! `network_blocked` and the resource from AWS's network configuration alone (no test OTP), and
//! the simulated backend's calls to Twilio follow the VPC's state — a revoked security group
//! rule makes them hang, authorizing it again lets them through without a redeploy.

use std::process::Command;
use std::time::{Duration, Instant};

use otp_console::sim::{self, scenario, Ports, Simulator};
use serde_json::Value;

const SG: &str = "sg-0f1e2d3c4b5a69788";
const PRIVATE_RTB: &str = "rtb-0d4e5f6a7b8c9d0e1";

fn check_demo(scenario: &str) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .env_remove("AWS_PROFILE")
        .args(["check", "--demo", scenario, "--check-aws", "--json"])
        .output()
        .expect("runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{scenario}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn sent_an_otp(json: &Value) -> bool {
    json["observations"]["http"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["endpoint"] == "otp_start")
}

#[test]
fn check_names_the_security_group_without_a_test_otp() {
    let (code, json) = check_demo("network-blocked");
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(
        json["verdict"]["failure_mode"], "network_blocked",
        "{json:#}"
    );
    assert!(!sent_an_otp(&json), "no OTP start was asked for");
    let top = &json["verdict"]["candidates"][0];
    assert_eq!(top["confidence"], 3);
    let evidence = top["evidence"].to_string();
    assert!(
        evidence.contains(&format!("{SG} egress allows only tcp 5432 to 10.0.0.0/16")),
        "{evidence}"
    );
    let commands = top["commands"].to_string();
    assert!(commands.contains(&format!("authorize-security-group-egress --group-id {SG}")));
    assert!(!commands.contains("<the service's sg>"), "{commands}");
    let line = json["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"] == "egress_https")
        .unwrap();
    assert_eq!(line["state"], "fail");
    // The path, hop by hop, in the JSON.
    let network = &json["observations"]["network"];
    assert_eq!(network["state"], "fail");
    let hops: Vec<(&str, &str)> = network["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["kind"].as_str().unwrap(), h["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        hops,
        [
            ("security_group", "fail"),
            ("network_acl", "pass"),
            ("route", "pass"),
            ("gateway", "pass")
        ]
    );
}

#[test]
fn check_names_the_route_table_that_lost_its_default_route() {
    let (code, json) = check_demo("nat-route-missing");
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(
        json["verdict"]["failure_mode"], "network_blocked",
        "{json:#}"
    );
    assert!(!sent_an_otp(&json));
    let top = &json["verdict"]["candidates"][0];
    assert!(
        top["evidence"].to_string().contains(&format!(
            "{PRIVATE_RTB} (explicit table of subnet-0a1b2c3d4e5f60718) has no 0.0.0.0/0 route"
        )),
        "{top:#}"
    );
    assert!(top["commands"].to_string().contains(&format!(
        "create-route --route-table-id {PRIVATE_RTB} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id nat-0e1f2a3b4c5d6e7f8"
    )));
}

#[test]
fn a_healthy_network_passes_the_checklist_line_with_the_path() {
    let (code, json) = check_demo("healthy");
    assert_eq!(code, 0, "{json:#}");
    let line = json["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"] == "egress_https")
        .unwrap();
    assert_eq!(line["state"], "pass");
    assert!(line["evidence"].as_str().unwrap().contains(SG));
}

async fn start(name: &str) -> Simulator {
    Simulator::start(scenario::load(name).expect("loads"), 0.05, Ports::default())
        .await
        .expect("starts")
}

/// The AWS SDK configuration for the simulator's AWS endpoint, signed with its keys.
async fn sdk(sim: &Simulator) -> aws_config::SdkConfig {
    otp_console::probe::aws::loader()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&sim.urls.aws)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            sim::ACCESS_KEY_ID,
            sim::SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .load()
        .await
}

async fn ec2(sim: &Simulator) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk(sim).await)
}

/// An OTP start's status and how long it took.
async fn otp_start(sim: &Simulator) -> (u16, Duration) {
    let started = Instant::now();
    let status = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
        .post(format!("{}/v1/auth/otp/start", sim.urls.api))
        .json(&serde_json::json!({ "phone": "+17133056318" }))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    (status, started.elapsed())
}

fn https_anywhere() -> aws_sdk_ec2::types::IpPermission {
    aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip("0.0.0.0/0")
                .build(),
        )
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backends_egress_follows_the_security_group_without_a_redeploy() {
    let sim = start("network-blocked").await;
    let ec2 = ec2(&sim).await;
    // Blocked: the call to Twilio hangs until TWILIO_TIMEOUT_SECONDS (1.5 s at this scale).
    let (blocked, took_blocked) = otp_start(&sim).await;
    assert_eq!(blocked, 503);
    ec2.authorize_security_group_egress()
        .group_id(SG)
        .ip_permissions(https_anywhere())
        .send()
        .await
        .expect("authorizes");
    let (open, took_open) = otp_start(&sim).await;
    assert_eq!(open, 200, "the same tasks now reach Twilio");
    assert!(
        took_open < took_blocked,
        "{took_open:?} vs {took_blocked:?}"
    );
    // A second identical rule is EC2's duplicate error.
    let dup = ec2
        .authorize_security_group_egress()
        .group_id(SG)
        .ip_permissions(https_anywhere())
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&dup),
        Some("InvalidPermission.Duplicate")
    );
    // Revoked again: blocked again.
    ec2.revoke_security_group_egress()
        .group_id(SG)
        .ip_permissions(https_anywhere())
        .send()
        .await
        .expect("revokes");
    assert_eq!(otp_start(&sim).await.0, 503);
    let gone = ec2
        .revoke_security_group_egress()
        .group_id(SG)
        .ip_permissions(https_anywhere())
        .send()
        .await
        .expect_err("nothing to revoke");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&gone),
        Some("InvalidPermission.NotFound")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn describes_answer_by_id_and_filter_with_ec2s_not_found_errors() {
    let sim = start("healthy").await;
    let ec2 = ec2(&sim).await;
    let groups = ec2
        .describe_security_groups()
        .group_ids(SG)
        .send()
        .await
        .expect("describes");
    let egress = groups.security_groups()[0].ip_permissions_egress();
    assert_eq!(egress[0].from_port(), Some(443));
    assert_eq!(egress[0].ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));
    let missing = ec2
        .describe_security_groups()
        .group_ids("sg-000000000000000aa")
        .send()
        .await
        .expect_err("not found");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&missing),
        Some("InvalidGroup.NotFound")
    );
    let main = ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.main")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("filters");
    assert_eq!(main.route_tables().len(), 1);
    assert_eq!(main.route_tables()[0].routes().len(), 1, "local only");
    let bad = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("no-such-filter")
                .values("x")
                .build(),
        )
        .send()
        .await
        .expect_err("invalid filter");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&bad),
        Some("InvalidParameterValue")
    );
    let nats = ec2.describe_nat_gateways().send().await.expect("nats");
    assert_eq!(
        nats.nat_gateways()[0].state(),
        Some(&aws_sdk_ec2::types::NatGatewayState::Available)
    );
    let acls = ec2.describe_network_acls().send().await.expect("acls");
    let entries = acls.network_acls()[0].entries();
    assert_eq!(entries.len(), 4);
    assert!(
        acls.network_acls()[0].associations().len() == 2,
        "both subnets use the default ACL"
    );
    let vpcs = ec2.describe_vpcs().send().await.expect("vpcs");
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_network_is_an_observation_not_a_pass() {
    let sim = start("network-blocked").await;
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    // ECS answers, EC2's DescribeSecurityGroups is denied.
    let key = "AKIASIMNOEC2DESCR001";
    let sdk = otp_console::engine::static_sdk_config(&config, key, "x").await;
    let probe = otp_console::probe::network::NetworkProbe::new(&sdk, &config.aws);
    let err = probe.path().await.expect_err("denied");
    assert_eq!(err.kind, otp_console::probe::ErrorKind::Credentials);
    assert_eq!(err.code.as_deref(), Some("UnauthorizedOperation"));
    assert!(
        err.message.contains("ec2:DescribeSecurityGroups") && !err.message.contains('\n'),
        "{}",
        err.message
    );
    // The check says so once and does not name the network from it, nor pass the line on it.
    let options = otp_console::check::Options {
        check_aws: true,
        test_phone: None,
        deadline: Duration::from_secs(30),
        aws_credentials: Some((key.into(), sim::SECRET_ACCESS_KEY.into())),
        logs_since_ms: None,
        trace: false,
    };
    let report = Box::pin(otp_console::check::check(&config, "demo", &options))
        .await
        .expect("runs");
    let d = &report.diagnosis;
    assert_eq!(
        d.unknown
            .iter()
            .filter(|u| u.starts_with("Network path: AWS: UnauthorizedOperation"))
            .count(),
        1,
        "{:?}",
        d.unknown
    );
    let line = d
        .checklist
        .iter()
        .find(|l| l.item == otp_console::diagnosis::Item::EgressHttps)
        .expect("line");
    assert_ne!(line.state, otp_console::diagnosis::State::Pass, "{line:?}");
    assert!(d.verdict.candidates.iter().all(|f| f.confidence < 3
        || f.failure_mode != otp_console::diagnosis::FailureMode::NetworkBlocked));
}

fn repair_demo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .env_remove("AWS_PROFILE")
        .args(["repair", "--time-scale", "0.05"])
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn repair_allows_egress_on_the_services_group_then_verifies_healthy() {
    // Without --yes: the plan only.
    let out = repair_demo(&["--demo", "network-blocked", "--allow-egress", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(plan["applied"], Value::Null);
    assert_eq!(plan["plan"]["action"]["group_id"], SG);
    assert!(plan["plan"]["before"]
        .as_str()
        .unwrap()
        .contains("allows only tcp 5432"));
    // With --yes: the rule added, the path open, the OTP sent and delivered, verdict none.
    let out = repair_demo(&[
        "--demo",
        "network-blocked",
        "--allow-egress",
        "--yes",
        "--json",
        "--test-phone",
        "+17133056318",
    ]);
    let done: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{done:#}");
    assert!(done["applied"]["rules"][0]
        .as_str()
        .unwrap()
        .starts_with("sgr-"));
    assert_eq!(done["path_after"]["state"], "pass");
    assert_eq!(
        done["verification"]["verdict"]["failure_mode"], "none",
        "{done:#}"
    );
    assert!(sent_an_otp(&done["verification"]));
}

#[test]
fn repair_refuses_to_open_a_group_that_is_not_what_blocks() {
    let out = repair_demo(&["--demo", "nat-route-missing", "--allow-egress", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("nothing to do") && err.contains(PRIVATE_RTB),
        "{err}"
    );
    let out = repair_demo(&[
        "--demo",
        "network-blocked",
        "--allow-egress",
        "--group-id",
        "sg-0000000000000beef",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not one of the service's security groups")
    );
}

#[test]
fn the_report_carries_the_path_one_hop_per_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("incident");
    let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .env_remove("AWS_PROFILE")
        .args([
            "check",
            "--demo",
            "network-blocked",
            "--check-aws",
            "--report",
        ])
        .arg(&base)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let markdown = std::fs::read_to_string(base.with_extension("md")).expect("markdown");
    assert!(markdown.contains("## Network path to Twilio (tcp 443 to 0.0.0.0/0)"));
    assert!(
        markdown.contains(&format!(
            "| ✗ | SG | {SG} | {SG} egress allows only tcp 5432"
        )),
        "{markdown}"
    );
    assert!(markdown.contains("| ✓ | NACL |"));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(base.with_extension("json")).expect("json"))
            .expect("JSON");
    assert_eq!(json["network"]["hops"][0]["resource"], SG);
    assert_eq!(json["network"]["state"], "fail");
    // bridge networking: the report names the host the tasks send from.
    let bridge = dir.path().join("bridge");
    let out = Command::new(env!("CARGO_BIN_EXE_otp-console"))
        .env_remove("AWS_PROFILE")
        .args([
            "check",
            "--demo",
            "bridge-sg-blocked",
            "--check-aws",
            "--report",
        ])
        .arg(&bridge)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let markdown = std::fs::read_to_string(bridge.with_extension("md")).expect("markdown");
    assert!(
        markdown.contains(
            "Tasks on i-0a7b9c1d3e5f70812 (bridge networking) in subnet-09e8d7c6b5a4f3e21, public IP 18.206.31.144."
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("| ✗ | SG | sg-0c2d4e6f8a1b3c5d7 |"),
        "{markdown}"
    );
}

const HOST_SG: &str = "sg-0c2d4e6f8a1b3c5d7";
const HOST: &str = "i-0a7b9c1d3e5f70812";

#[test]
fn bridge_mode_reads_the_path_from_the_container_instance() {
    let (code, json) = check_demo("bridge-sg-blocked");
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(
        json["verdict"]["failure_mode"], "network_blocked",
        "{json:#}"
    );
    assert!(!sent_an_otp(&json), "no OTP start was asked for");
    let top = &json["verdict"]["candidates"][0];
    assert_eq!(top["confidence"], 3);
    let evidence = top["evidence"].to_string();
    assert!(
        evidence.contains(&format!(
            "{HOST_SG} egress allows only tcp 5432 to 10.0.0.0/16"
        )),
        "{evidence}"
    );
    // The change that explains it, from CloudTrail.
    assert!(
        evidence.contains(&format!("{HOST_SG} egress 443 revoked")),
        "{evidence}"
    );
    assert!(top["commands"].to_string().contains(&format!(
        "authorize-security-group-egress --group-id {HOST_SG}"
    )));
    let network = &json["observations"]["network"];
    assert_eq!(network["service"]["network_mode"], "bridge");
    assert_eq!(network["service"]["instances"][0]["id"], HOST);
    assert_eq!(network["service"]["security_groups"][0], HOST_SG);
    // The instance sits in the public subnet with a public IP: out through the IGW directly.
    let hops = network["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 4, "{network:#}");
    assert_eq!(hops[0]["state"], "fail");
    assert_eq!(hops[3]["resource"], "igw-07a9c1e3b5d2f4608");
    assert_eq!(hops[3]["state"], "pass");
    assert!(hops[3]["detail"]
        .as_str()
        .unwrap()
        .contains(&format!("{HOST} has public IP 18.206.31.144")));
}

#[test]
fn repair_opens_the_container_instances_group_and_the_tasks_reach_twilio() {
    let out = repair_demo(&[
        "--demo",
        "bridge-sg-blocked",
        "--allow-egress",
        "--yes",
        "--json",
        "--test-phone",
        "+17133056318",
    ]);
    let done: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{done:#}");
    assert_eq!(done["applied"]["group_id"], HOST_SG);
    assert_eq!(done["path_after"]["state"], "pass");
    assert_eq!(
        done["verification"]["verdict"]["failure_mode"], "none",
        "{done:#}"
    );
    assert!(sent_an_otp(&done["verification"]));
}

async fn ecs(sim: &Simulator) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&sdk(sim).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn bridge_tasks_run_on_container_instances_that_ec2_describes() {
    let sim = start("bridge-sg-blocked").await;
    let (ecs, ec2_client) = (ecs(&sim).await, ec2(&sim).await);
    let service = ecs
        .describe_services()
        .cluster("nerava-cluster")
        .services("nerava-backend")
        .send()
        .await
        .expect("service");
    let service = &service.services()[0];
    assert!(service.network_configuration().is_none());
    assert_eq!(
        service.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Ec2)
    );
    let arns = ecs
        .list_tasks()
        .cluster("nerava-cluster")
        .service_name("nerava-backend")
        .send()
        .await
        .expect("tasks");
    let tasks = ecs
        .describe_tasks()
        .cluster("nerava-cluster")
        .set_tasks(Some(arns.task_arns().to_vec()))
        .send()
        .await
        .expect("describes");
    let on = tasks.tasks()[0]
        .container_instance_arn()
        .expect("placed on an instance")
        .to_owned();
    let cis = ecs
        .describe_container_instances()
        .cluster("nerava-cluster")
        .container_instances(&on)
        .container_instances("no-such-instance")
        .send()
        .await
        .expect("container instances");
    assert_eq!(cis.container_instances().len(), 1);
    assert_eq!(cis.container_instances()[0].ec2_instance_id(), Some(HOST));
    assert!(cis.container_instances()[0].running_tasks_count() >= 1);
    assert_eq!(cis.failures()[0].reason(), Some("MISSING"));
    let listed = ecs
        .list_container_instances()
        .cluster("nerava-cluster")
        .send()
        .await
        .expect("lists");
    assert_eq!(listed.container_instance_arns(), [on]);
    let described = ec2_client
        .describe_instances()
        .instance_ids(HOST)
        .send()
        .await
        .expect("instances");
    let instance = &described.reservations()[0].instances()[0];
    assert_eq!(instance.subnet_id(), Some("subnet-09e8d7c6b5a4f3e21"));
    assert_eq!(instance.public_ip_address(), Some("18.206.31.144"));
    let eni = &instance.network_interfaces()[0];
    assert_eq!(
        eni.attachment()
            .and_then(aws_sdk_ec2::types::InstanceNetworkInterfaceAttachment::device_index),
        Some(0)
    );
    assert_eq!(eni.groups()[0].group_id(), Some(HOST_SG));
    let missing = ec2_client
        .describe_instances()
        .instance_ids("i-00000000000000000")
        .send()
        .await
        .expect_err("not found");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&missing),
        Some("InvalidInstanceID.NotFound")
    );
    // Fargate (every other scenario): no instances, and tasks on none.
    let sim = start("healthy").await;
    let none = ec2(&sim)
        .await
        .describe_instances()
        .send()
        .await
        .expect("empty");
    assert!(none.reservations().is_empty());
}

/// `healthy`'s VPC with a decoy of every kind sorted before the service's own resources (ids
/// `…-00000000000000001`…), and the service's security groups led by a decoy that allows only
/// Postgres: read one page at a time, the resources the path needs are on later pages.
fn crowded(page_size: Option<usize>) -> scenario::Scenario {
    use otp_console::sim::ec2::{
        AclEntrySetup, AclSetup, NatSetup, RouteSetup, RouteTableSetup, RuleSetup,
        SecurityGroupSetup, SubnetSetup,
    };
    let mut s = scenario::load("healthy").expect("loads");
    let net = &mut s.network;
    net.page_size = page_size;
    let decoy_sg = "sg-00000000000000001".to_owned();
    net.security_groups.insert(
        decoy_sg.clone(),
        SecurityGroupSetup {
            name: "decoy".into(),
            description: "database only".into(),
            ingress: Vec::new(),
            egress: vec![RuleSetup {
                protocol: "tcp".into(),
                from: Some(5432),
                to: Some(5432),
                cidrs: vec!["10.0.0.0/16".into()],
                prefix_lists: Vec::new(),
                id: None,
            }],
        },
    );
    net.service.security_groups.insert(0, decoy_sg);
    for n in 1..=6 {
        let subnet = format!("subnet-0000000000000000{n}");
        net.subnets.insert(
            subnet.clone(),
            SubnetSetup {
                cidr: format!("10.0.{}.0/24", 100 + n),
                availability_zone: "us-east-1b".into(),
                map_public_ip: false,
                name: format!("decoy-{n}"),
                ipv6_cidr: None,
            },
        );
        net.route_tables.insert(
            format!("rtb-0000000000000000{n}"),
            RouteTableSetup {
                main: false,
                subnets: vec![subnet.clone()],
                routes: vec![RouteSetup {
                    destination: "10.0.0.0/16".into(),
                    target: "local".into(),
                    blackhole: false,
                }],
            },
        );
        net.nat_gateways.insert(
            format!("nat-0000000000000000{n}"),
            NatSetup {
                subnet: subnet.clone(),
                state: "deleted".into(),
                public_ip: format!("3.1.1.{n}"),
                private_ip: format!("10.0.{}.5", 100 + n),
            },
        );
        net.network_acls.insert(
            format!("acl-0000000000000000{n}"),
            AclSetup {
                default: false,
                subnets: vec![subnet],
                entries: vec![AclEntrySetup {
                    rule: 32767,
                    egress: true,
                    protocol: "-1".into(),
                    from: None,
                    to: None,
                    cidr: "0.0.0.0/0".into(),
                    allow: false,
                }],
            },
        );
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_follows_next_token_to_the_services_resources_on_later_pages() {
    let sim = Simulator::start(crowded(Some(1)), 0.05, Ports::default())
        .await
        .expect("starts");
    let ec2 = ec2(&sim).await;
    // One item a page, and a token to the next.
    let first = ec2.describe_route_tables().send().await.expect("page 1");
    assert_eq!(first.route_tables().len(), 1);
    assert_eq!(
        first.route_tables()[0].route_table_id(),
        Some("rtb-00000000000000001")
    );
    let token = first.next_token().expect("a next page").to_owned();
    let second = ec2
        .describe_route_tables()
        .next_token(&token)
        .send()
        .await
        .expect("page 2");
    assert_eq!(
        second.route_tables()[0].route_table_id(),
        Some("rtb-00000000000000002")
    );
    let bad = ec2
        .describe_subnets()
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&bad),
        Some("InvalidPaginationToken")
    );
    // The probe reads every page: the service's own group, table, NAT and ACL are all found,
    // and the decoys (a Postgres-only group, local-only tables, deleted NATs, deny-all ACLs)
    // decide nothing.
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    let sdk =
        otp_console::engine::static_sdk_config(&config, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY)
            .await;
    let path = otp_console::probe::network::NetworkProbe::new(&sdk, &config.aws)
        .path()
        .await
        .expect("reads");
    assert_eq!(
        path.state,
        otp_console::network::HopState::Pass,
        "{path:#?}"
    );
    let resources: Vec<&str> = path.hops.iter().map(|h| h.resource.as_str()).collect();
    assert_eq!(
        resources,
        [
            &format!("sg-00000000000000001, {SG}"),
            "acl-0f9e8d7c6b5a43210",
            PRIVATE_RTB,
            "nat-0e1f2a3b4c5d6e7f8"
        ],
        "{path:#?}"
    );
    assert!(
        path.hops[0].detail.starts_with(SG),
        "{}",
        path.hops[0].detail
    );
    // The NATs a lost route could use: the service's, from the last page; no deleted decoy.
    assert_eq!(path.nats, ["nat-0e1f2a3b4c5d6e7f8"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn describes_honour_max_results_within_ec2s_bounds() {
    let sim = Simulator::start(crowded(None), 0.05, Ports::default())
        .await
        .expect("starts");
    let ec2 = ec2(&sim).await;
    // Without MaxResults, one page (8 subnets); with it, 5 and then the other 3.
    let all = ec2.describe_subnets().send().await.expect("all");
    assert_eq!(all.subnets().len(), 8);
    assert_eq!(all.next_token(), None);
    let page = ec2
        .describe_subnets()
        .max_results(5)
        .send()
        .await
        .expect("page 1");
    assert_eq!(page.subnets().len(), 5);
    let rest = ec2
        .describe_subnets()
        .max_results(5)
        .next_token(page.next_token().expect("more"))
        .send()
        .await
        .expect("page 2");
    assert_eq!(rest.subnets().len(), 3);
    assert_eq!(rest.next_token(), None);
    // The SDK's paginator walks them all, for every describe the probe pages.
    let acls: usize = ec2
        .describe_network_acls()
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .len();
    assert_eq!(acls, 7);
    let too_few = ec2
        .describe_nat_gateways()
        .max_results(4)
        .send()
        .await
        .expect_err("below EC2's minimum");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&too_few),
        Some("InvalidParameterValue")
    );
    let too_many = ec2
        .describe_route_tables()
        .max_results(101)
        .send()
        .await
        .expect_err("above DescribeRouteTables' maximum");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::code(&too_many),
        Some("InvalidParameterValue")
    );
}
