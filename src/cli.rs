//! The command line (clap): the console (no subcommand), `check` and `sim`. Parsing only;
//! `main.rs` dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigError, Loaded};

/// Terminal incident console for OTP login outages: ECS, CloudWatch Logs, Twilio Verify and
/// the API, probed live, diagnosed from evidence, repaired and verified.
#[derive(Debug, Parser)]
#[command(name = "otp-console", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: ./otp-console.toml, then the platform's config directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run against the embedded simulator, optionally with a scenario (see `sim --list`).
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = crate::sim::scenario::DEFAULT_DEMO)]
    pub demo: Option<String>,
    /// Multiply every simulated duration by X (0.1 = ten times faster); demo only.
    #[arg(long, value_name = "X", value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: Option<f64>,
    /// Where the report key (W) writes the incident report: FILE.md, FILE.json, or both
    /// FILE.md and FILE.json (default: ./otp-console-report-<time>.md and .json).
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
    /// How far back the changes timeline reads CloudTrail and Twilio's Monitor: 48h, 90m, 3d
    /// (overrides [changes] since; default 48h).
    #[arg(long, value_name = "WINDOW", value_parser = parse_since)]
    pub since: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe everything once, print the checklist and the verdict, exit 0/1/2/3.
    Check(CheckArgs),
    /// Run the simulated environment in the foreground and print its URLs and a config.
    Sim(SimArgs),
    /// Plan a repair (set env vars, roll back, redeploy); with --yes apply, follow, verify.
    Repair(RepairArgs),
    /// Find the OTP service in the account and write ./otp-console.toml for it.
    Init(InitArgs),
}

/// `otp-console init`.
#[derive(Debug, Args)]
#[command(
    after_help = "Reads the account with the usual AWS credential chain (AWS_PROFILE, keys, SSO; AWS_ENDPOINT_URL is honoured): ECS ListClusters, ListServices, DescribeServices, DescribeTaskDefinition and the load balancer's DescribeTargetGroups, DescribeLoadBalancers, DescribeListeners; App Runner ListServices and DescribeService. Lists the services whose app container reads OTP_PROVIDER or TWILIO_*, lets you pick one, asks each candidate base URL for /health and writes a commented config (never a secret). Exit status: 0 written or printed, 2 could not run."
)]
pub struct InitArgs {
    /// Where to write (default ./otp-console.toml); an existing file is kept unless --force, or
    /// gets the service as a new context with --context.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the config instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Overwrite an existing file.
    #[arg(long, conflicts_with = "print")]
    pub force: bool,
    /// Write the service as the context NAME (`[contexts.NAME]`): added to an existing file.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Pick this service without asking: its name, `cluster/name`, or its ARN.
    #[arg(long, value_name = "NAME|ARN")]
    pub service: Option<String>,
    /// Where to look: ecs, apprunner (default both).
    #[arg(long, value_name = "PLATFORM", value_parser = ["ecs", "apprunner"])]
    pub platform: Option<String>,
    /// The API's base URL, when you know it: checked, and written instead of the account's
    /// candidates.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// AWS profile for the credential chain (as `aws --profile`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (as `aws --region`; default the profile's or AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS endpoint (the simulator, moto), written into the config too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// `otp-console check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 verdict none (positive evidence of health), 1 a named failure mode, \
2 could not run (bad arguments or config), 3 inconclusive (something failed or could not be seen \
and no failure mode fits; `unknown` says what)."
)]
pub struct CheckArgs {
    /// Configuration file.
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    pub config: Option<PathBuf>,
    /// Diagnose the embedded simulator running this scenario.
    #[arg(long, value_name = "SCENARIO")]
    pub demo: Option<String>,
    /// Diagnose again, with today's rules, the evidence a `check --json` recorded in FILE
    /// (its `recording`); probes nothing.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "demo", "test_phone", "check_aws", "report", "since"])]
    pub replay: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also read the ECS task definition (as check_twilio_config.py --check-aws).
    #[arg(long)]
    pub check_aws: bool,
    /// Send a real OTP to this E.164 number through the API.
    #[arg(long, value_name = "E164")]
    pub test_phone: Option<String>,
    /// Wait for the test OTP start's whole story (its answer, Twilio's record, its log lines)
    /// before concluding, and print its trace whole; without it a verdict the evidence already
    /// supports concludes at once.
    #[arg(long, requires = "test_phone")]
    pub trace: bool,
    /// Multiply every simulated duration by X; demo only.
    #[arg(long, value_name = "X", value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: Option<f64>,
    /// Also write the incident report (timeline, verdict, diff; no secret) to FILE: Markdown
    /// when FILE ends in .md, JSON when it ends in .json, else both FILE.md and FILE.json.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// How far back `changes[]` reads CloudTrail and Twilio's Monitor (with --check-aws):
    /// 48h, 90m, 3d (overrides [changes] since; default 48h).
    #[arg(long, value_name = "WINDOW", value_parser = parse_since)]
    pub since: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `otp-console sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// The scenario to run (a built-in name or a path to a scenario .toml).
    #[arg(long, value_name = "NAME", default_value = "healthy")]
    pub scenario: String,
    /// List the built-in scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Multiply every simulated duration by X (0.1 = ten times faster).
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: f64,
    /// Write a config pointing the console at this simulator to FILE.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
    /// Port of the backend API (0 = any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub api_port: u16,
    /// Port of the Twilio API (0 = any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub twilio_port: u16,
    /// Port of the Twilio status page (0 = any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub status_port: u16,
    /// Port of the AWS endpoint, every simulated AWS service (0 = any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub aws_port: u16,
}

/// `otp-console repair`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("repair").required(true).args(["set", "rollback_to", "redeploy", "restore_secret", "put_secret", "set_secret", "allow_egress"]))]
// Each bool is one command-line flag: clap's natural shape, not a state machine.
#[allow(clippy::struct_excessive_bools)]
pub struct RepairArgs {
    /// Configuration file.
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    pub config: Option<PathBuf>,
    /// Repair the embedded simulator running this scenario.
    #[arg(long, value_name = "SCENARIO")]
    pub demo: Option<String>,
    /// Set an environment variable of the service's container (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Roll the service back to this revision number, or `previous`.
    #[arg(long, value_name = "REV|previous")]
    pub rollback_to: Option<String>,
    /// Force a new deployment of the deployed revision.
    #[arg(long)]
    pub redeploy: bool,
    /// Restore the Secrets Manager secret this variable comes from (scheduled for deletion),
    /// then force a new deployment.
    #[arg(long, value_name = "NAME")]
    pub restore_secret: Option<String>,
    /// Put VALUE in the Secrets Manager secret NAME comes from (its JSON key's field when the
    /// valueFrom has one), then force a new deployment.
    #[arg(long, value_name = "NAME=VALUE")]
    pub put_secret: Option<String>,
    /// Point NAME at another secret in a new revision (repeatable): VALUEFROM is a Secrets
    /// Manager ARN (optionally with `:json-key::`), an SSM parameter ARN or `/name`; a plain
    /// variable NAME moves into `secrets`.
    #[arg(long, value_name = "NAME=VALUEFROM")]
    pub set_secret: Vec<String>,
    /// Allow outbound TCP 443 on the service's security group (AuthorizeSecurityGroupEgress;
    /// no deployment), when its security groups are what blocks the path to Twilio.
    #[arg(long)]
    pub allow_egress: bool,
    /// With --allow-egress: the security group to change (default the service's first).
    #[arg(long, value_name = "SG", requires = "allow_egress")]
    pub group_id: Option<String>,
    /// With --allow-egress: where to allow HTTPS to (default aws.egress_destinations' first,
    /// 0.0.0.0/0).
    #[arg(long, value_name = "CIDR", requires = "allow_egress")]
    pub cidr: Option<String>,
    /// Apply the plan; without it nothing is changed.
    #[arg(long)]
    pub yes: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Multiply every simulated duration by X; demo only.
    #[arg(long, value_name = "X", value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: Option<f64>,
    /// Verify with a real OTP sent to this E.164 number through the API.
    #[arg(long, value_name = "E164")]
    pub test_phone: Option<String>,
    /// Also write the incident report (timeline, verdict, diff; no secret) to FILE: Markdown
    /// when FILE ends in .md, JSON when it ends in .json, else both FILE.md and FILE.json.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `--profile` and `--region`, as the aws CLI has them, for the console, `check` and `repair`.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// AWS profile for the credential chain (a profile of ~/.aws/config, as `aws --profile`);
    /// overrides [aws] profile and AWS_PROFILE.
    #[arg(long, value_name = "NAME", conflicts_with = "demo")]
    pub profile: Option<String>,
    /// AWS region of the cluster and log group (as `aws --region`); overrides [aws] region.
    #[arg(long, value_name = "REGION", conflicts_with = "demo")]
    pub region: Option<String>,
    /// The config file's context to use (`[contexts.NAME]`); overrides its default_context.
    #[arg(long, value_name = "NAME", conflicts_with = "demo")]
    pub context: Option<String>,
}

impl AwsArgs {
    /// The loaded configuration with these flags over its `[aws]` values; an empty or
    /// spaced value is an error of one line.
    pub fn apply(&self, mut loaded: Loaded) -> Result<Loaded, ConfigError> {
        loaded
            .config
            .aws
            .override_with(self.profile.as_deref(), self.region.as_deref())?;
        Ok(loaded)
    }
}

/// The time scales the simulator keeps its meaning at: below a hundredth its timeouts are
/// shorter than a scheduler tick and the scenarios stop showing their failure modes.
pub const TIME_SCALE_RANGE: std::ops::RangeInclusive<f64> = 0.01..=100.0;

/// A changes window (`48h`, `90m`, `3d`), checked as the config's `[changes] since` is.
fn parse_since(text: &str) -> Result<String, String> {
    crate::config::parse_since(text).map(|_| text.trim().to_owned())
}

/// A time scale: a number from 0.01 to 100.
fn parse_time_scale(text: &str) -> Result<f64, String> {
    let range = format!(
        "from {} to {} (0.1 = ten times faster)",
        TIME_SCALE_RANGE.start(),
        TIME_SCALE_RANGE.end()
    );
    match text.trim().parse::<f64>() {
        Ok(x) if TIME_SCALE_RANGE.contains(&x) => Ok(x),
        Ok(x) if x <= 0.0 => Err(format!("{text} is not above 0: give a number {range}")),
        Ok(_) => Err(format!("{text} is out of range: give a number {range}")),
        Err(_) => Err(format!("{text:?} is not a number: give a number {range}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_flag_defaults_to_the_runbook_incident() {
        let cli = Cli::try_parse_from(["otp-console", "--demo"]).expect("parses");
        assert_eq!(cli.demo.as_deref(), Some("event-loop-blocking"));
        let cli = Cli::try_parse_from(["otp-console", "--demo", "healthy"]).expect("parses");
        assert_eq!(cli.demo.as_deref(), Some("healthy"));
    }

    #[test]
    fn time_scale_must_be_positive() {
        assert!(Cli::try_parse_from(["otp-console", "--time-scale", "0"]).is_err());
        for bad in ["1e-300", "-1", "0.001", "101", "inf", "NaN"] {
            for args in [
                vec!["otp-console", "--time-scale", bad],
                vec!["otp-console", "check", "--time-scale", bad],
                vec!["otp-console", "sim", "--time-scale", bad],
                vec!["otp-console", "repair", "--time-scale", bad],
            ] {
                let err = Cli::try_parse_from(&args).expect_err(bad).to_string();
                assert!(
                    err.contains("--time-scale") && err.contains("from 0.01 to 100"),
                    "{args:?}: {err}"
                );
            }
        }
        assert!(Cli::try_parse_from(["otp-console", "--time-scale", "x"]).is_err());
        let cli =
            Cli::try_parse_from(["otp-console", "sim", "--time-scale", "0.1"]).expect("parses");
        assert!(
            matches!(cli.command, Some(Command::Sim(SimArgs { time_scale, .. })) if (time_scale - 0.1).abs() < 1e-9)
        );
    }

    #[test]
    fn check_flags_parse() {
        let cli = Cli::try_parse_from([
            "otp-console",
            "check",
            "--demo",
            "healthy",
            "--json",
            "--check-aws",
            "--test-phone",
            "+17133056318",
        ])
        .expect("parses");
        let Some(Command::Check(args)) = cli.command else {
            panic!("check")
        };
        assert!(args.json && args.check_aws);
        assert_eq!(args.test_phone.as_deref(), Some("+17133056318"));
    }

    #[test]
    fn profile_and_region_everywhere_but_the_demo() {
        let cli =
            Cli::try_parse_from(["otp-console", "--profile", "prod", "--region", "eu-west-1"])
                .expect("parses");
        assert_eq!(cli.aws.profile.as_deref(), Some("prod"));
        assert_eq!(cli.aws.region.as_deref(), Some("eu-west-1"));
        let cli =
            Cli::try_parse_from(["otp-console", "check", "--profile", "prod"]).expect("parses");
        let Some(Command::Check(args)) = cli.command else {
            panic!("check")
        };
        assert_eq!(args.aws.profile.as_deref(), Some("prod"));
        let cli = Cli::try_parse_from([
            "otp-console",
            "repair",
            "--redeploy",
            "--region",
            "us-west-2",
        ])
        .expect("parses");
        let Some(Command::Repair(args)) = cli.command else {
            panic!("repair")
        };
        assert_eq!(args.aws.region.as_deref(), Some("us-west-2"));
        // The demo has its own AWS (the simulator's keys and endpoint).
        assert!(
            Cli::try_parse_from(["otp-console", "--demo", "healthy", "--profile", "p"]).is_err()
        );
        assert!(Cli::try_parse_from([
            "otp-console",
            "check",
            "--demo",
            "healthy",
            "--region",
            "r"
        ])
        .is_err());
    }
}
