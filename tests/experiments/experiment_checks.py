"""Checks every experiment's output directory must pass (records.csv, summary.md, PNGs)."""

import csv
from pathlib import Path

from mibench.experiments.output import REQUIRED_COLUMNS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_records(output_dir: Path) -> list[dict[str, str]]:
    with open(output_dir / "records.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def check_output_files(output_dir: Path, result, swept: str, figures: int) -> list[dict[str, str]]:
    """records.csv with the required columns and ``swept``; summary.md; ``figures`` PNGs."""
    rows = read_records(output_dir)
    assert len(rows) == len(result.rows) > 0
    assert set(REQUIRED_COLUMNS) | {swept} <= set(rows[0])
    assert all(row["estimator"] for row in rows)
    summary = (output_dir / "summary.md").read_text()
    assert result.claim and result.claim in summary
    for verdict in result.verdicts:
        assert verdict.name.replace("|", "\\|") in summary
    assert "`quick`: `true`" in summary
    pngs = sorted(output_dir.glob("*.png"))
    assert len(pngs) == figures == len(result.figures)
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 20_000
    return rows


def verdict(result, prefix: str):
    (found,) = [v for v in result.verdicts if v.name.startswith(prefix)]
    return found
