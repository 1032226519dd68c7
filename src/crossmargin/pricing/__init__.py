"""Pricing: Black-76 kernels (prices, Greeks, implied vol, inverse options) and the one
instrument pricer (:class:`InstrumentArrays`, :func:`unit_values_usd`, :func:`unit_greeks_usd`).

Pure array functions: every argument broadcasts, every result is a float64 array in the units its
docstring names. The public functions run numba kernels (``fastmath`` off); a plain numpy/scipy
twin of each lives in :mod:`crossmargin.pricing.reference` and a property test holds them equal.
"""

from crossmargin.pricing._validation import PricingInputError
from crossmargin.pricing.black76 import Black76Greeks, black76_greeks, black76_price
from crossmargin.pricing.deribit import (
    DeribitDisplayGreeks,
    deribit_display_greeks,
    theta_per_day,
    vega_per_vol_point,
)
from crossmargin.pricing.implied_vol import implied_vol
from crossmargin.pricing.instrument_arrays import (
    InstrumentArrays,
    delta_one_coin_per_unit,
    instrument_arrays,
    unit_greeks_usd,
    unit_values_usd,
)
from crossmargin.pricing.inverse import inverse_option_greeks_coin, inverse_option_price_coin

__all__ = [
    "Black76Greeks",
    "DeribitDisplayGreeks",
    "InstrumentArrays",
    "PricingInputError",
    "black76_greeks",
    "black76_price",
    "delta_one_coin_per_unit",
    "deribit_display_greeks",
    "implied_vol",
    "instrument_arrays",
    "inverse_option_greeks_coin",
    "inverse_option_price_coin",
    "theta_per_day",
    "unit_greeks_usd",
    "unit_values_usd",
    "vega_per_vol_point",
]
