//! `invalid_credentials`: Twilio refuses the service's token (20003), or the running tasks still
//! send the previous value of a token secret changed after they started.

use super::Choice;
use super::{Rule, Stage, Support, Symptom};
use crate::diagnosis::{changes, traffic, Evidence, FailureMode, Finding, Names};
use crate::probe::changes::{Change, Origin};
use crate::probe::ecs::Snapshot;
use crate::probe::http::{Class, Endpoint};
use crate::probe::logs::LineKind;
use crate::probe::secrets::{self, SecretState};

pub const RULE: Rule = Rule {
    mode: FailureMode::InvalidCredentials,
    id: "invalid_credentials",
    title: "Invalid or rotated Twilio credentials",
    repair: "Rotate the auth token in Twilio Console (Account > API keys & tokens), put it in TWILIO_AUTH_TOKEN and deploy.",
    predicts: &[Symptom::OtpFails],
    commands: twilio_commands,
    underlies: &[],
    support,
    later: Some((Stage::AfterEvidence, stale_token)),
    related,
    suggests: &[Choice::SetEnv],
    flags: &["TWILIO_AUTH_TOKEN"],
};

const REFUSED: &[&str] = &["20003"];

/// Asking Twilio for the account, then registering and deploying a changed revision.
pub(super) fn twilio_commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    let [register, deploy] = super::register_and_deploy(n);
    vec![super::CURL_ACCOUNT.to_owned(), register, deploy]
}

fn support(evidence: &Evidence, _now_ms: i64, support: &mut Support) {
    if let Some(line) = super::account_refused(evidence, REFUSED) {
        support.add(3, line);
    }
    for line in super::test_sends_refused(evidence, REFUSED) {
        support.add(3, line);
    }
    rejected_token(evidence, support);
    super::log_line(evidence, LineKind::CredentialError, support);
}

/// The token Twilio rejected, when it is read from a secret: which one, its fingerprint, and
/// a repair that puts the new value in it (a new value, then a new deployment).
fn rejected_token(evidence: &Evidence, support: &mut Support) {
    if !support.has() {
        return;
    }
    let Some(r) = evidence.snapshot().and_then(|s| {
        s.secrets
            .iter()
            .find(|r| r.name == "TWILIO_AUTH_TOKEN" && r.state == SecretState::Ok)
    }) else {
        return;
    };
    support.add(
        3,
        format!(
            "the rejected token is TWILIO_AUTH_TOKEN ← {} (fingerprint {}), last changed {}",
            r.source,
            r.fingerprint.as_deref().unwrap_or("?"),
            r.last_changed_ms
                .map_or_else(|| "at an unknown time".into(), secrets::date)
        ),
    );
    // The fix is a new value in that secret and a new deployment, not a new revision.
    let Some(arn) = r
        .arn
        .as_deref()
        .filter(|_| r.store == secrets::Store::SecretsManager)
    else {
        return;
    };
    let json_key = secrets::ValueFrom::parse(&r.value_from)
        .json_key
        .map_or_else(String::new, |k| format!(" as JSON field {k}"));
    let deploy = super::force_new_deployment(support.names());
    if let Some(commands) = support.commands() {
        *commands = vec![
            super::CURL_ACCOUNT.to_owned(),
            format!("aws secretsmanager put-secret-value --secret-id {arn} --secret-string '<the new token{json_key}>'"),
            deploy,
        ];
    }
}

/// A token secret changed after the running tasks started (they read it when they started):
/// with the service's own calls refused (its log line), the evidence gets this line and the
/// repair becomes a new deployment; on its own (confidence 1) when users' OTP starts or a test
/// one fail with an error; in both, only while Twilio accepts the current value (else a new
/// deployment would not help).
fn stale_token(evidence: &Evidence, now_ms: i64, _before: &[Finding], support: &mut Support) {
    let Some(s) = evidence.snapshot() else {
        return;
    };
    let Some(newest_start) = newest_start(s) else {
        return;
    };
    let Some((r, changed)) = s.secrets.iter().find_map(|r| {
        r.last_changed_ms
            .filter(|changed| {
                r.name == "TWILIO_AUTH_TOKEN"
                    && r.state == SecretState::Ok
                    && *changed > newest_start
            })
            .map(|changed| (r, changed))
    }) else {
        return;
    };
    let accepted = matches!(evidence.account, Some(Ok(_)));
    let refused_inside = support.has();
    let test_failed = evidence
        .last(Endpoint::OtpStart)
        .is_some_and(|o| o.class == Class::ServerError && o.status != Some(503));
    let users_error = traffic::Signal::of(evidence).is_some_and(|t| {
        t.otp
            .is_some_and(|o| o.errors_5xx > o.timeouts + o.unavailable)
    });
    // Only a current value Twilio accepts makes a new deployment the repair.
    if !(accepted && (refused_inside || test_failed || users_error)) {
        return;
    }
    let ago = |ms: i64| crate::probe::changes::age(now_ms, ms);
    support.add(
        if refused_inside { 2 } else { 1 },
        format!(
            "TWILIO_AUTH_TOKEN ← {} changed {} ago, after the running tasks started ({} ago): they still send its previous value, and Twilio accepts the current one — a new deployment makes them read it",
            r.source,
            ago(changed),
            ago(newest_start),
        ),
    );
    let deploy = format!(
        "{}   # new tasks read the secret's current value",
        super::force_new_deployment(support.names())
    );
    if let Some(commands) = support.commands() {
        commands.retain(|c| !c.contains("--force-new-deployment"));
        commands.insert(0, deploy);
    }
}

/// When the newest running task started, if every running task says.
fn newest_start(s: &Snapshot) -> Option<i64> {
    s.tasks
        .iter()
        .filter(|t| t.last_status == "RUNNING")
        .map(|t| t.started_ms)
        .collect::<Option<Vec<i64>>>()
        .and_then(|starts| starts.into_iter().max())
}

/// A token changed on Twilio's side (Monitor), a Twilio secret changed, or a revision that
/// changed the token.
fn related(change: &Change, snapshot: Option<&Snapshot>) -> bool {
    let action = change.action.to_ascii_lowercase();
    let twilio = change.origin == Origin::TwilioMonitor;
    (twilio && (action.contains("auth-token") || action.contains("api-key")))
        || (matches!(change.service.as_str(), "secretsmanager" | "ssm")
            && change.resource.to_ascii_lowercase().contains("twilio"))
        || (super::is_deployed_revision(change, snapshot)
            && snapshot.is_some_and(|s| changes::changed_var(s, "TWILIO_AUTH_TOKEN")))
}
