//! Contract tests against Twilio's own OpenAPI descriptions (Api v2010 and Verify v2, from npm
//! `@twilio/cli-core`), served by Stoplight Prism, which nobody here wrote:
//! - the four requests our clients make (account fetch, service fetch, verification create,
//!   verification check), built with reqwest the way a Twilio client builds them (HTTP basic
//!   auth, form bodies), are accepted by `prism mock`, and what Twilio would refuse is refused;
//! - the simulator's answers to those requests validate, through `prism proxy --errors`;
//! - the descriptions' example responses carry every field our clients read.
//!
//! Prism checks paths, SID patterns, form encoding, required fields and that credentials are
//! present; it does not check credential values, phone formats or channels (README, "Contract
//! tests"). `bash tests/run.sh` installs Prism and the descriptions.

#[path = "contract_support/emulator.rs"]
mod emulator;
#[path = "contract_support/prism.rs"]
mod prism;

use std::time::Duration;

use otp_console::config::TwilioConfig;
use otp_console::probe::twilio::recent::RecentSms;
use otp_console::probe::twilio::{Fact, TwilioProbe};
use otp_console::probe::{CredentialSource, TwilioCredentials};
use otp_console::sim::{scenario, Ports, Simulator};
use prism::Prism;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use serde_json::Value;

const API_SPEC: &str = "twilio_api_v2010.json";
const VERIFY_SPEC: &str = "twilio_verify_v2.json";
const PHONE: &str = "+17133056318";

/// The fields our Twilio clients read from each answer; a rename on either side breaks them.
const ACCOUNT_FIELDS: &[&str] = &["sid", "status", "friendly_name"];
const SERVICE_FIELDS: &[&str] = &["sid", "friendly_name", "code_length"];
const VERIFICATION_FIELDS: &[&str] = &["sid", "status", "to", "channel", "valid"];
const CHECK_FIELDS: &[&str] = &["sid", "status", "to", "channel", "valid"];
/// Twilio's REST error body, as the descriptions declare it.
const ERROR_FIELDS: &[&str] = &["code", "message", "more_info", "status"];

/// The simulator of `scenario_name` behind `prism proxy --errors` of both descriptions.
async fn behind_prism(scenario_name: &str) -> (Simulator, Prism, Prism) {
    let sim = Simulator::start(
        scenario::load(scenario_name).expect("scenario"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("simulator starts");
    let (api, verify) = tokio::join!(
        Prism::proxy(API_SPEC, &sim.urls.twilio),
        Prism::proxy(VERIFY_SPEC, &sim.urls.twilio)
    );
    (sim, api, verify)
}

/// The credentials and SIDs a Twilio client is configured with.
struct Account {
    sid: String,
    token: String,
    service_sid: String,
}

impl Account {
    /// The healthy scenario's account, as the deployed task definition holds it.
    fn of_scenario() -> Self {
        let twilio = scenario::load("healthy").expect("scenario").twilio;
        Self {
            service_sid: twilio.services[0].sid.clone(),
            sid: twilio.account_sid,
            token: twilio.auth_token,
        }
    }

    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// Api v2010 FetchAccount.
    fn fetch_account(&self, api: &str) -> reqwest::RequestBuilder {
        Self::http()
            .get(format!("{api}/2010-04-01/Accounts/{}.json", self.sid))
            .basic_auth(&self.sid, Some(&self.token))
    }

    /// Verify v2 FetchService.
    fn fetch_service(&self, verify: &str) -> reqwest::RequestBuilder {
        Self::http()
            .get(format!("{verify}/v2/Services/{}", self.service_sid))
            .basic_auth(&self.sid, Some(&self.token))
    }

    /// Verify v2 CreateVerification: a form with `To` and `Channel`.
    fn create_verification(&self, verify: &str, to: &str) -> reqwest::RequestBuilder {
        Self::http()
            .post(format!(
                "{verify}/v2/Services/{}/Verifications",
                self.service_sid
            ))
            .basic_auth(&self.sid, Some(&self.token))
            .form(&[("To", to), ("Channel", "sms")])
    }

    /// Verify v2 CreateVerificationCheck: a form with `To` and `Code`.
    fn check_verification(&self, verify: &str, to: &str, code: &str) -> reqwest::RequestBuilder {
        Self::http()
            .post(format!(
                "{verify}/v2/Services/{}/VerificationCheck",
                self.service_sid
            ))
            .basic_auth(&self.sid, Some(&self.token))
            .form(&[("To", to), ("Code", code)])
    }
}

/// An answer as the test saw it.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    async fn of(request: reqwest::RequestBuilder) -> Self {
        let response = request.send().await.expect("answered");
        Self {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Prism's own answers (validation errors, violations) are `application/problem+json`.
    fn is_prism_problem(&self) -> bool {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("problem+json"))
    }

    /// Asserts Prism found nothing wrong with the exchange and the status is one of `expected`.
    fn assert_valid(&self, what: &str, expected: &[u16]) {
        assert!(
            expected.contains(&self.status) && !self.is_prism_problem(),
            "{what}: expected {expected:?} without violations, got {}: {}",
            self.status,
            self.body
        );
        assert!(
            self.headers.get("sl-violations").is_none(),
            "{what}: Prism reports violations: {:?}",
            self.headers.get("sl-violations")
        );
    }

    fn assert_has_fields(&self, what: &str, fields: &[&str]) {
        assert_fields(what, &self.json(), fields);
    }
}

fn assert_fields(what: &str, object: &Value, fields: &[&str]) {
    for field in fields {
        assert!(
            object.get(field).is_some_and(|v| !v.is_null()),
            "{what} has no `{field}`: {object:#}"
        );
    }
}

#[tokio::test]
async fn contract_client_requests_are_accepted_by_twilios_description() {
    let (api, verify) = tokio::join!(Prism::mock(API_SPEC), Prism::mock(VERIFY_SPEC));
    let account = Account::of_scenario();

    let fetched = Answer::of(account.fetch_account(api.url())).await;
    fetched.assert_valid("FetchAccount", &[200]);
    fetched.assert_has_fields("FetchAccount", ACCOUNT_FIELDS);

    let service = Answer::of(account.fetch_service(verify.url())).await;
    service.assert_valid("FetchService", &[200]);
    service.assert_has_fields("FetchService", SERVICE_FIELDS);

    let started = Answer::of(account.create_verification(verify.url(), PHONE)).await;
    started.assert_valid("CreateVerification", &[201]);
    started.assert_has_fields("CreateVerification", VERIFICATION_FIELDS);

    let checked = Answer::of(account.check_verification(verify.url(), PHONE, "123456")).await;
    // The description declares both 200 and 201 for a check; Twilio answers 200.
    checked.assert_valid("CreateVerificationCheck", &[200, 201]);
    checked.assert_has_fields("CreateVerificationCheck", CHECK_FIELDS);
}

#[tokio::test]
async fn contract_twilios_description_rejects_what_twilio_rejects() {
    let (api, verify) = tokio::join!(Prism::mock(API_SPEC), Prism::mock(VERIFY_SPEC));
    let account = Account::of_scenario();
    let http = Account::http();

    // Twilio reads form bodies only: a JSON body is the wrong media type.
    let json_body = Answer::of(
        http.post(format!(
            "{}/v2/Services/{}/Verifications",
            verify.url(),
            account.service_sid
        ))
        .basic_auth(&account.sid, Some(&account.token))
        .json(&serde_json::json!({ "To": PHONE, "Channel": "sms" })),
    )
    .await;
    assert_eq!(json_body.status, 415, "{}", json_body.body);

    // SIDs are two letters and 32 hex digits.
    let bad_service = Account {
        service_sid: "VA-not-a-service-sid".into(),
        ..Account::of_scenario()
    };
    let rejected = Answer::of(bad_service.create_verification(verify.url(), PHONE)).await;
    assert_eq!(rejected.status, 422, "{}", rejected.body);
    assert!(rejected.body.contains("pattern"), "{}", rejected.body);
    let bad_account = Account {
        sid: "AC0123".into(),
        ..Account::of_scenario()
    };
    let rejected = Answer::of(bad_account.fetch_account(api.url())).await;
    assert_eq!(rejected.status, 422, "{}", rejected.body);

    // Both form fields are required.
    let no_channel = Answer::of(
        http.post(format!(
            "{}/v2/Services/{}/Verifications",
            verify.url(),
            account.service_sid
        ))
        .basic_auth(&account.sid, Some(&account.token))
        .form(&[("To", PHONE)]),
    )
    .await;
    assert_eq!(no_channel.status, 422, "{}", no_channel.body);
    assert!(no_channel.body.contains("Channel"), "{}", no_channel.body);

    // Credentials must be present (their values are not checked by Prism).
    let anonymous = Answer::of(http.get(format!(
        "{}/v2/Services/{}",
        verify.url(),
        account.service_sid
    )))
    .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
}

#[tokio::test]
async fn contract_simulated_twilio_answers_validate_against_twilios_description() {
    let (sim, api, verify) = behind_prism("healthy").await;
    let (api_description, verify_description) =
        (Description::load(API_SPEC), Description::load(VERIFY_SPEC));
    let account = Account::of_scenario();

    let fetched = Answer::of(account.fetch_account(api.url())).await;
    fetched.assert_valid("simulated FetchAccount", &[200]);
    fetched.assert_has_fields("simulated FetchAccount", ACCOUNT_FIELDS);
    api_description.assert_declares("simulated FetchAccount", &fetched.json(), FETCH_ACCOUNT);

    let service = Answer::of(account.fetch_service(verify.url())).await;
    service.assert_valid("simulated FetchService", &[200]);
    service.assert_has_fields("simulated FetchService", SERVICE_FIELDS);
    verify_description.assert_declares("simulated FetchService", &service.json(), FETCH_SERVICE);

    let started = Answer::of(account.create_verification(verify.url(), PHONE)).await;
    started.assert_valid("simulated CreateVerification", &[201]);
    started.assert_has_fields("simulated CreateVerification", VERIFICATION_FIELDS);
    verify_description.assert_declares(
        "simulated CreateVerification",
        &started.json(),
        CREATE_VERIFICATION,
    );

    let wrong = Answer::of(account.check_verification(verify.url(), PHONE, "000000")).await;
    wrong.assert_valid("simulated CreateVerificationCheck (wrong code)", &[200]);
    assert_eq!(wrong.json()["valid"], false, "{}", wrong.body);

    let code = sim.twilio().inbox(PHONE).last().expect("SMS").code.clone();
    let checked = Answer::of(account.check_verification(verify.url(), PHONE, &code)).await;
    checked.assert_valid("simulated CreateVerificationCheck", &[200]);
    checked.assert_has_fields("simulated CreateVerificationCheck", CHECK_FIELDS);
    verify_description.assert_declares(
        "simulated CreateVerificationCheck",
        &checked.json(),
        CHECK_VERIFICATION,
    );
    assert_eq!(checked.json()["status"], "approved", "{}", checked.body);
}

/// One of Twilio's OpenAPI descriptions, parsed.
struct Description(Value);

impl Description {
    fn load(spec_name: &str) -> Self {
        Self(prism::description(spec_name))
    }

    /// The `application/json` content of the `status` response of `method path`.
    fn response(&self, path: &str, method: &str, status: &str) -> &Value {
        &self.0["paths"][path][method]["responses"][status]["content"]["application/json"]
    }

    /// The response's first example.
    fn example(&self, path: &str, method: &str, status: &str) -> Value {
        let content = self.response(path, method, status);
        let examples = content["examples"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} {status} has no examples: {content:#}"));
        examples
            .values()
            .next()
            .map(|e| e["value"].clone())
            .expect("one example")
    }

    /// The response's schema, its `$ref` resolved.
    fn schema(&self, path: &str, method: &str, status: &str) -> &Value {
        let schema = &self.response(path, method, status)["schema"];
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
                &self.0["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    /// Asserts every field of `body` is one the response's schema declares. Twilio's schemas
    /// require nothing and allow extra fields, so Prism alone would accept a renamed field.
    fn assert_declares(&self, what: &str, body: &Value, (path, method, status): Operation) {
        let properties = self.schema(path, method, status)["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} {status} declares no properties"));
        let object = body
            .as_object()
            .unwrap_or_else(|| panic!("{what}: {body:#}"));
        let undeclared: Vec<&String> = object
            .keys()
            .filter(|k| !properties.contains_key(*k))
            .collect();
        assert!(
            undeclared.is_empty(),
            "{what} sends fields Twilio's description does not declare: {undeclared:?}"
        );
    }
}

/// An operation's response: path template, method, status.
type Operation = (&'static str, &'static str, &'static str);
const FETCH_ACCOUNT: Operation = ("/2010-04-01/Accounts/{Sid}.json", "get", "200");
const FETCH_SERVICE: Operation = ("/v2/Services/{Sid}", "get", "200");
const CREATE_VERIFICATION: Operation = ("/v2/Services/{ServiceSid}/Verifications", "post", "201");
const CHECK_VERIFICATION: Operation =
    ("/v2/Services/{ServiceSid}/VerificationCheck", "post", "200");

#[test]
fn contract_description_examples_carry_the_fields_clients_read() {
    let (api, verify) = (Description::load(API_SPEC), Description::load(VERIFY_SPEC));
    let (path, method, status) = FETCH_ACCOUNT;
    let account = api.example(path, method, status);
    assert_fields("FetchAccount example", &account, ACCOUNT_FIELDS);
    assert_eq!(account["status"], "active");

    let (path, method, status) = FETCH_SERVICE;
    let service = verify.example(path, method, status);
    assert_fields("FetchService example", &service, SERVICE_FIELDS);
    assert!(service["code_length"].is_u64(), "{service:#}");

    let (path, method, status) = CREATE_VERIFICATION;
    let verification = verify.example(path, method, status);
    assert_fields(
        "CreateVerification example",
        &verification,
        VERIFICATION_FIELDS,
    );
    assert!(verification["valid"].is_boolean());

    let (path, method, status) = CHECK_VERIFICATION;
    let check = verify.example(path, method, status);
    assert_fields("CreateVerificationCheck example", &check, CHECK_FIELDS);
    assert!(check["valid"].is_boolean());
}

/// The one error answer the descriptions declare for our operations (Verify's 429) has the
/// shape of the simulator's errors, and the simulator's 429 validates against it.
#[tokio::test]
async fn contract_declared_error_shape_matches_the_simulators_errors() {
    let description = Description::load(VERIFY_SPEC);
    let (path, method, _) = CREATE_VERIFICATION;
    let declared = &description.schema(path, method, "429")["properties"];
    let mut declared: Vec<&str> = declared
        .as_object()
        .unwrap_or_else(|| panic!("no 429 error schema: {declared:#}"))
        .keys()
        .map(String::as_str)
        .collect();
    declared.sort_unstable();
    assert_eq!(declared, ERROR_FIELDS);

    // Real time: the prior sends must not age out of Verify's 10-minute window while Prism
    // starts (at 0.05 the window is 30 s, less than a loaded machine takes to start it).
    let sim = Simulator::start(
        scenario::load("rate-limited").expect("scenario"),
        1.0,
        Ports::default(),
    )
    .await
    .expect("simulator starts");
    let verify = Prism::proxy(VERIFY_SPEC, &sim.urls.twilio).await;
    let account = Account::of_scenario();
    let limited = Answer::of(account.create_verification(verify.url(), PHONE)).await;
    limited.assert_valid("simulated CreateVerification (rate limited)", &[429]);
    let body = limited.json();
    let mut fields: Vec<&str> = body
        .as_object()
        .expect("error object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ERROR_FIELDS, "{body:#}");
    assert_eq!(body["code"], 60203);
    assert_eq!(body["status"], 429);
}

/// The fields the SMS probe reads: a message's status and error, an owned number's SMS
/// capability, a Verify attempt's delivery status.
const MESSAGE_FIELDS: &[&str] = &["sid", "status", "to", "date_created"];
const NUMBER_FIELDS: &[&str] = &["sid", "phone_number", "capabilities", "friendly_name"];
const ATTEMPT_FIELDS: &[&str] = &["sid", "verification_sid", "channel_data", "date_created"];
const FROM: &str = "+18325550147";

const CREATE_MESSAGE: Operation = (
    "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    "post",
    "201",
);
const FETCH_MESSAGE: Operation = (
    "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json",
    "get",
    "200",
);
const LIST_MESSAGES: Operation = (
    "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    "get",
    "200",
);
const LIST_NUMBERS: Operation = (
    "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json",
    "get",
    "200",
);
const LIST_ATTEMPTS: Operation = ("/v2/Attempts", "get", "200");

impl Account {
    /// Api v2010 CreateMessage, as the `twilio_sms` provider and the console's test send do.
    fn create_message(&self, api: &str, to: &str) -> reqwest::RequestBuilder {
        Self::http()
            .post(format!(
                "{api}/2010-04-01/Accounts/{}/Messages.json",
                self.sid
            ))
            .basic_auth(&self.sid, Some(&self.token))
            .form(&[
                ("To", to),
                ("From", FROM),
                ("Body", "Your Nerava verification code is: 123456"),
            ])
    }

    /// Api v2010 ListMessage filtered by `To` (what the console follows after an API send)
    /// and optionally `DateSent>`.
    fn list_messages(
        &self,
        api: &str,
        to: &str,
        sent_after: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut query = vec![("To", to), ("PageSize", "20")];
        query.extend(sent_after.map(|d| ("DateSent>", d)));
        Self::http()
            .get(format!(
                "{api}/2010-04-01/Accounts/{}/Messages.json",
                self.sid
            ))
            .query(&query)
            .basic_auth(&self.sid, Some(&self.token))
    }

    /// Api v2010 FetchMessage.
    fn fetch_message(&self, api: &str, sid: &str) -> reqwest::RequestBuilder {
        Self::http()
            .get(format!(
                "{api}/2010-04-01/Accounts/{}/Messages/{sid}.json",
                self.sid
            ))
            .basic_auth(&self.sid, Some(&self.token))
    }

    /// Api v2010 ListIncomingPhoneNumber filtered by `PhoneNumber` (the From number's check).
    fn list_numbers(&self, api: &str, number: &str) -> reqwest::RequestBuilder {
        Self::http()
            .get(format!(
                "{api}/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json",
                self.sid
            ))
            .query(&[("PhoneNumber", number)])
            .basic_auth(&self.sid, Some(&self.token))
    }

    /// Verify v2 ListVerificationAttempt, by verification or by phone and service.
    fn list_attempts(&self, verify: &str, by: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut query = vec![("PageSize", "20")];
        query.extend_from_slice(by);
        Self::http()
            .get(format!("{verify}/v2/Attempts"))
            .query(&query)
            .basic_auth(&self.sid, Some(&self.token))
    }
}

#[tokio::test]
async fn contract_sms_requests_are_accepted_by_twilios_description() {
    let (api, verify) = tokio::join!(Prism::mock(API_SPEC), Prism::mock(VERIFY_SPEC));
    let account = Account::of_scenario();

    let created = Answer::of(account.create_message(api.url(), PHONE)).await;
    created.assert_valid("CreateMessage", &[201]);
    created.assert_has_fields("CreateMessage", MESSAGE_FIELDS);
    let sid = created.json()["sid"].as_str().expect("sid").to_owned();

    let fetched = Answer::of(account.fetch_message(api.url(), &sid)).await;
    fetched.assert_valid("FetchMessage", &[200]);
    fetched.assert_has_fields("FetchMessage", MESSAGE_FIELDS);
    // The description's own example of a filtered message: the code is a number.
    assert!(fetched.json()["error_code"].is_u64(), "{}", fetched.body);

    for after in [None, Some("2026-11-30T00:00:00Z")] {
        let listed = Answer::of(account.list_messages(api.url(), PHONE, after)).await;
        listed.assert_valid("ListMessage", &[200]);
        // Prism answers the description's first example, an empty page.
        let page = listed.json();
        let rows = page["messages"].as_array().expect("messages");
        for row in rows {
            assert_fields("ListMessage row", row, MESSAGE_FIELDS);
        }
    }

    let numbers = Answer::of(account.list_numbers(api.url(), FROM)).await;
    numbers.assert_valid("ListIncomingPhoneNumber", &[200]);
    assert!(
        numbers.json()["incoming_phone_numbers"].is_array(),
        "{}",
        numbers.body
    );
    // The rows the probe reads, as the description's examples show them.
    let description = Description::load(API_SPEC);
    for (operation, key, fields) in [
        (LIST_NUMBERS, "incoming_phone_numbers", NUMBER_FIELDS),
        (LIST_MESSAGES, "messages", MESSAGE_FIELDS),
    ] {
        let (path, method, status) = operation;
        let examples = &description.response(path, method, status)["examples"];
        let rows: Vec<&Value> = examples
            .as_object()
            .expect("examples")
            .values()
            .filter_map(|e| e["value"][key].as_array())
            .flatten()
            .collect();
        assert!(!rows.is_empty(), "{path}: no example rows");
        for row in rows {
            assert_fields(key, row, fields);
            if key == "incoming_phone_numbers" {
                assert!(row["capabilities"]["sms"].is_boolean(), "{row:#}");
            }
        }
    }

    let verification = format!("VE{}", "a".repeat(32));
    for by in [
        vec![("VerificationSid", verification.as_str())],
        vec![
            ("ChannelData.To", PHONE),
            ("VerifyServiceSid", account.service_sid.as_str()),
        ],
    ] {
        let attempts = Answer::of(account.list_attempts(verify.url(), &by)).await;
        attempts.assert_valid("ListVerificationAttempt", &[200]);
        assert!(attempts.json()["attempts"].is_array(), "{}", attempts.body);
    }

    // What Twilio refuses: a message without `To`, a message SID of the wrong kind.
    let no_to = Answer::of(
        Account::http()
            .post(format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                api.url(),
                account.sid
            ))
            .basic_auth(&account.sid, Some(&account.token))
            .form(&[("From", FROM), ("Body", "x")]),
    )
    .await;
    assert_eq!(no_to.status, 422, "{}", no_to.body);
    let bad_sid =
        Answer::of(account.fetch_message(api.url(), &format!("VE{}", "a".repeat(32)))).await;
    assert_eq!(bad_sid.status, 422, "{}", bad_sid.body);
}

#[tokio::test]
async fn contract_simulated_sms_answers_validate_against_twilios_description() {
    let (_sim, api, verify) = behind_prism("sms-undelivered").await;
    let (api_description, verify_description) =
        (Description::load(API_SPEC), Description::load(VERIFY_SPEC));
    let account = Account::of_scenario();

    let created = Answer::of(account.create_message(api.url(), PHONE)).await;
    created.assert_valid("simulated CreateMessage", &[201]);
    created.assert_has_fields("simulated CreateMessage", MESSAGE_FIELDS);
    api_description.assert_declares("simulated CreateMessage", &created.json(), CREATE_MESSAGE);
    let sid = created.json()["sid"].as_str().expect("sid").to_owned();

    // 1.5 nominal seconds to the carrier's verdict: 75 ms here.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fetched = Answer::of(account.fetch_message(api.url(), &sid)).await;
    fetched.assert_valid("simulated FetchMessage", &[200]);
    api_description.assert_declares("simulated FetchMessage", &fetched.json(), FETCH_MESSAGE);
    assert_eq!(fetched.json()["status"], "undelivered", "{}", fetched.body);
    assert_eq!(fetched.json()["error_code"], 30007, "{}", fetched.body);

    let listed =
        Answer::of(account.list_messages(api.url(), PHONE, Some("2020-01-01T00:00:00Z"))).await;
    listed.assert_valid("simulated ListMessage", &[200]);
    let page = listed.json();
    api_description.assert_declares("simulated ListMessage", &page, LIST_MESSAGES);
    assert_eq!(page["messages"][0]["sid"], sid.as_str(), "{page:#}");

    let numbers = Answer::of(account.list_numbers(api.url(), FROM)).await;
    numbers.assert_valid("simulated ListIncomingPhoneNumber", &[200]);
    let page = numbers.json();
    api_description.assert_declares("simulated ListIncomingPhoneNumber", &page, LIST_NUMBERS);
    let number = &page["incoming_phone_numbers"][0];
    assert_fields("simulated number", number, NUMBER_FIELDS);
    let declared = api_description.0["components"]["schemas"]
        ["api.v2010.account.incoming_phone_number"]["properties"]
        .as_object()
        .expect("number schema");
    let undeclared: Vec<&String> = number
        .as_object()
        .expect("number")
        .keys()
        .filter(|k| !declared.contains_key(*k))
        .collect();
    assert!(
        undeclared.is_empty(),
        "undeclared number fields: {undeclared:?}"
    );

    // A Verify send meets the same carrier; its attempt validates and says so.
    let started = Answer::of(account.create_verification(verify.url(), PHONE)).await;
    started.assert_valid("simulated CreateVerification", &[201]);
    let verification = started.json()["sid"].as_str().expect("sid").to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = Answer::of(
        account.list_attempts(verify.url(), &[("VerificationSid", verification.as_str())]),
    )
    .await;
    attempts.assert_valid("simulated ListVerificationAttempt", &[200]);
    let page = attempts.json();
    verify_description.assert_declares("simulated ListVerificationAttempt", &page, LIST_ATTEMPTS);
    let attempt = &page["attempts"][0];
    assert_fields("simulated attempt", attempt, ATTEMPT_FIELDS);
    let declared = verify_description.0["components"]["schemas"]["verify.v2.verification_attempt"]
        ["properties"]
        .as_object()
        .expect("attempt schema");
    assert!(
        attempt
            .as_object()
            .expect("attempt")
            .keys()
            .all(|k| declared.contains_key(k)),
        "{attempt:#}"
    );
    assert_eq!(
        attempt["channel_data"]["message_status"], "undelivered",
        "{attempt:#}"
    );

    // The refusal of a released From number is Twilio's error shape.
    let released = Simulator::start(
        scenario::load("sms-from-number-released").expect("scenario"),
        0.05,
        Ports::default(),
    )
    .await
    .expect("simulator starts");
    let api = Prism::proxy(API_SPEC, &released.urls.twilio).await;
    let refused = Answer::of(account.create_message(api.url(), PHONE)).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let body = refused.json();
    let mut fields: Vec<&str> = body
        .as_object()
        .expect("error object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ERROR_FIELDS, "{body:#}");
    assert_eq!(body["code"], 21606);
}

/// The console's own Twilio client (`TwilioProbe`) pointed at `api` and `verify`.
fn console_probe(api: &str, verify: &str) -> TwilioProbe {
    let cfg = TwilioConfig {
        api_url: api.to_owned(),
        verify_url: verify.to_owned(),
        ..TwilioConfig::default()
    };
    TwilioProbe::new(&cfg, Duration::from_secs(30)).expect("probe")
}

/// The deployed service's credentials as the console reads them, in either provider's mode.
fn console_creds(account: &Account, sms: bool) -> TwilioCredentials {
    TwilioCredentials {
        source: CredentialSource::Environment,
        account_sid: account.sid.clone(),
        auth_token: account.token.clone(),
        verify_service_sid: (!sms).then(|| account.service_sid.clone()),
        otp_provider: Some(if sms { "twilio_sms" } else { "twilio_verify" }.into()),
        from_number: sms.then(|| FROM.to_owned()),
    }
}

fn recent(fact: Fact) -> Result<RecentSms, String> {
    match fact {
        Fact::RecentSms(r) => r.map_err(|e| e.message),
        other => panic!("not a recent-SMS fact: {other:?}"),
    }
}

/// The console's passive read of real users' SMS (ListMessage from the sender, or
/// ListVerificationAttempt of the service, SMS channel, since a time) is made of requests
/// Twilio's descriptions accept, and the simulator's answers to it validate and carry what the
/// console counts: every user's SMS undelivered, with the carrier's code.
#[tokio::test]
async fn contract_recent_sms_reads_are_accepted_and_the_simulators_answers_validate() {
    let account = Account::of_scenario();
    let now = chrono::Utc::now().timestamp_millis();
    let (api, verify) = tokio::join!(Prism::mock(API_SPEC), Prism::mock(VERIFY_SPEC));
    let probe = console_probe(api.url(), verify.url());
    for sms in [true, false] {
        // Prism's examples are years old: nothing in the window, but the request was valid
        // (an invalid one is a 422 problem, an error here).
        let read = recent(probe.recent_sms(&console_creds(&account, sms), now).await);
        assert!(read.is_ok(), "sms={sms}: {read:?}");
    }

    for (scenario_name, sms, code) in [
        ("sms-undelivered", true, 30007),
        ("verify-undelivered", false, 30008),
    ] {
        let (_sim, api, verify) = behind_prism(scenario_name).await;
        let probe = console_probe(api.url(), verify.url());
        let read = recent(
            probe
                .recent_sms(
                    &console_creds(&account, sms),
                    chrono::Utc::now().timestamp_millis(),
                )
                .await,
        )
        .unwrap_or_else(|e| panic!("{scenario_name}: {e}"));
        let read = read.tally(read.since_ms);
        assert!(read.mostly_failing(), "{scenario_name}: {read:?}");
        assert_eq!(read.delivered, 0, "{scenario_name}: {read:?}");
        assert_eq!(
            read.codes.first().map(|c| c.0),
            Some(code),
            "{scenario_name}: {read:?}"
        );
    }
}
