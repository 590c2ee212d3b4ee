//! Masking and terminal-safe text. Every output path (screen, `check`, the report, the
//! console's own log) goes through here, so a secret is masked in one place: auth tokens
//! entirely, SIDs as their first 8 characters, phone numbers as their last 4. Text from the
//! network is sanitised first: no escape sequence or control character reaches a terminal.

/// Shown for a value that is never displayed, whatever its length.
pub const MASK: &str = "••••••••";

/// An auth token or password: nothing of it, only whether it is set.
pub fn token(value: &str) -> String {
    if value.is_empty() {
        "(empty)".to_owned()
    } else {
        MASK.to_owned()
    }
}

/// A Twilio SID (or any identifier that is half a secret): its first 8 characters.
pub fn sid(value: &str) -> String {
    let prefix: String = value.chars().take(8).collect();
    if value.chars().count() > 8 {
        format!("{prefix}…")
    } else {
        prefix
    }
}

/// A phone number: its last 4 digits.
pub fn phone(value: &str) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("•••{tail}")
}

/// Whether an environment variable's value is a secret by its name.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PRIVATE_KEY",
        "API_KEY",
        "DATABASE_URL",
        "CREDENTIAL",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

/// An environment variable's value as it may be shown: secrets masked, SIDs by prefix, phone
/// numbers by their last 4, anything else sanitised.
pub fn env_value(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        token(value)
    } else if name.ends_with("_SID") || looks_like_sid(value) {
        sid(value)
    } else if name.contains("NUMBER") || name.contains("PHONE") {
        phone(value)
    } else {
        sanitize(value)
    }
}

fn looks_like_sid(value: &str) -> bool {
    value.len() == 34
        && value.is_char_boundary(2)
        && value[..2].chars().all(|c| c.is_ascii_uppercase())
        && value[2..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Text from outside made safe for a terminal: escape sequences removed, control characters
/// (newlines included) replaced by a space, so one event stays one line.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI (ESC [ … final byte), OSC (ESC ] … BEL or ESC \), or a two-byte escape.
                match chars.peek() {
                    Some('[') => {
                        chars.next();
                        for c in chars.by_ref() {
                            if ('@'..='~').contains(&c) {
                                break;
                            }
                        }
                    }
                    Some(']') => {
                        chars.next();
                        while let Some(c) = chars.next() {
                            if c == '\u{7}' || (c == '\u{1b}' && chars.peek() == Some(&'\\')) {
                                if c == '\u{1b}' {
                                    chars.next();
                                }
                                break;
                            }
                        }
                    }
                    Some(_) => {
                        chars.next();
                    }
                    None => {}
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Free text bound for a file or a screen (a report line, an error body, a log message) with
/// whatever looks like a secret masked, in case a probe let one through: sanitised first, then
/// full Twilio SIDs shown by their prefix, phone numbers (`+` and 8 to 15 digits) by their last
/// 4, and the credentials of a URL (`scheme://user:password@host`) entirely.
pub fn free_text(text: &str) -> String {
    let clean = url_credentials(&sanitize(text));
    let mut out = String::with_capacity(clean.len());
    let mut rest = clean.as_str();
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphanumeric()) {
        out.push_str(&rest[..start]);
        let len = rest[start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + len];
        let is_phone = out.ends_with('+')
            && (8..=15).contains(&word.len())
            && word.bytes().all(|b| b.is_ascii_digit());
        if looks_like_sid(word) {
            out.push_str(&sid(word));
        } else if is_phone {
            out.pop();
            out.push_str(&phone(word));
        } else {
            out.push_str(word);
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host/…` with everything before the `@` masked.
fn url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let authority = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(rest.len());
        if let Some(at) = rest[..authority].rfind('@') {
            out.push_str(MASK);
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
}

/// Removes every occurrence of the given secrets from `text` (for error bodies and log lines
/// that might echo a credential back).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 6) {
        out = out.replace(secret, MASK);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(token("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"), MASK);
        assert_eq!(sid("AC5f3b1c8e9d2a4f60718293a4b5c6d7e8"), "AC5f3b1c…");
        assert_eq!(phone("+17133056318"), "•••6318");
        assert_eq!(env_value("TWILIO_AUTH_TOKEN", "abc"), MASK);
        assert_eq!(
            env_value(
                "TWILIO_VERIFY_SERVICE_SID",
                "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9"
            ),
            "VA0a1b2c…"
        );
        assert_eq!(env_value("OTP_FROM_NUMBER", "+15125550100"), "•••0100");
        assert_eq!(env_value("ENV", "prod"), "prod");
        assert_eq!(env_value("DATABASE_URL", "postgresql://u:p@h/db"), MASK);
    }

    #[test]
    fn sanitizes_escape_sequences_and_controls() {
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(sanitize("x\u{1b}]0;title\u{7}y"), "xy");
        assert_eq!(sanitize("line1\nline2\r\u{0}"), "line1 line2  ");
        assert_eq!(sanitize("tab\there"), "tab here");
        assert_eq!(sanitize("ünïcode ✓"), "ünïcode ✓");
    }

    #[test]
    fn masks_what_looks_like_a_secret_in_free_text() {
        assert_eq!(
            free_text("sid=AC5f3b1c8e9d2a4f60718293a4b5c6d7e8, to +17133056318."),
            "sid=AC5f3b1c…, to •••6318."
        );
        assert_eq!(
            free_text("db postgresql://nerava:pw@db.internal:5432/nerava up"),
            format!("db postgresql://{MASK}@db.internal:5432/nerava up")
        );
        assert_eq!(
            free_text("https://api.example.com/v1 ecs-svc/1234567890123456789 +1 555"),
            "https://api.example.com/v1 ecs-svc/1234567890123456789 +1 555"
        );
        assert_eq!(free_text("a\nb"), "a b");
    }

    #[test]
    fn scrubs_secrets() {
        assert_eq!(
            scrub("token=abcdef123 ok", &["abcdef123"]),
            format!("token={MASK} ok")
        );
    }
}
