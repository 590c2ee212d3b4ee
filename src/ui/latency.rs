//! The latency pane: one row per endpoint (health, dev login, OTP start, OTP verify) with its
//! recent samples as bars on a log scale, p50 / p95 / max, the last status and the count of
//! errors and timeouts, and any request still in flight. Below, in red, the runbook's tell of a
//! blocked event loop: `/health` stalling while an OTP start is in flight.
//!
//! ```text
//!            samples (newest →)           p50    p95    max  last
//! health     ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁█     13 ms  18 ms   60 s  504 · 1 timeout
//! OTP start                       ▄   640 ms 640 ms 640 ms  ⠙ in flight 12 s · last 200
//! ⚠ health stalled 60 s while OTP start was in flight (normally 13 ms)
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{spinner, theme};
use crate::app::App;
use crate::diagnosis::{fmt_ms, STALL_MS};
use crate::probe::http::{Class, Endpoint, Sample};

/// Bars from the fastest to the slowest sample.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The log scale's ends: 10 ms and below is the lowest bar, 60 s and above the highest.
const SCALE_MIN_MS: f64 = 10.0;
const SCALE_MAX_MS: f64 = 60_000.0;
/// "OTP verify" is the longest label.
const LABEL_W: usize = 10;
/// `p50 p95 max` as three right-aligned columns of 6 (`999 ms`, `9.9 s`, `120 s`).
const STAT_W: usize = 6;
/// Narrower than this, the series is left out.
const MIN_SERIES: usize = 4;

/// The median, the 95th percentile and the maximum of a set of latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: u64,
    pub p95: u64,
    pub max: u64,
}

/// Nearest-rank percentiles (the smallest value with at least p % of the samples at or below
/// it); `None` without samples.
pub fn percentiles(latencies: impl IntoIterator<Item = u64>) -> Option<Percentiles> {
    let mut sorted: Vec<u64> = latencies.into_iter().collect();
    sorted.sort_unstable();
    let rank = |p: usize| sorted[(sorted.len() * p).div_ceil(100).max(1) - 1];
    let max = *sorted.last()?;
    Some(Percentiles {
        p50: rank(50),
        p95: rank(95),
        max,
    })
}

/// Draws the latency pane into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let width = usize::from(area.width);
    let rows: Vec<Row> = Endpoint::ALL.iter().map(|e| Row::new(app, *e)).collect();
    let tail_w = rows.iter().map(|r| r.tail.width()).max().unwrap_or(0);
    let columns = Columns::fit(width, tail_w);
    let notes = stall_notes(app, width);

    // Lines by priority: the health row and the stall come first when rows are scarce.
    let mut lines: Vec<(u8, Line)> = Vec::new();
    lines.push((6, columns.header()));
    for (row, priority) in rows.iter().zip([0, 4, 2, 5]) {
        lines.push((priority, row.line(&columns)));
    }
    for note in notes {
        lines.push((1, note));
    }
    // What users got, apart from the console's own probes above.
    lines.extend(super::traffic::lines(app, width));
    let height = usize::from(area.height);
    let mut kept: Vec<usize> = (0..lines.len()).collect();
    kept.sort_by_key(|i| lines[*i].0);
    kept.truncate(height);
    kept.sort_unstable();
    for (y, i) in kept.into_iter().enumerate() {
        let row = Rect {
            y: area.y + y as u16,
            height: 1,
            ..area
        };
        (&lines[i].1).render(row, buf);
    }
}

/// How wide each part of a row is at this pane width.
struct Columns {
    series: usize,
    /// p50 and max next to p95, or p95 alone when narrow.
    is_full_stats: bool,
}

impl Columns {
    /// `label ␣ series ␣ p50 p95 max ␣␣ tail`; the series takes what is left, and when that is
    /// too little, p50 and max make way, then the series.
    fn fit(width: usize, tail_w: usize) -> Self {
        let fixed = |stats: usize| LABEL_W + 1 + 1 + stats + 2 + tail_w;
        let full = fixed(3 * STAT_W + 2);
        if width >= full + MIN_SERIES * 2 {
            return Self {
                series: width - full,
                is_full_stats: true,
            };
        }
        let narrow = fixed(STAT_W);
        Self {
            series: width.saturating_sub(narrow),
            is_full_stats: false,
        }
        .without_tiny_series()
    }

    fn without_tiny_series(self) -> Self {
        if self.series < MIN_SERIES {
            Self { series: 0, ..self }
        } else {
            self
        }
    }

    fn stats(&self, p: Option<Percentiles>) -> String {
        let cell = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), fmt_ms);
        if self.is_full_stats {
            format!(
                "{:>w$} {:>w$} {:>w$}",
                cell(p.map(|p| p.p50)),
                cell(p.map(|p| p.p95)),
                cell(p.map(|p| p.max)),
                w = STAT_W
            )
        } else {
            format!("{:>w$}", cell(p.map(|p| p.p95)), w = STAT_W)
        }
    }

    fn header(&self) -> Line<'static> {
        let series = if self.series >= 18 {
            format!(" {:<w$}", "samples (newest →)", w = self.series)
        } else {
            format!(" {:<w$}", "", w = self.series)
        };
        let stats = if self.is_full_stats {
            format!("{:>w$} {:>w$} {:>w$}", "p50", "p95", "max", w = STAT_W)
        } else {
            format!("{:>w$}", "p95", w = STAT_W)
        };
        let gap = if self.series > 0 { " " } else { "" };
        Line::from(Span::styled(
            format!("{:<LABEL_W$}{series}{gap}{stats}  last", ""),
            Style::new().fg(theme::DIM),
        ))
    }
}

/// One endpoint's row, before it is fitted to the width.
struct Row<'a> {
    endpoint: Endpoint,
    /// This endpoint's samples, oldest first.
    samples: Vec<&'a Sample>,
    percentiles: Option<Percentiles>,
    tail: Line<'static>,
}

impl<'a> Row<'a> {
    fn new(app: &'a App, endpoint: Endpoint) -> Self {
        let samples: Vec<&Sample> = app
            .evidence
            .samples
            .iter()
            .filter(|s| s.endpoint == endpoint)
            .collect();
        let percentiles = percentiles(samples.iter().map(|s| s.latency_ms));
        let tail = tail(app, endpoint, &samples);
        Self {
            endpoint,
            samples,
            percentiles,
            tail,
        }
    }

    fn line(&self, columns: &Columns) -> Line<'a> {
        let mut spans = vec![Span::raw(format!("{:<LABEL_W$} ", self.endpoint.label()))];
        if columns.series > 0 {
            let shown = self.samples.len().min(columns.series);
            spans.push(Span::raw(" ".repeat(columns.series - shown)));
            // Runs of one colour share a span: a wide pane has hundreds of bars.
            let mut bars: Vec<Span> = Vec::new();
            for (text, style) in self.samples[self.samples.len() - shown..]
                .iter()
                .map(|s| bar(s))
            {
                match bars.last_mut() {
                    Some(last) if last.style == style => last.content.to_mut().push(text),
                    _ => bars.push(Span::styled(text.to_string(), style)),
                }
            }
            spans.extend(bars);
            spans.push(Span::raw(" "));
        }
        let stall = self.samples.iter().any(|s| is_stall(s));
        spans.push(Span::styled(
            columns.stats(self.percentiles),
            if stall {
                Style::new().fg(theme::FAIL)
            } else {
                Style::new()
            },
        ));
        spans.push(Span::raw("  "));
        spans.extend(self.tail.spans.iter().cloned());
        Line::from(spans)
    }
}

/// The sample's bar: its height on the log scale, green when fine, yellow when slow, red for
/// a timeout or a stalled health probe; other failures are a red `✗`.
fn bar(sample: &Sample) -> (char, Style) {
    let is_timeout = matches!(sample.class, Class::Timeout | Class::GatewayTimeout);
    if !sample.class.is_ok() && !is_timeout {
        return (
            '✗',
            Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
        );
    }
    let colour = if is_timeout || is_stall(sample) {
        theme::FAIL
    } else if sample.latency_ms >= STALL_MS {
        theme::WARN
    } else {
        theme::PASS
    };
    (BARS[level(sample.latency_ms)], Style::new().fg(colour))
}

/// The bar index of a latency on the log scale from [`SCALE_MIN_MS`] to [`SCALE_MAX_MS`].
fn level(latency_ms: u64) -> usize {
    let x = (latency_ms.max(1) as f64).log10();
    let (lo, hi) = (SCALE_MIN_MS.log10(), SCALE_MAX_MS.log10());
    let top = (BARS.len() - 1) as f64;
    (((x - lo) / (hi - lo)) * top).round().clamp(0.0, top) as usize
}

/// A health probe that was slow (or cut off by the load balancer) while an OTP start was in
/// flight: the diagnosis' definition of a stall.
fn is_stall(sample: &Sample) -> bool {
    sample.endpoint == Endpoint::Health
        && sample.during_otp
        && (sample.latency_ms >= STALL_MS || sample.class == Class::GatewayTimeout)
}

/// After the stats: `⠋ in flight 12.3 s`, then the last status, then errors and timeouts.
fn tail(app: &App, endpoint: Endpoint, samples: &[&Sample]) -> Line<'static> {
    let mut spans = Vec::new();
    let in_flight = app
        .evidence
        .outstanding
        .values()
        .filter(|(e, _)| *e == endpoint)
        .count();
    if let Some(age) = app.evidence.outstanding_age(endpoint, app.now_ms) {
        let colour = if age >= STALL_MS {
            theme::FAIL
        } else {
            theme::WARN
        };
        let count = if in_flight > 1 {
            format!(" ×{in_flight}")
        } else {
            String::new()
        };
        spans.push(Span::styled(
            format!("{} in flight {}{count}", spinner(app.frame), fmt_ms(age)),
            Style::new().fg(colour).add_modifier(Modifier::BOLD),
        ));
    }
    let Some(last) = samples.last() else {
        if spans.is_empty() {
            spans.push(Span::styled("no requests yet", Style::new().fg(theme::DIM)));
        }
        return Line::from(spans);
    };
    if !spans.is_empty() {
        spans.push(Span::styled(" · last ", Style::new().fg(theme::DIM)));
    }
    let colour = match last.class {
        Class::Ok => theme::PASS,
        Class::ClientError | Class::RateLimited => theme::WARN,
        _ => theme::FAIL,
    };
    spans.push(Span::styled(
        status_text(last),
        Style::new().fg(colour).add_modifier(Modifier::BOLD),
    ));
    let timeouts = samples
        .iter()
        .filter(|s| matches!(s.class, Class::Timeout | Class::GatewayTimeout))
        .count();
    let errors = samples.iter().filter(|s| !s.class.is_ok()).count() - timeouts;
    for (n, one, many) in [
        (timeouts, "timeout", "timeouts"),
        (errors, "error", "errors"),
    ] {
        if n > 0 {
            spans.push(Span::styled(
                format!(" · {n} {}", if n == 1 { one } else { many }),
                Style::new().fg(theme::FAIL),
            ));
        }
    }
    Line::from(spans)
}

/// The status code, or what broke the request when there was none.
fn status_text(sample: &Sample) -> String {
    if let Some(status) = sample.status {
        return status.to_string();
    }
    match sample.class {
        Class::Timeout | Class::GatewayTimeout => "timeout",
        Class::Refused => "refused",
        Class::Dns => "dns",
        Class::Tls => "tls",
        _ => "error",
    }
    .to_owned()
}

/// The stall, in words: a health probe that stalled while an OTP start was in flight (the
/// worst one), and one stalling right now.
fn stall_notes(app: &App, width: usize) -> Vec<Line<'static>> {
    let style = Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD);
    let samples = &app.evidence.samples;
    let normal = percentiles(
        samples
            .iter()
            .filter(|s| s.endpoint == Endpoint::Health && !s.during_otp && s.class.is_ok())
            .map(|s| s.latency_ms),
    )
    .map(|p| format!(" (normally {})", fmt_ms(p.p50)))
    .unwrap_or_default();
    let mut notes = Vec::new();
    let stalled_now = app
        .evidence
        .outstanding_age(Endpoint::OtpStart, app.now_ms)
        .and(app.evidence.outstanding_age(Endpoint::Health, app.now_ms))
        .filter(|age| *age >= STALL_MS);
    // The long form when it fits, else a short one: the stall must stay readable.
    let mut note = |long: String, short: String| {
        let text = if long.chars().count() <= width {
            long
        } else {
            short
        };
        notes.push(Line::from(Span::styled(text, style)));
    };
    if let Some(age) = stalled_now {
        let age = fmt_ms(age);
        note(
            format!("⚠ health waiting {age} while OTP start is in flight{normal}"),
            format!("⚠ health waiting {age} during OTP start"),
        );
    }
    if let Some(worst) = samples
        .iter()
        .filter(|s| is_stall(s))
        .max_by_key(|s| s.latency_ms)
    {
        let latency = fmt_ms(worst.latency_ms);
        note(
            format!("⚠ health stalled {latency} while OTP start was in flight{normal}"),
            format!("⚠ health stalled {latency} during OTP start"),
        );
    }
    notes
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use super::{level, percentiles, render, Percentiles};
    use crate::app::App;
    use crate::event::Event;
    use crate::probe::http::{Class, Endpoint, Sample};
    use crate::probe::Observation;
    use crate::ui::fixtures::{app, pane, text, NOW};

    fn shown(app: &App, width: u16, height: u16) -> String {
        text(&pane(render, app, width, height))
    }

    fn sample(endpoint: Endpoint, id: u64, latency_ms: u64, class: Class) -> Sample {
        Sample {
            endpoint,
            id,
            started_ms: NOW - 1_000,
            latency_ms,
            status: class.is_ok().then_some(200),
            class,
            summary: String::new(),
            during_otp: false,
            otp_started_ms: None,
            phone_last4: None,
        }
    }

    #[test]
    fn snapshots_of_the_three_scenarios() {
        for scenario in ["healthy", "event-loop-blocking", "missing-env-vars"] {
            let app = app(scenario);
            insta::assert_snapshot!(format!("latency_{scenario}_100x12"), shown(&app, 100, 12));
            insta::assert_snapshot!(format!("latency_{scenario}_40x8"), shown(&app, 40, 8));
        }
    }

    #[test]
    fn snapshot_in_flight_stall() {
        let mut app = app("healthy");
        app.update(Event::Observed(Observation::HttpStarted {
            endpoint: Endpoint::OtpStart,
            id: 900,
            started_ms: NOW - 12_300,
            phone_last4: None,
        }));
        app.update(Event::Observed(Observation::HttpStarted {
            endpoint: Endpoint::Health,
            id: 901,
            started_ms: NOW - 11_000,
            phone_last4: None,
        }));
        app.update(Event::Observed(Observation::HttpStarted {
            endpoint: Endpoint::Health,
            id: 902,
            started_ms: NOW - 10_000,
            phone_last4: None,
        }));
        let screen = shown(&app, 100, 8);
        assert!(screen.contains("in flight 12 s"), "{screen}");
        assert!(screen.contains("in flight 11 s ×2"), "{screen}");
        assert!(
            screen.contains("health waiting 11 s while OTP start is in flight"),
            "{screen}"
        );
        insta::assert_snapshot!(screen);
    }

    #[test]
    fn percentiles_of_a_hand_made_series() {
        assert_eq!(percentiles([]), None);
        assert_eq!(
            percentiles([7]),
            Some(Percentiles {
                p50: 7,
                p95: 7,
                max: 7
            })
        );
        // 1..=100 shuffled: nearest rank gives 50 and 95.
        let series: Vec<u64> = (1..=100).map(|i| (i * 37) % 100 + 1).collect();
        assert_eq!(
            percentiles(series),
            Some(Percentiles {
                p50: 50,
                p95: 95,
                max: 100
            })
        );
        // 19 fast probes and one stalled: the stall is the max, p95 is still fast.
        let mut series = vec![12; 19];
        series.push(60_000);
        assert_eq!(
            percentiles(series),
            Some(Percentiles {
                p50: 12,
                p95: 12,
                max: 60_000
            })
        );
        // 1 to 10: p50 is the 5th, p95 the 10th.
        assert_eq!(
            percentiles((1..=10).rev()),
            Some(Percentiles {
                p50: 5,
                p95: 10,
                max: 10
            })
        );
    }

    #[test]
    fn percentiles_are_shown_per_endpoint() {
        let mut app = app("healthy");
        app.evidence.samples.clear();
        for (i, ms) in [100, 200, 300, 400, 5_000].into_iter().enumerate() {
            app.evidence
                .samples
                .push_back(sample(Endpoint::DevLogin, i as u64, ms, Class::Ok));
        }
        let screen = shown(&app, 100, 6);
        let row = screen
            .lines()
            .find(|r| r.starts_with("dev login"))
            .unwrap_or_default();
        assert!(row.contains("300 ms  5.0 s  5.0 s  200"), "{screen}");
    }

    #[test]
    fn the_log_scale_spans_ten_ms_to_a_minute() {
        assert_eq!(level(0), 0);
        assert_eq!(level(10), 0);
        assert_eq!(level(60_000), 7);
        assert_eq!(level(600_000), 7);
        assert!(level(100) < level(1_000));
        assert!(level(1_000) < level(10_000));
    }

    #[test]
    fn failures_are_marked_in_the_series() {
        let mut app = app("healthy");
        app.evidence.samples.clear();
        app.evidence
            .samples
            .push_back(sample(Endpoint::DevLogin, 1, 10, Class::Ok));
        let mut refused = sample(Endpoint::DevLogin, 2, 3, Class::Refused);
        refused.status = None;
        app.evidence.samples.push_back(refused);
        let mut timeout = sample(Endpoint::DevLogin, 3, 30_000, Class::Timeout);
        timeout.status = None;
        app.evidence.samples.push_back(timeout);
        let buf = pane(render, &app, 100, 6);
        let screen = text(&buf);
        let y = screen
            .lines()
            .position(|r| r.starts_with("dev login"))
            .unwrap_or_default();
        let row = screen.lines().nth(y).unwrap_or_default();
        assert!(row.contains("▁✗▇"), "{screen}");
        assert!(row.contains("timeout · 1 timeout · 1 error"), "{screen}");
        let x = row.chars().position(|c| c == '✗').unwrap_or_default() as u16;
        assert_eq!(buf[(x, y as u16)].fg, Color::Red);
        assert_eq!(buf[(x + 1, y as u16)].fg, Color::Red);
        assert_eq!(buf[(x - 1, y as u16)].fg, Color::Green);
    }

    #[test]
    fn the_stalled_health_probe_is_red_and_explained() {
        let app = app("event-loop-blocking");
        let buf = pane(render, &app, 100, 12);
        let screen = text(&buf);
        assert!(
            screen.contains("health stalled 60 s while OTP start was in flight (normally 13 ms)"),
            "{screen}"
        );
        let y = screen
            .lines()
            .position(|r| r.starts_with("health"))
            .unwrap_or_default();
        let row = screen.lines().nth(y).unwrap_or_default();
        let x = row.chars().position(|c| c == '█').unwrap_or_default() as u16;
        assert!(x > 0, "{screen}");
        assert_eq!(buf[(x, y as u16)].fg, Color::Red);
        assert_eq!(buf[(x - 1, y as u16)].fg, Color::Green);

        // Without the stall, nothing red on the health row and no note.
        let healthy = crate::ui::fixtures::app("healthy");
        let buf = pane(render, &healthy, 100, 12);
        assert!(!text(&buf).contains("stalled"));
        assert!((0..100).all(|x| buf[(x, 1)].fg != Color::Red));
    }

    #[test]
    fn the_stall_survives_a_small_pane() {
        let app = app("event-loop-blocking");
        let screen = shown(&app, 60, 2);
        let rows: Vec<&str> = screen.lines().collect();
        assert!(rows[0].starts_with("health"), "{screen}");
        assert!(rows[1].contains("health stalled 60 s"), "{screen}");
    }

    #[test]
    fn never_panics_at_any_size() {
        let mut app = app("event-loop-blocking");
        app.update(Event::Observed(Observation::HttpStarted {
            endpoint: Endpoint::Health,
            id: 901,
            started_ms: NOW - 11_000,
            phone_last4: None,
        }));
        for width in 0..=120 {
            for height in 0..=10 {
                let _ = shown(&app, width, height);
            }
        }
    }
}
