//! Persistence: diesel over SQLite or PostgreSQL through one connection type.
//!
//! Every database call runs on the blocking thread pool, never on the async workers.

pub mod among;
pub mod audit;
pub mod channels;
pub mod conn;
pub mod delegations;
pub mod feed_stamps;
pub mod feeds;
pub mod forums;
pub mod gathered;
pub mod idempotency;
pub mod identity;
pub mod literal;
pub mod meetings;
pub mod migrate;
pub mod observances;
pub mod occupancy;
pub mod occurrence_answers;
pub mod overrides;
pub mod participants;
pub mod proposals;
pub mod reciprocity;
pub mod schema;
pub mod seed;
pub mod stamp;
pub mod union;
pub mod windows;
mod workers;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::Span;

use workers::{Counters, Dispatch, Job, Queued};

pub use conn::{lock_row, write_transaction, ConnectError, Connector, DbConnection, Locked};

use crate::config::DatabaseUrl;
use crate::domain::stored::StringEnum;
use crate::error::AppError;

/// What can go wrong below the service layer, before a query even runs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] ConnectError),
    /// Every connection stayed busy for as long as a request may wait for one.
    #[error("no database connection was free within {0:?}")]
    Busy(Duration),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database worker failed: {0}")]
    Worker(String),
}

/// How long a request waits for a free connection before it is told to come back (503).
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared handle to the database. Cheap to clone.
///
/// Database work runs on a fixed set of worker threads, one per connection, each keeping its
/// connection open: a request's closure goes to the worker that became idle last (or waits its
/// turn when all are busy; see `workers`), runs there, and its result comes back to the async
/// task. So the number of threads (and of allocator arenas
/// and SQLite page caches) is bounded by the pool size, no thread ever waits for a connection,
/// and no round trip is spent checking a connection that was just used.
#[derive(Clone)]
pub struct Store {
    jobs: Arc<Dispatch>,
    /// SQLite has one writer at a time: this instance's writers take turns here, in order,
    /// instead of each retrying `BEGIN IMMEDIATE` in SQLite's busy handler (which sleeps and
    /// lets a writer wait for a second while others pass). None on PostgreSQL.
    writer: Option<Arc<Mutex<()>>>,
    connector: Connector,
    counters: Arc<Counters>,
    size: u32,
    backend: &'static str,
}

impl Store {
    /// Opens the first connection (failing with the backend's own message when none can be
    /// made) and starts `size` workers.
    pub fn open(url: &DatabaseUrl, size: u32) -> Result<Self, StoreError> {
        Self::open_with(url, size, QUEUE_TIMEOUT)
    }

    fn open_with(
        url: &DatabaseUrl,
        size: u32,
        queue_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let connector = Connector::new(url.clone());
        let first = connector.connect()?;
        let counters = Arc::new(Counters::default());
        let jobs = Arc::new(Dispatch::start(
            &connector,
            size,
            first,
            &counters,
            queue_timeout,
        )?);
        Ok(Self {
            jobs,
            writer: matches!(url, DatabaseUrl::Sqlite(_)).then(|| Arc::new(Mutex::new(()))),
            connector,
            counters,
            size: size.max(1),
            backend: url.backend(),
        })
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Occupancy for metrics: (open connections, idle connections, maximum).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let open = self.counters.open.load(Ordering::Relaxed);
        let busy = self.counters.busy.load(Ordering::Relaxed);
        (open, open.saturating_sub(busy), self.size)
    }

    /// A connection of its own for synchronous callers (the CLI, start-up, tests, tools).
    /// Async code uses `read`/`write`.
    pub fn connection(&self) -> Result<DbConnection, StoreError> {
        Ok(self.connector.connect()?)
    }

    /// Runs `f` with a connection, on a database worker.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let span = Span::current();
        let job: Job = Box::new(move |conn, ready| {
            let _entered = span.enter();
            let result = match conn {
                Ok(conn) => f(conn),
                Err(error) => Err(E::from(error)),
            };
            ready();
            let _ = answer.send(result);
        });
        self.jobs.submit(Queued {
            at: Instant::now(),
            job,
        })?;
        answered.await.map_err(|_| {
            E::from(StoreError::Worker(
                "the database work ended without an answer (it panicked)".into(),
            ))
        })?
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE` on SQLite) on a database worker:
    /// everything `f` writes commits together, or nothing does.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        let writer = self.writer.clone();
        self.read(move |conn| {
            let _turn = writer
                .as_ref()
                .map(|w| w.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            write_transaction(conn, f)
        })
        .await
    }

    /// Whether the database answers a trivial statement within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        match tokio::time::timeout(timeout, self.read(|conn| Ok(conn::ping(conn)?))).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Busy(timeout)),
        }
    }
}

/// A stored word read back as its enum; a word no variant has is corrupt data: an internal
/// error (logged, never shown), never a silent default.
pub fn stored<T: StringEnum>(raw: &str) -> Result<T, AppError> {
    T::parse(raw)
        .ok_or_else(|| AppError::internal(format!("stored {} '{raw}' is not valid", T::WHAT)))
}

/// Whether a write failed on a unique constraint (a taken code or username, a repeated key).
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A new time-ordered id (UUIDv7): good index locality, and ids sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The current instant in UTC, to the microsecond (what both backends keep).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
        .naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> (tempfile::TempDir, DatabaseUrl) {
        let dir = tempfile::tempdir().unwrap();
        let url =
            DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("t.db").display())).unwrap();
        (dir, url)
    }

    /// Every connection taken and none freed in time: the request is told to come back (503
    /// with Retry-After), not that something broke (500).
    #[tokio::test]
    async fn a_busy_store_is_unavailable_not_internal() {
        let (_dir, url) = scratch();
        let store = Store::open_with(&url, 1, Duration::from_millis(200)).unwrap();
        let (held, release) = std::sync::mpsc::channel::<()>();
        let holder = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .read(move |_conn| {
                        let _ = release.recv();
                        Ok::<_, AppError>(())
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = store.read(|_conn| Ok::<_, AppError>(()));
        let timer = {
            let held = held.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                held.send(()).unwrap();
            })
        };
        // Queued for 100 ms behind the holder: within the 200 ms it may wait.
        queued.await.unwrap();
        timer.await.unwrap();
        holder.await.unwrap().unwrap();
        let holder = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .read(move |_conn| {
                        std::thread::sleep(Duration::from_millis(600));
                        Ok::<_, AppError>(())
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let error: AppError = store.read(|_conn| Ok::<_, AppError>(())).await.unwrap_err();
        assert_eq!((error.status(), error.code()), (503, "unavailable"));
        assert!(matches!(error, AppError::Unavailable { .. }));
        holder.await.unwrap().unwrap();
        drop(held);
    }

    /// At low load one warm worker serves request after request (the one idle last), instead
    /// of the work rotating over every thread; under load every worker takes part.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_worker_idle_last_takes_the_next_job() {
        let (_dir, url) = scratch();
        let store = Store::open(&url, 4).unwrap();
        let thread = || Ok::<_, AppError>(std::thread::current().name().map(str::to_owned));
        let mut sequential = std::collections::BTreeSet::new();
        for _ in 0..20 {
            sequential.insert(store.read(move |_conn| thread()).await.unwrap());
        }
        assert_eq!(sequential.len(), 1, "{sequential:?}");

        let (release, held) = tokio::sync::watch::channel(false);
        let concurrent: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                let mut held = held.clone();
                tokio::spawn(async move {
                    store
                        .read(move |_conn| {
                            // Each holds its worker until all four run at once.
                            while !*held.borrow_and_update() {
                                std::thread::sleep(Duration::from_millis(5));
                            }
                            thread()
                        })
                        .await
                })
            })
            .collect();
        // All four running at once (each on a connection of its own, busy).
        while {
            let (open, idle, _) = store.pool_state();
            open - idle < 4
        } {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        release.send(true).unwrap();
        let mut names = std::collections::BTreeSet::new();
        for job in concurrent {
            names.insert(job.await.unwrap().unwrap());
        }
        assert_eq!(names.len(), 4, "{names:?}");
    }

    /// A closure that panics fails its own request (500), and the worker goes on serving
    /// with a fresh connection.
    #[tokio::test]
    async fn a_panicking_job_fails_alone() {
        let (_dir, url) = scratch();
        let store = Store::open(&url, 1).unwrap();
        let failed: Result<(), AppError> = store
            .read(|_conn| -> Result<(), AppError> { panic!("a bug in a use case") })
            .await;
        assert_eq!(failed.unwrap_err().status(), 500);
        let answered: i32 = store
            .read(|conn| {
                use diesel::RunQueryDsl;
                #[derive(diesel::QueryableByName)]
                struct One {
                    #[diesel(sql_type = diesel::sql_types::Integer)]
                    one: i32,
                }
                Ok::<_, AppError>(
                    diesel::sql_query("SELECT 1 AS one")
                        .get_result::<One>(conn)?
                        .one,
                )
            })
            .await
            .unwrap();
        assert_eq!(answered, 1);
        assert_eq!(store.pool_state(), (1, 1, 1));
    }

    /// The bundled SQLite is built as `.cargo/config.toml` says (docs/ARCHITECTURE.md, "SQLite
    /// as compiled here"): without STAT4 (whose samples made every cached statement re-prepare
    /// when a bound value changed), with the planner stability guarantee (bound values compared
    /// with partially indexed columns did the same), without memory statistics, multi-thread.
    #[test]
    fn sqlite_is_compiled_as_configured() {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let (_dir, url) = scratch();
        let store = Store::open(&url, 1).unwrap();
        let mut conn = store.connection().unwrap();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        assert!(options.iter().any(|o| o == "THREADSAFE=2"), "{options:?}");
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(!options.iter().any(|o| o.contains("STAT4")), "{options:?}");
        assert!(options.iter().any(|o| o == "ENABLE_QPSG"), "{options:?}");
    }
}
