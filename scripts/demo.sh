#!/usr/bin/env bash
# The main job (`make demo`): the whole SHREK cycle on this machine, from nothing.
# A fresh registry in a temporary directory; the two-step demo production (pass1 generates
# event files, pass2 merges each with background files registered in the local catalogue);
# tag new, validate, freeze, submit both steps on the local backend, status and log; then
# where a merged file comes from (provenance --tree) and one job run again (reproduce).
set -euo pipefail
demo=$(mktemp -d "${TMPDIR:-/tmp}/shrek-demo.XXXXXX")
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-$(git config user.name || echo 'SHREK demo')}"
export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-$(git config user.email || echo 'demo@shrek.invalid')}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}"
export GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

cd "$demo"
mkdir background
for n in 1 2 3 4 5 6; do
  python3 - "$n" > "background/minbias_$n.txt" <<'PY'
import random, sys
n = int(sys.argv[1]); rng = random.Random(1000 + n)
print(f"# minimum-bias background file {n}")
for k in range(20):
    print(f"minbias {n}:{k} {rng.gauss(0, 0.5):.4f} {rng.gauss(0, 0.5):.4f} {rng.gauss(0, 2):.4f}")
PY
done

step shrek init registry
cd registry
step shrek tag new --year 22 --build local --template demo --title "SHREK demo production"
step shrek validate
step shrek dataset add demo.minbias.background ../background/minbias_*.txt
step shrek freeze sP22a
step shrek submit sP22a/demo-pass1
step shrek submit sP22a/demo-pass2
step shrek status
step shrek log sP22a
step shrek dataset list
merged=$(ls .shrek/store/prod.sP22a-local.demo-pass2.merged.s0001/* | head -1)
step shrek provenance "$merged" --tree
step shrek reproduce sP22a/demo-pass2 --job 5

store=$(pwd)/.shrek/store
printf '\nThe demo registry:  %s\n' "$(pwd)"
printf 'Records (in git):   %s\n' "$(pwd)/tags/sP22a-local/submissions"
printf 'Outputs:            %s\n' "$store"
printf 'A merged file:      %s\n' "$(ls "$store"/prod.sP22a-local.demo-pass2.merged.s0001/* | head -1)"
