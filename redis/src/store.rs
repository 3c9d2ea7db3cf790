//! The [`RedisStore`]: where the client, its timeout and its connection live.
//!
//! # Connection
//!
//! Nothing is connected when the store is built: `RedisStore::new` only
//! checks the URL, so a service starts while Redis is down. The first call
//! creates a redis-rs [`ConnectionManager`] (one multiplexed connection:
//! concurrent calls share it, pipelined), which connects then; after a loss
//! (reset, refused, closed), the next call reconnects. Connection attempts
//! are not retried inside a call: a call that cannot connect fails at once
//! with [`Unavailable`](StoreErrorKind::Unavailable), and the call after it
//! tries again.
//!
//! A redis-rs connection is driven by a task on the tokio runtime it was
//! made on, and dies with that runtime. So the store remembers which runtime
//! its connection belongs to ([`tokio::runtime::Id`]) and makes a new one when
//! called from another (a store in a `static` shared by `#[tokio::test]`s,
//! each on its own runtime, keeps working). A store used from two runtimes at
//! once works but reconnects whenever the runtime changes: give each runtime
//! its own store.
//!
//! # Timeout
//!
//! Every call is bounded by the store's [`timeout`](RedisStore::timeout)
//! (default [`DEFAULT_TIMEOUT`], 100 ms), connecting included; the
//! connection's own connect and response timeouts are set to the same, so a
//! request the server never answers is cleared from the connection rather
//! than left pending on it.

use core::fmt;
use core::future::Future;
use core::time::Duration;
use std::sync::{Mutex, PoisonError};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Script};
use steadfast_runtime::store::{StoreError, StoreErrorKind};
use tokio::runtime::{Handle, Id};

use crate::{error, scripts};

/// The default [`RedisStore::timeout`]: 100 ms, about a thousand loopback
/// round trips, and short enough for a policy to fall back well within a
/// typical request budget.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);

/// The prefix of every rate limiter's key.
const RATE_PREFIX: &str = "steadfast:rl:";

/// The prefix of every circuit breaker's key.
const BREAKER_PREFIX: &str = "steadfast:cb:";

/// A store on one Redis server, shared by the policies of every process that
/// points at it. See the [crate docs](crate).
pub struct RedisStore {
    client: Client,
    timeout: Duration,
    /// The rate limiter's script, its SHA-1 computed once.
    rate_script: Script,
    /// The circuit breaker's script, its SHA-1 computed once.
    breaker_script: Script,
    /// The connection, and the runtime it belongs to (made on first use).
    connection: Mutex<Option<(Id, ConnectionManager)>>,
}

impl RedisStore {
    /// A store on the server at `url` (`redis://host:port/db`, with
    /// `redis://user:password@…` for ACLs; see redis-rs' `Client::open`).
    /// Connects on first use, not now.
    ///
    /// # Errors
    ///
    /// A URL redis-rs cannot read, as
    /// [`Unavailable`](StoreErrorKind::Unavailable) (no server can be
    /// reached at it).
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("invalid Redis URL {url:?}: {e}"),
            )
        })?;
        Ok(RedisStore {
            client,
            timeout: DEFAULT_TIMEOUT,
            rate_script: scripts::rate(),
            breaker_script: scripts::breaker(),
            connection: Mutex::new(None),
        })
    }

    /// The longest a call may take, connecting included (default
    /// [`DEFAULT_TIMEOUT`]). A call that takes longer fails with
    /// [`Timeout`](StoreErrorKind::Timeout).
    ///
    /// # Panics
    ///
    /// On a zero duration.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "RedisStore: the timeout must be longer than 0"
        );
        self.timeout = timeout;
        self
    }

    /// The longest a call may take.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The key of the rate limiter called `name`: `steadfast:rl:{name}`. The
    /// braces make the name the key's Redis Cluster hash tag.
    #[must_use]
    pub fn rate_key(name: &str) -> String {
        format!("{RATE_PREFIX}{{{name}}}")
    }

    /// The key of the circuit breaker called `name`: `steadfast:cb:{name}`.
    /// The braces make the name the key's Redis Cluster hash tag.
    #[must_use]
    pub fn breaker_key(name: &str) -> String {
        format!("{BREAKER_PREFIX}{{{name}}}")
    }

    /// The rate limiter's script.
    pub(crate) fn rate_script(&self) -> &Script {
        &self.rate_script
    }

    /// The circuit breaker's script.
    pub(crate) fn breaker_script(&self) -> &Script {
        &self.breaker_script
    }

    /// Runs `call` on the connection within the timeout.
    pub(crate) async fn bounded<T, F>(
        &self,
        call: impl FnOnce(ConnectionManager) -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = RedisResult<T>>,
    {
        let connection = self.connection()?;
        match tokio::time::timeout(self.timeout, call(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(error::from_redis(&e)),
            Err(_) => Err(error::timed_out(self.timeout)),
        }
    }

    /// The connection of the current runtime, made if it has none.
    fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let runtime = Handle::try_current()
            .map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("a Redis store is used from a tokio runtime: {e}"),
                )
            })?
            .id();
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((id, connection)) = &*slot
            && *id == runtime
        {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // Not retried inside a call: the call fails within its
            // timeout, and the next call connects again.
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|e| error::from_redis(&e))?;
        *slot = Some((runtime, connection.clone()));
        Ok(connection)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.client.get_connection_info().addr())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
