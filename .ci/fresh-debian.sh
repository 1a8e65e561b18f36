#!/usr/bin/env bash
# Proves the README's test command on a fresh machine: a Debian 12 (bookworm) chroot that
# has only what a user brings (the Rust toolchain, Node.js 20 with npm, Python 3 with pip,
# git and a C compiler from Debian), an empty cargo registry, no npm or pip cache and no target
# directory. It clones this repository into the chroot and runs `./test` there, as root,
# so `./test` itself installs Chromium, chromedriver, zbarimg and poppler with apt-get.
# PostgreSQL: the chroot shares the host's network, so when a server answers on
# 127.0.0.1:5432 the suite runs on it too (as ./test says at the end).
#
#   sudo .ci/fresh-debian.sh [CHROOT_DIR]      default /var/tmp/akashi-debian12
#
# Needs root, debootstrap (apt-get install debootstrap) and a Debian mirror. The toolchain
# is copied from the host's rustup (the chroot cannot download one). Takes a cold build:
# about 20 to 40 minutes on two cores. The chroot stays for inspection; remove it with
# `umount -R CHROOT_DIR/{proc,sys,dev,mnt/repo}; rm -rf CHROOT_DIR`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-/var/tmp/akashi-debian12}"
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

if [ ! -x "$root/usr/bin/node" ]; then
    echo "== debootstrap bookworm into $root"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian
    cp /etc/resolv.conf "$root/etc/"
    # As an installed Debian 12 has them: the security and stable updates.
    printf '%s\n' 'deb http://deb.debian.org/debian bookworm main' \
        'deb http://deb.debian.org/debian bookworm-updates main' \
        'deb http://deb.debian.org/debian-security bookworm-security main' \
        >"$root/etc/apt/sources.list"
    chroot "$root" bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        git gcc libc6-dev pkg-config python3 python3-pip curl procps >/dev/null"
fi

# Node.js 20 or newer, as a user installs it from nodejs.org or NodeSource: Debian 12's own
# nodejs is 18, which the pinned interop packages do not run on (./test says so and stops).
# The host's node (20+) and its npm are copied to /opt/node.
host_node="$(command -v node)"
[ "$("$host_node" -p 'process.versions.node.split(".")[0]')" -ge 20 ] \
    || { echo "the host's node is older than 20; install Node.js 20+ on the host" >&2; exit 1; }
mkdir -p "$root/opt/node/bin" "$root/opt/node/lib/node_modules"
cp "$host_node" "$root/opt/node/bin/node"
rm -rf "$root/opt/node/lib/node_modules/npm"
cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$root/opt/node/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/opt/node/bin/npm"
# Node's headers, beside the binary as in a nodejs.org tarball: node-gyp compiles Credo's
# FFI addons against them (interop/credo/, ./test); make and g++ ./test installs itself.
host_prefix="$(dirname "$(dirname "$(readlink -f "$host_node")")")"
if [ -f "$host_prefix/include/node/node.h" ]; then
    mkdir -p "$root/opt/node/include"
    rm -rf "$root/opt/node/include/node"
    cp -a "$host_prefix/include/node" "$root/opt/node/include/node"
fi

echo "== the host's stable Rust toolchain (rustup proxies, no registry, no cargo-fuzz)"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
mkdir -p "$root/root/.rustup/toolchains" "$root/root/.cargo/bin"
cp "$rustup_home/settings.toml" "$root/root/.rustup/"
toolchain="$(readlink -f "$rustup_home/toolchains/stable-x86_64-unknown-linux-gnu")"
[ -d "$root/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu" ] \
    || cp -a "$toolchain" "$root/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu"
for b in cargo rustc rustup cargo-clippy cargo-fmt clippy-driver rustfmt rustdoc; do
    cp -a "$cargo_home/bin/$b" "$root/root/.cargo/bin/"
done

# A network that inspects TLS (as this workplace's egress does) has its CA in the host's
# store; the chroot trusts what the host was told to trust, and Node reads the same bundle.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
fi
extra_ca=()
[ -n "${NODE_EXTRA_CA_CERTS:-}" ] && extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)

mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/sys" || mount -t sysfs sys "$root/sys"
mountpoint -q "$root/dev" || mount --rbind /dev "$root/dev"
mkdir -p "$root/mnt/repo"
mountpoint -q "$root/mnt/repo" || mount --bind -o ro "$repo" "$root/mnt/repo"

echo "== clone $(git -C "$repo" rev-parse --short HEAD) and run ./test in the chroot"
chroot "$root" env -i HOME=/root PATH=/opt/node/bin:/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TERM=dumb LANG=C.UTF-8 "${extra_ca[@]}" bash -c '
    set -euo pipefail
    rm -rf /root/akashi /root/.cargo/registry /root/.cargo/git /root/.npm /root/.cache
    git config --global --add safe.directory /mnt/repo/.git
    git clone -q /mnt/repo /root/akashi
    cd /root/akashi
    echo "node $(node --version), npm $(npm --version), $(python3 --version), $(cargo --version)"
    start=$(date +%s)
    ./test
    echo "== ./test passed on a fresh Debian 12 chroot in $(( $(date +%s) - start )) s"
'
