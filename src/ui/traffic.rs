//! The latency pane's "real traffic" section: what users got over the last hour, from the
//! backend's and the load balancer's own records, apart from the console's own timed probes
//! above it (its few requests are in those records too, as any client's are). One row per busy endpoint from the backend's access
//! lines (requests per minute as a sparkline, red where a minute had 5xx; requests, errors by
//! status, p99 when the lines carry durations), then the load balancer's own row (504s per
//! minute; requests, ELB 504s, target p99, healthy hosts) and the reason of any target that is
//! not healthy.
//!
//! ```text
//! real traffic · last 60 min (access lines, load balancer)
//! OTP start  ▂▂▃▂▂▂▂▃▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▃▂▂▂▃▂▂  173 req · 68×504
//! health     ▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂  144 req · 0 errors
//! load bal.                         ▆▆▇▆▆▆▇  169 req · 68×ELB 504 · p99 0.3 s · 1/1 healthy
//! ```

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme;
use crate::app::App;
use crate::diagnosis::fmt_ms;
use crate::probe::metrics::{LoadBalancer, Minute};
use crate::probe::traffic::{EndpointTraffic, MinuteCount, RealTraffic};

/// Sparkline bars, lowest to highest.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// As the latency rows: "OTP verify" is the longest label.
const LABEL_W: usize = 10;
/// Endpoint rows at most.
const MAX_ROWS: usize = 4;

/// The section's lines with their priority in the pane (lower is kept first when rows are
/// scarce); nothing before the first read.
pub fn lines(app: &App, width: usize) -> Vec<(u8, Line<'static>)> {
    let Some(traffic) = app.evidence.traffic.as_deref() else {
        return Vec::new();
    };
    section(traffic, width)
}

/// The section for one read of real traffic.
pub fn section(traffic: &RealTraffic, width: usize) -> Vec<(u8, Line<'static>)> {
    let dim = Style::new().fg(theme::DIM);
    let mut out = vec![(
        3,
        Line::from(Span::styled(
            clip(
                &format!(
                    "real traffic · last {} min (access lines, load balancer)",
                    traffic.minutes()
                ),
                width,
            ),
            dim.add_modifier(Modifier::BOLD),
        )),
    )];
    let mut rows: Vec<(u8, Parts)> = Vec::new();
    match &traffic.access {
        Ok(access) if access.endpoints.is_empty() => out.push((
            3,
            Line::from(Span::styled(
                clip(
                    &format!("no access lines matching {}", access.filter),
                    width,
                ),
                dim,
            )),
        )),
        Ok(access) => {
            // OTP start and health first: the runbook's pair.
            let mut endpoints: Vec<&EndpointTraffic> = access.endpoints.iter().collect();
            endpoints.sort_by_key(|e| match e.path.as_str() {
                "/v1/auth/otp/start" => 0,
                "/health" => 1,
                _ => 2,
            });
            for (i, endpoint) in endpoints.into_iter().take(MAX_ROWS).enumerate() {
                let priority = if i == 0 { 3 } else { 7 + i as u8 };
                rows.push((priority, endpoint_row(endpoint)));
            }
        }
        Err(e) => out.push((3, failure("access lines", &e.message, width))),
    }
    let lb = match &traffic.load_balancer {
        Some(Ok(lb)) => Some(lb_row(lb)),
        _ => None,
    };
    let all: Vec<&Parts> = rows.iter().map(|(_, p)| p).chain(lb.as_ref()).collect();
    let room = room(&all, width);
    out.extend(
        rows.into_iter()
            .map(|(priority, parts)| (priority, row(parts, room))),
    );
    match &traffic.load_balancer {
        Some(Ok(lb_read)) => {
            if let Some(parts) = lb {
                out.push((7, row(parts, room)));
            }
            let lb = lb_read;
            if let Ok(targets) = &lb.targets {
                for t in targets.iter().filter(|t| t.state != "healthy").take(2) {
                    let reason = t.reason.as_deref().unwrap_or("");
                    out.push((
                        8,
                        Line::from(Span::styled(
                            clip(&format!("  target {} {} {reason}", t.id, t.state), width),
                            Style::new().fg(theme::WARN),
                        )),
                    ));
                }
            }
        }
        Some(Err(e)) => out.push((8, failure("load balancer", &e.message, width))),
        None => {}
    }
    out
}

fn failure(what: &str, message: &str, width: usize) -> Line<'static> {
    Line::from(Span::styled(
        clip(&format!("{what}: {message}"), width),
        Style::new().fg(theme::WARN),
    ))
}

/// The endpoint's label: the runbook's names for its pair, else the path.
fn label(endpoint: &EndpointTraffic) -> String {
    match endpoint.path.as_str() {
        "/v1/auth/otp/start" => "OTP start".into(),
        "/v1/auth/otp/verify" => "OTP verify".into(),
        "/health" => "health".into(),
        path => clip(path, LABEL_W),
    }
}

/// A row before it is fitted: its label, per-minute series (value, failed) and tail.
type Parts = (String, Vec<(f64, bool)>, Vec<Span<'static>>);

fn endpoint_row(endpoint: &EndpointTraffic) -> Parts {
    let mut tail = vec![Span::raw(format!("{} req", endpoint.requests))];
    let mut errors: Vec<(u16, u64)> = endpoint
        .by_status
        .iter()
        .filter(|(s, _)| **s >= 400)
        .map(|(s, n)| (*s, *n))
        .collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if errors.is_empty() {
        tail.push(Span::styled(" · 0 errors", Style::new().fg(theme::PASS)));
    }
    for (status, n) in errors.iter().take(3) {
        let colour = if *status >= 500 {
            theme::FAIL
        } else {
            theme::WARN
        };
        tail.push(Span::styled(
            format!(" · {n}×{status}"),
            Style::new().fg(colour).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(p99) = endpoint.p99_ms {
        tail.push(Span::raw(format!(" · p99 {}", fmt_ms(p99))));
    }
    let series: Vec<(f64, bool)> = endpoint
        .per_minute
        .iter()
        .map(|m: &MinuteCount| (m.requests as f64, m.errors_5xx > 0))
        .collect();
    (label(endpoint), series, tail)
}

fn lb_row(lb: &LoadBalancer) -> Parts {
    let mut tail = vec![Span::raw(format!("{} req", lb.requests))];
    if lb.elb_504 > 0 {
        tail.push(Span::styled(
            format!(" · {}×ELB 504", lb.elb_504),
            Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
        ));
    }
    let other = lb.elb_5xx.saturating_sub(lb.elb_504);
    if other > 0 {
        tail.push(Span::styled(
            format!(" · {other}×ELB 5xx"),
            Style::new().fg(theme::FAIL).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(p99) = lb.p99_ms {
        tail.push(Span::raw(format!(" · p99 {}", fmt_ms(p99))));
    }
    if let (Some(healthy), Some(unhealthy)) = (lb.healthy, lb.unhealthy) {
        let colour = if healthy == 0 {
            theme::FAIL
        } else {
            theme::PASS
        };
        tail.push(Span::styled(
            format!(" · {healthy}/{} healthy", healthy + unhealthy),
            Style::new().fg(colour),
        ));
    }
    // The load balancer's row draws its own failures: 504s and other 5xx per minute.
    let series: Vec<(f64, bool)> = lb
        .minutes
        .iter()
        .map(|m: &Minute| {
            let failed = m.elb_5xx.unwrap_or(0.0);
            (failed, failed > 0.0)
        })
        .collect();
    ("load bal.".into(), series, tail)
}

/// The room every row's sparkline gets: what the widest tail leaves, at most the window.
fn room(rows: &[&Parts], width: usize) -> usize {
    let tail_w = rows
        .iter()
        .map(|(_, _, tail)| tail.iter().map(Span::width).sum::<usize>())
        .max()
        .unwrap_or(0);
    width.saturating_sub(LABEL_W + 1 + 2 + tail_w)
}

/// `label ␣ sparkline ␣ tail`, the sparklines of every row the same width so their minutes
/// line up: newest minutes on the right, scaled to the row's busiest minute shown; red bars
/// had failures.
fn row((label, series, tail): Parts, room: usize) -> Line<'static> {
    let shown = room.min(series.len());
    let mut spans = vec![Span::raw(format!("{label:<LABEL_W$} "))];
    if shown >= 4 {
        let window = &series[series.len() - shown..];
        let top = window.iter().map(|(v, _)| *v).fold(0.0, f64::max);
        spans.push(Span::raw(" ".repeat(room - shown)));
        let first_bar = spans.len();
        for (value, failed) in window {
            let (bar, style) = if *value <= 0.0 {
                (' ', Style::new())
            } else {
                let level = ((value / top) * (BARS.len() - 1) as f64).round() as usize;
                let colour = if *failed { theme::FAIL } else { theme::PASS };
                (BARS[level.min(BARS.len() - 1)], Style::new().fg(colour))
            };
            let joins = spans.len() > first_bar;
            match spans.last_mut() {
                Some(last) if joins && last.style == style => {
                    last.content.to_mut().push(bar);
                }
                _ => spans.push(Span::styled(bar.to_string(), style)),
            }
        }
        spans.push(Span::raw("  "));
    }
    spans.extend(tail);
    Line::from(spans)
}

/// `text` cut to `width` characters, with `…` when cut.
pub(super) fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Color;

    use super::*;
    use crate::event::Event;
    use crate::probe::metrics::Target;
    use crate::probe::traffic::{summarize, MINUTES, MINUTE_MS, WINDOW_MS};
    use crate::probe::Observation;
    use crate::ui::fixtures::{app, pane, text, NOW};

    /// The demo's incident as the users saw it: OTP start fine until today's deployment 25
    /// minutes ago, then every one 504; health checks fine all along.
    pub fn incident() -> RealTraffic {
        let from = NOW - WINDOW_MS;
        let mut lines: Vec<(i64, String)> = Vec::new();
        for minute in 0..MINUTES as i64 {
            let at = from + minute * MINUTE_MS;
            let status = if minute >= 35 { 504 } else { 200 };
            for k in 0..(2 + minute % 3) {
                lines.push((
                    at + k * 15_000,
                    format!("INFO:     10.0.1.{k}:4000 - \"POST /v1/auth/otp/start HTTP/1.1\" {status} X"),
                ));
            }
            for k in 0..2 {
                lines.push((
                    at + k * 30_000,
                    "INFO:     10.0.2.9:4000 - \"GET /health HTTP/1.1\" 200 OK".to_owned(),
                ));
            }
        }
        let access = summarize(lines.iter().map(|(t, m)| (*t, m.as_str())), from, NOW);
        let minutes: Vec<Minute> = (0..MINUTES)
            .map(|m| Minute {
                requests: Some(3.0),
                elb_504: Some(if m >= 35 { 3.0 } else { 0.0 }),
                elb_5xx: Some(if m >= 35 { 3.0 } else { 0.0 }),
                target_5xx: Some(0.0),
                p50_s: (m < 35).then_some(0.3),
                p99_s: (m < 35).then_some(0.4),
                healthy: Some(1.0),
                unhealthy: Some(0.0),
            })
            .collect();
        let targets = vec![Target {
            id: "10.0.2.80".into(),
            port: Some(8000),
            state: "healthy".into(),
            reason: None,
            description: None,
        }];
        RealTraffic {
            from_ms: from,
            to_ms: NOW,
            access: Ok(access),
            load_balancer: Some(Ok(LoadBalancer::from_minutes(
                "nerava-backend-alb".into(),
                "nerava-backend-tg".into(),
                minutes,
                Ok(targets),
            ))),
        }
    }

    fn with_traffic(scenario: &str) -> App {
        let mut app = app(scenario);
        app.update(Event::Observed(Observation::Traffic {
            at_ms: NOW,
            traffic: Box::new(incident()),
        }));
        app
    }

    #[test]
    fn latency_pane_with_real_traffic() {
        let app = with_traffic("event-loop-blocking");
        let buf = pane(crate::ui::latency::render, &app, 100, 16);
        insta::assert_snapshot!("latency_real_traffic_100x16", text(&buf));
        // The OTP start's 504s are red, the health row's bars green.
        let row = (0..16)
            .find(|y| {
                (0..10).map(|x| buf[(x, *y)].symbol()).collect::<String>() == "OTP start " && *y > 5
            })
            .expect("the real OTP start row");
        let last_bar = buf[(60, row)].fg;
        assert_eq!(last_bar, Color::Red, "{}", text(&buf));
    }

    #[test]
    fn whole_screen_with_real_traffic_zoomed_on_latency() {
        let mut app = with_traffic("event-loop-blocking");
        app.focus = crate::app::Pane::Latency;
        app.is_zoomed = true;
        insta::assert_snapshot!(
            "screen_latency_real_traffic_120x30",
            crate::ui::tests::screen(&app, 120, 30)
        );
    }

    #[test]
    fn narrow_panes_keep_the_otp_row_and_drop_the_sparkline() {
        let app = with_traffic("event-loop-blocking");
        for (width, height) in [(40, 8), (30, 12), (100, 4), (1, 1)] {
            let shown = text(&pane(crate::ui::latency::render, &app, width, height));
            assert!(shown.lines().count() <= usize::from(height));
        }
        let section = section(&incident(), 30);
        let otp = section
            .iter()
            .map(|(_, l)| l.to_string())
            .find(|l| l.starts_with("OTP start"))
            .expect("row");
        assert!(otp.contains("req"), "{otp}");
        assert!(!otp.contains('▂'), "no room for a sparkline: {otp}");
        let _ = Buffer::empty(Rect::new(0, 0, 1, 1));
    }

    #[test]
    fn nothing_before_the_first_read() {
        assert!(lines(&app("healthy"), 100).is_empty());
    }
}
