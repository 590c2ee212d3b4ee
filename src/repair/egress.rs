//! The commonest network repair (#13), as plan → apply → verify: allow outbound TCP 443 on the
//! service's security group. [`plan`] is pure — the path as read, the group to change (one of
//! the service's own), the rule and the equivalent aws CLI command — and refuses when the
//! security groups are not what blocks the path. [`EgressRepairer`] applies it with
//! AuthorizeSecurityGroupEgress and reads the path again; no deployment is needed, since
//! security group rules apply to running tasks at once.

use std::fmt::Write as _;

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
use serde_json::{json, Value};

use super::RepairError;
use crate::config::AwsConfig;
use crate::network::{self, HopKind, HopState, Path};
use crate::probe::aws::call;
use crate::probe::network::NetworkProbe;
use crate::probe::System;

/// The description the added rule carries, so whoever reads the group knows where it came from.
pub const RULE_DESCRIPTION: &str = "HTTPS to Twilio (otp-console)";

/// An egress rule to add, planned: nothing has changed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPlan {
    pub group: String,
    pub cidr: String,
    /// What the security group hop says now.
    pub before: String,
    /// Other failing hops this repair does not fix (a route, an ACL): said, not hidden.
    pub not_fixed: Vec<String>,
    pub commands: Vec<String>,
}

impl EgressPlan {
    /// The plan as text, one line per fact.
    pub fn render(&self) -> String {
        let mut out = format!(
            "PLAN  allow outbound HTTPS on {}\n  now:  {}\n  add:  egress tcp 443 to {} (\"{RULE_DESCRIPTION}\")\n  no deployment: security group rules apply to the running tasks at once\n",
            self.group, self.before, self.cidr
        );
        for line in &self.not_fixed {
            let _ = writeln!(out, "  NOT FIXED by this repair: {line}");
        }
        out.push_str("Equivalent aws CLI:\n");
        for c in &self.commands {
            let _ = writeln!(out, "  {c}");
        }
        out
    }

    /// `allow egress tcp 443 to 0.0.0.0/0 on sg-…`, for the timeline.
    pub fn summary(&self) -> String {
        format!("allow egress tcp 443 to {} on {}", self.cidr, self.group)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "action": { "kind": "allow_egress", "group_id": self.group, "protocol": "tcp", "port": 443, "cidr": self.cidr },
            "before": self.before,
            "not_fixed": self.not_fixed,
            "commands": self.commands,
        })
    }
}

/// Where the rule allows HTTPS to unless told: the first configured destination
/// (`aws.egress_destinations`), else anywhere.
pub fn default_cidr(aws: &AwsConfig) -> String {
    aws.egress_destinations
        .first()
        .cloned()
        .unwrap_or_else(|| network::ANYWHERE.into())
}

/// Plans the rule from the path as read: `group` (default the service's first security
/// group) must be one of the service's, `cidr` a valid CIDR (IPv4, or IPv6 for an `Ipv6Ranges` rule), and the security groups must
/// be what fails.
pub fn plan(path: &Path, group: Option<&str>, cidr: &str) -> Result<EgressPlan, RepairError> {
    if !network::is_cidr(cidr) {
        return Err(RepairError(format!(
            "--cidr {}: not a CIDR (e.g. 0.0.0.0/0 or ::/0)",
            crate::redact::sanitize(cidr)
        )));
    }
    let groups = &path.service.security_groups;
    let group = match group {
        Some(g) if groups.iter().any(|s| s == g) => g.to_owned(),
        Some(g) => {
            return Err(RepairError(format!(
                "--group-id {}: not one of the service's security groups ({})",
                crate::redact::sanitize(g),
                groups.join(", ")
            )))
        }
        None => groups.first().cloned().ok_or_else(|| {
            RepairError(
                "the service has no security groups (awsvpcConfiguration): nothing to change"
                    .into(),
            )
        })?,
    };
    let hop = path
        .hops
        .iter()
        .find(|h| h.kind == HopKind::SecurityGroup)
        .ok_or_else(|| RepairError("the path has no security group hop".into()))?;
    if hop.state == HopState::Pass {
        return Err(RepairError(format!(
            "nothing to do: {} — the security groups do not block Twilio{}",
            hop.detail,
            path.failures()
                .next()
                .map_or(String::new(), |h| format!("; what does: {}", h.detail))
        )));
    }
    Ok(EgressPlan {
        before: hop.detail.clone(),
        not_fixed: path
            .failures()
            .filter(|h| h.kind != HopKind::SecurityGroup)
            .map(|h| h.detail.clone())
            .collect(),
        commands: vec![network::authorize_command(&group, cidr)],
        group,
        cidr: cidr.to_owned(),
    })
}

/// TCP 443 to `cidr`, in `Ipv6Ranges` when it is an IPv6 one.
fn permission(cidr: &str) -> IpPermission {
    let rule = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443);
    if network::is_ipv6(cidr) {
        rule.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .description(RULE_DESCRIPTION)
                .build(),
        )
    } else {
        rule.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .description(RULE_DESCRIPTION)
                .build(),
        )
    }
    .build()
}

/// Reads the path and applies egress plans.
#[derive(Clone)]
pub struct EgressRepairer {
    probe: NetworkProbe,
    ec2: aws_sdk_ec2::Client,
}

impl EgressRepairer {
    pub fn new(sdk: &SdkConfig, aws: &AwsConfig) -> Self {
        Self {
            probe: NetworkProbe::new(sdk, aws),
            ec2: aws_sdk_ec2::Client::new(sdk),
        }
    }

    /// The path as it is now.
    pub async fn path(&self) -> Result<Path, RepairError> {
        Ok(Box::pin(self.probe.path()).await?)
    }

    /// AuthorizeSecurityGroupEgress of the planned rule; the ids of the rules EC2 added.
    pub async fn apply(&self, plan: &EgressPlan) -> Result<Vec<String>, RepairError> {
        let out = call(
            System::Network,
            "AuthorizeSecurityGroupEgress",
            self.ec2
                .authorize_security_group_egress()
                .group_id(&plan.group)
                .ip_permissions(permission(&plan.cidr))
                .send(),
        )
        .await?;
        Ok(out
            .security_group_rules()
            .iter()
            .filter_map(|r| r.security_group_rule_id().map(crate::redact::sanitize))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Hop, ServiceNetwork};

    fn path(hops: Vec<Hop>) -> Path {
        Path {
            state: if hops.iter().any(|h| h.state == HopState::Fail) {
                HopState::Fail
            } else {
                HopState::Pass
            },
            destinations: vec!["0.0.0.0/0".into()],
            service: ServiceNetwork {
                subnets: vec!["subnet-1".into()],
                security_groups: vec!["sg-a".into(), "sg-b".into()],
                assign_public_ip: false,
                ..Default::default()
            },
            hops,
            nats: vec![],
        }
    }

    fn hop(kind: HopKind, state: HopState, detail: &str) -> Hop {
        Hop {
            kind,
            resource: "r".into(),
            state,
            detail: detail.into(),
        }
    }

    #[test]
    fn plans_the_rule_on_the_services_group_and_says_what_it_does_not_fix() {
        let p = path(vec![
            hop(
                HopKind::SecurityGroup,
                HopState::Fail,
                "sg-a egress allows only tcp 5432 to 10.0.0.0/16",
            ),
            hop(
                HopKind::Route,
                HopState::Fail,
                "rtb-1 has no 0.0.0.0/0 route",
            ),
        ]);
        let plan = plan(&p, None, "0.0.0.0/0").expect("plans");
        assert_eq!(plan.group, "sg-a");
        assert_eq!(plan.not_fixed, ["rtb-1 has no 0.0.0.0/0 route"]);
        assert!(plan.commands[0]
            .starts_with("aws ec2 authorize-security-group-egress --group-id sg-a "));
        assert!(plan.render().contains("NOT FIXED by this repair: rtb-1"));
        assert_eq!(
            super::plan(&p, Some("sg-b"), "0.0.0.0/0")
                .expect("plans")
                .group,
            "sg-b"
        );
    }

    #[test]
    fn refuses_what_would_not_help_or_is_not_the_services() {
        let open_sg = path(vec![
            hop(
                HopKind::SecurityGroup,
                HopState::Pass,
                "sg-a egress allows tcp 443 to 0.0.0.0/0",
            ),
            hop(
                HopKind::Route,
                HopState::Fail,
                "rtb-1 has no 0.0.0.0/0 route",
            ),
        ]);
        let e = plan(&open_sg, None, "0.0.0.0/0").expect_err("nothing to do");
        assert!(
            e.0.contains("nothing to do") && e.0.contains("rtb-1"),
            "{e}"
        );
        let blocked = path(vec![hop(HopKind::SecurityGroup, HopState::Fail, "x")]);
        assert!(plan(&blocked, Some("sg-other"), "0.0.0.0/0").is_err());
        assert!(plan(&blocked, None, "0.0.0.0/99").is_err());
    }

    #[test]
    fn an_ipv6_destination_is_planned_as_an_ipv6_range() {
        let blocked = path(vec![hop(HopKind::SecurityGroup, HopState::Fail, "x")]);
        let plan = plan(&blocked, None, "::/0").expect("plans");
        assert!(
            plan.commands[0].contains("Ipv6Ranges=[{CidrIpv6=::/0,"),
            "{}",
            plan.commands[0]
        );
        let rule = super::permission("::/0");
        assert_eq!(rule.ipv6_ranges()[0].cidr_ipv6(), Some("::/0"));
        assert!(rule.ip_ranges().is_empty());
        assert_eq!(
            super::permission("0.0.0.0/0").ip_ranges()[0].cidr_ip(),
            Some("0.0.0.0/0")
        );
    }
}
