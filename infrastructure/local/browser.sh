#!/usr/bin/env bash
# Installs what the browser SDK tests need, when missing: Debian's Chromium (/usr/bin/chromium;
# Playwright drives it and never downloads a browser) and the official SDKs' npm packages at the
# versions of shared/tests/platform/collector/browser/package-lock.json. Idempotent and silent
# when everything is there; `make test` runs it first.
set -euo pipefail
cd "$(dirname "$0")/../.."

SDK_DIR=shared/tests/platform/collector/browser

say() { printf 'browser: %s\n' "$*"; }

apt_install() {
    say "installing $* from Debian's packages"
    # Another apt run (an image build, services.sh) may hold the lock: wait for it, not fail.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
        --no-install-recommends "$@" >/dev/null
}

[ -x /usr/bin/chromium ] || apt_install chromium
command -v npm >/dev/null || apt_install npm

# `npm ci` installs exactly the lockfile; it is rerun when the lockfile changes.
if [ ! -d "$SDK_DIR/node_modules" ] || [ "$SDK_DIR/package-lock.json" -nt "$SDK_DIR/node_modules" ]; then
    say "installing the browser SDKs in $SDK_DIR/node_modules"
    (cd "$SDK_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$SDK_DIR/node_modules"
fi
