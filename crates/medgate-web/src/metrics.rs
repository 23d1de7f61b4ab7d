//! The node's metrics, in the Prometheus text exposition format (`prometheus-client`, the
//! official Rust client; it writes the OpenMetrics flavour, which Prometheus reads).
//!
//! The foundation owns the series every node has — requests by route template and status,
//! request latency, the writer's batch sizes and commit latency, the database pool, content
//! store errors, the audit chain's length, sign-in refusals and lock-outs, certificate
//! expiry and quota use — and modules add counters of their own by name
//! ([`Metrics::counter`]). The host serves [`render`] on its own listener (`metrics_listen`).
//!
//! What a query has to read (certificate expiry, quota, chain length, the pool) is read when
//! Prometheus scrapes: a few small reads each time, nothing kept in between. Nothing in a
//! label names a patient: labels are route templates (never a raw path), methods, statuses,
//! desks, tenants (the account id), certificate kinds and serials.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use medgate_storage::{
    ContentError, ContentKey, ContentObject, ContentStore, RecordKey, StagedFile, WriteObserver,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use time::OffsetDateTime;

use crate::state::AppState;

/// The media type of the exposition [`render`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched (so an unknown path never becomes a label).
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    desk: String,
    /// `credentials` (a wrong password or code) or `locked` (refused unchecked while locked).
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeskLabels {
    desk: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    /// The account id, an institution id (clinical service), or `node` for the node's own.
    tenant: String,
    /// `tls`, `wss`, `national-tls`, `national-wss`, `institution`, `server` or `ca`.
    kind: String,
    serial: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
    /// `bytes` or `files`.
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    /// `open`, `idle` or `max`.
    state: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every series of the node (cheap to share: an `Arc` in [`AppState`]).
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    signin_refusals: Family<RefusalLabels, Counter>,
    signin_lockouts: Family<DeskLabels, Counter>,
    content_errors: Family<OperationLabels, Counter>,
    write_batch_size: Histogram,
    write_commit_seconds: Histogram,
    certificate_expiry_days: Family<CertificateLabels, FloatGauge>,
    quota_use_percent: Family<TenantLabels, FloatGauge>,
    audit_chain_length: Gauge,
    db_connections: Family<PoolLabels, Gauge>,
    revocation_age_seconds: FloatGauge,
    /// The node's own certificates (server, CA), set by the host at start.
    node_certificates: Mutex<Vec<(CertificateLabels, OffsetDateTime)>>,
    /// Counters modules registered by name.
    module_counters: Mutex<HashMap<&'static str, Counter>>,
    /// One scrape at a time fills the scrape-time gauges.
    scrape: tokio::sync::Mutex<()>,
}

fn request_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// The node's series, registered under `medgate_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("medgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route template, method and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                request_histogram,
            );
        registry.register(
            "http_request_duration_seconds",
            "Time from the request to its answer's head, by route template and method",
            request_seconds.clone(),
        );
        let signin_refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "signin_refusals",
            "Sign-ins and activations refused, by desk and reason (credentials, locked)",
            signin_refusals.clone(),
        );
        let signin_lockouts = Family::<DeskLabels, Counter>::default();
        registry.register(
            "signin_lockouts",
            "Lock-outs started (a failed attempt that locked an identity), by desk",
            signin_lockouts.clone(),
        );
        let content_errors = Family::<OperationLabels, Counter>::default();
        registry.register(
            "content_store_errors",
            "Content store operations that failed (not-found answers are not errors), by operation",
            content_errors.clone(),
        );
        let write_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        registry.register(
            "db_write_batch_size",
            "Writes committed together by the metadata writer (group commit), per batch",
            write_batch_size.clone(),
        );
        let write_commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register(
            "db_write_commit_duration_seconds",
            "Time the metadata writer's COMMIT took, per batch",
            write_commit_seconds.clone(),
        );
        let certificate_expiry_days = Family::<CertificateLabels, FloatGauge>::default();
        registry.register(
            "certificate_expiry_days",
            "Days until a certificate expires (negative: expired): tenants' TLS and WSS, national, the server's and the CA's",
            certificate_expiry_days.clone(),
        );
        let quota_use_percent = Family::<TenantLabels, FloatGauge>::default();
        registry.register(
            "tenant_quota_use_percent",
            "What an account's documents take of its plan, in percent, by resource (bytes, files)",
            quota_use_percent.clone(),
        );
        let audit_chain_length = Gauge::default();
        registry.register(
            "audit_chain_length",
            "Entries in the audit hash chain (its head's sequence number)",
            audit_chain_length.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "The metadata read pool: connections open, idle, and the most it opens",
            db_connections.clone(),
        );
        let revocation_age_seconds = FloatGauge::default();
        registry.register(
            "revocation_data_age_seconds",
            "Seconds since the revocation set was last refreshed (stale past 3: every certificate refused)",
            revocation_age_seconds.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            request_seconds,
            signin_refusals,
            signin_lockouts,
            content_errors,
            write_batch_size,
            write_commit_seconds,
            certificate_expiry_days,
            quota_use_percent,
            audit_chain_length,
            db_connections,
            revocation_age_seconds,
            node_certificates: Mutex::new(Vec::new()),
            module_counters: Mutex::new(HashMap::new()),
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// One request answered: `route` is the matched route template (`/api/v1/documents/{id}`)
    /// or [`UNMATCHED_ROUTE`], never the path asked.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        // A client chooses the method: any other than HTTP's own is `other`, so no client
        // can make series without end.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "TRACE"
            | "CONNECT" => method,
            _ => "other",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// A sign-in refused at `desk` (the session kind's name): wrong credentials, or locked.
    pub fn signin_refused(&self, desk: &str, locked: bool) {
        self.signin_refusals
            .get_or_create(&RefusalLabels {
                desk: desk.to_owned(),
                reason: if locked { "locked" } else { "credentials" }.to_owned(),
            })
            .inc();
    }

    /// A failed attempt that locked an identity at `desk`.
    pub fn signin_locked_out(&self, desk: &str) {
        self.signin_lockouts
            .get_or_create(&DeskLabels {
                desk: desk.to_owned(),
            })
            .inc();
    }

    fn content_error(&self, operation: &str) {
        self.content_errors
            .get_or_create(&OperationLabels {
                operation: operation.to_owned(),
            })
            .inc();
    }

    /// A module's own counter `medgate_<name>_total`, registered on first use (a module
    /// registers its counters at start by asking for them once, so they show as 0).
    pub fn counter(&self, name: &'static str, help: &'static str) -> Counter {
        let mut counters = self
            .module_counters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        counters
            .entry(name)
            .or_insert_with(|| {
                let counter = Counter::default();
                self.registry
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .register(name, help, counter.clone());
                counter
            })
            .clone()
    }

    /// The node's own certificate of `kind` (`server`, `ca`), shown with the tenants'.
    pub fn node_certificate(&self, kind: &str, serial: &str, not_after: OffsetDateTime) {
        let labels = CertificateLabels {
            tenant: "node".to_owned(),
            kind: kind.to_owned(),
            serial: serial.to_owned(),
        };
        let mut list = self
            .node_certificates
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        list.retain(|(known, _)| known.kind != labels.kind);
        list.push((labels, not_after));
    }
}

impl WriteObserver for Metrics {
    fn batch_committed(&self, writes: usize, commit: Duration) {
        self.write_batch_size.observe(writes as f64);
        self.write_commit_seconds.observe(commit.as_secs_f64());
    }
}

/// A scrape that could not be answered whole.
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct ScrapeError(String);

fn days_left(not_after: OffsetDateTime, now: OffsetDateTime) -> f64 {
    (not_after - now).as_seconds_f64() / 86_400.0
}

fn percent(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        if used == 0 {
            0.0
        } else {
            100.0
        }
    } else {
        used as f64 * 100.0 / limit as f64
    }
}

/// The exposition of every series, with the scrape-time values read now: certificate expiry
/// and quota use from the database, the audit chain head, the pool, the revocation set's age.
pub async fn render(state: &AppState) -> Result<String, ScrapeError> {
    let metrics = &state.metrics;
    let _one_at_a_time = metrics.scrape.lock().await;
    let now = OffsetDateTime::now_utc();

    let expiries = state
        .metadata
        .certificate_expiries()
        .await
        .map_err(|e| ScrapeError(format!("reading certificate expiries: {e}")))?;
    metrics.certificate_expiry_days.clear();
    for expiry in expiries {
        metrics
            .certificate_expiry_days
            .get_or_create(&CertificateLabels {
                tenant: expiry.owner,
                kind: expiry.kind.to_owned(),
                serial: expiry.serial_hex,
            })
            .set(days_left(expiry.not_after, now));
    }
    let node_certificates = metrics
        .node_certificates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for (labels, not_after) in node_certificates {
        metrics
            .certificate_expiry_days
            .get_or_create(&labels)
            .set(days_left(not_after, now));
    }

    let usage = state
        .metadata
        .usage_of_all()
        .await
        .map_err(|e| ScrapeError(format!("reading the accounts' usage: {e}")))?;
    metrics.quota_use_percent.clear();
    for (tenant, usage, plan) in usage {
        for (resource, used, limit) in [
            ("bytes", usage.bytes, plan.quota_bytes),
            ("files", usage.files, plan.max_files),
        ] {
            metrics
                .quota_use_percent
                .get_or_create(&TenantLabels {
                    tenant: tenant.as_str().to_owned(),
                    resource: resource.to_owned(),
                })
                .set(percent(used, limit));
        }
    }

    let head = state
        .metadata
        .audit_head()
        .await
        .map_err(|e| ScrapeError(format!("reading the audit chain head: {e}")))?;
    metrics
        .audit_chain_length
        .set(i64::try_from(head.seq).unwrap_or(i64::MAX));

    let pool = state.metadata.pool_use();
    for (name, value) in [("open", pool.open), ("idle", pool.idle), ("max", pool.max)] {
        metrics
            .db_connections
            .get_or_create(&PoolLabels {
                state: name.to_owned(),
            })
            .set(i64::from(value));
    }
    metrics.revocation_age_seconds.set(
        state
            .revocations
            .age()
            .map_or(f64::INFINITY, |age| age.as_secs_f64()),
    );

    let mut text = String::new();
    prometheus_client::encoding::text::encode(
        &mut text,
        &metrics.registry.lock().unwrap_or_else(|e| e.into_inner()),
    )
    .map_err(|e| ScrapeError(format!("writing the exposition: {e}")))?;
    Ok(text)
}

/// A content store whose failures are counted (`medgate_content_store_errors_total`) by
/// operation; answers pass through unchanged. "Not found" is an answer, not a failure.
#[derive(Debug)]
pub struct CountedContent {
    inner: Arc<dyn ContentStore>,
    metrics: Arc<Metrics>,
}

impl CountedContent {
    pub fn new(inner: Arc<dyn ContentStore>, metrics: Arc<Metrics>) -> Self {
        CountedContent { inner, metrics }
    }

    fn counted<T>(
        &self,
        operation: &str,
        result: Result<T, ContentError>,
    ) -> Result<T, ContentError> {
        if let Err(error) = &result {
            if !matches!(
                error,
                ContentError::NotFound(_) | ContentError::RecordNotFound(_)
            ) {
                self.metrics.content_error(operation);
            }
        }
        result
    }
}

#[async_trait]
impl ContentStore for CountedContent {
    async fn put(&self, key: &ContentKey, bytes: Bytes) -> Result<(), ContentError> {
        self.counted("put", self.inner.put(key, bytes).await)
    }
    async fn put_file(&self, key: &ContentKey, file: StagedFile) -> Result<(), ContentError> {
        self.counted("put", self.inner.put_file(key, file).await)
    }
    async fn get(&self, key: &ContentKey) -> Result<Bytes, ContentError> {
        self.counted("get", self.inner.get(key).await)
    }
    async fn delete(&self, key: &ContentKey) -> Result<(), ContentError> {
        self.counted("delete", self.inner.delete(key).await)
    }
    async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError> {
        self.counted("exists", self.inner.exists(key).await)
    }
    async fn list(&self) -> Result<Vec<ContentObject>, ContentError> {
        self.counted("list", self.inner.list().await)
    }
    async fn put_record(&self, key: &RecordKey, bytes: Bytes) -> Result<(), ContentError> {
        self.counted("put_record", self.inner.put_record(key, bytes).await)
    }
    async fn get_record(&self, key: &RecordKey) -> Result<Bytes, ContentError> {
        self.counted("get_record", self.inner.get_record(key).await)
    }
    async fn list_records(&self, namespace: &str) -> Result<Vec<RecordKey>, ContentError> {
        self.counted("list_records", self.inner.list_records(namespace).await)
    }
    async fn check_reachable(&self) -> Result<(), ContentError> {
        self.counted("check_reachable", self.inner.check_reachable().await)
    }
    async fn remove_stale_partials(&self, age: Duration) -> Result<u64, ContentError> {
        self.counted(
            "remove_stale_partials",
            self.inner.remove_stale_partials(age).await,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percent_of_a_zero_limit_is_full_once_anything_is_used() {
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(1, 0), 100.0);
        assert_eq!(percent(25, 100), 25.0);
    }

    #[test]
    fn module_counters_are_registered_once_and_written_with_total() {
        let metrics = Metrics::new();
        metrics
            .counter("clinical_break_glass", "Break-glass reads")
            .inc();
        metrics
            .counter("clinical_break_glass", "Break-glass reads")
            .inc();
        metrics.request(
            "/api/v1/documents/{id}",
            "GET",
            200,
            Duration::from_millis(3),
        );
        metrics.request(UNMATCHED_ROUTE, "BREW", 404, Duration::from_millis(1));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry.lock().unwrap())
            .unwrap();
        assert!(
            text.contains("medgate_clinical_break_glass_total 2"),
            "{text}"
        );
        assert!(
            text.contains(r#"medgate_http_requests_total{route="/api/v1/documents/{id}",method="GET",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"medgate_http_requests_total{route="unmatched",method="other",status="404"} 1"#
            ),
            "{text}"
        );
    }
}
