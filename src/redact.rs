//! Masking and terminal-safe text. Every output path (screen, `check`, the report, the
//! console's own log) goes through here, so a secret is masked in one place: auth tokens
//! entirely, SIDs as their first 8 characters, phone numbers as their last 4.
//!
//! Secrets the process holds (the Twilio credentials it read, values typed into a repair, the
//! demo's tokens) are [`register`]ed once; from then on [`sanitize`] and [`scrub`] mask them in
//! every shape they travel in: as they are, split by invisible or control characters, in another
//! case, base64 (standard or URL-safe, padded or not) or percent-encoded, alone or as the
//! `SID:secret` pair of an HTTP Basic header.
//!
//! Text from the network is made terminal-safe by [`sanitize`]: no escape sequence, control,
//! bidi override, zero-width or separator character reaches a terminal, and what is left is
//! measured by the terminal as ratatui measures it (`unicode-width`), so rows stay aligned.

use std::fmt::Write as _;
use std::sync::RwLock;

use base64::Engine as _;
use unicode_width::UnicodeWidthChar;

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

/// Text from outside made safe for a terminal, with every registered secret masked. Escape
/// sequences are removed; control characters (newlines included) and line or paragraph
/// separators become a space, so one event stays one line; bidi controls, zero-width and other
/// invisible format characters, variation selectors and soft hyphens are dropped; a combining
/// mark stays only on a base character (at most two of them); regional indicators become their
/// ASCII letters. What is left is drawn at the width `unicode-width` gives it.
pub fn sanitize(text: &str) -> String {
    let clean = terminal_safe(text);
    mask_known(&clean)
}

/// [`sanitize`] without the masking: the terminal-safe part alone.
fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    // The last character written, and how many combining marks follow it.
    let mut base: Option<char> = None;
    let mut marks = 0;
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
            c if c == '\t' || c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.push(' ');
                base = Some(' ');
                marks = 0;
            }
            c if is_invisible(c) => {}
            '\u{1f1e6}'..='\u{1f1ff}' => {
                // A regional indicator: its letter (a flag reads as its country code).
                let letter = char::from(b'A' + (u32::from(c) - 0x1f1e6) as u8);
                out.push(letter);
                base = Some(letter);
                marks = 0;
            }
            c if c.width() == Some(0) => {
                // A combining mark (or a Hangul vowel or final jamo): only on a base it can
                // combine with, and not piled up, or the terminal draws it at another width.
                let on_base = base.is_some_and(|b| {
                    if is_hangul_jamo_tail(c) {
                        is_hangul_jamo(b)
                    } else {
                        b.width().unwrap_or(0) > 0 && !b.is_whitespace()
                    }
                });
                if on_base && marks < 2 {
                    out.push(c);
                    marks += 1;
                }
            }
            c => {
                out.push(c);
                base = Some(c);
                marks = 0;
            }
        }
    }
    out
}

/// Characters a reader does not see and a terminal may draw anyway, or draw at another width:
/// bidi controls, zero-width spaces and joiners, word joiner and invisible operators, the byte
/// order mark, soft hyphen, variation selectors, tags, the combining grapheme joiner, and
/// emoji skin-tone modifiers.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'
        | '\u{ffa0}' | '\u{fff0}'..='\u{fffb}' | '\u{e0000}'..='\u{e0fff}'
        | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        // Emoji skin-tone modifiers: one glyph with the emoji before them in some terminals,
        // two in others.
        | '\u{1f3fb}'..='\u{1f3ff}')
}

/// Hangul conjoining jamo (leading, vowel, trailing).
fn is_hangul_jamo(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{11ff}' | '\u{a960}'..='\u{a97f}' | '\u{d7b0}'..='\u{d7ff}')
}

/// The vowel and trailing jamo, which have no width of their own.
fn is_hangul_jamo_tail(c: char) -> bool {
    matches!(c, '\u{1160}'..='\u{11ff}' | '\u{d7b0}'..='\u{d7ff}')
}

/// Secrets shorter than this are not masked in free text: too many ordinary words would match.
const MIN_SECRET: usize = 6;

/// The secrets this process holds, in every disguise (lower case, as [`normalized`] compares).
static KNOWN: RwLock<Known> = RwLock::new(Known {
    secrets: Vec::new(),
    disguises: Vec::new(),
});

struct Known {
    secrets: Vec<String>,
    disguises: Vec<String>,
}

/// Registers secrets the process holds, to be masked from now on wherever text is sanitised
/// or scrubbed. Values shorter than 6 characters are ignored (too many words would match).
pub fn register<S: AsRef<str>>(values: impl IntoIterator<Item = S>) {
    let fresh: Vec<String> = values
        .into_iter()
        .map(|v| v.as_ref().to_owned())
        .filter(|v| v.chars().count() >= MIN_SECRET)
        .collect();
    if fresh.is_empty() {
        return;
    }
    let mut known = KNOWN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut changed = false;
    for value in fresh {
        if !known.secrets.contains(&value) {
            known.secrets.push(value);
            changed = true;
        }
    }
    if changed {
        let refs: Vec<&str> = known.secrets.iter().map(String::as_str).collect();
        known.disguises = disguises(&refs);
    }
}

/// Every shape `secrets` travel in, lower-cased and normalised: each secret; its base64
/// (standard and URL-safe, with and without padding) and percent-encoding; and the same for
/// every `a:b` pair of them (HTTP Basic's `ACCOUNT_SID:AUTH_TOKEN`). Longest first, so a pair
/// is masked whole before its parts.
fn disguises(secrets: &[&str]) -> Vec<String> {
    let secrets: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|s| s.chars().count() >= MIN_SECRET)
        .collect();
    let mut plain: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    for a in &secrets {
        for b in &secrets {
            if a != b {
                plain.push(format!("{a}:{b}"));
            }
        }
    }
    let mut out = Vec::new();
    for p in &plain {
        out.push(p.clone());
        for engine in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            out.push(engine.encode(p));
        }
        out.push(percent_encoded(p));
    }
    let mut out: Vec<String> = out
        .iter()
        .map(|d| normalized(d).0)
        .filter(|d| d.len() >= MIN_SECRET)
        .collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    out.dedup();
    out
}

/// `text` percent-encoded as a URL's query would carry it (unreserved characters kept).
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `text` as a reader sees it, for matching: without whitespace, control and invisible
/// characters, ASCII letters lower-cased; and for each byte of that, the byte range of the
/// original character it came from.
fn normalized(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || c.is_control() || is_invisible(c) {
            continue;
        }
        let c = c.to_ascii_lowercase();
        out.push(c);
        map.extend(std::iter::repeat_n((i, i + c.len_utf8()), c.len_utf8()));
    }
    (out, map)
}

/// `text` with every occurrence of any of `disguises` (normalised, lower case) replaced by
/// [`MASK`], wherever the invisible characters between its letters were.
fn mask_disguises(text: &str, disguises: &[String]) -> String {
    if disguises.is_empty() {
        return text.to_owned();
    }
    let (norm, map) = normalized(text);
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for d in disguises {
        let mut from = 0;
        while let Some(at) = norm[from..].find(d.as_str()) {
            let (start, end) = (from + at, from + at + d.len());
            ranges.push((map[start].0, map[end - 1].1));
            from = end;
        }
    }
    if ranges.is_empty() {
        return text.to_owned();
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in ranges {
        if end <= at {
            continue;
        }
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// `text` with the registered secrets masked.
fn mask_known(text: &str) -> String {
    let known = KNOWN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    mask_disguises(text, &known.disguises)
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

/// `text` with `secrets` and every registered secret masked, in every disguise [`register`]
/// lists (for error bodies and log lines that might echo a credential back).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    Scrubber::new(secrets).scrub(text)
}

/// [`scrub`] for many texts and the same secrets: their disguises are worked out once (a
/// report masks every line and every JSON string with the same few secrets).
pub struct Scrubber {
    disguises: Vec<String>,
}

impl Scrubber {
    pub fn new(secrets: &[&str]) -> Self {
        Self {
            disguises: disguises(secrets),
        }
    }

    /// `text` as [`scrub`] masks it.
    pub fn scrub(&self, text: &str) -> String {
        let text = mask_known(text);
        mask_disguises(&text, &self.disguises)
    }
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

    /// A tiny deterministic generator: the property tests are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn hex(&mut self, len: usize) -> String {
            (0..len)
                .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
                .collect()
        }

        fn words(&mut self) -> String {
            const WORDS: &[&str] = &[
                "error",
                "Twilio",
                "said",
                "{\"code\":",
                "20003,",
                "Authorization:",
                "ok",
                "→",
                "ünïcode",
                "日本",
                "📱",
                "[OTP]",
                "=",
                "\"",
                "token",
                "",
            ];
            (0..self.below(6))
                .map(|_| WORDS[self.below(WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ")
        }
    }

    /// Every disguise of the red-team list, for a token and its account SID.
    fn disguised(rng: &mut Rng, sid: &str, token: &str) -> Vec<String> {
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let url64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
        let split_at = 1 + rng.below(token.len() - 2);
        let (a, b) = token.split_at(split_at);
        vec![
            token.to_owned(),
            token.to_uppercase(),
            format!("{a}\u{7}{b}"),
            format!("{a}\u{85}{b}"),
            format!("{a}\n{b}"),
            format!("{a}\u{200b}{b}"),
            format!("{a}\u{202e}{b}"),
            format!("{a}\u{ad}{b}"),
            format!("Basic {}", b64(&format!("{sid}:{token}"))),
            format!("Basic {}", url64(&format!("{sid}:{token}"))),
            b64(token),
            url64(token),
            percent_encoded(&format!("{sid}:{token}")),
        ]
    }

    /// Whether any trace of `token` survives in `out`: as it is (normalised as a reader sees
    /// it), or in one of its encodings.
    fn survives(out: &str, sid: &str, token: &str) -> bool {
        let (seen, _) = normalized(out);
        disguises(&[sid, token])
            .iter()
            .any(|d| seen.contains(d.as_str()))
    }

    #[test]
    fn random_secrets_in_every_disguise_never_survive() {
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        for _ in 0..300 {
            let sid = format!("AC{}", rng.hex(32));
            let token = rng.hex(32);
            for shape in disguised(&mut rng, &sid, &token) {
                let text = format!("{} {shape} {}", rng.words(), rng.words());
                let scrubbed = scrub(&text, &[&sid, &token]);
                assert!(
                    !survives(&scrubbed, &sid, &token),
                    "{text:?} → {scrubbed:?}"
                );
                assert!(scrubbed.contains(MASK), "{text:?} → {scrubbed:?}");
                let sanitised = scrub(&sanitize(&text), &[&sid, &token]);
                assert!(
                    !survives(&sanitised, &sid, &token),
                    "{text:?} → {sanitised:?}"
                );
            }
        }
    }

    #[test]
    fn registered_secrets_are_masked_by_sanitize_in_every_disguise() {
        let mut rng = Rng(0xfeed_0bad_f00d_0001);
        let sid = format!("AC{}", rng.hex(32));
        let token = rng.hex(32);
        register([&sid, &token]);
        for shape in disguised(&mut rng, &sid, &token) {
            let text = format!("Twilio said: {shape}.");
            let out = sanitize(&text);
            assert!(!survives(&out, &sid, &token), "{text:?} → {out:?}");
            assert!(
                out.starts_with("Twilio said: ") && out.ends_with('.'),
                "{out:?}"
            );
        }
        // Ordinary text around it is untouched.
        assert_eq!(sanitize("no secret here"), "no secret here");
    }

    #[test]
    fn hostile_unicode_is_made_terminal_safe() {
        let cases = [
            ("a\u{2028}b\u{2029}c", "a b c"),
            ("soft\u{ad}hyphen", "softhyphen"),
            ("bidi \u{202e}dlrow\u{202c} x", "bidi dlrow x"),
            ("zero\u{200b}width\u{200d}joiner\u{feff}", "zerowidthjoiner"),
            ("heart \u{2764}\u{fe0f}", "heart \u{2764}"),
            ("flag \u{1f1fa}\u{1f1f8}", "flag US"),
            // A lone combining mark is dropped; on a letter it stays (two at most).
            ("\u{301}x e\u{301}", "x e\u{301}"),
            ("z\u{301}\u{302}\u{303}\u{304}", "z\u{301}\u{302}"),
            // Hangul: a vowel jamo only after a leading jamo.
            ("\u{1100}\u{1161} a\u{1161}", "\u{1100}\u{1161} a"),
            ("c1\u{85}c2\u{9b}", "c1 c2 "),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
        // What is left is measured as ratatui draws it: one cell per column, no surprises.
        for (input, _) in cases {
            let out = sanitize(input);
            let width: usize = out.chars().map(|c| c.width().unwrap_or(0)).sum();
            assert_eq!(
                width,
                ratatui::text::Span::raw(out.clone()).width(),
                "{out:?}"
            );
        }
    }

    #[test]
    fn scrubs_secrets() {
        assert_eq!(
            scrub("token=abcdef123 ok", &["abcdef123"]),
            format!("token={MASK} ok")
        );
    }
}
