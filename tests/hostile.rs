//! Hostile text from the outside on every output path: a Twilio that echoes the request's
//! `Authorization` header (base64 of `ACCOUNT_SID:AUTH_TOKEN`) in its error body must leave
//! no trace of the credentials on the screen, in `check`'s table and JSON, or in either report
//! file. The real probes and the real simulator's ECS (whose task definition holds the
//! credentials); only Twilio is replaced by an echoing server on loopback.

#[path = "contract_support/simulator.rs"]
mod support;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use base64::Engine as _;
use otp_console::app::App;
use otp_console::check;
use otp_console::diagnosis::Names;
use otp_console::event::Event;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const SID: &str = "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8";
const TOKEN: &str = "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c";

/// A Twilio that answers 401 with the request's Authorization header in its message, the
/// header split by a zero-width space and in upper case too.
async fn echo(headers: HeaderMap) -> impl IntoResponse {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = serde_json::json!({
        "code": 20003,
        "message": format!("Authenticate: you sent {auth} ({}) [{}]", auth.to_uppercase(), auth.replacen('c', "c\u{200b}", 3)),
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    });
    (StatusCode::UNAUTHORIZED, axum::Json(body))
}

/// Every trace of the credentials that must not appear.
fn traces() -> Vec<String> {
    let pair = format!("{SID}:{TOKEN}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pair);
    vec![
        TOKEN.to_owned(),
        TOKEN.to_uppercase(),
        SID.to_owned(),
        b64.clone(),
        b64.to_uppercase(),
        b64[..20].to_owned(),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for trace in traces() {
        assert!(!text.contains(&trace), "{what} holds {trace}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoed_authorization_header_reaches_no_output_path() {
    let (_sim, mut config) = support::simulator("healthy").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().fallback(echo)).await;
    });
    config.twilio.api_url.clone_from(&url);
    config.twilio.verify_url.clone_from(&url);

    let report = check::check(&config, "echo", &support::check_options())
        .await
        .expect("runs");
    // The echo was seen: Twilio refused the credentials.
    let json = check::report_json(&report).to_string();
    assert!(json.contains("20003"), "{json}");
    assert_clean("check --json", &json);
    assert_clean("check's table", &check::render_table(&report));

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("incident");
    let mut timeline = otp_console::report::Timeline::new();
    timeline.record_check(&report, &Names::from_config(&config));
    let header = otp_console::report::ReportHeader::for_check(&report);
    otp_console::report::write(&path, &timeline, &header).expect("writes");
    for file in ["incident.md", "incident.json"] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect("reads");
        assert_clean(file, &text);
    }

    // The console, fed the same observations, at two sizes and with the Twilio pane zoomed.
    let mut app = App::new(Names::from_config(&config), Vec::new(), 0);
    for (at, observation) in &report.observations {
        app.update(Event::Tick(*at));
        app.update(Event::Observed(observation.clone()));
    }
    for (width, height, zoom) in [(160, 48, false), (80, 24, false), (100, 30, true)] {
        app.focus = otp_console::app::Pane::Twilio;
        app.is_zoomed = zoom;
        let area = Rect::new(0, 0, width, height);
        let mut buf = Buffer::empty(area);
        otp_console::ui::render_to(&app, area, &mut buf);
        let screen: String = (0..height)
            .map(|y| (0..width).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
            .collect();
        assert_clean(&format!("the screen at {width}x{height}"), &screen);
    }
}
