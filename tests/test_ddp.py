"""DistributedDataParallel (gloo, 2 CPU processes spawned here) over the
fastvfx backend in training mode: each rank's DDP gradients equal the average
of the per-rank gradients computed without DDP. Plus examples/train_ddp.py
under torchrun."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

WORLD = 2
SIZE = 32
ROOT = Path(__file__).resolve().parents[1]


class InplaceShiftNet(nn.Module):
    """The in-place shift on a fresh intermediate (never on a tensor still
    needed unshifted), and the TSM wrapper whose shift runs inside the 1x1 conv."""

    def __init__(self, n_segment: int = 2) -> None:
        super().__init__()
        import fastvfx

        self.n_segment = n_segment
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.shift_conv = fastvfx.nn.TemporalShift(nn.Conv2d(16, 16, 1), n_segment, n_div=4)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        import fastvfx

        y = self.stem(x)  # conv saves its input, not its output: y may be shifted in place
        fastvfx.temporal_shift_(y, self.n_segment, 4)
        y = torch.relu(y)
        y = self.shift_conv(y) + y
        return self.head(y.mean((2, 3))).view(-1, self.n_segment, 5).mean(1)


def _cases():
    """name -> (model factory, input factory for a rank); each rank feeds different data."""
    from fastvfx.models import mobilenet_v2_tsm, movinet_a0, squeezetime

    return {
        "inplace_shift": (lambda: InplaceShiftNet(2), lambda g: torch.randn(4, 3, 8, 8, generator=g)),
        "mobilenet_v2_tsm": (lambda: mobilenet_v2_tsm(5, 2, backend="fastvfx", dropout=0.0),
                             lambda g: torch.randn(4, 3, SIZE, SIZE, generator=g)),
        "mobilenet_v2_tsm_online": (lambda: mobilenet_v2_tsm(5, 2, online=True, backend="fastvfx", dropout=0.0),
                                    lambda g: torch.randn(4, 3, SIZE, SIZE, generator=g)),
        "movinet_a0": (lambda: movinet_a0(5, backend="fastvfx", dropout=0.0),
                       lambda g: torch.randn(1, 3, 2, SIZE, SIZE, generator=g)),
        "squeezetime": (lambda: squeezetime(5, 2, backend="fastvfx", dropout=0.0),
                        lambda g: torch.randn(2, 3, 2, SIZE, SIZE, generator=g)),
    }


def _grads(model):
    return [p.grad.detach().clone() for p in model.parameters()]


def _worker(rank: int, store: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        results = {}
        for name, (make, data) in _cases().items():
            torch.manual_seed(0)  # the same initial weights on every rank
            model = make().train()
            x = data(torch.Generator().manual_seed(100 + rank))
            # Without DDP, on this rank's batch.
            local = make().train()
            local.load_state_dict(model.state_dict())
            logits = local(x)
            target = torch.arange(logits.size(0)) % 5
            F.cross_entropy(logits, target).backward()
            ddp = nn.parallel.DistributedDataParallel(model)
            F.cross_entropy(ddp(x), target).backward()
            results[name] = {"local": _grads(local), "ddp": _grads(model)}
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_ddp_gradients_are_the_average_of_per_rank_gradients(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    assert set(ranks[0]) == set(_cases())
    for name in ranks[0]:
        local = [r[name]["local"] for r in ranks]
        for ddp in (r[name]["ddp"] for r in ranks):
            assert len(ddp) == len(local[0]) > 0
            for i, g in enumerate(ddp):
                expected = sum(grads[i] for grads in local) / WORLD
                scale = max(1e-3, expected.abs().max().item())
                assert (g - expected).abs().max().item() <= 1e-5 * scale, f"{name}: parameter {i}"
        # the ranks saw different data: the average is not just one rank's gradient
        assert any(not torch.allclose(a, b) for a, b in zip(local[0], local[1])), name


def test_train_ddp_example_under_torchrun(tmp_path):
    # The installed fastvfx (the source tree has no compiled _C): run from a
    # temporary folder and leave PYTHONPATH as the caller set it.
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           str(ROOT / "examples" / "train_ddp.py"), "--model", "movinet_a0", "--steps", "3", "--size", "32",
           "--frames", "2", "--batch-size", "1"]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = [float(loss) for _, loss in re.findall(r"step (\d+) loss ([0-9.eE+-]+)", proc.stdout)]
    assert len(losses) == 3 and all(math.isfinite(v) and v > 0 for v in losses), proc.stdout
