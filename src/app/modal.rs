//! The keys of each modal but the repair window's (`repair.rs`): the confirmation before a
//! send, the code, the logs filter, the revision to compare with, and the demo's scenarios.
//! Each handler takes the modal's state by value and puts the modal back while it stays open.

use crossterm::event::{Event as TermEvent, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use super::{App, Command, Modal, SendKind, Stage, OTP_WINDOW_MS};

/// Real users' starts the trace window offers besides the console's own, at most.
const USER_TRACES: usize = 5;
use crate::keymap::{self, ModalAction};
use crate::probe::http;

impl App {
    /// The confirmation before a send: submit (validated, within the OTP budget), edit, type.
    pub(super) fn confirm_key(
        &mut self,
        kind: SendKind,
        mut phone: Input,
        is_editing: bool,
        key: KeyEvent,
    ) -> Vec<Command> {
        let keys = if is_editing {
            keymap::CONFIRM_EDITING_KEYS
        } else {
            keymap::CONFIRM_KEYS
        };
        let again = |phone, is_editing, error| Modal::Confirm {
            kind,
            phone,
            is_editing,
            error,
        };
        match keymap::modal_action(keys, key.code) {
            Some(ModalAction::Close) => Vec::new(),
            Some(ModalAction::Submit) => match http::validate_phone(phone.value()) {
                Ok(number) if kind == SendKind::Api && self.otp_budget(&number) == 0 => {
                    let error = "No OTP starts left for this number in the 15-minute window";
                    self.modal = Some(again(phone, is_editing, Some(error.into())));
                    Vec::new()
                }
                Ok(number) => self.send_confirmed(kind, number),
                Err(error) => {
                    self.modal = Some(again(phone, true, Some(error)));
                    Vec::new()
                }
            },
            Some(ModalAction::Edit) => {
                self.modal = Some(again(phone, true, None));
                Vec::new()
            }
            _ => {
                if is_editing {
                    phone.handle_event(&TermEvent::Key(key));
                }
                self.modal = Some(again(phone, is_editing, None));
                Vec::new()
            }
        }
    }

    /// A confirmed send to `number`: recorded, counted against the OTP budget, and sent.
    fn send_confirmed(&mut self, kind: SendKind, number: String) -> Vec<Command> {
        self.last_phone = Some(number.clone());
        self.timeline.with_secrets(vec![number.clone()]);
        let to = crate::redact::phone(&number);
        self.timeline.record_action(
            match kind {
                SendKind::Api => format!("OTP start through the API to {to}"),
                SendKind::Twilio => format!("test send straight to Twilio Verify to {to}"),
            },
            self.now_ms,
        );
        // A verification after a repair goes on in the repair window.
        if self
            .repair
            .as_ref()
            .is_some_and(|f| matches!(f.stage, Stage::Verifying { .. }))
        {
            self.modal = Some(Modal::Repair);
        }
        if kind == SendKind::Twilio {
            return vec![Command::TwilioSend { phone: number }];
        }
        self.otp_sent.push_back((number.clone(), self.now_ms));
        while self
            .otp_sent
            .front()
            .is_some_and(|(_, at)| self.now_ms - at >= OTP_WINDOW_MS)
        {
            self.otp_sent.pop_front();
        }
        vec![Command::OtpStart { phone: number }]
    }

    /// The code from the SMS: 4 to 10 digits, verified through the API.
    pub(super) fn code_key(
        &mut self,
        phone: String,
        mut code: Input,
        key: KeyEvent,
    ) -> Vec<Command> {
        match keymap::modal_action(keymap::CODE_KEYS, key.code) {
            Some(ModalAction::Close) => Vec::new(),
            Some(ModalAction::Submit) => {
                let typed = code.value().trim().to_owned();
                if (4..=10).contains(&typed.len()) && typed.chars().all(|c| c.is_ascii_digit()) {
                    self.timeline.record_action(
                        format!(
                            "code entered for {}, verifying through the API",
                            crate::redact::phone(&phone)
                        ),
                        self.now_ms,
                    );
                    vec![Command::Verify { phone, code: typed }]
                } else {
                    self.modal = Some(Modal::Code {
                        phone,
                        code,
                        error: Some("The code is the 4 to 10 digits from the SMS".into()),
                    });
                    Vec::new()
                }
            }
            _ => {
                code.handle_event(&TermEvent::Key(key));
                self.modal = Some(Modal::Code {
                    phone,
                    code,
                    error: None,
                });
                Vec::new()
            }
        }
    }

    /// The logs pane's filter.
    pub(super) fn filter_key(&mut self, mut input: Input, key: KeyEvent) -> Vec<Command> {
        match keymap::modal_action(keymap::FILTER_KEYS, key.code) {
            Some(ModalAction::Close) => {}
            Some(ModalAction::Submit) => {
                input.value().trim().clone_into(&mut self.logs.filter);
                self.logs.scroll = 0;
            }
            _ => {
                input.handle_event(&TermEvent::Key(key));
                self.modal = Some(Modal::Filter(input));
            }
        }
        Vec::new()
    }

    /// The revision to compare the deployed one with (empty: the previous one).
    pub(super) fn compare_key(&mut self, mut revision: Input, key: KeyEvent) -> Vec<Command> {
        match keymap::modal_action(keymap::COMPARE_KEYS, key.code) {
            Some(ModalAction::Close) => Vec::new(),
            Some(ModalAction::Submit) => {
                let typed = revision.value().trim().trim_start_matches(':').to_owned();
                if typed.is_empty() {
                    self.compare = None;
                    return Vec::new();
                }
                let family = match &self.evidence.ecs {
                    Some(Ok(s)) => Some(s.deployed.family.clone()),
                    _ => None,
                };
                let error = match (typed.parse::<i32>(), family) {
                    (Ok(n), Some(family)) if n > 0 => {
                        return vec![Command::CompareWith(format!("{family}:{n}"))];
                    }
                    (Ok(_), None) => "The deployed revision has not been read yet: wait for the env pane (or press a)",
                    _ => "A revision number, e.g. 41 (empty: the previous one)",
                };
                self.modal = Some(Modal::Compare {
                    revision,
                    error: Some(error.into()),
                });
                Vec::new()
            }
            _ => {
                revision.handle_event(&TermEvent::Key(key));
                self.modal = Some(Modal::Compare {
                    revision,
                    error: None,
                });
                Vec::new()
            }
        }
    }

    /// The demo's scenarios: move, and switch to the one selected.
    pub(super) fn scenarios_key(&mut self, selected: usize, key: KeyEvent) -> Vec<Command> {
        match pick(selected, self.scenarios.len(), key) {
            Picked::Stay(selected) => {
                self.modal = Some(Modal::Scenarios { selected });
                Vec::new()
            }
            Picked::Closed => Vec::new(),
            Picked::Chosen(i) => match self.scenarios.get(i) {
                Some((name, _)) => {
                    self.timeline
                        .record_action(format!("switched the demo to {name}"), self.now_ms);
                    vec![Command::SwitchScenario(name.clone())]
                }
                None => Vec::new(),
            },
        }
    }

    /// `T`: the latest OTP start's trace, or what to do when none was sent.
    pub(super) fn open_trace(&mut self) {
        if crate::diagnosis::trace::of(&self.evidence, self.now_ms).is_empty() {
            self.notice = Some((
                crate::event::Notice {
                    is_error: true,
                    text: "No OTP start to trace yet: press o to send one, then T".into(),
                },
                self.now_ms,
            ));
            return;
        }
        self.modal = Some(Modal::Trace { back: 0 });
    }

    /// The traces the window steps through, oldest first, as of now: real users' latest
    /// starts from the backend's lines, then the OTP starts the console sent (the newest of
    /// those is what `T` opens on).
    pub fn traces(&self) -> Vec<crate::diagnosis::trace::Trace> {
        let mut traces = crate::diagnosis::trace::users(&self.evidence, USER_TRACES);
        traces.extend(crate::diagnosis::trace::of(&self.evidence, self.now_ms));
        traces
    }

    /// The trace window: older, newer, close.
    pub(super) fn trace_key(&mut self, back: usize, key: KeyEvent) -> Vec<Command> {
        let n = self.traces().len().max(1);
        let back = match keymap::modal_action(keymap::TRACE_KEYS, key.code) {
            Some(ModalAction::Close) => return Vec::new(),
            Some(ModalAction::Up) => (back + 1).min(n - 1),
            Some(ModalAction::Down) => back.saturating_sub(1),
            _ => back,
        };
        self.modal = Some(Modal::Trace { back });
        Vec::new()
    }

    /// `s`: the demo's scenario picker on the one running; outside the demo, why not.
    pub(super) fn open_scenarios(&mut self) {
        if !self.is_demo() {
            self.notice = Some((
                crate::event::Notice {
                    is_error: true,
                    text: "Scenarios exist only in the demo (run without a config, or with --demo)"
                        .into(),
                },
                self.now_ms,
            ));
            return;
        }
        let current = self.target.as_ref().and_then(|t| t.demo_scenario.clone());
        let selected = self
            .scenarios
            .iter()
            .position(|(n, _)| Some(n) == current.as_ref())
            .unwrap_or(0);
        self.modal = Some(Modal::Scenarios { selected });
    }

    /// `x`: the config file's contexts and the demo, on the one watched; without contexts,
    /// why not.
    pub(super) fn open_contexts(&mut self) {
        if self.contexts.is_empty() {
            self.notice = Some((
                crate::event::Notice {
                    is_error: true,
                    text: "No contexts: the config file has no [contexts.NAME] (README, Configuration)"
                        .into(),
                },
                self.now_ms,
            ));
            return;
        }
        let current = self
            .target
            .as_ref()
            .and_then(|t| t.names.context.as_ref())
            .map(|c| c.name.clone());
        let selected = self
            .contexts
            .iter()
            .position(|n| Some(n) == current.as_ref())
            .unwrap_or(self.contexts.len());
        self.modal = Some(Modal::Contexts { selected });
    }

    /// The context picker: move, and switch to the one selected (the last row: the demo).
    pub(super) fn contexts_key(&mut self, selected: usize, key: KeyEvent) -> Vec<Command> {
        match pick(selected, self.contexts.len() + 1, key) {
            Picked::Stay(selected) => {
                self.modal = Some(Modal::Contexts { selected });
                Vec::new()
            }
            Picked::Closed => Vec::new(),
            Picked::Chosen(i) => {
                let context = self.contexts.get(i).cloned();
                self.timeline.record_action(
                    format!(
                        "switched to {}",
                        context
                            .as_deref()
                            .map_or_else(|| "the demo".to_owned(), |c| format!("context {c}"))
                    ),
                    self.now_ms,
                );
                vec![Command::SwitchContext(context)]
            }
        }
    }
}

/// What a key does in a picker of `n` rows (the scenarios', the contexts').
enum Picked {
    /// Still open, on this row.
    Stay(usize),
    Closed,
    Chosen(usize),
}

fn pick(selected: usize, n: usize, key: KeyEvent) -> Picked {
    let n = n.max(1);
    match keymap::modal_action(keymap::SCENARIO_KEYS, key.code) {
        Some(ModalAction::Close) => Picked::Closed,
        Some(ModalAction::Submit) => Picked::Chosen(selected),
        Some(ModalAction::Up) => Picked::Stay((selected + n - 1) % n),
        Some(ModalAction::Down) => Picked::Stay((selected + 1) % n),
        _ => Picked::Stay(selected),
    }
}
