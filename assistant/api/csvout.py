"""CSV downloads that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from fastapi.responses import Response

# A cell starting with one of these is run as a formula by Excel, WPS and LibreOffice
# (=HYPERLINK(...), +1+cmd|...); a leading apostrophe makes it text (OWASP's advice).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")  # +8613800001111 is data, not a formula


def safe_cell(value: Any) -> Any:
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.match(value)
    ):
        return "'" + value
    return value


def csv_response(rows: Iterable[dict[str, Any]], fields: list[str], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(row.get(k, "")) for k in fields})
    return Response(
        "\ufeff" + out.getvalue(),  # BOM: Excel opens Chinese text correctly
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with `format=csv` a CSV file (UTF-8 with BOM; cells that "
        "a spreadsheet would run as a formula are escaped).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
