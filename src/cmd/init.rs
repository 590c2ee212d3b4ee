//! `otp-console init` from the command line: reads the account ([`crate::init::discover`]) with
//! a progress line, lets the operator pick the service (a numbered list on a terminal; one
//! match is confirmed; `--service` picks without asking), asks the candidate base URLs for
//! `/health`, and prints or writes the config: never over an existing file without `--force`,
//! or as a new `[contexts.NAME]` added to it with `--context`. Exit 0, or 2 with one line.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::InitArgs;
use crate::config::{AwsConfig, Config, LOCAL_FILE};
use crate::init::{self, discover, Candidate, Found, Health, Settings, UrlCandidate};
use crate::redact;

/// A refusal: one line on stderr, exit 2.
struct Refused(String);

fn refused<T>(message: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(message.into()))
}

/// Runs `otp-console init` and returns its exit status.
pub async fn run(args: InitArgs) -> ExitCode {
    match init(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Refused(line)) => {
            eprintln!("otp-console init: {line}");
            ExitCode::from(2)
        }
    }
}

async fn init(args: &InitArgs) -> Result<(), Refused> {
    if let Some(name) = &args.context {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return refused(format!(
                "--context {}: a context's name is letters, digits, - and _",
                redact::sanitize(name)
            ));
        }
    }
    let aws = aws_config(args).await;
    let sdk = crate::probe::aws::sdk_config(&aws).await;
    let found = read_account(args, &sdk).await?;
    let candidate = pick(args, &found)?;
    let checked = check_urls(args, &candidate).await?;
    let settings = Settings {
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        context: args.context.clone(),
        default_context: false,
        written_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    };
    output(args, &candidate, &checked, settings)
}

/// The operator's AWS settings: the flags, else the SDK's own region (AWS_REGION, the
/// profile's), else us-east-1.
async fn aws_config(args: &InitArgs) -> AwsConfig {
    let region = if let Some(r) = &args.region {
        r.clone()
    } else {
        let mut loader = crate::probe::aws::loader();
        if let Some(p) = &args.profile {
            loader = loader.profile_name(p);
        }
        loader
            .load()
            .await
            .region()
            .map_or_else(|| "us-east-1".to_owned(), ToString::to_string)
    };
    // The SDK honours AWS_ENDPOINT_URL by itself; written down, the config works without it.
    let from_env = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    AwsConfig {
        region,
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone().or(from_env),
        ..AwsConfig::default()
    }
}

/// A progress line on stderr: rewritten in place on a terminal, one per step otherwise.
fn progress_line() -> impl FnMut(String) + Send {
    let terminal = std::io::stderr().is_terminal();
    move |line: String| {
        let mut err = std::io::stderr();
        if terminal {
            let _ = write!(err, "\r\x1b[K{}", redact::sanitize(&line));
        } else {
            let _ = writeln!(err, "{}", redact::sanitize(&line));
        }
        let _ = err.flush();
    }
}

/// ECS, then App Runner (or the one `--platform` names). A refusal of the platform asked for
/// (or of ECS) stops here; App Runner's, when not asked for, is a note.
async fn read_account(args: &InitArgs, sdk: &aws_config::SdkConfig) -> Result<Found, Refused> {
    let mut progress = progress_line();
    let mut found = Found::default();
    let wants = |p: &str| args.platform.as_deref().is_none_or(|w| w == p);
    if wants("ecs") {
        match discover::ecs(sdk, &mut progress).await {
            Ok(f) => merge(&mut found, f),
            Err(e) => return refused(e.message),
        }
    }
    if wants("apprunner") {
        match discover::apprunner(sdk, &mut progress).await {
            Ok(f) => merge(&mut found, f),
            Err(e) if args.platform.is_some() => return refused(e.message),
            Err(e) => found
                .notes
                .push(format!("App Runner not read: {}", e.message)),
        }
    }
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
    for note in &found.notes {
        eprintln!("note: {}", redact::sanitize(note));
    }
    Ok(found)
}

fn merge(into: &mut Found, from: Found) {
    into.candidates.extend(from.candidates);
    into.passed_over.extend(from.passed_over);
    into.notes.extend(from.notes);
}

/// The service: `--service`'s, the one found (confirmed on a terminal), or the operator's
/// choice from a numbered list (a terminal is needed to ask).
fn pick(args: &InitArgs, found: &Found) -> Result<Candidate, Refused> {
    let passed = found
        .passed_over
        .iter()
        .map(|p| format!("{} ({})", p.label, p.why))
        .collect::<Vec<_>>()
        .join("; ");
    if found.candidates.is_empty() {
        return refused(format!(
            "no service here reads OTP_PROVIDER or TWILIO_* — passed over: {} — try --region or --profile",
            if passed.is_empty() { "none found" } else { &passed }
        ));
    }
    let names = || {
        found
            .candidates
            .iter()
            .map(Candidate::label)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(wanted) = &args.service {
        return match found.candidates.iter().find(|c| c.is(wanted)) {
            Some(c) => Ok(c.clone()),
            None => refused(format!(
                "--service {}: not among the services that send OTPs here: {}",
                redact::sanitize(wanted),
                names()
            )),
        };
    }
    let terminal = std::io::stdin().is_terminal();
    eprintln!("Services that read the runbook's variables (OTP_PROVIDER, TWILIO_*):");
    for (i, c) in found.candidates.iter().enumerate() {
        eprintln!("  {}) {}", i + 1, c.label());
        eprintln!("       {}", c.detail());
    }
    for p in &found.passed_over {
        eprintln!("     passed over: {} ({})", p.label, p.why);
    }
    match (found.candidates.len(), terminal) {
        (1, false) => {
            eprintln!("Using the one service found.");
            Ok(found.candidates[0].clone())
        }
        (_, false) => refused(format!(
            "several services send OTPs: {} — pick one with --service NAME",
            names()
        )),
        (1, true) => {
            let answer = ask("Use it? [Y/n] ")?;
            if answer.is_empty() || answer.eq_ignore_ascii_case("y") {
                Ok(found.candidates[0].clone())
            } else {
                refused("nothing written")
            }
        }
        (n, true) => loop {
            let answer = ask(&format!("Pick one [1-{n}] (q to quit): "))?;
            if answer == "q" {
                return refused("nothing written");
            }
            match answer.parse::<usize>() {
                Ok(i) if (1..=n).contains(&i) => return Ok(found.candidates[i - 1].clone()),
                _ => eprintln!(
                    "{} is not a number from 1 to {n}",
                    redact::sanitize(&answer)
                ),
            }
        },
    }
}

/// One answer from the terminal, trimmed.
fn ask(prompt: &str) -> Result<String, Refused> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => refused("no answer: nothing written"),
        Ok(_) => Ok(line.trim().to_owned()),
    }
}

/// `/health` of `--base-url`, else of each candidate in turn until one answers.
async fn check_urls(
    args: &InitArgs,
    candidate: &Candidate,
) -> Result<Vec<(UrlCandidate, Health)>, Refused> {
    let urls = match &args.base_url {
        Some(url) => {
            let parsed = reqwest::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if parsed.is_none() {
                return refused("--base-url: give the API's http:// or https:// URL");
            }
            let mut urls = vec![UrlCandidate {
                url: url.trim_end_matches('/').to_owned(),
                from: "--base-url".into(),
            }];
            urls.extend(candidate.urls.iter().cloned());
            urls
        }
        None => candidate.urls.clone(),
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("otp-console/", env!("CARGO_PKG_VERSION"), " init"))
        .build()
        .map_err(|e| Refused(format!("cannot build the HTTP client: {e}")))?;
    let health_path = crate::config::ApiConfig::default().health_path;
    let mut checked = Vec::new();
    let mut answered = false;
    for u in urls {
        let health = if args.base_url.is_some() && u.from != "--base-url" {
            Health::NotChecked("--base-url given")
        } else if answered {
            Health::NotChecked("an earlier one answered")
        } else {
            eprintln!("GET {}{health_path} …", u.url);
            init::check_url(&client, &u.url, &health_path).await
        };
        answered |= matches!(health, Health::Answered { .. });
        checked.push((u, health));
    }
    Ok(checked)
}

/// Prints, or writes the new file, or adds the context to the existing one; the result is
/// loaded as the console would load it before anything is written.
fn output(
    args: &InitArgs,
    candidate: &Candidate,
    checked: &[(UrlCandidate, Health)],
    mut settings: Settings,
) -> Result<(), Refused> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(LOCAL_FILE));
    let existing = path.is_file() && !args.print && !args.force;
    let text = if existing {
        let Some(name) = &args.context else {
            return refused(format!(
                "{} exists: --force overwrites it, --context NAME adds this service to it as a context, --print prints the config",
                path.display()
            ));
        };
        let old = std::fs::read_to_string(&path)
            .map_err(|e| Refused(format!("cannot read {}: {e}", path.display())))?;
        if crate::config::contexts::names(&old).contains(name) {
            return refused(format!(
                "{} already has a context {name}: pick another name",
                path.display()
            ));
        }
        format!(
            "{}\n{}",
            old.trim_end(),
            init::render(candidate, checked, &settings)
        )
    } else {
        settings.default_context = settings.context.is_some();
        init::render(candidate, checked, &settings)
    };
    let origin = path.display().to_string();
    if let Err(e) = Config::from_toml_str_in(&text, &origin, args.context.as_deref()) {
        return refused(format!("the config it would write does not load: {e}"));
    }
    if args.print {
        print!("{text}");
        return Ok(());
    }
    write_atomically(&path, &text)?;
    let base = checked
        .iter()
        .find(|(_, h)| matches!(h, Health::Answered { .. }))
        .map_or("none answered /health: check base_url", |(u, _)| {
            u.url.as_str()
        });
    println!(
        "wrote {}: {}, base URL {base}{}",
        path.display(),
        candidate.label(),
        args.context
            .as_ref()
            .map_or_else(String::new, |c| format!(" as context {c}"))
    );
    let context = args
        .context
        .as_ref()
        .map_or_else(String::new, |c| format!(" --context {c}"));
    println!(
        "next: otp-console check --check-aws --config {}{context}",
        path.display()
    );
    Ok(())
}

/// Writes `text` beside `path` and renames it over: a file is whole or not there.
fn write_atomically(path: &Path, text: &str) -> Result<(), Refused> {
    let fail = |e: std::io::Error| Refused(format!("cannot write {}: {e}", path.display()));
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".init-tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        fail(e)
    })
}
