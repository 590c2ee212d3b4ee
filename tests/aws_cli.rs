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
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
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
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
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

/// The simulated IAM answers the aws CLI: the execution role's policy simulation says what the
/// ECS agent meets (implicitDeny on the secret outside its grant), `put-role-policy` changes the
/// role, and the simulation then allows it; the stored policy reads back as IAM sends it
/// (URL-encoded, which the CLI decodes).
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_simulates_and_repairs_the_execution_roles_policy() {
    const ROLE: &str = "arn:aws:iam::123456789012:role/nerava-backend-execution";
    const ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/twilio/auth-token-Qw3rTy";
    let sim = Simulator::start(
        scenario::load("execution-role-denied").expect("loads"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("starts");
    let simulate = |sim| async move {
        aws(
            sim,
            &[
                "iam",
                "simulate-principal-policy",
                "--policy-source-arn",
                ROLE,
                "--action-names",
                "secretsmanager:GetSecretValue",
                "--resource-arns",
                ARN,
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o",
            ],
        )
        .await
    };
    let before = simulate(&sim).await;
    let results = before["EvaluationResults"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{before}");
    assert_eq!(results[0]["EvalResourceName"], ARN);
    assert_eq!(results[0]["EvalDecision"], "implicitDeny");
    assert_eq!(results[1]["EvalDecision"], "allowed");
    assert_eq!(
        results[1]["MatchedStatements"][0]["SourcePolicyId"],
        "nerava-prod-secrets"
    );

    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"{ARN}"}}]}}"#
    );
    aws(
        &sim,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "nerava-backend-execution",
            "--policy-name",
            "read-twilio-auth-token",
            "--policy-document",
            &document,
        ],
    )
    .await;
    let after = simulate(&sim).await;
    assert_eq!(
        after["EvaluationResults"][0]["EvalDecision"], "allowed",
        "{after}"
    );
    let read = aws(
        &sim,
        &[
            "iam",
            "get-role-policy",
            "--role-name",
            "nerava-backend-execution",
            "--policy-name",
            "read-twilio-auth-token",
        ],
    )
    .await;
    assert_eq!(
        read["PolicyDocument"]["Statement"][0]["Resource"], ARN,
        "{read}"
    );
    let missing = aws_fails(
        &sim,
        &["iam", "get-role", "--role-name", "nerava-backend-task"],
    )
    .await;
    assert!(missing.contains("(NoSuchEntity)"), "{missing}");
    // The change is in CloudTrail, on the role, by the caller.
    let trail = aws(
        &sim,
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=PutRolePolicy",
        ],
    )
    .await;
    let events = trail["Events"].as_array().expect("Events");
    assert_eq!(events.len(), 1, "{trail}");
    assert_eq!(events[0]["Resources"][0]["ResourceName"], ROLE, "{trail}");
    assert_eq!(events[0]["Username"], "otp-console", "{trail}");
}

/// The commands a `--set-secret` plan prints work as printed: describe with the aws CLI, the
/// plan's own jq program (real jq), register with the aws CLI; the new revision reads the
/// variable from the secret and no longer has it as a plain value.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_and_jq_run_a_set_secret_plans_commands() {
    const FROM: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/twilio-Tw1l1o:auth_token::";
    let sim = Simulator::start(
        scenario::load("invalid-credentials").expect("loads"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("starts");
    let config = sim::run::config_for(&sim.urls, sim.scenario());
    let sdk = otp_console::engine::demo_sdk_config(&config).await;
    let plan = otp_console::repair::Repairer::new(&sdk, &config)
        .plan(&otp_console::repair::Repair::PointSecret(vec![(
            "TWILIO_AUTH_TOKEN".into(),
            FROM.into(),
        )]))
        .await
        .expect("plan");
    let program = plan.commands[1]
        .strip_prefix("jq '")
        .and_then(|c| c.strip_suffix("' task-def.json > task-def-updated.json"))
        .expect("the jq command")
        .replace(r"'\''", "'");
    let dir = tempfile::tempdir().expect("tempdir");
    let described = aws(
        &sim,
        &[
            "ecs",
            "describe-task-definition",
            "--task-definition",
            "nerava-backend:42",
            "--include",
            "TAGS",
        ],
    )
    .await;
    let input = dir.path().join("task-def.json");
    std::fs::write(&input, described.to_string()).expect("writes");
    let jq = std::process::Command::new("jq")
        .arg(&program)
        .arg(&input)
        .output()
        .expect("jq runs");
    assert!(
        jq.status.success(),
        "{}",
        String::from_utf8_lossy(&jq.stderr)
    );
    let updated = dir.path().join("task-def-updated.json");
    std::fs::write(&updated, &jq.stdout).expect("writes");
    let registered = aws(
        &sim,
        &[
            "ecs",
            "register-task-definition",
            "--cli-input-json",
            &format!("file://{}", updated.display()),
        ],
    )
    .await;
    let container = &registered["taskDefinition"]["containerDefinitions"][0];
    assert_eq!(registered["taskDefinition"]["revision"], 43);
    assert!(container["environment"]
        .as_array()
        .expect("environment")
        .iter()
        .all(|kv| kv["name"] != "TWILIO_AUTH_TOKEN"));
    assert!(container["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .any(|s| s["name"] == "TWILIO_AUTH_TOKEN" && s["valueFrom"] == FROM));
}

#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn aws_cli_reads_the_simulated_cloudtrail() {
    let scenario = scenario::load("missing-env-vars").expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    let found = aws(
        &sim,
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=RegisterTaskDefinition",
        ],
    )
    .await;
    let events = found["Events"].as_array().expect("Events");
    // Today's :42 then yesterday's :41, newest first.
    assert_eq!(events.len(), 2, "{found:#}");
    assert!(events[0]["Resources"][0]["ResourceName"]
        .as_str()
        .is_some_and(|r| r.ends_with("task-definition/nerava-backend:42")));
    let record: Value =
        serde_json::from_str(events[0]["CloudTrailEvent"].as_str().expect("a string"))
            .expect("CloudTrailEvent is JSON");
    assert_eq!(
        record["userIdentity"]["arn"],
        "arn:aws:iam::123456789012:user/deploy-bot"
    );
    // The CLI pages through the simulator's NextToken on its own.
    let all = aws(&sim, &["cloudtrail", "lookup-events", "--page-size", "1"]).await;
    assert_eq!(all["Events"].as_array().map(Vec::len), Some(4), "{all:#}");
    // A mutation through the CLI is recorded with the caller's key and the CLI's user agent.
    aws(
        &sim,
        &[
            "ecs",
            "update-service",
            "--cluster",
            "nerava-cluster",
            "--service",
            "nerava-backend",
            "--force-new-deployment",
        ],
    )
    .await;
    let mine = aws(
        &sim,
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            &format!(
                "AttributeKey=AccessKeyId,AttributeValue={}",
                sim::ACCESS_KEY_ID
            ),
        ],
    )
    .await;
    let event = &mine["Events"][0];
    assert_eq!(event["EventName"], "UpdateService");
    let record: Value =
        serde_json::from_str(event["CloudTrailEvent"].as_str().expect("a string")).expect("JSON");
    assert_eq!(record["requestParameters"]["forceNewDeployment"], true);
    assert!(record["userAgent"]
        .as_str()
        .is_some_and(|u| u.starts_with("aws-cli/")));
    let refused = aws_fails(
        &sim,
        &["cloudtrail", "lookup-events", "--max-results", "51"],
    )
    .await;
    assert!(refused.contains("InvalidMaxResultsException"), "{refused}");
    // Secrets Manager and SSM mutations are recorded too, their values hidden as AWS does.
    aws(
        &sim,
        &[
            "ssm",
            "put-parameter",
            "--name",
            "/nerava/prod/twilio-verify-service-sid",
            "--value",
            "VA9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "--type",
            "SecureString",
            "--overwrite",
        ],
    )
    .await;
    aws(
        &sim,
        &[
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            "nerava/prod/jwt",
            "--recovery-window-in-days",
            "7",
        ],
    )
    .await;
    for (name, resource) in [
        ("PutParameter", "/nerava/prod/twilio-verify-service-sid"),
        ("DeleteSecret", "secret:nerava/prod/jwt-GhIjKl"),
    ] {
        let found = aws(
            &sim,
            &[
                "cloudtrail",
                "lookup-events",
                "--lookup-attributes",
                &format!("AttributeKey=EventName,AttributeValue={name}"),
            ],
        )
        .await;
        let event = &found["Events"][0];
        assert!(
            event["Resources"][0]["ResourceName"]
                .as_str()
                .is_some_and(|r| r.ends_with(resource)),
            "{found:#}"
        );
        let text = event["CloudTrailEvent"].as_str().expect("a string");
        assert!(
            !text.contains("VA9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
            "{text}"
        );
    }
}

/// The commands the console prints for `network_blocked` (`otp_console::network::commands`),
/// run as printed through a shell: the aws CLI reads the simulated VPC (every describe the
/// probe uses) and the printed authorize-security-group-egress restores the backend's egress.
#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn aws_cli_reads_the_simulated_vpc_and_runs_the_printed_egress_fix() {
    let scenario = scenario::load("network-blocked").expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    let sg = "sg-0f1e2d3c4b5a69788";
    let groups = aws(
        &sim,
        &["ec2", "describe-security-groups", "--group-ids", sg],
    )
    .await;
    let egress = &groups["SecurityGroups"][0]["IpPermissionsEgress"];
    assert_eq!(egress.as_array().map(Vec::len), Some(1), "{groups:#}");
    assert_eq!(egress[0]["FromPort"], 5432);
    assert_eq!(egress[0]["IpRanges"][0]["CidrIp"], "10.0.0.0/16");
    let tables = aws(
        &sim,
        &[
            "ec2",
            "describe-route-tables",
            "--filters",
            "Name=association.subnet-id,Values=subnet-0a1b2c3d4e5f60718",
        ],
    )
    .await;
    let routes = &tables["RouteTables"][0]["Routes"];
    assert_eq!(
        routes[1]["NatGatewayId"], "nat-0e1f2a3b4c5d6e7f8",
        "{tables:#}"
    );
    assert_eq!(routes[1]["State"], "active");
    let nats = aws(&sim, &["ec2", "describe-nat-gateways"]).await;
    assert_eq!(nats["NatGateways"][0]["State"], "available");
    let acls = aws(&sim, &["ec2", "describe-network-acls"]).await;
    assert_eq!(acls["NetworkAcls"][0]["Entries"][0]["RuleAction"], "allow");
    let subnets = aws(&sim, &["ec2", "describe-subnets"]).await;
    assert_eq!(subnets["Subnets"].as_array().map(Vec::len), Some(2));
    let vpcs = aws(&sim, &["ec2", "describe-vpcs"]).await;
    assert_eq!(vpcs["Vpcs"][0]["CidrBlock"], "10.0.0.0/16");
    let missing = aws_fails(
        &sim,
        &[
            "ec2",
            "describe-security-groups",
            "--group-ids",
            "sg-0000000000000dead",
        ],
    )
    .await;
    assert!(missing.contains("(InvalidGroup.NotFound)"), "{missing}");

    // The fix as the console prints it, through a shell (its quoting included).
    let fix = otp_console::network::authorize_command(sg, "0.0.0.0/0");
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{fix} --endpoint-url {} --region us-east-1 --output json",
            sim.urls.aws
        ))
        .env("AWS_ACCESS_KEY_ID", sim::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", sim::SECRET_ACCESS_KEY)
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env(
            "PATH",
            std::env::var("OTP_CONSOLE_AWS_CLI")
                .ok()
                .and_then(|cli| {
                    std::path::Path::new(&cli).parent().map(|d| {
                        format!(
                            "{}:{}",
                            d.display(),
                            std::env::var("PATH").unwrap_or_default()
                        )
                    })
                })
                .unwrap_or_else(|| std::env::var("PATH").unwrap_or_default()),
        )
        .output()
        .await
        .expect("sh runs");
    assert!(
        output.status.success(),
        "{fix}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(answer["Return"], true, "{answer:#}");
    assert_eq!(answer["SecurityGroupRules"][0]["FromPort"], 443);
    let groups = aws(
        &sim,
        &["ec2", "describe-security-groups", "--group-ids", sg],
    )
    .await;
    let egress = groups["SecurityGroups"][0]["IpPermissionsEgress"].to_string();
    assert!(
        egress.contains("\"FromPort\":443") && egress.contains("0.0.0.0/0"),
        "{egress}"
    );
    // The same rule again is EC2's duplicate error; revoked, it is gone.
    let dup = aws_fails(
        &sim,
        &[
            "ec2",
            "authorize-security-group-egress",
            "--group-id",
            sg,
            "--ip-permissions",
            "IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=0.0.0.0/0}]",
        ],
    )
    .await;
    assert!(dup.contains("(InvalidPermission.Duplicate)"), "{dup}");
    aws(
        &sim,
        &[
            "ec2",
            "revoke-security-group-egress",
            "--group-id",
            sg,
            "--ip-permissions",
            "IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=0.0.0.0/0}]",
        ],
    )
    .await;
}

/// The load balancer's side of real traffic (#16), as an on-call engineer reads it by hand:
/// `aws elbv2 describe-target-groups` / `describe-load-balancers` / `describe-target-health`
/// (Query protocol, XML) and `aws cloudwatch get-metric-data` (the CLI's own CloudWatch
/// protocol: AWS JSON 1.0 for botocore ≥ 1.3x, the Query protocol for older ones; the Rust
/// SDK's is RPC v2 CBOR, tests/contract_metrics.rs).
#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn aws_cli_follows_a_bridge_task_to_its_container_instance_and_its_group() {
    let scenario = scenario::load("bridge-sg-blocked").expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    let cluster = ["--cluster", "nerava-cluster"];
    let services = aws(
        &sim,
        &[
            &["ecs", "describe-services"][..],
            &cluster,
            &["--services", "nerava-backend"],
        ]
        .concat(),
    )
    .await;
    assert_eq!(services["services"][0]["launchType"], "EC2");
    assert!(services["services"][0]
        .get("networkConfiguration")
        .is_none());
    let listed = aws(
        &sim,
        &[
            &["ecs", "list-tasks"][..],
            &cluster,
            &["--service-name", "nerava-backend"],
        ]
        .concat(),
    )
    .await;
    let task = listed["taskArns"][0].as_str().expect("a task").to_owned();
    let tasks = aws(
        &sim,
        &[
            &["ecs", "describe-tasks"][..],
            &cluster,
            &["--tasks", &task],
        ]
        .concat(),
    )
    .await;
    let on = tasks["tasks"][0]["containerInstanceArn"]
        .as_str()
        .expect("placed on a container instance")
        .to_owned();
    let instances = aws(
        &sim,
        &[
            &["ecs", "describe-container-instances"][..],
            &cluster,
            &["--container-instances", &on],
        ]
        .concat(),
    )
    .await;
    let ec2_id = instances["containerInstances"][0]["ec2InstanceId"]
        .as_str()
        .expect("ec2InstanceId")
        .to_owned();
    assert_eq!(ec2_id, "i-0a7b9c1d3e5f70812");
    assert_eq!(instances["containerInstances"][0]["agentConnected"], true);
    let described = aws(
        &sim,
        &["ec2", "describe-instances", "--instance-ids", &ec2_id],
    )
    .await;
    let instance = &described["Reservations"][0]["Instances"][0];
    assert_eq!(
        instance["SubnetId"], "subnet-09e8d7c6b5a4f3e21",
        "{described:#}"
    );
    assert_eq!(instance["PublicIpAddress"], "18.206.31.144");
    assert_eq!(instance["State"]["Name"], "running");
    let group = instance["NetworkInterfaces"][0]["Groups"][0]["GroupId"]
        .as_str()
        .expect("the primary interface's group")
        .to_owned();
    assert_eq!(group, "sg-0c2d4e6f8a1b3c5d7");
    // The group the tasks send through has lost its HTTPS egress.
    let groups = aws(
        &sim,
        &["ec2", "describe-security-groups", "--group-ids", &group],
    )
    .await;
    let egress = &groups["SecurityGroups"][0]["IpPermissionsEgress"];
    assert_eq!(egress.as_array().map(Vec::len), Some(1), "{groups:#}");
    assert_eq!(egress[0]["FromPort"], 5432);
    let by_filter = aws(
        &sim,
        &[
            "ec2",
            "describe-instances",
            "--filters",
            "Name=instance.group-id,Values=sg-0c2d4e6f8a1b3c5d7",
            "--query",
            "Reservations[].Instances[].InstanceId",
        ],
    )
    .await;
    assert_eq!(by_filter, serde_json::json!(["i-0a7b9c1d3e5f70812"]));
    let missing = aws_fails(
        &sim,
        &[
            "ec2",
            "describe-instances",
            "--instance-ids",
            "i-0000000000000dead",
        ],
    )
    .await;
    assert!(missing.contains("InvalidInstanceID.NotFound"), "{missing}");
}

#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
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
    // The idle timeout the timeout budget reads: the scenario's, which is also when the
    // simulated load balancer answers 504 itself.
    let attributes = aws(
        &sim,
        &[
            "elbv2",
            "describe-load-balancer-attributes",
            "--load-balancer-arn",
            &lb_arn,
        ],
    )
    .await;
    let idle = attributes["Attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["Key"] == "idle_timeout.timeout_seconds")
        .map(|a| a["Value"].clone());
    assert_eq!(idle, Some(serde_json::json!("60")), "{attributes}");
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

/// S3 in its REST protocol: `aws s3api get-object` / `head-object` and `aws s3 cp` read the env
/// file the task definition lists, and a missing key is S3's own `NoSuchKey`.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_the_simulated_env_file() {
    let scenario = scenario::load("env-file").expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    let files = aws(
        &sim,
        &[
            "ecs",
            "describe-task-definition",
            "--task-definition",
            "nerava-backend",
            "--query",
            "taskDefinition.containerDefinitions[0].environmentFiles",
        ],
    )
    .await;
    assert_eq!(
        files,
        serde_json::json!([{ "value": "arn:aws:s3:::nerava-config/prod/otp.env", "type": "s3" }])
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("otp.env");
    let got = aws(
        &sim,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "nerava-config",
            "--key",
            "prod/otp.env",
            out.to_str().expect("utf-8"),
        ],
    )
    .await;
    assert!(got["ETag"].as_str().is_some_and(|e| e.len() == 34), "{got}");
    assert!(got["LastModified"].is_string(), "{got}");
    let text = std::fs::read_to_string(&out).expect("written");
    assert!(text.contains("OTP_PROVIDER=twilio_verify"), "{text}");
    let head = aws(
        &sim,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "nerava-config",
            "--key",
            "prod/otp.env",
        ],
    )
    .await;
    assert_eq!(
        head["ContentLength"].as_u64(),
        Some(text.len() as u64),
        "{head}"
    );
    let copied = aws(&sim, &["s3", "cp", "s3://nerava-config/prod/otp.env", "-"]).await;
    assert_eq!(copied.as_str(), Some(text.as_str()));
    let missing = aws_fails(
        &sim,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "nerava-config",
            "--key",
            "prod/gone.env",
            "/dev/null",
        ],
    )
    .await;
    assert!(missing.contains("NoSuchKey"), "{missing}");
}

/// App Runner in AWS JSON 1.0: `aws apprunner list-services`, `describe-service`,
/// `list-operations` and `describe-vpc-connector` against a world on App Runner.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_the_simulated_apprunner_service() {
    const ID: &str = "8fe1e10304f84fd2b0df550fe98a71fa";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("apprunner.toml");
    std::fs::write(
        &path,
        format!(
            "description = \"App Runner\"\n[deployment]\nlog_group = \"/aws/apprunner/nerava-backend/{ID}/application\"\n\
             [apprunner]\nservice_id = \"{ID}\"\negress = \"VPC\"\nvpc_connector = \"nerava-connector\"\n"
        ),
    )
    .expect("write");
    let scenario = scenario::load(path.to_str().expect("utf-8")).expect("loads");
    let sim = Simulator::start(scenario, 0.05, Ports::default())
        .await
        .expect("starts");
    let listed = aws(&sim, &["apprunner", "list-services"]).await;
    let arn = listed["ServiceSummaryList"][0]["ServiceArn"]
        .as_str()
        .expect("an ARN")
        .to_owned();
    assert!(
        arn.ends_with(&format!("service/nerava-backend/{ID}")),
        "{arn}"
    );
    let described = aws(
        &sim,
        &["apprunner", "describe-service", "--service-arn", &arn],
    )
    .await;
    let service = &described["Service"];
    assert_eq!(service["Status"], "RUNNING", "{described}");
    let config = &service["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"];
    assert_eq!(
        config["RuntimeEnvironmentVariables"]["OTP_PROVIDER"],
        "twilio_verify"
    );
    let connector = service["NetworkConfiguration"]["EgressConfiguration"]["VpcConnectorArn"]
        .as_str()
        .expect("a connector")
        .to_owned();
    let ops = aws(
        &sim,
        &["apprunner", "list-operations", "--service-arn", &arn],
    )
    .await;
    let kinds: Vec<&str> = ops["OperationSummaryList"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(|o| o["Type"].as_str())
        .collect();
    assert_eq!(kinds, ["UPDATE_SERVICE", "CREATE_SERVICE"], "{ops}");
    let vpc = aws(
        &sim,
        &[
            "apprunner",
            "describe-vpc-connector",
            "--vpc-connector-arn",
            &connector,
        ],
    )
    .await;
    assert_eq!(
        vpc["VpcConnector"]["Subnets"].as_array().map(Vec::len),
        Some(1),
        "{vpc}"
    );
    let missing = aws_fails(
        &sim,
        &[
            "apprunner",
            "describe-service",
            "--service-arn",
            &format!("{arn}0"),
        ],
    )
    .await;
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");
}

/// The App Runner commands the verdicts print, run with the aws CLI against the simulator,
/// repair it: `resume-service` brings a paused service back, and `describe-service --query
/// Service.SourceConfiguration` edited and given to `update-service` restores a lost variable;
/// each is an operation in ListOperations, and a check afterwards says `none`.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_runs_the_printed_apprunner_repairs() {
    use otp_console::check;
    use otp_console::diagnosis::FailureMode;
    for (name, first_op) in [
        ("apprunner-paused", "RESUME_SERVICE"),
        ("apprunner-missing-env-vars", "UPDATE_SERVICE"),
    ] {
        let sim = Simulator::start(scenario::load(name).expect("loads"), 0.05, Ports::default())
            .await
            .expect("starts");
        let config = sim::run::config_for(&sim.urls, sim.scenario());
        let options = check::Options {
            check_aws: true,
            test_phone: Some("+17133056318".into()),
            deadline: std::time::Duration::from_secs(30),
            aws_credentials: Some((sim::ACCESS_KEY_ID.into(), sim::SECRET_ACCESS_KEY.into())),
            logs_since_ms: None,
            trace: false,
        };
        let report = check::check(&config, name, &options).await.expect("runs");
        let commands = report.diagnosis.verdict.candidates[0].commands.clone();
        let arn = config.aws.service.clone();
        if name == "apprunner-paused" {
            let resume = commands
                .iter()
                .find(|c| c.starts_with("aws apprunner resume-service"))
                .expect("the resume command");
            let args: Vec<&str> = resume.split_whitespace().skip(1).collect();
            aws(&sim, &args).await;
        } else {
            let source = aws(
                &sim,
                &[
                    "apprunner",
                    "describe-service",
                    "--service-arn",
                    &arn,
                    "--query",
                    "Service.SourceConfiguration",
                ],
            )
            .await;
            let mut source = source;
            source["ImageRepository"]["ImageConfiguration"]["RuntimeEnvironmentVariables"]
                ["TWILIO_VERIFY_SERVICE_SID"] = "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9".into();
            let dir = tempfile::tempdir().expect("tempdir");
            let file = dir.path().join("source-configuration.json");
            std::fs::write(&file, source.to_string()).expect("write");
            let file = format!("file://{}", file.display());
            let update = commands
                .iter()
                .find(|c| c.starts_with("aws apprunner update-service"))
                .expect("the update command");
            assert!(update.contains(&arn), "{update}");
            aws(
                &sim,
                &[
                    "apprunner",
                    "update-service",
                    "--service-arn",
                    &arn,
                    "--source-configuration",
                    &file,
                ],
            )
            .await;
        }
        let ops = follow_operation(&sim, &arn).await;
        assert_eq!(
            ops["OperationSummaryList"][0]["Type"], first_op,
            "{name}: {ops}"
        );
        assert_eq!(
            ops["OperationSummaryList"][0]["Status"], "SUCCEEDED",
            "{name}: {ops}"
        );
        // The old instances are gone once it has: what is read from here on is the repaired one's.
        let repaired_ms = chrono::Utc::now().timestamp_millis();

        let (verdict, table) = verify(&config, name, &options, repaired_ms).await;
        assert_eq!(
            verdict,
            FailureMode::None,
            "{name}: after the printed repair\n{table}"
        );
    }
}

/// ListOperations until the newest operation ends, as the console follows it.
async fn follow_operation(sim: &Simulator, arn: &str) -> Value {
    let mut ops = Value::Null;
    for _ in 0..60 {
        ops = aws(sim, &["apprunner", "list-operations", "--service-arn", arn]).await;
        if ops["OperationSummaryList"][0]["Status"] != "IN_PROGRESS" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    ops
}

/// Checks after a repair until `none` or eight tries: a new instance needs a moment to answer.
/// Each from its own phone (the backend limits starts per phone), reading the lines since the
/// repair as `otp-console repair` verifies. The last verdict and its table.
async fn verify(
    config: &otp_console::config::Config,
    name: &str,
    options: &otp_console::check::Options,
    repaired_ms: i64,
) -> (otp_console::diagnosis::FailureMode, String) {
    use otp_console::check;
    use otp_console::diagnosis::FailureMode;
    let mut verdict = FailureMode::Inconclusive;
    let mut table = String::new();
    for i in 0..8 {
        let options = check::Options {
            test_phone: Some(format!("+1713305630{i}")),
            logs_since_ms: Some(repaired_ms),
            ..options.clone()
        };
        let report = check::check(config, name, &options).await.expect("runs");
        verdict = report.diagnosis.verdict.failure_mode;
        table = check::render_table(&report);
        if verdict == FailureMode::None {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    (verdict, table)
}

/// The simulator on `healthy`, at a twentieth of its delays.
async fn healthy() -> Simulator {
    Simulator::start(
        scenario::load("healthy").expect("scenario"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("starts")
}

/// #25: what `otp-console init` reads, as the aws CLI reads it: every cluster, each one's
/// services, a neighbour's service and revision, and the load balancer's listener (HTTP on the
/// port the simulator's load balancer answers on, its DNS name the loopback address).
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_lists_the_accounts_clusters_and_services() {
    let sim = healthy().await;
    let clusters = aws(&sim, &["ecs", "list-clusters"]).await;
    let names: Vec<&str> = clusters["clusterArns"]
        .as_array()
        .expect("ARNs")
        .iter()
        .filter_map(|a| a.as_str()?.rsplit('/').next())
        .collect();
    assert_eq!(names, ["nerava-cluster", "nerava-batch", "nerava-staging"]);
    let services = aws(
        &sim,
        &["ecs", "list-services", "--cluster", "nerava-cluster"],
    )
    .await;
    assert_eq!(services["serviceArns"].as_array().map(Vec::len), Some(2));
    let staging = aws(
        &sim,
        &[
            "ecs",
            "describe-services",
            "--cluster",
            "nerava-staging",
            "--services",
            "nerava-backend-staging",
        ],
    )
    .await;
    let td = staging["services"][0]["taskDefinition"]
        .as_str()
        .expect("a revision")
        .to_owned();
    let described = aws(
        &sim,
        &["ecs", "describe-task-definition", "--task-definition", &td],
    )
    .await;
    let container = &described["taskDefinition"]["containerDefinitions"][0];
    assert_eq!(container["name"], "api");
    assert_eq!(
        container["logConfiguration"]["options"]["awslogs-group"],
        "/ecs/nerava-backend-staging"
    );
    let missing = aws_fails(
        &sim,
        &["ecs", "list-services", "--cluster", "nerava-nowhere"],
    )
    .await;
    assert!(missing.contains("ClusterNotFoundException"), "{missing}");
}

/// #25: the load balancer's listeners as `init` reads them: HTTP on the port the simulator's
/// load balancer answers on (its DNS name the loopback address), HTTPS on 443 with the API's
/// ACM certificate.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_the_listeners_and_their_certificate() {
    let sim = healthy().await;
    let lbs = aws(&sim, &["elbv2", "describe-load-balancers"]).await;
    let lb = lbs["LoadBalancers"][0]["LoadBalancerArn"]
        .as_str()
        .expect("an ARN")
        .to_owned();
    let listeners = aws(
        &sim,
        &["elbv2", "describe-listeners", "--load-balancer-arn", &lb],
    )
    .await;
    let listeners = listeners["Listeners"]
        .as_array()
        .expect("listeners")
        .clone();
    let http = listeners
        .iter()
        .find(|l| l["Protocol"] == "HTTP")
        .expect("an HTTP listener");
    let port = http["Port"].as_u64().expect("a port");
    assert_eq!(
        format!(
            "http://{}:{port}",
            lbs["LoadBalancers"][0]["DNSName"].as_str().unwrap_or("")
        ),
        sim.urls.api
    );
    // The HTTPS listener's certificate, as ACM describes it: the API's host.
    let https = listeners
        .iter()
        .find(|l| l["Protocol"] == "HTTPS")
        .expect("an HTTPS listener");
    let certificate = https["Certificates"][0]["CertificateArn"]
        .as_str()
        .expect("a certificate")
        .to_owned();
    let described = aws(
        &sim,
        &[
            "acm",
            "describe-certificate",
            "--certificate-arn",
            &certificate,
        ],
    )
    .await;
    assert_eq!(described["Certificate"]["DomainName"], "api.nerava.network");
    assert_eq!(described["Certificate"]["Status"], "ISSUED");
    let missing = aws_fails(
        &sim,
        &[
            "acm",
            "describe-certificate",
            "--certificate-arn",
            &format!("{certificate}0"),
        ],
    )
    .await;
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");
}
