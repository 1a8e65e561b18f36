#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS (default 20) each, on the stable toolchain
# (RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags; no sanitizer, which stable cannot
# build for std), one process on one core. Installs cargo-fuzz if it is missing. Fails on
# the first crash, slow input (-timeout=10 s per input) or memory blow-up (-rss_limit_mb);
# the input that did it is left in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
shift || true
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build -s none

# New inputs go to a scratch directory: the committed seed corpus stays small.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
    echo "== fuzz $target for ${seconds}s"
    mkdir -p "$scratch/$target"
    cargo fuzz run -s none "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=512 -print_final_stats=1 \
        2>&1 | grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)' || { echo "fuzz target $target failed"; exit 1; }
done
