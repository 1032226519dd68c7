"""Margin-model backtests on real history and their statistical tests (issue 16)."""
