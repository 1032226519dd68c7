"""Loading versioned risk parameters from TOML into frozen pydantic models."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from crossmargin.core.errors import InputError
from crossmargin.core.textfiles import read_text_file

__all__ = ["load_parameters"]

ParametersT = TypeVar("ParametersT", bound=BaseModel)


def load_parameters(
    model: type[ParametersT], default_file: str, path: str | Path | None = None
) -> ParametersT:
    """Load ``model`` from ``path`` or, when ``path`` is None, from the shipped
    ``crossmargin/config/<default_file>``.

    Raises :class:`InputError` naming the file, the field path and the value on any problem.
    """
    if path is None:
        source = f"crossmargin/config/{default_file}"
        text = resources.files("crossmargin.config").joinpath(default_file).read_text("utf-8")
    else:
        source = str(path)
        text = read_text_file(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError("parameters", source, f"is not valid TOML: {error}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{source}: {location}", first.get("input"), first["msg"]) from None
