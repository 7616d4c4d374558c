"""Drop-in nn modules backed by the fastvfx ops."""

from .causal_dwconv3d import CausalDepthwiseConv3d, CausalDepthwiseConv3dBNAct
from .causal_squeeze_excitation import CausalSqueezeExcitation
from .conv_bn_act import ConvBNAct
from .depthwise_conv2d import DepthwiseConv2d
from .folded_sequential import FoldedSequential
from .temporal_focus_conv2d import TemporalFocusConv2d
from .temporal_shift import TemporalShift

__all__ = [
    "CausalDepthwiseConv3d", "CausalDepthwiseConv3dBNAct", "CausalSqueezeExcitation", "ConvBNAct", "DepthwiseConv2d",
    "FoldedSequential", "TemporalFocusConv2d", "TemporalShift",
]
