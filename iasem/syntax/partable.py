"""Stage 2: formulas -> the parameter table, lavaan's ``partable``: the one structure every later stage reads
and writes.

One row per parameter, with lavaan's column names: id, lhs, op, rhs, user (1 written by the user, 0 added by
default, 2 added for an equality implied by a shared label), block, group, free (0 fixed, otherwise the index
of the free parameter), ustart (the user's fixed or start value), exo (1 for fixed exogenous covariates),
label and plabel. The defaults are those of lavaan's ``sem()`` and ``cfa()``: the first loading of each factor
fixed to 1 (or factor variances to 1 with ``std_lv``), residual variances free, covariances among exogenous
factors and among purely dependent variables free, exogenous observed covariates fixed at their sample values
(``fixed_x``), and intercepts with ``meanstructure``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from .parser import EXPRESSION_OPERATORS, Formula, ModelSyntaxError, parse_model

COLUMNS = ["id", "lhs", "op", "rhs", "user", "block", "group", "free", "ustart", "exo", "label", "plabel"]


@dataclass(frozen=True)
class VariableRoles:
    """Observed and latent variables by their role in the model (lavaan's ``lav_partable_vnames``)."""

    lv: list[str]
    ov: list[str]
    ov_x: list[str]  # exogenous observed covariates (predictors only)
    ov_nox: list[str]
    lv_x: list[str]  # exogenous latent variables
    lv_y: list[str]  # purely dependent latent variables
    ov_y: list[str]  # purely dependent observed variables


def variable_roles(formulas: list[Formula], fixed_x: bool = True) -> VariableRoles:
    def unique(values) -> list[str]:
        return list(dict.fromkeys(values))

    lv = unique(f.lhs for f in formulas if f.op == "=~")
    v_ind = unique(f.rhs for f in formulas if f.op == "=~")
    eqs_y = unique(f.lhs for f in formulas if f.op == "~")
    eqs_x = unique(f.rhs for f in formulas if f.op == "~")
    ov_ind = [v for v in v_ind if v not in lv]
    ov_y_all = [v for v in eqs_y if v not in lv and v not in ov_ind]
    ov_x = [v for v in eqs_x if v not in lv and v not in ov_ind and v not in ov_y_all]
    # Variables that only appear in a covariance, an intercept or a threshold are observed too.
    others = [v for f in formulas if f.op in ("~~", "~1", "|") for v in (f.lhs, f.rhs if f.op == "~~" else f.lhs)]
    ov = unique([*ov_ind, *ov_y_all, *ov_x, *(v for v in others if v not in lv)])
    if fixed_x:
        # An exogenous variable the user gives a variance, covariance or intercept is modelled as random.
        mentioned = {v for f in formulas if f.op in ("~~", "~1") for v in (f.lhs, f.rhs)}
        ov_x = [v for v in ov_x if v not in mentioned]
    else:
        ov_x = []
    lv_x = [v for v in lv if v not in v_ind and v not in eqs_y]
    lv_y = [v for v in lv if v in eqs_y and v not in v_ind and v not in eqs_x]
    ov_y = [v for v in ov if v in eqs_y and v not in v_ind and v not in eqs_x and v not in lv]
    return VariableRoles(lv, ov, ov_x, [v for v in ov if v not in ov_x], lv_x, lv_y, ov_y)


GROUP_EQUAL = ("loadings", "intercepts", "thresholds", "means", "regressions", "residuals", "residual.covariances",
               "lv.variances", "lv.covariances")  # fmt: skip


def partable(
    model: str | list[Formula],
    *,
    std_lv: bool = False,
    meanstructure: bool = False,
    fixed_x: bool = True,
    ngroups: int = 1,
    group_equal: tuple[str, ...] | list[str] = (),
    ordered: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Build lavaan's parameter table for ``model`` (lavaan syntax or parsed formulas).

    ``ordered`` maps each ordered (categorical) observed variable to its number of thresholds (categories - 1):
    as lavaan's default "delta" parameterization, each gets free thresholds ``x | t1, ...``, a residual
    variance fixed at 1 (its value follows from the unit variance of the latent response), a scale
    ``x ~*~ x`` fixed at 1 and an intercept fixed at 0; the model then always has a meanstructure.

    With ``ngroups`` > 1 the rows are repeated per group (``block`` = ``group``), with lavaan's multi-group
    defaults: a meanstructure, and ``group_equal`` (lavaan's ``group.equal``) making the listed kinds of
    parameters equal across groups through shared labels and ``==`` rows. A modifier ``c(a, b)*x`` applies
    its entries group by group; a single modifier applies to every group. In groups 2, 3, ... lavaan then
    frees what the equalities identify: the latent means when "intercepts" or "thresholds" are equal (and
    "means" are not), the factor variances when "loadings" are equal under ``std_lv`` (and "lv.variances"
    are not), and the scale factors ``~*~`` of ordered variables when "thresholds" are equal (the delta
    parameterization: Millsap & Yun-Tein, 2004; Wu & Estabrook, 2016).

    Examples
    --------
    >>> pt = partable("visual =~ x1 + x2 + x3")
    >>> print(pt[["lhs", "op", "rhs", "free", "ustart"]].head(3).to_string(index=False))
       lhs op rhs  free  ustart
    visual =~  x1     0     1.0
    visual =~  x2     1     NaN
    visual =~  x3     2     NaN
    """
    formulas = parse_model(model) if isinstance(model, str) else model
    if ngroups < 1:
        raise ModelSyntaxError(f"ngroups must be at least 1, not {ngroups}")
    if any(f.block != 1 for f in formulas):
        raise ModelSyntaxError("group-specific model blocks (group: ...) are not supported yet")
    unknown = [kind for kind in group_equal if kind not in GROUP_EQUAL]
    if unknown:
        raise ModelSyntaxError(f"group_equal {', '.join(map(repr, unknown))} is not available; "
                               f"available: {', '.join(GROUP_EQUAL)}")  # fmt: skip
    for f in formulas:
        for kind in ("fixed", "label", "start"):
            values = getattr(f.modifiers, kind)
            if len(values) > 1 and len(values) != ngroups:
                raise ModelSyntaxError(f"{f.lhs} {f.op} {f.rhs}: a modifier with {len(values)} values for "
                                       f"{ngroups} group(s)", f.line)  # fmt: skip
    ordered = dict(ordered or {})
    roles = variable_roles(formulas, fixed_x and not ordered)
    unknown_ordered = [v for v in ordered if v not in roles.ov]
    if unknown_ordered:
        raise ModelSyntaxError(f"ordered variable(s) {', '.join(unknown_ordered)} are not observed variables of "
                               "the model")  # fmt: skip
    meanstructure = meanstructure or ngroups > 1 or bool(ordered)
    # The table is built as a list of row dicts and turned into a DataFrame once, at the end: row-wise work on
    # a DataFrame costs far more than the rest of a fit.
    rows = []
    for g in range(1, ngroups + 1):
        for row in _group_rows(formulas, roles, g, std_lv=std_lv, meanstructure=meanstructure, ordered=ordered):
            if g > 1 and row["user"] == 0:
                # lavaan frees latent means where intercepts or thresholds are equal (not means), latent
                # variances where loadings are equal under std.lv (not lv.variances), and, in the delta
                # parameterization, the scale factors ~*~ of ordered variables where thresholds are equal,
                # in every group but the first (lav_partable_flat).
                if (
                    row["op"] == "~1"
                    and row["lhs"] in roles.lv
                    and ("intercepts" in group_equal or "thresholds" in group_equal)
                    and ("means" not in group_equal)
                ):
                    row.update(free=True, ustart=np.nan)
                if row["op"] == "~*~" and "thresholds" in group_equal:
                    row.update(free=True, ustart=np.nan)
                if (row["op"] == "~~" and row["lhs"] == row["rhs"] and row["lhs"] in roles.lv and std_lv
                        and "loadings" in group_equal and "lv.variances" not in group_equal):  # fmt: skip
                    row.update(free=True, ustart=np.nan)
            rows.append({**row, "block": g, "group": g})

    for k, row in enumerate(rows, start=1):
        row["plabel"] = f".p{k}."
    implied = _equalities_from_labels(rows, roles, ngroups, group_equal)
    n_free = 0
    for row in rows:
        if row["free"]:
            n_free += 1
            row["free"] = n_free
        else:
            row["free"] = 0
    extra = [
        {"lhs": f.lhs, "op": f.op, "rhs": f.rhs, "user": 1, "block": 0, "group": 0,
         "free": 0, "ustart": np.nan, "exo": 0, "label": f.lhs if f.op == ":=" else "", "plabel": ""}
        for f in formulas if f.op in EXPRESSION_OPERATORS
    ]  # fmt: skip
    # lavaan writes the user's :=, ==, <, > rows before the equalities implied by shared labels (user 2).
    rows += extra + implied
    for k, row in enumerate(rows, start=1):
        row["id"] = k
    _check_labels(rows, formulas)
    numeric = {"id": np.int64, "user": np.int64, "block": np.int64, "group": np.int64, "free": np.int64,
               "ustart": np.float64, "exo": np.int64}  # fmt: skip
    return pd.DataFrame({c: np.array([row[c] for row in rows], dtype=numeric[c]) if c in numeric
                         else [row[c] for row in rows] for c in COLUMNS})  # fmt: skip


def _group_rows(formulas: list[Formula], roles: VariableRoles, g: int, *, std_lv: bool, meanstructure: bool,
                ordered: dict[str, int]) -> list[dict]:  # fmt: skip
    """The rows of group ``g`` (1-based): the user's formulas with that group's modifiers, then the defaults."""
    rows: list[dict] = []
    seen: dict[tuple[str, str, str], int] = {}

    def key(lhs: str, op: str, rhs: str) -> tuple[str, str, str]:
        # A covariance is the same parameter whichever way round it is written.
        return (min(lhs, rhs), op, max(lhs, rhs)) if op == "~~" else (lhs, op, rhs)

    def add(lhs: str, op: str, rhs: str, *, user: int, free: bool, ustart: float = np.nan, exo: int = 0,
            label: str = "") -> None:  # fmt: skip
        rows.append({"lhs": lhs, "op": op, "rhs": rhs, "user": user, "free": free, "ustart": ustart, "exo": exo,
                     "label": label})  # fmt: skip
        seen[key(lhs, op, rhs)] = len(rows) - 1

    def pick(values: list):
        """This group's entry of a modifier: a single value holds for every group."""
        return values[0] if len(values) == 1 else values[g - 1]

    first_indicator = {}
    for f in formulas:
        if f.op == "=~":
            first_indicator.setdefault(f.lhs, f.rhs)

    for f in formulas:
        if f.op in EXPRESSION_OPERATORS:
            continue
        if key(f.lhs, f.op, f.rhs) in seen:
            raise ModelSyntaxError(f"{f.lhs} {f.op} {f.rhs} is specified twice", f.line)
        fixed = pick(f.modifiers.fixed) if f.modifiers.fixed else np.nan
        has_fixed = bool(f.modifiers.fixed) and fixed is not None
        freed = bool(f.modifiers.fixed) and fixed is None  # NA*x
        label = pick(f.modifiers.label) if f.modifiers.label else ""
        start = pick(f.modifiers.start) if f.modifiers.start else np.nan
        start = np.nan if start is None else start
        if has_fixed:
            add(f.lhs, f.op, f.rhs, user=1, free=False, ustart=float(fixed), label=label)
        elif f.op == "=~" and not std_lv and not freed and first_indicator[f.lhs] == f.rhs:
            add(f.lhs, f.op, f.rhs, user=1, free=False, ustart=1.0, label=label)
        else:
            add(f.lhs, f.op, f.rhs, user=1, free=True, ustart=start, label=label)

    def default(lhs: str, op: str, rhs: str, *, free: bool, ustart: float = np.nan, exo: int = 0) -> None:
        if key(lhs, op, rhs) not in seen:
            add(lhs, op, rhs, user=0, free=free, ustart=ustart, exo=exo)

    for v in roles.ov:
        for k in range(1, ordered.get(v, 0) + 1):
            default(v, "|", f"t{k}", free=True)
    for v in [*roles.ov_nox, *roles.lv]:
        if (std_lv and v in roles.lv) or v in ordered:
            default(v, "~~", v, free=False, ustart=1.0)
        else:
            default(v, "~~", v, free=True)
    for a, b in combinations(roles.lv_x, 2):
        default(a, "~~", b, free=True)
    for a, b in combinations([*roles.lv_y, *roles.ov_y], 2):
        default(a, "~~", b, free=True)
    for i, a in enumerate(roles.ov_x):  # lower triangle, column by column, as lavaan orders it
        for b in roles.ov_x[i:]:
            default(a, "~~", b, free=False, exo=1)
    for v in roles.ov:
        if v in ordered:
            default(v, "~*~", v, free=False, ustart=1.0)
    if meanstructure:
        for v in roles.ov_nox:
            default(v, "~1", "", free=v not in ordered, ustart=0.0 if v in ordered else np.nan)
        for v in roles.ov_x:
            default(v, "~1", "", free=False, exo=1)
        for v in roles.lv:
            default(v, "~1", "", free=False, ustart=0.0)
    return rows


def _equal_kind(op: str, lhs: str, rhs: str, roles: VariableRoles) -> str | None:
    """Which ``group.equal`` kind a row belongs to (lavaan's ``lav_partable_labels``)."""
    if op == "=~":
        return "loadings"
    if op == "~":
        return "regressions"
    if op == "|":
        return "thresholds"
    if op == "~1":
        return "intercepts" if lhs in roles.ov_nox else "means" if lhs in roles.lv else None
    if op == "~~":
        if lhs in roles.ov_nox:
            return "residuals" if lhs == rhs else "residual.covariances"
        if lhs in roles.lv:
            return "lv.variances" if lhs == rhs else "lv.covariances"
    return None


def _equalities_from_labels(rows: list[dict], roles: VariableRoles, ngroups: int, group_equal) -> list[dict]:
    """Parameters sharing a label are equal, as lavaan's ``lavaanify`` makes them: every row gets a virtual
    label (``lhs op rhs``, with ``.gG`` in groups after the first), ``group_equal`` gives the rows of one kind
    the same label in every group, and the user's labels override. A set with a fixed member is fixed (in
    ``rows``, in place); a free set gets ``.pA. == .pB.`` rows (user 2, returned) and, where the label is
    empty, the first member's plabel."""
    virtual = [f"{r['lhs']}{r['op']}{r['rhs']}" + (f".g{r['group']}" if r["group"] > 1 else "") for r in rows]
    if ngroups > 1 and group_equal:
        first: dict[str, str] = {}
        for k, r in enumerate(rows):
            if _equal_kind(r["op"], r["lhs"], r["rhs"], roles) in group_equal:
                virtual[k] = first.setdefault(f"{r['lhs']}{r['op']}{r['rhs']}", virtual[k])
    members_of: dict[str, list[int]] = {}
    for k, (r, v) in enumerate(zip(rows, virtual, strict=True)):
        members_of.setdefault(r["label"] or v, []).append(k)
    implied = []
    # Sets in the order their second member appears (lavaan's order of the == rows).
    for members in sorted((m for m in members_of.values() if len(m) > 1), key=lambda m: m[1]):
        if not all(rows[k]["free"] for k in members):
            fixed = next(k for k in members if not rows[k]["free"])
            for k in members:
                rows[k].update(ustart=rows[fixed]["ustart"], free=False)
            continue
        ref = members[0]
        for other in members[1:]:
            implied.append({"lhs": rows[ref]["plabel"], "op": "==", "rhs": rows[other]["plabel"], "user": 2,
                            "block": 0, "group": 0, "free": 0, "ustart": np.nan, "exo": 0, "label": "",
                            "plabel": ""})  # fmt: skip
        empty = [k for k in members if rows[k]["label"] == ""]
        for k in empty:
            rows[k]["label"] = rows[ref]["plabel"]
    return implied


def _check_labels(rows: list[dict], formulas: list[Formula]) -> None:
    known = {r["label"] for r in rows} | {r["plabel"] for r in rows}
    variables = {r["lhs"] for r in rows} | {r["rhs"] for r in rows}
    for f in formulas:
        if f.op == ":=" or f.op in ("==", "<", ">"):
            for name in _names_in(f.rhs if f.op == ":=" else f.lhs + "+" + f.rhs):
                if name not in known and name not in variables:
                    raise ModelSyntaxError(f"{name!r} in '{f.lhs} {f.op} {f.rhs}' is not a parameter label", f.line)


def _names_in(expression: str) -> list[str]:
    functions = {"exp", "log", "sqrt", "abs", "sin", "cos", "tan", "pnorm", "qnorm"}
    # Numbers first, so "1.2" does not leave a name ".2" behind.
    without_numbers = re.sub(r"(?<![A-Za-z0-9._])(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", " ", expression)
    names = re.findall(r"[A-Za-z._][A-Za-z0-9._]*", without_numbers)
    return [n for n in names if n not in functions]
