//! The workbench's workers: each owns its resource on its own thread (the burn model, the
//! serial port and the board behind it, the probe) and reports through the main loop's
//! channel as [`super::msg::Msg`]s.

pub mod deploy;
pub mod link;
pub mod train;
