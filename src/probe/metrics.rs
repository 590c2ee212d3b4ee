//! The load balancer's view of real traffic (aws-sdk-elasticloadbalancingv2, aws-sdk-cloudwatch):
//! the service's target group from DescribeServices `loadBalancers`, its load balancer from
//! DescribeTargetGroups and DescribeLoadBalancers, each target's state and reason from
//! DescribeTargetHealth, and one GetMetricData over the last hour at 1-minute resolution
//! (`AWS/ApplicationELB`: RequestCount, HTTPCode_ELB_504_Count, HTTPCode_ELB_5XX_Count,
//! HTTPCode_Target_5XX_Count, TargetResponseTime p50 / p99, HealthyHostCount /
//! UnHealthyHostCount). Every call is one [`super::aws::call`]; a failure is data.

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use serde::{Deserialize, Serialize};

use super::aws::call;
use super::service_read::ServiceRead;
use super::traffic::{MINUTES, MINUTE_MS};
use super::{ErrorKind, ProbeError, System};
use crate::config::AwsConfig;
use crate::redact;

/// Targets reported at most.
const MAX_TARGETS: usize = 50;

/// One metric of the query: its id in GetMetricData, its name and statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub id: &'static str,
    pub metric: &'static str,
    pub stat: &'static str,
    /// Whether the metric needs the target group's dimension too (host counts do).
    pub per_target_group: bool,
}

/// The queries, in the order of [`Minute`]'s fields.
pub const QUERIES: [Query; 8] = [
    q("requests", "RequestCount", "Sum", false),
    q("elb504", "HTTPCode_ELB_504_Count", "Sum", false),
    q("elb5xx", "HTTPCode_ELB_5XX_Count", "Sum", false),
    q("target5xx", "HTTPCode_Target_5XX_Count", "Sum", false),
    q("p50", "TargetResponseTime", "p50", false),
    q("p99", "TargetResponseTime", "p99", false),
    q("healthy", "HealthyHostCount", "Minimum", true),
    q("unhealthy", "UnHealthyHostCount", "Maximum", true),
];

const fn q(id: &'static str, metric: &'static str, stat: &'static str, tg: bool) -> Query {
    Query {
        id,
        metric,
        stat,
        per_target_group: tg,
    }
}

/// One minute at the load balancer; `None` where CloudWatch had no datapoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Minute {
    pub requests: Option<f64>,
    pub elb_504: Option<f64>,
    pub elb_5xx: Option<f64>,
    pub target_5xx: Option<f64>,
    /// TargetResponseTime, seconds.
    pub p50_s: Option<f64>,
    pub p99_s: Option<f64>,
    pub healthy: Option<f64>,
    pub unhealthy: Option<f64>,
}

impl Minute {
    fn slot(&mut self, id: &str) -> Option<&mut Option<f64>> {
        Some(match id {
            "requests" => &mut self.requests,
            "elb504" => &mut self.elb_504,
            "elb5xx" => &mut self.elb_5xx,
            "target5xx" => &mut self.target_5xx,
            "p50" => &mut self.p50_s,
            "p99" => &mut self.p99_s,
            "healthy" => &mut self.healthy,
            "unhealthy" => &mut self.unhealthy,
            _ => return None,
        })
    }
}

/// One registered target and what the load balancer thinks of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    pub port: Option<i32>,
    /// `healthy`, `unhealthy`, `initial`, `draining`, `unused`, `unavailable`.
    pub state: String,
    /// `Target.Timeout`, `Target.ResponseCodeMismatch`, … when not healthy.
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// The load balancer in front of the service, over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub name: String,
    pub target_group: String,
    /// Per minute of the window, oldest first ([`MINUTES`] entries).
    pub minutes: Vec<Minute>,
    /// Sums over the window.
    pub requests: u64,
    pub elb_504: u64,
    pub elb_5xx: u64,
    pub target_5xx: u64,
    /// The highest per-minute p99 and the median of the per-minute p50s, milliseconds.
    pub p99_ms: Option<u64>,
    pub p50_ms: Option<u64>,
    /// The newest minute's host counts.
    pub healthy: Option<u64>,
    pub unhealthy: Option<u64>,
    #[serde(
        serialize_with = "super::traffic::value_or_error",
        deserialize_with = "super::traffic::value_or_error_de"
    )]
    pub targets: Result<Vec<Target>, ProbeError>,
    /// Its idle timeout, seconds (DescribeLoadBalancerAttributes' `idle_timeout.timeout_seconds`;
    /// AWS's default 60 when the attribute is not listed), once read.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "idle_timeout_json",
        deserialize_with = "super::traffic::optional_value_or_error_de"
    )]
    pub idle_timeout_s: Option<Result<u64, ProbeError>>,
}

/// AWS's default idle timeout of an application load balancer, seconds.
pub const DEFAULT_IDLE_TIMEOUT_S: u64 = 60;

#[allow(
    clippy::ref_option,
    reason = "serde's serialize_with passes the field by reference"
)]
fn idle_timeout_json<S: serde::Serializer>(
    value: &Option<Result<u64, ProbeError>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(result) => super::traffic::value_or_error(result, serializer),
        None => serializer.serialize_none(),
    }
}

impl LoadBalancer {
    /// Folds the per-minute series into the window's totals.
    pub fn from_minutes(
        name: String,
        target_group: String,
        minutes: Vec<Minute>,
        targets: Result<Vec<Target>, ProbeError>,
    ) -> Self {
        let sum = |f: fn(&Minute) -> Option<f64>| -> u64 {
            minutes.iter().filter_map(f).sum::<f64>().round() as u64
        };
        let newest = |f: fn(&Minute) -> Option<f64>| -> Option<u64> {
            minutes.iter().rev().find_map(f).map(|v| v.round() as u64)
        };
        let p99_ms = minutes
            .iter()
            .filter_map(|m| m.p99_s)
            .fold(None, |max: Option<f64>, v| {
                Some(max.map_or(v, |m| m.max(v)))
            })
            .map(|s| (s * 1000.0).round() as u64);
        let mut p50s: Vec<u64> = minutes
            .iter()
            .filter_map(|m| m.p50_s)
            .map(|s| (s * 1000.0).round() as u64)
            .collect();
        let p50_ms = super::traffic::percentile(&mut p50s, 0.5);
        Self {
            requests: sum(|m| m.requests),
            elb_504: sum(|m| m.elb_504),
            elb_5xx: sum(|m| m.elb_5xx),
            target_5xx: sum(|m| m.target_5xx),
            p99_ms,
            p50_ms,
            healthy: newest(|m| m.healthy),
            unhealthy: newest(|m| m.unhealthy),
            name,
            target_group,
            minutes,
            targets,
            idle_timeout_s: None,
        }
    }
}

impl LoadBalancer {
    /// `150 requests, 141 × ELB 504, p99 60.0 s, 1 healthy / 0 unhealthy`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} requests", self.requests)];
        if self.elb_504 > 0 {
            parts.push(format!("{} × ELB 504", self.elb_504));
        }
        let other_elb = self.elb_5xx.saturating_sub(self.elb_504);
        if other_elb > 0 {
            parts.push(format!("{other_elb} × other ELB 5xx"));
        }
        if self.target_5xx > 0 {
            parts.push(format!("{} × target 5xx", self.target_5xx));
        }
        if let Some(ms) = self.p99_ms {
            parts.push(format!("p99 {:.1} s", ms as f64 / 1000.0));
        }
        if let (Some(h), Some(u)) = (self.healthy, self.unhealthy) {
            parts.push(format!("{h} healthy / {u} unhealthy"));
        }
        parts.join(", ")
    }
}

/// The CloudWatch dimension value of a load balancer ARN (`app/NAME/ID`) or a target group
/// ARN (`targetgroup/NAME/ID`).
pub fn dimension_of(arn: &str) -> &str {
    if let Some((_, rest)) = arn.split_once(":loadbalancer/") {
        return rest;
    }
    arn.rsplit_once(':').map_or(arn, |(_, rest)| rest)
}

/// Reads the load balancer of the configured service.
#[derive(Debug, Clone)]
pub struct MetricsProbe {
    described: ServiceRead,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl MetricsProbe {
    /// Reads the service through `described`, shared with the other probes of a round.
    #[must_use]
    pub fn sharing(mut self, described: ServiceRead) -> Self {
        self.described = described;
        self
    }

    pub fn new(sdk: &SdkConfig, cfg: &AwsConfig) -> Self {
        Self {
            described: ServiceRead::new(sdk, &cfg.cluster, &cfg.service),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
        }
    }

    /// The load balancer over `[from_ms, to_ms)`; `None` when the service has none.
    pub async fn read(&self, from_ms: i64, to_ms: i64) -> Option<Result<LoadBalancer, ProbeError>> {
        let target_group = match self.target_group().await {
            Ok(Some(arn)) => arn,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        Some(Box::pin(self.read_target_group(&target_group, from_ms, to_ms)).await)
    }

    /// The service's first target group (DescribeServices `loadBalancers`).
    pub async fn target_group(&self) -> Result<Option<String>, ProbeError> {
        let out = self.described.describe().await?;
        Ok(out
            .services()
            .first()
            .into_iter()
            .flat_map(aws_sdk_ecs::types::Service::load_balancers)
            .find_map(|lb| lb.target_group_arn())
            .map(str::to_owned))
    }

    /// The target group's load balancer, targets and metrics.
    pub async fn read_target_group(
        &self,
        target_group: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<LoadBalancer, ProbeError> {
        let (name, lb_arn, group_name) = self.describe(target_group).await?;
        let (targets, minutes, idle) = tokio::join!(
            self.targets(target_group),
            self.minutes(&lb_arn, target_group, from_ms, to_ms),
            self.idle_timeout(&lb_arn)
        );
        let mut lb = LoadBalancer::from_minutes(name, group_name, minutes?, targets);
        lb.idle_timeout_s = Some(idle);
        Ok(lb)
    }

    /// The load balancer's idle timeout, seconds (DescribeLoadBalancerAttributes): when it
    /// answers a request the target has not answered with its own 504. A load balancer that
    /// does not list the attribute has AWS's default.
    pub async fn idle_timeout(&self, lb_arn: &str) -> Result<u64, ProbeError> {
        let out = call(
            System::LoadBalancer,
            "DescribeLoadBalancerAttributes",
            self.elb
                .describe_load_balancer_attributes()
                .load_balancer_arn(lb_arn)
                .send(),
        )
        .await?;
        let listed = out
            .attributes()
            .iter()
            .find(|a| a.key() == Some("idle_timeout.timeout_seconds"))
            .and_then(|a| a.value());
        match listed {
            None => Ok(DEFAULT_IDLE_TIMEOUT_S),
            Some(text) => text.trim().parse().map_err(|_| ProbeError {
                system: System::LoadBalancer,
                kind: ErrorKind::BadResponse,
                code: None,
                message: format!(
                    "ELBv2 DescribeLoadBalancerAttributes: idle_timeout.timeout_seconds is {:?}, not a number of seconds",
                    redact::sanitize(text)
                ),
            }),
        }
    }

    /// The target group's load balancer: its name and ARN, and the group's name (sanitised).
    pub async fn describe(
        &self,
        target_group: &str,
    ) -> Result<(String, String, String), ProbeError> {
        let groups = call(
            System::LoadBalancer,
            "DescribeTargetGroups",
            self.elb
                .describe_target_groups()
                .target_group_arns(target_group)
                .send(),
        )
        .await?;
        let group = groups.target_groups().first().ok_or_else(|| ProbeError {
            system: System::LoadBalancer,
            kind: ErrorKind::NotFound,
            code: None,
            message: "ELBv2 DescribeTargetGroups: the service's target group was not found".into(),
        })?;
        let lb_arn = group
            .load_balancer_arns()
            .first()
            .cloned()
            .ok_or_else(|| ProbeError {
                system: System::LoadBalancer,
                kind: ErrorKind::NotFound,
                code: None,
                message: format!(
                    "the target group {} is attached to no load balancer",
                    redact::sanitize(group.target_group_name().unwrap_or_default())
                ),
            })?;
        let balancers = call(
            System::LoadBalancer,
            "DescribeLoadBalancers",
            self.elb
                .describe_load_balancers()
                .load_balancer_arns(&lb_arn)
                .send(),
        )
        .await?;
        let name = balancers
            .load_balancers()
            .first()
            .and_then(|lb| lb.load_balancer_name())
            .unwrap_or_else(|| dimension_of(&lb_arn));
        Ok((
            redact::sanitize(name),
            lb_arn.clone(),
            redact::sanitize(group.target_group_name().unwrap_or_default()),
        ))
    }

    /// Each registered target's state and reason (DescribeTargetHealth).
    pub async fn targets(&self, target_group: &str) -> Result<Vec<Target>, ProbeError> {
        let out = call(
            System::LoadBalancer,
            "DescribeTargetHealth",
            self.elb
                .describe_target_health()
                .target_group_arn(target_group)
                .send(),
        )
        .await?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .take(MAX_TARGETS)
            .map(|d| {
                let health = d.target_health();
                Target {
                    id: redact::sanitize(d.target().and_then(|t| t.id()).unwrap_or_default()),
                    port: d.target().and_then(TargetDescription::port),
                    state: health
                        .and_then(|h| h.state())
                        .map_or_else(|| "unknown".into(), |s| redact::sanitize(s.as_str())),
                    reason: health
                        .and_then(|h| h.reason())
                        .map(|r| redact::sanitize(r.as_str())),
                    description: health.and_then(|h| h.description()).map(redact::sanitize),
                }
            })
            .collect())
    }

    /// The load balancer's metrics over `[from_ms, to_ms)`, one [`Minute`] per minute
    /// (GetMetricData).
    pub async fn minutes(
        &self,
        lb_arn: &str,
        target_group: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Minute>, ProbeError> {
        let lb = Dimension::builder()
            .name("LoadBalancer")
            .value(dimension_of(lb_arn))
            .build();
        let tg = Dimension::builder()
            .name("TargetGroup")
            .value(dimension_of(target_group))
            .build();
        let queries: Vec<MetricDataQuery> = QUERIES
            .iter()
            .map(|query| {
                let mut metric = Metric::builder()
                    .namespace("AWS/ApplicationELB")
                    .metric_name(query.metric)
                    .dimensions(lb.clone());
                if query.per_target_group {
                    metric = metric.dimensions(tg.clone());
                }
                MetricDataQuery::builder()
                    .id(query.id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric.build())
                            .period(60)
                            .stat(query.stat)
                            .build(),
                    )
                    .return_data(true)
                    .build()
            })
            .collect();
        let mut minutes = vec![Minute::default(); MINUTES];
        let mut token: Option<String> = None;
        // A few pages at most: 8 series of 60 points fit in one.
        for _ in 0..5 {
            let out = call(
                System::LoadBalancer,
                "GetMetricData",
                self.cloudwatch
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(DateTime::from_millis(from_ms))
                    .end_time(DateTime::from_millis(to_ms))
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(token.take())
                    .send(),
            )
            .await?;
            for result in out.metric_data_results() {
                let id = result.id().unwrap_or_default();
                for (at, value) in result.timestamps().iter().zip(result.values()) {
                    let Ok(at_ms) = at.to_millis() else { continue };
                    if at_ms < from_ms || at_ms >= to_ms || !value.is_finite() {
                        continue;
                    }
                    let minute = ((at_ms - from_ms) / MINUTE_MS) as usize;
                    if let Some(slot) = minutes.get_mut(minute).and_then(|m| m.slot(id)) {
                        *slot = Some(slot.unwrap_or(0.0) + value);
                    }
                }
            }
            match out.next_token() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        Ok(minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_come_from_the_arns() {
        assert_eq!(
            dimension_of("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/nerava-alb/50dc6c495c0c9188"),
            "app/nerava-alb/50dc6c495c0c9188"
        );
        assert_eq!(
            dimension_of("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nerava-tg/73e2d6bc24d8a067"),
            "targetgroup/nerava-tg/73e2d6bc24d8a067"
        );
    }

    #[test]
    fn folds_minutes_into_totals() {
        let mut minutes = vec![Minute::default(); MINUTES];
        minutes[10].requests = Some(4.0);
        minutes[10].elb_504 = Some(3.0);
        minutes[10].p99_s = Some(60.0);
        minutes[10].p50_s = Some(60.0);
        minutes[20].requests = Some(2.0);
        minutes[20].p99_s = Some(0.2);
        minutes[20].p50_s = Some(0.1);
        minutes[20].healthy = Some(1.0);
        minutes[30].healthy = Some(2.0);
        let lb = LoadBalancer::from_minutes("alb".into(), "tg".into(), minutes, Ok(vec![]));
        assert_eq!((lb.requests, lb.elb_504, lb.elb_5xx), (6, 3, 0));
        assert_eq!(lb.p99_ms, Some(60_000));
        assert_eq!(lb.p50_ms, Some(100));
        assert_eq!(lb.healthy, Some(2));
        assert_eq!(lb.unhealthy, None);
    }
}
