"""Mixed precision in the recipe: ``--precision=bf16`` (and
``--eval_precision``) really runs the towers under autocast, seen from
inside the forward pass; fp16 runs on CUDA and is refused on CPU.

The recipe's ``GEmoCLAPBrain`` (recipes/IEMOCAP/gemo_clap/train.py) is
built from the command-line options as ``train.py`` builds it, and a
forward hook on a linear layer of each tower records the dtype it
computes in.

Authors
 * speechbrain-gemo developers 2026
"""

import os

import pytest
import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.batch import PaddedBatch

from speechbrain_gemo.testing import load_recipe_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "IEMOCAP", "gemo_clap")
HPARAMS = os.path.join(RECIPE, "hparams", "ml_wavlm.yaml")


def _brain(flags, ssl_dir, text_dir, output, device="cpu"):
    """The recipe's Brain from command-line ``flags``, as train.py builds
    it (``sb.parse_arguments``, then the hyperparameters)."""
    train = load_recipe_script(os.path.join(RECIPE, "train.py"))
    _, run_opts, _ = sb.parse_arguments([HPARAMS, f"--device={device}", *flags])
    overrides = {
        "data_folder": "unused",
        "output_folder": output,
        "audio_source": ssl_dir,
        "text_source": text_dir,
        "embedding_dim": 16,
        "skip_prep": True,
    }
    with open(HPARAMS) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    return train.GEmoCLAPBrain(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=None,
    )


def _batch():
    """Four utterances, every emotion, both genders."""
    gen = torch.Generator().manual_seed(0)
    return PaddedBatch(
        [
            {
                "id": f"u{i}",
                "sig": 0.1 * torch.randn(6000 + 500 * i, generator=gen),
                "emo_encoded": torch.LongTensor([i]),
                "gender_encoded": torch.LongTensor([i % 2]),
            }
            for i in range(4)
        ]
    )


def _record_dtypes(brain):
    """Forward hooks on the first linear layer of each tower; returns the
    list they append ``(tower, output dtype)`` to."""
    seen = []
    towers = {
        "ssl": brain.model.audio_encoder.ssl_model,
        "text": brain.model.text_encoder.text_model,
    }
    for tower, module in towers.items():
        linear = next(
            m for m in module.modules() if isinstance(m, torch.nn.Linear)
        )

        def hook(mod, inputs, output, tower=tower):
            """Records the dtype the layer computed in."""
            seen.append((tower, output.dtype))

        linear.register_forward_hook(hook)
    return seen


def _train_and_evaluate(brain):
    """One training step and one validation batch; the dtypes seen by the
    towers in each, and the training loss."""
    brain.on_fit_start()
    brain.nonfinite_count = 0
    seen = _record_dtypes(brain)
    brain.modules.train()
    loss = brain.fit_batch(_batch())
    in_training = set(seen)
    seen.clear()
    brain.on_stage_start(sb.Stage.VALID)
    brain.modules.eval()
    with torch.no_grad():
        brain.evaluate_batch(_batch(), sb.Stage.VALID)
    return in_training, set(seen), loss


@pytest.mark.parametrize(
    "flags, train_dtype, eval_dtype",
    [
        ([], torch.float32, torch.float32),
        (["--precision=bf16"], torch.bfloat16, torch.float32),
        (
            ["--precision=bf16", "--eval_precision=bf16"],
            torch.bfloat16,
            torch.bfloat16,
        ),
    ],
    ids=["fp32", "bf16-train", "bf16-train-and-eval"],
)
def test_precision_flags_set_the_dtype_inside_the_forward(
    flags, train_dtype, eval_dtype, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    brain = _brain(flags, tiny_wavlm_dir, tiny_roberta_dir, str(tmp_path))
    in_training, in_evaluation, loss = _train_and_evaluate(brain)
    assert in_training == {("ssl", train_dtype), ("text", train_dtype)}
    assert in_evaluation == {("ssl", eval_dtype), ("text", eval_dtype)}
    # the objective itself is computed in float32
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    # the validation predictions were tracked
    assert len(brain.error_metrics.ids) == 4


def test_fp16_on_cpu_is_refused_clearly(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """SpeechBrain refuses fp16 autocast on CPU before anything runs, and
    says what to use instead."""
    with pytest.raises(ValueError, match="not yet supported on CPU") as err:
        flags = ["--precision=fp16"]
        _brain(flags, tiny_wavlm_dir, tiny_roberta_dir, str(tmp_path))
    assert "--precision=bf16" in str(err.value)


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="fp16 autocast runs only on CUDA (SpeechBrain refuses it on CPU, "
    "see test_fp16_on_cpu_is_refused_clearly) and no CUDA device is present",
)
def test_fp16_on_cuda_runs_in_half_precision_with_a_grad_scaler(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    brain = _brain(
        ["--precision=fp16", "--eval_precision=fp16"],
        tiny_wavlm_dir,
        tiny_roberta_dir,
        str(tmp_path),
        device="cuda:0",
    )
    assert brain.scaler.is_enabled()
    in_training, in_evaluation, loss = _train_and_evaluate(brain)
    assert in_training == {("ssl", torch.float16), ("text", torch.float16)}
    assert in_evaluation == {("ssl", torch.float16), ("text", torch.float16)}
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
