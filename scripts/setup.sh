#!/usr/bin/env bash
# Installs everything isrscope's lab and tests need on Debian 12 (bookworm), idempotently:
# QEMU >= 8 from bookworm-backports, the ARM C toolchain, Debian's Rust with the
# standard library source (for -Zbuild-std firmware builds), gdb-multiarch and tmux.
# Safe to run again: it skips what is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

for p in gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi \
         gdb-multiarch rustc-web cargo-web rust-web-src tmux python3 clang lld openocd curl; do
  have "$p" || need_pkgs+=("$p")
done

qemu_ok=0
if command -v qemu-system-arm >/dev/null 2>&1; then
  major=$(qemu-system-arm --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n1)
  if [ -n "$major" ] && [ "$major" -ge 8 ]; then qemu_ok=1; fi
fi

if [ ${#need_pkgs[@]} -gt 0 ] || [ "$qemu_ok" -eq 0 ]; then
  src=/etc/apt/sources.list.d/backports.sources
  if [ ! -f "$src" ] && grep -q bookworm /etc/os-release; then
    $SUDO tee "$src" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  $SUDO apt-get update -qq
  export DEBIAN_FRONTEND=noninteractive
  if [ ${#need_pkgs[@]} -gt 0 ]; then
    $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
  fi
  if [ "$qemu_ok" -eq 0 ]; then
    if grep -q bookworm /etc/os-release; then
      $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-arm
    else
      $SUDO apt-get install -y -qq --no-install-recommends qemu-system-arm
    fi
  fi
fi

major=$(qemu-system-arm --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n1)
if [ -z "$major" ] || [ "$major" -lt 8 ]; then
  echo "setup: qemu-system-arm $major is older than 8.0 (no msp/psp registers over gdb); install >= 8.0" >&2
  exit 1
fi
# pyOCD, pinned: the virtual probe's tests run its gdbserver against the lab's core.
PYOCD_VERSION=0.46.0
if [ "$(python3 -c 'import pyocd; print(pyocd.__version__)' 2>/dev/null)" != "$PYOCD_VERSION" ]; then
  python3 -m pip install -q --root-user-action=ignore "pyocd==$PYOCD_VERSION"
fi
command -v pyocd >/dev/null || { echo "setup: pyocd is not on PATH after installing it" >&2; exit 1; }
echo "setup: toolchains ready ($(qemu-system-arm --version | head -n1); $(openocd --version 2>&1 | head -n1); pyOCD $PYOCD_VERSION)"
