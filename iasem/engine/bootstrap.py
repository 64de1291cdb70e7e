"""The nonparametric bootstrap: resampled refits, lavaan's bootstrap standard errors and percentile intervals,
and jackknife-accelerated BCa intervals.

The model is refitted by a caller-supplied ``refit(rows) -> estimates | None``; this module only draws the rows
and turns the replicates into statistics, so it works for any vector of estimates (free parameters and ``:=``
quantities alike).

lavaan 0.6.14 conventions reproduced here (read from ``parameterEstimates``, ``lav_model_vcov``,
``lav_model_nvcov_bootstrap``, ``lav_model_vcov_se`` and ``lav_bootstrap_internal``):

- Draws whose refit errors or does not converge are dropped (lavaan's ``error.idx``) and counted; lavaan
  warns ``"<n> bootstrap runs failed or did not converge"``. Draws with a nonadmissible solution (a Heywood
  case) are *kept* by lavaan, only counted.
- With groups, rows are resampled within each group (lavaan resamples each group's rows separately).
- Standard errors: for free parameters under ML, ``VCOV = cov(BOOT) (B - 1) / B``, i.e. the standard deviation
  of the B successful draws *with divisor B* (``ddof=0``); for ``:=`` parameters ``sqrt(diag(cov(BOOT.def)))``,
  divisor B - 1 (``ddof=1``); for the other estimators (GLS, ULS, WLS, DWLS, ...) the free-parameter variances
  are in addition multiplied by ``N / (N - G)`` (N cases, G groups). See :func:`se`.
- Percentile interval (``boot.ci.type = "perc"``): the order-statistic interpolation ``norm.inter`` that
  ``parameterEstimates`` defines in its body, a copy of ``boot:::norm.inter`` ("interpolation on the normal
  quantile scale", Davison & Hinkley 1997, ch. 5). See :func:`quantile_norm_inter`.
- lavaan's ``"bca.simple"`` is :func:`bca_interval` with ``jack=None`` (no acceleration) and ``ties="strict"``.
  lavaan's own ``"bca"`` estimates the acceleration by regressing the draws on the resampling frequencies
  (an empirical-influence regression); here it comes from the jackknife (Efron 1987), as in
  ``scipy.stats.bootstrap(method="BCa")``, so the two agree only up to the difference of the two estimates of
  the acceleration.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. *JASA*, 82(397), 171-185.
Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall, ch. 13-14.
DiCiccio, T. J., & Efron, B. (1996). Bootstrap confidence intervals. *Statistical Science*, 11(3), 189-228.
Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap Methods and their Application*. Cambridge University Press, ch. 5.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import ndtr, ndtri

from ..errors import IasemError
from ..progress import progress_bar

Refit = Callable[[np.ndarray], np.ndarray | None]
RefitBatch = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Rule = Literal["norm_inter", "linear"]
Ties = Literal["mid", "strict"]


@dataclass(frozen=True)
class BootstrapDraws:
    """The successful replicates of a bootstrap.

    Attributes
    ----------
    draws : numpy.ndarray
        (successful, k): one row per successful draw, in the order drawn.
    attempted : int
        Number of draws made.
    failed_draws : tuple of int
        0-based numbers of the draws whose refit failed (returned None or a non-finite value), in order.
    seed : int or None
        The seed that reproduces the draws with ``numpy.random.default_rng(seed)``; None when a Generator was
        passed (its state cannot be turned back into a seed).
    """

    draws: np.ndarray
    attempted: int
    failed_draws: tuple[int, ...]
    seed: int | None

    @property
    def failed(self) -> int:
        """Number of failed (dropped) draws."""
        return len(self.failed_draws)

    @property
    def successful(self) -> int:
        """Number of successful draws, the rows of ``draws``."""
        return self.attempted - self.failed


def draw(n_rows: int | Sequence[int], draws: int, refit: Refit,
         seed: int | np.random.Generator | None) -> BootstrapDraws:  # fmt: skip
    """Resample rows with replacement ``draws`` times and refit on each resample.

    For b = 1..B, the row indices i*_1..i*_n are drawn uniformly from 0..n-1 with replacement and
    ``refit(indices)`` gives the replicate theta*_b. A refit that returns None (non-convergence, singular
    resample) or a vector with a non-finite value counts as failed: it is dropped and its number kept
    (lavaan drops only errors and non-convergence, and leaves non-finite values to the interval code, which
    drops them column by column; dropping the whole draw keeps every column on the same draws).

    The indices come from ``numpy.random.default_rng(seed)``, one draw after the other, group after group:
    ``rng.integers(0, n_g, n_g)`` (plus the group's offset). For one group this is the same stream as
    ``rng.integers(0, n, size=(B, n))``, the resamples of ``scipy.stats.bootstrap`` with the same ``rng``.

    Parameters
    ----------
    n_rows : int or sequence of int
        Number of rows, or the sizes of the groups when rows are resampled within groups (lavaan's bootstrap
        with groups); the rows of group g are ``offset_g .. offset_g + n_g - 1``, groups in order.
    draws : int
        Number of bootstrap draws B (at least 2).
    refit : callable
        ``refit(indices) -> 1-D array of k estimates, or None`` when the refit fails.
    seed : int, None or numpy.random.Generator
        Seed of the draws. With None a fresh seed is taken from the operating system and recorded, so that
        the draws can be repeated.

    Returns
    -------
    BootstrapDraws

    Raises
    ------
    IasemError
        When fewer than 2 draws succeed (the message says how many failed).
    """
    draws, seed_used, resamples = _resamples(n_rows, draws, seed)
    kept: list[np.ndarray] = []
    failed: list[int] = []
    width: int | None = None
    # One refit after another (the models the batched engine cannot refit): seconds to minutes, so a bar.
    with progress_bar(draws, "bootstrap") as bar:
        for b, rows in enumerate(resamples):
            bar.update(1)
            values = refit(rows)
            if values is None:
                failed.append(b)
                continue
            values = np.asarray(values, dtype=float).ravel()
            if width is None:
                width = values.size
            elif values.size != width:
                raise ValueError(f"refit returned {values.size} estimates for draw {b}, {width} before")
            if not np.all(np.isfinite(values)):
                failed.append(b)
                continue
            kept.append(values)
    _require_two_draws(len(kept), draws, len(failed))
    return BootstrapDraws(np.vstack(kept), draws, tuple(failed), seed_used)


def draw_batched(n_rows: int | Sequence[int], draws: int, refit_batch: RefitBatch,
                 seed: int | np.random.Generator | None) -> BootstrapDraws:  # fmt: skip
    """:func:`draw` with all refits in one call: the same resamples, refitted together.

    The B index sets are drawn first, with the same Generator calls in the same order as :func:`draw` makes
    them (so the same seed gives the same resamples, draw for draw), then ``refit_batch(indices)`` refits them
    all, e.g. by the batched Fisher scoring of :mod:`batched`. A draw fails when ``refit_batch`` flags it or
    any of its values is not finite, as in :func:`draw`.

    Parameters
    ----------
    n_rows : int or sequence of int
        Number of rows, or the group sizes (as in :func:`draw`).
    draws : int
        Number of bootstrap draws B (at least 2).
    refit_batch : callable
        ``refit_batch(indices) -> (values, failed)``: ``indices`` is (B, n), one resample per row;
        ``values`` is (B, k) and ``failed`` a (B,) boolean mask of the refits that failed (their rows of
        ``values`` are ignored).
    seed : int, None or numpy.random.Generator
        Seed of the draws (as in :func:`draw`).

    Returns
    -------
    BootstrapDraws

    Raises
    ------
    IasemError
        When fewer than 2 draws succeed.
    """
    draws, seed_used, resamples = _resamples(n_rows, draws, seed)
    indices = np.stack(list(resamples))
    values, failed = refit_batch(indices)
    values = np.asarray(values, dtype=float).reshape(draws, -1)
    failed = np.asarray(failed, dtype=bool).ravel()
    if failed.shape != (draws,):
        raise ValueError(f"refit_batch flagged {failed.size} draws, {draws} were drawn")
    failed = failed | ~np.all(np.isfinite(values), axis=1)
    kept = values[~failed]
    _require_two_draws(kept.shape[0], draws, int(failed.sum()))
    return BootstrapDraws(kept, draws, tuple(int(b) for b in np.flatnonzero(failed)), seed_used)


def _resamples(n_rows: int | Sequence[int], draws: int,
               seed: int | np.random.Generator | None) -> tuple[int, int | None, Iterator[np.ndarray]]:  # fmt: skip
    """The checked number of draws, the seed used, and the draws' row indices (:func:`_resample`), one draw
    after the other: the one stream of resamples :func:`draw` and :func:`draw_batched` share.

    The arguments are checked here, at once; the indices are drawn lazily, as the caller takes them.
    """
    sizes = _group_sizes(n_rows)
    draws = _number_of_draws(draws)
    seed_used, rng = _generator(seed)
    offsets = np.cumsum([0, *sizes[:-1]])
    return draws, seed_used, (_resample(rng, sizes, offsets) for _ in range(draws))


def _require_two_draws(n_kept: int, draws: int, n_failed: int) -> None:
    """Refuse a bootstrap with fewer than 2 successful draws: no interval or standard error can be had."""
    if n_kept < 2:
        raise IasemError(
            f"only {n_kept} of {draws} bootstrap draws succeeded ({n_failed} failed: the refit did not "
            "converge or the resampled data could not be fitted); at least 2 are needed"
        )


def _resample(rng: np.random.Generator, sizes: Sequence[int], offsets: np.ndarray) -> np.ndarray:
    """One draw's row indices: ``rng.integers(0, n_g, n_g)`` plus the group's offset, group after group."""
    return np.concatenate([off + rng.integers(0, n, n) for off, n in zip(offsets, sizes, strict=True)])


def _number_of_draws(draws: int) -> int:
    if isinstance(draws, bool) or int(draws) != draws or draws < 2:
        raise IasemError(f"the bootstrap needs at least 2 draws, not {draws!r}")
    return int(draws)


def jackknife(n_rows: int | Sequence[int], refit: Refit) -> np.ndarray:
    """Leave-one-out refits, for the acceleration of the BCa interval.

    Row i of the result is theta_(i), the estimates refitted without row i. A failed refit gives a row of
    NaN; :func:`acceleration` skips those.

    Parameters
    ----------
    n_rows : int or sequence of int
        Number of rows, or the group sizes (as in :func:`draw`); every row is left out once, in order.
    refit : callable
        ``refit(indices) -> 1-D array of k estimates, or None``.

    Returns
    -------
    numpy.ndarray
        (n, k) with n the total number of rows.
    """
    n = sum(_group_sizes(n_rows))
    everything = np.arange(n)
    rows: list[np.ndarray | None] = []
    width: int | None = None
    for i in range(n):
        values = refit(np.delete(everything, i))
        if values is not None:
            values = np.asarray(values, dtype=float).ravel()
            width = values.size if width is None else width
        rows.append(values)
    if width is None:
        raise IasemError(f"all {n} leave-one-out refits failed: the BCa acceleration cannot be estimated")
    return np.vstack([np.full(width, np.nan) if r is None else r for r in rows])


def jackknife_batched(n_rows: int | Sequence[int], refit_batch: RefitBatch) -> np.ndarray:
    """:func:`jackknife` with all leave-one-out refits in one call: row i of ``indices`` is every row but i.

    Parameters
    ----------
    n_rows : int or sequence of int
        Number of rows, or the group sizes (as in :func:`draw`).
    refit_batch : callable
        ``refit_batch(indices) -> (values, failed)``, as for :func:`draw_batched`; ``indices`` is (n, n - 1).

    Returns
    -------
    numpy.ndarray
        (n, k); the rows of failed refits are NaN.
    """
    n = sum(_group_sizes(n_rows))
    everything = np.arange(n)
    indices = np.stack([np.delete(everything, i) for i in range(n)])
    values, failed = refit_batch(indices)
    values = np.array(values, dtype=float).reshape(n, -1)
    values[np.asarray(failed, dtype=bool).ravel()] = np.nan
    if np.all(np.isnan(values)):
        raise IasemError(f"all {n} leave-one-out refits failed: the BCa acceleration cannot be estimated")
    return values


def se(draws: BootstrapDraws | np.ndarray, ddof: int = 0) -> np.ndarray:
    """Bootstrap standard errors, column by column: sqrt(sum_b (theta*_b - mean)^2 / (B - ddof)).

    lavaan 0.6.14, with B the successful draws and N cases in G groups:

    - free parameters, ML with the normal likelihood (so also MLR and FIML): ``ddof=0``.
      ``lav_model_nvcov_bootstrap`` returns N cov(BOOT) (B - 1) / B and ``lav_model_vcov`` divides it by N.
    - free parameters, other estimators (GLS, ULS, WLS, DWLS, ...): ``ddof=0`` times sqrt(N / (N - G)), since
      ``lav_model_vcov`` divides by N - G there.
    - ``:=`` parameters: ``ddof=1``, ``lav_model_vcov_se`` takes sqrt(diag(cov(BOOT.def))).

    Parameters
    ----------
    draws : BootstrapDraws or numpy.ndarray
        (B, k) successful draws (a 1-D array is one column).
    ddof : int
        Delta degrees of freedom of the divisor B - ddof.

    Returns
    -------
    numpy.ndarray
        (k,) standard errors.

    Examples
    --------
    >>> se(np.array([[1.0], [2.0], [3.0], [4.0]])).round(6).tolist()
    [1.118034]
    """
    values = _matrix(draws)
    return np.std(values, axis=0, ddof=ddof)


def quantile_norm_inter(values: np.ndarray, probs: np.ndarray | Sequence[float]) -> np.ndarray:
    """lavaan's (and the boot package's) bootstrap quantile: order statistics interpolated on the normal scale.

    This is ``norm.inter``, the helper that lavaan 0.6.14 defines inside ``parameterEstimates`` for the
    ``"perc"``, ``"basic"``, ``"bca.simple"`` and ``"bca"`` intervals (a copy of ``boot:::norm.inter``;
    Davison & Hinkley 1997, ch. 5). With t_(1) <= ... <= t_(R) the R finite values (non-finite ones are
    dropped) and r = (R + 1) alpha, k = trunc(r):

    - r an integer with 1 <= k <= R: t_(k);
    - k = 0 (alpha < 1 / (R + 1)): t_(1); k >= R: t_(R) (lavaan warns "extreme order statistics used as
      endpoints");
    - otherwise t_(k) + (Phi^-1(alpha) - Phi^-1(k / (R + 1))) / (Phi^-1((k + 1) / (R + 1)) - Phi^-1(k / (R + 1)))
      (t_(k+1) - t_(k)).

    alpha <= 0 gives t_(1) and alpha >= 1 gives t_(R) (lavaan would stop with an error or give NA there);
    a NaN alpha gives NaN.

    Parameters
    ----------
    values : numpy.ndarray
        1-D replicates.
    probs : array_like
        Probabilities alpha.

    Returns
    -------
    numpy.ndarray
        One quantile per probability; NaN when no value is finite.

    Examples
    --------
    >>> quantile_norm_inter(np.arange(1.0, 20.0), [0.05, 0.5]).tolist()  # r = 1 and 10: order statistics
    [1.0, 10.0]
    """
    t = np.sort(np.asarray(values, dtype=float).ravel())
    t = t[np.isfinite(t)]
    alpha = np.asarray(probs, dtype=float).ravel()
    out = np.full(alpha.shape, np.nan)
    r = t.size
    if r == 0:
        return out
    for j, a in enumerate(alpha):
        if np.isnan(a):
            continue
        rk = (r + 1) * a  # the same double as R's (R + 1) * alpha
        k = int(np.trunc(rk)) if a < 1 else r
        if k <= 0:
            out[j] = t[0]
        elif k >= r:
            out[j] = t[-1]
        elif k == rk:
            out[j] = t[k - 1]
        else:
            z_k, z_k1 = ndtri(k / (r + 1)), ndtri((k + 1) / (r + 1))
            out[j] = t[k - 1] + (ndtri(a) - z_k) / (z_k1 - z_k) * (t[k] - t[k - 1])
    return out


def percentile_interval(draws: BootstrapDraws | np.ndarray, level: float = 0.95, *,
                        rule: Rule = "norm_inter") -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The percentile interval: quantiles (1 - level)/2 and (1 + level)/2 of each column's draws.

    With the default ``rule="norm_inter"`` this is lavaan 0.6.14's ``parameterEstimates(boot.ci.type =
    "perc")``: :func:`quantile_norm_inter` of the column at alpha = (1 + c(-level, level)) / 2.
    ``rule="linear"`` takes numpy's default quantile (Hyndman & Fan type 7), the one of
    ``scipy.stats.bootstrap``. Non-finite draws are dropped column by column (as lavaan does); a column
    without variance gives its constant value at both ends.

    Parameters
    ----------
    draws : BootstrapDraws or numpy.ndarray
        (B, k) successful draws.
    level : float
        Confidence level, in (0, 1).
    rule : {"norm_inter", "linear"}
        The quantile of the draws.

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray
        Each (k,).
    """
    values = _matrix(draws)
    alpha = _tail_probabilities(level)
    bounds = np.array([_quantile(values[:, j], alpha, rule) for j in range(values.shape[1])]).reshape(-1, 2)
    return bounds[:, 0], bounds[:, 1]


def bias_correction(draws: BootstrapDraws | np.ndarray, estimate: np.ndarray | Sequence[float], *,
                    ties: Ties = "mid") -> np.ndarray:  # fmt: skip
    """The BCa bias correction z0 = Phi^-1(p), p the share of draws below the estimate.

    Efron & Tibshirani (1993, eq. 14.14) write p = #{theta*_b < theta_hat} / B, which is ``ties="strict"``
    (also lavaan's ``bca.simple``/``bca``). The default ``ties="mid"`` counts draws equal to the estimate
    as half below and half above, p = (#{theta*_b < theta_hat} + #{theta*_b <= theta_hat}) / (2B), the
    convention of ``scipy.stats.bootstrap`` (``percentileofscore(kind="mean")``); it only matters for ties,
    e.g. replicates piling up on a bound, and keeps the interval of -theta the mirror image of that of
    theta. Non-finite draws are dropped column by column. All draws above (below) the estimate give
    z0 = -inf (+inf).

    Parameters
    ----------
    draws : BootstrapDraws or numpy.ndarray
        (B, k) successful draws.
    estimate : array_like
        (k,) estimates on the full data.
    ties : {"mid", "strict"}
        How draws equal to the estimate count.

    Returns
    -------
    numpy.ndarray
        (k,) z0.
    """
    values = _matrix(draws)
    theta = _vector(estimate, values.shape[1], "estimate")
    if ties not in ("mid", "strict"):
        raise ValueError(f"ties must be 'mid' or 'strict', not {ties!r}")
    z0 = np.full(values.shape[1], np.nan)
    for j in range(values.shape[1]):
        t = values[:, j][np.isfinite(values[:, j])]
        if t.size == 0:
            continue
        below = np.count_nonzero(t < theta[j])
        p = below / t.size if ties == "strict" else (below + np.count_nonzero(t <= theta[j])) / (2 * t.size)
        z0[j] = ndtri(p)
    return z0


def acceleration(jack: np.ndarray, groups: Sequence[int] | None = None) -> np.ndarray:
    """The BCa acceleration from leave-one-out estimates.

    For one sample (Efron 1987; Efron & Tibshirani 1993, eq. 14.15), with d_i = mean_j theta_(j) - theta_(i),

        a = sum_i d_i^3 / (6 (sum_i d_i^2)^(3/2)).

    With groups resampled separately (several samples; Efron & Tibshirani 1993, eq. 15.36 with the jackknife
    influence values U_gi = (n_g - 1)(mean_j theta_(gj) - theta_(gi)), as in ``scipy.stats.bootstrap``):

        a = (1/6) sum_g sum_i U_gi^3 / n_g^3 / (sum_g sum_i U_gi^2 / n_g^2)^(3/2),

    which reduces to the first formula for one group. Non-finite leave-one-out values (failed refits) are
    skipped column by column; a column whose jackknife values are all equal gets a = 0.

    Parameters
    ----------
    jack : numpy.ndarray
        (n, k) leave-one-out estimates, from :func:`jackknife`.
    groups : sequence of int, optional
        Group sizes, when rows were resampled within groups (rows in group order).

    Returns
    -------
    numpy.ndarray
        (k,) accelerations.
    """
    jack = np.asarray(jack, dtype=float)
    jack = jack.reshape(-1, 1) if jack.ndim == 1 else jack
    sizes = _group_sizes(groups if groups is not None else jack.shape[0])
    if sum(sizes) != jack.shape[0]:
        raise ValueError(f"the group sizes add up to {sum(sizes)}, the jackknife has {jack.shape[0]} rows")
    cubes = np.zeros(jack.shape[1])
    squares = np.zeros(jack.shape[1])
    start = 0
    for n in sizes:
        block = jack[start : start + n]
        start += n
        for j in range(jack.shape[1]):
            t = block[:, j][np.isfinite(block[:, j])]
            if t.size == 0:
                continue
            u = (n - 1) * (t.mean() - t)
            cubes[j] += np.sum(u**3) / n**3
            squares[j] += np.sum(u**2) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(squares > 0, cubes / (6 * squares**1.5), 0.0)


def bca_interval(draws: BootstrapDraws | np.ndarray, estimate: np.ndarray | Sequence[float],
                 jack: np.ndarray | None, level: float = 0.95, *, groups: Sequence[int] | None = None,
                 ties: Ties = "mid", rule: Rule = "norm_inter") -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The bias-corrected and accelerated (BCa) interval (Efron 1987; Efron & Tibshirani 1993, sec. 14.3).

    With z0 from :func:`bias_correction`, a from :func:`acceleration` and z_alpha = Phi^-1(alpha) for
    alpha = (1 - level)/2 and (1 + level)/2, the ends are the quantiles of the draws at

        alpha' = Phi(z0 + (z0 + z_alpha) / (1 - a (z0 + z_alpha))),

    taken with the same quantile rule as :func:`percentile_interval`, so that with z0 = a = 0 the two
    intervals are equal. ``jack=None`` means a = 0: with ``ties="strict"`` that is lavaan's
    ``boot.ci.type = "bca.simple"``. With ``rule="linear"`` (and the default ``ties="mid"``) this is
    ``scipy.stats.bootstrap(method="BCa")`` given the same draws.

    Degenerate columns:

    - no variance in the draws (a fixed parameter): the estimate at both ends (as lavaan);
    - all draws on one side of the estimate (p = 0 or 1, z0 infinite): NaN at both ends, the bias correction
      is not estimable (scipy gives NaN there too; lavaan stops with an error);
    - 1 - a (z0 + z_alpha) <= 0 (extreme acceleration): NaN at that end, the BCa level is undefined there
      (alpha' would jump from 1 to 0).

    Parameters
    ----------
    draws : BootstrapDraws or numpy.ndarray
        (B, k) successful draws.
    estimate : array_like
        (k,) estimates on the full data.
    jack : numpy.ndarray or None
        (n, k) leave-one-out estimates (:func:`jackknife`), or None for no acceleration.
    level : float
        Confidence level, in (0, 1).
    groups : sequence of int, optional
        Group sizes for the acceleration (see :func:`acceleration`).
    ties : {"mid", "strict"}
        See :func:`bias_correction`.
    rule : {"norm_inter", "linear"}
        The quantile of the draws (see :func:`percentile_interval`).

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray
        Each (k,).
    """
    values = _matrix(draws)
    k = values.shape[1]
    theta = _vector(estimate, k, "estimate")
    z0 = bias_correction(values, theta, ties=ties)
    if jack is None:
        a = np.zeros(k)
    else:
        jack = np.asarray(jack, dtype=float)
        jack = jack.reshape(-1, 1) if jack.ndim == 1 else jack
        if jack.shape[1] != k:
            raise ValueError(f"the jackknife has {jack.shape[1]} columns, the draws {k}")
        a = acceleration(jack, groups)
    z_alpha = ndtri(_tail_probabilities(level))
    lower, upper = np.full(k, np.nan), np.full(k, np.nan)
    for j in range(k):
        t = values[:, j][np.isfinite(values[:, j])]
        if t.size and np.all(t == t[0]):
            lower[j] = upper[j] = theta[j]
            continue
        if not np.isfinite(z0[j]):
            continue
        w = z0[j] + z_alpha
        denominator = 1 - a[j] * w
        with np.errstate(divide="ignore", invalid="ignore"):
            adjusted = np.where(denominator > 0, ndtr(z0[j] + w / denominator), np.nan)
        lower[j], upper[j] = _quantile(t, adjusted, rule)
    return lower, upper


def _quantile(values: np.ndarray, probs: np.ndarray, rule: Rule) -> np.ndarray:
    if rule == "norm_inter":
        return quantile_norm_inter(values, probs)
    if rule == "linear":
        t = values[np.isfinite(values)]
        out = np.full(len(probs), np.nan)
        ok = ~np.isnan(probs)
        if t.size and ok.any():
            out[ok] = np.quantile(t, np.asarray(probs)[ok], method="linear")
        return out
    raise ValueError(f"rule must be 'norm_inter' or 'linear', not {rule!r}")


def _tail_probabilities(level: float) -> np.ndarray:
    if not 0 < level < 1:
        raise IasemError(f"the confidence level must be between 0 and 1, not {level!r}")
    return np.array([(1 - level) / 2, (1 + level) / 2])  # lavaan: (1 + c(-level, level)) / 2, the same doubles


def _matrix(draws: BootstrapDraws | np.ndarray) -> np.ndarray:
    values = np.asarray(draws.draws if isinstance(draws, BootstrapDraws) else draws, dtype=float)
    values = values.reshape(-1, 1) if values.ndim == 1 else values
    if values.ndim != 2:
        raise ValueError(f"the draws must be a (draws, k) matrix, not an array of shape {values.shape}")
    if values.shape[0] < 2:
        failed = f" ({draws.failed} of {draws.attempted} failed)" if isinstance(draws, BootstrapDraws) else ""
        raise IasemError(f"bootstrap statistics need at least 2 successful draws, not {values.shape[0]}{failed}")
    return values


def _vector(x: np.ndarray | Sequence[float], k: int, name: str) -> np.ndarray:
    v = np.asarray(x, dtype=float).ravel()
    if v.size != k:
        raise ValueError(f"{name} has {v.size} values for {k} columns of draws")
    return v


def _group_sizes(n_rows: int | Sequence[int]) -> list[int]:
    sizes = [n_rows] if isinstance(n_rows, int | np.integer) else list(n_rows)
    if not sizes or any(isinstance(n, bool) or int(n) != n or n < 1 for n in sizes):
        raise ValueError(f"n_rows must be a positive number of rows or a list of group sizes, not {n_rows!r}")
    return [int(n) for n in sizes]


def _generator(seed: int | np.random.Generator | None) -> tuple[int | None, np.random.Generator]:
    if isinstance(seed, np.random.Generator):
        return None, seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise IasemError(f"the bootstrap seed must be a whole number, not {seed!r}")
    return int(seed), np.random.default_rng(int(seed))
