"""Put a fresh ``mibench report`` leaderboard into a hand-written page, keeping the page's own
text: everything before the start marker (the title and the prose that says how the results
were made) and after the end marker (sections measured otherwise) stays as it is.

    python scripts/splice_leaderboard.py data/beyond-normal/leaderboard.md docs/results.md

Exit status 2, with one line naming the problem, when a marker is missing or out of order:
then nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

START = "<!-- generated: mibench report's leaderboard.md, replaced by scripts/regenerate-results.sh -->"
END = "<!-- end of the generated leaderboard -->"


class SpliceError(ValueError):
    """The page lacks a marker, or has them out of order."""


def splice(leaderboard: str, page: str) -> str:
    """``page`` with the text between its markers replaced by ``leaderboard`` less its title
    (the page has its own)."""
    if page.count(START) != 1 or page.count(END) != 1:
        raise SpliceError(f"the page needs each marker once: {START!r} and {END!r}")
    head, rest = page.split(START)
    if END not in rest:
        raise SpliceError("the end marker comes before the start marker")
    _, tail = rest.split(END)
    lines = leaderboard.splitlines()
    body = "\n".join(lines[1:] if lines and lines[0].startswith("# ") else lines).strip("\n")
    return f"{head}{START}\n\n{body}\n\n{END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: splice_leaderboard.py LEADERBOARD.md PAGE.md", file=sys.stderr)
        return 2
    leaderboard, page = (Path(a) for a in argv)
    try:
        text = splice(leaderboard.read_text(encoding="utf-8"), page.read_text(encoding="utf-8"))
    except (OSError, SpliceError) as error:
        print(f"splice_leaderboard: {page}: {error}", file=sys.stderr)
        return 2
    page.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
