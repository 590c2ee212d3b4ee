//! What the ECS and Logs probes share: the SDK configuration (the normal credential chain,
//! the configured region and profile, `endpoint_url` for the simulator or moto), every AWS call
//! under one timeout, and the translation of an SDK error into a [`ProbeError`] with one line
//! telling the on-call engineer what to do.

use std::error::Error;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use super::{ErrorKind, ProbeError, System};
use crate::config::AwsConfig;
use crate::redact;

/// How long one AWS call (retries included) may take before it is reported as a timeout.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The SDK configuration for `cfg`: default credential chain (or the named profile), region,
/// and the endpoint override when one is set.
pub async fn sdk_config(cfg: &AwsConfig) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(cfg.region.clone()));
    if let Some(profile) = &cfg.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Runs one AWS call under [`CALL_TIMEOUT`], its failure mapped by [`error`].
pub async fn call<T, E, R>(
    system: System,
    operation: &str,
    request: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, ProbeError>
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    match tokio::time::timeout(CALL_TIMEOUT, request).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(err)) => Err(error(system, operation, &err)),
        Err(_) => Err(ProbeError {
            system,
            kind: ErrorKind::Timeout,
            code: None,
            message: format!(
                "AWS {operation}: no answer in {} s — check the network or aws.endpoint_url",
                CALL_TIMEOUT.as_secs()
            ),
        }),
    }
}

/// An SDK error as a [`ProbeError`]: credentials, not found (naming the config key to fix),
/// throttling, unreachable, timeout, or the service's own error code.
pub fn error<E, R>(system: System, operation: &str, err: &SdkError<E, R>) -> ProbeError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    let make = |kind: ErrorKind, code: Option<&str>, message: String| ProbeError {
        system,
        kind,
        code: code.map(str::to_owned),
        message: redact::sanitize(&message),
    };
    if is_credentials_not_loaded(err) {
        return make(
            ErrorKind::Credentials,
            Some("CredentialsNotLoaded"),
            "no AWS credentials found — set AWS_PROFILE or run aws sso login".into(),
        );
    }
    match err {
        SdkError::TimeoutError(_) => {
            return make(
                ErrorKind::Timeout,
                None,
                format!("AWS {operation}: timed out — check the network or aws.endpoint_url"),
            )
        }
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unreachable
            };
            return make(
                kind,
                None,
                format!(
                    "AWS {operation}: cannot reach the endpoint ({}) — check the network, region or aws.endpoint_url",
                    chain(err)
                ),
            );
        }
        SdkError::ResponseError(_) => {
            return make(
                ErrorKind::BadResponse,
                None,
                format!("AWS {operation}: unreadable answer ({})", chain(err)),
            )
        }
        SdkError::ConstructionFailure(_) => {
            return make(
                ErrorKind::Api,
                None,
                format!("AWS {operation}: request not built ({})", chain(err)),
            )
        }
        // A service error (or a kind added later: `SdkError` is non-exhaustive): by its code.
        _ => {}
    }
    let Some(code) = err.code() else {
        return make(
            ErrorKind::Api,
            None,
            format!("AWS {operation}: {}", chain(err)),
        );
    };
    let detail = err.message().unwrap_or_default();
    match code {
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => make(
            ErrorKind::Credentials,
            Some(code),
            format!("AWS: {code} — refresh your credentials (aws sso login, or new keys)"),
        ),
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch" => make(
            ErrorKind::Credentials,
            Some(code),
            format!("AWS: {code} — these credentials are not valid; check AWS_PROFILE or the access keys in use"),
        ),
        "AccessDeniedException" | "AccessDenied" => make(
            ErrorKind::Credentials,
            Some(code),
            format!("AWS: {code} — not allowed to call {operation}; ask for that permission or use another profile"),
        ),
        "ClusterNotFoundException" => make(
            ErrorKind::NotFound,
            Some(code),
            format!("AWS {operation}: {code} — no such cluster; fix aws.cluster in the config"),
        ),
        "ServiceNotFoundException" => make(
            ErrorKind::NotFound,
            Some(code),
            format!("AWS {operation}: {code} — no such service; fix aws.service in the config"),
        ),
        "ResourceNotFoundException" => {
            let key = match system {
                System::Logs => "aws.log_group",
                _ => "aws.cluster / aws.service",
            };
            make(
                ErrorKind::NotFound,
                Some(code),
                format!("AWS {operation}: {code} ({detail}) — fix {key} in the config"),
            )
        }
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
            make(
                ErrorKind::Throttled,
                Some(code),
                format!("AWS {operation}: {code} — throttled, backing off"),
            )
        }
        _ => make(
            ErrorKind::Api,
            Some(code),
            format!("AWS {operation}: {code}: {detail}"),
        ),
    }
}

/// Whether the credential chain found nothing at all (no keys, no profile, no SSO session).
fn is_credentials_not_loaded<E, R>(err: &SdkError<E, R>) -> bool
where
    E: Error + 'static,
    R: Debug + 'static,
{
    if !matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
    ) {
        return false;
    }
    // The credential error type lives in aws-credential-types, which is not a dependency of
    // ours; its Debug name is stable API (an enum variant), so look for it in the chain.
    let mut source: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = source {
        let debug = format!("{e:?}");
        if debug.starts_with("CredentialsNotLoaded") || debug.starts_with("NoMatchingAuthScheme") {
            return true;
        }
        source = e.source();
    }
    false
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
