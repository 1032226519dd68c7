"""Black-76 pricing for options on forwards: prices, Greeks, implied vol, inverse options.

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
from crossmargin.pricing.inverse import inverse_option_greeks_coin, inverse_option_price_coin

__all__ = [
    "Black76Greeks",
    "DeribitDisplayGreeks",
    "PricingInputError",
    "black76_greeks",
    "black76_price",
    "deribit_display_greeks",
    "implied_vol",
    "inverse_option_greeks_coin",
    "inverse_option_price_coin",
    "theta_per_day",
    "vega_per_vol_point",
]
