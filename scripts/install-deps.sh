#!/usr/bin/env bash
# Installs the Debian packages kiln needs. Idempotent: packages already present are skipped,
# and apt is only called when something is missing.
#
#   scripts/install-deps.sh build   # what building and running kiln needs
#   scripts/install-deps.sh test    # plus what the test suite, fuzzers and benchmarks need
#   scripts/install-deps.sh bench   # plus the tools only bench/*/run.sh drive (wrk, nginx)
#   scripts/install-deps.sh undo    # remove what this script installed (and what apt pulled
#                                   # in for them), as recorded in /var/lib/kiln/install-deps.log
#
# Like a package's postinst, it also makes the service account `kiln serve` and `kiln worker`
# run as when started by root: a system user `kiln` with a subordinate id range for its builds
# (undo removes it again if this script made it).
#
# Runs as root, or through sudo. When apt is busy (another apt, unattended-upgrades), it waits
# up to KILN_APT_LOCK_WAIT seconds (default 60) for the lock, then stops with nothing changed.
set -euo pipefail

die() {
  echo "install-deps: $*" >&2
  exit 1
}

profile="${1:-build}"

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev libssl-dev libcrypt-dev
  # untrusted JSON: a SAX reader whose memory stays proportional to the text
  rapidjson-dev
  # the service: HTTP (Beast/Asio, header-only), SQLite store, Argon2id (libsodium)
  libboost1.81-dev libsqlite3-dev libsodium-dev
  # distributed mode: RabbitMQ client (AMQP 0-9-1)
  librabbitmq-dev
  mmdebstrap zstd util-linux ca-certificates
  # %post scripts' outbound network: a user-mode TCP/IP stack outside the sandbox
  slirp4netns
  # builds without root: newuidmap/newgidmap map a user's subordinate ids (docs/security.md)
  uidmap
  # mmdebstrap refuses another architecture than the host's (i686 on x86_64) without it
  arch-test
  # image assembly without mounting: partition tables, file systems, GRUB, ISO, qcow2
  fdisk e2fsprogs dosfstools mtools squashfs-tools xorriso qemu-utils
  grub-common grub-pc-bin grub-efi-amd64-bin grub-efi-ia32-bin
  # kiln boot-test
  qemu-system-x86 ovmf
  # scripts/demo.sh talks to the API
  curl jq
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  # scripts/check-function-length.sh finds functions' extents with ctags
  universal-ctags
  python3 python3-pyftpdlib
  # the e-mail tests' SMTP server; the staging test's SFTP server (an sshd of its own)
  python3-aiosmtpd openssh-server
  # a package repository made by the tests (dpkg-deb is in dpkg)
  apt-utils
  # docs/openapi.yaml read by the API conformance test
  libyaml-cpp-dev
  # distributed-mode tests run a private broker; bench/queue compares with Celery
  rabbitmq-server python3-celery
  # scripts/check-fresh-install.sh: git for its clone, the lock test's holder of apt's lock
  git
  # the sandbox tests' tiny root: one static binary with mknod, mount, nc, chroot, insmod...
  busybox-static
  # the TLS proxy test: examples/nginx-kiln.conf in front of kiln, with a certificate it makes
  nginx-light openssl
  # the web UI's browser test: Debian's Chromium, driven by playwright-core from npm
  chromium nodejs
)
# Debian's Node.js has npm as a package of its own; a Node.js from elsewhere brings its own
# npm (and conflicts with Debian's).
if ! command -v npm >/dev/null 2>&1; then
  test_pkgs+=(npm)
fi

bench_pkgs=(
  # load generator, and the web server bench/service compares with
  wrk nginx-light sqlite3
  # CPU time of a whole build (bench/build/isolation.sh)
  time
)

# The packages this script installed, one per line, so that `undo` removes only those.
record=/var/lib/kiln/install-deps.log

case "$profile" in
  build) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  undo) wanted=() ;;
  *)
    echo "install-deps: unknown profile '$profile': say build (kiln itself), test (plus the" \
      "test suite's packages), bench (plus the benchmarks' tools) or undo" >&2
    exit 2
    ;;
esac

missing=()
if [ "$profile" = undo ]; then
  # Only what is still installed; packages in use elsewhere are the user's to keep (apt says).
  wanted=($(sort -u "$record" 2>/dev/null || true))
  if [ "${#wanted[@]}" -eq 0 ] && [ ! -s /var/lib/kiln/install-deps.account ]; then
    echo "install-deps: nothing to undo ($record lists no packages)"
    exit 0
  fi
fi
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "$profile" = undo ]; then
  installed=()
  for pkg in "${wanted[@]}"; do
    [[ " ${missing[*]} " == *" $pkg "* ]] || installed+=("$pkg")
  done
  missing=("${installed[@]}")
elif [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present"
  if id kiln >/dev/null 2>&1; then
    exit 0
  fi
fi

# Root, or sudo that works without asking, or sudo that may ask on this terminal.
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
elif command -v sudo >/dev/null && [ -t 0 ]; then
  sudo=(sudo)
else
  if [ "${#missing[@]}" -eq 0 ]; then
    die "the service user kiln is to be made and there is no way to become root: run this" \
      "as root, or as a user who may use sudo"
  fi
  die "${#missing[@]} packages to install (${missing[@]:0:3} ...) and no way to become root:" \
    "run this as root, or as a user who may use sudo"
fi

# The process that holds one of apt's locks, as "process PID (NAME)", read from /proc/locks.
lock_holder() {
  local lock inode pid
  for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock; do
    inode=$(stat -c %i "$lock" 2>/dev/null) || continue
    pid=$(awk -v inode="$inode" '{ split($6, id, ":"); if (id[3] == inode) { print $5; exit } }' \
      /proc/locks 2>/dev/null)
    if [ -n "$pid" ]; then
      echo "process $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo unknown)) holds $lock"
      return
    fi
  done
  echo "another process holds its lock"
}

lock_wait="${KILN_APT_LOCK_WAIT:-60}"
case "$lock_wait" in
  '' | *[!0-9]*) die "KILN_APT_LOCK_WAIT='$lock_wait' is not a number of seconds" ;;
esac
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

# apt-get SUBCOMMAND ARGS...: quiet on success; on failure one line for a busy apt, else
# apt's own errors and a line naming the step.
apt() {
  local step=$1
  if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o "DPkg::Lock::Timeout=$lock_wait" \
    "$@" >/dev/null 2>"$errors"; then
    return 0
  fi
  if grep -q -e 'Could not get lock' -e 'Unable to acquire the dpkg frontend lock' "$errors"; then
    die "apt is busy: $(lock_holder); nothing was installed. Wait for it to finish, then run" \
      "this again (KILN_APT_LOCK_WAIT=SECONDS waits longer; it waited $lock_wait)"
  fi
  grep -v '^W: ' "$errors" >&2 || true
  die "apt-get $step failed (above)"
}

# The service account: a system user whose subordinate ids (the first 65536-id block above
# every range already given out) are its builds' ids. Made once; undo removes it if made here.
account_record=/var/lib/kiln/install-deps.account
ensure_service_user() {
  if id kiln >/dev/null 2>&1; then
    return 0
  fi
  local end start
  end=$(cat /etc/subuid /etc/subgid 2>/dev/null |
    awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }')
  start=$(((end + 65535) / 65536 * 65536))
  "${sudo[@]}" useradd --system --home-dir /var/lib/kiln --shell /usr/sbin/nologin kiln
  "${sudo[@]}" usermod --add-subuids "$start-$((start + 65535))" \
    --add-subgids "$start-$((start + 65535))" kiln
  "${sudo[@]}" mkdir -p "$(dirname "$account_record")"
  echo kiln | "${sudo[@]}" tee "$account_record" >/dev/null
  echo "install-deps: made the service user kiln (subordinate ids $start-$((start + 65535)))"
}

if [ "$profile" = undo ]; then
  if [ -s "$account_record" ]; then
    "${sudo[@]}" userdel kiln 2>/dev/null || true
    "${sudo[@]}" rm -f "$account_record"
    echo "install-deps: removed the service user kiln"
  fi
  echo "install-deps: removing ${missing[*]:-nothing} and what apt installed only for them"
  [ "${#missing[@]}" -eq 0 ] || apt purge -y --autoremove "${missing[@]}"
  "${sudo[@]}" rm -f "$record"
  echo "install-deps: done"
  exit 0
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt update
  # Tools only: no package's daemon (nginx, RabbitMQ) starts on install (policy-rc.d 101, as
  # in Debian's own build chroots); the tests start private ones. A policy already there stays.
  policy=/usr/sbin/policy-rc.d
  made_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=true
    trap 'rm -f "$errors"; "${sudo[@]}" rm -f "$policy"' EXIT
  fi
  apt install -y --no-install-recommends "${missing[@]}"
  if $made_policy; then "${sudo[@]}" rm -f "$policy"; fi
  "${sudo[@]}" mkdir -p "$(dirname "$record")"
  printf '%s\n' "${missing[@]}" | "${sudo[@]}" tee -a "$record" >/dev/null
  echo "install-deps: done ($record lists what was installed; 'scripts/install-deps.sh undo' removes it)"
fi
ensure_service_user
