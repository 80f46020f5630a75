//! Who may do what: roles, bearer tokens, planner passwords and browser sessions.
//!
//! Roles are ordered `viewer < planner < admin`; an endpoint names the least role it needs.
//!
//! - **Tokens** are 32 random bytes, shown once as base64url. The store keeps only their SHA-256
//!   digest: a token has 256 bits of entropy, so nobody can guess it back from the digest, and a
//!   fast hash is the right one (a slow password hash would only slow down every request).
//! - **Passwords** are low-entropy and chosen by people: they are hashed with argon2id (the
//!   `argon2` crate's defaults) and a random salt, so a stolen table is slow to attack.
//! - **Sessions** (for the browser editor) are random 32-byte ids in an `HttpOnly`,
//!   `SameSite=Strict` cookie, stored as their SHA-256 digest with an expiry.
//!
//! This module is pure (no HTTP, no SQL): the storage is [`crate::store::AuthStore`], the HTTP
//! extraction is [`crate::api::auth`].

pub mod throttle;

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a caller may do. Ordered: a higher role may do everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read the map, tiles, lookups and reports (when reads are not open to everyone).
    Viewer,
    /// Everything a viewer may, and edit features.
    Planner,
    /// Everything a planner may; reserved for administration.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Planner => "planner",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "planner" => Ok(Role::Planner),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?} (expected viewer, planner or admin)"
            )),
        }
    }
}

/// An authenticated caller: the name written as the author of its edits, and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// A new random secret (token or session id): 32 bytes from the OS generator, base64url.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token or session id: its SHA-256 digest in lower-case hex.
pub fn secret_digest(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A password's argon2id hash as a PHC string (algorithm, parameters, salt and hash).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// True when `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Check `password` against `hash`, or, for a name with no account (`None`), against a fixed
/// hash of the same cost and fail: an unknown name takes as long to refuse as a wrong password,
/// so the time of the answer does not tell which names exist.
pub fn verify_password_or_dummy(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        hash_password("no account has this password").expect("argon2 hashes a fixed string")
    });
    match hash {
        Some(hash) => verify_password(password, hash),
        None => {
            let _ = verify_password(password, &DUMMY);
            false
        }
    }
}

/// A password must be at least this many characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Planner && Role::Planner < Role::Admin);
        for r in [Role::Viewer, Role::Planner, Role::Admin] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().unwrap_err().contains("root"));
    }

    #[test]
    fn secrets_are_random_and_digests_fixed() {
        let a = new_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_secret());
        assert_eq!(
            secret_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_unknown_name_costs_a_full_verification() {
        // The dummy is a real argon2id hash with the defaults every account gets, so checking
        // against it costs what checking a real one does.
        let real = hash_password("correct horse").unwrap();
        assert!(verify_password_or_dummy("correct horse", Some(&real)));
        assert!(!verify_password_or_dummy("correct horse", None));
        let parse = |h: &str| {
            let h = PasswordHash::new(h).unwrap();
            (h.algorithm.to_string(), h.params.to_string())
        };
        let dummy = hash_password("x").unwrap();
        assert_eq!(parse(&dummy), parse(&real));
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
