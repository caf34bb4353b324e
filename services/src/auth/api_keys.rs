//! API keys for integrations: `tts_<prefix>_<secret>`. The prefix finds the key and is shown in
//! lists; the secret is stored as a SHA-256 hash (it has 256 bits of entropy, so a slow hash
//! adds nothing) and shown once, at creation.

use chrono::{Duration, Utc};
use domain::AppError;
use domain::account::{ApiKeySummary, CreatedApiKey};

use super::policy::{ApiKeyPrincipal, Principal, SCOPES};
use super::{AuthService, crypto};
use crate::audit::Actor;
use crate::db::api_keys::{self, ApiKeyRow};
use crate::error::Result;

const INVALID_KEY: &str = "The API key is not valid or was revoked.";

fn summary(row: ApiKeyRow) -> ApiKeySummary {
    ApiKeySummary {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

impl AuthService {
    pub async fn create_api_key(
        &self,
        name: &str,
        scopes: &[String],
        created_by: i64,
    ) -> Result<CreatedApiKey> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid_field("name", "must be 1 to 100 characters").into());
        }
        if scopes.is_empty() {
            return Err(AppError::invalid_field("scopes", "must name at least one scope").into());
        }
        let known: Vec<&str> = SCOPES.iter().map(|(scope, _)| *scope).collect();
        if let Some(unknown) = scopes.iter().find(|s| !known.contains(&s.as_str())) {
            return Err(AppError::invalid_field(
                "scopes",
                format!("'{unknown}' is not a scope (known: {})", known.join(", ")),
            )
            .into());
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();

        let prefix = crypto::random_token(6).replace(['-', '_'], "x");
        let secret = crypto::random_token(32);
        let key = format!("tts_{prefix}_{secret}");
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        let id = api_keys::insert(
            &mut tx.conn(),
            name,
            &prefix,
            &crypto::sha256_hex(secret.as_bytes()),
            &scopes.join(" "),
            created_by,
            now,
        )
        .await?;
        let row = api_keys::find(&mut tx.conn(), id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the new API key vanished"))?;
        // The key itself is never recorded: only what identifies it.
        crate::audit::record(
            &mut tx.conn(),
            Actor::User(created_by),
            "api_key.created",
            "api_key",
            Some(id),
            None,
            Some(serde_json::json!({ "name": name, "prefix": row.prefix, "scopes": scopes })),
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(api_key_id = id, "API key created");
        Ok(CreatedApiKey {
            key,
            summary: summary(row),
        })
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeySummary>> {
        let mut pooled = self.db().acquire().await?;
        Ok(api_keys::list(&mut pooled.conn())
            .await?
            .into_iter()
            .map(summary)
            .collect())
    }

    pub async fn revoke_api_key(&self, actor: Actor<'_>, id: i64) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        let Some(row) = api_keys::find(&mut tx.conn(), id).await? else {
            return Err(AppError::not_found("API key").into());
        };
        api_keys::revoke(&mut tx.conn(), id, now).await?;
        crate::audit::record(
            &mut tx.conn(),
            actor,
            "api_key.revoked",
            "api_key",
            Some(id),
            Some(serde_json::json!({ "name": row.name, "prefix": row.prefix })),
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(api_key_id = id, "API key revoked");
        Ok(())
    }

    /// The principal of an `X-API-Key` value; 401 if unknown, malformed or revoked.
    pub async fn authenticate_api_key(&self, raw: &str) -> Result<Principal> {
        let mut parts = raw.trim().splitn(3, '_');
        let (Some("tts"), Some(prefix), Some(secret)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(AppError::unauthorized(INVALID_KEY).into());
        };
        let mut pooled = self.db().acquire().await?;
        let row = api_keys::find_by_prefix(&mut pooled.conn(), prefix)
            .await?
            .filter(|row| row.revoked_at.is_none())
            .filter(|row| {
                crypto::constant_time_eq(
                    row.secret_hash.as_bytes(),
                    crypto::sha256_hex(secret.as_bytes()).as_bytes(),
                )
            })
            .ok_or_else(|| AppError::unauthorized(INVALID_KEY))?;
        // "Last used" is for people; a minute of precision saves a write per request. It is
        // not worth failing the request for: two first uses at once race for SQLite's write
        // lock, and the loser may be refused at once (its connection's read snapshot is stale).
        let now = Utc::now();
        if row
            .last_used_at
            .is_none_or(|at| now - at > Duration::minutes(1))
            && let Err(err) = api_keys::touch(&mut pooled.conn(), row.id, now).await
        {
            tracing::debug!(error = %err, key_id = row.id, "API key's last use not recorded");
        }
        Ok(Principal::ApiKey(ApiKeyPrincipal {
            id: row.id,
            name: row.name,
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
        }))
    }
}
