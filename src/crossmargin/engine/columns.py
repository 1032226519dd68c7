"""Column numbers of the packed per-instrument and per-underlying kernel tables.

The numba kernels take a few 2-d arrays instead of dozens of 1-d ones (each argument costs
dispatch time on every pre-trade check); these constants name their columns.
"""

from __future__ import annotations

__all__ = [
    "F_BUCKET_COIN",
    "F_COEF1",
    "F_COEF2",
    "F_DELTA",
    "F_VALUE",
    "INSTRUMENT_FLOAT_COLUMNS",
    "INSTRUMENT_INT_COLUMNS",
    "I_BUCKET",
    "I_FACTOR1",
    "I_FACTOR2",
    "I_GROUP",
    "I_IS_CALL",
    "I_IS_OPTION",
    "I_MONTH",
    "I_UNDERLYING",
    "MODEL_FLOAT_COLUMNS",
    "M_IM_TO_MM",
    "M_MM_FACTOR",
    "M_OFFSET",
    "UNDERLYING_FLOAT_COLUMNS",
    "U_BASIS_RATE",
    "U_INCREMENT",
    "U_INDEX",
    "U_MAX_SHOCK",
    "U_SHORT_MINIMUM",
    "U_SHORT_PER_COIN",
    "U_THRESHOLD",
]

# instrument integer table (n_i, INSTRUMENT_INT_COLUMNS)
I_UNDERLYING = 0  # underlying id
I_FACTOR1 = 1  # linear factor of the position's price move, -1: add the whole scenario row
I_FACTOR2 = 2  # rate-shock factor of a future's expiry, -1: none
I_GROUP = 3  # short option group (pm), -1: not an option
I_BUCKET = 4  # basis bucket (pm), -1: not a future or perpetual
I_IS_OPTION = 5
I_IS_CALL = 6
I_MONTH = 7  # SPAN contract month within the underlying (0 = spot and perpetuals)
INSTRUMENT_INT_COLUMNS = 8

# instrument float table (n_i, INSTRUMENT_FLOAT_COLUMNS)
F_DELTA = 0  # delta of +1 native unit against the index, coin
F_VALUE = 1  # mark value of +1 native unit, USD
F_COEF1 = 2  # weight of factor 1 per native unit
F_COEF2 = 3  # weight of factor 2 per native unit
F_BUCKET_COIN = 4  # coin of underlying per native unit (basis netting)
INSTRUMENT_FLOAT_COLUMNS = 5

# underlying float table (n_u, UNDERLYING_FLOAT_COLUMNS)
U_INDEX = 0  # index price, USD
U_THRESHOLD = 1  # pm: delta shock threshold, USD
U_MAX_SHOCK = 2  # pm: largest extra move of the delta shock
U_INCREMENT = 3  # pm: extra move per coin beyond the threshold
U_SHORT_PER_COIN = 4  # pm: short option charge per coin, in coin
U_BASIS_RATE = 5  # pm: basis charge rate
U_SHORT_MINIMUM = 6  # span: short option minimum per coin of short options, USD
UNDERLYING_FLOAT_COLUMNS = 7

# model scalars (MODEL_FLOAT_COLUMNS,)
M_MM_FACTOR = 0  # pm: MM = factor × IM
M_OFFSET = 1  # pm: cross-underlying correlation offset
M_IM_TO_MM = 2  # span: MM = IM / ratio
MODEL_FLOAT_COLUMNS = 3
