//! The network section of the env pane (#13): the service's path to Twilio on TCP 443 as EC2
//! describes it, one line per hop — SG → NACL → route → NAT/IGW — each ✓ or ✗ with the rule
//! that decided it. A failing hop counts as a problem row of the env pane (kept when the pane is
//! short); zooming the env pane shows the whole path. Text comes sanitised from the probe.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{clip, theme};
use crate::app::App;
use crate::network::{HopKind, HopState};

/// The section's rows: each a line and whether it is a problem.
pub fn rows(app: &App, width: usize) -> Vec<(Line<'static>, bool)> {
    let title = |state: &str, color| {
        Line::from(vec![
            Span::styled(
                "network → Twilio tcp 443 ",
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                clip(state, width.saturating_sub(25)),
                Style::new().fg(color),
            ),
        ])
    };
    match &app.evidence.network {
        // Not read yet (or not asked for): no row, the table keeps its room.
        None => Vec::new(),
        Some(Err(e)) => vec![(
            Line::from(Span::styled(
                clip(&format!("network not read: {}", e.message), width),
                Style::new().fg(theme::WARN),
            )),
            true,
        )],
        Some(Ok(path)) => {
            let (state, color) = match path.state {
                HopState::Pass => ("✓ open", theme::PASS),
                HopState::Fail => ("✗ blocked", theme::FAIL),
                HopState::Unknown => ("? not decidable", theme::WARN),
            };
            let mut rows = vec![(title(state, color), path.state == HopState::Fail)];
            // bridge/host networking: the tasks send from their container instances, named
            // before the hops that are theirs.
            for instance in &path.service.instances {
                let text = format!(
                    "{} ({} networking) in {}, {}",
                    instance.id,
                    path.service.network_mode,
                    instance.subnet,
                    instance
                        .public_ip
                        .as_ref()
                        .map_or_else(|| "no public IP".to_owned(), |ip| format!("public IP {ip}"))
                );
                rows.push((
                    Line::from(vec![
                        Span::styled("  ", Style::new()),
                        Span::styled(format!(" {:<6}", "host"), Style::new().fg(theme::DIM)),
                        Span::styled(clip(&text, width.saturating_sub(9)), Style::new()),
                    ]),
                    false,
                ));
            }
            for hop in &path.hops {
                let (mark, color) = match hop.state {
                    HopState::Pass => ("✓", theme::PASS),
                    HopState::Fail => ("✗", theme::FAIL),
                    HopState::Unknown => ("?", theme::WARN),
                };
                let kind = match hop.kind {
                    HopKind::Gateway if hop.resource.starts_with("nat-") => "NAT",
                    HopKind::Gateway if hop.resource.starts_with("igw-") => "IGW",
                    other => other.label(),
                };
                let label = format!(" {kind:<6}");
                let room = width.saturating_sub(2 + label.chars().count());
                let detail_style = if hop.state == HopState::Pass {
                    Style::new()
                } else {
                    Style::new().fg(color)
                };
                rows.push((
                    Line::from(vec![
                        Span::styled(format!(" {mark}"), Style::new().fg(color)),
                        Span::styled(label, Style::new().fg(theme::DIM)),
                        Span::styled(clip(&hop.detail, room), detail_style),
                    ]),
                    hop.state != HopState::Pass,
                ));
            }
            rows
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    use crate::app::App;
    use crate::event::Event;
    use crate::layout::Pane;
    use crate::network::evaluate;
    use crate::probe::Observation;
    use crate::ui::fixtures::{app, NOW};
    use crate::ui::tests::screen;
    use crate::ui::{render_to, theme};

    /// The healthy fixture with the path of a built-in scenario's VPC, as the probe reports it.
    fn with_path(scenario: &str) -> App {
        let mut app = app("healthy");
        let scenario = crate::sim::scenario::load(scenario).expect("scenario");
        let network = scenario.network.to_config_for(scenario.network_mode());
        let path = evaluate(&network, &["0.0.0.0/0".to_owned()]);
        app.update(Event::Observed(Observation::Network {
            at_ms: NOW,
            result: Ok(Box::new(path)),
        }));
        app
    }

    #[test]
    fn the_env_pane_shows_the_path_one_hop_per_line_at_both_sizes() {
        for scenario in ["network-blocked", "nat-route-missing", "bridge-sg-blocked"] {
            let mut app = with_path(scenario);
            app.focus = Pane::Env;
            insta::assert_snapshot!(format!("network_{scenario}_80x24"), screen(&app, 80, 24));
            app.is_zoomed = true;
            insta::assert_snapshot!(
                format!("network_{scenario}_zoomed_160x48"),
                screen(&app, 160, 48)
            );
        }
    }

    #[test]
    fn a_blocked_hop_is_red_and_an_open_one_green() {
        let mut app = with_path("network-blocked");
        app.focus = Pane::Env;
        app.is_zoomed = true;
        let area = Rect::new(0, 0, 160, 48);
        let mut buf = Buffer::empty(area);
        render_to(&app, area, &mut buf);
        let row_of = |needle: &str| {
            (0..48)
                .find(|&y| {
                    let row: String = (0..160).map(|x| buf[(x, y)].symbol()).collect();
                    row.contains(needle)
                })
                .unwrap_or_else(|| panic!("{needle} not on screen"))
        };
        let mark_colour = |y: u16| {
            (0..160)
                .find(|&x| matches!(buf[(x, y)].symbol(), "✓" | "✗"))
                .map(|x| buf[(x, y)].fg)
        };
        assert_eq!(
            mark_colour(row_of("egress allows only tcp 5432")),
            Some(theme::FAIL)
        );
        assert_eq!(
            mark_colour(row_of("out tcp 443 by rule 100")),
            Some(theme::PASS)
        );
    }

    #[test]
    fn an_unreadable_network_says_so_in_one_line() {
        let mut app = app("healthy");
        app.update(Event::Observed(Observation::Network {
            at_ms: NOW,
            result: Err(crate::probe::ProbeError {
                system: crate::probe::System::Network,
                kind: crate::probe::ErrorKind::Credentials,
                code: Some("UnauthorizedOperation".into()),
                message: "AWS: UnauthorizedOperation — not allowed to call ec2:DescribeSecurityGroups — ask for that permission or use another profile".into(),
            }),
        }));
        app.focus = Pane::Env;
        app.is_zoomed = true;
        let text = screen(&app, 160, 48);
        assert_eq!(
            text.matches("network not read: AWS: UnauthorizedOperation")
                .count(),
            1,
            "{text}"
        );
        let line = app
            .diagnosis
            .checklist
            .iter()
            .find(|l| l.item == crate::diagnosis::Item::EgressHttps)
            .expect("the line");
        // It passes on the logs' evidence only (calls answered), and says the network was not read.
        assert_eq!(
            line.evidence,
            "the service's Twilio calls get answers (logs); the network configuration could not be read"
        );
        assert!(app
            .diagnosis
            .unknown
            .iter()
            .any(|u| u.starts_with("Network path: AWS: UnauthorizedOperation")));
    }
}
