"""The models the book engine runs: name → :class:`~crossmargin.engine.model_spec.ModelSpec`.

The engine looks a model's spec up here once and calls through it; registering a spec is all it
takes to run another model.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from crossmargin.core.errors import InputError
from crossmargin.engine.model_spec import ModelSpec
from crossmargin.engine.pm_spec import PM_SPEC
from crossmargin.engine.span_spec import SPAN_SPEC

__all__ = ["MODEL_SPECS", "model_spec"]

#: The registered specs by model name.
MODEL_SPECS: Mapping[str, ModelSpec[Any]] = MappingProxyType(
    {spec.name: spec for spec in (PM_SPEC, SPAN_SPEC)}
)


def model_spec(model: object) -> ModelSpec[Any]:
    """The spec of the model named ``model`` (``"pm"``, ``"span"``); :class:`InputError` naming
    the registered models for any other value."""
    spec = MODEL_SPECS.get(model) if isinstance(model, str) else None
    if spec is None:
        names = " or ".join(repr(name) for name in MODEL_SPECS)
        raise InputError("model", model, f"must be {names}")
    return spec
