"""Shared test support: markets, strategies, fixtures, scratch databases, a service process and
the one way to reach the shared data set. Importable as ``support`` (``tests/`` is on the path)."""
