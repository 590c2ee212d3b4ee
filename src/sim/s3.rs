//! Simulated S3: the objects ECS's `environmentFiles` point at. GetObject and HeadObject in
//! S3's REST protocol, path-style (`GET /bucket/key`, as the aws CLI and the console address
//! an endpoint given by IP), S3's XML errors (`NoSuchKey`, `NoSuchBucket`, `AccessDenied`), and
//! the ECS agent's own read of an env file when it starts a task, as the execution role.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};

use super::aws::AwsError;
use super::scenario::Scenario;
use super::world::World;

/// One stored object.
#[derive(Debug, Clone)]
pub struct SimObject {
    pub body: String,
    pub modified_ms: i64,
}

/// The scenario's objects (`[s3_objects]`, `bucket/key` → body), written a week before `now`.
pub fn seed(scenario: &Scenario, now: i64) -> BTreeMap<String, SimObject> {
    scenario
        .s3_objects
        .iter()
        .map(|(path, body)| {
            let object = SimObject {
                body: body.clone(),
                modified_ms: now - 7 * 86_400_000,
            };
            (path.clone(), object)
        })
        .collect()
}

/// The request's bucket and key from a path-style path (`/bucket/key`, percent-decoded).
pub fn bucket_and_key(path: &str) -> Option<(String, String)> {
    let decoded = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
        .decode_utf8()
        .ok()?;
    let (bucket, key) = decoded.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_owned(), key.to_owned()))
}

/// What the ECS agent gets for the `environmentFiles` entry `arn` reading as `role`: the
/// file's variables, or the stop reason of a task that cannot start.
const FAILED: &str = "ResourceInitializationError: failed to download env files: file download command: non empty error stream: service call has been retried 5 time(s)";

impl World {
    /// The object `bucket/key`: `NoSuchBucket` when the bucket holds nothing, `NoSuchKey` when
    /// it holds other keys.
    pub fn s3_object(&self, bucket: &str, key: &str) -> Result<&SimObject, AwsError> {
        if let Some(object) = self.s3.get(&format!("{bucket}/{key}")) {
            return Ok(object);
        }
        let prefix = format!("{bucket}/");
        let (kind, message) = if self.s3.keys().any(|k| k.starts_with(&prefix)) {
            ("NoSuchKey", "The specified key does not exist.")
        } else {
            ("NoSuchBucket", "The specified bucket does not exist")
        };
        Err(AwsError {
            status: StatusCode::NOT_FOUND,
            kind: kind.into(),
            message: message.into(),
        })
    }

    /// The ECS agent's read of one env file (`arn:aws:s3:::bucket/key`) as the execution role.
    pub fn read_env_file(
        &self,
        arn: &str,
        role: Option<&str>,
    ) -> Result<Vec<(String, String)>, String> {
        let Some((bucket, key)) = crate::probe::env_files::EnvFile::object(arn) else {
            return Err(format!("{FAILED}: invalid S3 ARN {arn}"));
        };
        if let Some(denied) = self.execution_role_denies(role, "s3:GetObject", arn) {
            return Err(format!(
                "{FAILED}: AccessDenied: Access Denied status code: 403 ({denied})"
            ));
        }
        let object = self
            .s3_object(bucket, key)
            .map_err(|e| format!("{FAILED}: {}: {} status code: 404", e.kind, e.message))?;
        Ok(crate::probe::env_files::parse(&object.body))
    }
}

/// S3's answer to a GetObject (`GET`) or HeadObject (`HEAD`) of `bucket/key`.
pub fn respond(world: &World, method: &Method, bucket: &str, key: &str) -> Response {
    let object = match world.s3_object(bucket, key) {
        Ok(object) => object,
        Err(e) => return error_response(&e, method, &format!("/{bucket}/{key}")),
    };
    let digest = Md5::digest(object.body.as_bytes());
    let hex = digest.iter().fold(String::new(), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    });
    let etag = format!("\"{hex}\"");
    let modified = chrono::DateTime::from_timestamp_millis(object.modified_ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let body = if method == Method::HEAD {
        String::new()
    } else {
        object.body.clone()
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("binary/octet-stream"),
    );
    if method == Method::HEAD {
        headers.insert(header::CONTENT_LENGTH, object.body.len().into());
    }
    for (name, value) in [
        (header::ETAG, etag),
        (header::LAST_MODIFIED, modified),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// S3's XML error (`<Error><Code>…`), without a body for HEAD as S3 answers it.
pub fn error_response(e: &AwsError, method: &Method, resource: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body = if method == Method::HEAD {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>0000000000000000</RequestId></Error>",
            escape(&e.kind),
            escape(&e.message),
            escape(resource)
        )
    };
    let mut response = (e.status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}
