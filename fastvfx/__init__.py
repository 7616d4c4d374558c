"""fastvfx: fast operators for efficient video networks.

Importing fastvfx loads the compiled core and registers its ops with PyTorch
(``torch.ops.fastvfx.*``). The functions below are the documented API.
"""

import torch  # noqa: F401  (the extension links against torch's libraries)

from . import _C
from ._info import active_isa, huge_pages, huge_pages_enabled, info, isa, set_huge_pages, set_isa, supported_isas
from .ops.causal_dwconv3d import StreamState, causal_dwconv3d, causal_dwconv3d_step, init_stream_state
from .ops.depthwise_conv2d import depthwise_conv2d
from .ops.inverted_residual import inverted_residual, inverted_residual_step
from .ops.movinet_block import movinet_block_step
from .ops.fused_conv2d import fused_conv2d, fused_conv2d_residual_
from .ops.temporal_focus_conv2d import channel_scaled_conv2d, temporal_focus_conv2d
from .ops.temporal_shift import (
    shift_conv1x1,
    temporal_shift,
    temporal_shift_,
    temporal_shift_online_,
)
from . import nn
from . import models
from .convert import convert
from . import export

__version__ = _C.__version__

__all__ = [
    "__version__",
    "StreamState",
    "active_isa",
    "causal_dwconv3d",
    "causal_dwconv3d_step",
    "init_stream_state",
    "channel_scaled_conv2d",
    "convert",
    "depthwise_conv2d",
    "export",
    "fused_conv2d",
    "fused_conv2d_residual_",
    "huge_pages",
    "huge_pages_enabled",
    "info",
    "inverted_residual",
    "inverted_residual_step",
    "isa",
    "models",
    "movinet_block_step",
    "nn",
    "set_huge_pages",
    "set_isa",
    "shift_conv1x1",
    "supported_isas",
    "temporal_focus_conv2d",
    "temporal_shift",
    "temporal_shift_",
    "temporal_shift_online_",
]
