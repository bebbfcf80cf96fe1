//! Receipts on their way to storage. An invocation pushes its receipt into an in-memory buffer (a
//! mutex around a vector) and moves on; one writer task stores the buffer in batches — every
//! 200 ms, as soon as a batch is full, or when someone asks for a flush.
//!
//! Why not a channel: a channel wakes its receiver on every send, and on a busy node that
//! cross-thread wake-up (a futex call) cost more than all the rest of an invocation's
//! bookkeeping. The buffer wakes the writer once per batch.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use super::store::{PluginStore, Receipt};

/// Receipts stored per write.
const BATCH: usize = 500;
/// Receipts kept waiting at most; beyond, new ones are dropped (and counted in the log).
const MAX_PENDING: usize = 20_000;
/// Longest a receipt waits before it is stored.
const INTERVAL: Duration = Duration::from_millis(200);

/// The receipts waiting to be stored.
#[derive(Default)]
pub struct ReceiptBuffer {
    pending: Mutex<Vec<Receipt>>,
    flushes: Mutex<Vec<oneshot::Sender<()>>>,
    wake: Notify,
}

impl ReceiptBuffer {
    /// A buffer and its writer task, which runs until the buffer is dropped by everyone else.
    pub fn start(store: Arc<dyn PluginStore>) -> Arc<Self> {
        let buffer = Arc::new(Self::default());
        tokio::spawn(write(buffer.clone(), store));
        buffer
    }

    /// Queues a receipt; false if too many are already waiting (the storage is down).
    pub fn push(&self, receipt: Receipt) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING {
            return false;
        }
        pending.push(receipt);
        if pending.len() == BATCH {
            self.wake.notify_one();
        }
        true
    }

    /// Waits until every receipt queued so far is stored.
    pub async fn flush(&self) {
        let (done, stored) = oneshot::channel();
        self.flushes.lock().unwrap_or_else(PoisonError::into_inner).push(done);
        self.wake.notify_one();
        let _ = stored.await;
    }

    fn take(&self) -> (Vec<Receipt>, Vec<oneshot::Sender<()>>) {
        // Waiters first: a receipt pushed before a flush request is then surely in the batch.
        let waiting = std::mem::take(&mut *self.flushes.lock().unwrap_or_else(PoisonError::into_inner));
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        (batch, waiting)
    }
}

async fn write(buffer: Arc<ReceiptBuffer>, store: Arc<dyn PluginStore>) {
    loop {
        tokio::select! {
            () = buffer.wake.notified() => {}
            () = tokio::time::sleep(INTERVAL) => {}
        }
        let (batch, waiting) = buffer.take();
        for chunk in batch.chunks(BATCH) {
            if let Err(err) = store.add_receipts(chunk).await {
                tracing::error!(error = %err, count = chunk.len(), "failed to store plugin receipts");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
        // Only this task still holds the buffer: the runtime is gone and everything is stored.
        if Arc::strong_count(&buffer) == 1 {
            return;
        }
    }
}
