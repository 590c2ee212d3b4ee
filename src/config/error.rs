//! Config errors as one line each: `file:line:col: message`. toml's errors carry a byte span,
//! turned here into a line and column and a dotted key path (`twilio.credentials`) so the
//! message names the key; errors found after parsing locate their key by scanning the text.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong loading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` named a file that does not exist.
    #[error("{}: no such config file", path.display())]
    NotFound {
        /// The path as given, joined to the working directory.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{}: cannot read config file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not one to read: not a regular file, too large, not text.
    #[error("{}: {message}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why, in one line.
        message: String,
    },
    /// The text is wrong: syntax, unknown key, bad value, a secret, a failed check.
    #[error("{at}: {message}")]
    File {
        /// Where: origin, and line and column when known.
        at: Location,
        /// What kind of mistake, for callers and tests.
        kind: ErrorKind,
        /// One line, never containing a secret's value.
        message: String,
    },
    /// A command-line flag that overrides a config key has a bad value (`--region ''`).
    #[error("{flag} {message}")]
    Flag {
        /// The flag as typed: `--profile`, `--region`.
        flag: &'static str,
        /// What is wrong and what to do, one line.
        message: String,
    },
    /// Serialising the configuration failed (should not happen for valid values).
    #[error("cannot write the configuration as TOML: {0}")]
    Serialize(String),
}

/// The kind of mistake in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not valid TOML.
    Syntax,
    /// A key the schema does not know (often a typo).
    UnknownKey,
    /// A value of the wrong type or outside an enum.
    InvalidValue,
    /// A key that looks like it holds a secret.
    Secret,
    /// Parsed, but failed a check (URL, path, E.164, rule).
    Check,
}

/// Where an error is: the origin (usually the path) and, when known, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as shown to the user.
    pub origin: String,
    /// Line and column, 1-based.
    pub line_col: Option<(usize, usize)>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.origin),
            None => f.write_str(&self.origin),
        }
    }
}

impl ConfigError {
    /// An error in the text at `line_col`.
    pub(super) fn at(
        origin: &str,
        line_col: Option<(usize, usize)>,
        kind: ErrorKind,
        message: String,
    ) -> Self {
        Self::File {
            at: Location {
                origin: origin.to_owned(),
                line_col,
            },
            kind,
            message,
        }
    }
}

/// Turns a toml error into one line naming the key, with the line and column of its span.
pub(super) fn from_toml(e: &toml::de::Error, text: &str, origin: &str) -> ConfigError {
    let message = one_line(e.message());
    let Some(span) = e.span() else {
        return ConfigError::at(origin, None, ErrorKind::Syntax, quotes(&message));
    };
    let line_col = Some(line_col(text, span.start));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let mut table = key_path_at(text, span.start);
        if table.last().is_some_and(|last| last == key) {
            table.pop();
        }
        let section = if table.is_empty() {
            String::new()
        } else {
            format!(" in [{}]", table.join("."))
        };
        let expected = expected
            .trim_start_matches(',')
            .trim()
            .replace('`', "")
            .replace("there are no fields", "no keys are allowed here");
        let message = format!("unknown key \"{key}\"{section}; {expected}");
        return ConfigError::at(origin, line_col, ErrorKind::UnknownKey, message);
    }
    if is_value_position(text, span.start) {
        let path = key_path_at(text, span.start).join(".");
        let message = format!("invalid value for {path}: {}", quotes(&message));
        return ConfigError::at(origin, line_col, ErrorKind::InvalidValue, message);
    }
    ConfigError::at(origin, line_col, ErrorKind::Syntax, quotes(&message))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Line and column of the key `path` (e.g. `["aws", "region"]`), found by scanning the text:
/// `[table]` headers, then `key =` lines, including dotted keys. Inline tables are not searched.
pub(super) fn locate_key(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut table: Vec<String> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(header) = parse_header(trimmed) {
            table = header;
            continue;
        }
        let Some(key) = parse_key(trimmed) else {
            continue;
        };
        let full: Vec<&str> = table
            .iter()
            .map(String::as_str)
            .chain(key.iter().map(String::as_str))
            .collect();
        if full == path {
            let col = line[..line.len() - trimmed.len()].chars().count() + 1;
            return Some((index + 1, col));
        }
    }
    None
}

/// The dotted key path of the line holding byte `offset`: the enclosing header plus the key.
fn key_path_at(text: &str, offset: usize) -> Vec<String> {
    let (line_no, _) = line_col(text, offset);
    let mut table = Vec::new();
    let mut key = Vec::new();
    for line in text.lines().take(line_no) {
        let trimmed = line.trim_start();
        if let Some(header) = parse_header(trimmed) {
            table = header;
            key.clear();
        } else {
            key = parse_key(trimmed).unwrap_or_default();
        }
    }
    table.extend(key);
    table
}

/// Whether byte `offset` lies after the `=` of its line (a value, not a key or header).
fn is_value_position(text: &str, offset: usize) -> bool {
    let (line_no, col) = line_col(text, offset);
    text.lines()
        .nth(line_no - 1)
        .is_some_and(|line| line.chars().take(col - 1).any(|c| c == '='))
}

/// `[a.b]` or `[[a]]` → `["a", "b"]` / `["a"]`.
fn parse_header(line: &str) -> Option<Vec<String>> {
    let inner = line.strip_prefix('[')?;
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    let end = inner.find(']')?;
    Some(split_dotted(&inner[..end]))
}

/// `a.b = 1` → `["a", "b"]`; `None` for blank and comment lines.
fn parse_key(line: &str) -> Option<Vec<String>> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    Some(split_dotted(key))
}

fn split_dotted(key: &str) -> Vec<String> {
    key.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\'').to_owned())
        .collect()
}

/// Joins a multi-line toml message into one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// serde quotes names in backticks; the console's messages use double quotes.
fn quotes(message: &str) -> String {
    message.replace('`', "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_chars() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 10), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
        // Inside a multi-byte char: rounds down to its start.
        assert_eq!(line_col(text, 8), (2, 2));
    }

    #[test]
    fn locate_key_follows_headers_and_dotted_keys() {
        let text = "top = 1\n[aws]\n  region = \"x\"\n[twilio.extra]\nk = 1\n[[rules]]\nname = \"A\"\napi.base_url = \"u\"\n";
        assert_eq!(locate_key(text, &["top"]), Some((1, 1)));
        assert_eq!(locate_key(text, &["aws", "region"]), Some((3, 3)));
        assert_eq!(locate_key(text, &["twilio", "extra", "k"]), Some((5, 1)));
        assert_eq!(locate_key(text, &["rules", "name"]), Some((7, 1)));
        assert_eq!(
            locate_key(text, &["rules", "api", "base_url"]),
            Some((8, 1))
        );
        assert_eq!(locate_key(text, &["aws", "cluster"]), None);
    }

    #[test]
    fn location_display() {
        let mut at = Location {
            origin: "f.toml".into(),
            line_col: Some((7, 1)),
        };
        assert_eq!(at.to_string(), "f.toml:7:1");
        at.line_col = None;
        assert_eq!(at.to_string(), "f.toml");
    }
}
