//! The aws CLI, unchanged, against the simulator: the runbook's own commands
//! (`describe-task-definition`, `describe-services`, `register-task-definition`,
//! `update-service`, `filter-log-events`, `describe-log-streams`) succeed and return what the
//! simulator holds. `tests/run.sh` installs the CLI when the machine has none.

use std::process::Stdio;

use otp_console::sim::{self, scenario, Ports, Simulator};
use serde_json::Value;

/// Runs `aws <args>` against the simulator and parses its JSON output.
async fn aws(sim: &Simulator, args: &[&str]) -> Value {
    let output = run(sim, args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "aws {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or(Value::String(stdout.into_owned()))
}

/// Runs `aws <args>`, expecting it to fail, and returns what it said on stderr.
async fn aws_fails(sim: &Simulator, args: &[&str]) -> String {
    let output = run(sim, args).await;
    assert!(!output.status.success(), "aws {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn run(sim: &Simulator, args: &[&str]) -> std::process::Output {
    let home = std::env::temp_dir().join("otp-console-aws-cli-home");
    tokio::process::Command::new(
        std::env::var("OTP_CONSOLE_AWS_CLI").unwrap_or_else(|_| "aws".into()),
    )
    .args([
        "--endpoint-url",
        &sim.urls.aws,
        "--region",
        "us-east-1",
        "--output",
        "json",
    ])
    .args(args)
    .env("AWS_ACCESS_KEY_ID", sim::ACCESS_KEY_ID)
    .env("AWS_SECRET_ACCESS_KEY", sim::SECRET_ACCESS_KEY)
    .env("AWS_CONFIG_FILE", home.join("config"))
    .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
    .env("AWS_PAGER", "")
    .env_remove("AWS_PROFILE")
    .env_remove("AWS_SESSION_TOKEN")
    .stdin(Stdio::null())
    .output()
    .await
    .expect("the aws CLI runs (tests/run.sh installs it when missing)")
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_and_repairs_the_simulated_deployment() {
    let scenario = scenario::load("missing-env-vars").expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");

    let described = aws(
        &sim,
        &[
            "ecs",
            "describe-task-definition",
            "--task-definition",
            "nerava-backend",
            "--include",
            "TAGS",
        ],
    )
    .await;
    let td = &described["taskDefinition"];
    assert_eq!(td["revision"], 42);
    let env = td["containerDefinitions"][0]["environment"]
        .as_array()
        .expect("environment");
    assert!(env.iter().all(|e| e["name"] != "TWILIO_VERIFY_SERVICE_SID"));
    assert_eq!(described["tags"][0]["key"], "app");

    let services = aws(
        &sim,
        &[
            "ecs",
            "describe-services",
            "--cluster",
            "nerava-cluster",
            "--services",
            "nerava-backend",
        ],
    )
    .await;
    let service = &services["services"][0];
    assert_eq!(service["serviceName"], "nerava-backend");
    assert_eq!(service["deployments"][0]["rolloutState"], "COMPLETED");
    assert!(service["taskDefinition"]
        .as_str()
        .is_some_and(|t| t.ends_with(":42")));

    // The runbook's repair by hand: describe, strip the read-only fields, edit, register.
    let mut input = td.clone();
    let fields = input.as_object_mut().expect("object");
    for key in otp_console::sim::ecs::READ_ONLY_FIELDS {
        fields.remove(*key);
    }
    input["containerDefinitions"][0]["environment"]
        .as_array_mut()
        .expect("environment")
        .push(serde_json::json!({ "name": "TWILIO_VERIFY_SERVICE_SID", "value": "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9" }));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("task-def-updated.json");
    std::fs::write(&path, input.to_string()).expect("write");
    let registered = aws(
        &sim,
        &[
            "ecs",
            "register-task-definition",
            "--cli-input-json",
            &format!("file://{}", path.display()),
        ],
    )
    .await;
    assert_eq!(registered["taskDefinition"]["revision"], 43);
    assert_eq!(registered["taskDefinition"]["cpu"], td["cpu"]);
    assert_eq!(
        registered["taskDefinition"]["runtimePlatform"],
        td["runtimePlatform"]
    );

    let updated = aws(
        &sim,
        &[
            "ecs",
            "update-service",
            "--cluster",
            "nerava-cluster",
            "--service",
            "nerava-backend",
            "--task-definition",
            "nerava-backend:43",
        ],
    )
    .await;
    let deployments = updated["service"]["deployments"]
        .as_array()
        .expect("deployments");
    assert_eq!(
        deployments.len(),
        2,
        "the new deployment rolls out beside the old one"
    );
    assert_eq!(deployments[0]["rolloutState"], "IN_PROGRESS");
    assert!(deployments[0]["taskDefinition"]
        .as_str()
        .is_some_and(|t| t.ends_with(":43")));

    let since = (chrono::Utc::now().timestamp_millis() - 30 * 60_000).to_string();
    let events = aws(
        &sim,
        &[
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/ecs/nerava-backend",
            "--filter-pattern",
            "OTP",
            "--start-time",
            &since,
        ],
    )
    .await;
    let messages: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("TWILIO_VERIFY_SERVICE_SID not set")),
        "{messages:#?}"
    );
    assert!(messages.iter().all(|m| m.contains("OTP")));

    let streams = aws(
        &sim,
        &[
            "logs",
            "describe-log-streams",
            "--log-group-name",
            "/ecs/nerava-backend",
        ],
    )
    .await;
    let names: Vec<&str> = streams["logStreams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter_map(|s| s["logStreamName"].as_str())
        .collect();
    assert!(
        names.len() >= 2 && names.iter().all(|n| n.starts_with("ecs/nerava-backend/")),
        "{names:?}"
    );

    // The runbook's own query form works too.
    let table = aws(
        &sim,
        &[
            "ecs",
            "describe-task-definition",
            "--task-definition",
            "nerava-backend",
            "--query",
            "taskDefinition.containerDefinitions[0].environment",
        ],
    )
    .await;
    assert!(table
        .as_array()
        .is_some_and(|e| e.iter().any(|v| v["name"] == "OTP_PROVIDER")));
}

/// Secrets Manager and Parameter Store as the aws CLI sees them: the secret by full ARN, partial
/// ARN and name, its metadata, a SecureString decrypted, and the errors of a secret scheduled
/// for deletion and of a missing one, as AWS words them.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_the_simulated_secrets_and_parameters() {
    const ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o";
    let sim = Simulator::start(
        scenario::load("healthy").expect("loads"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("starts");
    for id in [
        ARN,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio",
        "nerava/prod/twilio",
    ] {
        let got = aws(
            &sim,
            &["secretsmanager", "get-secret-value", "--secret-id", id],
        )
        .await;
        assert_eq!(got["ARN"], ARN, "{id}");
        let value: Value =
            serde_json::from_str(got["SecretString"].as_str().expect("SecretString"))
                .expect("JSON");
        assert_eq!(value["auth_token"], sim.scenario().twilio.auth_token);
        assert_eq!(got["VersionStages"][0], "AWSCURRENT");
    }
    let described = aws(
        &sim,
        &["secretsmanager", "describe-secret", "--secret-id", ARN],
    )
    .await;
    assert_eq!(described["Name"], "nerava/prod/twilio");
    assert!(described["LastChangedDate"].is_string() || described["LastChangedDate"].is_number());
    assert!(described.get("DeletedDate").is_none());
    assert!(described["VersionIdsToStages"].is_object());

    let params = aws(
        &sim,
        &[
            "ssm",
            "get-parameters",
            "--names",
            "/nerava/prod/twilio-verify-service-sid",
            "/nerava/prod/absent",
            "--with-decryption",
        ],
    )
    .await;
    let p = &params["Parameters"][0];
    assert_eq!(p["Type"], "SecureString");
    assert_eq!(p["Value"], "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    assert_eq!(
        p["ARN"],
        "arn:aws:ssm:us-east-1:123456789012:parameter/nerava/prod/twilio-verify-service-sid"
    );
    assert_eq!(params["InvalidParameters"][0], "/nerava/prod/absent");
    let one = aws(
        &sim,
        &[
            "ssm",
            "get-parameter",
            "--name",
            "/nerava/prod/twilio-verify-service-sid",
        ],
    )
    .await;
    assert_ne!(
        one["Parameter"]["Value"], "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "not decrypted"
    );
    let err = aws_fails(
        &sim,
        &["ssm", "get-parameter", "--name", "/nerava/prod/absent"],
    )
    .await;
    assert!(err.contains("ParameterNotFound"), "{err}");

    let deleted = Simulator::start(
        scenario::load("secret-deleted").expect("loads"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("starts");
    let described = aws(
        &deleted,
        &["secretsmanager", "describe-secret", "--secret-id", ARN],
    )
    .await;
    assert!(described.get("DeletedDate").is_some(), "{described}");
    let err = aws_fails(
        &deleted,
        &["secretsmanager", "get-secret-value", "--secret-id", ARN],
    )
    .await;
    assert!(
        err.contains("InvalidRequestException") && err.contains("marked for deletion"),
        "{err}"
    );
    let err = aws_fails(
        &deleted,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "nerava/prod/absent",
        ],
    )
    .await;
    assert!(err.contains("ResourceNotFoundException"), "{err}");
}

/// The Query protocol front (EC2, ELBv2) answers the aws CLI in each service's own XML error
/// shape, which botocore parses into its code and message: an action the simulator does not
/// simulate is `InvalidAction`, as AWS answers it, not a JSON body or a hang.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_the_query_services_xml_errors() {
    let scenario = scenario::load("healthy").expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    let ec2 = aws_fails(&sim, &["ec2", "describe-key-pairs"]).await;
    assert!(
        ec2.contains("(InvalidAction)") && ec2.contains("DescribeKeyPairs is not valid"),
        "{ec2}"
    );
    let elb = aws_fails(&sim, &["elbv2", "describe-ssl-policies"]).await;
    assert!(
        elb.contains("(InvalidAction)") && elb.contains("DescribeSSLPolicies is not valid"),
        "{elb}"
    );
}

/// The load balancer's side of real traffic (#16), as an on-call engineer reads it by hand:
/// `aws elbv2 describe-target-groups` / `describe-load-balancers` / `describe-target-health`
/// (Query protocol, XML) and `aws cloudwatch get-metric-data` (the CLI's own CloudWatch
/// protocol: AWS JSON 1.0 for botocore ≥ 1.3x, the Query protocol for older ones; the Rust
/// SDK's is RPC v2 CBOR, tests/contract_metrics.rs).
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_the_simulated_load_balancer_and_its_metrics() {
    let scenario = scenario::load("event-loop-blocking").expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("simulator starts");
    let services = aws(
        &sim,
        &[
            "ecs",
            "describe-services",
            "--cluster",
            "nerava-cluster",
            "--services",
            "nerava-backend",
        ],
    )
    .await;
    let group = services["services"][0]["loadBalancers"][0]["targetGroupArn"]
        .as_str()
        .expect("the service's target group")
        .to_owned();
    let groups = aws(
        &sim,
        &[
            "elbv2",
            "describe-target-groups",
            "--target-group-arns",
            &group,
        ],
    )
    .await;
    let tg = &groups["TargetGroups"][0];
    assert_eq!(tg["HealthCheckPath"], "/health", "{groups}");
    let lb_arn = tg["LoadBalancerArns"][0]
        .as_str()
        .expect("its load balancer")
        .to_owned();
    let balancers = aws(
        &sim,
        &[
            "elbv2",
            "describe-load-balancers",
            "--load-balancer-arns",
            &lb_arn,
        ],
    )
    .await;
    assert_eq!(balancers["LoadBalancers"][0]["Type"], "application");
    assert_eq!(balancers["LoadBalancers"][0]["State"]["Code"], "active");
    let health = aws(
        &sim,
        &[
            "elbv2",
            "describe-target-health",
            "--target-group-arn",
            &group,
        ],
    )
    .await;
    let target = &health["TargetHealthDescriptions"][0];
    assert_eq!(target["TargetHealth"]["State"], "healthy", "{health}");
    assert_eq!(target["Target"]["Port"], 8000);
    let missing = aws_fails(
        &sim,
        &[
            "elbv2",
            "describe-target-health",
            "--target-group-arn",
            &group.replace("73e2d6bc24d8a067", "0000000000000000"),
        ],
    )
    .await;
    assert!(missing.contains("TargetGroupNotFound"), "{missing}");

    let lb = lb_arn.split(":loadbalancer/").nth(1).expect("dimension");
    let end = chrono::Utc::now().timestamp();
    let queries = serde_json::json!([
        { "Id": "requests", "MetricStat": { "Metric": { "Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount", "Dimensions": [{ "Name": "LoadBalancer", "Value": lb }] }, "Period": 60, "Stat": "Sum" } },
        { "Id": "timeouts", "MetricStat": { "Metric": { "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_ELB_504_Count", "Dimensions": [{ "Name": "LoadBalancer", "Value": lb }] }, "Period": 300, "Stat": "Sum" } },
        { "Id": "other", "MetricStat": { "Metric": { "Namespace": "AWS/EC2", "MetricName": "CPUUtilization" }, "Period": 60, "Stat": "Average" } },
    ])
    .to_string();
    let (start, end) = ((end - 3600).to_string(), end.to_string());
    let metrics = aws(
        &sim,
        &[
            "cloudwatch",
            "get-metric-data",
            "--start-time",
            &start,
            "--end-time",
            &end,
            "--metric-data-queries",
            &queries,
        ],
    )
    .await;
    let results = metrics["MetricDataResults"].as_array().expect("results");
    assert_eq!(results.len(), 3, "{metrics}");
    let sum = |id: &str| -> f64 {
        results
            .iter()
            .find(|r| r["Id"] == id)
            .and_then(|r| r["Values"].as_array())
            .map(|v| v.iter().filter_map(Value::as_f64).sum())
            .unwrap_or_default()
    };
    assert!(sum("requests") > 60.0, "an hour of users: {metrics}");
    assert!(sum("timeouts") > 0.0, "today's 504s: {metrics}");
    assert!(sum("timeouts") < sum("requests"));
    // Five-minute periods: at most 13 of them in an hour.
    let periods = results[1]["Timestamps"].as_array().map_or(0, Vec::len);
    assert!((1..=13).contains(&periods), "{metrics}");
    // A metric nobody publishes is an empty result, not an error.
    assert_eq!(results[2]["Values"], serde_json::json!([]));
    let bad = aws_fails(
        &sim,
        &[
            "cloudwatch",
            "get-metric-data",
            "--start-time",
            &end,
            "--end-time",
            &start,
            "--metric-data-queries",
            &queries,
        ],
    )
    .await;
    assert!(bad.contains("InvalidParameterValue"), "{bad}");
}
