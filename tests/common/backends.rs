//! Stand-in backends the test controls: a TCP listener on 127.0.0.1 whose every accepted
//! connection goes to the test's handler (hold it open and never answer, answer a canned provider
//! error, ...), and an address nothing listens on.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A listener whose connections are handed to `handle` on its own thread; dropped, it stops
/// accepting (and drops whatever the handler kept).
pub struct FakeBackend {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeBackend {
    pub fn start(mut handle: impl FnMut(TcpStream) + Send + 'static) -> FakeBackend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        handle(s);
                    }
                    // Polling accept with a short pause: the thread must notice `stop`.
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeBackend {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// A backend that accepts connections and never answers (the wait is exactly the
    /// orchestrator's backend timeout).
    pub fn hung() -> FakeBackend {
        let mut held = Vec::new();
        FakeBackend::start(move |s| held.push(s))
    }
}

impl Drop for FakeBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An address nothing listens on (bound, then closed): connections are refused at once.
pub fn refusing_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}
