use super::*;

fn perm(protocol: &str, from: i32, to: i32, cidr: &str) -> Permission {
    Permission {
        protocol: protocol.into(),
        from_port: Some(from),
        to_port: Some(to),
        cidrs: vec![cidr.into()],
        ..Permission::default()
    }
}

fn acl(
    rule: i32,
    egress: bool,
    protocol: &str,
    ports: (i32, i32),
    cidr: &str,
    allow: bool,
) -> AclEntry {
    AclEntry {
        rule_number: rule,
        egress,
        protocol: protocol.into(),
        from_port: Some(ports.0),
        to_port: Some(ports.1),
        cidr: Some(cidr.into()),
        allow,
    }
}

fn route(dest: &str, target: &str) -> Route {
    Route {
        destination: dest.into(),
        target: target.into(),
        state: "active".into(),
    }
}

/// The usual Fargate layout: tasks in a private subnet, a NAT gateway in a public one.
fn open() -> NetworkConfig {
    let default_acl = vec![
        acl(100, true, "-1", (0, 0), "0.0.0.0/0", true),
        acl(32767, true, "-1", (0, 0), "0.0.0.0/0", false),
        acl(100, false, "-1", (0, 0), "0.0.0.0/0", true),
        acl(32767, false, "-1", (0, 0), "0.0.0.0/0", false),
    ];
    NetworkConfig {
        service: ServiceNetwork {
            subnets: vec!["subnet-priv".into()],
            security_groups: vec!["sg-app".into()],
            assign_public_ip: false,
            ..Default::default()
        },
        security_groups: vec![SecurityGroup {
            id: "sg-app".into(),
            name: "app".into(),
            vpc_id: "vpc-1".into(),
            egress: vec![Permission {
                protocol: "-1".into(),
                cidrs: vec!["0.0.0.0/0".into()],
                ..Permission::default()
            }],
        }],
        subnets: vec![
            Subnet {
                id: "subnet-priv".into(),
                vpc_id: "vpc-1".into(),
                cidr: "10.0.1.0/24".into(),
                ..Default::default()
            },
            Subnet {
                id: "subnet-pub".into(),
                vpc_id: "vpc-1".into(),
                cidr: "10.0.0.0/24".into(),
                ..Default::default()
            },
        ],
        route_tables: vec![
            RouteTable {
                id: "rtb-main".into(),
                vpc_id: "vpc-1".into(),
                is_main: true,
                subnets: vec![],
                routes: vec![route("10.0.0.0/16", "local")],
            },
            RouteTable {
                id: "rtb-priv".into(),
                vpc_id: "vpc-1".into(),
                is_main: false,
                subnets: vec!["subnet-priv".into()],
                routes: vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "nat-1")],
            },
            RouteTable {
                id: "rtb-pub".into(),
                vpc_id: "vpc-1".into(),
                is_main: false,
                subnets: vec!["subnet-pub".into()],
                routes: vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")],
            },
        ],
        nat_gateways: vec![NatGateway {
            id: "nat-1".into(),
            subnet_id: "subnet-pub".into(),
            state: "available".into(),
        }],
        network_acls: vec![NetworkAcl {
            id: "acl-default".into(),
            vpc_id: "vpc-1".into(),
            is_default: true,
            subnets: vec![],
            entries: default_acl,
        }],
        prefix_lists: BTreeMap::new(),
    }
}

fn anywhere() -> Vec<String> {
    vec![ANYWHERE.into()]
}

fn failing(path: &Path) -> Vec<String> {
    path.failures().map(|h| h.detail.clone()).collect()
}

#[test]
fn the_usual_private_subnet_behind_a_nat_is_open_one_hop_per_line() {
    let path = evaluate(&open(), &anywhere());
    assert_eq!(path.state, HopState::Pass, "{path:#?}");
    let kinds: Vec<HopKind> = path.hops.iter().map(|h| h.kind).collect();
    assert_eq!(
        kinds,
        [
            HopKind::SecurityGroup,
            HopKind::NetworkAcl,
            HopKind::Route,
            HopKind::Gateway
        ]
    );
    assert_eq!(
        path.hops[0].detail,
        "sg-app egress allows all traffic to 0.0.0.0/0"
    );
    assert!(path.hops[1]
        .detail
        .contains("acl-default (subnet-priv): out tcp 443 by rule 100"));
    assert!(path.hops[2]
        .detail
        .contains("rtb-priv (explicit table of subnet-priv): 0.0.0.0/0 → nat-1"));
    assert!(path.hops[3]
        .detail
        .contains("nat-1 available in subnet-pub; rtb-pub → igw-1"));
    assert!(path
        .summary()
        .contains("sg-app → acl-default → rtb-priv → nat-1"));
}

#[test]
fn security_group_without_443_names_the_rules_it_has() {
    let mut c = open();
    c.security_groups[0].egress = vec![perm("tcp", 5432, 5432, "10.0.0.0/16")];
    let path = evaluate(&c, &anywhere());
    assert_eq!(path.state, HopState::Fail);
    assert_eq!(
        failing(&path),
        ["sg-app egress allows only tcp 5432 to 10.0.0.0/16 — no tcp 443 to 0.0.0.0/0"]
    );
    c.security_groups[0].egress.clear();
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["sg-app has no egress rules — no tcp 443 to 0.0.0.0/0"]
    );
}

#[test]
fn port_ranges_protocols_and_destinations_of_security_groups() {
    let mut c = open();
    for (rule, open) in [
        (perm("tcp", 443, 443, "0.0.0.0/0"), true),
        (perm("tcp", 0, 65535, "0.0.0.0/0"), true),
        (perm("6", 400, 500, "0.0.0.0/0"), true),
        (perm("-1", -1, -1, "0.0.0.0/0"), true),
        (perm("tcp", 444, 1000, "0.0.0.0/0"), false),
        (perm("udp", 443, 443, "0.0.0.0/0"), false),
        (perm("tcp", 443, 443, "52.0.0.0/8"), false),
    ] {
        c.security_groups[0].egress = vec![rule.clone()];
        assert_eq!(
            evaluate(&c, &anywhere()).state == HopState::Pass,
            open,
            "{rule:?}"
        );
    }
    // A narrower destination set (Twilio's ranges) is covered by a narrower rule.
    c.security_groups[0].egress = vec![perm("tcp", 443, 443, "54.172.0.0/15")];
    let twilio = vec!["54.172.60.0/23".to_owned()];
    assert_eq!(evaluate(&c, &twilio).state, HopState::Pass);
    assert_eq!(
        evaluate(&c, &["3.0.0.0/8".to_owned()]).state,
        HopState::Fail
    );
    // Any of the service's groups may allow it: their rules add up.
    c.security_groups[0].egress = vec![perm("tcp", 5432, 5432, "10.0.0.0/16")];
    c.security_groups.push(SecurityGroup {
        id: "sg-web".into(),
        egress: vec![perm("tcp", 443, 443, "0.0.0.0/0")],
        ..SecurityGroup::default()
    });
    c.service.security_groups.push("sg-web".into());
    assert_eq!(
        evaluate(&c, &anywhere()).hops[0].detail,
        "sg-web egress allows tcp 443 to 0.0.0.0/0"
    );
}

#[test]
fn prefix_lists_count_when_their_entries_cover_the_destination() {
    let mut c = open();
    c.security_groups[0].egress = vec![Permission {
        protocol: "tcp".into(),
        from_port: Some(443),
        to_port: Some(443),
        prefix_lists: vec!["pl-twilio".into()],
        ..Permission::default()
    }];
    let twilio = vec!["54.172.60.0/23".to_owned()];
    let path = evaluate(&c, &twilio);
    assert_eq!(path.state, HopState::Unknown, "entries unread: cannot say");
    assert!(path.hops[0].detail.contains("pl-twilio"));
    c.prefix_lists
        .insert("pl-twilio".into(), vec!["54.172.60.0/22".into()]);
    let path = evaluate(&c, &twilio);
    assert_eq!(path.state, HopState::Pass);
    assert_eq!(
        path.hops[0].detail,
        "sg-app egress allows tcp 443 to pl-twilio"
    );
    c.prefix_lists
        .insert("pl-twilio".into(), vec!["10.9.0.0/16".into()]);
    assert_eq!(evaluate(&c, &twilio).state, HopState::Fail);
}

#[test]
fn network_acl_rules_run_in_number_order_to_the_default_deny() {
    let mut c = open();
    let entries = &mut c.network_acls[0].entries;
    // A deny numbered before the allow wins, wherever it sits in the list.
    entries.push(acl(50, true, "6", (443, 443), "0.0.0.0/0", false));
    let path = evaluate(&c, &anywhere());
    assert_eq!(
        failing(&path),
        ["acl-default (subnet-priv): rule 50 denies outbound tcp 443 to 0.0.0.0/0"]
    );
    // Numbered after the allow, it never runs.
    c.network_acls[0].entries.last_mut().unwrap().rule_number = 200;
    assert_eq!(evaluate(&c, &anywhere()).state, HopState::Pass);
    // Inbound: answers come back on ephemeral ports; allowing only part of them falls
    // through to the default deny for the rest.
    c.network_acls[0].entries = vec![
        acl(100, true, "6", (443, 443), "0.0.0.0/0", true),
        acl(100, false, "6", (32768, 65535), "0.0.0.0/0", true),
        acl(32767, true, "-1", (0, 0), "0.0.0.0/0", false),
        acl(32767, false, "-1", (0, 0), "0.0.0.0/0", false),
    ];
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["acl-default (subnet-priv): the default rule * denies inbound tcp 1024-32767 from 0.0.0.0/0"]
    );
    c.network_acls[0]
        .entries
        .push(acl(110, false, "6", (1024, 32767), "0.0.0.0/0", true));
    let path = evaluate(&c, &anywhere());
    assert_eq!(path.state, HopState::Pass, "{path:#?}");
    assert!(path.hops[1]
        .detail
        .contains("in tcp 1024-65535 by rule 100,110"));
    // An explicitly associated ACL replaces the VPC's default one.
    c.network_acls.push(NetworkAcl {
        id: "acl-strict".into(),
        vpc_id: "vpc-1".into(),
        is_default: false,
        subnets: vec!["subnet-priv".into()],
        entries: vec![],
    });
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["acl-strict (subnet-priv): no rule allows outbound tcp 443 to 0.0.0.0/0 (denied by default)"]
    );
}

#[test]
fn the_main_table_serves_subnets_without_an_explicit_association() {
    let mut c = open();
    c.route_tables[1].subnets.clear();
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["rtb-main (main table of subnet-priv) has no 0.0.0.0/0 route"]
    );
    c.route_tables[0].routes.push(route("0.0.0.0/0", "nat-1"));
    let path = evaluate(&c, &anywhere());
    assert_eq!(path.state, HopState::Pass);
    assert!(path.hops[2]
        .detail
        .starts_with("rtb-main (main table of subnet-priv)"));
}

#[test]
fn blackholes_and_gateways_that_lead_nowhere_fail_by_name() {
    let mut c = open();
    c.route_tables[1].routes[1].state = "blackhole".into();
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["rtb-priv (explicit table of subnet-priv) routes 0.0.0.0/0 to nat-1, which is a blackhole"]
    );
    let mut c = open();
    c.nat_gateways[0].state = "deleted".into();
    assert_eq!(failing(&evaluate(&c, &anywhere())), ["nat-1 is deleted"]);
    let mut c = open();
    c.route_tables[2].routes.pop();
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["nat-1 sits in subnet-pub whose rtb-pub has no 0.0.0.0/0 route to an internet gateway"]
    );
    // Straight to an internet gateway: only with a public IP.
    let mut c = open();
    c.route_tables[1].routes[1].target = "igw-1".into();
    assert!(failing(&evaluate(&c, &anywhere()))[0].contains("assignPublicIp is DISABLED"));
    c.service.assign_public_ip = true;
    assert_eq!(evaluate(&c, &anywhere()).state, HopState::Pass);
    // A transit gateway: not decidable here.
    c.route_tables[1].routes[1].target = "tgw-1".into();
    assert_eq!(evaluate(&c, &anywhere()).state, HopState::Unknown);
}

#[test]
fn more_specific_routes_do_not_stand_in_for_the_default_route() {
    let mut c = open();
    c.route_tables[1].routes = vec![route("10.0.0.0/16", "local"), route("52.0.0.0/8", "nat-1")];
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["rtb-priv (explicit table of subnet-priv) has no 0.0.0.0/0 route"]
    );
    // Toward a configured Twilio range, the specific route is the one used.
    assert_eq!(
        evaluate(&c, &["52.1.0.0/16".to_owned()]).state,
        HopState::Pass
    );
}

#[test]
fn every_subnet_of_the_service_is_evaluated() {
    let mut c = open();
    c.service.subnets.push("subnet-pub".into());
    let path = evaluate(&c, &anywhere());
    assert!(failing(&path)[0]
        .contains("rtb-pub routes to internet gateway igw-1 but assignPublicIp is DISABLED"));
    assert_eq!(path.hops.len(), 7);
}

#[test]
fn cidr_cover() {
    assert!(covers("0.0.0.0/0", "1.2.3.4/32"));
    assert!(covers("10.0.0.0/8", "10.1.0.0/16"));
    assert!(!covers("10.1.0.0/16", "10.0.0.0/8"));
    assert!(!covers("garbage", "0.0.0.0/0"));
    assert!(covers("1.2.3.4", "1.2.3.4/32"));
}

#[test]
fn no_awsvpc_configuration_is_unknown_not_a_failure() {
    let path = evaluate(&NetworkConfig::default(), &anywhere());
    assert_eq!(path.state, HopState::Unknown);
    assert_eq!(path.hops.len(), 1);
    assert!(
        path.summary().contains("no container instance"),
        "{path:#?}"
    );
    let mut c = NetworkConfig::default();
    c.service.network_mode = "bridge".into();
    assert!(evaluate(&c, &anywhere())
        .summary()
        .contains("bridge networking, and no running task"));
    let mut c = open();
    c.service.security_groups.clear();
    let path = evaluate(&c, &anywhere());
    assert_eq!(path.state, HopState::Unknown, "{path:#?}");
    assert!(path.hops[0].detail.contains("default group"));
}

/// A bridge-mode instance: its own group, its subnet, and maybe a public IP.
fn instance(id: &str, subnet: &str, group: &str, public_ip: Option<&str>) -> Instance {
    Instance {
        id: id.into(),
        subnet: subnet.into(),
        security_groups: vec![group.into()],
        public_ip: public_ip.map(Into::into),
    }
}

/// `open()` with the service on container instances instead of an awsvpcConfiguration.
fn bridge(instances: Vec<Instance>) -> NetworkConfig {
    let mut c = open();
    c.security_groups.push(SecurityGroup {
        id: "sg-host".into(),
        name: "ecs-hosts".into(),
        vpc_id: "vpc-1".into(),
        egress: vec![perm("tcp", 443, 443, "0.0.0.0/0")],
    });
    c.service = ServiceNetwork::on_instances("bridge", instances);
    c
}

#[test]
fn bridge_mode_reads_the_path_of_the_container_instance() {
    let c = bridge(vec![instance("i-1", "subnet-priv", "sg-host", None)]);
    assert_eq!(c.service.security_groups, ["sg-host"]);
    let path = evaluate(&c, &anywhere());
    assert_eq!(path.state, HopState::Pass, "{path:#?}");
    assert_eq!(
        path.hops[0].detail,
        "sg-host egress allows tcp 443 to 0.0.0.0/0"
    );
    assert!(path.hops[3].detail.contains("nat-1 available"));
}

#[test]
fn a_bridge_instance_in_a_public_subnet_needs_its_own_public_ip() {
    let c = bridge(vec![instance(
        "i-1",
        "subnet-pub",
        "sg-host",
        Some("3.1.2.3"),
    )]);
    let path = evaluate(&c, &anywhere());
    assert_eq!(path.state, HopState::Pass, "{path:#?}");
    assert!(path.hops[3]
        .detail
        .contains("igw-1: internet gateway, and i-1 has public IP 3.1.2.3"));
    let c = bridge(vec![instance("i-1", "subnet-pub", "sg-host", None)]);
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["rtb-pub routes to internet gateway igw-1 but i-1 has no public IP to use it"]
    );
}

#[test]
fn every_bridge_instance_is_its_own_path_and_shared_hops_show_once() {
    let mut c = bridge(vec![
        instance("i-1", "subnet-priv", "sg-host", None),
        instance("i-2", "subnet-priv", "sg-host", None),
        instance("i-3", "subnet-priv", "sg-db", None),
    ]);
    c.security_groups.push(SecurityGroup {
        id: "sg-db".into(),
        name: "db-only".into(),
        vpc_id: "vpc-1".into(),
        egress: vec![perm("tcp", 5432, 5432, "10.0.0.0/16")],
    });
    let path = evaluate(&c, &anywhere());
    assert_eq!(path.state, HopState::Fail);
    // i-1 and i-2 share every hop; i-3 adds its failing group, and its ACL and route hops are
    // the same as theirs.
    assert_eq!(path.hops.len(), 5, "{path:#?}");
    assert_eq!(
        failing(&path),
        ["sg-db egress allows only tcp 5432 to 10.0.0.0/16 — no tcp 443 to 0.0.0.0/0"]
    );
    assert_eq!(path.security_groups(), ["sg-host", "sg-db"]);
    assert!(!path.service.assign_public_ip);
}

const V6: &str = "::/0";

/// `open()` made dual-stack: the private subnet has an IPv6 block, its table routes `::/0` to
/// an egress-only internet gateway, the group allows all traffic to `::/0` too, and the default
/// ACL carries EC2's IPv6 rules (101 allow, `*` 32768 deny) beside the IPv4 ones.
fn dual_stack() -> NetworkConfig {
    let mut c = open();
    c.security_groups[0].egress.push(Permission {
        protocol: "-1".into(),
        cidrs: vec![V6.into()],
        ..Permission::default()
    });
    c.subnets[0].ipv6_cidrs = vec!["2600:1f18:1234:5601::/64".into()];
    c.route_tables[1].routes.push(route(V6, "eigw-1"));
    c.network_acls[0].entries.extend([
        acl(101, true, "-1", (0, 0), V6, true),
        acl(32768, true, "-1", (0, 0), V6, false),
        acl(101, false, "-1", (0, 0), V6, true),
        acl(32768, false, "-1", (0, 0), V6, false),
    ]);
    c
}

#[test]
fn cidrs_of_one_family_never_cover_the_other() {
    assert!(covers("::/0", "2607:f8b0::/32"));
    assert!(covers("2600:1f18::/32", "2600:1f18:1234:5601::/64"));
    assert!(!covers("2600:1f18:1234:5601::/64", "2600:1f18::/32"));
    assert!(!covers("::/0", "0.0.0.0/0"));
    assert!(!covers("0.0.0.0/0", "::/0"));
    assert!(!covers("::/0", "54.172.60.3/32"));
    assert!(is_cidr("::/0") && is_ipv6("::/0") && !is_ipv6("0.0.0.0/0"));
    assert!(!is_cidr("::/129") && !is_cidr("10.0.0.0/33"));
}

#[test]
fn an_ipv6_only_rule_does_not_let_twilio_through_over_ipv4() {
    let mut c = dual_stack();
    c.security_groups[0].egress = vec![perm("tcp", 443, 443, V6)];
    assert_eq!(
        failing(&evaluate(&c, &anywhere())),
        ["sg-app egress allows only tcp 443 to ::/0 — no tcp 443 to 0.0.0.0/0"]
    );
    // … and the same rule is what lets an IPv6 destination through, named.
    let path = evaluate(&c, &[V6.into()]);
    assert_eq!(path.state, HopState::Pass, "{path:#?}");
    assert_eq!(path.hops[0].detail, "sg-app egress allows tcp 443 to ::/0");
    // Vice versa: an IPv4-only rule does not open IPv6.
    c.security_groups[0].egress = vec![perm("tcp", 443, 443, ANYWHERE)];
    assert_eq!(
        failing(&evaluate(&c, &[V6.into()])),
        ["sg-app egress allows only tcp 443 to 0.0.0.0/0 — no tcp 443 to ::/0"]
    );
}

#[test]
fn both_families_configured_need_a_rule_each_and_name_both() {
    let mut c = dual_stack();
    c.security_groups[0].egress = vec![perm("tcp", 443, 443, ANYWHERE), perm("tcp", 443, 443, V6)];
    let both = vec![ANYWHERE.to_owned(), V6.to_owned()];
    let path = evaluate(&c, &both);
    assert_eq!(path.state, HopState::Pass, "{path:#?}");
    assert_eq!(
        path.hops[0].detail,
        "sg-app egress allows tcp 443 to 0.0.0.0/0; sg-app egress allows tcp 443 to ::/0"
    );
    // Each family takes its own route: the NAT for IPv4, the egress-only gateway for IPv6.
    let gateways: Vec<&str> = path
        .hops
        .iter()
        .filter(|h| h.kind == HopKind::Gateway)
        .map(|h| h.resource.as_str())
        .collect();
    assert_eq!(gateways, ["nat-1", "eigw-1"]);
    assert!(path.hops[2].detail.contains("::/0 → eigw-1"), "{path:#?}");
    assert!(path
        .hops
        .iter()
        .any(|h| h.detail == "eigw-1: egress-only internet gateway, IPv6 out (::/0 → eigw-1)"));
}

#[test]
fn ipv6_acl_entries_and_routes_decide_ipv6_only() {
    let both = vec![ANYWHERE.to_owned(), V6.to_owned()];
    // An IPv6 deny numbered first blocks IPv6 by name, and leaves IPv4 alone.
    let mut c = dual_stack();
    c.network_acls[0]
        .entries
        .push(acl(50, true, "6", (443, 443), V6, false));
    assert!(evaluate(&c, &anywhere()).state == HopState::Pass);
    assert_eq!(
        failing(&evaluate(&c, &both)),
        ["acl-default (subnet-priv): rule 50 denies outbound tcp 443 to ::/0"]
    );
    // Without its IPv6 entries, the ACL's IPv4 allow-all does not stand in for them.
    let mut c = dual_stack();
    c.network_acls[0]
        .entries
        .retain(|e| !is_ipv6(e.cidr.as_deref().unwrap_or("")));
    assert_eq!(
        failing(&evaluate(&c, &[V6.into()])),
        ["acl-default (subnet-priv): no rule allows outbound tcp 443 to ::/0 (denied by default)"]
    );
    // EC2's IPv6 default deny (32768) reads as the default rule.
    let mut c = dual_stack();
    c.network_acls[0].entries.retain(|e| e.rule_number != 101);
    assert_eq!(
        failing(&evaluate(&c, &[V6.into()])),
        ["acl-default (subnet-priv): the default rule * denies outbound tcp 443 to ::/0"]
    );
    // No ::/0 route: the IPv4 default route does not carry IPv6.
    let mut c = dual_stack();
    c.route_tables[1].routes.retain(|r| r.destination != V6);
    assert_eq!(
        failing(&evaluate(&c, &[V6.into()])),
        ["rtb-priv (explicit table of subnet-priv) has no ::/0 route"]
    );
    assert_eq!(evaluate(&c, &anywhere()).state, HopState::Pass);
    // A subnet without an IPv6 block gives its tasks no IPv6 address at all.
    let mut c = dual_stack();
    c.subnets[0].ipv6_cidrs.clear();
    assert_eq!(
        failing(&evaluate(&c, &[V6.into()])),
        ["subnet-priv has no IPv6 CIDR: its tasks have no IPv6 address to reach ::/0"]
    );
}

#[test]
fn an_internet_gateway_carries_ipv6_without_a_public_ipv4() {
    let mut c = dual_stack();
    c.route_tables[1].routes.retain(|r| r.destination != V6);
    c.route_tables[1].routes.push(route(V6, "igw-1"));
    let path = evaluate(&c, &[V6.into()]);
    assert_eq!(path.state, HopState::Pass, "{path:#?}");
    assert!(path.hops[3].detail.contains("internet gateway for IPv6"));
}

#[test]
fn the_fix_for_an_ipv6_destination_is_an_ipv6_range() {
    assert!(authorize_command("sg-app", V6).contains("Ipv6Ranges=[{CidrIpv6=::/0,"));
    assert!(authorize_command("sg-app", ANYWHERE).contains("IpRanges=[{CidrIp=0.0.0.0/0,"));
}
