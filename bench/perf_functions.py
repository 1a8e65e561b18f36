#!/usr/bin/env python3
"""Where a service's CPU went, by our functions, callers included.

    perf script -i DIR/issuer-agent.perf.data > issuer.txt
    python3 bench/perf_functions.py issuer.txt [N]

Reads `perf script` output of a recording with call graphs (`bench … --perf DIR` records
with `--call-graph dwarf`), and prints the N (default 60) functions in the most samples,
each sample counted once for every distinct function on its stack: so a function's share
includes what it called. Only our crates' functions, SQLite's entry points, the crypto,
the allocator, hyper/reqwest and the kernel's futex are listed; the rest is in the shares
of whichever of those called it.
"""

import collections
import re
import sys

KEEP = (
    "issuer_agent::", "holder_agent::", "verifier::", "protocol::", "kit::",
    "sqlite3_step", "sqlite3_prepare", "pcache1TruncateUnsafe", "walFindFrame",
    "sqlite3PagerSharedLock", "walWriteOneFrame", "walChecksumBytes",
    "mi_", "hyper::", "reqwest::", "futex", "serde_json::de::from", "ECDSA_sign",
    "ECDSA_verify", "sha256_block",
)


def frames(sample):
    for line in sample.split("\n")[1:]:
        line = line.strip()
        if not line:
            continue
        symbol = re.sub(r"^[0-9a-f]+ ", "", line).rsplit(" (", 1)[0]
        yield re.sub(r"\+0x[0-9a-f]+$", "", symbol)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        samples = [s for s in f.read().split("\n\n") if s.strip()]
    if not samples:
        sys.exit("no samples in " + sys.argv[1])
    threads = collections.Counter(s.split()[0] for s in samples)
    inclusive = collections.Counter()
    for sample in samples:
        inclusive.update({fn for fn in frames(sample) if any(k in fn for k in KEEP)})
    print(f"{len(samples)} samples; by thread: " + ", ".join(
        f"{name} {100 * n / len(samples):.1f} %" for name, n in threads.most_common()))
    for fn, n in inclusive.most_common(top):
        print(f"{100 * n / len(samples):5.1f} %  {fn[:160]}")


if __name__ == "__main__":
    main()
