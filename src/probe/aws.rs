//! What the ECS and Logs probes share: the SDK configuration (the normal credential chain,
//! the configured region and profile, `endpoint_url` for the simulator or moto), every AWS call
//! under one timeout, and the translation of an SDK error into a [`ProbeError`] with one line
//! telling the on-call engineer what to do.

use std::error::Error;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use aws_config::imds::client::error::{ImdsError, TokenError as ImdsTokenError};
use aws_config::meta::ProviderChainError;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::{CredentialsError, TokenError};
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;

use super::{ErrorKind, ProbeError, System};
use crate::config::AwsConfig;
use crate::redact;

/// How long one AWS call (retries included) may take before it is reported as a timeout.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The SDK's loader as every AWS configuration here starts: the latest behaviour version and
/// [`https_client`]. Without the client the SDK would have none (its default one is not built).
pub fn loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// The HTTPS client of every AWS call: what the SDK's default client is (hyper 1 and rustls,
/// the proxy from `HTTPS_PROXY`/`NO_PROXY` as the latest behaviour version reads it, the
/// runtime's sleep for timeouts) with ring as rustls' crypto provider instead of aws-lc-rs, so
/// that reqwest (Twilio, the API) and the SDK share one provider and the build compiles one.
pub fn https_client() -> aws_sdk_ecs::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The SDK configuration for `cfg`: default credential chain (or the named profile), region,
/// and the endpoint override when one is set. When a profile is named (`aws.profile`,
/// `--profile` or `AWS_PROFILE`), a failure of the chain carries its name, so the line
/// telling the user to log in can name it too.
pub async fn sdk_config(cfg: &AwsConfig) -> SdkConfig {
    let mut loader = loader().region(Region::new(cfg.region.clone()));
    if let Some(profile) = &cfg.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let profile = cfg
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    match (profile, sdk.credentials_provider()) {
        (Some(profile), Some(chain)) => sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(ProfileChain {
                chain,
                profile,
            }))
            .build(),
        _ => sdk,
    }
}

/// The SDK's credential chain, its failures tagged with the profile it was asked for.
#[derive(Debug)]
struct ProfileChain {
    chain: SharedCredentialsProvider,
    profile: String,
}

/// A credential chain failure and the profile in use: the source of the SDK's own error
/// ([`CredentialsError`] keeps its variant), found again by [`error`] through `downcast_ref`.
#[derive(Debug)]
struct ProfileFailed {
    profile: String,
    source: CredentialsError,
}

impl std::fmt::Display for ProfileFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "profile {}", self.profile)
    }
}

impl Error for ProfileFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

impl ProvideCredentials for ProfileChain {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.chain.provide_credentials().await.map_err(|source| {
                let tagged = |source| ProfileFailed {
                    profile: self.profile.clone(),
                    source,
                };
                match source {
                    CredentialsError::CredentialsNotLoaded(_) => {
                        CredentialsError::not_loaded(tagged(source))
                    }
                    CredentialsError::InvalidConfiguration(_) => {
                        CredentialsError::invalid_configuration(tagged(source))
                    }
                    CredentialsError::ProviderError(_) => {
                        CredentialsError::provider_error(tagged(source))
                    }
                    CredentialsError::Unhandled(_) => CredentialsError::unhandled(tagged(source)),
                    // ProviderTimedOut has no source to carry the profile; nor might a variant
                    // added later (the enum is non-exhaustive).
                    other => other,
                }
            })
        })
    }

    fn fallback_on_interrupt(&self) -> Option<Credentials> {
        self.chain.fallback_on_interrupt()
    }
}

/// Runs one AWS call under [`CALL_TIMEOUT`], its failure mapped by [`error`].
///
/// A plain function returning [`call_within`]'s future, not an `async fn` awaiting it: an
/// `async fn` would hold the request's future twice (its argument and the inner future),
/// and an SDK request's future is large.
pub fn call<'a, T, E, R>(
    system: System,
    operation: &'a str,
    request: impl Future<Output = Result<T, SdkError<E, R>>> + 'a,
) -> impl Future<Output = Result<T, ProbeError>> + 'a
where
    T: 'a,
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    call_within(CALL_TIMEOUT, system, operation, request)
}

/// Runs AWS calls (one, or every page of a paginator collected) under `limit`, a failure
/// mapped by [`error`] and the limit passed as a timeout naming `operation`.
pub async fn call_within<T, E, R>(
    limit: Duration,
    system: System,
    operation: &str,
    request: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, ProbeError>
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    match tokio::time::timeout(limit, request).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(err)) => Err(error(system, operation, &err)),
        Err(_) => Err(ProbeError {
            system,
            kind: ErrorKind::Timeout,
            code: None,
            message: format!(
                "AWS {operation}: no answer in {} s — check the network or aws.endpoint_url",
                limit.as_secs()
            ),
        }),
    }
}

/// An SDK error as a [`ProbeError`]: credentials (told apart by the SDK's error types along
/// the error's sources, not by its text), not found (naming the config key to fix),
/// throttling, unreachable, timeout, or the service's own error code.
pub fn error<E, R>(system: System, operation: &str, err: &SdkError<E, R>) -> ProbeError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    let make = Maker { system };
    if let Some(failure) = CredentialFailure::find(err) {
        return make.error(
            ErrorKind::Credentials,
            Some(failure.code()),
            failure.message(),
        );
    }
    if let Some(error) = transport(make, operation, err) {
        return error;
    }
    let Some(code) = err.code() else {
        return make.error(
            ErrorKind::Api,
            None,
            format!("AWS {operation}: {}", chain(err)),
        );
    };
    by_code(make, operation, code, err.message().unwrap_or_default())
}

/// Makes a [`ProbeError`] of one system, its message sanitized.
#[derive(Clone, Copy)]
struct Maker {
    system: System,
}

impl Maker {
    fn error(self, kind: ErrorKind, code: Option<&str>, message: String) -> ProbeError {
        ProbeError {
            system: self.system,
            kind,
            code: code.map(str::to_owned),
            message: redact::sanitize(&message),
        }
    }
}

/// The error of a request that got no service answer: a timeout, an unreachable endpoint, an
/// unreadable answer, a request not built. `None` for a service error (or a kind added later:
/// `SdkError` is non-exhaustive), read by its code.
fn transport<E, R>(make: Maker, operation: &str, err: &SdkError<E, R>) -> Option<ProbeError>
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    match err {
        SdkError::TimeoutError(_) => Some(make.error(
            ErrorKind::Timeout,
            None,
            format!("AWS {operation}: timed out — check the network or aws.endpoint_url"),
        )),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unreachable
            };
            Some(make.error(
                kind,
                None,
                format!(
                    "AWS {operation}: cannot reach the endpoint ({}) — check the network, region or aws.endpoint_url",
                    chain(err)
                ),
            ))
        }
        SdkError::ResponseError(_) => Some(make.error(
            ErrorKind::BadResponse,
            None,
            format!("AWS {operation}: unreadable answer ({})", chain(err)),
        )),
        SdkError::ConstructionFailure(_) => Some(make.error(
            ErrorKind::Api,
            None,
            format!("AWS {operation}: request not built ({})", chain(err)),
        )),
        _ => None,
    }
}

/// A service's error, by its code: credentials, not found (naming the config key to fix),
/// throttling, or the code and message as they are.
fn by_code(make: Maker, operation: &str, code: &str, detail: &str) -> ProbeError {
    let system = make.system;
    match code {
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => make.error(
            ErrorKind::Credentials,
            Some(code),
            format!("AWS: {code} — the session credentials have expired; refresh them (`aws sso login`, or new keys) and retry"),
        ),
        "UnrecognizedClientException" | "InvalidClientTokenId" | "AuthFailure" => make.error(
            ErrorKind::Credentials,
            Some(code),
            format!("AWS: {code} — AWS does not know these access keys (deleted, mistyped, or another account's); check AWS_PROFILE or AWS_ACCESS_KEY_ID, or run `aws configure`"),
        ),
        "InvalidSignatureException" | "SignatureDoesNotMatch" => make.error(
            ErrorKind::Credentials,
            Some(code),
            format!("AWS: {code} — the secret key does not match the access key; check AWS_SECRET_ACCESS_KEY or the profile's keys"),
        ),
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => make.error(
            ErrorKind::Credentials,
            Some(code),
            format!(
                "AWS: {code} — not allowed to call {} — ask for that permission or use another profile",
                iam_action(system, operation)
            ),
        ),
        "ClusterNotFoundException" => make.error(
            ErrorKind::NotFound,
            Some(code),
            format!("AWS {operation}: {code} — no such cluster; fix aws.cluster in the config"),
        ),
        "ServiceNotFoundException" => make.error(
            ErrorKind::NotFound,
            Some(code),
            format!("AWS {operation}: {code} — no such service; fix aws.service in the config"),
        ),
        "ResourceNotFoundException" => {
            let key = match system {
                // Log groups are regional: the group may be in another region.
                System::Logs => "aws.log_group (or aws.log_region)",
                System::Secrets => "the task definition's valueFrom",
                _ => "aws.cluster / aws.service",
            };
            make.error(
                ErrorKind::NotFound,
                Some(code),
                format!("AWS {operation}: {code} ({detail}) — fix {key} in the config"),
            )
        }
        "TargetGroupNotFound" | "LoadBalancerNotFound" => make.error(
            ErrorKind::NotFound,
            Some(code),
            format!("AWS {operation}: {code} ({detail}) — the service's loadBalancers name a target group or load balancer that is gone"),
        ),
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
            make.error(
                ErrorKind::Throttled,
                Some(code),
                format!("AWS {operation}: {code} — throttled, backing off"),
            )
        }
        _ => make.error(
            ErrorKind::Api,
            Some(code),
            format!("AWS {operation}: {code}: {detail}"),
        ),
    }
}

/// The IAM action behind `operation`: `ecs:DescribeServices`, `logs:FilterLogEvents`.
fn iam_action(system: System, operation: &str) -> String {
    // Named with its service already (`apprunner:ListServices`, `acm:DescribeCertificate`):
    // services whose calls share a system with another's.
    if operation.contains(':') {
        return operation.to_owned();
    }
    match system {
        System::Ecs => format!("ecs:{operation}"),
        System::Logs => format!("logs:{operation}"),
        System::Secrets if operation.starts_with("GetParameter") => format!("ssm:{operation}"),
        System::Secrets if operation.ends_with("Object") => format!("s3:{operation}"),
        System::Secrets => format!("secretsmanager:{operation}"),
        System::CloudTrail => format!("cloudtrail:{operation}"),
        System::Network => format!("ec2:{operation}"),
        System::LoadBalancer if operation == "GetMetricData" => format!("cloudwatch:{operation}"),
        System::LoadBalancer => format!("elasticloadbalancing:{operation}"),
        System::Api | System::Twilio => operation.to_owned(),
    }
}

/// Why the credential chain gave no credentials, read from the SDK's error types among the
/// error's sources: [`CredentialsError`] (its variant), the SSO token provider's
/// [`TokenError`] or the SSO portal's [`GetRoleCredentialsError`], and instance metadata's
/// [`ImdsError`] / IMDS [`ImdsTokenError`]. The chain's "nothing found" error
/// ([`ProviderChainError`]) keeps each provider's attempt outside the source chain; those are
/// read too, so a chain that fell through to an unreachable instance metadata service is named
/// as such.
#[derive(Debug, Default)]
struct CredentialFailure {
    /// The innermost credential error's variant, when one was found.
    variant: Option<Variant>,
    /// The SSO token could not be had (expired and not refreshable, no cached token, or
    /// refused by the SSO portal).
    sso: bool,
    /// Instance metadata was tried and could not be used (forbidden, refused, timed out).
    imds: bool,
    /// The profile asked for, when one was named.
    profile: Option<String>,
    /// The provider's own words (from the innermost credential error on), for the variants
    /// whose fix depends on them.
    detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    NotLoaded,
    TimedOut(Duration),
    InvalidConfiguration,
    ProviderError,
}

impl CredentialFailure {
    /// The credential failure in `err`'s sources, if that is what `err` is.
    fn find(err: &(dyn Error + 'static)) -> Option<Self> {
        let mut found = Self::default();
        found.walk(err, true);
        (found.variant.is_some() || found.sso).then_some(found)
    }

    /// Reads `err` and its sources; `top` is false inside a chain's attempts, whose variants
    /// (all "not loaded") say nothing about the failure as a whole.
    fn walk(&mut self, err: &(dyn Error + 'static), top: bool) {
        let mut source = Some(err);
        while let Some(e) = source {
            if let Some(credentials) = e.downcast_ref::<CredentialsError>() {
                if top {
                    self.variant = Some(match credentials {
                        CredentialsError::CredentialsNotLoaded(_) => Variant::NotLoaded,
                        CredentialsError::ProviderTimedOut(t) => {
                            Variant::TimedOut(t.timeout_duration())
                        }
                        CredentialsError::InvalidConfiguration(_) => Variant::InvalidConfiguration,
                        _ => Variant::ProviderError,
                    });
                    self.detail = chain(credentials);
                }
            } else if e.is::<TokenError>()
                || e.downcast_ref::<GetRoleCredentialsError>()
                    .is_some_and(GetRoleCredentialsError::is_unauthorized_exception)
            {
                // The session's token: expired locally (TokenError, profiles on an
                // sso_session), or refused by the SSO portal (profiles with sso_start_url).
                self.sso = true;
            } else if e.is::<ImdsError>()
                || e.is::<ImdsTokenError>()
                || e.is::<SdkError<ImdsTokenError, HttpResponse>>()
            {
                self.imds = true;
            } else if let Some(tagged) = e.downcast_ref::<ProfileFailed>() {
                self.profile.get_or_insert_with(|| tagged.profile.clone());
            } else if let Some(nothing) = e.downcast_ref::<ProviderChainError<CredentialsError>>() {
                for attempt in nothing.attempts() {
                    self.walk(attempt.error(), false);
                }
            }
            source = e.source();
        }
    }

    /// The `code` of the [`ProbeError`].
    fn code(&self) -> &'static str {
        if self.sso {
            return "SsoTokenExpired";
        }
        if self.imds {
            return "ImdsUnavailable";
        }
        match self.variant {
            Some(Variant::TimedOut(_)) => "CredentialsProviderTimedOut",
            Some(Variant::InvalidConfiguration) => "InvalidCredentialsConfig",
            Some(Variant::ProviderError) => "CredentialsProviderError",
            Some(Variant::NotLoaded) | None => "CredentialsNotLoaded",
        }
    }

    /// One line: the cause and its fix. No secret: the SDK's credential errors never carry
    /// key material, and whatever the process environment holds is masked besides.
    fn message(&self) -> String {
        let profile = self.profile.as_deref();
        let flag = profile
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default();
        if self.sso {
            return format!("AWS SSO session expired or not started — run `aws sso login{flag}`");
        }
        if self.imds {
            return match profile {
                Some(p) => format!(
                    "no AWS credentials for profile {p}: the chain reached instance metadata, which is unavailable here — check that {p} is in ~/.aws/config, or run `aws configure{flag}` or `aws sso login{flag}`"
                ),
                None => "no AWS credentials: the chain reached instance metadata, which is unavailable here — set AWS_PROFILE or keys (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`".into(),
            };
        }
        let detail = masked(&self.detail);
        match (self.variant, profile) {
            (Some(Variant::TimedOut(after)), _) => format!(
                "AWS credentials: the credential provider gave no answer in {} s — check the profile's credential source (SSO, role, credential_process) and the network to it",
                after.as_secs()
            ),
            (Some(Variant::InvalidConfiguration), _) => format!(
                "AWS credentials: invalid configuration ({detail}) — fix the profile in ~/.aws/config"
            ),
            (Some(Variant::ProviderError), _) => format!(
                "AWS credentials could not be loaded ({detail}) — try `aws sts get-caller-identity{flag}`"
            ),
            (_, Some(p)) => format!(
                "no AWS credentials for profile {p} — check that {p} is in ~/.aws/config, or run `aws configure{flag}` or `aws sso login{flag}`"
            ),
            (_, None) => "no AWS credentials found — set AWS_PROFILE, run `aws configure`, or `aws sso login`".into(),
        }
    }
}

/// `text` with the AWS secrets of the process environment masked, should a provider ever
/// echo one.
fn masked(text: &str) -> String {
    let secrets: Vec<String> = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    redact::scrub(text, &secrets)
}

/// The error and its sources on one line.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::error::ConnectorError;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesError;

    /// A failure before the request left, as the SDK reports a credential chain's error: a
    /// dispatch failure whose source is the chain's error.
    fn dispatch(source: impl Error + Send + Sync + 'static) -> ProbeError {
        let err: SdkError<DescribeServicesError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(Box::new(source), None));
        error(System::Ecs, "DescribeServices", &err)
    }

    #[test]
    fn credential_variants_have_their_own_code_and_line() {
        let err = dispatch(CredentialsError::provider_timed_out(Duration::from_secs(5)));
        assert_eq!(err.kind, ErrorKind::Credentials);
        assert_eq!(err.code.as_deref(), Some("CredentialsProviderTimedOut"));
        assert!(err.message.contains("no answer in 5 s"), "{err:?}");

        let err = dispatch(CredentialsError::invalid_configuration(
            "profile `dev` has both sso_session and role_arn\nsecond line",
        ));
        assert_eq!(err.code.as_deref(), Some("InvalidCredentialsConfig"));
        assert!(err.message.contains("sso_session and role_arn"), "{err:?}");
        assert!(!err.message.contains('\n'), "{err:?}");

        let err = dispatch(CredentialsError::provider_error(
            "credential_process exited 1",
        ));
        assert_eq!(err.code.as_deref(), Some("CredentialsProviderError"));
        assert!(
            err.message.contains("aws sts get-caller-identity"),
            "{err:?}"
        );

        let err = dispatch(CredentialsError::not_loaded("nothing"));
        assert_eq!(err.code.as_deref(), Some("CredentialsNotLoaded"));
        for err in [
            dispatch(CredentialsError::not_loaded("x")),
            dispatch(CredentialsError::provider_error("x")),
        ] {
            assert!(!err.message.contains("cannot reach"), "{err:?}");
        }
    }

    #[test]
    fn the_profile_is_named_when_the_chain_was_given_one() {
        let tagged = |source| ProfileFailed {
            profile: "oncall".into(),
            source,
        };
        let err = dispatch(CredentialsError::not_loaded(tagged(
            CredentialsError::not_loaded("profile `oncall` was not defined"),
        )));
        assert_eq!(err.code.as_deref(), Some("CredentialsNotLoaded"));
        assert!(
            err.message
                .starts_with("no AWS credentials for profile oncall — "),
            "{err:?}"
        );
        let err = dispatch(CredentialsError::provider_error(tagged(
            CredentialsError::provider_error(TokenError::provider_error("expired")),
        )));
        assert_eq!(err.code.as_deref(), Some("SsoTokenExpired"));
        assert_eq!(
            err.message,
            "AWS SSO session expired or not started — run `aws sso login --profile oncall`"
        );
    }

    #[test]
    fn a_refused_connection_is_the_network() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err: SdkError<DescribeServicesError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let err = error(System::Ecs, "DescribeServices", &err);
        assert_eq!(err.kind, ErrorKind::Unreachable);
        assert_eq!(err.code, None);
        assert!(err.message.contains("cannot reach the endpoint"), "{err:?}");
    }

    #[test]
    fn iam_actions_by_system() {
        assert_eq!(
            iam_action(System::Ecs, "apprunner:ListServices"),
            "apprunner:ListServices"
        );
        assert_eq!(
            iam_action(System::LoadBalancer, "acm:DescribeCertificate"),
            "acm:DescribeCertificate"
        );
        assert_eq!(
            iam_action(System::Ecs, "DescribeServices"),
            "ecs:DescribeServices"
        );
        assert_eq!(
            iam_action(System::Logs, "FilterLogEvents"),
            "logs:FilterLogEvents"
        );
    }

    /// An `https://` endpoint gets TLS from [`https_client`] (ring): the first bytes the
    /// client sends are a TLS handshake record (0x16, version 3.x), not a plain HTTP request,
    /// and an endpoint that then hangs up is a failed call, not a hang.
    #[tokio::test]
    async fn an_https_endpoint_is_spoken_to_in_tls() {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let first = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut head = [0u8; 3];
            stream
                .read_exact(&mut head)
                .await
                .expect("the client's first bytes");
            head
        });
        let sdk = loader()
            .region(Region::new("us-east-1"))
            .endpoint_url(format!("https://{addr}"))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        let sent = tokio::time::timeout(
            Duration::from_secs(10),
            aws_sdk_ecs::Client::new(&sdk).list_clusters().send(),
        )
        .await
        .expect("a hung-up endpoint ends the call");
        assert!(sent.is_err(), "{sent:?}");
        let head = first.await.expect("listener");
        assert_eq!(head[0], 0x16, "a TLS handshake record, got {head:?}");
        assert_eq!(head[1], 3, "TLS version 3.x, got {head:?}");
    }
}
