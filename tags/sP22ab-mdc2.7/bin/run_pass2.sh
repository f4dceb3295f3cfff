#!/usr/bin/env bash
# sPHENIX MDC2 heavy-flavour pass2: merge one signal file with minimum-bias background files.
# usage: run_pass2.sh <runnumber> <sequence> <signal file> <background file>...
set -euo pipefail
runnumber=$1 sequence=$2 signal=$3
shift 3
background=$(IFS=,; echo "$*")
output=$(printf 'G4Hits_pileup_%010d-%05d.root' "$runnumber" "$sequence")
echo "pass2: ${signal} + $# background file(s) -> ${output}"
root.exe -q -b "macros/Fun4All_G4_Pileup_pp.C(\"${signal}\", \"${background}\", \"${output}\")"
test -s "$output"
