//! The threads that admit transactions, apart from the ones that keep consensus going.
//!
//! Admission verifies a signature per transaction (about a quarter of a millisecond for SM2).
//! Run on tokio's blocking pool, a flood of client submissions put dozens of verifying threads
//! beside the Raft thread and the async workers that carry Raft's streams; heartbeats came late,
//! followers started elections, and a 4-node chain on two cores stopped committing while nothing
//! was dropped. So every admission, from a client or from gossip, runs here: one thread per core
//! (more verifying threads than cores only queue), at a lower priority than the rest of the node.
//! Admission is work that can wait; heartbeats are not. Clients wait for their answer, which is
//! the backpressure they should feel.

/// How much lower than the rest of the node admission runs (a nice value).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const ADMISSION_NICE: i32 = 5;

/// Lowers the calling thread's priority by [`ADMISSION_NICE`] (Linux: `setpriority` on a thread
/// id acts on that thread only). Failure leaves it at the normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let _ =
            rustix::process::setpriority_process(Some(rustix::thread::gettid()), ADMISSION_NICE);
    }
}

/// The admission threads. Not rayon's global pool: a block's signature checks run there, on
/// consensus's path, and must not queue behind admission.
pub fn admission_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("xinlian-admit-{i}"))
            .start_handler(|_| lower_priority())
            // A panic in one admission fails that admission (its caller sees the reply dropped),
            // not the node: rayon's default for a panic in `spawn` is to abort the process.
            .panic_handler(|_| {
                tracing::error!(target: "xinlian.node", "an admission panicked; it was refused");
            })
            .build()
            .expect("threads for admission")
    })
}

/// Runs `work` on the admission threads and waits for it without holding an async worker.
pub async fn admit<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    admission_pool().spawn(move || {
        // A client that went away (timeout, closed connection) is not worth the verification.
        if !reply.is_closed() {
            let _ = reply.send(work());
        }
    });
    answer.await.ok()
}
