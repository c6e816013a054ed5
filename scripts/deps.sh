#!/usr/bin/env bash
# Installs what building and testing Phoenix needs on Debian 12, and
# nothing that is already there. Pinned tools are cached by version under
# ${XDG_CACHE_HOME:-$HOME/.cache}/phoenix/ so reruns skip them.
set -euo pipefail

say() { printf 'deps: %s\n' "$*" >&2; }

need_go="1.26"
if ! command -v go >/dev/null 2>&1; then
  say "Go $need_go or newer is required (https://go.dev/dl/); it is not on PATH"
  exit 1
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have" | sort -V | head -n1)" != "$need_go" ]; then
  say "Go $need_go or newer is required, found $have"
  exit 1
fi

# Debian packages (none are needed yet beyond a C toolchain for the race
# detector and later the GUI); installed only when missing.
pkgs=(gcc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  say "installing ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"
fi
say "ok (go $have)"
