#!/usr/bin/env bash
# Installs the admin console's front-end libraries (htmx, Apache ECharts) and Swagger UI (the
# gateway's /docs) from the npm registry at
# the versions of shared/src/dataplatform/platform/console/frontend/package-lock.json and copies
# their built files into the console's static/vendor folder, which the gateway serves (nothing
# is fetched from a CDN at run time). Idempotent and silent when they are there; `make install`
# runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."

CONSOLE=shared/src/dataplatform/platform/console
FRONTEND=$CONSOLE/frontend
VENDOR=$CONSOLE/static/vendor
# What the pages load, from inside node_modules.
FILES=(htmx.org/dist/htmx.min.js echarts/dist/echarts.min.js swagger-ui-dist/swagger-ui-bundle.js
       swagger-ui-dist/swagger-ui.css swagger-ui-dist/favicon-32x32.png)

say() { printf 'console: %s\n' "$*"; }

if ! command -v npm >/dev/null; then
    say "installing npm from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
        --no-install-recommends npm >/dev/null
fi

if [ ! -d "$FRONTEND/node_modules" ] || [ "$FRONTEND/package-lock.json" -nt "$FRONTEND/node_modules" ]; then
    say "installing the console's front-end libraries in $FRONTEND/node_modules"
    # SCARF_ANALYTICS: swagger-ui-dist's install-time analytics stay off (and package.json says so).
    (cd "$FRONTEND" && SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$FRONTEND/node_modules"
fi

mkdir -p "$VENDOR"
for file in "${FILES[@]}"; do
    target="$VENDOR/$(basename "$file")"
    if [ ! -f "$target" ] || [ "$FRONTEND/node_modules/$file" -nt "$target" ]; then
        cp "$FRONTEND/node_modules/$file" "$target"
    fi
done
