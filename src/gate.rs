//! Bounded concurrency for expensive work (password hashes, calendar renderings): at most so
//! many at once, so that a flood of one kind of request cannot take every core or every byte of
//! memory from the others. Work that cannot start within the gate's wait is refused at once
//! (503 with `Retry-After`) instead of queueing without bound.

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::AppError;

#[derive(Debug)]
pub struct Gate {
    permits: Semaphore,
    max_wait: Duration,
    what: &'static str,
}

impl Gate {
    /// `concurrency` at once (at least 1); `what` names the work in the refusal.
    pub fn new(concurrency: usize, max_wait: Duration, what: &'static str) -> Self {
        Self {
            permits: Semaphore::new(concurrency.max(1)),
            max_wait,
            what,
        }
    }

    /// A turn, held until the permit is dropped.
    pub async fn enter(&self) -> Result<SemaphorePermit<'_>, AppError> {
        let busy = || AppError::Unavailable {
            detail: format!("too many {} at once: try again in a moment", self.what),
            retry_after: Duration::from_secs(1),
        };
        tokio::time::timeout(self.max_wait, self.permits.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past its concurrency, work waits its turn and, after the wait, is refused as unavailable
    /// (503) without running; a freed turn is taken again.
    #[tokio::test]
    async fn turns_are_bounded() {
        let gate = Gate::new(1, Duration::from_millis(100), "checks");
        let held = gate.enter().await.unwrap();
        let refused = gate.enter().await.unwrap_err();
        assert_eq!((refused.status(), refused.code()), (503, "unavailable"));
        assert!(refused.to_string().contains("too many checks"), "{refused}");
        drop(held);
        assert!(gate.enter().await.is_ok());
    }
}
