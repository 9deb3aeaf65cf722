//! What the link's tests share: fake serial ports fed from a queue.

use std::io::ErrorKind;
use std::time::Duration;

/// For fake ports in tests: reads what a test queued, or times out as a quiet serial line.
pub fn read_queued(
    queue: &std::sync::Mutex<std::collections::VecDeque<u8>>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let mut q = queue.lock().unwrap();
    if q.is_empty() {
        drop(q);
        std::thread::sleep(Duration::from_millis(2));
        return Err(ErrorKind::TimedOut.into());
    }
    let n = buf.len().min(q.len());
    for (b, v) in buf.iter_mut().zip(q.drain(..n)) {
        *b = v;
    }
    Ok(n)
}
