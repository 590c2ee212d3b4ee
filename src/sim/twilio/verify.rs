//! Verify's bookkeeping, free of HTTP: pending verifications, the per-phone send log behind
//! the 60203 limit, and the inboxes the SMS land in. Every operation takes `now_ms` and the
//! scaled window, so the same rules hold at any time scale; expired verifications and sends
//! older than the window are dropped as time passes.

use std::collections::HashMap;

use super::error::TwilioError;
use super::ids::SplitMix64;
use super::messages::Fate;
use super::{InboxMessage, VerifyServiceSetup};

/// Wrong codes Verify accepts for one verification before answering 60202.
const MAX_CHECK_ATTEMPTS: u32 = 5;
/// Messages kept per inbox; older ones are dropped first.
const INBOX_CAPACITY: usize = 50;

/// One delivery of a verification's code.
#[derive(Debug, Clone)]
pub struct SendAttempt {
    pub sid: String,
    pub channel: String,
    pub at_ms: i64,
}

/// A pending verification: the code Verify expects for `to` within one service.
#[derive(Debug, Clone)]
pub struct Verification {
    pub sid: String,
    pub service_sid: String,
    pub to: String,
    pub channel: String,
    pub code: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub attempts: Vec<SendAttempt>,
    failed_checks: u32,
}

/// One send of a code, as Verify's Attempts API reports it; kept after its verification is
/// approved or expired.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub sid: String,
    pub service_sid: String,
    pub verification_sid: String,
    pub to: String,
    pub channel: String,
    pub at_ms: i64,
    pub fate: Fate,
    /// The verification it belongs to was approved.
    pub converted: bool,
}

/// What a code check concluded.
#[derive(Debug, Clone)]
pub enum CheckOutcome {
    /// The code matched; the verification is consumed.
    Approved(Verification),
    /// The code did not match; the verification stays pending.
    Wrong(Verification),
}

/// Which verification a check is about.
#[derive(Debug, Clone, Copy)]
pub enum CheckTarget<'a> {
    To(&'a str),
    Sid(&'a str),
}

/// Verify's state for one account.
#[derive(Debug)]
pub struct Ledger {
    rng: SplitMix64,
    /// The SIDs of the background users' attempts: their own stream, so the console's own
    /// verifications get the same SIDs and codes however busy the service is.
    users_rng: SplitMix64,
    max_sends_per_phone: u32,
    verifications: Vec<Verification>,
    sends: HashMap<String, Vec<i64>>,
    inboxes: HashMap<String, Vec<InboxMessage>>,
    attempts: Vec<AttemptRecord>,
    /// The carrier refuses SMS with this code: the SMS never reaches an inbox.
    carrier_refuses: Option<u32>,
    /// The number prefixes that carrier serves (empty: every number).
    carrier_serves: Vec<String>,
}

impl Ledger {
    /// An empty ledger; `max_sends_per_phone` bounds sends to one phone per window.
    pub fn new(seed: u64, max_sends_per_phone: u32) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            users_rng: SplitMix64::new(seed ^ 0x5553_4552_535f_564c),
            max_sends_per_phone,
            verifications: Vec::new(),
            sends: HashMap::new(),
            inboxes: HashMap::new(),
            attempts: Vec::new(),
            carrier_refuses: None,
            carrier_serves: Vec::new(),
        }
    }

    /// From now on the carrier serving `serves` (every number when empty) refuses each SMS
    /// with `code` (after `sent`).
    pub fn refuse_sms_with(&mut self, code: u32, serves: &[String]) {
        self.carrier_refuses = Some(code);
        serves.clone_into(&mut self.carrier_serves);
    }

    /// What the destination's carrier does with a send to `to` on `channel` (it refuses SMS
    /// only).
    fn fate(&self, to: &str, channel: &str) -> Fate {
        match self.carrier_refuses {
            Some(code) if channel == "sms" && super::refuses(&self.carrier_serves, to) => {
                Fate::Undelivered(code)
            }
            _ => Fate::Delivered,
        }
    }

    /// Every send attempt, newest first.
    pub fn attempts(&self) -> impl Iterator<Item = &AttemptRecord> {
        self.attempts.iter().rev()
    }

    /// Records the SMS attempt of a background user's verification, started at `at_ms`
    /// through `service_sid`: it meets the same carrier as every SMS, and a user who got the
    /// code enters it (the attempt converts).
    pub fn record_user_attempt(&mut self, service_sid: &str, to: &str, at_ms: i64) {
        let fate = self.fate(to, "sms");
        let record = AttemptRecord {
            sid: self.users_rng.sid("VL"),
            service_sid: service_sid.to_owned(),
            verification_sid: self.users_rng.sid("VE"),
            to: to.to_owned(),
            channel: "sms".into(),
            at_ms,
            fate,
            converted: fate == Fate::Delivered,
        };
        self.push_attempt(record);
    }

    /// Keeps the attempts in time order (the users' history is replayed beside the console's
    /// own sends) and bounded.
    fn push_attempt(&mut self, record: AttemptRecord) {
        let at = self.attempts.partition_point(|a| a.at_ms <= record.at_ms);
        self.attempts.insert(at, record);
        if self.attempts.len() > INBOX_CAPACITY * 40 {
            self.attempts.remove(0);
        }
    }

    /// Records `count` sends to `phone` made at `at_ms` (before the simulation started).
    pub fn record_prior_sends(&mut self, phone: &str, count: u32, at_ms: i64) {
        let log = self.sends.entry(phone.to_owned()).or_default();
        log.extend(std::iter::repeat_n(at_ms, count as usize));
    }

    /// Starts (or, while one is pending, resends) a verification and delivers its code.
    pub fn start(
        &mut self,
        service: &VerifyServiceSetup,
        to: &str,
        channel: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Verification, TwilioError> {
        self.expire(now_ms, window_ms);
        let log = self.sends.entry(to.to_owned()).or_default();
        if log.len() >= self.max_sends_per_phone as usize {
            return Err(TwilioError::max_send_attempts());
        }
        log.push(now_ms);

        let attempt = SendAttempt {
            sid: self.rng.sid("VL"),
            channel: channel.to_owned(),
            at_ms: now_ms,
        };
        // Verify resends the same code while a verification is pending, as the real one does:
        // the user may type the code from either SMS.
        let index = self
            .find(&service.sid, CheckTarget::To(to))
            .unwrap_or_else(|| {
                self.verifications.push(Verification {
                    sid: self.rng.sid("VE"),
                    service_sid: service.sid.clone(),
                    to: to.to_owned(),
                    channel: channel.to_owned(),
                    code: self.rng.code(service.code_length),
                    created_ms: now_ms,
                    updated_ms: now_ms,
                    attempts: Vec::new(),
                    failed_checks: 0,
                });
                self.verifications.len() - 1
            });
        let verification = &mut self.verifications[index];
        channel.clone_into(&mut verification.channel);
        verification.updated_ms = now_ms;
        verification.attempts.push(attempt);
        let verification = verification.clone();
        let fate = self.fate(to, channel);
        if let Some(attempt) = verification.attempts.last() {
            self.push_attempt(AttemptRecord {
                sid: attempt.sid.clone(),
                service_sid: verification.service_sid.clone(),
                verification_sid: verification.sid.clone(),
                to: to.to_owned(),
                channel: channel.to_owned(),
                at_ms: now_ms,
                fate,
                converted: false,
            });
        }

        if channel != "sna" && fate == Fate::Delivered {
            self.deliver(InboxMessage {
                to: to.to_owned(),
                body: format!(
                    "Your {} verification code is: {}",
                    service.friendly_name, verification.code
                ),
                code: verification.code.clone(),
                received_at_ms: now_ms,
                verification_sid: verification.sid.clone(),
            });
        }
        Ok(verification)
    }

    /// Checks `code` against the pending verification `target` names in `service_sid`.
    /// `Ok(None)` when there is none (never started, approved already, or expired).
    pub fn check(
        &mut self,
        service_sid: &str,
        target: CheckTarget<'_>,
        code: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Option<CheckOutcome>, TwilioError> {
        self.expire(now_ms, window_ms);
        let Some(index) = self.find(service_sid, target) else {
            return Ok(None);
        };
        let verification = &mut self.verifications[index];
        if verification.failed_checks >= MAX_CHECK_ATTEMPTS {
            return Err(TwilioError::max_check_attempts());
        }
        verification.updated_ms = now_ms;
        if verification.code == code {
            let sid = verification.sid.clone();
            for attempt in &mut self.attempts {
                if attempt.verification_sid == sid {
                    attempt.converted = true;
                }
            }
            Ok(Some(CheckOutcome::Approved(
                self.verifications.swap_remove(index),
            )))
        } else {
            verification.failed_checks += 1;
            Ok(Some(CheckOutcome::Wrong(verification.clone())))
        }
    }

    /// The messages delivered to `phone`, oldest first.
    pub fn inbox(&self, phone: &str) -> Vec<InboxMessage> {
        self.inboxes.get(phone).cloned().unwrap_or_default()
    }

    fn find(&self, service_sid: &str, target: CheckTarget<'_>) -> Option<usize> {
        self.verifications.iter().position(|v| {
            v.service_sid == service_sid
                && match target {
                    CheckTarget::To(to) => v.to == to,
                    CheckTarget::Sid(sid) => v.sid == sid,
                }
        })
    }

    fn deliver(&mut self, message: InboxMessage) {
        let inbox = self.inboxes.entry(message.to.clone()).or_default();
        inbox.push(message);
        if inbox.len() > INBOX_CAPACITY {
            inbox.remove(0);
        }
    }

    /// Drops verifications and sends older than the window (Verify's 10 minutes, scaled).
    fn expire(&mut self, now_ms: i64, window_ms: i64) {
        let cutoff = now_ms.saturating_sub(window_ms);
        self.verifications.retain(|v| v.created_ms > cutoff);
        self.sends.retain(|_, log| {
            log.retain(|&at| at > cutoff);
            !log.is_empty()
        });
    }
}

#[cfg(test)]
// A failed unwrap in a test is a failed test, with the value in the message.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn service() -> VerifyServiceSetup {
        VerifyServiceSetup {
            sid: format!("VA{}", "1".repeat(32)),
            friendly_name: "Nerava".into(),
            code_length: 6,
        }
    }

    #[test]
    fn resend_keeps_the_code_and_counts_towards_the_limit() {
        let service = service();
        let mut ledger = Ledger::new(1, 2);
        let first = ledger
            .start(&service, "+15550001111", "sms", 0, 1000)
            .unwrap();
        let again = ledger
            .start(&service, "+15550001111", "sms", 10, 1000)
            .unwrap();
        assert_eq!(first.sid, again.sid);
        assert_eq!(first.code, again.code);
        assert_eq!(again.attempts.len(), 2);
        assert_eq!(ledger.inbox("+15550001111").len(), 2);
        let err = ledger
            .start(&service, "+15550001111", "sms", 20, 1000)
            .unwrap_err();
        assert_eq!(err.code, 60203);
        // The window slides: the first sends age out.
        let fresh = ledger
            .start(&service, "+15550001111", "sms", 1500, 1000)
            .unwrap();
        assert_ne!(fresh.sid, first.sid);
    }

    #[test]
    fn wrong_codes_run_out() {
        let service = service();
        let mut ledger = Ledger::new(1, 5);
        let v = ledger
            .start(&service, "+15550001111", "sms", 0, 1000)
            .unwrap();
        for _ in 0..MAX_CHECK_ATTEMPTS {
            let outcome = ledger
                .check(&service.sid, CheckTarget::Sid(&v.sid), "x", 1, 1000)
                .unwrap();
            assert!(matches!(outcome, Some(CheckOutcome::Wrong(_))));
        }
        let err = ledger
            .check(&service.sid, CheckTarget::Sid(&v.sid), &v.code, 2, 1000)
            .unwrap_err();
        assert_eq!(err.code, 60202);
    }
}
