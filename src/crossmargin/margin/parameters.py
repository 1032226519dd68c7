"""Loading versioned risk parameters from TOML into frozen pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from crossmargin.core.checks import read_config_toml
from crossmargin.core.errors import InputError

__all__ = ["load_parameters"]

ParametersT = TypeVar("ParametersT", bound=BaseModel)


def load_parameters(
    model: type[ParametersT], default_file: str, path: str | Path | None = None
) -> ParametersT:
    """Load ``model`` from ``path`` or, when ``path`` is None, from the shipped
    ``crossmargin/config/<default_file>``.

    Raises :class:`InputError` naming the file, the field path and the value on any problem.
    """
    raw, source = read_config_toml(default_file, path)
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{source}: {location}", first.get("input"), first["msg"]) from None
