//! Contract tests for IAM's policy simulator (`SimulatePrincipalPolicy`), which moto does not
//! implement: the reference is AWS's own service model for IAM as botocore ships it. The
//! console's real probe talks to the simulator through a recording proxy; each recorded
//! exchange goes to `contract_support/botocore_check.py`, which decodes the request through the
//! model's input shape (an undeclared parameter fails) and validates it with botocore's
//! ParamValidator, then checks that every element of the simulator's XML answer is declared by
//! the output shape and parses it with botocore's own query parser. The test then compares
//! botocore's reading with the console's.

#[path = "contract_support/emulator.rs"]
#[macro_use]
mod emulator;
#[path = "contract_support/recorder.rs"]
mod recorder;

use otp_console::probe::secrets::{RoleAccess, SecretsProbe};
use otp_console::sim::{self, scenario, Ports, Simulator};
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/nerava-backend-execution";
const DENIED: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/twilio/auth-token-Qw3rTy";

/// One exchange as the checker reads it: the request's form, the status and the answer.
#[derive(Debug, Clone)]
struct Exchange {
    request: String,
    status: u16,
    response: String,
}

impl From<&recorder::Exchange> for Exchange {
    fn from(e: &recorder::Exchange) -> Self {
        Self {
            request: e.request_text(),
            status: e.status,
            response: e.response_text(),
        }
    }
}

/// botocore's verdict on one exchange: its reading of the request's parameters and of the
/// answer, or the reasons the exchange does not conform to the model.
fn botocore(operation: &str, exchange: &Exchange) -> Result<Value, String> {
    let moto = emulator::installed(
        "OTP_CONSOLE_MOTO_SERVER",
        "moto/bin/moto_server",
        "moto's virtual environment (botocore comes with it)",
    );
    let python = moto.with_file_name("python");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contract_support/botocore_check.py"
    );
    let mut child = std::process::Command::new(python)
        .args([script, "iam", operation])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    let input = json!({
        "request": exchange.request,
        "status": exchange.status,
        "response": exchange.response,
    });
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(input.to_string().as_bytes())
            .expect("writes");
    }
    let out = child.wait_with_output().expect("finishes");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("botocore's JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn simulator() -> Simulator {
    Simulator::start(
        scenario::load("execution-role-denied").expect("loads"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("starts")
}

/// The console's own probe asks about every secret of the deployed revision; the request is
/// what the model declares, the answer parses as the model says, and botocore reads the same
/// decisions the console shows.
#[tokio::test(flavor = "multi_thread")]
async fn contract_iam_simulate_principal_policy_matches_botocores_model() {
    let sim = simulator().await;
    let (proxy, seen) = recorder::recording_proxy(&sim.urls.aws).await;
    let sdk = emulator::sdk_config(&proxy, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY).await;
    let probe = SecretsProbe::new(&sdk);
    let names = [
        ("TWILIO_AUTH_TOKEN".to_owned(), DENIED.to_owned()),
        (
            "DATABASE_URL".to_owned(),
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nerava/prod/database-AbCdEf"
                .to_owned(),
        ),
        (
            "TWILIO_VERIFY_SERVICE_SID".to_owned(),
            "arn:aws:ssm:us-east-1:123456789012:parameter/nerava/prod/twilio-verify-service-sid"
                .to_owned(),
        ),
    ];
    let (mut resolved, _values) = probe.resolve_all(names.iter().map(|(n, v)| (n, v))).await;
    probe.check_role(Some(ROLE), &mut resolved).await;

    let exchanges: Vec<Exchange> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(Exchange::from)
        .filter(|e| e.request.starts_with("Action=SimulatePrincipalPolicy"))
        .collect();
    assert_eq!(exchanges.len(), 2, "one call per action: {exchanges:?}");
    let mut decisions = Vec::new();
    for exchange in &exchanges {
        let read = botocore("SimulatePrincipalPolicy", exchange)
            .unwrap_or_else(|why| panic!("does not conform to IAM's model:\n{why}\n{exchange:?}"));
        assert_eq!(read["params"]["PolicySourceArn"], ROLE);
        for result in read["parsed"]["EvaluationResults"]
            .as_array()
            .expect("results")
        {
            decisions.push((
                result["EvalResourceName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                result["EvalDecision"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
    }
    // What botocore read is what the console shows, secret by secret.
    for r in &resolved {
        let arn = r.arn.clone().expect("the simulator answers the ARN");
        let botocore = decisions
            .iter()
            .find(|(resource, _)| *resource == arn)
            .map_or_else(
                || panic!("botocore read no decision for {arn}: {decisions:?}"),
                |(_, d)| d.as_str(),
            );
        match (&r.role_access, botocore) {
            (Some(RoleAccess::Allowed { .. }), "allowed") => {}
            (Some(RoleAccess::Denied { iam_decision, .. }), d) if iam_decision == d => {}
            (console, d) => panic!("{}: console {console:?}, botocore {d}", r.name),
        }
    }
    assert!(
        decisions.contains(&(DENIED.to_owned(), "implicitDeny".to_owned())),
        "{decisions:?}"
    );
}

/// A hand-written request with a parameter IAM's model does not declare, and an answer with an
/// undeclared element, are both refused: the checker itself can fail.
#[test]
fn contract_iam_checker_refuses_what_the_model_does_not_declare() {
    let good = Exchange {
        request: format!(
            "Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn={ROLE}&ActionNames.member.1=ssm%3AGetParameters"
        ),
        status: 200,
        response: "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><SimulatePrincipalPolicyResult><EvaluationResults><member><EvalActionName>ssm:GetParameters</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>allowed</EvalDecision></member></EvaluationResults><IsTruncated>false</IsTruncated></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>".into(),
    };
    botocore("SimulatePrincipalPolicy", &good).expect("a conforming exchange passes");
    let mut extra_param = good.clone();
    extra_param.request.push_str("&RoleName=x");
    let why = botocore("SimulatePrincipalPolicy", &extra_param).expect_err("refused");
    assert!(why.contains("RoleName is not in the model"), "{why}");
    let mut extra_element = good.clone();
    extra_element.response = extra_element
        .response
        .replace("<EvalDecision>", "<Decision>x</Decision><EvalDecision>");
    let why = botocore("SimulatePrincipalPolicy", &extra_element).expect_err("refused");
    assert!(why.contains("Decision is not in the model"), "{why}");
    let mut missing = good;
    missing.request = missing
        .request
        .replace(&format!("&PolicySourceArn={ROLE}"), "");
    let why = botocore("SimulatePrincipalPolicy", &missing).expect_err("refused");
    assert!(why.contains("PolicySourceArn"), "{why}");
}
