"""Drop-in nn modules backed by the fastvfx ops."""

from .causal_dwconv3d import CausalDepthwiseConv3d
from .depthwise_conv2d import DepthwiseConv2d
from .temporal_focus_conv2d import TemporalFocusConv2d
from .temporal_shift import TemporalShift

__all__ = ["CausalDepthwiseConv3d", "DepthwiseConv2d", "TemporalFocusConv2d", "TemporalShift"]
