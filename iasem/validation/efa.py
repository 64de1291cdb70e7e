"""Exploratory factor analysis with psych's numbers: sampling adequacy, parallel analysis, extraction, rotation.

:func:`efa` answers the questions asked of a new instrument before a confirmatory model is written: are the items
fit for factoring at all (Kaiser's KMO, Bartlett's test of sphericity), how many factors do they hold (Horn's
parallel analysis), and which items go with which factor (the rotated loadings, communalities, explained
variance and, for oblique rotations, the factor correlations).

Every number is R's ``psych`` (Revelle, version 2.2.9 with GPArotation 2022.10.2): ``KMO``,
``cortest.bartlett``, ``fa.parallel``, ``fa(fm = "minres" | "ml")`` and ``principal``, with psych's column
order and signs, so the tables compare directly with psych's output (``tests/test_efa.py``).

How psych's numbers are reached, and what ``factor_analyzer`` (0.5.1) does differently
----------------------------------------------------------------------------------------
* **Rotation** is factor_analyzer's :class:`~factor_analyzer.rotator.Rotator`, which reproduces
  ``GPArotation::oblimin`` (Jennrich's 2002 gradient projection algorithm, quartimin criterion), ``stats::varimax``
  and psych's Kaiser-normalised promax to rounding error when given the same unrotated loadings, provided it
  runs GPArotation's 1000 iterations (its default is 500).
* **Extraction** is this module's: ``FactorAnalyzer.fit`` stops with a TypeError on scikit-learn 1.8 and later
  (it passes ``check_array`` the removed ``force_all_finite`` argument), minimises with finite-difference
  gradients and scipy's default L-BFGS-B tolerances (its loadings differ from psych's by about 5e-6 on HS39, an
  optimiser artefact on either side), and its ``svd_method="lapack"`` principal components are not truncated
  to ``n_factors``. Here the uniquenesses are found from psych's starting values (1 - SMC) and bounds
  ([0.005, 1]) with the analytic gradients psych uses, to a projected gradient below 1e-8 (psych's own
  ``optim`` call stops near 1e-5); the loadings follow from them exactly as in psych (``FAout.wls`` for
  minres, ``FAout`` for ML).
* **Column order, signs and Phi** follow psych; ``FactorAnalyzer.fit`` gets them wrong for oblique rotations:
  it sorts the factors by the column sums of squared pattern loadings instead of psych's ``diag(Phi L'L)``,
  does not permute ``phi_`` along with the loadings (on HS39 with oblimin its Phi belongs to another column
  order), and its ``get_communalities()`` sums squared *pattern* loadings, which is not the communality of an
  oblique solution (``diag(L Phi L')``; off by 0.1 on HS39).
* **Oblimin's gamma**: Rotator's oblimin criterion is wrong for gamma != 0 (on HS39 its gamma = 0.5 loadings are
  0.8 away from GPArotation's), so only psych's default gamma = 0 (quartimin) is offered.
* **Parallel analysis** is this module's (factor_analyzer has none), by psych's ``fa.parallel`` rules. One-factor
  minres fits of random data can have several local minima, and psych's optimiser and ours sometimes settle in
  different ones (4 of 300 random 301 x 9 data sets); the simulated eigenvalues agree in distribution.

References
----------
Bartlett, M. S. (1950). Tests of significance in factor analysis. British Journal of Psychology (Statistical
Section), 3(2), 77-85.

Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software for arbitrary rotation
criteria in factor analysis. Educational and Psychological Measurement, 65(5), 676-696.

Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres). Psychometrika, 31(3),
351-368.

Hendrickson, A. E., & White, P. O. (1964). Promax: A quick method for rotation to oblique simple structure.
British Journal of Statistical Psychology, 17(1), 65-70.

Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis. Psychometrika, 30(2),
179-185.

Jennrich, R. I. (2002). A simple general method for oblique rotation. Psychometrika, 67(1), 7-19.

Jöreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis. Psychometrika, 32(4),
443-482.

Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis. Psychometrika, 23(3),
187-200.

Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39(1), 31-36.

Ledermann, W. (1937). On the rank of the reduced correlational matrix in multiple-factor analysis.
Psychometrika, 2(2), 85-93.

Revelle, W. (2022). psych: Procedures for psychological, psychometric, and personality research (R package
version 2.2.9). Northwestern University.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from factor_analyzer.rotator import Rotator
from scipy import optimize, stats

from ..errors import IasemError

try:  # scikit-learn's dependency, so factor_analyzer's; optional here
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

ROTATIONS = ("oblimin", "promax", "varimax", "none")
METHODS = ("minres", "ml", "principal")
PARALLEL_DATA = ("simulate", "resample")
OBLIQUE = frozenset({"oblimin", "promax"})
VARIANCE_ROWS = ("SS loadings", "Proportion Var", "Cumulative Var", "Proportion Explained", "Cumulative Proportion")

# psych's bounds on the uniquenesses (fa's optim call: lower = .005, upper = max(SMC, 1) = 1 for correlations).
PSI_LOWER = 0.005
PSI_UPPER = 1.0
# GPArotation's and stats::varimax's iteration limits and GPArotation's convergence criterion.
ROTATION_MAX_ITER = 1000
GPA_EPS = 1e-5
# The extraction is converged when the projected gradient of the fit function is below this.
GRADIENT_TOL = 1e-8


@dataclass(frozen=True)
class ParallelAnalysis:
    """Horn's parallel analysis, by psych's ``fa.parallel`` rules.

    Attributes
    ----------
    eigenvalues : DataFrame
        One row per factor (or component) number 1..p: ``observed`` (the eigenvalues of the data's reduced
        correlation matrix, or of the correlation matrix itself for components), ``simulated_mean`` and
        ``simulated_quantile`` (the mean and the ``quantile`` of the same eigenvalues over ``n_iter`` random
        data sets of the data's size; NaN when ``quantile`` is None).
    suggested : int
        The number of leading observed eigenvalues that exceed the simulated threshold (the quantile, or the
        mean when ``quantile`` is None): psych's ``nfact`` (factors) or ``ncomp`` (components).
    kind : {"factors", "components"}
        Factors compare reduced correlation matrices (psych's ``fa = "fa"``); components (method "principal")
        compare the correlation matrices themselves (``fa = "pc"``).
    data : {"simulate", "resample"}
        Random data: independent standard normal columns (psych's ``sim = TRUE``), or every column resampled
        with replacement on its own, which keeps the items' distributions and breaks their correlations.
    smc : bool
        The reduced matrix has squared multiple correlations on its diagonal (psych's ``SMC = TRUE``), or the
        communalities of a one-factor minres fit (``SMC = FALSE``, psych's default).
    seed : int
        The seed of the random data; pass it back as ``seed=`` to repeat the analysis exactly.
    """

    eigenvalues: pd.DataFrame
    suggested: int
    n_iter: int
    quantile: float | None
    kind: Literal["factors", "components"]
    data: Literal["simulate", "resample"]
    smc: bool
    seed: int


@dataclass
class EFAResult:
    """The result of :func:`efa`.

    Attributes
    ----------
    loadings : DataFrame
        Items x factors; for an oblique rotation the pattern matrix. Columns in psych's order (decreasing
        variance accounted for) with psych's signs (every column sums to a positive number), named as psych
        names them (MR = minres, ML = maximum likelihood, PC/RC/TC = unrotated/orthogonally/obliquely rotated
        components) but numbered in that final order.
    communalities : DataFrame
        Per item ``h2`` (the communality, diag(L Phi L') = diag(L L') of the unrotated solution) and ``u2``
        (the uniqueness, 1 - h2), as psych's ``communality`` and ``uniquenesses``.
    variance : DataFrame
        psych's ``Vaccounted``: rows "SS loadings" (colSums(L^2), or diag(Phi L'L) for oblique rotations),
        "Proportion Var" (SS / number of items), "Cumulative Var", "Proportion Explained" (SS / total SS) and
        "Cumulative Proportion"; one column per factor.
    phi : DataFrame or None
        The factor correlations of an oblique rotation (oblimin, promax) with two or more factors; None
        otherwise.
    kmo : Series
        Kaiser's measure of sampling adequacy per item and, last, ``"overall"``.
    bartlett : Series
        Bartlett's test of sphericity: ``chisq``, ``df``, ``pvalue``.
    parallel : ParallelAnalysis
        Horn's parallel analysis; its ``suggested`` number of factors is fitted when ``n_factors`` is None.
    n_factors : int
        The number of factors fitted.
    method, rotation : str
        As passed, in lower case (``"none"`` for an unrotated solution).
    n_obs, dropped : int
        The rows used, and the rows left out because an item was missing (listwise deletion).
    converged : bool
        Whether the extraction and the rotation converged; if not, ``warnings`` says which.
    warnings : list of str
        Non-convergence, Heywood cases, and a suggested number of factors that could not be fitted.
    """

    loadings: pd.DataFrame
    communalities: pd.DataFrame
    variance: pd.DataFrame
    phi: pd.DataFrame | None
    kmo: pd.Series
    bartlett: pd.Series
    parallel: ParallelAnalysis
    n_factors: int
    method: str
    rotation: str
    n_obs: int
    dropped: int
    converged: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def uniquenesses(self) -> pd.Series:
        """The uniquenesses u2 = 1 - h2, per item."""
        return self.communalities["u2"]

    @property
    def structure(self) -> pd.DataFrame:
        """The structure matrix L Phi (item-factor correlations); the loadings themselves when orthogonal."""
        if self.phi is None:
            return self.loadings.copy()
        return self.loadings @ self.phi

    def summary(self, digits: int = 3) -> str:
        """A plain-text report: adequacy, parallel analysis, loadings with h2/u2, variance and Phi."""
        fmt = f"{{:.{digits}f}}".format
        what = "components" if self.method == "principal" else "factors"
        rotation = "unrotated" if self.rotation == "none" or self.n_factors < 2 else f"{self.rotation} rotation"
        pa = self.parallel
        rule = "mean" if pa.quantile is None else f"{pa.quantile:.0%} quantile"
        pvalue = "p < .001" if self.bartlett["pvalue"] < 0.001 else f"p = {self.bartlett['pvalue']:.3f}"
        lines = [
            f"Exploratory factor analysis: {self.method}, {rotation}, {self.n_factors} {what}",
            f"{self.n_obs} rows used ({self.dropped} dropped for missing values), {len(self.loadings)} items",
            "",
            f"Sampling adequacy (Kaiser's KMO): overall {fmt(self.kmo['overall'])}; lowest item "
            f"{self.kmo.drop('overall').idxmin()} {fmt(self.kmo.drop('overall').min())}",
            f"Bartlett's test of sphericity: chi-square = {self.bartlett['chisq']:.2f}, "
            f"df = {int(self.bartlett['df'])}, {pvalue}",
            f"Parallel analysis ({pa.n_iter} {pa.data}d data sets, {rule}, seed {pa.seed}): {pa.suggested} {pa.kind}",
            "",
            "Loadings" + (" (pattern matrix)" if self.phi is not None else ""),
            self.loadings.join(self.communalities).to_string(float_format=fmt),
            "",
            self.variance.to_string(float_format=fmt),
        ]
        if self.phi is not None:
            lines += ["", "Factor correlations", self.phi.to_string(float_format=fmt)]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"EFAResult(method={self.method!r}, rotation={self.rotation!r}, n_factors={self.n_factors}, "
                f"n_obs={self.n_obs}, dropped={self.dropped}, converged={self.converged})")  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------------------------
def efa(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    n_factors: int | None = None,
    rotation: str | None = "oblimin",
    method: str = "minres",
    parallel_iter: int = 20,
    parallel_quantile: float | None = 0.95,
    parallel_data: str = "simulate",
    parallel_smc: bool = False,
    seed: int | None = None,
) -> EFAResult:
    r"""Exploratory factor analysis of ``items``, with psych's numbers.

    Parameters
    ----------
    data : DataFrame
        One row per respondent. Rows with a missing value on any of ``items`` are left out (listwise deletion;
        their number is ``result.dropped``).
    items : list of str
        The columns to analyse: numeric (or boolean), at least three, none constant.
    n_factors : int, optional
        The number of factors. None (the default) fits the number that parallel analysis suggests. At most the
        Ledermann (1937) bound, the largest k with (p - k)^2 >= p + k for p items (beyond it a factor model has
        more parameters than correlations), or p for principal components.
    rotation : {"oblimin", "promax", "varimax", "none"}
        ``"oblimin"`` (psych's default): GPArotation's oblimin with gamma = 0 (quartimin), found by Jennrich's
        (2002) gradient projection algorithm from the identity, without Kaiser normalisation. ``"promax"``:
        varimax followed by Hendrickson & White's (1964) power-4 target, on Kaiser-normalised loadings as
        psych's ``fa`` (``kaiser(rotate = "Promax")``); for principal components, as psych's ``principal``,
        ``stats::promax`` on the loadings themselves. ``"varimax"``: ``stats::varimax`` with Kaiser
        normalisation (Kaiser, 1958). ``"none"`` (or None): the unrotated solution.
    method : {"minres", "ml", "principal"}
        ``"minres"`` (Harman & Jones, 1966): the uniquenesses Psi minimise the unweighted least-squares
        residual, :math:`F(\Psi) = \tfrac12 \sum_{j>k} \lambda_j(R - \Psi)^2`, whose gradient is
        :math:`\operatorname{diag}(LL') + \Psi - 1`; the loadings are :math:`L = V_k \Lambda_k^{1/2}` of
        :math:`R - \Psi`. ``"ml"`` (Jöreskog, 1967): Psi minimise
        :math:`-\sum_{j>k} (\log e_j - e_j) - k + p` over the eigenvalues :math:`e_j` of
        :math:`\Psi^{-1/2} R \Psi^{-1/2}`, and :math:`L = \Psi^{1/2} V_k (E_k - I)^{1/2}`. Both as psych's
        ``fa``, from Psi = 1 - SMC within [0.005, 1]. ``"principal"``: principal components,
        :math:`L = V_k \Lambda_k^{1/2}` of R, as psych's ``principal``.
    parallel_iter : int
        Random data sets in the parallel analysis (psych's ``n.iter``, default 20).
    parallel_quantile : float or None
        The threshold an observed eigenvalue must exceed: this quantile of the simulated ones (psych's
        ``quant = .95``, R's type-7 quantile), or their mean (Horn's original rule) when None.
    parallel_data : {"simulate", "resample"}
        Normal random data (psych's default) or the items' own values resampled column by column.
    parallel_smc : bool
        Put squared multiple correlations on the diagonal of the reduced matrices instead of the
        communalities of one-factor minres fits (psych's ``SMC``; default False, as psych).
    seed : int, optional
        Seed of the parallel analysis's random data. None draws one; it is kept in ``result.parallel.seed``.

    Returns
    -------
    EFAResult

    Notes
    -----
    With R the Pearson correlation matrix of the complete rows, p items and n rows:

    * Kaiser's (1974) measure of sampling adequacy, with :math:`q_{ij}` the anti-image (partial) correlations
      :math:`-(R^{-1})_{ij} / \sqrt{(R^{-1})_{ii}(R^{-1})_{jj}}`:
      :math:`\mathrm{MSA}_i = \sum_{j\ne i} r_{ij}^2 / (\sum_{j\ne i} r_{ij}^2 + \sum_{j\ne i} q_{ij}^2)`, and
      overall the same with the sums over all :math:`i \ne j`.
    * Bartlett's (1950) test that R is an identity matrix:
      :math:`\chi^2 = -(n - 1 - (2p + 5)/6) \log|R|` on :math:`p(p-1)/2` degrees of freedom.
    * Horn's (1965) parallel analysis as psych's ``fa.parallel``: the eigenvalues of the reduced correlation
      matrix (R with the communalities on its diagonal) are compared, in order, with those of random data of
      the same size; the suggested number is the count of leading eigenvalues above the random threshold.
    * Signs and order as psych: after rotation every factor is reflected to a positive column sum, and the
      factors are sorted by decreasing variance accounted for, diag(Phi L'L) (colSums(L^2) when orthogonal,
      and always for principal components).

    Examples
    --------
    >>> import pandas as pd
    >>> from iasem.resources import resource_path
    >>> from iasem.validation.efa import efa
    >>> data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    >>> result = efa(data, [f"x{i}" for i in range(1, 10)], seed=1939)
    >>> result.n_factors, result.parallel.suggested
    (3, 3)
    >>> print(f"KMO {result.kmo['overall']:.3f}, Bartlett chi-square {result.bartlett['chisq']:.1f}")
    KMO 0.752, Bartlett chi-square 904.1
    >>> print(result.loadings.round(2).to_string())
         MR1   MR2   MR3
    x1  0.20  0.59  0.03
    x2  0.04  0.51 -0.12
    x3 -0.06  0.69  0.02
    x4  0.85  0.02  0.01
    x5  0.89 -0.06  0.01
    x6  0.81  0.08 -0.01
    x7  0.04 -0.15  0.74
    x8 -0.03  0.13  0.69
    x9  0.03  0.38  0.46
    >>> print(result.phi.round(2).to_string())
          MR1   MR2   MR3
    MR1  1.00  0.32  0.21
    MR2  0.32  1.00  0.26
    MR3  0.21  0.26  1.00
    """
    method = _choice("method", method, METHODS)
    rotation = _choice("rotation", "none" if rotation is None else rotation, ROTATIONS)
    parallel_data = _choice("parallel_data", parallel_data, PARALLEL_DATA)
    parallel_iter = _positive_int("parallel_iter", parallel_iter)
    if parallel_quantile is not None and (
        isinstance(parallel_quantile, bool)
        or not isinstance(parallel_quantile, numbers.Real)
        or not 0 < parallel_quantile < 1
    ):
        raise IasemError(f"parallel_quantile must be a number between 0 and 1, or None, not {parallel_quantile!r}")
    if not isinstance(parallel_smc, bool | np.bool_):
        raise IasemError(f"parallel_smc must be True or False, not {parallel_smc!r}")
    seed = _seed(seed)

    with _one_blas_thread():
        return _efa(data, items, n_factors, rotation, method, parallel_iter, parallel_quantile, parallel_data,
                    bool(parallel_smc), seed)  # fmt: skip


def _efa(data: pd.DataFrame, items: Sequence[str], n_factors: int | None, rotation: str, method: str,
         parallel_iter: int, parallel_quantile: float | None, parallel_data: str, parallel_smc: bool,
         seed: int) -> EFAResult:  # fmt: skip
    names, x, dropped = _complete_items(data, items)
    n, p = x.shape
    r = _correlation(x, names)
    max_factors = p if method == "principal" else ledermann_bound(p)
    if n_factors is not None:
        n_factors = _positive_int("n_factors", n_factors)
        if n_factors > max_factors:
            why = ("there are" if method == "principal" else "the Ledermann bound for") + f" {p} items"
            raise IasemError(f"n_factors={n_factors} is out of range: at most {max_factors} ({why})")

    msa_items, msa = kmo(r)
    chisq, df, pvalue = bartlett_sphericity(r, n)
    parallel = parallel_analysis(x, components=method == "principal", n_iter=parallel_iter,
                                 quantile=parallel_quantile, data=parallel_data, smc=parallel_smc,
                                 seed=seed, names=names)  # fmt: skip

    warnings: list[str] = []
    if n_factors is None:
        n_factors = parallel.suggested
        what = "components" if method == "principal" else "factors"
        if n_factors < 1:
            warnings.append(f"parallel analysis suggests 0 {what}; 1 was fitted")
            n_factors = 1
        elif n_factors > max_factors:
            warnings.append(f"parallel analysis suggests {n_factors} {what}, more than the {max_factors} that "
                            f"{p} items allow; {max_factors} were fitted")  # fmt: skip
            n_factors = max_factors

    fitted = fit_factors(r, n_factors, method=method, rotation=rotation, names=names)
    warnings += fitted.warnings
    return EFAResult(
        loadings=fitted.loadings,
        communalities=fitted.communalities,
        variance=fitted.variance,
        phi=fitted.phi,
        kmo=pd.Series([*msa_items, msa], index=[*names, "overall"], name="MSA"),
        bartlett=pd.Series({"chisq": chisq, "df": float(df), "pvalue": pvalue}, name="bartlett"),
        parallel=parallel,
        n_factors=n_factors,
        method=method,
        rotation=rotation,
        n_obs=n,
        dropped=dropped,
        converged=fitted.converged,
        warnings=warnings,
    )


# ---------------------------------------------------------------------------------------------------------------
# Checking the arguments
# ---------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """One BLAS thread: the many tiny eigen-decompositions and L-BFGS-B steps of an EFA run slower, by an order
    of magnitude on a busy machine, when OpenBLAS spreads each over several threads."""
    if threadpool_limits is None:  # pragma: no cover
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def _choice(name: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise IasemError(f"unknown {name} {value!r}; available: {', '.join(allowed)}")
    return value.lower()


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise IasemError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def _seed(seed: object) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise IasemError(f"seed must be a non-negative whole number or None, not {seed!r}")
    return int(seed)


def _complete_items(data: pd.DataFrame, items: Sequence[str]) -> tuple[list[str], np.ndarray, int]:
    """The items' complete rows as floats, after checking the columns; and the number of rows dropped."""
    if not isinstance(data, pd.DataFrame):
        raise IasemError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if isinstance(items, str) or not isinstance(items, Sequence | pd.Index | np.ndarray):
        raise IasemError(f"items must be a list of column names, not {items!r}")
    names = list(items)
    if len(names) < 3:
        raise IasemError(f"an exploratory factor analysis needs at least 3 items, got {len(names)}: {names}")
    doubled = sorted({str(c) for c in names if names.count(c) > 1})
    if doubled:
        raise IasemError(f"items lists {', '.join(map(repr, doubled))} more than once")
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise IasemError(f"column(s) {', '.join(map(repr, missing))} not in the data")
    ambiguous = [c for c in names if int((data.columns == c).sum()) > 1]
    if ambiguous:
        raise IasemError(f"the data have more than one column named {', '.join(map(repr, ambiguous))}")
    columns = []
    for c in names:
        column = data[c]
        if pd.api.types.is_bool_dtype(column):
            column = column.astype(float)
        elif not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_complex_dtype(column):
            raise IasemError(f"column {c!r} is not numeric (dtype {column.dtype}); recode its answers as numbers")
        columns.append(column.to_numpy(dtype=float, na_value=np.nan))
    x = np.column_stack(columns)
    infinite = [c for c, col in zip(names, x.T, strict=True) if np.isinf(col).any()]
    if infinite:
        raise IasemError(f"column(s) {', '.join(map(repr, infinite))} hold infinite values")
    complete = ~np.isnan(x).any(axis=1)
    x = x[complete]
    dropped = int((~complete).sum())
    n, p = x.shape
    if n < p + 1:
        raise IasemError(f"{p} items need at least {p + 1} complete rows; the data have {n} "
                         f"({dropped} dropped for missing values)")  # fmt: skip
    constant = [c for c, col in zip(names, x.T, strict=True) if np.ptp(col) == 0]
    if constant:
        raise IasemError(f"item(s) {', '.join(map(repr, constant))} have the same value in every complete row; "
                         "a constant item has no correlations to factor")  # fmt: skip
    return names, x, dropped


def _correlation(x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The Pearson correlation matrix; an error naming the items if it is singular."""
    r = np.corrcoef(x, rowvar=False)
    r = (r + r.T) / 2
    np.fill_diagonal(r, 1.0)
    values, vectors = np.linalg.eigh(r)
    if values[0] <= 1e-10 * values[-1]:
        weights = np.abs(vectors[:, 0])
        involved = [name for name, w in zip(names, weights, strict=True) if w > 1e-3 * weights.max()]
        raise IasemError(f"the items' correlation matrix is singular: {', '.join(map(repr, involved))} are "
                         "linearly dependent (one is a copy, sum or mean of others); leave one out")  # fmt: skip
    return r


def ledermann_bound(p: int) -> int:
    """The largest number of factors k with (p - k)^2 >= p + k: as many model parameters as correlations."""
    k = 0
    while (p - (k + 1)) ** 2 >= p + (k + 1):
        k += 1
    return k


# ---------------------------------------------------------------------------------------------------------------
# Sampling adequacy
# ---------------------------------------------------------------------------------------------------------------
def kmo(r: np.ndarray) -> tuple[np.ndarray, float]:
    """Kaiser's (1974) measure of sampling adequacy per item and overall, as psych's ``KMO``."""
    inverse = np.linalg.inv(r)
    scale = 1 / np.sqrt(np.diag(inverse))
    partial = inverse * np.outer(scale, scale)  # the anti-image correlations, up to sign
    off = ~np.eye(len(r), dtype=bool)
    r2 = np.where(off, r, 0.0) ** 2
    q2 = np.where(off, partial, 0.0) ** 2
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return per_item, float(r2.sum() / (r2.sum() + q2.sum()))


def bartlett_sphericity(r: np.ndarray, n: int) -> tuple[float, int, float]:
    """Bartlett's (1950) chi-square test that the correlation matrix is an identity, as psych's
    ``cortest.bartlett``: chisq = -(n - 1 - (2p + 5)/6) log|R|, df = p(p - 1)/2."""
    p = len(r)
    _, logdet = np.linalg.slogdet(r)
    chisq = -logdet * (n - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) // 2
    return float(chisq), df, float(stats.chi2.sf(chisq, df))


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations 1 - 1/diag(R^-1), limited to [0, 1] as psych's ``smc``."""
    return np.clip(1 - 1 / np.diag(np.linalg.inv(r)), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------------------------
def _eigh_desc(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(a)
    return values[::-1], vectors[:, ::-1]


def _uls_fit(psi: np.ndarray, r: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Minres: half the sum of squared residual eigenvalues of R - Psi beyond a rank-k fit, and its gradient
    diag(LL') + Psi - diag(R) (psych's ``FAgr.minres``)."""
    values, vectors = _eigh_desc(r - np.diag(psi))
    kept = np.maximum(values[:k], 0.0)
    residual = np.concatenate([values[:k] - kept, values[k:]])
    loadings = vectors[:, :k] * np.sqrt(kept)
    return 0.5 * float(residual @ residual), (loadings**2).sum(axis=1) + psi - np.diag(r)


def _ml_fit(psi: np.ndarray, r: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """ML: factanal's and psych's ``FAfn`` and its gradient ``FAgr``, diag(LL' + Psi - R) / Psi^2."""
    scale = 1 / np.sqrt(psi)
    values, vectors = _eigh_desc(r * np.outer(scale, scale))
    rest = values[k:]
    value = -(np.sum(np.log(rest) - rest) - k + len(r))
    loadings = np.sqrt(psi)[:, None] * vectors[:, :k] * np.sqrt(np.maximum(values[:k] - 1, 0.0))
    return float(value), ((loadings**2).sum(axis=1) + psi - np.diag(r)) / psi**2


def _projected_gradient(psi: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    g = gradient.copy()
    g[(psi <= PSI_LOWER) & (g > 0)] = 0.0
    g[(psi >= PSI_UPPER) & (g < 0)] = 0.0
    return g


def fit_uniquenesses(r: np.ndarray, k: int, method: Literal["minres", "ml"]) -> tuple[np.ndarray, bool]:
    """The uniquenesses Psi of a k-factor minres or ML fit, from psych's start 1 - SMC within [0.005, 1].

    L-BFGS-B with the analytic gradient (as psych's ``optim`` call), then projected Newton steps on the free
    uniquenesses (a finite-difference Jacobian of the analytic gradient) until the projected gradient is at
    rounding level. Returns Psi and whether the projected gradient fell below ``GRADIENT_TOL``.
    """
    objective = _uls_fit if method == "minres" else _ml_fit
    start = np.clip(1 - smc(r), PSI_LOWER, PSI_UPPER)
    result = optimize.minimize(objective, start, args=(r, k), jac=True, method="L-BFGS-B",
                               bounds=[(PSI_LOWER, PSI_UPPER)] * len(r),
                               options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 20})  # fmt: skip
    psi = np.clip(result.x, PSI_LOWER, PSI_UPPER)
    value, gradient = objective(psi, r, k)
    projected = _projected_gradient(psi, gradient)
    for _ in range(8):
        if np.max(np.abs(projected)) < 1e-13:
            break
        free = np.flatnonzero(projected != 0)
        h = 1e-6
        jacobian = np.empty((free.size, free.size))
        for j, i in enumerate(free):
            step = np.zeros_like(psi)
            step[i] = h
            jacobian[:, j] = (objective(psi + step, r, k)[1][free] - objective(psi - step, r, k)[1][free]) / (2 * h)
        try:
            move = np.linalg.solve((jacobian + jacobian.T) / 2, gradient[free])
        except np.linalg.LinAlgError:
            break
        trial = psi.copy()
        trial[free] = np.clip(psi[free] - move, PSI_LOWER, PSI_UPPER)
        trial_value, trial_gradient = objective(trial, r, k)
        trial_projected = _projected_gradient(trial, trial_gradient)
        if trial_value > value + 1e-12 * abs(value) or np.max(np.abs(trial_projected)) >= np.max(np.abs(projected)):
            break
        psi, value, gradient, projected = trial, trial_value, trial_gradient, trial_projected
    return psi, bool(np.max(np.abs(projected)) < GRADIENT_TOL)


def loadings_from_uniquenesses(r: np.ndarray, psi: np.ndarray, k: int, method: Literal["minres", "ml"]) -> np.ndarray:
    """The unrotated loadings of the uniquenesses Psi: psych's ``FAout.wls`` (minres) or ``FAout`` (ML)."""
    if method == "minres":
        values, vectors = _eigh_desc(r - np.diag(psi))
        return vectors[:, :k] * np.sqrt(np.maximum(values[:k], 0.0))
    scale = 1 / np.sqrt(psi)
    values, vectors = _eigh_desc(r * np.outer(scale, scale))
    return np.sqrt(psi)[:, None] * vectors[:, :k] * np.sqrt(np.maximum(values[:k] - 1, 0.0))


def principal_loadings(r: np.ndarray, k: int) -> np.ndarray:
    """The first k principal components' loadings V_k Lambda_k^(1/2), as psych's ``principal``."""
    values, vectors = _eigh_desc(r)
    return vectors[:, :k] * np.sqrt(np.maximum(values[:k], np.finfo(float).eps))


def _positive_columns(loadings: np.ndarray) -> np.ndarray:
    """psych's reflection: +1/-1 per column so that every column sums to a non-negative number."""
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1.0
    return signs


# ---------------------------------------------------------------------------------------------------------------
# Rotation
# ---------------------------------------------------------------------------------------------------------------
def rotate(
    loadings: np.ndarray, rotation: str, *, principal: bool = False
) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Rotate unrotated loadings as psych does; returns the loadings, Phi (oblique rotations) and convergence.

    Varimax, oblimin and psych's Kaiser-normalised promax are factor_analyzer's :class:`Rotator` with
    GPArotation's 1000 iterations; principal components' promax is ``stats::promax`` (varimax, then the power-4
    target fitted to the unnormalised loadings), as psych's ``principal``.
    """
    if rotation == "none" or loadings.shape[1] < 2:
        return loadings.copy(), None, True
    if rotation == "varimax":
        return Rotator(method="varimax", normalize=True, max_iter=ROTATION_MAX_ITER).fit_transform(loadings), None, True
    if rotation == "oblimin":
        rotator = Rotator(method="oblimin", gamma=0, max_iter=ROTATION_MAX_ITER, tol=GPA_EPS)
        rotated = rotator.fit_transform(loadings)
        return rotated, rotator.phi_, _gpa_converged(loadings, rotator.rotation_)
    if not principal:
        rotator = Rotator(method="promax", normalize=True, power=4, max_iter=ROTATION_MAX_ITER)
        rotated = rotator.fit_transform(loadings)
        return rotated, rotator.phi_, True
    # stats::promax(x, m = 4)
    varimax = Rotator(method="varimax", normalize=True, max_iter=ROTATION_MAX_ITER)
    x = varimax.fit_transform(loadings)
    target = x * np.abs(x) ** 3
    u = np.linalg.lstsq(x, target, rcond=None)[0]
    u = u * np.sqrt(np.diag(np.linalg.inv(u.T @ u)))
    inverse = np.linalg.inv(varimax.rotation_ @ u)
    phi = inverse @ inverse.T
    scale = 1 / np.sqrt(np.diag(phi))
    return x @ u, phi * np.outer(scale, scale), True


def _gpa_converged(a: np.ndarray, t: np.ndarray) -> bool:
    """GPArotation's stopping rule for oblimin (quartimin) at the rotation T: the norm of the gradient projected
    on the tangent space of unit-length columns below 1e-5 (Jennrich, 2002)."""
    t_inv = np.linalg.inv(t)
    rotated = a @ t_inv.T
    squared = rotated**2
    gq = rotated * (squared.sum(axis=1, keepdims=True) - squared)
    gradient = -(rotated.T @ gq @ t_inv).T
    projected = gradient - t * (t * gradient).sum(axis=0)
    return float(np.sqrt(np.sum(projected**2))) < GPA_EPS


# ---------------------------------------------------------------------------------------------------------------
# One fit
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class FactorSolution:
    """One extraction and rotation, with psych's column order, signs and names."""

    loadings: pd.DataFrame
    communalities: pd.DataFrame
    variance: pd.DataFrame
    phi: pd.DataFrame | None
    psi: np.ndarray | None
    converged: bool
    warnings: list[str]


def fit_factors(
    r: np.ndarray,
    k: int,
    *,
    method: str,
    rotation: str,
    names: Sequence[str],
    psi: np.ndarray | None = None,
) -> FactorSolution:
    """Extract and rotate k factors of the correlation matrix R as psych's ``fa`` / ``principal``.

    ``psi`` skips the optimiser and takes these uniquenesses (minres, ML), as the tests do to compare the rest
    of the pipeline with psych at its own uniquenesses.
    """
    names = list(names)
    warnings: list[str] = []
    converged = True
    principal = method == "principal"
    if principal:
        unrotated = principal_loadings(r, k)
    else:
        if psi is None:
            psi, converged = fit_uniquenesses(r, k, method)  # type: ignore[arg-type]
            if not converged:
                warnings.append(f"the {method} extraction did not converge: check the solution, or fit fewer factors")
        unrotated = loadings_from_uniquenesses(r, psi, k, method)  # type: ignore[arg-type]
    unrotated = unrotated * _positive_columns(unrotated)
    h2 = (unrotated**2).sum(axis=1)

    loadings, phi, rotation_converged = rotate(unrotated, rotation, principal=principal)
    if not rotation_converged:
        converged = False
        warnings.append(f"the {rotation} rotation did not converge in {ROTATION_MAX_ITER} iterations")
    signs = _positive_columns(loadings)
    loadings = loadings * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    # psych's fa sorts by the variance accounted for, diag(Phi L'L); its principal by colSums(L^2) regardless
    accounted = (loadings**2).sum(axis=0) if phi is None or principal else np.diag(phi @ loadings.T @ loadings)
    order = np.argsort(-accounted, kind="stable")
    loadings = loadings[:, order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]

    columns = [f"{_prefix(method, rotation, k)}{j + 1}" for j in range(k)]
    vx = (loadings**2).sum(axis=0) if phi is None else np.diag(phi @ loadings.T @ loadings)
    total = float(np.sum(np.diag(r)))
    variance = pd.DataFrame([vx, vx / total, np.cumsum(vx / total), vx / vx.sum(), np.cumsum(vx / vx.sum())],
                            index=list(VARIANCE_ROWS), columns=columns)  # fmt: skip
    communalities = pd.DataFrame({"h2": h2, "u2": np.diag(r) - h2}, index=names)
    if psi is not None and not principal:
        warnings += _heywood(names, psi, h2)
    return FactorSolution(
        loadings=pd.DataFrame(loadings, index=names, columns=columns),
        communalities=communalities,
        variance=variance,
        phi=None if phi is None else pd.DataFrame(phi, index=columns, columns=columns),
        psi=psi,
        converged=converged,
        warnings=warnings,
    )


def _prefix(method: str, rotation: str, k: int) -> str:
    if method == "minres":
        return "MR"
    if method == "ml":
        return "ML"
    if rotation == "none" or k < 2:
        return "PC"
    return "TC" if rotation in OBLIQUE else "RC"


def _heywood(names: Sequence[str], psi: np.ndarray, h2: np.ndarray) -> list[str]:
    out = []
    for name, u, h in zip(names, psi, h2, strict=True):
        if h > 1:
            out.append(f"ultra-Heywood case: the communality of {name!r} is {h:.3f} > 1; the solution is improper")
        elif u <= PSI_LOWER * (1 + 1e-9):
            out.append(f"Heywood case: the uniqueness of {name!r} is at its lower bound {PSI_LOWER} "
                       f"(communality {h:.3f}); consider fewer factors")  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------------------------
# Parallel analysis
# ---------------------------------------------------------------------------------------------------------------
def reduced_eigenvalues(r: np.ndarray, *, components: bool, smc_diagonal: bool) -> np.ndarray:
    """The eigenvalues (decreasing) that parallel analysis compares: of R itself for components; for factors of
    R with SMCs, or the communalities of a one-factor minres fit, on its diagonal (psych's ``fa.parallel``)."""
    if components:
        return _eigh_desc(r)[0]
    reduced = r.copy()
    if smc_diagonal:
        np.fill_diagonal(reduced, smc(r))
    else:
        psi, _ = fit_uniquenesses(r, 1, "minres")
        one = loadings_from_uniquenesses(r, psi, 1, "minres")
        np.fill_diagonal(reduced, (one**2).sum(axis=1))
    return _eigh_desc(reduced)[0]


def parallel_analysis(
    x: np.ndarray,
    *,
    components: bool = False,
    n_iter: int = 20,
    quantile: float | None = 0.95,
    data: str = "simulate",
    smc: bool = False,
    seed: int | None = None,
    names: Sequence[str] | None = None,
) -> ParallelAnalysis:
    """Horn's (1965) parallel analysis of the complete data ``x`` (rows x items) by psych's ``fa.parallel``
    rules; see :class:`ParallelAnalysis`."""
    with _one_blas_thread():
        return _parallel(x, components, n_iter, quantile, data, smc, _seed(seed), names)


def _parallel(x: np.ndarray, components: bool, n_iter: int, quantile: float | None, data: str, smc: bool,
              seed: int, names: Sequence[str] | None) -> ParallelAnalysis:  # fmt: skip
    n, p = x.shape
    rng = np.random.default_rng(seed)
    observed = reduced_eigenvalues(_correlation(x, names or [f"V{j + 1}" for j in range(p)]),
                                   components=components, smc_diagonal=smc)  # fmt: skip
    simulated = np.empty((n_iter, p))
    for i in range(n_iter):
        while True:
            if data == "simulate":
                sample = rng.standard_normal((n, p))
            else:
                sample = x[rng.integers(0, n, size=(n, p)), np.arange(p)]
            if np.all(np.ptp(sample, axis=0) > 0):
                break
        r = np.corrcoef(sample, rowvar=False)
        r = (r + r.T) / 2
        np.fill_diagonal(r, 1.0)
        simulated[i] = reduced_eigenvalues(r, components=components, smc_diagonal=smc)
    mean = simulated.mean(axis=0)
    upper = np.quantile(simulated, quantile, axis=0) if quantile is not None else np.full(p, np.nan)
    threshold = upper if quantile is not None else mean
    below = np.flatnonzero(~(observed > threshold))
    suggested = int(below[0]) if below.size else p
    table = pd.DataFrame({"observed": observed, "simulated_mean": mean, "simulated_quantile": upper},
                         index=pd.RangeIndex(1, p + 1, name="factor"))  # fmt: skip
    return ParallelAnalysis(eigenvalues=table, suggested=suggested, n_iter=n_iter, quantile=quantile,
                            kind="components" if components else "factors", data=data,  # type: ignore[arg-type]
                            smc=smc, seed=seed)  # fmt: skip
