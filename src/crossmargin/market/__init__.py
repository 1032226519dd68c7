"""Market data: vol smiles and surfaces, the market snapshot, and builders from files.

* :class:`VolSmile`, :class:`VolSurface` — implied vols by log-moneyness and expiry;
* :class:`MarketSnapshot` — index prices, forwards, vol surfaces, rate and valuation time;
* :func:`market_from_dict` — the ``[market]`` table of a portfolio file;
* :func:`load_deribit_chain` — a real Deribit option chain CSV (the caller names the file:
  nothing here looks for the shared data set, see :mod:`crossmargin.shared_data`).
"""

from crossmargin.market.builders import market_from_dict, parse_expiry_text
from crossmargin.market.deribit_loader import (
    DEFAULT_CHAIN_VALUATION_TIMES,
    DERIBIT_CHAIN_2024_03_11,
    DERIBIT_CHAIN_2026_03_01,
    DeribitChainFormat,
    detect_chain_format,
    load_deribit_chain,
)
from crossmargin.market.snapshot import MarketSnapshot
from crossmargin.market.surface import MIN_SHIFTED_VOL_ANNUAL, VolSmile, VolSurface

__all__ = [
    "DEFAULT_CHAIN_VALUATION_TIMES",
    "DERIBIT_CHAIN_2024_03_11",
    "DERIBIT_CHAIN_2026_03_01",
    "MIN_SHIFTED_VOL_ANNUAL",
    "DeribitChainFormat",
    "MarketSnapshot",
    "VolSmile",
    "VolSurface",
    "detect_chain_format",
    "load_deribit_chain",
    "market_from_dict",
    "parse_expiry_text",
]
