"""The contrastive loss over the global batch under DDP equals the
single-process loss, and so do the gradients (2 CPU processes, gloo)."""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from speechbrain_gemo.distributed import gather_with_grad
from speechbrain_gemo.losses import GEmoCLAPLoss

# Uneven local batches (as dynamic batching gives) exercise the padding
SPLITS = (3, 5)


def _problem():
    gen = torch.Generator().manual_seed(0)
    n = sum(SPLITS)
    features = torch.randn(n, 6, generator=gen)
    emo = torch.tensor([0, 1, 2, 3, 0, 1, 1, 2])
    gender = torch.tensor([0, 1, 0, 1, 1, 0, 0, 1])
    prompts = torch.nn.functional.normalize(torch.randn(4, 5, generator=gen))
    layer = torch.nn.Linear(6, 5)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(5, 6, generator=gen))
        layer.bias.zero_()
    return features, emo, gender, prompts, layer


def _loss(layer, features, emo, gender, prompts, gather):
    audio = torch.nn.functional.normalize(layer(features), dim=-1)
    if gather:
        audio, emo, gender = (gather_with_grad(t) for t in (audio, emo, gender))
    criterion = GEmoCLAPLoss("sl", alpha_e=0.8, alpha_g=0.2)
    return criterion(audio, prompts, emo, 14.0, gender_labels=gender)


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world
    )
    features, emo, gender, prompts, layer = _problem()
    start = sum(SPLITS[:rank])
    local = slice(start, start + SPLITS[rank])
    ddp = torch.nn.parallel.DistributedDataParallel(layer)
    loss = _loss(ddp, features[local], emo[local], gender[local], prompts, True)
    loss.backward()  # DDP averages the gradients over the processes
    torch.save(
        {"loss": loss.detach(), "grad": layer.weight.grad.clone()},
        os.path.join(out_dir, f"rank{rank}.pt"),
    )
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_gloo_available(), reason="needs gloo")
def test_ddp_loss_and_gradients_match_single_process(tmp_path):
    features, emo, gender, prompts, layer = _problem()
    loss = _loss(layer, features, emo, gender, prompts, gather=False)
    loss.backward()

    mp.spawn(
        _worker,
        args=(2, str(tmp_path / "init"), str(tmp_path)),
        nprocs=2,
        join=True,
    )
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert result["loss"].item() == pytest.approx(loss.item(), rel=1e-6)
        torch.testing.assert_close(
            result["grad"], layer.weight.grad, rtol=1e-5, atol=1e-6
        )


def test_without_process_group_gather_is_identity():
    x = torch.randn(4, 3, requires_grad=True)
    assert gather_with_grad(x) is x
