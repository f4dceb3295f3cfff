"""Stand-in for Pythia8 + Geant4: write N pseudo-events, reproducible from the seed."""

import argparse
import random

parser = argparse.ArgumentParser()
parser.add_argument("--events", type=int, required=True)
parser.add_argument("--type", required=True)
parser.add_argument("--seed", type=int, required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

rng = random.Random(args.seed)
with open(args.out, "w", encoding="utf-8") as out:
    out.write(f"# {args.type} signal, seed {args.seed}\n")
    for event in range(args.events):
        px, py, pz = (rng.gauss(0, 1.5) for _ in range(3))
        out.write(f"signal {args.seed}:{event} {px:.4f} {py:.4f} {pz:.4f}\n")
print(f"generated {args.events} {args.type} events with seed {args.seed} -> {args.out}")
