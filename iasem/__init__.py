"""iasem: survey research on intersectoral and non-profit alliances.

The pipeline: instrument -> responses -> measurement -> structural model -> report.
Instruments are built from the item bank (``load_instrument``, ``export_instrument``); models are fitted with
lavaan's numbers (``fit``).
"""

from .errors import IasemError, InstrumentError
from .instruments.bank import ItemBank, load_bank
from .instruments.codebook import codebook
from .instruments.export import FORMATS
from .instruments.export import export as export_instrument
from .instruments.instrument import Instrument, load_instrument
from .power import plot_power, power, smallest_n
from .report import report
from .responses import ResponseSet, read_responses
from .results import SEMResult
from .sem import fit
from .simulation import simulate
from .validation import (
    EFAResult,
    InvarianceResult,
    MeasurementReport,
    cronbach_alpha,
    efa,
    fornell_larcker,
    htmt,
    htmt_ci,
    invariance,
    item_analysis,
    reliability,
    validate,
)
from .validation.cutoffs import Cutoffs

__version__ = "0.1.0"

__all__ = [
    "FORMATS",
    "Cutoffs",
    "EFAResult",
    "IasemError",
    "Instrument",
    "InstrumentError",
    "InvarianceResult",
    "ItemBank",
    "MeasurementReport",
    "ResponseSet",
    "SEMResult",
    "__version__",
    "codebook",
    "cronbach_alpha",
    "efa",
    "export_instrument",
    "fit",
    "fornell_larcker",
    "htmt",
    "htmt_ci",
    "invariance",
    "item_analysis",
    "load_bank",
    "load_instrument",
    "plot_power",
    "power",
    "read_responses",
    "reliability",
    "report",
    "simulate",
    "smallest_n",
    "validate",
]
