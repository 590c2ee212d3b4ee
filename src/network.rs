//! The service's network path to Twilio on TCP 443, evaluated from plain data (pure): the
//! security groups' egress, each subnet's network ACL (outbound 443, inbound ephemeral ports,
//! rules in number order, the default deny), each subnet's route table (its explicit
//! association, else the VPC's main table) and what its default route reaches (a NAT gateway
//! that is `available` in a subnet that routes to an internet gateway, an internet gateway
//! with a public IP, an egress-only gateway for IPv6). Tasks with `bridge` / `host` networking
//! are evaluated from each container instance they run on. IPv4 and IPv6 are separate: a rule,
//! ACL entry or route of one family never decides a destination of the other. The EC2 probe
//! (`probe::network`) reads [`NetworkConfig`]; the simulator reads its own state into the same
//! shape. Every [`Hop`] names its resource and the rule that decided it, so a finding reads
//! `sg-0a1b… egress allows only tcp 5432 to 10.0.0.0/16`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Twilio's API port.
pub const HTTPS: u16 = 443;
/// The ephemeral ports the answers come back to (the runbook's NACL check: 1024–65535).
pub const EPHEMERAL: (u16, u16) = (1024, 65535);
/// The destination set when none is configured: anywhere.
pub const ANYWHERE: &str = "0.0.0.0/0";

/// Where the service's tasks send from: its `awsvpcConfiguration`, or with `bridge`/`host`
/// networking the container instances the tasks run on (their subnets, the security groups
/// of their primary network interfaces, and whether they have public IPs, summed up in the
/// first three fields so the repair and the commands name the groups either way).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNetwork {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    /// The task definition's `networkMode` (`awsvpc`, `bridge`, `host`), when it was read.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_mode: String,
    /// The EC2 instances under the tasks (bridge/host networking only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Instance>,
}

/// An EC2 container instance the service's tasks run on (bridge/host networking): the tasks'
/// packets leave through its primary network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub subnet: String,
    /// The security groups of its primary network interface.
    pub security_groups: Vec<String>,
    pub public_ip: Option<String>,
}

impl ServiceNetwork {
    /// The network of tasks running on `instances` with `mode` networking.
    pub fn on_instances(mode: &str, instances: Vec<Instance>) -> Self {
        let mut subnets: Vec<String> = Vec::new();
        let mut security_groups: Vec<String> = Vec::new();
        for i in &instances {
            if !subnets.contains(&i.subnet) {
                subnets.push(i.subnet.clone());
            }
            for g in &i.security_groups {
                if !security_groups.contains(g) {
                    security_groups.push(g.clone());
                }
            }
        }
        Self {
            subnets,
            security_groups,
            assign_public_ip: !instances.is_empty()
                && instances.iter().all(|i| i.public_ip.is_some()),
            network_mode: mode.to_owned(),
            instances,
        }
    }
}

/// What EC2 says about the resources on the path, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkConfig {
    pub service: ServiceNetwork,
    pub security_groups: Vec<SecurityGroup>,
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub nat_gateways: Vec<NatGateway>,
    pub network_acls: Vec<NetworkAcl>,
    /// Managed prefix lists' CIDRs, for those that could be read.
    pub prefix_lists: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    pub egress: Vec<Permission>,
}

/// One `IpPermission`: a protocol (`-1`, `tcp`, `6`, …), a port range, and where to
/// (`cidrs` holds its `IpRanges` and `Ipv6Ranges` both: each covers its own family only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permission {
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidrs: Vec<String>,
    pub prefix_lists: Vec<String>,
    /// Security groups referenced as the destination (never the internet).
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    /// Its IPv6 CIDR blocks: without one, its tasks have no IPv6 address.
    pub ipv6_cidrs: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    /// Whether it is its VPC's main table.
    pub is_main: bool,
    /// Subnets explicitly associated with it.
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub destination: String,
    /// `local`, `igw-…`, `nat-…`, `tgw-…`, `eni-…`, `pcx-…`, `vgw-…`
    pub target: String,
    /// `active` or `blackhole`.
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: String,
    /// `pending`, `available`, `deleting`, `deleted`, `failed`.
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: String,
    pub is_default: bool,
    pub subnets: Vec<String>,
    pub entries: Vec<AclEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclEntry {
    pub rule_number: i32,
    pub egress: bool,
    /// `-1`, `6` (tcp), `17`, … (EC2 answers numbers; `tcp` is accepted too).
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    /// Its `CidrBlock` or `Ipv6CidrBlock`: an entry only matches destinations of its family.
    pub cidr: Option<String>,
    pub allow: bool,
}

/// What one hop of the path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopKind {
    SecurityGroup,
    NetworkAcl,
    Route,
    Gateway,
}

impl HopKind {
    /// The short label of a hop line.
    pub fn label(self) -> &'static str {
        match self {
            Self::SecurityGroup => "SG",
            Self::NetworkAcl => "NACL",
            Self::Route => "route",
            Self::Gateway => "gateway",
        }
    }
}

/// Whether a hop lets the traffic through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopState {
    Pass,
    Fail,
    /// Not decidable from what was read (a transit gateway, an unread prefix list).
    Unknown,
}

/// One hop: the resource, whether it passes, and the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub kind: HopKind,
    pub resource: String,
    pub state: HopState,
    pub detail: String,
}

/// The evaluated path, one line per hop, from the service's security groups out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Path {
    pub state: HopState,
    /// The destination set the path was evaluated to.
    pub destinations: Vec<String>,
    pub service: ServiceNetwork,
    pub hops: Vec<Hop>,
    /// NAT gateways of the VPC that are available and reach an internet gateway: where a
    /// lost default route can point again.
    pub nats: Vec<String>,
}

impl Path {
    /// The failing hops.
    pub fn failures(&self) -> impl Iterator<Item = &Hop> {
        self.hops.iter().filter(|h| h.state == HopState::Fail)
    }

    /// One line: the first failure, else the first unknown, else the whole path in short.
    pub fn summary(&self) -> String {
        if let Some(h) = self.failures().next() {
            return h.detail.clone();
        }
        if let Some(h) = self.hops.iter().find(|h| h.state == HopState::Unknown) {
            return h.detail.clone();
        }
        let chain: Vec<&str> = self.hops.iter().map(|h| h.resource.as_str()).collect();
        format!(
            "tcp 443 to {} open: {}",
            self.destinations.join(", "),
            chain.join(" → ")
        )
    }

    /// The security groups of the service (for commands and the repair).
    pub fn security_groups(&self) -> &[String] {
        &self.service.security_groups
    }
}

/// A CIDR of either family: its network as a 128-bit number (IPv4 in the low 32 bits), its
/// prefix length, and whether it is IPv6. The two families never cover each other: a rule to
/// `::/0` lets nothing reach `0.0.0.0/0`, and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    network: u128,
    len: u8,
    is_v6: bool,
}

fn parse_cidr(text: &str) -> Option<Cidr> {
    let text = text.trim();
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let (bits, max, is_v6) = match addr.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), 32, false),
        std::net::IpAddr::V6(a) => (u128::from(a), 128, true),
    };
    let len: u8 = match len {
        Some(l) => l.parse().ok().filter(|l| *l <= max)?,
        None => max,
    };
    let host_bits = u32::from(max - len);
    let mask = if host_bits >= 128 {
        0
    } else {
        u128::MAX << host_bits
    };
    Some(Cidr {
        network: bits & mask,
        len,
        is_v6,
    })
}

/// Whether `outer` contains every address of `inner` (both of the same family).
pub fn covers(outer: &str, inner: &str) -> bool {
    match (parse_cidr(outer), parse_cidr(inner)) {
        (Some(o), Some(i)) if o.is_v6 == i.is_v6 => {
            let max: u8 = if o.is_v6 { 128 } else { 32 };
            let host_bits = u32::from(max - o.len);
            let mask = if host_bits >= 128 {
                0
            } else {
                u128::MAX << host_bits
            };
            o.len <= i.len && (i.network & mask) == o.network
        }
        _ => false,
    }
}

/// Whether `text` is a well-formed CIDR (or address) of either family.
pub fn is_cidr(text: &str) -> bool {
    parse_cidr(text).is_some()
}

/// Whether `text` is an IPv6 CIDR (or address).
pub fn is_ipv6(text: &str) -> bool {
    parse_cidr(text).is_some_and(|c| c.is_v6)
}

/// Whether an EC2 protocol (`-1`, `tcp`, `6`) carries TCP.
fn is_tcp(protocol: &str) -> bool {
    matches!(
        protocol.trim().to_ascii_lowercase().as_str(),
        "-1" | "tcp" | "6" | "all"
    )
}

fn is_all(protocol: &str) -> bool {
    matches!(protocol.trim(), "-1" | "all")
}

/// A permission's or ACL entry's ports: all ports for `-1` or none given.
fn ports(protocol: &str, from: Option<i32>, to: Option<i32>) -> (i32, i32) {
    if is_all(protocol) {
        return (0, 65535);
    }
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 && t >= 0 => (f, t),
        _ => (0, 65535),
    }
}

/// `tcp 5432`, `tcp 1024-65535`, `all traffic`, `udp 53`.
fn describe_rule(protocol: &str, from: Option<i32>, to: Option<i32>) -> String {
    if is_all(protocol) {
        return "all traffic".into();
    }
    let name = match protocol.trim() {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        p => p,
    };
    let (f, t) = ports(protocol, from, to);
    if (f, t) == (0, 65535) {
        format!("{name} all ports")
    } else if f == t {
        format!("{name} {f}")
    } else {
        format!("{name} {f}-{t}")
    }
}

/// The destinations of a permission, for a finding.
fn describe_targets(p: &Permission) -> String {
    let all: Vec<&str> = p
        .cidrs
        .iter()
        .chain(&p.prefix_lists)
        .chain(&p.groups)
        .map(String::as_str)
        .collect();
    if all.is_empty() {
        "nowhere".into()
    } else {
        all.join(", ")
    }
}

/// Evaluates the path from the service's tasks to `destinations` on TCP 443.
pub fn evaluate(config: &NetworkConfig, destinations: &[String]) -> Path {
    let destinations: Vec<String> = if destinations.is_empty() {
        vec![ANYWHERE.to_owned()]
    } else {
        destinations.to_vec()
    };
    let mut hops = Vec::new();
    if config.service.security_groups.is_empty() && config.service.subnets.is_empty() {
        // Nothing to evaluate: an unknown, never a failure of rules that were not read.
        let detail = if config.service.network_mode.is_empty()
            || config.service.network_mode == "awsvpc"
        {
            "the service has no awsvpcConfiguration and no container instance was found: the path is not read".to_owned()
        } else {
            format!(
                "{} networking, and no running task on a container instance to read the path from",
                config.service.network_mode
            )
        };
        return Path {
            state: HopState::Unknown,
            destinations,
            service: config.service.clone(),
            hops: vec![Hop {
                kind: HopKind::SecurityGroup,
                resource: "awsvpcConfiguration".into(),
                state: HopState::Unknown,
                detail,
            }],
            nats: Vec::new(),
        };
    }
    if config.service.instances.is_empty() {
        hops = service_hops(config, &destinations);
    } else {
        // Each instance is its own path (its subnet, its groups, its public IP or not); the
        // hops they share are shown once.
        for instance in &config.service.instances {
            let mut one = config.clone();
            one.service = ServiceNetwork {
                subnets: vec![instance.subnet.clone()],
                security_groups: instance.security_groups.clone(),
                assign_public_ip: instance.public_ip.is_some(),
                network_mode: config.service.network_mode.clone(),
                instances: vec![instance.clone()],
            };
            for hop in service_hops(&one, &destinations) {
                if !hops.contains(&hop) {
                    hops.push(hop);
                }
            }
        }
    }
    let state = if hops.iter().any(|h| h.state == HopState::Fail) {
        HopState::Fail
    } else if hops.iter().any(|h| h.state == HopState::Unknown) {
        HopState::Unknown
    } else {
        HopState::Pass
    };
    let nats = config
        .nat_gateways
        .iter()
        .filter(|n| n.state == "available")
        .filter(|n| {
            route_table_of(config, &n.subnet_id)
                .and_then(|t| route_for(t, ANYWHERE))
                .is_some_and(|r| r.target.starts_with("igw-") && r.state != "blackhole")
        })
        .map(|n| n.id.clone())
        .collect();
    Path {
        state,
        destinations,
        service: config.service.clone(),
        hops,
        nats,
    }
}

/// The hops of one set of subnets and security groups.
fn service_hops(config: &NetworkConfig, destinations: &[String]) -> Vec<Hop> {
    let mut hops = vec![security_groups(config, destinations)];
    for subnet in &config.service.subnets {
        hops.push(network_acl(config, subnet, destinations));
        hops.extend(route(config, subnet, destinations));
    }
    hops
}

/// The security groups hop: stateful, and the union of every group on the ENI — the path is
/// open when each destination is covered by some group's egress rule for TCP 443.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
fn security_groups(config: &NetworkConfig, destinations: &[String]) -> Hop {
    let ids = &config.service.security_groups;
    if ids.is_empty() {
        return Hop {
            kind: HopKind::SecurityGroup,
            resource: "awsvpcConfiguration".into(),
            state: HopState::Unknown,
            detail: "the service names no security group (ECS then uses the VPC's default group, not read)".into(),
        };
    }
    let resource = ids.join(", ");
    let mut unknown = None;
    let mut missing = Vec::new();
    // The rule that lets each destination through, as the hop's evidence.
    let mut allowed: Vec<String> = Vec::new();
    for dest in destinations {
        let mut found = None;
        for id in ids {
            let Some(group) = config.security_groups.iter().find(|g| &g.id == id) else {
                continue;
            };
            for p in &group.egress {
                let (from, to) = ports(&p.protocol, p.from_port, p.to_port);
                if !is_tcp(&p.protocol) || !(from..=to).contains(&i32::from(HTTPS)) {
                    continue;
                }
                if p.cidrs.iter().any(|c| covers(c, dest)) {
                    found = Some(format!(
                        "{id} egress allows {} to {}",
                        describe_rule(&p.protocol, p.from_port, p.to_port),
                        describe_targets(p)
                    ));
                    break;
                }
                for pl in &p.prefix_lists {
                    match config.prefix_lists.get(pl) {
                        Some(cidrs) if cidrs.iter().any(|c| covers(c, dest)) => {
                            found = Some(format!(
                                "{id} egress allows {} to {}",
                                describe_rule(&p.protocol, p.from_port, p.to_port),
                                describe_targets(p)
                            ));
                        }
                        None => {
                            unknown = Some(format!(
                                "{id} egress allows tcp 443 to prefix list {pl}, whose entries could not be read"
                            ));
                        }
                        Some(_) => {}
                    }
                }
                if found.is_some() {
                    break;
                }
            }
            if found.is_some() {
                break;
            }
        }
        match found {
            Some(rule) if !allowed.contains(&rule) => allowed.push(rule),
            Some(_) => {}
            None => missing.push(dest.clone()),
        }
    }
    let unread: Vec<&String> = ids
        .iter()
        .filter(|id| !config.security_groups.iter().any(|g| &g.id == *id))
        .collect();
    if missing.is_empty() {
        let detail = allowed.join("; ");
        return Hop {
            kind: HopKind::SecurityGroup,
            resource,
            state: HopState::Pass,
            detail,
        };
    }
    if let Some(detail) = unknown {
        return Hop {
            kind: HopKind::SecurityGroup,
            resource,
            state: HopState::Unknown,
            detail,
        };
    }
    if !unread.is_empty() {
        return Hop {
            kind: HopKind::SecurityGroup,
            resource,
            state: HopState::Unknown,
            detail: format!(
                "{} not found by DescribeSecurityGroups",
                unread
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    }
    // Name what the groups do allow, so the finding shows the rule that is there instead.
    let mut detail = String::new();
    for id in ids {
        let Some(group) = config.security_groups.iter().find(|g| &g.id == id) else {
            continue;
        };
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        if group.egress.is_empty() {
            let _ = write!(detail, "{id} has no egress rules");
        } else {
            let rules: Vec<String> = group
                .egress
                .iter()
                .map(|p| {
                    format!(
                        "{} to {}",
                        describe_rule(&p.protocol, p.from_port, p.to_port),
                        describe_targets(p)
                    )
                })
                .collect();
            let _ = write!(detail, "{id} egress allows only {}", rules.join(", "));
        }
    }
    let _ = write!(detail, " — no tcp 443 to {}", missing.join(", "));
    Hop {
        kind: HopKind::SecurityGroup,
        resource,
        state: HopState::Fail,
        detail,
    }
}

/// The subnet's network ACL: its explicit association, else the VPC's default ACL.
fn acl_of<'a>(config: &'a NetworkConfig, subnet: &str) -> Option<&'a NetworkAcl> {
    config
        .network_acls
        .iter()
        .find(|a| a.subnets.iter().any(|s| s == subnet))
        .or_else(|| {
            let vpc = vpc_of(config, subnet)?;
            config
                .network_acls
                .iter()
                .find(|a| a.is_default && a.vpc_id == vpc)
        })
}

fn vpc_of<'a>(config: &'a NetworkConfig, subnet: &str) -> Option<&'a str> {
    config
        .subnets
        .iter()
        .find(|s| s.id == subnet)
        .map(|s| s.vpc_id.as_str())
}

/// Runs ACL `entries` of one direction in rule-number order over the TCP ports `wanted` to or
/// from `dest`: `Ok(rules that allowed)` when every port is allowed before any rule denies it,
/// else `Err(the rule that denies)`. Rule 32767 (`*`) is the default deny; with no entry
/// matching, the traffic is denied too.
fn acl_decides(
    entries: &[AclEntry],
    egress: bool,
    wanted: (i32, i32),
    dest: &str,
) -> Result<Vec<i32>, String> {
    let mut sorted: Vec<&AclEntry> = entries.iter().filter(|e| e.egress == egress).collect();
    sorted.sort_by_key(|e| e.rule_number);
    // Ports not decided yet, as disjoint ranges.
    let mut open: Vec<(i32, i32)> = vec![wanted];
    let mut allowed_by = Vec::new();
    for e in sorted {
        if !is_tcp(&e.protocol) {
            continue;
        }
        let Some(cidr) = &e.cidr else { continue };
        if !covers(cidr, dest) {
            continue;
        }
        let (from, to) = ports(&e.protocol, e.from_port, e.to_port);
        let mut rest = Vec::new();
        let mut hit = false;
        for (lo, hi) in open {
            let (a, b) = (lo.max(from), hi.min(to));
            if a > b {
                rest.push((lo, hi));
                continue;
            }
            hit = true;
            if !e.allow {
                // EC2's default deny is rule 32767 for IPv4 and 32768 for IPv6, shown as `*`.
                let rule = if e.rule_number >= 32767 {
                    "the default rule *".to_owned()
                } else {
                    format!("rule {}", e.rule_number)
                };
                let ports = if a == b {
                    format!("{a}")
                } else {
                    format!("{a}-{b}")
                };
                return Err(format!(
                    "{rule} denies {} tcp {ports} {} {cidr}",
                    if egress { "outbound" } else { "inbound" },
                    if egress { "to" } else { "from" }
                ));
            }
            if lo < a {
                rest.push((lo, a - 1));
            }
            if b < hi {
                rest.push((b + 1, hi));
            }
        }
        if hit {
            allowed_by.push(e.rule_number);
        }
        open = rest;
        if open.is_empty() {
            return Ok(allowed_by);
        }
    }
    let ports: Vec<String> = open
        .iter()
        .map(|(a, b)| {
            if a == b {
                format!("{a}")
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    Err(format!(
        "no rule allows {} tcp {} {} {dest} (denied by default)",
        if egress { "outbound" } else { "inbound" },
        ports.join(", "),
        if egress { "to" } else { "from" }
    ))
}

fn network_acl(config: &NetworkConfig, subnet: &str, destinations: &[String]) -> Hop {
    let Some(acl) = acl_of(config, subnet) else {
        return Hop {
            kind: HopKind::NetworkAcl,
            resource: subnet.to_owned(),
            state: HopState::Unknown,
            detail: format!("{subnet}: no network ACL found for it"),
        };
    };
    let https = i32::from(HTTPS);
    let ephemeral = (i32::from(EPHEMERAL.0), i32::from(EPHEMERAL.1));
    let mut out_rules = Vec::new();
    let mut in_rules = Vec::new();
    for dest in destinations {
        let out = acl_decides(&acl.entries, true, (https, https), dest);
        let back = acl_decides(&acl.entries, false, ephemeral, dest);
        match (out, back) {
            (Ok(o), Ok(i)) => {
                out_rules.extend(o);
                in_rules.extend(i);
            }
            (Err(why), _) | (_, Err(why)) => {
                return Hop {
                    kind: HopKind::NetworkAcl,
                    resource: acl.id.clone(),
                    state: HopState::Fail,
                    detail: format!("{} ({subnet}): {why}", acl.id),
                };
            }
        }
    }
    out_rules.dedup();
    in_rules.dedup();
    let list = |r: &[i32]| {
        r.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    Hop {
        kind: HopKind::NetworkAcl,
        resource: acl.id.clone(),
        state: HopState::Pass,
        detail: format!(
            "{} ({subnet}): out tcp 443 by rule {}, in tcp 1024-65535 by rule {}",
            acl.id,
            list(&out_rules),
            list(&in_rules)
        ),
    }
}

/// The subnet's route table: its explicit association, else its VPC's main table.
pub fn route_table_of<'a>(config: &'a NetworkConfig, subnet: &str) -> Option<&'a RouteTable> {
    config
        .route_tables
        .iter()
        .find(|t| t.subnets.iter().any(|s| s == subnet))
        .or_else(|| {
            let vpc = vpc_of(config, subnet)?;
            config
                .route_tables
                .iter()
                .find(|t| t.is_main && t.vpc_id == vpc)
        })
}

/// The most specific route of `table` covering `dest`.
fn route_for<'a>(table: &'a RouteTable, dest: &str) -> Option<&'a Route> {
    table
        .routes
        .iter()
        .filter(|r| covers(&r.destination, dest))
        .max_by_key(|r| parse_cidr(&r.destination).map_or(0, |c| c.len))
}

/// The route hop of a subnet, and the hop of the gateway it leads to.
fn route(config: &NetworkConfig, subnet: &str, destinations: &[String]) -> Vec<Hop> {
    let Some(table) = route_table_of(config, subnet) else {
        return vec![Hop {
            kind: HopKind::Route,
            resource: subnet.to_owned(),
            state: HopState::Unknown,
            detail: format!("{subnet}: no route table found (no association, no main table)"),
        }];
    };
    let how = if table.subnets.iter().any(|s| s == subnet) {
        "explicit"
    } else {
        "main"
    };
    let mut hops = Vec::new();
    let mut targets: Vec<&Route> = Vec::new();
    for dest in destinations {
        let no_ipv6 = config
            .subnets
            .iter()
            .find(|s| s.id == subnet)
            .is_some_and(|s| s.ipv6_cidrs.is_empty());
        if is_ipv6(dest) && no_ipv6 {
            return vec![Hop {
                kind: HopKind::Route,
                resource: subnet.to_owned(),
                state: HopState::Fail,
                detail: format!(
                    "{subnet} has no IPv6 CIDR: its tasks have no IPv6 address to reach {dest}"
                ),
            }];
        }
        let Some(r) = route_for(table, dest) else {
            return vec![Hop {
                kind: HopKind::Route,
                resource: table.id.clone(),
                state: HopState::Fail,
                detail: format!("{} ({how} table of {subnet}) has no {dest} route", table.id),
            }];
        };
        if r.state == "blackhole" {
            return vec![Hop {
                kind: HopKind::Route,
                resource: table.id.clone(),
                state: HopState::Fail,
                detail: format!(
                    "{} ({how} table of {subnet}) routes {} to {}, which is a blackhole",
                    table.id, r.destination, r.target
                ),
            }];
        }
        if !targets.iter().any(|t| t.target == r.target) {
            targets.push(r);
        }
    }
    let shown: Vec<String> = targets
        .iter()
        .map(|r| format!("{} → {}", r.destination, r.target))
        .collect();
    hops.push(Hop {
        kind: HopKind::Route,
        resource: table.id.clone(),
        state: HopState::Pass,
        detail: format!(
            "{} ({how} table of {subnet}): {}",
            table.id,
            shown.join(", ")
        ),
    });
    for r in targets {
        hops.push(gateway(config, r, table));
    }
    hops
}

/// What a route's target does with the traffic.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
fn gateway(config: &NetworkConfig, route: &Route, table: &RouteTable) -> Hop {
    let target = route.target.as_str();
    let hop = |state, detail: String| Hop {
        kind: HopKind::Gateway,
        resource: target.to_owned(),
        state,
        detail,
    };
    if target.starts_with("eigw-") {
        // Egress-only internet gateways carry IPv6 only, which a route to one always is.
        return hop(
            HopState::Pass,
            format!(
                "{target}: egress-only internet gateway, IPv6 out ({} → {target})",
                route.destination
            ),
        );
    }
    if target.starts_with("igw-") && is_ipv6(&route.destination) {
        return hop(
            HopState::Pass,
            format!(
                "{target}: internet gateway for IPv6 ({} → {target}; IPv6 addresses need no public IP)",
                route.destination
            ),
        );
    }
    if target.starts_with("igw-") {
        if let [instance] = config.service.instances.as_slice() {
            return match &instance.public_ip {
                Some(ip) => hop(
                    HopState::Pass,
                    format!(
                        "{target}: internet gateway, and {} has public IP {ip}",
                        instance.id
                    ),
                ),
                None => hop(
                    HopState::Fail,
                    format!(
                        "{} routes to internet gateway {target} but {} has no public IP to use it",
                        table.id, instance.id
                    ),
                ),
            };
        }
        return if config.service.assign_public_ip {
            hop(
                HopState::Pass,
                format!("{target}: internet gateway, and the tasks get a public IP"),
            )
        } else {
            hop(
                HopState::Fail,
                format!("{} routes to internet gateway {target} but assignPublicIp is DISABLED: the tasks have no public IP to use it", table.id),
            )
        };
    }
    if target.starts_with("nat-") {
        let Some(nat) = config.nat_gateways.iter().find(|n| n.id == target) else {
            return hop(
                HopState::Fail,
                format!("{target} (the target of {}) does not exist", table.id),
            );
        };
        if nat.state != "available" {
            return hop(HopState::Fail, format!("{target} is {}", nat.state));
        }
        let Some(public) = route_table_of(config, &nat.subnet_id) else {
            return hop(
                HopState::Unknown,
                format!(
                    "{target} sits in {}, whose route table was not found",
                    nat.subnet_id
                ),
            );
        };
        return match route_for(public, ANYWHERE) {
            Some(r) if r.target.starts_with("igw-") && r.state != "blackhole" => hop(
                HopState::Pass,
                format!(
                    "{target} available in {}; {} → {}",
                    nat.subnet_id, public.id, r.target
                ),
            ),
            Some(r) => hop(
                HopState::Fail,
                format!(
                    "{target} sits in {} whose {} routes 0.0.0.0/0 to {}{}, not an internet gateway",
                    nat.subnet_id,
                    public.id,
                    r.target,
                    if r.state == "blackhole" { " (blackhole)" } else { "" }
                ),
            ),
            None => hop(
                HopState::Fail,
                format!(
                    "{target} sits in {} whose {} has no 0.0.0.0/0 route to an internet gateway",
                    nat.subnet_id, public.id
                ),
            ),
        };
    }
    if target == "local" {
        return hop(
            HopState::Fail,
            format!(
                "{} sends it to the VPC itself (local): no way out",
                table.id
            ),
        );
    }
    hop(
        HopState::Unknown,
        format!(
            "{} routes via {target}: the path beyond it is not checked",
            table.id
        ),
    )
}

#[cfg(test)]
mod tests;

/// The aws CLI commands that show and fix the failing hops, naming the real resources.
pub fn commands(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let groups = path.service.security_groups.join(" ");
    if !groups.is_empty() {
        out.push(format!(
            "aws ec2 describe-security-groups --group-ids {groups} --query 'SecurityGroups[].IpPermissionsEgress'"
        ));
    }
    let dest = path.destinations.first().map_or(ANYWHERE, String::as_str);
    for hop in path.failures() {
        let command = match hop.kind {
            HopKind::SecurityGroup => path.service.security_groups.first().map(|sg| {
                format!("{}   # what the repair does", authorize_command(sg, dest))
            }),
            HopKind::NetworkAcl => Some(format!(
                "aws ec2 describe-network-acls --network-acl-ids {} --query 'NetworkAcls[].Entries'",
                hop.resource
            )),
            HopKind::Route => {
                let verb = if hop.detail.contains("blackhole") {
                    "replace-route"
                } else {
                    "create-route"
                };
                Some(match path.nats.first() {
                    Some(nat) => format!(
                        "aws ec2 {verb} --route-table-id {} --destination-cidr-block {ANYWHERE} --nat-gateway-id {nat}",
                        hop.resource
                    ),
                    None => format!(
                        "aws ec2 describe-route-tables --route-table-ids {}   # and create a NAT gateway in a public subnet",
                        hop.resource
                    ),
                })
            }
            HopKind::Gateway => Some(format!(
                "aws ec2 describe-nat-gateways --nat-gateway-ids {}",
                hop.resource
            )),
        };
        out.extend(command);
    }
    out
}

/// The aws CLI command that allows TCP 443 out of `group` to `cidr` (`Ipv6Ranges` for an
/// IPv6 one).
pub fn authorize_command(group: &str, cidr: &str) -> String {
    let (ranges, key) = if is_ipv6(cidr) {
        ("Ipv6Ranges", "CidrIpv6")
    } else {
        ("IpRanges", "CidrIp")
    };
    format!(
        "aws ec2 authorize-security-group-egress --group-id {group} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,{ranges}=[{{{key}={cidr},Description=\"HTTPS to Twilio (otp-console)\"}}]'"
    )
}
