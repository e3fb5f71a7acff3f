//! Parsing a policy's configuration: canonical JSON (RFC 8785) from the signed artifact.
//!
//! Configurations are strict: unknown fields are refused (declare
//! `#[serde(deny_unknown_fields)]`), and an error names the JSON path that failed, so
//! `convoy-release` can tell the operator exactly what to fix.
#![forbid(unsafe_code)]

use std::fmt;

use serde::de::DeserializeOwned;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The JSON does not have the configuration's shape.
    Shape {
        /// JSON path of the offending value (`.` for the root).
        path: String,
        /// What serde said.
        message: String,
    },
    /// The JSON has the right shape but a value is not acceptable.
    Invalid(String),
}

impl ConfigError {
    /// An [`ConfigError::Invalid`] with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        ConfigError::Invalid(message.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Shape { path, message } => write!(f, "config at `{path}`: {message}"),
            ConfigError::Invalid(message) => write!(f, "config: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
    }
}

/// Parse `cfg` (JSON text) into `T`, naming the path of the first error.
pub fn parse_config<T: DeserializeOwned>(cfg: &str) -> Result<T, ConfigError> {
    let mut de = serde_json::Deserializer::from_str(cfg);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| ConfigError::Shape {
        path: e.path().to_string(),
        message: without_position(e.inner()),
    })?;
    // Reject trailing garbage after the value.
    de.end().map_err(|e| ConfigError::Shape {
        path: ".".into(),
        message: without_position(&e),
    })?;
    Ok(value)
}

/// serde_json's message without its " at line L column C" suffix: the path already says
/// where, and positions depend on how the host serialised the configuration.
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    message.strip_suffix(&suffix).unwrap_or(&message).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Cfg {
        max_in_flight: u32,
    }

    #[test]
    fn errors_name_the_path() {
        let err = parse_config::<Cfg>(r#"{"maxInFlight": "two"}"#).expect_err("refused");
        assert!(err.to_string().contains("maxInFlight"), "{err}");
        let err = parse_config::<Cfg>(r#"{"maxInFlight": 2, "extra": 1}"#).expect_err("refused");
        assert!(err.to_string().contains("extra"), "{err}");
        assert!(parse_config::<Cfg>(r#"{"maxInFlight": 2} x"#).is_err());
        assert!(parse_config::<Cfg>(r#"{"maxInFlight": 2}"#).is_ok());
    }
}
