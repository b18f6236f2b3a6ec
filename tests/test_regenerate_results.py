"""scripts/regenerate-results.sh puts a fresh leaderboard into docs/results.md through
scripts/splice_leaderboard.py, which must keep the page's hand-written text around it (it used
to copy the leaderboard over the whole page, dropping the prose and the 0.3 sections)."""

from pathlib import Path

import pytest

from tests.repository_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
splice_leaderboard = load_script("splice_leaderboard")
START, END = splice_leaderboard.START, splice_leaderboard.END

PAGE = f"# Results\n\nHow they were made.\n\n{START}\n\nold table\n\n{END}\n\n# Measured otherwise\n\nkept\n"
LEADERBOARD = "# mibench leaderboard\n\n- mibench version: 9.9\n\n| new | table |\n"


def test_the_leaderboard_replaces_only_the_text_between_the_markers():
    spliced = splice_leaderboard.splice(LEADERBOARD, PAGE)
    assert spliced.startswith("# Results\n\nHow they were made.\n\n")
    assert spliced.endswith("# Measured otherwise\n\nkept\n")
    assert "old table" not in spliced
    assert "| new | table |" in spliced and "- mibench version: 9.9" in spliced
    assert "# mibench leaderboard" not in spliced  # the page keeps its own title
    assert splice_leaderboard.splice(LEADERBOARD, spliced) == spliced  # a rerun changes nothing


@pytest.mark.parametrize("page", [
    PAGE.replace(START, ""),
    PAGE.replace(END, ""),
    PAGE.replace(START, "@").replace(END, START).replace("@", END),
    PAGE + START,
])
def test_a_page_without_its_markers_in_order_is_refused_and_left_as_it_was(tmp_path, page, capsys):
    """The negative control: without both markers, once each and in order, nothing is written."""
    with pytest.raises(splice_leaderboard.SpliceError):
        splice_leaderboard.splice(LEADERBOARD, page)
    (tmp_path / "page.md").write_text(page)
    (tmp_path / "leaderboard.md").write_text(LEADERBOARD)
    assert splice_leaderboard.main([str(tmp_path / "leaderboard.md"), str(tmp_path / "page.md")]) == 2
    assert (tmp_path / "page.md").read_text() == page
    assert "splice_leaderboard:" in capsys.readouterr().err


def test_docs_results_has_the_markers_the_script_needs_and_keeps_its_other_sections():
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    spliced = splice_leaderboard.splice(LEADERBOARD, page)
    head, tail = page.split(START)[0], page.split(END)[1]
    assert spliced.startswith(head) and spliced.endswith(tail)
    assert "The published protocol" in head and "# The estimators added in 0.3" in tail
    script = (ROOT / "scripts" / "regenerate-results.sh").read_text()
    assert "splice_leaderboard.py" in script and "cp " not in script
