"""Stage 3 for ordered data: thresholds, polychoric correlations and their asymptotic covariance matrix, as
lavaan 0.6.14 computes them for ``estimator = "WLSMV"`` (and the other WLS-family estimators) when every
model variable is ``ordered`` (one group, no exogenous covariates).

Each ordered variable y_i with K_i categories is a cut of a standard normal latent response y*_i at the
thresholds -inf = tau_i0 < tau_i1 < ... < tau_i,K-1 < tau_iK = +inf; the pairs (y*_i, y*_j) are bivariate
normal with correlation rho_ij. The statistics are estimated in two steps (Olsson, 1979; Jöreskog, 1994):

1. **Thresholds**, variable by variable, by univariate ML, which has the closed form

       tau_ik = Phi^-1((n_i1 + ... + n_ik) / N),        k = 1 .. K_i - 1,

   with n_ic the number of cases in category c. (lavaan runs nlminb from this very point.)

2. **Polychoric correlations**, pair by pair, with the thresholds fixed at step 1, by maximising the
   bivariate multinomial log-likelihood of the K_i x K_j contingency table n_ab:

       l(rho) = sum_ab n_ab log pi_ab(rho),
       pi_ab  = Phi2(tau_a, tau_b) - Phi2(tau_a-1, tau_b) - Phi2(tau_a, tau_b-1) + Phi2(tau_a-1, tau_b-1),

   Phi2(h, k) = Phi2(h, k; rho) the bivariate standard normal distribution function. Its derivatives are
   d pi_ab / d rho = phi_ab (the same double difference of the bivariate density phi2(h, k; rho)) and
   d phi2 / d rho = phi2 g(h, k; rho), g = (h k R - rho (h^2 - 2 rho h k + k^2) + rho R) / R^2, R = 1 - rho^2,
   so l'(rho) = sum n_ab phi_ab / pi_ab and l''(rho) = sum n_ab [gphi_ab / pi_ab - phi_ab^2 / pi_ab^2]. The
   maximum is found in [-0.999, 0.999] (lavaan's nlminb bounds) by a safeguarded Newton iteration on l', to
   rounding; lavaan's nlminb stops about 1e-8 short of this root, which is the whole difference between the two
   (Gamma computed at lavaan's correlations agrees with lavaan's to about 1e-10 relative).

   lavaan's details, reproduced: a cell probability below sqrt(eps) (1.5e-8) is set to sqrt(eps), and such
   cells drop out of the gradient and the scores. Empty cells: lavaan's ``zero.add = c(0.5, 0)`` and
   ``zero.keep.margins = TRUE`` (the defaults) act only on a 2 x 2 table with exactly one empty cell: 0.5 is
   added to that cell's diagonal and subtracted from the other diagonal, keeping the margins; larger tables are
   left as they are (zero.add[2] = 0). A 2 x 2 table with two empty cells gives rho = +1 or -1 (with a
   warning), one with n11 n22 = n12 n21 gives rho = 0, and one whose two thresholds are both exactly 0 the
   closed form rho = -cos(2 pi n11 / N).

The asymptotic covariance matrix of s = (all thresholds, variable by variable; then the correlations below
the diagonal, column by column: rho_21, rho_31, ..., rho_p1, rho_32, ...) follows Muthén (1984) and Muthén &
Satorra (1995), as lavaan's ``muthen1984``: both steps solve estimating equations
sum_n psi_n(s) = 0, whose casewise scores are

- for the thresholds, the univariate scores  d log P(y_ni) / d tau_ik
  = [1(y_ni = k) - 1(y_ni = k + 1)] phi(tau_ik) / pi_i,y_ni;
- for the correlations, the bivariate scores  d log pi_ab(rho) / d rho = phi_ab / pi_ab  at the case's cell.

With S the N x len(s) matrix of all scores, INNER = S'S, A11 the block-diagonal (one block per variable) of
INNER on the thresholds, A22 = diag of INNER on the correlations, and A21 = sum_n (rho scores) x (derivatives
of the *bivariate* log-likelihood with respect to the thresholds of the pair), all outer-product (not
expected) versions, the sandwich is

    B = [[A11, 0], [A21, A22]],   acov(s) = B^-1 INNER B^-T,
    Gamma = N acov(s)                 (lavaan's NACOV, ``lavInspect(fit, "gamma")``),

and the DWLS weight matrix is W = diag(1 / diag(Gamma)) (``lavInspect(fit, "wls.v")``). Note that the
scaling is N (the number of complete cases), not N - 1: lavaan's ``gamma.n.minus.one = FALSE`` by default.

The bivariate normal distribution function is computed with Owen's T function (Owen, 1956),

    Phi2(h, k; rho) = Phi(h)/2 + Phi(k)/2 - T(h, (k - rho h) / (h r)) - T(k, (h - rho k) / (k r)) - beta,

r = sqrt(1 - rho^2), beta = 1/2 if h k < 0 or (h k = 0 and h + k < 0), else 0, which agrees with lavaan's
pbivnorm (Genz's algorithm) to about 2e-15 absolutely (``scipy.stats.multivariate_normal.cdf`` does not).

References
----------
Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation coefficient. Psychometrika,
44(4), 443-460.

Muthén, B. (1984). A general structural equation model with dichotomous, ordered categorical, and continuous
latent variable indicators. Psychometrika, 49(1), 115-132.

Muthén, B., & Satorra, A. (1995). Technical aspects of Muthén's LISCOMP approach to estimation of latent
variable relations with a comprehensive measurement model. Psychometrika, 60(4), 489-503.

Jöreskog, K. G. (1994). On the estimation of polychoric correlations and their asymptotic covariance matrix.
Psychometrika, 59(3), 381-389.

Owen, D. B. (1956). Tables for computing bivariate normal probabilities. Annals of Mathematical Statistics,
27(4), 1075-1090.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.linalg import blas
from scipy.special import ndtr, ndtri, owens_t

from ..errors import IasemError

SQRT_EPS = float(np.sqrt(np.finfo(float).eps))  # lavaan's floor for cell probabilities
RHO_BOUND = 0.999  # lavaan's nlminb bounds for a polychoric correlation
_DENSITY_RHO_LIMIT = 0.9999  # lavaan's dbinorm clamps |rho| here
_TWO_PI = 2.0 * np.pi


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrdinalData:
    """Ordered variables coded 1..K, complete cases only.

    ``y`` is the (n, p) integer matrix of category codes 1..K_i (column i for ``names[i]``); ``levels[i]`` holds
    the original values of the categories of variable i, in category order (the sorted unique values of a
    numeric column, the categories of a pandas Categorical), so ``levels[i][y - 1]`` gives the data back.
    """

    names: list[str]
    y: np.ndarray = field(repr=False)
    levels: list[tuple] = field(repr=False)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def nlevels(self) -> np.ndarray:
        """K_i, the number of categories of each variable."""
        return np.array([len(lv) for lv in self.levels], dtype=int)


def ordinal_data(data: pd.DataFrame, names: Sequence[str]) -> OrdinalData:
    """The columns ``names`` of ``data`` as ordered categories 1..K, listwise complete rows.

    The categories of a column are, as in lavaan, its observed values in order: the sorted unique values of a
    numeric (or boolean) column, the categories of a pandas Categorical in their own order (unused ones
    dropped). They are taken from all rows of the column; rows with a missing value in any of ``names`` are
    then dropped.

    Raises IasemError naming the column when a column is missing, not numeric or categorical, has fewer than
    two categories, or loses a whole category to the listwise deletion (lavaan stops there too).
    """
    names = list(names)
    if len(set(names)) != len(names):
        raise IasemError(f"duplicate variable names: {', '.join(sorted({v for v in names if names.count(v) > 1}))}")
    missing = [name for name in names if name not in data.columns]
    if missing:
        raise IasemError(f"the data have no column(s) {', '.join(missing)} that the model uses")
    codes, levels = [], []
    for name in names:
        column = data[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            cat = column.cat.remove_unused_categories()
            code = cat.cat.codes.to_numpy().astype(float)
            code[code < 0] = np.nan
            lv = tuple(cat.cat.categories)
        elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            if np.isinf(values).any():
                raise IasemError(f"ordered variable {name} has infinite values")
            lv_values, inverse = np.unique(values[~np.isnan(values)], return_inverse=True)
            code = np.full(values.shape, np.nan)
            code[~np.isnan(values)] = inverse
            lv = tuple(lv_values.tolist())
        else:
            raise IasemError(
                f"ordered variable {name} is neither numeric nor categorical (dtype {column.dtype}); "
                "code its categories as numbers or as a pandas Categorical"
            )
        if len(lv) < 2:
            raise IasemError(
                f"ordered variable {name} has {len(lv)} observed categor{'y' if len(lv) == 1 else 'ies'}; "
                "it needs at least 2"
            )
        codes.append(code)
        levels.append(lv)
    y = np.column_stack(codes) if codes else np.empty((len(data), 0))
    y = y[~np.isnan(y).any(axis=1)].astype(int) + 1
    if y.shape[0] == 0:
        raise IasemError(f"no complete rows for the ordered variables {', '.join(names)}")
    for i, name in enumerate(names):
        freq = np.bincount(y[:, i] - 1, minlength=len(levels[i]))
        if (freq == 0).any():
            raise IasemError(
                f"some categories of ordered variable {name} are empty after listwise deletion of incomplete "
                f"rows; frequencies are [{' '.join(map(str, freq))}]"
            )
    return OrdinalData(names, y, levels)


# ---------------------------------------------------------------------------------------------------------------
# Normal distribution functions
# ---------------------------------------------------------------------------------------------------------------
def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray | float) -> np.ndarray:
    """Phi2(h, k; rho) = P(X <= h, Y <= k) for standard bivariate normal (X, Y) with correlation rho.

    Elementwise and broadcast; h and k may be +-inf, |rho| <= 1. Uses Owen's T function (see the module
    docstring); rho = +-1 is the degenerate limit (Phi(min(h, k)), resp. max(0, Phi(h) + Phi(k) - 1)).
    """
    h, k, rho = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (h, k, rho)))
    out = np.empty(h.shape)
    ph, pk = ndtr(h), ndtr(k)
    inf = np.isinf(h) | np.isinf(k)
    out[inf] = np.where((h[inf] == -np.inf) | (k[inf] == -np.inf), 0.0, np.where(h[inf] == np.inf, pk[inf], ph[inf]))
    pos, neg = ~inf & (rho >= 1.0), ~inf & (rho <= -1.0)
    out[pos] = ndtr(np.minimum(h[pos], k[pos]))
    out[neg] = np.maximum(0.0, ph[neg] + pk[neg] - 1.0)
    reg = ~inf & ~pos & ~neg
    h, k, rho, ph, pk = h[reg], k[reg], rho[reg], ph[reg], pk[reg]
    r = np.sqrt((1.0 - rho) * (1.0 + rho))
    with np.errstate(divide="ignore", invalid="ignore"):
        th = np.where(h == 0.0, 0.25 * np.sign(k - rho * h), owens_t(h, (k - rho * h) / (h * r)))
        tk = np.where(k == 0.0, 0.25 * np.sign(h - rho * k), owens_t(k, (h - rho * k) / (k * r)))
    beta = np.where((h * k < 0.0) | ((h * k == 0.0) & (h + k < 0.0)), 0.5, 0.0)
    value = 0.5 * ph + 0.5 * pk - th - tk - beta
    both0 = (h == 0.0) & (k == 0.0)
    value[both0] = 0.25 + np.arcsin(rho[both0]) / _TWO_PI
    out[reg] = value
    return out


def _bivariate_normal_pdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """phi2(h, k; rho), 0 where h or k is infinite; |rho| is clamped at 0.9999 as in lavaan's dbinorm."""
    rho = np.clip(rho, -_DENSITY_RHO_LIMIT, _DENSITY_RHO_LIMIT)
    one_m = 1.0 - rho * rho
    finite = np.isfinite(h) & np.isfinite(k)
    hf, kf = np.where(finite, h, 0.0), np.where(finite, k, 0.0)
    dens = np.exp(-0.5 * (hf * hf - 2.0 * rho * hf * kf + kf * kf) / one_m) / (_TWO_PI * np.sqrt(one_m))
    return np.where(finite, dens, 0.0)


def _dlog_pdf_drho(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """g(h, k; rho) = d log phi2(h, k; rho) / d rho (0 where h or k is infinite)."""
    one_m = 1.0 - rho * rho
    finite = np.isfinite(h) & np.isfinite(k)
    hf, kf = np.where(finite, h, 0.0), np.where(finite, k, 0.0)
    g = (hf * kf * one_m - rho * (hf * hf - 2.0 * rho * hf * kf + kf * kf) + rho * one_m) / (one_m * one_m)
    return np.where(finite, g, 0.0)


def _norm_pdf(x: np.ndarray) -> np.ndarray:
    """phi(x), 0 at +-inf."""
    return np.exp(-0.5 * np.square(x)) / np.sqrt(_TWO_PI)


# ---------------------------------------------------------------------------------------------------------------
# Step 1: thresholds
# ---------------------------------------------------------------------------------------------------------------
def thresholds(od: OrdinalData) -> list[np.ndarray]:
    """tau_i = Phi^-1(cumulative proportions of categories 1..K_i - 1) for each variable (list of arrays)."""
    out = []
    for i in range(od.p):
        freq = np.bincount(od.y[:, i] - 1, minlength=len(od.levels[i]))
        out.append(ndtri(np.cumsum(freq[:-1]) / od.n))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Step 2: polychoric correlations, all pairs at once
# ---------------------------------------------------------------------------------------------------------------
class _Pairs:
    """The bivariate tables of all pairs, flattened into one vector of cells (and one of grid points).

    Pair m joins variable ``first[m]`` (rows a = 1..K1 of its table) and ``second[m]`` (columns b = 1..K2), in
    lavaan's order: the lower triangle column by column, i.e. (second, first) = (1, 0), (2, 0), ..., (2, 1), ...
    The grid of pair m holds the (K1 + 1) x (K2 + 1) threshold points (u_a, v_b), a = 0..K1, b = 0..K2, with
    u_0 = v_0 = -inf and u_K1 = v_K2 = +inf; cell (a, b), a, b >= 1, is bounded by grid points (a-1..a, b-1..b).
    """

    def __init__(self, od: OrdinalData, tau: list[np.ndarray]):
        p, k = od.p, od.nlevels
        second, first = np.tril_indices(p, -1)
        order = np.lexsort((second, first))  # column by column of the lower triangle
        self.first, self.second = first[order], second[order]
        npairs = len(self.first)
        k1, k2 = k[self.first], k[self.second]
        self.k1, self.k2 = k1, k2
        ncell = k1 * k2
        ngrid = (k1 + 1) * (k2 + 1)
        self.cell_off = np.concatenate([[0], np.cumsum(ncell)[:-1]]).astype(int)
        grid_off = np.concatenate([[0], np.cumsum(ngrid)[:-1]]).astype(int)
        ext = [np.concatenate([[-np.inf], t, [np.inf]]) for t in tau]

        # Grid points: u runs over the first variable's extended thresholds (slowly), v over the second's, gathered
        # from all variables' extended thresholds end to end (one index operation, not two per pair).
        self.grid_pair = np.repeat(np.arange(npairs), ngrid)
        ext_all = np.concatenate(ext)
        ext_off = np.concatenate([[0], np.cumsum(k + 1)[:-1]]).astype(int)
        grid_local = np.arange(ngrid.sum()) - grid_off[self.grid_pair]
        grid_width = k2[self.grid_pair] + 1
        self.u = ext_all[ext_off[self.first][self.grid_pair] + grid_local // grid_width]
        self.v = ext_all[ext_off[self.second][self.grid_pair] + grid_local % grid_width]

        # Cells: pair, row a and column b (1-based), and the four corner grid points.
        self.cell_pair = np.repeat(np.arange(npairs), ncell)
        local = np.arange(ncell.sum()) - self.cell_off[self.cell_pair]
        kc = k2[self.cell_pair]
        self.a = local // kc + 1
        self.b = local % kc + 1
        base = grid_off[self.cell_pair]
        w = kc + 1
        self.g11 = base + self.a * w + self.b
        self.g01 = base + (self.a - 1) * w + self.b
        self.g10 = base + self.a * w + self.b - 1
        self.g00 = base + (self.a - 1) * w + self.b - 1

        # Each case's cell in each table, and the observed frequencies.
        y = od.y
        self.case_cell = self.cell_off[None, :] + (y[:, self.first] - 1) * k2[None, :] + (y[:, self.second] - 1)
        self.freq = np.bincount(self.case_cell.ravel(), minlength=int(ncell.sum())).astype(float)

    @property
    def npairs(self) -> int:
        return len(self.first)

    def table(self, m: int, values: np.ndarray | None = None) -> np.ndarray:
        """The K1 x K2 table of pair m (frequencies by default)."""
        values = self.freq if values is None else values
        lo = self.cell_off[m]
        return values[lo : lo + self.k1[m] * self.k2[m]].reshape(self.k1[m], self.k2[m])

    def _corners(self, grid: np.ndarray) -> np.ndarray:
        return grid[self.g11] - grid[self.g01] - grid[self.g10] + grid[self.g00]

    def probabilities(self, rho: np.ndarray) -> np.ndarray:
        """pi_ab at rho (one per pair), floored at sqrt(eps) as lavaan does (except at rho = 0)."""
        r = rho[self.grid_pair]
        grid = np.where(r == 0.0, ndtr(self.u) * ndtr(self.v), bivariate_normal_cdf(self.u, self.v, r))
        pi = self._corners(grid)
        floor = (rho[self.cell_pair] != 0.0) & (pi < SQRT_EPS)
        return np.where(floor, SQRT_EPS, pi)

    def densities(self, rho: np.ndarray, second_derivative: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """phi_ab = d pi_ab / d rho, and optionally d phi_ab / d rho."""
        r = rho[self.grid_pair]
        dens = _bivariate_normal_pdf(self.u, self.v, r)
        phi = self._corners(dens)
        if not second_derivative:
            return phi, None
        return phi, self._corners(dens * _dlog_pdf_drho(self.u, self.v, r))

    def score_equation(self, rho: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """l'(rho) and l''(rho) per pair, for the frequencies ``freq`` (cells with pi <= sqrt(eps) left out)."""
        pi = self.probabilities(rho)
        phi, gphi = self.densities(rho, second_derivative=True)
        ok = pi > SQRT_EPS
        ratio = np.where(ok, phi / pi, 0.0)
        grad = np.bincount(self.cell_pair, weights=freq * ratio, minlength=self.npairs)
        curv = np.where(ok, gphi / pi, 0.0) - ratio * ratio
        hess = np.bincount(self.cell_pair, weights=freq * curv, minlength=self.npairs)
        return grad, hess


def _prepare_tables(
    pairs: _Pairs, tau: list[np.ndarray], zero_add: tuple[float, float], zero_keep_margins: bool, names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """lavaan's empty-cell handling: the frequencies to fit, the pairs whose rho is already known (closed forms)
    with their values, and warnings."""
    fit_freq = pairs.freq.copy()
    fixed = np.zeros(pairs.npairs, dtype=bool)
    fixed_rho = np.zeros(pairs.npairs)
    warnings: list[str] = []
    for m in range(pairs.npairs):
        table = pairs.table(m, fit_freq)  # a view into fit_freq
        zeros = table == 0
        if table.shape == (2, 2):
            n_zero = int(zeros.sum())
            if n_zero == 2:
                fixed[m], fixed_rho[m] = True, (1.0 if table[0, 0] > 0 else -1.0)
                warnings.append(
                    f"two empty cells in the 2 x 2 table of {names[pairs.first[m]]} and {names[pairs.second[m]]}; "
                    f"their polychoric correlation is set to {fixed_rho[m]:+.0f}"
                )
                continue
            if n_zero == 1 and zero_add[0] > 0:
                if zero_keep_margins:
                    sign = 1.0 if zeros[0, 0] or zeros[1, 1] else -1.0
                    table += sign * zero_add[0] * np.array([[1.0, -1.0], [-1.0, 1.0]])
                else:
                    table[zeros] += zero_add[0]
            if table[0, 0] * table[1, 1] == table[0, 1] * table[1, 0]:
                fixed[m], fixed_rho[m] = True, 0.0
            elif tau[pairs.first[m]][0] == 0.0 and tau[pairs.second[m]][0] == 0.0:
                fixed[m], fixed_rho[m] = True, -np.cos(_TWO_PI * table[0, 0] / table.sum())
        elif zeros.any() and zero_add[1] > 0:
            table[zeros] = zero_add[1]
    return fit_freq, fixed, fixed_rho, warnings


def _start_values(od: OrdinalData, pairs: _Pairs) -> np.ndarray:
    """lavaan's start: the Pearson correlation of the category codes (0 if undefined or +-1)."""
    y = od.y.astype(float)
    z = y - y.mean(axis=0)
    sd = np.sqrt((z * z).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (z[:, pairs.first] * z[:, pairs.second]).sum(axis=0) / (sd[pairs.first] * sd[pairs.second])
    return np.where(np.isfinite(r) & (np.abs(r) < 1.0), r, 0.0)


def _maximise(pairs: _Pairs, freq: np.ndarray, start: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The ML rho of every active pair in [-0.999, 0.999]: safeguarded Newton on l'(rho) = 0, all pairs at once.

    Each pair keeps a bracket [lo, hi] (initially lavaan's bounds) that the sign of l' at each iterate narrows;
    a Newton step that leaves the bracket, or is taken where l'' >= 0, is replaced by bisection. A pair whose
    maximum lies on a bound converges to that bound, where lavaan's bounded nlminb ends too. (The sign of l' at
    the bounds themselves is not used: near +-1 the floored cell probabilities make it unreliable.)
    """
    n = pairs.npairs
    lo, hi = np.full(n, -RHO_BOUND), np.full(n, RHO_BOUND)
    rho = np.clip(start, -RHO_BOUND, RHO_BOUND)
    todo = active.copy()
    for _ in range(100):
        if not todo.any():
            break
        grad, hess = pairs.score_equation(rho, freq)
        lo = np.where(todo & (grad > 0.0), rho, lo)
        hi = np.where(todo & (grad < 0.0), rho, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = rho - grad / hess
        ok = (hess < 0.0) & (newton >= lo) & (newton <= hi)
        new = np.where(ok, newton, 0.5 * (lo + hi))
        new = np.where(grad == 0.0, rho, new)
        done = (np.abs(new - rho) <= 1e-13) | (hi - lo <= 1e-13)
        rho = np.where(todo, new, rho)
        todo &= ~done
    return rho


@dataclass(frozen=True)
class Polychoric:
    """The polychoric correlation matrix with lavaan's by-products: the pairs (first, second) whose bivariate
    table has an empty cell (lavaan's ``zero.cell.tables``) and the warnings lavaan would give."""

    cor: np.ndarray
    zero_cell_pairs: list[tuple[str, str]]
    warnings: list[str]


def polychoric(
    od: OrdinalData,
    tau: list[np.ndarray] | None = None,
    *,
    zero_add: tuple[float, float] = (0.5, 0.0),
    zero_keep_margins: bool = True,
    pairs: _Pairs | None = None,
) -> Polychoric:
    """Two-step polychoric correlations of all pairs of ``od`` with the thresholds ``tau`` held fixed.

    ``tau`` defaults to :func:`thresholds`; ``zero_add`` and ``zero_keep_margins`` are lavaan's options of the
    same names, with lavaan's defaults (they only change 2 x 2 tables with one empty cell, see the module
    docstring). ``pairs``: the tables of ``od`` at ``tau``, when the caller has them already.
    """
    tau = thresholds(od) if tau is None else tau
    cor = np.eye(od.p)
    if od.p < 2:
        return Polychoric(cor, [], [])
    pairs = _Pairs(od, tau) if pairs is None else pairs
    fit_freq, fixed, fixed_rho, warnings = _prepare_tables(pairs, tau, zero_add, zero_keep_margins, od.names)
    zero_cells = [
        (od.names[pairs.first[m]], od.names[pairs.second[m]])
        for m in range(pairs.npairs)
        if (pairs.table(m) == 0).any()
    ]
    rho = _maximise(pairs, fit_freq, _start_values(od, pairs), ~fixed)
    rho = np.where(fixed, fixed_rho, rho)
    cor[pairs.second, pairs.first] = rho
    cor[pairs.first, pairs.second] = rho
    for m in np.flatnonzero(np.abs(rho) > 0.99):
        warnings.append(
            f"the polychoric correlation of {od.names[pairs.second[m]]} and {od.names[pairs.first[m]]} is (nearly) 1.0"
        )
    return Polychoric(cor, zero_cells, warnings)


# ---------------------------------------------------------------------------------------------------------------
# Gamma: the asymptotic covariance matrix of (thresholds, correlations)
# ---------------------------------------------------------------------------------------------------------------
def ordinal_gamma(
    od: OrdinalData,
    tau: list[np.ndarray],
    cor: np.ndarray,
    *,
    gamma_n_minus_one: bool = False,
    pairs: _Pairs | None = None,
) -> np.ndarray:
    """lavaan's NACOV of s = (thresholds, correlations below the diagonal column by column): N B^-1 INNER B^-T.

    ``tau`` and ``cor`` are the estimates the scores are evaluated at (normally :func:`thresholds` and
    :func:`polychoric`). With ``gamma_n_minus_one`` (lavaan's option, default False) Gamma is multiplied by
    N / (N - 1). See the module docstring for the formulas. ``pairs``: the tables of ``od`` at ``tau``, when the
    caller has them already.
    """
    n, p = od.n, od.p
    nth = od.nlevels - 1
    th_off = np.concatenate([[0], np.cumsum(nth)[:-1]]).astype(int)
    n_th = int(nth.sum())

    # Univariate scores: a case in category c of variable i has +phi(tau_c) / pi_c for threshold c and
    # -phi(tau_c-1) / pi_c for threshold c - 1.
    rows = np.arange(n)
    sc_th = np.zeros((n, n_th))
    for i in range(p):
        ext = np.concatenate([[-np.inf], tau[i], [np.inf]])
        pi_c = ndtr(ext[1:]) - ndtr(ext[:-1])
        c = od.y[:, i]
        up = c <= nth[i]
        sc_th[rows[up], th_off[i] + c[up] - 1] = _norm_pdf(ext[c[up]]) / pi_c[c[up] - 1]
        low = c >= 2
        sc_th[rows[low], th_off[i] + c[low] - 2] = -_norm_pdf(ext[c[low] - 1]) / pi_c[c[low] - 1]

    if p > 1:
        pairs = _Pairs(od, tau) if pairs is None else pairs
        sc_cor, a21 = _correlation_scores(pairs, cor[pairs.second, pairs.first], th_off, n_th)
    else:
        sc_cor, a21 = np.zeros((n, 0)), np.zeros((0, n_th))

    # The sandwich B^-1 INNER B^-T with INNER = scores' scores and B = [[A11, 0], [A21, A22]], A11 (the threshold
    # blocks of INNER) block diagonal, A22 (the diagonal of INNER's correlation block) diagonal. It is taken as
    # S'S with S = scores B^-T: B^-1 = [[A11^-1, 0], [-A22^-1 A21 A11^-1, A22^-1]] is mostly zeros, so S costs
    # a fraction of a dense product, and INNER itself is never formed (the costliest products of a WLSMV fit).
    a11_inv = np.zeros((n_th, n_th))
    for i in range(p):
        idx = slice(th_off[i], th_off[i] + nth[i])
        a11_inv[idx, idx] = np.linalg.inv(sc_th[:, idx].T @ sc_th[:, idx])
    a22 = np.einsum("nk,nk->k", sc_cor, sc_cor)
    if (a22 == 0).any():
        bad = [f"{od.names[pairs.second[m]]} and {od.names[pairs.first[m]]}" for m in np.flatnonzero(a22 == 0)]
        raise IasemError(f"the polychoric correlation of {', '.join(bad)} has no information (all its scores are 0)")
    lower_left = -(a21 @ a11_inv) / a22[:, None]
    transformed = np.hstack([sc_th @ a11_inv.T, sc_th @ lower_left.T + sc_cor / a22])
    upper = blas.dsyrk(1.0, transformed.T, trans=0)  # S'S (its upper triangle), S column-major for BLAS
    gamma = n * (np.triu(upper) + np.triu(upper, 1).T)
    if gamma_n_minus_one:
        gamma *= n / (n - 1)
    return gamma


def _correlation_scores(pairs: _Pairs, rho: np.ndarray, th_off: np.ndarray, n_th: int) -> tuple[np.ndarray, np.ndarray]:
    """The casewise scores d log pi / d rho (N x npairs), and A21 (npairs x n_th): the sums over cases of the
    rho score times the derivatives of the pair's bivariate log-likelihood with respect to its thresholds."""
    pi = pairs.probabilities(rho)
    phi, _ = pairs.densities(rho)
    ok = pi > SQRT_EPS  # lavaan: the scores of cases in cells with pi <= sqrt(eps) are NA, i.e. left out
    ratio = np.where(ok, phi / pi, 0.0)
    sc_cor = ratio[pairs.case_cell]

    # d Phi2(u, v) / d u = phi(u) Phi((v - rho u) / r) on the grid (0 for infinite u), and the same with the
    # roles of u and v swapped.
    r_grid = rho[pairs.grid_pair]
    r = np.sqrt((1.0 - r_grid) * (1.0 + r_grid))
    u, v = pairs.u, pairs.v
    uf, vf = np.isfinite(u), np.isfinite(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        du = np.where(uf, _norm_pdf(u) * ndtr((v - r_grid * np.where(uf, u, 0.0)) / r), 0.0)
        dv = np.where(vf, _norm_pdf(v) * ndtr((u - r_grid * np.where(vf, v, 0.0)) / r), 0.0)

    # Per cell (a, b): d pi / d tau1_a = du[a, b] - du[a, b-1], d pi / d tau1_a-1 = -(du[a-1, b] - du[a-1, b-1]);
    # likewise for the column variable. Each case in the cell adds ratio * (d pi / d tau) / pi to A21.
    cp = pairs.cell_pair
    upper_u = du[pairs.g11] - du[pairs.g10]
    lower_u = -(du[pairs.g01] - du[pairs.g00])
    upper_v = dv[pairs.g11] - dv[pairs.g01]
    lower_v = -(dv[pairs.g10] - dv[pairs.g00])
    degenerate = np.abs(rho[cp]) >= 1.0
    if degenerate.any():  # rho = +-1: lavaan takes phi(tau) / 2 whatever the cell's other bounds
        half = 0.5 * _norm_pdf(u)
        upper_u = np.where(degenerate, half[pairs.g11], upper_u)
        lower_u = np.where(degenerate, -half[pairs.g01], lower_u)
        half = 0.5 * _norm_pdf(v)
        upper_v = np.where(degenerate, half[pairs.g11], upper_v)
        lower_v = np.where(degenerate, -half[pairs.g10], lower_v)
    weight = pairs.freq * np.where(ok, ratio / pi, 0.0)
    k1, k2 = pairs.k1[cp], pairs.k2[cp]
    off1, off2 = th_off[pairs.first][cp], th_off[pairs.second][cp]
    a, b = pairs.a, pairs.b
    a21 = np.zeros(pairs.npairs * n_th)
    for keep, col, deriv in (
        (a <= k1 - 1, off1 + a - 1, upper_u),
        (a >= 2, off1 + a - 2, lower_u),
        (b <= k2 - 1, off2 + b - 1, upper_v),
        (b >= 2, off2 + b - 2, lower_v),
    ):
        a21 += np.bincount(cp[keep] * n_th + col[keep], weights=weight[keep] * deriv[keep], minlength=len(a21))
    return sc_cor, a21.reshape(pairs.npairs, n_th)


# ---------------------------------------------------------------------------------------------------------------
# Everything together
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrdinalStats:
    """Thresholds, polychoric correlations and Gamma of ordered data, in lavaan's order.

    - ``names``: the variables (model order); ``n``: the number of complete cases; ``nlevels``: K per variable.
    - ``thresholds``: all thresholds, variable by variable (tau_i1 .. tau_i,K-1), as lavaan's ``th``;
      ``threshold_var[t]`` the index (into ``names``) of threshold t.
    - ``cor``: the p x p polychoric correlation matrix (unit diagonal).
    - ``gamma``: lavaan's NACOV, N times the asymptotic covariance matrix of ``s`` (N, not N - 1).
    - ``s``: the statistics vector (lavaan's ``wls.obs``): the thresholds, then ``cor`` below the diagonal
      column by column (pairs (1,0), (2,0), ..., (p-1,0), (2,1), ...), named as lavaan names them by
      ``stat_names`` ("x1|t1", ..., "x1~~x2", ...).
    - ``weights``: 1 / diag(gamma), the diagonal of the DWLS weight matrix ``wls_v`` (lavaan's ``wls.v``).
    - ``zero_cell_pairs``: the pairs (first, second) whose bivariate table has an empty cell (lavaan's
      ``zero.cell.tables``); ``warnings``: what lavaan would warn about the correlations.
    """

    names: list[str]
    n: int
    nlevels: np.ndarray
    thresholds: np.ndarray
    threshold_var: np.ndarray
    cor: np.ndarray
    gamma: np.ndarray = field(repr=False)
    zero_cell_pairs: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def p(self) -> int:
        return len(self.names)

    @cached_property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, columns) of the correlations in ``s``: below the diagonal, column by column."""
        cols, rows = np.triu_indices(self.p, 1)
        return _read_only(rows), _read_only(cols)

    @property
    def threshold_names(self) -> list[str]:
        """lavaan's names of the thresholds: "x1|t1", "x1|t2", ..."""
        count = np.zeros(self.p, dtype=int)
        out = []
        for v in self.threshold_var:
            count[v] += 1
            out.append(f"{self.names[v]}|t{count[v]}")
        return out

    @property
    def stat_names(self) -> list[str]:
        """lavaan's names of ``s`` (the row names of ``lavInspect(fit, "gamma")``)."""
        rows, cols = self.pairs
        return self.threshold_names + [f"{self.names[c]}~~{self.names[r]}" for r, c in zip(rows, cols, strict=True)]

    @cached_property
    def s(self) -> np.ndarray:
        rows, cols = self.pairs
        return _read_only(np.concatenate([self.thresholds, self.cor[rows, cols]]))

    @property
    def acov(self) -> np.ndarray:
        """The asymptotic covariance matrix of ``s`` itself, gamma / N."""
        return self.gamma / self.n

    @cached_property
    def weights(self) -> np.ndarray:
        """The diagonal of the DWLS weight matrix, 1 / diag(gamma)."""
        return _read_only(1.0 / np.diag(self.gamma))

    @property
    def wls_v(self) -> np.ndarray:
        """lavaan's ``wls.v`` for DWLS: diag(1 / diag(gamma))."""
        return np.diag(self.weights)

    # The moments the shared stages (start values, SRMR, residuals) read.
    @property
    def cov(self) -> np.ndarray:
        return self.cor

    @property
    def mean(self) -> np.ndarray:
        return np.zeros(self.p)


def _read_only(values: np.ndarray) -> np.ndarray:
    """``values``, locked: the cached properties of :class:`OrdinalStats` hand the same array to every caller."""
    values.flags.writeable = False
    return values


def ordinal_stats(
    data: pd.DataFrame,
    names: Sequence[str],
    *,
    ordered: Iterable[str] | None = None,
    zero_add: tuple[float, float] = (0.5, 0.0),
    zero_keep_margins: bool = True,
    gamma_n_minus_one: bool = False,
) -> OrdinalStats:
    """Thresholds, polychoric correlations and their Gamma for the ordered variables ``names`` of ``data``.

    Parameters
    ----------
    data
        The data; rows with a missing value in any of ``names`` are dropped (see :func:`ordinal_data`).
    names
        The model's observed variables, in the model's order (lavaan's ``ov.names``).
    ordered
        The variables declared ordered; all of ``names`` by default. A mix of ordered and continuous variables
        (lavaan's means, variances and polyserial correlations) is not supported and raises IasemError.
    zero_add, zero_keep_margins
        lavaan's options of the same names, with lavaan's defaults (see the module docstring).
    gamma_n_minus_one
        lavaan's ``gamma.n.minus.one``: scale Gamma by N / (N - 1) (default False, as lavaan).

    Returns
    -------
    OrdinalStats
        ``s`` = (thresholds, correlations) in lavaan's order, ``gamma`` (lavaan's NACOV) and the DWLS
        ``weights`` = 1 / diag(gamma).
    """
    names = list(names)
    if not names:
        raise IasemError("no variables to compute ordinal sample statistics for")
    if ordered is not None:
        ordered = set(ordered)
        continuous = [name for name in names if name not in ordered]
        if continuous:
            raise IasemError(
                "a mix of ordered and continuous variables is not supported: declare every observed variable of "
                f"the model ordered, or none (not ordered: {', '.join(continuous)})"
            )
    od = ordinal_data(data, names)
    tau = thresholds(od)
    pairs = _Pairs(od, tau) if od.p > 1 else None  # the tables, built once for both steps
    poly = polychoric(od, tau, zero_add=zero_add, zero_keep_margins=zero_keep_margins, pairs=pairs)
    gamma = ordinal_gamma(od, tau, poly.cor, gamma_n_minus_one=gamma_n_minus_one, pairs=pairs)
    nth = od.nlevels - 1
    return OrdinalStats(
        names=od.names,
        n=od.n,
        nlevels=od.nlevels,
        thresholds=np.concatenate(tau),
        threshold_var=np.repeat(np.arange(od.p), nth),
        cor=poly.cor,
        gamma=gamma,
        zero_cell_pairs=poly.zero_cell_pairs,
        warnings=poly.warnings,
    )


def wls_stats(data: pd.DataFrame, names: Sequence[str]) -> OrdinalStats:
    """The sample statistics of lavaan's WLSMV for the all-ordered variables ``names``: :func:`ordinal_stats`
    with lavaan's default options."""
    return ordinal_stats(data, names)
