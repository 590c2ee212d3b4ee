//! The container's `environmentFiles`: `.env` objects in S3 that ECS reads when it starts a
//! task, read here with the operator's credentials (GetObject) as the ECS agent reads them.
//!
//! ECS's rules, followed here: a line is `NAME=VALUE` (split at the first `=`, the line trimmed,
//! `#` starts a comment, a line with an empty name or value is skipped, a later line of the
//! same file wins); the files are applied in order and a variable is added only when it is not
//! set yet, so the container's own `environment` wins over every file and an earlier file over
//! a later one. Values stay in memory, like the secrets' ([`super::secrets::SecretValues`]):
//! what leaves as data is each variable's name, masked display and fingerprint.
//!
//! Whether the task execution role may read each file (`s3:GetObject`) is asked of IAM's policy
//! simulator, as for secrets: the operator may read what the ECS agent may not.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};

use super::aws::call;
use super::ecs::EnvVar;
use super::iam::RoleAccess;
use super::{ErrorKind, System};
use crate::redact;

/// The IAM action the ECS agent needs on each file.
pub const ACTION: &str = "s3:GetObject";

/// At most this much of a file is read: an env file is a few hundred bytes.
const MAX_BYTES: usize = 1 << 20;

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Read: its variables are known.
    Ok,
    /// No such bucket or key.
    NotFound,
    /// The operator may not read it (the execution role still may).
    NoAccess,
    /// Not an S3 object ARN (`arn:aws:s3:::bucket/key.env`), or not of type `s3`.
    BadReference,
    /// Anything else: unreachable, throttled, a bucket in another region, too large.
    Error,
}

impl FileState {
    /// The env pane's word for it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "read",
            Self::NotFound => "not found",
            Self::NoAccess => "no access",
            Self::BadReference => "not an S3 object ARN",
            Self::Error => "error",
        }
    }
}

/// One `environmentFiles` entry as it may be shown: never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvFile {
    /// The entry's `value`: the object's ARN.
    pub arn: String,
    /// `s3://bucket/key`, for the pane and the aws CLI.
    pub url: String,
    pub state: FileState,
    /// One line when the state is not `ok`: what happened and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Its variables in the file's order, masked; [`EnvFile::shadowed`] says which do not count.
    #[serde(default)]
    pub variables: Vec<EnvVar>,
    /// Variables of this file the container does not get from it: its `environment` or an
    /// earlier file sets them first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadowed: Vec<String>,
    /// S3's `Last-Modified`: a file edited after the tasks started is not what they read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_ms: Option<i64>,
    /// Whether the task execution role may read it, as IAM's policy simulator says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_access: Option<RoleAccess>,
}

impl EnvFile {
    /// `bucket` and `key` of an S3 object ARN (`arn:PARTITION:s3:::bucket/key`).
    pub fn object(arn: &str) -> Option<(&str, &str)> {
        let rest = arn.strip_prefix("arn:")?;
        let (_partition, rest) = rest.split_once(':')?;
        let path = rest.strip_prefix("s3:::")?;
        let (bucket, key) = path.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
    }
}

/// Parses a `.env` file as the ECS agent does: `NAME=VALUE` lines in order, a later line of
/// the same name winning.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty() || value.is_empty() {
            continue;
        }
        match vars.iter_mut().find(|(n, _)| n == name) {
            Some(existing) => value.clone_into(&mut existing.1),
            None => vars.push((name.to_owned(), value.to_owned())),
        }
    }
    vars
}

/// One file as shown, and its variables when it was read.
type FileRead = (EnvFile, Vec<(String, String)>);

/// Every file read, and the variables the container gets from them (in memory only).
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub files: Vec<EnvFile>,
    /// What the files add to the container, in the order ECS adds them: never serialised.
    pub values: Vec<(String, String)>,
}

/// Reads `environmentFiles` with the operator's credentials.
#[derive(Debug, Clone)]
pub struct EnvFilesProbe {
    sdk: SdkConfig,
    s3: aws_sdk_s3::Client,
}

impl EnvFilesProbe {
    /// An S3 client of `sdk`; path-style addressing when an endpoint is set (the simulator,
    /// moto), as the aws CLI does for an IP address.
    pub fn new(sdk: &SdkConfig) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Self {
            sdk: sdk.clone(),
            s3: aws_sdk_s3::Client::from_conf(config),
        }
    }

    /// Reads every file (`(type, ARN)` entries, in order), applies ECS's precedence against
    /// `environment` (the container's own names), and asks IAM whether `role` may read them.
    pub async fn read_all(
        &self,
        entries: &[(String, String)],
        environment: &BTreeMap<String, String>,
        role: Option<&str>,
    ) -> Read {
        // Each file in its own task: a read waits for the slowest file, not for their sum.
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (kind, arn)) in entries.iter().enumerate() {
            let (probe, kind, arn) = (self.clone(), kind.clone(), arn.clone());
            tasks.spawn(async move { (i, Box::pin(probe.read(&kind, &arn)).await) });
        }
        let mut read: Vec<Option<FileRead>> = vec![None; entries.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, result)) = joined {
                read[i] = Some(result);
            }
        }
        let mut out = Read::default();
        for (mut file, vars) in read.into_iter().flatten() {
            for (name, value) in vars {
                let taken =
                    environment.contains_key(&name) || out.values.iter().any(|(n, _)| *n == name);
                if taken {
                    file.shadowed.push(redact::sanitize(&name));
                } else {
                    out.values.push((name, value));
                }
            }
            out.files.push(file);
        }
        self.check_role(role, &mut out.files).await;
        out
    }

    /// One file: its entry as shown, and its variables when it was read.
    async fn read(&self, kind: &str, arn: &str) -> (EnvFile, Vec<(String, String)>) {
        let mut file = EnvFile {
            arn: redact::sanitize(arn),
            url: redact::sanitize(arn),
            state: FileState::BadReference,
            detail: None,
            variables: Vec::new(),
            shadowed: Vec::new(),
            last_modified_ms: None,
            role_access: None,
        };
        let Some((bucket, key)) = EnvFile::object(arn).filter(|_| kind == "s3") else {
            file.detail = Some(format!(
                "{} (type {}) is not an S3 object ARN like arn:aws:s3:::bucket/name.env: ECS cannot read it either",
                file.arn,
                redact::sanitize(kind)
            ));
            return (file, Vec::new());
        };
        file.url = redact::sanitize(&format!("s3://{bucket}/{key}"));
        let asked = call(
            System::Secrets,
            "GetObject",
            Box::pin(self.s3.get_object().bucket(bucket).key(key).send()),
        )
        .await;
        let out = match asked {
            Ok(out) => out,
            Err(e) => {
                (file.state, file.detail) =
                    refused(&file.url, e.kind, e.code.as_deref(), &e.message);
                return (file, Vec::new());
            }
        };
        file.last_modified_ms = out.last_modified().and_then(|t| t.to_millis().ok());
        let bytes = match out.body.collect().await {
            Ok(body) => body.into_bytes(),
            Err(e) => {
                file.state = FileState::Error;
                file.detail = Some(redact::sanitize(&format!(
                    "{}: the answer broke off ({e}) — retry",
                    file.url
                )));
                return (file, Vec::new());
            }
        };
        if bytes.len() > MAX_BYTES {
            file.state = FileState::Error;
            file.detail = Some(format!(
                "{}: {} bytes, more than an env file holds (read up to {MAX_BYTES})",
                file.url,
                bytes.len()
            ));
            return (file, Vec::new());
        }
        let vars = parse(&String::from_utf8_lossy(&bytes));
        file.state = FileState::Ok;
        file.variables = vars
            .iter()
            .map(|(name, value)| EnvVar {
                name: redact::sanitize(name),
                display: redact::env_value(name, value),
                fingerprint: super::ecs::fingerprint(value),
            })
            .collect();
        (file, vars)
    }

    /// IAM's policy simulator: may the execution role `s3:GetObject` each file?
    async fn check_role(&self, role: Option<&str>, files: &mut [EnvFile]) {
        let arns: Vec<String> = files
            .iter()
            .filter(|f| f.state != FileState::BadReference)
            .map(|f| f.arn.clone())
            .collect();
        if arns.is_empty() {
            return;
        }
        let Some(role) = role else {
            for f in files.iter_mut() {
                f.role_access = Some(RoleAccess::Unknown {
                    why: "the task definition has no executionRoleArn: ECS cannot read env files without one".into(),
                });
            }
            return;
        };
        let answers = super::iam::role_may(&self.sdk, role, ACTION, arns).await;
        for f in files
            .iter_mut()
            .filter(|f| f.state != FileState::BadReference)
        {
            f.role_access = Some(match &answers {
                Ok(by_arn) => by_arn
                    .get(&f.arn)
                    .cloned()
                    .unwrap_or_else(|| RoleAccess::Unknown {
                        why: "IAM's policy simulator gave no result for it".into(),
                    }),
                Err(why) => RoleAccess::Unknown { why: why.clone() },
            });
        }
    }
}

/// A refused GetObject as a state and one line saying what to do.
fn refused(
    url: &str,
    kind: ErrorKind,
    code: Option<&str>,
    message: &str,
) -> (FileState, Option<String>) {
    match code {
        Some("NoSuchKey" | "NoSuchBucket" | "NotFound") => (
            FileState::NotFound,
            Some(format!(
                "{url}: {} — ECS cannot start a task that lists it; put the file back (aws s3 cp) or point environmentFiles at one that exists",
                code.unwrap_or_default()
            )),
        ),
        Some("AccessDenied" | "AccessDeniedException") => (
            FileState::NoAccess,
            Some(format!(
                "{url}: the operator may not s3:GetObject it, so its variables are unknown here (the execution role's own access is asked of IAM)"
            )),
        ),
        Some("PermanentRedirect" | "AuthorizationHeaderMalformed") => (
            FileState::Error,
            Some(format!(
                "{url}: the bucket is in another region ({}) — the file is read in the task's region; ECS needs the bucket in the task's region",
                code.unwrap_or_default()
            )),
        ),
        _ if kind == ErrorKind::Credentials => (FileState::NoAccess, Some(message.to_owned())),
        _ => (FileState::Error, Some(message.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_as_the_ecs_agent_reads_them() {
        let text = "# a comment\n\n  OTP_PROVIDER=twilio_verify  \nURL=https://x/?a=b=c\nEMPTY=\n=nameless\nno equals sign\nOTP_PROVIDER=stub\r\nQUOTED=\"kept\"\n";
        assert_eq!(
            parse(text),
            [
                ("OTP_PROVIDER".to_owned(), "stub".to_owned()),
                ("URL".to_owned(), "https://x/?a=b=c".to_owned()),
                ("QUOTED".to_owned(), "\"kept\"".to_owned()),
            ]
        );
    }

    #[test]
    fn only_s3_object_arns_name_a_file() {
        assert_eq!(
            EnvFile::object("arn:aws:s3:::nerava-config/prod/otp.env"),
            Some(("nerava-config", "prod/otp.env"))
        );
        assert_eq!(
            EnvFile::object("arn:aws-cn:s3:::b/k.env"),
            Some(("b", "k.env"))
        );
        for bad in [
            "s3://b/k.env",
            "arn:aws:s3:::bucket-only",
            "arn:aws:s3:::/k.env",
            "arn:aws:secretsmanager:us-east-1:1:secret:x",
            "",
        ] {
            assert_eq!(EnvFile::object(bad), None, "{bad}");
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        let (state, detail) = refused("s3://b/k", ErrorKind::Api, Some("NoSuchKey"), "x");
        assert_eq!(state, FileState::NotFound);
        assert!(detail.is_some_and(|d| d.contains("put the file back")));
        let (state, _) = refused(
            "s3://b/k",
            ErrorKind::Credentials,
            Some("AccessDenied"),
            "x",
        );
        assert_eq!(state, FileState::NoAccess);
        let (state, detail) = refused("s3://b/k", ErrorKind::Api, Some("PermanentRedirect"), "x");
        assert_eq!(state, FileState::Error);
        assert!(detail.is_some_and(|d| d.contains("another region")));
    }
}
