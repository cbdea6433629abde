//! Work on every core without the GIL, done so a real program survives it:
//! each call has worker threads no other call uses, a forked child makes its
//! own, Ctrl-C stops the work, and a call still running when the interpreter
//! exits (in a daemon thread) neither crashes nor changes the exit status.
//!
//! Copy this module when you release the GIL around long work of your own.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::{PyMemoryError, PyRuntimeError};
use pyo3::intern;
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// How often the waiting thread takes the GIL back to look for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(20);

/// Idle pools kept for later calls; one more call at a time makes a pool of its own.
const IDLE_POOLS: usize = 4;

/// Set when the caller wants the work to stop (Ctrl-C): long work polls it.
#[derive(Default)]
pub struct Cancel(AtomicBool);

impl Cancel {
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// This process's idle pools, with the process id they belong to.
///
/// rayon's global pool is one queue for every caller: a job from outside runs
/// only when its workers run out of work, so a short call from one thread
/// waited for all of another thread's long call (and so did its Ctrl-C). Here
/// a call takes a pool no other call uses while it runs, and gives it back.
/// Taken and given back with the GIL held, so no Python thread forks meanwhile.
static IDLE: Mutex<(u32, Vec<ThreadPool>)> = Mutex::new((0, Vec::new()));

/// An idle pool of this process, or a new one: the caller's alone until it
/// gives it back.
fn take_pool() -> PyResult<ThreadPool> {
    let pid = std::process::id();
    {
        let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.0 != pid {
            // A forked child (what `multiprocessing` starts by default on Linux
            // before Python 3.14) inherits the parent's pools but not their
            // threads: a call there would wait forever. Forgotten, not dropped:
            // their threads are not ours to stop.
            std::mem::forget(std::mem::take(&mut idle.1));
            idle.0 = pid;
        }
        if let Some(pool) = idle.1.pop() {
            return Ok(pool);
        }
    }
    // A thread's stack is memory too: under a memory limit, starting one fails.
    ThreadPoolBuilder::new()
        .thread_name(|i| format!("poly-match-{i}"))
        .build()
        .map_err(|err| {
            PyMemoryError::new_err(format!(
                "cannot start worker threads (no memory for their stacks, or a limit on \
                 threads): {err}"
            ))
        })
}

/// Kept for a later call, unless enough are idle already (then its threads end).
fn give_back(pool: ThreadPool) {
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    if idle.0 == std::process::id() && idle.1.len() < IDLE_POOLS {
        idle.1.push(pool);
    }
}

/// `work(&cancel)` on worker threads of its own with the GIL released, so other
/// Python threads run meanwhile. On the main thread (the one Python runs signal
/// handlers in) the waiting thread takes the GIL back every 20 ms to let Python
/// handle signals; on Ctrl-C (or any signal handler that raises) it sets
/// `cancel`, waits for `work` to return, and raises that error: a long call
/// stops within a fraction of a second instead of at its end. `work` should
/// check `cancel.requested()` every millisecond or so.
///
/// Once the interpreter exits, the waiting thread no longer takes the GIL (it
/// cannot) and cancels the work; a daemon thread then stays in the call until
/// the process ends, as Python 3.14 keeps any such thread.
pub fn detach<T: Send>(py: Python<'_>, work: impl FnOnce(&Cancel) -> T + Send) -> PyResult<T> {
    let signals = on_main_thread(py)?;
    let pool = take_pool()?;
    let cancel = Cancel::default();
    let result = py.detach(|| {
        // Room for the result made now: sending it asks for no memory.
        let (done, result) = sync_channel(1);
        pool.in_place_scope(|scope| {
            let cancel = &cancel;
            scope.spawn(move |_| {
                // The receiver waits for this unless `work` panicked, and then the
                // scope re-raises the panic: nothing to do if the send fails.
                let _ = done.send(work(cancel));
            });
            let mut stopped = None;
            loop {
                match result.recv_timeout(SIGNAL_CHECK) {
                    Ok(value) => return stopped.map_or(Ok(value), Err),
                    Err(RecvTimeoutError::Timeout) if stopped.is_none() => {
                        stopped = interrupted(signals);
                        if stopped.is_some() {
                            cancel.0.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(stopped.unwrap_or_else(|| {
                            PyRuntimeError::new_err("the worker stopped without a result")
                        }));
                    }
                }
            }
        })
    });
    give_back(pool);
    result
}

/// Whether this is the thread Python runs signal handlers in: elsewhere
/// `check_signals` does nothing, and taking the GIL would only slow others.
fn on_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import(intern!(py, "threading"))?;
    let main = threading
        .call_method0(intern!(py, "main_thread"))?
        .getattr(intern!(py, "ident"))?;
    main.eq(threading.call_method0(intern!(py, "get_ident"))?)
}

/// Why the work should stop, if it should: a signal handler's error (Ctrl-C's
/// KeyboardInterrupt), or the interpreter exiting. Called without the GIL.
fn interrupted(signals: bool) -> Option<PyErr> {
    let exiting = || PyRuntimeError::new_err("the Python interpreter is exiting");
    if !signals {
        // SAFETY: Py_IsInitialized only reads a flag; it needs no GIL.
        let alive = unsafe { pyo3::ffi::Py_IsInitialized() } != 0;
        return (!alive).then(exiting);
    }
    // `try_attach`, not `attach`: during and after the interpreter's exit it
    // returns None where `attach` would panic.
    match Python::try_attach(|py| py.check_signals()) {
        Some(Ok(())) => None,
        Some(Err(err)) => Some(err),
        None => Some(exiting()),
    }
}
