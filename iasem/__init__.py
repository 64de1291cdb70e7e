"""iasem: survey research on intersectoral and non-profit alliances.

The pipeline: instrument -> responses -> measurement -> structural model -> report.
This release covers the first stage: bilingual instruments built from the item bank.
"""

from .errors import IasemError, InstrumentError
from .instruments.bank import ItemBank, load_bank
from .instruments.codebook import codebook
from .instruments.export import FORMATS
from .instruments.export import export as export_instrument
from .instruments.instrument import Instrument, load_instrument

__version__ = "0.1.0"

__all__ = [
    "FORMATS",
    "IasemError",
    "Instrument",
    "InstrumentError",
    "ItemBank",
    "__version__",
    "codebook",
    "export_instrument",
    "load_bank",
    "load_instrument",
]
