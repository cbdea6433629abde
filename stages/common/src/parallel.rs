//! Work on every core without the GIL, done so a real program survives it:
//! a forked child process gets a pool of its own, and Ctrl-C stops the work.
//!
//! Copy this module when you release the GIL around long work of your own.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// How often the waiting thread takes the GIL back to look for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(20);

/// Set when the caller wants the work to stop (Ctrl-C): long work polls it.
#[derive(Default)]
pub struct Cancel(AtomicBool);

impl Cancel {
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// This process's rayon pool, made on first use in each process.
///
/// rayon's global pool does not survive `fork()`: a child process (what
/// `multiprocessing` starts by default on Linux before Python 3.14) inherits
/// the pool but not its threads, and its first parallel call waits forever.
/// So the pool belongs to a process id. Called with the GIL held, so no Python
/// thread can fork while the lock is taken.
pub fn pool(_py: Python<'_>) -> PyResult<&'static ThreadPool> {
    static POOL: Mutex<Option<(u32, &'static ThreadPool)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, pool)) = *slot {
        if owner == pid {
            return Ok(pool);
        }
    }
    // A parent's pool is left as it is (its threads are not ours to join).
    let pool = ThreadPoolBuilder::new()
        .thread_name(|i| format!("poly-match-{i}"))
        .build()
        .map_err(|err| PyRuntimeError::new_err(format!("cannot start worker threads: {err}")))?;
    let pool: &'static ThreadPool = Box::leak(Box::new(pool));
    *slot = Some((pid, pool));
    Ok(pool)
}

/// `work(&cancel)` on this process's pool with the GIL released, so other
/// Python threads run meanwhile, while this thread takes the GIL back every
/// 20 ms to let Python handle signals. On Ctrl-C (or any signal handler that
/// raises) it sets `cancel`, waits for `work` to return, and raises that error:
/// a long call stops within a fraction of a second instead of at its end.
/// `work` should check `cancel.requested()` every millisecond or so.
pub fn detach<T: Send>(py: Python<'_>, work: impl FnOnce(&Cancel) -> T + Send) -> PyResult<T> {
    let pool = pool(py)?;
    let cancel = Cancel::default();
    py.detach(|| {
        let (done, result) = channel();
        pool.in_place_scope(|scope| {
            let cancel = &cancel;
            scope.spawn(move |_| {
                // The receiver waits for this unless `work` panicked, and then the
                // scope re-raises the panic: nothing to do if the send fails.
                let _ = done.send(work(cancel));
            });
            let mut interrupted = None;
            loop {
                match result.recv_timeout(SIGNAL_CHECK) {
                    Ok(value) => return interrupted.map_or(Ok(value), Err),
                    Err(RecvTimeoutError::Timeout) if interrupted.is_none() => {
                        if let Err(err) = Python::attach(|py| py.check_signals()) {
                            cancel.0.store(true, Ordering::Relaxed);
                            interrupted = Some(err);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(interrupted.unwrap_or_else(|| {
                            PyRuntimeError::new_err("the worker stopped without a result")
                        }));
                    }
                }
            }
        })
    })
}
