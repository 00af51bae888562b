//! Secret material: the secret access key type, which never prints itself, and the credential
//! bundle the client-side signer uses for backend requests.

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret access key. `Debug` and `Display` print `***`; the only way to the text is
/// [`SecretKey::expose`], so a stray `{:?}` in a log line cannot leak it.
#[derive(Clone)]
pub struct SecretKey(Box<str>);

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> Self {
        SecretKey(secret.into().into_boxed_str())
    }

    /// The secret itself, for key derivation. Keep the call sites few.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality (lengths are not hidden: secret lengths are not secret enough to
    /// matter, and every AWS-format secret is 40 characters anyway).
    pub fn ct_eq(&self, other: &SecretKey) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl From<&str> for SecretKey {
    fn from(s: &str) -> Self {
        SecretKey::new(s)
    }
}

impl From<String> for SecretKey {
    fn from(s: String) -> Self {
        SecretKey::new(s)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What the proxy signs backend requests with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret: SecretKey,
    /// STS session token; sent as `x-amz-security-token` (header) or `X-Amz-Security-Token`
    /// (presigned query) when present.
    pub session_token: Option<String>,
}

impl Credentials {
    pub fn new(access_key_id: impl Into<String>, secret: impl Into<SecretKey>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret: secret.into(),
            session_token: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &self.secret)
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let s = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        let mut c = Credentials::new("AKIAIOSFODNN7EXAMPLE", s.clone());
        c.session_token = Some("tok-secret".into());
        let shown = format!("{c:?}");
        assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"));
        assert!(!shown.contains("wJalr"));
        assert!(!shown.contains("tok-secret"));
        assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    }

    #[test]
    fn constant_time_equality() {
        let a = SecretKey::from("abc");
        assert!(a.ct_eq(&SecretKey::from("abc")));
        assert!(!a.ct_eq(&SecretKey::from("abd")));
        assert!(!a.ct_eq(&SecretKey::from("abcd")));
        assert!(!a.ct_eq(&SecretKey::from(String::new())));
    }
}
