//! The Twilio probe (reqwest, HTTP basic auth, form bodies, base URLs from the config):
//! account status, the Verify service, Twilio's public status page, and on request a test
//! verification and a verification check. Credentials come from the deployed task definition
//! (what the service really uses) or from the environment; a `secrets` reference is reported
//! as such, not guessed.

use serde::Serialize;

use super::{CredentialSource, ProbeError};

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
