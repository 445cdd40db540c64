#!/usr/bin/env bash
# Installs the linters the tests run that come from npm, at the versions of their lockfiles:
# dockerfile-utils for the Dockerfiles (infrastructure/docker/lint). Idempotent and silent when
# they are there; `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."

LINT_DIR=infrastructure/docker/lint

if ! command -v npm >/dev/null; then
    printf 'linters: installing npm from Debian'"'"'s packages\n'
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
        --no-install-recommends npm >/dev/null
fi

# `npm ci` installs exactly the lockfile; it is rerun when the lockfile changes.
if [ ! -d "$LINT_DIR/node_modules" ] || [ "$LINT_DIR/package-lock.json" -nt "$LINT_DIR/node_modules" ]; then
    printf 'linters: installing dockerfile-utils in %s/node_modules\n' "$LINT_DIR"
    (cd "$LINT_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$LINT_DIR/node_modules"
fi
