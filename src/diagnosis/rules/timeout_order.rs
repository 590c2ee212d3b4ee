//! `timeout_order`: the backend's Twilio timeout does not fire before the load balancer's idle
//! timeout, so a blocked call outlives the request and the user gets a bare 504. Only ever a
//! risk: it decides what users see when the call to Twilio hangs, it does not make it hang. The
//! timeout budget ([`crate::diagnosis::budget`]) says which timeout fires first.

use super::Choice;
use super::{Rule, Symptom};
use crate::diagnosis::budget::{Budget, FrontEnd};
use crate::diagnosis::{Evidence, FailureMode, Finding, Names};

pub const RULE: Rule = Rule {
    mode: FailureMode::TimeoutOrder,
    id: "timeout_order",
    title: "The load balancer gives up before the backend's Twilio timeout",
    repair: "Make the backend give up first: lower TWILIO_TIMEOUT_SECONDS below the load balancer's idle timeout (repair: --set TWILIO_TIMEOUT_SECONDS=…), or raise the idle timeout above it; then a Twilio that does not answer gives users the backend's clean error instead of a bare 504.",
    predicts: &[Symptom::OtpHangs],
    commands,
    underlies: &[],
    // The budget, computed once per diagnosis, makes it a risk ([`risk`]).
    support: super::no_support,
    later: None,
    related: super::unrelated,
    suggests: &[Choice::SetEnv],
    flags: &["TWILIO_TIMEOUT_SECONDS"],
};

fn commands(_n: &Names, _evidence: &Evidence) -> Vec<String> {
    vec![
        "otp-console repair --set TWILIO_TIMEOUT_SECONDS=<below the idle timeout>".into(),
        "aws elbv2 describe-load-balancer-attributes --load-balancer-arn <the load balancer's ARN>"
            .into(),
    ]
}

/// The risk when the backend's timeout does not fire first: `None` otherwise.
pub(in crate::diagnosis) fn risk(
    budget: &Budget,
    names: &Names,
    load_balancer: &str,
) -> Option<Finding> {
    let idle = budget.load_balancer_idle_s?;
    if budget.configured_in_order != Some(false) {
        return None;
    }
    let below = idle.saturating_sub(10).max(1);
    let front = budget.front_end;
    let (whose, raise) = match front {
        FrontEnd::LoadBalancer => (
            format!("the load balancer's idle timeout {idle} s"),
            format!(
                "aws elbv2 modify-load-balancer-attributes --load-balancer-arn $(aws elbv2 describe-load-balancers --names {load_balancer} --query 'LoadBalancers[0].LoadBalancerArn' --output text) --attributes Key=idle_timeout.timeout_seconds,Value={}",
                budget.twilio_timeout_s + 15
            ),
        ),
        // App Runner's request timeout is not a setting: only the backend's can move.
        FrontEnd::Apprunner => (
            format!("App Runner's fixed request timeout {idle} s"),
            super::show_configured(names, "environment"),
        ),
    };
    let show = match front {
        FrontEnd::LoadBalancer => format!(
            "aws ecs describe-task-definition --task-definition {} --query \"taskDefinition.containerDefinitions[].environment[?name=='TWILIO_TIMEOUT_SECONDS']\"",
            names.service
        ),
        FrontEnd::Apprunner => String::new(),
    };
    let mut commands = vec![
        format!("otp-console repair --set TWILIO_TIMEOUT_SECONDS={below}   # then a new deployment, verified"),
        raise,
    ];
    if !show.is_empty() {
        commands.push(show);
    }
    Some(Finding {
        failure_mode: FailureMode::TimeoutOrder,
        title: RULE.title,
        confidence: 3,
        evidence: vec![
            format!(
                "TWILIO_TIMEOUT_SECONDS {} s is not shorter than {whose}: a Twilio call that does not return outlives the request, and users get {}'s bare 504 instead of the backend's own error",
                budget.twilio_timeout_s,
                front.who()
            ),
            "a risk, not the cause of what fails now: it decides what users see when the call to Twilio hangs".into(),
        ],
        repair: match front {
            FrontEnd::LoadBalancer => RULE.repair,
            FrontEnd::Apprunner => "Make the backend give up first: lower TWILIO_TIMEOUT_SECONDS below App Runner's fixed 120 s request timeout (repair: --set TWILIO_TIMEOUT_SECONDS=…); then a Twilio that does not answer gives users the backend's clean error instead of a bare 504.",
        },
        explains: Vec::new(),
        commands,
    })
}
