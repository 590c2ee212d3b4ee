//! Unit tests of [`App::update`]: every key binding's effect and command, the modal flows
//! (confirm, edit, cancel, code entry, filter, scenario picker), mouse focus, and observations.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::*;
use crate::ui::fixtures::{self, NOW};

pub(super) fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(super) fn ch(c: char) -> Event {
    key(KeyCode::Char(c))
}

pub(super) fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(app.update(ch(c)).is_empty());
    }
}

#[test]
fn quit_keys_ask_the_runner_to_quit() {
    for event in [
        ch('q'),
        Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    ] {
        let mut app = fixtures::app("healthy");
        assert_eq!(app.update(event), vec![Command::Quit]);
        assert!(app.should_quit);
    }
    // Ctrl-C quits from inside a modal too.
    let mut app = fixtures::app("healthy");
    app.update(ch('o'));
    assert_eq!(
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL
        ))),
        vec![Command::Quit]
    );
}

#[test]
fn probe_keys_send_their_commands() {
    let mut app = fixtures::app("healthy");
    assert_eq!(app.update(ch('r')), vec![Command::ProbeAll]);
    assert_eq!(
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Char('r'),
            KeyModifiers::CONTROL
        ))),
        vec![Command::ProbeAll]
    );
    assert_eq!(app.update(ch('h')), vec![Command::ProbeHealth]);
    assert_eq!(app.update(ch('a')), vec![Command::RefreshAws]);
    assert_eq!(app.update(ch('d')), vec![Command::DevLogin]);
    assert!(app.update(ch('x')).is_empty(), "unbound keys do nothing");
}

#[test]
fn key_releases_are_ignored() {
    let mut app = fixtures::app("healthy");
    let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert!(app.update(Event::Key(release)).is_empty());
    assert!(!app.should_quit);
}

#[test]
fn focus_cycles_and_jumps() {
    let mut app = fixtures::app("healthy");
    assert_eq!(app.focus, Pane::Checklist);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.focus, Pane::Env);
    app.update(Event::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    )));
    app.update(Event::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    )));
    assert_eq!(app.focus, Pane::Twilio);
    app.update(ch('3'));
    assert_eq!(app.focus, Pane::Logs);
    app.update(ch('z'));
    assert!(app.is_zoomed);
    app.update(key(KeyCode::Esc));
    assert!(!app.is_zoomed);
    app.update(key(KeyCode::Enter));
    assert!(app.is_zoomed);
}

#[test]
fn help_opens_and_closes() {
    let mut app = fixtures::app("healthy");
    app.update(ch('?'));
    assert!(matches!(app.modal, Some(Modal::Help)));
    app.update(ch('j'));
    assert!(
        matches!(app.modal, Some(Modal::Help)),
        "other keys keep it open"
    );
    app.update(key(KeyCode::Esc));
    assert!(app.modal.is_none());
}

#[test]
fn otp_start_needs_a_confirmation_showing_the_masked_number() {
    let mut app = fixtures::app("healthy");
    assert!(app.update(ch('o')).is_empty());
    let Some(Modal::Confirm {
        kind: SendKind::Api,
        phone,
        is_editing: false,
        ..
    }) = &app.modal
    else {
        panic!("confirmation expected: {:?}", app.modal);
    };
    assert_eq!(phone.value(), "+17133056318");
    let text = crate::ui::tests::screen(&app, 160, 48);
    assert!(
        text.contains("•••6318") && !text.contains("7133056318"),
        "{text}"
    );
    assert!(text.contains("5 of 5 starts left"));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::OtpStart {
            phone: "+17133056318".into()
        }]
    );
    assert!(app.modal.is_none());
    assert_eq!(app.otp_budget("+17133056318"), 4);
}

#[test]
fn confirmation_cancel_sends_nothing() {
    let mut app = fixtures::app("healthy");
    app.update(ch('t'));
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(app.modal.is_none());
}

#[test]
fn the_number_is_editable_and_a_bad_one_is_explained_and_kept() {
    let mut app = fixtures::app("healthy");
    app.update(ch('t'));
    app.update(ch('e'));
    for _ in 0..12 {
        app.update(key(KeyCode::Backspace));
    }
    typed(&mut app, "+1 512 555");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let Some(Modal::Confirm {
        phone,
        error: Some(error),
        ..
    }) = &app.modal
    else {
        panic!("still open with an error: {:?}", app.modal);
    };
    assert_eq!(phone.value(), "+1 512 555", "nothing typed is lost");
    assert!(
        error.contains("E.164") || error.contains("+17133056318"),
        "{error}"
    );
    typed(&mut app, "0142");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::TwilioSend {
            phone: "+15125550142".into()
        }]
    );
    assert_eq!(app.last_phone.as_deref(), Some("+15125550142"));
}

#[test]
fn the_rate_limit_budget_stops_a_sixth_start() {
    let mut app = fixtures::app("healthy");
    for _ in 0..5 {
        app.update(ch('o'));
        assert_eq!(app.update(key(KeyCode::Enter)).len(), 1);
    }
    app.update(ch('o'));
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert!(
        matches!(&app.modal, Some(Modal::Confirm { error: Some(e), .. }) if e.contains("No OTP starts left"))
    );
    // After the window the budget is back.
    app.update(key(KeyCode::Esc));
    app.update(Event::Tick(NOW + OTP_WINDOW_MS + 1));
    assert_eq!(app.otp_budget("+17133056318"), 5);
}

#[test]
fn code_entry_verifies_through_the_api() {
    let mut app = fixtures::app("healthy");
    app.update(ch('c'));
    typed(&mut app, "12a");
    assert!(app.update(key(KeyCode::Enter)).is_empty(), "not a code");
    assert!(matches!(
        &app.modal,
        Some(Modal::Code { error: Some(_), .. })
    ));
    app.update(key(KeyCode::Backspace));
    typed(&mut app, "3674");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::Verify {
            phone: "+17133056318".into(),
            code: "123674".into()
        }]
    );
    // The verify answer turns the checklist's SMS line green and shows no token.
    app.update(Event::Observed(Observation::Http(
        crate::probe::http::Sample {
            endpoint: Endpoint::OtpVerify,
            id: 9,
            started_ms: NOW,
            latency_ms: 120,
            status: Some(200),
            class: Class::Ok,
            summary: "access_token ••••••••".into(),
            during_otp: false,
            otp_started_ms: None,
            phone_last4: None,
        },
    )));
    let sms = app
        .diagnosis
        .checklist
        .iter()
        .find(|l| l.item == crate::diagnosis::Item::SmsReceived)
        .map(|l| l.state);
    assert_eq!(sms, Some(crate::diagnosis::State::Pass));
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|(n, _)| !n.is_error && n.text.contains("verified")));
}

#[test]
fn code_entry_cancels() {
    let mut app = fixtures::app("healthy");
    app.update(ch('c'));
    typed(&mut app, "123");
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(app.modal.is_none());
}

#[test]
fn log_filter_follow_scroll_and_wrap() {
    let mut app = fixtures::app("healthy");
    app.update(ch('/'));
    typed(&mut app, "otp");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert_eq!(app.logs.filter, "otp");
    assert!(app
        .visible_events()
        .all(|e| e.message.to_lowercase().contains("otp")));
    app.update(ch('/'));
    typed(&mut app, "zzz");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.logs.filter, "otp", "Esc keeps the old filter");
    assert!(app.logs.is_following);
    app.update(ch('k'));
    assert!(!app.logs.is_following && app.logs.scroll == 1);
    app.update(ch('G'));
    assert!(app.logs.is_following && app.logs.scroll == 0);
    app.update(ch('f'));
    assert!(!app.logs.is_following);
    app.update(ch(' '));
    assert!(app.logs.is_following);
    app.update(ch('w'));
    assert!(app.logs.is_wrapped);
    app.update(ch('g'));
    assert_eq!(app.logs.scroll, app.evidence.events.len() - 1);
}

#[test]
fn scenario_picker_switches_the_demo() {
    let mut app = fixtures::app("healthy");
    app.update(ch('s'));
    assert!(matches!(app.modal, Some(Modal::Scenarios { selected: 0 })));
    app.update(ch('j'));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::SwitchScenario("event-loop-blocking".into())]
    );
    // Outside the demo the key explains itself.
    let mut live = App::new(app.names.clone(), Vec::new(), NOW);
    live.update(Event::Target(Target {
        demo_scenario: None,
        names: crate::diagnosis::Names {
            api_base: "https://api.nerava.network".into(),
            ..app.names.clone()
        },
        test_phone: "+17133056318".into(),
        secrets: Vec::new(),
    }));
    live.update(ch('s'));
    assert!(live.modal.is_none() && live.notice.as_ref().is_some_and(|(n, _)| n.is_error));
}

#[test]
fn a_new_target_starts_from_no_evidence() {
    let mut app = fixtures::app("event-loop-blocking");
    assert!(!app.evidence.samples.is_empty());
    app.update(Event::Target(Target {
        demo_scenario: Some("healthy".into()),
        names: crate::diagnosis::Names {
            api_base: "http://127.0.0.1:1".into(),
            ..app.names.clone()
        },
        test_phone: "+17133056318".into(),
        secrets: Vec::new(),
    }));
    assert!(app.evidence.samples.is_empty() && app.evidence.ecs.is_none());
    assert_eq!(app.freshness(Pane::Env), Freshness::Loading);
}

#[test]
fn clicking_a_pane_focuses_it() {
    let mut app = fixtures::app("healthy");
    let areas = crate::layout::Screen::new(app.size, app.focus, app.is_zoomed).panes;
    let (_, logs) = areas
        .iter()
        .find(|(p, _)| *p == Pane::Logs)
        .copied()
        .expect("logs pane");
    app.update(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: logs.x + 2,
        row: logs.y + 1,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.focus, Pane::Logs);
}

#[test]
fn ticks_move_time_and_expire_notices() {
    let mut app = fixtures::app("healthy");
    app.update(Event::Notice(Notice {
        is_error: false,
        text: "hello".into(),
    }));
    app.update(Event::Tick(NOW + 1_000));
    assert!(app.notice.is_some());
    app.update(Event::Tick(NOW + 20_000));
    assert!(app.notice.is_none());
    assert_eq!(app.now_ms, NOW + 20_000);
}

#[test]
fn a_twilio_answer_older_than_its_interval_is_stale_not_fresh() {
    let mut app = fixtures::app("healthy");
    let asked = app
        .evidence
        .account_at_ms
        .expect("the fixture asked Twilio");
    app.update(Event::Tick(asked + 30_000));
    assert_eq!(app.freshness(Pane::Twilio), Freshness::Fresh);
    app.update(Event::Tick(asked + 120_000));
    assert_eq!(app.freshness(Pane::Twilio), Freshness::Stale(120_000));
    // The next answer makes it fresh again.
    app.update(Event::Observed(crate::probe::Observation::Twilio {
        at_ms: asked + 120_000,
        fact: crate::probe::twilio::Fact::Account(Err(crate::probe::ProbeError {
            system: crate::probe::System::Twilio,
            kind: crate::probe::ErrorKind::Credentials,
            code: Some("20003".into()),
            message: "Authenticate".into(),
        })),
    }));
    assert_eq!(app.freshness(Pane::Twilio), Freshness::Fresh);
}

#[test]
fn the_help_closes_on_exactly_the_keys_its_hint_names() {
    let hint = keymap::hints(keymap::HELP_KEYS);
    let screen = crate::ui::tests::screen(&fixtures::app("healthy"), 160, 48);
    for code in [
        KeyCode::Esc,
        KeyCode::Char('?'),
        KeyCode::Char('q'),
        KeyCode::Enter,
    ] {
        let mut app = fixtures::app("healthy");
        app.update(ch('?'));
        assert!(matches!(app.modal, Some(Modal::Help)));
        let drawn = crate::ui::tests::screen(&app, 160, 48);
        assert!(drawn.contains(&hint), "{drawn}");
        app.update(key(code));
        assert!(app.modal.is_none(), "{code:?} closes the help");
        let written = match code {
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        assert!(hint.contains(&written), "the hint names {written}: {hint}");
    }
    let mut app = fixtures::app("healthy");
    app.update(ch('?'));
    app.update(ch('x'));
    assert!(
        matches!(app.modal, Some(Modal::Help)),
        "a key it does not name keeps it open"
    );
    assert!(!screen.contains("Esc or ? closes"));
}

/// #26: `T` opens the latest OTP start's trace as a waterfall that fits 80 columns: the
/// request and its 504, the stalled `/health`, the backend's line for the phone; ←/→ stay
/// within the starts held; with none sent it says what to do.
#[test]
fn t_opens_the_trace_of_the_latest_otp_start() {
    let mut app = fixtures::app("event-loop-blocking");
    app.update(ch('T'));
    assert!(matches!(app.modal, Some(Modal::Trace { back: 0 })));
    for (w, h) in [(80, 24), (160, 48)] {
        let shown = crate::ui::tests::screen(&app, w, h);
        assert!(
            shown.contains("Trace · OTP start to •6318")
                && shown.contains("request  504 after 60 s, from the load balancer")
                && shown.contains("/health")
                && shown.contains("stalled")
                && shown.contains("log      [OTP] OTP sent successfully"),
            "{w}×{h}\n{shown}"
        );
        assert!(
            shown.lines().all(|l| l.chars().count() <= usize::from(w)),
            "{shown}"
        );
    }
    // One start held: older and newer stay on it.
    app.update(key(KeyCode::Left));
    assert!(matches!(app.modal, Some(Modal::Trace { back: 0 })));
    app.update(key(KeyCode::Esc));
    assert!(app.modal.is_none());
    for (w, h) in [(20, 6), (40, 10)] {
        app.update(ch('T'));
        let _ = crate::ui::tests::screen(&app, w, h);
        app.update(key(KeyCode::Esc));
    }

    let mut app = fixtures::app("healthy");
    app.evidence
        .samples
        .retain(|s| s.endpoint != Endpoint::OtpStart);
    app.update(ch('T'));
    assert!(app.modal.is_none());
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|(n, _)| n.text.contains("press o")));
}

/// #25: the header shows the context's name first, so everyone on a screen share sees which
/// environment is on screen; the report's target carries it.
#[test]
fn the_header_names_the_context_first() {
    let mut app = fixtures::app("healthy");
    let mut names = app.names.clone();
    names.context = Some(crate::config::contexts::Context {
        name: "prod".into(),
        color: Some("red".into()),
    });
    app.update(Event::Target(Target {
        demo_scenario: None,
        names,
        test_phone: "+17133056318".into(),
        secrets: Vec::new(),
    }));
    let screen = crate::ui::tests::screen(&app, 80, 24);
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.starts_with(" prod "), "{header}");
    assert!(
        app.report_files()[0].1.contains("prod · "),
        "the report's target"
    );
}

/// #25: `x` lists the config file's contexts and the demo, on the one watched, and switches
/// to the one picked; without contexts it says why.
#[test]
fn x_switches_to_another_context() {
    let mut app = fixtures::app("healthy");
    app.update(ch('x'));
    assert!(app.modal.is_none());
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|(n, _)| n.text.contains("[contexts.NAME]")));
    app.contexts = vec!["prod".into(), "staging".into()];
    let mut names = app.names.clone();
    names.context = Some(crate::config::contexts::Context {
        name: "staging".into(),
        color: None,
    });
    app.update(Event::Target(Target {
        demo_scenario: None,
        names,
        test_phone: "+17133056318".into(),
        secrets: Vec::new(),
    }));
    app.update(ch('x'));
    assert!(matches!(app.modal, Some(Modal::Contexts { selected: 1 })));
    let shown = crate::ui::tests::screen(&app, 80, 24);
    assert!(shown.contains("prod") && shown.contains("demo"), "{shown}");
    app.update(key(KeyCode::Up));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::SwitchContext(Some("prod".into()))]
    );
    app.update(ch('x'));
    app.update(key(KeyCode::Down));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::SwitchContext(None)],
        "the last row is the demo"
    );
}
