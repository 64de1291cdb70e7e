r"""General constraints of lavaan model syntax for single-group ML: equalities between expressions
(``a == b^2``, ``c + d == 2``, ``e == 1.1``) and inequalities (``v > 0``, ``a < b``).

An equality of two labels (``a == b``) and the ``.pA. == .pB.`` rows written for shared labels are not
handled here: :func:`iasem.engine.estimate.free_positions` merges those parameters into one element of x.
Every other ``==``, ``<`` or ``>`` row becomes a function of the free-parameter vector x,

.. math::

    h_k(x) = \mathrm{lhs}_k(x) - \mathrm{rhs}_k(x) = 0 \quad (\texttt{==}), \qquad
    g_k(x) = \begin{cases} \mathrm{lhs}_k(x) - \mathrm{rhs}_k(x) & (\texttt{>}) \\
                          \mathrm{rhs}_k(x) - \mathrm{lhs}_k(x) & (\texttt{<}) \end{cases} \;\ge 0,

as lavaan 0.6.14 writes them (``lav_partable_constraints_ceq`` and ``_ciq``): a label stands for its
parameter's value (a fixed parameter's fixed value), and a ``:=`` name for its defined expression.

Estimation minimises lavaan's ML discrepancy :math:`F(x)` (``fmin``) subject to the constraints. At the
solution the Karush-Kuhn-Tucker conditions hold, in lavaan's sign convention for the Lagrangian
:math:`L = F - \lambda' h - \mu' g`:

.. math::

    \nabla F(\hat x) = H(\hat x)' \lambda + G(\hat x)' \mu, \qquad h(\hat x) = 0, \qquad
    g(\hat x) \ge 0, \quad \mu \ge 0, \quad \mu_k g_k(\hat x) = 0,

with H and G the Jacobians of h and g. Standard errors come from the information bordered with the
Jacobian A of the equalities and of the *active* inequalities (Aitchison and Silvey 1958; Silvey 1959),
as lavaan's ``lav_model_information_augment_invert``:

.. math::

    \widehat{\mathrm{Var}}(\hat x) = \frac{1}{N}
    \left[\begin{pmatrix} \mathcal I + A'A & A' \\ A & 0 \end{pmatrix}^{+}\right]_{11}
    = \left[\begin{pmatrix} N \mathcal I & A' \\ A & 0 \end{pmatrix}^{-1}\right]_{11}
    = \frac{1}{N} Z (Z' \mathcal I Z)^{-1} Z',

with :math:`\mathcal I` the expected information of one observation, :math:`^{+}` the Moore-Penrose
inverse and Z a basis of the null space of A (the last two forms hold when the bordered matrix is
regular). An inequality is active, as lavaan decides it after ``nlminb.constr``, when its value is at most
``1e-5``. The chi-square test gains one degree of freedom per independent equality (the rank of H), and
``npar`` loses as many; inequalities change neither (``lav_model_test``, ``lav_utils_get_npar``).

References
----------
Aitchison, J., & Silvey, S. D. (1958). Maximum-likelihood estimation of parameters subject to restraints.
*The Annals of Mathematical Statistics*, 29(3), 813-828.

Silvey, S. D. (1959). The Lagrangian multiplier test. *The Annals of Mathematical Statistics*, 30(2),
389-407.

Lee, S.-Y., & Bentler, P. M. (1980). Some asymptotic properties of constrained generalized least squares
estimation in covariance structure models. *South African Statistical Journal*, 14(2), 121-136.

Kraft, D. (1988). *A software package for sequential quadratic programming* (DFVLR-FB 88-28). SLSQP.

Nocedal, J., & Wright, S. J. (2006). *Numerical optimization* (2nd ed.), ch. 16 and 18 (active sets, SQP).

Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of Statistical
Software*, 48(2), 1-36. Version 0.6.14: ``lav_constraints_parse``, ``nlminb.constr``, ``lav_model_vcov``,
``lav_model_information_augment_invert``, ``lav_model_test``.
"""

from __future__ import annotations

import ast
import warnings as _warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import IasemError
from .defined import evaluate_expression
from .estimate import MLState, Optimum, Parameters, evaluate, minimise, start_values
from .lisrel import Representation
from .sample_stats import SampleStats

__all__ = [
    "ACTIVE_SLACK",
    "ConstrainedOptimum",
    "Constraint",
    "Constraints",
    "active_inequalities",
    "build_constraints",
    "constrained_minimise",
    "constrained_vcov",
    "df_adjustment",
    "fit_constrained",
    "has_general_constraints",
]

CONSTRAINT_OPERATORS = ("==", "<", ">")
# Rows of the parameter table that do not live in the model matrices.
_EXPRESSION_OPERATORS = (":=", *CONSTRAINT_OPERATORS)
# lavaan (nlminb.constr) treats an inequality whose value exceeds this as inactive at the solution.
ACTIVE_SLACK = 1e-5
# MASS::ginv's tolerance in lav_model_information_augment_invert: .Machine$double.eps^(3/4).
GINV_TOL = np.finfo(float).eps ** 0.75
# R's qr() tolerance, which lavaan's rank of the equality Jacobian uses.
QR_RANK_TOL = 1e-7
# Active inequalities are solved to g = +MARGIN, so that a bound such as ``v > 0`` ends on the feasible side
# (a variance of +1e-12, not -1e-17) rather than exactly on it.
MARGIN = 1e-12


@dataclass(frozen=True)
class Constraint:
    """One ``lhs op rhs`` row of the parameter table that x must satisfy."""

    lhs: str
    op: str
    rhs: str

    @property
    def text(self) -> str:
        return f"{self.lhs} {self.op} {self.rhs}"

    def value(self, names: Mapping[str, float]) -> float:
        """:math:`h = lhs - rhs` for ``==`` and ``>``, :math:`g = rhs - lhs` for ``<``."""
        lhs, rhs = evaluate_expression(self.lhs, names), evaluate_expression(self.rhs, names)
        return rhs - lhs if self.op == "<" else lhs - rhs


@dataclass
class Constraints:
    r"""The equality constraints :math:`h(x) = 0` and inequality constraints :math:`g(x) \ge 0` of a model,
    as functions of the free-parameter vector x (after label equalities are merged).

    ``names(x)`` gives the value of every label, plabel and ``:=`` name at x.
    """

    equalities: tuple[Constraint, ...]
    inequalities: tuple[Constraint, ...]
    n_free: int
    names: Callable[[np.ndarray], dict[str, float]] = field(repr=False)

    def __bool__(self) -> bool:
        return bool(self.equalities or self.inequalities)

    def h(self, x: np.ndarray) -> np.ndarray:
        """The equality constraints' values; zero where they hold."""
        names = self.names(x)
        return np.array([c.value(names) for c in self.equalities], dtype=float)

    def g(self, x: np.ndarray) -> np.ndarray:
        """The inequality constraints' values; non-negative where they hold."""
        names = self.names(x)
        return np.array([c.value(names) for c in self.inequalities], dtype=float)

    def h_jacobian(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\partial h / \\partial x'`, shape (equalities, free parameters), by central differences."""
        return _jacobian(self.h, x, len(self.equalities))

    def g_jacobian(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\partial g / \\partial x'`, shape (inequalities, free parameters), by central differences."""
        return _jacobian(self.g, x, len(self.inequalities))

    def active_jacobian(self, x: np.ndarray, slack: float = ACTIVE_SLACK) -> np.ndarray:
        """The rows lavaan borders the information with: every equality, then the active inequalities."""
        active = active_inequalities(self.g(x), slack)
        return np.vstack([self.h_jacobian(x), self.g_jacobian(x)[active]])


def _jacobian(func: Callable[[np.ndarray], np.ndarray], x: np.ndarray, rows: int) -> np.ndarray:
    """Central differences, step :math:`10^{-6} \\max(1, |x_k|)`: exact for linear constraints (up to rounding),
    error :math:`O(\\delta^2)` otherwise."""
    out = np.zeros((rows, len(x)))
    if rows == 0:
        return out
    for k in range(len(x)):
        step = 1e-6 * max(1.0, abs(x[k]))
        up, down = x.copy(), x.copy()
        up[k] += step
        down[k] -= step
        out[:, k] = (func(up) - func(down)) / (up[k] - down[k])
    return out


def has_general_constraints(table: pd.DataFrame) -> bool:
    """Whether ``table`` has a ``==``, ``<`` or ``>`` row that merging labels does not impose (the rows
    :func:`~iasem.engine.estimate.unsupported_constraints` lists)."""
    return bool(_constraint_rows(table, None))


def _names_in(expression: str) -> list[str]:
    """The names an expression reads (not the functions it calls)."""
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise IasemError(f"cannot read the expression {expression!r}") from None
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]


def _model_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that live in the matrices, in table order: the first rows of ``Representation.rows``."""
    return table[~table["op"].isin(_EXPRESSION_OPERATORS)]


def _name_rows(table: pd.DataFrame) -> dict[str, int]:
    """Label or plabel -> position among the model rows, as lavaan matches them (a label names its first row;
    a plabel its own row and wins over a label of the same spelling)."""
    rows = _model_rows(table)
    out: dict[str, int] = {}
    for k, label in enumerate(rows["label"]):
        if isinstance(label, str) and label:
            out.setdefault(label, k)
    for k, plabel in enumerate(rows["plabel"]):
        if isinstance(plabel, str) and plabel:
            out[plabel] = k
    return out


def _constraint_rows(table: pd.DataFrame, index: np.ndarray | None) -> list[Constraint]:
    """The ``==``, ``<``, ``>`` rows left once label equalities are merged: an ``==`` between two names whose
    parameters share one element of x (``index``, the free position of each model row) holds by construction.
    Without ``index``, an ``==`` between two names of free parameters counts as merged (what
    :func:`~iasem.engine.estimate.free_positions` does)."""
    rows = _name_rows(table)
    free = _model_rows(table)["free"].to_numpy(dtype=int)
    out = []
    for r in table[table["op"].isin(CONSTRAINT_OPERATORS)].itertuples():
        if r.op == "==" and r.lhs in rows and r.rhs in rows:
            a, b = rows[r.lhs], rows[r.rhs]
            same_x = index is not None and index[a] >= 0 and index[a] == index[b]
            both_free = index is None and free[a] > 0 and free[b] > 0
            if same_x or both_free:
                continue
        out.append(Constraint(str(r.lhs), str(r.op), str(r.rhs)))
    return out


def build_constraints(table: pd.DataFrame, params: Parameters) -> Constraints:
    """The general constraints of ``table`` as functions of x.

    Parameters
    ----------
    table : DataFrame
        The parameter table (:func:`iasem.syntax.partable`), one group.
    params : Parameters
        Its free parameters (:func:`iasem.engine.estimate.parameters`): ``params.row_values(x)`` gives the
        value of every model row, in table order.

    Returns
    -------
    Constraints
        Equalities and inequalities in table order; labels read the value of their parameter (the first row
        that carries the label, or the fixed value of a fixed one), ``:=`` names their expression, evaluated
        in table order (a definition may use an earlier one).

    Raises
    ------
    IasemError
        When an expression names something that is neither a label, a plabel nor a defined parameter.
    """
    if (table["group"] > 1).any():
        raise IasemError("general constraints (==, <, >) are available for one group only")
    rows = _name_rows(table)
    n_model = len(_model_rows(table))
    defined = [(str(r.lhs), str(r.rhs)) for r in table[table["op"] == ":="].itertuples()]
    constraints = _constraint_rows(table, params.index[:n_model])
    known = set(rows) | {name for name, _ in defined}
    for c in constraints:
        for name in _names_in(c.lhs) + _names_in(c.rhs):
            if name not in known:
                raise IasemError(f"{name!r} in the constraint '{c.text}' is not a parameter label")
    items = list(rows.items())

    def names(x: np.ndarray) -> dict[str, float]:
        values = params.row_values(x)
        out = {name: float(values[k]) for name, k in items}
        for name, expression in defined:
            out[name] = evaluate_expression(expression, out)
        return out

    return Constraints(
        equalities=tuple(c for c in constraints if c.op == "=="),
        inequalities=tuple(c for c in constraints if c.op != "=="),
        n_free=params.n_free,
        names=names,
    )


def active_inequalities(values: np.ndarray, slack: float = ACTIVE_SLACK) -> np.ndarray:
    r"""Which inequalities are active at a solution, as lavaan decides it.

    lavaan's ``nlminb.constr`` keeps an inequality :math:`g_k(\hat x) \ge 0` in the constraint Jacobian that
    borders the information unless :math:`g_k(\hat x) > 10^{-5}` ("inactive.idx"): a constraint on its
    boundary, or within ``slack`` of it, counts as an equality for the standard errors.

    Parameters
    ----------
    values : ndarray
        :math:`g(\hat x)`, the inequalities' values at the solution.
    slack : float
        The largest value that still counts as active (lavaan: ``1e-5``).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> active_inequalities(np.array([0.0, 2e-6, 0.17]))
    array([ True,  True, False])
    """
    return np.asarray(values, dtype=float) <= slack


@dataclass
class ConstrainedOptimum(Optimum):
    """An :class:`~iasem.engine.estimate.Optimum` with the Lagrange multipliers (lavaan's sign: ``F - lambda' c``)
    of the equalities and inequalities (zero for an inactive one) and the inequalities lavaan counts active."""

    eq_multipliers: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ineq_multipliers: np.ndarray = field(default_factory=lambda: np.zeros(0))
    active: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def constrained_minimise(
    params: Parameters,
    stats: SampleStats,
    x0: np.ndarray,
    constraints: Constraints,
    evaluator: Callable[..., MLState | None] = evaluate,
    *,
    max_iter: int = 1000,
    max_polish: int = 500,
    xtol: float = 1e-10,
    ctol: float = 1e-10,
) -> Optimum:
    r"""Minimise the discrepancy function subject to the constraints.

    Two stages. (1) scipy's SLSQP (Kraft 1988) from ``x0`` with the evaluator's analytic gradient and the
    constraints' Jacobians finds the solution and which inequalities bind. (2) Fisher-scoring SQP steps on the
    working set W (the equalities and the binding inequalities) polish it to full precision: each step solves

    .. math::

        \begin{pmatrix} \mathcal I & A_W' \\ A_W & 0 \end{pmatrix}
        \begin{pmatrix} d \\ -\lambda \end{pmatrix} = -\begin{pmatrix} \nabla F \\ c_W \end{pmatrix},

    with :math:`\mathcal I` the expected information (the scoring matrix of
    :func:`~iasem.engine.estimate.minimise`), :math:`A_W` the Jacobian of the working constraints and
    :math:`c_W` their values (an active inequality aims at ``MARGIN`` = 1e-12 above its bound). Steps are
    halved until the l1 merit :math:`F + \rho (\sum |h| + \sum \max(0, -g))` decreases. An inequality whose
    multiplier turns negative leaves W; one that becomes violated joins it (a primal active-set method,
    Nocedal and Wright 2006, ch. 16). The fixed point is a KKT point (:math:`\nabla F = A_W'\lambda`,
    :math:`c_W = 0`); it is the constrained ML estimate lavaan's augmented Lagrangian (``nlminb.constr``)
    approaches to its tolerance of 1e-6 on the constraints.

    Parameters
    ----------
    params, stats : Parameters, SampleStats
        The model's free parameters and sample statistics.
    x0 : ndarray
        Start values (:func:`~iasem.engine.estimate.start_values`); they need not satisfy the constraints.
    constraints : Constraints
        From :func:`build_constraints`. Without any, this is :func:`~iasem.engine.estimate.minimise`.
    evaluator : callable
        ``evaluator(params, stats, x, derivs=...)`` -> :class:`~iasem.engine.estimate.MLState` (or None where
        the implied covariance matrix is not positive definite); gives F, its gradient and the information.
    max_iter, max_polish : int
        Iteration limits of the two stages.
    xtol, ctol : float
        The polish stops when no element of the step exceeds ``xtol * max(1, |x|)`` and no working
        constraint is further than ``ctol`` from its target.

    Returns
    -------
    Optimum
        A :class:`ConstrainedOptimum`: the state at the solution, whether it is a KKT point, the iterations
        of both stages, a message, and the multipliers.
    """
    if not constraints:
        return minimise(params, stats, x0, evaluator=evaluator)
    cache: dict[bytes, MLState | None] = {}

    def state_at(x: np.ndarray) -> MLState | None:
        key = np.asarray(x, dtype=float).tobytes()
        if key not in cache:
            if len(cache) > 8:
                cache.clear()
            cache[key] = evaluator(params, stats, np.array(x, dtype=float))
        return cache[key]

    start = state_at(x0)
    if start is None:
        fallback = minimise(params, stats, x0, evaluator=evaluator)
        if fallback.state is None or evaluator(params, stats, fallback.state.x) is None:
            return ConstrainedOptimum(fallback.state, False, 0, "the start values give a non-positive-definite "
                                      "implied covariance matrix")  # fmt: skip
        x0 = fallback.state.x
        start = state_at(x0)
    big = 1e10 * max(1.0, abs(start.fmin))  # type: ignore[union-attr]

    def fun(x: np.ndarray) -> float:
        s = state_at(x)
        return big if s is None else float(s.fmin)

    def jac(x: np.ndarray) -> np.ndarray:
        s = state_at(x)
        return np.zeros(len(x)) if s is None else s.gradient

    slsqp_constraints = []
    if constraints.equalities:
        slsqp_constraints.append({"type": "eq", "fun": constraints.h, "jac": constraints.h_jacobian})
    if constraints.inequalities:
        slsqp_constraints.append({"type": "ineq", "fun": constraints.g, "jac": constraints.g_jacobian})

    def slsqp(start: np.ndarray) -> optimize.OptimizeResult:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", RuntimeWarning)
            return optimize.minimize(fun, start, jac=jac, method="SLSQP", constraints=slsqp_constraints,
                                     options={"maxiter": max_iter, "ftol": 1e-14})  # fmt: skip

    result = slsqp(x0)
    iterations = int(result.nit)
    if not result.success:
        # SLSQP can stall where a constraint's gradient vanishes (a*b == c at the start values a = b = 0);
        # the unconstrained optimum is a second start.
        unconstrained = minimise(params, stats, x0, evaluator=evaluator)
        if unconstrained.converged:
            retry = slsqp(unconstrained.state.x)
            iterations += unconstrained.iterations + int(retry.nit)
            if retry.success:
                result = retry
    x = result.x if state_at(result.x) is not None else x0
    working = active_inequalities(constraints.g(x), 1e-6)
    return _polish(params, stats, evaluator, constraints, x, working, iterations, max_polish, xtol, ctol)


def _polish(params: Parameters, stats: SampleStats, evaluator: Callable[..., MLState | None],
            constraints: Constraints, x: np.ndarray, working: np.ndarray, iterations: int, max_polish: int,
            xtol: float, ctol: float) -> ConstrainedOptimum:  # fmt: skip
    """Fisher-scoring SQP on a working set (see :func:`constrained_minimise`)."""
    n_eq, n_in = len(constraints.equalities), len(constraints.inequalities)
    state = evaluator(params, stats, x)
    assert state is not None
    lam_eq, lam_in = np.zeros(n_eq), np.zeros(n_in)
    rho = 1.0
    message = f"no convergence after {max_polish} polishing iterations"
    converged = False

    def merit(s: MLState, weight: float) -> float:
        return s.fmin + weight * (np.abs(constraints.h(s.x)).sum() + np.clip(-constraints.g(s.x), 0, None).sum())

    steps = 0
    while steps < max_polish:
        steps += 1
        g_all = constraints.g(state.x)
        working = working | (g_all < -ctol)
        h_jac, g_jac = constraints.h_jacobian(state.x), constraints.g_jacobian(state.x)
        a = np.vstack([h_jac, g_jac[working]])
        c = np.concatenate([constraints.h(state.x), g_all[working] - MARGIN])
        d, lam = _kkt_step(state.information, state.gradient, a, c)
        lam_w = lam[n_eq:]
        if n_in and lam_w.size and lam_w.min() < -1e-8 * max(1.0, np.abs(lam).max()):
            # The most negative multiplier's inequality pulls the wrong way: it leaves the working set.
            where = np.flatnonzero(working)[int(np.argmin(lam_w))]
            working = working.copy()
            working[where] = False
            continue
        lam_eq = lam[:n_eq]
        lam_in = np.zeros(n_in)
        lam_in[working] = lam_w
        rho = max(rho, 2.0 * float(np.abs(lam).max(initial=0.0)))
        small = np.all(np.abs(d) <= xtol * np.maximum(1.0, np.abs(state.x)))
        if small and np.all(np.abs(c) <= ctol):
            converged, message = True, "converged"
            break
        base = merit(state, rho)
        scale, trial = 1.0, None
        while scale > 1e-10:
            candidate = evaluator(params, stats, state.x + scale * d)
            if candidate is not None and merit(candidate, rho) <= base + 1e-13 * max(1.0, abs(base)):
                trial = candidate
                break
            scale /= 2
        if trial is None:
            message = "no step lowers the merit function"
            converged = small and np.all(np.abs(c) <= 1e3 * ctol)
            break
        state = trial
    g_final = constraints.g(state.x)
    feasible = np.all(np.abs(constraints.h(state.x)) <= 1e3 * ctol) and np.all(g_final >= -1e3 * ctol)
    converged = bool(converged and feasible)
    if not feasible:
        message = "the constraints cannot be met"
    return ConstrainedOptimum(state, converged, iterations + steps, message, lam_eq, lam_in,
                              active_inequalities(g_final))  # fmt: skip


def _kkt_step(information: np.ndarray, gradient: np.ndarray, a: np.ndarray,
              c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Solve [[I, A'], [A, 0]] [d; -lambda] = -[grad; c] (least squares when the system is singular)."""
    p, m = len(gradient), len(c)
    kkt = np.zeros((p + m, p + m))
    kkt[:p, :p] = information
    kkt[:p, p:] = a.T
    kkt[p:, :p] = a
    rhs = -np.concatenate([gradient, c])
    try:
        sol = np.linalg.solve(kkt, rhs)
    except np.linalg.LinAlgError:
        sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    return sol[:p], -sol[p:]


def constrained_vcov(information: np.ndarray, jacobian: np.ndarray, n: float,
                     multipliers: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    r"""The covariance matrix of constrained estimates: lavaan's augmented-information inverse.

    .. math::

        \widehat{\mathrm{Var}}(\hat x) = \frac{1}{n} \left[ E^{+} \right]_{11}, \qquad
        E = \begin{pmatrix} \mathcal I + A'A & 0 & A' \\ 0 & 2 \operatorname{diag}(\lambda) & 0 \\
                            A & 0 & 0 \end{pmatrix},

    the top-left block of the Moore-Penrose inverse (``MASS::ginv`` with tolerance
    :math:`\epsilon^{3/4}` relative to the largest singular value), as ``lav_model_information_augment_invert``
    computes it. The :math:`\lambda` block is uncoupled from the rest, so it changes nothing but that
    tolerance; :math:`A'A` does not change the block either (:math:`Z'(\mathcal I + A'A)Z = Z'\mathcal I Z` on
    the null space Z of A) but keeps E regular when :math:`\mathcal I` alone is singular (parameters
    identified only by the constraints). When E is regular this equals the top-left block of
    :math:`\begin{pmatrix} n\mathcal I & A' \\ A & 0 \end{pmatrix}^{-1} = \frac{1}{n} Z(Z'\mathcal I Z)^{-1}Z'`:
    zero variance along A, and the information's inverse restricted to the directions the constraints leave
    free. Without constraint rows it is :math:`(n \mathcal I)^{-1}`, as lavaan's plain ``solve``.

    Parameters
    ----------
    information : ndarray, shape (q, q)
        The expected information of one observation, :math:`\mathcal I` (``MLState.information``).
    jacobian : ndarray, shape (r, q)
        A: the Jacobian of the equalities and of the active inequalities at the solution
        (:meth:`Constraints.active_jacobian`); r may be 0.
    n : float
        The sample size the estimator scales by (N for ML).
    multipliers : ndarray, shape (r,), optional
        lavaan's Lagrange multipliers of those rows (only the pseudo-inverse's tolerance depends on them).

    Returns
    -------
    ndarray, shape (q, q)

    Raises
    ------
    numpy.linalg.LinAlgError
        Without constraint rows, when the information is singular.

    Examples
    --------
    Two parameters with unit information and n = 100; the constraint x1 = x2 leaves the variance of their
    mean, 1/200, in every element:

    >>> constrained_vcov(np.eye(2), np.array([[1.0, -1.0]]), 100)
    array([[0.005, 0.005],
           [0.005, 0.005]])
    """
    information = np.asarray(information, dtype=float)
    a = np.asarray(jacobian, dtype=float).reshape(-1, information.shape[0])
    q, r = information.shape[0], a.shape[0]
    if r == 0:
        return np.linalg.inv(n * information)
    lam = np.zeros(r) if multipliers is None else np.asarray(multipliers, dtype=float)
    e = np.zeros((q + 2 * r, q + 2 * r))
    e[:q, :q] = information + a.T @ a
    e[:q, q + r :] = a.T
    e[q + r :, :q] = a
    e[q : q + r, q : q + r] = np.diag(2.0 * lam)
    return np.linalg.pinv(e, rcond=GINV_TOL)[:q, :q] / n


def _qr_rank(matrix: np.ndarray, tol: float = QR_RANK_TOL) -> int:
    """Numerical rank as R's ``qr()`` reports it for a well-conditioned matrix: singular values above
    ``tol`` times the largest."""
    if matrix.size == 0:
        return 0
    s = np.linalg.svd(matrix, compute_uv=False)
    return int(np.sum(s > tol * s[0])) if s[0] > 0 else 0


def df_adjustment(constraints: Constraints, x: np.ndarray) -> int:
    r"""What lavaan adds to the degrees of freedom (and subtracts from ``npar``) for the constraints.

    .. math:: \mathrm{df} = \tfrac{p(p+1)}{2} - q + \operatorname{rank} H(\hat x),

    with q the length of x (labels already merged) and H the Jacobian of the equality constraints at the
    solution (lavaan: ``qr(con.jac[ceq.idx, ])$rank``, label equalities included, which the merge has already
    counted). Inequalities, active or not, change neither df nor npar.

    Examples
    --------
    Two equalities on three parameters, one of them repeated:

    >>> import numpy as np
    >>> c = Constraints((Constraint("a", "==", "1"), Constraint("2*a", "==", "2")), (), 3,
    ...                 lambda x: {"a": x[0]})
    >>> df_adjustment(c, np.zeros(3))
    1
    """
    return _qr_rank(constraints.h_jacobian(np.asarray(x, dtype=float)))


def _vcov_warnings(vcov: np.ndarray, n_eq: int, n_active: int) -> list[str]:
    """lavaan's check of the vcov: its smallest eigenvalue, once the n_eq + n_active zero eigenvalues the
    constraints cause are set aside, must exceed eps^(3/4)."""
    eigenvalues = np.sort(np.linalg.eigvalsh((vcov + vcov.T) / 2))[n_eq + n_active :]
    if eigenvalues.size and eigenvalues[0] < GINV_TOL:
        return [f"the variance-covariance matrix of the estimates is not positive definite (smallest eigenvalue "
                f"{eigenvalues[0]:.3e}): the model may not be identified"]  # fmt: skip
    return []


def fit_constrained(table: pd.DataFrame, rep: Representation, params: Parameters,
                    stats: SampleStats) -> tuple[Optimum, np.ndarray | None, int, list[str]]:  # fmt: skip
    r"""Single-group ML with general constraints, start to standard errors: what ``sem._fit_single`` needs.

    Parameters
    ----------
    table : DataFrame
        The parameter table, with its ``==``, ``<``, ``>`` (and ``:=``) rows.
    rep : Representation
        Its matrices (``params.rep``).
    params : Parameters
        Its free parameters, label equalities merged.
    stats : SampleStats
        The sample statistics (biased covariance, N).

    Returns
    -------
    optimum : Optimum
        A :class:`ConstrainedOptimum` (the solution's state; ``state.fmin`` gives chisq = 2 N fmin).
    vcov : ndarray or None
        :func:`constrained_vcov` with the equalities and the active inequalities, for the free parameters x;
        None when the information is singular and there is no active constraint to border it with.
    df_adjustment : int
        Add it to df (``p(p+1)/2 - q``) and subtract it from npar (``q``): :func:`df_adjustment`.
    warnings : list of str
        Non-convergence and a vcov that is not positive definite, in plain words.
    """
    if rep is not params.rep:
        raise IasemError("fit_constrained: rep must be the representation params were built on")
    constraints = build_constraints(table, params)
    x0 = start_values(params, stats)
    optimum = constrained_minimise(params, stats, x0, constraints)
    warnings = [] if optimum.converged else [f"the optimiser did not converge: {optimum.message}"]
    state = optimum.state
    if state is None or state.information.size == 0:
        return optimum, None, 0, warnings
    g = constraints.g(state.x)
    active = active_inequalities(g)
    jacobian = constraints.active_jacobian(state.x)
    multipliers = None
    if isinstance(optimum, ConstrainedOptimum):
        multipliers = np.concatenate([optimum.eq_multipliers, optimum.ineq_multipliers[active]])
    n_eq = df_adjustment(constraints, state.x)
    try:
        vcov: np.ndarray | None = constrained_vcov(state.information, jacobian, stats.n, multipliers)
    except np.linalg.LinAlgError:
        return optimum, None, n_eq, [*warnings, "the information matrix is singular: the model may not be "
                                     "identified; no standard errors"]  # fmt: skip
    warnings += _vcov_warnings(vcov, n_eq, int(active.sum()))
    return optimum, vcov, n_eq, warnings
