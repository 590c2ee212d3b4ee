//! Twilio's public status page, simulated: Atlassian Statuspage's public API
//! (`/api/v2/summary.json` and its parts) in Statuspage's JSON shape, built once from the
//! scenario's `[statuspage]` table. The console's Twilio pane reads it to tell "Twilio is
//! having an incident" from "our side is broken". The answers never change while it runs.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const PAGE_ID: &str = "2x0ckb9t4fqm";
/// When the simulated page's components were set up (2015-07-30), fixed for stable renders.
const COMPONENTS_CREATED_MS: i64 = 1_438_286_400_000;

/// Statuspage's severity scale: the page's `indicator` and an incident's `impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    #[default]
    None,
    Minor,
    Major,
    Critical,
}

impl Indicator {
    /// Statuspage's default wording for a page at this level.
    pub fn description(self) -> &'static str {
        match self {
            Self::None => "All Systems Operational",
            Self::Minor => "Minor Service Outage",
            Self::Major => "Partial System Outage",
            Self::Critical => "Major System Outage",
        }
    }
}

/// A component's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    #[default]
    Operational,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
    UnderMaintenance,
}

impl ComponentStatus {
    /// The page indicator this status alone would raise.
    fn indicator(self) -> Indicator {
        match self {
            Self::Operational | Self::UnderMaintenance => Indicator::None,
            Self::DegradedPerformance => Indicator::Minor,
            Self::PartialOutage => Indicator::Major,
            Self::MajorOutage => Indicator::Critical,
        }
    }
}

/// An incident's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    #[default]
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Postmortem,
}

impl IncidentStatus {
    fn is_unresolved(self) -> bool {
        !matches!(self, Self::Resolved | Self::Postmortem)
    }
}

/// One component of the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSetup {
    pub name: String,
    #[serde(default)]
    pub status: ComponentStatus,
}

/// One incident of the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentSetup {
    pub name: String,
    #[serde(default)]
    pub status: IncidentStatus,
    #[serde(default)]
    pub impact: Indicator,
}

/// The scenario file's `[statuspage]` table. Without one, every component is operational.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusPageSetup {
    /// The page's indicator; derived from components and open incidents when absent.
    pub indicator: Option<Indicator>,
    /// The page's headline; Statuspage's wording for the indicator when absent.
    pub description: Option<String>,
    pub components: Vec<ComponentSetup>,
    pub incidents: Vec<IncidentSetup>,
}

impl Default for StatusPageSetup {
    fn default() -> Self {
        let components = ["SMS", "Verify", "REST API", "Voice"]
            .into_iter()
            .map(|name| ComponentSetup {
                name: name.to_owned(),
                status: ComponentStatus::Operational,
            })
            .collect();
        Self {
            indicator: None,
            description: None,
            components,
            incidents: Vec::new(),
        }
    }
}

impl StatusPageSetup {
    /// The indicator the page shows: the given one, or the worst of components and incidents.
    pub fn effective_indicator(&self) -> Indicator {
        self.indicator.unwrap_or_else(|| {
            let components = self.components.iter().map(|c| c.status.indicator());
            let incidents = self
                .incidents
                .iter()
                .filter(|i| i.status.is_unresolved())
                .map(|i| i.impact);
            components.chain(incidents).max().unwrap_or_default()
        })
    }
}

/// The router serving the status page's public API.
pub fn status_router(setup: StatusPageSetup) -> Router {
    let summary = Arc::new(summary(setup, Utc::now().timestamp_millis()));
    Router::new()
        .route(
            "/api/v2/summary.json",
            get(|State(s): State<Arc<Value>>| async move { Json((*s).clone()) }),
        )
        .route(
            "/api/v2/status.json",
            get(|State(s): State<Arc<Value>>| async move { part(&s, "status") }),
        )
        .route(
            "/api/v2/components.json",
            get(|State(s): State<Arc<Value>>| async move { part(&s, "components") }),
        )
        .route(
            "/api/v2/incidents/unresolved.json",
            get(|State(s): State<Arc<Value>>| async move { part(&s, "incidents") }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({ "error": "Not found" }))) })
        .with_state(summary)
}

/// `{page, <key>}`: how Statuspage's narrower endpoints slice the summary.
fn part(summary: &Value, key: &str) -> impl IntoResponse {
    Json(json!({ "page": summary["page"], key: summary[key] }))
}

/// The whole `summary.json` document, as of `now_ms`.
fn summary(setup: StatusPageSetup, now_ms: i64) -> Value {
    let now = timestamp(now_ms);
    let created = timestamp(COMPONENTS_CREATED_MS);
    let indicator = setup.effective_indicator();
    let components: Vec<Value> = setup
        .components
        .into_iter()
        .enumerate()
        .map(|(index, c)| {
            json!({
                "id": short_id(&c.name),
                "name": c.name,
                "status": c.status,
                "created_at": created,
                "updated_at": if c.status == ComponentStatus::Operational { &created } else { &now },
                "position": index + 1,
                "description": null,
                "showcase": true,
                "start_date": null,
                "group_id": null,
                "page_id": PAGE_ID,
                "group": false,
                "only_show_if_degraded": false,
            })
        })
        .collect();
    // The summary lists open incidents only, as Statuspage's does.
    let incidents: Vec<Value> = setup
        .incidents
        .iter()
        .filter(|i| i.status.is_unresolved())
        .map(|i| incident(i, &now))
        .collect();
    let description = setup
        .description
        .unwrap_or_else(|| indicator.description().to_owned());
    json!({
        "page": {
            "id": PAGE_ID,
            "name": "Twilio",
            "url": "https://status.twilio.com",
            "time_zone": "Etc/UTC",
            "updated_at": now,
        },
        "components": components,
        "incidents": incidents,
        "scheduled_maintenances": [],
        "status": { "indicator": indicator, "description": description },
    })
}

fn incident(setup: &IncidentSetup, now: &str) -> Value {
    let id = short_id(&format!("incident:{}", setup.name));
    json!({
        "id": id,
        "name": setup.name,
        "status": setup.status,
        "created_at": now,
        "updated_at": now,
        "monitoring_at": if setup.status == IncidentStatus::Monitoring { Some(now) } else { None },
        "resolved_at": null,
        "impact": setup.impact,
        "shortlink": format!("https://stspg.io/{}", &id[..7]),
        "started_at": now,
        "page_id": PAGE_ID,
        "incident_updates": [{
            "id": short_id(&format!("update:{}", setup.name)),
            "status": setup.status,
            "body": format!("We are investigating reports of {}.", setup.name),
            "incident_id": id,
            "created_at": now,
            "updated_at": now,
            "display_at": now,
            "affected_components": null,
            "deliver_notifications": true,
            "custom_tweet": null,
            "tweet_id": null,
        }],
        "components": [],
    })
}

/// Statuspage's timestamp format, e.g. `2015-07-30T20:00:00.000Z`.
fn timestamp(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A 12-character lowercase base-36 id, stable for a given name (FNV-1a).
fn short_id(name: &str) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (0..12)
        .map(|_| {
            let digit = ALPHABET[(hash % 36) as usize];
            hash /= 36;
            // 36^12 exceeds 2^62, so keep stirring once the hash runs out of digits.
            if hash == 0 {
                hash = 0x9E37_79B9_7F4A_7C15;
            }
            char::from(digit)
        })
        .collect()
}

#[cfg(test)]
// A failed unwrap in a test is a failed test, with the value in the message.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn serve(setup: StatusPageSetup) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, status_router(setup)).await });
        format!("http://{addr}")
    }

    async fn get_json(url: &str) -> (StatusCode, Value) {
        let response = reqwest::get(url).await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        (status, response.json().await.unwrap())
    }

    #[tokio::test]
    async fn default_page_is_all_operational() {
        let base = serve(StatusPageSetup::default()).await;
        let (status, body) = get_json(&format!("{base}/api/v2/summary.json")).await;
        assert_eq!(status, StatusCode::OK);
        for key in ["id", "name", "url", "time_zone", "updated_at"] {
            assert!(body["page"][key].is_string(), "page.{key}");
        }
        let components = body["components"].as_array().unwrap();
        let names: Vec<&str> = components
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["SMS", "Verify", "REST API", "Voice"]);
        for c in components {
            assert_eq!(c["status"], "operational");
            for key in [
                "id",
                "created_at",
                "updated_at",
                "position",
                "description",
                "showcase",
                "group_id",
                "page_id",
                "group",
                "only_show_if_degraded",
            ] {
                assert!(c.get(key).is_some(), "component.{key}");
            }
        }
        assert_eq!(body["incidents"], json!([]));
        assert_eq!(body["scheduled_maintenances"], json!([]));
        assert_eq!(
            body["status"],
            json!({"indicator": "none", "description": "All Systems Operational"})
        );
    }

    #[tokio::test]
    async fn outage_shows_in_indicator_components_and_incidents() {
        let setup: StatusPageSetup = toml::from_str(
            r#"
            components = [
                { name = "SMS", status = "partial_outage" },
                { name = "Verify", status = "degraded_performance" },
            ]
            incidents = [
                { name = "Delayed SMS delivery to US numbers", status = "identified", impact = "major" },
                { name = "Old", status = "resolved", impact = "critical" },
            ]
            "#,
        )
        .unwrap();
        let base = serve(setup).await;
        let (_, body) = get_json(&format!("{base}/api/v2/summary.json")).await;
        assert_eq!(body["status"]["indicator"], "major");
        assert_eq!(body["status"]["description"], "Partial System Outage");
        assert_eq!(body["components"][0]["status"], "partial_outage");
        let incidents = body["incidents"].as_array().unwrap();
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0]["impact"], "major");
        assert_eq!(incidents[0]["status"], "identified");
        assert_eq!(
            incidents[0]["incident_updates"][0]["incident_id"],
            incidents[0]["id"]
        );

        let (_, status) = get_json(&format!("{base}/api/v2/status.json")).await;
        assert_eq!(status["status"]["indicator"], "major");
        let (missing, _) = get_json(&format!("{base}/api/v2/nope.json")).await;
        assert_eq!(missing, StatusCode::NOT_FOUND);
    }

    #[test]
    fn rejects_unknown_statuses_and_keys() {
        assert!(toml::from_str::<StatusPageSetup>(r#"indicator = "catastrophic""#).is_err());
        assert!(toml::from_str::<StatusPageSetup>("colour = 1").is_err());
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(short_id("SMS"), short_id("SMS"));
        assert_ne!(short_id("SMS"), short_id("Voice"));
        assert_eq!(short_id("SMS").len(), 12);
    }
}
