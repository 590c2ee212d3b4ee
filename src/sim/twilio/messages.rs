//! Programmable Messaging's bookkeeping, free of HTTP: the messages the account sent and how
//! each one moves through Twilio's statuses over simulated time. A message is `queued` when
//! created, `sent` once Twilio handed it to the carrier ([`SENT_AFTER`]) and final
//! ([`FINAL_AFTER`]): `delivered`, or `undelivered` with the carrier's error code when the
//! destination carrier filters it. The status is computed from the time, so nothing has to run
//! in the background and the same rules hold at any time scale.

use std::time::Duration;

use super::ids::SplitMix64;

/// From creation to `sent` (Twilio handed the message to the carrier), nominal.
pub const SENT_AFTER: Duration = Duration::from_millis(500);
/// From creation to the final status the carrier reports, nominal.
pub const FINAL_AFTER: Duration = Duration::from_millis(1500);
/// 30007: the carrier filtered the message as spam.
pub const CARRIER_FILTERED: u32 = 30007;
/// Messages kept; the oldest are dropped first.
const CAPACITY: usize = 2_000;

/// Where a message is, as Twilio reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Queued,
    Sent,
    Delivered,
    Undelivered(u32),
}

impl Stage {
    /// Twilio's word for it.
    pub fn status(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered(_) => "undelivered",
        }
    }

    /// The ErrorCode Twilio reports with it.
    pub fn error_code(self) -> Option<u32> {
        match self {
            Self::Undelivered(code) => Some(code),
            _ => None,
        }
    }

    /// Twilio's `error_message` for the code (Twilio sends `null` for most; the simulator
    /// names the one it produces).
    pub fn error_message(self) -> Option<&'static str> {
        match self {
            Self::Undelivered(CARRIER_FILTERED) => Some("Unknown error"),
            _ => None,
        }
    }
}

/// How one send ends, decided when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Delivered,
    /// The carrier refuses it with this code after `sent`.
    Undelivered(u32),
}

/// The stage of a send created at `created_ms` with `fate`, at `now_ms`; `scaled` turns a
/// nominal duration into real milliseconds.
pub fn stage_at(
    created_ms: i64,
    fate: Fate,
    now_ms: i64,
    scaled: impl Fn(Duration) -> i64,
) -> Stage {
    let age = now_ms - created_ms;
    if age < scaled(SENT_AFTER) {
        Stage::Queued
    } else if age < scaled(FINAL_AFTER) {
        Stage::Sent
    } else {
        match fate {
            Fate::Delivered => Stage::Delivered,
            Fate::Undelivered(code) => Stage::Undelivered(code),
        }
    }
}

/// When a send created at `created_ms` reached `stage` (ms), for `date_sent` and inboxes.
pub fn reached_at(created_ms: i64, stage: Stage, scaled: impl Fn(Duration) -> i64) -> i64 {
    match stage {
        Stage::Queued => created_ms,
        Stage::Sent => created_ms + scaled(SENT_AFTER),
        Stage::Delivered | Stage::Undelivered(_) => created_ms + scaled(FINAL_AFTER),
    }
}

/// One outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub created_ms: i64,
    pub fate: Fate,
}

/// The account's sent messages, oldest first.
#[derive(Debug)]
pub struct Outbox {
    rng: SplitMix64,
    /// The SIDs of the background users' messages: their own stream, so the console's own
    /// sends get the same SIDs however busy the service is.
    users_rng: SplitMix64,
    messages: Vec<Message>,
}

impl Outbox {
    /// An empty outbox whose SIDs come from `seed`.
    pub fn new(seed: u64) -> Self {
        // Another stream than Verify's, so adding messages does not change Verify's codes.
        Self {
            rng: SplitMix64::new(seed ^ 0x534d_5f4d_4553_5347),
            users_rng: SplitMix64::new(seed ^ 0x5553_4552_535f_534d),
            messages: Vec::new(),
        }
    }

    /// Records a message accepted now.
    pub fn create(&mut self, to: &str, from: &str, body: &str, now_ms: i64, fate: Fate) -> Message {
        let sid = self.rng.sid("SM");
        self.insert(sid, to, from, body, now_ms, fate)
    }

    /// Records a message a background user's OTP start had the backend send at `at_ms`.
    pub fn create_for_user(&mut self, to: &str, from: &str, body: &str, at_ms: i64, fate: Fate) {
        let sid = self.users_rng.sid("SM");
        self.insert(sid, to, from, body, at_ms, fate);
    }

    /// Keeps the messages in creation order (the users' history is replayed beside the
    /// console's own sends) and at most [`CAPACITY`] of them.
    fn insert(
        &mut self,
        sid: String,
        to: &str,
        from: &str,
        body: &str,
        created_ms: i64,
        fate: Fate,
    ) -> Message {
        let message = Message {
            sid,
            to: to.to_owned(),
            from: from.to_owned(),
            body: body.to_owned(),
            created_ms,
            fate,
        };
        let at = self
            .messages
            .partition_point(|m| m.created_ms <= created_ms);
        self.messages.insert(at, message.clone());
        if self.messages.len() > CAPACITY {
            self.messages.remove(0);
        }
        message
    }

    /// The message `sid`.
    pub fn get(&self, sid: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.sid == sid)
    }

    /// Every message, newest first (Twilio's list order).
    pub fn newest_first(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().rev()
    }
}

#[cfg(test)]
// A failed unwrap in a test is a failed test, with the value in the message.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> i64 {
        d.as_millis() as i64
    }

    #[test]
    fn a_message_moves_queued_sent_then_final() {
        let at = |now, fate| stage_at(1000, fate, now, ms);
        assert_eq!(at(1000, Fate::Delivered), Stage::Queued);
        assert_eq!(at(1499, Fate::Delivered), Stage::Queued);
        assert_eq!(at(1500, Fate::Delivered), Stage::Sent);
        assert_eq!(at(2499, Fate::Undelivered(30007)), Stage::Sent);
        assert_eq!(at(2500, Fate::Delivered), Stage::Delivered);
        let filtered = at(9000, Fate::Undelivered(30007));
        assert_eq!(filtered.status(), "undelivered");
        assert_eq!(filtered.error_code(), Some(30007));
        assert_eq!(reached_at(1000, Stage::Sent, ms), 1500);
        assert_eq!(reached_at(1000, Stage::Delivered, ms), 2500);
    }

    #[test]
    fn outbox_lists_newest_first_with_sm_sids() {
        let mut outbox = Outbox::new(7);
        let a = outbox.create("+15550001111", "+18325550147", "a", 1, Fate::Delivered);
        let b = outbox.create("+15550002222", "+18325550147", "b", 2, Fate::Delivered);
        assert!(super::super::ids::is_sid(&a.sid, "SM"));
        assert_ne!(a.sid, b.sid);
        let order: Vec<&str> = outbox.newest_first().map(|m| m.body.as_str()).collect();
        assert_eq!(order, ["b", "a"]);
        assert_eq!(outbox.get(&a.sid).unwrap().to, "+15550001111");
        assert!(outbox.get("SMnope").is_none());
    }
}
