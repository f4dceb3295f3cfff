#!/usr/bin/env bash
# `make dist`'s last check: the wheel in DIST, installed into a fresh environment (outside this
# checkout), carries its templates, schemas and defaults and runs the demo by itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dist=$(cd "${1:?usage: check_dist.sh DIST_DIR}" && pwd)
wheel=$(ls "$dist"/sphenix_shrek-*.whl)
python=${PYTHON:-python3}
for inside in shrek/templates/demo/ shrek/schemas/tag.schema.json shrek/defaults/shrek.yaml \
              shrek/defaults/github-workflow.yml; do
  "$python" - "$wheel" "$inside" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
if not any(n.startswith(sys.argv[2]) for n in names):
    sys.exit(f"{sys.argv[1]} lacks {sys.argv[2]}")
PY
done
scratch=$(mktemp -d "${TMPDIR:-/tmp}/shrek-dist.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --upgrade pip
"$scratch/venv/bin/python" -m pip install --quiet "$wheel"
cd "$scratch"  # nowhere near the checkout: the installed SHREK, nothing else
PATH="$scratch/venv/bin:$PATH" shrek --version
PATH="$scratch/venv/bin:$PATH" TMPDIR="$scratch" bash "$here/demo.sh"
echo "dist: $(basename "$wheel") installs and runs the demo"
