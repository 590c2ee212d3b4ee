//! What `init` reads from the account, with the operator's credentials: ECS's clusters,
//! services and their task definitions (the app container as the console reads it: the one
//! the load balancer targets, else the one with the runbook's variables), the load balancer's
//! DNS name and listeners for base URLs; App Runner's services and their `ServiceUrl`. Every
//! call goes through [`crate::probe::aws::call`], so a refusal is one line naming the action.

use aws_config::SdkConfig;
use aws_sdk_ecs::error::SdkError;
use aws_sdk_ecs::types as ecs;

use super::{
    is_runbook_variable, listener_url, url_of_variable, Candidate, Found, PassedOver, UrlCandidate,
};
use crate::config::Platform;
use crate::probe::aws::call;
use crate::probe::{ProbeError, System};
use crate::redact;

/// A progress line for the operator while the account is read.
pub type Progress<'a> = &'a mut (dyn FnMut(String) + Send);

/// Every ECS service of the account (this region), sorted into those whose app container reads
/// the runbook's variables and those passed over.
pub async fn ecs(sdk: &SdkConfig, progress: Progress<'_>) -> Result<Found, ProbeError> {
    let client = aws_sdk_ecs::Client::new(sdk);
    let clusters = list_clusters(&client).await?;
    let mut found = Found::default();
    for (n, cluster_arn) in clusters.iter().enumerate() {
        let cluster = cluster_arn
            .rsplit('/')
            .next()
            .unwrap_or(cluster_arn)
            .to_owned();
        progress(format!(
            "ECS: cluster {} of {} ({cluster}): listing its services…",
            n + 1,
            clusters.len()
        ));
        let arns = list_services(&client, cluster_arn).await?;
        for chunk in arns.chunks(10) {
            let out = call(
                System::Ecs,
                "DescribeServices",
                client
                    .describe_services()
                    .cluster(cluster_arn)
                    .set_services(Some(chunk.to_vec()))
                    .send(),
            )
            .await?;
            for service in out.services() {
                progress(format!(
                    "ECS: {cluster}/{}: reading its task definition…",
                    service.service_name().unwrap_or("?")
                ));
                read_service(sdk, &client, &cluster, service, &mut found).await?;
            }
        }
    }
    Ok(found)
}

/// Every page of a list, through the SDK's paginator, under [`LIST_TIMEOUT`].
async fn all_pages<T, E, R>(
    operation: &str,
    pages: impl std::future::Future<Output = Result<Vec<T>, SdkError<E, R>>>,
) -> Result<Vec<T>, ProbeError>
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    crate::probe::aws::call_within(LIST_TIMEOUT, System::Ecs, operation, pages).await
}

/// How long listing every page of clusters or services may take.
const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn list_clusters(client: &aws_sdk_ecs::Client) -> Result<Vec<String>, ProbeError> {
    let pages = client.list_clusters().into_paginator().items().send();
    all_pages("ListClusters", pages.collect::<Result<Vec<_>, _>>()).await
}

async fn list_services(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
) -> Result<Vec<String>, ProbeError> {
    let pages = client
        .list_services()
        .cluster(cluster)
        .into_paginator()
        .items()
        .send();
    all_pages("ListServices", pages.collect::<Result<Vec<_>, _>>()).await
}

/// One service: its task definition read, then a candidate or a service passed over.
async fn read_service(
    sdk: &SdkConfig,
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &ecs::Service,
    found: &mut Found,
) -> Result<(), ProbeError> {
    let name = redact::sanitize(service.service_name().unwrap_or_default());
    let label = format!("ECS {cluster}/{name}");
    let Some(td_arn) = service.task_definition() else {
        found.passed_over.push(PassedOver {
            label,
            why: "no task definition (an external deployment controller)".into(),
        });
        return Ok(());
    };
    let out = call(
        System::Ecs,
        "DescribeTaskDefinition",
        client
            .describe_task_definition()
            .task_definition(td_arn)
            .send(),
    )
    .await?;
    let Some(td) = out.task_definition() else {
        return Ok(());
    };
    let target = service
        .load_balancers()
        .iter()
        .find_map(ecs::LoadBalancer::container_name);
    let Some(index) = crate::probe::ecs::app_container_for(td, &name, target) else {
        found.passed_over.push(PassedOver {
            label,
            why: "its task definition has no container".into(),
        });
        return Ok(());
    };
    let container = &td.container_definitions()[index];
    let reads = runbook_names(container);
    let container_name = redact::sanitize(container.name().unwrap_or_default());
    if reads.is_empty() {
        found.passed_over.push(PassedOver {
            label,
            why: format!("container {container_name}: none of the variables"),
        });
        return Ok(());
    }
    let mut urls = load_balancer_urls(sdk, service, &mut found.notes).await;
    for u in variable_urls(container) {
        if !urls.iter().any(|known| known.url == u.url) {
            urls.push(u);
        }
    }
    let option = |key: &str| crate::probe::ecs::awslogs(container, key);
    found.candidates.push(Candidate {
        platform: Platform::Ecs,
        cluster: Some(cluster.to_owned()),
        service: name.clone(),
        name,
        container: container_name,
        revision: format!(
            "{}:{}",
            redact::sanitize(td.family().unwrap_or_default()),
            td.revision()
        ),
        reads,
        log_group: option("awslogs-group"),
        log_region: option("awslogs-region"),
        urls,
    });
    Ok(())
}

/// The runbook's variables a container reads, by name (plain and `secrets`).
fn runbook_names(container: &ecs::ContainerDefinition) -> Vec<String> {
    let mut names: Vec<String> = container
        .environment()
        .iter()
        .filter_map(ecs::KeyValuePair::name)
        .chain(container.secrets().iter().map(ecs::Secret::name))
        .filter(|n| is_runbook_variable(n))
        .map(redact::sanitize)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Base URLs from the container's plain `*_URL` variables that hold an https URL.
fn variable_urls(container: &ecs::ContainerDefinition) -> Vec<UrlCandidate> {
    container
        .environment()
        .iter()
        .filter_map(|kv| {
            let (name, value) = (kv.name()?, kv.value()?);
            Some(UrlCandidate {
                url: url_of_variable(name, value)?,
                from: format!("the container's {}", redact::sanitize(name)),
            })
        })
        .collect()
}

/// Base URLs of the load balancers in front of the service: each target group's load
/// balancers, their DNS names and listeners (DescribeTargetGroups, DescribeLoadBalancers,
/// DescribeListeners). What cannot be read is a note; it never stops discovery.
async fn load_balancer_urls(
    sdk: &SdkConfig,
    service: &ecs::Service,
    notes: &mut Vec<String>,
) -> Vec<UrlCandidate> {
    let mut urls = Vec::new();
    for tg in service
        .load_balancers()
        .iter()
        .filter_map(ecs::LoadBalancer::target_group_arn)
    {
        match listener_urls(sdk, tg, notes).await {
            Ok(found) => urls.extend(found),
            Err(e) => notes.push(e.message),
        }
    }
    urls
}

/// The base URLs of the load balancers that forward to `target_group`, in the order to try
/// them: the names of the certificates its HTTPS listeners serve (ACM DescribeCertificate:
/// the API's own host, which the load balancer's DNS name would fail TLS against), then each
/// listener on the DNS name, HTTPS first (DescribeTargetGroups, DescribeLoadBalancers,
/// DescribeListeners). A certificate ACM will not describe is a note.
pub async fn listener_urls(
    sdk: &SdkConfig,
    target_group: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<UrlCandidate>, ProbeError> {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let acm = aws_sdk_acm::Client::new(sdk);
    let groups = call(
        System::LoadBalancer,
        "DescribeTargetGroups",
        client
            .describe_target_groups()
            .target_group_arns(target_group)
            .send(),
    )
    .await?;
    let mut urls = Vec::new();
    // Each load balancer once (moto lists one per listener that forwards to the group).
    let mut balancers: Vec<&String> = groups
        .target_groups()
        .iter()
        .flat_map(|g| g.load_balancer_arns().iter())
        .collect();
    balancers.sort();
    balancers.dedup();
    for lb in balancers {
        let described = call(
            System::LoadBalancer,
            "DescribeLoadBalancers",
            client
                .describe_load_balancers()
                .load_balancer_arns(lb)
                .send(),
        )
        .await?;
        let Some(balancer) = described.load_balancers().first() else {
            continue;
        };
        let dns = balancer.dns_name().unwrap_or_default();
        let name = redact::sanitize(balancer.load_balancer_name().unwrap_or_default());
        let listeners = call(
            System::LoadBalancer,
            "DescribeListeners",
            client.describe_listeners().load_balancer_arn(lb).send(),
        )
        .await?;
        let mut listed: Vec<&aws_sdk_elasticloadbalancingv2::types::Listener> =
            listeners.listeners().iter().collect();
        listed.sort_by_key(|l| {
            l.protocol()
                .map(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::as_str)
                != Some("HTTPS")
        });
        for l in &listed {
            for cert in l.certificates().iter().filter_map(|c| c.certificate_arn()) {
                match certificate_names(&acm, cert).await {
                    Ok(names) => urls.extend(names.into_iter().map(|host| UrlCandidate {
                        url: format!("https://{host}"),
                        from: format!("the certificate of {name}'s HTTPS listener"),
                    })),
                    Err(e) => notes.push(e.message),
                }
            }
        }
        for l in listed {
            let (Some(protocol), Some(port)) = (l.protocol(), l.port()) else {
                continue;
            };
            if let Some(url) = listener_url(dns, protocol.as_str(), port) {
                urls.push(UrlCandidate {
                    url,
                    from: format!(
                        "load balancer {name}, listener {} {port}",
                        protocol.as_str()
                    ),
                });
            }
        }
    }
    Ok(urls)
}

/// The hosts a certificate names (its domain, then its other names), without wildcards.
async fn certificate_names(
    acm: &aws_sdk_acm::Client,
    arn: &str,
) -> Result<Vec<String>, ProbeError> {
    let out = call(
        System::LoadBalancer,
        "acm:DescribeCertificate",
        acm.describe_certificate().certificate_arn(arn).send(),
    )
    .await?;
    let Some(cert) = out.certificate() else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = Vec::new();
    for n in cert
        .domain_name()
        .into_iter()
        .chain(cert.subject_alternative_names().iter().map(String::as_str))
    {
        let n = redact::sanitize(n);
        if !n.starts_with('*') && !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    }
    Ok(names)
}

/// Every App Runner service of the account (this region), sorted as [`ecs`] sorts them.
pub async fn apprunner(sdk: &SdkConfig, progress: Progress<'_>) -> Result<Found, ProbeError> {
    let client = aws_sdk_apprunner::Client::new(sdk);
    let pages = client.list_services().into_paginator().send();
    let pages = all_pages(
        "apprunner:ListServices",
        pages.collect::<Result<Vec<_>, _>>(),
    )
    .await?;
    let arns: Vec<String> = pages
        .iter()
        .flat_map(
            aws_sdk_apprunner::operation::list_services::ListServicesOutput::service_summary_list,
        )
        .filter_map(|s| s.service_arn().map(str::to_owned))
        .collect();
    let mut found = Found::default();
    for arn in arns {
        let out = call(
            System::Ecs,
            "apprunner:DescribeService",
            client.describe_service().service_arn(&arn).send(),
        )
        .await?;
        let Some(service) = out.service() else {
            continue;
        };
        let name = redact::sanitize(service.service_name());
        progress(format!("App Runner: {name}: reading its configuration…"));
        if let Some(c) = apprunner_candidate(service) {
            found.candidates.push(c);
        } else {
            found.passed_over.push(PassedOver {
                label: format!("App Runner {name}"),
                why: "none of the variables".into(),
            });
        }
    }
    Ok(found)
}

fn apprunner_candidate(service: &aws_sdk_apprunner::types::Service) -> Option<Candidate> {
    let config = service
        .source_configuration()
        .and_then(|s| s.image_repository())
        .and_then(|i| i.image_configuration());
    let vars = config.and_then(|c| c.runtime_environment_variables());
    let secrets = config.and_then(|c| c.runtime_environment_secrets());
    let mut reads: Vec<String> = vars
        .into_iter()
        .flat_map(|m| m.keys())
        .chain(secrets.into_iter().flat_map(|m| m.keys()))
        .filter(|n| is_runbook_variable(n))
        .map(|n| redact::sanitize(n))
        .collect();
    reads.sort();
    reads.dedup();
    if reads.is_empty() {
        return None;
    }
    let name = redact::sanitize(service.service_name());
    let mut urls = vec![UrlCandidate {
        url: format!(
            "https://{}",
            redact::sanitize(service.service_url().unwrap_or_default())
        ),
        from: "App Runner's ServiceUrl".into(),
    }];
    urls.extend(vars.into_iter().flatten().filter_map(|(k, v)| {
        Some(UrlCandidate {
            url: url_of_variable(k, v)?,
            from: format!("the service's {}", redact::sanitize(k)),
        })
    }));
    Some(Candidate {
        platform: Platform::AppRunner,
        cluster: None,
        service: redact::sanitize(service.service_arn()),
        container: name.clone(),
        revision: "its service configuration".into(),
        reads,
        log_group: Some(crate::probe::apprunner::application_log_group(service)),
        log_region: None,
        urls,
        name,
    })
}
