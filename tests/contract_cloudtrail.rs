//! Contract test of the simulated CloudTrail against AWS's own service model. moto does not
//! implement LookupEvents, so the independent reference is the model botocore ships
//! (`botocore/data/cloudtrail/2013-11-01/service-2.json`), read by botocore itself in the
//! Python of the moto virtual environment `tests/run.sh` installs (`OTP_CONSOLE_PYTHON`, or the
//! `python` beside `OTP_CONSOLE_MOTO_SERVER`):
//! - every request the console's CloudTrail probe sends (captured by a recording proxy in front
//!   of the simulator) is a LookupEvents the model accepts (`botocore.validate.ParamValidator`);
//! - every answer of the simulator parses with botocore's own JSON parser against the
//!   operation's output shape, every member it sends is declared there with the model's type,
//!   and every member the console reads is in the model;
//! - the simulator's errors for bad input are error shapes the model declares for LookupEvents.

#[path = "contract_support/emulator.rs"]
mod emulator;
#[path = "contract_support/recorder.rs"]
mod recorder;

use otp_console::probe::cloudtrail::{CloudTrailProbe, Scope};
use otp_console::sim::{scenario, Ports, Simulator};
use serde_json::{json, Value};

/// Checks the exchanges with botocore; returns its report (problems and what it parsed).
fn botocore_check(exchanges: &[recorder::Exchange]) -> Value {
    emulator::botocore_stdin(CHECK_PY, &recorder::as_json(exchanges))
}

/// Members the console's probe reads from a LookupEvents answer (`src/probe/cloudtrail.rs`).
const CONSOLE_READS: &str = r#"["NextToken", "Events", "Events[].EventId", "Events[].EventName",
 "Events[].EventTime", "Events[].EventSource", "Events[].Username", "Events[].Resources",
 "Events[].Resources[].ResourceName", "Events[].CloudTrailEvent"]"#;

const CHECK_PY: &str = r#"
import json, sys
import botocore.session
from botocore.validate import ParamValidator
from botocore.parsers import create_parser

model = botocore.session.get_session().get_service_model("cloudtrail")
op = model.operation_model("LookupEvents")
prefix = model.metadata["targetPrefix"] + "."
problems, parsed_events, errors = [], 0, []
TYPES = {"structure": dict, "list": list, "string": str, "boolean": bool,
         "integer": int, "long": int, "timestamp": (int, float), "map": dict}

def strict(value, shape, path):
    want = TYPES.get(shape.type_name)
    if want and not isinstance(value, want) or (shape.type_name in ("integer", "long", "timestamp") and isinstance(value, bool)):
        problems.append(f"{path}: {type(value).__name__} where the model has {shape.type_name}")
        return
    if shape.type_name == "structure":
        for k, v in value.items():
            if k not in shape.members:
                problems.append(f"{path}.{k}: not a member of {shape.name}")
            else:
                strict(v, shape.members[k], f"{path}.{k}")
    elif shape.type_name == "list":
        for i, v in enumerate(value):
            strict(v, shape.member, f"{path}[{i}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        problems.append(f"{path}: {value!r} not in {shape.enum}")

def declared(path):
    shape = op.output_shape
    for part in path.split("."):
        name = part.replace("[]", "")
        if shape.type_name != "structure" or name not in shape.members:
            return False
        shape = shape.members[name]
        if part.endswith("[]"):
            if shape.type_name != "list":
                return False
            shape = shape.member
    return True

error_names = {s.name for s in op.error_shapes}
data = sys.stdin.read()
for x in (json.loads(data) if data.strip() else []):
    if x["target"] != prefix + "LookupEvents" and x["target"] != "CloudTrail_20131101.LookupEvents":
        problems.append(f"target {x['target']!r} is not LookupEvents ({prefix}LookupEvents)")
    params = json.loads(x["request"] or "{}")
    report = ParamValidator().validate(params, op.input_shape)
    if report.has_errors() and x["status"] == 200:
        problems.append("request refused by the model: " + report.generate_report())
    body = x["response"].encode()
    if x["status"] == 200:
        parsed = create_parser(model.metadata["protocol"]).parse(
            {"body": body, "headers": {}, "status_code": 200}, op.output_shape)
        strict(json.loads(body), op.output_shape, "LookupEventsResponse")
        for e in parsed.get("Events", []):
            parsed_events += 1
            for k in ("EventId", "EventName", "EventTime", "EventSource", "CloudTrailEvent"):
                if k not in e:
                    problems.append(f"event without {k}")
    else:
        kind = json.loads(body).get("__type", "")
        errors.append(kind)
        if kind not in error_names and kind not in ("ThrottlingException", "AccessDeniedException"):
            problems.append(f"error {kind!r} is not declared for LookupEvents")

for path in json.loads(sys.argv[1] if len(sys.argv) > 1 else "[]"):
    if not declared(path):
        problems.append(f"{path}: read by the console, not in the model")
print(json.dumps({"problems": problems, "events": parsed_events, "errors": errors,
                  "error_names": sorted(error_names)}))
"#;

fn lookup(body: Value, key: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post("http://placeholder")
        .header(
            "x-amz-target",
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential={key}/20261130/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(body.to_string())
}

#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
async fn the_simulated_cloudtrail_speaks_the_model_botocore_ships() {
    let sim = Simulator::start(
        scenario::load("missing-env-vars").expect("loads"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("starts");
    let (proxy_url, seen) = recorder::recording_proxy(&sim.urls.aws).await;

    // The console's own probe, through the proxy.
    let sdk = emulator::sdk_config(
        &proxy_url,
        otp_console::sim::ACCESS_KEY_ID,
        otp_console::sim::SECRET_ACCESS_KEY,
    )
    .await;
    let scope = Scope {
        cluster: "nerava-cluster".into(),
        service: "nerava-backend".into(),
        family: "nerava-backend".into(),
        ..Scope::default()
    };
    let now = chrono::Utc::now().timestamp_millis();
    let changes = CloudTrailProbe::new(&sdk)
        .lookup(&scope, now - 48 * 3_600_000, now)
        .await
        .expect("LookupEvents answers");
    assert!(
        changes
            .changes
            .iter()
            .any(|c| c.action == "RegisterTaskDefinition" && c.resource == "nerava-backend:42"),
        "{changes:?}"
    );

    let http = reqwest::Client::new();
    // Paging, and the errors of bad input, through the same proxy.
    let send = |body: Value, key: &str| {
        let request = lookup(body, key).build().expect("request");
        let url = format!("{proxy_url}/");
        let http = http.clone();
        async move {
            let mut r = request;
            *r.url_mut() = url.parse().expect("url");
            let text = http
                .execute(r)
                .await
                .expect("answers")
                .text()
                .await
                .expect("body");
            serde_json::from_str::<Value>(&text).expect("JSON")
        }
    };
    let first = send(json!({ "MaxResults": 1, "LookupAttributes": [{ "AttributeKey": "ReadOnly", "AttributeValue": "false" }] }), "AKIACONTRACT00000001").await;
    let token = first["NextToken"]
        .as_str()
        .expect("a NextToken with more events left")
        .to_owned();
    send(
        json!({ "MaxResults": 1, "NextToken": token }),
        "AKIACONTRACT00000002",
    )
    .await;
    send(json!({ "LookupAttributes": [{ "AttributeKey": "EventName", "AttributeValue": "RegisterTaskDefinition" }], "StartTime": (now / 1000) - 3600 * 48, "EndTime": now / 1000 }), "AKIACONTRACT00000003").await;
    send(json!({ "MaxResults": 500 }), "AKIACONTRACT00000004").await;
    send(
        json!({ "LookupAttributes": [
        { "AttributeKey": "EventName", "AttributeValue": "A" },
        { "AttributeKey": "EventName", "AttributeValue": "B" }] }),
        "AKIACONTRACT00000005",
    )
    .await;
    send(
        json!({ "StartTime": now / 1000, "EndTime": (now / 1000) - 60 }),
        "AKIACONTRACT00000006",
    )
    .await;
    send(
        json!({ "NextToken": "not-a-token" }),
        "AKIACONTRACT00000007",
    )
    .await;

    let exchanges = seen.lock().expect("lock").clone();
    assert!(exchanges.len() >= 8, "{exchanges:?}");
    let mut report = botocore_check(&exchanges);
    // The members the console reads, checked against the model too.
    let reads: Vec<String> = serde_json::from_str(CONSOLE_READS).expect("list");
    let mut cmd = std::process::Command::new(emulator::python());
    cmd.args([
        "-c",
        CHECK_PY,
        &serde_json::to_string(&reads).expect("json"),
    ]);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("python runs");
    let declared: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    report["read_problems"] = declared["problems"].clone();
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert_eq!(report["read_problems"], json!([]), "{report:#}");
    assert!(report["events"].as_u64().unwrap_or(0) >= 4, "{report:#}");
    let errors: Vec<&str> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for kind in [
        "InvalidMaxResultsException",
        "InvalidLookupAttributesException",
        "InvalidTimeRangeException",
        "InvalidNextTokenException",
    ] {
        assert!(errors.contains(&kind), "{kind} not answered: {errors:?}");
    }
}
