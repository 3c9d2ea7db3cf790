#!/usr/bin/env bash
# Runs every test of the workspace: the README's test command, and what CI
# runs (`.ci/run`).
#
# The backends' tests start their own servers on 127.0.0.1 on free ports and
# stop them: `redis-server` (`redis/tests/`) and `etcd` (`etcd/tests/`); the
# etcd backend's client needs `protoc` to build. When one is missing,
# `scripts/install-test-deps.sh` installs Debian's package (`redis-server`,
# `etcd-server`, `protobuf-compiler`) with apt-get (as root, or through sudo)
# before the tests start; the tests fail with a clear message, never skip,
# if a server still cannot be found.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

cargo test --workspace "$@"
