//! The rules: what each failure mode's evidence looks like, in stages. The first stage's
//! rules ([`EVIDENCE_RULES`]) read the evidence alone: none reads another's findings, so their
//! order is only the order of the evidence lines. What cannot explain what fails now is then
//! set aside as a risk ([`super::causes`]). Each later stage ([`STAGES`]) reads the evidence and
//! the findings of the stages before it, as they stood when the stage began (`before`), never
//! those of its own stage: a rule that needs another's outcome says so by its stage, not by
//! the order it happens to run in.

use super::{
    api_unreachable, causes, clip, delivery, ecs, ends, fmt_ms, image_change, median,
    reaches_twilio, real_traffic, secrets, stale_token, Class, Endpoint, ErrorKind, Evidence,
    FailureMode, Finding, Findings, LineKind, Names, ProbeError, Sample, SecretState, VarStatus,
    ViolationKind, HANG_MS, STALL_MS,
};

/// A rule of the first stage.
type Rule = fn(&Evidence, i64, &mut Findings);

/// A rule of a later stage: `before` is what the earlier stages found.
type Followup = fn(&Evidence, i64, &[Finding], &mut Findings);

/// The first stage: the evidence alone.
const EVIDENCE_RULES: &[Rule] = &[
    task_definition,
    secrets_read,
    secret_stops,
    twilio_answers,
    sms_sender,
    sms_sends,
    real_users_sms,
    rejected_token,
    log_lines,
    event_loop_stall,
    otp_rate_limited,
    twilio_timeouts,
    network_path,
];

/// The later stages, in order.
const STAGES: &[&[Followup]] = &[
    // An OTP start that hangs with nothing else found is the network's shape; a token changed
    // after the tasks started explains a rejected one.
    &[otp_hangs, stale_secret_token],
    // Real users' failures: a line for what is named, or the hanging modes as candidates.
    &[users_fail],
    // An API that does not answer, unless a stall found before explains the hanging probes.
    &[api_down],
];

/// Runs every rule over `evidence`: the findings, merged by failure mode, and the risks.
pub(super) fn run(evidence: &Evidence, names: &Names, now_ms: i64) -> (Vec<Finding>, Vec<Finding>) {
    let mut found = Findings {
        list: Vec::new(),
        names,
    };
    for rule in EVIDENCE_RULES {
        rule(evidence, now_ms, &mut found);
    }
    let risks = causes::set_aside_risks(&mut found.list, evidence.snapshot());
    for stage in STAGES {
        let before = found.list.clone();
        for rule in *stage {
            rule(evidence, now_ms, &before, &mut found);
        }
    }
    (found.list, risks)
}

/// The API's `/health` samples, and whether a latency is fast against their usual one
/// (outside OTP starts): under [`STALL_MS`] and ten times the baseline (at least 500 ms).
struct HealthTiming<'a> {
    samples: Vec<&'a Sample>,
    baseline: Option<u64>,
}

impl<'a> HealthTiming<'a> {
    fn of(evidence: &'a Evidence) -> Self {
        let samples: Vec<&Sample> = evidence
            .samples
            .iter()
            .filter(|s| s.endpoint == Endpoint::Health)
            .collect();
        let baseline = median(
            samples
                .iter()
                .filter(|s| !s.during_otp && s.class.is_ok())
                .map(|s| s.latency_ms),
        );
        Self { samples, baseline }
    }

    fn is_fast(&self, ms: u64) -> bool {
        ms < STALL_MS.min(self.baseline.map_or(STALL_MS, |b| (b * 10).max(500)))
    }
}

/// Whether `mode` is among `findings`.
fn named(findings: &[Finding], mode: FailureMode) -> bool {
    findings.iter().any(|f| f.failure_mode == mode)
}

fn stale_secret_token(evidence: &Evidence, now_ms: i64, _before: &[Finding], found: &mut Findings) {
    stale_token(evidence, found, now_ms);
}

fn users_fail(evidence: &Evidence, _now_ms: i64, _before: &[Finding], found: &mut Findings) {
    real_traffic(evidence, found);
}

fn api_down(evidence: &Evidence, now_ms: i64, before: &[Finding], found: &mut Findings) {
    let stalled = named(before, FailureMode::EventLoopBlocked);
    if let Some(line) = api_unreachable(evidence, now_ms, stalled) {
        found.add(FailureMode::ApiUnreachable, 3, line);
    }
}

/// The task definition against the runbook's table, a service scaled to zero, and the
/// primary deployment's own state.
fn task_definition(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    let snapshot = evidence.snapshot();
    let names = found.names;
    // The task definition against the runbook's table.
    if let Some(s) = snapshot {
        let rev = format!("{}:{}", s.deployed.family, s.deployed.revision);
        for check in &s.checks {
            if let VarStatus::Violation(v) = &check.status {
                let was = s.previous.as_ref().map_or(String::new(), |p| {
                    let present = p.environment.iter().any(|e| e.name == v.name)
                        || p.secrets.iter().any(|e| e.name == v.name);
                    if present {
                        format!(" (present in :{})", p.revision)
                    } else {
                        String::new()
                    }
                });
                match v.kind {
                    ViolationKind::NotAllowed if v.name == "OTP_PROVIDER" => {
                        found.add(
                            FailureMode::StubProvider,
                            3,
                            format!("{rev}: {}", v.message),
                        );
                    }
                    ViolationKind::Missing | ViolationKind::Empty => {
                        found.add(
                            FailureMode::MissingEnvVars,
                            3,
                            format!("{rev}: {}{was}", v.message),
                        );
                    }
                    ViolationKind::BadFormat | ViolationKind::NotAllowed => {
                        found.add(
                            FailureMode::MissingEnvVars,
                            2,
                            format!("{rev}: {}", v.message),
                        );
                    }
                }
            }
        }
        // Scaled to zero (by hand, a scheduled action, an autoscaling policy with minimum 0):
        // nothing serves the API, whatever the task definition says.
        if s.service.desired == 0 && s.service.running == 0 {
            found.add(
                FailureMode::ApiUnreachable,
                3,
                format!(
                    "service {} is scaled to zero: desired 0, running 0 tasks ({} deployed) — nothing serves the API",
                    s.service.name, rev
                ),
            );
            found.name_resources(
                FailureMode::ApiUnreachable,
                vec![format!(
                    "aws ecs update-service --cluster {} --service {} --desired-count 1   # or the count it ran with; check scheduled scaling: aws application-autoscaling describe-scheduled-actions --service-namespace ecs",
                    names.cluster, names.service
                )],
            );
        }
        let primary = s.service.deployments.iter().find(|d| d.status == "PRIMARY");
        let stopped: Vec<&ecs::Task> = s
            .tasks
            .iter()
            .filter(|t| {
                t.last_status == "STOPPED"
                    && t.stop_code.as_deref() != Some("ServiceSchedulerInitiated")
            })
            .collect();
        if let Some(d) = primary {
            if d.rollout_state == "FAILED" {
                found.add(
                    FailureMode::DeploymentFailed,
                    3,
                    format!("deployment {} FAILED: {}", d.id, d.rollout_reason),
                );
            } else if d.failed > 0 && s.service.running == 0 {
                let reason = stopped
                    .first()
                    .and_then(|t| t.stopped_reason.clone())
                    .unwrap_or_else(|| "tasks stop after starting".into());
                found.add(
                    FailureMode::DeploymentFailed,
                    3,
                    format!("{} failed tasks, 0 running; last stop: {reason}", d.failed),
                );
            }
        }
    }
}

/// The deployed container's `secrets`, as the operator could resolve them, and whether the
/// execution role may read them.
fn secrets_read(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    let snapshot = evidence.snapshot();
    // The task definition's `secrets`, as the operator could resolve them, and the tasks' own
    // word on them.
    if let Some(s) = snapshot {
        for r in &s.secrets {
            // The operator may read it and the service may not: IAM's policy simulator says so
            // before (or beside) the tasks that stop on it.
            if let Some(access @ secrets::RoleAccess::Denied { .. }) = &r.role_access {
                let role = s.deployed.execution_role.as_deref().unwrap_or("?");
                // What was denied: the secret itself, or (kms:Decrypt) the key it is under.
                let denied_on = match access {
                    secrets::RoleAccess::Denied { action, .. } if action == "kms:Decrypt" => {
                        r.kms_key_id.as_deref()
                    }
                    _ => r.arn.as_deref(),
                };
                found.add(
                    FailureMode::SecretUnreadable,
                    3,
                    format!(
                        "{} ← {}: execution {} on {} — IAM policy simulation; the ECS agent cannot read it, so new tasks stop",
                        r.name,
                        r.source,
                        access.line(role),
                        denied_on.unwrap_or(&r.value_from)
                    ),
                );
                if let (secrets::RoleAccess::Denied { action, .. }, Some(arn)) = (access, denied_on)
                {
                    let name = role.rsplit('/').next().unwrap_or(role);
                    found.name_resources(
                        FailureMode::SecretUnreadable,
                        vec![
                            format!("aws iam simulate-principal-policy --policy-source-arn {role} --action-names {action} --resource-arns {arn} --query 'EvaluationResults[].[EvalResourceName,EvalDecision]' --output text"),
                            format!("aws iam put-role-policy --role-name {name} --policy-name read-{} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"{action}\",\"Resource\":\"{arn}\"}}]}}'   # ECS starts the next task with it, no redeploy", r.name.to_ascii_lowercase().replace('_', "-")),
                        ],
                    );
                }
            }
            // A customer-managed key that refuses the operator: its key policy is the first
            // thing to read, and the tasks' stop reasons say whether ECS is refused too.
            if let (SecretState::KmsDenied, Some(key)) = (r.state, r.kms_key_id.as_deref()) {
                if found.has(FailureMode::SecretUnreadable)
                    || s.tasks.iter().any(|t| {
                        t.stopped_reason
                            .as_deref()
                            .is_some_and(|why| why.contains("Access to KMS is not allowed"))
                    })
                {
                    found.add(
                        FailureMode::SecretUnreadable,
                        3,
                        format!(
                            "{} ← {}: KMS key {key} refuses to decrypt it (the operator too)",
                            r.name, r.source
                        ),
                    );
                    found.name_resources(
                        FailureMode::SecretUnreadable,
                        vec![
                            format!("aws kms get-key-policy --key-id {key} --policy-name default --output text"),
                            format!("aws secretsmanager describe-secret --secret-id {} --query KmsKeyId", r.arn.as_deref().unwrap_or(&r.value_from)),
                        ],
                    );
                }
            }
            let confidence = match r.state {
                SecretState::ScheduledForDeletion | SecretState::JsonKeyMissing => 3,
                SecretState::NotFound => 2,
                _ => continue,
            };
            found.add(
                FailureMode::SecretUnreadable,
                confidence,
                format!(
                    "{} ← {}: {}",
                    r.name,
                    r.source,
                    r.detail.clone().unwrap_or_else(|| r.state.label().into())
                ),
            );
        }
    }
}

/// The tasks' own word on the secrets: the current deployment's tasks stopping with
/// `ResourceInitializationError` about them.
fn secret_stops(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    let Some(s) = evidence.snapshot() else {
        return;
    };
    let secret_stops = causes::stopped_starting(s).filter(|t| {
        t.stopped_reason
            .as_deref()
            .is_some_and(|reason| reason.contains("secret") || reason.contains("ssm"))
    });
    if let Some(t) = secret_stops.clone().next() {
        found.add(
            FailureMode::SecretUnreadable,
            3,
            format!(
                "{} task(s) of :{} stopped: {}",
                secret_stops.count(),
                t.revision.unwrap_or_default(),
                ends(t.stopped_reason.as_deref().unwrap_or_default(), 60, 110)
            ),
        );
    }
}

/// Twilio, asked directly with the credentials the service uses.
fn twilio_answers(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    // Twilio, asked directly with the credentials the service uses.
    if let Some(Err(e)) = &evidence.account {
        match e.code.as_deref() {
            Some("20003") => found.add(
                FailureMode::InvalidCredentials,
                3,
                format!("account fetch: {}", e.message),
            ),
            Some("20005" | "10001") => found.add(
                FailureMode::AccountSuspended,
                3,
                format!("account fetch: {}", e.message),
            ),
            _ => {}
        }
    }
    if let Some(Ok(account)) = &evidence.account {
        if account.status != "active" {
            found.add(
                FailureMode::AccountSuspended,
                3,
                format!("Twilio account {} is {}", account.sid, account.status),
            );
        }
    }
    if let Some(Err(e)) = &evidence.service {
        if e.kind == ErrorKind::NotFound && e.code.as_deref() == Some("20404") {
            found.add(
                FailureMode::VerifyServiceMissing,
                3,
                format!("service fetch: {}", e.message),
            );
        }
    }
    for send in &evidence.sends {
        if let Err(e) = send {
            match e.code.as_deref() {
                Some("60203" | "60202" | "20429") => found.add(
                    FailureMode::RateLimited,
                    3,
                    format!("test send: {}", e.message),
                ),
                Some("20005" | "10001") => found.add(
                    FailureMode::AccountSuspended,
                    3,
                    format!("test send: {}", e.message),
                ),
                Some("20404") => found.add(
                    FailureMode::VerifyServiceMissing,
                    3,
                    format!("test send: {}", e.message),
                ),
                Some("20003") => found.add(
                    FailureMode::InvalidCredentials,
                    3,
                    format!("test send: {}", e.message),
                ),
                _ => {}
            }
        }
    }
}

/// The SMS path: the From number of the `twilio_sms` provider.
fn sms_sender(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    // The SMS path: the From number, and whether test sends reached the phone.
    if let Some(Ok(sender)) = &evidence.sender {
        let is_service = sender.from.starts_with("MG");
        if !sender.owned && is_service {
            found.add(
                FailureMode::FromNumberInvalid,
                3,
                format!(
                    "OTP_FROM_NUMBER {} is not a Messaging Service of the account (deleted?)",
                    sender.from
                ),
            );
        } else if !sender.owned {
            found.add(
                FailureMode::FromNumberInvalid,
                3,
                format!(
                    "OTP_FROM_NUMBER {} is not among the account's numbers (IncomingPhoneNumbers): released or never bought",
                    sender.from
                ),
            );
        } else if !sender.sms_capable && is_service {
            found.add(
                FailureMode::FromNumberInvalid,
                3,
                format!(
                    "OTP_FROM_NUMBER {} ({}) has no SMS-capable number in its sender pool",
                    sender.from, sender.friendly_name
                ),
            );
        } else if !sender.sms_capable {
            found.add(
                FailureMode::FromNumberInvalid,
                3,
                format!(
                    "OTP_FROM_NUMBER {} ({}) is owned but cannot send SMS",
                    sender.from, sender.friendly_name
                ),
            );
        }
    }
}

/// Test sends refused for the sender or the destination, and their delivery steps.
fn sms_sends(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    for send in &evidence.sends {
        if let Err(e) = send {
            let code = e.code.as_deref().and_then(|c| c.parse::<u32>().ok());
            if code.is_some_and(delivery::is_sender_error) {
                found.add(
                    FailureMode::FromNumberInvalid,
                    3,
                    format!("test send: {}", e.message),
                );
            } else if code.is_some_and(delivery::is_delivery_error) {
                found.add(
                    FailureMode::SmsUndelivered,
                    3,
                    format!("test send: {}", e.message),
                );
            }
        }
    }
    for step in evidence.deliveries.iter().flatten() {
        if let Some(code) = step.error_code.filter(|c| delivery::is_delivery_error(*c)) {
            if step.is_final {
                let repair = delivery::decode(code).map_or("", |d| d.repair);
                found.add(
                    FailureMode::SmsUndelivered,
                    3,
                    format!(
                        "{} to {} {} with {code}: {} — {repair}",
                        step.sid,
                        step.to,
                        step.status,
                        step.meaning.as_deref().unwrap_or("carrier error")
                    ),
                );
            }
        }
    }
}

fn real_users_sms(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    // Real users' SMS, as the account lists them: a carrier refusing most of them is this
    // failure even when every API call answers 200 and nobody sent a test; refusing a share of
    // them (one carrier's subscribers, one country) is this failure too, named with less
    // confidence, even when the test phone (on another carrier) gets its code.
    if let Some(Ok(recent)) = &evidence.recent_sms {
        let tally = recent.tally(evidence.lines_since_ms);
        let partly = tally.partly_failing();
        if tally.mostly_failing() || partly {
            let code = tally.codes.first().map(|(c, _)| *c);
            let mode = if code.is_some_and(delivery::is_sender_error) {
                FailureMode::FromNumberInvalid
            } else {
                FailureMode::SmsUndelivered
            };
            let repair = code.and_then(delivery::decode).map_or("", |d| d.repair);
            let via = match recent.via {
                Some(delivery::Via::VerifyAttempts) => "Verify Attempts",
                _ => "Messages",
            };
            let share = if partly {
                " — a share of users, not all: the carrier or country of those phones refuses them"
            } else {
                ""
            };
            found.add(
                mode,
                if partly { 1 } else { 3 },
                format!(
                    "real users' SMS in the last 15 min (Twilio {via}): {}{share} — {repair}",
                    tally.summary()
                ),
            );
        }
    }
}

/// The token Twilio rejected, when it is read from a secret: which one, its fingerprint, and
/// a repair that puts the new value in it (a new value, then a new deployment).
fn rejected_token(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    let snapshot = evidence.snapshot();
    let names = found.names;
    // Twilio's own 20003, to the console's account read or a test send.
    let rejected = |e: &ProbeError| e.code.as_deref() == Some("20003");
    let refused = matches!(&evidence.account, Some(Err(e)) if rejected(e))
        || evidence
            .sends
            .iter()
            .any(|s| s.as_ref().is_err_and(rejected));
    if refused {
        if let Some(r) = snapshot.and_then(|s| {
            s.secrets
                .iter()
                .find(|r| r.name == "TWILIO_AUTH_TOKEN" && r.state == SecretState::Ok)
        }) {
            found.add(
                FailureMode::InvalidCredentials,
                3,
                format!(
                    "the rejected token is TWILIO_AUTH_TOKEN ← {} (fingerprint {}), last changed {}",
                    r.source,
                    r.fingerprint.as_deref().unwrap_or("?"),
                    r.last_changed_ms.map_or_else(|| "at an unknown time".into(), secrets::date)
                ),
            );
            // The fix is a new value in that secret and a new deployment, not a new revision.
            if let (Some(arn), Some(f)) = (
                r.arn
                    .as_deref()
                    .filter(|_| r.store == secrets::Store::SecretsManager),
                found
                    .list
                    .iter_mut()
                    .find(|f| f.failure_mode == FailureMode::InvalidCredentials),
            ) {
                f.commands = vec![
                    "curl -u \"$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN\" https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID.json".to_owned(),
                    format!("aws secretsmanager put-secret-value --secret-id {arn} --secret-string '<the new token{}>'", secrets::ValueFrom::parse(&r.value_from).json_key.map_or_else(String::new, |k| format!(" as JSON field {k}"))),
                    format!(
                        "aws ecs update-service --cluster {} --service {} --force-new-deployment",
                        names.cluster, names.service
                    ),
                ];
            }
        }
    }
}

/// The backend's own log lines.
fn log_lines(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    // The backend's own log lines.
    let log_rules = [
        (LineKind::CredentialError, FailureMode::InvalidCredentials),
        (LineKind::ServiceNotFound, FailureMode::VerifyServiceMissing),
        (LineKind::AccountInactive, FailureMode::AccountSuspended),
        (LineKind::RateLimited, FailureMode::RateLimited),
        (LineKind::ProviderNotConfigured, FailureMode::MissingEnvVars),
        (LineKind::FromNumberInvalid, FailureMode::FromNumberInvalid),
    ];
    for (kind, mode) in log_rules {
        if let Some(event) = evidence.last_line(kind) {
            found.add(
                mode,
                2,
                format!(
                    "log ×{}: {}",
                    evidence.lines(kind),
                    clip(&event.message, 110)
                ),
            );
        }
    }
    if let Some(event) = evidence.last_line(LineKind::StartupFailure) {
        let mode = if event.message.contains("stub") {
            FailureMode::StubProvider
        } else {
            FailureMode::DeploymentFailed
        };
        found.add(mode, 2, format!("log: {}", clip(&event.message, 110)));
    }
}

/// `/health` stalled while an OTP start was in flight: the event loop is blocked (with the
/// image change since the previous revision as more evidence).
fn event_loop_stall(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let snapshot = evidence.snapshot();
    // The API, timed.
    let HealthTiming {
        samples: health_samples,
        baseline,
    } = HealthTiming::of(evidence);
    let otp_outstanding = evidence.outstanding_age(Endpoint::OtpStart, now_ms);
    let stalled_done = health_samples
        .iter()
        .filter(|s| s.during_otp && (s.latency_ms >= STALL_MS || s.class == Class::GatewayTimeout))
        .max_by_key(|s| s.latency_ms);
    let stalled_now = otp_outstanding
        .and(evidence.outstanding_age(Endpoint::Health, now_ms))
        .filter(|age| *age >= STALL_MS);
    if let Some(s) = stalled_done {
        found.add(
            FailureMode::EventLoopBlocked,
            2,
            format!(
                "/health took {} while an OTP start was in flight (normally {})",
                fmt_ms(s.latency_ms),
                baseline.map_or("fast".into(), fmt_ms)
            ),
        );
    } else if let Some(age) = stalled_now {
        found.add(
            FailureMode::EventLoopBlocked,
            2,
            format!(
                "/health has not answered for {} while an OTP start is outstanding (normally {})",
                fmt_ms(age),
                baseline.map_or("fast".into(), fmt_ms)
            ),
        );
    }
    if found.has(FailureMode::EventLoopBlocked) {
        if let Some(line) = image_change(snapshot) {
            found.add(FailureMode::EventLoopBlocked, 2, line);
        }
    }
}

/// An OTP start answered 429.
fn otp_rate_limited(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    let otp = evidence.last(Endpoint::OtpStart);
    if let Some(s) = otp {
        if s.class == Class::RateLimited {
            found.add(
                FailureMode::RateLimited,
                3,
                format!("OTP start answered 429: {}", s.summary),
            );
        }
    }
}

/// The backend's Twilio timeouts, read against the network path and Twilio's own answer.
fn twilio_timeouts(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    if let Some(event) = evidence.last_line(LineKind::TwilioTimeout) {
        let twilio_reachable = matches!(evidence.account, Some(Ok(_)));
        // The path reading open (EC2) while the calls time out is not the network's shape: a
        // Twilio that answers slowly, or not at all, times them out the same way.
        let path_open = matches!(
            &evidence.network,
            Some(Ok(p)) if p.state == crate::network::HopState::Pass
        );
        found.add(
            FailureMode::NetworkBlocked,
            match (path_open, twilio_reachable) {
                (true, _) => 0,
                (false, true) => 2,
                (false, false) => 1,
            },
            format!(
                "log ×{}: {}",
                evidence.lines(LineKind::TwilioTimeout),
                clip(&event.message, 100)
            ),
        );
        if path_open {
            found.add(
                FailureMode::NetworkBlocked,
                0,
                format!(
                    "the service's Twilio calls time out, but the network path to Twilio reads open{}",
                    if twilio_reachable {
                        ""
                    } else {
                        " and Twilio does not answer the console either: Twilio itself may be slow (its status page)"
                    }
                ),
            );
        } else if twilio_reachable {
            found.add(
                FailureMode::NetworkBlocked,
                2,
                "Twilio answers the console directly: the service's own route to it is blocked"
                    .into(),
            );
        }
    }
}

fn network_path(evidence: &Evidence, now_ms: i64, found: &mut Findings) {
    let _ = now_ms;
    // The network path as AWS's own configuration describes it: a failing hop names the
    // failure mode from the configuration alone, no OTP start needed.
    let path = match &evidence.network {
        Some(Ok(p)) => Some(p.as_ref()),
        _ => None,
    };
    if let Some(p) = path.filter(|p| p.state == crate::network::HopState::Fail) {
        // The configuration is read against `aws.egress_destinations` (anywhere by default);
        // rules that allow only Twilio's own addresses read blocked and work. What the service
        // itself just did outranks that reading: then it is a lead, not the verdict.
        let reached = reaches_twilio(evidence);
        for hop in p.failures() {
            match &reached {
                None => found.add(FailureMode::NetworkBlocked, 3, hop.detail.clone()),
                Some(how) => found.add(
                    FailureMode::NetworkBlocked,
                    0,
                    format!(
                        "{} — but {how}: the rules let the service reach Twilio's addresses; set aws.egress_destinations to the ranges they allow",
                        hop.detail
                    ),
                ),
            }
        }
    }
}

fn otp_hangs(evidence: &Evidence, now_ms: i64, before: &[Finding], found: &mut Findings) {
    let snapshot = evidence.snapshot();
    let timing = HealthTiming::of(evidence);
    let health_samples = &timing.samples;
    let is_fast = |ms: u64| timing.is_fast(ms);
    let otp_outstanding = evidence.outstanding_age(Endpoint::OtpStart, now_ms);
    let otp = evidence.last(Endpoint::OtpStart);
    let path = match &evidence.network {
        Some(Ok(p)) => Some(p.as_ref()),
        _ => None,
    };
    // An OTP start that hangs while everything the runbook checks is fine, and health stays
    // fast, is the network: the request is stuck connecting to Twilio.
    let health_fast = health_samples
        .iter()
        .filter(|s| s.during_otp)
        .all(|s| is_fast(s.latency_ms))
        && evidence
            .outstanding_age(Endpoint::Health, now_ms)
            .is_none_or(is_fast);
    let hanging = otp_outstanding.filter(|age| *age >= HANG_MS).or_else(|| {
        otp.filter(|s| {
            matches!(s.class, Class::GatewayTimeout | Class::Timeout)
                || (s.class == Class::ServerError && s.status == Some(503))
        })
        .map(|s| s.latency_ms)
    });
    let only_network = before
        .iter()
        .all(|f| f.failure_mode == FailureMode::NetworkBlocked);
    let path_open = path.is_some_and(|p| p.state == crate::network::HopState::Pass);
    if let Some(age) = hanging.filter(|_| path_open && only_network && health_fast) {
        // The configuration reads open: the hang is not explained by it.
        found.add(
            FailureMode::NetworkBlocked,
            0,
            format!(
                "OTP start hangs ({}) with /health fast, but the network path to Twilio reads open",
                fmt_ms(age)
            ),
        );
    } else if let Some(age) = hanging {
        let config_ok = only_network
            && snapshot.is_some()
            && matches!(evidence.account, Some(Ok(_)))
            && matches!(evidence.service, Some(Ok(_)));
        if config_ok && health_fast {
            found.add(
                FailureMode::NetworkBlocked,
                1,
                format!("OTP start hangs ({}) with config, credentials and Twilio all fine and /health fast", fmt_ms(age)),
            );
        } else if health_fast && only_network {
            // What fits, partly: the hang is the network's shape, but the config and Twilio
            // could not be confirmed, so it is a candidate, not the verdict.
            found.add(
                FailureMode::NetworkBlocked,
                0,
                format!("OTP start hangs ({}) with /health fast, but the config and Twilio could not be confirmed", fmt_ms(age)),
            );
        }
    }
}
