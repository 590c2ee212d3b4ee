//! The simulated Twilio: one listener answering both `api.twilio.com` (Api v2010 account
//! fetch) and `verify.twilio.com` (Verify v2 service fetch, Verifications, VerificationCheck)
//! paths, with Twilio's HTTP Basic auth, JSON shapes and error bodies, so the console's real
//! Twilio client and the backend's Twilio SDK calls run against it unchanged. Codes it sends
//! land in per-phone inboxes (`GET /_sim/inbox/{phone}`) so the demo can show the SMS arrive.
//! [`verify`] keeps the bookkeeping, [`error`] the error shape, [`ids`] codes, SIDs and dates.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::clock::SimClock;
pub(crate) use error::TwilioError;
use messages::{Fate, Outbox, Stage};
use verify::{AttemptRecord, CheckOutcome, CheckTarget, Ledger, Verification};

/// Twilio's REST error body and the codes the simulator answers with.
mod error;
/// splitmix64 codes and SIDs, SID and phone validation, Twilio's date formats.
pub(crate) mod ids;
/// Sent messages and their status over simulated time.
pub mod messages;
/// Monitor: the account's alerts (written when an error is answered) and events.
pub mod monitor;
/// Pending verifications, the per-phone send limit and the inboxes.
mod verify;

/// Verify's nominal window: verifications expire and send limits reset after 10 minutes.
const VERIFY_WINDOW: Duration = Duration::from_secs(10 * 60);
/// When the simulated account was opened (2023-03-14), fixed so renders are stable.
const ACCOUNT_CREATED_MS: i64 = 1_678_795_200_000;
/// When the simulated Verify services were created (2023-06-01).
const SERVICE_CREATED_MS: i64 = 1_685_620_800_000;
const VERIFY_BASE: &str = "https://verify.twilio.com/v2";
/// When the simulated phone numbers were bought (2023-03-15).
const NUMBER_CREATED_MS: i64 = 1_678_881_600_000;
/// Rows per page of a list, as Twilio's default `PageSize`.
const PAGE_SIZE: usize = 50;

/// An account's lifecycle state, as Api v2010 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    #[default]
    Active,
    Suspended,
    Closed,
}

impl AccountStatus {
    /// The word Twilio uses for this status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Closed => "closed",
        }
    }
}

/// One Verify service of the account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyServiceSetup {
    /// `VA` + 32 hex digits.
    pub sid: String,
    /// Shown in the SMS: "Your `friendly_name` verification code is: …".
    pub friendly_name: String,
    #[serde(default = "default_code_length")]
    pub code_length: u32,
}

fn default_code_length() -> u32 {
    6
}

/// A phone number the account owns (IncomingPhoneNumbers).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneNumberSetup {
    /// `PN` + 32 hex digits.
    pub sid: String,
    /// E.164.
    pub phone_number: String,
    pub friendly_name: String,
    /// Whether the number can send SMS (its `capabilities.sms`).
    #[serde(default = "yes")]
    pub sms: bool,
    #[serde(default = "yes")]
    pub voice: bool,
}

fn yes() -> bool {
    true
}

/// A Messaging Service (`MG…`) and the numbers in its sender pool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingServiceSetup {
    /// `MG` + 32 hex digits.
    pub sid: String,
    pub friendly_name: String,
    /// E.164 numbers of the account in the pool.
    #[serde(default)]
    pub senders: Vec<String>,
}

/// Sends to `phone` made "earlier" in the current window, before the simulation started.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorSends {
    pub phone: String,
    pub count: u32,
}

/// The scenario file's `[twilio]` table: the account as Twilio knows it.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioSetup {
    /// `AC` + 32 hex digits.
    pub account_sid: String,
    /// Twilio's current token; the deployed service may hold an older one.
    pub auth_token: String,
    pub friendly_name: String,
    pub status: AccountStatus,
    pub services: Vec<VerifyServiceSetup>,
    /// Verify's per-phone send limit within the (scaled) 10-minute window.
    pub max_sends_per_phone: u32,
    pub prior_sends: Vec<PriorSends>,
    /// E.164 number whose inbox the demo reads.
    pub demo_phone: String,
    /// Seeds the codes and SIDs, so a scenario replays identically.
    pub seed: u64,
    /// Nominal seconds every Twilio API call takes before answering (a slow Twilio).
    pub latency_secs: f64,
    /// The numbers the account owns today; a message `From` any other is refused (21606).
    pub phone_numbers: Vec<PhoneNumberSetup>,
    /// The destination carrier refuses SMS with this error code after Twilio sent them
    /// (30007: its spam filter blocks them); Verify's SMS meet the same carrier.
    pub carrier_refuses: Option<u32>,
    /// The destinations that carrier serves, as number prefixes (`+1832555011` for
    /// +18325550110–19): only SMS to them are refused, the rest reach other carriers that
    /// deliver. Empty: it serves every destination.
    pub carrier_serves: Vec<String>,
    /// The account's Messaging Services (`messaging.twilio.com/v1/Services`).
    pub messaging_services: Vec<MessagingServiceSetup>,
}

impl Default for TwilioSetup {
    fn default() -> Self {
        Self {
            account_sid: "AC5e1f0c7a9b2d4e6f8a1b3c5d7e9f0a2b".into(),
            auth_token: "9d3b7f1e5a2c4d6e8f0a1b3c5d7e9f2a".into(),
            friendly_name: "Nerava Production".into(),
            status: AccountStatus::Active,
            services: vec![VerifyServiceSetup {
                sid: "VA3c8e2a6f0b4d1e7a9c5b3d1f7e2a4c6b".into(),
                friendly_name: "Nerava".into(),
                code_length: default_code_length(),
            }],
            max_sends_per_phone: 5,
            prior_sends: Vec::new(),
            demo_phone: "+17133056318".into(),
            seed: 0,
            latency_secs: 0.0,
            phone_numbers: vec![PhoneNumberSetup {
                sid: "PN4d2c8e6a0b1f3d5e7a9c1b3d5f7e9a0c".into(),
                phone_number: "+18325550147".into(),
                friendly_name: "Nerava OTP".into(),
                sms: true,
                voice: true,
            }],
            carrier_refuses: None,
            carrier_serves: Vec::new(),
            messaging_services: Vec::new(),
        }
    }
}

// Written by hand so the auth token never reaches a log or a panic message.
impl fmt::Debug for TwilioSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSetup")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"***")
            .field("friendly_name", &self.friendly_name)
            .field("status", &self.status)
            .field("services", &self.services)
            .field("max_sends_per_phone", &self.max_sends_per_phone)
            .field("prior_sends", &self.prior_sends)
            .field("demo_phone", &self.demo_phone)
            .field("seed", &self.seed)
            .field("latency_secs", &self.latency_secs)
            .field("phone_numbers", &self.phone_numbers)
            .field("carrier_refuses", &self.carrier_refuses)
            .field("carrier_serves", &self.carrier_serves)
            .field("messaging_services", &self.messaging_services)
            .finish()
    }
}

/// Whether the refusing carrier serves `to`: it serves the numbers under one of `serves`'
/// prefixes, or every number when `serves` is empty.
pub fn refuses(serves: &[String], to: &str) -> bool {
    serves.is_empty() || serves.iter().any(|prefix| to.starts_with(prefix.as_str()))
}

/// An SMS (or call, e-mail, `WhatsApp` message) Verify delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxMessage {
    pub to: String,
    pub body: String,
    pub code: String,
    pub received_at_ms: i64,
    pub verification_sid: String,
}

/// How the backend sends a user's code, as the task's environment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSend {
    /// `OTP_PROVIDER=twilio_sms`: a message from this number (or Messaging Service).
    Sms { from: String },
    /// `twilio_verify`: a verification through this service.
    Verify { service_sid: String },
}

/// The simulated Twilio account; routers hold it as `Arc<Twilio>`.
pub struct Twilio {
    setup: TwilioSetup,
    clock: SimClock,
    ledger: Mutex<Ledger>,
    outbox: Mutex<Outbox>,
    monitor: Mutex<monitor::Monitor>,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The setup's own Debug leaves the auth token out.
        f.debug_struct("Twilio")
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

impl Twilio {
    /// The account of `setup`, with its prior sends counted from now.
    pub fn new(setup: &TwilioSetup, clock: SimClock) -> Arc<Self> {
        let mut ledger = Ledger::new(setup.seed, setup.max_sends_per_phone);
        let now = clock.now_ms();
        for prior in &setup.prior_sends {
            ledger.record_prior_sends(&prior.phone, prior.count, now);
        }
        if let Some(code) = setup.carrier_refuses {
            ledger.refuse_sms_with(code, &setup.carrier_serves);
        }
        Arc::new(Self {
            setup: setup.clone(),
            clock,
            ledger: Mutex::new(ledger),
            outbox: Mutex::new(Outbox::new(setup.seed)),
            monitor: Mutex::new(monitor::Monitor::new(setup.seed)),
        })
    }

    fn monitor(&self) -> MutexGuard<'_, monitor::Monitor> {
        // Every change is one push: consistent even if a holder panicked.
        self.monitor.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The messages delivered to `phone`, oldest first: Verify's codes, and the account's own
    /// messages once the carrier reported them delivered.
    pub fn inbox(&self, phone: &str) -> Vec<InboxMessage> {
        let mut inbox = self.ledger().inbox(phone);
        let now = self.clock.now_ms();
        let scaled = |d| self.scaled_ms(d);
        inbox.extend(
            self.outbox()
                .newest_first()
                .filter(|m| m.to == phone)
                .filter_map(|m| {
                    let stage = messages::stage_at(m.created_ms, m.fate, now, scaled);
                    (stage == Stage::Delivered).then(|| InboxMessage {
                        to: m.to.clone(),
                        body: m.body.clone(),
                        code: code_in(&m.body),
                        received_at_ms: messages::reached_at(m.created_ms, stage, scaled),
                        verification_sid: m.sid.clone(),
                    })
                }),
        );
        inbox.sort_by_key(|m| m.received_at_ms);
        inbox
    }

    /// Records the send a background user's OTP start had the backend make at `at_ms`, as
    /// the account keeps it: a message from the sender (`twilio_sms`) or a Verify attempt
    /// (`twilio_verify`), meeting the destination carrier like every SMS of the account.
    pub fn record_user_send(&self, send: &UserSend, to: &str, at_ms: i64) {
        match send {
            UserSend::Sms { from } => {
                let fate = self.sms_fate(to);
                let code = 100_000 + (at_ms.unsigned_abs() % 900_000);
                let body = format!("Your Nerava code is {code}");
                self.outbox().create_for_user(to, from, &body, at_ms, fate);
            }
            UserSend::Verify { service_sid } => {
                self.ledger().record_user_attempt(service_sid, to, at_ms);
            }
        }
    }

    /// What the destination carrier does with an SMS of the account.
    /// What the destination's carrier does with an SMS to `to`.
    fn sms_fate(&self, to: &str) -> Fate {
        match self.setup.carrier_refuses {
            Some(code) if refuses(&self.setup.carrier_serves, to) => Fate::Undelivered(code),
            _ => Fate::Delivered,
        }
    }

    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        // Like the ledger: every change is one push.
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn scaled_ms(&self, nominal: Duration) -> i64 {
        self.clock.scaled(nominal).as_millis() as i64
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // The ledger stays consistent even if a holder panicked: every change is one push.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits the scenario's latency, scaled; nonsense values (negative, NaN) mean none.
    async fn stall(&self) {
        let latency = self.setup.latency_secs;
        if latency.is_finite() && latency > 0.0 {
            self.clock
                .sleep(Duration::from_secs_f64(latency.min(86_400.0)))
                .await;
        }
    }

    fn window_ms(&self) -> i64 {
        self.clock.scaled(VERIFY_WINDOW).as_millis() as i64
    }

    /// Accepts only the account SID with the current auth token.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(), TwilioError> {
        match basic_credentials(headers) {
            Some((user, password))
                if user == self.setup.account_sid && password == self.setup.auth_token =>
            {
                Ok(())
            }
            _ => Err(TwilioError::authenticate()),
        }
    }

    /// Authenticates a Verify call and finds its service.
    fn service(
        &self,
        headers: &HeaderMap,
        sid: &str,
        resource: &str,
    ) -> Result<&VerifyServiceSetup, TwilioError> {
        self.authenticate(headers)?;
        if self.setup.status != AccountStatus::Active {
            return Err(TwilioError::account_not_active());
        }
        self.setup
            .services
            .iter()
            .find(|s| s.sid == sid)
            .ok_or_else(|| TwilioError::not_found(resource))
    }

    fn account_json(&self) -> Value {
        let sid = &self.setup.account_sid;
        let base = format!("/2010-04-01/Accounts/{sid}");
        let subresources = [
            ("available_phone_numbers", "AvailablePhoneNumbers"),
            ("calls", "Calls"),
            ("conferences", "Conferences"),
            ("incoming_phone_numbers", "IncomingPhoneNumbers"),
            ("notifications", "Notifications"),
            ("outgoing_caller_ids", "OutgoingCallerIds"),
            ("recordings", "Recordings"),
            ("transcriptions", "Transcriptions"),
            ("addresses", "Addresses"),
            ("signing_keys", "SigningKeys"),
            ("connect_apps", "ConnectApps"),
            ("sip", "SIP"),
            ("authorized_connect_apps", "AuthorizedConnectApps"),
            ("usage", "Usage"),
            ("keys", "Keys"),
            ("applications", "Applications"),
            ("short_codes", "SMS/ShortCodes"),
            ("queues", "Queues"),
            ("messages", "Messages"),
            ("balance", "Balance"),
        ];
        let subresource_uris: serde_json::Map<String, Value> = subresources
            .iter()
            .map(|(key, path)| ((*key).to_owned(), json!(format!("{base}/{path}.json"))))
            .collect();
        let created = ids::rfc2822(ACCOUNT_CREATED_MS);
        // Real Twilio includes `auth_token` here; the simulator never serves a secret.
        json!({
            "date_created": created,
            "date_updated": created,
            "friendly_name": self.setup.friendly_name,
            "owner_account_sid": sid,
            "sid": sid,
            "status": self.setup.status.as_str(),
            "subresource_uris": subresource_uris,
            "type": "Full",
            "uri": format!("{base}.json"),
        })
    }

    fn service_json(&self, service: &VerifyServiceSetup) -> Value {
        let url = format!("{VERIFY_BASE}/Services/{}", service.sid);
        let created = ids::iso8601(SERVICE_CREATED_MS);
        json!({
            "sid": service.sid,
            "account_sid": self.setup.account_sid,
            "friendly_name": service.friendly_name,
            "code_length": service.code_length,
            "lookup_enabled": true,
            "psd2_enabled": false,
            "skip_sms_to_landlines": false,
            "dtmf_input_required": true,
            "tts_name": null,
            "do_not_share_warning_enabled": false,
            "custom_code_enabled": false,
            "push": {"include_date": false, "apn_credential_sid": null, "fcm_credential_sid": null},
            "totp": {"issuer": service.friendly_name, "time_step": 30, "code_length": 6, "skew": 1},
            "whatsapp": {"msg_service_sid": null, "from": null},
            "passkeys": {
                "relying_party": {"id": null, "name": null, "origins": null},
                "authenticator_attachment": null,
                "discoverable_credentials": null,
                "user_verification": null,
            },
            "default_template_sid": null,
            "verify_event_subscription_enabled": false,
            "date_created": created,
            "date_updated": created,
            "url": url,
            "links": {
                "verification_checks": format!("{url}/VerificationCheck"),
                "verifications": format!("{url}/Verifications"),
                "rate_limits": format!("{url}/RateLimits"),
                "messaging_configurations": format!("{url}/MessagingConfigurations"),
                "entities": format!("{url}/Entities"),
                "webhooks": format!("{url}/Webhooks"),
                "access_tokens": format!("{url}/AccessTokens"),
            },
        })
    }

    fn verification_json(&self, v: &Verification) -> Value {
        let attempts: Vec<Value> = v
            .attempts
            .iter()
            .map(|a| {
                json!({
                    "attempt_sid": a.sid,
                    // Twilio's own example spells the SMS channel in capitals here.
                    "channel": if a.channel == "sms" { "SMS" } else { a.channel.as_str() },
                    "time": ids::iso8601(a.at_ms),
                })
            })
            .collect();
        json!({
            "sid": v.sid,
            "service_sid": v.service_sid,
            "account_sid": self.setup.account_sid,
            "to": v.to,
            "channel": v.channel,
            "status": "pending",
            "valid": false,
            "lookup": {},
            "amount": null,
            "payee": null,
            "send_code_attempts": attempts,
            "date_created": ids::iso8601(v.created_ms),
            "date_updated": ids::iso8601(v.updated_ms),
            "sna": null,
            "url": format!("{VERIFY_BASE}/Services/{}/Verifications/{}", v.service_sid, v.sid),
        })
    }

    fn check_json(&self, v: &Verification, is_approved: bool) -> Value {
        json!({
            "sid": v.sid,
            "service_sid": v.service_sid,
            "account_sid": self.setup.account_sid,
            "to": v.to,
            "channel": v.channel,
            "status": if is_approved { "approved" } else { "pending" },
            "valid": is_approved,
            "amount": null,
            "payee": null,
            "date_created": ids::iso8601(v.created_ms),
            "date_updated": ids::iso8601(v.updated_ms),
            "sna_attempts_error_codes": [],
        })
    }
}

impl Twilio {
    /// Authenticates an Api v2010 call under `/Accounts/{account}/…`: another account's path
    /// is not found.
    fn account_call(
        &self,
        headers: &HeaderMap,
        account: &str,
        uri: &Uri,
    ) -> Result<(), TwilioError> {
        self.authenticate(headers)?;
        if account == self.setup.account_sid {
            Ok(())
        } else {
            Err(TwilioError::not_found(uri.path()))
        }
    }

    fn message_json(&self, m: &messages::Message, now_ms: i64) -> Value {
        let scaled = |d| self.scaled_ms(d);
        let stage = messages::stage_at(m.created_ms, m.fate, now_ms, scaled);
        let account = &self.setup.account_sid;
        let uri = format!("/2010-04-01/Accounts/{account}/Messages/{}.json", m.sid);
        let sent = (stage != Stage::Queued)
            .then(|| ids::rfc2822(messages::reached_at(m.created_ms, Stage::Sent, scaled)));
        let segments = m.body.chars().count().div_ceil(160).max(1);
        let (from, service) = self.sender_of(m);
        json!({
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": m.body,
            "date_created": ids::rfc2822(m.created_ms),
            "date_sent": sent,
            "date_updated": ids::rfc2822(messages::reached_at(m.created_ms, stage, scaled)),
            "direction": "outbound-api",
            "error_code": stage.error_code(),
            "error_message": stage.error_message(),
            "from": from,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": segments.to_string(),
            "price": if stage == Stage::Queued { Value::Null } else { json!("-0.00790") },
            "price_unit": "USD",
            "sid": m.sid,
            "status": stage.status(),
            "subresource_uris": {
                "media": format!("/2010-04-01/Accounts/{account}/Messages/{}/Media.json", m.sid),
            },
            "to": m.to,
            "uri": uri,
        })
    }

    /// A message's `from` and `messaging_service_sid` as Twilio lists them: sent through a
    /// Messaging Service (kept as its SID), the service and the pool's number.
    fn sender_of<'a>(&'a self, m: &'a messages::Message) -> (&'a str, Option<&'a str>) {
        match self
            .setup
            .messaging_services
            .iter()
            .find(|s| s.sid == m.from)
        {
            Some(s) => (
                s.senders.first().map_or("", String::as_str),
                Some(s.sid.as_str()),
            ),
            None => (m.from.as_str(), None),
        }
    }

    fn number_json(&self, n: &PhoneNumberSetup) -> Value {
        let account = &self.setup.account_sid;
        let created = ids::rfc2822(NUMBER_CREATED_MS);
        json!({
            "account_sid": account,
            "address_requirements": "none",
            "address_sid": null,
            "api_version": "2010-04-01",
            "beta": false,
            "bundle_sid": null,
            "capabilities": { "fax": false, "mms": n.sms, "sms": n.sms, "voice": n.voice },
            "date_created": created,
            "date_updated": created,
            "emergency_address_sid": null,
            "emergency_address_status": "unregistered",
            "emergency_status": "Inactive",
            "friendly_name": n.friendly_name,
            "identity_sid": null,
            "origin": "twilio",
            "phone_number": n.phone_number,
            "sid": n.sid,
            "sms_application_sid": null,
            "sms_fallback_method": "POST",
            "sms_fallback_url": null,
            "sms_method": "POST",
            "sms_url": null,
            "status": "in-use",
            "status_callback": null,
            "status_callback_method": "POST",
            "trunk_sid": null,
            "type": "local",
            "uri": format!("/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{}.json", n.sid),
            "voice_application_sid": null,
            "voice_caller_id_lookup": false,
            "voice_fallback_method": "POST",
            "voice_fallback_url": null,
            "voice_method": "POST",
            "voice_receive_mode": "voice",
            "voice_url": null,
        })
    }

    fn attempt_json(&self, a: &AttemptRecord, now_ms: i64) -> Value {
        let scaled = |d| self.scaled_ms(d);
        let stage = messages::stage_at(a.at_ms, a.fate, now_ms, scaled);
        let mut channel_data = json!({
            "to": a.to,
            "message_status": stage.status(),
        });
        if let Some(code) = stage.error_code() {
            channel_data["error_code"] = json!(code.to_string());
        }
        json!({
            "sid": a.sid,
            "account_sid": self.setup.account_sid,
            "service_sid": a.service_sid,
            "verification_sid": a.verification_sid,
            "date_created": ids::iso8601(a.at_ms),
            "date_updated": ids::iso8601(messages::reached_at(a.at_ms, stage, scaled)),
            "conversion_status": if a.converted { "converted" } else { "unconverted" },
            "channel": a.channel,
            "price": null,
            "channel_data": channel_data,
            "url": format!("{VERIFY_BASE}/Attempts/{}", a.sid),
        })
    }
}

/// One page of an Api v2010 list: `rows` under `key`, with Twilio's paging fields.
fn v2010_page(uri: &Uri, key: &str, rows: Vec<Value>, page_size: usize) -> Value {
    let path = uri.path();
    let end = rows.len().saturating_sub(1);
    json!({
        key: rows,
        "end": end,
        "first_page_uri": format!("{path}?PageSize={page_size}&Page=0"),
        "next_page_uri": null,
        "page": 0,
        "page_size": page_size,
        "previous_page_uri": null,
        "start": 0,
        "uri": format!("{path}?PageSize={page_size}&Page=0"),
    })
}

/// Query parameters by name (first value wins), or none when the query is not a form.
fn query_params(query: Result<Query<Vec<(String, String)>>, QueryRejection>) -> Params {
    let mut params = HashMap::new();
    if let Ok(Query(pairs)) = query {
        for (name, value) in pairs {
            params.entry(name).or_insert(value);
        }
    }
    Params(params)
}

/// Whether a message sent at `sent_ms` passes a `DateSent` filter: `YYYY-MM-DD` compares the
/// UTC day, a date-time (`YYYY-MM-DDThh:mm:ssZ`, as the description types it) the instant.
fn date_matches(sent_ms: i64, filter: &str, keep: fn(std::cmp::Ordering) -> bool) -> bool {
    if filter.len() == 10 {
        return keep(ids::day(sent_ms).as_str().cmp(filter));
    }
    let text = if filter.ends_with('Z') || filter.contains('+') {
        filter.to_owned()
    } else {
        format!("{filter}Z")
    };
    chrono::DateTime::parse_from_rfc3339(&text)
        .is_ok_and(|at| keep((sent_ms / 1000).cmp(&at.timestamp())))
}

/// `PageSize`, 1 to 1000, Twilio's default 50.
fn page_size(params: &Params) -> usize {
    params
        .get("PageSize")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=1000).contains(n))
        .unwrap_or(PAGE_SIZE)
}

/// The 6-digit (or longer) code in an SMS body: its last run of digits.
fn code_in(body: &str) -> String {
    body.split(|c: char| !c.is_ascii_digit())
        .rfind(|run| run.len() >= 4)
        .unwrap_or_default()
        .to_owned()
}

/// The `(username, password)` of an HTTP Basic `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Form parameters by name (first value wins). Twilio reads only form bodies: anything else
/// (JSON, a wrong content type) arrives as no parameters, and the call fails on the first
/// required one, as it does against the real API.
struct Params(HashMap<String, String>);

impl Params {
    fn from_form(form: Result<Form<Vec<(String, String)>>, FormRejection>) -> Self {
        let mut params = HashMap::new();
        if let Ok(Form(pairs)) = form {
            for (name, value) in pairs {
                params.entry(name).or_insert(value);
            }
        }
        Self(params)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, TwilioError> {
        self.get(name)
            .ok_or_else(|| TwilioError::missing_parameter(name))
    }
}

/// The single path segment captured, or Twilio's 404 for an undecodable one.
fn segment(path: Result<Path<String>, PathRejection>, uri: &Uri) -> Result<String, TwilioError> {
    path.map(|Path(s)| s)
        .map_err(|_| TwilioError::not_found(&resource_name(uri)))
}

/// The resource as Twilio names it in 20404 messages: Verify drops its `/v2` prefix.
fn resource_name(uri: &Uri) -> String {
    let path = uri.path();
    path.strip_prefix("/v2")
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(path)
        .to_owned()
}

/// The router serving Twilio's paths and the simulator's inbox.
pub fn router(twilio: Arc<Twilio>) -> Router {
    Router::new()
        .route("/2010-04-01/Accounts/{file}", get(fetch_account))
        .route("/v2/Services/{sid}", get(fetch_service))
        .route(
            "/v2/Services/{sid}/Verifications",
            post(create_verification),
        )
        .route("/v2/Services/{sid}/VerificationCheck", post(create_check))
        .route("/v2/Attempts", get(list_attempts))
        .route("/v1/Services/{sid}", get(fetch_messaging_service))
        .route(
            "/v1/Services/{sid}/PhoneNumbers",
            get(list_messaging_senders),
        )
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            get(list_messages).post(create_message),
        )
        .route(
            "/2010-04-01/Accounts/{sid}/Messages/{file}",
            get(fetch_message),
        )
        .route(
            "/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json",
            get(list_numbers),
        )
        .route("/_sim/inbox/{phone}", get(read_inbox))
        .route("/v1/Alerts", get(monitor::list_alerts))
        .route("/v1/Alerts/{sid}", get(monitor::fetch_alert))
        .route("/v1/Events", get(monitor::list_events))
        .fallback(|uri: Uri| async move { TwilioError::not_found(&resource_name(&uri)) })
        .method_not_allowed_fallback(|| async { TwilioError::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&twilio),
            monitor::record_alerts,
        ))
        .with_state(twilio)
}

async fn fetch_account(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    twilio.authenticate(&headers)?;
    let file = segment(path, &uri)?;
    match file.strip_suffix(".json") {
        Some(sid) if sid == twilio.setup.account_sid => Ok(Json(twilio.account_json())),
        _ => Err(TwilioError::not_found(&resource_name(&uri))),
    }
}

async fn fetch_service(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    let sid = segment(path, &uri)?;
    let service = twilio.service(&headers, &sid, &resource_name(&uri))?;
    Ok(Json(twilio.service_json(service)))
}

async fn create_verification(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, TwilioError> {
    twilio.stall().await;
    let sid = segment(path, &uri)?;
    let service = twilio.service(&headers, &sid, &resource_name(&uri))?;
    let params = Params::from_form(form);
    let to = params.require("To")?;
    let channel = params.require("Channel")?;
    if !matches!(channel, "sms" | "call" | "email" | "whatsapp" | "sna") {
        return Err(TwilioError::invalid_parameter("Channel", channel));
    }
    let is_valid_to = if channel == "email" {
        is_email(to)
    } else {
        ids::is_e164(to)
    };
    if !is_valid_to {
        return Err(TwilioError::invalid_parameter("To", to));
    }
    let now = twilio.clock.now_ms();
    let verification = twilio
        .ledger()
        .start(service, to, channel, now, twilio.window_ms())?;
    Ok((
        StatusCode::CREATED,
        Json(twilio.verification_json(&verification)),
    )
        .into_response())
}

async fn create_check(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    let sid = segment(path, &uri)?;
    let resource = resource_name(&uri);
    let service = twilio.service(&headers, &sid, &resource)?;
    let params = Params::from_form(form);
    let target = match (params.get("To"), params.get("VerificationSid")) {
        (_, Some(verification_sid)) if !ids::is_sid(verification_sid, "VE") => {
            return Err(TwilioError::invalid_parameter(
                "VerificationSid",
                verification_sid,
            ));
        }
        (_, Some(verification_sid)) => CheckTarget::Sid(verification_sid),
        (Some(to), None) => CheckTarget::To(to),
        (None, None) => {
            return Err(TwilioError::verify_invalid(
                "Either a 'To' number or 'VerificationSid' must be specified",
            ));
        }
    };
    let code = params.require("Code")?;
    let now = twilio.clock.now_ms();
    let outcome = twilio
        .ledger()
        .check(&service.sid, target, code, now, twilio.window_ms())?;
    match outcome {
        Some(CheckOutcome::Approved(v)) => Ok(Json(twilio.check_json(&v, true))),
        Some(CheckOutcome::Wrong(v)) => Ok(Json(twilio.check_json(&v, false))),
        None => Err(TwilioError::not_found(&resource)),
    }
}

async fn create_message(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, TwilioError> {
    twilio.stall().await;
    let account = segment(path, &uri)?;
    twilio.account_call(&headers, &account, &uri)?;
    if twilio.setup.status != AccountStatus::Active {
        return Err(TwilioError::account_not_active());
    }
    let params = Params::from_form(form);
    let to = params
        .get("To")
        .ok_or_else(|| TwilioError::messaging(21604, "A 'To' phone number is required."))?;
    if !ids::is_e164(to) {
        return Err(TwilioError::messaging(
            21211,
            format!("Invalid 'To' Phone Number: {to}"),
        ));
    }
    // Twilio takes a Messaging Service SID in `From` as well as in `MessagingServiceSid`
    // (error 21603's page: "You can provide any of the above sender types in your From
    // parameter"); the service then picks the sender.
    let from_param = params.get("From");
    let service_in_from = from_param.filter(|f| f.starts_with("MG"));
    let from = match (
        from_param.filter(|f| !f.starts_with("MG")),
        params.get("MessagingServiceSid").or(service_in_from),
    ) {
        (Some(from), _) => from,
        (None, Some(service)) => {
            let pool = twilio
                .setup
                .messaging_services
                .iter()
                .find(|s| s.sid == service)
                .ok_or_else(|| {
                    TwilioError::messaging(
                        21701,
                        format!("The Messaging Service Sid {service} is invalid."),
                    )
                })?;
            // The pool's first SMS-capable number of the account sends it.
            pool.senders
                .iter()
                .find(|n| {
                    twilio
                        .setup
                        .phone_numbers
                        .iter()
                        .any(|p| &p.phone_number == *n && p.sms)
                })
                .map(String::as_str)
                .ok_or_else(|| {
                    TwilioError::messaging(21704, "The Messaging Service contains no phone numbers")
                })?
        }
        (None, None) => {
            return Err(TwilioError::messaging(
                21603,
                "A 'From' phone number is required.",
            ))
        }
    };
    let body = params
        .get("Body")
        .ok_or_else(|| TwilioError::messaging(21602, "Message body is required."))?;
    if !ids::is_e164(from) {
        return Err(TwilioError::messaging(
            21212,
            format!("Invalid 'From' Phone Number: {from}"),
        ));
    }
    if !twilio
        .setup
        .phone_numbers
        .iter()
        .any(|n| n.phone_number == from && n.sms)
    {
        return Err(TwilioError::from_not_owned(from));
    }
    let fate = twilio.sms_fate(to);
    let now = twilio.clock.now_ms();
    // Sent through a Messaging Service, the message keeps the service (listed with it).
    let sender = match (params.get("From"), params.get("MessagingServiceSid")) {
        (None, Some(service)) => service,
        _ => from,
    };
    let message = twilio.outbox().create(to, sender, body, now, fate);
    Ok((
        StatusCode::CREATED,
        Json(twilio.message_json(&message, now)),
    )
        .into_response())
}

async fn fetch_message(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    let (account, file) = path
        .map(|Path(p)| p)
        .map_err(|_| TwilioError::not_found(uri.path()))?;
    twilio.account_call(&headers, &account, &uri)?;
    let now = twilio.clock.now_ms();
    let outbox = twilio.outbox();
    file.strip_suffix(".json")
        .and_then(|sid| outbox.get(sid))
        .map(|m| Json(twilio.message_json(m, now)))
        .ok_or_else(|| TwilioError::not_found(uri.path()))
}

async fn list_messages(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    let account = segment(path, &uri)?;
    twilio.account_call(&headers, &account, &uri)?;
    let params = query_params(query);
    let size = page_size(&params);
    let now = twilio.clock.now_ms();
    let scaled = |d| twilio.scaled_ms(d);
    let rows: Vec<Value> = twilio
        .outbox()
        .newest_first()
        // A user's code the backend will send later (after a stall) is not sent yet.
        .filter(|m| m.created_ms <= now)
        .filter(|m| params.get("To").is_none_or(|to| m.to == to))
        .filter(|m| {
            params
                .get("From")
                .is_none_or(|from| twilio.sender_of(m).0 == from)
        })
        .filter(|m| {
            let stage = messages::stage_at(m.created_ms, m.fate, now, scaled);
            let sent = (stage != Stage::Queued)
                .then(|| messages::reached_at(m.created_ms, Stage::Sent, scaled));
            let filters = [
                (
                    params.get("DateSent"),
                    std::cmp::Ordering::is_eq as fn(_) -> bool,
                ),
                (params.get("DateSent<"), std::cmp::Ordering::is_le),
                (params.get("DateSent>"), std::cmp::Ordering::is_ge),
            ];
            filters.iter().all(|(value, keep)| {
                value.is_none_or(|v| sent.is_some_and(|ms| date_matches(ms, v, *keep)))
            })
        })
        .take(size)
        .map(|m| twilio.message_json(m, now))
        .collect();
    Ok(Json(v2010_page(&uri, "messages", rows, size)))
}

async fn list_numbers(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    let account = segment(path, &uri)?;
    twilio.account_call(&headers, &account, &uri)?;
    let params = query_params(query);
    let size = page_size(&params);
    // Twilio matches `PhoneNumber` as a pattern: any part of the number.
    let wanted = params
        .get("PhoneNumber")
        .map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>());
    let rows: Vec<Value> = twilio
        .setup
        .phone_numbers
        .iter()
        .filter(|n| wanted.as_deref().is_none_or(|w| n.phone_number.contains(w)))
        .filter(|n| {
            params
                .get("FriendlyName")
                .is_none_or(|f| n.friendly_name == f)
        })
        .take(size)
        .map(|n| twilio.number_json(n))
        .collect();
    Ok(Json(v2010_page(&uri, "incoming_phone_numbers", rows, size)))
}

async fn list_attempts(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    twilio.authenticate(&headers)?;
    if twilio.setup.status != AccountStatus::Active {
        return Err(TwilioError::account_not_active());
    }
    let params = query_params(query);
    let size = page_size(&params);
    let now = twilio.clock.now_ms();
    let rows: Vec<Value> = twilio
        .ledger()
        .attempts()
        .filter(|a| a.at_ms <= now)
        .filter(|a| {
            params
                .get("VerificationSid")
                .is_none_or(|v| a.verification_sid == v)
        })
        .filter(|a| {
            params
                .get("VerifyServiceSid")
                .is_none_or(|v| a.service_sid == v)
        })
        .filter(|a| params.get("ChannelData.To").is_none_or(|v| a.to == v))
        .filter(|a| {
            params
                .get("DateCreatedAfter")
                .is_none_or(|v| date_matches(a.at_ms, v, std::cmp::Ordering::is_ge))
        })
        .filter(|a| {
            params
                .get("DateCreatedBefore")
                .is_none_or(|v| date_matches(a.at_ms, v, std::cmp::Ordering::is_le))
        })
        .filter(|a| {
            params
                .get("Channel")
                .is_none_or(|v| a.channel.eq_ignore_ascii_case(v))
        })
        .filter(|a| {
            params.get("Status").is_none_or(|v| {
                v.eq_ignore_ascii_case(if a.converted {
                    "converted"
                } else {
                    "unconverted"
                })
            })
        })
        .take(size)
        .map(|a| twilio.attempt_json(a, now))
        .collect();
    let url = format!("{VERIFY_BASE}{}", resource_name(&uri));
    Ok(Json(json!({
        "attempts": rows,
        "meta": {
            "page": 0,
            "page_size": size,
            "first_page_url": format!("{url}?PageSize={size}&Page=0"),
            "previous_page_url": null,
            "url": format!("{url}?PageSize={size}&Page=0"),
            "next_page_url": null,
            "key": "attempts",
        },
    })))
}

/// Authenticates a Messaging v1 call and finds its service (20404 otherwise).
fn messaging_service<'a>(
    twilio: &'a Twilio,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    uri: &Uri,
) -> Result<&'a MessagingServiceSetup, TwilioError> {
    twilio.authenticate(headers)?;
    let sid = path
        .map(|Path(s)| s)
        .map_err(|_| TwilioError::not_found(uri.path()))?;
    twilio
        .setup
        .messaging_services
        .iter()
        .find(|s| s.sid == sid)
        .ok_or_else(|| TwilioError::not_found(uri.path().trim_start_matches("/v1")))
}

async fn fetch_messaging_service(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    let service = messaging_service(&twilio, &headers, path, &uri)?;
    let url = format!("https://messaging.twilio.com/v1/Services/{}", service.sid);
    let created = ids::iso8601(SERVICE_CREATED_MS);
    Ok(Json(json!({
        "sid": service.sid,
        "account_sid": twilio.setup.account_sid,
        "friendly_name": service.friendly_name,
        "date_created": created,
        "date_updated": created,
        "inbound_request_url": null,
        "inbound_method": "POST",
        "fallback_url": null,
        "fallback_method": "POST",
        "status_callback": null,
        "sticky_sender": true,
        "mms_converter": true,
        "smart_encoding": true,
        "scan_message_content": "inherit",
        "fallback_to_long_code": true,
        "area_code_geomatch": true,
        "validity_period": 14400,
        "synchronous_validation": true,
        "usecase": "otp",
        "us_app_to_person_registered": false,
        "use_inbound_webhook_on_number": false,
        "url": url,
        "links": {
            "phone_numbers": format!("{url}/PhoneNumbers"),
            "short_codes": format!("{url}/ShortCodes"),
            "alpha_senders": format!("{url}/AlphaSenders"),
        },
    })))
}

async fn list_messaging_senders(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, TwilioError> {
    twilio.stall().await;
    let service = messaging_service(&twilio, &headers, path, &uri)?;
    let url = format!(
        "https://messaging.twilio.com/v1/Services/{}/PhoneNumbers",
        service.sid
    );
    let created = ids::iso8601(NUMBER_CREATED_MS);
    let rows: Vec<Value> = service
        .senders
        .iter()
        .filter_map(|n| {
            twilio
                .setup
                .phone_numbers
                .iter()
                .find(|p| &p.phone_number == n)
        })
        .map(|n| {
            let mut capabilities = Vec::new();
            if n.sms {
                capabilities.extend(["SMS", "MMS"]);
            }
            if n.voice {
                capabilities.push("Voice");
            }
            json!({
                "sid": n.sid,
                "account_sid": twilio.setup.account_sid,
                "service_sid": service.sid,
                "date_created": created,
                "date_updated": created,
                "phone_number": n.phone_number,
                "country_code": "US",
                "capabilities": capabilities,
                "url": format!("{url}/{}", n.sid),
            })
        })
        .collect();
    Ok(Json(json!({
        "phone_numbers": rows,
        "meta": {
            "page": 0,
            "page_size": PAGE_SIZE,
            "first_page_url": format!("{url}?PageSize={PAGE_SIZE}&Page=0"),
            "previous_page_url": null,
            "url": format!("{url}?PageSize={PAGE_SIZE}&Page=0"),
            "next_page_url": null,
            "key": "phone_numbers",
        },
    })))
}

async fn read_inbox(
    State(twilio): State<Arc<Twilio>>,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, TwilioError> {
    let phone = segment(path, &uri)?;
    let messages = twilio.inbox(&phone);
    Ok(Json(json!({ "phone": phone, "messages": messages })))
}

/// A loose e-mail check, enough to tell an address from a phone number.
fn is_email(to: &str) -> bool {
    to.split_once('@')
        .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
}

#[cfg(test)]
// A failed unwrap in a test is a failed test, with the value in the message.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::Client;

    const PHONE: &str = "+17133056318";

    struct Sim {
        base: String,
        twilio: Arc<Twilio>,
        setup: TwilioSetup,
        client: Client,
    }

    impl Sim {
        async fn start(setup: TwilioSetup, scale: f64) -> Self {
            let twilio = Twilio::new(&setup, SimClock::new(scale));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app = router(twilio.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
            Self {
                base: format!("http://{addr}"),
                twilio,
                setup,
                client: Client::new(),
            }
        }

        fn service_sid(&self) -> &str {
            &self.setup.services[0].sid
        }

        async fn send(&self, request: reqwest::RequestBuilder, token: &str) -> (u16, Value) {
            let response = request
                .basic_auth(&self.setup.account_sid, Some(token))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert_eq!(
                response.headers()["content-type"].to_str().unwrap(),
                "application/json"
            );
            (status, response.json().await.unwrap())
        }

        async fn get(&self, path: &str) -> (u16, Value) {
            let request = self.client.get(format!("{}{path}", self.base));
            self.send(request, &self.setup.auth_token).await
        }

        async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
            let request = self.client.post(format!("{}{path}", self.base)).form(form);
            self.send(request, &self.setup.auth_token).await
        }

        async fn start_verification(&self, to: &str) -> (u16, Value) {
            let path = format!("/v2/Services/{}/Verifications", self.service_sid());
            self.post(&path, &[("To", to), ("Channel", "sms")]).await
        }

        async fn check(&self, form: &[(&str, &str)]) -> (u16, Value) {
            let path = format!("/v2/Services/{}/VerificationCheck", self.service_sid());
            self.post(&path, form).await
        }
    }

    fn assert_twilio_error(body: &Value, status: u16, code: u64) {
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
        assert!(body["message"].is_string());
    }

    #[tokio::test]
    async fn fetches_the_account_without_its_token() {
        let sim = Sim::start(TwilioSetup::default(), 1.0).await;
        let sid = sim.setup.account_sid.clone();
        let (status, body) = sim.get(&format!("/2010-04-01/Accounts/{sid}.json")).await;
        assert_eq!(status, 200);
        assert_eq!(body["sid"], sid.as_str());
        assert_eq!(body["owner_account_sid"], sid.as_str());
        assert_eq!(body["status"], "active");
        assert_eq!(body["type"], "Full");
        assert_eq!(body["friendly_name"], "Nerava Production");
        assert_eq!(body["uri"], format!("/2010-04-01/Accounts/{sid}.json"));
        assert_eq!(body["date_created"], "Tue, 14 Mar 2023 12:00:00 +0000");
        assert!(body["subresource_uris"]["messages"].is_string());
        assert!(body.get("auth_token").is_none());
        assert!(!body.to_string().contains(&sim.setup.auth_token));
    }

    #[tokio::test]
    async fn wrong_or_missing_credentials_answer_20003() {
        let sim = Sim::start(TwilioSetup::default(), 1.0).await;
        let url = format!(
            "{}/2010-04-01/Accounts/{}.json",
            sim.base, sim.setup.account_sid
        );
        let response = sim
            .client
            .get(&url)
            .basic_auth(&sim.setup.account_sid, Some("old-token"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            "Basic realm=\"Twilio API\""
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"code": 20003, "message": "Authenticate",
                   "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
        );
        let anonymous = sim.client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        let garbage = sim
            .client
            .get(&url)
            .header("authorization", "Basic !!!not-base64")
            .send()
            .await
            .unwrap();
        assert_eq!(garbage.status().as_u16(), 401);

        let path = format!("/v2/Services/{}", sim.service_sid());
        let request = sim.client.get(format!("{}{path}", sim.base));
        let (status, body) = sim.send(request, "old-token").await;
        assert_eq!(status, 401);
        assert_twilio_error(&body, 401, 20003);
    }

    #[tokio::test]
    async fn unknown_account_service_and_path_answer_20404() {
        let sim = Sim::start(TwilioSetup::default(), 1.0).await;
        let other = format!("AC{}", "0".repeat(32));
        let (status, body) = sim.get(&format!("/2010-04-01/Accounts/{other}.json")).await;
        assert_eq!(status, 404);
        assert_twilio_error(&body, 404, 20404);
        assert_eq!(
            body["message"],
            format!("The requested resource /2010-04-01/Accounts/{other}.json was not found")
        );

        let missing = format!("VA{}", "f".repeat(32));
        let (status, body) = sim.get(&format!("/v2/Services/{missing}")).await;
        assert_eq!(status, 404);
        assert_eq!(
            body["message"],
            format!("The requested resource /Services/{missing} was not found")
        );
        let path = format!("/v2/Services/{missing}/Verifications");
        let (status, body) = sim.post(&path, &[("To", PHONE), ("Channel", "sms")]).await;
        assert_eq!(status, 404);
        assert_twilio_error(&body, 404, 20404);

        let (status, body) = sim.get("/v2/Nothing/here").await;
        assert_eq!(status, 404);
        assert_twilio_error(&body, 404, 20404);
        let (status, body) = sim
            .get(&format!("/v2/Services/{}/Verifications", sim.service_sid()))
            .await;
        assert_eq!(status, 405);
        assert_twilio_error(&body, 405, 20004);
    }

    #[tokio::test]
    async fn fetches_the_verify_service() {
        let sim = Sim::start(TwilioSetup::default(), 1.0).await;
        let sid = sim.service_sid().to_owned();
        let (status, body) = sim.get(&format!("/v2/Services/{sid}")).await;
        assert_eq!(status, 200);
        assert_eq!(body["sid"], sid.as_str());
        assert_eq!(body["account_sid"], sim.setup.account_sid.as_str());
        assert_eq!(body["friendly_name"], "Nerava");
        assert_eq!(body["code_length"], 6);
        for key in [
            "lookup_enabled",
            "psd2_enabled",
            "skip_sms_to_landlines",
            "dtmf_input_required",
            "tts_name",
            "do_not_share_warning_enabled",
            "custom_code_enabled",
            "push",
            "totp",
            "whatsapp",
            "passkeys",
            "default_template_sid",
            "verify_event_subscription_enabled",
        ] {
            assert!(body.get(key).is_some(), "{key}");
        }
        assert_eq!(body["date_created"], "2023-06-01T12:00:00Z");
        assert_eq!(
            body["url"],
            format!("https://verify.twilio.com/v2/Services/{sid}")
        );
        assert_eq!(
            body["links"]["verifications"],
            format!("https://verify.twilio.com/v2/Services/{sid}/Verifications")
        );
    }

    #[tokio::test]
    async fn sends_a_code_that_lands_in_the_inbox_and_approves_once() {
        let sim = Sim::start(TwilioSetup::default(), 1.0).await;
        let (status, body) = sim.start_verification(PHONE).await;
        assert_eq!(status, 201);
        let sid = body["sid"].as_str().unwrap().to_owned();
        assert!(ids::is_sid(&sid, "VE"));
        assert_eq!(body["service_sid"], sim.service_sid());
        assert_eq!(body["account_sid"], sim.setup.account_sid.as_str());
        assert_eq!(body["to"], PHONE);
        assert_eq!(body["channel"], "sms");
        assert_eq!(body["status"], "pending");
        assert_eq!(body["valid"], false);
        assert_eq!(body["amount"], Value::Null);
        assert_eq!(body["payee"], Value::Null);
        assert_eq!(body["sna"], Value::Null);
        assert!(body["lookup"].is_object());
        let attempt = &body["send_code_attempts"][0];
        assert!(ids::is_sid(attempt["attempt_sid"].as_str().unwrap(), "VL"));
        assert_eq!(attempt["channel"], "SMS");
        assert!(body["date_created"].as_str().unwrap().ends_with('Z'));
        assert!(body["url"].as_str().unwrap().ends_with(&sid));

        // The inbox, both through the API and over HTTP.
        let inbox = sim.twilio.inbox(PHONE);
        assert_eq!(inbox.len(), 1);
        let code = inbox[0].code.clone();
        assert_eq!(code.len(), 6);
        assert_eq!(
            inbox[0].body,
            format!("Your Nerava verification code is: {code}")
        );
        assert_eq!(inbox[0].verification_sid, sid);
        let http_inbox: Value = reqwest::get(format!("{}/_sim/inbox/%2B17133056318", sim.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(http_inbox["phone"], PHONE);
        assert_eq!(http_inbox["messages"][0]["code"], code.as_str());

        // Wrong code: still pending.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, body) = sim.check(&[("To", PHONE), ("Code", wrong)]).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "pending");
        assert_eq!(body["valid"], false);

        // Right code: approved, then consumed.
        let (status, body) = sim
            .check(&[("VerificationSid", &sid), ("Code", &code)])
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "approved");
        assert_eq!(body["valid"], true);
        assert_eq!(body["sid"], sid.as_str());
        assert_eq!(body["to"], PHONE);
        assert_eq!(body["channel"], "sms");
        assert_eq!(body["sna_attempts_error_codes"], json!([]));
        let (status, body) = sim.check(&[("To", PHONE), ("Code", &code)]).await;
        assert_eq!(status, 404);
        assert_twilio_error(&body, 404, 20404);
        assert_eq!(
            body["message"],
            format!(
                "The requested resource /Services/{}/VerificationCheck was not found",
                sim.service_sid()
            )
        );
    }

    #[tokio::test]
    async fn codes_are_deterministic_per_seed() {
        let first = Sim::start(TwilioSetup::default(), 1.0).await;
        let second = Sim::start(TwilioSetup::default(), 1.0).await;
        let (_, a) = first.start_verification(PHONE).await;
        let (_, b) = second.start_verification(PHONE).await;
        assert_eq!(a["sid"], b["sid"]);
        assert_eq!(
            first.twilio.inbox(PHONE)[0].code,
            second.twilio.inbox(PHONE)[0].code
        );
        let reseeded = Sim::start(
            TwilioSetup {
                seed: 1,
                ..TwilioSetup::default()
            },
            1.0,
        )
        .await;
        let (_, c) = reseeded.start_verification(PHONE).await;
        assert_ne!(a["sid"], c["sid"]);
    }

    #[tokio::test]
    async fn rejects_bad_parameters_with_60200() {
        let sim = Sim::start(TwilioSetup::default(), 1.0).await;
        let (status, body) = sim.start_verification("7133056318").await;
        assert_eq!(status, 400);
        assert_twilio_error(&body, 400, 60200);
        assert_eq!(body["message"], "Invalid parameter `To`: 7133056318");

        let path = format!("/v2/Services/{}/Verifications", sim.service_sid());
        let (status, body) = sim
            .post(&path, &[("To", PHONE), ("Channel", "pigeon")])
            .await;
        assert_eq!(status, 400);
        assert_twilio_error(&body, 400, 60200);
        let (status, body) = sim.post(&path, &[("Channel", "sms")]).await;
        assert_eq!(status, 400);
        assert_eq!(body["message"], "Missing required parameter To.");

        // A JSON body is not a form: Twilio sees no parameters at all.
        let request = sim
            .client
            .post(format!("{}{path}", sim.base))
            .json(&json!({"To": PHONE, "Channel": "sms"}));
        let (status, body) = sim.send(request, &sim.setup.auth_token).await;
        assert_eq!(status, 400);
        assert_twilio_error(&body, 400, 60200);

        let (status, _) = sim.check(&[("Code", "123456")]).await;
        assert_eq!(status, 400);
        let (status, _) = sim
            .check(&[("VerificationSid", "VEnope"), ("Code", "1")])
            .await;
        assert_eq!(status, 400);
        assert!(sim.twilio.inbox(PHONE).is_empty());
    }

    #[tokio::test]
    async fn prior_sends_exhaust_the_limit_until_the_window_passes() {
        let setup = TwilioSetup {
            prior_sends: vec![PriorSends {
                phone: PHONE.into(),
                count: 5,
            }],
            ..TwilioSetup::default()
        };
        // 10 nominal minutes last 120 ms at this scale.
        let sim = Sim::start(setup, 0.0002).await;
        let (status, body) = sim.start_verification(PHONE).await;
        assert_eq!(status, 429);
        assert_eq!(
            body,
            json!({"code": 60203, "message": "Max send attempts reached",
                   "more_info": "https://www.twilio.com/docs/errors/60203", "status": 429})
        );
        assert!(sim.twilio.inbox(PHONE).is_empty());
        let (status, _) = sim.start_verification("+15005550006").await;
        assert_eq!(status, 201);

        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, _) = sim.start_verification(PHONE).await;
        assert_eq!(status, 201);
    }

    #[tokio::test]
    async fn verifications_expire_after_ten_scaled_minutes() {
        let sim = Sim::start(TwilioSetup::default(), 0.0002).await;
        let (status, _) = sim.start_verification(PHONE).await;
        assert_eq!(status, 201);
        let code = sim.twilio.inbox(PHONE)[0].code.clone();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, body) = sim.check(&[("To", PHONE), ("Code", &code)]).await;
        assert_eq!(status, 404);
        assert_twilio_error(&body, 404, 20404);
    }

    #[tokio::test]
    async fn suspended_account_is_visible_but_cannot_verify() {
        let setup = TwilioSetup {
            status: AccountStatus::Suspended,
            ..TwilioSetup::default()
        };
        let sim = Sim::start(setup, 1.0).await;
        let sid = sim.setup.account_sid.clone();
        let (status, body) = sim.get(&format!("/2010-04-01/Accounts/{sid}.json")).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "suspended");

        let (status, body) = sim.start_verification(PHONE).await;
        assert_eq!(status, 401);
        assert_twilio_error(&body, 401, 20005);
        let (status, body) = sim
            .get(&format!("/v2/Services/{}", sim.service_sid()))
            .await;
        assert_eq!(status, 401);
        assert_twilio_error(&body, 401, 20005);
        assert!(sim.twilio.inbox(PHONE).is_empty());
    }

    #[tokio::test]
    async fn latency_slows_every_twilio_call_by_the_scaled_amount() {
        let setup = TwilioSetup {
            latency_secs: 1000.0,
            ..TwilioSetup::default()
        };
        // 1000 nominal seconds are 100 ms at this scale.
        let sim = Sim::start(setup, 0.0001).await;
        let started = std::time::Instant::now();
        let (status, _) = sim.start_verification(PHONE).await;
        assert_eq!(status, 201);
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    fn messages_path(sim: &Sim) -> String {
        format!(
            "/2010-04-01/Accounts/{}/Messages.json",
            sim.setup.account_sid
        )
    }

    async fn send_sms(sim: &Sim, from: &str) -> (u16, Value) {
        sim.post(
            &messages_path(sim),
            &[
                ("To", PHONE),
                ("From", from),
                ("Body", "Your Nerava verification code is: 424242"),
            ],
        )
        .await
    }

    #[tokio::test]
    async fn a_message_goes_queued_sent_delivered_and_lands_in_the_inbox() {
        // 1 nominal second is 20 ms: sent after 10 ms, delivered after 30 ms.
        let sim = Sim::start(TwilioSetup::default(), 0.02).await;
        let (status, body) = send_sms(&sim, "+18325550147").await;
        assert_eq!(status, 201, "{body}");
        let sid = body["sid"].as_str().unwrap().to_owned();
        assert!(ids::is_sid(&sid, "SM"));
        assert_eq!(body["status"], "queued");
        assert_eq!(body["to"], PHONE);
        assert_eq!(body["from"], "+18325550147");
        assert_eq!(body["direction"], "outbound-api");
        assert_eq!(body["date_sent"], Value::Null);
        assert_eq!(body["error_code"], Value::Null);
        assert_eq!(body["num_segments"], "1");
        assert!(sim.twilio.inbox(PHONE).is_empty());

        tokio::time::sleep(Duration::from_millis(60)).await;
        let path = format!(
            "/2010-04-01/Accounts/{}/Messages/{sid}.json",
            sim.setup.account_sid
        );
        let (status, body) = sim.get(&path).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "delivered");
        assert!(body["date_sent"].as_str().unwrap().ends_with("+0000"));
        let inbox = sim.twilio.inbox(PHONE);
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].code, "424242");
        assert_eq!(inbox[0].verification_sid, sid);

        let (status, body) = sim
            .get(&format!(
                "/2010-04-01/Accounts/{}/Messages/SM{}.json",
                sim.setup.account_sid,
                "0".repeat(32)
            ))
            .await;
        assert_eq!(status, 404);
        assert_twilio_error(&body, 404, 20404);
    }

    #[tokio::test]
    async fn a_filtering_carrier_leaves_the_message_undelivered_with_30007() {
        let setup = TwilioSetup {
            carrier_refuses: Some(30007),
            ..TwilioSetup::default()
        };
        // Time scale 0.2: `sent` from 100 ms, the carrier's verdict at 300 ms, so a busy machine
        // has 150 ms of slack either side of the first look.
        let sim = Sim::start(setup, 0.2).await;
        let (status, body) = send_sms(&sim, "+18325550147").await;
        assert_eq!(status, 201);
        let sid = body["sid"].as_str().unwrap().to_owned();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (_, list) = sim
            .get(&format!("{}?To=%2B17133056318", messages_path(&sim)))
            .await;
        assert_eq!(list["messages"][0]["status"], "sent", "{list}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, list) = sim
            .get(&format!("{}?To=%2B17133056318", messages_path(&sim)))
            .await;
        let message = &list["messages"][0];
        assert_eq!(message["sid"], sid.as_str());
        assert_eq!(message["status"], "undelivered");
        assert_eq!(message["error_code"], 30007);
        assert!(sim.twilio.inbox(PHONE).is_empty());
    }

    #[tokio::test]
    async fn users_codes_are_listed_with_their_sender_and_service() {
        let service = format!("MG{}", "1".repeat(32));
        let setup = TwilioSetup {
            messaging_services: vec![MessagingServiceSetup {
                sid: service.clone(),
                friendly_name: "Nerava OTP".into(),
                senders: vec!["+18325550147".into()],
            }],
            ..TwilioSetup::default()
        };
        let sim = Sim::start(setup, 0.02).await;
        let now = sim.twilio.clock.now_ms();
        let user = "+18325550123";
        sim.twilio.record_user_send(
            &UserSend::Sms {
                from: service.clone(),
            },
            user,
            now - 60_000,
        );
        sim.twilio.record_user_send(
            &UserSend::Sms {
                from: "+18325550147".into(),
            },
            user,
            now - 30_000,
        );
        // Sent later (a stalled backend): not listed yet.
        sim.twilio.record_user_send(
            &UserSend::Sms {
                from: "+18325550147".into(),
            },
            user,
            now + 60_000,
        );
        let (_, list) = sim.get(&messages_path(&sim)).await;
        let rows = list["messages"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{list:#}");
        assert_eq!(rows[0]["messaging_service_sid"], Value::Null);
        assert_eq!(rows[1]["messaging_service_sid"], service.as_str());
        assert_eq!(rows[1]["from"], "+18325550147", "the pool's number");
        assert!(rows.iter().all(|r| r["status"] == "delivered"), "{list:#}");
        // A send through the service (as the console's own test SMS may go) is listed the
        // same way, answered and listed, and `From=` finds it by the pool's number.
        let (status, created) = sim
            .post(
                &messages_path(&sim),
                &[
                    ("To", PHONE),
                    ("MessagingServiceSid", service.as_str()),
                    ("Body", "Your Nerava verification code is: 424242"),
                ],
            )
            .await;
        assert_eq!(status, 201, "{created:#}");
        assert_eq!(created["messaging_service_sid"], service.as_str());
        assert_eq!(created["from"], "+18325550147");
        let (_, by_from) = sim
            .get(&format!("{}?From=%2B18325550147", messages_path(&sim)))
            .await;
        let rows = by_from["messages"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "{by_from:#}");
        assert_eq!(rows[0]["messaging_service_sid"], service.as_str());
        assert_eq!(rows[0]["to"], PHONE);
    }

    #[tokio::test]
    async fn messages_list_filters_by_to_and_date_sent() {
        let sim = Sim::start(TwilioSetup::default(), 0.02).await;
        send_sms(&sim, "+18325550147").await;
        sim.post(
            &messages_path(&sim),
            &[
                ("To", "+15005550006"),
                ("From", "+18325550147"),
                ("Body", "x 111111"),
            ],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (status, all) = sim.get(&messages_path(&sim)).await;
        assert_eq!(status, 200);
        assert_eq!(all["messages"].as_array().unwrap().len(), 2);
        assert_eq!(all["messages"][0]["to"], "+15005550006", "newest first");
        assert_eq!(all["page"], 0);
        assert_eq!(all["page_size"], 50);
        assert_eq!(all["next_page_uri"], Value::Null);
        let (_, to) = sim
            .get(&format!("{}?To=%2B17133056318", messages_path(&sim)))
            .await;
        assert_eq!(to["messages"].as_array().unwrap().len(), 1);
        let today = ids::day(sim.twilio.clock.now_ms());
        let (_, on) = sim
            .get(&format!("{}?DateSent={today}", messages_path(&sim)))
            .await;
        assert_eq!(on["messages"].as_array().unwrap().len(), 2);
        let (_, before) = sim
            .get(&format!("{}?DateSent%3C=2020-01-01", messages_path(&sim)))
            .await;
        assert_eq!(before["messages"].as_array().unwrap().len(), 0);
        let (_, after) = sim
            .get(&format!(
                "{}?DateSent%3E=2020-01-01&PageSize=1",
                messages_path(&sim)
            ))
            .await;
        assert_eq!(after["messages"].as_array().unwrap().len(), 1);
        let (_, since) = sim
            .get(&format!(
                "{}?DateSent%3E=2020-01-01T00:00:00Z",
                messages_path(&sim)
            ))
            .await;
        assert_eq!(since["messages"].as_array().unwrap().len(), 2);
        let (_, future) = sim
            .get(&format!(
                "{}?DateSent%3E=2999-01-01T00:00:00Z",
                messages_path(&sim)
            ))
            .await;
        assert_eq!(future["messages"].as_array().unwrap().len(), 0);
    }

    #[tokio::test]
    async fn messages_refuse_a_from_number_the_account_does_not_own_with_21606() {
        let setup = TwilioSetup {
            phone_numbers: vec![PhoneNumberSetup {
                sid: format!("PN{}", "2".repeat(32)),
                phone_number: "+18325550199".into(),
                friendly_name: "Support line".into(),
                sms: false,
                voice: true,
            }],
            ..TwilioSetup::default()
        };
        let sim = Sim::start(setup, 1.0).await;
        for from in ["+18325550147", "+18325550199"] {
            let (status, body) = send_sms(&sim, from).await;
            assert_eq!(status, 400);
            assert_twilio_error(&body, 400, 21606);
        }
        let (status, body) = send_sms(&sim, "832-555").await;
        assert_eq!(status, 400);
        assert_twilio_error(&body, 400, 21212);
        let (_, body) = sim
            .post(
                &messages_path(&sim),
                &[("To", "nope"), ("From", "+18325550199"), ("Body", "x")],
            )
            .await;
        assert_twilio_error(&body, 400, 21211);
        let (_, body) = sim
            .post(&messages_path(&sim), &[("To", PHONE), ("Body", "x")])
            .await;
        assert_twilio_error(&body, 400, 21603);
        let (_, body) = sim
            .post(
                &messages_path(&sim),
                &[("To", PHONE), ("From", "+18325550199")],
            )
            .await;
        assert_twilio_error(&body, 400, 21602);
        let (_, list) = sim.get(&messages_path(&sim)).await;
        assert_eq!(list["messages"], json!([]));

        let numbers = format!(
            "/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json",
            sim.setup.account_sid
        );
        let (status, body) = sim
            .get(&format!("{numbers}?PhoneNumber=%2B18325550147"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["incoming_phone_numbers"], json!([]));
        let (_, body) = sim
            .get(&format!("{numbers}?PhoneNumber=%2B18325550199"))
            .await;
        let number = &body["incoming_phone_numbers"][0];
        assert_eq!(number["phone_number"], "+18325550199");
        assert_eq!(number["capabilities"]["sms"], false);
        assert_eq!(number["capabilities"]["voice"], true);
        assert!(ids::is_sid(number["sid"].as_str().unwrap(), "PN"));

        let other = format!("/2010-04-01/Accounts/AC{}/Messages.json", "0".repeat(32));
        let (status, body) = sim.get(&other).await;
        assert_eq!(status, 404);
        assert_twilio_error(&body, 404, 20404);
    }

    #[tokio::test]
    async fn verify_attempts_report_the_message_status_and_conversion() {
        let setup = TwilioSetup {
            carrier_refuses: Some(30007),
            ..TwilioSetup::default()
        };
        let sim = Sim::start(setup, 0.02).await;
        let (_, body) = sim.start_verification(PHONE).await;
        let verification = body["sid"].as_str().unwrap().to_owned();
        assert!(
            sim.twilio.inbox(PHONE).is_empty(),
            "the carrier filtered it"
        );
        let (status, list) = sim
            .get(&format!("/v2/Attempts?VerificationSid={verification}"))
            .await;
        assert_eq!(status, 200);
        let attempt = &list["attempts"][0];
        assert!(ids::is_sid(attempt["sid"].as_str().unwrap(), "VL"));
        assert_eq!(attempt["verification_sid"], verification.as_str());
        assert_eq!(attempt["channel"], "sms");
        assert_eq!(attempt["conversion_status"], "unconverted");
        assert_eq!(attempt["channel_data"]["message_status"], "queued");
        assert_eq!(list["meta"]["key"], "attempts");
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (_, list) = sim
            .get(&format!("/v2/Attempts?VerificationSid={verification}"))
            .await;
        assert_eq!(
            list["attempts"][0]["channel_data"]["message_status"],
            "undelivered"
        );
        assert_eq!(list["attempts"][0]["channel_data"]["error_code"], "30007");
        let (_, none) = sim
            .get(&format!(
                "/v2/Attempts?VerificationSid=VE{}",
                "0".repeat(32)
            ))
            .await;
        assert_eq!(none["attempts"], json!([]));
    }

    #[tokio::test]
    async fn an_approved_verification_converts_its_attempts() {
        let sim = Sim::start(TwilioSetup::default(), 0.02).await;
        let (_, body) = sim.start_verification(PHONE).await;
        let verification = body["sid"].as_str().unwrap().to_owned();
        let code = sim.twilio.inbox(PHONE)[0].code.clone();
        sim.check(&[("To", PHONE), ("Code", &code)]).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (_, list) = sim
            .get(&format!("/v2/Attempts?VerificationSid={verification}"))
            .await;
        assert_eq!(list["attempts"][0]["conversion_status"], "converted");
        assert_eq!(
            list["attempts"][0]["channel_data"]["message_status"],
            "delivered"
        );
    }

    #[test]
    fn setup_parses_with_defaults_and_hides_the_token() {
        let setup: TwilioSetup = toml::from_str(
            r#"
            status = "closed"
            services = [{ sid = "VA00000000000000000000000000000001", friendly_name = "X" }]
            prior_sends = [{ phone = "+15005550006", count = 3 }]
            "#,
        )
        .unwrap();
        assert_eq!(setup.status, AccountStatus::Closed);
        assert_eq!(setup.services[0].code_length, 6);
        assert_eq!(setup.max_sends_per_phone, 5);
        assert!(!format!("{setup:?}").contains(&setup.auth_token));
        assert!(toml::from_str::<TwilioSetup>("status = \"frozen\"").is_err());
        assert!(toml::from_str::<TwilioSetup>("sid = \"AC\"").is_err());
    }
}
