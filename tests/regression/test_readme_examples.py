"""The README's Python examples run and print what their comments say (our own figures)."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from support.markets import REPOSITORY

README = (REPOSITORY / "README.md").read_text(encoding="utf-8")


def _block(section: str) -> str:
    start = README.index(f"## {section}\n")
    opening = README.index("```python\n", start) + len("```python\n")
    return README[opening : README.index("```", opening)]


def _expected(code: str) -> list[str]:
    """The output the example documents: a trailing ``# …`` on a print, or the ``# …`` lines
    after the last print."""
    inline = re.findall(r"^print\(.*\)[ \t]+# (.+)$", code, flags=re.M)
    standalone = re.findall(r"^# (.+)$", code.split("print(")[-1], flags=re.M)
    return inline + standalone


@pytest.mark.parametrize("section", ["Oracles", "Liquidation"])
def test_readme_example_prints_what_it_says(section: str) -> None:
    code = _block(section)
    expected = _expected(code)
    assert expected, f"the {section} example documents no output"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"README:{section}", "exec"), {})
    assert printed.getvalue().splitlines() == expected
