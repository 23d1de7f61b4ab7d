//! How many request-body bytes the node holds in memory at once ([`BodyBudget`]): a
//! node-wide budget, of which one account (the tenant named in the client certificate)
//! holds at most a share, so that parallel large requests cannot exhaust the memory and one
//! clinic's cannot take the room of all others.
//!
//! What counts is what is actually in memory: the bodies the host's body guard buffers
//! (every route but the streamed uploads), and the copy of a streamed CDA document read for
//! its header parse. A streamed upload itself holds a few chunks, whatever its size, and
//! takes nothing of the memory budget; the files uploads are staged in share a budget of
//! their own ([`BodyBudget::staging`]: disk, not memory), so that parallel uploads cannot
//! fill the node's data folder either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// How many body bytes the node holds at once, over all requests.
pub const BODY_BUDGET_BYTES: usize = 256 * 1024 * 1024;
/// How many body bytes one account holds at once.
pub const TENANT_BUDGET_BYTES: usize = 96 * 1024 * 1024;
/// How many bytes of uploads the node stages on disk at once, over all requests.
pub const STAGING_BUDGET_BYTES: usize = 1024 * 1024 * 1024;
/// How many bytes of uploads one account stages at once.
pub const TENANT_STAGING_BUDGET_BYTES: usize = 256 * 1024 * 1024;
/// The budget is counted in units of this many bytes (a semaphore counts in `u32`).
const BUDGET_UNIT: usize = 1024;

/// The node's memory budget for request bodies (cheap to clone; clones share it).
#[derive(Clone, Debug)]
pub struct BodyBudget {
    node: Arc<Semaphore>,
    tenants: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Units of one account's share.
    tenant_units: usize,
}

impl Default for BodyBudget {
    fn default() -> Self {
        Self::new()
    }
}

/// Room held in the node's and the account's budgets (given back when dropped).
#[derive(Debug)]
pub struct BudgetPermits {
    _node: OwnedSemaphorePermit,
    _tenant: Option<OwnedSemaphorePermit>,
}

impl BodyBudget {
    /// The memory budget: [`BODY_BUDGET_BYTES`], [`TENANT_BUDGET_BYTES`] for one account.
    pub fn new() -> Self {
        Self::with_limits(BODY_BUDGET_BYTES, TENANT_BUDGET_BYTES)
    }

    /// The budget of staged uploads on disk: [`STAGING_BUDGET_BYTES`],
    /// [`TENANT_STAGING_BUDGET_BYTES`] for one account.
    pub fn staging() -> Self {
        Self::with_limits(STAGING_BUDGET_BYTES, TENANT_STAGING_BUDGET_BYTES)
    }

    /// `node_bytes` in all, `tenant_bytes` (at most `node_bytes`) for one account.
    pub fn with_limits(node_bytes: usize, tenant_bytes: usize) -> Self {
        BodyBudget {
            node: Arc::new(Semaphore::new(node_bytes / BUDGET_UNIT)),
            tenants: Arc::default(),
            tenant_units: tenant_bytes.min(node_bytes) / BUDGET_UNIT,
        }
    }

    /// Waits for room for `bytes` in `tenant`'s share (when the account is known) and then in
    /// the node's budget, and holds it until the permits are dropped. A request larger than
    /// an account's share holds the whole share.
    pub async fn hold(&self, tenant: Option<&str>, bytes: usize) -> Result<BudgetPermits, ApiError> {
        let units = bytes.div_ceil(BUDGET_UNIT).clamp(1, self.tenant_units.max(1)) as u32;
        // The account's share first (waiting there holds nothing of the node's budget).
        let tenant_permit = match tenant {
            Some(tenant) => Some(
                self.tenant_budget(tenant)
                    .acquire_many_owned(units)
                    .await
                    .map_err(|e| ApiError::internal("body budget", &e))?,
            ),
            None => None,
        };
        let node_permit = self
            .node
            .clone()
            .acquire_many_owned(units)
            .await
            .map_err(|e| ApiError::internal("body budget", &e))?;
        Ok(BudgetPermits {
            _node: node_permit,
            _tenant: tenant_permit,
        })
    }

    fn tenant_budget(&self, tenant: &str) -> Arc<Semaphore> {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Budgets nobody holds now are forgotten, so the map stays as small as the number
        // of accounts uploading at this moment.
        if tenants.len() > 1024 {
            tenants.retain(|_, budget| Arc::strong_count(budget) > 1);
        }
        tenants
            .entry(tenant.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.tenant_units.max(1))))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn one_account_cannot_take_the_whole_node_budget() {
        let budget = BodyBudget::new();
        let _held = budget
            .hold(Some("0000000000005010"), TENANT_BUDGET_BYTES)
            .await
            .unwrap();
        // The same account waits for room; another account does not.
        assert!(budget
            .tenant_budget("0000000000005010")
            .try_acquire_many_owned(1)
            .is_err());
        let other = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            budget.hold(Some("0000000000005011"), TENANT_BUDGET_BYTES),
        )
        .await;
        assert!(matches!(other, Ok(Ok(_))));
        const { assert!(TENANT_BUDGET_BYTES < BODY_BUDGET_BYTES) };
    }

    #[tokio::test]
    async fn room_is_given_back_when_the_permits_are_dropped() {
        let budget = BodyBudget::new();
        // More than an account's share holds the share.
        let held = budget.hold(None, BODY_BUDGET_BYTES - 1).await.unwrap();
        assert_eq!(
            budget.node.available_permits(),
            (BODY_BUDGET_BYTES - TENANT_BUDGET_BYTES) / BUDGET_UNIT
        );
        drop(held);
        assert_eq!(budget.node.available_permits(), BODY_BUDGET_BYTES / BUDGET_UNIT);
        // Nothing at all still counts as a unit.
        let _empty = budget.hold(None, 0).await.unwrap();
        assert_eq!(budget.node.available_permits(), BODY_BUDGET_BYTES / BUDGET_UNIT - 1);
    }

    #[tokio::test]
    async fn the_staging_budget_has_its_own_limits() {
        let budget = BodyBudget::staging();
        assert_eq!(budget.node.available_permits(), STAGING_BUDGET_BYTES / BUDGET_UNIT);
        let _held = budget
            .hold(Some("0000000000005010"), TENANT_STAGING_BUDGET_BYTES)
            .await
            .unwrap();
        assert!(budget
            .tenant_budget("0000000000005010")
            .try_acquire_many_owned(1)
            .is_err());
        let small = BodyBudget::with_limits(4096, 8192);
        assert_eq!(small.tenant_units, 4, "an account's share is at most the whole");
        const { assert!(TENANT_STAGING_BUDGET_BYTES < STAGING_BUDGET_BYTES) };
    }
}
