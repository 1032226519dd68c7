"""Column numbers of the packed per-instrument and per-underlying kernel tables.

The numba kernels take a few 2-d arrays instead of dozens of 1-d ones (each argument costs
dispatch time on every pre-trade check); these constants name their columns. They are compiled
into the kernels' cached machine code: after renumbering, touch the kernel modules so numba's
cache (which only watches the kernel's own file) is rebuilt.
"""

from __future__ import annotations

__all__ = [
    "F_BUCKET_COIN",
    "F_COEF1",
    "F_COEF2",
    "F_DELTA",
    "F_NEGATIVE_COEF",
    "F_ROLL_RATE",
    "F_VALUE",
    "INSTRUMENT_FLOAT_COLUMNS",
    "INSTRUMENT_INT_COLUMNS",
    "I_BUCKET",
    "I_FACTOR1",
    "I_FACTOR2",
    "I_IS_BALANCE",
    "I_IS_CALL",
    "I_IS_OPTION",
    "I_MONTH",
    "I_UNDERLYING",
    "I_VECTOR",
    "MODEL_FLOAT_COLUMNS",
    "M_IM_TO_MM",
    "M_MM_FACTOR",
    "UNDERLYING_FLOAT_COLUMNS",
    "U_INCREMENT",
    "U_INDEX",
    "U_MAX_SHOCK",
    "U_SHORT_MINIMUM",
    "U_THRESHOLD",
    "VECTOR_FLOAT_COLUMNS",
    "V_CAP_COIN",
    "V_OFFSET",
    "V_PRICE",
]

# instrument integer table (n_i, INSTRUMENT_INT_COLUMNS)
I_UNDERLYING = 0  # underlying id
I_FACTOR1 = 1  # linear factor of the position's price move, -1: add the whole scenario row
I_FACTOR2 = 2  # rate-shock factor of a future's expiry, -1: none
I_VECTOR = 3  # pm: risk vector (pair, currency); 0 for models without vectors
I_BUCKET = 4  # roll bucket (pm), -1: not a future or perpetual
I_IS_OPTION = 5
I_IS_CALL = 6
I_MONTH = 7  # SPAN contract month within the underlying (0 = spot and perpetuals)
I_IS_BALANCE = 8  # pm: 1 for a collateral balance column (coin of the underlying)
INSTRUMENT_INT_COLUMNS = 9

# instrument float table (n_i, INSTRUMENT_FLOAT_COLUMNS)
F_DELTA = 0  # delta of +1 native unit against the index, coin
F_VALUE = 1  # mark value of +1 native unit, USD
F_COEF1 = 2  # weight of factor 1 per native unit
F_COEF2 = 3  # weight of factor 2 per native unit
F_BUCKET_COIN = 4  # coin of underlying per native unit (roll bucket netting)
F_ROLL_RATE = 5  # pm: roll shock per coin of the bucket's net, max(a·T, min)
F_NEGATIVE_COEF = 6  # pm: factor weight of a negative balance per coin (S·(1 + haircut))
INSTRUMENT_FLOAT_COLUMNS = 7

# underlying float table (n_u, UNDERLYING_FLOAT_COLUMNS)
U_INDEX = 0  # index price, USD
U_THRESHOLD = 1  # pm: delta shock threshold, USD
U_MAX_SHOCK = 2  # pm: largest extra move of the delta shock
U_INCREMENT = 3  # pm: extra move per coin beyond the threshold
U_SHORT_MINIMUM = 4  # span: short option minimum per coin of short options, USD
UNDERLYING_FLOAT_COLUMNS = 5

# vector float table (n_v, VECTOR_FLOAT_COLUMNS), pm
V_PRICE = 0  # current USD price of the vector's currency
V_OFFSET = 1  # pnl_offset of the currency
V_CAP_COIN = 2  # max_offsetable_pnl in the currency's units
VECTOR_FLOAT_COLUMNS = 3

# model scalars (MODEL_FLOAT_COLUMNS,)
M_MM_FACTOR = 0  # pm: MM = factor × IM
M_IM_TO_MM = 1  # span: MM = IM / ratio
MODEL_FLOAT_COLUMNS = 2
