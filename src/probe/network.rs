//! The service's network path to Twilio, read from AWS's own configuration: ECS
//! DescribeServices for the service's `awsvpcConfiguration` (subnets, security groups, public
//! IP) — or, with `bridge` / `host` networking, its running tasks' container instances
//! (DescribeTasks → DescribeContainerInstances → EC2 DescribeInstances) — then EC2
//! DescribeSecurityGroups, DescribeSubnets, DescribeRouteTables, DescribeNatGateways and
//! DescribeNetworkAcls of its VPC (and the entries of any managed prefix list an egress rule
//! names), every page of each, turned into [`network::NetworkConfig`] and evaluated by the pure
//! [`network::evaluate`]. Text from AWS is sanitised before it is kept. A call that fails (no
//! `ec2:Describe*` permission, say) is the observation, in one line: never a pass.

use aws_config::SdkConfig;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
use aws_sdk_ec2::operation::describe_network_acls::DescribeNetworkAclsOutput;
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
use aws_sdk_ec2::operation::get_managed_prefix_list_entries::GetManagedPrefixListEntriesOutput;
use aws_sdk_ec2::types::Filter;
use aws_sdk_ec2::Client;

use super::aws::call;
use super::service_read::ServiceRead;
use super::{ErrorKind, ProbeError, System};
use crate::config::AwsConfig;
use crate::network::{self, NetworkConfig, Path, ServiceNetwork};
use crate::redact;

/// Reads the path of one ECS service.
#[derive(Clone)]
pub struct NetworkProbe {
    ecs: aws_sdk_ecs::Client,
    described: ServiceRead,
    ec2: Client,
    cluster: String,
    service: String,
    destinations: Vec<String>,
    /// The service runs on App Runner: its egress says where its packets go.
    apprunner: Option<super::apprunner::AppRunnerProbe>,
}

fn clean(text: Option<&str>) -> String {
    redact::sanitize(text.unwrap_or_default())
}

/// Every page of a paginated EC2 describe (the SDK's paginator follows `NextToken`), each page
/// within the call timeout: EC2 may page any describe, and a path read from page 1 alone would
/// miss the service's own resources.
macro_rules! all_pages {
    ($operation:literal, $request:expr) => {
        async {
            let mut pages = $request.into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = call(System::Network, $operation, async {
                pages.next().await.transpose()
            })
            .await?
            {
                out.push(page);
            }
            Ok::<_, ProbeError>(out)
        }
    };
}

fn vpc_filter(vpcs: &[String]) -> Filter {
    Filter::builder()
        .name("vpc-id")
        .set_values(Some(vpcs.to_vec()))
        .build()
}

/// One EC2 instance as the path needs it. The primary interface (device index 0) carries
/// bridge and host traffic; without interfaces in the answer, the instance's own groups.
fn instance_of(i: &aws_sdk_ec2::types::Instance) -> network::Instance {
    let primary = i
        .network_interfaces()
        .iter()
        .find(|n| {
            n.attachment()
                .and_then(aws_sdk_ec2::types::InstanceNetworkInterfaceAttachment::device_index)
                == Some(0)
        })
        .or_else(|| i.network_interfaces().first());
    let groups = match primary {
        Some(eni) => eni.groups(),
        None => i.security_groups(),
    };
    network::Instance {
        id: clean(i.instance_id()),
        subnet: clean(primary.and_then(|n| n.subnet_id()).or(i.subnet_id())),
        security_groups: groups.iter().map(|g| clean(g.group_id())).collect(),
        public_ip: primary
            .and_then(|n| n.association())
            .and_then(|a| a.public_ip())
            .or(i.public_ip_address())
            .map(redact::sanitize),
    }
}

impl NetworkProbe {
    /// Reads the service through `described`, shared with the other probes of a round.
    #[must_use]
    pub fn sharing(mut self, described: ServiceRead) -> Self {
        self.described = described;
        self
    }

    pub fn new(sdk: &SdkConfig, cfg: &AwsConfig) -> Self {
        Self {
            ecs: aws_sdk_ecs::Client::new(sdk),
            described: ServiceRead::new(sdk, &cfg.cluster, &cfg.service),
            ec2: Client::new(sdk),
            cluster: cfg.cluster.clone(),
            service: cfg.service.clone(),
            destinations: cfg.egress_destinations.clone(),
            apprunner: None,
        }
    }

    /// Reads an App Runner service's path: App Runner's own egress, or its VPC connector's
    /// subnets and security groups instead of an ECS service's.
    #[must_use]
    pub fn on_apprunner(mut self, probe: super::apprunner::AppRunnerProbe) -> Self {
        self.apprunner = Some(probe);
        self
    }

    /// The evaluated path, or the one call that could not be made.
    pub async fn path(&self) -> Result<Path, ProbeError> {
        let service = match &self.apprunner {
            Some(apprunner) => match apprunner.egress().await? {
                super::apprunner::Egress::Default => return Ok(self.apprunner_default()),
                super::apprunner::Egress::Vpc {
                    subnets,
                    security_groups,
                    ..
                } => ServiceNetwork {
                    subnets,
                    security_groups,
                    assign_public_ip: false,
                    network_mode: "awsvpc".into(),
                    instances: Vec::new(),
                },
            },
            None => self.service_network().await?,
        };
        // The EC2 calls' futures are large: kept on the heap.
        let config = Box::pin(self.read(service)).await?;
        Ok(network::evaluate(&config, &self.destinations))
    }

    /// App Runner's `DEFAULT` egress: the service reaches the internet from App Runner's own
    /// network, so no security group, route or NAT of the account is on its path.
    fn apprunner_default(&self) -> Path {
        Path {
            state: network::HopState::Pass,
            destinations: self.destinations.clone(),
            service: ServiceNetwork {
                network_mode: "apprunner".into(),
                ..ServiceNetwork::default()
            },
            hops: vec![network::Hop {
                kind: network::HopKind::Gateway,
                resource: "App Runner egress DEFAULT".into(),
                state: network::HopState::Pass,
                detail: "App Runner egress DEFAULT: the service reaches the internet from App Runner's own network, no VPC of the account on its path".into(),
            }],
            nats: Vec::new(),
        }
    }

    /// DescribeServices: the service's subnets, security groups and public IP setting.
    pub async fn service_network(&self) -> Result<ServiceNetwork, ProbeError> {
        let out = self.described.describe().await?;
        let Some(s) = out.services().first() else {
            return Err(ProbeError {
                system: System::Network,
                kind: ErrorKind::NotFound,
                code: None,
                message: redact::sanitize(&format!(
                    "ECS: service {} not in cluster {} — fix aws.service in the config",
                    self.service, self.cluster
                )),
            });
        };
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        let Some(vpc) = vpc else {
            // bridge / host networking: the tasks use their container instances' network.
            let td = s.task_definition().map(str::to_owned);
            return Box::pin(self.instances_network(td)).await;
        };
        Ok(ServiceNetwork {
            subnets: vpc.subnets().iter().map(|x| redact::sanitize(x)).collect(),
            security_groups: vpc
                .security_groups()
                .iter()
                .map(|x| redact::sanitize(x))
                .collect(),
            assign_public_ip: vpc
                .assign_public_ip()
                .is_some_and(|a| a.as_str() == "ENABLED"),
            network_mode: "awsvpc".into(),
            instances: Vec::new(),
        })
    }

    /// A service without `awsvpcConfiguration` (`bridge` or `host` networking): its running
    /// tasks (ListTasks, DescribeTasks) → their container instances
    /// (DescribeContainerInstances) → the EC2 instances (DescribeInstances): each one's
    /// subnet, the groups of its primary network interface (where bridge and host traffic
    /// leaves) and its public IP.
    async fn instances_network(
        &self,
        task_definition: Option<String>,
    ) -> Result<ServiceNetwork, ProbeError> {
        let mode = match task_definition {
            Some(td) => call(
                System::Ecs,
                "DescribeTaskDefinition",
                self.ecs
                    .describe_task_definition()
                    .task_definition(td)
                    .send(),
            )
            .await
            .ok()
            .and_then(|o| {
                o.task_definition()
                    .and_then(|t| t.network_mode())
                    .map(|m| m.as_str().to_owned())
            }),
            None => None,
        }
        .unwrap_or_else(|| "bridge".to_owned());
        let mut task_arns: Vec<String> = Vec::new();
        let mut pages = self
            .ecs
            .list_tasks()
            .cluster(&self.cluster)
            .service_name(&self.service)
            .into_paginator()
            .send();
        while let Some(page) = call(System::Ecs, "ListTasks", async {
            pages.next().await.transpose()
        })
        .await?
        {
            task_arns.extend(page.task_arns().iter().cloned());
        }
        let mut container_instances: Vec<String> = Vec::new();
        // DescribeTasks takes up to 100 tasks a call.
        for chunk in task_arns.chunks(100) {
            let out = call(
                System::Ecs,
                "DescribeTasks",
                self.ecs
                    .describe_tasks()
                    .cluster(&self.cluster)
                    .set_tasks(Some(chunk.to_vec()))
                    .send(),
            )
            .await?;
            for t in out.tasks() {
                if let Some(ci) = t.container_instance_arn() {
                    if !container_instances.iter().any(|c| c == ci) {
                        container_instances.push(ci.to_owned());
                    }
                }
            }
        }
        let mut ec2_ids: Vec<String> = Vec::new();
        for chunk in container_instances.chunks(100) {
            let out = call(
                System::Ecs,
                "DescribeContainerInstances",
                self.ecs
                    .describe_container_instances()
                    .cluster(&self.cluster)
                    .set_container_instances(Some(chunk.to_vec()))
                    .send(),
            )
            .await?;
            for ci in out.container_instances() {
                if let Some(id) = ci.ec2_instance_id() {
                    ec2_ids.push(redact::sanitize(id));
                }
            }
        }
        if ec2_ids.is_empty() {
            return Ok(ServiceNetwork::on_instances(&mode, Vec::new()));
        }
        let pages = all_pages!(
            "DescribeInstances",
            self.ec2
                .describe_instances()
                .set_instance_ids(Some(ec2_ids))
        )
        .await?;
        let instances = pages
            .iter()
            .flat_map(DescribeInstancesOutput::reservations)
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
            .map(instance_of)
            .collect();
        Ok(ServiceNetwork::on_instances(&mode, instances))
    }

    /// The EC2 side: the service's groups, then everything of their VPC the path can cross.
    pub async fn read(&self, service: ServiceNetwork) -> Result<NetworkConfig, ProbeError> {
        let mut config = NetworkConfig {
            service,
            ..NetworkConfig::default()
        };
        if config.service.security_groups.is_empty() && config.service.subnets.is_empty() {
            return Ok(config);
        }
        let groups = all_pages!(
            "DescribeSecurityGroups",
            self.ec2
                .describe_security_groups()
                .set_group_ids(Some(config.service.security_groups.clone()))
        )
        .await?;
        for g in groups
            .iter()
            .flat_map(DescribeSecurityGroupsOutput::security_groups)
        {
            config.security_groups.push(security_group(g));
        }
        let subnets = all_pages!(
            "DescribeSubnets",
            self.ec2
                .describe_subnets()
                .set_subnet_ids(Some(config.service.subnets.clone()))
        )
        .await?;
        let mut vpcs: Vec<String> = subnets
            .iter()
            .flat_map(DescribeSubnetsOutput::subnets)
            .map(|s| clean(s.vpc_id()))
            .chain(config.security_groups.iter().map(|g| g.vpc_id.clone()))
            .filter(|v| !v.is_empty())
            .collect();
        vpcs.sort();
        vpcs.dedup();
        let (all_subnets, tables, nats, acls) = tokio::join!(
            all_pages!(
                "DescribeSubnets",
                self.ec2.describe_subnets().filters(vpc_filter(&vpcs))
            ),
            all_pages!(
                "DescribeRouteTables",
                self.ec2.describe_route_tables().filters(vpc_filter(&vpcs))
            ),
            all_pages!(
                "DescribeNatGateways",
                self.ec2.describe_nat_gateways().filter(vpc_filter(&vpcs))
            ),
            all_pages!(
                "DescribeNetworkAcls",
                self.ec2.describe_network_acls().filters(vpc_filter(&vpcs))
            ),
        );
        for s in all_subnets?.iter().flat_map(DescribeSubnetsOutput::subnets) {
            config.subnets.push(subnet(s));
        }
        for t in tables?
            .iter()
            .flat_map(DescribeRouteTablesOutput::route_tables)
        {
            config.route_tables.push(route_table(t));
        }
        for n in nats?
            .iter()
            .flat_map(DescribeNatGatewaysOutput::nat_gateways)
        {
            config.nat_gateways.push(nat_gateway(n));
        }
        for a in acls?
            .iter()
            .flat_map(DescribeNetworkAclsOutput::network_acls)
        {
            config.network_acls.push(network_acl(a));
        }
        self.read_prefix_lists(&mut config).await;
        Ok(config)
    }

    /// Managed prefix lists an egress rule names: their entries, when they can be read (left
    /// out otherwise, and the path says it could not tell).
    async fn read_prefix_lists(&self, config: &mut NetworkConfig) {
        let mut lists: Vec<String> = config
            .security_groups
            .iter()
            .flat_map(|g| g.egress.iter().flat_map(|p| p.prefix_lists.clone()))
            .collect();
        lists.sort();
        lists.dedup();
        for id in lists {
            if let Ok(pages) = all_pages!(
                "GetManagedPrefixListEntries",
                self.ec2
                    .get_managed_prefix_list_entries()
                    .prefix_list_id(&id)
            )
            .await
            {
                let cidrs = pages
                    .iter()
                    .flat_map(GetManagedPrefixListEntriesOutput::entries)
                    .map(|e| clean(e.cidr()))
                    .collect();
                config.prefix_lists.insert(id, cidrs);
            }
        }
    }
}

/// A security group as the path reads it: its egress rules.
fn security_group(g: &aws_sdk_ec2::types::SecurityGroup) -> network::SecurityGroup {
    network::SecurityGroup {
        id: clean(g.group_id()),
        name: clean(g.group_name()),
        vpc_id: clean(g.vpc_id()),
        egress: g
            .ip_permissions_egress()
            .iter()
            .map(|p| network::Permission {
                protocol: clean(p.ip_protocol()),
                from_port: p.from_port(),
                to_port: p.to_port(),
                cidrs: p
                    .ip_ranges()
                    .iter()
                    .map(|r| clean(r.cidr_ip()))
                    .chain(p.ipv6_ranges().iter().map(|r| clean(r.cidr_ipv6())))
                    .collect(),
                prefix_lists: p
                    .prefix_list_ids()
                    .iter()
                    .map(|r| clean(r.prefix_list_id()))
                    .collect(),
                groups: p
                    .user_id_group_pairs()
                    .iter()
                    .map(|r| clean(r.group_id()))
                    .collect(),
            })
            .collect(),
    }
}

/// A subnet: its VPC and its IPv4 and live IPv6 blocks.
fn subnet(s: &aws_sdk_ec2::types::Subnet) -> network::Subnet {
    network::Subnet {
        id: clean(s.subnet_id()),
        vpc_id: clean(s.vpc_id()),
        cidr: clean(s.cidr_block()),
        ipv6_cidrs: s
            .ipv6_cidr_block_association_set()
            .iter()
            // Blocks on their way out (or that failed) give no address; any other
            // state counts (moto's answer nests its state where the SDK reads none).
            .filter(|a| {
                a.ipv6_cidr_block_state()
                    .and_then(|st| st.state())
                    .is_none_or(|st| {
                        !matches!(
                            st.as_str(),
                            "disassociating" | "disassociated" | "failing" | "failed"
                        )
                    })
            })
            .filter_map(|a| a.ipv6_cidr_block().map(redact::sanitize))
            .collect(),
    }
}

/// A route table: its associations and each route's destination, target and state.
fn route_table(t: &aws_sdk_ec2::types::RouteTable) -> network::RouteTable {
    network::RouteTable {
        id: clean(t.route_table_id()),
        vpc_id: clean(t.vpc_id()),
        is_main: t.associations().iter().any(|a| a.main() == Some(true)),
        subnets: t
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(redact::sanitize))
            .collect(),
        routes: t
            .routes()
            .iter()
            .filter_map(|r| {
                let destination = r
                    .destination_cidr_block()
                    .or(r.destination_ipv6_cidr_block())?;
                let target = r
                    .nat_gateway_id()
                    .or(r.gateway_id())
                    .or(r.transit_gateway_id())
                    .or(r.network_interface_id())
                    .or(r.vpc_peering_connection_id())
                    .or(r.instance_id())
                    .or(r.egress_only_internet_gateway_id())
                    .or(r.carrier_gateway_id())
                    .or(r.local_gateway_id())
                    .unwrap_or("unknown target");
                Some(network::Route {
                    destination: redact::sanitize(destination),
                    target: redact::sanitize(target),
                    state: r
                        .state()
                        .map_or_else(|| "active".to_owned(), |s| s.as_str().to_owned()),
                })
            })
            .collect(),
    }
}

/// A NAT gateway: its subnet and state.
fn nat_gateway(n: &aws_sdk_ec2::types::NatGateway) -> network::NatGateway {
    network::NatGateway {
        id: clean(n.nat_gateway_id()),
        subnet_id: clean(n.subnet_id()),
        state: n.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
    }
}

/// A network ACL: its associations and entries.
fn network_acl(a: &aws_sdk_ec2::types::NetworkAcl) -> network::NetworkAcl {
    network::NetworkAcl {
        id: clean(a.network_acl_id()),
        vpc_id: clean(a.vpc_id()),
        is_default: a.is_default() == Some(true),
        subnets: a
            .associations()
            .iter()
            .filter_map(|x| x.subnet_id().map(redact::sanitize))
            .collect(),
        entries: a
            .entries()
            .iter()
            .map(|e| network::AclEntry {
                rule_number: e.rule_number().unwrap_or(32767),
                egress: e.egress() == Some(true),
                protocol: clean(e.protocol()),
                from_port: e.port_range().and_then(aws_sdk_ec2::types::PortRange::from),
                to_port: e.port_range().and_then(aws_sdk_ec2::types::PortRange::to),
                cidr: e.cidr_block().or(e.ipv6_cidr_block()).map(redact::sanitize),
                allow: e.rule_action().is_some_and(|r| r.as_str() == "allow"),
            })
            .collect(),
    }
}
