#!/bin/bash
# Stand-in for the 2022 pass-2 payload: signal and background files, concatenated.
macro=$1 events=$2 signal=$3 output=$4
shift 4
cat "$signal" "$@" > "$output"
