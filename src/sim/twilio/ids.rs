//! Deterministic identifiers and Twilio's two date formats. Codes and SIDs come from a
//! splitmix64 stream seeded by the scenario, so a scenario replays with the same SMS codes and
//! `VE…` SIDs every run; dates are RFC 2822 in Api v2010 and ISO 8601 in Verify v2.

use chrono::{DateTime, Utc};

/// splitmix64: tiny, fast, and good enough to make codes look random.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A Twilio SID: the two-letter `prefix` and 32 lowercase hex digits.
    pub fn sid(&mut self, prefix: &str) -> String {
        format!("{prefix}{:016x}{:016x}", self.next_u64(), self.next_u64())
    }

    /// A numeric code of `length` digits (leading zeros kept), as Verify sends them.
    pub fn code(&mut self, length: u32) -> String {
        let length = length.clamp(4, 10);
        let modulus = 10_u64.pow(length);
        format!(
            "{:0width$}",
            self.next_u64() % modulus,
            width = length as usize
        )
    }
}

/// Whether `sid` is `prefix` followed by 32 hex digits.
pub fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == 34 && sid.starts_with(prefix) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `phone` is E.164: `+`, a non-zero digit, at most 15 digits in all.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Verify v2's date format, e.g. `2015-07-30T20:00:00Z`.
pub fn iso8601(ms: i64) -> String {
    utc(ms).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Api v2010's date format, e.g. `Thu, 30 Jul 2015 20:00:00 +0000`.
pub fn rfc2822(ms: i64) -> String {
    utc(ms).format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// The UTC day, as the Messages list's `DateSent` filter writes it: `2015-07-30`.
pub fn day(ms: i64) -> String {
    utc(ms).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        assert_eq!(a.code(6), b.code(6));
        let sid = a.sid("VE");
        assert_eq!(sid, b.sid("VE"));
        assert!(is_sid(&sid, "VE"));
        assert_eq!(a.code(6).len(), 6);
        assert_eq!(a.code(99).len(), 10);
    }

    #[test]
    fn validates_phones_and_sids() {
        assert!(is_e164("+17133056318"));
        assert!(!is_e164("7133056318"));
        assert!(!is_e164("+0713"));
        assert!(!is_e164("+1713305631812345"));
        assert!(!is_e164("+1 713"));
        assert!(!is_sid("VAxyz", "VA"));
        assert!(!is_sid("VA0123456789abcdef0123456789abcdeg", "VA"));
        assert!(!is_sid("VAé123456789abcdef0123456789abcde", "VA"));
    }

    #[test]
    fn formats_dates() {
        let ms = 1_438_286_400_000;
        assert_eq!(iso8601(ms), "2015-07-30T20:00:00Z");
        assert_eq!(rfc2822(ms), "Thu, 30 Jul 2015 20:00:00 +0000");
    }
}
