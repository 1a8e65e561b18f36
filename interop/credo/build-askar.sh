#!/usr/bin/env bash
# Builds the native Askar library that @openwallet-foundation/askar-nodejs loads, from the
# `aries-askar` crate on crates.io, and puts it where the binding looks first
# (node_modules/@openwallet-foundation/askar-nodejs/native/). The binding's own install
# script downloads a prebuilt library from GitHub releases, which this machine cannot
# reach; `npm ci --ignore-scripts` skips it and this script stands in for it.
#
#   interop/credo/build-askar.sh
#
# The crate version is the one the binding names (`binary.version` in its package.json,
# v0.4.6 for askar-nodejs 0.4.3). Built once (4 to 9 minutes on two cores): the library is
# kept in ASKAR_CACHE_DIR (default: $CARGO_TARGET_DIR/aries-askar, or target/aries-askar
# beside the workspace), so a later run only copies the cached file. Features: the FFI, the
# logger, the SQLite backend (Credo's wallet) and the migration module (its FFI function is
# one the binding binds); not the PostgreSQL backend, which Credo does not use here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

binding="$here/node_modules/@openwallet-foundation/askar-nodejs"
[ -f "$binding/package.json" ] \
    || { echo "build-askar.sh: $binding is missing: run npm ci --ignore-scripts in interop/credo first" >&2; exit 1; }
version="$(node -p "require('$binding/package.json').binary.version.replace(/^v/, '')")"

cache="${ASKAR_CACHE_DIR:-${CARGO_TARGET_DIR:-$repo/target}/aries-askar}"
lib="$cache/$version/libaries_askar.so"

if [ ! -f "$lib" ]; then
    echo "== building aries-askar $version (cargo build --release, once; cached in $cache)"
    start="$(date +%s)"
    # Cargo fetches the crate from crates.io into its registry; a manifest that depends on
    # it exactly tells us where.
    fetcher="$cache/fetch"
    mkdir -p "$fetcher/src"
    cat >"$fetcher/Cargo.toml" <<EOF
[package]
name = "askar-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
aries-askar = { version = "=$version", default-features = false }

[workspace]
EOF
    : >"$fetcher/src/lib.rs"
    source_dir="$(cargo metadata --format-version 1 --manifest-path "$fetcher/Cargo.toml" \
        | node -e '
            let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
                const p = JSON.parse(s).packages.find((p) => p.name === "aries-askar");
                console.log(require("path").dirname(p.manifest_path));
            });')"
    # Build a copy: the crate's own Cargo.lock pins its dependencies (--locked).
    rm -rf "$cache/src-$version"
    cp -r "$source_dir" "$cache/src-$version"
    nice cargo build --release --locked --lib \
        --manifest-path "$cache/src-$version/Cargo.toml" \
        --target-dir "$cache/target" \
        --no-default-features --features ffi,logger,sqlite,migration
    mkdir -p "$(dirname "$lib")"
    cp "$cache/target/release/libaries_askar.so" "$lib.tmp"
    mv "$lib.tmp" "$lib"
    # The library is the cache; the build tree (some 600 MB) is not needed again.
    rm -rf "$cache/target" "$cache/src-$version" "$fetcher"
    echo "== aries-askar $version built in $(($(date +%s) - start)) s"
fi

mkdir -p "$binding/native"
cp "$lib" "$binding/native/libaries_askar.so"
# What the binding's install script writes after a download, so it too would skip one.
printf '{"version":"v%s"}\n' "$version" >"$binding/native/version.json"
echo "== $binding/native/libaries_askar.so (aries-askar $version)"
