//! The five screens, one module each, with its render, its keys and its tests. What a
//! screen knows between frames is in its `state` (part of `App`).

pub mod budget;
pub mod deploy;
pub mod monitor;
pub mod project;
pub mod train;
