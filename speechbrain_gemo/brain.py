"""What every GEmo-CLAP recipe's ``Brain`` shares, whatever the corpus.

The recipe's own hooks (``compute_forward``, ``compute_objectives``,
``init_optimizers``, ``on_stage_start``, ``on_stage_end``) live in its
``train.py``, as in every SpeechBrain recipe, and read their settings
from ``self.hparams``. This module holds the mechanics they rely on,
as functions of explicit arguments and one small base class:

- :class:`RobustBrain`: a ``Brain`` that skips batches whose loss is not
  finite (SpeechBrain 1.1.2 runs ``backward`` on them) and removes the
  checkpoint folders an interrupted run left incomplete before resuming;
- :func:`contrastive_loss`: the objective over the batch of all processes,
  and :func:`dimensional_loss`, the dimensional head's (arousal, valence,
  dominance);
- :func:`trainable_parameter_groups` and :func:`set_learning_rate`: one
  optimiser per tower, since SpeechBrain clips only the first parameter
  group of each optimiser;
- :func:`emotion_logits`, :func:`emotion_probabilities`,
  :func:`per_utterance_cross_entropy` and :func:`annealing_value`: the
  prompt classifier's outputs and the validation measures that do not
  depend on how the batches are composed;
- :func:`check_dimension_settings` and :func:`selection_stats`: the
  dimensional head's settings and the validation measure that selects
  the checkpoint (``selection_key``);
- :func:`write_test_predictions`.

Authors
 * speechbrain-gemo developers 2026
"""

import csv
import io
import os

import speechbrain as sb
import torch
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.dimensions import DIMENSIONS, from_unit
from speechbrain_gemo.distributed import gather_with_grad
from speechbrain_gemo.io import write_text_atomic
from speechbrain_gemo.known_warnings import silence_known_warnings
from speechbrain_gemo.losses import concordance_loss

logger = get_logger(__name__)


class RobustBrain(sb.Brain):
    """A SpeechBrain ``Brain`` that survives bad batches and killed runs.

    - A training batch whose loss is not finite is skipped (no backward, no
      update) and counted in ``skipped_batches``; past
      ``--nonfinite_patience`` such batches the run stops, as SpeechBrain's
      does. SpeechBrain 1.1.2 calls ``backward`` on the non-finite loss and
      steps the optimisers, which turns the weights into NaN (UPSTREAM.md).
    - When training starts, the checkpoint folders left incomplete by an
      interrupted run are removed (when the checkpointer can tell, see
      :class:`speechbrain_gemo.checkpoints.CompleteCheckpointer`), before
      SpeechBrain loads the latest checkpoint.
    - ``model`` is ``modules.model`` unwrapped from DDP.
    - The training DataLoader draws its workers' base seed from its own
      generator, seeded with the global seed plus the epoch, not from
      torch's global generator: a run resumed within an epoch then
      continues with the random states saved in the checkpoint (see
      :class:`speechbrain_gemo.checkpoints.RandomStates`), and each epoch's
      workers get the same seeds however the run was interrupted.
    - A training ``batch_sampler`` with ``set_epoch`` (SpeechBrain's
      ``DynamicBatchSampler``) gets it called every epoch, as a
      ``sampler`` does; SpeechBrain 1.1.2 calls it only for samplers, so
      dynamic batches came in the same order every epoch.
    - Two messages that read as faults are silenced
      (:mod:`speechbrain_gemo.known_warnings`).
    - After each optimiser step, the model's stored logit scales are
      clamped to their cap (``GEmoCLAPModel.clamp_logit_scales_``), as
      CLIP does; a model without logit scales is left alone.

    Same arguments as ``sb.Brain``.

    Example
    -------
    >>> class Mean(RobustBrain):
    ...     def compute_forward(self, batch, stage):
    ...         return self.modules.layer(batch)
    ...     def compute_objectives(self, predictions, batch, stage):
    ...         return predictions.mean() * batch.sum()
    >>> brain = Mean(
    ...     modules={"layer": torch.nn.Linear(2, 1)},
    ...     opt_class=lambda params: torch.optim.SGD(params, lr=0.1),
    ...     run_opts={"device": "cpu"},
    ... )
    >>> brain.on_fit_start()
    >>> brain.nonfinite_count = 0  # set by fit()
    >>> loss = brain.fit_batch(torch.tensor([[float("nan"), 1.0]]))
    >>> weight = brain.modules.layer.weight
    >>> brain.skipped_batches, bool(torch.isfinite(weight).all())
    (1, True)
    """

    def __init__(self, *args, **kwargs):
        silence_known_warnings()
        super().__init__(*args, **kwargs)

    @property
    def model(self):
        """The ``model`` module, unwrapped from DDP if needed."""
        model = self.modules.model
        return model.module if hasattr(model, "module") else model

    def make_dataloader(
        self, dataset, stage, ckpt_prefix="dataloader-", **loader_kwargs
    ):
        """``sb.Brain.make_dataloader``; the training loader gets its own
        generator (unless one is given) and its ``batch_sampler``, if it
        has ``set_epoch``, becomes the sampler set at every epoch.

        Arguments
        ---------
        dataset : Dataset
            The dataset.
        stage : sb.Stage
            The stage.
        ckpt_prefix : str or None
            Prefix of the loader's checkpoint name (None: not saved).
        **loader_kwargs : dict
            DataLoader options.

        Returns
        -------
        DataLoader
        """
        if stage == sb.Stage.TRAIN:
            if "generator" not in loader_kwargs:
                self.train_loader_generator = torch.Generator()
                loader_kwargs["generator"] = self.train_loader_generator
            batch_sampler = loader_kwargs.get("batch_sampler")
        loader = super().make_dataloader(
            dataset, stage, ckpt_prefix=ckpt_prefix, **loader_kwargs
        )
        if (
            stage == sb.Stage.TRAIN
            and self.train_sampler is None
            and hasattr(batch_sampler, "set_epoch")
        ):
            self.train_sampler = batch_sampler
        return loader

    def _fit_train(self, train_set, epoch, enable):
        # Seeds the loader's own generator (workers' base seed) by epoch
        generator = getattr(self, "train_loader_generator", None)
        if generator is not None:
            seed = int(os.environ.get("SB_GLOBAL_SEED", 563375142))
            generator.manual_seed(seed + epoch)
        super()._fit_train(train_set, epoch, enable)

    def fit_batch(self, batch):
        """One training step (see ``sb.Brain.fit_batch``); a batch whose
        loss is not finite is skipped and counted, up to
        ``--nonfinite_patience``.

        Arguments
        ---------
        batch : PaddedBatch
            A training batch.

        Returns
        -------
        torch.Tensor
            The detached loss.
        """
        should_step = (self.step % self.grad_accumulation_factor) == 0
        self.on_fit_batch_start(batch, should_step)
        with self.no_sync(not should_step):
            with self.training_ctx:
                outputs = self.compute_forward(batch, sb.Stage.TRAIN)
                loss = self.compute_objectives(outputs, batch, sb.Stage.TRAIN)
            if not torch.isfinite(loss):
                self.skipped_batches += 1
                ids = list(getattr(batch, "id", []))[:4]
                logger.warning(
                    f"Non-finite loss on batch {ids}...: skipped "
                    f"({self.skipped_batches} so far this run)"
                )
                self.check_loss_isfinite(loss)  # raises past the patience
                self.zero_grad(set_to_none=True)
                return loss.detach().cpu()
            scaled = self.scaler.scale(loss / self.grad_accumulation_factor)
            scaled.backward()
        if should_step:
            self.optimizers_step()
        self.on_fit_batch_end(batch, outputs, loss, should_step)
        return loss.detach().cpu()

    def optimizers_step(self):
        """``sb.Brain.optimizers_step``, then the model's stored logit
        scales clamped in place to at most their cap, when it has them:
        the optimiser's momentum can carry a stored scale past the cap,
        where its gradient is zero and it would stay."""
        super().optimizers_step()
        model = getattr(self, "model", None)
        clamp = getattr(model, "clamp_logit_scales_", None)
        if clamp is not None:
            clamp()

    def on_fit_start(self):
        """Counts skipped batches from the start of each run, and removes
        the checkpoint folders left incomplete by an interrupted run before
        the latest complete checkpoint is loaded."""
        self.skipped_batches = 0
        remove_incomplete = getattr(
            self.checkpointer, "remove_incomplete", None
        )
        if remove_incomplete is not None:
            run_on_main(remove_incomplete)
        super().on_fit_start()


def contrastive_loss(compute_cost, predictions, emo, gender, gather):
    """The GEmo-CLAP objective of a batch.

    Arguments
    ---------
    compute_cost : GEmoCLAPLoss
        The objective.
    predictions : dict
        ``GEmoCLAPModel.forward``'s output: ``audio_emb``,
        ``emotion_prompt_emb``, ``scale`` and, for models with gender
        prompts, ``gender_prompt_emb`` and ``gender_scale``.
    emo : torch.Tensor
        Emotion class indices, shape ``N``.
    gender : torch.Tensor
        Gender class indices, shape ``N``.
    gather : bool
        Whether to gather the audio embeddings and labels of all DDP
        processes, so that the targets compare every utterance of the
        global batch (the objective then does not depend on the number of
        processes; no effect outside DDP).

    Returns
    -------
    torch.Tensor
        The loss.

    Example
    -------
    >>> from speechbrain_gemo.losses import GEmoCLAPLoss
    >>> emb = torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)
    >>> predictions = {"audio_emb": emb, "emotion_prompt_emb": emb[:2],
    ...                "scale": torch.tensor(10.0)}
    >>> labels = torch.tensor([0, 1, 0, 1])
    >>> loss = contrastive_loss(GEmoCLAPLoss("emo"), predictions,
    ...                         labels, labels, gather=True)
    >>> bool(torch.isfinite(loss))
    True
    """
    audio = predictions["audio_emb"].float()
    if gather:
        audio, emo, gender = (gather_with_grad(t) for t in (audio, emo, gender))
    has_gender = "gender_prompt_emb" in predictions
    return compute_cost(
        audio,
        predictions["emotion_prompt_emb"].float(),
        emo,
        predictions["scale"].float(),
        gender_labels=gender,
        gender_prompt_emb=(
            predictions["gender_prompt_emb"].float() if has_gender else None
        ),
        gender_logit_scale=(
            predictions["gender_scale"].float() if has_gender else None
        ),
    )


def dimensional_loss(avd, targets, gather):
    """The dimensional head's objective of a batch: the mean over arousal,
    valence and dominance of ``1 - CCC`` over the batch
    (``speechbrain_gemo.losses.concordance_loss``); utterances without a
    value are left out, and a batch with fewer than two rated utterances
    adds nothing.

    Arguments
    ---------
    avd : torch.Tensor
        ``N x 3`` head outputs on [0, 1] (``predictions["avd"]``).
    targets : torch.Tensor
        ``N x 3`` targets on [0, 1], NaN where unknown (the batch's
        ``avd``).
    gather : bool
        Whether to gather the outputs and targets of all DDP processes, as
        :func:`contrastive_loss` does: the CCC is then that of the global
        batch, the same whatever the number of processes.

    Returns
    -------
    torch.Tensor
        The loss, in [0, 2].

    Example
    -------
    >>> avd = torch.tensor([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]])
    >>> dimensional_loss(avd, avd.clone(), gather=True)
    tensor(0.)
    """
    avd = avd.float()
    targets = targets.to(avd.device, torch.float32)
    if gather:
        avd, targets = gather_with_grad(avd), gather_with_grad(targets)
    return concordance_loss(avd, targets)


# The validation measures that can select the checkpoint tested and
# exported: the UAR, the mean CCC of the three dimensions, or their mean
SELECTION_KEYS = ("UAR", "CCC", "UAR_CCC")


def check_dimension_settings(has_avd, avd_weight, selection_key):
    """Refuses settings of the dimensional head that cannot work, before
    training starts.

    Arguments
    ---------
    has_avd : bool
        Whether the model has the dimensional head (``avd_head``).
    avd_weight : float
        The weight of its objective (``avd_weight``).
    selection_key : str
        The validation measure that selects the checkpoint.

    Example
    -------
    >>> check_dimension_settings(True, 0.5, "UAR_CCC")
    >>> check_dimension_settings(False, 0.5, "UAR")
    Traceback (most recent call last):
    ...
    ValueError: avd_weight=0.5 but the model has no dimensional head: set...
    """
    if selection_key not in SELECTION_KEYS:
        raise ValueError(
            f"selection_key must be one of {SELECTION_KEYS}, got "
            f"{selection_key!r}"
        )
    if not has_avd and (avd_weight or selection_key != "UAR"):
        raise ValueError(
            f"avd_weight={avd_weight} but the model has no dimensional head"
            ": set avd_head=True (e.g. hparams/sl_wavlm_avd.yaml)"
            if avd_weight
            else f"selection_key={selection_key} needs the dimensional head "
            "(avd_head=True)"
        )
    if has_avd and not avd_weight > 0:
        raise ValueError(
            f"avd_head=True needs avd_weight > 0 (got {avd_weight}): "
            "otherwise the head is never trained"
        )


def selection_stats(stats, dimension_metrics):
    """The validation statistics with the dimensional head's CCCs and the
    combined measure, ``UAR_CCC = (UAR + CCC) / 2``.

    Arguments
    ---------
    stats : dict
        The validation statistics (with ``UAR``).
    dimension_metrics : dict
        ``speechbrain_gemo.metrics.concordance_metrics``'s output.

    Returns
    -------
    dict
        ``stats`` with ``CCC_arousal``, ``CCC_valence``, ``CCC_dominance``,
        ``CCC`` and ``UAR_CCC`` (None where no utterance is rated).

    Example
    -------
    >>> selection_stats({"UAR": 0.5}, {"CCC_arousal": 0.7,
    ...     "CCC_valence": 0.2, "CCC_dominance": 0.6, "CCC": 0.5})["UAR_CCC"]
    0.5
    """
    stats = dict(stats, **dimension_metrics)
    ccc = dimension_metrics["CCC"]
    stats["UAR_CCC"] = None if ccc is None else (stats["UAR"] + ccc) / 2
    return stats


def emotion_logits(predictions):
    """The prompt classifier's logits: the scaled cosine similarities of
    each utterance with the K emotion prompts.

    Arguments
    ---------
    predictions : dict
        ``GEmoCLAPModel.forward``'s output (``audio_emb``,
        ``emotion_prompt_emb``, ``scale``).

    Returns
    -------
    torch.Tensor
        ``N x K`` logits, ``scale * audio_emb @ emotion_prompt_emb.T``, in
        float32.

    Example
    -------
    >>> predictions = {"audio_emb": torch.eye(2),
    ...                "emotion_prompt_emb": torch.eye(2),
    ...                "scale": torch.tensor(10.0)}
    >>> emotion_logits(predictions)
    tensor([[10.,  0.],
            [ 0., 10.]])
    """
    similarities = (
        predictions["audio_emb"].float()
        @ predictions["emotion_prompt_emb"].float().T
    )
    return predictions["scale"].float() * similarities


def emotion_probabilities(predictions):
    """Class probabilities of each utterance from the model's outputs.

    Arguments
    ---------
    predictions : dict
        ``GEmoCLAPModel.forward``'s output.

    Returns
    -------
    torch.Tensor
        ``N x K`` probabilities (softmax of the scaled cosine similarities
        with the emotion prompts).

    Example
    -------
    >>> predictions = {"audio_emb": torch.eye(2),
    ...                "emotion_prompt_emb": torch.eye(2),
    ...                "scale": torch.tensor(0.0)}
    >>> emotion_probabilities(predictions)
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    return torch.softmax(emotion_logits(predictions), dim=-1)


def per_utterance_cross_entropy(logits, targets):
    """The cross-entropy of each utterance's class posterior against its
    true class: a measure of the prompt classifier over the K classes that,
    unlike the contrastive loss, does not depend on which utterances share
    a batch. Use with SpeechBrain's ``MetricStats``, whose ``average`` is
    then the mean over utterances.

    Arguments
    ---------
    logits : torch.Tensor
        ``N x K`` logits (:func:`emotion_logits`).
    targets : torch.Tensor
        ``N`` class indices.

    Returns
    -------
    torch.Tensor
        ``N`` cross-entropies (nats).

    Example
    -------
    >>> logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    >>> per_utterance_cross_entropy(logits, torch.tensor([1, 0]))
    tensor([0.6931, 0.1269])
    """
    return torch.nn.functional.cross_entropy(
        logits.float(), targets, reduction="none"
    )


# The validation measures NewBob annealing can follow (it lowers the rate
# when the measure stops decreasing)
ANNEALING_METRICS = ("ce", "uar", "loss")


def annealing_value(metric, stats):
    """The validation measure that drives the learning-rate annealing.

    Arguments
    ---------
    metric : str
        ``"ce"``: the prompt classifier's cross-entropy (``stats["CE"]``),
        averaged over utterances; ``"uar"``: ``1 - stats["UAR"]``;
        ``"loss"``: the contrastive loss (``stats["loss"]``), which depends
        on how the validation batches are composed.
    stats : dict
        The validation statistics.

    Returns
    -------
    float
        The value to minimise.

    Example
    -------
    >>> stats = {"loss": 2.0, "CE": 0.7, "UAR": 0.6}
    >>> annealing_value("ce", stats), round(annealing_value("uar", stats), 2)
    (0.7, 0.4)
    """
    if metric == "ce":
        return stats["CE"]
    if metric == "uar":
        return 1.0 - stats["UAR"]
    if metric == "loss":
        return stats["loss"]
    raise ValueError(
        f"annealing_metric must be one of {ANNEALING_METRICS}, got {metric!r}"
    )


def trainable_parameter_groups(model):
    """The trainable parameters of a GEmo-CLAP model, split by tower.

    SpeechBrain 1.1.2 clips the gradients of the first parameter group of
    each optimiser only (``Brain.optimizers_step``), so each part with its
    own learning rate gets its own optimiser rather than its own group
    (UPSTREAM.md).

    Arguments
    ---------
    model : GEmoCLAPModel
        The model.

    Returns
    -------
    dict
        ``ssl`` (the SSL speech model), ``text`` (the text model) and
        ``other`` (projection heads, temperatures, layer weights): lists of
        parameters with ``requires_grad``; a frozen tower's list is empty.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> model = torch.nn.Module()
    >>> model.audio_encoder = torch.nn.Module()
    >>> model.audio_encoder.ssl_model = torch.nn.Linear(2, 2)
    >>> model.text_encoder = torch.nn.Module()
    >>> model.text_encoder.text_model = torch.nn.Linear(2, 2)
    >>> model.text_encoder.text_model.requires_grad_(False) and None
    >>> model.head = torch.nn.Linear(2, 2)
    >>> {k: len(v) for k, v in trainable_parameter_groups(model).items()}
    {'ssl': 2, 'text': 0, 'other': 2}
    """
    ssl_ids = {id(p) for p in model.audio_encoder.ssl_model.parameters()}
    text_ids = {id(p) for p in model.text_encoder.text_model.parameters()}
    groups = {"ssl": [], "text": [], "other": []}
    for param in model.parameters():
        if not param.requires_grad:
            continue
        if id(param) in ssl_ids:
            groups["ssl"].append(param)
        elif id(param) in text_ids:
            groups["text"].append(param)
        else:
            groups["other"].append(param)
    return groups


def set_learning_rate(optimizer, lr):
    """Sets the learning rate of every parameter group to ``lr`` times
    the group's ``lr_scale`` (1 when absent).

    Arguments
    ---------
    optimizer : torch.optim.Optimizer
        The optimiser.
    lr : float
        The base learning rate.

    Example
    -------
    >>> layer = torch.nn.Linear(2, 2)
    >>> opt = torch.optim.SGD([{"params": layer.parameters(),
    ...                         "lr_scale": 0.1}], lr=1.0)
    >>> set_learning_rate(opt, 0.5)
    >>> opt.param_groups[0]["lr"]
    0.05
    """
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def write_test_predictions(
    path, stats, probabilities, labels, dimensions=None, avd_scale=None
):
    """Writes one row per test utterance: id, true and predicted label, and
    the class probabilities (to a temporary file, then renamed: an
    interrupted write leaves the previous file or none). For a model with
    the dimensional head, also the predicted ``arousal``, ``valence`` and
    ``dominance`` and the true ones (``true_arousal``...; empty where not
    rated), on the corpus' scale: the CCCs of ``test_metrics.json`` can be
    computed again from the file.

    Arguments
    ---------
    path : str
        The CSV file.
    stats : ClassificationStats
        What was appended in the test stage: ``ids``, ``predictions``,
        ``targets``.
    probabilities : dict
        Utterance id to its list of class probabilities.
    labels : list
        The class labels, in the order of the probabilities.
    dimensions : speechbrain_gemo.metrics.DimensionStats, optional
        The dimensional head's predictions and targets (on [0, 1]).
    avd_scale : sequence of two numbers, optional
        The corpus' scale, to write them on (with ``dimensions``).

    Example
    -------
    >>> import os
    >>> import tempfile
    >>> from speechbrain_gemo.metrics import EmotionClassificationStats
    >>> stats = EmotionClassificationStats(["neu", "sad"])
    >>> stats.append(["u1"], ["sad"], ["neu"])
    >>> path = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> write_test_predictions(path, stats, {"u1": [0.25, 0.75]},
    ...                        ["neu", "sad"])
    >>> print(open(path).read().strip())
    ID,true,predicted,neu,sad
    u1,neu,sad,0.250000,0.750000
    """
    rows = io.StringIO()
    writer = csv.writer(rows)
    header = ["ID", "true", "predicted"] + list(labels)
    if dimensions is not None:
        header += list(DIMENSIONS) + [f"true_{d}" for d in DIMENSIONS]
    writer.writerow(header)
    for utt_id, pred, true in zip(stats.ids, stats.predictions, stats.targets):
        row = [utt_id, true, pred]
        row += [f"{p:.6f}" for p in probabilities[utt_id]]
        if dimensions is not None:
            row += [
                f"{from_unit(v, avd_scale):.6f}"
                for v in dimensions.predictions[utt_id]
            ]
            row += [
                "" if v is None else f"{from_unit(v, avd_scale):.6f}"
                for v in dimensions.targets[utt_id]
            ]
        writer.writerow(row)
    write_text_atomic(path, rows.getvalue())
