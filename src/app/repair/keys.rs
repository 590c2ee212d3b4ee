//! The repair window's keys, one handler per stage: choosing a repair, the variables form, the
//! typed confirmation, and the keys of every other stage (hide, send a test, probe, report, a
//! new repair, the roll back offered after a failed rollout).

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use super::{
    assignments, plan_label, rollback_target, App, Choice, Command, Field, Modal, RepairFlow,
    SendKind, Stage,
};
use crate::keymap::{self, ModalAction};
use crate::redact;
use crate::repair::{self, Repair};

/// What a key did to the repair window.
enum After {
    /// It stays open, with these commands.
    Shown(Vec<Command>),
    /// The repair goes on out of sight: hidden (the header still shows it), or under another
    /// modal (a test OTP start's confirmation, after which it comes back).
    Kept,
    /// The repair is over (cancelled): nothing stays.
    Ended,
}

impl App {
    pub(in crate::app) fn repair_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(mut flow) = self.repair.take() else {
            return Vec::new();
        };
        let action = keymap::modal_action(flow.keys(), key.code);
        let after = match flow.stage {
            Stage::Choose { .. } => self.choose_key(&mut flow, action, key),
            Stage::Form { .. } => self.form_key(&mut flow, action, key),
            Stage::Confirm { .. } => self.confirm_repair_key(&mut flow, action, key),
            _ => self.flow_key(&mut flow, action),
        };
        match after {
            After::Shown(commands) => {
                self.repair = Some(flow);
                self.modal = Some(Modal::Repair);
                commands
            }
            After::Kept => {
                self.repair = Some(flow);
                Vec::new()
            }
            After::Ended => Vec::new(),
        }
    }

    /// Choosing a repair: move, pick by number, choose; the other keys are the flow's.
    fn choose_key(
        &mut self,
        flow: &mut RepairFlow,
        action: Option<ModalAction>,
        key: KeyEvent,
    ) -> After {
        let Stage::Choose { selected } = &mut flow.stage else {
            return After::Shown(Vec::new());
        };
        let n = Choice::ALL.len();
        match action {
            Some(ModalAction::Close) => After::Ended,
            Some(ModalAction::Up) => {
                *selected = (*selected + n - 1) % n;
                After::Shown(Vec::new())
            }
            Some(ModalAction::Down) => {
                *selected = (*selected + 1) % n;
                After::Shown(Vec::new())
            }
            Some(ModalAction::Pick) => {
                if let KeyCode::Char(c) = key.code {
                    *selected = c.to_digit(10).map_or(0, |d| d as usize).saturating_sub(1);
                }
                After::Shown(self.choose(flow))
            }
            Some(ModalAction::Submit) => After::Shown(self.choose(flow)),
            _ => self.flow_key(flow, action),
        }
    }

    /// The variables form: move between cells (a new row past the last), submit, type.
    fn form_key(
        &mut self,
        flow: &mut RepairFlow,
        action: Option<ModalAction>,
        key: KeyEvent,
    ) -> After {
        let Stage::Form {
            fields,
            cell,
            error,
        } = &mut flow.stage
        else {
            return After::Shown(Vec::new());
        };
        match action {
            Some(ModalAction::Close) => {
                flow.stage = Stage::Choose { selected: 0 };
                return After::Shown(Vec::new());
            }
            Some(ModalAction::Down) => {
                if *cell + 1 >= fields.len() * 2 {
                    // Past the last value: a new row, for a variable the evidence did not flag.
                    if fields.last().is_some_and(|f| !f.name.value().is_empty()) {
                        fields.push(Field::default());
                        *cell += 1;
                    }
                } else {
                    *cell += 1;
                }
            }
            Some(ModalAction::Up) => *cell = cell.saturating_sub(1),
            Some(ModalAction::Submit) => {
                return match assignments(fields).and_then(|vars| self.secret_or_env(vars)) {
                    Ok(repair) => After::Shown(self.plan_form(flow, repair)),
                    Err(e) => {
                        *error = Some(e);
                        After::Shown(Vec::new())
                    }
                };
            }
            _ => {
                if let Some(field) = fields.get_mut(*cell / 2) {
                    let input = if *cell % 2 == 0 {
                        &mut field.name
                    } else {
                        &mut field.value
                    };
                    input.handle_event(&TermEvent::Key(key));
                }
            }
        }
        *error = None;
        After::Shown(Vec::new())
    }

    /// The form's repair, planned: secret values are masked wherever the report would show
    /// them.
    fn plan_form(&mut self, flow: &mut RepairFlow, repair: Repair) -> Vec<Command> {
        match &repair {
            Repair::PutSecret(_, value) => self.timeline.with_secrets(vec![value.clone()]),
            Repair::Set(vars) => self.timeline.with_secrets(
                vars.iter()
                    .filter(|(n, _)| redact::is_secret_name(n) || n.ends_with("_SID"))
                    .map(|(_, v)| v.clone())
                    .collect(),
            ),
            Repair::PointSecret(_) => {}
            _ => return Vec::new(),
        }
        flow.stage = Stage::Planning {
            what: plan_label(&repair),
        };
        vec![Command::PlanRepair(repair)]
    }

    /// The typed confirmation: the service's name applies, Esc cancels.
    fn confirm_repair_key(
        &mut self,
        flow: &mut RepairFlow,
        action: Option<ModalAction>,
        key: KeyEvent,
    ) -> After {
        let service = flow.confirm_word(&self.names.service).to_owned();
        let Stage::Confirm { typed, error } = &mut flow.stage else {
            return After::Shown(Vec::new());
        };
        match action {
            Some(ModalAction::Close) => {
                self.timeline
                    .record_action("repair cancelled: nothing applied", self.now_ms);
                self.notice_info("Repair cancelled: nothing was changed");
                After::Ended
            }
            Some(ModalAction::Submit) => {
                // What applying does: the egress rule, or the task definition's plan.
                let (summary, command) = match (&flow.egress, &flow.apprunner, &flow.plan) {
                    (Some(egress), _, _) => {
                        (egress.summary(), Command::ApplyEgress(egress.clone()))
                    }
                    (None, Some(plan), _) => {
                        (plan.summary(), Command::ApplyAppRunner(plan.clone()))
                    }
                    (None, None, Some(plan)) => (
                        repair::render::summary(plan),
                        Command::ApplyRepair(plan.clone()),
                    ),
                    (None, None, None) => return After::Shown(Vec::new()),
                };
                if typed.value().trim() == service {
                    self.timeline
                        .record_action(format!("repair confirmed: {summary}"), self.now_ms);
                    flow.stage = Stage::Applying;
                    After::Shown(vec![command])
                } else {
                    *error = Some(format!(
                        "Type the service name {service} exactly to apply (Esc cancels)"
                    ));
                    After::Shown(Vec::new())
                }
            }
            _ => {
                typed.handle_event(&TermEvent::Key(key));
                *error = None;
                After::Shown(Vec::new())
            }
        }
    }

    /// The keys every stage shares once a repair runs: hide, a test OTP start (the repair
    /// window comes back after its confirmation), probe, report, a new repair, and the roll
    /// back offered after a failed rollout.
    fn flow_key(&mut self, flow: &mut RepairFlow, action: Option<ModalAction>) -> After {
        let commands = match action {
            Some(ModalAction::Hide | ModalAction::Close) => return After::Kept,
            Some(ModalAction::OtpStart) => {
                self.modal = Some(Modal::Confirm {
                    kind: SendKind::Api,
                    phone: Input::new(self.test_phone()),
                    is_editing: false,
                    error: None,
                });
                return After::Kept;
            }
            Some(ModalAction::Health) => vec![Command::ProbeHealth],
            Some(ModalAction::ProbeAll) => vec![Command::ProbeAll],
            Some(ModalAction::Report) => self.write_report(),
            Some(ModalAction::NewRepair) => {
                *flow = RepairFlow::new(Stage::Choose {
                    selected: self.suggested_choice(),
                });
                Vec::new()
            }
            Some(ModalAction::RollBack) => {
                let Some(to) = rollback_target(flow) else {
                    return After::Shown(Vec::new());
                };
                let repair = Repair::RollbackTo(to);
                self.timeline.record_action(
                    format!("roll back offered after the failed rollout: to {to}"),
                    self.now_ms,
                );
                *flow = RepairFlow::new(Stage::Planning {
                    what: plan_label(&repair),
                });
                vec![Command::PlanRepair(repair)]
            }
            _ => Vec::new(),
        };
        After::Shown(commands)
    }
}
