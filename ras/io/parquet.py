"""Sheets longer than Excel allows, as Parquet files (``ras score --overflow parquet``).

Columns are typed from the sheet's schema: text as strings, money as exact decimals to
the penny, points as exact decimals. Rows are written in row groups as they come, so a
table of any length is never held whole. Needs pyarrow (``pip install 'ras[parquet]'``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.errors import OutputError, UsageError

#: Rows in each row group (and held at a time).
ROW_GROUP = 65_536
#: Decimal columns: money to the penny, points to 10 places.
MONEY = (18, 2)
POINTS = (28, 10)


def require_pyarrow() -> None:
    """Fail with a usage error naming the fix when pyarrow is not installed."""
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "--overflow parquet needs pyarrow: pip install 'ras[parquet]' (or use csv)"
        ) from exc


def write_parquet(
    path: Path, headers: Sequence[str], kinds: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write ``rows`` to ``path`` (a temporary file the caller commits), typed by ``kinds``.

    ``kinds`` are the schema's column types: ``money`` and ``points`` become decimals,
    anything else text.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = []
    for kind in kinds:
        if kind == "money":
            types.append(pa.decimal128(*MONEY))
        elif kind == "points":
            types.append(pa.decimal128(*POINTS))
        else:
            types.append(pa.string())
    schema = pa.schema([pa.field(h, t) for h, t in zip(headers, types, strict=True)])
    it = iter(rows)
    with pq.ParquetWriter(str(path), schema) as writer:
        while True:
            block = list(itertools.islice(it, ROW_GROUP))
            if not block:
                break
            columns = []
            for c, (kind, t) in enumerate(zip(kinds, types, strict=True)):
                values = [_value(row[c] if c < len(row) else None, kind) for row in block]
                try:
                    columns.append(pa.array(values, type=t))
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise OutputError(
                        f"{path}: column {headers[c]!r} cannot be written to Parquet ({exc}); "
                        "use --overflow csv"
                    ) from exc
            writer.write_batch(pa.record_batch(columns, schema=schema))


def _value(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return None
    if kind in ("money", "points"):
        return value if isinstance(value, Decimal) else Decimal(str(value))
    return value if isinstance(value, str) else str(value)


def read_parquet(path: Path) -> list[list[Any]]:
    """A Parquet sheet's header and rows (as ``csv`` would give them: text)."""
    require_pyarrow()
    import pyarrow.parquet as pq

    table = pq.read_table(str(path))
    columns = [[None if v is None else str(v) for v in col.to_pylist()] for col in table.columns]
    return [list(table.column_names), *(list(r) for r in zip(*columns, strict=True))]
