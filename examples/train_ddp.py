"""Train a fastvfx model on several processes with DistributedDataParallel.

Launch (one machine, two CPU processes):

    torchrun --nproc-per-node 2 examples/train_ddp.py --model movinet_a0 --steps 5

Nothing here is fastvfx-specific: the models are ordinary nn.Modules whose
ops have autograd, so torch.distributed (process group, DDP, all-reduce of the
gradients) works as for any model. On several machines, run the same torchrun
command on each with --nnodes, --node-rank and --rdzv-endpoint (or
--master-addr / --master-port). The data are synthetic clips, drawn per rank.
"""

import argparse

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

import fastvfx
from fastvfx.models import mobilenet_v2_tsm, movinet_a0, squeezetime


def build(name: str, num_classes: int, frames: int) -> torch.nn.Module:
    if name == "mobilenet_v2_tsm":
        return mobilenet_v2_tsm(num_classes, frames, backend="fastvfx")
    if name == "movinet_a0":
        return movinet_a0(num_classes, backend="fastvfx")
    if name == "squeezetime":
        return squeezetime(num_classes, frames, backend="fastvfx")
    raise ValueError(f"unknown model {name!r}")


def synthetic_batch(name: str, batch: int, frames: int, size: int, num_classes: int, generator: torch.Generator):
    """Random clips in the model's layout, and random labels."""
    if name == "mobilenet_v2_tsm":  # (N*T, C, H, W)
        clips = torch.randn(batch * frames, 3, size, size, generator=generator)
    else:  # (N, C, T, H, W)
        clips = torch.randn(batch, 3, frames, size, size, generator=generator)
    return clips, torch.randint(num_classes, (batch,), generator=generator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="movinet_a0", choices=["mobilenet_v2_tsm", "movinet_a0", "squeezetime"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=2, help="clips per process")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.001)
    args = parser.parse_args()

    dist.init_process_group("gloo")  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)  # DDP also broadcasts rank 0's weights when it wraps the model
    model = DistributedDataParallel(build(args.model, args.num_classes, args.frames).train())
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    generator = torch.Generator().manual_seed(1000 + rank)  # each rank draws its own clips
    if rank == 0:
        print(f"fastvfx {fastvfx.__version__}: {args.model} on {world} processes ({fastvfx.active_isa()})", flush=True)
    for step in range(args.steps):
        clips, labels = synthetic_batch(args.model, args.batch_size, args.frames, args.size, args.num_classes,
                                        generator)
        loss = F.cross_entropy(model(clips), labels)
        optimizer.zero_grad()
        loss.backward()  # DDP averages the gradients over the processes here
        optimizer.step()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        if rank == 0:
            print(f"step {step} loss {mean_loss.item() / world:.4f}", flush=True)
    # DDP's reducer holds the process group: release it, and let every rank
    # arrive, before the group goes (a rank that tore down gloo while its peer
    # was still in a collective aborted now and then at exit).
    del model, optimizer
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
