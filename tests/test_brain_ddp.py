"""The recipe's own ``Brain`` under DDP (two CPU processes, gloo): with
``gather_across_processes`` the training loss and gradients of each process
are those of one process on the global batch; without it, each process
optimises its own half (a different objective).

The workers build ``GEmoCLAPBrain`` from recipes/IEMOCAP/gemo_clap/train.py
with the recipe's hyperparameters (tiny local towers), let SpeechBrain wrap
the model in DDP (``on_fit_start``) and run ``fit_batch`` on their half of
one global batch. The gradients are read where ``fit_batch`` hands them to
the optimisers (after DDP's all-reduce), and the step itself is left out
so that both settings start from the same weights.

Authors
 * speechbrain-gemo developers 2026
"""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.batch import PaddedBatch

from speechbrain_gemo.testing import load_recipe_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "IEMOCAP", "gemo_clap")
# Uneven halves (as dynamic batching gives) exercise the gather's padding
SPLITS = (3, 5)

pytestmark = pytest.mark.skipif(
    not dist.is_gloo_available(), reason="needs torch.distributed with gloo"
)


def _hparams(ssl_dir, text_dir, output):
    """The recipe's sl_wavlm hyperparameters on the tiny towers, without
    dropout (so that a forward pass depends on its input only)."""
    overrides = {
        "data_folder": "unused",
        "output_folder": output,
        "audio_source": ssl_dir,
        "text_source": text_dir,
        "embedding_dim": 16,
        "projection_dropout": 0.0,
        "skip_prep": True,
    }
    with open(os.path.join(RECIPE, "hparams", "sl_wavlm.yaml")) as fin:
        return load_hyperpyyaml(fin, overrides)


def _global_batch():
    """Eight utterances of one length (so that an utterance's embedding
    does not depend on the other utterances' padding) with all classes."""
    gen = torch.Generator().manual_seed(0)
    emo = [0, 1, 2, 3, 0, 1, 1, 2]
    gender = [0, 1, 0, 1, 1, 0, 0, 1]
    return [
        {
            "id": f"utt{i}",
            "sig": 0.1 * torch.randn(8000, generator=gen),
            "emo_encoded": torch.LongTensor([emo[i]]),
            "gender_encoded": torch.LongTensor([gender[i]]),
        }
        for i in range(len(emo))
    ]


def _brain(ssl_dir, text_dir, output):
    """The recipe's Brain; ``fit_batch`` records the loss and the gradients
    the optimisers would get, and skips the step."""
    train = load_recipe_script(os.path.join(RECIPE, "train.py"))
    hparams = _hparams(ssl_dir, text_dir, output)
    # HF dropout inside the towers: eval mode (gradients still flow)
    hparams["model"].eval()
    brain = train.GEmoCLAPBrain(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts={"device": "cpu", "distributed_backend": "gloo"},
        checkpointer=None,
    )
    brain.on_fit_start()  # wraps the model in DDP under a process group
    brain.modules.eval()
    brain.recorded = []

    def record_gradients():
        """Keeps the gradients fit_batch would step with, then clears
        them."""
        brain.recorded.append(
            {
                name: p.grad.detach().clone()
                for name, p in brain.model.named_parameters()
                if p.grad is not None
            }
        )
        brain.zero_grad(set_to_none=True)

    brain.optimizers_step = record_gradients
    return brain


def _fit(brain, examples, gather=None):
    """The loss and gradients of one ``fit_batch`` on ``examples``, with
    the recipe's ``gather_across_processes`` unless ``gather`` is given."""
    if gather is not None:
        brain.hparams.gather_across_processes = gather
    loss = brain.fit_batch(PaddedBatch(examples))
    return {"loss": loss, "grads": brain.recorded.pop()}


def _worker(rank, world, init_file, ssl_dir, text_dir, out_dir):
    """One DDP process: its half of the global batch, gathered or not."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank))
    os.environ["WORLD_SIZE"] = str(world)
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world
    )
    brain = _brain(ssl_dir, text_dir, os.path.join(out_dir, f"r{rank}"))
    assert isinstance(
        brain.modules.model, torch.nn.parallel.DistributedDataParallel
    )
    start = sum(SPLITS[:rank])
    half = _global_batch()[start : start + SPLITS[rank]]
    results = {
        "gathered": _fit(brain, half),  # the recipe's setting
        "local": _fit(brain, half, gather=False),
    }
    torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def _max_grad_difference(grads, reference):
    """Largest absolute difference over all parameters."""
    assert grads.keys() == reference.keys()
    return max((grads[k] - reference[k]).abs().max().item() for k in grads)


def test_recipe_brain_under_ddp_optimises_the_global_batch(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    mp.spawn(
        _worker,
        args=(
            2,
            str(tmp_path / "init"),
            tiny_wavlm_dir,
            tiny_roberta_dir,
            str(tmp_path),
        ),
        nprocs=2,
        join=True,
    )
    ranks = [
        torch.load(tmp_path / f"rank{r}.pt", weights_only=True)
        for r in range(2)
    ]

    # One process, same weights (same seed), on the global batch and on
    # each half
    brain = _brain(tiny_wavlm_dir, tiny_roberta_dir, str(tmp_path / "single"))
    examples = _global_batch()
    single = _fit(brain, examples)
    halves = [
        _fit(brain, examples[: SPLITS[0]]),
        _fit(brain, examples[SPLITS[0] :]),
    ]
    scale = max(g.abs().max().item() for g in single["grads"].values())
    assert scale > 0

    # Gathered: every process has the global loss and the global gradient.
    # Measured: the losses are equal; the gradients differ by 2.4e-6 for a
    # largest gradient of 2.3 (1.1e-6 of it: float32 summation order).
    for result in ranks:
        gathered = result["gathered"]
        assert gathered["loss"].item() == pytest.approx(
            single["loss"].item(), rel=1e-6
        )
        assert _max_grad_difference(gathered["grads"], single["grads"]) < (
            5e-6 * scale
        )

    # Not gathered: each process's loss is that of its half alone, and DDP
    # averages the two halves' gradients; both differ from the global ones
    # (measured: losses 0.97 and 0.93 against 0.84; gradients 0.39 apart)
    for rank, result in enumerate(ranks):
        local = result["local"]
        assert local["loss"].item() == pytest.approx(
            halves[rank]["loss"].item(), rel=1e-6
        )
        assert abs(local["loss"].item() - single["loss"].item()) > 0.01
    mean_of_halves = {
        k: (halves[0]["grads"][k] + halves[1]["grads"][k]) / 2
        for k in single["grads"]
    }
    for result in ranks:
        local = result["local"]["grads"]
        assert _max_grad_difference(local, mean_of_halves) < 5e-6 * scale
        assert _max_grad_difference(local, single["grads"]) > 1e-2 * scale
