import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

import fastvfx


@pytest.fixture(params=fastvfx.supported_isas())
def each_isa(request):
    """Runs the test once per ISA variant this CPU supports."""
    with fastvfx.isa(request.param):
        yield request.param


# Devices the op tests run on: the CPU, and CUDA where a GPU is present (a
# CUDA-less run has no CUDA cases at all, rather than skipped ones).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def randomize_batchnorm():
    """Calibrate a model's BatchNorm statistics on ``inputs`` (so eval-mode
    activations keep a sensible scale and outputs depend on the input), then
    perturb the affine parameters, so that folding them is actually tested.
    Returns the model in eval mode.

    ``var_floor`` floors the running variances: in some random networks
    (SqueezeTime's gates, which pool a whole sample into one value per channel)
    channels are nearly constant over a small batch, and dividing by their tiny
    variance makes the eval-mode model so ill-conditioned that float32 torch
    differs from float64 torch by more than the 1e-4 the backends must meet."""

    def randomize(model: torch.nn.Module, *inputs: torch.Tensor, var_floor: float = 0.0) -> torch.nn.Module:
        fastvfx.models.calibrate_batchnorm(model, *inputs)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.running_var.clamp_(min=var_floor)
                    module.weight.uniform_(0.7, 1.3)
                    module.bias.normal_(0, 0.1)
        return model

    return randomize


def assert_close_scaled(actual: torch.Tensor, expected: torch.Tensor, tol: float = 1e-4) -> None:
    """|actual - expected| <= tol * max(1, max |expected|): the models' 1e-4 rule."""
    scale = max(1.0, expected.abs().max().item())
    diff = (actual - expected).abs().max().item()
    assert diff <= tol * scale, f"max abs diff {diff:g} exceeds {tol:g} x {scale:g}"


class LogFunctions(TorchFunctionMode):
    """Records every function a TorchFunctionMode sees (do the ops reach it?)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.seen.append(func)
        return func(*args, **(kwargs or {}))


class LogDispatch(TorchDispatchMode):
    """Records every op a TorchDispatchMode sees."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.seen.append(func)
        return func(*args, **(kwargs or {}))
