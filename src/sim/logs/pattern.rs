//! CloudWatch Logs filter patterns for unstructured log events, as `FilterLogEvents` takes
//! them: plain terms (all must appear), `"quoted phrases"` (with `\"` escapes), `?term` (at
//! least one of the `?` terms must appear) and `-term` (must not appear); matching is
//! case-sensitive substring search, and `""` or `" "` match every event, as AWS documents.
//! JSON (`{ $.x = … }`), space-delimited (`[a, b]`) and regex (`%…%`) patterns are recognised
//! but not implemented: they are refused with [`PatternError::Unsupported`] rather than
//! silently matching everything (which is what moto does).

/// A parsed filter pattern over unstructured text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterPattern {
    /// Terms that must all appear.
    required: Vec<String>,
    /// `?` terms: when any are given, at least one must appear.
    optional: Vec<String>,
    /// `-` terms: none may appear.
    excluded: Vec<String>,
}

/// Why a filter pattern was refused; both become `InvalidParameterException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern is malformed (unbalanced quotes, braces or brackets).
    #[error("Invalid filter pattern: {0}")]
    Invalid(&'static str),
    /// A valid pattern kind of AWS's that the simulator does not implement.
    #[error("unsupported filter pattern: the simulator does not implement {0} filter patterns")]
    Unsupported(&'static str),
}

/// How a term takes part in the match.
#[derive(Debug, Clone, Copy)]
enum Role {
    Required,
    Optional,
    Excluded,
}

impl FilterPattern {
    /// Parses AWS's term syntax; an empty pattern matches every event.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let trimmed = pattern.trim();
        if let Some(kind) = structured_kind(trimmed)? {
            return Err(PatternError::Unsupported(kind));
        }
        let mut parsed = Self::default();
        let mut chars = trimmed.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let role = match first {
                '?' => Role::Optional,
                '-' => Role::Excluded,
                _ => Role::Required,
            };
            if !matches!(role, Role::Required) {
                chars.next();
                // A lone `?` or `-` is an ordinary term, not an operator.
                if chars.peek().is_none_or(|c| c.is_whitespace()) {
                    parsed.push(Role::Required, first.to_string());
                    continue;
                }
            }
            let term = if chars.next_if_eq(&'"').is_some() {
                quoted(&mut chars)?
            } else {
                let mut term = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    if c == '"' {
                        return Err(PatternError::Invalid("unbalanced quotes"));
                    }
                    term.push(c);
                }
                if term.len() >= 2 && term.starts_with('%') && term.ends_with('%') {
                    return Err(PatternError::Unsupported("regex (%…%)"));
                }
                term
            };
            parsed.push(role, term);
        }
        Ok(parsed)
    }

    /// Whether `message` matches: all plain terms, one of the `?` terms, none of the `-` terms.
    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| contains(message, t))
            && (self.optional.is_empty() || self.optional.iter().any(|t| contains(message, t)))
            && !self.excluded.iter().any(|t| contains(message, t))
    }

    /// Whether this pattern lets every event through.
    pub fn is_match_all(&self) -> bool {
        self.optional.is_empty()
            && self.excluded.is_empty()
            && self.required.iter().all(|t| t.trim().is_empty())
    }

    fn push(&mut self, role: Role, term: String) {
        match role {
            Role::Required => self.required.push(term),
            Role::Optional => self.optional.push(term),
            Role::Excluded => self.excluded.push(term),
        }
    }
}

/// Recognises JSON and space-delimited patterns, checking only that they are closed.
fn structured_kind(pattern: &str) -> Result<Option<&'static str>, PatternError> {
    let (kind, close) = match pattern.chars().next() {
        Some('{') => ("JSON ({ $.field … })", '}'),
        Some('[') => ("space-delimited ([a, b])", ']'),
        _ => return Ok(None),
    };
    if pattern.ends_with(close) {
        Ok(Some(kind))
    } else if close == '}' {
        Err(PatternError::Invalid("unbalanced braces"))
    } else {
        Err(PatternError::Invalid("unbalanced brackets"))
    }
}

/// Reads a phrase after its opening quote, up to the closing one, undoing `\"` and `\\`.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, PatternError> {
    let mut phrase = String::new();
    loop {
        match chars.next() {
            None => return Err(PatternError::Invalid("unbalanced quotes")),
            Some('"') => break,
            Some('\\') => match chars.next() {
                Some(c @ ('"' | '\\')) => phrase.push(c),
                Some(c) => {
                    phrase.push('\\');
                    phrase.push(c);
                }
                None => return Err(PatternError::Invalid("unbalanced quotes")),
            },
            Some(c) => phrase.push(c),
        }
    }
    if chars.peek().is_some_and(|c| !c.is_whitespace()) {
        return Err(PatternError::Invalid("text after a closing quote"));
    }
    Ok(phrase)
}

/// Case-sensitive substring search; a blank term (`" "`) matches everything, as documented.
fn contains(message: &str, term: &str) -> bool {
    term.trim().is_empty() || message.contains(term)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGES: [&str; 6] = [
        "[OTP] Using Twilio Verify provider",
        "[OTP] OTP sent successfully phone=***6318",
        "ERROR Twilio error: Invalid credentials",
        "ERROR Exiting worker",
        "WARN slow request \"otp/start\" 30s",
        "GET /health 200",
    ];

    /// (pattern, indices of MESSAGES it matches)
    const MATCH_CASES: &[(&str, &[usize])] = &[
        ("", &[0, 1, 2, 3, 4, 5]),
        ("   ", &[0, 1, 2, 3, 4, 5]),
        ("\" \"", &[0, 1, 2, 3, 4, 5]),
        ("\"\"", &[0, 1, 2, 3, 4, 5]),
        ("OTP", &[0, 1]),
        ("otp", &[4]),
        // Unquoted, `[OTP]` would be a space-delimited pattern, as in CloudWatch.
        ("\"[OTP]\"", &[0, 1]),
        ("ERROR Twilio", &[2]),
        ("Twilio  ERROR", &[2]),
        ("ERROR -Exiting", &[2]),
        ("\"ERROR\" -\"Exiting\"", &[2]),
        ("-ERROR", &[0, 1, 4, 5]),
        ("?ERROR ?WARN", &[2, 3, 4]),
        ("?WARN ?health", &[4, 5]),
        ("OTP ?sent ?Using", &[0, 1]),
        ("?ERROR ?WARN -Exiting", &[2, 4]),
        ("\"OTP sent successfully\"", &[1]),
        ("\"sent OTP\"", &[]),
        ("\"Invalid credentials\" Twilio", &[2]),
        ("\"\\\"otp/start\\\"\"", &[4]),
        ("\"[OTP] Using Twilio Verify provider\"", &[0]),
        ("-\"Twilio\"", &[1, 3, 4, 5]),
        ("?", &[]),
        ("200 -", &[]),
        ("nothing", &[]),
    ];

    #[test]
    fn matches_like_cloudwatch() {
        for (pattern, expected) in MATCH_CASES {
            let parsed = FilterPattern::parse(pattern)
                .unwrap_or_else(|e| panic!("{pattern:?} should parse: {e}"));
            let got: Vec<usize> = MESSAGES
                .iter()
                .enumerate()
                .filter(|(_, m)| parsed.matches(m))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(&got, expected, "pattern {pattern:?}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        let cases: &[(&str, PatternError)] = &[
            ("\"OTP", PatternError::Invalid("unbalanced quotes")),
            ("OTP\"", PatternError::Invalid("unbalanced quotes")),
            ("a\"b", PatternError::Invalid("unbalanced quotes")),
            ("\"abc\\\"", PatternError::Invalid("unbalanced quotes")),
            (
                "\"abc\"def",
                PatternError::Invalid("text after a closing quote"),
            ),
            (
                "{ $.level = \"ERROR\" ",
                PatternError::Invalid("unbalanced braces"),
            ),
            ("[ip, user", PatternError::Invalid("unbalanced brackets")),
            (
                "{ $.level = \"ERROR\" }",
                PatternError::Unsupported("JSON ({ $.field … })"),
            ),
            (
                "  [ip, user, status=5*]",
                PatternError::Unsupported("space-delimited ([a, b])"),
            ),
            (
                "[OTP]",
                PatternError::Unsupported("space-delimited ([a, b])"),
            ),
            ("%ERR[O]R%", PatternError::Unsupported("regex (%…%)")),
        ];
        for (pattern, expected) in cases {
            assert_eq!(
                FilterPattern::parse(pattern).as_ref(),
                Err(expected),
                "pattern {pattern:?}"
            );
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        let invalid = FilterPattern::parse("\"x").expect_err("unbalanced");
        assert!(invalid.to_string().starts_with("Invalid filter pattern"));
        let unsupported = FilterPattern::parse("{ $.x = 1 }").expect_err("json");
        assert!(unsupported
            .to_string()
            .starts_with("unsupported filter pattern"));
    }

    #[test]
    fn match_all_is_recognised() {
        for pattern in ["", " ", "\" \""] {
            assert!(FilterPattern::parse(pattern).is_ok_and(|p| p.is_match_all()));
        }
        assert!(FilterPattern::parse("OTP").is_ok_and(|p| !p.is_match_all()));
    }
}
