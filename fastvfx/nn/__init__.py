"""Drop-in nn modules backed by the fastvfx ops."""

from .temporal_focus_conv2d import TemporalFocusConv2d
from .temporal_shift import TemporalShift

__all__ = ["TemporalFocusConv2d", "TemporalShift"]
