//! `otp-console sim`: the simulated environment in the foreground. Prints each URL, the
//! credentials and a ready config (written to a file on request), then serves until Ctrl-C or
//! SIGTERM.

use std::process::ExitCode;

use crate::cli::SimArgs;
use crate::sim::run::config_for;
use crate::sim::{scenario, Ports, Simulator, ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// Runs `otp-console sim` with its arguments.
#[allow(
    clippy::too_many_lines,
    reason = "over 100 lines when the lint was enabled; split it when next changed"
)]
pub async fn run(args: SimArgs) -> ExitCode {
    if args.list {
        let all = scenario::list();
        let width = all.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (name, description) in all {
            println!("{name:<width$}  {description}");
        }
        return ExitCode::SUCCESS;
    }
    let scenario = match scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("otp-console sim: {e}");
            return ExitCode::from(2);
        }
    };
    let ports = Ports {
        api: args.api_port,
        twilio: args.twilio_port,
        status: args.status_port,
        aws: args.aws_port,
    };
    let sim = match Simulator::start(scenario, args.time_scale, ports).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("otp-console sim: {e}");
            return ExitCode::from(2);
        }
    };
    let config = config_for(&sim.urls, sim.scenario());
    let text = match config.to_toml_string() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("otp-console sim: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.write_config {
        if let Err(e) = std::fs::write(path, &text) {
            eprintln!("otp-console sim: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let urls = &sim.urls;
    let scenario = sim.scenario();
    println!(
        "otp-console sim · scenario {} · time scale {}",
        scenario.name, args.time_scale
    );
    println!("  {}", scenario.description);
    println!();
    println!("  backend API         {}", urls.api);
    println!("  Twilio (API+Verify) {}", urls.twilio);
    println!("  Twilio status page  {}", urls.status);
    // One endpoint for every simulated AWS service, as moto serves them.
    println!("  AWS                 {}", urls.aws);
    println!("    ECS, CloudWatch Logs (Live Tail too), Secrets Manager, SSM, CloudTrail,");
    println!("    EC2, ELBv2, CloudWatch metrics, IAM, ACM");
    println!(
        "  demo phone inbox    {}/_sim/inbox/{}",
        urls.twilio, scenario.twilio.demo_phone
    );
    println!();
    println!("Try:");
    println!("  curl {}/health", urls.api);
    println!(
        "  curl -X POST {}/v1/auth/otp/start -H 'Content-Type: application/json' -d '{{\"phone\": \"{}\"}}'",
        urls.api, scenario.twilio.demo_phone
    );
    println!(
        "  AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY} aws --region {} --endpoint-url {} ecs describe-services --cluster {} --services {}",
        scenario.deployment.region, urls.aws, scenario.deployment.cluster, scenario.deployment.service
    );
    if scenario.network_mode() != "awsvpc" && !scenario.network.instances.is_empty() {
        // bridge/host: the instances the tasks run on hold the network.
        println!(
            "  AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY} aws --region {} --endpoint-url {} ec2 describe-instances --instance-ids {}",
            scenario.deployment.region,
            urls.aws,
            scenario
                .network
                .instances
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let groups = scenario
        .network
        .security_groups_for(scenario.network_mode());
    if let Some(sg) = groups.first() {
        println!(
            "  AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY} aws --region {} --endpoint-url {} ec2 describe-security-groups --group-ids {sg}",
            scenario.deployment.region, urls.aws
        );
    }
    println!();
    match &args.write_config {
        Some(path) => println!("Config written to {}:", path.display()),
        None => println!("Config (save as otp-console.toml, or use --write-config FILE):"),
    }
    println!("{text}");
    println!("Serving until Ctrl-C or SIGTERM.");
    wait_for_stop().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}

/// Waits for Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
