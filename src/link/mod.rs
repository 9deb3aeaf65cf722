//! The serial link: framing, the protocol's messages, golden frames, and board sessions
//! on a worker thread that owns the port.

pub mod frame;
pub mod golden;
pub mod ports;
pub mod proto;
pub mod session;
#[cfg(test)]
pub mod testing;
