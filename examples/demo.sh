#!/usr/bin/env bash
# Watch an agent fix a failing test, offline.
#
# The model's side of the conversation is a recorded, scripted session
# (examples/calculator.session.jsonl) replayed by the `replay` provider; everything
# else is real: the agent loop, its tools, the git worktree, the tests it runs, the
# commit it makes. Run it with `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

orchestrate=.venv/bin/orchestrate
demo=".orchestrate/demo/calculator-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$(dirname "$demo")"
cp -R examples/calculator "$demo"
git -C "$demo" init -q -b main
git -C "$demo" add .
git -C "$demo" -c user.name=Demo -c user.email=demo@example.com commit -qm "Add the calculator"

# The agent's commands run in the sandbox, which shows only system directories; let it
# run this virtualenv's python (the recorded session calls `python -m unittest`).
venv="$(cd .venv && pwd)"
base="$("$venv/bin/python" -c 'import sys; print(sys.base_prefix)')"
export ORCHESTRATE_SANDBOX_READ_ONLY_PATHS="$venv,$base"
export ORCHESTRATE_SANDBOX_PATH="$venv/bin:/usr/local/bin:/usr/bin:/bin"

echo "Sample project: $demo (its test_add fails)"
"$orchestrate" agent start story-developer \
    --task "Make the calculator's tests pass" \
    --repo "$demo" \
    --provider replay:examples/calculator.session.jsonl \
    --wait

echo
echo "The fix is a commit on the agent's branch; your checkout of the sample is untouched:"
git -C "$demo" log --oneline --all
