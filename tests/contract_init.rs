//! Contract test of `otp-console init`'s discovery ([`discover::ecs`]): the same account read
//! from the simulator (its scenario's service and `[[neighbours]]`) and from moto's server, an
//! independent ECS seeded through the SDK with the same clusters, services and revisions. Both
//! must give the same services to pick (the backend and its staging copy: they read the
//! runbook's variables) and the same ones passed over (the worker, the cron task), with the
//! same containers, variables and log groups. moto's services have no load balancer (moto's
//! CreateService does not check target groups), so the base URLs are compared on the simulator
//! alone; revisions are numbered from 1 in moto, from the scenario's 41 in the simulator.
//! `bash tests/run.sh` installs moto.

#[path = "contract_support/emulator.rs"]
mod emulator;
#[path = "contract_support/moto.rs"]
#[allow(dead_code, reason = "the log helpers: this test reads no logs")]
mod moto;

use std::collections::BTreeSet;

use moto::Registration;
use otp_console::init::{discover, Found};
use otp_console::sim::{self, scenario, Ports, Simulator};

/// What both ECS implementations must agree on: each candidate's cluster, name, container,
/// variables and log group, and each service passed over.
fn shape(found: &Found) -> (BTreeSet<String>, BTreeSet<String>) {
    let candidates = found
        .candidates
        .iter()
        .map(|c| {
            format!(
                "{}/{} {} reads {} logs {}",
                c.cluster.as_deref().unwrap_or("-"),
                c.name,
                c.container,
                c.reads.join(","),
                c.log_group.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let passed = found
        .passed_over
        .iter()
        .map(|p| format!("{} ({})", p.label, p.why))
        .collect();
    (candidates, passed)
}

/// moto, seeded with the scenario's account: its service on today's registration, and each
/// neighbour on its one revision.
async fn moto_account(world: &scenario::Scenario) -> (emulator::Emulator, aws_config::SdkConfig) {
    let server = emulator::moto().await;
    let sdk = emulator::sdk_config(&server.url, "testing", "testing").await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let d = &world.deployment;
    let today = Registration::of(&world.today_registration());
    let arns =
        moto::seed_task_definitions(&ecs, &d.cluster, &d.service, &d.container, &[(1, &today)])
            .await;
    moto::create_service(&ecs, &d.cluster, &d.service, &arns[0], 1).await;
    for n in &world.neighbours {
        let registration = Registration {
            image: n.image.clone(),
            environment: n.environment.clone(),
            secrets: n.secrets.clone(),
            tags: std::collections::BTreeMap::new(),
        };
        // The cluster may exist already (moto's CreateCluster of an existing one is a no-op).
        let arns = moto::seed_task_definitions(
            &ecs,
            &n.cluster,
            &n.service,
            &n.container,
            &[(1, &registration)],
        )
        .await;
        moto::create_service(&ecs, &n.cluster, &n.service, &arns[0], 1).await;
    }
    (server, sdk)
}

#[tokio::test(flavor = "multi_thread")]
async fn init_discovers_the_same_account_in_the_simulator_and_in_moto() {
    let world = scenario::load("healthy").expect("scenario");
    let sim = Simulator::start(world.clone(), 0.05, Ports::default())
        .await
        .expect("starts");
    let sdk = emulator::sdk_config(&sim.urls.aws, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY).await;
    let mut quiet = |_: String| {};
    let simulated = discover::ecs(&sdk, &mut quiet)
        .await
        .expect("the simulator read");
    let (server, moto_sdk) = moto_account(&world).await;
    let mut quiet = |_: String| {};
    let moto = discover::ecs(&moto_sdk, &mut quiet)
        .await
        .expect("moto read");
    drop(server);
    assert_eq!(shape(&simulated), shape(&moto));
    let (candidates, passed) = shape(&simulated);
    assert_eq!(candidates.len(), 2, "{candidates:?}");
    assert!(
        candidates.contains("nerava-cluster/nerava-backend nerava-backend reads OTP_PROVIDER,TWILIO_ACCOUNT_SID,TWILIO_AUTH_TOKEN,TWILIO_TIMEOUT_SECONDS,TWILIO_VERIFY_SERVICE_SID logs /ecs/nerava-backend"),
        "{candidates:?}"
    );
    assert_eq!(passed.len(), 2, "{passed:?}");
    // The simulator's backend is behind its load balancer: its certificate's name (the same
    // URL as the container's PUBLIC_BASE_URL, listed once), then its listeners; moto's has
    // no load balancer, only the variable.
    let urls: Vec<&str> = simulated.candidates[0]
        .urls
        .iter()
        .map(|u| u.url.as_str())
        .collect();
    assert_eq!(
        urls,
        [
            "https://api.nerava.network",
            "https://127.0.0.1",
            sim.urls.api.as_str()
        ]
    );
    let urls: Vec<&str> = moto.candidates[0]
        .urls
        .iter()
        .map(|u| u.url.as_str())
        .collect();
    assert_eq!(
        urls,
        ["https://api.nerava.network"],
        "moto: no load balancer"
    );
}
