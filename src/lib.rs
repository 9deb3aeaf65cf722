//! tinygen: a terminal workbench for tiny generative models.
//!
//! The library holds everything; `src/main.rs` only calls [`cli::main`]. The modules
//! follow the data flow, each depending only on those above it in this list (a unit test,
//! `tests::module_graph_has_no_circles`, checks it); `docs/architecture.md` draws the flow
//! and says where each stage lives.
//!
//! | stage | modules |
//! | --- | --- |
//! | leaf helpers | [`util`], [`quant`], [`target`] |
//! | the deployable model | [`spec`] |
//! | project files | [`project`] |
//! | data and the shared burn layers | [`data`], [`nn`], [`scoring`] |
//! | training | [`checkpoint`], [`train`] |
//! | device side | [`export`], [`engine`], [`budget`], [`link`], [`deploy`], [`preview`] |
//! | templates | [`template`] (the seam), [`templates`] (one folder each) |
//! | front-ends | [`hints`], [`cli`], [`tui`] (the only module that knows ratatui) |

pub mod budget;
pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod deploy;
pub mod doctor;
pub mod engine;
pub mod export;
pub mod graphics;
pub mod hints;
pub mod link;
pub mod nn;
pub mod preview;
pub mod project;
pub mod quant;
pub mod report;
pub mod scoring;
pub mod spec;
pub mod target;
pub mod template;
pub mod templates;
pub mod train;
pub mod tui;
pub mod util;
pub mod workshop;

#[cfg(test)]
mod tests;
