//! Settings stored in the database: node-local ones (this node's sync
//! configuration and state) and shared ones (synced, such as the site name).
//! Environment variables override both; that precedence lives in the config
//! layer above.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::sql::Param;
use crate::{Db, Tx};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SharedSetting {
    pub key: String,
    pub value: String,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// Namespace of shared-setting ids: the id of a setting is UUID v5 of its key,
/// so the same setting made on two nodes is one row.
const SETTINGS_NAMESPACE: Uuid = Uuid::from_u128(0x0b7e_33c4_95a2_4f61_8d0e_4c2a_6f1b_9e02);

impl Db {
    pub async fn node_settings(&self) -> Result<Vec<(String, String)>> {
        let rows = crate::backend::on_pool!(self, pool => {
            sqlx::query_as::<_, (String, String)>("SELECT key, value FROM node_settings ORDER BY key")
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn node_setting(&self, key: &str) -> Result<Option<String>> {
        let value = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT value FROM node_settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }

    pub async fn shared_setting(&self, key: &str) -> Result<Option<String>> {
        let value = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT value FROM shared_settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }

    pub async fn shared_settings(&self) -> Result<Vec<SharedSetting>> {
        let rows = crate::backend::on_pool!(self, pool => {
            sqlx::query_as::<_, SharedSetting>(
                "SELECT key, value, updated_at, version FROM shared_settings ORDER BY key LIMIT 1000",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

impl Tx {
    pub async fn set_node_setting(&mut self, key: &str, value: &str) -> Result<()> {
        crate::library::storable(key, value)?;
        crate::backend::on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO node_settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(value)
            .bind(crate::now())
            .execute(conn)
            .await?;
        });
        Ok(())
    }

    /// Removes a stored node setting (it falls back to its default).
    pub async fn delete_node_setting(&mut self, key: &str) -> Result<()> {
        crate::backend::on_tx!(self, conn => {
            sqlx::query("DELETE FROM node_settings WHERE key = $1").bind(key).execute(conn).await?;
        });
        Ok(())
    }

    pub async fn set_shared_setting(&mut self, key: &str, value: &str) -> Result<()> {
        crate::library::storable("key", key)?;
        crate::library::storable("value", value)?;
        let id = Uuid::new_v5(&SETTINGS_NAMESPACE, key.as_bytes());
        let now = crate::now();
        let mut sql = crate::sql::Sql::new(
            "INSERT INTO shared_settings (id, key, value, created_at, updated_at) VALUES (",
        );
        sql.bind(Param::Uuid(id)).push(", ");
        sql.bind(Param::Text(key.to_owned())).push(", ");
        sql.bind(Param::Text(value.to_owned())).push(", ");
        sql.bind(Param::Time(now)).push(", ");
        sql.bind(Param::Time(now));
        sql.push(
            ") ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        );
        self.execute_sql(sql).await?;
        Ok(())
    }
}
