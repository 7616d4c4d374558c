"""Functional API of the fastvfx ops: one module per op family, each with its
documented wrappers, fake (meta) kernels, autograd and pure-PyTorch reference."""

from . import _autocast  # noqa: F401  (registers the ops' autocast rules)
