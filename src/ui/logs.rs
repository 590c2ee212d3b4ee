//! The logs pane: the CloudWatch lines the evidence holds (already sanitised), filtered by
//! `App::logs.filter`, newest at the bottom, each as `HH:MM:SS task-id message` with the
//! runbook's lines coloured by kind. Following shows the newest lines that fit; paused shows
//! the lines `logs.scroll` back from the newest. One status line on top says which, the filter,
//! the count and the keys.
//!
//! The evidence keeps up to 5,000 events and this pane is drawn on every frame, so it walks the
//! events from the newest backwards and formats only the lines that end up on screen.

use std::collections::VecDeque;

use chrono::{DateTime, Timelike};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::theme;
use crate::app::App;
use crate::probe::logs::{Event, FollowMode, LineKind};

/// Width of `HH:MM:SS ` and of the task id's `01234567 `.
const TIME_W: usize = 9;
const TASK_W: usize = 9;
/// Narrower than these, the time (then the task id) is left out to keep room for the message.
const TIME_MIN_WIDTH: usize = 24;
const TASK_MIN_WIDTH: usize = 50;
/// Wrapped continuation rows are indented under the message only when this much is left.
const MIN_INDENTED: usize = 16;
const HINTS: &str = "w wrap  f follow  / filter";

/// Draws the logs pane into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let width = usize::from(area.width);
    let (status, body) = if area.height >= 2 {
        (
            Some(Rect { height: 1, ..area }),
            Rect {
                y: area.y + 1,
                height: area.height - 1,
                ..area
            },
        )
    } else {
        (None, area)
    };
    let filter = app.logs.filter.to_lowercase();
    let total = if filter.is_empty() {
        app.evidence.events.len()
    } else {
        matching(app, &filter).count()
    };
    let snapshot = app.evidence.ecs.as_ref().and_then(|r| r.as_ref().ok());
    let geometry = Geometry {
        width,
        show_time: width >= TIME_MIN_WIDTH,
        show_task: width >= TASK_MIN_WIDTH,
        is_wrapped: app.logs.is_wrapped,
        revisions: snapshot
            .map(|s| {
                s.tasks
                    .iter()
                    .filter_map(|t| Some((task_id(&t.id).to_owned(), t.revision?)))
                    .collect()
            })
            .unwrap_or_default(),
        deployed: snapshot.map(|s| s.deployed.revision),
    };
    let rows = usize::from(body.height);
    let scroll = if app.logs.is_following {
        0
    } else {
        app.logs.scroll
    };
    let window = window(app, &filter, scroll, rows, &geometry);
    if let Some(status) = status {
        status_line(app, total, window.scrolled_back, width).render(status, buf);
    }
    if window.lines.is_empty() {
        empty_line(app).render(Rect { height: 1, ..body }, buf);
        return;
    }
    for (i, line) in window.lines.iter().enumerate() {
        let row = Rect {
            y: body.y + i as u16,
            height: 1,
            ..body
        };
        line.render(row, buf);
    }
}

/// The events matching `filter` (lower-cased; empty matches all), newest first. The same
/// selection as `App::visible_events`, walked from the end.
fn matching<'a>(app: &'a App, filter: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
    app.evidence
        .events
        .iter()
        .rev()
        .filter(move |e| matches(&e.message, filter))
}

/// Case-insensitive substring match against a lower-cased needle, without allocating for
/// ASCII text (the common case: it runs over every event on every frame while filtering).
fn matches(message: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if message.is_ascii() && needle.is_ascii() {
        let needle = needle.as_bytes();
        return message
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
    }
    message.to_lowercase().contains(needle)
}

/// How lines are laid out at this width.
struct Geometry {
    width: usize,
    show_time: bool,
    show_task: bool,
    is_wrapped: bool,
    /// Which revision each task (by its short id) runs, and the revision deployed now: a
    /// line's task is coloured by it, so during a rollout old and new tasks read apart.
    revisions: std::collections::HashMap<String, i32>,
    deployed: Option<i32>,
}

impl Geometry {
    /// The task id's style: the deployed revision's tasks in the accent colour, an older
    /// revision's in the warning colour, tasks ECS did not list dimmed.
    fn task_style(&self, task: &str) -> Style {
        match (self.revisions.get(task), self.deployed) {
            (Some(r), Some(d)) if *r == d => Style::new().fg(theme::ACCENT),
            (Some(_), Some(_)) => Style::new().fg(theme::WARN),
            _ => Style::new().fg(theme::DIM),
        }
    }
}

impl Geometry {
    fn prefix_width(&self) -> usize {
        usize::from(self.show_time) * TIME_W + usize::from(self.show_task) * TASK_W
    }
}

/// The rows to draw, top to bottom, and how far back from the newest line they end.
struct Window<'a> {
    lines: Vec<Line<'a>>,
    scrolled_back: usize,
}

/// Picks the lines to show: ending `scroll` lines back from the newest and filling `rows`
/// upwards; near the oldest line, it fills downwards with newer ones instead of leaving rows
/// empty. Only the events that end up on screen are formatted.
fn window<'a>(
    app: &'a App,
    filter: &'a str,
    scroll: usize,
    rows: usize,
    geometry: &Geometry,
) -> Window<'a> {
    // Every event takes at least one row, so `scroll + rows` of them are always enough.
    let newest_first: Vec<&Event> = matching(app, filter)
        .take(scroll.saturating_add(rows))
        .collect();
    let has_all = newest_first.len() < scroll.saturating_add(rows);
    let Some(last) = newest_first.len().checked_sub(1) else {
        return Window {
            lines: Vec::new(),
            scrolled_back: 0,
        };
    };
    let start = scroll.min(last);
    let mut blocks: VecDeque<Vec<Line>> = VecDeque::new();
    let mut used = 0;
    let mut older = start;
    while older < newest_first.len() && used < rows {
        let block = event_lines(newest_first[older], geometry);
        used += block.len();
        blocks.push_front(block);
        older += 1;
    }
    let mut newer = start;
    while newer > 0 && used < rows {
        newer -= 1;
        let block = event_lines(newest_first[newer], geometry);
        used += block.len();
        blocks.push_back(block);
    }
    let lines: Vec<Line> = blocks.into_iter().flatten().collect();
    let is_at_oldest = has_all && older == newest_first.len();
    let lines = if is_at_oldest {
        lines.into_iter().take(rows).collect()
    } else {
        let skip = lines.len().saturating_sub(rows);
        lines.into_iter().skip(skip).collect()
    };
    Window {
        lines,
        scrolled_back: newer,
    }
}

/// One event as one row (clipped by the renderer) or, wrapped, as many as its message needs.
fn event_lines<'a>(event: &'a Event, geometry: &Geometry) -> Vec<Line<'a>> {
    let mut prefix = Vec::with_capacity(2);
    if geometry.show_time {
        prefix.push(Span::raw(format!("{} ", hh_mm_ss(event.timestamp_ms))));
    }
    if geometry.show_task {
        let task = task_id(&event.stream);
        prefix.push(Span::styled(
            format!("{task:<8} "),
            geometry.task_style(task),
        ));
    }
    let style = kind_style(event.kind);
    if !geometry.is_wrapped {
        prefix.push(Span::styled(event.message.as_str(), style));
        return vec![Line::from(prefix)];
    }
    let prefix_width = geometry.prefix_width();
    let room = geometry.width.saturating_sub(prefix_width);
    let (indent, room_after) = if room >= MIN_INDENTED {
        (prefix_width, room)
    } else {
        (0, geometry.width)
    };
    let (first, mut rest) = split_at_width(&event.message, room.max(1));
    prefix.push(Span::styled(first, style));
    let mut lines = vec![Line::from(prefix)];
    while !rest.is_empty() {
        let (piece, tail) = split_at_width(rest, room_after.max(1));
        lines.push(Line::from(vec![
            Span::raw(" ".repeat(indent)),
            Span::styled(piece, style),
        ]));
        rest = tail;
    }
    lines
}

/// Splits `text` after at most `max` columns: after the last space if it is in the second
/// half of the row, else mid-word (log lines have long tokens: URLs, SIDs). At least one
/// character goes first, so wrapping always advances.
fn split_at_width(text: &str, max: usize) -> (&str, &str) {
    let mut used = 0;
    let mut after_space = None;
    for (i, c) in text.char_indices() {
        let w = Span::raw(&text[i..i + c.len_utf8()]).width();
        if used + w > max && i > 0 {
            let at = after_space.filter(|at| *at * 2 > i).unwrap_or(i);
            return text.split_at(at);
        }
        used += w;
        if c == ' ' {
            after_space = Some(i + 1);
        }
    }
    (text, "")
}

/// `HH:MM:SS` in UTC.
pub fn hh_mm_ss(timestamp_ms: i64) -> String {
    DateTime::from_timestamp_millis(timestamp_ms).map_or_else(
        || "--:--:--".to_owned(),
        |t| format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
    )
}

/// The task id in a stream name `prefix/container/task-id`: its first 8 characters.
fn task_id(stream: &str) -> &str {
    let id = stream.rsplit('/').next().unwrap_or_default();
    id.char_indices().nth(8).map_or(id, |(i, _)| &id[..i])
}

/// The runbook's colours: success green, configuration and credential failures red,
/// transient Twilio trouble yellow, access lines dimmed.
fn kind_style(kind: LineKind) -> Style {
    match kind {
        LineKind::ProviderInitialised | LineKind::OtpSent | LineKind::OtpVerified => {
            Style::new().fg(theme::PASS)
        }
        LineKind::CredentialError
        | LineKind::ServiceNotFound
        | LineKind::AccountInactive
        | LineKind::StartupFailure
        | LineKind::ProviderNotConfigured
        | LineKind::FromNumberInvalid => Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
        LineKind::TwilioTimeout | LineKind::RateLimited | LineKind::TwilioError => {
            Style::new().fg(theme::WARN)
        }
        LineKind::Access => Style::new().fg(theme::DIM),
        LineKind::Other => Style::new(),
    }
}

/// The badge in the pane's title while Live Tail sends only a sample of the matching lines
/// (more than 500 a second): the pane then shows some lines of the burst, not all.
pub fn title_badge(app: &App) -> Option<Span<'static>> {
    matches!(
        app.evidence.logs_follow,
        Some(FollowMode::LiveTail {
            sampled: true,
            backfill_failed: None
        })
    )
    .then(|| {
        Span::styled(
            "sampled by Live Tail ",
            Style::new().fg(theme::WARN).add_modifier(Modifier::BOLD),
        )
    })
}

/// `● following · filter: "OTP" · 3 of 40 lines · live tail` with the keys on the right when
/// they fit; when the logs are polled instead of tailed, the one line saying why (last, so the
/// count stays in sight).
fn status_line(app: &App, total: usize, scrolled_back: usize, width: usize) -> Line<'static> {
    let mut spans = Vec::new();
    if app.logs.is_following {
        spans.push(Span::styled("● following", Style::new().fg(theme::PASS)));
    } else if scrolled_back > 0 {
        spans.push(Span::styled(
            format!("‖ paused (scrolled {scrolled_back} back)"),
            Style::new().fg(theme::WARN).add_modifier(Modifier::BOLD),
        ));
    } else {
        spans.push(Span::styled(
            "‖ paused",
            Style::new().fg(theme::WARN).add_modifier(Modifier::BOLD),
        ));
    }
    if !app.logs.filter.is_empty() {
        spans.push(Span::styled(
            format!(" · filter: \"{}\"", app.logs.filter),
            Style::new().fg(theme::ACCENT),
        ));
    }
    let all = app.evidence.events.len();
    let count = if app.logs.filter.is_empty() {
        format!(" · {} {}", all, plural(all))
    } else {
        format!(" · {total} of {all} {}", plural(all))
    };
    spans.push(Span::styled(count, Style::new().fg(theme::DIM)));
    if app.logs.is_wrapped {
        spans.push(Span::styled(" · wrap", Style::new().fg(theme::DIM)));
    }
    match &app.evidence.logs_follow {
        Some(FollowMode::LiveTail {
            backfill_failed, ..
        }) => {
            spans.push(Span::styled(" · live tail", Style::new().fg(theme::DIM)));
            if let Some(why) = backfill_failed {
                spans.push(Span::styled(
                    format!(" · {why}"),
                    Style::new().fg(theme::WARN),
                ));
            }
        }
        Some(FollowMode::Polling { why: Some(why) }) => {
            spans.push(Span::styled(
                format!(" · {why}"),
                Style::new().fg(theme::WARN),
            ));
        }
        Some(FollowMode::Polling { why: None }) => {
            spans.push(Span::styled(" · polling", Style::new().fg(theme::DIM)));
        }
        None => {}
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let hints = HINTS.chars().count();
    if used + 2 + hints <= width {
        spans.push(Span::raw(" ".repeat(width - used - hints)));
        spans.push(Span::styled(HINTS, Style::new().fg(theme::DIM)));
    }
    Line::from(spans)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "line"
    } else {
        "lines"
    }
}

fn empty_line(app: &App) -> Line<'static> {
    let text = if !app.evidence.events.is_empty() {
        format!("no lines match filter \"{}\"", app.logs.filter)
    } else if app.evidence.has_logs {
        crate::diagnosis::quiet_logs(&app.names)
    } else {
        "waiting for CloudWatch Logs…".to_owned()
    };
    Line::from(Span::styled(text, Style::new().fg(theme::DIM)))
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};

    use super::render;
    use crate::app::App;
    use crate::ui::fixtures::{app, line, pane, push_lines, text};

    fn shown(app: &App, width: u16, height: u16) -> String {
        text(&pane(render, app, width, height))
    }

    /// An app with `n` numbered lines `line 0` … `line n-1`, one second apart, oldest first.
    fn numbered(n: usize) -> App {
        let mut app = app("healthy");
        app.evidence.events.clear();
        let lines = (0..n)
            .map(|i| line(i, (n - i) as i64, &format!("line {i}")))
            .collect();
        push_lines(&mut app, lines);
        app
    }

    #[test]
    fn snapshots_of_the_three_scenarios() {
        for scenario in ["healthy", "event-loop-blocking", "missing-env-vars"] {
            let app = app(scenario);
            insta::assert_snapshot!(format!("logs_{scenario}_100x12"), shown(&app, 100, 12));
            insta::assert_snapshot!(format!("logs_{scenario}_40x8"), shown(&app, 40, 8));
        }
    }

    #[test]
    fn snapshot_wrapped_and_paused() {
        let mut app = app("missing-env-vars");
        app.logs.is_wrapped = true;
        app.logs.is_following = false;
        app.logs.scroll = 1;
        insta::assert_snapshot!(shown(&app, 60, 10));
    }

    /// How the lines are followed is on the status line: Live Tail, or polling with the one
    /// line saying why; and Live Tail's sampling is a badge in the pane's title.
    #[test]
    fn snapshot_live_tail_and_polling_with_why() {
        use crate::probe::logs::FollowMode;
        let mut app = app("event-loop-blocking");
        app.evidence.logs_follow = Some(FollowMode::LiveTail {
            sampled: false,
            backfill_failed: None,
        });
        insta::assert_snapshot!("logs_live_tail_100x4", shown(&app, 100, 4));
        app.evidence.logs_follow = Some(FollowMode::Polling {
            why: Some(
                "polling: Live Tail not permitted (AccessDeniedException on logs:StartLiveTail)"
                    .into(),
            ),
        });
        insta::assert_snapshot!("logs_polling_why_100x4", shown(&app, 100, 4));
        insta::assert_snapshot!("logs_polling_why_40x4", shown(&app, 40, 4));
    }

    /// A failed backfill is on the status line beside "live tail", in the warning colour.
    #[test]
    fn the_status_line_says_when_the_backfill_failed() {
        use crate::probe::logs::FollowMode;
        let mut app = app("event-loop-blocking");
        let why = "lines from before the session not read (AWS FilterLogEvents: ThrottlingException — throttled, backing off); tried again in 4 s";
        app.evidence.logs_follow = Some(FollowMode::LiveTail {
            sampled: false,
            backfill_failed: Some(why.into()),
        });
        let screen = shown(&app, 220, 4);
        assert!(screen.contains(&format!("· live tail · {why}")), "{screen}");
        let buffer = pane(render, &app, 220, 4);
        let warned = (0..buffer.area.height).any(|y| {
            let row: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            row.find("lines from before").is_some_and(|at| {
                let x = row[..at].chars().count() as u16;
                buffer[(x, y)].fg == Color::Yellow
            })
        });
        assert!(warned, "the missing backfill is not in the warning colour");
    }

    #[test]
    fn the_title_says_when_live_tail_sampled() {
        use crate::probe::logs::FollowMode;
        let mut app = app("event-loop-blocking");
        for (follow, badge) in [
            (None, false),
            (
                Some(FollowMode::LiveTail {
                    sampled: false,
                    backfill_failed: None,
                }),
                false,
            ),
            (
                Some(FollowMode::LiveTail {
                    sampled: true,
                    backfill_failed: None,
                }),
                true,
            ),
            (Some(FollowMode::Polling { why: None }), false),
        ] {
            app.evidence.logs_follow = follow.clone();
            let screen = crate::ui::tests::screen(&app, 160, 48);
            let title = screen
                .lines()
                .find(|l| l.contains(" 3 Logs "))
                .unwrap_or_default();
            assert_eq!(
                title.contains("sampled by Live Tail"),
                badge,
                "{follow:?}: {title}"
            );
        }
        app.evidence.logs_follow = Some(FollowMode::LiveTail {
            sampled: true,
            backfill_failed: None,
        });
        let badge = super::title_badge(&app).expect("badge");
        assert_eq!(badge.style.fg, Some(Color::Yellow));
    }

    #[test]
    fn the_visible_selection_is_the_apps() {
        let mut app = app("event-loop-blocking");
        for filter in ["", "otp", "OTP", "[otp] using", "nothing like this"] {
            app.logs.filter = filter.to_owned();
            let lower = filter.to_lowercase();
            let mine: Vec<_> = super::matching(&app, &lower).map(|e| &e.id).collect();
            let mut apps: Vec<_> = app.visible_events().map(|e| &e.id).collect();
            apps.reverse();
            assert_eq!(mine, apps, "filter {filter:?}");
        }
    }

    #[test]
    fn filter_hides_lines_that_do_not_match() {
        let mut app = app("event-loop-blocking");
        app.logs.filter = "otp".to_owned();
        let screen = shown(&app, 100, 12);
        assert!(screen.contains("filter: \"otp\""), "{screen}");
        assert!(screen.contains("3 of 5 lines"), "{screen}");
        assert!(screen.contains("OTP sent successfully"), "{screen}");
        assert!(screen.contains("/v1/auth/otp/start"), "{screen}");
        assert!(!screen.contains("Application startup complete"), "{screen}");
        assert!(!screen.contains("/v1/chargers/nearby"), "{screen}");

        app.logs.filter = "no such text".to_owned();
        let screen = shown(&app, 100, 12);
        assert!(
            screen.contains("no lines match filter \"no such text\""),
            "{screen}"
        );
    }

    #[test]
    fn following_shows_the_newest_lines_that_fit() {
        let app = numbered(50);
        let screen = shown(&app, 60, 5);
        let rows: Vec<&str> = screen.lines().collect();
        assert!(rows[0].starts_with("● following · 50 lines"), "{screen}");
        assert!(rows[1].ends_with("line 46"), "{screen}");
        assert!(rows[4].ends_with("line 49"), "{screen}");
    }

    #[test]
    fn paused_and_scrolled_shows_older_lines() {
        let mut app = numbered(50);
        app.logs.is_following = false;
        app.logs.scroll = 12;
        let screen = shown(&app, 60, 5);
        let rows: Vec<&str> = screen.lines().collect();
        assert!(
            rows[0].starts_with("‖ paused (scrolled 12 back)"),
            "{screen}"
        );
        assert!(rows[1].ends_with("line 34"), "{screen}");
        assert!(rows[4].ends_with("line 37"), "{screen}");
        assert!(!screen.contains("line 49"), "{screen}");

        // Past the oldest line: the oldest at the top, the view full.
        app.logs.scroll = 1_000;
        let screen = shown(&app, 60, 5);
        let rows: Vec<&str> = screen.lines().collect();
        assert!(rows[1].ends_with("line 0"), "{screen}");
        assert!(rows[4].ends_with("line 3"), "{screen}");
    }

    #[test]
    fn scrolling_by_keys_pauses_and_shows_older_lines() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut app = numbered(50);
        for _ in 0..3 {
            app.update(crate::event::Event::Key(KeyEvent::new(
                KeyCode::Up,
                KeyModifiers::NONE,
            )));
        }
        let screen = shown(&app, 60, 3);
        assert!(screen.contains("scrolled 3 back"), "{screen}");
        assert!(screen.ends_with("line 46"), "{screen}");
    }

    #[test]
    fn wrap_on_and_off() {
        let mut app = app("missing-env-vars");
        let long = "Twilio Verify provider not";
        // Clipped: the end of the long line is not on screen.
        let screen = shown(&app, 60, 8);
        assert!(!screen.contains("phone_last4=6318"), "{screen}");
        assert_eq!(screen.lines().filter(|r| r.contains(long)).count(), 1);

        app.logs.is_wrapped = true;
        let screen = shown(&app, 60, 12);
        assert!(screen.contains("phone_last4=6318"), "{screen}");
        assert!(screen.contains("· wrap"), "{screen}");
        // Continuation rows are indented under the message.
        let row = screen
            .lines()
            .find(|r| r.contains("waiting for provider"))
            .unwrap_or_default();
        assert!(row.starts_with("                  "), "{screen}");
        // Every row fits.
        assert!(screen.lines().all(|r| r.chars().count() <= 60));
    }

    #[test]
    fn five_thousand_events_render_from_the_end() {
        let mut app = app("healthy");
        for batch in 0..50 {
            let lines = (0..100)
                .map(|i| {
                    let n = batch * 100 + i;
                    line(n, 5_000 - n as i64, &format!("[OTP] event number {n}"))
                })
                .collect();
            push_lines(&mut app, lines);
        }
        assert_eq!(app.evidence.events.len(), 5_000);
        let screen = shown(&app, 100, 12);
        assert!(screen.contains("5000 lines"), "{screen}");
        assert!(screen.ends_with("[OTP] event number 4999"), "{screen}");

        app.logs.filter = "number 12".to_owned();
        let screen = shown(&app, 100, 12);
        // 12, 120-129, 1200-1299: 111 matches; the newest is 1299.
        assert!(screen.contains("111 of 5000 lines"), "{screen}");
        assert!(screen.ends_with("[OTP] event number 1299"), "{screen}");

        app.logs.is_following = false;
        app.logs.scroll = 4_000;
        app.logs.filter.clear();
        app.logs.is_wrapped = true;
        let screen = shown(&app, 100, 12);
        assert!(screen.ends_with("[OTP] event number 999"), "{screen}");
    }

    #[test]
    fn runbook_lines_are_coloured_by_kind() {
        let app = app("missing-env-vars");
        let buf = pane(render, &app, 100, 12);
        let screen = text(&buf);
        let row_of = |needle: &str| {
            screen
                .lines()
                .position(|r| r.contains(needle))
                .unwrap_or_default() as u16
        };
        let message_x = 18;
        let red = buf[(message_x, row_of("not configured"))].clone();
        assert_eq!(red.fg, Color::Red);
        assert!(red.modifier.contains(Modifier::BOLD));
        let access = buf[(message_x, row_of("chargers/nearby"))].clone();
        assert_eq!(access.fg, Color::DarkGray);
        // The task id by its revision: this one runs the deployed revision.
        let task = buf[(9, row_of("chargers/nearby"))].clone();
        assert_eq!(task.fg, Color::Cyan);

        let healthy = crate::ui::fixtures::app("healthy");
        let buf = pane(render, &healthy, 100, 12);
        let screen = text(&buf);
        let y = screen
            .lines()
            .position(|r| r.contains("OTP sent successfully"))
            .unwrap_or_default() as u16;
        assert_eq!(buf[(message_x, y)].fg, Color::Green);
    }

    /// One line per class of hostile character, sanitised as the logs probe stores it, drawn
    /// at 60 columns: each class's snapshot shows what reaches the terminal, and every row is
    /// exactly as wide as the pane.
    #[test]
    fn hostile_characters_one_snapshot_per_class() {
        let classes = [
            ("separators", "[OTP] a\u{2028}b\u{2029}c"),
            ("soft_hyphen", "[OTP] soft\u{ad}hy\u{ad}phen"),
            (
                "hangul_jamo",
                "[OTP] \u{1100}\u{1161}\u{11a8} lone \u{1161}",
            ),
            (
                "emoji_variation",
                "[OTP] \u{2764}\u{fe0f} \u{1f44d}\u{1f3fd} ok",
            ),
            (
                "regional_indicators",
                "[OTP] \u{1f1fa}\u{1f1f8}\u{1f1ef}\u{1f1f5}",
            ),
            ("bidi", "[OTP] \u{202e}desrever\u{202c} \u{2067}iso\u{2069}"),
            ("zero_width", "[OTP] zero\u{200b}width\u{200d}\u{feff}"),
            ("wide", "[OTP] 日本語のログ行"),
            ("combining", "[OTP] \u{301}z\u{301}\u{302}\u{303}\u{304}"),
            ("escapes", "[OTP] \u{1b}[2Jx\u{1b}]0;t\u{7}y\u{7}"),
        ];
        for (class, raw) in classes {
            let mut app = app("healthy");
            app.evidence.events.clear();
            let clean = crate::redact::sanitize(raw);
            push_lines(
                &mut app,
                vec![line(0, 1, &clean), line(1, 0, &clean.repeat(4))],
            );
            app.logs.is_wrapped = true;
            let buf = pane(render, &app, 60, 6);
            // Nothing a terminal would measure differently is left in any cell.
            for cell in buf.content() {
                assert!(
                    cell.symbol().chars().all(|c| c == '…'
                        || !c.is_control() && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{ad}' | '\u{fe0f}' | '\u{2028}' | '\u{2029}')),
                    "{class}: {:?}",
                    cell.symbol()
                );
            }
            insta::assert_snapshot!(format!("logs_hostile_{class}"), text(&buf));
        }
    }

    /// During a rollout the task id says which revision wrote the line: the deployed
    /// revision's tasks in the accent colour, the previous revision's in the warning colour.
    #[test]
    fn each_line_is_coloured_by_its_tasks_revision() {
        let mut app = app("healthy");
        app.evidence.events.clear();
        let mut old = line(0, 2, "[OTP] from the old task");
        old.stream = "ecs/nerava-backend/c82202248a90cde27dc4cf728661158b".into();
        let new = line(1, 1, "[OTP] from the new task");
        let mut unknown = line(2, 0, "[OTP] from a task ECS did not list");
        unknown.stream = "ecs/nerava-backend/0000aaaa".into();
        push_lines(&mut app, vec![old, new, unknown]);
        let buf = pane(render, &app, 100, 5);
        let screen = text(&buf);
        let colour_of = |task: &str| {
            let (y, row) = screen
                .lines()
                .enumerate()
                .find(|(_, r)| r.contains(task))
                .expect("the line");
            let x = row.find(task).expect("x");
            buf[(row[..x].chars().count() as u16, y as u16)].fg
        };
        assert_eq!(colour_of("c8220224"), crate::ui::theme::WARN);
        assert_eq!(colour_of("9ff1d2f5"), crate::ui::theme::ACCENT);
        assert_eq!(colour_of("0000aaaa"), crate::ui::theme::DIM);
    }

    #[test]
    fn empty_states() {
        let mut app = app("healthy");
        app.evidence.events.clear();
        assert!(shown(&app, 60, 4).contains("no lines matching OTP in the last 30 min (following)"));
        app.evidence.has_logs = false;
        assert!(shown(&app, 60, 4).contains("waiting for CloudWatch Logs"));
    }

    #[test]
    fn never_panics_at_any_size() {
        let mut app = app("missing-env-vars");
        for is_wrapped in [false, true] {
            app.logs.is_wrapped = is_wrapped;
            for width in 0..=70 {
                for height in 0..=14 {
                    let _ = shown(&app, width, height);
                }
            }
        }
    }
}
