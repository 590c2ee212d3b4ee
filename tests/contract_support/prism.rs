//! Stoplight Prism serving one of Twilio's own OpenAPI descriptions (npm `@twilio/cli-core`),
//! shared by the Twilio contract tests: `prism mock` (answers valid requests with the
//! description's examples, refuses invalid ones) and `prism proxy --errors` (forwards to the
//! simulator and turns a request or response that violates the description into an error).
//! `bash tests/run.sh` installs Prism and the descriptions; a test file that uses this module
//! also declares `mod emulator` (`contract_support/emulator.rs`).

use std::path::PathBuf;

use serde_json::Value;

use crate::emulator::{self, Emulator};

/// Where the description `name` (e.g. `twilio_api_v2010.json`) is installed.
pub fn spec(name: &str) -> PathBuf {
    emulator::installed(
        "OTP_CONSOLE_TWILIO_SPECS",
        "twilio-specs",
        "Twilio's OpenAPI descriptions (npm @twilio/cli-core)",
    )
    .join(name)
}

/// The description `name`, parsed.
pub fn description(name: &str) -> Value {
    let path = spec(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} unreadable ({e}): run `bash tests/run.sh`, which fetches it",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("description is JSON")
}

/// Twilio's description as Prism can validate it. OpenAPI 3.0 allows `nullable` without a
/// `type` (it then means nothing: any value goes), but Prism's JSON Schema compiler (ajv)
/// refuses such a schema, and Prism treats a schema it cannot compile as matching everything:
/// every response body would validate, silently. Dropping those `nullable`s changes no
/// meaning and makes Prism really check the bodies.
fn validatable(name: &str) -> tempfile::NamedTempFile {
    fn drop_untyped_nullable(value: &mut Value) {
        match value {
            Value::Object(object) => {
                if !object.contains_key("type") {
                    object.remove("nullable");
                }
                object.values_mut().for_each(drop_untyped_nullable);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_untyped_nullable),
            _ => {}
        }
    }
    /// Api v2010's paging and resource URIs (`uri`, `first_page_uri`, …) are typed
    /// `format: uri` (absolute), yet Twilio sends paths relative to api.twilio.com, as the
    /// description's own examples show (Prism's mock fails its own example on them). Only
    /// that format is dropped, only on those fields: they stay strings.
    fn relax_relative_uris(value: &mut Value) {
        match value {
            Value::Object(object) => {
                if let Some(Value::Object(properties)) = object.get_mut("properties") {
                    for (name, schema) in properties.iter_mut() {
                        if (name == "uri" || name.ends_with("_uri"))
                            && schema.get("format").and_then(Value::as_str) == Some("uri")
                        {
                            if let Some(schema) = schema.as_object_mut() {
                                schema.remove("format");
                            }
                        }
                    }
                }
                object.values_mut().for_each(relax_relative_uris);
            }
            Value::Array(items) => items.iter_mut().for_each(relax_relative_uris),
            _ => {}
        }
    }
    let mut description = description(name);
    drop_untyped_nullable(&mut description);
    relax_relative_uris(&mut description);
    let copy = tempfile::Builder::new()
        .suffix(".json")
        .tempfile()
        .expect("temporary file");
    serde_json::to_writer(copy.as_file(), &description).expect("copy written");
    copy
}

/// Prism serving one description; the copy it reads lives as long as it does.
pub struct Prism {
    emulator: Emulator,
    _spec: tempfile::NamedTempFile,
}

impl Prism {
    /// `prism mock SPEC`: answers valid requests with the description's examples and refuses
    /// invalid ones.
    pub async fn mock(name: &str) -> Self {
        Self::start(name, None).await
    }

    /// `prism proxy SPEC UPSTREAM --errors`: forwards to `upstream`, and turns a request or
    /// response that violates the description into an error answer.
    pub async fn proxy(name: &str, upstream: &str) -> Self {
        Self::start(name, Some(upstream)).await
    }

    async fn start(name: &str, upstream: Option<&str>) -> Self {
        let program = emulator::installed(
            "OTP_CONSOLE_PRISM",
            "node/node_modules/.bin/prism",
            "Stoplight Prism (npm @stoplight/prism-cli)",
        );
        let spec = validatable(name);
        let port = emulator::free_port();
        let port_arg = port.to_string();
        let mut args = vec![
            if upstream.is_some() { "proxy" } else { "mock" },
            spec.path().to_str().expect("utf-8 path"),
        ];
        args.extend(upstream);
        args.extend(["--host", "127.0.0.1", "--port", &port_arg, "--errors"]);
        let emulator = Emulator::start(&format!("prism {}", args[0]), &program, &args, port).await;
        Self {
            emulator,
            _spec: spec,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.emulator.url
    }
}
