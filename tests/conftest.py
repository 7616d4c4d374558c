import pytest
import torch

import fastvfx


@pytest.fixture(params=fastvfx.supported_isas())
def each_isa(request):
    """Runs the test once per ISA variant this CPU supports."""
    with fastvfx.isa(request.param):
        yield request.param


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
