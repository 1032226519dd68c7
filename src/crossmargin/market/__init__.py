"""Market data: vol smiles and surfaces, the market snapshot, and builders from files.

* :class:`VolSmile`, :class:`VolSurface` — implied vols by log-moneyness and expiry;
* :class:`MarketSnapshot` — index prices, forwards, vol surfaces, rate and valuation time;
* :func:`market_from_dict` — the ``[market]`` table of a portfolio file;
* :func:`load_deribit_chain` — a real Deribit option chain CSV;
* :func:`shared_data_dir` — where the shared data set lives.
"""

from crossmargin.market.builders import market_from_dict, parse_expiry_text
from crossmargin.market.deribit_loader import (
    DEFAULT_CHAIN_VALUATION_TIMES,
    DeribitChainFormat,
    detect_chain_format,
    load_deribit_chain,
)
from crossmargin.market.paths import (
    DERIBIT_CHAIN_2024_03_11,
    DERIBIT_CHAIN_2026_03_01,
    SHARED_DATA_ENV,
    SharedDataNotFoundError,
    shared_data_dir,
)
from crossmargin.market.snapshot import MarketSnapshot
from crossmargin.market.surface import MIN_SHIFTED_VOL_ANNUAL, VolSmile, VolSurface

__all__ = [
    "DEFAULT_CHAIN_VALUATION_TIMES",
    "DERIBIT_CHAIN_2024_03_11",
    "DERIBIT_CHAIN_2026_03_01",
    "MIN_SHIFTED_VOL_ANNUAL",
    "SHARED_DATA_ENV",
    "DeribitChainFormat",
    "MarketSnapshot",
    "SharedDataNotFoundError",
    "VolSmile",
    "VolSurface",
    "detect_chain_format",
    "load_deribit_chain",
    "market_from_dict",
    "parse_expiry_text",
    "shared_data_dir",
]
