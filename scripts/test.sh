#!/usr/bin/env bash
# Runs every test of the workspace: the README's test command, and what CI
# runs (`.ci/run`).
#
# The Redis backend's tests (`redis/tests/`) start their own `redis-server`
# on 127.0.0.1 on a free port and stop it. When it is missing, this installs
# Debian's `redis-server` package with apt-get (as root, or through sudo)
# before the tests start; the tests fail with a clear message, never skip,
# if it still cannot be found.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server not found: installing Debian's redis-server package (for the Redis backend's tests)"
    sudo=""
    if [[ "$(id -u)" -ne 0 ]]; then
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q redis-server >/dev/null ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q redis-server >/dev/null; }
fi

cargo test --workspace "$@"
