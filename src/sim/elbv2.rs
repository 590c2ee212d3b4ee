//! Simulated Elastic Load Balancing v2 (Query protocol, see [`super::query`]): the service's
//! application load balancer and its one target group, as the console reads them:
//! DescribeTargetGroups, DescribeLoadBalancers and DescribeTargetHealth. The targets are the
//! service's tasks (`ip` targets on port 8000): running and passing their health check is
//! `healthy`, running and not yet passing is `initial`, stopping is `draining`; stopped tasks are
//! deregistered. Unknown ARNs and names get ELB's own `TargetGroupNotFound` /
//! `LoadBalancerNotFound`; any other action is `InvalidAction`, as AWS answers it.

use axum::http::StatusCode;

use super::aws::AwsError;
use super::query::{invalid_action, request_id, QueryRequest, QueryService, Xml};
use super::world::World;

/// The port the container listens on and the target group forwards to.
pub const TARGET_PORT: u16 = 8000;
/// The simulated VPC, subnets and security group (as ECS's awsvpc configuration shows them).
const VPC: &str = "vpc-0c1d2e3f4a5b60718";
const SUBNETS: [(&str, &str); 2] = [
    ("subnet-0a1b2c3d4e5f60718", "us-east-1a"),
    ("subnet-0b2c3d4e5f6071829", "us-east-1b"),
];
const ALB_SECURITY_GROUP: &str = "sg-0a9b8c7d6e5f40312";

/// The target group's name.
pub fn target_group_name(world: &World) -> String {
    format!("{}-tg", world.scenario.deployment.service)
}

/// The load balancer's name.
pub fn load_balancer_name(world: &World) -> String {
    format!("{}-alb", world.scenario.deployment.service)
}

/// The target group's ARN (ECS's `loadBalancers[].targetGroupArn`).
pub fn target_group_arn(world: &World) -> String {
    let d = &world.scenario.deployment;
    format!(
        "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{}/73e2d6bc24d8a067",
        d.region,
        d.account_id,
        target_group_name(world)
    )
}

/// The load balancer's ARN.
pub fn load_balancer_arn(world: &World) -> String {
    let d = &world.scenario.deployment;
    format!(
        "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/app/{}/50dc6c495c0c9188",
        d.region,
        d.account_id,
        load_balancer_name(world)
    )
}

/// A task's private address, stable for its id.
pub fn task_ip(task_id: &str) -> String {
    let h = task_id.bytes().fold(2_166_136_261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    format!("10.0.{}.{}", 1 + h % 3, 10 + (h / 3) % 240)
}

fn not_found(kind: &str, message: &str) -> AwsError {
    AwsError {
        status: StatusCode::BAD_REQUEST,
        kind: kind.into(),
        message: message.into(),
    }
}

/// A registered target and its health: (id, availability zone, state, reason, description).
type TargetRow = (
    String,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

impl World {
    /// Handles one ELBv2 action, answering its XML document.
    pub fn elbv2_handle(&mut self, request: &QueryRequest, _now: i64) -> Result<String, AwsError> {
        match request.action.as_str() {
            "DescribeTargetGroups" => self.describe_target_groups(request),
            "DescribeLoadBalancers" => self.describe_load_balancers(request),
            "DescribeTargetHealth" => self.describe_target_health(request),
            "DescribeLoadBalancerAttributes" => self.describe_load_balancer_attributes(request),
            "DescribeListeners" => self.describe_listeners(request),
            action => Err(invalid_action(QueryService::Elbv2, action)),
        }
    }

    fn describe_target_groups(&self, request: &QueryRequest) -> Result<String, AwsError> {
        let arn = target_group_arn(self);
        let name = target_group_name(self);
        let p = &request.params;
        let arns = p.list("TargetGroupArns.member");
        let names = p.list("Names.member");
        let wanted_lb = p.get("LoadBalancerArn");
        if arns.iter().any(|a| *a != arn) || names.iter().any(|n| *n != name) {
            return Err(not_found(
                "TargetGroupNotFound",
                "One or more target groups not found",
            ));
        }
        if wanted_lb.is_some_and(|lb| lb != load_balancer_arn(self)) {
            return Err(not_found(
                "LoadBalancerNotFound",
                "One or more load balancers not found",
            ));
        }
        let lb = load_balancer_arn(self);
        Ok(Xml::document(
            "DescribeTargetGroupsResponse",
            QueryService::Elbv2.xmlns(),
            |x| {
                x.elem("DescribeTargetGroupsResult", |x| {
                    x.elem("TargetGroups", |x| {
                        x.elem("member", |x| {
                            x.leaf("TargetGroupArn", &arn)
                                .leaf("TargetGroupName", &name)
                                .leaf("Protocol", "HTTP")
                                .leaf("Port", TARGET_PORT)
                                .leaf("VpcId", VPC)
                                .leaf("HealthCheckProtocol", "HTTP")
                                .leaf("HealthCheckPort", "traffic-port")
                                .leaf("HealthCheckEnabled", "true")
                                .leaf("HealthCheckIntervalSeconds", 30)
                                .leaf("HealthCheckTimeoutSeconds", 5)
                                .leaf("HealthyThresholdCount", 5)
                                .leaf("UnhealthyThresholdCount", 2)
                                .leaf("HealthCheckPath", "/health")
                                .elem("Matcher", |x| {
                                    x.leaf("HttpCode", "200");
                                })
                                .elem("LoadBalancerArns", |x| {
                                    x.leaf("member", &lb);
                                })
                                .leaf("TargetType", "ip")
                                .leaf("ProtocolVersion", "HTTP1")
                                .leaf("IpAddressType", "ipv4");
                        });
                    });
                })
                .elem("ResponseMetadata", |x| {
                    x.leaf("RequestId", request_id());
                });
            },
        ))
    }

    fn describe_load_balancers(&self, request: &QueryRequest) -> Result<String, AwsError> {
        let arn = load_balancer_arn(self);
        let name = load_balancer_name(self);
        let p = &request.params;
        if p.list("LoadBalancerArns.member").iter().any(|a| *a != arn)
            || p.list("Names.member").iter().any(|n| *n != name)
        {
            return Err(not_found(
                "LoadBalancerNotFound",
                "One or more load balancers not found",
            ));
        }
        let created = chrono::DateTime::from_timestamp_millis(self.service.created_ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        let dns = self.load_balancer_dns();
        Ok(Xml::document(
            "DescribeLoadBalancersResponse",
            QueryService::Elbv2.xmlns(),
            |x| {
                x.elem("DescribeLoadBalancersResult", |x| {
                    x.elem("LoadBalancers", |x| {
                        x.elem("member", |x| {
                            x.leaf("LoadBalancerArn", &arn)
                                .leaf("DNSName", &dns)
                                .leaf("CanonicalHostedZoneId", "Z35SXDOTRQ7X7K")
                                .leaf("CreatedTime", &created)
                                .leaf("LoadBalancerName", &name)
                                .leaf("Scheme", "internet-facing")
                                .leaf("VpcId", VPC)
                                .elem("State", |x| {
                                    x.leaf("Code", "active");
                                })
                                .leaf("Type", "application")
                                .elem("AvailabilityZones", |x| {
                                    for (subnet, zone) in SUBNETS {
                                        x.elem("member", |x| {
                                            x.leaf("ZoneName", zone).leaf("SubnetId", subnet);
                                        });
                                    }
                                })
                                .elem("SecurityGroups", |x| {
                                    x.leaf("member", ALB_SECURITY_GROUP);
                                })
                                .leaf("IpAddressType", "ipv4");
                        });
                    });
                })
                .elem("ResponseMetadata", |x| {
                    x.leaf("RequestId", request_id());
                });
            },
        ))
    }

    /// The load balancer's DNS name: where the simulator's load balancer answers (its
    /// loopback address) once the servers run, else the name AWS would give it.
    fn load_balancer_dns(&self) -> String {
        match &self.front_door {
            Some(address) => address
                .rsplit_once(':')
                .map_or(address.as_str(), |(host, _)| host)
                .to_owned(),
            None => format!(
                "{}-1234567890.{}.elb.amazonaws.com",
                load_balancer_name(self),
                self.scenario.deployment.region
            ),
        }
    }

    /// The load balancer's listeners: HTTPS on 443 with the API's ACM certificate, and, once
    /// the servers run, HTTP on the port the simulator's load balancer answers on; both forward
    /// to the service's target group.
    fn describe_listeners(&self, request: &QueryRequest) -> Result<String, AwsError> {
        let arn = load_balancer_arn(self);
        let p = &request.params;
        if p.get("LoadBalancerArn").is_some_and(|a| a != arn) {
            return Err(not_found(
                "LoadBalancerNotFound",
                "One or more load balancers not found",
            ));
        }
        let mut listeners = vec![("443".to_owned(), "HTTPS", "2f9c1a7d3b5e8f40")];
        if let Some((_, port)) = self.front_door.as_ref().and_then(|a| a.rsplit_once(':')) {
            listeners.push((port.to_owned(), "HTTP", "8e4b6d2f1a3c5e70"));
        }
        let prefix = arn.replacen(":loadbalancer/", ":listener/", 1);
        let target_group = target_group_arn(self);
        let certificate = super::acm::certificate_arn(self);
        Ok(Xml::document(
            "DescribeListenersResponse",
            QueryService::Elbv2.xmlns(),
            |x| {
                x.elem("DescribeListenersResult", |x| {
                    x.elem("Listeners", |x| {
                        for (port, protocol, id) in &listeners {
                            x.elem("member", |x| {
                                x.leaf("ListenerArn", format!("{prefix}/{id}"))
                                    .leaf("LoadBalancerArn", &arn)
                                    .leaf("Port", port)
                                    .leaf("Protocol", protocol);
                                if *protocol == "HTTPS" {
                                    x.elem("Certificates", |x| {
                                        x.elem("member", |x| {
                                            x.leaf("CertificateArn", &certificate);
                                        });
                                    })
                                    .leaf("SslPolicy", "ELBSecurityPolicy-TLS13-1-2-2021-06");
                                }
                                x.elem("DefaultActions", |x| {
                                    x.elem("member", |x| {
                                        x.leaf("Type", "forward")
                                            .leaf("TargetGroupArn", &target_group);
                                    });
                                });
                            });
                        }
                    });
                })
                .elem("ResponseMetadata", |x| {
                    x.leaf("RequestId", request_id());
                });
            },
        ))
    }

    /// The load balancer's attributes, as an application load balancer lists them: the idle
    /// timeout is the scenario's, which is also when the simulated load balancer gives up.
    fn describe_load_balancer_attributes(
        &self,
        request: &QueryRequest,
    ) -> Result<String, AwsError> {
        let arn = load_balancer_arn(self);
        match request.params.get("LoadBalancerArn") {
            Some(asked) if asked == arn => {}
            Some(_) => {
                return Err(not_found(
                    "LoadBalancerNotFound",
                    "One or more load balancers not found",
                ))
            }
            None => {
                return Err(AwsError::client(
                    "ValidationError",
                    "1 validation error detected: Value null at 'loadBalancerArn' failed to satisfy constraint: Member must not be null",
                ))
            }
        }
        let idle = format!(
            "{}",
            self.scenario.deployment.lb_idle_timeout_secs.round() as u64
        );
        let attributes = [
            ("access_logs.s3.enabled", "false"),
            ("deletion_protection.enabled", "true"),
            ("idle_timeout.timeout_seconds", idle.as_str()),
            ("routing.http.drop_invalid_header_fields.enabled", "false"),
            ("routing.http2.enabled", "true"),
            ("client_keep_alive.seconds", "3600"),
        ];
        Ok(Xml::document(
            "DescribeLoadBalancerAttributesResponse",
            QueryService::Elbv2.xmlns(),
            |x| {
                x.elem("DescribeLoadBalancerAttributesResult", |x| {
                    x.elem("Attributes", |x| {
                        for (key, value) in attributes {
                            x.elem("member", |x| {
                                x.leaf("Key", key).leaf("Value", value);
                            });
                        }
                    });
                })
                .elem("ResponseMetadata", |x| {
                    x.leaf("RequestId", request_id());
                });
            },
        ))
    }

    /// The registered targets as the load balancer sees them now.
    pub fn targets(&self) -> Vec<TargetRow> {
        self.tasks
            .iter()
            .filter_map(|t| {
                let zone =
                    SUBNETS[usize::from(task_ip(&t.id).ends_with(['1', '3', '5', '7', '9']))].1;
                let (state, reason, description) = match (t.last_status, t.desired_status) {
                    ("RUNNING", "STOPPED") | ("DEACTIVATING" | "STOPPING", _) => (
                        "draining",
                        Some("Target.DeregistrationInProgress"),
                        Some("Target deregistration is in progress"),
                    ),
                    ("RUNNING", _) if t.health == "HEALTHY" => ("healthy", None, None),
                    ("RUNNING", _) if t.health == "UNHEALTHY" => (
                        "unhealthy",
                        Some("Target.FailedHealthChecks"),
                        Some("Health checks failed"),
                    ),
                    ("RUNNING", _) => (
                        "initial",
                        Some("Elb.InitialHealthChecking"),
                        Some("Initial health checks in progress"),
                    ),
                    _ => return None,
                };
                Some((task_ip(&t.id), zone, state, reason, description))
            })
            .collect()
    }

    fn describe_target_health(&self, request: &QueryRequest) -> Result<String, AwsError> {
        let p = &request.params;
        let group = p.required("TargetGroupArn")?;
        if group != target_group_arn(self) {
            return Err(not_found(
                "TargetGroupNotFound",
                &format!("Target groups '{group}' not found"),
            ));
        }
        let asked: Vec<String> = p
            .structs("Targets.member")
            .iter()
            .filter_map(|t| t.get("Id").map(str::to_owned))
            .collect();
        let mut rows = self.targets();
        if !asked.is_empty() {
            // Asked-for targets that are not registered are answered `unused`, as ELB does.
            let mut answered: Vec<TargetRow> = Vec::new();
            for id in &asked {
                match rows.iter().find(|r| &r.0 == id) {
                    Some(row) => answered.push(row.clone()),
                    None => answered.push((
                        id.clone(),
                        SUBNETS[0].1,
                        "unused",
                        Some("Target.NotRegistered"),
                        Some("Target is not registered to the target group"),
                    )),
                }
            }
            rows = answered;
        }
        Ok(Xml::document(
            "DescribeTargetHealthResponse",
            QueryService::Elbv2.xmlns(),
            |x| {
                x.elem("DescribeTargetHealthResult", |x| {
                    x.elem("TargetHealthDescriptions", |x| {
                        for (id, zone, state, reason, description) in &rows {
                            x.elem("member", |x| {
                                x.elem("Target", |x| {
                                    x.leaf("Id", id)
                                        .leaf("Port", TARGET_PORT)
                                        .leaf("AvailabilityZone", zone);
                                })
                                .leaf("HealthCheckPort", TARGET_PORT)
                                .elem("TargetHealth", |x| {
                                    x.leaf("State", state)
                                        .opt("Reason", *reason)
                                        .opt("Description", *description);
                                });
                            });
                        }
                    });
                })
                .elem("ResponseMetadata", |x| {
                    x.leaf("RequestId", request_id());
                });
            },
        ))
    }
}
