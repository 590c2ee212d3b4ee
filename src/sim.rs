//! The simulated environment (`otp-console sim`, the demo, every test's fixture).
//!
//! Real HTTP servers on 127.0.0.1 speaking the real wire protocols, so the console's real
//! clients (reqwest, the AWS SDK with an endpoint override, curl, the aws CLI) run unchanged
//! against it: the backend API behind its load balancer, Twilio (Api v2010 and Verify v2 on one
//! listener), Twilio's status page, and one AWS endpoint: JSON 1.1 for ECS, CloudWatch Logs,
//! Secrets Manager, SSM and CloudTrail, the Query protocol for EC2, ELBv2 and IAM,
//! CloudWatch's GetMetricData in each protocol its clients send (Smithy RPC v2 CBOR, JSON 1.0,
//! Query), and S3's REST protocol for the env files' objects.
//! Scenarios reproduce each runbook failure by cause: the backend's behaviour comes from the
//! task-definition revision that is deployed, never from a scenario switch.

/// Simulated ACM: the certificate the load balancer's HTTPS listener serves.
pub mod acm;
/// Simulated App Runner (AWS JSON 1.0): the service, its operations, its VPC connector.
pub mod apprunner;
/// AWS JSON 1.1 endpoint: `X-Amz-Target` dispatch, credentials, AWS-shaped errors.
pub mod aws;
/// The backend API behind the modelled load balancer.
pub mod backend;
/// Scaled simulated time.
pub mod clock;
/// Simulated CloudTrail: the account's event history and LookupEvents.
pub mod cloudtrail;
/// Simulated CloudWatch GetMetricData (Smithy RPC v2 CBOR and AWS JSON 1.0).
pub mod cloudwatch;
/// Simulated EC2 (Query protocol): the service's network.
pub mod ec2;
/// Simulated ECS: task definitions, the service, deployments and tasks.
pub mod ecs;
/// Simulated Elastic Load Balancing v2 (Query protocol): the service's load balancer.
pub mod elbv2;
/// Simulated IAM (Query protocol): the roles and their policies, SimulatePrincipalPolicy.
pub mod iam;
/// Simulated CloudWatch Logs: the log group, FilterLogEvents and filter patterns.
pub mod logs;
/// The account's other ECS services, which `init` lists and passes over.
pub mod neighbours;
/// AWS's Query protocol (form-encoded `Action=…`, XML answers) for EC2, ELBv2 and IAM.
pub mod query;
/// `otp-console sim`: serve in the foreground.
pub mod run;
/// Simulated S3 (REST, path-style): the env files' objects, GetObject and HeadObject.
pub mod s3;
/// Scenarios as data: the base world and what changed since yesterday.
pub mod scenario;
/// Simulated Secrets Manager and SSM Parameter Store, and ECS's resolution of `secrets`.
pub mod secrets;
/// Twilio's public status page (Statuspage `summary.json`).
pub mod statuspage;
/// Background users and the load balancer's records (metrics, access lines).
pub mod traffic;
/// Simulated Twilio: Accounts, Verify services, verifications, checks, the demo inbox.
pub mod twilio;
/// The world's state and its simulated time.
pub mod world;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::aws::AwsError;
use self::backend::TaskRuntime;
use self::clock::SimClock;
use self::scenario::Scenario;
use self::twilio::Twilio;
use self::world::World;

/// State every simulated server shares. The world sits behind one mutex that is never held
/// across an await; each lock first brings simulated time up to now.
#[derive(Debug)]
pub struct Shared {
    pub clock: SimClock,
    pub scenario: Arc<Scenario>,
    world: Mutex<World>,
    /// Where the backend's Twilio calls go (the simulated Twilio).
    pub twilio_url: String,
    /// The backend's HTTP client.
    pub http: reqwest::Client,
    /// Becomes true when the simulator stops: long-lived answers (Live Tail) end with it.
    pub stopped: watch::Receiver<bool>,
    /// When the account's calls to each rate-limited operation went out (the last second's).
    calls: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// How many requests each AWS JSON operation (its `X-Amz-Target`) got, for tests.
    served: Mutex<HashMap<String, u64>>,
}

impl Shared {
    /// Counts one request to the AWS JSON operation `target`.
    fn count(&self, target: &str) {
        let mut served = self.served.lock().unwrap_or_else(PoisonError::into_inner);
        *served.entry(target.to_owned()).or_default() += 1;
    }

    /// The world, brought up to now.
    pub fn lock_world(&self) -> MutexGuard<'_, World> {
        let mut world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        world.advance_to(self.clock.now_ms());
        world
    }

    /// Writes lines to a backend's log stream, now.
    pub fn log(&self, backend: &TaskRuntime, lines: &[String]) {
        let mut world = self.lock_world();
        let now = self.clock.now_ms();
        world.log_lines(&backend.task_id, now, lines);
    }

    /// Counts an OTP start for `phone`; `Some(retry_after_secs)` when over the limit.
    pub fn rate_limit(&self, phone: &str) -> Option<u64> {
        let now = self.clock.now_ms();
        let window = self.clock.secs(backend::OTP_WINDOW_SECS).as_millis() as i64;
        let mut world = self.lock_world();
        let starts = world.otp_starts.entry(phone.to_owned()).or_default();
        while starts.front().is_some_and(|t| *t <= now - window) {
            starts.pop_front();
        }
        if starts.len() >= backend::OTP_STARTS_PER_WINDOW {
            let oldest = starts.front().copied().unwrap_or(now);
            let wait_ms = (oldest + window - now).max(1000);
            return Some(((wait_ms + 999) / 1000) as u64);
        }
        starts.push_back(now);
        None
    }
}

/// Ports to listen on (0 = any free port).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ports {
    pub api: u16,
    pub twilio: u16,
    pub status: u16,
    pub aws: u16,
}

/// The base URLs of a running simulator.
#[derive(Debug, Clone)]
pub struct Urls {
    /// The backend API (behind the load balancer).
    pub api: String,
    /// Twilio: Api v2010 and Verify v2.
    pub twilio: String,
    /// Twilio's status page.
    pub status: String,
    /// ECS and CloudWatch Logs (AWS JSON 1.1).
    pub aws: String,
}

/// A simulator that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on 127.0.0.1:{port} for the simulated {what}: {source} (pick another port, or 0 for any free one)")]
    Bind {
        what: &'static str,
        port: u16,
        source: std::io::Error,
    },
    #[error("cannot build the backend's HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// A running simulated environment; dropping it (or [`Simulator::shutdown`]) stops it.
pub struct Simulator {
    pub urls: Urls,
    shared: Arc<Shared>,
    twilio: Arc<Twilio>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

/// Access key id the simulator's printed config and the demo use: no credential error.
pub const ACCESS_KEY_ID: &str = "AKIASIMULATOR0000001";
/// Its secret (the simulator does not check signatures).
pub const SECRET_ACCESS_KEY: &str = "simulator-secret-access-key";

impl Simulator {
    /// Starts every server of `scenario` on loopback with the given ports and time scale.
    pub async fn start(
        scenario: Scenario,
        time_scale: f64,
        ports: Ports,
    ) -> Result<Self, SimError> {
        let clock = SimClock::new(time_scale);
        let scenario = Arc::new(scenario);
        let bind = |what: &'static str, port: u16| async move {
            TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
                .await
                .map_err(|source| SimError::Bind { what, port, source })
        };
        let api = bind("backend API", ports.api).await?;
        let twilio_listener = bind("Twilio API", ports.twilio).await?;
        let status = bind("Twilio status page", ports.status).await?;
        let aws = bind("AWS endpoint", ports.aws).await?;
        let url = |l: &TcpListener| {
            l.local_addr()
                .map(|a| format!("http://{a}"))
                .unwrap_or_default()
        };
        let urls = Urls {
            api: url(&api),
            twilio: url(&twilio_listener),
            status: url(&status),
            aws: url(&aws),
        };
        let twilio = Twilio::new(&scenario.twilio, clock);
        for event in &scenario.history.twilio {
            twilio.record_event(event, clock.now_ms());
        }
        let mut world = World::with_twilio(Arc::clone(&scenario), clock, Some(Arc::clone(&twilio)));
        world.front_door = api.local_addr().ok().map(|a| a.to_string());
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            clock,
            world: Mutex::new(world),
            scenario: Arc::clone(&scenario),
            twilio_url: urls.twilio.clone(),
            http: reqwest::Client::builder().no_proxy().build()?,
            stopped: stopped.clone(),
            calls: Mutex::default(),
            served: Mutex::default(),
        });
        let serve = |listener: TcpListener, router: Router| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                // A server error ends that server only; the others keep answering.
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await;
            })
        };
        let mut servers = vec![
            serve(api, backend::router(Arc::clone(&shared))),
            serve(twilio_listener, twilio::router(Arc::clone(&twilio))),
            serve(
                status,
                statuspage::status_router(scenario.statuspage.clone()),
            ),
            serve(aws, aws_router(Arc::clone(&shared))),
        ];
        // Moves simulated time on when nobody asks: rollouts progress, traffic is logged.
        let ticker = Arc::clone(&shared);
        let mut stopped_ticker = stopped.clone();
        servers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => drop(ticker.lock_world()),
                    _ = stopped_ticker.wait_for(|s| *s) => break,
                }
            }
        }));
        Ok(Self {
            urls,
            shared,
            twilio,
            stop,
            servers,
        })
    }

    /// How many requests the AWS JSON operation `target` (`AmazonEC2ContainerServiceV20141113.
    /// DescribeServices`) has served.
    pub fn served(&self, target: &str) -> u64 {
        let served = self
            .shared
            .served
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        served.get(target).copied().unwrap_or(0)
    }

    /// The scenario this simulator runs.
    pub fn scenario(&self) -> &Scenario {
        &self.shared.scenario
    }

    /// The simulated Twilio (its demo inbox shows the SMS arriving).
    pub fn twilio(&self) -> &Arc<Twilio> {
        &self.twilio
    }

    /// Stops every server and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for server in self.servers.drain(..) {
            let _ = server.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for server in &self.servers {
            server.abort();
        }
    }
}

fn aws_router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(aws_endpoint).with_state(shared)
}

/// The access key id in a SigV4 `Authorization` header.
fn access_key_id(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    credential.split('/').next().filter(|k| !k.is_empty())
}

/// The error a scenario's marked access key earns on `target` (an `X-Amz-Target` or an IAM
/// action such as `ec2:DescribeSecurityGroups`): every call, or with `KIND:target` only that one.
fn marked_key_error(shared: &Shared, key: &str, target: &str) -> Option<AwsError> {
    let kind =
        shared
            .scenario
            .aws
            .access_keys
            .get(key)
            .and_then(|kind| match kind.split_once(':') {
                Some((kind, only)) => (only == target).then_some(kind),
                None => Some(kind.as_str()),
            })?;
    let message = match kind {
        "ExpiredTokenException" | "ExpiredToken" => {
            "The security token included in the request is expired".to_owned()
        }
        "UnrecognizedClientException" | "AuthFailure" => {
            "The security token included in the request is invalid.".to_owned()
        }
        "ThrottlingException" => "Rate exceeded".to_owned(),
        _ => format!(
            "User: arn:aws:iam::{}:user/on-call is not authorized to perform: {target} because no identity-based policy allows the action",
            shared.scenario.deployment.account_id
        ),
    };
    Some(AwsError::client(kind, message))
}

/// `ThrottlingException` when the account already made its quota of calls to `target` in the
/// last second (`[aws.rate_limits]`, real time); otherwise the call is counted.
fn over_rate_limit(shared: &Shared, target: &str) -> Option<AwsError> {
    let limit = *shared.scenario.aws.rate_limits.get(target)? as usize;
    let now = Instant::now();
    let mut calls = shared.calls.lock().unwrap_or_else(PoisonError::into_inner);
    let recent = calls.entry(target.to_owned()).or_default();
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        recent.pop_front();
    }
    if recent.len() >= limit {
        return Some(AwsError::client("ThrottlingException", "Rate exceeded"));
    }
    recent.push_back(now);
    None
}

/// The error a request without a SigV4 signature gets.
fn missing_signature() -> AwsError {
    AwsError {
        status: StatusCode::FORBIDDEN,
        kind: "MissingAuthenticationTokenException".into(),
        message: "Missing Authentication Token".into(),
    }
}

/// A Query-protocol request (EC2, ELBv2): form in, XML out, each service's XML error shape.
fn query_endpoint(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let request = query::QueryRequest::parse(body);
    let service = request.as_ref().ok().and_then(|r| {
        query::QueryService::identify(query::signing_name(authorization), &r.version)
    });
    let result = (|| {
        let request = request?;
        let Some(service) = service else {
            return Err(AwsError::client(
                "InvalidAction",
                format!(
                    "Unknown Query service (Version {:?}): this endpoint serves EC2, Elastic Load Balancing v2 and IAM in the Query protocol.",
                    request.version
                ),
            ));
        };
        let key = access_key_id(headers).ok_or_else(missing_signature)?;
        let target = format!("{}:{}", service.iam_prefix(), request.action);
        // The Query services name their credential errors differently from the JSON ones.
        if let Some(mut e) = marked_key_error(shared, key, &target) {
            e.kind = match (service, e.kind.as_str()) {
                (query::QueryService::Ec2, "ExpiredTokenException") => "RequestExpired".into(),
                (query::QueryService::Ec2, "UnrecognizedClientException") => "AuthFailure".into(),
                (query::QueryService::Ec2, "AccessDeniedException") => {
                    "UnauthorizedOperation".into()
                }
                (_, "ExpiredTokenException") => "ExpiredToken".into(),
                (_, "UnrecognizedClientException") => "InvalidClientTokenId".into(),
                (_, "AccessDeniedException") => "AccessDenied".into(),
                _ => e.kind,
            };
            return Err(e);
        }
        let now = shared.clock.now_ms();
        let mut world = shared.lock_world();
        let answer = match service {
            query::QueryService::Ec2 => world.ec2_handle(&request, now),
            query::QueryService::Elbv2 => world.elbv2_handle(&request, now),
            query::QueryService::Iam => world.iam_handle(&request, now),
        };
        if answer.is_ok() {
            let user_agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            world.record_query_call(service, &request, key, user_agent, now);
        }
        answer
    })();
    let (status, body) = match result {
        Ok(xml) => (StatusCode::OK, xml),
        Err(e) => (e.status, query::error_body(service, &e)),
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

/// A CloudWatch request, in Smithy RPC v2 CBOR (`cbor`, the Rust SDK) or AWS JSON 1.0
/// (botocore).
fn cloudwatch_endpoint(
    shared: &Shared,
    headers: &HeaderMap,
    operation: &str,
    body: &[u8],
    cbor: bool,
) -> Response {
    let Some(key) = access_key_id(headers) else {
        return cloudwatch::error_response(&missing_signature(), cbor);
    };
    if let Some(e) = marked_key_error(shared, key, &format!("cloudwatch:{operation}")) {
        return cloudwatch::error_response(&e, cbor);
    }
    let run = |input: &cloudwatch::Input| Ok(shared.lock_world().get_metric_data(input));
    if cbor {
        cloudwatch::cbor_response(operation, body, run)
    } else {
        cloudwatch::json_response(operation, body, run)
    }
}

/// A CloudWatch request in the Query protocol (older botocore, the aws CLI 2.9).
fn cloudwatch_query_endpoint(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let denied = match access_key_id(headers) {
        None => Some(missing_signature()),
        Some(key) => marked_key_error(shared, key, "cloudwatch:GetMetricData"),
    };
    if let Some(e) = denied {
        let mut response = (e.status, cloudwatch::query_error(&e)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        return response;
    }
    cloudwatch::query_response(body, |input| Ok(shared.lock_world().get_metric_data(input)))
}

/// An S3 request (`GET` or `HEAD` of `/bucket/key`, signed for `s3`): the caller's marked
/// access key first, as S3 names its credential errors, then the object.
fn s3_endpoint(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let path = uri.path();
    let denied = match access_key_id(headers) {
        None => Some(AwsError {
            status: StatusCode::FORBIDDEN,
            kind: "AccessDenied".into(),
            message: "Anonymous access is not allowed".into(),
        }),
        Some(key) => marked_key_error(shared, key, "s3:GetObject").map(|mut e| {
            e.status = StatusCode::FORBIDDEN;
            e.kind = match e.kind.as_str() {
                "ExpiredTokenException" => "ExpiredToken".into(),
                "UnrecognizedClientException" => "InvalidAccessKeyId".into(),
                "ThrottlingException" => "SlowDown".into(),
                _ => "AccessDenied".into(),
            };
            e
        }),
    };
    if let Some(e) = denied {
        return s3::error_response(&e, method, path);
    }
    let Some((bucket, key)) = s3::bucket_and_key(path) else {
        let e = AwsError {
            status: StatusCode::NOT_IMPLEMENTED,
            kind: "NotImplemented".into(),
            message: "This simulated S3 serves GetObject and HeadObject of /bucket/key only".into(),
        };
        return s3::error_response(&e, method, path);
    };
    s3::respond(&shared.lock_world(), method, &bucket, &key)
}

/// One AWS JSON operation (`target`), after the caller's key, its marks and the account's
/// rate limits; every mutation that succeeds is recorded in CloudTrail.
fn json_operation(
    shared: &Shared,
    headers: &HeaderMap,
    target: &str,
    body: &[u8],
) -> Result<serde_json::Value, AwsError> {
    let key = access_key_id(headers).ok_or_else(missing_signature)?;
    if let Some(e) = marked_key_error(shared, key, target) {
        return Err(e);
    }
    if let Some(e) = over_rate_limit(shared, target) {
        return Err(e);
    }
    let now = shared.clock.now_ms();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Every mutation that succeeds is in CloudTrail, by the caller's access key.
    let recorded = |world: &mut World, answer: Result<serde_json::Value, AwsError>| {
        if let Ok(value) = &answer {
            world.record_call(target, body, value, key, user_agent, now);
        }
        answer
    };
    if let Some(op) = cloudtrail::operation(target) {
        shared.lock_world().cloudtrail_handle(op, body, key, now)
    } else if let Some(op) = target.strip_prefix("AmazonEC2ContainerServiceV20141113.") {
        let mut world = shared.lock_world();
        let answer = world.ecs_handle(op, body, now);
        recorded(&mut world, answer)
    } else if let Some(op) = target.strip_prefix("Logs_20140328.") {
        let region = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(query::signing_region);
        shared.lock_world().logs.handle_in(region, op, body, now)
    } else if let Some(op) = target.strip_prefix("secretsmanager.") {
        let mut world = shared.lock_world();
        let answer = world.secrets_handle(op, body, now);
        recorded(&mut world, answer)
    } else if let Some(op) = apprunner::operation(target) {
        let mut world = shared.lock_world();
        let answer = world.apprunner_handle(op, body, now);
        recorded(&mut world, answer)
    } else if let Some(op) = acm::operation(target) {
        shared.lock_world().acm_handle(op, body)
    } else if let Some(op) = target.strip_prefix("AmazonSSM.") {
        let mut world = shared.lock_world();
        let answer = world.ssm_handle(op, body, now);
        recorded(&mut world, answer)
    } else {
        Err(AwsError::client(
            "UnknownOperationException",
            format!("Unknown X-Amz-Target {target:?}: this endpoint serves ECS, CloudWatch Logs, Secrets Manager, SSM, CloudTrail and ACM (JSON 1.1), App Runner and CloudWatch (JSON 1.0), EC2, ELBv2 and IAM (Query), and S3 (REST)."),
        ))
    }
}

async fn aws_endpoint(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signed_for = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(query::signing_name);
    if matches!(method, Method::GET | Method::HEAD) && signed_for == Some("s3") {
        return s3_endpoint(&shared, &method, &uri, &headers);
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(operation) = uri
        .path()
        .strip_prefix("/service/")
        .and_then(|p| p.strip_prefix(cloudwatch::SERVICE))
        .and_then(|p| p.strip_prefix("/operation/"))
    {
        return cloudwatch_endpoint(&shared, &headers, operation, &body, true);
    }
    if let Some(operation) = target
        .strip_prefix(cloudwatch::SERVICE)
        .and_then(|t| t.strip_prefix('.'))
    {
        return cloudwatch_endpoint(&shared, &headers, operation, &body, false);
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if target.is_empty() && form {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if cloudwatch::is_query_request(authorization, &body) {
            return cloudwatch_query_endpoint(&shared, &headers, &body);
        }
        return query_endpoint(&shared, &headers, &body);
    }
    // CloudTrail's short form (the Rust SDK's) and botocore's long one are the same operation.
    let canonical =
        cloudtrail::operation(target).map(|op| format!("{}{op}", cloudtrail::TARGET_PREFIX));
    let target = canonical.as_deref().unwrap_or(target);
    shared.count(target);
    let result = json_operation(&shared, &headers, target, &body);
    // A valid Live Tail request is answered with an event stream, not one JSON body.
    if let (logs::live_tail::TARGET, Ok(start)) = (target, &result) {
        return logs::live_tail::respond(Arc::clone(&shared), start.clone());
    }
    let (status, body, error_type) = match result {
        Ok(value) => (StatusCode::OK, value, None),
        Err(e) => (e.status, e.body(), Some(e.kind)),
    };
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    // App Runner speaks AWS JSON 1.0, the others 1.1.
    let json_version = if apprunner::operation(target).is_some() {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(json_version));
    if let Some(kind) = error_type.and_then(|k| HeaderValue::from_str(&k).ok()) {
        headers.insert("x-amzn-errortype", kind);
    }
    response
}
