#!/usr/bin/env bash
# sPHENIX MDC2 heavy-flavour pass1: Pythia8 event generation + Geant4 detector simulation.
# usage: run_hfprod.sh <nevents> <type> <jobname> <runnumber> <sequence>
set -euo pipefail
nevents=$1 type=$2 jobname=$3 runnumber=$4 sequence=$5
output=$(printf 'G4Hits_%s_%s-%010d-%05d.root' "$jobname" "$type" "$runnumber" "$sequence")
echo "pass1: ${nevents} ${type} event(s), run ${runnumber}, sequence ${sequence} -> ${output}"
root.exe -q -b "macros/Fun4All_G4_HF_pp_signal.C(${nevents}, \"${type}\", \"${output}\", ${sequence})"
test -s "$output"
