//! The node's admin routes (`/admin/...`), for whoever may read its data directory: a backup of
//! the running store, and, in builds with fault injection, the fault switch.
//!
//! The node writes a fresh random token to `DATA_DIR/admin.token` (mode 0600) at every start;
//! a request must carry it in `x-admin-token`.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Extension, Json, Router};

use crate::api::{ApiError, ApiJson};
use crate::fault::FaultSwitch;
use crate::{Chain, Error, Result};

/// The token that authorises the admin routes.
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

impl AdminToken {
    /// Writes a fresh random token to `data_dir/admin.token`, readable by the node's user only.
    pub fn write(data_dir: &Path) -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no OS randomness: {e}")))?;
        let token = hex::encode(bytes);
        std::fs::create_dir_all(data_dir)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(
            &mut options.open(data_dir.join("admin.token"))?,
            token.as_bytes(),
        )?;
        Ok(AdminToken(token.into()))
    }

    /// Whether `token` is this one: length first, then every byte, with no early exit that
    /// would time the comparison.
    fn matches(&self, token: &str) -> bool {
        token.len() == self.0.len()
            && token
                .bytes()
                .zip(self.0.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    fn require(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let token = headers
            .get("x-admin-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !self.matches(token) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_admin",
                "x-admin-token does not match this node's admin.token".into(),
            ));
        }
        Ok(())
    }
}

/// The admin routes, to merge into the API's router.
pub fn routes(token: AdminToken, fault: FaultSwitch) -> Router<Arc<Chain>> {
    let router = Router::new().route("/admin/backup", post(backup));
    #[cfg(feature = "fault-injection")]
    let router = router.route("/admin/fault", post(set_fault));
    router.layer(Extension(token)).layer(Extension(fault))
}

/// The backup route's request: an absolute directory on the node's machine that does not exist.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    dir: std::path::PathBuf,
}

/// A consistent checkpoint of this running node's store (`xinlian node backup`).
async fn backup(
    State(chain): State<Arc<Chain>>,
    Extension(token): Extension<AdminToken>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<BackupRequest>,
) -> Result<Json<crate::backup::BackupInfo>, ApiError> {
    token.require(&headers)?;
    let taken =
        tokio::task::spawn_blocking(move || crate::backup::take(chain.storage(), &request.dir))
            .await
            .map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
    match taken {
        Ok(info) => {
            tracing::info!(target: "xinlian.node", dir = %info.dir.display(), height = info.height, "backup taken");
            Ok(Json(info))
        }
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "backup_failed",
            e.to_string(),
        )),
    }
}

/// The fault switch's request: cut the node off from its peers, or reconnect it.
#[cfg(feature = "fault-injection")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    isolate: bool,
}

/// Isolates this node from its peers, or heals it (local testnets).
#[cfg(feature = "fault-injection")]
async fn set_fault(
    Extension(token): Extension<AdminToken>,
    Extension(fault): Extension<FaultSwitch>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<FaultRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    token.require(&headers)?;
    fault.set_isolated(request.isolate);
    tracing::warn!(target: "xinlian.node", isolated = request.isolate, "fault switch set");
    Ok(Json(serde_json::json!({ "isolated": request.isolate })))
}
