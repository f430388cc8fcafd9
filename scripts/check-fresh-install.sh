#!/usr/bin/env bash
# Proves that the README's two commands need nothing their scripts do not install: makes a
# fresh Debian 12 (bookworm) root with mmdebstrap holding only git, ca-certificates and sudo,
# clones this checkout's HEAD into it, and runs inside it, with a clean environment (env -i,
# a plain PATH):
#   1. install-deps.sh's refusals: an unknown profile, a user who cannot become root, apt
#      locked by another process — each one line, a non-zero exit, and nothing installed;
#   2. the first command's set-up (scripts/demo.sh --build-only: install-deps build, configure,
#      build kiln, kiln --version, kiln ks validate) and a whole `cmake --build --preset
#      release`, which must work with only the build packages;
#   3. one real `kiln build --type tar` of examples/debian-minimal.ks, its SHA256SUMS checked,
#      and the same build by a new ordinary user (no root), which must give the same bytes;
#   4. the test command's install step (install-deps.sh test) and a configure of every preset.
# Prints how long each part took; exits non-zero at the first part that fails.
# With --full it then runs both commands whole inside the root: scripts/demo.sh (image built,
# downloaded, checked, booted) and scripts/test.sh (every test; ../shared bound read-only
# beside the clone when it exists) — about 50 minutes more on 2 cores.
#
#   sudo scripts/check-fresh-install.sh [--full]
#   KILN_FRESH_DIR=/var/tmp/kiln-fresh-install   where the root is made (removed at the end)
#   KILN_FRESH_DEBS=/var/cache/kiln-fresh-install/debs
#                      downloaded .deb files, kept between runs (apt checks each against the
#                      archive's hashes, so a cache can never stand in for an install step)
#
# scripts/test.sh runs it first (KILN_FRESH_INSTALL=0 skips it there).
set -euo pipefail

die() {
  echo "check-fresh-install: $*" >&2
  exit 1
}

source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=${KILN_FRESH_DIR:-/var/tmp/kiln-fresh-install}
debs=${KILN_FRESH_DEBS:-/var/cache/kiln-fresh-install/debs}
root=$work/root
plain_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

full=false
case "${1:-}" in
  "") ;;
  --full) full=true ;;
  *) die "unknown argument '$1' (usage: scripts/check-fresh-install.sh [--full])" ;;
esac

[ "$(id -u)" -eq 0 ] || die "needs root (it makes a root file system and enters it): run it with sudo"
for tool in mmdebstrap git python3 unshare pivot_root; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh test first"
done

# Everything below runs in a private mount namespace: the mounts made for the chroot vanish
# with it, however the script ends.
if [ "${KILN_FRESH_IN_NAMESPACE:-}" != 1 ]; then
  exec unshare --mount --propagation private env KILN_FRESH_IN_NAMESPACE=1 "$0" "$@"
fi

# The mirror as kiln's build engine finds it (src/stages/debian_mirror.cc): the first deb822
# stanza of Types: deb whose URI is a non-security http(s) archive, else the first such
# one-line entry of sources.list, else deb.debian.org.
host_mirror() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/) {
          n = split(uris, u, " ")
          for (i = 1; i <= n; i++)
            if (u[i] ~ /^https?:\/\// && u[i] !~ /security/) { print u[i]; exit 0 }
        }
        types = ""; uris = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      END { flush() }' "$file" | head -1 | grep . && return
  done
  if [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" {
           i = 2
           if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
           if ($i ~ /^https?:\/\// && $i !~ /security/) { print $i; exit }
         }' /etc/apt/sources.list | grep . && return
  fi
  echo http://deb.debian.org/debian
}

declare -a part_names=() part_seconds=()
started_all=$(date +%s)
# part NAME COMMAND...: runs one timed part; the script stops when it fails.
part() {
  local name=$1 start status=0
  shift
  echo "== fresh install: $name"
  start=$(date +%s)
  # In the background, so that `set -e` holds inside the part's function (bash ignores it in
  # a function called as `f || ...`: a failed step would go on into the next one).
  "$@" &
  wait "$!" || status=$?
  part_names+=("$name")
  part_seconds+=($(($(date +%s) - start)))
  if [ "$status" -ne 0 ]; then
    report
    die "'$name' failed (exit $status) after ${part_seconds[-1]} s"
  fi
}
report() {
  local i
  echo "== fresh install: how long each part took"
  for i in "${!part_names[@]}"; do
    printf '%6d s  %s\n' "${part_seconds[$i]}" "${part_names[$i]}"
  done
  printf '%6d s  in all\n' $(($(date +%s) - started_all))
}

cleanup() {
  # Nothing started inside the root may outlive the check (a daemon a postinst started).
  local proc
  for proc in /proc/[0-9]*; do
    if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ]; then kill -9 "${proc#/proc/}" 2>/dev/null || true; fi
  done
  umount -R "$root" 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# inside COMMAND: runs a shell command in the root's checkout as a new root login would,
# with nothing from this environment. The root becomes "/" of a mount namespace of its own
# (pivot_root, the old root unmounted), not a chroot: as on a real machine, where kiln's
# sandboxes make user namespaces, which the kernel refuses inside a chroot.
inside() {
  unshare --mount --propagation private -- /bin/sh -c '
    cd "$1" && pivot_root . .old-root && /.old-root/usr/bin/umount -l /.old-root &&
    exec /usr/bin/env -i HOME=/root PATH="$2" /bin/bash -c "cd /root/kiln && $3"' \
    inside "$root" "$plain_path" "$1" </dev/null
}

# expect_refusal WHAT WANT_EXIT COMMAND: the command exits WANT_EXIT with exactly one line on
# stderr, and dpkg's package list is what it was.
expect_refusal() {
  local what=$1 want=$2 command=$3 before after status=0 err
  before=$(inside 'dpkg-query -W -f "\${Package} \${Status}\n" | sort | sha256sum')
  err=$(inside "$command" 2>&1 >/dev/null) || status=$?
  after=$(inside 'dpkg-query -W -f "\${Package} \${Status}\n" | sort | sha256sum')
  echo "$what: exit $status: $err"
  [ "$status" -eq "$want" ] || { echo "  expected exit $want" >&2; return 1; }
  [ "$(grep -c . <<<"$err")" -eq 1 ] || { echo "  expected one line on stderr" >&2; return 1; }
  [ "$before" = "$after" ] || { echo "  the installed packages changed" >&2; return 1; }
}

make_root() {
  local mirror commit
  mirror=$(host_mirror)
  commit=$(git -C "$source_dir" rev-parse HEAD)
  if [ -n "$(git -C "$source_dir" status --porcelain --untracked-files=no)" ]; then
    echo "note: uncommitted changes in $source_dir are not part of this check (it clones $commit)"
  fi
  echo "mirror $mirror, commit $commit"
  rm -rf --one-file-system "$work"
  mkdir -p "$work" "$debs"
  # A mirror that fails for a moment (apt-get update refused) gets two more tries.
  local try
  for try in 1 2 3; do
    mmdebstrap --quiet --variant=minbase --include=git,ca-certificates,sudo \
      --skip=download/empty --skip=essential/unlink \
      --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
      --setup-hook="sync-in $debs /var/cache/apt/archives/" \
      --customize-hook="sync-out /var/cache/apt/archives $debs" \
      bookworm "$root" "deb $mirror bookworm main" && break
    [ "$try" -lt 3 ] || { echo "mmdebstrap failed 3 times (is $mirror reachable?)" >&2; return 1; }
    echo "mmdebstrap failed (try $try of 3); trying again in 30 s" >&2
    rm -rf --one-file-system "$root"
    sleep 30
  done
  # What an installed Debian has and a minbase root lacks: a host name that resolves
  # (RabbitMQ's node name needs it). The chroot shares the host's UTS namespace, so its name.
  hostname >"$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    "$(hostname)" >"$root/etc/hosts"
  # No service a package installs is started inside the root: the check leaves nothing running
  # (a real machine would start them; the suite starts its own).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  git clone --quiet --no-local "$source_dir" "$root/root/kiln"
  git -C "$root/root/kiln" checkout --quiet --detach "$commit"
  # The root is a mount point as / is on a real machine (kiln's `unshare --propagation
  # private` needs that), with /proc, /sys and /dev, and the .deb cache as apt's archive.
  mkdir -p "$root/.old-root"
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount --bind "$debs" "$root/var/cache/apt/archives"
  if [ -d "$source_dir/../shared" ]; then
    mkdir -p "$root/root/shared"
    mount --bind -o ro "$source_dir/../shared" "$root/root/shared"
  fi
}

refusals() {
  expect_refusal "an unknown profile" 2 'scripts/install-deps.sh everything'
  # A user who is not root and may not use sudo (the script is copied where that user can read it).
  inside 'install -m 755 scripts/install-deps.sh /tmp/install-deps.sh'
  expect_refusal "as nobody, without sudo rights" 1 \
    'cd /tmp && setpriv --reuid=nobody --regid=nogroup --clear-groups ./install-deps.sh build'
  # Another process holds apt's lock (held from outside: fcntl locks belong to the file).
  python3 -c '
import fcntl, sys, time
lock = open(sys.argv[1], "a")
fcntl.lockf(lock, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)' "$root/var/lib/dpkg/lock-frontend" >"$work/holder.out" &
  holder_pid=$!
  # This part runs in a subshell of its own (see part): the holder ends with it.
  trap 'kill "$holder_pid" 2>/dev/null' EXIT
  for _ in $(seq 50); do grep -q locked "$work/holder.out" && break; sleep 0.1; done
  expect_refusal "while apt is locked" 1 'KILN_APT_LOCK_WAIT=2 scripts/install-deps.sh build'
  kill "$holder_pid"
  wait "$holder_pid" 2>/dev/null || true
  trap - EXIT
}

tar_build() {
  inside 'build/release/src/kiln build --ks examples/debian-minimal.ks --type tar --output /root/out &&
          cd /root/out && ls -l && sha256sum -c SHA256SUMS && ls *.tar.zst'
}

# The same build by an ordinary user (a new account: useradd gives it a subordinate id range),
# without root anywhere: the same bytes. Its scripts get no network (/dev/net/tun is the
# host's, which may be root's alone here).
user_tar_build() {
  inside 'id builder >/dev/null 2>&1 || useradd --create-home --shell /bin/sh builder
          install -m 755 build/release/src/kiln /tmp/kiln-for-builder
          install -m 644 examples/debian-minimal.ks /tmp/minimal.ks
          runuser -u builder -- /tmp/kiln-for-builder build --ks /tmp/minimal.ks --type tar \
            --script-network none --output /home/builder/out &&
          cmp /root/out/SHA256SUMS /home/builder/out/SHA256SUMS &&
          echo "the same image as the build as root: $(cat /home/builder/out/SHA256SUMS)"'
}

configure_every_preset() {
  inside 'for preset in $(cmake --list-presets | sed -n "s/^ *\"\([a-z]*\)\".*/\1/p"); do
            echo "cmake --preset $preset"
            cmake --preset "$preset" >"/tmp/configure-$preset.log" 2>&1 ||
              { cat "/tmp/configure-$preset.log"; exit 1; }
          done
          grep -q "kiln_unit_tests" build/release/build.ninja ||
            { echo "the release preset did not find the test packages"; exit 1; }'
}

part "a fresh bookworm root (mmdebstrap: git, ca-certificates, sudo)" make_root
part "install-deps.sh refusals (bad profile, no root, apt locked)" refusals
part "first command's set-up (demo.sh --build-only)" inside 'scripts/demo.sh --build-only'
part "cmake --build --preset release with the build packages only" \
  inside 'cmake --preset release >/dev/null && cmake --build --preset release'
part "kiln build --type tar examples/debian-minimal.ks" tar_build
part "the same build by an ordinary user, without root" user_tar_build
part "test command's install step (install-deps.sh test)" inside 'scripts/install-deps.sh test'
part "configure every preset" configure_every_preset
if $full; then
  part "scripts/demo.sh, whole" inside 'scripts/demo.sh'
  # Its own fresh-install step would only repeat this one, a root inside the root.
  part "scripts/test.sh, whole" inside 'KILN_FRESH_INSTALL=0 scripts/test.sh'
fi
report
