"""Stand-in for the pile-up merge: one signal file plus background files into one file."""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--signal", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("background", nargs="+")
args = parser.parse_args()

lines = 0
with open(args.out, "w", encoding="utf-8") as out:
    for path in [args.signal, *args.background]:
        with open(path, encoding="utf-8") as source:
            for line in source:
                if not line.startswith("#"):
                    out.write(line)
                    lines += 1
print(f"merged {args.signal} with {len(args.background)} background file(s): {lines} events")
