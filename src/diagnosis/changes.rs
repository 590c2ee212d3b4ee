//! Which change explains a failure mode: the rules that tie a [`Change`] from CloudTrail or
//! Twilio's Monitor to a finding, and the evidence line that cites it (`TWILIO_VERIFY_SERVICE_SID
//! removed in :42, registered 25 min ago by arn:aws:iam::…:user/deploy-bot`). Pure: the
//! changes, the ECS snapshot and the time are passed in. The changes timeline marks the lines
//! [`related`] to the verdict with the same rules.

use crate::probe::changes::{age, Change, Origin};
use crate::probe::ecs::{self, Snapshot};

use super::{Evidence, FailureMode, Finding};

/// Every change read so far, newest first (CloudTrail's and Twilio's together).
pub fn all(evidence: &Evidence) -> Vec<&Change> {
    let mut out: Vec<&Change> = [&evidence.cloudtrail, &evidence.monitor]
        .into_iter()
        .filter_map(|r| r.as_ref().and_then(|r| r.as_ref().ok()))
        .flat_map(|c| c.changes.iter())
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.at_ms));
    out
}

/// Whether `change` may explain `mode`, given the deployed revision (the mode's rule says).
pub fn related(change: &Change, mode: FailureMode, snapshot: Option<&Snapshot>) -> bool {
    (mode.rule().related)(change, snapshot)
}

/// Whether the deployed revision changed `name` from the previous one.
pub(super) fn changed_var(snapshot: &Snapshot, name: &str) -> bool {
    snapshot.diff.iter().any(|c| match c {
        ecs::Change::Added { name: n, .. }
        | ecs::Change::Removed { name: n, .. }
        | ecs::Change::Changed { name: n, .. }
        | ecs::Change::SecretAdded { name: n, .. }
        | ecs::Change::SecretRemoved { name: n, .. }
        | ecs::Change::SecretChanged { name: n, .. } => n == name,
        ecs::Change::Image { .. } | ecs::Change::EnvFiles { .. } => false,
    })
}

/// What the deployed revision changed, for the line that cites its registration: the
/// variables a finding names first, at most three entries.
fn revision_diff(snapshot: &Snapshot, finding: &Finding) -> Option<(String, String)> {
    let mentioned = |name: &str| finding.evidence.iter().any(|e| e.contains(name));
    let mut parts: Vec<(bool, String)> = snapshot
        .diff
        .iter()
        .map(|c| match c {
            ecs::Change::Added { name, .. } | ecs::Change::SecretAdded { name, .. } => {
                (mentioned(name), format!("{name} added"))
            }
            ecs::Change::Removed { name, .. } | ecs::Change::SecretRemoved { name, .. } => {
                (mentioned(name), format!("{name} removed"))
            }
            ecs::Change::Changed { name, .. } | ecs::Change::SecretChanged { name, .. } => {
                (mentioned(name), format!("{name} changed"))
            }
            ecs::Change::Image { to, .. } => (
                finding.failure_mode == FailureMode::EventLoopBlocked,
                format!("image → {}", to.rsplit('/').next().unwrap_or(to)),
            ),
            // Variables come from the files: a missing one may be the files' doing.
            ecs::Change::EnvFiles { to, .. } => (
                matches!(
                    finding.failure_mode,
                    FailureMode::EnvFileUnreadable | FailureMode::MissingEnvVars
                ),
                format!("env files → {}", ecs::Change::env_files_short(to)),
            ),
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    // What the finding names first; the rest of the revision's changes after it.
    parts.sort_by_key(|(first, _)| !*first);
    let named = parts.iter().filter(|(first, _)| *first).count().max(1);
    let (main, rest) = parts.split_at(named.min(parts.len()));
    let main: Vec<&str> = main.iter().map(|(_, p)| p.as_str()).collect();
    let rest: Vec<&str> = rest.iter().take(2).map(|(_, p)| p.as_str()).collect();
    let more = parts.len().saturating_sub(main.len() + rest.len());
    Some((
        main.join(", "),
        match (rest.is_empty(), more) {
            (true, _) => String::new(),
            (false, 0) => format!(" (also {})", rest.join(", ")),
            (false, n) => format!(" (also {} and {n} more)", rest.join(", ")),
        },
    ))
}

/// The evidence line that cites `change` for `finding`.
pub fn citation(
    change: &Change,
    finding: &Finding,
    snapshot: Option<&Snapshot>,
    now_ms: i64,
) -> String {
    let ago = age(now_ms, change.at_ms);
    if change.action == "RegisterTaskDefinition" {
        if let Some((diff, also)) = snapshot.and_then(|s| revision_diff(s, finding)) {
            let revision = change.resource.rsplit(':').next().unwrap_or_default();
            return format!(
                "{diff} in :{revision}{also}, registered {ago} ago by {}",
                change.who
            );
        }
    }
    let origin = match change.origin {
        Origin::Cloudtrail => "CloudTrail",
        Origin::TwilioMonitor => "Twilio",
    };
    format!("{} {ago} ago by {} ({origin})", change.summary, change.who)
}

/// Adds to each finding the newest change that explains it.
pub(super) fn cite(findings: &mut [Finding], evidence: &Evidence, now_ms: i64) {
    let changes = all(evidence);
    let snapshot = evidence.snapshot();
    for finding in findings.iter_mut() {
        // The registration of the deployed revision says more than the deployment of it. A
        // change made since the evidence began (a repair's own, while its verification runs)
        // explains nothing the verification judges.
        let best = changes
            .iter()
            .filter(|c| evidence.lines_since_ms == 0 || c.at_ms < evidence.lines_since_ms)
            .filter(|c| related(c, finding.failure_mode, snapshot))
            .min_by_key(|c| (c.action != "RegisterTaskDefinition", -c.at_ms));
        let line = match best {
            Some(change) => Some(format!(
                "changed: {}",
                citation(change, finding, snapshot, now_ms)
            )),
            None if finding.failure_mode == FailureMode::InvalidCredentials => {
                changed_on_twilio(evidence)
            }
            None => None,
        };
        if let Some(line) = line {
            if !finding.evidence.contains(&line) {
                finding.evidence.push(line);
            }
        }
    }
}

/// Refused credentials with nothing on the AWS side to explain them: CloudTrail was read and
/// shows no change to the token's secret or the revision's token, and Twilio's Monitor refuses
/// the same token. What is left is a change on Twilio's side, which its Monitor would name
/// but cannot be read with this token.
fn changed_on_twilio(evidence: &Evidence) -> Option<String> {
    let trail = evidence.cloudtrail.as_ref()?.as_ref().ok()?;
    let refused = matches!(
        &evidence.monitor,
        Some(Err(e)) if e.code.as_deref() == Some("20003")
    );
    refused.then(|| {
        format!(
            "changed: nothing on the AWS side touched the Twilio token in the window ({} changes read), and Twilio's Monitor refuses the token too: it was changed on Twilio's side (read the Monitor with the current token to see who)",
            trail.changes.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::changes::Changes;
    use crate::probe::{ErrorKind, ProbeError, System};

    fn change(
        origin: Origin,
        service: &str,
        action: &str,
        resource: &str,
        summary: &str,
    ) -> Change {
        Change {
            at_ms: 1_000,
            origin,
            service: service.into(),
            action: action.into(),
            resource: resource.into(),
            who: "arn:aws:sts::1:assumed-role/ci-deploy/x".into(),
            user_agent: None,
            summary: summary.into(),
            parameters: None,
            id: "e".into(),
        }
    }

    #[test]
    fn rules_tie_a_change_to_the_failure_it_explains() {
        let twilio = |action: &str| change(Origin::TwilioMonitor, "twilio", action, "x", "x");
        let ec2 = change(
            Origin::Cloudtrail,
            "ec2",
            "RevokeSecurityGroupEgress",
            "sg-1",
            "sg-1 egress 443 revoked",
        );
        let table = [
            (
                twilio("auth-token.promoted"),
                FailureMode::InvalidCredentials,
                true,
            ),
            (
                twilio("api-key.deleted"),
                FailureMode::InvalidCredentials,
                true,
            ),
            (
                twilio("verify-service.deleted"),
                FailureMode::VerifyServiceMissing,
                true,
            ),
            (
                twilio("verify-service.deleted"),
                FailureMode::InvalidCredentials,
                false,
            ),
            (
                twilio("phone-number.deleted"),
                FailureMode::FromNumberInvalid,
                true,
            ),
            (
                twilio("account.updated"),
                FailureMode::AccountSuspended,
                true,
            ),
            (ec2.clone(), FailureMode::NetworkBlocked, true),
            (ec2, FailureMode::MissingEnvVars, false),
            (
                change(
                    Origin::Cloudtrail,
                    "secretsmanager",
                    "PutSecretValue",
                    "nerava/prod/twilio-Tw1l1o",
                    "x",
                ),
                FailureMode::InvalidCredentials,
                true,
            ),
            // Without the deployed revision, no registration can be said to be it.
            (
                change(
                    Origin::Cloudtrail,
                    "ecs",
                    "RegisterTaskDefinition",
                    "nerava-backend:42",
                    "x",
                ),
                FailureMode::MissingEnvVars,
                false,
            ),
        ];
        for (c, mode, want) in table {
            assert_eq!(related(&c, mode, None), want, "{} for {mode:?}", c.action);
        }
    }

    #[test]
    fn a_refused_token_with_nothing_changed_on_aws_points_at_twilio() {
        let mut evidence = Evidence {
            cloudtrail: Some(Ok(Changes::default())),
            monitor: Some(Err(ProbeError {
                system: System::Twilio,
                kind: ErrorKind::Credentials,
                code: Some("20003".into()),
                message: "Twilio 20003".into(),
            })),
            ..Evidence::default()
        };
        let line = changed_on_twilio(&evidence).expect("a line");
        assert!(line.contains("changed on Twilio's side"), "{line}");
        // Not when CloudTrail could not be read: then nothing is known about the AWS side.
        evidence.cloudtrail = None;
        assert_eq!(changed_on_twilio(&evidence), None);
    }

    /// A change made since the evidence began (the repair's own, while its verification
    /// runs) is not cited for what the verification finds: only what came before it.
    #[test]
    fn a_change_made_since_the_verification_began_is_not_its_cause() {
        let put = |at_ms| Change {
            at_ms,
            ..change(
                Origin::Cloudtrail,
                "secretsmanager",
                "PutSecretValue",
                "nerava/prod/twilio-Tw1l1o",
                "the token's secret changed",
            )
        };
        let mut evidence = Evidence {
            cloudtrail: Some(Ok(Changes {
                changes: vec![put(5_000), put(1_000)],
                ..Changes::default()
            })),
            ..Evidence::default()
        };
        let finding = || Finding {
            failure_mode: FailureMode::InvalidCredentials,
            title: "",
            confidence: 2,
            evidence: Vec::new(),
            repair: "",
            commands: Vec::new(),
            explains: Vec::new(),
        };
        let cited = |evidence: &Evidence| {
            let mut findings = vec![finding()];
            cite(&mut findings, evidence, 10_000);
            findings.remove(0).evidence
        };
        // Before any repair, the newest related change.
        let newest = cited(&evidence);
        assert_eq!(newest.len(), 1);
        // The repair's verification began at 4 000: the change at 5 000 is its own; the
        // one before it is still cited.
        evidence.lines_since_ms = 4_000;
        let lines = cited(&evidence);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_ne!(lines, newest, "the older change, not the repair's");
        evidence.lines_since_ms = 500;
        assert!(cited(&evidence).is_empty());
    }
}
