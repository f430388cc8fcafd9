#!/usr/bin/env bash
# Compares kiln's image builds with Debian's own tools on this machine, in one run:
#   disk: a bootable Debian 12 qcow2    — kiln --type qcow2  vs  mkosi 25 (trixie) + qemu-img
#   live: a hybrid live ISO             — kiln --type live   vs  live-build (bookworm)
# Each build runs under /usr/bin/time -v (wall, user+sys CPU, peak RSS); the image size is
# the output file's size. Results go to bench/results/DATE-HOST-build.txt.
#
#   sudo bench/build/run.sh
#
# Environment (all optional):
#   KILN=build/release/src/kiln   the kiln binary (built with the release preset if missing)
#   WORK=/var/tmp/kiln-bench      scratch space: caches, outputs, logs (~10 GiB at peak)
#   IMAGES="disk live"            which comparisons to run
#   TOOLS="kiln anchor"           "kiln", "anchor" (mkosi / live-build) or both
#   CASES="cold warm identical post"   which cases (identical and post need a cache: kiln's from
#                                 the cases before, mkosi's from an extra incremental build)
#   MIRROR=http://deb.debian.org/debian   the Debian mirror every tool uses
#   BOOT_TEST=1                   boot each tool's cold-build image once in QEMU (TCG)
#   RESULTS=bench/results/DATE-HOST-build.txt   where the report goes
# See bench/build/README.md for why the anchors are set up as they are.
set -euo pipefail

SELF="$(readlink -f "$0")"
cd "$(dirname "$SELF")/../.."   # the repository root

KILN="${KILN:-build/release/src/kiln}"
WORK="${WORK:-/var/tmp/kiln-bench}"
IMAGES="${IMAGES:-disk live}"
TOOLS="${TOOLS:-kiln anchor}"
CASES="${CASES:-cold warm identical post}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
BOOT_TEST="${BOOT_TEST:-1}"
export KILN WORK MIRROR   # the timed steps re-enter this script

KS=examples/debian-minimal.ks
MKOSI_TOOLS="$WORK/mkosi-tools"   # a trixie tree holding mkosi 25 and the tools it needs
LOGS="$WORK/logs"
ROWS="$WORK/rows.tsv"              # one line per timed build, turned into the report at the end

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
want() { [[ " $1 " == *" $2 "* ]]; }

# ---------------------------------------------------------------------------------------------
# mkosi: bookworm's mkosi 14 cannot make a bootable image here (it mounts the ESP as vfat, and
# this kernel has no vfat). trixie's mkosi 25 builds disk images with systemd-repart offline
# (mkfs.ext4 -d, mkfs.vfat + mcopy: no loop device, no mount). Installing it on the bookworm
# host would upgrade libc6, python3 and systemd, so it runs in its own trixie tree instead.
# ---------------------------------------------------------------------------------------------
mkosi_in_tools() {  # mkosi ARGS... run in $MKOSI_TOOLS, with $WORK/mkosi as /work
  unshare --mount --fork bash -c '
    set -e
    T=$1 W=$2; shift 2
    mount --make-rprivate /
    mount --rbind "$T" "$T"   # mkosi-sandbox remounts / as a slave: / must be a mount point
    mount -t proc proc "$T/proc"
    mount --rbind /dev "$T/dev"
    mount --rbind /sys "$T/sys"
    mount -t tmpfs tmpfs "$T/tmp"
    mkdir -p "$T/work" && mount --bind "$W" "$T/work"
    mount --bind /etc/resolv.conf "$T/etc/resolv.conf"
    exec chroot "$T" sh -c "cd /work && exec mkosi \"\$@\"" mkosi "$@"
  ' _ "$MKOSI_TOOLS" "$WORK/mkosi" "$@"
}

mkosi_setup_tools() {
  if [ -x "$MKOSI_TOOLS/usr/bin/mkosi" ]; then return; fi
  log "mkosi: making the trixie tools tree $MKOSI_TOOLS (one time, not timed)"
  rm -rf "$MKOSI_TOOLS"
  # grub-common (grub-mkimage) and grub-pc-bin (grub-bios-setup) for the BIOS boot loader;
  # the GRUB modules themselves come from the image (grub-pc-bin, grub-efi-amd64-bin).
  mmdebstrap --variant=apt --include=mkosi,grub-common,grub-pc-bin \
    --dpkgopt='path-exclude=/usr/share/doc/*' trixie "$MKOSI_TOOLS" "$MIRROR" \
    >"$LOGS/mkosi-tools.log" 2>&1 || die "mkosi tools tree failed, see $LOGS/mkosi-tools.log"
}

mkosi_write_config() {  # the same image as examples/debian-minimal.ks
  local d="$WORK/mkosi"
  # The workspace sits beside the output, so that the finished image is renamed, not copied
  # (BuildSources= empty: mkosi refuses a workspace inside its sources, which default to /work).
  mkdir -p "$d/mkosi.sandbox/etc/apt/sources.list.d" "$d/workspace"
  # Only the release itself, like kiln's mmdebstrap call (mkosi would add -updates, -security
  # and a debian-debug archive that the mirror may not serve).
  cat >"$d/mkosi.sandbox/etc/apt/sources.list.d/mkosi.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # "apt" and ?priority(required) make mkosi's base (essential packages) the same as minbase;
  # grub-pc-bin and grub-efi-amd64-bin are where mkosi takes GRUB's modules from (kiln takes
  # them from the host). An empty SplitArtifacts= writes no kernel/initrd copies beside the image.
  cat >"$d/mkosi.conf" <<EOF
[Distribution]
Distribution=debian
Release=bookworm
Architecture=x86-64
Mirror=$MIRROR

[Output]
Format=disk
Output=image
OutputDirectory=/work/out
SplitArtifacts=

[Build]
CacheDirectory=/work/cache/incremental
PackageCacheDirectory=/work/cache/packages
WorkspaceDirectory=/work/workspace
BuildSources=

[Content]
Bootable=yes
Bootloader=grub
BiosBootloader=grub
KernelCommandLine=console=ttyS0,115200
WithDocs=no
RootPassword=kiln
Hostname=kiln-server
Packages=apt
         ?priority(required)
         openssh-server
         sudo
         linux-image-amd64
         systemd-sysv
         udev
         initramfs-tools
         grub-pc-bin
         grub-efi-amd64-bin
EOF
  mkosi_write_postinst "kiln example server"
}

mkosi_write_postinst() {  # the kickstart's %post and its user line, as mkosi's post-install script
  cat >"$WORK/mkosi/mkosi.postinst.chroot" <<EOF
#!/bin/sh
set -e
echo "$1" > /etc/motd
id admin >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo admin
echo admin:admin | chpasswd
EOF
  chmod +x "$WORK/mkosi/mkosi.postinst.chroot"
}

mkosi_build() {  # [mkosi options]: the timed step: mkosi, then raw -> zstd qcow2 like kiln's
  rm -rf "$WORK/mkosi/out"
  mkosi_in_tools -f "$@" build
  qemu-img convert -c -O qcow2 -o compression_type=zstd \
    "$WORK/mkosi/out/image.raw" "$WORK/mkosi/out/image.qcow2"
  rm -f "$WORK/mkosi/out/image.raw"
}

# ---------------------------------------------------------------------------------------------
# live-build: debootstrap + chroot; iso-hybrid needs neither loop devices nor vfat (the EFI
# image is made with mkfs.msdos -C + mcopy, the ISO with xorriso).
# ---------------------------------------------------------------------------------------------
lb_build() {  # the timed step: lb config (idempotent) + package lists + lb build, in $WORK/lb
  mkdir -p "$WORK/lb" && cd "$WORK/lb"
  # minbase like kiln; only the release (no -updates/-security); no recommends, firmware,
  # installer or memtest; zstd squashfs like kiln's (live-build's default is xz);
  # boot loaders: live-build's defaults for amd64 (syslinux for BIOS, GRUB for UEFI).
  lb config --mode debian --distribution bookworm --architectures amd64 \
    --binary-images iso-hybrid --debian-installer none \
    --archive-areas main --security false --updates false \
    --mirror-bootstrap "$MIRROR" --mirror-chroot "$MIRROR" --mirror-binary "$MIRROR" \
    --debootstrap-options "--variant=minbase" \
    --apt-recommends false --apt-indices false --apt-source-archives false \
    --firmware-chroot false --firmware-binary false --memtest none \
    --chroot-squashfs-compression-type zstd \
    --bootappend-live "boot=live components console=ttyS0,115200"
  # live-boot only, as kiln adds (live-build would add live-config and live-config-systemd).
  printf '%s\n' live-boot systemd-sysv >config/package-lists/live.list.chroot
  printf '%s\n' openssh-server sudo udev initramfs-tools >config/package-lists/bench.list.chroot
  # --excludedocs: dpkg exclusions for the packages, a hook for what debootstrap put in first.
  mkdir -p config/includes.chroot_before_packages/etc/dpkg/dpkg.cfg.d
  printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
    'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' \
    >config/includes.chroot_before_packages/etc/dpkg/dpkg.cfg.d/excludedocs
  cat >config/hooks/normal/0900-bench-excludedocs.hook.chroot <<'EOF'
#!/bin/sh
find /usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/*
EOF
  chmod +x config/hooks/normal/0900-bench-excludedocs.hook.chroot
  # isolinux waits at its menu for ever (timeout 0): 2 s like the kickstart's bootloader line.
  mkdir -p config/bootloaders/isolinux
  printf '%s\n' 'include menu.cfg' 'default vesamenu.c32' 'prompt 0' 'timeout 20' \
    >config/bootloaders/isolinux/isolinux.cfg
  lb build
}

# Internal entry points, so that /usr/bin/time measures a whole step in one process tree.
case "${1:-}" in
  __mkosi) shift; mkosi_build "$@"; exit ;;
  __lb) lb_build; exit ;;
esac

# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------
# timed IMAGE CASE TOOL IMAGE_FILE CMD...: runs CMD under /usr/bin/time -v, logs to $LOGS, and
# appends "image case tool wall user sys rss_kib size_bytes rc" to $ROWS.
timed() {
  local image=$1 case=$2 tool=$3 file=$4; shift 4
  local tag="$image-$case-$tool" rc=0
  # Every case starts on a settled machine: the previous case's (or the cache clean-up's)
  # dirty pages are written out first, untimed, so no tool pays for another's writeback.
  sync
  sleep 2
  log "$tag: $*"
  /usr/bin/time -v -o "$LOGS/$tag.time" "$@" >"$LOGS/$tag.log" 2>&1 || rc=$?
  local wall user sys rss size=0
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$LOGS/$tag.time")
  user=$(awk -F': ' '/User time/ {print $2}' "$LOGS/$tag.time")
  sys=$(awk -F': ' '/System time/ {print $2}' "$LOGS/$tag.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LOGS/$tag.time")
  [ "$rc" -eq 0 ] && [ -f "$file" ] && size=$(stat -c %s "$file")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$image" "$case" "$tool" "$wall" "$user" "$sys" \
    "$rss" "$size" "$rc" >>"$ROWS"
  log "$tag: rc=$rc wall=${wall}s cpu=$(echo "$user + $sys" | bc)s size=$size"
  [ "$rc" -eq 0 ] || log "$tag failed, see $LOGS/$tag.log"
}

boot_test() {  # IMAGE_FILE TAG: one QEMU (TCG) boot to a login prompt; the result goes to $ROWS
  [ "$BOOT_TEST" = 1 ] && [ -f "$1" ] || return 0
  local rc=0
  "$KILN" boot-test "$1" --accel tcg --timeout 900 --console-log "$LOGS/$2.console.log" \
    >"$LOGS/$2.boot.log" 2>&1 || rc=$?
  printf 'boot\t%s\t%s\n' "$2" "$(tail -n 2 "$LOGS/$2.boot.log" | head -n 1)" >>"$ROWS"
  log "boot-test $2: rc=$rc"
}

# ---------------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0): every tool here installs packages in a chroot"

pkgs=(time bc mmdebstrap qemu-utils)
want "$TOOLS" anchor && want "$IMAGES" live && pkgs+=(live-build debootstrap squashfs-tools xorriso mtools dosfstools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/install-deps.sh build >&2   # what kiln needs (and boot-test: qemu-system-x86, ovmf)

# The kiln binary must have the build subcommand (an old build tree may predate it).
if ! "$KILN" build --help >/dev/null 2>&1; then
  [ "$KILN" = build/release/src/kiln ] || die "$KILN has no 'build' subcommand"
  log "building kiln (release preset)"
  cmake --preset release >/dev/null && cmake --build --preset release --target kiln
  "$KILN" build --help >/dev/null 2>&1 || die "$KILN has no 'build' subcommand"
fi

mkdir -p "$WORK" "$LOGS"
: >"$ROWS"
if want "$TOOLS" anchor && want "$IMAGES" disk; then mkosi_setup_tools; fi

# The %post-only change: the same kickstart (same file name) with one more line in its %post.
KS_POST="$WORK/post/$(basename "$KS")"
mkdir -p "$WORK/post"
awk '/^%post/ {inpost = 1}
  inpost && /^%end/ && !done {print "echo \"post-only change\" >> /etc/motd"; done = 1}
  {print}' "$KS" >"$KS_POST"
cmp -s "$KS" "$KS_POST" && die "could not make the %post change in $KS_POST"

run_kiln() {  # IMAGE TYPE EXT
  local image=$1 type=$2 ext=$3 cache="$WORK/kiln-cache-$1" out="$WORK/kiln-out-$1"
  local build=("$KILN" build --type "$type" --output "$out" --cache-dir "$cache" --mirror "$MIRROR")
  # kiln names the image after the spec: ask kiln for the name instead of guessing it.
  local name
  name=$("$KILN" spec show "$KS" --type "$type" | sed -n 's/^  "name": "\(.*\)",$/\1/p')
  [ -n "$name" ] || die "kiln spec show $KS --type $type gave no image name"
  local img="$out/$name.$ext"

  if want "$CASES" cold; then
    rm -rf "$cache" "$out"            # cold: empty cache, package cache included
    timed "$image" cold kiln "$img" "${build[@]}" --ks "$KS"
    boot_test "$img" "$image-kiln"
  fi
  if want "$CASES" warm; then
    rm -rf "$cache/stages" "$out"     # warm: packages cached, stages not
    timed "$image" warm kiln "$img" "${build[@]}" --ks "$KS"
  fi
  if want "$CASES" identical; then
    rm -rf "$out"                     # identical rebuild: everything cached
    timed "$image" identical kiln "$img" "${build[@]}" --ks "$KS"
  fi
  if want "$CASES" post; then
    rm -rf "$out"                     # %post-only change: stages before the scripts are cached
    timed "$image" post kiln "$img" "${build[@]}" --ks "$KS_POST"
  fi
}

run_mkosi() {
  local img="$WORK/mkosi/out/image.qcow2"
  if want "$CASES" cold; then
    rm -rf "$WORK/mkosi"                                    # cold: empty package cache
    mkdir -p "$WORK/mkosi" && mkosi_write_config
    timed disk cold mkosi "$img" "$SELF" __mkosi
    boot_test "$img" disk-mkosi
  fi
  mkdir -p "$WORK/mkosi" && mkosi_write_config
  if want "$CASES" warm; then
    rm -rf "$WORK/mkosi/cache/incremental"                  # warm: package cache kept
    timed disk warm mkosi "$img" "$SELF" __mkosi
  fi
  # mkosi's own stage cache (Incremental=: the tree after the package install) for the
  # rebuild cases: fill it once, then an identical rebuild and a post-install script change.
  if want "$CASES" identical || want "$CASES" post; then
    rm -rf "$WORK/mkosi/cache/incremental"
    timed disk incremental-fill mkosi "$img" "$SELF" __mkosi --incremental=yes
  fi
  if want "$CASES" identical; then
    timed disk identical mkosi "$img" "$SELF" __mkosi --incremental=yes
  fi
  if want "$CASES" post; then
    mkosi_write_postinst "kiln example server (post-only change)"
    timed disk post mkosi "$img" "$SELF" __mkosi --incremental=yes
  fi
}

run_lb() {
  local img="$WORK/lb/live-image-amd64.hybrid.iso"
  if want "$CASES" cold; then
    rm -rf "$WORK/lb"                                       # cold: no cache/ at all
    timed live cold live-build "$img" "$SELF" __lb
    boot_test "$img" live-live-build
  fi
  if want "$CASES" warm; then
    # warm: keep cache/packages.* (the downloaded .debs), drop cache/bootstrap (live-build's
    # stage cache of the debootstrap tree); "lb clean" removes the last chroot and binary trees.
    if [ -d "$WORK/lb/config" ]; then (cd "$WORK/lb" && lb clean >/dev/null 2>&1); fi
    rm -rf "$WORK/lb/cache/bootstrap"
    timed live warm live-build "$img" "$SELF" __lb
  fi
}

# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
if want "$IMAGES" disk; then
  want "$TOOLS" kiln && run_kiln disk qcow2 qcow2
  want "$TOOLS" anchor && run_mkosi
fi
if want "$IMAGES" live; then
  want "$TOOLS" kiln && run_kiln live live iso
  want "$TOOLS" anchor && run_lb
fi

# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
out="${RESULTS:-bench/results/$(date +%F)-$(hostname -s)-build.txt}"
mkdir -p "$(dirname "$out")"
mkosi_version=$( [ -x "$MKOSI_TOOLS/usr/bin/mkosi" ] && chroot "$MKOSI_TOOLS" mkosi --version 2>/dev/null || echo -)
{
  echo "# kiln image builds vs Debian's tools (bench/build/run.sh)"
  echo "# date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load at start: $start_load, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# kiln: $KILN ($("$KILN" --version 2>/dev/null | head -n1)); mmdebstrap $(dpkg-query -W -f='${Version}' mmdebstrap)"
  echo "# mkosi: $mkosi_version in a trixie tools tree, + qemu-img $(dpkg-query -W -f='${Version}' qemu-utils) (raw -> zstd qcow2)"
  echo "# live-build: $(dpkg-query -W -f='${Version}' live-build 2>/dev/null || echo -), debootstrap $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo -)"
  echo "# mirror: $MIRROR"
  echo "# cold: empty caches; warm: package cache kept, stage caches dropped; identical: all"
  echo "# cached; post: only the %post / post-install script changed. cpu = user + sys of the"
  echo "# whole process tree; peak RSS = the largest single process (getrusage)."
  echo
  printf '%-6s %-17s %-10s %9s %9s %9s %9s %9s %10s %4s\n' image case tool wall_s cpu_s user_s sys_s rss_MiB size_MiB rc
  awk -F'\t' '$1 != "boot" {
    printf "%-6s %-17s %-10s %9.1f %9.1f %9.1f %9.1f %9.1f %10.1f %4s\n", $1, $2, $3, $4, $5 + $6, $5, $6, $7 / 1024, $8 / 1048576, $9
  }' "$ROWS"
  echo
  echo "ratios kiln / anchor (below 1: kiln uses less)"
  printf '%-6s %-17s %-10s %8s %8s %8s %8s\n' image case anchor wall cpu rss size
  awk -F'\t' '$1 != "boot" && $9 == 0 { k = $1 SUBSEP $2 SUBSEP $3; w[k] = $4; c[k] = $5 + $6; r[k] = $7; s[k] = $8 }
    function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
    END {
      split("disk:mkosi live:live-build", pairs, " ")
      split("cold warm identical post", cases, " ")
      for (p = 1; p <= 2; p++) {
        split(pairs[p], pa, ":"); img = pa[1]; anc = pa[2]
        for (i = 1; i <= 4; i++) {
          kk = img SUBSEP cases[i] SUBSEP "kiln"; ka = img SUBSEP cases[i] SUBSEP anc
          if (!(kk in w) || !(ka in w)) continue
          printf "%-6s %-17s %-10s %8s %8s %8s %8s\n", img, cases[i], anc,
            ratio(w[kk], w[ka]), ratio(c[kk], c[ka]), ratio(r[kk], r[ka]), ratio(s[kk], s[ka])
        }
      }
    }' "$ROWS"
  if grep -q '^boot' "$ROWS"; then
    echo
    echo "boot tests (QEMU TCG, BIOS; the ISOs as CDs):"
    awk -F'\t' '$1 == "boot" { printf "  %-18s %s\n", $2, $3 }' "$ROWS"
  fi
  echo
  echo "logs: $LOGS"
} | tee "$out"
log "results: $out"
# A failed build is in the report (rc column); the exit status says so too.
if awk -F'\t' '$1 != "boot" && $9 != 0 {bad=1} END {exit !bad}' "$ROWS"; then exit 1; fi
