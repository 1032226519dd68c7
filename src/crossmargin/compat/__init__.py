"""Compatibility profiles: other venues' margin engines reproduced on crossmargin's machinery.

Each profile reads the venue's own case format and reproduces its published answers number for
number (see ``tests/golden``). Profiles: :mod:`crossmargin.compat.derive_pmrm` (Derive's
portfolio margin risk manager, PMRM version 2).
"""

__all__: list[str] = []
