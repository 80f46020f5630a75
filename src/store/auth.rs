//! Tokens, planner accounts and sessions in both stores (`gridmap_tokens`, `gridmap_users`,
//! `gridmap_sessions`; migrations `sqlite/0002_auth.sql` and `postgres/0003_auth.sql`).
//!
//! The SQL is the same text for both backends (`$n` parameters, which SQLite accepts too); only
//! the pool differs, so each method is written once as a macro body over the pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use super::gpkg::GpkgStore;
use super::postgis::PostgisStore;
use crate::auth::{Principal, Role};

/// A token as listed: never its secret, which is not kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A planner account: its id, role and argon2 password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    /// Disabled accounts cannot sign in and have no sessions.
    pub disabled: bool,
}

/// Storage of credentials. Secrets arrive here already hashed ([`crate::auth::secret_digest`]).
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Record a token; its id. A name already in use is [`StoreError::Conflict`].
    async fn create_token(&self, name: &str, role: Role, digest: &str) -> Result<i64, StoreError>;
    /// Every token, revoked ones too, by id.
    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    /// Revoke the token with this id (when `id_or_name` is a number) or name; false when no
    /// unrevoked token matched.
    async fn revoke_token(&self, id_or_name: &str) -> Result<bool, StoreError>;
    /// The caller holding the token with this digest, unless it is revoked.
    async fn token_principal(&self, digest: &str) -> Result<Option<Principal>, StoreError>;
    /// Record a planner account; its id. A name already in use is [`StoreError::Conflict`].
    async fn create_user(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> Result<i64, StoreError>;
    /// The account with this name.
    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Record a session for a user until `expires_at`.
    async fn create_session(
        &self,
        digest: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The caller of the session with this digest, when it has not expired by `now`.
    async fn session_principal(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError>;
    /// End a session (nothing when there is none).
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
    /// Disable an account and end its sessions, or enable it again; false when there is no
    /// account of that name.
    async fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<bool, StoreError>;
    /// Delete the sessions that expired before `now`; how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

fn role(text: &str) -> Result<Role, StoreError> {
    text.parse().map_err(|detail| StoreError::Corrupt {
        what: "credential role".into(),
        detail,
    })
}

/// A unique-constraint violation becomes a conflict naming what clashed.
fn unique(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        _ => e.into(),
    }
}

macro_rules! auth_store {
    ($store:ty) => {
        #[async_trait]
        impl AuthStore for $store {
            async fn create_token(
                &self,
                name: &str,
                role: Role,
                digest: &str,
            ) -> Result<i64, StoreError> {
                sqlx::query_scalar(
                    "INSERT INTO gridmap_tokens (name, role, hash, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(name)
                .bind(role.as_str())
                .bind(digest)
                .bind(Utc::now())
                .fetch_one(&self.pool)
                .await
                .map_err(|e| unique(e, format!("a token named {name:?} exists already")))
            }

            async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
                let rows: Vec<(i64, String, String, DateTime<Utc>, Option<DateTime<Utc>>)> =
                    sqlx::query_as(
                        "SELECT id, name, role, created_at, revoked_at FROM gridmap_tokens \
                         ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|(id, name, r, created_at, revoked_at)| {
                        Ok(TokenInfo {
                            id,
                            name,
                            role: role(&r)?,
                            created_at,
                            revoked_at,
                        })
                    })
                    .collect()
            }

            async fn revoke_token(&self, id_or_name: &str) -> Result<bool, StoreError> {
                let id: i64 = id_or_name.parse().unwrap_or(-1);
                let done = sqlx::query(
                    "UPDATE gridmap_tokens SET revoked_at = $1 \
                     WHERE (id = $2 OR name = $3) AND revoked_at IS NULL",
                )
                .bind(Utc::now())
                .bind(id)
                .bind(id_or_name)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn token_principal(&self, digest: &str) -> Result<Option<Principal>, StoreError> {
                let row: Option<(String, String)> = sqlx::query_as(
                    "SELECT name, role FROM gridmap_tokens WHERE hash = $1 AND revoked_at IS NULL",
                )
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(name, r)| {
                    Ok(Principal {
                        name,
                        role: role(&r)?,
                    })
                })
                .transpose()
            }

            async fn create_user(
                &self,
                name: &str,
                role: Role,
                password_hash: &str,
            ) -> Result<i64, StoreError> {
                sqlx::query_scalar(
                    "INSERT INTO gridmap_users (name, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(name)
                .bind(role.as_str())
                .bind(password_hash)
                .bind(Utc::now())
                .fetch_one(&self.pool)
                .await
                .map_err(|e| unique(e, format!("a user named {name:?} exists already")))
            }

            async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
                let row: Option<(i64, String, String, String, bool)> = sqlx::query_as(
                    "SELECT id, name, role, password_hash, disabled_at IS NOT NULL \
                     FROM gridmap_users WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(id, name, r, password_hash, disabled)| {
                    Ok(UserRecord {
                        id,
                        name,
                        role: role(&r)?,
                        password_hash,
                        disabled,
                    })
                })
                .transpose()
            }

            async fn create_session(
                &self,
                digest: &str,
                user_id: i64,
                expires_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO gridmap_sessions (hash, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(digest)
                .bind(user_id)
                .bind(Utc::now())
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session_principal(
                &self,
                digest: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<Principal>, StoreError> {
                let row: Option<(String, String, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT u.name, u.role, s.expires_at FROM gridmap_sessions s \
                     JOIN gridmap_users u ON u.id = s.user_id \
                     WHERE s.hash = $1 AND u.disabled_at IS NULL",
                )
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some((name, r, expires)) if expires > now => Ok(Some(Principal {
                        name,
                        role: role(&r)?,
                    })),
                    _ => Ok(None),
                }
            }

            async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM gridmap_sessions WHERE hash = $1")
                    .bind(digest)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_user_disabled(
                &self,
                name: &str,
                disabled: bool,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let at = disabled.then(Utc::now);
                let found =
                    sqlx::query("UPDATE gridmap_users SET disabled_at = $1 WHERE name = $2")
                        .bind(at)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        > 0;
                if found && disabled {
                    sqlx::query(
                        "DELETE FROM gridmap_sessions WHERE user_id = \
                         (SELECT id FROM gridmap_users WHERE name = $1)",
                    )
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(found)
            }

            async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                // SQLite keeps the times as RFC 3339 text in UTC, which sorts as the times do.
                let done = sqlx::query("DELETE FROM gridmap_sessions WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

auth_store!(GpkgStore);
auth_store!(PostgisStore);
