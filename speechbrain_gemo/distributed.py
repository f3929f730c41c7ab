"""Gathering embeddings across processes, with gradients; starting and
ending a process of a torchrun job.

The contrastive targets compare every utterance with every other one in
the batch, so under DDP each process gathers the audio embeddings and
labels of all processes (as open_clip does) and computes the loss over the
global batch. ``torch.distributed.nn.functional.all_gather`` carries the
gradient back to each process's own slice; since every process computes
the same global loss, DDP's gradient averaging then yields exactly the
gradient of the single-process loss over the global batch.

Authors
 * speechbrain-gemo developers 2026
"""

import logging
import os
import sys

import torch
import torch.distributed as dist
from speechbrain.utils.distributed import is_distributed_initialized


def gather_with_grad(tensor):
    """Concatenates ``tensor`` from all processes along the first dimension.

    Batches may have different sizes on different processes (dynamic
    batching): they are padded to the largest for the collective and
    trimmed afterwards. Gradients flow back to the calling process's slice.
    Outside of a process group this returns ``tensor`` unchanged.

    Arguments
    ---------
    tensor : torch.Tensor
        Local batch, first dimension is the batch.

    Returns
    -------
    torch.Tensor
        The global batch, ordered by rank.

    Example
    -------
    >>> x = torch.ones(3, 2, requires_grad=True)
    >>> gather_with_grad(x) is x
    True
    """
    if not is_distributed_initialized() or dist.get_world_size() == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather

    local_size = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.zeros_like(local_size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, local_size)
    sizes = [int(s.item()) for s in sizes]
    max_size = max(sizes)
    if tensor.shape[0] < max_size:
        pad = tensor.new_zeros((max_size - tensor.shape[0],) + tensor.shape[1:])
        tensor = torch.cat([tensor, pad], dim=0)
    gathered = all_gather(tensor)
    return torch.cat([g[:n] for g, n in zip(gathered, sizes)], dim=0)


def start_process_group(device):
    """Joins the torchrun process group if there is one (gloo on the CPU,
    NCCL on GPUs).

    Arguments
    ---------
    device : str
        The device asked for (``cuda`` means ``cuda:LOCAL_RANK``).

    Returns
    -------
    tuple
        ``(rank, world_size, device)``; ``(0, 1, device)`` outside
        torchrun.

    Example
    -------
    >>> start_process_group("cpu")  # not under torchrun
    (0, 1, 'cpu')
    """
    from speechbrain.utils.distributed import (
        ddp_init_group,
        get_local_rank,
        get_rank,
    )

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or get_rank() is None:
        return 0, 1, device
    local_rank = int(get_local_rank() or 0)
    backend = "gloo"
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}" if device == "cuda" else device
        backend = "nccl"
        torch.cuda.set_device(torch.device(device))
    if not is_distributed_initialized():
        ddp_init_group({"distributed_backend": backend})
    return int(get_rank()), world, device


def end_process_group(status=0):
    """Ends a process of a torchrun job once its work is written: waits for
    the other processes, destroys the process group, and exits with
    ``status`` without the interpreter's finalisation. Without a process
    group it does nothing and returns.

    Gloo's C++ threads can outlive ``destroy_process_group`` and abort the
    process while the interpreter is torn down ("terminate called without
    an active exception", exit status -6: seen now and then in this
    project's torchrun tests after every output was written; see
    pytorch/pytorch#179291). Exiting with ``os._exit`` after flushing the
    logs and the standard streams skips that teardown.

    Arguments
    ---------
    status : int
        The exit status.

    Example
    -------
    >>> end_process_group()  # no process group: returns
    """
    if not is_distributed_initialized():
        return
    dist.barrier()
    dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
