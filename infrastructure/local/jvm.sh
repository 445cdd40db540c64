#!/usr/bin/env bash
# Brings the JVM parts the tests run (jars from Maven Central, by `mvn`) into a cache folder
# outside the repository: one folder per infrastructure/jvm/<part>/pom.xml, holding that part's
# jars, e.g. $CACHE/kafka/*.jar for `java -cp "$CACHE/kafka/*"`. Installs Java 17 and Maven from
# Debian's packages when missing. Idempotent: a part whose pom.xml has not changed since its jars
# were copied is left alone. `make test` runs it first.
#   DATAPLATFORM_JVM_CACHE   the cache folder (default: ~/.cache/dataplatform/jvm)
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE="${DATAPLATFORM_JVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dataplatform/jvm}"

say() { printf 'jvm: %s\n' "$*"; }

apt_install() {
    say "installing $* from Debian's packages"
    # Another apt run (services.sh, browser.sh) may hold the lock: wait for it, not fail.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
        --no-install-recommends "$@" >/dev/null
}

java_major() {
    java -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}

command -v java >/dev/null && [ "$(java_major)" -ge 17 ] || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null || apt_install maven

# A part's folder is complete once its stamp (the pom's checksum) is written; the jars are copied
# into a fresh folder that replaces the old one whole, so a changed version leaves no stale jar
# on the classpath and an interrupted copy is redone.
for pom in infrastructure/jvm/*/pom.xml; do
    part="$(basename "$(dirname "$pom")")"
    target="$CACHE/$part"
    checksum="$(sha256sum "$pom" | cut -d' ' -f1)"
    if [ "$(cat "$target/.pom.sha256" 2>/dev/null)" = "$checksum" ]; then
        say "$part: jars up to date in $target"
        continue
    fi
    say "$part: copying the dependencies of $pom into $target"
    mkdir -p "$CACHE"
    fresh="$(mktemp -d "$CACHE/.$part.XXXXXX")"
    trap 'rm -rf "$fresh"' EXIT
    # Debian's Maven 3.8 writes colour resets even in batch mode; only its errors are worth seeing.
    mvn --batch-mode --quiet -f "$pom" dependency:copy-dependencies \
        -DoutputDirectory="$fresh" -DincludeScope=runtime | sed 's/\x1b\[[0-9;]*m//g'
    printf '%s\n' "$checksum" >"$fresh/.pom.sha256"
    rm -rf "$target"
    mv "$fresh" "$target"
    trap - EXIT
    say "$part: $(find "$target" -name '*.jar' | wc -l) jars in $target"
done
