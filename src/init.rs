//! `otp-console init`: the service that sends the OTPs, found in the account the credentials
//! see, written down as a config file. [`discover`] reads the account (ECS: ListClusters,
//! ListServices, DescribeServices, DescribeTaskDefinition, the load balancer's listeners; App
//! Runner: ListServices, DescribeService) into [`Candidate`]s, the services whose app
//! container reads the runbook's variables; [`check_url`] asks each candidate base URL for
//! `/health`; [`render`] writes the commented TOML. Nothing here holds a secret: variables are
//! read by name, and only https URLs of plain variables (their credentials, query and
//! fragment dropped) are ever taken from a value.

use std::time::{Duration, Instant};

use crate::config::Platform;
use crate::redact;

pub mod discover;

/// A service whose app container reads the runbook's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub platform: Platform,
    /// ECS's cluster name (none on App Runner).
    pub cluster: Option<String>,
    /// ECS's service name, or App Runner's service ARN.
    pub service: String,
    /// The service's name, as people call it.
    pub name: String,
    /// The container that serves traffic (the task definition's, or the App Runner service).
    pub container: String,
    /// Where its configuration comes from: `nerava-backend:42`, or App Runner's service.
    pub revision: String,
    /// The runbook's variables it reads, by name.
    pub reads: Vec<String>,
    pub log_group: Option<String>,
    /// The log group's region when the container names one.
    pub log_region: Option<String>,
    /// Candidate base URLs, in the order they are checked.
    pub urls: Vec<UrlCandidate>,
}

impl Candidate {
    /// What it is, in a few words: `ECS nerava-cluster/nerava-backend`.
    pub fn label(&self) -> String {
        match &self.cluster {
            Some(cluster) => format!("ECS {cluster}/{}", self.name),
            None => format!("App Runner {}", self.name),
        }
    }

    /// Where its variables are: `container api of nerava-backend:42 · reads OTP_PROVIDER, …`.
    pub fn detail(&self) -> String {
        let reads = self.reads.join(", ");
        match self.platform {
            Platform::Ecs => format!(
                "container {} of {} · reads {reads}",
                self.container, self.revision
            ),
            Platform::AppRunner => format!("its service configuration · reads {reads}"),
        }
    }

    /// Whether `wanted` (a name, an ARN, or `cluster/name`) names this service.
    pub fn is(&self, wanted: &str) -> bool {
        wanted == self.name
            || wanted == self.service
            || self
                .cluster
                .as_ref()
                .is_some_and(|c| wanted == format!("{c}/{}", self.name))
            || (wanted.starts_with("arn:aws:ecs:")
                && wanted.ends_with(&format!("/{}", self.name))
                && self
                    .cluster
                    .as_ref()
                    .is_some_and(|c| wanted.contains(&format!(":service/{c}/"))))
    }
}

/// A service the account has that does not send OTPs, and why it was passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    pub label: String,
    pub why: String,
}

/// What discovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub candidates: Vec<Candidate>,
    pub passed_over: Vec<PassedOver>,
    /// What could not be read (a platform refused, a load balancer not described), one line each.
    pub notes: Vec<String>,
}

/// A base URL the account suggests, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCandidate {
    pub url: String,
    pub from: String,
}

/// The runbook's variables: `OTP_PROVIDER` and any `TWILIO_*`.
pub fn is_runbook_variable(name: &str) -> bool {
    name == "OTP_PROVIDER" || name.starts_with("TWILIO_")
}

/// A base URL from a plain variable: its name ends in `_URL` (`PUBLIC_BASE_URL`,
/// `API_URL`), is not a secret's name, and its value is an https URL. The URL's user, password,
/// query and fragment are dropped (they are where a credential would hide), and its trailing `/`.
pub fn url_of_variable(name: &str, value: &str) -> Option<String> {
    if !name.to_ascii_uppercase().ends_with("_URL") || redact::is_secret_name(name) {
        return None;
    }
    let mut url = reqwest::Url::parse(value.trim()).ok()?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    Some(redact::sanitize(url.as_str().trim_end_matches('/')))
}

/// A load balancer listener's base URL: `https://DNS` on 443, `http://DNS` on 80, else with
/// the port.
pub fn listener_url(dns: &str, protocol: &str, port: i32) -> Option<String> {
    let scheme = match protocol {
        "HTTPS" => "https",
        "HTTP" => "http",
        _ => return None,
    };
    let default = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
    let host = redact::sanitize(dns);
    Some(if default {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    })
}

/// What a base URL's `/health` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// A 2xx, in this many milliseconds.
    Answered { status: u16, ms: u64 },
    /// Another status, an error or no answer in time: why, in a few words.
    Failed(String),
    /// Not asked, and why (an earlier candidate answered, `--base-url` was given).
    NotChecked(&'static str),
}

impl Health {
    pub fn line(&self) -> String {
        match self {
            Self::Answered { status, ms } => format!("{status} in {ms} ms"),
            Self::Failed(why) => why.clone(),
            Self::NotChecked(why) => format!("not checked ({why})"),
        }
    }
}

/// How long one `/health` may take.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET {base}{health_path}` once, as the console would (the system's proxy settings apply).
pub async fn check_url(client: &reqwest::Client, base: &str, health_path: &str) -> Health {
    let started = Instant::now();
    let url = format!("{}{health_path}", base.trim_end_matches('/'));
    match client.get(&url).timeout(HEALTH_TIMEOUT).send().await {
        Ok(r) if r.status().is_success() => Health::Answered {
            status: r.status().as_u16(),
            ms: started.elapsed().as_millis() as u64,
        },
        Ok(r) => Health::Failed(format!("answered {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => {
            Health::Failed(format!("no answer in {} s", HEALTH_TIMEOUT.as_secs()))
        }
        Err(e) if e.is_connect() => Health::Failed("could not connect".into()),
        Err(_) => Health::Failed("the request failed".into()),
    }
}

/// What `render` writes besides the candidate: the operator's own settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Write the target as `[contexts.NAME]` tables instead of the top level.
    pub context: Option<String>,
    /// With `context`, the file is new: name it `default_context` too.
    pub default_context: bool,
    /// When it was written, as people read it.
    pub written_at: String,
}

/// The commented TOML for `candidate`, with `base_url` the first URL that answered (`checked`
/// in the order they were tried), else the first candidate, marked as unanswered.
pub fn render(candidate: &Candidate, checked: &[(UrlCandidate, Health)], s: &Settings) -> String {
    let mut out: Vec<String> = Vec::new();
    let section = |name: &str| match &s.context {
        Some(c) => format!("[contexts.{c}.{name}]"),
        None => format!("[{name}]"),
    };
    if s.context.is_none() || s.default_context {
        out.push("# otp-console configuration, written by `otp-console init`.".into());
        out.push(
            "# Every key is documented in the README's configuration section; no secret is ever written here."
                .into(),
        );
        if let Some(c) = s.context.as_ref().filter(|_| s.default_context) {
            out.push(format!("default_context = \"{c}\""));
        }
        out.push(String::new());
    }
    out.push(format!(
        "# {} — found by `otp-console init` at {}: {}.",
        candidate.label(),
        s.written_at,
        candidate.detail()
    ));
    out.push(section("api"));
    out.extend(base_url_lines(checked));
    out.push(String::new());
    out.push(section("aws"));
    out.push(format!("region = \"{}\"", s.region));
    if let Some(p) = &s.profile {
        out.push(format!("profile = \"{p}\""));
    }
    if let Some(url) = &s.endpoint_url {
        out.push("# The AWS endpoint init was pointed at (the simulator, moto).".into());
        out.push(format!("endpoint_url = \"{url}\""));
    }
    let from = match candidate.platform {
        Platform::Ecs => {
            out.push("platform = \"ecs\"".into());
            if let Some(c) = &candidate.cluster {
                out.push(format!("cluster = \"{c}\""));
            }
            "the container's logConfiguration (awslogs-group)"
        }
        Platform::AppRunner => {
            out.push("platform = \"apprunner\"".into());
            "App Runner's application log group"
        }
    };
    out.push(format!("service = \"{}\"", candidate.service));
    if let Some(group) = &candidate.log_group {
        out.push(format!("# From {from}."));
        out.push(format!("log_group = \"{group}\""));
    }
    if let Some(region) = candidate.log_region.as_ref().filter(|r| **r != s.region) {
        out.push(format!("log_region = \"{region}\""));
    }
    out.push(String::new());
    out.join("\n")
}

/// `base_url`, with every candidate and what its `/health` said as comments above it.
fn base_url_lines(checked: &[(UrlCandidate, Health)]) -> Vec<String> {
    let Some((first, _)) = checked.first() else {
        return vec![
            "# No base URL was found in the account: set the API's (https://…).".into(),
            "base_url = \"https://api.example.com\"".into(),
        ];
    };
    let mut out = vec![
        "# The API's base URL: candidates found in the account, and what GET /health said."
            .to_owned(),
    ];
    for (c, health) in checked {
        out.push(format!("#   {}  ({}): {}", c.url, c.from, health.line()));
    }
    let answered = checked
        .iter()
        .find(|(_, h)| matches!(h, Health::Answered { .. }));
    if answered.is_none() {
        out.push(
            "# None answered /health from here: check the first one, or set the right one.".into(),
        );
    }
    out.push(format!(
        "base_url = \"{}\"",
        answered.map_or(&first.url, |(c, _)| &c.url)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_of_plain_url_variables_are_taken_without_their_credentials() {
        let cases = [
            (
                "PUBLIC_BASE_URL",
                "https://api.nerava.network/",
                Some("https://api.nerava.network"),
            ),
            (
                "API_URL",
                "https://u:p@api.example.com/v1?token=x#f",
                Some("https://api.example.com/v1"),
            ),
            ("REDIS_URL", "redis://cache:6379", None),
            ("DATABASE_URL", "https://db.example.com", None),
            ("WEBHOOK_SECRET_URL", "https://hooks.example.com", None),
            ("CALLBACK_URL", "http://plain.example.com", None),
            ("HOMEPAGE", "https://nerava.network", None),
            ("API_URL", "not a url", None),
        ];
        for (name, value, want) in cases {
            assert_eq!(url_of_variable(name, value).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn listeners_give_urls_with_their_ports_when_not_the_default() {
        assert_eq!(
            listener_url("alb.example.com", "HTTPS", 443).as_deref(),
            Some("https://alb.example.com")
        );
        assert_eq!(
            listener_url("alb.example.com", "HTTP", 8080).as_deref(),
            Some("http://alb.example.com:8080")
        );
        assert_eq!(listener_url("nlb.example.com", "TCP", 443), None);
    }

    fn candidate() -> Candidate {
        Candidate {
            platform: Platform::Ecs,
            cluster: Some("nerava-cluster".into()),
            service: "nerava-backend".into(),
            name: "nerava-backend".into(),
            container: "nerava-backend".into(),
            revision: "nerava-backend:42".into(),
            reads: vec!["OTP_PROVIDER".into(), "TWILIO_ACCOUNT_SID".into()],
            log_group: Some("/ecs/nerava-backend".into()),
            log_region: Some("us-east-1".into()),
            urls: Vec::new(),
        }
    }

    #[test]
    fn the_rendered_file_is_a_valid_config_of_the_service_and_its_first_answering_url() {
        let checked = vec![
            (
                UrlCandidate {
                    url: "https://alb.example.com".into(),
                    from: "load balancer".into(),
                },
                Health::Failed("could not connect".into()),
            ),
            (
                UrlCandidate {
                    url: "https://api.nerava.network".into(),
                    from: "PUBLIC_BASE_URL".into(),
                },
                Health::Answered {
                    status: 200,
                    ms: 40,
                },
            ),
        ];
        let settings = Settings {
            region: "us-east-1".into(),
            written_at: "2026-12-07 23:00 UTC".into(),
            ..Settings::default()
        };
        let text = render(&candidate(), &checked, &settings);
        let config = crate::config::Config::from_toml_str(&text, "init").expect(&text);
        assert_eq!(config.api.base_url, "https://api.nerava.network");
        assert_eq!(config.aws.cluster, "nerava-cluster");
        assert_eq!(config.aws.log_group, "/ecs/nerava-backend");
        assert!(text.contains("could not connect"), "{text}");
        // As a context of a new file, and as one added to a file that has a top level.
        let settings = Settings {
            context: Some("prod".into()),
            default_context: true,
            ..settings
        };
        let text = render(&candidate(), &checked, &settings);
        let config = crate::config::Config::from_toml_str(&text, "init").expect(&text);
        assert_eq!(config.context.map(|c| c.name).as_deref(), Some("prod"));
        assert_eq!(config.aws.service, "nerava-backend");
    }

    #[test]
    fn a_service_is_named_by_its_name_arn_or_cluster_and_name() {
        let c = candidate();
        for wanted in [
            "nerava-backend",
            "nerava-cluster/nerava-backend",
            "arn:aws:ecs:us-east-1:123456789012:service/nerava-cluster/nerava-backend",
        ] {
            assert!(c.is(wanted), "{wanted}");
        }
        assert!(!c.is("nerava-worker"));
        assert!(!c.is("arn:aws:ecs:us-east-1:123456789012:service/other/nerava-backend"));
    }
}
