//! The database workers and how jobs reach them.
//!
//! One thread per connection, each keeping its connection open. A job goes to the worker that
//! became idle last (a stack, not a queue): at low load the same one or two threads serve
//! every request, with their CPU caches, SQLite page cache and prepared statements warm, and
//! handing a job over wakes exactly one thread. (A shared `Mutex<Receiver>` woke two per job —
//! the receiver and the next thread waiting for the lock — and rotated the work over every
//! thread.) When every worker is busy, jobs wait in arrival order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::conn::{self, Connector, DbConnection};
use super::StoreError;

/// A connection idle for longer is checked (a trivial statement) before its next use, so that
/// one the server closed meanwhile is replaced instead of failing a request.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// A job gets the connection and `ready`, which it calls once its work is done and just before
/// it answers: the worker then becomes idle (or takes the next waiting job) before the caller,
/// answered, can hand in its next job — so that job finds this worker, warm, on top.
pub(super) type Job =
    Box<dyn FnOnce(Result<&mut DbConnection, StoreError>, &mut dyn FnMut()) + Send>;

/// What a worker does after its current job.
enum Step {
    Run(Queued),
    Wait,
    Stop,
}

pub(super) struct Queued {
    pub at: Instant,
    pub job: Job,
}

/// Occupancy, for metrics.
#[derive(Default)]
pub(super) struct Counters {
    pub open: AtomicU32,
    pub busy: AtomicU32,
}

#[derive(Default)]
struct State {
    /// Jobs no worker was free for, oldest first.
    waiting: VecDeque<Queued>,
    /// Idle workers, the one idle last on top; each waits on its channel for a job (None:
    /// stop).
    idle: Vec<mpsc::Sender<Option<Queued>>>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock guards no invariant a panic could break half-way (pushes and pops only).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where jobs are handed in. When the last handle goes, the workers finish what is queued and
/// stop.
pub(super) struct Dispatch {
    shared: Arc<Shared>,
}

impl Dispatch {
    /// Starts `size` workers; the first gets `first`, a connection already open.
    pub fn start(
        connector: &Connector,
        size: u32,
        first: DbConnection,
        counters: &Arc<Counters>,
        queue_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared::default());
        let mut first = Some(first);
        let mut idle = Vec::new();
        for n in 0..size.max(1) {
            let worker = Worker {
                connector: connector.clone(),
                shared: shared.clone(),
                counters: counters.clone(),
                queue_timeout,
            };
            let conn = first.take();
            let (handle, mine) = mpsc::channel();
            idle.push(handle.clone());
            std::thread::Builder::new()
                .name(format!("entente-db-{n}"))
                .spawn(move || worker.run(conn, handle, mine))
                .map_err(|e| StoreError::Worker(e.to_string()))?;
        }
        // Every worker starts idle, the one holding the open connection on top.
        idle.reverse();
        shared.lock().idle = idle;
        Ok(Self { shared })
    }

    /// Hands `queued` to the worker idle last, or queues it when none is idle.
    pub fn submit(&self, queued: Queued) -> Result<(), StoreError> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(StoreError::Worker(
                "the database workers have stopped".into(),
            ));
        }
        let mut job = Some(queued);
        while let Some(worker) = state.idle.pop() {
            match worker.send(job.take()) {
                Ok(()) => return Ok(()),
                // That worker is gone (it cannot be while the dispatch lives; but never lose
                // a job to it).
                Err(mpsc::SendError(back)) => job = back,
            }
        }
        state.waiting.extend(job);
        Ok(())
    }
}

impl Drop for Dispatch {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        // Idle workers are told to stop; busy ones stop once nothing waits.
        for worker in state.idle.drain(..) {
            let _ = worker.send(None);
        }
    }
}

/// One database worker: takes the next job, runs it on its connection (opening or replacing
/// the connection when needed), until the dispatch is closed and nothing is left to do.
struct Worker {
    connector: Connector,
    shared: Arc<Shared>,
    counters: Arc<Counters>,
    queue_timeout: Duration,
}

impl Worker {
    fn run(
        self,
        mut conn: Option<DbConnection>,
        handle: mpsc::Sender<Option<Queued>>,
        mine: mpsc::Receiver<Option<Queued>>,
    ) {
        if conn.is_some() {
            self.counters.open.fetch_add(1, Ordering::Relaxed);
        }
        let mut last_used = Instant::now();
        // Started on the idle stack (by `Dispatch::start`): the first job comes on the channel.
        let mut after = Some(Step::Wait);
        loop {
            let step = after.take().unwrap_or_else(|| self.ready(&handle));
            let Queued { at, job } = match step {
                Step::Run(queued) => queued,
                Step::Wait => match mine.recv() {
                    Ok(Some(queued)) => queued,
                    Ok(None) | Err(_) => break,
                },
                Step::Stop => break,
            };
            let waited = at.elapsed();
            if waited > self.queue_timeout {
                tracing::warn!(?waited, "no database connection was free in time");
                job(Err(StoreError::Busy(waited)), &mut || {
                    after = Some(self.ready(&handle));
                });
                continue;
            }
            if last_used.elapsed() > IDLE_CHECK {
                if let Some(open) = conn.as_mut() {
                    if conn::ping(open).is_err() {
                        self.drop_connection(&mut conn);
                    }
                }
            }
            if conn.is_none() {
                match self.connector.connect() {
                    Ok(opened) => {
                        conn = Some(opened);
                        self.counters.open.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        job(Err(StoreError::Connect(error)), &mut || {
                            after = Some(self.ready(&handle));
                        });
                        continue;
                    }
                }
            }
            let Some(open) = conn.as_mut() else { continue };
            self.counters.busy.fetch_add(1, Ordering::Relaxed);
            let mut busy = true;
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                job(Ok(open), &mut || {
                    // Counted free before the caller hears back (metrics then agree with it).
                    self.counters.busy.fetch_sub(1, Ordering::Relaxed);
                    busy = false;
                    after = Some(self.ready(&handle));
                });
            }));
            if busy {
                self.counters.busy.fetch_sub(1, Ordering::Relaxed);
            }
            last_used = Instant::now();
            if ran.is_err() || conn.as_mut().is_some_and(conn::is_broken) {
                self.drop_connection(&mut conn);
            }
        }
        if conn.is_some() {
            self.counters.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Done with a job: the oldest waiting job, or else on top of the idle stack (to wait on
    /// its channel); stop once the dispatch is closed and nothing waits.
    fn ready(&self, handle: &mpsc::Sender<Option<Queued>>) -> Step {
        let mut state = self.shared.lock();
        if let Some(queued) = state.waiting.pop_front() {
            return Step::Run(queued);
        }
        if state.closed {
            return Step::Stop;
        }
        state.idle.push(handle.clone());
        Step::Wait
    }

    fn drop_connection(&self, conn: &mut Option<DbConnection>) {
        if conn.take().is_some() {
            self.counters.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
