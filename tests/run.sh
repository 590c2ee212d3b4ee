#!/usr/bin/env bash
# Runs every test of otp-console, installing first what the tests need and the machine lacks
# (cached under target/emulators, reused on the next run). This is the README's test command;
# .ci/run calls it on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/emulators"
mkdir -p "$tools"

# The aws CLI, for the tests that run the runbook's own commands against the simulator.
if ! command -v aws >/dev/null 2>&1; then
  if [ ! -x "$tools/venv/bin/aws" ]; then
    echo "tests/run.sh: installing the aws CLI into $tools/venv"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check awscli
  fi
  export PATH="$tools/venv/bin:$PATH"
fi
aws --version

cargo test --locked "$@"
