"""The instrument universe the book-engine unit tests share (order matters: the tests index it).

BTC inverse and linear perpetuals, two BTC futures, four BTC options on two expiries, an ETH
perpetual and call, and BTC spot against USDC — every kind and both settlements the engine
treats differently. The market is :data:`support.markets.MARKET` (BTC 72,000 at 60 %, ETH 4,000
at 70 %, r = 0, at :data:`support.markets.NOW`).
"""

from __future__ import annotations

__all__ = ["ENGINE_NAMES"]

ENGINE_NAMES = (
    "BTC-PERPETUAL",
    "BTC_USDC-PERPETUAL",
    "BTC-29MAR24",
    "BTC-28JUN24",
    "BTC-28JUN24-80000-C",
    "BTC-28JUN24-60000-P",
    "BTC-29MAR24-72000-C",
    "BTC-29MAR24-72000-P",
    "ETH-PERPETUAL",
    "ETH-28JUN24-4000-C",
    "BTC_USDC",
)
