//! The console's repairs, run off the event loop: each command plans, applies or follows one
//! repair with the platform's repairer and reports every step as a [`RepairUpdate`].

use tokio::sync::mpsc;

use crate::app::Command;
use crate::config::Platform;
use crate::engine::Engine;
use crate::event::{Event, RepairUpdate};
use crate::repair::apprunner::AppRunnerRepairer;
use crate::repair::egress::{self, EgressRepairer};
use crate::repair::{FollowOptions, Repairer};

/// Runs one repair command; `scale` is the simulator's time scale (1 on a real service).
pub async fn run(p: Engine, command: Command, events: mpsc::UnboundedSender<Event>, scale: f64) {
    let send = |update: RepairUpdate| {
        let _ = events.send(Event::Repair(update));
    };
    match command {
        Command::PlanRepair(repair) if p.config.aws.platform == Platform::AppRunner => {
            let repairer = AppRunnerRepairer::new(&p.sdk, &p.config);
            let planned = repairer.plan(&repair).await.map(Box::new).map_err(|e| e.0);
            send(RepairUpdate::AppRunnerPlanned(planned));
        }
        Command::PlanRepair(repair) => {
            let repairer = Repairer::new(&p.sdk, &p.config);
            let planned = repairer.plan(&repair).await.map(Box::new).map_err(|e| e.0);
            send(RepairUpdate::Planned(planned));
        }
        Command::ApplyRepair(plan) => {
            let repairer = Repairer::new(&p.sdk, &p.config);
            let applied = match Box::pin(repairer.apply(&plan)).await {
                Ok(applied) => applied,
                Err(e) => return send(RepairUpdate::Applied(Err(e.0))),
            };
            send(RepairUpdate::Applied(Ok(applied.clone())));
            let follow = FollowOptions::scaled(scale);
            let rollout = repairer
                .follow(&plan, &applied, &follow, |event| {
                    send(RepairUpdate::Rollout(event.clone()));
                })
                .await;
            send(RepairUpdate::Finished(Box::new(rollout)));
        }
        Command::ApplyAppRunner(plan) => {
            let repairer = AppRunnerRepairer::new(&p.sdk, &p.config);
            let id = match repairer.apply(&plan).await {
                Ok(id) => id,
                Err(e) => return send(RepairUpdate::OperationStarted(Err(e.0))),
            };
            send(RepairUpdate::OperationStarted(Ok(id.clone())));
            let ended = repairer
                .follow(&plan.service_arn, &id, scale, |status| {
                    send(RepairUpdate::Operation(status.to_owned()));
                })
                .await;
            send(RepairUpdate::OperationEnded(ended.map_err(|e| e.0)));
        }
        Command::PlanEgress => {
            let repairer = EgressRepairer::new(&p.sdk, &p.config.aws);
            let cidr = egress::default_cidr(&p.config.aws);
            let planned = match repairer.path().await {
                Ok(path) => egress::plan(&path, None, &cidr)
                    .map(Box::new)
                    .map_err(|e| e.0),
                Err(e) => Err(e.0),
            };
            send(RepairUpdate::EgressPlanned(planned));
        }
        Command::ApplyEgress(plan) => {
            let repairer = EgressRepairer::new(&p.sdk, &p.config.aws);
            let applied = repairer.apply(&plan).await.map_err(|e| e.0);
            send(RepairUpdate::EgressApplied(applied));
            // The env pane's path, read again at once: the rule shows as it is now.
            p.read_network().await;
        }
        _ => {}
    }
}
