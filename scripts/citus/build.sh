#!/usr/bin/env bash
# Builds Citus from the vendored release tarball and installs it into Debian's PostgreSQL 15, once per machine.
# Citus is not packaged for Debian 12 (nor on npm); the tests and `npm run citus:start` use it as an external
# database server (Sextant's code does not include it). Cached: skipped when citus.so is installed and the
# stamp beside it names this version; a new CITUS_VERSION rebuilds. ~4-8 min on 2 cores, at low priority
# (`npm test` runs it in the background while the suites run). `build.sh --installed`: exit 0 when installed.
# Tarball: $SEXTANT_CITUS_TARBALL, else ../shared/vendor/citus-<version>.tar.gz relative to the repo root.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CITUS_VERSION="${CITUS_VERSION:-13.0.5}"
PG_BIN=/usr/lib/postgresql/15/bin
PG_LIB=/usr/lib/postgresql/15/lib
STAMP="$PG_LIB/citus.sextant-stamp"
PACKAGES=(postgresql-15 postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev make gcc)

if [ -f "$PG_LIB/citus.so" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "citus-$CITUS_VERSION" ]; then
  echo "[citus] citus-$CITUS_VERSION installed in PostgreSQL 15"
  exit 0
fi
# --installed: only say whether it is (exit 1: not installed, nothing done)
[ "${1:-}" = "--installed" ] && exit 1

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "[citus] missing Debian packages: ${missing[*]}; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "[citus] installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

TARBALL="${SEXTANT_CITUS_TARBALL:-$ROOT/../shared/vendor/citus-$CITUS_VERSION.tar.gz}"
if [ ! -f "$TARBALL" ]; then
  echo "[citus] no source tarball at $TARBALL (set SEXTANT_CITUS_TARBALL)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ] && [ ! -w "$PG_LIB" ]; then
  echo "[citus] installing into $PG_LIB needs root" >&2
  exit 1
fi

BUILD="$(mktemp -d "${TMPDIR:-/tmp}/sextant-citus-build.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
echo "[citus] building citus-$CITUS_VERSION from $TARBALL in $BUILD (nice, make -j2; ~4 min)"
start=$(date +%s)
tar -xzf "$TARBALL" -C "$BUILD"
SRC="$(find "$BUILD" -mindepth 1 -maxdepth 1 -type d | head -1)"
cd "$SRC"
nice -n 19 ./configure PG_CONFIG="$PG_BIN/pg_config" >"$BUILD/configure.log" 2>&1 || {
  tail -30 "$BUILD/configure.log" >&2
  exit 1
}
# with_llvm=no: no JIT bitcode (Sextant runs with jit=off); halves the build.
nice -n 19 make -j2 with_llvm=no >"$BUILD/make.log" 2>&1 || {
  tail -40 "$BUILD/make.log" >&2
  exit 1
}
make install with_llvm=no >"$BUILD/install.log" 2>&1 || {
  tail -30 "$BUILD/install.log" >&2
  exit 1
}
echo "citus-$CITUS_VERSION" >"$STAMP"
echo "[citus] citus-$CITUS_VERSION installed into PostgreSQL 15 in $(($(date +%s) - start)) s"
