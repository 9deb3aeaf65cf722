//! Datasets: the procedural die renderer and the MNIST digits from IDX files. Loading is
//! deterministic for a given seed. Templates build their training data from these.

pub mod die;
pub mod mnist;
