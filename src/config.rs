//! Configuration: the TOML file that points the console at a deployment. Every key defaults to
//! the runbook's value (`api.nerava.network`, `nerava-cluster`, `/ecs/nerava-backend`, ...), and
//! the runbook's table of environment variables is the built-in [`EnvRules`], overridable by
//! `[[rules]]` entries. [`Config::load`] finds the file (`--config`, then `./otp-console.toml`,
//! then the platform config dir) and returns `None` as its path when there is none, so `main`
//! starts the simulator instead. A bad file yields one `file:line:col: message` error line.
//! Secrets never live here: Twilio credentials come from the task definition or the environment.

/// `[contexts.NAME]`: several targets in one file.
pub mod contexts;
/// Errors with a file, line and column, built from toml's spans or by locating a key.
mod error;
/// The runbook's env-var table as data, and its evaluation against a container's variables.
mod rules;
/// Checks run after parsing: URLs, paths, E.164, and keys that look like secrets.
mod validate;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use error::{ConfigError, ErrorKind, Location};
pub use rules::{
    Condition, EnvRule, EnvRules, EnvSource, EnvView, Forbidden, Format, VarCheck, VarStatus,
    Violation, ViolationKind,
};

/// File name looked up in the current directory.
pub const LOCAL_FILE: &str = "otp-console.toml";
/// Directory under the platform config dir (`dirs::config_dir()`).
pub const APP_DIR: &str = "otp-console";
/// File name inside [`APP_DIR`].
pub const APP_FILE: &str = "config.toml";
/// The example configuration shipped in `assets/`, equal to [`Config::default`].
pub const EXAMPLE_TOML: &str = include_str!("../assets/otp-console.example.toml");

/// The whole configuration; every section is optional in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The backend API probed over HTTP.
    pub api: ApiConfig,
    /// Where the service runs: ECS cluster and service, and its log group.
    pub aws: AwsConfig,
    /// Twilio endpoints and where its credentials come from.
    pub twilio: TwilioConfig,
    /// Env-var rules: the runbook's table, with `[[rules]]` entries replacing or adding by name.
    #[serde(
        deserialize_with = "rules::deserialize_merged",
        skip_serializing_if = "EnvRules::is_builtin"
    )]
    pub rules: EnvRules,
    /// The changes timeline: how far back CloudTrail and Twilio's Monitor are read.
    pub changes: ChangesConfig,
    /// The context this configuration was read for (`[contexts.NAME]`), when the file has
    /// them: the header shows its name first, in its colour.
    #[serde(skip)]
    pub context: Option<contexts::Context>,
}

/// `[changes]`: the window of the changes timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangesConfig {
    /// How far back: `48h`, `90m`, `3d` (`--since` overrides it).
    pub since: String,
}

impl Default for ChangesConfig {
    fn default() -> Self {
        Self {
            since: "48h".into(),
        }
    }
}

impl ChangesConfig {
    /// The window in milliseconds, or why `since` is not one.
    pub fn window_ms(&self) -> Result<i64, String> {
        parse_since(&self.since)
    }
}

/// `48h`, `90m`, `3d`, `600s`: a window of at least a minute and at most 90 days (CloudTrail's
/// event history keeps 90 days).
pub fn parse_since(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a window like 48h, 90m or 3d");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let ms = match unit {
        "s" => n * 1000,
        "m" | "min" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return Err(bad()),
    };
    if !(60_000..=90 * 86_400_000).contains(&ms) {
        return Err(format!(
            "{text:?}: the window must be between 1 minute and 90 days"
        ));
    }
    Ok(ms)
}

/// `[api]`: the backend's base URL, endpoint paths and the phone used for test sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Base URL of the backend, `http(s)://host[:port][/prefix]`.
    pub base_url: String,
    /// Health check path (`{"ok":true}` when up).
    pub health_path: String,
    /// Dev login path, which bypasses Twilio.
    pub dev_login_path: String,
    /// OTP start path, the endpoint that hangs.
    pub otp_start_path: String,
    /// OTP verify path.
    pub otp_verify_path: String,
    /// Phone number for test sends, E.164.
    pub test_phone: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.nerava.network".into(),
            health_path: "/health".into(),
            dev_login_path: "/v1/auth/dev/login".into(),
            otp_start_path: "/v1/auth/otp/start".into(),
            otp_verify_path: "/v1/auth/otp/verify".into(),
            test_phone: "+17133056318".into(),
        }
    }
}

impl ApiConfig {
    /// The full URL of `path` under `base_url`, without a doubled slash.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// Where the service runs: the runbook's two platforms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// An ECS service (`cluster` and `service`).
    #[default]
    Ecs,
    /// An App Runner service (`service` is its ARN or its name; `cluster` is not used).
    AppRunner,
}

impl Platform {
    /// What the header and `check` call it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ecs => "ECS",
            Self::AppRunner => "App Runner",
        }
    }
}

/// `[aws]`: region, credentials profile, endpoint override, and the names of the resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsConfig {
    /// `ecs` (the default) or `apprunner`.
    pub platform: Platform,
    /// AWS region.
    pub region: String,
    /// Named profile for the SDK's credential chain; `None` uses the default chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Endpoint override for ECS and Logs (simulator, moto); `None` for AWS itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// ECS cluster name.
    pub cluster: String,
    /// ECS service name (also the task definition family).
    pub service: String,
    /// Log group of the service; empty (the default): the one the app container's
    /// `logConfiguration` names (`awslogs-group`), read at start, else `/ecs/<service>`.
    pub log_group: String,
    /// The region of the log group when it is not `region`; unset (the default): the app
    /// container's `awslogs-region`, read at start, else `region`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_region: Option<String>,
    /// Filter pattern selecting the OTP log lines.
    pub log_filter: String,
    /// Where the service must reach on TCP 443 (Twilio's API): the destination set the
    /// network path is evaluated to. Default anywhere (`0.0.0.0/0`); narrow it to Twilio's
    /// published ranges when the security group allows only those.
    pub egress_destinations: Vec<String>,
    /// Filter pattern selecting the backend's access lines (real traffic, read apart from
    /// `log_filter`).
    #[serde(default = "default_access_log_filter")]
    pub access_log_filter: String,
}

fn default_access_log_filter() -> String {
    "\"HTTP/1.1\"".into()
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            platform: Platform::Ecs,
            region: "us-east-1".into(),
            profile: None,
            endpoint_url: None,
            cluster: "nerava-cluster".into(),
            service: "nerava-backend".into(),
            log_group: String::new(),
            log_region: None,
            log_filter: "OTP".into(),
            egress_destinations: vec![crate::network::ANYWHERE.into()],
            access_log_filter: default_access_log_filter(),
        }
    }
}

impl AwsConfig {
    /// The log group when neither the config nor the container names one: the ECS console's
    /// own default for an `awslogs` container, `/ecs/<service>`.
    pub fn fallback_log_group(&self) -> String {
        format!("/ecs/{}", self.service)
    }

    /// The SDK configuration CloudWatch Logs is called with: `sdk` in the log group's region
    /// (`log_region`) when that is not the service's.
    pub fn logs_sdk(&self, sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        match self.log_region.as_deref() {
            Some(region) if !region.is_empty() && region != self.region => sdk
                .to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build(),
            _ => sdk.clone(),
        }
    }

    /// The log group to read: the configured one, else [`AwsConfig::fallback_log_group`].
    pub fn log_group_or_fallback(&self) -> String {
        if self.log_group.is_empty() {
            self.fallback_log_group()
        } else {
            self.log_group.clone()
        }
    }

    /// `--profile` and `--region` from the command line, over `[aws] profile` and `region`,
    /// checked as the file's values are (not empty, no spaces). The one place every entry
    /// point (console, `check`, `repair`) applies them.
    pub fn override_with(
        &mut self,
        profile: Option<&str>,
        region: Option<&str>,
    ) -> Result<(), ConfigError> {
        // Both checked before either is applied: a refused flag leaves the config as it was.
        if let Some(profile) = profile {
            validate::name(profile).map_err(|problem| ConfigError::Flag {
                flag: "--profile",
                message: format!("{problem} (a profile of ~/.aws/config, e.g. --profile prod; leave the flag out for aws.profile or the default chain)"),
            })?;
        }
        if let Some(region) = region {
            validate::name(region).map_err(|problem| ConfigError::Flag {
                flag: "--region",
                message: format!(
                    "{problem} (e.g. --region us-east-1; leave the flag out for aws.region)"
                ),
            })?;
            region.clone_into(&mut self.region);
        }
        if let Some(profile) = profile {
            self.profile = Some(profile.to_owned());
        }
        Ok(())
    }
}

/// `[twilio]`: base URLs (overridable for emulators) and the credential source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioConfig {
    /// REST API base URL (Accounts).
    pub api_url: String,
    /// Verify API base URL (Services, Verifications).
    pub verify_url: String,
    /// Public status page base URL.
    pub status_url: String,
    /// Messaging API base URL (Messaging Services, when `OTP_FROM_NUMBER` is an `MG…` SID).
    pub messaging_url: String,
    /// Monitor API base URL (Alerts and Events, for the changes timeline).
    pub monitor_url: String,
    /// Where the console takes the Twilio credentials from.
    pub credentials: TwilioCredentials,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.twilio.com".into(),
            verify_url: "https://verify.twilio.com".into(),
            status_url: "https://status.twilio.com".into(),
            messaging_url: "https://messaging.twilio.com".into(),
            monitor_url: "https://monitor.twilio.com".into(),
            credentials: TwilioCredentials::default(),
        }
    }
}

/// Source of the Twilio credentials the console uses for its own Twilio checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TwilioCredentials {
    /// The deployed task definition's values: what the service really uses.
    #[default]
    TaskDefinition,
    /// `TWILIO_ACCOUNT_SID` / `TWILIO_AUTH_TOKEN` from the console's own environment.
    Environment,
}

/// A loaded configuration and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The configuration (the defaults when no file was found).
    pub config: Config,
    /// The file used; `None` when none was found and the caller should run the demo.
    pub path: Option<PathBuf>,
    /// The contexts the file holds (`[contexts.NAME]`): what the console's `x` switches to.
    pub contexts: Vec<String>,
}

impl Config {
    /// Finds and loads the config: `explicit`, then `./otp-console.toml`, then the platform
    /// config dir. An explicit path that does not exist is an error.
    pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
        Self::load_context(explicit, None)
    }

    /// [`Config::load`] for the context `context` (`--context`), else the file's default.
    pub fn load_context(
        explicit: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Loaded, ConfigError> {
        // An empty cwd keeps relative paths as the user typed them, so errors read
        // `otp-console.toml:7:1: ...` rather than an absolute path.
        let loaded = Self::load_in_context(
            explicit,
            Path::new(""),
            dirs::config_dir().as_deref(),
            context,
        )?;
        if let (Some(name), None) = (context, &loaded.path) {
            return Err(ConfigError::Flag {
                flag: "--context",
                message: format!(
                    "{}: no config file to read it from (give --config FILE)",
                    crate::redact::sanitize(name)
                ),
            });
        }
        Ok(loaded)
    }

    /// [`Config::load`] with the current directory and platform config dir passed in.
    pub fn load_in(
        explicit: Option<&Path>,
        cwd: &Path,
        config_dir: Option<&Path>,
    ) -> Result<Loaded, ConfigError> {
        Self::load_in_context(explicit, cwd, config_dir, None)
    }

    fn load_in_context(
        explicit: Option<&Path>,
        cwd: &Path,
        config_dir: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Loaded, ConfigError> {
        if let Some(path) = explicit {
            let path = cwd.join(path);
            if !path.exists() {
                return Err(ConfigError::NotFound { path });
            }
            return Self::load_file(path, context);
        }
        for path in Self::candidates(cwd, config_dir) {
            if path.is_file() {
                return Self::load_file(path, context);
            }
        }
        Ok(Loaded {
            config: Self::default(),
            path: None,
            contexts: Vec::new(),
        })
    }

    /// The implicit lookup order, for `load_in` and for messages that list where we looked.
    pub fn candidates(cwd: &Path, config_dir: Option<&Path>) -> Vec<PathBuf> {
        let mut paths = vec![cwd.join(LOCAL_FILE)];
        if let Some(dir) = config_dir {
            paths.push(dir.join(APP_DIR).join(APP_FILE));
        }
        paths
    }

    fn load_file(path: PathBuf, context: Option<&str>) -> Result<Loaded, ConfigError> {
        let text = read_limited(&path)?;
        let config = Self::from_toml_str_in(&text, &path.display().to_string(), context)?;
        Ok(Loaded {
            config,
            path: Some(path),
            contexts: contexts::names(&text),
        })
    }

    /// Parses and validates `text`; `origin` names it in error messages (usually the path).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        Self::from_toml_str_in(text, origin, None)
    }

    /// [`Config::from_toml_str`] for the context `context` (else the file's
    /// `default_context`, if any): its tables merged over the top level's.
    pub fn from_toml_str_in(
        text: &str,
        origin: &str,
        context: Option<&str>,
    ) -> Result<Self, ConfigError> {
        // Secrets first: a file holding a token must be refused for that reason, not for an
        // unknown key, and no later message may echo its value.
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| error::from_toml(&e, text, origin))?;
        validate::reject_secrets(&table, text, origin)?;
        let has_contexts = table.contains_key("contexts") || table.contains_key("default_context");
        let chosen = contexts::select(&mut table, context, origin)?;
        let mut config: Self = match &chosen {
            // As written: its errors carry their line and column.
            None if !has_contexts => {
                toml::from_str(text).map_err(|e| error::from_toml(&e, text, origin))?
            }
            _ => toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    ConfigError::at(
                        origin,
                        None,
                        error::ErrorKind::InvalidValue,
                        format!(
                            "{}{}",
                            chosen
                                .as_ref()
                                .map_or_else(String::new, |c| format!("context {}: ", c.name)),
                            e.message().trim()
                        ),
                    )
                })?,
        };
        validate::check(&config, text, origin)?;
        config.context = chosen;
        Ok(config)
    }

    /// What the target is called in reports and tables: the API base URL, after the
    /// context's name when the file has contexts (`prod · https://api…`).
    pub fn target_name(&self) -> String {
        match &self.context {
            Some(c) => format!("{} · {}", c.name, self.api.base_url),
            None => self.api.base_url.clone(),
        }
    }

    /// Serialises to TOML that [`Config::from_toml_str`] reads back to an equal value.
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::Serialize(e.to_string()))
    }
}

/// The largest config file read: a real one is a few hundred bytes.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The text of a config file, refused in one line when it is not a regular file (a FIFO,
/// `/dev/zero`, a directory) or is larger than [`MAX_CONFIG_BYTES`]; never more than that is
/// read, whatever the file claims.
fn read_limited(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read as _;
    let refuse = |message: String| ConfigError::Refused {
        path: path.to_path_buf(),
        message,
    };
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() {
        return Err(refuse("not a regular file: give a TOML file".into()));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(refuse(format!(
            "{} bytes is more than a config file holds (at most {MAX_CONFIG_BYTES})",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read_error)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(refuse(format!(
            "more than {MAX_CONFIG_BYTES} bytes is more than a config file holds"
        )));
    }
    String::from_utf8(bytes).map_err(|_| refuse("not UTF-8 text: give a TOML file".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn err(text: &str) -> String {
        match Config::from_toml_str(text, "otp-console.toml") {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn example_file_equals_defaults() {
        let parsed = Config::from_toml_str(EXAMPLE_TOML, "example").expect("example parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn example_rules_block_parses_when_uncommented() {
        // The commented `[[rules]]` block in the example must be valid once uncommented.
        let mut text = String::new();
        let mut in_block = false;
        for line in EXAMPLE_TOML.lines() {
            if line.starts_with("# [[rules]]") {
                in_block = true;
            }
            if in_block {
                if let Some(rest) = line.strip_prefix("# ") {
                    text.push_str(rest);
                    text.push('\n');
                    continue;
                }
                if line == "#" {
                    continue;
                }
                in_block = false;
            }
        }
        assert!(text.contains("[[rules]]"), "example documents [[rules]]");
        let config = Config::from_toml_str(&text, "rules").expect("uncommented rules parse");
        assert_ne!(config.rules, EnvRules::default());
    }

    #[test]
    fn defaults_are_the_runbook_values() {
        let c = Config::default();
        assert_eq!(c.api.base_url, "https://api.nerava.network");
        assert_eq!(c.api.health_path, "/health");
        assert_eq!(c.api.dev_login_path, "/v1/auth/dev/login");
        assert_eq!(c.api.otp_start_path, "/v1/auth/otp/start");
        assert_eq!(c.api.otp_verify_path, "/v1/auth/otp/verify");
        assert_eq!(c.api.test_phone, "+17133056318");
        assert_eq!(c.aws.region, "us-east-1");
        assert_eq!(c.aws.profile, None);
        assert_eq!(c.aws.endpoint_url, None);
        assert_eq!(c.aws.cluster, "nerava-cluster");
        assert_eq!(c.aws.service, "nerava-backend");
        assert_eq!(c.aws.log_group, "");
        assert_eq!(c.aws.log_group_or_fallback(), "/ecs/nerava-backend");
        assert_eq!(c.aws.log_filter, "OTP");
        assert_eq!(c.twilio.api_url, "https://api.twilio.com");
        assert_eq!(c.twilio.verify_url, "https://verify.twilio.com");
        assert_eq!(c.twilio.status_url, "https://status.twilio.com");
        assert_eq!(c.twilio.credentials, TwilioCredentials::TaskDefinition);
        assert_eq!(c.rules, EnvRules::builtin());
    }

    #[test]
    fn empty_file_and_partial_sections_use_defaults() {
        assert_eq!(Config::from_toml_str("", "x").ok(), Some(Config::default()));
        let c = Config::from_toml_str(
            "[aws]\nregion = \"eu-west-1\"\n[twilio]\ncredentials = \"environment\"\n",
            "x",
        )
        .expect("parses");
        assert_eq!(c.aws.region, "eu-west-1");
        assert_eq!(c.aws.cluster, "nerava-cluster");
        assert_eq!(c.twilio.credentials, TwilioCredentials::Environment);
        assert_eq!(c.api, ApiConfig::default());
    }

    #[test]
    fn api_url_joins_without_double_slash() {
        let mut api = ApiConfig::default();
        assert_eq!(api.url("/health"), "https://api.nerava.network/health");
        api.base_url = "http://127.0.0.1:8080/".into();
        assert_eq!(
            api.url("/v1/auth/otp/start"),
            "http://127.0.0.1:8080/v1/auth/otp/start"
        );
    }

    #[test]
    fn to_toml_round_trips() {
        let mut c = Config::default();
        assert_eq!(
            Config::from_toml_str(&c.to_toml_string().expect("ser"), "gen").ok(),
            Some(c.clone())
        );
        c.api.base_url = "http://127.0.0.1:40001".into();
        c.aws.endpoint_url = Some("http://127.0.0.1:40002".into());
        c.aws.profile = Some("sim".into());
        c.twilio.api_url = "http://127.0.0.1:40003".into();
        c.twilio.credentials = TwilioCredentials::Environment;
        let text = c.to_toml_string().expect("ser");
        assert!(
            !text.contains("[[rules]]"),
            "built-in rules are not printed:\n{text}"
        );
        assert_eq!(Config::from_toml_str(&text, "gen").ok(), Some(c.clone()));
        c.rules.0.retain(|r| r.name != "ENV");
        let text = c.to_toml_string().expect("ser");
        assert!(text.contains("[[rules]]"));
        // Rules in a file merge into the built-ins by name, so a removed rule comes back:
        // what round-trips is a change, not a removal.
        let mut back = Config::from_toml_str(&text, "gen").expect("parses");
        back.rules.0.retain(|r| r.name != "ENV");
        assert_eq!(back, c);
    }

    #[test]
    fn unknown_key_names_file_line_section_and_choices() {
        let e = err("[api]\nbase_url = \"https://x.example\"\n\n[aws]\ncluster = \"c\"\n\nregoin = \"us-east-1\"\n");
        assert_eq!(
            e,
            "otp-console.toml:7:1: unknown key \"regoin\" in [aws]; expected one of platform, region, \
             profile, endpoint_url, cluster, service, log_group, log_region, log_filter, egress_destinations, \
             access_log_filter"
        );
        let e = err("aws_region = \"x\"\n");
        assert!(
            e.starts_with(
                "otp-console.toml:1:1: unknown key \"aws_region\"; expected one of api, aws"
            ),
            "{e}"
        );
    }

    #[test]
    fn bad_enum_value_names_the_key() {
        let e = err("[twilio]\n\ncredentials = \"env\"\n");
        assert_eq!(
            e,
            "otp-console.toml:3:15: invalid value for twilio.credentials: unknown variant \
             \"env\", expected \"task-definition\" or \"environment\""
        );
    }

    #[test]
    fn egress_destinations_take_either_family_and_refuse_what_is_not_a_cidr() {
        let c = Config::from_toml_str(
            "[aws]\negress_destinations = [\"54.172.60.0/23\", \"::/0\"]\n",
            "otp-console.toml",
        )
        .expect("valid");
        assert_eq!(c.aws.egress_destinations, ["54.172.60.0/23", "::/0"]);
        let e = err("[aws]\negress_destinations = [\"twilio\"]\n");
        assert!(e.contains("\"twilio\", which is not a CIDR"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = err("[aws]\nregion = 5\n");
        assert!(
            e.starts_with("otp-console.toml:2:10: invalid value for aws.region: "),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = err("[api]\nbase_url = \"https://x\n");
        assert!(e.starts_with("otp-console.toml:2:"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    #[test]
    fn validation_errors_point_at_the_key() {
        let cases = [
            (
                "[api]\nbase_url = \"api.nerava.network\"\n",
                "otp-console.toml:2:1: api.base_url",
            ),
            (
                "[api]\n\nhealth_path = \"health\"\n",
                "otp-console.toml:3:1: api.health_path",
            ),
            (
                "[api]\ntest_phone = \"7133056318\"\n",
                "otp-console.toml:2:1: api.test_phone",
            ),
            (
                "[api]\ntest_phone = \"+1\"\n",
                "otp-console.toml:2:1: api.test_phone",
            ),
            ("[aws]\nregion = \"\"\n", "otp-console.toml:2:1: aws.region"),
            (
                "[aws]\nendpoint_url = \"ftp://x\"\n",
                "otp-console.toml:2:1: aws.endpoint_url",
            ),
            (
                "[aws]\nprofile = \"\"\n",
                "otp-console.toml:2:1: aws.profile",
            ),
            (
                "[aws]\ncluster = \" \"\n",
                "otp-console.toml:2:1: aws.cluster",
            ),
            (
                "[twilio]\n  verify_url = \"https://\"\n",
                "otp-console.toml:2:3: twilio.verify_url",
            ),
            (
                "[twilio]\nstatus_url = \"https://u:p@h\"\n",
                "otp-console.toml:2:1: twilio.status_url",
            ),
            (
                "api.otp_start_path = \"v1\"\n",
                "otp-console.toml:1:1: api.otp_start_path",
            ),
        ];
        for (text, prefix) in cases {
            let e = err(text);
            assert!(e.starts_with(prefix), "{text:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn secrets_are_refused_without_echoing_them() {
        let cases = [
            (
                "[twilio]\nauth_token = \"s3cr3tvalue\"\n",
                "otp-console.toml:2:1: ",
                "twilio",
            ),
            (
                "[aws]\nsecret_access_key = \"s3cr3tvalue\"\n",
                "otp-console.toml:2:1: ",
                "aws",
            ),
            ("password = \"s3cr3tvalue\"\n", "otp-console.toml:1:1: ", ""),
            (
                "[api]\n\nbearer_token = \"s3cr3tvalue\"\n",
                "otp-console.toml:3:1: ",
                "api",
            ),
            (
                "[twilio.extra]\nclient_secret = \"s3cr3tvalue\"\n",
                "otp-console.toml:2:1: ",
                "twilio",
            ),
        ];
        for (text, prefix, section) in cases {
            let e = err(text);
            assert!(e.starts_with(prefix), "{e}");
            assert!(e.contains(section), "{e}");
            assert!(!e.contains("s3cr3t"), "value leaked: {e}");
            assert!(
                e.contains("task definition") && e.contains("TWILIO_AUTH_TOKEN"),
                "{e}"
            );
        }
    }

    #[test]
    fn rule_metadata_named_secret_is_not_a_secret() {
        let text = "[[rules]]\nname = \"MY_TOKEN\"\nsecret = true\nrequired = true\n";
        let c = Config::from_toml_str(text, "x").expect("rules metadata is allowed");
        assert!(c.rules.get("MY_TOKEN").is_some_and(|r| r.secret));
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    #[test]
    fn lookup_order_explicit_then_cwd_then_config_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cwd = tmp.path().join("cwd");
        let cfg = tmp.path().join("cfg");
        fs::create_dir_all(&cwd).expect("mkdir");
        let none = Config::load_in(None, &cwd, Some(&cfg)).expect("no file is fine");
        assert_eq!(none.path, None);
        assert_eq!(none.config, Config::default());

        let platform = cfg.join("otp-console").join("config.toml");
        write(&platform, "[aws]\nregion = \"eu-west-3\"\n");
        let got = Config::load_in(None, &cwd, Some(&cfg)).expect("platform");
        assert_eq!(got.path.as_deref(), Some(platform.as_path()));
        assert_eq!(got.config.aws.region, "eu-west-3");

        let local = cwd.join("otp-console.toml");
        write(&local, "[aws]\nregion = \"eu-west-2\"\n");
        let got = Config::load_in(None, &cwd, Some(&cfg)).expect("local");
        assert_eq!(got.path.as_deref(), Some(local.as_path()));
        assert_eq!(got.config.aws.region, "eu-west-2");

        write(&cwd.join("mine.toml"), "[aws]\nregion = \"eu-west-1\"\n");
        let got = Config::load_in(Some(Path::new("mine.toml")), &cwd, Some(&cfg)).expect("mine");
        assert_eq!(got.path, Some(cwd.join("mine.toml")));
        assert_eq!(got.config.aws.region, "eu-west-1");
    }

    #[test]
    fn missing_explicit_path_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(&tmp.path().join("otp-console.toml"), "");
        let e = Config::load_in(Some(Path::new("nope.toml")), tmp.path(), None)
            .expect_err("explicit path must exist");
        assert!(matches!(e, ConfigError::NotFound { .. }));
        assert!(e.to_string().contains("nope.toml"), "{e}");
    }

    #[test]
    fn huge_and_non_regular_files_are_refused_in_one_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let big = tmp.path().join("big.toml");
        // A valid TOML comment, just too long: refused before it is parsed.
        write(
            &big,
            &format!("# {}\n", "x".repeat(MAX_CONFIG_BYTES as usize)),
        );
        for (path, says) in [
            (big.as_path(), "more than a config file holds"),
            (tmp.path(), "not a regular file"),
            (Path::new("/dev/zero"), "not a regular file"),
        ] {
            let e = Config::load_in(Some(path), Path::new(""), None).expect_err("refused");
            let shown = e.to_string();
            assert!(
                shown.contains(says) && !shown.contains('\n'),
                "{}: {shown}",
                path.display()
            );
        }
    }

    #[test]
    fn errors_from_a_file_name_the_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(
            &tmp.path().join("otp-console.toml"),
            "[aws]\nregoin = \"x\"\n",
        );
        let e = Config::load_in(None, tmp.path(), None).expect_err("bad file");
        let shown = e.to_string();
        assert!(
            shown.contains("otp-console.toml:2:1: unknown key \"regoin\""),
            "{shown}"
        );
    }

    #[test]
    fn bad_rules_are_reported() {
        let e = err("[[rules]]\nname = \"X\"\nrequird = true\n");
        assert!(e.starts_with("otp-console.toml:3:1: unknown key \"requird\" in [rules]; expected one of name, required"), "{e}");
        let e = err("[[rules]]\nname = \"X\"\nformat = { kind = \"sidd\" }\n");
        assert!(e.starts_with("otp-console.toml:3:"), "{e}");
        assert!(e.contains("invalid value for rules.format"), "{e}");
        let e = err("[[rules]]\nname = \"X\"\n[[rules]]\nname = \"X\"\n");
        assert!(e.ends_with("[[rules]]: X is given twice"), "{e}");
        let e = err("[[rules]]\nname = \"X\"\nformat = { kind = \"one_of\", values = [] }\n");
        assert!(
            e.ends_with("[[rules]]: X: one_of needs at least one value"),
            "{e}"
        );
    }

    #[test]
    fn rules_in_a_file_replace_and_add_by_name() {
        let text = "[[rules]]\nname = \"ENV\"\nrequired = true\nformat = { kind = \"one_of\", values = [\"prod\", \"staging\"] }\n\n[[rules]]\nname = \"REDIS_URL\"\nrequired = true\n";
        let c = Config::from_toml_str(text, "x").expect("parses");
        assert_eq!(c.rules.0.len(), EnvRules::builtin().0.len() + 1);
        let env = EnvView::new()
            .with_value("OTP_PROVIDER", "twilio_verify")
            .with_value("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef")
            .with_secret("TWILIO_AUTH_TOKEN", "arn:x")
            .with_value(
                "TWILIO_VERIFY_SERVICE_SID",
                "VA0123456789abcdef0123456789abcdef",
            )
            .with_value("ENV", "staging");
        let names: Vec<String> = c.rules.check(&env).into_iter().map(|v| v.name).collect();
        assert_eq!(names, vec!["REDIS_URL".to_owned()]);
        let back = Config::from_toml_str(&c.to_toml_string().expect("ser"), "gen").expect("parses");
        assert_eq!(back, c);
    }

    #[test]
    fn profile_and_region_flags_override_the_file() {
        let mut aws = Config::from_toml_str(
            "[aws]\nregion = \"eu-west-1\"\nprofile = \"staging\"\n",
            "otp-console.toml",
        )
        .expect("parses")
        .aws;
        aws.override_with(None, None).expect("no flags");
        assert_eq!(
            (aws.profile.as_deref(), aws.region.as_str()),
            (Some("staging"), "eu-west-1")
        );
        aws.override_with(Some("prod"), Some("us-west-2"))
            .expect("flags");
        assert_eq!(
            (aws.profile.as_deref(), aws.region.as_str()),
            (Some("prod"), "us-west-2")
        );
        let before = aws.clone();
        for (profile, region, want) in [
            (
                None,
                Some(""),
                "--region must not be empty (e.g. --region us-east-1; ",
            ),
            (None, Some("us east"), "--region must not contain spaces"),
            (
                Some(" "),
                None,
                "--profile must not be empty (a profile of ~/.aws/config",
            ),
            (Some("other"), Some(""), "--region must not be empty"),
        ] {
            let e = aws
                .override_with(profile, region)
                .expect_err("bad flag")
                .to_string();
            assert!(e.starts_with(want), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert_eq!(aws, before, "a refused flag changes nothing");
    }

    /// `log_region` moves CloudWatch Logs calls to the group's region; the same region, or
    /// none, leaves the SDK as it is; a blank one is refused with the key named.
    #[test]
    fn log_region_moves_the_logs_client_only() {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let mut aws = AwsConfig::default();
        assert_eq!(
            aws.logs_sdk(&sdk).region().map(AsRef::as_ref),
            Some("us-east-1")
        );
        aws.log_region = Some("us-west-2".into());
        assert_eq!(
            aws.logs_sdk(&sdk).region().map(AsRef::as_ref),
            Some("us-west-2")
        );
        assert_eq!(sdk.region().map(AsRef::as_ref), Some("us-east-1"));
        let parsed =
            Config::from_toml_str("[aws]\nlog_region = \"eu-west-1\"\n", "t").expect("parses");
        assert_eq!(parsed.aws.log_region.as_deref(), Some("eu-west-1"));
        let e = err("[aws]\nlog_region = \" \"\n");
        assert!(e.contains("log_region"), "{e}");
    }

    const CONTEXTS: &str = r#"
default_context = "staging"

[aws]
region = "us-east-1"
cluster = "nerava-cluster"

[contexts.prod]
color = "red"
[contexts.prod.aws]
service = "nerava-backend"
[contexts.prod.api]
base_url = "https://api.nerava.network"

[contexts.staging]
[contexts.staging.aws]
service = "nerava-backend-staging"
region = "us-west-2"
[contexts.staging.api]
base_url = "https://api.staging.nerava.network"
"#;

    /// #25: a file with contexts reads the one asked for, else its default, each over the
    /// top level's values; the context's name and colour come with it.
    #[test]
    fn contexts_merge_over_the_top_level() {
        let staging = Config::from_toml_str(CONTEXTS, "t").expect("the default context");
        assert_eq!(staging.aws.service, "nerava-backend-staging");
        assert_eq!(staging.aws.region, "us-west-2");
        assert_eq!(staging.aws.cluster, "nerava-cluster");
        assert_eq!(
            staging.context.as_ref().map(|c| c.name.as_str()),
            Some("staging")
        );
        assert_eq!(
            staging.target_name(),
            "staging · https://api.staging.nerava.network"
        );
        let prod = Config::from_toml_str_in(CONTEXTS, "t", Some("prod")).expect("prod");
        assert_eq!(prod.aws.service, "nerava-backend");
        assert_eq!(prod.aws.region, "us-east-1", "inherited from the top level");
        assert_eq!(
            prod.context,
            Some(contexts::Context {
                name: "prod".into(),
                color: Some("red".into())
            })
        );
        // A file without contexts is read as before, with no context.
        assert!(
            Config::from_toml_str("[aws]\nregion = \"eu-west-1\"\n", "t")
                .expect("plain")
                .context
                .is_none()
        );
    }

    /// Each mistake is one line naming what to fix, and a secret in a context is refused as
    /// at the top level, its value never echoed.
    #[test]
    fn a_bad_context_is_one_line() {
        let e = Config::from_toml_str_in(CONTEXTS, "t", Some("qa"))
            .expect_err("no such context")
            .to_string();
        assert!(
            e.contains("no context \"qa\"") && e.contains("prod, staging"),
            "{e}"
        );
        let bad = CONTEXTS.replace("color = \"red\"", "color = \"reed\"");
        let e = Config::from_toml_str_in(&bad, "t", Some("prod"))
            .expect_err("bad colour")
            .to_string();
        assert!(
            e.contains("contexts.prod.color") && e.contains("not a colour"),
            "{e}"
        );
        let typo = CONTEXTS.replace(
            "[contexts.prod.aws]\n",
            "[contexts.prod.aws]\nregoin = \"x\"\n",
        );
        let e = Config::from_toml_str_in(&typo, "t", Some("prod"))
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("context prod") && e.contains("regoin"), "{e}");
        let secret = format!(
            "{CONTEXTS}[contexts.prod.twilio]\nauth_token = \"9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c\"\n"
        );
        let e = Config::from_toml_str_in(&secret, "t", Some("prod"))
            .expect_err("a secret")
            .to_string();
        assert!(!e.contains("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}
