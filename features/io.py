"""Writing a feature table to a file (the `discovery features` command uses this)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from graph.errors import UsageError


def write_table(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write `frame` as Parquet or CSV (chosen by the suffix), `uscc` first.

    Parquet keeps categoricals; CSV writes them as their text (empty when missing),
    floats at full precision, booleans as true/false.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise UsageError(f"Cannot write {path}: the file name must end in .parquet or .csv.")
    cols = (
        ["uscc", *[c for c in frame.columns if c != "uscc"]]
        if "uscc" in frame.columns
        else list(frame.columns)
    )
    out = frame[cols].reset_index(drop=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        out.to_parquet(path, index=False)
        return path
    text = {}
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype("str")
        elif pd.api.types.is_bool_dtype(series.dtype):
            series = series.map({True: "true", False: "false"})
        text[col] = series
    pd.DataFrame(text).to_csv(path, index=False, encoding="utf-8", float_format="%.17g")
    return path
