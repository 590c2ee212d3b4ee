//! Twilio's Monitor (`monitor.twilio.com/v1`) over the changes window: Events (the account's
//! changes: a token promoted, a Verify service or number deleted, the account suspended) as
//! [`Change`]s, and Alerts (the errors Twilio answered the account's calls with) as [`Alert`]s.
//! Pages are followed through `meta.next_page_url` (its path and query, against the configured
//! `monitor_url`), at most [`MAX_PAGES`] of them. Phone numbers, SIDs and the credentials are
//! masked in every text Twilio sends back; an alert's URL-encoded text is decoded first, so a
//! `%2B1713…` is masked like a `+1713…`.

use serde_json::Value;

use super::{parse_date, Call, Secrets, TwilioProbe};
use crate::probe::changes::{Alert, Change, Changes, Origin};
use crate::probe::{ProbeError, TwilioCredentials};
use crate::redact;

/// Pages read at most per list (100 rows each).
pub const MAX_PAGES: usize = 10;

impl TwilioProbe {
    /// The account's events and alerts from `since_ms`, newest first.
    pub async fn monitor(
        &self,
        creds: &TwilioCredentials,
        since_ms: i64,
    ) -> Result<Changes, ProbeError> {
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: None,
        };
        let start = chrono::DateTime::from_timestamp_millis(since_ms)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let mut out = Changes {
            since_ms,
            ..Changes::default()
        };
        let (events, events_cut) = self
            .list(creds, "Events", "events", &start, &secrets)
            .await?;
        let (alerts, alerts_cut) = self
            .list(creds, "Alerts", "alerts", &start, &secrets)
            .await?;
        out.truncated = events_cut || alerts_cut;
        out.changes = events.iter().map(|e| event(e, &secrets)).collect();
        out.alerts = alerts.iter().map(|a| alert(a, &secrets)).collect();
        out.changes.sort_by_key(|c| std::cmp::Reverse(c.at_ms));
        out.alerts.sort_by_key(|a| std::cmp::Reverse(a.at_ms));
        Ok(out)
    }

    /// Every row of `/v1/{resource}` since `start`, and whether the page limit cut it short.
    async fn list(
        &self,
        creds: &TwilioCredentials,
        resource: &str,
        key: &str,
        start: &str,
        secrets: &Secrets<'_>,
    ) -> Result<(Vec<Value>, bool), ProbeError> {
        let mut rows = Vec::new();
        let mut url = format!(
            "{}/v1/{resource}?StartDate={start}&PageSize=100",
            self.monitor_url
        );
        for _ in 0..MAX_PAGES {
            let request = self
                .client
                .get(&url)
                .basic_auth(&creds.account_sid, Some(&creds.auth_token));
            let body = self.exchange(request, Call::Monitor, secrets).await?;
            rows.extend(body[key].as_array().into_iter().flatten().cloned());
            let next = body["meta"]["next_page_url"].as_str().and_then(|n| {
                let parsed = reqwest::Url::parse(n).ok()?;
                Some(format!(
                    "{}{}?{}",
                    self.monitor_url,
                    parsed.path(),
                    parsed.query().unwrap_or_default()
                ))
            });
            match next {
                Some(next) => url = next,
                None => return Ok((rows, false)),
            }
        }
        Ok((rows, true))
    }
}

fn text<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key].as_str().unwrap_or_default()
}

/// One Monitor event as a change.
fn event(row: &Value, secrets: &Secrets<'_>) -> Change {
    let clean = |s: &str| redact::free_text(&secrets.clean(s));
    let actor = match (text(row, "actor_type"), text(row, "actor_sid")) {
        ("", _) => "Twilio".to_owned(),
        (kind, "") => format!("{kind} on Twilio"),
        (kind, sid) => format!("{kind} {}", redact::sid(sid)),
    };
    let event_type = text(row, "event_type");
    let description = text(row, "description");
    let summary = if description.is_empty() {
        event_type.to_owned()
    } else {
        description.to_owned()
    };
    Change {
        at_ms: parse_date(text(row, "event_date")).unwrap_or_default(),
        origin: Origin::TwilioMonitor,
        service: "twilio".into(),
        action: clean(event_type),
        resource: clean(&format!(
            "{} {}",
            text(row, "resource_type"),
            redact::sid(text(row, "resource_sid"))
        ))
        .trim()
        .to_owned(),
        who: clean(&actor),
        user_agent: None,
        summary: clean(&summary),
        parameters: row
            .get("event_data")
            .filter(|d| !d.is_null())
            .map(crate::probe::changes::mask_parameters),
        id: clean(text(row, "sid")),
    }
}

/// One Monitor alert, its text decoded and masked.
fn alert(row: &Value, secrets: &Secrets<'_>) -> Alert {
    let decoded = form_decode(text(row, "alert_text"));
    let message = decoded.iter().find(|(k, _)| k == "Msg").map_or_else(
        || {
            decoded
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        },
        |(_, v)| v.clone(),
    );
    let date = [text(row, "date_generated"), text(row, "date_created")]
        .into_iter()
        .find_map(parse_date)
        .unwrap_or_default();
    Alert {
        at_ms: date,
        error_code: redact::sanitize(text(row, "error_code")),
        log_level: redact::sanitize(text(row, "log_level")),
        text: mask_numbers(&redact::free_text(&secrets.clean(&message))),
    }
}

/// Every `+` and 7 or more digits shown by its last 4: an alert quotes the numbers a call was
/// refused for, valid E.164 or not.
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(plus) = rest.find('+') {
        out.push_str(&rest[..plus]);
        let after = &rest[plus + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits >= 7 {
            out.push_str(&redact::phone(&after[..digits]));
        } else {
            out.push('+');
            out.push_str(&after[..digits]);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// `application/x-www-form-urlencoded` pairs, decoded (`+` is a space).
fn form_decode(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| char::from(b).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_text_is_decoded_then_masked() {
        let secrets = Secrets {
            sid: "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
            token: "9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
            phone: None,
        };
        let row = serde_json::json!({
            "alert_text": "Msg=Invalid+parameter+%60To%60%3A+%2B17133056318+token+9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c%1B%5B2J&ErrorCode=60200",
            "error_code": "60200",
            "log_level": "error",
            "date_created": "2026-11-30T07:00:00Z",
        });
        let a = alert(&row, &secrets);
        assert!(!a.text.contains("7133056318"), "{}", a.text);
        assert!(!a.text.contains("9c1e7a5b"), "{}", a.text);
        assert!(!a.text.contains('\u{1b}'), "{}", a.text);
        assert!(a.text.contains("•••6318"), "{}", a.text);
        assert_eq!(a.error_code, "60200");
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%2Bb+c%zz%4"), "a+b c%zz%4");
        assert_eq!(percent_decode("%é%"), "%é%");
    }
}
