//! Checks of the crate's shape that no single module can make.
