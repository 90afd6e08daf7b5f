#!/usr/bin/env bash
# Install the system packages the tests need (Debian names), when they are missing.
# Refuses with a clear message when they cannot be installed (no root, no apt-get).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have mosquitto || need+=(mosquitto)
have chromium || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
echo "setup: installing system packages: ${need[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: cannot install ${need[*]}: this is not a Debian-like system (no apt-get)." >&2
    echo "       Install them with your package manager and run again." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "setup: cannot install ${need[*]}: not root and no password-less sudo." >&2
        echo "       Ask an administrator: apt-get install ${need[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for p in "${need[@]}"; do
    have "$p" || { echo "setup: $p still missing after apt-get install" >&2; exit 1; }
done
