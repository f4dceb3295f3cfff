#!/usr/bin/env bash
# The local end-to-end demo (`make demo`): a fresh registry in a temporary directory, the
# two-step heavy-flavour example tag created from its template, validated and shown.
# Freezing, submitting and running the jobs on the local backend join as they land.
set -euo pipefail
demo=$(mktemp -d "${TMPDIR:-/tmp}/shrek-demo.XXXXXX")
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-$(git config user.name || echo 'SHREK demo')}"
export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-$(git config user.email || echo 'demo@shrek.invalid')}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}"
export GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
cd "$demo"
step shrek init registry
cd registry
step shrek tag new --year 22 --build mdc2.7 --template hfprod
step shrek validate
step shrek tag list
step shrek tag show sP22a
step git log --oneline
printf '\nThe demo registry is in %s/registry\n' "$demo"
