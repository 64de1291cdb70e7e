"""General constraints (``==`` between expressions, ``<``, ``>``) for single-group ML, against lavaan 0.6.14.

The fixtures (tests/fixtures/lavaan/constraints_*.json) are made by make_constraints_fixtures.R. The tests
drive :mod:`iasem.engine.constraints` through the pipeline objects, as ``sem.fit`` does. Bars: estimates
1e-4 relative, standard errors 1 %, chisq / df / pvalue / cfi / rmsea 1e-3 relative; never loosened.

Estimates are compared with lavaan's fit at tightened optimiser tolerances (the fixtures' ``tight``): lavaan's
default nlminb.constr stops once the objective's relative change is below 1e-9, which in one fixture
(``constraints_poldem_labels_defined``, the residual covariance y3 ~~ y7) leaves an estimate 1.1e-4 short of
the optimum; its tight fit and ours agree to 1e-5 and our objective is the lower one. Standard errors and fit
measures are compared with lavaan's default fit, as a user sees them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iasem import fit_measures as fm
from iasem.engine import constraints as con
from iasem.engine.estimate import Optimum, Parameters, free_positions, minimise, parameters, start_values
from iasem.engine.lisrel import represent
from iasem.engine.sample_stats import SampleStats, sample_stats
from iasem.errors import IasemError
from iasem.syntax import parse_model, partable, variable_roles

LAVAAN = Path(__file__).parent / "fixtures" / "lavaan"
CASES = [
    "constraints_hs39_nonlinear",
    "constraints_hs39_linear",
    "constraints_hs39_active",
    "constraints_hs39_inactive",
    "constraints_hs39_heywood",
    "constraints_hs39_identified",
    "constraints_poldem_labels_defined",
    "constraints_poldem_defined_equality",
]
EXPRESSION_OPS = (":=", "==", "<", ">")


@dataclass
class Fitted:
    ref: dict
    table: pd.DataFrame
    params: Parameters
    stats: SampleStats
    constraints: con.Constraints
    optimum: Optimum
    vcov: np.ndarray
    n_eq: int
    warnings: list[str]

    @property
    def model_rows(self) -> pd.DataFrame:
        """lavaan's partable rows that live in the matrices (our Representation rows come in the same order)."""
        pt = pd.DataFrame(self.ref["partable"])
        return pt[~pt["op"].isin(EXPRESSION_OPS)]

    def estimates(self) -> np.ndarray:
        return self.params.row_values(self.optimum.state.x)[: len(self.model_rows)]

    def standard_errors(self) -> np.ndarray:
        se_free = np.sqrt(np.clip(np.diag(self.vcov), 0, None))
        index = self.params.index[: len(self.model_rows)]
        return np.where(index >= 0, se_free[np.maximum(index, 0)], 0.0)

    def measures(self) -> dict[str, float]:
        s, p = self.stats, self.stats.p
        chisq = 2 * s.n * self.optimum.state.fmin
        df = p * (p + 1) / 2 - self.params.n_free + self.n_eq
        # The independence model: N (sum log s_ii - log|S|).
        baseline = s.n * (np.log(np.diag(s.cov)).sum() - np.linalg.slogdet(s.cov)[1])
        baseline_df = p * (p - 1) / 2
        return {"chisq": chisq, "df": df, "npar": self.params.n_free - self.n_eq,
                "pvalue": fm.chisq_pvalue(chisq, df), "baseline.chisq": baseline,
                "cfi": fm.cfi(chisq, df, baseline, baseline_df), "rmsea": fm.rmsea(chisq, df, s.n)}  # fmt: skip


def reference(name: str) -> dict:
    return json.loads((LAVAAN / f"{name}.json").read_text())


def pipeline(syntax: str, data: pd.DataFrame) -> tuple[pd.DataFrame, Parameters, SampleStats]:
    formulas = parse_model(syntax)
    table = partable(formulas)
    roles = variable_roles(formulas)
    stats = sample_stats(data, roles.ov)
    rep = represent(table, roles.ov, meanstructure=False)
    return table, parameters(rep, table, stats), stats


@functools.cache
def fitted(name: str) -> Fitted:
    ref = reference(name)
    table, params, stats = pipeline(ref["syntax"], pd.read_csv(LAVAAN / ref["data"]))
    optimum, vcov, n_eq, warnings = con.fit_constrained(table, params.rep, params, stats)
    return Fitted(ref, table, params, stats, con.build_constraints(table, params), optimum, vcov, n_eq, warnings)


# --- parity with lavaan ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_converges_without_warnings(name):
    f = fitted(name)
    assert f.optimum.converged, f.optimum.message
    assert f.warnings == []


@pytest.mark.parametrize("name", CASES)
def test_estimates_match_lavaans_optimum(name):
    f = fitted(name)
    tight = np.array(f.ref["tight"]["est"], dtype=float)[: len(f.model_rows)]
    np.testing.assert_allclose(f.estimates(), tight, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_objective_equals_lavaans_optimum(name):
    """F at our estimates is lavaan's tightly converged fx (chisq / 2N) to 1e-10."""
    f = fitted(name)
    assert f.optimum.state.fmin == pytest.approx(f.ref["tight"]["fx"], rel=0, abs=1e-10)


def test_estimates_match_the_existing_constraints_fixture():
    """partable_hs39_cfa_constraints (make_fixtures.R): a > 0 inactive, c == 1.2*d, and e == f merged."""
    ref = reference("partable_hs39_cfa_constraints")
    table, params, stats = pipeline(ref["syntax"], pd.read_csv(LAVAAN / ref["data"]))
    optimum, vcov, n_eq, warnings = con.fit_constrained(table, params.rep, params, stats)
    assert optimum.converged and warnings == [] and n_eq == 1
    pt = pd.DataFrame(ref["partable"])
    rows = pt[~pt["op"].isin(EXPRESSION_OPS)]
    np.testing.assert_allclose(params.row_values(optimum.state.x)[: len(rows)], rows["est"], rtol=1e-4, atol=1e-6)
    se_free = np.sqrt(np.diag(vcov))
    index = params.index[: len(rows)]
    free = index >= 0
    np.testing.assert_allclose(se_free[index[free]], rows["se"][free], rtol=1e-2)
    assert 2 * stats.n * optimum.state.fmin == pytest.approx(ref["fit"]["chisq"], rel=1e-3)
    assert stats.p * (stats.p + 1) / 2 - params.n_free + n_eq == ref["fit"]["df"]


@pytest.mark.parametrize("name", CASES)
def test_standard_errors_match_lavaan(name):
    f = fitted(name)
    ours = f.standard_errors()
    theirs = f.model_rows["se"].to_numpy(dtype=float)  # NaN where lavaan's variance came out (tiny) negative
    free = f.params.index[: len(ours)] >= 0
    estimated = free & (np.nan_to_num(theirs) > 1e-6)
    np.testing.assert_allclose(ours[estimated], theirs[estimated], rtol=1e-2)
    # A parameter an active constraint pins down has no sampling variance, in lavaan and here.
    pinned = free & ~estimated
    assert np.all(ours[pinned] < 1e-6)


@pytest.mark.parametrize("name", CASES)
def test_vcov_matches_lavaans_matrix(name):
    """Every element of lavaan's vcov (over its unmerged free parameters) within 1 % of the product of the two
    standard errors."""
    f = fitted(name)
    position, _ = free_positions(f.table)
    order = [position[k] for k in range(1, len(position) + 1)]
    ours = f.vcov[np.ix_(order, order)]
    theirs = np.array(f.ref["vcov"]["values"], dtype=float)
    scale = np.sqrt(np.clip(np.diag(theirs), 0, None)) + 1e-6
    np.testing.assert_array_less(np.abs(ours - theirs), 1e-2 * np.outer(scale, scale))


@pytest.mark.parametrize("name", CASES)
def test_fit_measures_match_lavaan(name):
    f = fitted(name)
    measures = f.measures()
    for key in ("chisq", "df", "pvalue", "cfi", "rmsea", "npar", "baseline.chisq"):
        assert measures[key] == pytest.approx(f.ref["fit"][key], rel=1e-3, abs=1e-8), key


@pytest.mark.parametrize("name", CASES)
def test_df_adjustment_is_lavaans_rank(name):
    """lavaan adds the rank of all equality rows (label equalities included) to df; the merge of labels has
    already counted those, so n_eq is the rest."""
    f = fitted(name)
    merged = int(f.table["free"].max()) - f.params.n_free
    assert f.n_eq + merged == f.ref["constraints"]["neq"]


@pytest.mark.parametrize("name", CASES)
def test_active_inequalities_as_lavaan_decides(name):
    f = fitted(name)
    c = f.ref["constraints"]
    cin = c["cin.idx"]
    theirs = np.array([k not in c["inactive.idx"] for k in cin], dtype=bool)
    values = f.constraints.g(f.optimum.state.x)
    np.testing.assert_array_equal(con.active_inequalities(values), theirs)
    np.testing.assert_array_equal(f.optimum.active, theirs)


@pytest.mark.parametrize("name", [n for n in CASES if reference(n)["optimizer"] == "NLMINB.CONSTR"])
def test_multipliers_match_lavaans(name):
    """The Lagrange multipliers (lavaan's sign, F - lambda' c) of nlminb.constr, within 1 %: lavaan's rows are
    its equalities (label equalities among them), then its inequalities, each in table order."""
    f = fitted(name)
    lam = np.array(f.ref["constraints"]["lambda"], dtype=float).reshape(-1)
    n_ceq = len(f.ref["constraints"]["ceq.idx"])
    equalities = [(r["lhs"], r["rhs"]) for r in f.ref["partable"] if r["op"] == "=="]
    ours_eq = {(c.lhs.replace(" ", ""), c.rhs) for c in f.constraints.equalities}
    keep = [k for k, pair in enumerate(equalities) if pair in ours_eq]
    np.testing.assert_allclose(f.optimum.eq_multipliers, lam[:n_ceq][keep], rtol=1e-2)
    np.testing.assert_allclose(f.optimum.ineq_multipliers, lam[n_ceq:], rtol=1e-2, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_constraints_hold_at_the_solution(name):
    """Equalities to 1e-9; inequalities never violated; lavaan's partable ``est`` of a constraint row is its
    value (its own to ~3e-7: nlminb.constr's tolerance is 1e-6)."""
    f = fitted(name)
    x = f.optimum.state.x
    assert np.all(np.abs(f.constraints.h(x)) < 1e-9)
    assert np.all(f.constraints.g(x) >= 0)
    rows = [r for r in f.ref["partable"] if r["op"] in ("<", ">")]
    theirs = np.array([r["est"] for r in rows], dtype=float)
    np.testing.assert_allclose(f.constraints.g(x), theirs, rtol=1e-4, atol=1e-6)


# --- the cases' substance -----------------------------------------------------------------------------------


def test_inactive_inequalities_leave_the_unconstrained_fit():
    """The solution is a stationary point of F (zero multipliers), the unconstrained fit to the precision of
    Fisher scoring's own stopping rule (gradient below 1e-6), and the vcov is the plain inverse."""
    f = fitted("constraints_hs39_inactive")
    assert np.abs(f.optimum.state.gradient).max() < 1e-9
    free = minimise(f.params, f.stats, start_values(f.params, f.stats))
    np.testing.assert_allclose(f.optimum.state.x, free.state.x, rtol=1e-5)
    np.testing.assert_allclose(f.vcov, np.linalg.inv(f.stats.n * f.optimum.state.information), rtol=1e-10)
    assert not f.optimum.active.any() and f.n_eq == 0


def test_heywood_variance_is_held_at_zero():
    """Without ``v8 > 0`` the x8 residual variance is -0.724 (lavaan; here with a bound that never binds,
    because Fisher scoring from lavaan's simple start values meets a singular information on this model);
    with it, the variance sits on the bound, not below, and has no standard error."""
    f = fitted("constraints_hs39_heywood")
    rows = f.model_rows.reset_index(drop=True)
    k = rows.index[(rows["lhs"] == "x8") & (rows["op"] == "~~") & (rows["rhs"] == "x8")][0]
    data = pd.read_csv(LAVAAN / "holzinger_swineford_1939.csv")
    table, params, stats = pipeline(f.ref["syntax"].replace("v8 > 0", "v8 > -10"), data)
    loose = con.constrained_minimise(params, stats, start_values(params, stats), con.build_constraints(table, params))
    assert loose.converged and not loose.active.any()
    assert params.row_values(loose.state.x)[k] == pytest.approx(-0.724, abs=1e-3)
    v8 = f.estimates()[k]
    assert 0 <= v8 < 1e-10
    assert f.standard_errors()[k] < 1e-6
    assert f.optimum.active.tolist() == [True]


def test_label_equalities_stay_merged():
    """Shared labels and ``e == f`` are one element of x, not general constraints."""
    text = "visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + c*x5 + c*x6\nspeed =~ x7 + e*x8 + f*x9\ne == f\n"
    table = partable(text)
    assert not con.has_general_constraints(table)
    assert con.has_general_constraints(partable(text + "a > 0\n"))
    data = pd.read_csv(LAVAAN / "holzinger_swineford_1939.csv")
    _, params, _ = pipeline(text + "a == b^2\n", data)
    built = con.build_constraints(partable(text + "a == b^2\n"), params)
    assert [c.text for c in built.equalities] == ["a == b^2"] and built.inequalities == ()


def test_a_constraint_on_a_fixed_parameter_reads_its_value():
    """``a == 1`` where ``a`` is a free loading; ``2*k == a`` where ``k`` labels the fixed first loading."""
    data = pd.read_csv(LAVAAN / "holzinger_swineford_1939.csv")
    text = "visual =~ k*x1 + a*x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n2*k == a\n"
    table, params, stats = pipeline(text, data)
    optimum, _, n_eq, warnings = con.fit_constrained(table, params.rep, params, stats)
    values = params.row_values(optimum.state.x)
    assert optimum.converged and warnings == [] and n_eq == 1
    assert values[1] == pytest.approx(2.0, abs=1e-10)


def test_unknown_names_are_refused():
    data = pd.read_csv(LAVAAN / "holzinger_swineford_1939.csv")
    table, params, _ = pipeline("visual =~ x1 + a*x2 + x3\n", data)
    bad = pd.concat([table, pd.DataFrame([{**table.iloc[-1].to_dict(), "lhs": "a", "op": ">", "rhs": "zz",
                                           "label": "", "plabel": "", "free": 0}])], ignore_index=True)  # fmt: skip
    with pytest.raises(IasemError, match="'zz' in the constraint 'a > zz' is not a parameter label"):
        con.build_constraints(bad, params)


def test_without_constraints_it_is_plain_fisher_scoring():
    data = pd.read_csv(LAVAAN / "holzinger_swineford_1939.csv")
    table, params, stats = pipeline("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n", data)
    constraints = con.build_constraints(table, params)
    assert not constraints
    x0 = start_values(params, stats)
    ours = con.constrained_minimise(params, stats, x0, constraints)
    np.testing.assert_array_equal(ours.state.x, minimise(params, stats, x0).state.x)


def test_infeasible_and_degenerate_start_values():
    """At lavaan's start values a = b = 0 the constraint a*b == 0.5 has a zero gradient (SLSQP stalls there);
    the unconstrained optimum is the second start."""
    f = fitted("constraints_poldem_defined_equality")
    x0 = start_values(f.params, f.stats)
    assert np.allclose(f.constraints.h_jacobian(x0), 0)
    assert f.optimum.converged
    assert f.constraints.names(f.optimum.state.x)["indirect"] == pytest.approx(0.5, abs=1e-10)


# --- the pieces ---------------------------------------------------------------------------------------------


def test_constrained_vcov_is_the_bordered_inverse():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(6, 6))
    information = m @ m.T + 6 * np.eye(6)
    a = rng.normal(size=(2, 6))
    n = 250
    bordered = np.block([[n * information, a.T], [a, np.zeros((2, 2))]])
    expected = np.linalg.inv(bordered)[:6, :6]
    np.testing.assert_allclose(con.constrained_vcov(information, a, n), expected, rtol=1e-10, atol=1e-15)
    z = np.linalg.svd(a)[2][2:].T  # null space of a
    np.testing.assert_allclose(expected, z @ np.linalg.inv(z.T @ information @ z) @ z.T / n, rtol=1e-8, atol=1e-15)
    np.testing.assert_allclose(con.constrained_vcov(information, np.zeros((0, 6)), n),
                               np.linalg.inv(n * information))  # fmt: skip
    # Multipliers only enter an uncoupled block.
    np.testing.assert_allclose(con.constrained_vcov(information, a, n, np.array([0.3, -2.0])), expected,
                               rtol=1e-10, atol=1e-15)  # fmt: skip


def test_constrained_vcov_copes_with_information_singular_without_the_constraints():
    """Two parameters that only enter as their sum: the information is singular; fixing their difference
    (lavaan adds A'A to the information and takes a pseudo-inverse) gives each a quarter of the sum's variance."""
    information = np.array([[1.0, 1.0], [1.0, 1.0]])
    vcov = con.constrained_vcov(information, np.array([[1.0, -1.0]]), 1.0)
    np.testing.assert_allclose(vcov, np.full((2, 2), 0.25), atol=1e-12)


def test_active_inequalities_use_lavaans_slack():
    values = np.array([-1e-9, 0.0, 1e-5, 1.0001e-5, 0.3])
    assert con.active_inequalities(values).tolist() == [True, True, True, False, False]


def test_df_adjustment_counts_independent_equalities():
    data = pd.read_csv(LAVAAN / "holzinger_swineford_1939.csv")
    text = "visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + x5 + x6\na == b^2\n2*a == 2*b^2\na + b == 1.3\n"
    table, params, stats = pipeline(text, data)
    constraints = con.build_constraints(table, params)
    assert len(constraints.equalities) == 3
    assert con.df_adjustment(constraints, start_values(params, stats) + 0.1) == 2


def test_jacobians_by_central_differences():
    f = fitted("constraints_hs39_nonlinear")
    x = f.optimum.state.x
    jac = f.constraints.h_jacobian(x)
    names = f.constraints.names(x)
    a, b = (f.params.index[f.model_rows.reset_index(drop=True)["label"] == lab][0] for lab in ("a", "b"))
    expected = np.zeros_like(jac)
    expected[0, a], expected[0, b] = 1.0, -2 * names["b"]
    np.testing.assert_allclose(jac, expected, atol=1e-8)


# --- the parameter table for these syntaxes -----------------------------------------------------------------

PARTABLE_COLUMNS = ["id", "lhs", "op", "rhs", "user", "block", "group", "free", "exo", "label", "plabel"]


@pytest.mark.parametrize("name", CASES)
def test_partable_equals_lavaans(name):
    ref = reference(name)
    ours = partable(ref["syntax"])
    theirs = [tuple(row[c] for c in PARTABLE_COLUMNS) for row in ref["partable"]]
    assert [tuple(row) for row in ours[PARTABLE_COLUMNS].itertuples(index=False)] == theirs
