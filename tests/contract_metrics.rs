//! Contract tests for the real-traffic probes (#16) against references nobody here wrote.
//!
//! - ELBv2 (DescribeTargetGroups, DescribeLoadBalancers, DescribeTargetHealth) and the
//!   access-line reading (FilterLogEvents with the quoted-phrase filter, then the parser): one
//!   check each, run against the simulator and against moto's server, seeded with the same
//!   load balancer, target group, targets and lines.
//! - GetMetricData: the Rust SDK speaks Smithy RPC v2 CBOR to CloudWatch, and so does moto
//!   since 5.2.6 (pinned in tests/run.sh). [`check_get_metric_data`] runs the console's probe
//!   against both backends: moto seeded with PutMetricData in the load balancer's namespace and
//!   dimensions, the simulator with its scenario's traffic. Where moto 5.2.6 is not faithful
//!   (percentile statistics over stored points answer 500), the second reference is AWS's own
//!   service model and botocore's own CBOR codec, from moto's environment: the request the Rust
//!   SDK sends is decoded by botocore's RPC v2 CBOR parser and validated against
//!   GetMetricData's input shape, and the simulator's answer to a request botocore serialised
//!   is parsed by botocore against the output shape and must carry the values the Rust probe
//!   read, p99 included.

#[path = "contract_support/recorder.rs"]
mod recorder;
#[path = "contract_support/emulator.rs"]
#[macro_use]
mod emulator;

use otp_console::config::AwsConfig;
use otp_console::probe::metrics::{dimension_of, MetricsProbe};
use otp_console::probe::traffic::{AccessLog, WINDOW_MS};
use otp_console::probe::ErrorKind;
use otp_console::sim::{self, scenario, Ports, Simulator};
use serde_json::Value;

const CLUSTER: &str = "nerava-cluster";
const SERVICE: &str = "nerava-backend";

/// One backend, seeded: the SDK configuration, the target group the service's
/// `loadBalancers` names, the load balancer's name, and the targets registered to it.
struct Backend {
    name: &'static str,
    sdk: aws_config::SdkConfig,
    target_group: String,
    load_balancer: String,
    /// (id, port) of the targets, or `None` when the ids are the simulator's own.
    targets: Option<Vec<(String, i32)>>,
    _server: Box<dyn std::any::Any>,
}

impl Backend {
    async fn simulator() -> Self {
        let (sim, sdk) = emulator::simulator(scenario::load("healthy").expect("scenario")).await;
        Self {
            name: "simulator",
            sdk,
            target_group: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nerava-backend-tg/73e2d6bc24d8a067".into(),
            load_balancer: "nerava-backend-alb".into(),
            targets: None,
            _server: Box::new(sim),
        }
    }

    /// moto, seeded through the SDK: an application load balancer in the default VPC's
    /// subnets, an `ip` target group on port 8000 with two targets, and the ECS service whose
    /// `loadBalancers` names it.
    #[allow(
        clippy::too_many_lines,
        reason = "over 100 lines when the lint was enabled; split it when next changed"
    )]
    async fn moto() -> Self {
        let server = emulator::moto().await;
        let sdk = emulator::sdk_config(&server.url, "testing", "testing").await;
        let (vpc, subnets) = default_subnets(&server.url).await;
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
        let lb = elb
            .create_load_balancer()
            .name("nerava-alb")
            .set_subnets(Some(subnets))
            .send()
            .await
            .expect("CreateLoadBalancer");
        let lb_arn = lb.load_balancers()[0]
            .load_balancer_arn()
            .expect("arn")
            .to_owned();
        let tg = elb
            .create_target_group()
            .name("nerava-tg")
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(8000)
            .vpc_id(vpc)
            .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
            .health_check_path("/health")
            .send()
            .await
            .expect("CreateTargetGroup");
        let tg_arn = tg.target_groups()[0]
            .target_group_arn()
            .expect("arn")
            .to_owned();
        // An HTTPS listener with a certificate from moto's ACM (init reads its names).
        let certificate = aws_sdk_acm::Client::new(&sdk)
            .request_certificate()
            .domain_name("api.example.com")
            .subject_alternative_names("api.example.com")
            .subject_alternative_names("*.example.com")
            .send()
            .await
            .expect("RequestCertificate")
            .certificate_arn
            .expect("an ARN");
        elb.create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Https)
            .port(443)
            .certificates(
                aws_sdk_elasticloadbalancingv2::types::Certificate::builder()
                    .certificate_arn(certificate)
                    .build(),
            )
            .default_actions(
                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                    .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                    .target_group_arn(&tg_arn)
                    .build(),
            )
            .send()
            .await
            .expect("CreateListener HTTPS");
        elb.create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .default_actions(
                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                    .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                    .target_group_arn(&tg_arn)
                    .build(),
            )
            .send()
            .await
            .expect("CreateListener");
        let targets = vec![
            ("10.0.1.15".to_owned(), 8000),
            ("10.0.2.16".to_owned(), 8000),
        ];
        elb.register_targets()
            .target_group_arn(&tg_arn)
            .set_targets(Some(
                targets
                    .iter()
                    .map(|(id, port)| {
                        aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                            .id(id)
                            .port(*port)
                            .build()
                    })
                    .collect(),
            ))
            .send()
            .await
            .expect("RegisterTargets");
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        ecs.create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .expect("CreateCluster");
        let td = ecs
            .register_task_definition()
            .family(SERVICE)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name(SERVICE)
                    .image("nerava-backend:2026.01.22")
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .expect("RegisterTaskDefinition");
        ecs.create_service()
            .cluster(CLUSTER)
            .service_name(SERVICE)
            .task_definition(
                td.task_definition()
                    .and_then(|t| t.task_definition_arn())
                    .expect("arn"),
            )
            .desired_count(1)
            .load_balancers(
                aws_sdk_ecs::types::LoadBalancer::builder()
                    .target_group_arn(&tg_arn)
                    .container_name(SERVICE)
                    .container_port(8000)
                    .build(),
            )
            .send()
            .await
            .expect("CreateService");
        Self {
            name: "moto",
            sdk,
            target_group: tg_arn,
            load_balancer: "nerava-alb".into(),
            targets: Some(targets),
            _server: Box::new(server),
        }
    }

    fn probe(&self) -> MetricsProbe {
        MetricsProbe::new(
            &self.sdk,
            &AwsConfig {
                cluster: CLUSTER.into(),
                service: SERVICE.into(),
                ..AwsConfig::default()
            },
        )
    }
}

/// The default VPC and two of its subnets, from moto's EC2 (a Query request; moto does not
/// check signatures, only which service the credential scope names).
async fn default_subnets(url: &str) -> (String, Vec<String>) {
    let xml = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body("Action=DescribeSubnets&Version=2016-11-15")
        .send()
        .await
        .expect("DescribeSubnets")
        .text()
        .await
        .expect("body");
    let values = |tag: &str| -> Vec<String> {
        xml.split(&format!("<{tag}>"))
            .skip(1)
            .filter_map(|rest| rest.split(&format!("</{tag}>")).next())
            .map(str::to_owned)
            .collect()
    };
    let vpc = values("vpcId").into_iter().next().expect("a default VPC");
    let mut subnets = values("subnetId");
    subnets.truncate(2);
    assert_eq!(subnets.len(), 2, "{xml}");
    (vpc, subnets)
}

/// DescribeServices names the target group; DescribeTargetGroups and DescribeLoadBalancers
/// give its load balancer; DescribeTargetHealth each target's state; an unknown target group
/// is ELB's own TargetGroupNotFound, told as not found.
async fn check_target_health(b: &Backend) {
    let probe = b.probe();
    let group = probe.target_group().await.expect("DescribeServices");
    assert_eq!(
        group.as_deref(),
        Some(b.target_group.as_str()),
        "{}",
        b.name
    );
    let (lb_name, lb_arn, _) = probe.describe(&b.target_group).await.expect("describe");
    assert_eq!(lb_name, b.load_balancer, "{}", b.name);
    assert!(
        dimension_of(&lb_arn).starts_with("app/"),
        "{}: {lb_arn}",
        b.name
    );
    let targets = probe
        .targets(&b.target_group)
        .await
        .expect("DescribeTargetHealth");
    if let Some(expected) = &b.targets {
        let mut seen: Vec<(String, i32)> = targets
            .iter()
            .map(|t| (t.id.clone(), t.port.expect("port")))
            .collect();
        seen.sort();
        assert_eq!(&seen, expected, "{}", b.name);
    } else {
        assert_eq!(targets.len(), 1, "{}: {targets:?}", b.name);
        assert_eq!(targets[0].port, Some(8000));
        assert!(targets[0].id.starts_with("10.0."), "{targets:?}");
    }
    for t in &targets {
        assert!(
            [
                "healthy",
                "unhealthy",
                "initial",
                "unused",
                "draining",
                "unavailable"
            ]
            .contains(&t.state.as_str()),
            "{}: {t:?}",
            b.name
        );
        // A reason comes with every state but healthy, and only then.
        assert_eq!(
            t.reason.is_none(),
            t.state == "healthy",
            "{}: {t:?}",
            b.name
        );
    }
    let gone = b
        .target_group
        .replace("73e2d6bc24d8a067", "0000000000000000");
    let gone = if gone == b.target_group {
        format!(
            "{}0",
            b.target_group.trim_end_matches(char::is_alphanumeric)
        )
    } else {
        gone
    };
    let e = probe
        .targets(&gone)
        .await
        .expect_err("unknown target group");
    assert_eq!(e.kind, ErrorKind::NotFound, "{}: {e:?}", b.name);
    assert_eq!(
        e.code.as_deref(),
        Some("TargetGroupNotFound"),
        "{}: {e:?}",
        b.name
    );
}

on_both_backends!(check_target_health: sim_describe_target_health, moto_describe_target_health);

/// The same uvicorn lines in a fresh log group of each backend, read back through the
/// quoted-phrase filter and counted: both backends give the same counts per endpoint, status
/// and minute, and the OTP log lines beside them are not read.
async fn check_access_lines(b: &Backend) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&b.sdk);
    let group = "/contract/access-lines";
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("CreateLogGroup");
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name("ecs/app/1")
        .send()
        .await
        .expect("CreateLogStream");
    let now = chrono::Utc::now().timestamp_millis();
    let lines = [
        (
            now - 2 * 60 * 60_000,
            "INFO:     10.0.1.3:5 - \"GET /health HTTP/1.1\" 500 Internal Server Error",
        ),
        (
            now - 50 * 60_000,
            "INFO:     10.0.1.2:1 - \"POST /v1/auth/otp/start HTTP/1.1\" 200 OK",
        ),
        (
            now - 20 * 60_000,
            "INFO:     10.0.1.2:2 - \"POST /v1/auth/otp/start HTTP/1.1\" 504 Gateway Timeout",
        ),
        (
            now - 20 * 60_000 + 1,
            "[OTP] OTP sent successfully phone_last4=6318 status=pending",
        ),
        (
            now - 10 * 60_000,
            "INFO:     10.0.1.2:3 - \"POST /v1/auth/otp/start HTTP/1.1\" 504 Gateway Timeout",
        ),
        (
            now - 9 * 60_000,
            "INFO:     10.0.1.3:4 - \"GET /health HTTP/1.1\" 200 OK",
        ),
    ];
    let events = lines
        .iter()
        .map(|(at, m)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(*at)
                .message(*m)
                .build()
                .expect("event")
        })
        .collect();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("ecs/app/1")
        .set_log_events(Some(events))
        .send()
        .await
        .expect("PutLogEvents");
    let cfg = AwsConfig {
        log_group: group.into(),
        ..AwsConfig::default()
    };
    let summary = AccessLog::new(&b.sdk, &cfg)
        .read(now + 60_000 - WINDOW_MS, now + 60_000)
        .await
        .expect("FilterLogEvents");
    assert_eq!(
        summary.lines, 4,
        "{}: the OTP line or the old line was read: {summary:?}",
        b.name
    );
    assert_eq!(summary.unparsed, 0, "{}", b.name);
    let otp = summary
        .endpoint("POST", "/v1/auth/otp/start")
        .expect("OTP start");
    assert_eq!(
        (otp.requests, otp.count(200), otp.count(504)),
        (3, 1, 2),
        "{}",
        b.name
    );
    let minutes: Vec<usize> = otp
        .per_minute
        .iter()
        .enumerate()
        .filter(|(_, m)| m.requests > 0)
        .map(|(i, _)| i)
        .collect();
    // The window ends a minute from now: 50, 20 and 10 minutes ago are its minutes 9, 39, 49.
    assert_eq!(minutes, [9, 39, 49], "{}", b.name);
    let health = summary.endpoint("GET", "/health").expect("health");
    assert_eq!((health.requests, health.errors_5xx), (1, 0), "{}", b.name);
}

on_both_backends!(check_access_lines: sim_access_lines, moto_access_lines);

/// The load balancer's idle timeout through the console's probe (DescribeLoadBalancerAttributes):
/// the simulator answers the scenario's (60 s in `healthy`); moto lists no idle timeout on a new
/// load balancer (AWS lists its default, 60), which the probe reads as AWS's default, then the
/// value ModifyLoadBalancerAttributes set. An unknown load balancer is ELB's own
/// LoadBalancerNotFound, told as not found.
async fn check_idle_timeout(b: &Backend) {
    let probe = b.probe();
    let (_, lb_arn, _) = probe.describe(&b.target_group).await.expect("describe");
    assert_eq!(
        probe.idle_timeout(&lb_arn).await.expect("read"),
        60,
        "{}",
        b.name
    );
    if b.targets.is_some() {
        aws_sdk_elasticloadbalancingv2::Client::new(&b.sdk)
            .modify_load_balancer_attributes()
            .load_balancer_arn(&lb_arn)
            .attributes(
                aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                    .key("idle_timeout.timeout_seconds")
                    .value("45")
                    .build(),
            )
            .send()
            .await
            .expect("ModifyLoadBalancerAttributes");
        assert_eq!(
            probe.idle_timeout(&lb_arn).await.expect("read"),
            45,
            "{}",
            b.name
        );
    }
    let unknown = format!(
        "{}0",
        lb_arn.trim_end_matches(|c: char| c.is_ascii_hexdigit())
    );
    let e = probe
        .idle_timeout(&unknown)
        .await
        .expect_err("an unknown load balancer");
    assert_eq!(e.kind, ErrorKind::NotFound, "{}: {e:?}", b.name);
    assert_eq!(
        e.code.as_deref(),
        Some("LoadBalancerNotFound"),
        "{}: {e:?}",
        b.name
    );
}

on_both_backends!(check_idle_timeout: sim_idle_timeout, moto_idle_timeout);

/// `otp-console init`'s base URLs from the load balancer in front of the service, in the order
/// it tries them: the names of the HTTPS listener's certificate (ACM DescribeCertificate,
/// wildcards left out), then the listeners on the load balancer's DNS name, HTTPS first. The
/// simulator's certificate is for api.nerava.network and its HTTP listener is where its load
/// balancer answers; moto's (seeded here) for api.example.com, its HTTP listener on 80.
async fn check_listener_urls(b: &Backend) {
    let mut notes = Vec::new();
    let urls = otp_console::init::discover::listener_urls(&b.sdk, &b.target_group, &mut notes)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:?}", b.name));
    assert!(notes.is_empty(), "{}: {notes:?}", b.name);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&b.sdk);
    let described = elb
        .describe_load_balancers()
        .names(&b.load_balancer)
        .send()
        .await
        .expect("DescribeLoadBalancers");
    let dns = described.load_balancers()[0]
        .dns_name()
        .expect("a DNS name");
    let host = if b.name == "moto" {
        "api.example.com"
    } else {
        "api.nerava.network"
    };
    let got: Vec<(&str, &str)> = urls
        .iter()
        .map(|u| (u.url.as_str(), u.from.as_str()))
        .collect();
    assert_eq!(got.len(), 3, "{}: {got:?}", b.name);
    assert_eq!(got[0].0, format!("https://{host}"), "{}", b.name);
    assert!(
        got[0].1.starts_with("the certificate of"),
        "{}: {got:?}",
        b.name
    );
    assert_eq!(
        got[1].0,
        format!("https://{dns}"),
        "{}: 443 is the default",
        b.name
    );
    assert!(
        got[2].0.starts_with(&format!("http://{dns}")),
        "{}: {got:?}",
        b.name
    );
    assert!(
        got[2].1.starts_with(&format!(
            "load balancer {}, listener HTTP ",
            b.load_balancer
        )),
        "{}: {got:?}",
        b.name
    );
    if b.name == "moto" {
        assert_eq!(got[2].0, format!("http://{dns}"), "port 80 is the default");
    }
}

on_both_backends!(check_listener_urls: sim_listener_urls, moto_listener_urls);

/// Minutes ago at which moto is seeded with PutMetricData, and what is put there: (minutes
/// ago, requests, ELB 504s, target 5xxs, healthy hosts, unhealthy hosts).
const PUT: [(i64, f64, f64, f64, f64, f64); 3] = [
    (50, 12.0, 0.0, 0.0, 2.0, 0.0),
    (20, 7.0, 5.0, 1.0, 1.0, 1.0),
    (10, 4.0, 4.0, 0.0, 0.0, 2.0),
];

/// moto's metrics, put through the SDK (which speaks CBOR to CloudWatch as to GetMetricData)
/// in the load balancer's namespace and dimensions, half a minute into each minute: moto 5.2.6
/// counts a point that lies exactly on a period's boundary in both periods (AWS in one).
/// No TargetResponseTime is put: moto 5.2.6 answers a percentile statistic (p50, p99) over
/// stored points with a 500 (its CBOR serializer meets a `None`), so the response-time rows
/// are compared on the simulator only, against botocore (the test below).
async fn seed_metrics(b: &Backend, lb: &str, now_ms: i64) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let cw = aws_sdk_cloudwatch::Client::new(&b.sdk);
    let lb = Dimension::builder().name("LoadBalancer").value(lb).build();
    let tg = Dimension::builder()
        .name("TargetGroup")
        .value(dimension_of(&b.target_group))
        .build();
    for (ago, requests, elb504, target5xx, healthy, unhealthy) in PUT {
        let at = aws_smithy_types::DateTime::from_millis(now_ms - ago * 60_000 + 30_000);
        let datum = |name: &str, value: f64, per_tg: bool| {
            let mut d = MetricDatum::builder()
                .metric_name(name)
                .timestamp(at)
                .value(value)
                .dimensions(lb.clone());
            if per_tg {
                d = d.dimensions(tg.clone());
            }
            d.build()
        };
        cw.put_metric_data()
            .namespace("AWS/ApplicationELB")
            .metric_data(datum("RequestCount", requests, false))
            .metric_data(datum("HTTPCode_ELB_504_Count", elb504, false))
            .metric_data(datum("HTTPCode_ELB_5XX_Count", elb504, false))
            .metric_data(datum("HTTPCode_Target_5XX_Count", target5xx, false))
            .metric_data(datum("HealthyHostCount", healthy, true))
            .metric_data(datum("UnHealthyHostCount", unhealthy, true))
            .send()
            .await
            .expect("PutMetricData");
    }
}

/// GetMetricData through the console's own probe (eight queries in one CBOR request, as in
/// production). On moto every seeded minute comes back in its place with its values and every
/// other minute is empty; on the simulator the scenario's hour of traffic is there, counted
/// consistently. On both, a window that ends before it starts is one error line.
async fn check_get_metric_data(b: &Backend) {
    let probe = b.probe();
    let (_, lb_arn, _) = probe.describe(&b.target_group).await.expect("describe");
    let now = chrono::Utc::now().timestamp_millis() / 60_000 * 60_000;
    if b.targets.is_some() {
        seed_metrics(b, dimension_of(&lb_arn), now).await;
    }
    let start = now + 60_000 - WINDOW_MS;
    let minutes = Box::pin(probe.minutes(&lb_arn, &b.target_group, start, now + 60_000))
        .await
        .unwrap_or_else(|e| panic!("{}: GetMetricData: {e:?}", b.name));
    assert_eq!(minutes.len() as i64, WINDOW_MS / 60_000, "{}", b.name);
    for m in &minutes {
        assert!(
            m.elb_504.unwrap_or(0.0) <= m.requests.unwrap_or(0.0),
            "{}: {m:?}",
            b.name
        );
    }
    if b.targets.is_some() {
        for (i, m) in minutes.iter().enumerate() {
            let ago = (now + 60_000 - start) / 60_000 - 1 - i as i64;
            let put = PUT.iter().find(|p| p.0 == ago);
            let expected = put.map(|&(_, r, e, t, h, u)| (r, e, e, t, h, u));
            let seen = m.requests.map(|r| {
                (
                    r,
                    m.elb_504.unwrap_or(-1.0),
                    m.elb_5xx.unwrap_or(-1.0),
                    m.target_5xx.unwrap_or(-1.0),
                    m.healthy.unwrap_or(-1.0),
                    m.unhealthy.unwrap_or(-1.0),
                )
            });
            assert_eq!(
                seen, expected,
                "{}: minute {i} ({ago} min ago): {m:?}",
                b.name
            );
            assert_eq!((m.p50_s, m.p99_s), (None, None), "{}", b.name);
        }
    } else {
        let counted = minutes.iter().filter(|m| m.requests.is_some()).count();
        assert!(counted > 30, "{}: an hour of traffic: {minutes:?}", b.name);
        assert!(minutes.iter().any(|m| m.healthy.is_some()), "{}", b.name);
    }
    let e = Box::pin(probe.minutes(&lb_arn, &b.target_group, now, start))
        .await
        .expect_err("a window that ends before it starts");
    assert_eq!(e.kind, ErrorKind::Api, "{}: {e:?}", b.name);
    assert!(!e.message.contains('\n'), "{}: one line: {e:?}", b.name);
}

on_both_backends!(check_get_metric_data: sim_get_metric_data, moto_get_metric_data);

/// Runs `script` with moto's Python, `args` after it; its stdout as JSON.
fn botocore(script: &str, args: &[&str]) -> Value {
    let out = std::process::Command::new(emulator::python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "botocore script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the script")
}

const VALIDATE_REQUEST: &str = r"
import sys, json, botocore.session
from botocore.parsers import create_parser
from botocore.validate import ParamValidator
op = botocore.session.get_session().get_service_model('cloudwatch').operation_model('GetMetricData')
body = open(sys.argv[1], 'rb').read()
params = create_parser('smithy-rpc-v2-cbor').parse({'body': body, 'headers': {}, 'status_code': 200}, op.input_shape)
params.pop('ResponseMetadata', None)
report = ParamValidator().validate(params, op.input_shape)
print(json.dumps({'errors': report.generate_report() if report.has_errors() else '', 'queries': [q['Id'] for q in params['MetricDataQueries']], 'stats': [q['MetricStat']['Stat'] for q in params['MetricDataQueries']], 'span': (params['EndTime'] - params['StartTime']).total_seconds()}))
";

const QUERY_SIMULATOR: &str = r"
import sys, json, datetime, urllib.request, botocore.session
from botocore.serialize import create_serializer
from botocore.parsers import create_parser
url, lb, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
op = botocore.session.get_session().get_service_model('cloudwatch').operation_model('GetMetricData')
def call(params):
    req = create_serializer('smithy-rpc-v2-cbor').serialize_to_request(params, op)
    headers = dict(req['headers'])
    headers['Authorization'] = 'AWS4-HMAC-SHA256 Credential=AKIASIMULATOR0000001/20261130/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0'
    r = urllib.request.Request(url + req['url_path'], data=req['body'], headers=headers, method='POST')
    try:
        resp = urllib.request.urlopen(r)
        status, body, rh = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        status, body, rh = e.code, e.read(), dict(e.headers)
    rh = {k.lower(): v for k, v in rh.items()}
    return create_parser('smithy-rpc-v2-cbor').parse({'body': body, 'headers': rh, 'status_code': status}, op.output_shape), rh
ts = lambda s: datetime.datetime.fromtimestamp(s, datetime.timezone.utc)
ok, headers = call({'MetricDataQueries': [{'Id': 'requests', 'MetricStat': {'Metric': {'Namespace': 'AWS/ApplicationELB', 'MetricName': 'RequestCount', 'Dimensions': [{'Name': 'LoadBalancer', 'Value': lb}]}, 'Period': 60, 'Stat': 'Sum'}}], 'StartTime': ts(start), 'EndTime': ts(end), 'ScanBy': 'TimestampAscending'})
bad, _ = call({'MetricDataQueries': [{'Id': 'requests', 'MetricStat': {'Metric': {'Namespace': 'AWS/ApplicationELB', 'MetricName': 'RequestCount'}, 'Period': 60, 'Stat': 'Sum'}}], 'StartTime': ts(end), 'EndTime': ts(start)})
r = ok['MetricDataResults'][0]
print(json.dumps({'protocol': headers.get('smithy-protocol'), 'id': r['Id'], 'status': r['StatusCode'], 'points': [[t.timestamp(), v] for t, v in zip(r['Timestamps'], r['Values'])], 'error': bad.get('Error', {})}))
";

#[tokio::test(flavor = "multi_thread")]
async fn get_metric_data_speaks_cloudwatch_cbor_as_botocore_reads_it() {
    let sim = Simulator::start(
        scenario::load("event-loop-blocking").expect("scenario"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("simulator starts");
    let (proxy, seen) = recorder::recording_proxy(&sim.urls.aws).await;
    let sdk = emulator::sdk_config(&proxy, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY).await;
    let probe = MetricsProbe::new(
        &sdk,
        &AwsConfig {
            cluster: CLUSTER.into(),
            service: SERVICE.into(),
            ..AwsConfig::default()
        },
    );
    let group = probe
        .target_group()
        .await
        .expect("DescribeServices")
        .expect("a target group");
    let (_, lb_arn, _) = probe.describe(&group).await.expect("describe");
    // Whole minutes, so both clients ask for the same buckets.
    let end = chrono::Utc::now().timestamp_millis() / 60_000 * 60_000;
    let start = end - WINDOW_MS;
    let minutes = Box::pin(probe.minutes(&lb_arn, &group, start, end))
        .await
        .expect("GetMetricData");

    // The request the Rust SDK sent, as AWS's model and botocore's CBOR decoder read it.
    let body = tempfile::NamedTempFile::new().expect("temporary file");
    // The last request is GetMetricData's.
    let sent = seen
        .lock()
        .expect("lock")
        .last()
        .expect("a request")
        .request
        .clone();
    std::fs::write(body.path(), &sent).expect("write");
    let request = botocore(VALIDATE_REQUEST, &[body.path().to_str().expect("path")]);
    assert_eq!(request["errors"], "", "{request}");
    assert_eq!(
        request["queries"].as_array().map(Vec::len),
        Some(8),
        "{request}"
    );
    assert!(request["stats"]
        .as_array()
        .expect("stats")
        .contains(&Value::from("p99")));
    assert_eq!(request["span"], 3600.0);

    // botocore's own request to the simulator, and its parse of the answer.
    let answer = botocore(
        QUERY_SIMULATOR,
        &[
            &sim.urls.aws,
            dimension_of(&lb_arn),
            &(start / 1000).to_string(),
            &(end / 1000).to_string(),
        ],
    );
    assert_eq!(answer["protocol"], "rpc-v2-cbor", "{answer}");
    assert_eq!(answer["status"], "Complete");
    let points = answer["points"].as_array().expect("points");
    assert!(points.len() > 30, "an hour of traffic: {answer}");
    for point in points {
        let at = (point[0].as_f64().expect("time") * 1000.0) as i64;
        let minute = ((at - start) / 60_000) as usize;
        assert_eq!(
            minutes[minute].requests,
            point[1].as_f64(),
            "minute {minute}: the Rust probe and botocore read different values"
        );
    }
    assert_eq!(answer["error"]["Code"], "InvalidParameterValue", "{answer}");
    assert!(answer["error"]["Message"]
        .as_str()
        .is_some_and(|m| m.contains("StartTime")));
}
