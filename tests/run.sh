#!/usr/bin/env bash
# Runs every test of otp-console, installing first what the tests need and the machine lacks
# (cached under target/emulators, reused on the next run). This is the README's test command;
# .ci/run calls it on a fresh clone. It needs python3 (with venv) and npm, and network access to
# PyPI and the npm registry on the first run only.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/emulators"
mkdir -p "$tools"

# Each tool is installed once; a stamp written after a complete install names its version, so
# an interrupted or outdated install is redone instead of reused.
# A virtual environment, made again once if its first creation fails (ensurepip has been seen
# to fail once on a loaded machine).
make_venv() { python3 -m venv "$1" || { rm -rf "$1"; sleep 2; python3 -m venv "$1"; }; }

installed() { [ -f "$tools/$1.stamp" ] && [ "$(cat "$tools/$1.stamp")" = "$2" ]; }
stamp() { printf '%s' "$2" >"$tools/$1.stamp"; }

# The aws CLI, for the tests that run the runbook's own commands against the simulator.
if ! command -v aws >/dev/null 2>&1; then
  if [ ! -x "$tools/venv/bin/aws" ]; then
    echo "tests/run.sh: installing the aws CLI into $tools/venv"
    make_venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check awscli
  fi
  export PATH="$tools/venv/bin:$PATH"
fi
aws --version

# tmux, for tests/tmux_console.rs (the real console in a real terminal).
if ! command -v tmux >/dev/null 2>&1; then
  echo "tests/run.sh: installing tmux"
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq tmux >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq tmux >/dev/null))
  else
    sudo apt-get install -y -qq tmux >/dev/null
  fi
fi
tmux -V

# moto's server: an independent ECS and CloudWatch Logs for tests/contract_aws.rs. Always our
# own virtual environment, never whatever moto a machine image happens to hold.
moto_version='moto[server]>=5.1,<6'
if ! installed moto "$moto_version"; then
  echo "tests/run.sh: installing $moto_version into $tools/moto"
  rm -rf "$tools/moto"
  make_venv "$tools/moto"
  "$tools/moto/bin/pip" install --quiet --disable-pip-version-check "$moto_version"
  stamp moto "$moto_version"
fi
export OTP_CONSOLE_MOTO_SERVER="$tools/moto/bin/moto_server"
# The same virtual environment's Python has botocore, AWS's own service models: the reference
# tests/contract_cloudtrail.rs checks the simulated CloudTrail against (moto has no LookupEvents).
export OTP_CONSOLE_PYTHON="$tools/moto/bin/python"

# Stoplight Prism (5.16 needs node >= 24; 5.14.2 runs on 20) and Twilio's own OpenAPI
# descriptions, which ship in @twilio/cli-core, for tests/contract_twilio.rs.
prism_version='@stoplight/prism-cli@5.14.2'
if ! installed prism "$prism_version"; then
  echo "tests/run.sh: installing $prism_version into $tools/node"
  rm -rf "$tools/node"
  mkdir -p "$tools/node"
  npm install --prefix "$tools/node" --no-audit --no-fund --loglevel=error "$prism_version"
  stamp prism "$prism_version"
fi
export OTP_CONSOLE_PRISM="$tools/node/node_modules/.bin/prism"

specs_version='@twilio/cli-core@9.0.0'
if ! installed twilio-specs "$specs_version"; then
  echo "tests/run.sh: fetching Twilio's OpenAPI descriptions from $specs_version"
  rm -rf "$tools/twilio-specs" "$tools/twilio-pack"
  mkdir -p "$tools/twilio-specs" "$tools/twilio-pack"
  # Only three JSON files are needed: pack the package instead of installing its dependencies.
  tarball=$(cd "$tools/twilio-pack" && npm pack --silent "$specs_version")
  for spec in twilio_api_v2010.json twilio_verify_v2.json twilio_monitor_v1.json; do
    tar -xzf "$tools/twilio-pack/$tarball" -C "$tools/twilio-specs" --strip-components=4 \
      "package/src/services/twilio-api/$spec"
  done
  rm -rf "$tools/twilio-pack"
  stamp twilio-specs "$specs_version"
fi
# Monitor (Alerts, Events) for tests/contract_twilio_monitor.rs, added to a cache fetched before
# it was needed (the stamp stays, so a run.sh without this line does not fetch all three again).
if [ ! -f "$tools/twilio-specs/twilio_monitor_v1.json" ]; then
  echo "tests/run.sh: adding twilio_monitor_v1.json from $specs_version"
  rm -rf "$tools/twilio-pack" && mkdir -p "$tools/twilio-pack"
  tarball=$(cd "$tools/twilio-pack" && npm pack --silent "$specs_version")
  tar -xzf "$tools/twilio-pack/$tarball" -C "$tools/twilio-specs" --strip-components=4 \
    "package/src/services/twilio-api/twilio_monitor_v1.json"
  rm -rf "$tools/twilio-pack"
fi
export OTP_CONSOLE_TWILIO_SPECS="$tools/twilio-specs"

cargo test --locked "$@"
