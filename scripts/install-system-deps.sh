#!/usr/bin/env bash
# Debian packages Sextant needs: the eBPF toolchain (clang, libbpf, bpftool) to build the kernel programs
# and the libbpf binding, and the real peers the tests and benchmarks drive (nginx, wrk, dig, dnsmasq,
# chromium for the browser tests). Idempotent: skips apt when everything is already there.
set -euo pipefail
# Usage: install-system-deps.sh runtime|test   (runtime: what `npm ci && npm start` needs; test: + peers)
MODE="${1:-runtime}"
PACKAGES=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ python3)
if [ "$MODE" = "test" ]; then
  PACKAGES+=(nginx-light wrk curl openssl dnsutils dnsmasq-base iproute2 chromium kcat prometheus)
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[deps] system packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[deps] missing Debian packages: ${missing[*]}. Without them the eBPF collector cannot be built;" >&2
  echo "[deps] as root run: apt-get install -y ${missing[*]}" >&2
  [ "$MODE" = "test" ] && exit 1
  exit 0
fi
echo "[deps] installing: ${missing[*]}"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "[deps] apt-get could not install: ${missing[*]} (the eBPF collector will be unavailable)" >&2
  [ "$MODE" = "test" ] && exit 1
fi
exit 0
