//! Named background jobs whose single result the UI polls once per frame.
//!
//! A job that panics is reported as an error result (with the panic message) instead of
//! leaving the UI waiting forever.

use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;

/// A computation running on its own named thread.
pub struct Job<T> {
    receiver: Mutex<Receiver<Result<T, String>>>,
}

impl<T: Send + 'static> Job<T> {
    /// Start `work` on a thread called `name`.
    pub fn spawn(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Job<T> {
        let (sender, receiver) = mpsc::channel();
        let thread_name = name.to_string();
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|p| {
                        let what = p
                            .downcast_ref::<&str>()
                            .map(ToString::to_string)
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        format!("internal error in {thread_name}: {what}")
                    });
                let _ = sender.send(result);
            });
        let (fallback_sender, fallback_receiver) = mpsc::channel();
        let receiver = match spawned {
            Ok(_) => receiver,
            Err(e) => {
                let _ = fallback_sender.send(Err(format!("could not start {name}: {e}")));
                fallback_receiver
            }
        };
        Job {
            receiver: Mutex::new(receiver),
        }
    }

    /// The result once ready (`Err` if the job panicked), else `None`.
    pub fn try_take(&self) -> Option<Result<T, String>> {
        self.receiver.lock().ok()?.try_recv().ok()
    }
}
