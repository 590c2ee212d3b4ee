//! Contexts: several targets in one file, k9s-style. `[contexts.NAME]` tables hold the same
//! sections as the top level (`[contexts.prod.aws]`, `[contexts.prod.api]`, ...) plus `color`;
//! the top level's values are the defaults every context inherits, a context's tables merge
//! over them key by key. `default_context` names the one used without `--context`.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use super::error::ErrorKind;
use super::ConfigError;

/// The colours a context may be shown in (ratatui's names), for the error that lists them.
const COLOURS: &str = "red, green, yellow, blue, magenta, cyan, white, gray, or #rrggbb";

/// The context a configuration was read for: its name, and the colour the header shows it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// Takes `contexts` and `default_context` out of `table` and merges the context asked for
/// (`wanted`, else `default_context`) over what is left. `None` when none is asked for and the
/// file names no default: `table` is then the configuration as written.
pub fn select(
    table: &mut Table,
    wanted: Option<&str>,
    origin: &str,
) -> Result<Option<Context>, ConfigError> {
    let contexts = table.remove("contexts");
    let default = table.remove("default_context");
    let fail = |message: String| ConfigError::at(origin, None, ErrorKind::Check, message);
    let default = match default {
        None => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => {
            return Err(fail(
                "default_context must be a context's name (a string)".into(),
            ))
        }
    };
    let all = match contexts {
        None => Table::new(),
        Some(Value::Table(all)) => all,
        Some(_) => return Err(fail("contexts must be tables: [contexts.NAME]".into())),
    };
    let Some(name) = wanted.map(str::to_owned).or(default) else {
        return Ok(None);
    };
    let names = || {
        if all.is_empty() {
            "the file has no [contexts.NAME]".to_owned()
        } else {
            format!(
                "its contexts: {}",
                all.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        }
    };
    let Some(Value::Table(context)) = all.get(&name) else {
        return Err(fail(format!(
            "no context {:?} in the file; {}",
            crate::redact::sanitize(&name),
            names()
        )));
    };
    let mut context = context.clone();
    let color = match context.remove("color") {
        None => None,
        Some(Value::String(c)) if c.parse::<ratatui::style::Color>().is_ok() => Some(c),
        Some(other) => {
            return Err(fail(format!(
                "contexts.{name}.color: {} is not a colour ({COLOURS})",
                crate::redact::sanitize(&other.to_string())
            )))
        }
    };
    merge(table, context);
    Ok(Some(Context { name, color }))
}

/// The names of the contexts `text` holds (`[contexts.NAME]`), in the file's order of keys;
/// none when it is not TOML or has none.
pub fn names(text: &str) -> Vec<String> {
    match toml::from_str::<Table>(text)
        .ok()
        .and_then(|t| t.get("contexts").cloned())
    {
        Some(Value::Table(all)) => all.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// `over`'s keys over `base`'s: tables merge key by key, anything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}
