"""Haircut schedules: how much of each collateral currency counts towards margin."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from crossmargin.core.errors import InputError
from crossmargin.core.textfiles import read_text_file

__all__ = ["HaircutSchedule", "default_haircuts", "load_haircuts"]


class HaircutSchedule(BaseModel):
    """A versioned haircut per currency (0.1 = 10 % of the USD value is not counted).

    A schedule that exists is valid: every haircut lies in [0, 1).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    haircuts: Mapping[str, float]

    def model_post_init(self, __context: object) -> None:
        """Validate every haircut at construction."""
        for currency, haircut in self.haircuts.items():
            if not (0.0 <= haircut < 1.0):
                raise InputError(f"haircuts.{currency}", haircut, "must lie in [0, 1)")

    def haircut_for(self, currency: str) -> float:
        """Haircut of ``currency`` (a fraction); :class:`InputError` if the schedule has none."""
        try:
            return float(self.haircuts[currency])
        except KeyError:
            raise InputError(
                "collateral",
                currency,
                f"has no haircut in schedule {self.version!r}; add it to the schedule",
            ) from None


def load_haircuts(path: str | Path) -> HaircutSchedule:
    """Load a haircut schedule from a TOML file (see ``config/haircuts.toml`` for the format)."""
    file_path = Path(path)
    text = read_text_file(file_path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(
            "haircut schedule", str(file_path), f"is not valid TOML: {error}"
        ) from None
    return HaircutSchedule.model_validate(raw)


def default_haircuts() -> HaircutSchedule:
    """The schedule shipped in ``crossmargin/config/haircuts.toml``."""
    text = resources.files("crossmargin.config").joinpath("haircuts.toml").read_text("utf-8")
    return HaircutSchedule.model_validate(tomllib.loads(text))
