"""Drop-in nn modules backed by the fastvfx ops."""

from .temporal_shift import TemporalShift

__all__ = ["TemporalShift"]
