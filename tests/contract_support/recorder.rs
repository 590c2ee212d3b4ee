//! A recording proxy for contract tests: every request is forwarded unchanged to an upstream
//! (the simulator or moto) and the exchange is kept, so a test can hand what the console's real
//! client sent, and what it got back, to an independent reference (botocore's service models).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// What a client sent and what it got back.
#[derive(Debug, Clone)]
#[allow(dead_code)] // each contract test reads the parts it checks
pub struct Exchange {
    /// The request's `X-Amz-Target` (empty for the Query and RPC v2 protocols).
    pub target: String,
    pub request: Bytes,
    pub status: u16,
    pub response: Bytes,
}

impl Exchange {
    /// The request body as text.
    #[allow(dead_code)]
    pub fn request_text(&self) -> String {
        String::from_utf8_lossy(&self.request).into_owned()
    }

    /// The answer's body as text.
    #[allow(dead_code)]
    pub fn response_text(&self) -> String {
        String::from_utf8_lossy(&self.response).into_owned()
    }
}

/// Exchanges as the botocore checks read them: `[{target, request, status, response}]`.
#[allow(dead_code)] // only the JSON-protocol checks
pub fn as_json(exchanges: &[Exchange]) -> serde_json::Value {
    serde_json::Value::Array(
        exchanges
            .iter()
            .map(|x| {
                serde_json::json!({ "target": x.target, "request": x.request_text(),
                    "status": x.status, "response": x.response_text() })
            })
            .collect(),
    )
}

/// The exchanges a proxy has seen, oldest first.
pub type Seen = Arc<Mutex<Vec<Exchange>>>;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    seen: Seen,
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut request = proxy
        .http
        .request(method, format!("{}{uri}", proxy.upstream))
        .body(body.clone());
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out.insert(name, value.clone());
        }
    }
    let response = answer.bytes().await.unwrap_or_default();
    proxy.seen.lock().expect("lock").push(Exchange {
        target,
        request: body,
        status: status.as_u16(),
        response: response.clone(),
    });
    (status, out, response).into_response()
}

/// A proxy on a free loopback port in front of `upstream` (a base URL without a trailing
/// slash): its URL and what it sees. The answer is returned whole once it has ended.
pub async fn recording_proxy(upstream: &str) -> (String, Seen) {
    let seen = Seen::default();
    let state = Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("client"),
        seen: Arc::clone(&seen),
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}
