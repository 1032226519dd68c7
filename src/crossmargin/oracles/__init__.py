"""Oracles: price sources, aggregation with fail-safe guards, mark prices and funding.

* :class:`Quote`, :class:`OraclePolicy`, :func:`aggregate` → :class:`AggregatedPrice` — the median
  of fresh sources, stale and outlying quotes excluded, ``ok | degraded | unavailable``;
* :class:`LastGoodPrice` — the one stateful piece: keeps the last good price, flagged, and says
  when new risk must be refused;
* :class:`PriceSource` (protocol), :class:`ReplaySource` over the real bars, the Deribit and Binance
  adapters (:mod:`crossmargin.oracles.venues`, transport injected: no network here);
* :func:`mark_price_path`, :func:`premium_index`, :func:`funding_rate` — mark and funding;
* :func:`stable_price_path` — growth-limited price against thin-market spikes;
* :class:`OracleTiming`, :func:`observe` — per-block, lagging on-chain updates.
"""

from crossmargin.oracles.aggregate import aggregate
from crossmargin.oracles.bars import (
    BINANCE_4H_FILES,
    STABLECOIN_FILES,
    Bars,
    bars_from_daily,
    read_binance_4h,
    read_yahoo_daily,
)
from crossmargin.oracles.guard import GuardedPrice, LastGoodPrice
from crossmargin.oracles.mark import (
    FundingParams,
    MarkPriceParams,
    MarkPricePath,
    average_premium,
    funding_rate,
    mark_price_path,
    premium_index,
)
from crossmargin.oracles.onchain import OracleMode, OracleTiming, observe
from crossmargin.oracles.parameters import OracleParameters, load_oracle_parameters
from crossmargin.oracles.quotes import (
    AggregatedPrice,
    Exclusion,
    ExclusionReason,
    OraclePolicy,
    OracleStatus,
    Quote,
)
from crossmargin.oracles.sources import FixedQuotes, PriceSource, ReplaySource, collect_quotes
from crossmargin.oracles.stable_price import (
    StablePriceParams,
    asset_price,
    liability_price,
    stable_price_path,
)
from crossmargin.oracles.venues import (
    BinancePremiumIndex,
    BinancePremiumIndexSource,
    DeribitIndexSource,
    DeribitTicker,
    parse_binance_premium_index,
    parse_deribit_index,
    parse_deribit_ticker,
)

__all__ = [
    "BINANCE_4H_FILES",
    "STABLECOIN_FILES",
    "AggregatedPrice",
    "Bars",
    "BinancePremiumIndex",
    "BinancePremiumIndexSource",
    "DeribitIndexSource",
    "DeribitTicker",
    "Exclusion",
    "ExclusionReason",
    "FixedQuotes",
    "FundingParams",
    "GuardedPrice",
    "LastGoodPrice",
    "MarkPriceParams",
    "MarkPricePath",
    "OracleMode",
    "OracleParameters",
    "OraclePolicy",
    "OracleStatus",
    "OracleTiming",
    "PriceSource",
    "Quote",
    "ReplaySource",
    "StablePriceParams",
    "aggregate",
    "asset_price",
    "average_premium",
    "bars_from_daily",
    "collect_quotes",
    "funding_rate",
    "liability_price",
    "load_oracle_parameters",
    "mark_price_path",
    "observe",
    "parse_binance_premium_index",
    "parse_deribit_index",
    "parse_deribit_ticker",
    "premium_index",
    "read_binance_4h",
    "read_yahoo_daily",
    "stable_price_path",
]
