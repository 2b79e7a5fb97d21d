#!/usr/bin/env bash
# Starts N ips-server instances on one fresh PostgreSQL database behind HAProxy, for the scale-out
# checks of `ips-bench cluster` (see tests/bench/README.md, "Scale-out (cluster.sh)").
#
#   tests/bench/cluster.sh [options] [-- COMMAND [ARGS…]]
#
# Without a command it prints the load balancer's URL and waits (Ctrl-C stops everything). With a
# command it runs it with IPS_CLUSTER_STATE pointing at the cluster's state file, then stops everything
# and exits with the command's status. Everything it started is stopped on exit, and the database is
# dropped unless --keep.
#
# Options:
#   --instances N        instances (default 3)
#   --bin-dir DIR        where ips-server and ips-bench are (default target/release)
#   --pg-admin-url URL   PostgreSQL admin connection (default $IPS_BENCH_PG_ADMIN_URL or
#                        postgres://postgres@127.0.0.1:5432/postgres); the database is created through it
#   --jobs-interval S    IPS_JOBS_INTERVAL_SECS of every instance (default 1)
#   --port P             the load balancer's port (default: a free one)
#   --keep               keep the database and the work folder (logs, HAProxy configuration)
#   --seed-arg ARG       an extra argument for `ips-bench seed` (repeatable), e.g. --seed-arg=--candidates=500
#   --server-env K=V     extra environment for every instance (repeatable)
#
# Prerequisites: psql (postgresql-client), haproxy (Debian package `haproxy`; installed with apt-get
# when missing and running as root), a running PostgreSQL, and both binaries built.
set -euo pipefail

instances=3
bin_dir=target/release
admin_url=${IPS_BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
jobs_interval=1
lb_port=
keep=false
seed_args=()
server_env=()
command=()

while [ $# -gt 0 ]; do
    case "$1" in
        --instances) instances=$2; shift 2 ;;
        --instances=*) instances=${1#*=}; shift ;;
        --bin-dir) bin_dir=$2; shift 2 ;;
        --bin-dir=*) bin_dir=${1#*=}; shift ;;
        --pg-admin-url) admin_url=$2; shift 2 ;;
        --pg-admin-url=*) admin_url=${1#*=}; shift ;;
        --jobs-interval) jobs_interval=$2; shift 2 ;;
        --jobs-interval=*) jobs_interval=${1#*=}; shift ;;
        --port) lb_port=$2; shift 2 ;;
        --port=*) lb_port=${1#*=}; shift ;;
        --keep) keep=true; shift ;;
        --seed-arg) seed_args+=("$2"); shift 2 ;;
        --seed-arg=*) seed_args+=("${1#*=}"); shift ;;
        --server-env) server_env+=("$2"); shift 2 ;;
        --server-env=*) server_env+=("${1#*=}"); shift ;;
        --) shift; command=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "cluster.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { echo "==> $*" >&2; }
die() { echo "cluster.sh: $*" >&2; exit 1; }

[ "$instances" -ge 1 ] 2>/dev/null || die "--instances must be a number ≥ 1"
server_bin=$(realpath -m "$bin_dir/ips-server")
bench_bin=$(realpath -m "$bin_dir/ips-bench")
[ -x "$server_bin" ] || die "$server_bin not found: cargo build --release -p ips-api --bin ips-server (or --bin-dir)"
[ -x "$bench_bin" ] || die "$bench_bin not found: cargo build --release -p ips-bench (or --bin-dir)"
command -v psql >/dev/null || die "psql not found (Debian: apt-get install postgresql-client)"
if ! command -v haproxy >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing haproxy"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
    fi
    command -v haproxy >/dev/null || die "haproxy not found (Debian: apt-get install haproxy)"
fi

# A port nobody listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

# The URL of database $1 on the admin URL's server.
db_url() {
    local base=${admin_url%%\?*}
    local scheme=${base%%://*} rest=${base#*://}
    case "$rest" in */*) rest=${rest%%/*} ;; esac
    echo "$scheme://$rest/$1"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ips-cluster.XXXXXX")
db_name="ips_cluster_$$_$(date +%s)"
database_url=$(db_url "$db_name")
pids=()
haproxy_pid=
db_created=false

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${pids[@]}" $haproxy_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}" $haproxy_pid; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    # Errors the instances logged (background jobs included): worth a look even when every check passed.
    for log in "$work"/instance*.log; do
        [ -f "$log" ] || continue
        errors=$(grep -c ERROR "$log" || true)
        [ "$errors" = 0 ] || say "$(basename "$log"): $errors lines with ERROR, e.g.: $(grep -m1 ERROR "$log" | sed "s/\x1b\[[0-9;]*m//g" | cut -c1-300)"
    done
    if [ "$keep" = true ]; then
        say "kept the database $db_name and the work folder $work"
    else
        if [ "$db_created" = true ]; then
            psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$db_name\" WITH (FORCE)" >/dev/null 2>&1 || true
        fi
        if [ "$status" = 0 ]; then rm -rf "$work"; else say "logs kept in $work"; fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "work folder $work"
psql -q -v ON_ERROR_STOP=1 "$admin_url" -c "CREATE DATABASE \"$db_name\"" >/dev/null \
    || die "could not create a database through $admin_url (set --pg-admin-url)"
db_created=true

say "migrating and seeding $db_name"
"$bench_bin" seed --database-url "$database_url" --server-bin "$server_bin" "${seed_args[@]}" >"$work/seed.log" 2>&1 \
    || { cat "$work/seed.log" >&2; die "seeding failed"; }

# Every instance gets the same key-encryption key; the signing keys live in the database.
kek=$(head -c 32 /dev/urandom | base64)

start_instance() {
    local i=$1 port=$2
    env DATABASE_URL="$database_url" \
        IPS_BIND="127.0.0.1:$port" \
        IPS_KEY_ENCRYPTION_KEY="$kek" \
        IPS_JOBS_INTERVAL_SECS="$jobs_interval" \
        IPS_WEBHOOK_ALLOW_PRIVATE=true \
        IPS_TRUST_FORWARDED_FOR=true \
        IPS_LOG=warn IPS_LOG_FORMAT=text \
        IPS_LOGIN_FAILURES_PER_ACCOUNT_HOUR=1000000 \
        IPS_LOGIN_FAILURES_PER_ADDRESS_HOUR=1000000 \
        IPS_ACCESS_TOKEN_TTL_SECS=14400 \
        IPS_SHUTDOWN_TIMEOUT_SECS=5 \
        "${server_env[@]}" \
        "$server_bin" serve >"$work/instance$i.log" 2>&1 &
    pids+=($!)
    # A kill -9 of an instance is part of the checks: no "Killed" notice from this shell.
    disown $!
}

wait_healthy() {
    local i=$1 port=$2
    for _ in $(seq 1200); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then return 0; fi
        kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { tail -n 30 "$work/instance$i.log" >&2; die "instance $i exited"; }
        sleep 0.1
    done
    die "instance $i did not answer /healthz within 120 s"
}

# The first instance alone first: it makes the signing key, so the others start with the same one.
ports=()
for i in $(seq "$instances"); do
    port=$(free_port)
    ports+=("$port")
    start_instance "$i" "$port"
    [ "$i" = 1 ] && wait_healthy 1 "$port"
done
for i in $(seq "$instances"); do wait_healthy "$i" "${ports[$((i - 1))]}"; done
say "$instances instances up: ports ${ports[*]}"

[ -n "$lb_port" ] || lb_port=$(free_port)
{
    cat <<EOF
global
    maxconn 4096
    stats socket $work/haproxy.sock mode 600 level admin
    log stdout format raw local0 err

defaults
    mode http
    log global
    option dontlognull
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    retries 2
    option redispatch

frontend ips
    bind 127.0.0.1:$lb_port
    # Replace, never append: the service takes the first address.
    http-request set-header X-Forwarded-For %[src]
    default_backend ips

backend ips
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
EOF
    for i in $(seq "$instances"); do
        echo "    server s$i 127.0.0.1:${ports[$((i - 1))]}"
    done
} >"$work/haproxy.cfg"
haproxy -c -q -f "$work/haproxy.cfg" || die "HAProxy refused its configuration ($work/haproxy.cfg)"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$lb_port/healthz" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$lb_port/healthz" || die "HAProxy does not answer on $lb_port"

# The state file `ips-bench cluster` reads.
state=$work/cluster.env
{
    echo "LB_URL=http://127.0.0.1:$lb_port"
    echo "DATABASE_URL=$database_url"
    echo "DATABASE_NAME=$db_name"
    echo "HAPROXY_SOCKET=$work/haproxy.sock"
    echo "HAPROXY_PID=$haproxy_pid"
    echo "HAPROXY_BACKEND=ips"
    echo "INSTANCES=$instances"
    for i in $(seq "$instances"); do
        echo "INSTANCE_${i}_PID=${pids[$((i - 1))]}"
        echo "INSTANCE_${i}_ADDR=127.0.0.1:${ports[$((i - 1))]}"
        echo "INSTANCE_${i}_SERVER=s$i"
        echo "INSTANCE_${i}_LOG=$work/instance$i.log"
    done
} >"$state"

echo "http://127.0.0.1:$lb_port"
say "load balancer http://127.0.0.1:$lb_port (HAProxy, round robin); state file $state"
if [ ${#command[@]} -gt 0 ]; then
    set +e
    IPS_CLUSTER_STATE=$state "${command[@]}"
    status=$?
    set -e
    exit "$status"
fi
say "Ctrl-C stops the cluster"
while true; do sleep 1; done
