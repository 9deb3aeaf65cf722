//! The emulated-board suite: the firmware that runs on real boards, built with the cross
//! compilers `scripts/setup` installs and run in qemu (RV32EC for the CH32V003, aarch64
//! for the Pi runner). `scripts/test` runs it with every other test; alone:
//! `cargo test --test emulated`.

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod pi;
mod qemu;
