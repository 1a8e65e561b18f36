#!/bin/bash
# The issuer's CPU per request, endpoint by endpoint (issue 18). Starts an issuer-agent on
# its embedded defaults in a temporary directory, makes an achievement and an offer
# through the admin API, then drives each read-only endpoint with wrk (2 threads, 16
# keep-alive connections, 5 s each) and reads the issuer's CPU time (utime + stime, all
# threads) from /proc/<pid>/stat before and after. Needs wrk and curl (Debian packages).
#
#   cargo build --release -p issuer-agent
#   bash bench/endpoints.sh [target/release/issuer-agent] [port]
set -euo pipefail
for tool in wrk curl; do
  command -v "$tool" > /dev/null || { echo "bench/endpoints.sh needs $tool: apt-get install $tool" >&2; exit 2; }
done
bin=${1:-target/release/issuer-agent}
port=${2:-47001}
bin=$(realpath "$bin")
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
"$bin" --issuer-listen "127.0.0.1:$port" > issuer.log 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/health" > /dev/null && break; sleep 0.1; done
token=$(sed -n 's/^issuer admin token (shown once, stored hashed): //p' issuer.log)
achievement=$(curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"Bench Badge","description":"Load test.","criteria":"Run the bench."}' \
  "$base/admin/achievements" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
offer=$(curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"achievement_id\":\"$achievement\",\"recipient_name\":\"Holder\",\"recipient_email\":\"holder@example.org\"}" \
  "$base/admin/offers" | sed -n 's/.*"offer_id":"\([^"]*\)".*/\1/p')
printf 'wrk.method = "POST"\n' > post.lua
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| endpoint | requests/s | issuer CPU µs / request |"
echo "|---|---:|---:|"
for path in /health /nonce /.well-known/oauth-authorization-server \
  /.well-known/openid-credential-issuer /.well-known/jwt-vc-issuer /.well-known/did.json \
  /vct/open-badge-v3 "/offers/$offer" /log/checkpoint /status/1 /status/2/revocation; do
  extra=()
  [ "$path" = /nonce ] && extra=(-s post.lua)
  before=$(cpu)
  out=$(wrk -t2 -c16 -d5s "${extra[@]}" "$base$path")
  after=$(cpu)
  n=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
  rate=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p')
  ticks=$(getconf CLK_TCK)
  label=$path
  [ "$path" = "/offers/$offer" ] && label="/offers/{id}"
  [ "$path" = /nonce ] && label="POST /nonce"
  echo "| \`$label\` | ${rate%.*} | $(( (after - before) * 1000000 / ticks / n )) |"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
