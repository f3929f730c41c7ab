"""The two training sides of the benchmark, as SpeechBrain Brains ready
for ``fit_batch``: ``GEmoCLAPBrain`` with the recipe's settings, and the
architecture of SpeechBrain's IEMOCAP wav2vec2 recipe on the same SSL
model; and the training batches they step on.

Authors
 * speechbrain-gemo developers 2026
"""

import os

from bench.common import FROM_RECIPE, NUM_CLASSES, SAMPLE_RATE
from bench.models import build_gemo_model


def run_opts(config):
    """SpeechBrain run options of the benchmark's Brains.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        ``run_opts`` for ``sb.Brain``.
    """
    return {
        "device": config.device,
        "precision": config.precision,
        "noprogressbar": True,
        "max_grad_norm": float(config.recipe["max_grad_norm"]),
    }


def adamw(config, lr):
    """The optimiser of both sides: AdamW with the recipe's weight decay,
    fused or PyTorch's default implementation (``--adamw``; by default as
    the recipe's ``fused_adamw``).

    Arguments
    ---------
    config : BenchConfig
        The run's settings.
    lr : float
        Learning rate.

    Returns
    -------
    functools.partial
        A constructor taking the parameters.
    """
    import functools

    import torch

    extra = {"fused": True} if config.fused_adamw else {}
    return functools.partial(
        torch.optim.AdamW,
        lr=lr,
        weight_decay=float(config.recipe["weight_decay"]),
        **extra,
    )


def build_gemo_brain(
    ssl_dir, text_dir, freeze_text, config, text_trainable_layers=FROM_RECIPE
):
    """A ``GEmoCLAPBrain`` ready for ``fit_batch`` (optimisers built), with
    the recipe's SL objective and optimisers.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    text_dir : str
        The text model folder.
    freeze_text : bool
        Whether the text model is frozen.
    config : BenchConfig
        The run's settings.
    text_trainable_layers : int or None or str
        Top layers of the fine-tuned text model that train (None: all);
        ``"recipe"``: ``config.text_trainable_layers``.

    Returns
    -------
    GEmoCLAPBrain
        The Brain, in training mode.
    """

    from bench.common import RECIPE_HPARAMS
    from speechbrain_gemo.losses import GEmoCLAPLoss
    from speechbrain_gemo.testing import load_recipe_script

    # The recipe's own Brain: its hooks live in train.py
    recipe_dir = os.path.dirname(os.path.dirname(RECIPE_HPARAMS))
    GEmoCLAPBrain = load_recipe_script(
        os.path.join(recipe_dir, "train.py")
    ).GEmoCLAPBrain

    recipe = config.recipe
    model = build_gemo_model(
        ssl_dir, text_dir, freeze_text, config, text_trainable_layers
    )
    hparams = {
        "compute_cost": GEmoCLAPLoss(
            "sl",
            alpha_e=recipe["alpha_e"],
            alpha_g=recipe["alpha_g"],
            target_norm=recipe["target_norm"],
        ),
        "opt_class": adamw(config, float(recipe["lr"])),
        "ssl_opt_class": adamw(config, float(recipe["lr_ssl"])),
        "text_lr_scale": float(recipe["text_lr_scale"]),
        "gather_across_processes": True,
        # the recipe's (no dimensional head in the benchmark's model)
        "avd_weight": float(recipe["avd_weight"]),
        "selection_key": recipe["selection_key"],
    }
    brain = GEmoCLAPBrain(
        modules={"model": model},
        hparams=hparams,
        run_opts=run_opts(config),
        checkpointer=None,
    )
    brain.on_fit_start()
    brain.modules.train()
    return brain


def _baseline_brain_class():
    """The baseline Brain class (defined on first use, so that importing
    this module does not import SpeechBrain)."""
    import speechbrain as sb

    class SpeechBrainIEMOCAPBrain(sb.Brain):
        """The architecture of SpeechBrain's IEMOCAP wav2vec2 recipe
        (``recipes/IEMOCAP/emotion_recognition/train_with_wav2vec2.py``):
        SSL model, statistics pooling, a linear layer to the classes,
        log-softmax and NLL loss, one optimiser for the SSL model and one
        for the rest. SpeechBrain's default ``fit_batch`` runs the step."""

        def compute_forward(self, batch, stage):
            """SSL features, pooled and classified.

            Arguments
            ---------
            batch : PaddedBatch
                With ``sig``.
            stage : sb.Stage
                The stage.

            Returns
            -------
            torch.Tensor
                ``N x K`` log-probabilities.
            """
            batch = batch.to(self.device)
            wavs, lens = batch.sig
            outputs = self.modules.ssl(wavs, lens)
            outputs = self.hparams.avg_pool(outputs, lens)
            outputs = outputs.view(outputs.shape[0], -1)
            outputs = self.modules.output_mlp(outputs)
            return self.hparams.log_softmax(outputs)

        def compute_objectives(self, predictions, batch, stage):
            """NLL loss of the emotion labels.

            Arguments
            ---------
            predictions : torch.Tensor
                Log-probabilities.
            batch : PaddedBatch
                With ``emo_encoded``.
            stage : sb.Stage
                The stage.

            Returns
            -------
            torch.Tensor
                The loss.
            """
            emo, _ = batch.emo_encoded
            return self.hparams.compute_cost(predictions, emo.squeeze(1))

        def init_optimizers(self):
            """One optimiser for the SSL model, one for the classifier."""
            self.ssl_optimizer = self.hparams.ssl_opt_class(
                self.modules.ssl.parameters()
            )
            self.optimizer = self.hparams.opt_class(
                self.modules.output_mlp.parameters()
            )
            self.optimizers_dict = {
                "ssl_optimizer": self.ssl_optimizer,
                "model_optimizer": self.optimizer,
            }

    return SpeechBrainIEMOCAPBrain


def build_baseline_brain(ssl_dir, config):
    """The SpeechBrain IEMOCAP wav2vec2 recipe's architecture on the same
    SSL model, as a Brain ready for ``fit_batch``.

    The recipe's settings: ``output_norm=True``, the CNN frozen,
    ``StatisticsPooling(return_std=False)`` (the recipe pools the mean
    only), ``Linear(n_neurons=4, bias=False)``, log-softmax and
    ``nll_loss``. The optimisers are the GEmo-CLAP ones (AdamW, 1e-5 for
    the SSL model, 1e-4 for the rest, weight decay 0.01), so that both
    sides run the same optimiser.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    config : BenchConfig
        The run's settings.

    Returns
    -------
    sb.Brain
        The Brain, in training mode.
    """

    from speechbrain.integrations.huggingface import Wav2Vec2
    from speechbrain.nnet.activations import Softmax
    from speechbrain.nnet.linear import Linear
    from speechbrain.nnet.losses import nll_loss
    from speechbrain.nnet.pooling import StatisticsPooling

    ssl = Wav2Vec2(
        source=ssl_dir,
        save_path=ssl_dir,
        output_norm=True,
        freeze=False,
        freeze_feature_extractor=True,
    )
    ssl.model.feature_extractor._freeze_parameters()
    if config.recipe["ssl_layerdrop"] is not None:
        # the same SSL model on both sides: the recipe's LayerDrop
        ssl.model.config.layerdrop = float(config.recipe["ssl_layerdrop"])
    hidden = ssl.model.config.hidden_size
    modules = {
        "ssl": ssl,
        "output_mlp": Linear(
            input_size=hidden, n_neurons=NUM_CLASSES, bias=False
        ),
    }
    hparams = {
        "avg_pool": StatisticsPooling(return_std=False),
        "log_softmax": Softmax(apply_log=True),
        "compute_cost": nll_loss,
        "opt_class": adamw(config, float(config.recipe["lr"])),
        "ssl_opt_class": adamw(config, float(config.recipe["lr_ssl"])),
    }
    brain = _baseline_brain_class()(
        modules=modules, hparams=hparams, run_opts=run_opts(config)
    )
    brain.on_fit_start()
    brain.modules.train()
    return brain


def make_batch(batch_size, seconds, seed=0):
    """A training batch of random audio with cycling labels, as the recipe's
    data pipeline gives it (``sig``, ``emo_encoded``, ``gender_encoded``).

    All utterances have the same length (relative lengths 1), so both
    sides of a ratio do exactly the same audio work.

    Arguments
    ---------
    batch_size : int
        Number of utterances.
    seconds : float
        Length of each utterance.
    seed : int
        Seed of the audio.

    Returns
    -------
    PaddedBatch
        The batch.

    Example
    -------
    >>> batch = make_batch(3, 0.5)
    >>> batch.sig.data.shape, batch.emo_encoded.data.view(-1).tolist()
    (torch.Size([3, 8000]), [0, 1, 2])
    """
    import torch
    from speechbrain.dataio.batch import PaddedBatch

    generator = torch.Generator().manual_seed(seed)
    samples = int(round(seconds * SAMPLE_RATE))
    items = []
    for i in range(batch_size):
        items.append(
            {
                "id": f"utt{i:04d}",
                "sig": 0.1 * torch.randn(samples, generator=generator),
                "emo_encoded": torch.LongTensor([i % NUM_CLASSES]),
                "gender_encoded": torch.LongTensor([(i // 2) % 2]),
            }
        )
    return PaddedBatch(items)
