"""fastvfx.nn.TemporalShift as a drop-in for TSM's TemporalShift module."""

import pytest
import torch
from torch import nn

import fastvfx
from fastvfx.nn import TemporalShift
from fastvfx.ops.temporal_shift import temporal_shift_reference


class UpstreamTemporalShift(nn.Module):
    """TSM's module as its repository writes it (out-of-place shift)."""

    def __init__(self, net, n_segment=3, n_div=8):
        super().__init__()
        self.net = net
        self.n_segment = n_segment
        self.fold_div = n_div

    def forward(self, x):
        return self.net(temporal_shift_reference(x, self.n_segment, self.fold_div))


@pytest.mark.parametrize(
    "make_net",
    [
        lambda: nn.Conv2d(32, 16, 1),
        lambda: nn.Conv2d(32, 32, 1, bias=False),
        lambda: nn.Conv2d(32, 16, 3, padding=1),
        lambda: nn.Sequential(nn.Conv2d(32, 32, 1), nn.ReLU()),
    ],
)
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_matches_upstream_module(make_net, layout):
    net = make_net()
    ours = TemporalShift(net, n_segment=8, n_div=8)
    upstream = UpstreamTemporalShift(net, n_segment=8, n_div=8)
    x = torch.randn(16, 32, 7, 7).contiguous(memory_format=layout)
    torch.testing.assert_close(ours(x), upstream(x), rtol=1e-5, atol=1e-5)


def test_same_attributes_and_state_dict_as_upstream():
    net = nn.Conv2d(16, 16, 1)
    ours, upstream = TemporalShift(net, n_segment=4, n_div=4), UpstreamTemporalShift(net, 4, 4)
    assert (ours.n_segment, ours.fold_div) == (upstream.n_segment, upstream.fold_div)
    assert ours.state_dict().keys() == upstream.state_dict().keys()


def test_bare_shift_without_net():
    x = torch.randn(8, 16, 3, 3)
    assert torch.equal(TemporalShift(None, 8, 8)(x), temporal_shift_reference(x, 8, 8))


@pytest.mark.parametrize("make_net", [lambda: nn.Conv2d(24, 24, 1), lambda: nn.Conv2d(24, 24, 3, padding=1)])
def test_residual_block_with_inplace_true_keeps_the_identity(make_net):
    # The trap that made TSM withdraw its in-place shift: the shifted tensor
    # is also the residual identity.
    net = make_net()
    shift = TemporalShift(net, n_segment=8, n_div=8, inplace=True)
    x = torch.randn(16, 24, 5, 5)
    x_before = x.clone()
    got = x + shift(x)
    want = x_before + net(temporal_shift_reference(x_before, 8, 8))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert torch.equal(x, x_before)


def test_gradients_flow_to_the_wrapped_conv():
    net = nn.Conv2d(16, 8, 1)
    x = torch.randn(8, 16, 4, 4, requires_grad=True)
    TemporalShift(net, 8, 8)(x).square().sum().backward()
    got = (x.grad.clone(), net.weight.grad.clone(), net.bias.grad.clone())
    x.grad = None
    net.zero_grad()
    UpstreamTemporalShift(net, 8, 8)(x).square().sum().backward()
    for a, b in zip(got, (x.grad, net.weight.grad, net.bias.grad)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_compiled_module_matches_eager():
    model = nn.Sequential(TemporalShift(nn.Conv2d(16, 16, 1), 8, 8), nn.ReLU(), TemporalShift(None, 8, 8))
    x = torch.randn(16, 16, 5, 5)
    torch.testing.assert_close(torch.compile(model, fullgraph=True)(x), model(x))


@pytest.mark.parametrize("kwargs", [dict(n_segment=0), dict(n_div=0), dict(mode="sideways")])
def test_bad_constructor_arguments(kwargs):
    with pytest.raises(ValueError):
        TemporalShift(None, **kwargs)
