"""The one CSV writer of the app: UTF-8 with a BOM, CRLF line ends, formula cells neutralised.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return runs as a formula when a
spreadsheet opens the file (CSV injection, OWASP). Such a cell is written with a single quote in front,
which spreadsheets show as text. So that a round trip through the bank's CSV import stays exact, a cell
that already is quotes followed by one of those characters (``'=x``) gets one more quote, and
:func:`restore_cell` removes exactly one quote from any cell of that shape.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Iterable, Iterator

#: the characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISED = re.compile(r"'*[=+\-@\t\r]")
_RESTORABLE = re.compile(r"'+[=+\-@\t\r]")
BOM = "\ufeff"


def neutralise_cell(value: object) -> object:
    """The cell as written: text that a spreadsheet would run gets a leading ``'``; None becomes empty."""
    if value is None:
        return ""
    if isinstance(value, str) and _NEUTRALISED.match(value):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """Undo :func:`neutralise_cell` for a cell read back from one of our files."""
    return text[1:] if _RESTORABLE.match(text) else text


def _line(writer, out: io.StringIO, row: Iterable[object]) -> str:
    out.seek(0)
    out.truncate()
    writer.writerow([neutralise_cell(v) for v in row])
    return out.getvalue()


def csv_text(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """The whole file as text (starting with the BOM)."""
    return "".join(csv_lines(header, rows))


def csv_bytes(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """The whole file as UTF-8 bytes (BOM, comma-separated, CRLF line ends)."""
    return csv_text(header, rows).encode("utf-8")


def csv_lines(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The file line by line (header first, with the BOM), for streaming a large export."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    yield BOM + _line(writer, out, header)
    for row in rows:
        yield _line(writer, out, row)


def csv_chunks(header: list[str], rows: Iterable[Iterable[object]], chunk: int = 2000) -> Iterator[bytes]:
    """The file as UTF-8 byte chunks of about ``chunk`` rows each, for a streamed response."""
    buffer: list[str] = []
    for n, line in enumerate(csv_lines(header, rows)):
        buffer.append(line)
        if n % chunk == 0:
            yield "".join(buffer).encode("utf-8")
            buffer = []
    if buffer:
        yield "".join(buffer).encode("utf-8")
