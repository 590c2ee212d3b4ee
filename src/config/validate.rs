//! Checks that serde cannot express, run on a parsed file: keys that look like secrets are
//! refused before anything else, then URLs, paths, the test phone and names are checked. Each
//! failure is located by its key in the text, so it reads `file:line:col: key ...`.

use super::error::{locate_key, ConfigError, ErrorKind};
use super::rules::is_e164;
use super::Config;

/// Substrings of key names that suggest a secret value.
const SECRET_WORDS: [&str; 8] = [
    "token",
    "secret",
    "password",
    "passwd",
    "private_key",
    "access_key",
    "api_key",
    "apikey",
];

/// Refuses any key that looks like a secret, at any depth; `[[rules]]` is metadata (its
/// `secret = true` flag and variable names) and is not searched.
pub(super) fn reject_secrets(
    table: &toml::Table,
    text: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    let mut path = Vec::new();
    walk(table, &mut path, text, origin)
}

fn walk<'a>(
    table: &'a toml::Table,
    path: &mut Vec<&'a str>,
    text: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    for (key, value) in table {
        if path.is_empty() && key == "rules" {
            continue;
        }
        if looks_secret(key) {
            let mut full = path.clone();
            full.push(key);
            let section = if path.is_empty() {
                String::new()
            } else {
                format!(" in [{}]", path.join("."))
            };
            let message = format!(
                "\"{key}\"{section} looks like a secret, and secrets never go in the config \
                 file: Twilio credentials come from the task definition \
                 (twilio.credentials = \"task-definition\") or from the environment \
                 (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN with twilio.credentials = \
                 \"environment\"); AWS credentials from the SDK's chain (aws.profile)"
            );
            return Err(ConfigError::at(
                origin,
                locate_key(text, &full),
                ErrorKind::Secret,
                message,
            ));
        }
        path.push(key);
        match value {
            toml::Value::Table(inner) => walk(inner, path, text, origin)?,
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(inner) = item {
                        walk(inner, path, text, origin)?;
                    }
                }
            }
            _ => {}
        }
        path.pop();
    }
    Ok(())
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    SECRET_WORDS.iter().any(|word| key.contains(word))
}

/// Checks the values of a parsed config; the first failure becomes the error.
pub(super) fn check(config: &Config, text: &str, origin: &str) -> Result<(), ConfigError> {
    let api = &config.api;
    let aws = &config.aws;
    let tw = &config.twilio;
    let mut checks: Vec<(&str, &str, Result<(), String>)> = vec![
        ("api", "base_url", http_url(&api.base_url)),
        ("api", "health_path", url_path(&api.health_path)),
        ("api", "dev_login_path", url_path(&api.dev_login_path)),
        ("api", "otp_start_path", url_path(&api.otp_start_path)),
        ("api", "otp_verify_path", url_path(&api.otp_verify_path)),
        ("api", "test_phone", phone(&api.test_phone)),
        ("aws", "region", name(&aws.region)),
        (
            "aws",
            "log_region",
            aws.log_region.as_deref().map_or(Ok(()), name),
        ),
        ("aws", "cluster", name(&aws.cluster)),
        ("aws", "service", name(&aws.service)),
        // Empty: the container's own, read at start.
        (
            "aws",
            "log_group",
            if aws.log_group.is_empty() {
                Ok(())
            } else {
                name(&aws.log_group)
            },
        ),
        ("twilio", "api_url", http_url(&tw.api_url)),
        ("twilio", "verify_url", http_url(&tw.verify_url)),
        ("twilio", "status_url", http_url(&tw.status_url)),
        ("twilio", "messaging_url", http_url(&tw.messaging_url)),
        ("twilio", "monitor_url", http_url(&tw.monitor_url)),
        ("changes", "since", config.changes.window_ms().map(|_| ())),
    ];
    if let Some(profile) = &aws.profile {
        let result = name(profile).map_err(|e| format!("{e} (omit it for the default chain)"));
        checks.push(("aws", "profile", result));
    }
    if let Some(url) = &aws.endpoint_url {
        checks.push(("aws", "endpoint_url", http_url(url)));
    }
    checks.push((
        "aws",
        "egress_destinations",
        cidrs(&aws.egress_destinations),
    ));
    for (section, key, result) in checks {
        if let Err(problem) = result {
            return Err(ConfigError::at(
                origin,
                locate_key(text, &[section, key]),
                ErrorKind::Check,
                format!("{section}.{key} {problem}"),
            ));
        }
    }
    Ok(())
}

/// At least one CIDR, each well formed, IPv4 or IPv6 (the network path's destination set: an
/// IPv6 one is evaluated over the IPv6 rules, routes and ACL entries).
fn cidrs(values: &[String]) -> Result<(), String> {
    if values.is_empty() {
        return Err("is empty: give at least one CIDR, e.g. [\"0.0.0.0/0\"]".into());
    }
    match values.iter().find(|c| !crate::network::is_cidr(c)) {
        Some(bad) => Err(format!(
            "has {:?}, which is not a CIDR (e.g. \"54.172.60.0/23\" or \"::/0\")",
            crate::redact::sanitize(bad)
        )),
        None => Ok(()),
    }
}

/// A non-blank name without spaces (region, cluster, profile, ...).
pub(super) fn name(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().any(char::is_whitespace) {
        return Err("must not contain spaces".into());
    }
    Ok(())
}

/// A path starting with `/`, without spaces, query or fragment.
fn url_path(value: &str) -> Result<(), String> {
    if !value.starts_with('/') {
        return Err("must start with '/', e.g. \"/health\"".into());
    }
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
    {
        return Err("must be a plain path, without spaces, '?' or '#'".into());
    }
    Ok(())
}

/// E.164; the number itself is not echoed (phone numbers show as their last 4 elsewhere).
fn phone(value: &str) -> Result<(), String> {
    if is_e164(value) {
        Ok(())
    } else {
        Err("must be an E.164 number: '+' then 8 to 15 digits, e.g. \"+17133056318\"".into())
    }
}

/// `http(s)://host[:port][/path]`. The value is not echoed: it might hold `user:password@`.
fn http_url(value: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("is not an http(s) URL: {why}"));
    let lower = value.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return bad("it must start with http:// or https://");
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces");
    }
    if rest.contains(['?', '#']) {
        return bad("it must not have a query or fragment");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return bad("it must not contain credentials (user:password@)");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return bad("unclosed '[' in the host"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
    if !host_ok {
        return bad("it has no valid host");
    }
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return bad("its port must be a number from 1 to 65535");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        for (url, ok) in [
            ("https://api.nerava.network", true),
            ("http://127.0.0.1:8080", true),
            ("http://localhost:8080/prefix/", true),
            ("HTTPS://API.Twilio.com", true),
            ("http://[::1]:9000", true),
            ("api.nerava.network", false),
            ("ftp://x", false),
            ("https://", false),
            ("https:///path", false),
            ("https://h:0", false),
            ("https://h:99999", false),
            ("https://h:x", false),
            ("https://u:p@h", false),
            ("https://h/a b", false),
            ("https://h?x=1", false),
            ("http://[::1", false),
            ("https://bad host", false),
        ] {
            assert_eq!(http_url(url).is_ok(), ok, "{url}: {:?}", http_url(url));
        }
    }

    #[test]
    fn paths_and_names() {
        assert!(url_path("/v1/auth/otp/start").is_ok());
        assert!(url_path("v1").is_err());
        assert!(url_path("/a?b").is_err());
        assert!(name("us-east-1").is_ok());
        assert!(name("").is_err());
        assert!(name("us east").is_err());
        assert!(cidrs(&["0.0.0.0/0".into(), "54.172.60.0/23".into()]).is_ok());
        assert!(cidrs(&[]).is_err());
        assert!(cidrs(&["54.172.60.0/33".into()]).is_err());
        assert!(cidrs(&["twilio".into()]).is_err());
    }

    #[test]
    fn secret_looking_keys() {
        for key in [
            "auth_token",
            "AUTH-TOKEN",
            "password",
            "secret_access_key",
            "api_key",
            "x_secret",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in ["credentials", "region", "profile", "base_url", "test_phone"] {
            assert!(!looks_secret(key), "{key}");
        }
    }
}
