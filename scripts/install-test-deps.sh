#!/usr/bin/env bash
# Installs what the workspace's tests and builds need beyond Rust, when it is
# missing: called by the README's test command (`scripts/test.sh`) and by
# `.ci/run` before its first cargo step.
#
# - `redis-server` (Debian's `redis-server`): the Redis backend's tests
#   (`redis/tests/`) start their own server on a free loopback port.
# - `etcd` (Debian's `etcd-server`): the etcd backend's tests (`etcd/tests/`)
#   start their own server on free loopback ports.
# - `protoc` (Debian's `protobuf-compiler`): the `etcd-client` crate compiles
#   etcd's protobuf definitions at build time. Only builds with the etcd
#   backend need it (`--workspace`, or the facade's `etcd` feature); the
#   facade's default build does not.
#
# Packages are installed with apt-get (as root, or through sudo). The tests
# fail with a clear message, never skip, if a server still cannot be found.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "installing Debian packages for the backends' tests and builds: ${missing[*]}"
sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q "${missing[@]}" >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }
