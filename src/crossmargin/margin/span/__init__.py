"""CME SPAN: the 16-scenario arithmetic, risk arrays from our pricing, and the model (``span``)."""

from crossmargin.margin.span.model import SpanMargin
from crossmargin.margin.span.parameters import SpanParameters, load_span_parameters

__all__ = ["SpanMargin", "SpanParameters", "load_span_parameters"]
