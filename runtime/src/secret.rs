use std::fmt;
use std::sync::Arc;

/// A secret (app secret or token) that never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret itself, for putting on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

/// The app credentials a service issues tokens for: WeCom `corpid` + `corpsecret`,
/// Tuzhan `instanceAppid` + `instanceSecrect`.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The app or corp id; not secret.
    pub app_id: String,
    /// The secret.
    pub secret: Secret,
}

impl Credentials {
    /// Credentials from an app id and its secret.
    pub fn new(app_id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Credentials {
            app_id: app_id.into(),
            secret: secret.into(),
        }
    }
}
