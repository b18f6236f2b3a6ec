#!/bin/sh
# Regenerate docs/results.md: the leaderboards of the Beyond-Normal grids (docs/grid.md), the
# classical estimators on v1 and v2 (grids/beyond-normal-classical.toml, 10 seeds) and the neural
# bounds (grids/beyond-normal-neural.toml, 10 seeds trained together), in one result store.
# Resumable: run it again after a stop and it finishes what is missing. JOBS=N sets the
# number of worker processes (default 2); OUT the result store (default data/beyond-normal, the
# store committed with the repository, which docs/results.md reports).
set -eu
cd "$(dirname "$0")/.."
JOBS="${JOBS:-2}"
OUT="${OUT:-data/beyond-normal}"
export OMP_NUM_THREADS=1
# Exit status 1 means some runs failed: they are in the leaderboard as failures. 2 is an error.
for grid in grids/beyond-normal-classical.toml grids/beyond-normal-neural.toml; do
    mibench run --grid "$grid" --jobs "$JOBS" --out "$OUT" --format csv > /dev/null || [ $? -eq 1 ]
done
mibench report "$OUT"
python scripts/splice_leaderboard.py "$OUT/leaderboard.md" docs/results.md
echo "docs/results.md: its leaderboard regenerated from $OUT (the text around it kept)"
