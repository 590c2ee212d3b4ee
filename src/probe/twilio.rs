//! The Twilio probe (reqwest, HTTP basic auth, form bodies, base URLs from the config):
//! account status, the Verify service, Twilio's public status page, and on request a test
//! verification and a verification check. Credentials come from the deployed task definition
//! (what the service really uses) or from the environment; a `secrets` reference is reported
//! as such, not guessed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CredentialSource, ErrorKind, ProbeError, System, TwilioCredentials};
use crate::config::TwilioConfig;
use crate::redact;
use delivery::{DeliveryStep, Via};

/// Delivery error codes decoded, and following a send to its final state.
pub mod delivery;
/// Monitor: the account's events and alerts over the changes window.
pub mod monitor;
pub mod recent;

/// One thing learned about Twilio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// Which credentials the console uses, without their values.
    Credentials(CredentialsSeen),
    Account(Result<Account, ProbeError>),
    Service(Result<VerifyService, ProbeError>),
    StatusPage(Result<StatusPage, ProbeError>),
    /// A test verification sent straight to Twilio Verify.
    Send(Result<Verification, ProbeError>),
    /// A verification check.
    Check(Result<Verification, ProbeError>),
    /// The `twilio_sms` provider's From number, as IncomingPhoneNumbers has it.
    Sender(Result<Sender, ProbeError>),
    /// A step of a test send's delivery (Messages status or Verify Attempts).
    Delivery(Result<DeliveryStep, ProbeError>),
    /// What became of the SMS the account sent real users lately (nothing sent to read it).
    RecentSms(Result<recent::RecentSms, ProbeError>),
}

/// The number `OTP_FROM_NUMBER` names, looked up among the account's own numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// Last 4 digits.
    pub from: String,
    /// The account owns it (IncomingPhoneNumbers lists it).
    pub owned: bool,
    /// Its `capabilities.sms`.
    pub sms_capable: bool,
    /// The owned number's SID, first 8 characters.
    pub sid: Option<String>,
    pub friendly_name: String,
}

/// Which send to follow to its final state.
#[derive(Clone, PartialEq, Eq)]
pub struct Track {
    pub via: Via,
    /// The phone sent to (E.164).
    pub phone: String,
    /// The message SID (`SM…`) or verification SID (`VE…`), when the console sent it; else
    /// the newest send to `phone` created since `since_ms` is followed.
    pub sid: Option<String>,
    pub since_ms: i64,
    /// The code the console put in an SMS-mode test message, for the engineer to confirm
    /// receipt with `c`.
    pub test_code: Option<String>,
}

impl std::fmt::Debug for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Track")
            .field("via", &self.via)
            .field("phone", &redact::phone(&self.phone))
            .field("sid", &self.sid.as_deref().map(redact::sid))
            .field("since_ms", &self.since_ms)
            .field("test_code", &self.test_code.as_ref().map(|_| redact::MASK))
            .finish()
    }
}

/// The credentials in use, as they may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsSeen {
    pub source: CredentialSource,
    /// First 8 characters.
    pub account_sid: Option<String>,
    pub has_auth_token: bool,
    /// Set when the token is a `secrets` reference the console cannot read.
    pub token_value_from: Option<String>,
    /// Set when the token was read from a `secrets` reference: its source and fingerprint
    /// (`secretsmanager:nerava/prod/twilio-Tw1l1o#auth_token · fp 106cc468`), never the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<String>,
    /// First 8 characters.
    pub verify_service_sid: Option<String>,
}

/// The account (`GET /2010-04-01/Accounts/{Sid}.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// First 8 characters.
    pub sid: String,
    pub friendly_name: String,
    /// `active`, `suspended` or `closed`.
    pub status: String,
}

/// The Verify service (`GET /v2/Services/{Sid}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyService {
    /// First 8 characters.
    pub sid: String,
    pub friendly_name: String,
    pub code_length: u32,
}

/// Twilio's public status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPage {
    /// `none`, `minor`, `major` or `critical`.
    pub indicator: String,
    pub description: String,
    /// Components not `operational`, as `name: status`.
    pub degraded: Vec<String>,
}

/// A verification or a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// First 8 characters.
    pub sid: String,
    /// `pending`, `approved`, `canceled`.
    pub status: String,
    /// Last 4 digits.
    pub to: String,
    pub valid: bool,
}

/// The Twilio prober: one reqwest client with the probe timeout, and the base URLs.
#[derive(Debug, Clone)]
pub struct TwilioProbe {
    client: reqwest::Client,
    api_url: String,
    verify_url: String,
    status_url: String,
    messaging_url: String,
    monitor_url: String,
    timeout: Duration,
}

/// Which call an error answers, for the line that says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Monitor's Events and Alerts.
    Monitor,
    Account,
    Service,
    StatusPage,
    Send,
    Check,
    Numbers,
    Messages,
    Attempts,
}

/// What must not leave this module as it is: the token, and the phone (shown by its last 4).
struct Secrets<'a> {
    /// The account SID beside the token: an echoed `Authorization: Basic` header is
    /// base64 of `SID:TOKEN`.
    sid: &'a str,
    token: &'a str,
    phone: Option<&'a str>,
}

impl Secrets<'_> {
    /// Network text made safe to show: sanitised, the token scrubbed, SIDs and the phone
    /// masked.
    fn clean(&self, text: &str) -> String {
        let mut text = redact::scrub(&redact::sanitize(text), &[self.sid, self.token]);
        if let Some(phone) = self.phone.filter(|p| !p.is_empty()) {
            text = text.replace(phone, &redact::phone(phone));
        }
        mask_sids(&text)
    }
}

impl TwilioProbe {
    /// A prober of the Twilio URLs in `cfg`; every call gives up after `timeout`.
    pub fn new(cfg: &TwilioConfig, timeout: Duration) -> Result<Self, ProbeError> {
        for (key, url) in [
            ("api_url", &cfg.api_url),
            ("verify_url", &cfg.verify_url),
            ("status_url", &cfg.status_url),
            ("messaging_url", &cfg.messaging_url),
            ("monitor_url", &cfg.monitor_url),
        ] {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => {
                    return Err(ProbeError {
                        system: System::Twilio,
                        kind: ErrorKind::Unreachable,
                        code: None,
                        message: format!(
                        "twilio.{key} {:?} is not an http(s) URL: fix [twilio] {key} in the config",
                        redact::sanitize(url)
                    ),
                    })
                }
            }
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ProbeError {
                system: System::Twilio,
                kind: ErrorKind::Unreachable,
                code: None,
                message: format!(
                    "cannot build the HTTP client: {}",
                    super::http::innermost(&e)
                ),
            })?;
        let base = |url: &str| url.trim_end_matches('/').to_owned();
        Ok(Self {
            client,
            api_url: base(&cfg.api_url),
            verify_url: base(&cfg.verify_url),
            status_url: base(&cfg.status_url),
            messaging_url: base(&cfg.messaging_url),
            monitor_url: base(&cfg.monitor_url),
            timeout,
        })
    }

    /// The account (`GET /2010-04-01/Accounts/{Sid}.json`): its status says active,
    /// suspended or closed.
    pub async fn account(&self, creds: &TwilioCredentials) -> Fact {
        Fact::Account(self.fetch_account(creds).await)
    }

    async fn fetch_account(&self, creds: &TwilioCredentials) -> Result<Account, ProbeError> {
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: None,
        };
        let sid = path_segment(&creds.account_sid, "TWILIO_ACCOUNT_SID")?;
        let url = format!("{}/2010-04-01/Accounts/{sid}.json", self.api_url);
        let request = self
            .client
            .get(url)
            .basic_auth(&creds.account_sid, Some(&creds.auth_token));
        let body = self.exchange(request, Call::Account, &secrets).await?;
        Ok(Account {
            sid: redact::sid(&field(&body, "sid", Call::Account)?),
            friendly_name: secrets.clean(body["friendly_name"].as_str().unwrap_or_default()),
            status: secrets.clean(&field(&body, "status", Call::Account)?),
        })
    }

    /// The Verify service (`GET /v2/Services/{Sid}`).
    pub async fn service(&self, creds: &TwilioCredentials) -> Fact {
        Fact::Service(self.fetch_service(creds).await)
    }

    async fn fetch_service(&self, creds: &TwilioCredentials) -> Result<VerifyService, ProbeError> {
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: None,
        };
        let url = format!("{}/v2/Services/{}", self.verify_url, service_sid(creds)?);
        let request = self
            .client
            .get(url)
            .basic_auth(&creds.account_sid, Some(&creds.auth_token));
        let body = self.exchange(request, Call::Service, &secrets).await?;
        Ok(VerifyService {
            sid: redact::sid(&field(&body, "sid", Call::Service)?),
            friendly_name: secrets.clean(body["friendly_name"].as_str().unwrap_or_default()),
            code_length: body["code_length"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_default(),
        })
    }

    /// Twilio's public status page (`GET /api/v2/summary.json`, no credentials).
    pub async fn status_page(&self) -> Fact {
        Fact::StatusPage(self.fetch_status_page().await)
    }

    async fn fetch_status_page(&self) -> Result<StatusPage, ProbeError> {
        let secrets = Secrets {
            sid: "",
            token: "",
            phone: None,
        };
        let url = format!("{}/api/v2/summary.json", self.status_url);
        let body = self
            .exchange(self.client.get(url), Call::StatusPage, &secrets)
            .await?;
        let status = &body["status"];
        let indicator = status["indicator"]
            .as_str()
            .ok_or_else(|| bad_shape(Call::StatusPage, "status.indicator"))?;
        let degraded = body["components"]
            .as_array()
            .map(|components| {
                components
                    .iter()
                    .filter(|c| c["status"].as_str().is_some_and(|s| s != "operational"))
                    .map(|c| {
                        secrets.clean(&format!(
                            "{}: {}",
                            c["name"].as_str().unwrap_or("?"),
                            c["status"].as_str().unwrap_or("?")
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(StatusPage {
            indicator: secrets.clean(indicator),
            description: secrets.clean(status["description"].as_str().unwrap_or_default()),
            degraded,
        })
    }

    /// A test verification by SMS to `phone`, straight to Twilio Verify (it sends a real SMS).
    pub async fn send(&self, creds: &TwilioCredentials, phone: &str) -> Fact {
        Fact::Send(
            self.verification(
                creds,
                "Verifications",
                &[("To", phone), ("Channel", "sms")],
                phone,
                Call::Send,
            )
            .await,
        )
    }

    /// The From number of the `twilio_sms` provider among the account's numbers
    /// (`GET /2010-04-01/Accounts/{Sid}/IncomingPhoneNumbers.json?PhoneNumber=…`).
    pub async fn sender(&self, creds: &TwilioCredentials) -> Fact {
        Fact::Sender(self.fetch_sender(creds).await)
    }

    async fn fetch_sender(&self, creds: &TwilioCredentials) -> Result<Sender, ProbeError> {
        let from = creds
            .from_number
            .as_deref()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| {
                error(
                    ErrorKind::NotFound,
                    None,
                    "OTP_FROM_NUMBER is not set: set it to an SMS-capable number the Twilio account owns".into(),
                )
            })?;
        if from.starts_with("MG") {
            return self.fetch_messaging_sender(creds, from).await;
        }
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: Some(from),
        };
        let sid = path_segment(&creds.account_sid, "TWILIO_ACCOUNT_SID")?;
        let url = format!(
            "{}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json",
            self.api_url
        );
        let request = self
            .client
            .get(url)
            .query(&[("PhoneNumber", from)])
            .basic_auth(&creds.account_sid, Some(&creds.auth_token));
        let body = self.exchange(request, Call::Numbers, &secrets).await?;
        let numbers = body["incoming_phone_numbers"]
            .as_array()
            .ok_or_else(|| bad_shape(Call::Numbers, "incoming_phone_numbers"))?;
        let owned = numbers
            .iter()
            .find(|n| n["phone_number"].as_str() == Some(from));
        Ok(Sender {
            from: redact::phone(from),
            owned: owned.is_some(),
            sms_capable: owned.is_some_and(|n| n["capabilities"]["sms"].as_bool() == Some(true)),
            sid: owned.and_then(|n| n["sid"].as_str()).map(redact::sid),
            friendly_name: owned
                .and_then(|n| n["friendly_name"].as_str())
                .map(|f| secrets.clean(f))
                .unwrap_or_default(),
        })
    }

    /// `OTP_FROM_NUMBER` as a Messaging Service: it exists (`GET /v1/Services/{MG}`), and its
    /// sender pool has an SMS-capable number (`GET /v1/Services/{MG}/PhoneNumbers`).
    async fn fetch_messaging_sender(
        &self,
        creds: &TwilioCredentials,
        service: &str,
    ) -> Result<Sender, ProbeError> {
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: None,
        };
        let sid = path_segment(service, "OTP_FROM_NUMBER")?;
        let url = format!("{}/v1/Services/{sid}", self.messaging_url);
        let request = self
            .client
            .get(&url)
            .basic_auth(&creds.account_sid, Some(&creds.auth_token));
        let absent = Sender {
            from: redact::sid(service),
            owned: false,
            sms_capable: false,
            sid: None,
            friendly_name: String::new(),
        };
        let body = match self.exchange(request, Call::Numbers, &secrets).await {
            Ok(body) => body,
            Err(e) if e.code.as_deref() == Some("20404") => return Ok(absent),
            Err(e) => return Err(e),
        };
        let request = self
            .client
            .get(format!("{url}/PhoneNumbers"))
            .basic_auth(&creds.account_sid, Some(&creds.auth_token));
        let pool = self.exchange(request, Call::Numbers, &secrets).await?;
        let senders = pool["phone_numbers"]
            .as_array()
            .ok_or_else(|| bad_shape(Call::Numbers, "phone_numbers"))?;
        let sms = senders
            .iter()
            .filter(|n| {
                n["capabilities"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c.as_str() == Some("SMS")))
            })
            .count();
        Ok(Sender {
            owned: true,
            sms_capable: sms > 0,
            sid: Some(redact::sid(service)),
            friendly_name: format!(
                "Messaging Service {} ({sms} SMS sender{})",
                secrets.clean(body["friendly_name"].as_str().unwrap_or_default()),
                if sms == 1 { "" } else { "s" }
            ),
            ..absent
        })
    }

    /// A test send to `phone` the way the deployed provider sends: an SMS with a code through
    /// the Messages API (`twilio_sms`), or a verification by SMS (Verify). Returns the fact
    /// and, when it was accepted, what to follow to its delivery.
    pub async fn send_tracked(
        &self,
        creds: &TwilioCredentials,
        phone: &str,
    ) -> (Fact, Option<Track>) {
        let since_ms = chrono::Utc::now().timestamp_millis();
        let code = format!(
            "{:06}",
            chrono::Utc::now().timestamp_subsec_micros() % 1_000_000
        );
        let (via, result, test_code) = if creds.is_sms() {
            (
                Via::Messages,
                self.create_message(creds, phone, &code).await,
                Some(code),
            )
        } else {
            (
                Via::VerifyAttempts,
                self.verification_raw(
                    creds,
                    "Verifications",
                    &[("To", phone), ("Channel", "sms")],
                    phone,
                    Call::Send,
                )
                .await,
                None,
            )
        };
        match result {
            Ok((verification, sid)) => (
                Fact::Send(Ok(verification)),
                Some(Track {
                    via,
                    phone: phone.to_owned(),
                    sid: Some(sid),
                    since_ms,
                    test_code,
                }),
            ),
            Err(e) => (Fact::Send(Err(e)), None),
        }
    }

    /// `POST /2010-04-01/Accounts/{Sid}/Messages.json` from `OTP_FROM_NUMBER` with a test code.
    async fn create_message(
        &self,
        creds: &TwilioCredentials,
        phone: &str,
        code: &str,
    ) -> Result<(Verification, String), ProbeError> {
        let from = creds.from_number.as_deref().unwrap_or_default();
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: Some(phone),
        };
        let sid = path_segment(&creds.account_sid, "TWILIO_ACCOUNT_SID")?;
        let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", self.api_url);
        let body = format!("otp-console test: your code is {code}");
        let sender = if from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let request = self
            .client
            .post(url)
            .basic_auth(&creds.account_sid, Some(&creds.auth_token))
            .form(&[("To", phone), (sender, from), ("Body", body.as_str())]);
        let body = self.exchange(request, Call::Messages, &secrets).await?;
        let sid = field(&body, "sid", Call::Messages)?;
        Ok((
            Verification {
                sid: redact::sid(&sid),
                status: secrets.clean(&field(&body, "status", Call::Messages)?),
                to: redact::phone(body["to"].as_str().unwrap_or(phone)),
                valid: false,
            },
            sid,
        ))
    }

    /// One look at a followed send: its current step, or `None` when it is not listed yet.
    pub async fn delivery(
        &self,
        creds: &TwilioCredentials,
        track: &Track,
    ) -> Result<Option<DeliveryStep>, ProbeError> {
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: Some(&track.phone),
        };
        let (request, call) = match track.via {
            Via::Messages => {
                let account = path_segment(&creds.account_sid, "TWILIO_ACCOUNT_SID")?;
                let base = format!("{}/2010-04-01/Accounts/{account}/Messages", self.api_url);
                let request = match &track.sid {
                    Some(sid) => self.client.get(format!(
                        "{base}/{}.json",
                        path_segment(sid, "the message SID")?
                    )),
                    None => self
                        .client
                        .get(format!("{base}.json"))
                        .query(&[("To", track.phone.as_str()), ("PageSize", "20")]),
                };
                (request, Call::Messages)
            }
            Via::VerifyAttempts => {
                let mut query = vec![("PageSize", "20".to_owned())];
                if let Some(sid) = &track.sid {
                    query.push(("VerificationSid", sid.clone()));
                } else {
                    query.push(("ChannelData.To", track.phone.clone()));
                    query.push(("VerifyServiceSid", service_sid(creds)?.to_owned()));
                }
                let request = self
                    .client
                    .get(format!("{}/v2/Attempts", self.verify_url))
                    .query(&query);
                (request, Call::Attempts)
            }
        };
        let request = request.basic_auth(&creds.account_sid, Some(&creds.auth_token));
        let body = self.exchange(request, call, &secrets).await?;
        let rows: Vec<&Value> = match (track.via, &track.sid) {
            (Via::Messages, Some(_)) => vec![&body],
            (Via::Messages, None) => body["messages"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            (Via::VerifyAttempts, _) => body["attempts"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
        };
        // Twilio's dates have whole seconds: a send made in the same second still counts.
        let recent = |row: &&Value| {
            track.sid.is_some()
                || row["date_created"]
                    .as_str()
                    .and_then(parse_date)
                    .is_some_and(|ms| ms >= track.since_ms - 2_000)
        };
        let Some(row) = rows.into_iter().find(recent) else {
            return Ok(None);
        };
        let (status, code) = match track.via {
            Via::Messages => (field(row, "status", call)?, error_code(&row["error_code"])),
            Via::VerifyAttempts => {
                let data = &row["channel_data"];
                (
                    data["message_status"]
                        .as_str()
                        .unwrap_or("unknown")
                        .to_owned(),
                    error_code(&data["error_code"]),
                )
            }
        };
        let status = secrets.clean(&status);
        Ok(Some(DeliveryStep {
            via: track.via,
            sid: redact::sid(row["sid"].as_str().unwrap_or_default()),
            to: redact::phone(&track.phone),
            is_final: delivery::is_final(&status),
            status,
            error_code: code,
            meaning: code
                .and_then(delivery::decode)
                .map(|d| d.meaning.to_owned()),
            after_ms: 0,
        }))
    }

    /// Checks `code` for the pending verification of `phone`.
    pub async fn check(&self, creds: &TwilioCredentials, phone: &str, code: &str) -> Fact {
        Fact::Check(
            self.verification(
                creds,
                "VerificationCheck",
                &[("To", phone), ("Code", code)],
                phone,
                Call::Check,
            )
            .await,
        )
    }

    async fn verification(
        &self,
        creds: &TwilioCredentials,
        resource: &str,
        form: &[(&str, &str)],
        phone: &str,
        call: Call,
    ) -> Result<Verification, ProbeError> {
        self.verification_raw(creds, resource, form, phone, call)
            .await
            .map(|(v, _)| v)
    }

    /// A verification call, with the verification's SID as Twilio gave it (for following).
    async fn verification_raw(
        &self,
        creds: &TwilioCredentials,
        resource: &str,
        form: &[(&str, &str)],
        phone: &str,
        call: Call,
    ) -> Result<(Verification, String), ProbeError> {
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: Some(phone),
        };
        let url = format!(
            "{}/v2/Services/{}/{resource}",
            self.verify_url,
            service_sid(creds)?
        );
        let request = self
            .client
            .post(url)
            .basic_auth(&creds.account_sid, Some(&creds.auth_token))
            .form(form);
        let body = self.exchange(request, call, &secrets).await?;
        let sid = field(&body, "sid", call)?;
        Ok((
            Verification {
                sid: redact::sid(&sid),
                status: secrets.clean(&field(&body, "status", call)?),
                to: redact::phone(body["to"].as_str().unwrap_or(phone)),
                valid: body["valid"].as_bool().unwrap_or(false),
            },
            sid,
        ))
    }

    /// Sends `request` and returns its JSON body, or the error as data.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        call: Call,
        secrets: &Secrets<'_>,
    ) -> Result<Value, ProbeError> {
        let response = request
            .send()
            .await
            .map_err(|e| self.transport(&e, secrets))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| self.transport(&e, secrets))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(body) if (200..300).contains(&status) && body.is_object() => Ok(body),
            Ok(body) if body["code"].is_u64() || body["code"].is_i64() => {
                Err(twilio_error(status, &body, call, secrets))
            }
            _ if status == 429 => Err(error(
                ErrorKind::Throttled,
                None,
                "Twilio answered HTTP 429 (too many requests): wait a minute and probe again"
                    .into(),
            )),
            _ => Err(error(
                ErrorKind::BadResponse,
                None,
                format!("Twilio answered HTTP {status} with a body that is not Twilio's JSON"),
            )),
        }
    }

    /// A request that got no answer.
    fn transport(&self, e: &reqwest::Error, secrets: &Secrets<'_>) -> ProbeError {
        let host = e
            .url()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "Twilio".to_owned());
        if e.is_timeout() {
            error(
                ErrorKind::Timeout,
                None,
                format!(
                    "{host} did not answer within {:.1} s: check egress to Twilio and status.twilio.com",
                    self.timeout.as_secs_f64()
                ),
            )
        } else if e.is_connect() {
            error(
                ErrorKind::Unreachable,
                None,
                secrets.clean(&format!(
                    "cannot reach {host}: {}: check DNS, proxy and egress to Twilio",
                    super::http::innermost(e)
                )),
            )
        } else {
            error(
                ErrorKind::BadResponse,
                None,
                secrets.clean(&format!("{host}: {}", super::http::innermost(e))),
            )
        }
    }
}

fn error(kind: ErrorKind, code: Option<String>, message: String) -> ProbeError {
    ProbeError {
        system: System::Twilio,
        kind,
        code,
        message,
    }
}

/// A Twilio error body (`code`, `message`, `more_info`, `status`) as a [`ProbeError`] with
/// one line saying what to do.
fn twilio_error(status: u16, body: &Value, call: Call, secrets: &Secrets<'_>) -> ProbeError {
    let code = body["code"].as_u64().unwrap_or_default();
    let said = secrets.clean(body["message"].as_str().unwrap_or("no message"));
    let phone = secrets
        .phone
        .map_or_else(|| "the phone".to_owned(), redact::phone);
    let (kind, advice) = match code {
        20003 if call == Call::Monitor => (
            ErrorKind::Credentials,
            "the service's credentials cannot read the account's Monitor (a rotated token answers this too): run with twilio.credentials = \"environment\" and the account's current TWILIO_AUTH_TOKEN to read it".to_owned(),
        ),
        20403 if call == Call::Monitor => (
            ErrorKind::Credentials,
            "these credentials may not read the account's Monitor (an API key or subaccount without access): use the main account's credentials".to_owned(),
        ),
        20003 => (
            ErrorKind::Credentials,
            "the auth token the service uses is not the account's current one: rotate TWILIO_AUTH_TOKEN in the task definition".to_owned(),
        ),
        20404 if matches!(call, Call::Messages | Call::Numbers) => (
            ErrorKind::NotFound,
            "no such account or message: check TWILIO_ACCOUNT_SID in the task definition".to_owned(),
        ),
        20404 if call == Call::Account => (
            ErrorKind::NotFound,
            "no such account: check TWILIO_ACCOUNT_SID in the task definition".to_owned(),
        ),
        20404 if call == Call::Check => (
            ErrorKind::NotFound,
            format!("no pending verification for {phone} (expired, approved or never sent), or the Verify service is gone: send a new code"),
        ),
        20404 => (
            ErrorKind::NotFound,
            "the Verify service does not exist: create a Verify service and update TWILIO_VERIFY_SERVICE_SID in the task definition".to_owned(),
        ),
        20005 | 10001 => (
            ErrorKind::Api,
            "the Twilio account is not active (suspended or closed): reactivate it in the Twilio console".to_owned(),
        ),
        code if delivery::decode(u32::try_from(code).unwrap_or_default()).is_some() => {
            let decoded = delivery::decode(u32::try_from(code).unwrap_or_default());
            (
                ErrorKind::Api,
                decoded.map_or_else(String::new, |d| format!("{}: {}", d.meaning, d.repair)),
            )
        }
        60200 => (
            ErrorKind::Api,
            "Verify rejected a parameter: the phone must be E.164, e.g. +17133056318".to_owned(),
        ),
        60202 => (
            ErrorKind::Throttled,
            "too many wrong codes for this verification: send a new code".to_owned(),
        ),
        60203 => (
            ErrorKind::Throttled,
            format!("Verify's send limit for {phone} is reached: wait 10 minutes or use another test phone"),
        ),
        _ if status == 429 => (
            ErrorKind::Throttled,
            "Twilio is rate limiting: wait a minute and probe again".to_owned(),
        ),
        _ => (
            ErrorKind::Api,
            format!("Twilio refused the call (HTTP {status}): see twilio.com/docs/errors/{code}"),
        ),
    };
    error(
        kind,
        Some(code.to_string()),
        format!("Twilio {code} ({said}): {advice}"),
    )
}

/// A Twilio date: Api v2010's RFC 2822 or Verify's ISO 8601, as ms since the epoch.
/// Twilio writes error codes as numbers (Messages) or strings (Verify's channel data).
fn error_code(value: &Value) -> Option<u32> {
    value
        .as_u64()
        .and_then(|c| u32::try_from(c).ok())
        .or_else(|| value.as_str().and_then(|c| c.parse().ok()))
}

fn parse_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(text)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|d| d.timestamp_millis())
}

/// A 2xx body without a field the console needs.
fn bad_shape(call: Call, name: &str) -> ProbeError {
    error(
        ErrorKind::BadResponse,
        None,
        format!("Twilio's {call:?} answer has no {name}: not the API shape the console knows"),
    )
}

/// A string field of a 2xx body.
fn field(body: &Value, name: &str, call: Call) -> Result<String, ProbeError> {
    body[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad_shape(call, name))
}

/// The Verify service SID, or why there is none.
fn service_sid(creds: &TwilioCredentials) -> Result<&str, ProbeError> {
    match creds.verify_service_sid.as_deref().filter(|s| !s.is_empty()) {
        Some(sid) => path_segment(sid, "TWILIO_VERIFY_SERVICE_SID"),
        None => Err(error(
            ErrorKind::NotFound,
            None,
            "TWILIO_VERIFY_SERVICE_SID is not set in the service's configuration (or the environment): set it to the Verify service's SID (VA…)".into(),
        )),
    }
}

/// A SID as one URL path segment; anything but letters and digits is refused, not escaped.
fn path_segment<'a>(sid: &'a str, name: &str) -> Result<&'a str, ProbeError> {
    if !sid.is_empty() && sid.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(sid)
    } else {
        Err(error(
            ErrorKind::Credentials,
            None,
            format!("{name} is not a Twilio SID (letters and digits only): fix it in the task definition"),
        ))
    }
}

/// Every Twilio SID in `text` (two capitals then 32 hex digits) as its first 8 characters.
fn mask_sids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let is_sid = word.len() == 34
            && word[..2].chars().all(|c| c.is_ascii_uppercase())
            && word[2..].chars().all(|c| c.is_ascii_hexdigit());
        out.push_str(&if is_sid {
            redact::sid(word)
        } else {
            word.clone()
        });
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Credentials from `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN` and the optional
/// `TWILIO_VERIFY_SERVICE_SID`; `None` unless both of the first two are set.
pub fn credentials_from_env() -> Option<TwilioCredentials> {
    credentials_from(|name| std::env::var(name).ok())
}

/// What the console's environment holds of the credentials when [`credentials_from_env`] found
/// none usable: the account SID (first 8 characters) if it is set, whether a token is.
pub fn credentials_missing_from_env() -> Fact {
    let get = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Fact::Credentials(CredentialsSeen {
        source: CredentialSource::Environment,
        account_sid: get("TWILIO_ACCOUNT_SID").map(|sid| redact::sid(&sid)),
        has_auth_token: get("TWILIO_AUTH_TOKEN").is_some(),
        token_value_from: None,
        token_secret: None,
        verify_service_sid: get("TWILIO_VERIFY_SERVICE_SID").map(|sid| redact::sid(&sid)),
    })
}

/// [`credentials_from_env`] over any lookup (tests pass a map, not the process environment).
fn credentials_from(var: impl Fn(&str) -> Option<String>) -> Option<TwilioCredentials> {
    let get = |name: &str| {
        var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Some(TwilioCredentials {
        source: CredentialSource::Environment,
        account_sid: get("TWILIO_ACCOUNT_SID")?,
        auth_token: get("TWILIO_AUTH_TOKEN")?,
        verify_service_sid: get("TWILIO_VERIFY_SERVICE_SID"),
        otp_provider: get("OTP_PROVIDER"),
        from_number: get("OTP_FROM_NUMBER"),
    })
}

/// Which credentials are in use, as they may be shown.
pub fn credentials_seen(creds: &TwilioCredentials) -> Fact {
    Fact::Credentials(CredentialsSeen {
        source: creds.source,
        account_sid: Some(redact::sid(&creds.account_sid)),
        has_auth_token: !creds.auth_token.is_empty(),
        token_value_from: None,
        token_secret: None,
        verify_service_sid: creds.verify_service_sid.as_deref().map(redact::sid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{scenario, Ports, Simulator};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const PHONE: &str = "+17133056318";
    /// The deployed task definition's token (base scenario); Twilio's may differ.
    const TOKEN: &str = "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c";
    const ACCOUNT: &str = "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8";
    const SERVICE: &str = "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9";

    async fn sim(name: &str) -> (Simulator, TwilioProbe) {
        let sim = Simulator::start(
            scenario::load(name).expect("scenario"),
            0.05,
            Ports::default(),
        )
        .await
        .expect("simulator starts");
        let probe = probe(&sim.urls.twilio, &sim.urls.status);
        (sim, probe)
    }

    fn probe(twilio: &str, status: &str) -> TwilioProbe {
        let cfg = TwilioConfig {
            api_url: twilio.to_owned(),
            verify_url: twilio.to_owned(),
            messaging_url: twilio.to_owned(),
            status_url: status.to_owned(),
            ..TwilioConfig::default()
        };
        TwilioProbe::new(&cfg, Duration::from_secs(5)).expect("probe")
    }

    fn creds() -> TwilioCredentials {
        TwilioCredentials {
            source: CredentialSource::TaskDefinition,
            account_sid: ACCOUNT.into(),
            auth_token: TOKEN.into(),
            verify_service_sid: Some(SERVICE.into()),
            otp_provider: Some("twilio_verify".into()),
            from_number: None,
        }
    }

    /// Nothing secret in the JSON or the Debug of a fact.
    fn assert_clean(fact: &Fact) {
        for text in [
            serde_json::to_string(fact).expect("json"),
            format!("{fact:?}"),
        ] {
            for secret in [
                TOKEN,
                ACCOUNT,
                SERVICE,
                PHONE,
                "4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a",
            ] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    fn err(fact: &Fact) -> &ProbeError {
        match fact {
            Fact::Account(Err(e))
            | Fact::Service(Err(e))
            | Fact::StatusPage(Err(e))
            | Fact::Send(Err(e))
            | Fact::Check(Err(e))
            | Fact::Sender(Err(e))
            | Fact::Delivery(Err(e)) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn healthy_account_service_status_send_and_check() {
        let (sim, probe) = sim("healthy").await;
        let creds = creds();
        let account = probe.account(&creds).await;
        assert_eq!(
            account,
            Fact::Account(Ok(Account {
                sid: "AC5f3b1c…".into(),
                friendly_name: "Nerava Production".into(),
                status: "active".into(),
            }))
        );
        let service = probe.service(&creds).await;
        assert_eq!(
            service,
            Fact::Service(Ok(VerifyService {
                sid: "VA0a1b2c…".into(),
                friendly_name: "Nerava OTP".into(),
                code_length: 6,
            }))
        );
        let Fact::StatusPage(Ok(page)) = probe.status_page().await else {
            panic!("status page")
        };
        assert_eq!((page.indicator.as_str(), page.degraded.len()), ("none", 0));
        let send = probe.send(&creds, PHONE).await;
        let Fact::Send(Ok(verification)) = &send else {
            panic!("{send:?}")
        };
        assert_eq!(
            (
                verification.status.as_str(),
                verification.to.as_str(),
                verification.valid
            ),
            ("pending", "•••6318", false)
        );
        assert!(verification.sid.starts_with("VE") && verification.sid.ends_with('…'));
        let wrong = probe.check(&creds, PHONE, "000000").await;
        assert!(
            matches!(&wrong, Fact::Check(Ok(v)) if v.status == "pending" && !v.valid),
            "{wrong:?}"
        );
        let code = sim.twilio().inbox(PHONE).last().expect("sms").code.clone();
        let check = probe.check(&creds, PHONE, &code).await;
        assert!(
            matches!(&check, Fact::Check(Ok(v)) if v.status == "approved" && v.valid),
            "{check:?}"
        );
        let again = probe.check(&creds, PHONE, &code).await;
        assert_eq!(err(&again).kind, ErrorKind::NotFound, "{again:?}");
        let seen = credentials_seen(&creds);
        for fact in [&account, &service, &send, &wrong, &check, &again, &seen] {
            assert_clean(fact);
        }
        assert!(!format!("{creds:?}").contains(TOKEN));
    }

    #[tokio::test]
    async fn rotated_token_is_20003_credentials() {
        let (_sim, probe) = sim("invalid-credentials").await;
        for fact in [
            probe.account(&creds()).await,
            probe.send(&creds(), PHONE).await,
        ] {
            let e = err(&fact);
            assert_eq!(
                (e.kind, e.code.as_deref()),
                (ErrorKind::Credentials, Some("20003"))
            );
            assert!(
                e.message.contains("rotate TWILIO_AUTH_TOKEN"),
                "{}",
                e.message
            );
            assert_clean(&fact);
        }
    }

    #[tokio::test]
    async fn deleted_service_is_20404_not_found() {
        let (_sim, probe) = sim("verify-service-deleted").await;
        let fact = probe.service(&creds()).await;
        let e = err(&fact);
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (ErrorKind::NotFound, Some("20404"))
        );
        assert!(
            e.message.contains("create a Verify service"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("VA0a1b2c…"),
            "the SID, masked: {}",
            e.message
        );
        assert_clean(&fact);
        let mut no_sid = creds();
        no_sid.verify_service_sid = None;
        let e = err(&probe.service(&no_sid).await).clone();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(e
            .message
            .starts_with("TWILIO_VERIFY_SERVICE_SID is not set in the service's configuration"));
    }

    #[tokio::test]
    async fn suspended_account_shows_and_refuses_sends() {
        let (_sim, probe) = sim("account-suspended").await;
        assert!(
            matches!(probe.account(&creds()).await, Fact::Account(Ok(a)) if a.status == "suspended")
        );
        let fact = probe.send(&creds(), PHONE).await;
        assert_eq!(err(&fact).code.as_deref(), Some("20005"));
        assert!(err(&fact).message.contains("not active"));
    }

    #[tokio::test]
    async fn send_limit_is_60203_throttled_and_bad_phone_60200() {
        let (_sim, probe) = sim("rate-limited").await;
        let fact = probe.send(&creds(), PHONE).await;
        let e = err(&fact);
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (ErrorKind::Throttled, Some("60203"))
        );
        assert!(e.message.contains("•••6318"), "{}", e.message);
        assert_clean(&fact);
        let fact = probe.send(&creds(), "+1713305631899999").await;
        let e = err(&fact);
        assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::Api, Some("60200")));
        assert!(!e.message.contains("+1713305631899999"), "{}", e.message);
    }

    /// A server that answers every connection with `reply`, or never answers.
    async fn raw_server(reply: Option<String>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let reply = reply.clone();
                tokio::spawn(async move {
                    let mut buf = [0_u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    match reply {
                        Some(text) => drop(socket.write_all(text.as_bytes()).await),
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    fn http_reply(status: &str, content_type: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn non_json_error_body_is_bad_response() {
        let url = raw_server(Some(http_reply(
            "502 Bad Gateway",
            "text/html",
            "<html>oops</html>",
        )))
        .await;
        let fact = probe(&url, &url).account(&creds()).await;
        let e = err(&fact);
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert_eq!(
            e.message,
            "Twilio answered HTTP 502 with a body that is not Twilio's JSON"
        );
        let Fact::StatusPage(Err(e)) = probe(&url, &url).status_page().await else {
            panic!("status page error")
        };
        assert_eq!(e.kind, ErrorKind::BadResponse);
    }

    #[tokio::test]
    async fn echoed_token_is_scrubbed() {
        let body = format!(
            r#"{{"code":20003,"message":"bad token {TOKEN} for {ACCOUNT} \u001b[31m","more_info":"x","status":401}}"#
        );
        let url = raw_server(Some(http_reply(
            "401 Unauthorized",
            "application/json",
            &body,
        )))
        .await;
        let fact = probe(&url, &url).account(&creds()).await;
        assert_eq!(err(&fact).kind, ErrorKind::Credentials);
        assert!(!err(&fact).message.contains('\u{1b}'));
        assert_clean(&fact);
    }

    #[tokio::test]
    async fn silent_and_closed_servers() {
        let url = raw_server(None).await;
        let cfg = TwilioConfig {
            api_url: url.clone(),
            verify_url: url.clone(),
            status_url: url,
            ..TwilioConfig::default()
        };
        let probe = TwilioProbe::new(&cfg, Duration::from_millis(300)).expect("probe");
        assert_eq!(err(&probe.account(&creds()).await).kind, ErrorKind::Timeout);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let fact = self::probe(&url, &url).status_page().await;
        assert_eq!(err(&fact).kind, ErrorKind::Unreachable, "{fact:?}");
    }

    #[test]
    fn credentials_come_from_the_environment_lookup() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let found = credentials_from(env(&[
            ("TWILIO_ACCOUNT_SID", ACCOUNT),
            ("TWILIO_AUTH_TOKEN", TOKEN),
        ]))
        .expect("found");
        assert_eq!(
            (found.source, found.verify_service_sid),
            (CredentialSource::Environment, None)
        );
        assert!(credentials_from(env(&[
            ("TWILIO_ACCOUNT_SID", ACCOUNT),
            ("TWILIO_AUTH_TOKEN", " ")
        ]))
        .is_none());
    }

    #[test]
    fn sids_in_text_are_masked() {
        assert_eq!(
            mask_sids(&format!(
                "The requested resource /Services/{SERVICE} was not found"
            )),
            "The requested resource /Services/VA0a1b2c… was not found"
        );
        assert_eq!(mask_sids("ACME and VA1 stay"), "ACME and VA1 stay");
    }

    fn sms_creds(from: &str) -> TwilioCredentials {
        TwilioCredentials {
            otp_provider: Some("twilio_sms".into()),
            from_number: Some(from.into()),
            ..creds()
        }
    }

    /// Follows `track` with a quick backoff, collecting every step.
    async fn follow_all(
        probe: &TwilioProbe,
        creds: &TwilioCredentials,
        track: &Track,
    ) -> Vec<Result<DeliveryStep, ProbeError>> {
        let mut steps = Vec::new();
        let backoff = delivery::Backoff {
            first: Duration::from_millis(10),
            max: Duration::from_millis(40),
            timeout: Duration::from_secs(5),
        };
        delivery::follow(backoff, |_| probe.delivery(creds, track), |s| steps.push(s)).await;
        steps
    }

    #[tokio::test]
    async fn sms_mode_checks_the_from_number_sends_and_follows_to_delivered() {
        let (_sim, probe) = sim("sms-healthy").await;
        let creds = sms_creds("+18325550147");
        let Fact::Sender(Ok(sender)) = probe.sender(&creds).await else {
            panic!("sender")
        };
        assert_eq!(
            (sender.from.as_str(), sender.owned, sender.sms_capable),
            ("•••0147", true, true)
        );
        assert_eq!(sender.sid.as_deref(), Some("PN7c1e5a…"));
        let (fact, track) = probe.send_tracked(&creds, PHONE).await;
        let Fact::Send(Ok(sent)) = &fact else {
            panic!("{fact:?}")
        };
        assert!(
            sent.sid.starts_with("SM") && sent.sid.ends_with('…'),
            "{sent:?}"
        );
        assert_eq!(
            (sent.status.as_str(), sent.to.as_str()),
            ("queued", "•••6318")
        );
        assert_clean(&fact);
        let track = track.expect("accepted");
        assert_eq!(track.via, Via::Messages);
        let steps = follow_all(&probe, &creds, &track).await;
        let statuses: Vec<&str> = steps
            .iter()
            .map(|s| s.as_ref().expect("step").status.as_str())
            .collect();
        assert_eq!(statuses.last(), Some(&"delivered"), "{statuses:?}");
        assert!(statuses.len() >= 2, "{statuses:?}");
        for step in &steps {
            assert_clean(&Fact::Delivery(step.clone()));
        }
    }

    #[tokio::test]
    async fn released_from_number_is_not_owned_and_its_send_is_21606() {
        let (_sim, probe) = sim("sms-from-number-released").await;
        let creds = sms_creds("+18325550147");
        let Fact::Sender(Ok(sender)) = probe.sender(&creds).await else {
            panic!("sender")
        };
        assert!(!sender.owned && !sender.sms_capable);
        let Fact::Sender(Ok(voice)) = probe.sender(&sms_creds("+18325550199")).await else {
            panic!("sender")
        };
        assert!(voice.owned && !voice.sms_capable);
        let (fact, track) = probe.send_tracked(&creds, PHONE).await;
        assert!(track.is_none());
        let e = err(&fact);
        assert_eq!(e.code.as_deref(), Some("21606"));
        assert!(e.message.contains("OTP_FROM_NUMBER"), "{}", e.message);
        assert!(!e.message.contains("7133056318"), "{}", e.message);
        let unset = TwilioCredentials {
            from_number: None,
            ..sms_creds("")
        };
        assert_eq!(err(&probe.sender(&unset).await).kind, ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn filtered_sms_and_verify_attempts_end_undelivered_with_30007_decoded() {
        let (_sim, probe) = sim("sms-undelivered").await;
        let sms = sms_creds("+18325550147");
        let since = chrono::Utc::now().timestamp_millis();
        let (_, track) = probe.send_tracked(&sms, PHONE).await;
        let steps = follow_all(&probe, &sms, &track.expect("accepted")).await;
        let last = steps.last().expect("a step").as_ref().expect("ok");
        assert_eq!(
            (last.status.as_str(), last.error_code),
            ("undelivered", Some(30007))
        );
        assert!(last.is_final);
        assert!(last.meaning.as_deref().is_some_and(|m| m.contains("spam")));
        // The same message found by phone, as after an OTP start through the API.
        let by_phone = Track {
            via: Via::Messages,
            phone: PHONE.into(),
            sid: None,
            since_ms: since,
            test_code: None,
        };
        let found = probe
            .delivery(&sms, &by_phone)
            .await
            .expect("ok")
            .expect("found");
        assert_eq!(found.sid, last.sid);
        let later = Track {
            since_ms: since + 60_000,
            ..by_phone
        };
        assert_eq!(probe.delivery(&sms, &later).await.expect("ok"), None);

        // Verify meets the same carrier: its attempt ends undelivered too.
        let verify = creds();
        let (fact, track) = probe.send_tracked(&verify, PHONE).await;
        assert!(matches!(fact, Fact::Send(Ok(_))), "{fact:?}");
        let track = track.expect("accepted");
        assert_eq!(track.via, Via::VerifyAttempts);
        let steps = follow_all(&probe, &verify, &track).await;
        let last = steps.last().expect("a step").as_ref().expect("ok");
        assert_eq!(
            (last.status.as_str(), last.error_code),
            ("undelivered", Some(30007))
        );
        assert!(last.sid.starts_with("VL"));
    }

    #[test]
    fn messaging_error_codes_decode_to_meaning_and_repair() {
        let secrets = Secrets {
            sid: ACCOUNT,
            token: TOKEN,
            phone: Some(PHONE),
        };
        for (code, says) in [
            (21606, "buy or re-assign"),
            (21610, "reply START"),
            (21408, "Geo permissions"),
            (60605, "Geo permissions"),
            (21614, "mobile number"),
            (30007, "spam"),
        ] {
            let body =
                serde_json::json!({"code": code, "message": format!("to {PHONE}"), "status": 400});
            let e = twilio_error(400, &body, Call::Messages, &secrets);
            assert_eq!(e.code.as_deref(), Some(code.to_string().as_str()));
            assert!(e.message.contains(says), "{code}: {}", e.message);
            assert!(!e.message.contains(PHONE), "{}", e.message);
        }
        assert_eq!(
            parse_date("Tue, 14 Mar 2023 12:00:00 +0000"),
            Some(1_678_795_200_000)
        );
        assert_eq!(parse_date("2023-03-14T12:00:00Z"), Some(1_678_795_200_000));
        assert_eq!(parse_date("yesterday"), None);
    }

    #[tokio::test]
    async fn a_messaging_service_sender_exists_and_has_an_sms_number() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mg.toml");
        std::fs::write(
            &path,
            r#"description = "SMS through Messaging Services"
[twilio]
messaging_services = [
  { sid = "MG11112222333344445555666677778888", friendly_name = "Nerava OTP", senders = ["+18325550147"] },
  { sid = "MG99990000aaaabbbbccccddddeeeeffff", friendly_name = "Empty pool" },
]
"#,
        )
        .expect("write");
        let (_sim, probe) = sim(path.to_str().expect("utf-8")).await;
        let pooled = sms_creds("MG11112222333344445555666677778888");
        let Fact::Sender(Ok(sender)) = probe.sender(&pooled).await else {
            panic!("sender")
        };
        assert!(sender.owned && sender.sms_capable, "{sender:?}");
        assert_eq!(sender.from, "MG111122…");
        assert_eq!(
            sender.friendly_name,
            "Messaging Service Nerava OTP (1 SMS sender)"
        );
        let (fact, track) = probe.send_tracked(&pooled, PHONE).await;
        assert!(matches!(fact, Fact::Send(Ok(_))), "{fact:?}");
        let steps = follow_all(&probe, &pooled, &track.expect("accepted")).await;
        let last = steps.last().expect("a step").as_ref().expect("ok");
        assert_eq!(last.status, "delivered");

        let empty = sms_creds("MG99990000aaaabbbbccccddddeeeeffff");
        let Fact::Sender(Ok(sender)) = probe.sender(&empty).await else {
            panic!("sender")
        };
        assert!(sender.owned && !sender.sms_capable, "{sender:?}");
        let (fact, _) = probe.send_tracked(&empty, PHONE).await;
        assert_eq!(err(&fact).code.as_deref(), Some("21704"));

        let gone = sms_creds(&format!("MG{}", "0".repeat(32)));
        let Fact::Sender(Ok(sender)) = probe.sender(&gone).await else {
            panic!("sender")
        };
        assert!(!sender.owned, "{sender:?}");
    }
}
