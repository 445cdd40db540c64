#!/usr/bin/env bash
# Installs (from Debian's packages, when missing) and starts the services the tests talk to:
# PostgreSQL at 127.0.0.1:5432 (trust auth on loopback, database `test`) and Redis at
# 127.0.0.1:6379; and the monitoring tools the tests start themselves (Prometheus, Alertmanager).
# Idempotent: a service that already answers is left alone. No service runs when a machine
# starts, so `.ci/run` and `make services` both call this.
set -euo pipefail

STATE_DIR="${DATAPLATFORM_SERVICES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dataplatform/services}"
mkdir -p "$STATE_DIR"

say() { printf 'services: %s\n' "$*"; }

apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]} from Debian's packages"
    # A stale package list finds nothing, so refresh it once per install.
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

start_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        say "PostgreSQL already answers at 127.0.0.1:5432"
    else
        apt_install postgresql
        local version
        version="$(ls /etc/postgresql | sort -V | tail -n1)"
        [ -d "/etc/postgresql/$version/main" ] || pg_createcluster "$version" main >/dev/null
        local hba="/etc/postgresql/$version/main/pg_hba.conf"
        # Tests connect as `postgres` without a password, on loopback only.
        if ! grep -q '^# dataplatform: trust loopback' "$hba"; then
            { printf '# dataplatform: trust loopback\n'
              printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'
              cat "$hba"; } >"$hba.new"
            mv "$hba.new" "$hba"
            chown postgres:postgres "$hba"
        fi
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
        pg_isready -q -h 127.0.0.1 -p 5432 || { say "PostgreSQL did not start; see /var/log/postgresql"; exit 1; }
        say "PostgreSQL $version started at 127.0.0.1:5432"
    fi
    if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname = 'test'" | grep -q 1; then
        psql -h 127.0.0.1 -U postgres -qc "create database test"
        say "database test created"
    fi
}

start_redis() {
    if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        say "Redis already answers at 127.0.0.1:6379"
        return 0
    fi
    apt_install redis-server
    # No persistence: the tests' Redis is scratch; durability is the operator's configuration.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir "$STATE_DIR" --logfile "$STATE_DIR/redis.log"
    for _ in $(seq 1 60); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { say "Redis did not start; see $STATE_DIR/redis.log"; exit 1; }
    say "Redis started at 127.0.0.1:6379"
}

# The tools the monitoring tests run for real: promtool checks and unit-tests the generated rules,
# a Prometheus scrapes a gateway, amtool checks the routes and an Alertmanager delivers an alert.
install_monitoring_tools() {
    apt_install prometheus prometheus-alertmanager
    say "promtool, prometheus, amtool and prometheus-alertmanager at hand"
}

# `kubectl kustomize` renders the Kubernetes overlays in the tests. The overlays use kustomize 5's
# `labels` and inline `patches`; Debian's kubernetes-client (1.20) is taken only when no kubectl
# is on the machine, and a kustomize too old for them makes the render test name its error.
install_kubectl() {
    command -v kubectl >/dev/null || apt_install kubernetes-client
    say "kubectl at hand: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"
}

start_postgres
start_redis
install_monitoring_tools
install_kubectl
