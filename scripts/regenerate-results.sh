#!/bin/sh
# Regenerate docs/results.md: the leaderboard of the Beyond-Normal v1 grid (docs/grid.md).
# Resumable: run it again after a stop and it finishes what is missing. JOBS=N sets the
# number of worker processes (default 2); OUT the result store (default results/beyond-normal-v1).
set -eu
cd "$(dirname "$0")/.."
JOBS="${JOBS:-2}"
OUT="${OUT:-results/beyond-normal-v1}"
export OMP_NUM_THREADS=1
# Exit status 1 means some runs failed: they are in the leaderboard as failures. 2 is an error.
mibench run --grid grids/beyond-normal-v1.toml --jobs "$JOBS" --out "$OUT" --format csv > /dev/null || [ $? -eq 1 ]
mibench report "$OUT"
cp "$OUT/leaderboard.md" docs/results.md
echo "docs/results.md regenerated from $OUT"
