//! The Twilio pane: what the Twilio probe learned, drawn from the evidence. Which credentials
//! the console uses (their source, the account SID's prefix, whether a token is set or only a
//! `secrets` reference), the account and its status, the Verify service, Twilio's public
//! status page, and in the demo the simulated phone's newest SMS; then the last OTP verify
//! through the API and the last test sends and checks. In SMS mode (`OTP_PROVIDER=twilio_sms`)
//! the mode and the From number's check come first; every followed send shows its delivery
//! steps with their times (queued → sent → delivered, or the carrier's error decoded).
//!
//! SIDs arrive as prefixes and phone numbers as their last 4 from the probe; this file masks
//! them again anyway (masking is idempotent), so nothing drawn here depends on the probe
//! having done it. The demo phone's code is shown: it is the simulated phone's screen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{ago, clip, theme};
use crate::app::App;
use crate::probe::http::Endpoint;
use crate::probe::twilio::delivery::{DeliveryStep, Via};
use crate::probe::twilio::{CredentialsSeen, Sender, StatusPage, Verification};
use crate::probe::{CredentialSource, ProbeError};
use crate::redact;

/// Test sends and checks shown, newest last.
const RECENT: usize = 3;
/// Width of the label column.
const LABEL: usize = 12;

/// Draws the Twilio pane into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let rows = rows(app);
    let width = usize::from(area.width);
    // Labels only when they leave room for what they label.
    let label = if width >= LABEL + 16 { LABEL } else { 0 };
    let lines: Vec<Line> = rows.into_iter().map(|row| row.line(label, width)).collect();
    Paragraph::new(lines).render(area, buf);
}

/// One line of the pane: a label (empty on continuation lines) and styled pieces.
struct Row {
    label: &'static str,
    pieces: Vec<(String, Style)>,
}

impl Row {
    fn new(label: &'static str, pieces: Vec<(String, Style)>) -> Self {
        Self { label, pieces }
    }

    fn line(self, label: usize, width: usize) -> Line<'static> {
        let mut spans = Vec::new();
        let mut left = width;
        if label > 0 {
            spans.push(Span::styled(
                format!("{:<label$}", self.label),
                Style::new().fg(theme::DIM),
            ));
            left -= label;
        }
        let mut remaining: usize = self.pieces.iter().map(|(t, _)| cells(t)).sum();
        for (text, style) in self.pieces {
            if left == 0 {
                break;
            }
            let n = cells(&text);
            if n > left || (n == left && remaining > n) {
                // The last piece that fits, cut: what follows would only be an ellipsis.
                spans.push(Span::styled(clip(&text, left), style));
                break;
            }
            left -= n;
            remaining -= n;
            spans.push(Span::styled(text, style));
        }
        Line::from(spans)
    }
}

fn rows(app: &App) -> Vec<Row> {
    let e = &app.evidence;
    let mut rows = vec![credentials(e.credentials.as_ref())];
    if let Some(sender) = &e.sender {
        rows.push(Row::new(
            "mode",
            vec![(
                "SMS · twilio_sms sends its own code (Messages API)".to_owned(),
                Style::new(),
            )],
        ));
        rows.push(match sender {
            Err(err) => failure("From", err),
            Ok(n) => from_number(n),
        });
    }
    rows.push(match &e.account {
        None => checking("account"),
        Some(Err(err)) => failure("account", err),
        Some(Ok(a)) => Row::new(
            "account",
            vec![
                // The status before the name: it is what a narrow pane must keep.
                (format!("{} ", sid(&a.sid)), dim()),
                (
                    clean(&a.status),
                    Style::new()
                        .fg(account_colour(&a.status))
                        .add_modifier(Modifier::BOLD),
                ),
                (format!(" · {}", clean(&a.friendly_name)), Style::new()),
            ],
        ),
    });
    // In SMS mode the provider does not use Verify: its absence is not news (the mode row
    // says how codes go), and the row is better spent on the sends.
    let sms_mode = e.sender.is_some();
    rows.extend(match &e.service {
        Some(Err(_)) if sms_mode => None,
        None => Some(checking("Verify")),
        Some(Err(err)) => Some(failure("Verify", err)),
        Some(Ok(s)) => Some(Row::new(
            "Verify",
            vec![
                (format!("{} ", sid(&s.sid)), dim()),
                (format!("{} · ", clean(&s.friendly_name)), Style::new()),
                (format!("{}-digit codes", s.code_length), Style::new()),
            ],
        )),
    });
    match &e.status_page {
        None => rows.push(checking("status")),
        Some(Err(err)) => rows.push(failure("status", err)),
        Some(Ok(page)) => rows.extend(status_page(page)),
    }
    rows.extend(alerts_today(app));
    rows.extend(users_sms(e.recent_sms.as_ref(), e.lines_since_ms));
    if app.is_demo() {
        rows.push(demo_phone(app));
    }
    if let Some(row) = otp_verify(app) {
        rows.push(row);
    }
    rows.extend(recent("test sends", &e.sends, false));
    rows.extend(recent("checks", &e.checks, true));
    rows.extend(deliveries(&e.deliveries));
    rows
}

/// Today's (UTC) alerts from Twilio's Monitor by error code, most frequent first:
/// `20003 ×12 · 60200 ×1`; none when Monitor was not read.
fn alerts_today(app: &App) -> Option<Row> {
    let monitor = app.evidence.monitor.as_ref()?.as_ref().ok()?;
    let midnight = app.now_ms - app.now_ms.rem_euclid(86_400_000);
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for a in monitor.alerts.iter().filter(|a| a.at_ms >= midnight) {
        match counts.iter_mut().find(|(code, _)| *code == a.error_code) {
            Some((_, n)) => *n += 1,
            None => counts.push((&a.error_code, 1)),
        }
    }
    if counts.is_empty() {
        return Some(Row::new(
            "alerts",
            vec![("none today (Monitor)".to_owned(), dim())],
        ));
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let text = counts
        .iter()
        .map(|(code, n)| format!("{} ×{n}", clean(code)))
        .collect::<Vec<_>>()
        .join(" · ");
    Some(Row::new(
        "alerts",
        vec![(format!("today {text}"), Style::new().fg(theme::WARN))],
    ))
}

/// What became of real users' SMS over the last 15 minutes, as the account lists them:
/// `✗ 45 of 45 undelivered (30007 × 45: …)` in red, `✓ 45 of 45 delivered`; none before the
/// first read or with the stub provider.
fn users_sms(
    recent: Option<&Result<crate::probe::twilio::recent::RecentSms, ProbeError>>,
    since_ms: i64,
) -> Option<Row> {
    let recent = match recent? {
        Err(err) => return Some(failure("users' SMS", err)),
        Ok(r) => r.tally(since_ms),
    };
    Some(match recent {
        r if r.sent == 0 => Row::new(
            "users' SMS",
            vec![("none sent in 15 min".to_owned(), dim())],
        ),
        r => {
            let (mark, colour) = if r.mostly_failing() || r.partly_failing() {
                ("✗", theme::FAIL)
            } else if r.failed > 0 {
                ("!", theme::WARN)
            } else {
                ("✓", theme::PASS)
            };
            Row::new(
                "users' SMS",
                vec![
                    (format!("{mark} "), Style::new().fg(colour)),
                    (format!("{} · 15 min", r.summary()), Style::new().fg(colour)),
                ],
            )
        }
    })
}

/// `✓ •••0147 owned · SMS-capable · name`, or why the provider cannot send from it.
fn from_number(n: &Sender) -> Row {
    let is_service = n.from.starts_with("MG");
    let phone = if is_service {
        format!("{} ", sid(&n.from))
    } else {
        format!("{} ", redact::phone(&n.from))
    };
    let (text, colour) = match (n.owned, n.sms_capable) {
        (false, _) if is_service => (
            "✗ not a Messaging Service of this account".to_owned(),
            theme::FAIL,
        ),
        (true, false) if is_service => (
            format!("✗ {}: no SMS sender", clean(&n.friendly_name)),
            theme::FAIL,
        ),
        (false, _) => (
            "✗ not a number of this account (released?)".to_owned(),
            theme::FAIL,
        ),
        (true, false) => ("✗ owned, but not SMS-capable".to_owned(), theme::FAIL),
        (true, true) => (
            format!("✓ owned · SMS-capable · {}", clean(&n.friendly_name)),
            theme::PASS,
        ),
    };
    Row::new(
        "From",
        vec![(phone, Style::new()), (text, Style::new().fg(colour))],
    )
}

/// Each followed send (newest last, at most [`RECENT`]) on one line: its SID, then every
/// status with the time it was first seen, the carrier's error decoded; then a follow error.
fn deliveries(steps: &[Result<DeliveryStep, ProbeError>]) -> Vec<Row> {
    let mut sends: Vec<(String, Vec<&DeliveryStep>)> = Vec::new();
    for step in steps.iter().flatten() {
        match sends.iter_mut().find(|(sid, _)| *sid == step.sid) {
            Some((_, list)) => list.push(step),
            None => sends.push((step.sid.clone(), vec![step])),
        }
    }
    let skip = sends.len().saturating_sub(RECENT);
    let mut rows: Vec<Row> = sends
        .iter()
        .skip(skip)
        .enumerate()
        .map(|(i, (send, list))| {
            let label = if i == 0 { "delivery" } else { "" };
            let via = match list.first().map(|s| s.via) {
                Some(Via::VerifyAttempts) => "Verify ",
                _ => "",
            };
            let mut pieces = vec![(format!("{via}{} ", sid(send)), dim())];
            for (n, step) in list.iter().enumerate() {
                let colour = match step.status.as_str() {
                    "delivered" | "read" => theme::PASS,
                    _ if step.is_final => theme::FAIL,
                    _ => theme::ACCENT,
                };
                let arrow = if n == 0 { "" } else { " → " };
                pieces.push((
                    format!("{arrow}{}", clean(&step.status)),
                    Style::new().fg(colour),
                ));
                pieces.push((format!(" {}", seconds(step.after_ms)), dim()));
                if let Some(code) = step.error_code {
                    pieces.push((
                        format!(
                            " {code} {}",
                            clean(step.meaning.as_deref().unwrap_or("carrier error"))
                        ),
                        Style::new().fg(theme::FAIL),
                    ));
                }
            }
            Row::new(label, pieces)
        })
        .collect();
    if let Some(Err(err)) = steps.last() {
        rows.push(failure(if rows.is_empty() { "delivery" } else { "" }, err));
    }
    rows
}

/// `+1.6 s` since the following began.
fn seconds(ms: u64) -> String {
    format!("+{:.1} s", ms as f64 / 1000.0)
}

/// `task definition · AC5f3b1c… · token set`, or what is missing.
fn credentials(seen: Option<&CredentialsSeen>) -> Row {
    const LABEL: &str = "credentials";
    let Some(seen) = seen else {
        return checking(LABEL);
    };
    let source = match seen.source {
        CredentialSource::TaskDefinition => "task definition",
        CredentialSource::Environment => "console environment",
    };
    let red = Style::new().fg(theme::FAIL);
    let Some(account) = &seen.account_sid else {
        return Row::new(
            LABEL,
            vec![(
                format!("no credentials: TWILIO_ACCOUNT_SID not in the {source}"),
                red,
            )],
        );
    };
    let token = match (&seen.token_value_from, seen.has_auth_token) {
        (Some(reference), _) => (
            format!(
                "token from secret {}",
                super::env::short_reference(reference)
            ),
            Style::new().fg(theme::WARN),
        ),
        (None, true) => match &seen.token_secret {
            Some(secret) => (
                format!("token read from {secret}"),
                Style::new().fg(theme::PASS),
            ),
            None => ("token set".to_owned(), Style::new().fg(theme::PASS)),
        },
        (None, false) => ("no TWILIO_AUTH_TOKEN".to_owned(), red),
    };
    // The SID last: when the line is cut, whether a token is set matters more.
    Row::new(
        LABEL,
        vec![
            (format!("{source} · "), Style::new()),
            (format!("{} · ", token.0), token.1),
            (sid(account), dim()),
        ],
    )
}

/// The indicator and description, then the components that are not operational.
fn status_page(page: &StatusPage) -> Vec<Row> {
    let colour = match page.indicator.as_str() {
        "none" => theme::PASS,
        "minor" => theme::WARN,
        _ => theme::FAIL,
    };
    let mut rows = vec![Row::new(
        "status",
        vec![
            ("● ".to_owned(), Style::new().fg(colour)),
            (clean(&page.description), Style::new().fg(colour)),
        ],
    )];
    if !page.degraded.is_empty() {
        let degraded: Vec<String> = page.degraded.iter().map(|d| clean(d)).collect();
        rows.push(Row::new(
            "",
            vec![(
                format!("degraded: {}", degraded.join(", ")),
                Style::new().fg(theme::WARN),
            )],
        ));
    }
    rows
}

/// The simulated phone's newest SMS, code included (it is the phone's own screen).
fn demo_phone(app: &App) -> Row {
    const LABEL: &str = "demo phone";
    let Some(sms) = app.inbox.iter().max_by_key(|s| s.received_ms) else {
        return Row::new(LABEL, vec![("📱 no SMS yet".to_owned(), dim())]);
    };
    Row::new(
        LABEL,
        vec![
            (format!("📱 {}  ", redact::phone(&sms.to)), Style::new()),
            (
                format!("code {}", clean(&sms.code)),
                Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
            ),
            (format!("  ({})", ago(app.now_ms, sms.received_ms)), dim()),
        ],
    )
}

/// The last OTP verify through the API: verified (the token masked) or why not.
fn otp_verify(app: &App) -> Option<Row> {
    const LABEL: &str = "OTP verify";
    let sample = app
        .evidence
        .samples
        .iter()
        .rev()
        .find(|s| s.endpoint == Endpoint::OtpVerify)?;
    let when = (format!("  ({})", ago(app.now_ms, sample.started_ms)), dim());
    if sample.class.is_ok() {
        return Some(Row::new(
            LABEL,
            vec![
                (
                    format!("✓ verified — token {}", redact::MASK),
                    Style::new().fg(theme::PASS),
                ),
                when,
            ],
        ));
    }
    let status = sample.status.map_or_else(
        || format!("{:?}", sample.class).to_lowercase(),
        |s| s.to_string(),
    );
    Some(Row::new(
        LABEL,
        vec![
            (
                format!("✗ {status} {}", clean(&sample.summary)),
                Style::new().fg(theme::FAIL),
            ),
            when,
        ],
    ))
}

/// The last few sends or checks, oldest first, or "none yet".
fn recent(
    label: &'static str,
    results: &[Result<Verification, ProbeError>],
    is_check: bool,
) -> Vec<Row> {
    if results.is_empty() {
        return vec![Row::new(label, vec![("none yet".to_owned(), dim())])];
    }
    let skip = results.len().saturating_sub(RECENT);
    results
        .iter()
        .skip(skip)
        .enumerate()
        .map(|(i, result)| {
            let label = if i == 0 { label } else { "" };
            match result {
                Err(err) => failure(label, err),
                Ok(v) => {
                    let colour = match (v.status.as_str(), is_check) {
                        ("approved", _) => theme::PASS,
                        ("pending", false) => theme::ACCENT,
                        _ => theme::FAIL,
                    };
                    Row::new(
                        label,
                        vec![
                            (format!("{} ", sid(&v.sid)), dim()),
                            (format!("→ {}  ", redact::phone(&v.to)), Style::new()),
                            (clean(&v.status), Style::new().fg(colour)),
                        ],
                    )
                }
            }
        })
        .collect()
}

fn checking(label: &'static str) -> Row {
    Row::new(label, vec![("checking…".to_owned(), dim())])
}

fn failure(label: &'static str, err: &ProbeError) -> Row {
    Row::new(
        label,
        vec![(
            format!("✗ {}", clean(&err.message)),
            Style::new().fg(theme::FAIL),
        )],
    )
}

fn account_colour(status: &str) -> Color {
    match status {
        "active" => theme::PASS,
        "suspended" | "closed" => theme::FAIL,
        _ => theme::WARN,
    }
}

/// A SID as its first 8 characters, whether or not it arrived masked.
fn sid(value: &str) -> String {
    let value = clean(value);
    if value.ends_with('…') {
        value
    } else {
        redact::sid(&value)
    }
}

/// Terminal cells `text` takes (the phone emoji takes two).
fn cells(text: &str) -> usize {
    Span::raw(text).width()
}

fn clean(text: &str) -> String {
    redact::sanitize(text)
}

fn dim() -> Style {
    Style::new().fg(theme::DIM)
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;

    use super::render;
    use crate::app::App;
    use crate::event::Event;
    use crate::probe::http::{Class, Endpoint, Sample};
    use crate::probe::twilio::{Account, Fact, StatusPage, Verification};
    use crate::probe::{ErrorKind, Observation, ProbeError, System};
    use crate::ui::fixtures::{app, NOW};
    use crate::ui::theme;

    const SCENARIOS: [&str; 3] = ["healthy", "event-loop-blocking", "missing-env-vars"];

    fn draw(app: &App, width: u16, height: u16) -> Buffer {
        crate::ui::fixtures::pane(render, app, width, height)
    }

    fn text(buf: &Buffer) -> String {
        let area = buf.area;
        (0..area.height)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < area.width {
                    // A wide symbol covers the next cell too.
                    let symbol = buf[(x, y)].symbol();
                    row.push_str(symbol);
                    x += super::cells(symbol).max(1) as u16;
                }
                row.trim_end().to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The healthy console after Twilio went wrong: the account suspended, the status page
    /// degraded, a send refused, a wrong code checked, and a verify through the API.
    fn failing() -> App {
        let mut app = app("healthy");
        let twilio = |fact| {
            Event::Observed(Observation::Twilio {
                at_ms: NOW - 5_000,
                fact,
            })
        };
        for event in [
            twilio(Fact::Account(Ok(Account {
                sid: "AC5f3b1c…".into(),
                friendly_name: "Nerava Production".into(),
                status: "suspended".into(),
            }))),
            twilio(Fact::StatusPage(Ok(StatusPage {
                indicator: "minor".into(),
                description: "Partially Degraded Service".into(),
                degraded: vec!["SMS: degraded_performance".into()],
            }))),
            twilio(Fact::Send(Err(ProbeError {
                system: System::Twilio,
                kind: ErrorKind::Api,
                code: Some("20003".into()),
                message: "Twilio 20003: authenticate — check TWILIO_AUTH_TOKEN".into(),
            }))),
            twilio(Fact::Check(Ok(Verification {
                sid: "VEe69840…".into(),
                status: "pending".into(),
                to: "•••6318".into(),
                valid: false,
            }))),
            Event::Observed(Observation::Http(Sample {
                endpoint: Endpoint::OtpVerify,
                id: 300,
                started_ms: NOW - 4_000,
                latency_ms: 120,
                status: Some(200),
                class: Class::Ok,
                summary: format!("access_token {}", crate::redact::MASK),
                during_otp: false,
                otp_started_ms: None,
                phone_last4: None,
            })),
        ] {
            app.update(event);
        }
        app
    }

    #[test]
    fn snapshots() {
        for scenario in SCENARIOS {
            let app = app(scenario);
            for (w, h) in [(70, 20), (40, 10)] {
                insta::assert_snapshot!(format!("{scenario}_{w}x{h}"), text(&draw(&app, w, h)));
            }
        }
        insta::assert_snapshot!("failing_70x20", text(&draw(&failing(), 70, 20)));
    }

    #[test]
    fn no_raw_secret_at_any_scenario() {
        let apps = SCENARIOS.map(app);
        for app in apps.iter().chain([&failing()]) {
            let screen = text(&draw(app, 200, 60));
            for secret in [
                "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
                "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
                "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                "7133056318",
            ] {
                assert!(!screen.contains(secret), "{secret} drawn:\n{screen}");
            }
        }
    }

    #[test]
    fn masks_what_arrives_unmasked() {
        let mut app = app("healthy");
        app.update(Event::Observed(Observation::Twilio {
            at_ms: NOW,
            fact: Fact::Send(Ok(Verification {
                sid: "VE0123456789abcdef0123456789abcdef".into(),
                status: "pending".into(),
                to: "+17133056318".into(),
                valid: false,
            })),
        }));
        let screen = text(&draw(&app, 100, 20));
        assert!(screen.contains("VE012345… → •••6318"), "{screen}");
        assert!(!screen.contains("7133056318"));
    }

    #[test]
    fn demo_phone_and_verify_outcome() {
        let screen = text(&draw(&app("healthy"), 70, 20));
        assert!(
            screen.contains("demo phone  📱 •••6318  code 723674  (19 s ago)"),
            "{screen}"
        );
        let screen = text(&draw(&failing(), 70, 20));
        assert!(
            screen.contains("OTP verify  ✓ verified — token ••••••••"),
            "{screen}"
        );
    }

    #[test]
    fn suspended_account_and_failed_send_are_red() {
        let buf = draw(&failing(), 70, 20);
        let screen = text(&buf);
        let cell_of = |needle: &str| {
            screen.lines().enumerate().find_map(|(y, line)| {
                let byte = line.find(needle)?;
                Some((line[..byte].chars().count() as u16, y as u16))
            })
        };
        let (x, y) = cell_of("suspended").expect("suspended shown");
        assert_eq!(buf[(x, y)].fg, theme::FAIL);
        let (x, y) = cell_of("✗ Twilio 20003").expect("send error shown");
        assert_eq!(buf[(x, y)].fg, theme::FAIL);
        let (x, y) = cell_of("● Partially").expect("status shown");
        assert_eq!(buf[(x, y)].fg, theme::WARN);
        assert!(
            cell_of("active").is_none(),
            "the newest account status wins"
        );
    }

    /// The healthy console on an SMS deployment: the From number released, then (after a new
    /// number) a test send the carrier filtered, followed to its final state.
    fn sms() -> App {
        use crate::probe::twilio::delivery::{DeliveryStep, Via};
        use crate::probe::twilio::Sender;
        let mut app = app("healthy");
        let step = |status: &str, after_ms: u64, code: Option<u32>| {
            Fact::Delivery(Ok(DeliveryStep {
                via: Via::Messages,
                sid: "SMde1922…".into(),
                to: "•••6318".into(),
                status: status.into(),
                error_code: code,
                meaning: code.map(|_| "carrier violation: filtered as spam".into()),
                is_final: matches!(status, "delivered" | "undelivered"),
                after_ms,
            }))
        };
        for fact in [
            Fact::Sender(Ok(Sender {
                from: "+18325550147".into(),
                owned: false,
                sms_capable: false,
                sid: None,
                friendly_name: String::new(),
            })),
            Fact::Send(Ok(Verification {
                sid: "SMde1922…".into(),
                status: "queued".into(),
                to: "•••6318".into(),
                valid: false,
            })),
            step("queued", 0, None),
            step("sent", 600, None),
            step("undelivered", 1_600, Some(30007)),
        ] {
            app.update(Event::Observed(Observation::Twilio { at_ms: NOW, fact }));
        }
        app
    }

    #[test]
    fn sms_mode_shows_the_from_number_and_delivery_steps_masked() {
        let app = sms();
        insta::assert_snapshot!("sms_80x20", text(&draw(&app, 80, 20)));
        let screen = text(&draw(&app, 200, 30));
        assert!(screen.contains("mode        SMS · twilio_sms"), "{screen}");
        assert!(
            screen.contains("From        •••0147 ✗ not a number of this account"),
            "{screen}"
        );
        assert!(
            screen.contains(
                "delivery    SMde1922… queued +0.0 s → sent +0.6 s → undelivered +1.6 s 30007 carrier violation"
            ),
            "{screen}"
        );
        assert!(!screen.contains("8325550147") && !screen.contains("7133056318"));
        let buf = draw(&app, 200, 30);
        let (y, line) = screen
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with("delivery"))
            .expect("delivery row");
        let x = line[..line.find("undelivered").expect("shown")]
            .chars()
            .count() as u16;
        assert_eq!(buf[(x, y as u16)].fg, theme::FAIL);
    }

    #[test]
    fn real_users_sms_are_counted_red_when_most_go_undelivered() {
        use crate::probe::twilio::delivery::Via;
        use crate::probe::twilio::recent::{RecentSms, SmsOutcome};
        let mut app = app("healthy");
        let recent = |delivered: usize, failed: usize, code: u32| {
            let send = |i: usize, status: &str, error_code| SmsOutcome {
                at_ms: NOW - 1_000 * i as i64,
                status: status.into(),
                error_code,
            };
            let sends = (0..failed)
                .map(|i| send(i, "undelivered", Some(code)))
                .chain((failed..failed + delivered).map(|i| send(i, "delivered", None)))
                .collect();
            Event::Observed(Observation::Twilio {
                at_ms: NOW,
                fact: Fact::RecentSms(Ok(RecentSms {
                    via: Some(Via::Messages),
                    since_ms: NOW - 900_000,
                    sends,
                    truncated: false,
                })),
            })
        };
        app.update(recent(0, 45, 30007));
        let buf = draw(&app, 80, 24);
        let screen = text(&buf);
        let (y, line) = screen
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with("users' SMS"))
            .unwrap_or_else(|| panic!("no users' SMS row:\n{screen}"));
        assert!(
            line.contains("✗ 45 of 45 undelivered (30007 × 45"),
            "{line}"
        );
        let x = line[..line.find("45 of").expect("shown")].chars().count() as u16;
        assert_eq!(buf[(x, y as u16)].fg, theme::FAIL);

        app.update(recent(44, 1, 30003));
        let screen = text(&draw(&app, 120, 24));
        assert!(
            screen.contains("users' SMS  ! 1 of 45 undelivered (30003 × 1"),
            "{screen}"
        );
        app.update(recent(45, 0, 0));
        let screen = text(&draw(&app, 120, 24));
        assert!(
            screen.contains("users' SMS  ✓ 45 of 45 delivered · 15 min"),
            "{screen}"
        );
    }

    #[test]
    fn every_small_size_draws_without_panic() {
        let apps = SCENARIOS.map(app);
        for app in apps.iter().chain([&failing(), &sms()]) {
            for w in 0..=80 {
                for h in 0..=24 {
                    draw(app, w, h);
                }
            }
        }
    }
}
