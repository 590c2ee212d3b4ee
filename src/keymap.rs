//! One table of key → action → label, used for dispatch, for the footer and for the help
//! overlay, so what the screen says is what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for, outside of a modal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    Focus(usize),
    Zoom,
    Escape,
    ProbeAll,
    ProbeHealth,
    RefreshAws,
    DevLogin,
    OtpStart,
    TwilioSend,
    EnterCode,
    Filter,
    Follow,
    Wrap,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Scenarios,
    Repair,
    Report,
    Compare,
    /// The env pane's changes timeline, and back.
    Changes,
    /// The trace of the latest OTP start.
    Trace,
    /// The config file's contexts, to switch to one live.
    Contexts,
}

/// One binding: the key, what it does, and how the footer and help name it.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
    pub action: Action,
    /// How the key is written on screen.
    pub key: &'static str,
    /// What it does, in a few words.
    pub label: &'static str,
    /// Shown in the footer (the help overlay shows every binding).
    pub in_footer: bool,
}

const fn bind(
    code: KeyCode,
    action: Action,
    key: &'static str,
    label: &'static str,
    in_footer: bool,
) -> Binding {
    Binding {
        code,
        modifiers: KeyModifiers::NONE,
        action,
        key,
        label,
        in_footer,
    }
}

/// Every binding, in help order. The first binding of an action is the one the footer shows.
pub const BINDINGS: &[Binding] = &[
    bind(KeyCode::Char('?'), Action::Help, "?", "help", true),
    bind(KeyCode::Tab, Action::FocusNext, "Tab", "next pane", true),
    bind(
        KeyCode::BackTab,
        Action::FocusPrev,
        "S-Tab",
        "previous pane",
        false,
    ),
    bind(
        KeyCode::Char('1'),
        Action::Focus(0),
        "1-5",
        "focus pane 1-5",
        false,
    ),
    bind(
        KeyCode::Char('2'),
        Action::Focus(1),
        "2",
        "focus env vars",
        false,
    ),
    bind(
        KeyCode::Char('3'),
        Action::Focus(2),
        "3",
        "focus logs",
        false,
    ),
    bind(
        KeyCode::Char('4'),
        Action::Focus(3),
        "4",
        "focus latency",
        false,
    ),
    bind(
        KeyCode::Char('5'),
        Action::Focus(4),
        "5",
        "focus Twilio",
        false,
    ),
    bind(KeyCode::Char('z'), Action::Zoom, "z", "zoom", true),
    bind(
        KeyCode::Enter,
        Action::Zoom,
        "Enter",
        "zoom the focused pane",
        false,
    ),
    bind(KeyCode::Esc, Action::Escape, "Esc", "close / unzoom", false),
    bind(KeyCode::Char('r'), Action::ProbeAll, "r", "probe all", true),
    bind(
        KeyCode::Char('h'),
        Action::ProbeHealth,
        "h",
        "probe health",
        false,
    ),
    bind(
        KeyCode::Char('a'),
        Action::RefreshAws,
        "a",
        "refresh AWS",
        false,
    ),
    bind(
        KeyCode::Char('d'),
        Action::DevLogin,
        "d",
        "dev login",
        false,
    ),
    bind(KeyCode::Char('o'), Action::OtpStart, "o", "OTP start", true),
    bind(
        KeyCode::Char('t'),
        Action::TwilioSend,
        "t",
        "send via Twilio",
        true,
    ),
    bind(
        KeyCode::Char('c'),
        Action::EnterCode,
        "c",
        "enter code",
        true,
    ),
    bind(KeyCode::Char('R'), Action::Repair, "R", "repair", true),
    bind(
        KeyCode::Char('p'),
        Action::Compare,
        "p",
        "compare with a revision",
        false,
    ),
    bind(
        KeyCode::Char('C'),
        Action::Changes,
        "C",
        "changes timeline / env vars",
        false,
    ),
    bind(
        KeyCode::Char('T'),
        Action::Trace,
        "T",
        "trace of the latest OTP start",
        false,
    ),
    bind(
        KeyCode::Char('W'),
        Action::Report,
        "W",
        "write incident report",
        false,
    ),
    bind(KeyCode::Char('/'), Action::Filter, "/", "filter logs", true),
    bind(
        KeyCode::Char('f'),
        Action::Follow,
        "f",
        "follow/pause",
        true,
    ),
    bind(
        KeyCode::Char(' '),
        Action::Follow,
        "Space",
        "follow/pause",
        false,
    ),
    bind(KeyCode::Char('w'), Action::Wrap, "w", "wrap", false),
    bind(
        KeyCode::Char('k'),
        Action::ScrollUp,
        "k/↑",
        "scroll up",
        false,
    ),
    bind(KeyCode::Up, Action::ScrollUp, "↑", "scroll up", false),
    bind(
        KeyCode::Char('j'),
        Action::ScrollDown,
        "j/↓",
        "scroll down",
        false,
    ),
    bind(KeyCode::Down, Action::ScrollDown, "↓", "scroll down", false),
    bind(KeyCode::PageUp, Action::PageUp, "PgUp", "page up", false),
    bind(
        KeyCode::PageDown,
        Action::PageDown,
        "PgDn",
        "page down",
        false,
    ),
    bind(KeyCode::Char('g'), Action::Top, "g", "oldest", false),
    bind(KeyCode::Home, Action::Top, "Home", "oldest", false),
    bind(KeyCode::Char('G'), Action::Bottom, "G", "newest", false),
    bind(KeyCode::End, Action::Bottom, "End", "newest", false),
    bind(KeyCode::Char('x'), Action::Contexts, "x", "context", false),
    bind(
        KeyCode::Char('s'),
        Action::Scenarios,
        "s",
        "scenario (demo)",
        true,
    ),
    bind(KeyCode::Char('q'), Action::Quit, "q", "quit", true),
    Binding {
        code: KeyCode::Char('c'),
        modifiers: KeyModifiers::CONTROL,
        action: Action::Quit,
        key: "C-c",
        label: "quit",
        in_footer: false,
    },
    Binding {
        code: KeyCode::Char('r'),
        modifiers: KeyModifiers::CONTROL,
        action: Action::ProbeAll,
        key: "C-r",
        label: "probe all",
        in_footer: false,
    },
];

/// The action bound to a key, if any. Shift is ignored for characters (it is in the char).
pub fn action(key: &KeyEvent) -> Option<Action> {
    let modifiers = key.modifiers - KeyModifiers::SHIFT;
    BINDINGS
        .iter()
        .find(|b| b.code == key.code && b.modifiers == modifiers)
        .map(|b| b.action)
}

/// The footer's bindings, in order.
pub fn footer() -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(|b| b.in_footer)
}

/// What a key asks of a modal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModalAction {
    /// Close the modal (cancel, or close the help).
    Close,
    /// Do what the modal is for: send, verify, apply, switch.
    Submit,
    /// Edit the number (the send confirmation).
    Edit,
    Up,
    Down,
    /// Pick the numbered choice (the key's digit).
    Pick,
    /// Hide the window; the work goes on.
    Hide,
    OtpStart,
    Health,
    ProbeAll,
    Report,
    NewRepair,
    RollBack,
}

/// One key of a modal: the key codes, how the hint line writes them, what it says they do, and
/// the action. A modal's table drives both its dispatch ([`modal_action`]) and its hint line
/// ([`hints`]), so the two cannot drift apart. Keys not in the table go to the modal's text
/// input, when it has one.
#[derive(Debug, Clone, Copy)]
pub struct ModalKey {
    pub codes: &'static [KeyCode],
    pub key: &'static str,
    pub label: &'static str,
    pub action: ModalAction,
}

const fn modal_key(
    codes: &'static [KeyCode],
    key: &'static str,
    label: &'static str,
    action: ModalAction,
) -> ModalKey {
    ModalKey {
        codes,
        key,
        label,
        action,
    }
}

/// The help overlay.
pub const HELP_KEYS: &[ModalKey] = &[modal_key(
    &[
        KeyCode::Esc,
        KeyCode::Char('?'),
        KeyCode::Char('q'),
        KeyCode::Enter,
    ],
    "Esc ? q Enter",
    "close this help",
    ModalAction::Close,
)];
/// The send confirmation, showing the number.
pub const CONFIRM_KEYS: &[ModalKey] = &[
    modal_key(&[KeyCode::Enter], "Enter", "send", ModalAction::Submit),
    modal_key(
        &[KeyCode::Char('e')],
        "e",
        "edit the number",
        ModalAction::Edit,
    ),
    modal_key(&[KeyCode::Esc], "Esc", "cancel", ModalAction::Close),
];
/// The send confirmation while the number is typed (`e` is a character then).
pub const CONFIRM_EDITING_KEYS: &[ModalKey] = &[
    modal_key(&[KeyCode::Enter], "Enter", "send", ModalAction::Submit),
    modal_key(&[KeyCode::Esc], "Esc", "cancel", ModalAction::Close),
];
/// Code entry.
pub const CODE_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Enter],
        "Enter",
        "verify through the API",
        ModalAction::Submit,
    ),
    modal_key(&[KeyCode::Esc], "Esc", "cancel", ModalAction::Close),
];
/// The log filter.
pub const FILTER_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Enter],
        "Enter",
        "apply (empty shows all)",
        ModalAction::Submit,
    ),
    modal_key(&[KeyCode::Esc], "Esc", "cancel", ModalAction::Close),
];
/// The revision to compare the env vars with.
pub const COMPARE_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Enter],
        "Enter",
        "compare (empty: the previous revision)",
        ModalAction::Submit,
    ),
    modal_key(&[KeyCode::Esc], "Esc", "cancel", ModalAction::Close),
];
/// The demo's scenario picker.
/// The trace window: older and newer OTP starts, close.
pub const TRACE_KEYS: &[ModalKey] = &[
    modal_key(
        &[
            KeyCode::Left,
            KeyCode::Char('h'),
            KeyCode::Up,
            KeyCode::Char('k'),
        ],
        "←/h",
        "older",
        ModalAction::Up,
    ),
    modal_key(
        &[
            KeyCode::Right,
            KeyCode::Char('l'),
            KeyCode::Down,
            KeyCode::Char('j'),
        ],
        "→/l",
        "newer",
        ModalAction::Down,
    ),
    modal_key(
        &[KeyCode::Esc, KeyCode::Char('q'), KeyCode::Char('T')],
        "Esc/q",
        "close",
        ModalAction::Close,
    ),
];

pub const SCENARIO_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Up, KeyCode::Char('k')],
        "↑/k",
        "up",
        ModalAction::Up,
    ),
    modal_key(
        &[KeyCode::Down, KeyCode::Char('j')],
        "↓/j",
        "down",
        ModalAction::Down,
    ),
    modal_key(&[KeyCode::Enter], "Enter", "switch", ModalAction::Submit),
    modal_key(
        &[KeyCode::Esc, KeyCode::Char('q')],
        "Esc/q",
        "cancel",
        ModalAction::Close,
    ),
];

/// The repair window: choosing a repair.
pub const REPAIR_CHOOSE_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Up, KeyCode::Char('k')],
        "↑/k",
        "choose",
        ModalAction::Up,
    ),
    modal_key(
        &[KeyCode::Down, KeyCode::Char('j')],
        "↓/j",
        "choose",
        ModalAction::Down,
    ),
    modal_key(&[KeyCode::Enter], "Enter", "pick", ModalAction::Submit),
    modal_key(
        &[
            KeyCode::Char('1'),
            KeyCode::Char('2'),
            KeyCode::Char('3'),
            KeyCode::Char('4'),
            KeyCode::Char('5'),
        ],
        "1-5",
        "pick",
        ModalAction::Pick,
    ),
    modal_key(
        &[KeyCode::Esc, KeyCode::Char('q')],
        "Esc/q",
        "close",
        ModalAction::Close,
    ),
];
/// The repair window: the variables' form.
pub const REPAIR_FORM_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Tab, KeyCode::Down],
        "Tab/↓",
        "next field",
        ModalAction::Down,
    ),
    modal_key(
        &[KeyCode::BackTab, KeyCode::Up],
        "S-Tab/↑",
        "previous",
        ModalAction::Up,
    ),
    modal_key(&[KeyCode::Enter], "Enter", "plan", ModalAction::Submit),
    modal_key(&[KeyCode::Esc], "Esc", "back", ModalAction::Close),
];
/// The repair window: the plan, applied only once the service name is typed.
pub const REPAIR_CONFIRM_KEYS: &[ModalKey] = &[
    modal_key(&[KeyCode::Enter], "Enter", "apply", ModalAction::Submit),
    modal_key(
        &[KeyCode::Esc],
        "Esc",
        "cancel (nothing changes)",
        ModalAction::Close,
    ),
];
/// The repair window while planning or applying.
pub const REPAIR_BUSY_KEYS: &[ModalKey] = &[modal_key(
    &[KeyCode::Esc, KeyCode::Char('q')],
    "Esc/q",
    "hide (R shows it again)",
    ModalAction::Hide,
)];
/// The repair window while the rollout is followed.
pub const REPAIR_FOLLOWING_KEYS: &[ModalKey] = &[modal_key(
    &[KeyCode::Esc, KeyCode::Char('q')],
    "Esc/q",
    "hide: the rollout goes on (R shows it again)",
    ModalAction::Hide,
)];
const REPORT: ModalKey = modal_key(&[KeyCode::Char('W')], "W", "report", ModalAction::Report);
const NEW_REPAIR: ModalKey = modal_key(
    &[KeyCode::Char('n')],
    "n",
    "new repair",
    ModalAction::NewRepair,
);
const CLOSE_FINISHED: ModalKey = modal_key(
    &[KeyCode::Esc, KeyCode::Char('q')],
    "Esc/q",
    "close",
    ModalAction::Close,
);
/// The repair window after a rollout, while the fix is verified.
pub const REPAIR_VERIFYING_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Char('o')],
        "o",
        "OTP start",
        ModalAction::OtpStart,
    ),
    modal_key(&[KeyCode::Char('h')], "h", "health", ModalAction::Health),
    modal_key(
        &[KeyCode::Char('r')],
        "r",
        "probe all",
        ModalAction::ProbeAll,
    ),
    REPORT,
    NEW_REPAIR,
    CLOSE_FINISHED,
];
/// The repair window after a failed rollout that changed the service.
pub const REPAIR_FAILED_APPLIED_KEYS: &[ModalKey] = &[
    modal_key(
        &[KeyCode::Char('b')],
        "b",
        "roll back",
        ModalAction::RollBack,
    ),
    REPORT,
    NEW_REPAIR,
    CLOSE_FINISHED,
];
/// The repair window after a repair that failed before changing anything.
pub const REPAIR_FAILED_KEYS: &[ModalKey] = &[REPORT, NEW_REPAIR, CLOSE_FINISHED];

/// The action `code` has in a modal with keys `table`, if any.
pub fn modal_action(table: &[ModalKey], code: KeyCode) -> Option<ModalAction> {
    table
        .iter()
        .find(|k| k.codes.contains(&code))
        .map(|k| k.action)
}

/// A modal's hint line: `Enter send · e edit the number · Esc cancel`; keys side by side in
/// the table with the same label share it (`↑/k ↓/j choose`).
pub fn hints(table: &[ModalKey]) -> String {
    let mut parts: Vec<(String, &str)> = Vec::new();
    for k in table {
        match parts.last_mut() {
            Some((keys, label)) if *label == k.label => {
                keys.push(' ');
                keys.push_str(k.key);
            }
            _ => parts.push((k.key.to_owned(), k.label)),
        }
    }
    parts
        .iter()
        .map(|(keys, label)| format!("{keys} {label}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_to_their_actions() {
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(action(&key(KeyCode::Char('q'))), Some(Action::Quit));
        assert_eq!(
            action(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(action(&key(KeyCode::Char('c'))), Some(Action::EnterCode));
        assert_eq!(
            action(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            action(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::FocusPrev)
        );
        assert_eq!(action(&key(KeyCode::Char('x'))), Some(Action::Contexts));
        assert_eq!(action(&key(KeyCode::Char('X'))), None);
    }

    const MODALS: &[&[ModalKey]] = &[
        HELP_KEYS,
        CONFIRM_KEYS,
        CONFIRM_EDITING_KEYS,
        CODE_KEYS,
        FILTER_KEYS,
        COMPARE_KEYS,
        SCENARIO_KEYS,
        TRACE_KEYS,
        REPAIR_CHOOSE_KEYS,
        REPAIR_FORM_KEYS,
        REPAIR_CONFIRM_KEYS,
        REPAIR_BUSY_KEYS,
        REPAIR_FOLLOWING_KEYS,
        REPAIR_VERIFYING_KEYS,
        REPAIR_FAILED_APPLIED_KEYS,
        REPAIR_FAILED_KEYS,
    ];

    #[test]
    fn modal_tables_are_unambiguous_and_their_hints_fit_80_columns() {
        for table in MODALS {
            let mut seen = Vec::new();
            for k in *table {
                assert!(!k.key.is_empty() && !k.label.is_empty());
                for code in k.codes {
                    assert!(!seen.contains(code), "{code:?} twice in {}", hints(table));
                    seen.push(*code);
                    assert_eq!(modal_action(table, *code), Some(k.action));
                }
            }
            // The repair window and the modals are 78 columns wide inside at 80×24.
            let line = hints(table);
            assert!(line.chars().count() <= 78, "{line}");
        }
        let confirm = format!("type the service name · {}", hints(REPAIR_CONFIRM_KEYS));
        assert!(confirm.chars().count() <= 78, "{confirm}");
        assert_eq!(
            hints(REPAIR_CHOOSE_KEYS),
            "↑/k ↓/j choose · Enter 1-5 pick · Esc/q close"
        );
    }

    #[test]
    fn every_binding_is_reachable() {
        for b in BINDINGS {
            let got = action(&KeyEvent::new(b.code, b.modifiers));
            assert_eq!(got, Some(b.action), "{}", b.key);
        }
    }
}
