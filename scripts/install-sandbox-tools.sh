#!/usr/bin/env bash
# Install what the sandbox needs where it is missing: bubblewrap (confinement),
# slirp4netns (network for agents and steps that opt in) and iproute2 (the routes that
# deny that network the metadata service and this machine's addresses; also the network
# tests' test host). Installs with apt-get when run as root on Debian or Ubuntu;
# elsewhere it says what to install and carries on: `orchestrate serve` then stops with
# the same advice rather than run anything unconfined.
set -uo pipefail

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v slirp4netns >/dev/null || missing+=(slirp4netns)
command -v ip >/dev/null || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} for the sandbox" >&2
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } \
        || echo "Could not install ${missing[*]}; install them yourself" >&2
else
    echo "The sandbox needs: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}; Fedora: sudo dnf install ${missing[*]}), or set ORCHESTRATE_SANDBOX=none to run agents and steps unconfined." >&2
fi
exit 0
