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

# Debian packages, installed only when missing: a C toolchain (race
# detector, cgo), the Gio build dependencies, and what renders the GUI
# headless in tests (Mesa's surfaceless EGL) or under Xvfb.
pkgs=(gcc pkg-config
  libwayland-dev libx11-dev libx11-xcb-dev libxkbcommon-x11-dev
  libxcursor-dev libxfixes-dev libgles2-mesa-dev libegl1-mesa-dev
  libvulkan-dev libffi-dev
  libegl-mesa0 libgl1-mesa-dri mesa-vulkan-drivers
  xvfb xauth x11-utils xdotool imagemagick)
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
# gVisor's runsc, pinned, built statically (a cgo build cannot start
# sandboxes) and cached by version.
RUNSC_VERSION=v0.0.0-20260905035102-160fafc42237
cache="${XDG_CACHE_HOME:-$HOME/.cache}/phoenix"
runsc_dir="$cache/runsc-$RUNSC_VERSION"
if [ ! -x "$runsc_dir/runsc" ]; then
  say "building runsc $RUNSC_VERSION into $runsc_dir (10-15 minutes on a fresh machine; cached afterwards)"
  mkdir -p "$runsc_dir"
  start=$(date +%s)
  ( while sleep 30; do say "  still building runsc ($(( $(date +%s) - start ))s)"; done ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null' EXIT
  GOBIN="$runsc_dir" CGO_ENABLED=0 go install -ldflags='-s -w' "gvisor.dev/gvisor/runsc@$RUNSC_VERSION"
  kill $ticker 2>/dev/null
  say "runsc built in $(( $(date +%s) - start ))s"
fi
# ---- personality: Debian userland (issue 6) --------------------------------
# A Debian bookworm minbase root filesystem with cowsay and Phoenix's OS
# jokes (/usr/share/phoenix/os-jokes.txt, read with shuf), built once with
# mmdebstrap from Debian's packages and cached by version; the sandbox runs
# it read-only under runsc (sandbox/personality.go). Bump
# DEBIAN_ROOTFS_VERSION (and sandbox.DebianVersion) when the recipe or the
# jokes change. The apt lists are kept, so apt inside knows what it has.
DEBIAN_SUITE=bookworm
DEBIAN_ROOTFS_VERSION=1
debian_dir="$cache/debian-$DEBIAN_SUITE-$DEBIAN_ROOTFS_VERSION"
if [ ! -f "$debian_dir/manifest" ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    say "installing mmdebstrap"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq mmdebstrap
  fi
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  mirror=${mirror:-http://deb.debian.org/debian}
  jokes="$(cd "$(dirname "$0")" && pwd)/personality/os-jokes.txt"
  say "building the Debian $DEBIAN_SUITE personality into $debian_dir from $mirror (a few minutes; cached afterwards)"
  partial="$debian_dir.partial"
  $SUDO rm -rf "$partial"
  mkdir -p "$partial"
  start=$(date +%s)
  ( while sleep 30; do say "  still building the Debian rootfs ($(( $(date +%s) - start ))s)"; done ) &
  dticker=$!
  trap 'kill $dticker 2>/dev/null' EXIT
  $SUDO mmdebstrap --mode=root --variant=minbase --include=cowsay \
    --skip=cleanup/apt/lists \
    --customize-hook="install -D -m 0644 '$jokes' \"\$1/usr/share/phoenix/os-jokes.txt\"" \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package} \${Version}\n" > "$1/../manifest.tmp"' \
    "$DEBIAN_SUITE" "$partial/rootfs" "$mirror" 2>&1 | sed -u 's/^/deps:   /' >&2
  kill $dticker 2>/dev/null
  $SUDO mv "$partial/manifest.tmp" "$partial/manifest"
  $SUDO rm -rf "$debian_dir"
  $SUDO mv "$partial" "$debian_dir"
  say "Debian rootfs built in $(( $(date +%s) - start ))s ($(wc -l < "$debian_dir/manifest") packages)"
fi
# --- memory: weaviate-server (agent/memory's Weaviate backend and its tests)
# Pinned, built once with cgo off (the server needs none) and cached by
# version.
WEAVIATE_VERSION=v1.35.2
weaviate_dir="$cache/weaviate-$WEAVIATE_VERSION"
build_weaviate() {
  if [ -x "$weaviate_dir/weaviate-server" ]; then return 0; fi
  say "building weaviate-server $WEAVIATE_VERSION into $weaviate_dir (10-20 minutes on a fresh machine; cached afterwards)"
  mkdir -p "$weaviate_dir"
  local wstart wticker
  wstart=$(date +%s)
  ( while sleep 30; do say "  still building weaviate-server ($(( $(date +%s) - wstart ))s)"; done ) &
  wticker=$!
  GOBIN="$weaviate_dir" CGO_ENABLED=0 go install -ldflags='-s -w' \
    "github.com/weaviate/weaviate/cmd/weaviate-server@$WEAVIATE_VERSION" || { kill $wticker 2>/dev/null; return 1; }
  kill $wticker 2>/dev/null
  say "weaviate-server built in $(( $(date +%s) - wstart ))s"
}
build_weaviate
# --- end memory

# --- boot (phoenix boot): QEMU and e2fsprogs ---------------------------
# qemu-system-x86_64 runs the guest (TCG when there is no KVM); mkfs.ext4
# (-d), e2fsck and debugfs (rdump) carry the image to the guest's virtio
# disk and back. The kernel is a Go module pinned in go.mod (gokrazy's
# kernel.amd64); the go command fetches it into the module cache.
boot_pkgs=(qemu-system-x86 e2fsprogs)
boot_missing=()
for p in "${boot_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || boot_missing+=("$p")
done
if [ ${#boot_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  say "installing ${boot_missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${boot_missing[@]}"
fi
go mod download github.com/gokrazy/kernel.amd64
# --- end boot -----------------------------------------------------------
say "ok (go $have, runsc $runsc_dir/runsc, debian $debian_dir, weaviate $weaviate_dir/weaviate-server)"
