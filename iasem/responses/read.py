"""``iasem.read_responses``: a platform's export in, a :class:`ResponseSet` out.

The stages: read the file (never written to) -> recognise the platform -> map its columns to the
instrument's questions (:mod:`.platforms`) -> read every answer (:mod:`.answers`) -> score the reverse-keyed
items -> typed columns. Every decision on the way goes into the log (:mod:`.log`); no row is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import IasemError
from ..instruments.codebook import codebook as make_codebook
from ..instruments.instrument import Instrument, Question, load_instrument
from .answers import AnswerReader
from .log import DecisionLog
from .platforms import HEAD_BYTES, PLATFORMS, PlatformExport, detect, reader
from .screening import Screening, ScreeningRules, exclude
from .screening import screen as run_screening

#: Cells that mark a multiple-choice option as chosen in one-column-per-option exports (besides the option's
#: own value, key or label, which Qualtrics' and REDCap's label exports write).
CHOSEN = {"1", "y", "yes", "true", "checked", "ja", "x"}
NOT_CHOSEN = {"0", "n", "no", "false", "unchecked", "nee"}
#: Cells that say the question was not shown (LimeSurvey's full-answer export): empty.
NOT_SHOWN = {"", "n/a", "n.v.t.", "nvt"}


@dataclass
class ResponseSet:
    """The responses to an instrument, read from a platform's export.

    Attributes
    ----------
    data : DataFrame
        One row per respondent (index ``respondent``, the platform's response id): every Likert item as a
        nullable integer (reverse-keyed items already scored), background questions typed (single choice as a
        categorical of option keys, counts as integers, multiple choice as one boolean column per option,
        ``<code>_<key>``). Unreadable answers are missing (<NA>), each with a log entry.
    answers : DataFrame
        The Likert answers as given, before reverse-keying.
    raw : DataFrame
        The file's data rows as read, every cell as text.
    meta : DataFrame
        Per respondent: ``line`` (where the row is in the file), ``duration`` (seconds, where the export
        says), ``complete`` (where the export says).
    log : DataFrame
        Every decision: row, respondent, column, check, action, value, reason (:mod:`iasem.responses.log`).
    codebook : DataFrame
        The instrument's codebook (:func:`iasem.codebook`).
    platform : str
        The platform the file came from.
    source : str
        The file's path.
    screening : Screening or None
        The data-quality flags, missing-data patterns and Little's MCAR test
        (:func:`iasem.responses.screening.screen`); flags only: :meth:`exclude` removes respondents.
    """

    data: pd.DataFrame
    answers: pd.DataFrame
    raw: pd.DataFrame
    meta: pd.DataFrame
    log: pd.DataFrame
    codebook: pd.DataFrame
    platform: str
    source: str
    instrument: Instrument = field(repr=False)
    screening: Screening | None = field(default=None, repr=False)

    def _repr_html_(self) -> str:
        """In a notebook: the sample and item tables, as :func:`iasem.report` renders them."""
        from ..report import collect  # the report layer builds on this module, not the other way round

        return collect([self])._repr_html_()

    @property
    def items(self) -> list[str]:
        """The Likert item codes (without the attention check)."""
        return [q.code for q in self.instrument.likert_questions]

    @property
    def flags(self) -> pd.DataFrame:
        """The screening flags per respondent (:attr:`Screening.flags`)."""
        if self.screening is None:
            raise IasemError("these responses were read with screen=False; call iasem.responses.screen(...)")
        return self.screening.flags

    def exclude(self, checks: Sequence[str]) -> ResponseSet:
        """The responses without the respondents flagged by ``checks`` (e.g. ``["speeder", "attention"]``),
        each exclusion logged with its reason."""
        if self.screening is None:
            raise IasemError("these responses were read with screen=False; nothing is flagged to exclude")
        return exclude(self, self.screening, checks)

    def __repr__(self) -> str:
        return (f"ResponseSet({len(self.data)} respondents from {self.platform} export {self.source}, "
                f"{len(self.log)} logged decisions)")  # fmt: skip


def read_responses(path: str | Path, instrument: Instrument | str | Path, *, platform: str = "auto",
                   scored: bool = False, screen: bool = True,
                   rules: ScreeningRules | None = None) -> ResponseSet:  # fmt: skip
    """Read a survey platform's export of the responses to ``instrument``.

    Parameters
    ----------
    path : str or Path
        The export file. It is read, never written.
    instrument : Instrument, str or Path
        The instrument the survey was built from (an :class:`iasem.Instrument`, a shipped spec name such as
        ``"relational"``, or a spec file).
    platform : str
        ``"auto"`` (recognised from the file) or one of limesurvey, qualtrics, kobo, odk, redcap, surveyjs,
        csv.
    scored : bool
        The file's reverse-keyed items are already scored (recoded on the platform, or simulated in the
        scored direction as the example data of ``data/``): they are taken as they stand, and the log says so.
        Default False: they are scored here, once.
    screen : bool
        Screen the responses (flags, missing-data patterns, Little's MCAR test; default True).
    rules : ScreeningRules, optional
        The screening's cutoffs.

    Returns
    -------
    ResponseSet

    Raises
    ------
    IasemError
        When the file cannot be read as that platform's export; the message names the file and the line.

    Examples
    --------
    >>> import iasem
    >>> from iasem.resources import resource_path
    >>> path = resource_path("data") / "relational_trust_responses.csv"  # simulated, in the scored direction
    >>> responses = iasem.read_responses(path, "relational", scored=True)
    >>> responses.data.shape, responses.platform
    ((400, 53), 'csv')
    >>> responses.log.query("check == 'missing_column'")["column"].tolist()[:4]  # the 30 items of one model
    ['attn1', 'scap1', 'scap2', 'scap3']
    """
    path = Path(path)
    if isinstance(instrument, (str, Path)):
        instrument = load_instrument(instrument)
    if not path.is_file():
        raise IasemError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IasemError(f"{path}: cannot read the file ({exc.strerror})") from None
    if platform == "auto":
        platform = detect(path, data[:HEAD_BYTES])
    elif platform not in PLATFORMS:
        raise IasemError(f"unknown platform {platform!r}; choose from auto, {', '.join(PLATFORMS)}")
    export = reader(platform).read(path, data, instrument)
    log = DecisionLog()
    for note in export.notes:  # the reader's own decisions: a truncated line padded, columns mapped by tag
        log.add(note["check"], note["action"], note["reason"], row=note.get("row"), respondent=note.get("respondent"),
                column=note.get("column"))  # fmt: skip
    _check_columns(export, instrument, log)
    _check_ids(export, log)
    answers, background = _read_answers(export, instrument, log)
    scored_answers = _reverse_keyed(answers, instrument, log, already=scored)
    frame = pd.concat([scored_answers, background], axis=1)
    index = pd.Index(export.ids.to_numpy(dtype=str), name="respondent")
    frame.index = index
    answers.index = index
    meta = pd.DataFrame({"line": export.lines.to_numpy()}, index=index)
    meta["duration"] = np.nan if export.duration is None else pd.to_numeric(export.duration, errors="coerce").to_numpy()
    meta["complete"] = pd.array([pd.NA] * len(index), dtype="boolean") if export.complete is None else \
        pd.array(export.complete.to_numpy(), dtype="boolean")  # fmt: skip
    raw = export.frame.copy()
    raw.index = index
    responses = ResponseSet(frame, answers, raw, meta, log.table(), make_codebook(instrument), platform, str(path),
                            instrument)  # fmt: skip
    if not screen:
        return responses
    screening = run_screening(responses, rules)
    return replace(responses, screening=screening, log=pd.concat([responses.log, screening.log], ignore_index=True))


def _check_columns(export: PlatformExport, instrument: Instrument, log: DecisionLog) -> None:
    """Log every question the file lacks and every column that is neither an answer nor metadata."""
    present = set(export.columns.values()) | {code for code, _ in export.option_columns.values()}
    for q in instrument.questions:
        if q.code not in present:
            log.add("missing_column", "missing", f"the export has no column for {q.kind} question {q.code}; "
                    "its answers are missing for every respondent", column=q.code)  # fmt: skip
    known = set(export.columns) | set(export.option_columns) | set(export.metadata)
    for column in export.frame.columns:
        if column not in known:
            log.add("extra_column", "ignored", "not a question of the instrument nor a known metadata column of "
                    f"{export.platform} exports; kept in .raw", column=column)  # fmt: skip


def _check_ids(export: PlatformExport, log: DecisionLog) -> None:
    duplicated = export.ids.duplicated(keep=False) & export.ids.ne("")
    for k in np.flatnonzero(duplicated.to_numpy()):
        first = int(export.lines.iloc[int(np.flatnonzero((export.ids == export.ids.iloc[k]).to_numpy())[0])])
        log.add("duplicate_id", "flagged", f"respondent id {export.ids.iloc[k]} appears more than once (first on "
                f"line {first}); both rows are kept", row=int(export.lines.iloc[k]),
                respondent=export.ids.iloc[k], column=None)  # fmt: skip


def _read_answers(export: PlatformExport, instrument: Instrument,
                  log: DecisionLog) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """The Likert answers (ints, as given) and the typed background answers."""
    by_code = {code: column for column, code in export.columns.items()}
    likert, background = {}, {}
    n = len(export.frame)
    for q in instrument.questions:
        if q.scale.type == "multiple":
            background.update(_multiple(q, export, log))
            continue
        column = by_code.get(q.code)
        values = _read_column(q, export, column, log) if column else [None] * n
        series = pd.array(values, dtype="Int64")
        if q.kind in ("likert", "attention"):
            likert[q.code] = series
        elif q.scale.type == "single":
            keys = {o.value: o.key for o in q.scale.options}
            background[q.code] = pd.Categorical([keys.get(v) if v is not None else None for v in values],
                                                categories=[o.key for o in q.scale.options])  # fmt: skip
        else:
            background[q.code] = series
    return pd.DataFrame(likert), pd.DataFrame(background)


def _read_column(q: Question, export: PlatformExport, column: str, log: DecisionLog) -> list[int | None]:
    reader_ = AnswerReader(q.scale)
    values, labels = [], 0
    for k, cell in enumerate(export.frame[column].tolist()):
        reading = reader_.read(cell)
        values.append(reading.value)
        labels += reading.via != "value"
        if reading.problem:
            log.add(reading.problem, "set_missing", f"{str(cell)[:60]!r} {_problem(reading.problem, q, reader_)}; "
                    "read as missing", row=int(export.lines.iloc[k]), respondent=export.ids.iloc[k], column=column,
                    value=cell)  # fmt: skip
    if labels:
        log.add("labels", "recoded", f"{labels} answers given as option keys or labels were read as their "
                f"values ({q.scale_id})", column=column)  # fmt: skip
    return values


def _problem(problem: str, q: Question, reader_: AnswerReader) -> str:
    if problem == "out_of_range":
        return f"is not a value of {q.scale_id} ({reader_.describe()})"
    if problem == "non_numeric":
        return f"is not a number ({q.scale_id}: {reader_.describe()})"
    return f"is not a value, key or label (Dutch or English) of {q.scale_id}"


def _multiple(q: Question, export: PlatformExport, log: DecisionLog) -> dict[str, pd.api.extensions.ExtensionArray]:
    """One boolean column per option: chosen or not (missing where the question was not answered)."""
    n = len(export.frame)
    options = q.scale.options
    chosen = {o.value: [pd.NA] * n for o in options}
    reader_ = AnswerReader(q.scale)
    one_column = [c for c, code in export.columns.items() if code == q.code]
    per_option = {c: value for c, (code, value) in export.option_columns.items() if code == q.code}
    for column in one_column:
        for k, cell in enumerate(export.frame[column].tolist()):
            parts = cell if isinstance(cell, list) else _split(cell, export.separator)
            if not parts:
                continue
            for o in options:
                chosen[o.value][k] = False
            for part in parts:
                reading = reader_.read(part)
                if reading.value is None:
                    log.add(reading.problem or "unknown_label", "set_missing", f"{str(part)[:60]!r} is not an "
                            f"option of {q.scale_id}; that choice is ignored", row=int(export.lines.iloc[k]),
                            respondent=export.ids.iloc[k], column=column, value=part)  # fmt: skip
                    continue
                chosen[reading.value][k] = True
    for column, value in per_option.items():
        for k, cell in enumerate(export.frame[column].tolist()):
            text = "" if cell is None else str(cell).strip().casefold()
            if text in NOT_SHOWN:
                continue
            if text in CHOSEN or reader_.read(cell).value == value:
                chosen[value][k] = True
            elif text in NOT_CHOSEN:
                chosen[value][k] = False
            else:
                log.add("unknown_label", "set_missing", f"{str(cell)[:60]!r} does not say whether option {value} "
                        f"of {q.code} was chosen", row=int(export.lines.iloc[k]),
                        respondent=export.ids.iloc[k], column=column, value=cell)  # fmt: skip
        # An option column left empty while another option of the question was chosen means "not chosen".
    if per_option:
        answered = [any(chosen[o.value][k] is True for o in options) for k in range(n)]
        for o in options:
            chosen[o.value] = [False if (v is pd.NA and answered[k]) else v for k, v in enumerate(chosen[o.value])]
    return {f"{q.code}_{o.key}": pd.array(chosen[o.value], dtype="boolean") for o in options}


def _split(cell: object, separator: str | None) -> list[str]:
    if cell is None:
        return []
    text = str(cell).strip()
    if not text:
        return []
    parts = text.split(separator) if separator and separator != " " else text.split()
    return [p.strip() for p in parts if p.strip()]


def _reverse_keyed(answers: pd.DataFrame, instrument: Instrument, log: DecisionLog, *,
                   already: bool) -> pd.DataFrame:  # fmt: skip
    """Reverse-keyed items scored once: value -> min + max - value on their scale (unless ``already``)."""
    scored = answers.copy()
    for q in instrument.likert_questions:
        if q.reverse and q.code in scored and already:
            log.add("reverse_keyed", "noted", "reverse-keyed: taken as already scored in the file (scored=True)",
                    column=q.code)  # fmt: skip
        elif q.reverse and q.code in scored:
            values = [o.value for o in q.scale.options]
            low, high = min(values), max(values)
            scored[q.code] = (low + high) - scored[q.code]
            count = int(scored[q.code].notna().sum())
            log.add("reverse_keyed", "scored", f"reverse-keyed: {count} answers scored as {low + high} - value "
                    f"(the answers as given are in .answers and .raw)", column=q.code)  # fmt: skip
    return scored
