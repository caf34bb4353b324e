//! The state of this TTS process, for the admin overview.

use chrono::Utc;
use domain::status::SystemStatus;

use crate::Services;
use crate::db::users;
use crate::error::Result;

pub async fn system_status(services: &Services) -> Result<SystemStatus> {
    let db = services.db();
    let database_ok = db.ping().await;
    let users = if database_ok {
        let mut pooled = db.acquire().await?;
        users::count(&mut pooled.conn()).await?
    } else {
        0
    };
    Ok(SystemStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: db.backend().name().to_owned(),
        database_ok,
        uptime_seconds: services.started_at().elapsed().as_secs(),
        users,
        checked_at: Utc::now(),
    })
}
