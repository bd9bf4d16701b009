"""The Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

python-stdnum is the reference and gives the reasons; the bulk check is the same
arithmetic vectorized with numpy, because a province's link tables hold tens of
millions of codes and a Python call per code would dominate loading.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from graph import keys

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_PATTERN = r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}"

_INDEX = np.full(128, -1, dtype=np.int64)
for _i, _ch in enumerate(ALPHABET):
    _INDEX[ord(_ch)] = _i


def check_digits(bodies: np.ndarray) -> np.ndarray:
    """Check characters for an array of 17-character code bodies (alphabet already valid)."""
    raw = np.frombuffer("".join(bodies.tolist()).encode("ascii"), dtype=np.uint8)
    idx = _INDEX[raw.reshape(len(bodies), 17)]
    total = idx @ WEIGHTS
    return np.array(list(ALPHABET), dtype="<U1")[(31 - total % 31) % 31]


def valid_mask(codes: pd.Series, coded: keys.Coded | None = None) -> np.ndarray:
    """True where the value is an upper-case 18-character code with a valid check digit.

    Link tables repeat each code many times, so the distinct codes are checked once and
    the verdicts spread back through their positions (`coded`: the column already
    encoded by `graph.keys.code`, else encoded here).
    """
    coded = coded if coded is not None else keys.code(codes)
    uniques = coded.uniques
    ok_unique = np.zeros(len(uniques) + 1, dtype=bool)  # the last slot answers missing (-1)
    if len(uniques):
        shaped = pc.match_substring_regex(uniques, f"^{_PATTERN}$").fill_null(False)
        cand = uniques.filter(shaped)
        if len(cand):
            bodies = pc.utf8_slice_codeunits(cand, 0, 17).to_numpy(zero_copy_only=False)
            last = pc.utf8_slice_codeunits(cand, 17, 18).to_numpy(zero_copy_only=False)
            verdict = check_digits(bodies) == last.astype(str)
            ok_unique[np.flatnonzero(shaped.to_numpy(zero_copy_only=False))] = verdict
    return ok_unique[coded.positions]


def reason(code: str) -> str:
    """Why `code` is not a valid credit code, in words (from python-stdnum's verdict)."""
    if code != code.strip() or code != code.upper():
        return "credit code must be 18 upper-case characters without spaces (信用代码格式错误)"
    try:
        stdnum_uscc.validate(code)
    except InvalidLength:
        return f"credit code has {len(code)} characters, not 18 (信用代码长度错误)"
    except InvalidChecksum:
        return "credit code check digit is wrong (信用代码校验位错误)"
    except InvalidFormat:
        return "credit code contains characters not allowed by GB 32100 (信用代码含非法字符)"
    except ValidationError as exc:  # pragma: no cover - stdnum may add kinds
        return f"invalid credit code: {exc}"
    return "valid"


def make_codes(bodies: np.ndarray) -> np.ndarray:
    """Complete 17-character bodies into valid codes (for generators and tests)."""
    return np.char.add(bodies.astype(str), check_digits(bodies.astype(str)))
