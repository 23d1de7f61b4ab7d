//! `/readyz`: whether the node can serve now, for a load balancer or an orchestrator. Every
//! role answers it, on the public port and on the metrics listener; `/healthz` stays "alive".
//!
//! Four cheap checks, each with a short time limit, run together: the database answers a
//! trivial query, every embedded migration is applied, the content store answers (a `stat`,
//! or an object store's `HEAD`), and the revocation set is fresh (the node refuses every
//! certificate otherwise). The answer is `200` when all pass, else `503`; its JSON names each
//! check and what failed, in words that carry no path, URL or secret (the details go to the
//! log).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use medgate_web::AppState;
use serde_json::{json, Map, Value};

/// How long one check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The outcome of one check: `Ok` or the sentence to show.
type Outcome = Result<(), String>;

async fn limited<T, E: std::fmt::Display>(
    check: &'static str,
    work: impl std::future::Future<Output = Result<T, E>>,
    failed: &'static str,
) -> Result<T, String> {
    match tokio::time::timeout(CHECK_TIMEOUT, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::warn!(check, %error, "readiness check failed");
            Err(failed.to_owned())
        }
        Err(_) => {
            tracing::warn!(check, "readiness check timed out");
            Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs()))
        }
    }
}

/// Runs the checks: `(ready, {check: {ok, error?}})`.
pub async fn check(state: &AppState) -> (bool, Value) {
    let database = limited(
        "database",
        state.metadata.ping(),
        "the database cannot be reached",
    );
    let migrations = async {
        let pending = limited(
            "migrations",
            state.metadata.migrations_pending(),
            "the applied migrations cannot be read",
        )
        .await?;
        if pending.is_empty() {
            Ok(())
        } else {
            let versions: Vec<String> = pending.iter().map(|v| format!("{v:04}")).collect();
            Err(format!("migrations not applied: {}", versions.join(", ")))
        }
    };
    let content = limited(
        "content_store",
        state.content.check_reachable(),
        "the content store cannot be reached",
    );
    let (database, migrations, content): (Outcome, Outcome, Outcome) =
        tokio::join!(database, migrations, content);
    let revocations: Outcome = state.revocations.fresh().map_err(|age| match age {
        Some(age) => format!("revocation data not refreshed for {} s", age.as_secs()),
        None => "revocation data never read".to_owned(),
    });
    let mut checks = Map::new();
    let mut ready = true;
    for (name, outcome) in [
        ("database", database),
        ("migrations", migrations),
        ("content_store", content),
        ("revocation_data", revocations),
    ] {
        let value = match outcome {
            Ok(()) => json!({"ok": true}),
            Err(error) => {
                ready = false;
                json!({"ok": false, "error": error})
            }
        };
        checks.insert(name.to_owned(), value);
    }
    (ready, Value::Object(checks))
}

/// `GET /readyz`.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (ready, checks) = check(&state).await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"ready": ready, "checks": checks})))
}
