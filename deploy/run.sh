#!/usr/bin/env bash
# Starts N instances of each Akashi service (issuer agent, wallet, verifier) on one
# PostgreSQL database, with HAProxy in front (deploy/haproxy.cfg), and stops them all
# gracefully on SIGTERM or Ctrl-C: every instance drains first (its /ready answers 503, so
# HAProxy stops sending it requests), then finishes its requests in flight, then HAProxy
# stops. See README, "Several instances behind HAProxy".
#
#   deploy/run.sh N [ENV_FILE]        ENV_FILE: default deploy/akashi.env
#
# The env file holds the settings every instance shares (the services' own variables, see
# README "Configuration"), plus these of this script:
#   DATABASE_URL          postgres:// URL of the one database (each service gets a schema:
#                         ISSUER_PG_SCHEMA etc., default issuer / wallet / verifier)
#   DEPLOY_ISSUER_BIND, DEPLOY_WALLET_BIND, DEPLOY_VERIFIER_BIND
#                         HAProxy's public addresses (default: the host:port of each
#                         service's public URL)
#   DEPLOY_ISSUER_PORTS, DEPLOY_WALLET_PORTS, DEPLOY_VERIFIER_PORTS
#                         the instances' loopback ports, space-separated (default 18101…,
#                         18201…, 18301…)
#   DEPLOY_DRAIN_SECONDS  each instance's drain on SIGTERM (default 3: two failed health
#                         checks at 1 s, and a margin)
#   DEPLOY_RUN_DIR        pid files, logs, the rendered haproxy.cfg (default deploy/run)
#   AKASHI_BIN            the `akashi` launcher binary (default target/release/akashi)
#   HAPROXY_BIN           default: haproxy on PATH, else /usr/sbin/haproxy
#
# It prints "akashi: ready" once HAProxy answers on the three public addresses.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"

fail() {
    printf 'deploy/run.sh: %s\n' "$*" >&2
    # Whatever was started goes with the script.
    local pid
    for pid in "${PID[@]}" ${haproxy_pid:-}; do kill -TERM "$pid" 2>/dev/null || true; done
    exit 1
}
declare -A PID=() PORT=()

n="${1:-}"
[[ "$n" =~ ^[1-9][0-9]?$ ]] || fail "usage: deploy/run.sh N [ENV_FILE]  (N: instances per service, 1 to 99)"
env_file="${2:-$here/akashi.env}"
[ -f "$env_file" ] || fail "no env file $env_file (copy deploy/akashi.env.example and fill it in)"
# `.` looks a bare name up on PATH: name the file by a path.
case "$env_file" in */*) ;; *) env_file="./$env_file" ;; esac
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a

[ -n "${DATABASE_URL:-}" ] || fail "DATABASE_URL is not set in $env_file"
case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *) fail "DATABASE_URL must be a postgres:// URL: SQLite files cannot be shared by instances" ;;
esac
bin="${AKASHI_BIN:-$repo/target/release/akashi}"
[ -x "$bin" ] || fail "no launcher binary at $bin (cargo build --release, or set AKASHI_BIN)"
haproxy="${HAPROXY_BIN:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
[ -x "$haproxy" ] || fail "haproxy not found (apt-get install haproxy, or set HAPROXY_BIN)"

run_dir="${DEPLOY_RUN_DIR:-$here/run}"
mkdir -p "$run_dir/log" "$run_dir/pids"
chmod 700 "$run_dir"
# One data directory for every instance on this machine: the seal key files are created
# once and read by all (on several machines, give ISSUER_SEAL_KEY etc. instead).
data_dir="${DEPLOY_DATA_DIR:-$run_dir/data}"
drain="${DEPLOY_DRAIN_SECONDS:-3}"

services=(issuer wallet verifier)
declare -A ENV=([issuer]=ISSUER [wallet]=WALLET [verifier]=VERIFIER)
declare -A BASE=([issuer]=18100 [wallet]=18200 [verifier]=18300)
declare -A DEFAULT_URL=([issuer]=http://127.0.0.1:8081 [wallet]=http://127.0.0.1:8082 [verifier]=http://127.0.0.1:8083)

# The ports of service $1's instances.
ports_of() {
    local var="DEPLOY_${ENV[$1]}_PORTS" ports=() i
    if [ -n "${!var:-}" ]; then
        read -r -a ports <<<"${!var}"
    else
        for ((i = 1; i <= n; i++)); do ports+=($((BASE[$1] + i))); done
    fi
    [ "${#ports[@]}" -ge "$n" ] || fail "$var names ${#ports[@]} ports for $n instances"
    echo "${ports[@]:0:$n}"
}

public_url_of() {
    local var="${ENV[$1]}_PUBLIC_URL"
    echo "${!var:-${DEFAULT_URL[$1]}}"
}

bind_of() {
    local var="DEPLOY_${ENV[$1]}_BIND" url
    if [ -n "${!var:-}" ]; then
        echo "${!var}"
        return
    fi
    url="$(public_url_of "$1")"
    url="${url#*://}"
    url="${url%%/*}"
    case "$url" in *:*) echo "$url" ;; *) echo "$url:80" ;; esac
}

# The HTTP status of GET $3 on $1:$2 (000 when nothing answers), with bash alone.
http_status() {
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$3" "$1" "$2" >&3
        read -r _ code _ <&3
        echo "$code"' _ "$1" "$2" "$3" 2>/dev/null || echo 000
}

wait_ready() { # host port what pid
    local deadline=$((SECONDS + 120))
    until [ "$(http_status "$1" "$2" /ready)" = 200 ]; do
        kill -0 "$4" 2>/dev/null || fail "$3 ended while starting (see $run_dir/log)"
        [ "$SECONDS" -lt "$deadline" ] || fail "$3 is not ready after 120 s (see $run_dir/log)"
        sleep 0.2
    done
}

start_instance() { # service index port
    local s="$1" i="$2" port="$3" E="${ENV[$1]}"
    local schema_var="${E}_PG_SCHEMA" db_var="${E}_DATABASE_URL"
    env \
        "${E}_LISTEN=127.0.0.1:$port" \
        "${E}_PUBLIC_URL=$(public_url_of "$s")" \
        "${db_var}=${!db_var:-$DATABASE_URL}" \
        "${schema_var}=${!schema_var:-$s}" \
        "${E}_DATA_DIR=$data_dir" \
        "${E}_TRUSTED_PROXIES=127.0.0.1" \
        "${E}_DRAIN_SECONDS=$drain" \
        "$bin" "$s" serve >>"$run_dir/log/$s-$i.log" 2>&1 &
    echo $! >"$run_dir/pids/$s-$i.pid"
    PID[$s-$i]=$!
    PORT[$s-$i]=$port
}

stopping=0
stop_all() {
    [ "$stopping" = 0 ] || return
    stopping=1
    echo "akashi: stopping: draining every instance (${drain} s), then HAProxy" >&2
    local pid
    for pid in "${PID[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PID[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${haproxy_pid:-}" ]; then
        # Soft stop: finish the connections it has, accept no new ones.
        kill -USR1 "$haproxy_pid" 2>/dev/null || true
        wait "$haproxy_pid" 2>/dev/null || true
    fi
    rm -f "$run_dir"/pids/*.pid
    echo "akashi: stopped" >&2
    exit 0
}
trap stop_all TERM INT

# First instance of each service alone: a first start creates keys and the development
# certificates in the database, once.
for s in "${services[@]}"; do
    read -r -a ports <<<"$(ports_of "$s")"
    start_instance "$s" 1 "${ports[0]}"
done
for s in "${services[@]}"; do
    read -r -a ports <<<"$(ports_of "$s")"
    wait_ready 127.0.0.1 "${ports[0]}" "$s instance 1" "${PID[$s-1]}"
done
for s in "${services[@]}"; do
    read -r -a ports <<<"$(ports_of "$s")"
    for ((i = 2; i <= n; i++)); do start_instance "$s" "$i" "${ports[$((i - 1))]}"; done
done
for s in "${services[@]}"; do
    read -r -a ports <<<"$(ports_of "$s")"
    for ((i = 2; i <= n; i++)); do
        wait_ready 127.0.0.1 "${ports[$((i - 1))]}" "$s instance $i" "${PID[$s-$i]}"
    done
done

# HAProxy's configuration: the template with this run's addresses and servers.
cfg="$run_dir/haproxy.cfg"
render() {
    local s servers line
    local -A subst=([RUN_DIR]="$run_dir")
    for s in "${services[@]}"; do
        subst[${ENV[$s]}_BIND]="$(bind_of "$s")"
        servers=""
        read -r -a ports <<<"$(ports_of "$s")"
        for ((i = 1; i <= n; i++)); do
            servers+="    server $s-$i 127.0.0.1:${ports[$((i - 1))]} check"$'\n'
        done
        subst[${ENV[$s]}_SERVERS]="${servers%$'\n'}"
    done
    while IFS= read -r line || [ -n "$line" ]; do
        # Comments (the template's header names the placeholders) stay as they are.
        if [[ ! "$line" =~ ^[[:space:]]*# ]]; then
            for key in "${!subst[@]}"; do line="${line//@$key@/${subst[$key]}}"; done
        fi
        printf '%s\n' "$line"
    done <"$here/haproxy.cfg"
}
render >"$cfg"
"$haproxy" -c -q -f "$cfg" || fail "HAProxy refused $cfg"
"$haproxy" -W -db -f "$cfg" >>"$run_dir/log/haproxy.log" 2>&1 &
haproxy_pid=$!
echo "$haproxy_pid" >"$run_dir/pids/haproxy.pid"
for s in "${services[@]}"; do
    b="$(bind_of "$s")"
    host="${b%:*}"
    if [ "$host" = "0.0.0.0" ] || [ -z "$host" ]; then host=127.0.0.1; fi
    wait_ready "$host" "${b##*:}" "HAProxy's $s frontend" "$haproxy_pid"
done
echo "akashi: ready: $n instance(s) each; issuer $(public_url_of issuer), wallet $(public_url_of wallet), verifier $(public_url_of verifier) (pids in $run_dir/pids, logs in $run_dir/log)"

# Until told to stop: an instance that ends (killed, crashed, or stopped on its own with
# SIGTERM for a rolling restart) is left out by HAProxy's health checks and started again
# a second later, on the same port; HAProxy takes it back once its /ready answers.
while :; do
    sleep 1 &
    wait $! || true
    for key in "${!PID[@]}"; do
        if ! kill -0 "${PID[$key]}" 2>/dev/null; then
            wait "${PID[$key]}" 2>/dev/null && status=0 || status=$?
            echo "akashi: $key ended (status $status); starting it again" >&2
            start_instance "${key%-*}" "${key##*-}" "${PORT[$key]}"
        fi
    done
done
