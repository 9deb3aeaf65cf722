//! The `tinygen` binary: everything lives in the library.

fn main() {
    std::process::exit(tinygen::cli::main());
}
