"""The rules of thumb behind every verdict in a measurement report, each with its source, and changeable.

A verdict is only as good as its cutoff, and cutoffs are conventions, not laws: each one here names the
publication it comes from, so a report can cite it, and :class:`Cutoffs` takes other values where a field or a
journal asks for them (``Cutoffs(rmsea=0.08)``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..errors import IasemError

SOURCES = {
    "alpha": "Nunnally, J. C. (1978). Psychometric theory (2nd ed.). McGraw-Hill.",
    "omega": "McDonald, R. P. (1999). Test theory: A unified treatment. Erlbaum; with Nunnally's (1978) .70.",
    "cr": "Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable variables "
    "and measurement error. Journal of Marketing Research, 18(1), 39-50.",
    "ave": "Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable "
    "variables and measurement error. Journal of Marketing Research, 18(1), 39-50.",
    "htmt": "Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing discriminant "
    "validity in variance-based structural equation modeling. Journal of the Academy of Marketing Science, "
    "43(1), 115-135.",
    "cfi": "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis. "
    "Structural Equation Modeling, 6(1), 1-55.",
    "tli": "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis. "
    "Structural Equation Modeling, 6(1), 1-55.",
    "rmsea": "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis. "
    "Structural Equation Modeling, 6(1), 1-55.",
    "srmr": "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis. "
    "Structural Equation Modeling, 6(1), 1-55.",
    "invariance": "Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. "
    "Structural Equation Modeling, 14(3), 464-504.",
}


@dataclass(frozen=True)
class Cutoffs:
    """Thresholds for the verdicts; the defaults are the sources' (see :data:`SOURCES`).

    Invariance (Chen, 2007, for N > 300): a step fails when CFI drops by more than ``delta_cfi`` together with
    RMSEA rising by more than ``delta_rmsea`` or SRMR by more than ``delta_srmr_metric`` (loadings) /
    ``delta_srmr_scalar`` (intercepts, residuals, thresholds).
    """

    alpha: float = 0.70
    omega: float = 0.70
    cr: float = 0.70
    ave: float = 0.50
    htmt: float = 0.85
    cfi: float = 0.95
    tli: float = 0.95
    rmsea: float = 0.06
    srmr: float = 0.08
    delta_cfi: float = 0.010
    delta_rmsea: float = 0.015
    delta_srmr_metric: float = 0.030
    delta_srmr_scalar: float = 0.010

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise IasemError(f"cutoff {f.name} must be a number between 0 and 1, not {value!r}")

    def with_(self, **changes: float) -> Cutoffs:
        """A copy with some cutoffs changed; unknown names are refused."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            known = ", ".join(f.name for f in fields(self))
            raise IasemError(f"unknown cutoff(s) {', '.join(unknown)}; known: {known}")
        return replace(self, **changes)


def as_cutoffs(cutoffs: Cutoffs | dict[str, float] | None) -> Cutoffs:
    """``None`` -> the defaults; a dict -> the defaults with those changed."""
    if cutoffs is None:
        return Cutoffs()
    if isinstance(cutoffs, Cutoffs):
        return cutoffs
    if isinstance(cutoffs, dict):
        return Cutoffs().with_(**cutoffs)
    raise IasemError(f"cutoffs must be a Cutoffs or a dict, not {type(cutoffs).__name__}")
