"""The plain tables the command line prints."""

from __future__ import annotations

from collections.abc import Sequence


def print_table(headings: Sequence[str], rows: Sequence[Sequence[str | int]]) -> None:
    """Columns two spaces apart; numbers to the right, text to the left."""
    cells = [list(headings)] + [[str(value) for value in row] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headings))]
    numeric = [
        bool(rows) and all(isinstance(row[i], int) for row in rows)
        for i in range(len(headings))
    ]
    for line in cells:
        padded = [
            text.rjust(width) if right else text.ljust(width)
            for text, width, right in zip(line, widths, numeric, strict=True)
        ]
        print("  ".join(padded).rstrip())
