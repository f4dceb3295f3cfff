#!/bin/bash
# Stand-in for the 2022 pass-1 payload: one "events" file named as the job asks.
macro=$1 events=$2 flavor=$3 output=$4
echo "$macro $events $flavor job ${SHREK_SEQ:-?}" > "$output"
echo "generated $output"
