"""crossmargin: a cross-margining risk engine for crypto derivatives."""

__version__ = "0.1.0"

__all__ = ["__version__"]
