//! The two verdicts that are not failure modes: `inconclusive` and `none`. No rule supports
//! them: the diagnosis gives them when no failure mode is supported, `none` only with positive
//! evidence of health.

use super::Choice;
use super::Rule;
use crate::diagnosis::{Evidence, FailureMode, Names};

pub const INCONCLUSIVE: Rule = Rule {
    mode: FailureMode::Inconclusive,
    id: "inconclusive",
    title: "Inconclusive: no failure mode fits what was seen",
    repair: "Look at what could not be checked (unknown) and at the failing lines; fix access so the console can see them.",
    predicts: &[],
    commands: inconclusive_commands,
    underlies: &[],
    support: super::no_support,
    later: None,
    related: super::unrelated,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

pub const NONE: Rule = Rule {
    mode: FailureMode::None,
    id: "none",
    title: "No problem found",
    repair: "Nothing to repair.",
    predicts: &[],
    commands: none_commands,
    underlies: &[],
    support: super::no_support,
    later: None,
    related: super::unrelated,
    suggests: &[Choice::SetEnv],
    flags: &[],
};

fn inconclusive_commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![
        format!("curl -sv --max-time 10 {}/health", n.api_base),
        super::curl_otp_start(n),
    ]
}

fn none_commands(n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![super::curl_otp_start(n)]
}
