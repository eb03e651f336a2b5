#!/usr/bin/env bash
# Installs the Debian packages the tests use (a real browser, a real Redis, Noto fonts) when they are
# missing. Only as root; otherwise it says what to install and carries on (tests needing them skip).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)  # also runs the tests' sentinels (`--sentinel`)
[ -d /usr/share/fonts/truetype/noto ] || missing+=(fonts-noto-core)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)  # docs/deploy.md's proxy recipe
command -v npm >/dev/null 2>&1 || missing+=(npm)  # installs axe-core for the accessibility audits
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)  # a real TURN relay for the UDP-blocked test
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)  # rx tests rasterise prescription PDFs
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)  # the UDP-blocked browser test builds a network namespace
command -v strace >/dev/null 2>&1 || missing+=(strace)  # the fsync policy test counts SQLite's syncs
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "note: missing Debian packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
