//! sleep: a Graph client [`Sleeper`] that records the waits it is asked for and returns at once,
//! so retry tests see every wait without waiting.

use std::sync::Mutex;
use std::time::Duration;

use fedsync::graph::Sleeper;
use futures::future::BoxFuture;

#[derive(Default)]
pub struct Recorder(Mutex<Vec<Duration>>);

impl Sleeper for Recorder {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.0.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

impl Recorder {
    /// Every wait so far, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}
