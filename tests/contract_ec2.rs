//! Contract tests for EC2 (egress, #13), in the style of `contract_secrets.rs`: the console's
//! own [`NetworkProbe`] (ECS DescribeServices' awsvpcConfiguration, then EC2's describes) and
//! the pure path evaluation, against the simulator and against moto's EC2 — an implementation
//! nobody here wrote, where the VPC is built through the SDK as an operator would: a VPC, a
//! private and a public subnet, an internet gateway, an elastic IP and a NAT gateway, route
//! tables with explicit associations, the default network ACL and the service's security group
//! (HTTPS and Postgres out), then an ECS `awsvpc` service in the private subnet.

#[path = "contract_support/emulator.rs"]
#[macro_use]
mod emulator;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, RuleAction};
use otp_console::config::AwsConfig;
use otp_console::network::{HopKind, HopState, Path};
use otp_console::probe::network::NetworkProbe;
use otp_console::sim::scenario;

/// One EC2 + ECS implementation, and the ids of what the service's path crosses.
struct Backend {
    name: &'static str,
    sdk: aws_config::SdkConfig,
    sg: String,
    private_rtb: String,
    nat: String,
    _server: Box<dyn std::any::Any>,
}

fn rule(protocol: &str, port: i32, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

impl Backend {
    async fn simulator() -> Self {
        Self::simulator_of(scenario::load("healthy").expect("scenario")).await
    }

    async fn simulator_of(scenario: scenario::Scenario) -> Self {
        let (sim, sdk) = emulator::simulator(scenario).await;
        Self {
            name: "simulator",
            sdk,
            sg: "sg-0f1e2d3c4b5a69788".into(),
            private_rtb: "rtb-0d4e5f6a7b8c9d0e1".into(),
            nat: "nat-0e1f2a3b4c5d6e7f8".into(),
            _server: Box::new(sim),
        }
    }

    /// moto's server, with the service's VPC built through the SDK.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    async fn moto() -> Self {
        let server = emulator::moto().await;
        let sdk = emulator::sdk_config(&server.url, "testing", "testing").await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .expect("CreateVpc");
        let vpc = vpc
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_owned();
        let subnet = |cidr: &'static str| {
            let ec2 = ec2.clone();
            let vpc = vpc.clone();
            async move {
                ec2.create_subnet()
                    .vpc_id(vpc)
                    .cidr_block(cidr)
                    .availability_zone("us-east-1a")
                    .send()
                    .await
                    .expect("CreateSubnet")
                    .subnet()
                    .and_then(|s| s.subnet_id())
                    .expect("subnet id")
                    .to_owned()
            }
        };
        let private = subnet("10.0.1.0/24").await;
        let public = subnet("10.0.0.0/24").await;
        let igw = ec2
            .create_internet_gateway()
            .send()
            .await
            .expect("CreateInternetGateway")
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .expect("igw id")
            .to_owned();
        ec2.attach_internet_gateway()
            .internet_gateway_id(&igw)
            .vpc_id(&vpc)
            .send()
            .await
            .expect("AttachInternetGateway");
        let eip = ec2
            .allocate_address()
            .domain(aws_sdk_ec2::types::DomainType::Vpc)
            .send()
            .await
            .expect("AllocateAddress");
        let nat = ec2
            .create_nat_gateway()
            .subnet_id(&public)
            .allocation_id(eip.allocation_id().expect("allocation"))
            .send()
            .await
            .expect("CreateNatGateway")
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .expect("nat id")
            .to_owned();
        let table = |subnet: String, route: aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder| {
            let ec2 = ec2.clone();
            let vpc = vpc.clone();
            async move {
                let id = ec2
                    .create_route_table()
                    .vpc_id(vpc)
                    .send()
                    .await
                    .expect("CreateRouteTable")
                    .route_table()
                    .and_then(|t| t.route_table_id())
                    .expect("rtb id")
                    .to_owned();
                route
                    .route_table_id(&id)
                    .destination_cidr_block("0.0.0.0/0")
                    .send()
                    .await
                    .expect("CreateRoute");
                ec2.associate_route_table()
                    .route_table_id(&id)
                    .subnet_id(subnet)
                    .send()
                    .await
                    .expect("AssociateRouteTable");
                id
            }
        };
        table(public.clone(), ec2.create_route().gateway_id(&igw)).await;
        let private_rtb = table(private.clone(), ec2.create_route().nat_gateway_id(&nat)).await;
        let sg = ec2
            .create_security_group()
            .group_name("nerava-backend")
            .description("nerava-backend tasks")
            .vpc_id(&vpc)
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("sg id")
            .to_owned();
        // A new group allows everything out: revoke exactly what it has, then allow HTTPS
        // anywhere and Postgres inside the VPC, as the simulator's group does.
        let described = ec2
            .describe_security_groups()
            .group_ids(&sg)
            .send()
            .await
            .expect("DescribeSecurityGroups");
        let default_egress = described.security_groups()[0]
            .ip_permissions_egress()
            .to_vec();
        ec2.revoke_security_group_egress()
            .group_id(&sg)
            .set_ip_permissions(Some(default_egress))
            .send()
            .await
            .expect("RevokeSecurityGroupEgress");
        ec2.authorize_security_group_egress()
            .group_id(&sg)
            .ip_permissions(rule("tcp", 443, "0.0.0.0/0"))
            .ip_permissions(rule("tcp", 5432, "10.0.0.0/16"))
            .send()
            .await
            .expect("AuthorizeSecurityGroupEgress");
        // The ECS service in the private subnet.
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        ecs.create_cluster()
            .cluster_name("nerava-cluster")
            .send()
            .await
            .expect("CreateCluster");
        ecs.register_task_definition()
            .family("nerava-backend")
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("nerava-backend")
                    .image("nerava-backend:2026.01.22")
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .expect("RegisterTaskDefinition");
        ecs.create_service()
            .cluster("nerava-cluster")
            .service_name("nerava-backend")
            .task_definition("nerava-backend")
            .desired_count(1)
            .network_configuration(
                aws_sdk_ecs::types::NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                            .subnets(&private)
                            .security_groups(&sg)
                            .assign_public_ip(aws_sdk_ecs::types::AssignPublicIp::Disabled)
                            .build()
                            .expect("awsvpc"),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("CreateService");
        Self {
            name: "moto",
            sdk,
            sg,
            private_rtb,
            nat,
            _server: Box::new(server),
        }
    }

    async fn path(&self) -> Path {
        self.path_to(&[]).await
    }

    /// The path to `destinations` (`aws.egress_destinations`; the default when empty).
    async fn path_to(&self, destinations: &[&str]) -> Path {
        let mut aws = AwsConfig::default();
        if !destinations.is_empty() {
            aws.egress_destinations = destinations.iter().map(|d| (*d).to_owned()).collect();
        }
        NetworkProbe::new(&self.sdk, &aws)
            .path()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", self.name))
    }

    fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk)
    }
}

/// The service's path reads open, one hop per line, naming each backend's own resources; a
/// revoked HTTPS rule fails it by the security group's id and its remaining rule, and the
/// same rule authorized again opens it.
async fn check_security_group_decides_the_path(b: &Backend) {
    let path = b.path().await;
    assert_eq!(path.state, HopState::Pass, "{}: {path:#?}", b.name);
    let kinds: Vec<HopKind> = path.hops.iter().map(|h| h.kind).collect();
    assert_eq!(
        kinds,
        [
            HopKind::SecurityGroup,
            HopKind::NetworkAcl,
            HopKind::Route,
            HopKind::Gateway
        ],
        "{}",
        b.name
    );
    assert_eq!(path.hops[0].resource, b.sg, "{}", b.name);
    assert_eq!(path.hops[2].resource, b.private_rtb, "{}", b.name);
    assert_eq!(path.hops[3].resource, b.nat, "{}", b.name);
    assert!(path.hops[1].resource.starts_with("acl-"), "{}", b.name);
    let ec2 = b.ec2();
    ec2.revoke_security_group_egress()
        .group_id(&b.sg)
        .ip_permissions(rule("tcp", 443, "0.0.0.0/0"))
        .send()
        .await
        .expect("RevokeSecurityGroupEgress");
    let path = b.path().await;
    assert_eq!(path.state, HopState::Fail, "{}", b.name);
    assert_eq!(
        path.failures()
            .map(|h| h.detail.as_str())
            .collect::<Vec<_>>(),
        [format!(
            "{} egress allows only tcp 5432 to 10.0.0.0/16 — no tcp 443 to 0.0.0.0/0",
            b.sg
        )],
        "{}",
        b.name
    );
    ec2.authorize_security_group_egress()
        .group_id(&b.sg)
        .ip_permissions(rule("tcp", 443, "0.0.0.0/0"))
        .send()
        .await
        .expect("AuthorizeSecurityGroupEgress");
    assert_eq!(b.path().await.state, HopState::Pass, "{}", b.name);
}

on_both_backends!(check_security_group_decides_the_path: contract_sim_security_group, contract_moto_security_group);

/// Describes by filter answer what the probe relies on: the VPC's main table marked main, the
/// private table's explicit association, the NAT gateway available in the public subnet.
async fn check_describe_shapes(b: &Backend) {
    let ec2 = b.ec2();
    let tables = ec2
        .describe_route_tables()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(
                    NetworkProbe::new(&b.sdk, &AwsConfig::default())
                        .service_network()
                        .await
                        .expect("service")
                        .subnets[0]
                        .clone(),
                )
                .build(),
        )
        .send()
        .await
        .expect("DescribeRouteTables");
    assert_eq!(tables.route_tables().len(), 1, "{}", b.name);
    assert_eq!(
        tables.route_tables()[0].route_table_id(),
        Some(b.private_rtb.as_str())
    );
    let nats = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&b.nat)
        .send()
        .await
        .expect("DescribeNatGateways");
    assert_eq!(
        nats.nat_gateways()[0].state(),
        Some(&aws_sdk_ec2::types::NatGatewayState::Available),
        "{}",
        b.name
    );
}

on_both_backends!(check_describe_shapes: contract_sim_describe_shapes, contract_moto_describe_shapes);

/// On moto, where every EC2 call exists: a lost default route and an ACL deny numbered before
/// the allow are each named by resource and rule; deleting the NAT gateway names it.
#[tokio::test]
async fn contract_moto_routes_acls_and_nat_state() {
    let b = Backend::moto().await;
    let ec2 = b.ec2();
    let path = b.path().await;
    let acl = path.hops[1].resource.clone();
    ec2.create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(50)
        .protocol("6")
        .rule_action(RuleAction::Deny)
        .egress(true)
        .cidr_block("0.0.0.0/0")
        .port_range(
            aws_sdk_ec2::types::PortRange::builder()
                .from(443)
                .to(443)
                .build(),
        )
        .send()
        .await
        .expect("CreateNetworkAclEntry");
    let path = b.path().await;
    assert_eq!(
        path.failures()
            .map(|h| h.detail.clone())
            .collect::<Vec<_>>(),
        [format!(
            "{acl} ({}): rule 50 denies outbound tcp 443 to 0.0.0.0/0",
            path.service.subnets[0]
        )],
        "{path:#?}"
    );
    ec2.delete_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(50)
        .egress(true)
        .send()
        .await
        .expect("DeleteNetworkAclEntry");
    ec2.delete_route()
        .route_table_id(&b.private_rtb)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .expect("DeleteRoute");
    let path = b.path().await;
    assert_eq!(
        path.failures()
            .map(|h| h.detail.clone())
            .collect::<Vec<_>>(),
        [format!(
            "{} (explicit table of {}) has no 0.0.0.0/0 route",
            b.private_rtb, path.service.subnets[0]
        )]
    );
    assert_eq!(
        path.nats,
        vec![b.nat.clone()],
        "the NAT a new route can use"
    );
    ec2.create_route()
        .route_table_id(&b.private_rtb)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&b.nat)
        .send()
        .await
        .expect("CreateRoute");
    assert_eq!(b.path().await.state, HopState::Pass);
    ec2.delete_nat_gateway()
        .nat_gateway_id(&b.nat)
        .send()
        .await
        .expect("DeleteNatGateway");
    let path = b.path().await;
    assert_eq!(path.state, HopState::Fail, "{path:#?}");
    let failure = path.failures().next().expect("a failure").detail.clone();
    assert!(failure.contains(&b.nat), "{failure}");
}

/// The same EC2 + ECS pair with the service in `bridge` mode on one container instance in a
/// public subnet (a public IP, the route to the internet gateway), whose group allows only
/// Postgres out: what `bridge-sg-blocked` simulates.
struct Bridge {
    name: &'static str,
    sdk: aws_config::SdkConfig,
    sg: String,
    instance: String,
    igw: String,
    _server: Box<dyn std::any::Any>,
}

impl Bridge {
    async fn simulator() -> Self {
        let (sim, sdk) =
            emulator::simulator(scenario::load("bridge-sg-blocked").expect("scenario")).await;
        Self {
            name: "simulator",
            sdk,
            sg: "sg-0c2d4e6f8a1b3c5d7".into(),
            instance: "i-0a7b9c1d3e5f70812".into(),
            igw: "igw-07a9c1e3b5d2f4608".into(),
            _server: Box::new(sim),
        }
    }

    /// moto: the VPC and the instance through EC2 (RunInstances with a public IP on its
    /// primary interface), the instance registered in the cluster (RegisterContainerInstance)
    /// and a bridge-mode task placed on it (RunTask), pinned RUNNING.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    async fn moto() -> Self {
        let server = emulator::moto().await;
        let sdk = emulator::sdk_config(&server.url, "testing", "testing").await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .expect("CreateVpc")
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_owned();
        let public = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block("10.0.0.0/24")
            .availability_zone("us-east-1a")
            .send()
            .await
            .expect("CreateSubnet")
            .subnet()
            .and_then(|s| s.subnet_id())
            .expect("subnet id")
            .to_owned();
        let igw = ec2
            .create_internet_gateway()
            .send()
            .await
            .expect("CreateInternetGateway")
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .expect("igw id")
            .to_owned();
        ec2.attach_internet_gateway()
            .internet_gateway_id(&igw)
            .vpc_id(&vpc)
            .send()
            .await
            .expect("AttachInternetGateway");
        let rtb = ec2
            .create_route_table()
            .vpc_id(&vpc)
            .send()
            .await
            .expect("CreateRouteTable")
            .route_table()
            .and_then(|t| t.route_table_id())
            .expect("rtb id")
            .to_owned();
        ec2.create_route()
            .route_table_id(&rtb)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw)
            .send()
            .await
            .expect("CreateRoute");
        ec2.associate_route_table()
            .route_table_id(&rtb)
            .subnet_id(&public)
            .send()
            .await
            .expect("AssociateRouteTable");
        let sg = ec2
            .create_security_group()
            .group_name("nerava-ecs-hosts")
            .description("nerava-cluster container instances")
            .vpc_id(&vpc)
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("sg id")
            .to_owned();
        let described = ec2
            .describe_security_groups()
            .group_ids(&sg)
            .send()
            .await
            .expect("DescribeSecurityGroups");
        ec2.revoke_security_group_egress()
            .group_id(&sg)
            .set_ip_permissions(Some(
                described.security_groups()[0]
                    .ip_permissions_egress()
                    .to_vec(),
            ))
            .send()
            .await
            .expect("RevokeSecurityGroupEgress");
        ec2.authorize_security_group_egress()
            .group_id(&sg)
            .ip_permissions(rule("tcp", 5432, "10.0.0.0/16"))
            .send()
            .await
            .expect("AuthorizeSecurityGroupEgress");
        let run = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(aws_sdk_ec2::types::InstanceType::M6iLarge)
            .min_count(1)
            .max_count(1)
            .network_interfaces(
                aws_sdk_ec2::types::InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&public)
                    .groups(&sg)
                    .associate_public_ip_address(true)
                    .build(),
            )
            .send()
            .await
            .expect("RunInstances");
        let instance = run.instances()[0]
            .instance_id()
            .expect("instance id")
            .to_owned();
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        ecs.create_cluster()
            .cluster_name("nerava-cluster")
            .send()
            .await
            .expect("CreateCluster");
        ecs.register_container_instance()
            .cluster("nerava-cluster")
            .instance_identity_document(
                serde_json::json!({ "instanceId": instance, "region": "us-east-1" }).to_string(),
            )
            .send()
            .await
            .expect("RegisterContainerInstance");
        ecs.register_task_definition()
            .family("nerava-backend")
            .network_mode(aws_sdk_ecs::types::NetworkMode::Bridge)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("nerava-backend")
                    .image("nerava-backend:2026.01.22")
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .expect("RegisterTaskDefinition");
        ecs.create_service()
            .cluster("nerava-cluster")
            .service_name("nerava-backend")
            .task_definition("nerava-backend")
            .desired_count(1)
            .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
            .send()
            .await
            .expect("CreateService");
        // moto's services start no tasks: one placed on the instance by RunTask, kept RUNNING
        // (moto moves a task towards STOPPED on every DescribeTasks unless pinned).
        reqwest::Client::new()
            .post(format!(
                "{}/moto-api/state-manager/set-transition",
                server.url
            ))
            .json(&serde_json::json!({
                "model_name": "ecs::task",
                "transition": { "progression": "manual", "times": 1_000_000 }
            }))
            .send()
            .await
            .expect("pins the task state");
        ecs.run_task()
            .cluster("nerava-cluster")
            .task_definition("nerava-backend")
            .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
            .count(1)
            .send()
            .await
            .expect("RunTask");
        Self {
            name: "moto",
            sdk,
            sg,
            instance,
            igw,
            _server: Box::new(server),
        }
    }

    async fn path(&self) -> Path {
        NetworkProbe::new(&self.sdk, &AwsConfig::default())
            .path()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", self.name))
    }
}

/// A bridge-mode service's path is its container instance's: the probe follows DescribeTasks
/// → DescribeContainerInstances → DescribeInstances to the instance's group, subnet and public
/// IP; the group without HTTPS fails it by id, and authorizing 443 opens it, through the
/// internet gateway directly.
async fn check_bridge_reads_the_container_instance(b: &Bridge) {
    let path = b.path().await;
    let who = b.name;
    assert_eq!(path.service.network_mode, "bridge", "{who}: {path:#?}");
    assert_eq!(path.service.instances.len(), 1, "{who}: {path:#?}");
    let instance = &path.service.instances[0];
    assert_eq!(instance.id, b.instance, "{who}");
    assert_eq!(
        instance.security_groups,
        std::slice::from_ref(&b.sg),
        "{who}"
    );
    assert!(instance.public_ip.is_some(), "{who}: {instance:?}");
    assert_eq!(path.state, HopState::Fail, "{who}: {path:#?}");
    assert_eq!(
        path.failures()
            .map(|h| h.detail.as_str())
            .collect::<Vec<_>>(),
        [format!(
            "{} egress allows only tcp 5432 to 10.0.0.0/16 — no tcp 443 to 0.0.0.0/0",
            b.sg
        )],
        "{who}"
    );
    aws_sdk_ec2::Client::new(&b.sdk)
        .authorize_security_group_egress()
        .group_id(&b.sg)
        .ip_permissions(rule("tcp", 443, "0.0.0.0/0"))
        .send()
        .await
        .expect("AuthorizeSecurityGroupEgress");
    let path = b.path().await;
    assert_eq!(path.state, HopState::Pass, "{who}: {path:#?}");
    let gateway = path.hops.last().expect("hops");
    assert_eq!(gateway.resource, b.igw, "{who}");
    assert!(
        gateway
            .detail
            .contains(&format!("{} has public IP", b.instance)),
        "{who}: {}",
        gateway.detail
    );
}

#[tokio::test]
async fn contract_sim_bridge_container_instance() {
    check_bridge_reads_the_container_instance(&Bridge::simulator().await).await;
}

#[tokio::test]
async fn contract_moto_bridge_container_instance() {
    check_bridge_reads_the_container_instance(&Bridge::moto().await).await;
}

/// `healthy` made dual-stack as scenario data: the tasks' subnet has an IPv6 block, its table
/// routes `::/0` to an egress-only internet gateway, the default ACL has EC2's IPv6 entries.
fn dual_stack_scenario() -> scenario::Scenario {
    use otp_console::sim::ec2::{AclEntrySetup, RouteSetup};
    let mut s = scenario::load("healthy").expect("scenario");
    let net = &mut s.network;
    net.subnets
        .get_mut("subnet-0a1b2c3d4e5f60718")
        .expect("the private subnet")
        .ipv6_cidr = Some("2600:1f18:1234:5601::/64".into());
    net.route_tables
        .get_mut("rtb-0d4e5f6a7b8c9d0e1")
        .expect("the private table")
        .routes
        .push(RouteSetup {
            destination: "::/0".into(),
            target: "eigw-0a1b2c3d4e5f60718".into(),
            blackhole: false,
        });
    let acl = net
        .network_acls
        .get_mut("acl-0f9e8d7c6b5a43210")
        .expect("the default ACL");
    for (rule, egress, allow) in [
        (101, true, true),
        (32768, true, false),
        (101, false, true),
        (32768, false, false),
    ] {
        acl.entries.push(AclEntrySetup {
            rule,
            egress,
            protocol: "-1".into(),
            from: None,
            to: None,
            cidr: "::/0".into(),
            allow,
        });
    }
    s
}

/// On moto, the same through EC2's API: an Amazon-provided IPv6 block for the VPC and a /64 of
/// it for the tasks' subnet, an egress-only internet gateway and the `::/0` route to it, and
/// the IPv6 allow entries in the default ACL (moto's default ACL has none).
async fn make_dual_stack(b: &Backend) {
    let ec2 = b.ec2();
    let path = b.path().await;
    let subnet = path.service.subnets[0].clone();
    let acl = path.hops[1].resource.clone();
    let described = ec2
        .describe_subnets()
        .subnet_ids(&subnet)
        .send()
        .await
        .expect("DescribeSubnets");
    let vpc = described.subnets()[0].vpc_id().expect("vpc").to_owned();
    let block = ec2
        .associate_vpc_cidr_block()
        .vpc_id(&vpc)
        .amazon_provided_ipv6_cidr_block(true)
        .send()
        .await
        .expect("AssociateVpcCidrBlock")
        .ipv6_cidr_block_association()
        .and_then(|a| a.ipv6_cidr_block())
        .expect("an IPv6 block")
        .to_owned();
    // The VPC's /56 → its first /64.
    let prefix = block.split("::").next().expect("an address").to_owned();
    ec2.associate_subnet_cidr_block()
        .subnet_id(&subnet)
        .ipv6_cidr_block(format!("{prefix}::/64"))
        .send()
        .await
        .expect("AssociateSubnetCidrBlock");
    let eigw = ec2
        .create_egress_only_internet_gateway()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("CreateEgressOnlyInternetGateway")
        .egress_only_internet_gateway()
        .and_then(|g| g.egress_only_internet_gateway_id())
        .expect("eigw id")
        .to_owned();
    ec2.create_route()
        .route_table_id(&b.private_rtb)
        .destination_ipv6_cidr_block("::/0")
        .egress_only_internet_gateway_id(&eigw)
        .send()
        .await
        .expect("CreateRoute ::/0");
    for egress in [true, false] {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(101)
            .protocol("-1")
            .rule_action(RuleAction::Allow)
            .egress(egress)
            .ipv6_cidr_block("::/0")
            .send()
            .await
            .expect("CreateNetworkAclEntry ::/0");
    }
}

fn https_v6() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .ipv6_ranges(
            aws_sdk_ec2::types::Ipv6Range::builder()
                .cidr_ipv6("::/0")
                .build(),
        )
        .build()
}

/// IPv6 is its own family on every hop, read from EC2 as each backend answers it: with HTTPS
/// allowed to `::/0` only, Twilio over IPv4 is blocked by name and IPv6 is open through the
/// egress-only gateway; each family's rule is what decides it.
async fn check_ipv6_is_its_own_family(b: &Backend) {
    let who = b.name;
    let ec2 = b.ec2();
    ec2.authorize_security_group_egress()
        .group_id(&b.sg)
        .ip_permissions(https_v6())
        .send()
        .await
        .expect("AuthorizeSecurityGroupEgress ::/0");
    ec2.revoke_security_group_egress()
        .group_id(&b.sg)
        .ip_permissions(rule("tcp", 443, "0.0.0.0/0"))
        .send()
        .await
        .expect("RevokeSecurityGroupEgress 0.0.0.0/0");
    let v4 = b.path().await;
    assert_eq!(v4.state, HopState::Fail, "{who}: {v4:#?}");
    let why = &v4.hops[0].detail;
    assert!(
        why.contains("tcp 443 to ::/0") && why.ends_with("— no tcp 443 to 0.0.0.0/0"),
        "{who}: {why}"
    );
    let v6 = b.path_to(&["::/0"]).await;
    assert_eq!(v6.state, HopState::Pass, "{who}: {v6:#?}");
    assert_eq!(
        v6.hops[0].detail,
        format!("{} egress allows tcp 443 to ::/0", b.sg),
        "{who}"
    );
    assert!(
        v6.hops[1].detail.contains("out tcp 443 by rule 101"),
        "{who}: {v6:#?}"
    );
    let gateway = v6.hops.last().expect("hops");
    assert!(gateway.resource.starts_with("eigw-"), "{who}: {v6:#?}");
    assert_eq!(gateway.state, HopState::Pass, "{who}");
    // Both families wanted: the IPv4 one is still missing.
    let both = b.path_to(&["0.0.0.0/0", "::/0"]).await;
    assert_eq!(both.state, HopState::Fail, "{who}");
}

#[tokio::test]
async fn contract_sim_ipv6() {
    check_ipv6_is_its_own_family(&Backend::simulator_of(dual_stack_scenario()).await).await;
}

#[tokio::test]
async fn contract_moto_ipv6() {
    let b = Backend::moto().await;
    make_dual_stack(&b).await;
    check_ipv6_is_its_own_family(&b).await;
}
