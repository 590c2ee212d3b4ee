#!/usr/bin/env bash
# Runs every test of otp-console, installing first what the tests need and the machine lacks
# (cached under target/emulators, reused on the next run). This is the README's test command;
# .ci/run calls it on a fresh clone. It needs python3 (with venv) and npm, and network access to
# PyPI and the npm registry on the first run only.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/emulators"
mkdir -p "$tools"

# Every tool the tests install, pinned to an exact version, so that what a registry serves on
# the day of a run cannot change the result. Upgrading is a one-line change here; the next run
# shows what changed. The date is the day each pin was last checked against the whole suite.
# What those tools pull in is pinned too, in tests/tools/: pip constraints (made with `pip
# freeze` in the tool's virtual environment) and npm's package-lock.json (installed with
# `npm ci`). After changing a version here, install once without the constraints and write
# them again (see tests/tools/README.md).
awscli_version='awscli==1.45.11'                # PyPI, 2026-12-07 (aws CLI v1, runbook commands)
moto_version='moto[server]==5.2.6'              # PyPI, 2026-12-07 (answers CloudWatch's CBOR path)
prism_version='@stoplight/prism-cli@5.14.2'     # npm, 2026-11 (5.16 needs node >= 24)
specs_version='@twilio/cli-core@9.0.0'          # npm, 2026-11 (Twilio's OpenAPI descriptions)
tmux_version='3.3a-3'                           # Debian 12, 2026-12-07 (only if missing)

# Each tool is installed once; a stamp written after a complete install names its version, so
# an interrupted or outdated install is redone instead of reused.
# A virtual environment, made again once if its first creation fails (ensurepip has been seen
# to fail once on a loaded machine).
make_venv() { python3 -m venv "$1" || { rm -rf "$1"; sleep 2; python3 -m venv "$1"; }; }

installed() { [ -f "$tools/$1.stamp" ] && [ "$(cat "$tools/$1.stamp")" = "$2" ]; }
# A stamp names the version and the checksum of its pinned dependencies.
pins() { printf '%s %s' "$1" "$(cat "$2" | sha256sum | cut -c1-16)"; }
prism_pin=$(pins "$prism_version" tests/tools/prism/package-lock.json)
stamp() { printf '%s' "$2" >"$tools/$1.stamp"; }

# A Python tool in a virtual environment of its own under $tools/DIR: NAME's stamp, the pip
# requirement, and the constraints file pinning what it pulls in.
pip_tool() {
  local name=$1 dir=$2 version=$3 constraints=$4 pin
  pin=$(pins "$version" "$constraints")
  installed "$name" "$pin" && return
  echo "tests/run.sh: installing $version into $tools/$dir"
  rm -rf "${tools:?}/$dir"
  make_venv "$tools/$dir"
  "$tools/$dir/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" "$version"
  stamp "$name" "$pin"
}

# The aws CLI, for the tests that run the runbook's own commands against the simulator: always
# our own pinned install, never whatever aws a machine image happens to have on its PATH.
pip_tool awscli venv "$awscli_version" tests/tools/awscli.constraints
export PATH="$tools/venv/bin:$PATH"

# tmux, for tests/tmux_console.rs (the real console in a real terminal).
if ! command -v tmux >/dev/null 2>&1; then
  echo "tests/run.sh: installing tmux"
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq "tmux=$tmux_version" >/dev/null 2>&1 ||
      (apt-get update -qq && apt-get install -y -qq "tmux=$tmux_version" >/dev/null))
  else
    sudo apt-get install -y -qq "tmux=$tmux_version" >/dev/null
  fi
fi

# moto's server: an independent ECS and CloudWatch Logs for tests/contract_aws.rs. Always our
# own virtual environment, never whatever moto a machine image happens to hold.
pip_tool moto moto "$moto_version" tests/tools/moto.constraints
export OTP_CONSOLE_MOTO_SERVER="$tools/moto/bin/moto_server"
# The same virtual environment's Python has botocore, AWS's own service models: the reference
# tests/contract_cloudtrail.rs checks the simulated CloudTrail against (moto has no LookupEvents).
export OTP_CONSOLE_PYTHON="$tools/moto/bin/python"

# Stoplight Prism and Twilio's own OpenAPI descriptions, which ship in @twilio/cli-core, for
# tests/contract_twilio.rs.
if ! installed prism "$prism_pin"; then
  echo "tests/run.sh: installing $prism_version into $tools/node"
  rm -rf "$tools/node"
  mkdir -p "$tools/node"
  cp tests/tools/prism/package.json tests/tools/prism/package-lock.json "$tools/node/"
  (cd "$tools/node" && npm ci --no-audit --no-fund --loglevel=error)
  stamp prism "$prism_pin"
fi
export OTP_CONSOLE_PRISM="$tools/node/node_modules/.bin/prism"

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

# What this run tests against, first, so a changed result can be read against a changed tool.
echo "tests/run.sh: tools"
echo "  $(aws --version 2>&1)"
echo "  $(tmux -V)"
echo "  moto $("$tools/moto/bin/python" -c 'import moto; print(moto.__version__)')," \
  "botocore $("$tools/moto/bin/python" -c 'import botocore; print(botocore.__version__)')"
echo "  prism $("$OTP_CONSOLE_PRISM" --version), Twilio specs from $(cat "$tools/twilio-specs.stamp")"
echo "  $(cargo --version), $(rustc --version)"

# The house rules, kept by the machine: formatting, and clippy (pedantic, functions under 100
# lines: clippy.toml) with every warning an error, on every target.
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings

# --no-fail-fast: one failing test target must not hide the results of the others.
cargo test --locked --no-fail-fast "$@"
