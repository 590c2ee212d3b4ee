//! Following a deployment the way `aws ecs wait services-stable` does: DescribeServices on a
//! poll, progress reported as [`RolloutEvent`]s (counts, rollout state, new service events),
//! done when the new deployment is the only one left and COMPLETED (or, where ECS gives no
//! rollout state, as moto does, when its running count reached the desired one). A FAILED
//! rollout, a deployment replaced under us, or no progress for too long ends it as a failure,
//! with the service events and the stopped tasks' reasons that explain it.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::probe::ecs::{Deployment, Service, Task};
use crate::redact;

/// How to follow a rollout.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// Between two DescribeServices calls (the waiter uses 15 s).
    pub poll: Duration,
    /// Longest the whole rollout may take (the waiter gives up after 10 minutes).
    pub timeout: Duration,
    /// Longest without progress (more healthy tasks, fewer deployments, a new rollout state)
    /// before the rollout is called stuck.
    pub stall: Duration,
}

impl FollowOptions {
    /// The waiter's timings, every duration multiplied by `scale` (the simulator's time scale).
    pub fn scaled(scale: f64) -> Self {
        Self {
            poll: Duration::from_secs(5)
                .mul_f64(scale)
                .max(Duration::from_millis(50)),
            timeout: Duration::from_secs(600).mul_f64(scale),
            stall: Duration::from_secs(300).mul_f64(scale),
        }
    }
}

/// Something seen while following.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RolloutEvent {
    /// The counts changed.
    Progress {
        elapsed_ms: u64,
        deployments: usize,
        /// Of the new deployment: `IN_PROGRESS`, `COMPLETED`, `FAILED`, or empty.
        rollout_state: String,
        running: i32,
        desired: i32,
        pending: i32,
        failed_tasks: i32,
    },
    /// A service event written since the deployment began.
    ServiceEvent { at_ms: i64, message: String },
    /// DescribeServices failed this time (the following goes on).
    Error { elapsed_ms: u64, message: String },
}

impl RolloutEvent {
    /// One line for a terminal.
    pub fn line(&self) -> String {
        match self {
            Self::Progress {
                elapsed_ms,
                deployments,
                rollout_state,
                running,
                desired,
                pending,
                failed_tasks,
            } => format!(
                "[{:>5.1} s] {} · {deployments} deployment{} · running {running}/{desired} · pending {pending} · failed tasks {failed_tasks}",
                *elapsed_ms as f64 / 1000.0,
                if rollout_state.is_empty() { "(no rollout state)" } else { rollout_state },
                if *deployments == 1 { "" } else { "s" },
            ),
            Self::ServiceEvent { message, .. } => format!("          event: {message}"),
            Self::Error { message, .. } => format!("          error: {message}"),
        }
    }
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    Completed,
    Failed,
    Stuck,
}

/// A followed rollout.
#[derive(Debug, Clone, Serialize)]
pub struct Rollout {
    pub state: RolloutState,
    pub elapsed: Duration,
    pub events: Vec<RolloutEvent>,
    /// Why it failed or is stuck, one line; empty when completed.
    pub reason: String,
    /// The service events of this deployment, oldest first.
    pub service_events: Vec<String>,
    /// Stopped tasks of the new revision: `task id: reason (exit code)`.
    pub stopped_tasks: Vec<String>,
    /// What to do next when it did not complete.
    pub suggestion: Option<String>,
}

impl RolloutState {
    /// As JSON and in the report: `completed`, `failed`, `stuck`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Stuck => "stuck",
        }
    }
}

impl Rollout {
    /// How it ended, one line for the timeline: `rollout failed (why) after 12.4 s`.
    pub fn summary(&self) -> String {
        format!(
            "rollout {}{} after {:.1} s",
            self.state.name(),
            if self.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.reason)
            },
            self.elapsed.as_secs_f64()
        )
    }
}

/// What one DescribeServices says about the deployment being followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Stable,
    Failed(String),
    InProgress,
}

/// Judges the service against the deployment `deployment_id` (empty: the PRIMARY one).
pub fn assess(service: &Service, deployment_id: &str) -> Verdict {
    let Some(ours) = ours(service, deployment_id) else {
        return Verdict::Failed(format!(
            "deployment {deployment_id} is gone: another deployment replaced it (a circuit-breaker rollback or another deploy)"
        ));
    };
    if ours.rollout_state == "FAILED" {
        let reason = if ours.rollout_reason.is_empty() {
            "rollout state FAILED".to_owned()
        } else {
            ours.rollout_reason.clone()
        };
        return Verdict::Failed(reason);
    }
    let is_done = match ours.rollout_state.as_str() {
        "COMPLETED" => true,
        // No rollout state (moto, or an old ECS): the waiter's own rule.
        "" => ours.running >= ours.desired,
        _ => false,
    };
    if is_done && service.deployments.len() == 1 && service.running >= service.desired {
        Verdict::Stable
    } else {
        Verdict::InProgress
    }
}

fn ours<'a>(service: &'a Service, deployment_id: &str) -> Option<&'a Deployment> {
    service.deployments.iter().find(|d| {
        if deployment_id.is_empty() {
            d.status == "PRIMARY"
        } else {
            d.id == deployment_id
        }
    })
}

/// The follower's memory between two polls.
pub struct Follower {
    deployment_id: String,
    since_ms: i64,
    started: Instant,
    last_progress: Instant,
    /// Best seen so far: most running tasks, fewest deployments, and the rollout state.
    best: (i32, usize, String),
    last: Option<RolloutEvent>,
    seen: HashSet<(i64, String)>,
    pub events: Vec<RolloutEvent>,
    pub service_events: Vec<String>,
}

impl Follower {
    /// Follows `deployment_id`, whose service events are those from `since_ms` on.
    pub fn new(deployment_id: &str, since_ms: i64) -> Self {
        let now = Instant::now();
        Self {
            deployment_id: deployment_id.to_owned(),
            since_ms,
            started: now,
            last_progress: now,
            best: (-1, usize::MAX, String::new()),
            last: None,
            seen: HashSet::new(),
            events: Vec::new(),
            service_events: Vec::new(),
        }
    }

    /// Since the follower started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Takes one DescribeServices answer: returns the new events (also kept) and the verdict.
    pub fn observe(&mut self, service: &Service) -> (Vec<RolloutEvent>, Verdict) {
        let mut new = Vec::new();
        // DescribeServices lists events newest first.
        for event in service.events.iter().rev() {
            if event.at_ms >= self.since_ms
                && self.seen.insert((event.at_ms, event.message.clone()))
            {
                self.service_events.push(event.message.clone());
                new.push(RolloutEvent::ServiceEvent {
                    at_ms: event.at_ms,
                    message: event.message.clone(),
                });
            }
        }
        if let Some(d) = ours(service, &self.deployment_id) {
            let progress = RolloutEvent::Progress {
                elapsed_ms: self.elapsed().as_millis() as u64,
                deployments: service.deployments.len(),
                rollout_state: d.rollout_state.clone(),
                running: d.running,
                desired: d.desired,
                pending: d.pending,
                failed_tasks: d.failed,
            };
            let changed = self
                .last
                .as_ref()
                .is_none_or(|last| !same_counts(last, &progress));
            if changed {
                self.last = Some(progress.clone());
                new.push(progress);
            }
            let (running, deployments, state) = &self.best;
            if d.running > *running
                || service.deployments.len() < *deployments
                || d.rollout_state != *state
            {
                self.best = (
                    d.running.max(*running),
                    service.deployments.len().min(*deployments),
                    d.rollout_state.clone(),
                );
                self.last_progress = Instant::now();
            }
        }
        self.events.extend(new.iter().cloned());
        (new, assess(service, &self.deployment_id))
    }

    /// Notes a failed DescribeServices.
    pub fn error(&mut self, message: &str) -> RolloutEvent {
        let event = RolloutEvent::Error {
            elapsed_ms: self.elapsed().as_millis() as u64,
            message: redact::sanitize(message),
        };
        self.events.push(event.clone());
        event
    }

    /// Why the rollout is stuck, if it is.
    pub fn stuck(&self, options: &FollowOptions) -> Option<String> {
        if self.elapsed() >= options.timeout {
            Some(format!(
                "not stable after {:.0} s",
                options.timeout.as_secs_f64()
            ))
        } else if self.last_progress.elapsed() >= options.stall {
            Some(format!(
                "no progress for {:.0} s",
                options.stall.as_secs_f64()
            ))
        } else {
            None
        }
    }
}

fn same_counts(a: &RolloutEvent, b: &RolloutEvent) -> bool {
    match (a, b) {
        (
            RolloutEvent::Progress {
                deployments: d1,
                rollout_state: s1,
                running: r1,
                desired: w1,
                pending: p1,
                failed_tasks: f1,
                ..
            },
            RolloutEvent::Progress {
                deployments: d2,
                rollout_state: s2,
                running: r2,
                desired: w2,
                pending: p2,
                failed_tasks: f2,
                ..
            },
        ) => (d1, s1, r1, w1, p1, f1) == (d2, s2, r2, w2, p2, f2),
        _ => false,
    }
}

/// The stopped tasks of `revision`, newest first, as `id: reason (exit N)`, at most five.
pub fn stopped_reasons(tasks: &[Task], revision: i32) -> Vec<String> {
    tasks
        .iter()
        .filter(|t| t.last_status == "STOPPED" && t.revision == Some(revision))
        .take(5)
        .map(|t| {
            let mut line = format!(
                "task {}: {}",
                t.id,
                t.stopped_reason.as_deref().unwrap_or("(no reason given)")
            );
            if let Some(code) = t.exit_code {
                let _ = write!(line, " (exit {code})");
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ecs::ServiceEvent;

    fn deployment(id: &str, status: &str, state: &str, running: i32) -> Deployment {
        Deployment {
            id: id.into(),
            status: status.into(),
            task_definition: "arn:td/app:2".into(),
            revision: Some(2),
            rollout_state: state.into(),
            rollout_reason: String::new(),
            desired: 1,
            running,
            pending: 0,
            failed: 0,
            created_ms: Some(1000),
        }
    }

    fn service(deployments: Vec<Deployment>, running: i32) -> Service {
        Service {
            name: "app".into(),
            status: "ACTIVE".into(),
            desired: 1,
            running,
            pending: 0,
            task_definition: "arn:td/app:2".into(),
            target_container: None,
            deployments,
            events: vec![
                ServiceEvent {
                    at_ms: 2000,
                    message: "has started 1 tasks".into(),
                },
                ServiceEvent {
                    at_ms: 500,
                    message: "old".into(),
                },
            ],
        }
    }

    #[test]
    fn stable_like_the_waiter() {
        let two = service(
            vec![
                deployment("new", "PRIMARY", "COMPLETED", 1),
                deployment("old", "ACTIVE", "COMPLETED", 1),
            ],
            2,
        );
        assert_eq!(assess(&two, "new"), Verdict::InProgress);
        let one = service(vec![deployment("new", "PRIMARY", "COMPLETED", 1)], 1);
        assert_eq!(assess(&one, "new"), Verdict::Stable);
        // moto: no rollout state, running reaches desired.
        let moto = service(vec![deployment("new", "PRIMARY", "", 1)], 1);
        assert_eq!(assess(&moto, ""), Verdict::Stable);
        let failed = service(vec![deployment("new", "PRIMARY", "FAILED", 0)], 0);
        assert!(matches!(assess(&failed, "new"), Verdict::Failed(_)));
        assert!(matches!(assess(&one, "gone"), Verdict::Failed(_)));
    }

    #[test]
    fn follower_reports_new_events_once_and_changes_only() {
        let mut f = Follower::new("new", 1000);
        let s = service(vec![deployment("new", "PRIMARY", "IN_PROGRESS", 0)], 0);
        let (events, verdict) = f.observe(&s);
        assert_eq!(verdict, Verdict::InProgress);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(f.observe(&s).0.is_empty());
        assert_eq!(f.service_events, vec!["has started 1 tasks".to_owned()]);
        let options = FollowOptions {
            poll: Duration::ZERO,
            timeout: Duration::from_secs(60),
            stall: Duration::ZERO,
        };
        assert!(f.stuck(&options).is_some_and(|r| r.contains("no progress")));
    }
}
