//! What became of the codes real users were sent: the account's own record of its recent
//! sends, read without sending anything — the Messages list from the deployed sender for
//! `twilio_sms`, Verify's Attempts list of the deployed service (SMS channel) for
//! `twilio_verify` — counted by final status and error code. This is the passive evidence of
//! delivery: a carrier that filters every SMS shows here while the API answers 200.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::delivery::{self, Via};
use super::{error_code, parse_date, path_segment, service_sid, Call, Fact, Secrets, TwilioProbe};
use crate::probe::{ProbeError, TwilioCredentials};

/// The window looked back over.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Rows read at most (one page): the newest sends are what matter.
const PAGE_SIZE: usize = 200;

/// The account's sends in the window, one outcome each (counted with [`RecentSms::tally`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentSms {
    pub via: Option<Via>,
    /// Start of the window, ms since the epoch.
    pub since_ms: i64,
    /// Each send's time and outcome, newest first (phones and bodies are not kept).
    pub sends: Vec<SmsOutcome>,
    /// The page was full: there were more sends than listed.
    pub truncated: bool,
}

/// One send: when it was made, its status and the error code of a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsOutcome {
    pub at_ms: i64,
    pub status: String,
    pub error_code: Option<u32>,
}

impl RecentSms {
    /// The sends of the window made from `from_ms` on (a repair's start; the window's own
    /// start when that is later), by outcome.
    pub fn tally(&self, from_ms: i64) -> Tally {
        let since_ms = self.since_ms.max(from_ms);
        let mut tally = Tally::default();
        let mut codes: BTreeMap<u32, usize> = BTreeMap::new();
        for send in self.sends.iter().filter(|s| s.at_ms >= since_ms) {
            tally.sent += 1;
            match send.status.as_str() {
                "delivered" | "read" => tally.delivered += 1,
                "undelivered" | "failed" => {
                    tally.failed += 1;
                    if let Some(code) = send.error_code {
                        *codes.entry(code).or_default() += 1;
                    }
                }
                s if delivery::is_final(s) => {}
                _ => tally.pending += 1,
            }
        }
        tally.codes = codes.into_iter().collect();
        tally
            .codes
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        tally
    }
}

/// Sends counted by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    pub delivered: usize,
    /// Final and not delivered (`undelivered`, `failed`).
    pub failed: usize,
    /// Not final yet (queued, sending, sent).
    pub pending: usize,
    /// The failures' error codes, most frequent first.
    pub codes: Vec<(u32, usize)>,
}

impl Tally {
    /// Sends with a final status.
    pub fn final_count(&self) -> usize {
        self.delivered + self.failed
    }

    /// Whether most of the sends that ended did not reach the phone (and enough ended to say).
    pub fn mostly_failing(&self) -> bool {
        self.final_count() >= 3 && self.failed * 2 > self.final_count()
    }

    /// Whether a share of users does not get the code, though most do: at least 3 sends and
    /// a fifth of those that ended failed (more than carriers drop on a good day), not most.
    /// One carrier filtering the sender, or one country without Geo permission, looks so.
    pub fn partly_failing(&self) -> bool {
        self.failed >= 3 && self.failed * 5 >= self.final_count() && !self.mostly_failing()
    }

    /// `12 of 14 undelivered (30007 × 12: carrier violation…)`, or `14 of 14 delivered`.
    pub fn summary(&self) -> String {
        let mut text = if self.failed > 0 {
            format!("{} of {} undelivered", self.failed, self.final_count())
        } else {
            format!("{} of {} delivered", self.delivered, self.final_count())
        };
        if self.pending > 0 {
            let _ = write!(text, ", {} in flight", self.pending);
        }
        if let Some((code, count)) = self.codes.first() {
            let meaning = delivery::decode(*code).map_or("error", |d| d.meaning);
            let _ = write!(text, " ({code} × {count}: {meaning})");
        }
        text
    }
}

impl TwilioProbe {
    /// The account's SMS sends of the last [`WINDOW_MS`] the deployed provider made, counted by
    /// outcome (nothing is sent).
    pub async fn recent_sms(&self, creds: &TwilioCredentials, now_ms: i64) -> Fact {
        Fact::RecentSms(self.read_recent_sms(creds, now_ms).await)
    }

    async fn read_recent_sms(
        &self,
        creds: &TwilioCredentials,
        now_ms: i64,
    ) -> Result<RecentSms, ProbeError> {
        let secrets = Secrets {
            sid: &creds.account_sid,
            token: &creds.auth_token,
            phone: None,
        };
        let since_ms = now_ms - WINDOW_MS;
        let since = chrono::DateTime::from_timestamp_millis(since_ms).unwrap_or_default();
        let page = PAGE_SIZE.to_string();
        let (via, call, request) = if creds.is_sms() {
            let account = path_segment(&creds.account_sid, "TWILIO_ACCOUNT_SID")?;
            // `DateSent>=` has a day's precision: the window is cut below.
            let mut query = vec![
                ("PageSize", page),
                ("DateSent>", since.format("%Y-%m-%d").to_string()),
            ];
            if let Some(from) = creds.from_number.as_ref().filter(|f| f.starts_with('+')) {
                query.push(("From", from.clone()));
            }
            let request = self
                .client
                .get(format!(
                    "{}/2010-04-01/Accounts/{account}/Messages.json",
                    self.api_url
                ))
                .query(&query);
            (Via::Messages, Call::Messages, request)
        } else {
            let query = [
                ("PageSize", page),
                ("VerifyServiceSid", service_sid(creds)?.to_owned()),
                ("Channel", "sms".into()),
                (
                    "DateCreatedAfter",
                    since.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                ),
            ];
            let request = self
                .client
                .get(format!("{}/v2/Attempts", self.verify_url))
                .query(&query);
            (Via::VerifyAttempts, Call::Attempts, request)
        };
        let request = request.basic_auth(&creds.account_sid, Some(&creds.auth_token));
        let body = self.exchange(request, call, &secrets).await?;
        let key = match via {
            Via::Messages => "messages",
            Via::VerifyAttempts => "attempts",
        };
        let rows = body[key].as_array().cloned().unwrap_or_default();
        let truncated = rows.len() >= PAGE_SIZE;
        let sender = creds.from_number.as_deref();
        let sends = rows.iter().filter_map(|row| {
            let created = row["date_created"].as_str().and_then(parse_date)?;
            if created < since_ms {
                return None;
            }
            match via {
                Via::Messages => {
                    let outbound = row["direction"]
                        .as_str()
                        .is_none_or(|d| d.starts_with("outbound"));
                    // A Messaging Service sender is not a `From` filter: its rows name it.
                    let ours = sender.is_none_or(|s| {
                        !s.starts_with("MG") || row["messaging_service_sid"].as_str() == Some(s)
                    });
                    (outbound && ours).then(|| SmsOutcome {
                        at_ms: created,
                        status: row["status"].as_str().unwrap_or("unknown").to_owned(),
                        error_code: error_code(&row["error_code"]),
                    })
                }
                Via::VerifyAttempts => {
                    let data = &row["channel_data"];
                    Some(SmsOutcome {
                        at_ms: created,
                        status: data["message_status"]
                            .as_str()
                            .unwrap_or("unknown")
                            .to_owned(),
                        error_code: error_code(&data["error_code"]),
                    })
                }
            }
        });
        Ok(RecentSms {
            via: Some(via),
            since_ms,
            // Only what Twilio said is kept, cleaned like any of its text.
            sends: sends
                .map(|mut s| {
                    s.status = secrets.clean(&s.status);
                    s
                })
                .collect(),
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent(list: &[(i64, &str, Option<u32>)]) -> RecentSms {
        RecentSms {
            via: Some(Via::Messages),
            since_ms: 0,
            sends: list
                .iter()
                .map(|(at_ms, status, error_code)| SmsOutcome {
                    at_ms: *at_ms,
                    status: (*status).to_owned(),
                    error_code: *error_code,
                })
                .collect(),
            truncated: false,
        }
    }

    #[test]
    fn counts_by_final_status_and_code() {
        let tally = recent(&[
            (6, "undelivered", Some(30007)),
            (5, "undelivered", Some(30007)),
            (4, "failed", Some(30034)),
            (3, "delivered", None),
            (2, "sent", None),
            (1, "canceled", None),
        ])
        .tally(0);
        assert_eq!(
            (tally.sent, tally.delivered, tally.failed, tally.pending),
            (6, 1, 3, 1)
        );
        assert_eq!(tally.codes, vec![(30007, 2), (30034, 1)]);
        assert!(tally.mostly_failing());
        assert_eq!(
            tally.summary(),
            "3 of 4 undelivered, 1 in flight (30007 × 2: carrier violation: the carrier filtered the message as spam)"
        );
    }

    #[test]
    fn a_few_failures_among_deliveries_or_too_few_sends_are_not_a_failing_path() {
        let mostly_fine = recent(&[
            (4, "delivered", None),
            (3, "delivered", None),
            (2, "delivered", None),
            (1, "undelivered", Some(30003)),
        ])
        .tally(0);
        assert!(!mostly_fine.mostly_failing());
        let too_few = recent(&[
            (2, "undelivered", Some(30007)),
            (1, "undelivered", Some(30007)),
        ])
        .tally(0);
        assert!(!too_few.mostly_failing(), "two sends are not a pattern");
        assert_eq!(
            too_few.summary(),
            "2 of 2 undelivered (30007 × 2: carrier violation: the carrier filtered the message as spam)"
        );
    }

    /// A fifth or more of the ended sends failing, at least 3, is a share of users without
    /// their code (one carrier, one country); fewer is a carrier's ordinary losses.
    #[test]
    fn a_share_of_users_failing_is_partly_failing() {
        let tally = |failed: usize, delivered: usize| {
            let sends: Vec<(i64, &str, Option<u32>)> = (0..failed)
                .map(|i| (i as i64, "undelivered", Some(30007)))
                .chain((0..delivered).map(|i| (100 + i as i64, "delivered", None)))
                .collect();
            recent(&sends).tally(0)
        };
        let t = tally(3, 9);
        assert!(t.partly_failing() && !t.mostly_failing(), "3 of 12");
        assert!(
            !tally(2, 6).partly_failing(),
            "two failures are not a pattern"
        );
        assert!(
            !tally(3, 17).partly_failing(),
            "3 of 20 is a carrier's ordinary loss"
        );
        let most = tally(6, 2);
        assert!(
            most.mostly_failing() && !most.partly_failing(),
            "6 of 8 is most"
        );
        assert!(!tally(0, 12).partly_failing());
    }

    #[test]
    fn only_sends_from_the_given_time_count() {
        // Failures before a repair, deliveries after it.
        let sends = recent(&[
            (40, "delivered", None),
            (30, "delivered", None),
            (20, "delivered", None),
            (10, "undelivered", Some(30007)),
            (5, "undelivered", Some(30007)),
            (1, "undelivered", Some(30007)),
        ]);
        assert!(!sends.tally(0).mostly_failing(), "3 of 6 is not most");
        assert!(sends.tally(0).failed == 3);
        let after = sends.tally(20);
        assert_eq!((after.delivered, after.failed), (3, 0));
        assert!(!after.mostly_failing());
    }
}
