//! Everything that can happen to the console, as data: input from the terminal, time passing,
//! and what the probes and the runner report. `App::update` takes one at a time.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::probe::Observation;
use crate::repair::{Applied, Plan, Rollout, RolloutEvent};

/// What the runner reports about a repair.
#[derive(Debug, Clone)]
pub enum RepairUpdate {
    Planned(Result<Box<Plan>, String>),
    /// The egress rule planned from the network path as read.
    EgressPlanned(Result<Box<crate::repair::egress::EgressPlan>, String>),
    /// The rule added: the security group rule ids AWS gave it.
    EgressApplied(Result<Vec<String>, String>),
    Applied(Result<Applied, String>),
    Rollout(RolloutEvent),
    Finished(Box<Rollout>),
    /// An App Runner repair planned (UpdateService, StartDeployment or ResumeService).
    AppRunnerPlanned(Result<Box<crate::repair::apprunner::Plan>, String>),
    /// The App Runner operation the repair started: its id.
    OperationStarted(Result<String, String>),
    /// The operation reached this status (ListOperations).
    Operation(String),
    /// The operation ended with this status, or could not be followed.
    OperationEnded(Result<String, String>),
}

/// One input to `App::update`.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    /// Time passes: milliseconds since the epoch. Drives ages, spinners and schedules.
    Tick(i64),
    /// A probe saw something.
    Observed(Observation),
    /// The demo phone's inbox, as the simulator's phone shows it.
    Inbox(Vec<Sms>),
    /// The runner (re)started its target: a new demo scenario, or the configured deployment.
    Target(Target),
    /// A one-line message from the runner (an action's outcome, an error).
    Notice(Notice),
    /// What the runner reports about the repair in progress.
    Repair(RepairUpdate),
    /// The revision the user picked to compare the deployed one with, or why it is not there.
    Compared(Result<Box<crate::probe::ecs::TaskDefinition>, String>),
}

/// An SMS on the demo phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// Last 4 digits of the recipient.
    pub to: String,
    pub code: String,
    pub received_ms: i64,
}

/// What the console is watching.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// `Some(scenario)` in the demo.
    pub demo_scenario: Option<String>,
    /// What the target is called: the API base URL for the header, the platform (the header
    /// names App Runner; ECS is the default it leaves unsaid), the cluster, service and log
    /// group the commands and the repair window name.
    pub names: crate::diagnosis::Names,
    /// The test phone the confirmations start from (E.164).
    pub test_phone: String,
    /// Secret values the runner knows (the demo's tokens and SIDs): the incident report masks
    /// them wherever they would appear. Never drawn.
    pub secrets: Vec<String>,
}

// By hand: the derived form would print the secrets.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("demo_scenario", &self.demo_scenario)
            .field("names", &self.names)
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

/// A message for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub is_error: bool,
    pub text: String,
}
