"""Time ``iasem.fit(..., bootstrap=B)`` with the refits batched (iasem/engine/batched.py) against one refit per draw.

Run from the repository root: ``PYTHONPATH=. python3 benchmarks/bootstrap_batched.py [draws] [repeats]``.
The model is Bollen's mediation model on the Political Democracy data (75 rows, 25 parameters), as in
tests/test_parity_bootstrap.py; the two paths must give the same standard errors (checked here to 1e-6).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import iasem
from iasem.engine import batched

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "lavaan"


def timed(syntax: str, data: pd.DataFrame, draws: int, *, enabled: bool, repeats: int, **kwargs):
    """Best wall time of ``repeats`` bootstrap fits, and the last result."""
    batched.ENABLED = enabled
    best, result = np.inf, None
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            result = iasem.fit(syntax, data, bootstrap=draws, seed=1, **kwargs)
            best = min(best, time.perf_counter() - start)
    finally:
        batched.ENABLED = True
    return best, result


def main(draws: int = 1000, repeats: int = 3) -> None:
    poldem = pd.read_csv(FIXTURES / "political_democracy.csv")
    hs39 = pd.read_csv(FIXTURES / "holzinger_swineford_1939.csv")
    mediation = json.loads((FIXTURES / "partable_poldem_mediation.json").read_text())["syntax"]
    hs39_cfa = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    cases = [
        ("PolDem mediation, ML", mediation, poldem, {}),
        ("PolDem mediation, GLS", mediation, poldem, {"estimator": "GLS"}),
        ("PolDem mediation, ULS", mediation, poldem, {"estimator": "ULS"}),
        ("HS39 CFA, ML", hs39_cfa, hs39, {}),
    ]
    print(f"{draws} bootstrap draws, best of {repeats}, whole iasem.fit call")
    for name, syntax, data, kwargs in cases:
        old_s, old = timed(syntax, data, draws, enabled=False, repeats=repeats, **kwargs)
        new_s, new = timed(syntax, data, draws, enabled=True, repeats=repeats, **kwargs)
        diff = float(np.max(np.abs(new.boot.to_numpy() - old.boot.to_numpy())))
        print(f"{name:24s} per draw {old_s:6.2f} s   batched {new_s:6.2f} s   x{old_s / new_s:4.1f}   "
              f"max |draw difference| {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
