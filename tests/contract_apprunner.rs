//! Contract test of the simulated App Runner against AWS's own service model, as botocore ships
//! it (`botocore/data/apprunner/2020-05-15/service-2.json`): moto does not implement App
//! Runner, so the reference is the model, read by botocore itself in the moto venv's Python.
//!
//! The real client (aws-sdk-apprunner) calls the simulator through a recording proxy:
//! DescribeService, ListServices, ListOperations (paged one at a time), DescribeVpcConnector, and
//! an unknown service. Each exchange is checked by botocore: the request passes its
//! `ParamValidator` against the operation's input shape; an answer parses with botocore's JSON
//! parser against the output shape, every member is declared with the model's type and enum,
//! every required member is present, and `ServiceId` is App Runner's 32 hex digits (the model's
//! own pattern contradicts its length); an error's `__type` is declared for the operation.

#[path = "contract_support/emulator.rs"]
#[allow(dead_code)]
mod emulator;
#[path = "contract_support/recorder.rs"]
mod recorder;

use otp_console::sim::{scenario, Ports, Simulator};
use serde_json::{json, Value};

const SERVICE_ID: &str = "8fe1e10304f84fd2b0df550fe98a71fa";

const CHECK_PY: &str = r#"
import json, re, sys
import botocore.session
from botocore.validate import ParamValidator
from botocore.parsers import create_parser

model = botocore.session.get_session().get_service_model("apprunner")
prefix = model.metadata["targetPrefix"] + "."
problems, ok, errors = [], [], []
TYPES = {"structure": dict, "list": list, "string": str, "boolean": bool, "integer": int,
         "long": int, "timestamp": (int, float), "map": dict}

def strict(value, shape, path):
    want = TYPES.get(shape.type_name)
    if want and not isinstance(value, want) or (shape.type_name in ("integer", "long", "timestamp") and isinstance(value, bool)):
        problems.append(f"{path}: {type(value).__name__} where the model has {shape.type_name}")
        return
    if shape.type_name == "structure":
        for k in shape.required_members:
            if k not in value:
                problems.append(f"{path}.{k}: required by {shape.name}, missing")
        for k, v in value.items():
            if k not in shape.members:
                problems.append(f"{path}.{k}: not a member of {shape.name}")
            else:
                strict(v, shape.members[k], f"{path}.{k}")
    elif shape.type_name == "list":
        for i, v in enumerate(value):
            strict(v, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map":
        for k, v in value.items():
            strict(v, shape.value, f"{path}[{k}]")
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.enum}")
        if shape.name == "ServiceId" and not re.fullmatch(r"[0-9a-f]{32}", value):
            problems.append(f"{path}: {value!r} is not 32 hex digits")

for x in json.load(sys.stdin):
    if not x["target"].startswith(prefix):
        problems.append(f"target {x['target']!r} is not App Runner's")
        continue
    name = x["target"][len(prefix):]
    op = model.operation_model(name)
    report = ParamValidator().validate(json.loads(x["request"] or "{}"), op.input_shape)
    if report.has_errors():
        problems.append(f"{name}: request refused by the model: " + report.generate_report())
    body = x["response"].encode()
    if x["status"] == 200:
        create_parser(model.metadata["protocol"]).parse(
            {"body": body, "headers": {}, "status_code": 200}, op.output_shape)
        strict(json.loads(body), op.output_shape, name + "Response")
        ok.append(name)
    else:
        kind = json.loads(body).get("__type", "")
        errors.append(kind)
        if kind not in {s.name for s in op.error_shapes}:
            problems.append(f"{name}: error {kind!r} is not declared for it")
print(json.dumps({"problems": problems, "ok": ok, "errors": errors}))
"#;

/// Checks the exchanges with botocore; returns its report.
fn botocore_check(exchanges: &[recorder::Exchange]) -> Value {
    // A repair's plan also reads the service's secrets (Secrets Manager, IAM) before it warns
    // of one the new instances could not read: those calls have their own contract tests.
    let apprunner: Vec<recorder::Exchange> = exchanges
        .iter()
        .filter(|e| e.target.starts_with("AppRunner."))
        .cloned()
        .collect();
    emulator::botocore_stdin(CHECK_PY, &recorder::as_json(&apprunner))
}

/// A world on App Runner: VPC egress through a connector, paused 10 minutes ago (after today's
/// update, 25 minutes ago).
fn world() -> scenario::Scenario {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("contract-apprunner.toml");
    std::fs::write(
        &path,
        format!(
            "description = \"App Runner, VPC egress, paused\"\n\
             [deployment]\nlog_group = \"/aws/apprunner/nerava-backend/{SERVICE_ID}/application\"\n\
             [apprunner]\nservice_id = \"{SERVICE_ID}\"\negress = \"VPC\"\n\
             vpc_connector = \"nerava-connector\"\npaused_minutes_ago = 10.0\n"
        ),
    )
    .expect("write");
    scenario::load(path.to_str().expect("utf-8")).expect("scenario")
}

/// The repairs, as the console makes them: ResumeService of the paused service (followed until
/// it serves), then the console's own UpdateService (the whole variables map sent back), then a
/// StartDeployment while that update runs (refused as App Runner refuses it).
async fn repairs_through(
    client: &aws_sdk_apprunner::Client,
    sdk: &aws_config::SdkConfig,
    arn: &str,
) {
    use otp_console::repair::apprunner::AppRunnerRepairer;
    use otp_console::repair::Repair;
    let resumed = client
        .resume_service()
        .service_arn(arn)
        .send()
        .await
        .expect("ResumeService");
    let id = resumed.operation_id().expect("an operation").to_owned();
    let mut config = otp_console::config::Config::default();
    config.aws.platform = otp_console::config::Platform::AppRunner;
    config.aws.service = arn.to_owned();
    let repairer = AppRunnerRepairer::new(sdk, &config);
    // Read every 200 ms (5 s × 0.04), and never waited on for more than 30 s here.
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        repairer.follow(arn, &id, 0.04, |_| {}),
    )
    .await
    .expect("ends within 30 s")
    .expect("follows");
    assert_eq!(status, "SUCCEEDED");
    let set = Repair::Set(vec![("LOG_LEVEL".into(), "DEBUG".into())]);
    let plan = repairer.plan(&set).await.expect("plans");
    repairer.apply(&plan).await.expect("UpdateService");
    let refused = client.start_deployment().service_arn(arn).send().await;
    assert!(refused.is_err(), "a deployment while the update runs");
}

/// Every operation's type, one ListOperations page at a time, newest first.
async fn operation_kinds(client: &aws_sdk_apprunner::Client, arn: &str) -> Vec<String> {
    let mut token = None;
    let mut kinds = Vec::new();
    loop {
        let page = client
            .list_operations()
            .service_arn(arn)
            .max_results(1)
            .set_next_token(token.take())
            .send()
            .await
            .expect("ListOperations");
        kinds.extend(
            page.operation_summary_list()
                .iter()
                .filter_map(|o| o.r#type().map(|t| t.as_str().to_owned())),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    kinds
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulated_apprunner_speaks_the_model_botocore_ships() {
    let sim = Simulator::start(world(), 0.05, Ports::default())
        .await
        .expect("starts");
    let (proxy_url, seen) = recorder::recording_proxy(&sim.urls.aws).await;
    let sdk = emulator::sdk_config(
        &proxy_url,
        otp_console::sim::ACCESS_KEY_ID,
        otp_console::sim::SECRET_ACCESS_KEY,
    )
    .await;
    let client = aws_sdk_apprunner::Client::new(&sdk);
    let listed = client.list_services().send().await.expect("ListServices");
    let arn = listed.service_summary_list()[0]
        .service_arn()
        .expect("an ARN")
        .to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:apprunner:us-east-1:123456789012:service/nerava-backend/{SERVICE_ID}")
    );
    let described = client
        .describe_service()
        .service_arn(&arn)
        .send()
        .await
        .expect("DescribeService");
    let service = described.service().expect("a service");
    assert_eq!(service.status().as_str(), "PAUSED");
    let image = service
        .source_configuration()
        .and_then(|s| s.image_repository())
        .expect("an image repository");
    let vars = image
        .image_configuration()
        .and_then(|c| c.runtime_environment_variables())
        .expect("variables");
    assert_eq!(
        vars.get("OTP_PROVIDER").map(String::as_str),
        Some("twilio_verify")
    );
    let connector = service
        .network_configuration()
        .and_then(|n| n.egress_configuration())
        .and_then(|e| e.vpc_connector_arn())
        .expect("a VPC connector")
        .to_owned();
    let kinds = operation_kinds(&client, &arn).await;
    assert_eq!(kinds, ["PAUSE_SERVICE", "UPDATE_SERVICE", "CREATE_SERVICE"]);
    let vpc = client
        .describe_vpc_connector()
        .vpc_connector_arn(&connector)
        .send()
        .await
        .expect("DescribeVpcConnector");
    let subnets = vpc.vpc_connector().map(|c| c.subnets().to_vec());
    assert!(subnets.is_some_and(|s| !s.is_empty()));
    let missing = client
        .describe_service()
        .service_arn(format!("{arn}0"))
        .send()
        .await
        .expect_err("unknown");
    assert!(missing
        .into_service_error()
        .is_resource_not_found_exception());

    repairs_through(&client, &sdk, &arn).await;

    let exchanges = seen.lock().expect("lock").clone();
    let report = botocore_check(&exchanges);
    assert_eq!(report["problems"], json!([]), "{report:#}");
    let ok: Vec<&str> = report["ok"]
        .as_array()
        .expect("ok")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for op in [
        "ListServices",
        "DescribeService",
        "ListOperations",
        "DescribeVpcConnector",
        "ResumeService",
        "UpdateService",
    ] {
        assert!(ok.contains(&op), "{op} not checked: {report:#}");
    }
    // The unknown service, and the deployment refused while the update runs.
    assert_eq!(
        report["errors"],
        json!(["ResourceNotFoundException", "InvalidRequestException"]),
        "{report:#}"
    );
}

/// A deployment App Runner cannot start (the instance role may not read the secrets any more)
/// fails and rolls back as App Runner's model says: the operation ends `ROLLBACK_SUCCEEDED`, a
/// status of the model's `OperationStatus`, and the service is `RUNNING` on what it ran before.
#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_that_cannot_start_rolls_back_in_the_models_words() {
    let world = scenario::load("apprunner-instance-role-narrowed").expect("scenario");
    let sim = Simulator::start(world, 0.05, Ports::default())
        .await
        .expect("starts");
    let (proxy_url, seen) = recorder::recording_proxy(&sim.urls.aws).await;
    let sdk = emulator::sdk_config(
        &proxy_url,
        otp_console::sim::ACCESS_KEY_ID,
        otp_console::sim::SECRET_ACCESS_KEY,
    )
    .await;
    let client = aws_sdk_apprunner::Client::new(&sdk);
    let arn =
        format!("arn:aws:apprunner:us-east-1:123456789012:service/nerava-backend/{SERVICE_ID}");
    let id = client
        .start_deployment()
        .service_arn(&arn)
        .send()
        .await
        .expect("StartDeployment")
        .operation_id
        .clone();
    let mut config = otp_console::config::Config::default();
    config.aws.platform = otp_console::config::Platform::AppRunner;
    config.aws.service.clone_from(&arn);
    let repairer = otp_console::repair::apprunner::AppRunnerRepairer::new(&sdk, &config);
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        repairer.follow(&arn, &id, 0.04, |_| {}),
    )
    .await
    .expect("ends within 30 s")
    .expect("follows");
    assert_eq!(status, "ROLLBACK_SUCCEEDED");
    let service = client
        .describe_service()
        .service_arn(&arn)
        .send()
        .await
        .expect("DescribeService");
    assert_eq!(
        service.service().map(|s| s.status().as_str()),
        Some("RUNNING")
    );
    let exchanges = seen.lock().expect("lock").clone();
    let report = botocore_check(&exchanges);
    assert_eq!(report["problems"], json!([]), "{report:#}");
    let ok = report["ok"].to_string();
    for op in ["StartDeployment", "ListOperations", "DescribeService"] {
        assert!(ok.contains(op), "{op} not checked: {report:#}");
    }
}
