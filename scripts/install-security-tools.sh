#!/usr/bin/env bash
# Install Semgrep, the second SAST engine of `orchestrate security scan`, into a venv of
# its own under the user's cache (never into the repository and never into .venv:
# semgrep pins versions of click, rich and others that conflict with ours). SAST finds
# it there when it is not configured (ORCHESTRATE_SECURITY_SEMGREP_PATH) or on PATH.
# Idempotent: when semgrep already answers `--version` the script returns at once.
# Whatever cannot be installed is said; SAST then reports Bandit's findings and a
# notice that Semgrep was skipped, and the tests needing semgrep are skipped.
set -uo pipefail

tools="${XDG_CACHE_HOME:-$HOME/.cache}/orchestrate-security-tools"
venv="$tools/semgrep-venv"
semgrep="$venv/bin/semgrep"
# The major our shipped rules and their tests were written on (semgrep 1.x rule syntax).
spec="${ORCHESTRATE_SEMGREP_SPEC:-semgrep>=1.90,<2}"

if [ -x "$semgrep" ] && SEMGREP_ENABLE_VERSION_CHECK=0 "$semgrep" --version >/dev/null 2>&1; then
    exit 0
fi

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null; then
    echo "No $python to create the semgrep venv with; Semgrep rules will be skipped" >&2
    exit 0
fi

mkdir -p "$tools"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" \
        || { echo "Could not create $venv; Semgrep rules will be skipped" >&2; exit 0; }
fi
echo "Installing $spec into $venv for SAST" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >/dev/null 2>&1 \
    || { echo "Could not install $spec into $venv; Semgrep rules will be skipped" >&2; exit 0; }
if ! SEMGREP_ENABLE_VERSION_CHECK=0 "$semgrep" --version >/dev/null 2>&1; then
    echo "semgrep was installed into $venv but does not run; Semgrep rules will be skipped" >&2
fi
exit 0
