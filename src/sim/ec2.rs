//! Simulated EC2 (Query protocol, see [`super::query`]): the service's VPC as the console and
//! the aws CLI read it — security groups, subnets, route tables, NAT gateways, network ACLs,
//! the VPC and the cluster's container instances (DescribeInstances), paged by `MaxResults` /
//! `NextToken` — and the two calls that change it, AuthorizeSecurityGroupEgress and
//! RevokeSecurityGroupEgress (IPv4 and IPv6 ranges). The VPC is scenario data ([`NetworkSetup`], `[network]` in
//! `assets/scenarios/base.toml`); the world keeps a mutable copy, and the backend's calls to
//! Twilio follow from it ([`World::twilio_reachable`]): a revoked rule drops them, authorizing
//! it again lets them through at once, with no redeploy, as in AWS.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use super::aws::AwsError;
use super::query::{invalid_action, request_id, Params, QueryRequest, QueryService, Xml};
use super::world::World;
use crate::network;

/// The service's VPC, as scenario data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSetup {
    pub vpc_id: String,
    pub vpc_cidr: String,
    pub internet_gateway: String,
    /// Where the backend's Twilio calls go: the address its packets are routed to.
    pub twilio_address: String,
    /// The ECS service's `awsvpcConfiguration`.
    pub service: ServiceSetup,
    pub subnets: BTreeMap<String, SubnetSetup>,
    pub security_groups: BTreeMap<String, SecurityGroupSetup>,
    pub route_tables: BTreeMap<String, RouteTableSetup>,
    pub nat_gateways: BTreeMap<String, NatSetup>,
    pub network_acls: BTreeMap<String, AclSetup>,
    /// The cluster's EC2 container instances, by instance id: where the tasks of a `bridge`
    /// or `host` task definition run, and whose network they use (none for Fargate).
    #[serde(default)]
    pub instances: BTreeMap<String, InstanceSetup>,
    /// The most items a describe answers in one page even when the caller sets no
    /// `MaxResults` (EC2 may page any describe; the console must follow `NextToken`).
    #[serde(default)]
    pub page_size: Option<usize>,
}

/// One EC2 instance registered in the cluster as a container instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSetup {
    /// Its container instance id (the last part of its `container-instance/CLUSTER/ID` ARN).
    pub container_instance: String,
    pub subnet: String,
    /// The groups of its primary network interface.
    pub security_groups: Vec<String>,
    pub private_ip: String,
    #[serde(default)]
    pub public_ip: Option<String>,
    pub instance_type: String,
    pub image_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSetup {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetSetup {
    pub cidr: String,
    pub availability_zone: String,
    #[serde(default)]
    pub map_public_ip: bool,
    pub name: String,
    /// Its IPv6 CIDR block, for a dual-stack subnet.
    #[serde(default)]
    pub ipv6_cidr: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroupSetup {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub ingress: Vec<RuleSetup>,
    #[serde(default)]
    pub egress: Vec<RuleSetup>,
}

/// One permission: `protocol` is `-1`, `tcp`, `udp` or `icmp`; ports only for tcp and udp.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetup {
    pub protocol: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
    #[serde(default)]
    pub cidrs: Vec<String>,
    #[serde(default)]
    pub prefix_lists: Vec<String>,
    /// The rule's id (`sgr-…`); given one from the rule itself when absent.
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTableSetup {
    #[serde(default)]
    pub main: bool,
    #[serde(default)]
    pub subnets: Vec<String>,
    pub routes: Vec<RouteSetup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSetup {
    pub destination: String,
    pub target: String,
    #[serde(default)]
    pub blackhole: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatSetup {
    pub subnet: String,
    pub state: String,
    pub public_ip: String,
    pub private_ip: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclSetup {
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub subnets: Vec<String>,
    pub entries: Vec<AclEntrySetup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclEntrySetup {
    pub rule: i32,
    pub egress: bool,
    /// `-1` or a protocol number (`6` tcp), as EC2 answers it.
    pub protocol: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub cidr: String,
    pub allow: bool,
}

impl NetworkSetup {
    /// The path of tasks of a `mode` task definition: its awsvpcConfiguration's, or with
    /// `bridge` / `host` networking the container instances'.
    pub fn to_config_for(&self, mode: &str) -> network::NetworkConfig {
        let mut config = self.to_config();
        if mode != "awsvpc" {
            let instances = self
                .instances
                .iter()
                .map(|(id, i)| network::Instance {
                    id: id.clone(),
                    subnet: i.subnet.clone(),
                    security_groups: i.security_groups.clone(),
                    public_ip: i.public_ip.clone(),
                })
                .collect();
            config.service = network::ServiceNetwork::on_instances(mode, instances);
        }
        config
    }

    /// The security groups the tasks of a `mode` task definition send through.
    pub fn security_groups_for(&self, mode: &str) -> Vec<String> {
        self.to_config_for(mode).service.security_groups
    }

    /// The same facts as the console's plain data, for the backend's own packet path (the
    /// service's awsvpcConfiguration).
    pub fn to_config(&self) -> network::NetworkConfig {
        let perm = |r: &RuleSetup| network::Permission {
            protocol: r.protocol.clone(),
            from_port: r.from,
            to_port: r.to,
            cidrs: r.cidrs.clone(),
            prefix_lists: r.prefix_lists.clone(),
            groups: Vec::new(),
        };
        network::NetworkConfig {
            service: network::ServiceNetwork {
                subnets: self.service.subnets.clone(),
                security_groups: self.service.security_groups.clone(),
                assign_public_ip: self.service.assign_public_ip,
                ..Default::default()
            },
            security_groups: self
                .security_groups
                .iter()
                .map(|(id, g)| network::SecurityGroup {
                    id: id.clone(),
                    name: g.name.clone(),
                    vpc_id: self.vpc_id.clone(),
                    egress: g.egress.iter().map(perm).collect(),
                })
                .collect(),
            subnets: self
                .subnets
                .iter()
                .map(|(id, s)| network::Subnet {
                    id: id.clone(),
                    vpc_id: self.vpc_id.clone(),
                    cidr: s.cidr.clone(),
                    ipv6_cidrs: s.ipv6_cidr.iter().cloned().collect(),
                })
                .collect(),
            route_tables: self
                .route_tables
                .iter()
                .map(|(id, t)| network::RouteTable {
                    id: id.clone(),
                    vpc_id: self.vpc_id.clone(),
                    is_main: t.main,
                    subnets: t.subnets.clone(),
                    routes: t
                        .routes
                        .iter()
                        .map(|r| network::Route {
                            destination: r.destination.clone(),
                            target: r.target.clone(),
                            state: if r.blackhole { "blackhole" } else { "active" }.into(),
                        })
                        .collect(),
                })
                .collect(),
            nat_gateways: self
                .nat_gateways
                .iter()
                .map(|(id, n)| network::NatGateway {
                    id: id.clone(),
                    subnet_id: n.subnet.clone(),
                    state: n.state.clone(),
                })
                .collect(),
            network_acls: self
                .network_acls
                .iter()
                .map(|(id, a)| network::NetworkAcl {
                    id: id.clone(),
                    vpc_id: self.vpc_id.clone(),
                    is_default: a.default,
                    subnets: a.subnets.clone(),
                    entries: a
                        .entries
                        .iter()
                        .map(|e| network::AclEntry {
                            rule_number: e.rule,
                            egress: e.egress,
                            protocol: e.protocol.clone(),
                            from_port: e.from,
                            to_port: e.to,
                            cidr: Some(e.cidr.clone()),
                            allow: e.allow,
                        })
                        .collect(),
                })
                .collect(),
            prefix_lists: BTreeMap::new(),
        }
    }
}

/// Whether a resource passes every filter; `values` gives a filter's values for it, or `None`
/// for a filter name the action does not know, which is AWS's error.
fn passes(
    filters: &[(String, Vec<String>)],
    values: impl Fn(&str) -> Option<Vec<String>>,
) -> Result<bool, AwsError> {
    for (name, wanted) in filters {
        let Some(have) = values(name) else {
            return Err(AwsError::client(
                "InvalidParameterValue",
                format!("The filter '{name}' is invalid"),
            ));
        };
        if !wanted.iter().any(|w| have.contains(w)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The ids asked for that do not exist: AWS's `….NotFound` error for the first one.
fn check_ids<'a>(
    asked: &[&str],
    known: impl Fn(&str) -> bool,
    code: &str,
    message: impl Fn(&str) -> String + 'a,
) -> Result<(), AwsError> {
    match asked.iter().find(|id| !known(id)) {
        Some(id) => Err(AwsError::client(code, message(id))),
        None => Ok(()),
    }
}

/// One page of items, by id, and the token of the page after it.
type Page<T> = (Vec<(String, T)>, Option<String>);

/// One page of `items` (in id order) by the request's `MaxResults` (EC2 takes `min..=max`)
/// and `NextToken`, and the token of the next page: the id the next page starts at,
/// hex-encoded, so a token stays valid while items before it come and go.
fn page<T>(
    params: &Params,
    items: Vec<(&String, T)>,
    (min, max): (i64, i64),
    page_size: Option<usize>,
) -> Result<Page<T>, AwsError> {
    let asked = params.int("MaxResults")?;
    if let Some(n) = asked {
        if !(min..=max).contains(&n) {
            return Err(AwsError::client(
                "InvalidParameterValue",
                format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value between {min} and {max}."),
            ));
        }
    }
    let limit = asked
        .and_then(|n| usize::try_from(n).ok())
        .into_iter()
        .chain(page_size)
        .min()
        .unwrap_or(usize::MAX)
        .max(1);
    let start = match params.get("NextToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => {
            let from = decode_token(token).ok_or_else(|| {
                AwsError::client(
                    "InvalidPaginationToken",
                    format!("Invalid pagination token: {token}"),
                )
            })?;
            items.iter().take_while(|(id, _)| **id < from).count()
        }
    };
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .skip(start)
        .map(|(id, t)| (id.clone(), t))
        .collect();
    let next = rest.get(limit).map(|(id, _)| encode_token(id));
    rest.truncate(limit);
    Ok((rest, next))
}

fn encode_token(id: &str) -> String {
    id.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn decode_token(token: &str) -> Option<String> {
    if token.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn response(action: &str, body: impl FnOnce(&mut Xml)) -> String {
    Xml::document(
        &format!("{action}Response"),
        QueryService::Ec2.xmlns(),
        |x| {
            x.leaf("requestId", request_id());
            body(x);
        },
    )
}

/// A rule's id, stable for the same rule.
fn rule_id(group: &str, egress: bool, rule: &RuleSetup) -> String {
    if let Some(id) = &rule.id {
        return id.clone();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{group}{egress}{rule:?}");
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("sgr-{h:017x}")
}

fn write_permissions(x: &mut Xml, rules: &[RuleSetup]) {
    for r in rules {
        x.elem("item", |x| {
            x.leaf("ipProtocol", &r.protocol)
                .opt("fromPort", r.from)
                .opt("toPort", r.to)
                .elem("groups", |_| {})
                .elem("ipRanges", |x| {
                    for c in r.cidrs.iter().filter(|c| !network::is_ipv6(c)) {
                        x.elem("item", |x| {
                            x.leaf("cidrIp", c);
                        });
                    }
                })
                .elem("ipv6Ranges", |x| {
                    for c in r.cidrs.iter().filter(|c| network::is_ipv6(c)) {
                        x.elem("item", |x| {
                            x.leaf("cidrIpv6", c);
                        });
                    }
                })
                .elem("prefixListIds", |x| {
                    for p in &r.prefix_lists {
                        x.elem("item", |x| {
                            x.leaf("prefixListId", p);
                        });
                    }
                });
        });
    }
}

/// The permissions of an Authorize / Revoke request (`IpPermissions.N…`), one rule per
/// protocol/port range, as EC2 stores them.
fn requested_rules(params: &Params) -> Result<Vec<RuleSetup>, AwsError> {
    let perms = params.structs("IpPermissions");
    if perms.is_empty() {
        return Err(AwsError::client(
            "MissingParameter",
            "The request must contain the parameter ipPermissions",
        ));
    }
    let mut rules = Vec::new();
    for p in perms {
        let protocol = match p.get("IpProtocol").unwrap_or("-1") {
            "6" => "tcp",
            "17" => "udp",
            "1" => "icmp",
            "all" => "-1",
            other => other,
        }
        .to_owned();
        if !matches!(protocol.as_str(), "-1" | "tcp" | "udp" | "icmp") {
            return Err(AwsError::client(
                "InvalidParameterValue",
                format!("Invalid value '{protocol}' for IP protocol. Unknown protocol."),
            ));
        }
        let (from, to) = if protocol == "-1" {
            (None, None)
        } else {
            (
                p.int("FromPort")?.map(|v| v as i32),
                p.int("ToPort")?.map(|v| v as i32),
            )
        };
        if protocol != "-1" && (from.is_none() || to.is_none()) {
            return Err(AwsError::client(
                "InvalidParameterValue",
                "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange",
            ));
        }
        let cidrs: Vec<String> = p
            .structs("IpRanges")
            .iter()
            .filter_map(|r| r.get("CidrIp").map(str::to_owned))
            .chain(
                p.structs("Ipv6Ranges")
                    .iter()
                    .filter_map(|r| r.get("CidrIpv6").map(str::to_owned)),
            )
            .collect();
        for c in &cidrs {
            if !network::is_cidr(c) {
                return Err(AwsError::client(
                    "InvalidParameterValue",
                    format!("CIDR block {c} is malformed"),
                ));
            }
        }
        let prefix_lists: Vec<String> = p
            .structs("PrefixListIds")
            .iter()
            .filter_map(|r| r.get("PrefixListId").map(str::to_owned))
            .collect();
        // One stored rule per destination, as EC2 keeps security group rules.
        for c in cidrs {
            rules.push(RuleSetup {
                protocol: protocol.clone(),
                from,
                to,
                cidrs: vec![c],
                prefix_lists: Vec::new(),
                id: None,
            });
        }
        for pl in prefix_lists {
            rules.push(RuleSetup {
                protocol: protocol.clone(),
                from,
                to,
                cidrs: Vec::new(),
                prefix_lists: vec![pl],
                id: None,
            });
        }
    }
    Ok(rules)
}

/// A stored rule's single destinations, so a rule with two CIDRs matches a revoke of one.
fn split(rule: &RuleSetup) -> Vec<RuleSetup> {
    rule.cidrs
        .iter()
        .map(|c| RuleSetup {
            cidrs: vec![c.clone()],
            prefix_lists: Vec::new(),
            id: None,
            ..rule.clone()
        })
        .chain(rule.prefix_lists.iter().map(|p| RuleSetup {
            cidrs: Vec::new(),
            prefix_lists: vec![p.clone()],
            id: None,
            ..rule.clone()
        }))
        .collect()
}

fn same_rule(a: &RuleSetup, b: &RuleSetup) -> bool {
    let norm = |r: &RuleSetup| {
        let ports = if r.protocol == "-1" {
            (None, None)
        } else {
            (r.from, r.to)
        };
        (
            r.protocol.clone(),
            ports,
            r.cidrs.clone(),
            r.prefix_lists.clone(),
        )
    };
    norm(a) == norm(b)
}

fn describe_rule(r: &RuleSetup) -> String {
    let peer = r
        .cidrs
        .first()
        .or(r.prefix_lists.first())
        .cloned()
        .unwrap_or_default();
    let proto = if r.protocol == "-1" {
        "ALL"
    } else {
        &r.protocol
    };
    format!(
        "peer: {peer}, {}, from port: {}, to port: {}, ALLOW",
        proto.to_uppercase(),
        r.from.unwrap_or(-1),
        r.to.unwrap_or(-1)
    )
}

impl World {
    /// Whether the backend's packets reach Twilio over HTTPS now: its security groups, its
    /// subnets' network ACLs and routes, as they stand (App Runner's `DEFAULT` egress: always).
    pub fn twilio_reachable(&self) -> bool {
        // App Runner's own egress does not cross the VPC.
        if self.apprunner_default_egress() {
            return true;
        }
        let to = vec![format!("{}/32", self.network.twilio_address)];
        let config = self.network.to_config_for(&self.network_mode());
        network::evaluate(&config, &to).state == network::HopState::Pass
    }

    /// Handles one EC2 action, answering its XML document.
    pub fn ec2_handle(&mut self, request: &QueryRequest, _now: i64) -> Result<String, AwsError> {
        let params = &request.params;
        match request.action.as_str() {
            "DescribeSecurityGroups" => self.describe_security_groups(params),
            "DescribeSubnets" => self.describe_subnets(params),
            "DescribeRouteTables" => self.describe_route_tables(params),
            "DescribeNatGateways" => self.describe_nat_gateways(params),
            "DescribeNetworkAcls" => self.describe_network_acls(params),
            "DescribeVpcs" => self.describe_vpcs(params),
            "DescribeInstances" => self.describe_instances(params),
            "AuthorizeSecurityGroupEgress" => self.change_egress(params, true),
            "RevokeSecurityGroupEgress" => self.change_egress(params, false),
            other => Err(invalid_action(QueryService::Ec2, other)),
        }
    }

    fn owner(&self) -> String {
        self.scenario.deployment.account_id.clone()
    }

    fn describe_security_groups(&self, params: &Params) -> Result<String, AwsError> {
        let ids = params.list("GroupId");
        let net = &self.network;
        check_ids(
            &ids,
            |id| net.security_groups.contains_key(id),
            "InvalidGroup.NotFound",
            |id| format!("The security group '{id}' does not exist"),
        )?;
        let filters = params.filters();
        let mut groups = Vec::new();
        for (id, g) in &net.security_groups {
            if !ids.is_empty() && !ids.contains(&id.as_str()) {
                continue;
            }
            let values = |name: &str| match name {
                "group-id" => Some(vec![id.clone()]),
                "group-name" => Some(vec![g.name.clone()]),
                "vpc-id" => Some(vec![net.vpc_id.clone()]),
                _ => None,
            };
            if passes(&filters, values)? {
                groups.push((id, g));
            }
        }
        let (groups, next_token) = page(params, groups, (5, 1000), net.page_size)?;
        let owner = self.owner();
        Ok(response("DescribeSecurityGroups", |x| {
            x.elem("securityGroupInfo", |x| {
                for (id, g) in &groups {
                    x.elem("item", |x| {
                        x.leaf("ownerId", &owner)
                            .leaf("groupId", id)
                            .leaf("groupName", &g.name)
                            .leaf("groupDescription", &g.description)
                            .leaf("vpcId", &net.vpc_id)
                            .elem("ipPermissions", |x| write_permissions(x, &g.ingress))
                            .elem("ipPermissionsEgress", |x| write_permissions(x, &g.egress))
                            .elem("tagSet", |_| {});
                    });
                }
            })
            .opt("nextToken", next_token);
        }))
    }

    fn describe_subnets(&self, params: &Params) -> Result<String, AwsError> {
        let ids = params.list("SubnetId");
        let net = &self.network;
        check_ids(
            &ids,
            |id| net.subnets.contains_key(id),
            "InvalidSubnetID.NotFound",
            |id| format!("The subnet ID '{id}' does not exist"),
        )?;
        let filters = params.filters();
        let mut subnets = Vec::new();
        for (id, s) in &net.subnets {
            if !ids.is_empty() && !ids.contains(&id.as_str()) {
                continue;
            }
            let values = |name: &str| match name {
                "subnet-id" => Some(vec![id.clone()]),
                "vpc-id" => Some(vec![net.vpc_id.clone()]),
                "availability-zone" => Some(vec![s.availability_zone.clone()]),
                "cidr-block" | "cidr" => Some(vec![s.cidr.clone()]),
                _ => None,
            };
            if passes(&filters, values)? {
                subnets.push((id, s));
            }
        }
        let (subnets, next_token) = page(params, subnets, (5, 1000), net.page_size)?;
        let owner = self.owner();
        let region = self.scenario.deployment.region.clone();
        Ok(response("DescribeSubnets", |x| {
            x.elem("subnetSet", |x| {
                for (id, s) in &subnets {
                    x.elem("item", |x| {
                        x.leaf("subnetId", id)
                            .leaf(
                                "subnetArn",
                                format!("arn:aws:ec2:{region}:{owner}:subnet/{id}"),
                            )
                            .leaf("state", "available")
                            .leaf("ownerId", &owner)
                            .leaf("vpcId", &net.vpc_id)
                            .leaf("cidrBlock", &s.cidr)
                            .leaf("availableIpAddressCount", 250)
                            .leaf("availabilityZone", &s.availability_zone)
                            .leaf("defaultForAz", false)
                            .leaf("mapPublicIpOnLaunch", s.map_public_ip)
                            .leaf("assignIpv6AddressOnCreation", s.ipv6_cidr.is_some())
                            .elem("ipv6CidrBlockAssociationSet", |x| {
                                if let Some(block) = &s.ipv6_cidr {
                                    x.elem("item", |x| {
                                        x.leaf(
                                            "associationId",
                                            format!(
                                                "subnet-cidr-assoc-{}",
                                                id.trim_start_matches("subnet-")
                                            ),
                                        )
                                        .leaf("ipv6CidrBlock", block)
                                        .elem(
                                            "ipv6CidrBlockState",
                                            |x| {
                                                x.leaf("state", "associated");
                                            },
                                        );
                                    });
                                }
                            })
                            .elem("tagSet", |x| {
                                x.elem("item", |x| {
                                    x.leaf("key", "Name").leaf("value", &s.name);
                                });
                            });
                    });
                }
            })
            .opt("nextToken", next_token);
        }))
    }

    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    fn describe_route_tables(&self, params: &Params) -> Result<String, AwsError> {
        let ids = params.list("RouteTableId");
        let net = &self.network;
        check_ids(
            &ids,
            |id| net.route_tables.contains_key(id),
            "InvalidRouteTableID.NotFound",
            |id| format!("The routeTable ID '{id}' does not exist"),
        )?;
        let filters = params.filters();
        let mut tables = Vec::new();
        for (id, t) in &net.route_tables {
            if !ids.is_empty() && !ids.contains(&id.as_str()) {
                continue;
            }
            let values = |name: &str| match name {
                "route-table-id" => Some(vec![id.clone()]),
                "vpc-id" => Some(vec![net.vpc_id.clone()]),
                "association.subnet-id" => Some(t.subnets.clone()),
                "association.main" => Some(vec![t.main.to_string()]),
                _ => None,
            };
            if passes(&filters, values)? {
                tables.push((id, t));
            }
        }
        let (tables, next_token) = page(params, tables, (5, 100), net.page_size)?;
        let owner = self.owner();
        Ok(response("DescribeRouteTables", |x| {
            x.elem("routeTableSet", |x| {
                for (id, t) in &tables {
                    let suffix = id.trim_start_matches("rtb-");
                    x.elem("item", |x| {
                        x.leaf("routeTableId", id)
                            .leaf("vpcId", &net.vpc_id)
                            .leaf("ownerId", &owner)
                            .elem("routeSet", |x| {
                                for r in &t.routes {
                                    x.elem("item", |x| {
                                        if network::is_ipv6(&r.destination) {
                                            x.leaf("destinationIpv6CidrBlock", &r.destination);
                                        } else {
                                            x.leaf("destinationCidrBlock", &r.destination);
                                        }
                                        if r.target.starts_with("nat-") {
                                            x.leaf("natGatewayId", &r.target);
                                        } else if r.target.starts_with("eigw-") {
                                            x.leaf("egressOnlyInternetGatewayId", &r.target);
                                        } else {
                                            x.leaf("gatewayId", &r.target);
                                        }
                                        x.leaf(
                                            "state",
                                            if r.blackhole { "blackhole" } else { "active" },
                                        )
                                        .leaf(
                                            "origin",
                                            if r.target == "local" {
                                                "CreateRouteTable"
                                            } else {
                                                "CreateRoute"
                                            },
                                        );
                                    });
                                }
                            })
                            .elem("associationSet", |x| {
                                if t.main {
                                    x.elem("item", |x| {
                                        x.leaf("main", true)
                                            .leaf(
                                                "routeTableAssociationId",
                                                format!("rtbassoc-m{suffix}"),
                                            )
                                            .leaf("routeTableId", id)
                                            .elem("associationState", |x| {
                                                x.leaf("state", "associated");
                                            });
                                    });
                                }
                                for (n, s) in t.subnets.iter().enumerate() {
                                    x.elem("item", |x| {
                                        x.leaf("main", false)
                                            .leaf(
                                                "routeTableAssociationId",
                                                format!("rtbassoc-{n}{suffix}"),
                                            )
                                            .leaf("routeTableId", id)
                                            .leaf("subnetId", s)
                                            .elem("associationState", |x| {
                                                x.leaf("state", "associated");
                                            });
                                    });
                                }
                            })
                            .elem("propagatingVgwSet", |_| {})
                            .elem("tagSet", |_| {});
                    });
                }
            })
            .opt("nextToken", next_token);
        }))
    }

    fn describe_nat_gateways(&self, params: &Params) -> Result<String, AwsError> {
        let ids = params.list("NatGatewayId");
        let net = &self.network;
        check_ids(
            &ids,
            |id| net.nat_gateways.contains_key(id),
            "NatGatewayNotFound",
            |id| format!("The Nat Gateway {id} was not found"),
        )?;
        // DescribeNatGateways names its filter list `Filter` like the others.
        let filters = params.filters();
        let mut nats = Vec::new();
        for (id, n) in &net.nat_gateways {
            if !ids.is_empty() && !ids.contains(&id.as_str()) {
                continue;
            }
            let values = |name: &str| match name {
                "nat-gateway-id" => Some(vec![id.clone()]),
                "vpc-id" => Some(vec![net.vpc_id.clone()]),
                "subnet-id" => Some(vec![n.subnet.clone()]),
                "state" => Some(vec![n.state.clone()]),
                _ => None,
            };
            if passes(&filters, values)? {
                nats.push((id, n));
            }
        }
        let (nats, next_token) = page(params, nats, (5, 1000), net.page_size)?;
        let created = chrono::DateTime::from_timestamp_millis(self.service.created_ms)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S.000Z")
            .to_string();
        Ok(response("DescribeNatGateways", |x| {
            x.elem("natGatewaySet", |x| {
                for (id, n) in &nats {
                    let suffix = id.trim_start_matches("nat-");
                    x.elem("item", |x| {
                        x.leaf("natGatewayId", id)
                            .leaf("subnetId", &n.subnet)
                            .leaf("vpcId", &net.vpc_id)
                            .leaf("state", &n.state)
                            .leaf("connectivityType", "public")
                            .leaf("createTime", &created)
                            .elem("natGatewayAddressSet", |x| {
                                x.elem("item", |x| {
                                    x.leaf("allocationId", format!("eipalloc-{suffix}"))
                                        .leaf("networkInterfaceId", format!("eni-{suffix}"))
                                        .leaf("privateIp", &n.private_ip)
                                        .leaf("publicIp", &n.public_ip)
                                        .leaf("isPrimary", true)
                                        .leaf("status", "succeeded");
                                });
                            })
                            .elem("tagSet", |_| {});
                    });
                }
            })
            .opt("nextToken", next_token);
        }))
    }

    fn describe_network_acls(&self, params: &Params) -> Result<String, AwsError> {
        let ids = params.list("NetworkAclId");
        let net = &self.network;
        check_ids(
            &ids,
            |id| net.network_acls.contains_key(id),
            "InvalidNetworkAclID.NotFound",
            |id| format!("The networkAcl ID '{id}' does not exist"),
        )?;
        let filters = params.filters();
        // Every subnet is associated with exactly one ACL: its own, else the default.
        let associated = |id: &str, acl: &AclSetup| -> Vec<String> {
            if acl.default {
                net.subnets
                    .keys()
                    .filter(|s| {
                        acl.subnets.contains(s)
                            || !net.network_acls.values().any(|a| a.subnets.contains(s))
                    })
                    .cloned()
                    .collect()
            } else {
                let _ = id;
                acl.subnets.clone()
            }
        };
        let mut acls = Vec::new();
        for (id, a) in &net.network_acls {
            if !ids.is_empty() && !ids.contains(&id.as_str()) {
                continue;
            }
            let subnets = associated(id, a);
            let values = |name: &str| match name {
                "network-acl-id" => Some(vec![id.clone()]),
                "vpc-id" => Some(vec![net.vpc_id.clone()]),
                "default" => Some(vec![a.default.to_string()]),
                "association.subnet-id" => Some(subnets.clone()),
                _ => None,
            };
            if passes(&filters, values)? {
                acls.push((id, (a, subnets)));
            }
        }
        let (acls, next_token) = page(params, acls, (5, 100), net.page_size)?;
        let owner = self.owner();
        Ok(response("DescribeNetworkAcls", |x| {
            x.elem("networkAclSet", |x| {
                for (id, (a, subnets)) in &acls {
                    let suffix = id.trim_start_matches("acl-");
                    x.elem("item", |x| {
                        x.leaf("networkAclId", id)
                            .leaf("vpcId", &net.vpc_id)
                            .leaf("ownerId", &owner)
                            .leaf("default", a.default)
                            .elem("entrySet", |x| {
                                for e in &a.entries {
                                    x.elem("item", |x| {
                                        x.leaf("ruleNumber", e.rule)
                                            .leaf("protocol", &e.protocol)
                                            .leaf(
                                                "ruleAction",
                                                if e.allow { "allow" } else { "deny" },
                                            )
                                            .leaf("egress", e.egress)
                                            .leaf(
                                                if network::is_ipv6(&e.cidr) {
                                                    "ipv6CidrBlock"
                                                } else {
                                                    "cidrBlock"
                                                },
                                                &e.cidr,
                                            );
                                        if let (Some(from), Some(to)) = (e.from, e.to) {
                                            x.elem("portRange", |x| {
                                                x.leaf("from", from).leaf("to", to);
                                            });
                                        }
                                    });
                                }
                            })
                            .elem("associationSet", |x| {
                                for (n, s) in subnets.iter().enumerate() {
                                    x.elem("item", |x| {
                                        x.leaf(
                                            "networkAclAssociationId",
                                            format!("aclassoc-{n}{suffix}"),
                                        )
                                        .leaf("networkAclId", id)
                                        .leaf("subnetId", s);
                                    });
                                }
                            })
                            .elem("tagSet", |_| {});
                    });
                }
            })
            .opt("nextToken", next_token);
        }))
    }

    fn describe_vpcs(&self, params: &Params) -> Result<String, AwsError> {
        let ids = params.list("VpcId");
        let net = &self.network;
        check_ids(
            &ids,
            |id| id == net.vpc_id,
            "InvalidVpcID.NotFound",
            |id| format!("The vpc ID '{id}' does not exist"),
        )?;
        let values = |name: &str| match name {
            "vpc-id" => Some(vec![net.vpc_id.clone()]),
            "cidr" | "cidr-block" => Some(vec![net.vpc_cidr.clone()]),
            "is-default" => Some(vec!["false".to_owned()]),
            "state" => Some(vec!["available".to_owned()]),
            _ => None,
        };
        let shown = passes(&params.filters(), values)?;
        let owner = self.owner();
        let suffix = net.vpc_id.trim_start_matches("vpc-").to_owned();
        Ok(response("DescribeVpcs", |x| {
            x.elem("vpcSet", |x| {
                if shown {
                    x.elem("item", |x| {
                        x.leaf("vpcId", &net.vpc_id)
                            .leaf("ownerId", &owner)
                            .leaf("state", "available")
                            .leaf("cidrBlock", &net.vpc_cidr)
                            .elem("cidrBlockAssociationSet", |x| {
                                x.elem("item", |x| {
                                    x.leaf("associationId", format!("vpc-cidr-assoc-{suffix}"))
                                        .leaf("cidrBlock", &net.vpc_cidr)
                                        .elem("cidrBlockState", |x| {
                                            x.leaf("state", "associated");
                                        });
                                });
                            })
                            .leaf("dhcpOptionsId", format!("dopt-{suffix}"))
                            .leaf("instanceTenancy", "default")
                            .leaf("isDefault", false)
                            .elem("tagSet", |_| {});
                    });
                }
            });
        }))
    }

    /// DescribeInstances: the cluster's container instances, one reservation each.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    fn describe_instances(&self, params: &Params) -> Result<String, AwsError> {
        let ids = params.list("InstanceId");
        let net = &self.network;
        check_ids(
            &ids,
            |id| net.instances.contains_key(id),
            "InvalidInstanceID.NotFound",
            |id| format!("The instance ID '{id}' does not exist"),
        )?;
        let filters = params.filters();
        let mut found = Vec::new();
        for (id, i) in &net.instances {
            if !ids.is_empty() && !ids.contains(&id.as_str()) {
                continue;
            }
            let values = |name: &str| match name {
                "instance-id" => Some(vec![id.clone()]),
                "vpc-id" => Some(vec![net.vpc_id.clone()]),
                "subnet-id" => Some(vec![i.subnet.clone()]),
                "instance-state-name" => Some(vec!["running".to_owned()]),
                "instance-type" => Some(vec![i.instance_type.clone()]),
                "private-ip-address" => Some(vec![i.private_ip.clone()]),
                "ip-address" => Some(i.public_ip.iter().cloned().collect()),
                "instance.group-id" | "network-interface.group-id" => {
                    Some(i.security_groups.clone())
                }
                _ => None,
            };
            if passes(&filters, values)? {
                found.push((id, i));
            }
        }
        let (found, next_token) = page(params, found, (5, 1000), net.page_size)?;
        let owner = self.owner();
        let region = self.scenario.deployment.region.clone();
        let launched = chrono::DateTime::from_timestamp_millis(self.service.created_ms)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S.000Z")
            .to_string();
        let group_name = |g: &str| {
            net.security_groups
                .get(g)
                .map_or_else(String::new, |s| s.name.clone())
        };
        let groups = |x: &mut Xml, ids: &[String]| {
            for g in ids {
                x.elem("item", |x| {
                    x.leaf("groupId", g).leaf("groupName", group_name(g));
                });
            }
        };
        Ok(response("DescribeInstances", |x| {
            x.elem("reservationSet", |x| {
                for (id, i) in &found {
                    let suffix = id.trim_start_matches("i-");
                    let availability_zone = net
                        .subnets
                        .get(&i.subnet)
                        .map_or_else(|| format!("{region}a"), |s| s.availability_zone.clone());
                    let private_dns = format!(
                        "ip-{}.ec2.internal",
                        i.private_ip.replace('.', "-")
                    );
                    x.elem("item", |x| {
                        x.leaf("reservationId", format!("r-{suffix}"))
                            .leaf("ownerId", &owner)
                            .elem("groupSet", |_| {})
                            .elem("instancesSet", |x| {
                                x.elem("item", |x| {
                                    x.leaf("instanceId", id)
                                        .leaf("imageId", &i.image_id)
                                        .elem("instanceState", |x| {
                                            x.leaf("code", 16).leaf("name", "running");
                                        })
                                        .leaf("privateDnsName", &private_dns)
                                        .leaf("dnsName", "")
                                        .leaf("instanceType", &i.instance_type)
                                        .leaf("launchTime", &launched)
                                        .elem("placement", |x| {
                                            x.leaf("availabilityZone", &availability_zone)
                                                .leaf("tenancy", "default");
                                        })
                                        .elem("monitoring", |x| {
                                            x.leaf("state", "disabled");
                                        })
                                        .leaf("subnetId", &i.subnet)
                                        .leaf("vpcId", &net.vpc_id)
                                        .leaf("privateIpAddress", &i.private_ip)
                                        .opt("ipAddress", i.public_ip.as_ref())
                                        .elem("groupSet", |x| groups(x, &i.security_groups))
                                        .leaf("architecture", "x86_64")
                                        .leaf("rootDeviceType", "ebs")
                                        .leaf("rootDeviceName", "/dev/xvda")
                                        .elem("iamInstanceProfile", |x| {
                                            x.leaf(
                                                "arn",
                                                format!(
                                                    "arn:aws:iam::{owner}:instance-profile/ecsInstanceRole"
                                                ),
                                            )
                                            .leaf("id", format!("AIPA{}", suffix.to_uppercase()));
                                        })
                                        .elem("networkInterfaceSet", |x| {
                                            x.elem("item", |x| {
                                                x.leaf("networkInterfaceId", format!("eni-{suffix}"))
                                                    .leaf("subnetId", &i.subnet)
                                                    .leaf("vpcId", &net.vpc_id)
                                                    .leaf("ownerId", &owner)
                                                    .leaf("status", "in-use")
                                                    .leaf("privateIpAddress", &i.private_ip)
                                                    .leaf("privateDnsName", &private_dns)
                                                    .leaf("sourceDestCheck", true)
                                                    .elem("groupSet", |x| {
                                                        groups(x, &i.security_groups);
                                                    })
                                                    .elem("attachment", |x| {
                                                        x.leaf(
                                                            "attachmentId",
                                                            format!("eni-attach-{suffix}"),
                                                        )
                                                        .leaf("deviceIndex", 0)
                                                        .leaf("status", "attached")
                                                        .leaf("attachTime", &launched)
                                                        .leaf("deleteOnTermination", true);
                                                    });
                                                if let Some(ip) = &i.public_ip {
                                                    x.elem("association", |x| {
                                                        x.leaf("publicIp", ip)
                                                            .leaf("ipOwnerId", "amazon");
                                                    });
                                                }
                                            });
                                        })
                                        .elem("tagSet", |x| {
                                            x.elem("item", |x| {
                                                x.leaf("key", "Name").leaf("value", "ecs-host");
                                            });
                                        });
                                });
                            });
                    });
                }
            })
            .opt("nextToken", next_token);
        }))
    }

    /// AuthorizeSecurityGroupEgress (`authorize`) or RevokeSecurityGroupEgress.
    fn change_egress(&mut self, params: &Params, authorize: bool) -> Result<String, AwsError> {
        let group = params.required("GroupId")?.to_owned();
        let wanted = requested_rules(params)?;
        let owner = self.owner();
        let Some(sg) = self.network.security_groups.get_mut(&group) else {
            return Err(AwsError::client(
                "InvalidGroup.NotFound",
                format!("The security group '{group}' does not exist"),
            ));
        };
        if authorize {
            if let Some(dup) = wanted
                .iter()
                .find(|w| sg.egress.iter().flat_map(split).any(|r| same_rule(&r, w)))
            {
                return Err(AwsError::client(
                    "InvalidPermission.Duplicate",
                    format!(
                        "the specified rule \"{}\" already exists",
                        describe_rule(dup)
                    ),
                ));
            }
            sg.egress.extend(wanted.iter().cloned());
            return Ok(response("AuthorizeSecurityGroupEgress", |x| {
                x.leaf("return", true).elem("securityGroupRuleSet", |x| {
                    for r in &wanted {
                        x.elem("item", |x| {
                            x.leaf("securityGroupRuleId", rule_id(&group, true, r))
                                .leaf("groupId", &group)
                                .leaf("groupOwnerId", &owner)
                                .leaf("isEgress", true)
                                .leaf("ipProtocol", &r.protocol)
                                .leaf("fromPort", r.from.unwrap_or(-1))
                                .leaf("toPort", r.to.unwrap_or(-1))
                                .opt("cidrIpv4", r.cidrs.first().filter(|c| !network::is_ipv6(c)))
                                .opt("cidrIpv6", r.cidrs.first().filter(|c| network::is_ipv6(c)))
                                .opt("prefixListId", r.prefix_lists.first());
                        });
                    }
                });
            }));
        }
        if let Some(missing) = wanted
            .iter()
            .find(|w| !sg.egress.iter().flat_map(split).any(|r| same_rule(&r, w)))
        {
            return Err(AwsError::client(
                "InvalidPermission.NotFound",
                format!(
                    "The specified rule does not exist in this security group. ({})",
                    describe_rule(missing)
                ),
            ));
        }
        let kept: Vec<RuleSetup> = sg
            .egress
            .iter()
            .flat_map(split)
            .filter(|r| !wanted.iter().any(|w| same_rule(r, w)))
            .collect();
        sg.egress = kept;
        Ok(response("RevokeSecurityGroupEgress", |x| {
            x.leaf("return", true);
        }))
    }
}
