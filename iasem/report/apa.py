"""Numbers as APA 7 prints them (Publication Manual, 7th ed., sections 6.36 and 6.41).

- two decimals by default; statistics that cannot exceed 1 in absolute value (correlations, proportions,
  p values, standardized loadings in most tables) without a leading zero;
- p values exact to three decimals, below .001 as "< .001";
- confidence intervals in brackets, "[0.12, 0.34]";
- a minus sign, not a hyphen.
"""

from __future__ import annotations

import math

MINUS = "\u2212"


def _float(value: object) -> float | None:
    """The value as a float, None when it is missing or not a number."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def number(value: object, decimals: int = 2, *, leading_zero: bool = True) -> str:
    """A number with ``decimals`` decimals, a true minus sign, and (optionally) no leading zero; "" when
    missing.

    >>> number(0.4567), number(-0.4567, leading_zero=False), number(12.3, 1), number(float("nan"))
    ('0.46', '−.46', '12.3', '')
    """
    x = _float(value)
    if x is None:
        return "" if value is None or isinstance(value, float) or not str(value).strip() else str(value)
    text = f"{x:.{decimals}f}"
    if text.lstrip("-") == f"{0:.{decimals}f}":
        text = text.lstrip("-")  # no "-0.00"
    if not leading_zero and abs(x) < 1:
        text = text.replace("0.", ".", 1)
    return text.replace("-", MINUS)


def p_value(p: object) -> str:
    """APA's p: three decimals without a leading zero, "< .001" below .001.

    >>> p_value(0.0312), p_value(0.00002), p_value(1.0)
    ('.031', '< .001', '1.000')
    """
    x = _float(p)
    if x is None:
        return ""
    return "< .001" if x < 0.001 else number(x, 3, leading_zero=False)


def interval(lower: object, upper: object, decimals: int = 2, *, leading_zero: bool = True) -> str:
    """A confidence interval as "[lower, upper]".

    >>> interval(0.1234, 0.5)
    '[0.12, 0.50]'
    """
    low, high = number(lower, decimals, leading_zero=leading_zero), number(upper, decimals, leading_zero=leading_zero)
    return f"[{low}, {high}]" if low and high else ""


def stars(p: object) -> str:
    """Significance stars: * p < .05, ** p < .01, *** p < .001.

    >>> stars(0.03), stars(0.0004), stars(0.2)
    ('*', '***', '')
    """
    x = _float(p)
    if x is None:
        return ""
    return "***" if x < 0.001 else "**" if x < 0.01 else "*" if x < 0.05 else ""
