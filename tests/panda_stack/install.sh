#!/bin/bash
# make install-panda-stack: what the real-PanDA tests need, and nothing in the project's .venv.
#  - PostgreSQL 15 with pg_cron and pg_partman, from Debian (as root; otherwise the tests say
#    in one skip line what is missing);
#  - panda-server 1.0.4 (which holds JEDI) and its run-time dependencies, pinned, in their own
#    environment (argument 1, default .venv-panda).
set -euo pipefail
VENV=$(realpath -m "${1:-.venv-panda}")
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
PACKAGES="postgresql-15 postgresql-15-cron postgresql-15-partman"

missing=""
for package in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing$missing from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q $missing >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
    # Debian starts a system cluster on install; the tests run their own
    pg_ctlcluster 15 main stop 2>/dev/null || true
  else
    echo "not root: cannot install$missing; the panda_server tests will be skipped" >&2
  fi
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt"
# As root panda-server's build hook looks up a user 'atlpan' unless it runs under another group.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  (cd /tmp && DISABLE_MM=1 setpriv --regid=65534 --clear-groups "$VENV/bin/python" -m pip install --quiet --no-deps panda-server==1.0.4)
else
  DISABLE_MM=1 "$VENV/bin/python" -m pip install --quiet --no-deps panda-server==1.0.4
fi
# PanDA's database schema (panda-database 0.1.6, not on PyPI), kept beside the environment:
# PANDA_DATABASE_DIR, else the shared copy beside this checkout (or beside the checkout it was
# cloned from, for a clone in a private directory), else a clone of the tag from GitHub.
SCHEMA="$VENV/panda-database-0.1.6"
ROOT=$(cd "$HERE/../.." && pwd)
ORIGIN=$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)
found=""
for candidate in "${PANDA_DATABASE_DIR:-}" "$ROOT/../shared/third_party/panda-database-0.1.6" \
                 "${ORIGIN:+$ORIGIN/../shared/third_party/panda-database-0.1.6}"; do
  if [ -n "$candidate" ] && [ -f "$candidate/schema/postgres/sqls/pg_PANDA_TABLE.sql" ]; then
    found=$candidate; break
  fi
done
if [ -n "$found" ]; then
  cp -r "$found" "$SCHEMA"
elif ! git clone -q --depth 1 --branch 0.1.6 https://github.com/PanDAWMS/panda-database "$SCHEMA" 2>/dev/null; then
  echo "panda-database 0.1.6 not found (set PANDA_DATABASE_DIR); the panda_server tests will say so" >&2
fi
touch "$VENV/.installed"
