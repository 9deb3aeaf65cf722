# Sourced by the MNIST benchmarks: sets `test_dir` from $1 (the folder of the official test
# set, default ../shared/data/mnist beside the repository) and `bin` from $2 (a tinygen
# binary; default a release build, always made through cargo so that a binary left from an
# older checkout never measures old code), and moves to this folder.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
test_dir=$(realpath -m "${1:-$here/../../../shared/data/mnist}")
if [ -n "${2:-}" ]; then
  bin=$(realpath "$2")
else
  (cd "$here/../.." && cargo build --release --bin tinygen)
  bin=$(realpath "$here/../../target/release/tinygen")
fi
[ -f "$test_dir/t10k-images-idx3-ubyte.gz" ] || [ -f "$test_dir/t10k-images-idx3-ubyte" ] || {
  echo "no MNIST test set in $test_dir: pass the folder with t10k-images-idx3-ubyte.gz" >&2
  exit 1
}
export TINYGEN_MNIST=$test_dir
cd "$here"
