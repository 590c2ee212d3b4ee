//! The console's state and its one entry point, [`App::update`]: an [`Event`] in, the
//! [`Command`]s it asks for out (side effects as values, run by the runner). No I/O, no clock:
//! time arrives as `Event::Tick(now)` and on every observation, so update is unit-tested
//! without a terminal or a network, and rendering (`ui`) only borrows the state.

use std::collections::VecDeque;
use std::path::PathBuf;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use tui_input::Input;

use crate::diagnosis::{self, Diagnosis, Evidence, Names};
use crate::event::{Event, Notice, Sms, Target};
use crate::keymap::{self, Action, ModalAction};
use crate::probe::http::{Class, Endpoint};
use crate::probe::Observation;
use crate::repair::{Plan, Repair};
use crate::report::{self, ReportHeader, Timeline};

mod modal;
mod repair;
pub use self::repair::{Choice, Field, RepairFlow, RepairUpdate, Stage};

/// OTP starts the backend allows per phone per window, and the window (the runbook's 5 / 15 min).
pub const OTP_BUDGET: usize = 5;
pub const OTP_WINDOW_MS: i64 = 15 * 60_000;
/// How long a notice stays in the status line.
const NOTICE_MS: i64 = 8_000;

pub use crate::layout::Pane;

/// Twilio is asked every 60 s with a 15 s timeout: an answer older than this is stale.
const TWILIO_STALE_MS: u64 = 90_000;

/// What a send goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    /// `POST /v1/auth/otp/start` on the API: the whole path users take.
    Api,
    /// Straight to Twilio Verify with the service's credentials.
    Twilio,
}

/// A modal on top of the panes.
#[derive(Debug, Clone)]
pub enum Modal {
    Help,
    /// Confirm a send: the number is shown masked until edited.
    Confirm {
        kind: SendKind,
        phone: Input,
        is_editing: bool,
        error: Option<String>,
    },
    /// Type the code from the SMS.
    Code {
        phone: String,
        code: Input,
        error: Option<String>,
    },
    /// Edit the log filter.
    Filter(Input),
    /// Pick a demo scenario.
    Scenarios {
        selected: usize,
    },
    /// The repair flow's window; its state is [`App::repair`].
    Repair,
    /// Type the revision number to compare the deployed one with.
    Compare {
        revision: Input,
        error: Option<String>,
    },
    /// The trace of one OTP start: `back` starts before the latest (0 = the latest).
    Trace {
        back: usize,
    },
    /// Pick a context of the config file (its last row is the demo).
    Contexts {
        selected: usize,
    },
}

/// What update asks the runner to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    ProbeAll,
    ProbeHealth,
    RefreshAws,
    DevLogin,
    OtpStart {
        phone: String,
    },
    TwilioSend {
        phone: String,
    },
    Verify {
        phone: String,
        code: String,
    },
    SwitchScenario(String),
    /// Watch the config file's context `Some(NAME)`, or the demo (`None`), from now on.
    SwitchContext(Option<String>),
    /// Read the deployed revision and plan this repair (changes nothing).
    PlanRepair(Repair),
    /// Register, update the service, follow the rollout (the user typed the service name).
    ApplyRepair(Box<Plan>),
    /// Read the network path and plan the egress rule on the service's security group
    /// (changes nothing).
    PlanEgress,
    /// Add the planned egress rule (the user typed the service name); no deployment.
    ApplyEgress(Box<crate::repair::egress::EgressPlan>),
    /// Apply an App Runner plan and follow its operation.
    ApplyAppRunner(Box<crate::repair::apprunner::Plan>),
    /// Read this revision (`family:N`) to compare the deployed one with.
    CompareWith(String),
    /// Write the incident report: each file and its text (rendered by the app, masked).
    WriteReport(Vec<(PathBuf, String)>),
    Quit,
}

/// The log pane's view state.
#[derive(Debug, Clone)]
pub struct LogsView {
    /// Case-insensitive substring filter on the lines shown (empty: all).
    pub filter: String,
    pub is_following: bool,
    /// Lines scrolled back from the newest when not following.
    pub scroll: usize,
    pub is_wrapped: bool,
}

/// The state of one pane's data source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    Loading,
    Fresh,
    /// Older than it should be: its age.
    Stale(u64),
    Error(String),
}

/// The console's state.
#[derive(Debug, Clone)]
pub struct App {
    pub target: Option<Target>,
    pub evidence: Evidence,
    pub diagnosis: Diagnosis,
    pub names: Names,
    pub now_ms: i64,
    pub focus: Pane,
    pub is_zoomed: bool,
    pub modal: Option<Modal>,
    pub logs: LogsView,
    pub inbox: Vec<Sms>,
    pub notice: Option<(Notice, i64)>,
    /// Built-in scenarios for the picker (empty outside the demo).
    pub scenarios: Vec<(String, String)>,
    /// The config file's contexts for the `x` picker (empty without a file that has them).
    pub contexts: Vec<String>,
    /// When this console sent OTP starts, per phone, for the rate-limit budget.
    pub otp_sent: VecDeque<(String, i64)>,
    /// The phone of the last send, for code entry.
    pub last_phone: Option<String>,
    pub size: (u16, u16),
    /// Advances on every tick, for spinners.
    pub frame: u64,
    pub should_quit: bool,
    /// The repair in progress, or the last one.
    pub repair: Option<RepairFlow>,
    /// Everything that happened, for the incident report.
    pub timeline: Timeline,
    /// When the console started (ms since the epoch).
    pub started_ms: i64,
    /// Where the report key writes (`None`: `otp-console-report-<time>` here, .md and .json).
    pub report_path: Option<PathBuf>,
    /// The revision the user picked to compare the deployed one with (`None`: the previous).
    pub compare: Option<crate::probe::ecs::TaskDefinition>,
    /// The env pane shows the changes timeline instead of the env vars.
    pub is_showing_changes: bool,
}

impl App {
    /// A console watching `names`' deployment, as of `now_ms`.
    pub fn new(names: Names, scenarios: Vec<(String, String)>, now_ms: i64) -> Self {
        let evidence = Evidence::default();
        let diagnosis = diagnosis::diagnose(&evidence, &names, now_ms);
        Self {
            target: None,
            evidence,
            diagnosis,
            names,
            now_ms,
            focus: Pane::Checklist,
            is_zoomed: false,
            modal: None,
            logs: LogsView {
                filter: String::new(),
                is_following: true,
                scroll: 0,
                is_wrapped: false,
            },
            inbox: Vec::new(),
            notice: None,
            scenarios,
            contexts: Vec::new(),
            otp_sent: VecDeque::new(),
            last_phone: None,
            size: (0, 0),
            frame: 0,
            should_quit: false,
            repair: None,
            timeline: Timeline::new(),
            started_ms: now_ms,
            report_path: None,
            compare: None,
            is_showing_changes: false,
        }
    }

    /// Whether the console runs on the embedded simulator.
    pub fn is_demo(&self) -> bool {
        self.target
            .as_ref()
            .is_some_and(|t| t.demo_scenario.is_some())
    }

    /// Takes one event in; returns what the runner should do.
    pub fn update(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
            Event::Key(key) => match self.modal.take() {
                Some(modal) => self.modal_key(modal, key),
                None => self.key(key),
            },
            Event::Mouse(mouse) => {
                self.mouse(mouse);
                Vec::new()
            }
            Event::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Event::Tick(now) => {
                self.now_ms = now;
                self.frame = self.frame.wrapping_add(1);
                if self
                    .notice
                    .as_ref()
                    .is_some_and(|(_, at)| now - at > NOTICE_MS)
                {
                    self.notice = None;
                }
                // Time changes the diagnosis only through the age of outstanding requests.
                if !self.evidence.outstanding.is_empty() {
                    self.rediagnose();
                }
                Vec::new()
            }
            Event::Observed(observation) => {
                self.observe(observation);
                Vec::new()
            }
            Event::Inbox(messages) => {
                self.inbox = messages;
                Vec::new()
            }
            Event::Target(target) => {
                self.timeline.with_secrets(target.secrets.clone());
                self.timeline.record_action(
                    match &target.demo_scenario {
                        Some(s) => format!("watching the demo: scenario {s}"),
                        None => format!("watching {}", target.names.api_base),
                    },
                    self.now_ms,
                );
                // A repair belongs to the deployment it was planned on.
                self.repair = None;
                if matches!(self.modal, Some(Modal::Repair)) {
                    self.modal = None;
                }
                self.evidence = Evidence::default();
                self.compare = None;
                self.inbox.clear();
                self.otp_sent.clear();
                self.last_phone = None;
                self.logs.scroll = 0;
                self.logs.is_following = true;
                self.names.clone_from(&target.names);
                self.target = Some(target);
                self.rediagnose();
                Vec::new()
            }
            Event::Notice(notice) => {
                self.notice = Some((notice, self.now_ms));
                Vec::new()
            }
            Event::Repair(update) => self.repair_update(update),
            Event::Compared(result) => {
                let (is_error, text) = match result {
                    Ok(revision) => {
                        let text = format!(
                            "Env vars: the deployed revision against :{} (p, then Enter on an empty number, goes back to the previous)",
                            revision.revision
                        );
                        self.timeline.record_action(
                            format!(
                                "compared the deployed revision with {}:{}",
                                revision.family, revision.revision
                            ),
                            self.now_ms,
                        );
                        self.compare = Some(*revision);
                        (false, text)
                    }
                    Err(e) => (true, format!("Cannot compare: {e}")),
                };
                self.notice = Some((Notice { is_error, text }, self.now_ms));
                Vec::new()
            }
        }
    }

    fn rediagnose(&mut self) {
        self.diagnosis = diagnosis::diagnose(&self.evidence, &self.names, self.now_ms);
        self.timeline.record_diagnosis(&self.diagnosis, self.now_ms);
    }

    /// `W`: the report's files, for the runner to write; the writing is recorded too.
    fn write_report(&mut self) -> Vec<Command> {
        let files = self.report_files();
        self.timeline.record_action(
            format!(
                "incident report written: {}",
                files
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            self.now_ms,
        );
        vec![Command::WriteReport(files)]
    }

    /// The incident report as files: the timeline so far, the diagnosis, the revision diff and
    /// the repair, in Markdown and JSON.
    pub fn report_files(&self) -> Vec<(PathBuf, String)> {
        let path = self.report_path.clone().unwrap_or_else(|| {
            let at = chrono::DateTime::from_timestamp_millis(self.now_ms).unwrap_or_default();
            PathBuf::from(format!("otp-console-report-{}", at.format("%Y%m%d-%H%M%S")))
        });
        let target = match &self.target {
            Some(t) => match &t.demo_scenario {
                Some(s) => format!("demo:{s}"),
                None => match &t.names.context {
                    Some(c) => format!("{} · {}", c.name, t.names.api_base),
                    None => t.names.api_base.clone(),
                },
            },
            None => "otp-console".to_owned(),
        };
        let mut header = ReportHeader::new(target, self.started_ms, self.now_ms)
            .with_diagnosis(&self.diagnosis)
            .with_evidence_of(&self.evidence, &self.timeline);
        if let Some(flow) = &self.repair {
            // After a repair, "what changed" is from the revision the incident ran on to the
            // one running now.
            if let Some(before) = flow.before.as_deref() {
                header = header.with_incident_diff(before, self.evidence.snapshot());
            }
            if let Some(plan) = flow.plan.as_deref() {
                header = header.with_repair(plan, flow.applied.as_ref(), flow.rollout.as_deref());
            }
            if let Some(plan) = flow.apprunner.as_deref() {
                let operation = flow.operation.as_ref().map(|o| (o.id.as_str(), o.status()));
                header = header.with_apprunner_repair(plan, operation);
            }
        }
        report::files(&path, &self.timeline, &header)
    }

    fn observe(&mut self, observation: Observation) {
        // Observations carry the console's own clock: time has reached them even when the
        // last tick (up to 250 ms ago) has not, and the timeline is stamped with it.
        self.now_ms = self.now_ms.max(observation.at_ms());
        self.timeline.record_observation(&observation, self.now_ms);
        let answered = match &observation {
            Observation::Http(sample) => Some((sample.endpoint, sample.started_ms)),
            _ => None,
        };
        if let Observation::Http(sample) = &observation {
            let text = match (sample.endpoint, sample.class) {
                (Endpoint::OtpVerify, Class::Ok) => Some((
                    false,
                    "Code verified: signed in, token received (masked)".to_owned(),
                )),
                (Endpoint::OtpVerify, _) => {
                    Some((true, format!("Verify failed: {}", sample.summary)))
                }
                (Endpoint::OtpStart, Class::Ok) => Some((
                    false,
                    format!("OTP start: {} — press c to enter the code", sample.summary),
                )),
                (Endpoint::OtpStart, _) => Some((
                    true,
                    format!(
                        "OTP start failed after {}: {}",
                        diagnosis::fmt_ms(sample.latency_ms),
                        sample.summary
                    ),
                )),
                (Endpoint::DevLogin, class) => {
                    Some((!class.is_ok(), format!("Dev login: {}", sample.summary)))
                }
                _ => None,
            };
            if let Some((is_error, text)) = text {
                self.notice = Some((Notice { is_error, text }, self.now_ms));
            }
        }
        self.evidence.record(observation);
        self.rediagnose();
        if let Some((endpoint, started_ms)) = answered {
            self.repair_observed(endpoint, started_ms);
        }
    }

    /// OTP starts left for `phone` in the backend's window, by this console's own count.
    pub fn otp_budget(&self, phone: &str) -> usize {
        let used = self
            .otp_sent
            .iter()
            .filter(|(p, at)| p == phone && self.now_ms - at < OTP_WINDOW_MS)
            .count();
        OTP_BUDGET.saturating_sub(used)
    }

    fn test_phone(&self) -> String {
        self.last_phone
            .clone()
            .or_else(|| self.target.as_ref().map(|t| t.test_phone.clone()))
            .unwrap_or_default()
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(action) = keymap::action(&key) else {
            return Vec::new();
        };
        match action {
            Action::Quit => {
                self.should_quit = true;
                return vec![Command::Quit];
            }
            Action::Help => self.modal = Some(Modal::Help),
            Action::FocusNext => self.focus = self.focus.offset(1),
            Action::FocusPrev => self.focus = self.focus.offset(-1),
            Action::Focus(i) => self.focus = Pane::ALL[i.min(Pane::ALL.len() - 1)],
            Action::Zoom => self.is_zoomed = !self.is_zoomed,
            Action::Escape => self.is_zoomed = false,
            Action::ProbeAll => return vec![Command::ProbeAll],
            Action::ProbeHealth => return vec![Command::ProbeHealth],
            Action::RefreshAws => return vec![Command::RefreshAws],
            Action::DevLogin => {
                self.timeline.record_action("dev login", self.now_ms);
                return vec![Command::DevLogin];
            }
            Action::Repair => self.open_repair(),
            Action::Compare => {
                self.modal = Some(Modal::Compare {
                    revision: Input::new(
                        self.compare
                            .as_ref()
                            .map(|c| c.revision.to_string())
                            .unwrap_or_default(),
                    ),
                    error: None,
                });
            }
            Action::Report => return self.write_report(),
            Action::Trace => self.open_trace(),
            Action::Contexts => self.open_contexts(),
            Action::OtpStart | Action::TwilioSend => {
                let kind = if action == Action::OtpStart {
                    SendKind::Api
                } else {
                    SendKind::Twilio
                };
                self.modal = Some(Modal::Confirm {
                    kind,
                    phone: Input::new(self.test_phone()),
                    is_editing: false,
                    error: None,
                });
            }
            Action::EnterCode => {
                self.modal = Some(Modal::Code {
                    phone: self.test_phone(),
                    code: Input::default(),
                    error: None,
                });
            }
            Action::Filter => {
                self.modal = Some(Modal::Filter(Input::new(self.logs.filter.clone())));
            }
            Action::Follow => {
                self.logs.is_following = !self.logs.is_following;
                if self.logs.is_following {
                    self.logs.scroll = 0;
                }
            }
            Action::Wrap => self.logs.is_wrapped = !self.logs.is_wrapped,
            Action::Changes => {
                // Asked for from another pane, the timeline comes into view; on the env
                // pane, the key switches between its two tabs.
                if self.focus == Pane::Env || !self.is_showing_changes {
                    self.is_showing_changes = !self.is_showing_changes;
                }
                self.focus = Pane::Env;
            }
            Action::ScrollUp => self.scroll_logs(1),
            Action::ScrollDown => self.scroll_logs(-1),
            Action::PageUp => self.scroll_logs(10),
            Action::PageDown => self.scroll_logs(-10),
            Action::Top => self.scroll_logs(isize::MAX / 2),
            Action::Bottom => {
                self.logs.scroll = 0;
                self.logs.is_following = true;
            }
            Action::Scenarios => self.open_scenarios(),
        }
        Vec::new()
    }

    /// Scrolls the log pane back (`by` > 0) or forward; scrolling back pauses following.
    fn scroll_logs(&mut self, by: isize) {
        let max = self.evidence.events.len().saturating_sub(1);
        let next = (self.logs.scroll as isize)
            .saturating_add(by)
            .clamp(0, max as isize) as usize;
        self.logs.scroll = next;
        self.logs.is_following = next == 0 && by < 0 || (self.logs.is_following && by <= 0);
        if by > 0 {
            self.logs.is_following = false;
        }
    }

    /// A key while `modal` is open: each modal's own handler (`src/app/modal.rs`).
    fn modal_key(&mut self, modal: Modal, key: KeyEvent) -> Vec<Command> {
        let is_ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if is_ctrl_c {
            self.should_quit = true;
            return vec![Command::Quit];
        }
        match modal {
            Modal::Help => {
                if keymap::modal_action(keymap::HELP_KEYS, key.code) != Some(ModalAction::Close) {
                    self.modal = Some(Modal::Help);
                }
                Vec::new()
            }
            Modal::Confirm {
                kind,
                phone,
                is_editing,
                ..
            } => self.confirm_key(kind, phone, is_editing, key),
            Modal::Code { phone, code, .. } => self.code_key(phone, code, key),
            Modal::Filter(input) => self.filter_key(input, key),
            Modal::Repair => self.repair_key(key),
            Modal::Compare { revision, .. } => self.compare_key(revision, key),
            Modal::Scenarios { selected } => self.scenarios_key(selected, key),
            Modal::Trace { back } => self.trace_key(back, key),
            Modal::Contexts { selected } => self.contexts_key(selected, key),
        }
    }

    fn mouse(&mut self, mouse: MouseEvent) {
        let at = Position::new(mouse.column, mouse.row);
        let panes = crate::layout::Screen::new(self.size, self.focus, self.is_zoomed).panes;
        let under = panes
            .iter()
            .find(|(_, area)| area.contains(at))
            .map(|(p, _)| *p);
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(pane) = under {
                    self.focus = pane;
                }
            }
            MouseEventKind::ScrollUp if under == Some(Pane::Logs) => self.scroll_logs(3),
            MouseEventKind::ScrollDown if under == Some(Pane::Logs) => self.scroll_logs(-3),
            _ => {}
        }
    }

    /// How fresh the data behind a pane is.
    pub fn freshness(&self, pane: Pane) -> Freshness {
        let e = &self.evidence;
        let age = |at: i64| (self.now_ms - at).max(0) as u64;
        match pane {
            Pane::Env => match (&e.ecs, e.ecs_at_ms) {
                (None, _) => Freshness::Loading,
                (Some(Err(err)), _) => Freshness::Error(err.message.clone()),
                (Some(Ok(_)), Some(at)) if age(at) > 90_000 => Freshness::Stale(age(at)),
                _ => Freshness::Fresh,
            },
            Pane::Logs => match (&e.logs_error, e.has_logs) {
                (Some(err), _) => Freshness::Error(err.message.clone()),
                (None, false) => Freshness::Loading,
                _ => Freshness::Fresh,
            },
            Pane::Latency => match e.samples.back() {
                None if e.outstanding.is_empty() => Freshness::Loading,
                Some(s) if age(s.started_ms) > 60_000 && e.outstanding.is_empty() => {
                    Freshness::Stale(age(s.started_ms))
                }
                _ => Freshness::Fresh,
            },
            Pane::Twilio => match &e.account {
                None => Freshness::Loading,
                Some(Err(err))
                    if err.kind == crate::probe::ErrorKind::Unreachable
                        || err.kind == crate::probe::ErrorKind::Timeout =>
                {
                    Freshness::Error(err.message.clone())
                }
                // Asked every minute with a 15 s timeout: older than that, the last ask failed
                // to come back, and what is drawn is not fresh.
                Some(_) if e.account_at_ms.is_some_and(|at| age(at) > TWILIO_STALE_MS) => {
                    Freshness::Stale(e.account_at_ms.map_or(0, age))
                }
                _ => Freshness::Fresh,
            },
            Pane::Checklist => Freshness::Fresh,
        }
    }

    /// The log events the pane shows: filtered, oldest first.
    pub fn visible_events(&self) -> impl Iterator<Item = &crate::probe::logs::Event> {
        let filter = self.logs.filter.to_lowercase();
        self.evidence
            .events
            .iter()
            .filter(move |e| filter.is_empty() || e.message.to_lowercase().contains(&filter))
    }
}

/// Whether a rectangle is big enough to draw anything in.
pub fn is_drawable(area: Rect) -> bool {
    area.width >= 2 && area.height >= 2
}

#[cfg(test)]
mod tests;
