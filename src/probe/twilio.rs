//! The Twilio probe (reqwest, HTTP basic auth, form bodies, base URLs from the config):
//! account status, the Verify service, Twilio's public status page, and on request a test
//! verification and a verification check. Credentials come from the deployed task definition
//! (what the service really uses) or from the environment; a `secrets` reference is reported
//! as such, not guessed.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{CredentialSource, ErrorKind, ProbeError, System, TwilioCredentials};
use crate::config::TwilioConfig;
use crate::redact;

/// One thing learned about Twilio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// The credentials in use, as they may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialsSeen {
    pub source: CredentialSource,
    /// First 8 characters.
    pub account_sid: Option<String>,
    pub has_auth_token: bool,
    /// Set when the token is a `secrets` reference the console cannot read.
    pub token_value_from: Option<String>,
    /// First 8 characters.
    pub verify_service_sid: Option<String>,
}

/// The account (`GET /2010-04-01/Accounts/{Sid}.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// First 8 characters.
    pub sid: String,
    pub friendly_name: String,
    /// `active`, `suspended` or `closed`.
    pub status: String,
}

/// The Verify service (`GET /v2/Services/{Sid}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyService {
    /// First 8 characters.
    pub sid: String,
    pub friendly_name: String,
    pub code_length: u32,
}

/// Twilio's public status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusPage {
    /// `none`, `minor`, `major` or `critical`.
    pub indicator: String,
    pub description: String,
    /// Components not `operational`, as `name: status`.
    pub degraded: Vec<String>,
}

/// A verification or a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    timeout: Duration,
}

/// Which call an error answers, for the line that says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Account,
    Service,
    StatusPage,
    Send,
    Check,
}

/// What must not leave this module as it is: the token, and the phone (shown by its last 4).
struct Secrets<'a> {
    token: &'a str,
    phone: Option<&'a str>,
}

impl Secrets<'_> {
    /// Network text made safe to show: sanitised, the token scrubbed, SIDs and the phone
    /// masked.
    fn clean(&self, text: &str) -> String {
        let mut text = redact::scrub(&redact::sanitize(text), &[self.token]);
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
        let secrets = Secrets {
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
        Ok(Verification {
            sid: redact::sid(&field(&body, "sid", call)?),
            status: secrets.clean(&field(&body, "status", call)?),
            to: redact::phone(body["to"].as_str().unwrap_or(phone)),
            valid: body["valid"].as_bool().unwrap_or(false),
        })
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
        20003 => (
            ErrorKind::Credentials,
            "the auth token the service uses is not the account's current one: rotate TWILIO_AUTH_TOKEN in the task definition".to_owned(),
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
            "TWILIO_VERIFY_SERVICE_SID is not set in the task definition (or the environment): set it to the Verify service's SID (VA…)".into(),
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
    })
}

/// Which credentials are in use, as they may be shown.
pub fn credentials_seen(creds: &TwilioCredentials) -> Fact {
    Fact::Credentials(CredentialsSeen {
        source: creds.source,
        account_sid: Some(redact::sid(&creds.account_sid)),
        has_auth_token: !creds.auth_token.is_empty(),
        token_value_from: None,
        verify_service_sid: creds.verify_service_sid.as_deref().map(redact::sid),
    })
}
