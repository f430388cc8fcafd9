#!/usr/bin/env bash
# Installs the Debian packages kiln needs. Idempotent: packages already present are skipped,
# and apt is only called when something is missing.
#
#   scripts/install-deps.sh build   # what building and running kiln needs
#   scripts/install-deps.sh test    # plus what the test suite, fuzzers and benchmarks need
#   scripts/install-deps.sh bench   # plus the tools only bench/*/run.sh drive (wrk, nginx)
set -euo pipefail

profile="${1:-build}"

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev libssl-dev libcrypt-dev
  # the service: HTTP (Beast/Asio, header-only), SQLite store, Argon2id (libsodium)
  libboost1.81-dev libsqlite3-dev libsodium-dev
  # distributed mode: RabbitMQ client (AMQP 0-9-1)
  librabbitmq-dev
  mmdebstrap zstd util-linux ca-certificates
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
  python3 python3-pyftpdlib
  # a package repository made by the tests (dpkg-deb is in dpkg)
  apt-utils
  # docs/openapi.yaml read by the API conformance test
  libyaml-cpp-dev
  # distributed-mode tests run a private broker; bench/queue compares with Celery
  rabbitmq-server python3-celery
)

bench_pkgs=(
  # load generator, and the web server bench/service compares with
  wrk nginx-light sqlite3
)

case "$profile" in
  build) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
