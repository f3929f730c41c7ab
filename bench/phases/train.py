"""Training phase: one ``GEmoCLAPBrain`` step (SL objective) against one
step of SpeechBrain's IEMOCAP wav2vec2 architecture on the same batch,
text tower fine-tuned (``train_step_overhead_ratio``, with the recipe's
``text_trainable_layers`` unless ``--text-trainable-layers`` says
otherwise) and frozen
(``train_step_overhead_ratio_frozen_text``); the scaling rows against
batch size and utterance length; the text side (``text_side_speedup``)
and the loss's share of a step (``loss_share_of_step``).

Authors
 * speechbrain-gemo developers 2026
"""

import math

from bench.brains import build_baseline_brain, build_gemo_brain, make_batch
from bench.common import (
    EMBEDDING_DIM,
    NUM_CLASSES,
    TEXT_SIDE_BATCH,
    log,
    release,
)
from bench.timing import (
    get_clock,
    interleaved,
    median,
    ratio_of,
    summary,
    sync,
)


def run(config):
    """Runs the training phase.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        ``train_step_overhead_ratio``,
        ``train_step_overhead_ratio_frozen_text``, ``text_side_speedup``,
        ``loss_share_of_step``, ``scaling.step_vs_batch``,
        ``scaling.step_vs_length`` and their ``details``.
    """
    train = measure(config)
    return results_of(train)


def results_of(train):
    """The result keys of the training measurements.

    Arguments
    ---------
    train : dict
        Output of :func:`measure`: ``fine_tuned``, ``frozen``,
        ``text_side``, ``loss_share`` and, unless ``--no-scaling``,
        ``step_vs_batch`` and ``step_vs_length``.

    Returns
    -------
    dict
        The result keys; the text-side speedup is the one at the recipe's
        batch size ``TEXT_SIDE_BATCH`` (the first measured one otherwise).

    Example
    -------
    >>> step = {"gemo_step_s": {"median": 2.2}, "baseline_step_s":
    ...         {"median": 2.0}, "ratio": 1.1, "batch_size": 4, "seconds": 1}
    >>> out = results_of({"fine_tuned": step, "frozen": step,
    ...     "text_side": {"8": {"speedup": 1.5}, "16": {"speedup": 2.0}},
    ...     "loss_share": {"8": {"share": 0.01}}, "step_vs_batch": [step]})
    >>> out["text_side_speedup"], out["loss_share_of_step"]
    (2.0, {'8': 0.01})
    >>> out["scaling"]["step_vs_batch"], out["scaling"]["step_vs_length"]
    ([{'batch_size': 4, 'seconds': 1, 'gemo_step_s': 2.2, \
'baseline_step_s': 2.0, 'ratio': 1.1}], [])
    """
    text_side = train.get("text_side", {})
    main_text = text_side.get(str(TEXT_SIDE_BATCH))
    if main_text is None and text_side:
        main_text = next(iter(text_side.values()))
    return {
        "train_step_overhead_ratio": train["fine_tuned"]["ratio"],
        "train_step_overhead_ratio_frozen_text": train["frozen"]["ratio"],
        "text_side_speedup": main_text["speedup"] if main_text else None,
        "loss_share_of_step": {
            batch: row["share"]
            for batch, row in train.get("loss_share", {}).items()
        },
        "scaling": {
            key: [
                _scaling_row(row, ("batch_size", "seconds"))
                for row in train.get(key, [])
            ]
            for key in ("step_vs_batch", "step_vs_length")
        },
        "details": {
            "train_fine_tuned_text": train["fine_tuned"],
            "train_frozen_text": train["frozen"],
            "text_side": text_side,
            "loss_share": train.get("loss_share"),
        },
    }


def step_fn(brain, batch):
    """A zero-argument callable running one ``fit_batch``.

    Arguments
    ---------
    brain : sb.Brain
        A Brain with its optimisers built.
    batch : PaddedBatch
        The batch.

    Returns
    -------
    callable
        The step.
    """
    return lambda: brain.fit_batch(batch)


def bench_train_pair(gemo, baseline, config, batch_size, seconds, reps):
    """Times GEmo-CLAP and baseline steps interleaved on one batch.

    Arguments
    ---------
    gemo : GEmoCLAPBrain
        The GEmo-CLAP Brain.
    baseline : sb.Brain
        The baseline Brain.
    config : BenchConfig
        The run's settings.
    batch_size : int
        Utterances per batch.
    seconds : float
        Utterance length.
    reps : int
        Timed repeats.

    Returns
    -------
    dict
        Timings and ratios.
    """
    batch = make_batch(batch_size, seconds)
    records = {
        "gemo": instrument_optimizers(gemo, config.device, config.clock),
        "baseline": instrument_optimizers(
            baseline, config.device, config.clock
        ),
    }
    try:
        times = interleaved(
            {
                "gemo": step_fn(gemo, batch),
                "baseline": step_fn(baseline, batch),
            },
            config.profile["warmup"],
            reps,
            config.device,
            config.clock,
        )
    finally:
        for brain in (gemo, baseline):
            remove_instrumentation(brain)
    optimizer_steps = {
        side: {name: median(rec[-reps:]) for name, rec in opts.items()}
        for side, opts in records.items()
    }
    return {
        "batch_size": batch_size,
        "seconds": seconds,
        "gemo_step_s": summary(times["gemo"]),
        "baseline_step_s": summary(times["baseline"]),
        **ratio_of(times["gemo"], times["baseline"]),
        "optimizer_step_s": optimizer_steps,
    }


def instrument_optimizers(brain, device, clock):
    """Times every ``step()`` of the Brain's optimisers.

    Arguments
    ---------
    brain : sb.Brain
        A Brain with ``optimizers_dict``.
    device : str
        The device (synchronised around each step).
    clock : str or callable
        The clock (see ``bench.timing.get_clock``).

    Returns
    -------
    dict
        Optimiser name to the list of step durations, filled as the Brain
        trains; ``remove_instrumentation`` undoes the wrapping.
    """
    now = get_clock(clock)
    records = {}
    for name, optimizer in brain.optimizers_dict.items():
        records[name] = []
        original = optimizer.step

        def timed(*args, _original=original, _record=records[name], **kw):
            """The optimiser's step, timed."""
            sync(device)
            start = now()
            out = _original(*args, **kw)
            sync(device)
            _record.append(now() - start)
            return out

        optimizer.step = timed
    return records


def remove_instrumentation(brain):
    """Undoes ``instrument_optimizers``.

    Arguments
    ---------
    brain : sb.Brain
        The Brain.
    """
    for optimizer in brain.optimizers_dict.values():
        optimizer.__dict__.pop("step", None)


def bench_text_side(brain, batch_sizes, config):
    """Text-tower time per step (forward and backward, fine-tuned tower):
    every utterance's prompt encoded / the K distinct prompts encoded once
    and indexed by label. The optimiser update is the same on both sides
    and left out.

    Arguments
    ---------
    brain : GEmoCLAPBrain
        The Brain with the fine-tuned text tower.
    batch_sizes : list of int
        Numbers of utterances per step.
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        Batch size to timings and speedup.
    """
    import torch
    import torch.nn.functional as F

    from speechbrain_gemo.lobes import masked_mean

    model = brain.model
    encoder = model.text_encoder
    labels = list(model.emotion_labels)
    out = {}
    for batch_size in batch_sizes:
        index = torch.arange(batch_size) % len(labels)
        texts = [model.emotion_prompts[labels[i]][0] for i in index.tolist()]
        weight = torch.randn(batch_size, EMBEDDING_DIM, device=config.device)

        def per_utterance(texts=texts, weight=weight):
            """Every utterance's prompt through the text tower."""
            model.zero_grad(set_to_none=True)
            with brain.training_ctx:
                tokens, hidden = encoder.text_model(texts, return_tokens=True)
                feats = masked_mean(hidden, tokens["attention_mask"])
                emb = F.normalize(encoder.projection(feats), dim=-1)
                loss = (emb.float() * weight).sum()
            loss.backward()

        def distinct(index=index, weight=weight):
            """The K distinct prompts once, indexed by label."""
            model.zero_grad(set_to_none=True)
            with brain.training_ctx:
                emb = model.emotion_prompt_embeddings()[index.to(config.device)]
                loss = (emb.float() * weight).sum()
            loss.backward()

        times = interleaved(
            {"per_utterance": per_utterance, "distinct": distinct},
            config.profile["warmup"],
            config.profile["repeats"],
            config.device,
            config.clock,
        )
        model.zero_grad(set_to_none=True)
        out[str(batch_size)] = {
            "per_utterance_s": summary(times["per_utterance"]),
            "distinct_s": summary(times["distinct"]),
            "speedup": ratio_of(times["per_utterance"], times["distinct"])[
                "ratio"
            ],
        }
        log(f"  text side, batch {batch_size}: {out[str(batch_size)]}")
    return out


def bench_loss_share(brain, config):
    """Share of a training step spent on the targets and the contrastive
    loss (``compute_objectives`` forward and backward, timed on its own
    from embeddings that require gradients) at several batch sizes, over a
    real ``fit_batch`` at the same batch size.

    Arguments
    ---------
    brain : GEmoCLAPBrain
        The Brain with the fine-tuned text tower.
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        Batch size to share and timings.
    """
    profile = config.profile
    import speechbrain as sb
    import torch
    import torch.nn.functional as F

    out = {}
    seconds = profile["loss_share_seconds"]
    for batch_size in profile["loss_batches"]:
        batch = make_batch(batch_size, seconds)
        raw_audio = torch.randn(
            batch_size, EMBEDDING_DIM, device=config.device, requires_grad=True
        )
        raw_prompts = torch.randn(
            NUM_CLASSES, EMBEDDING_DIM, device=config.device, requires_grad=True
        )
        log_scale = torch.tensor(
            math.log(1 / 0.07), device=config.device, requires_grad=True
        )

        def loss_only(batch=batch, a=raw_audio, p=raw_prompts, s=log_scale):
            """Targets and loss, forward and backward, from embeddings."""
            with brain.training_ctx:
                predictions = {
                    "audio_emb": F.normalize(a, dim=-1),
                    "emotion_prompt_emb": F.normalize(p, dim=-1),
                    "scale": s.exp(),
                }
                loss = brain.compute_objectives(
                    predictions, batch, sb.Stage.TRAIN
                )
            loss.backward()
            a.grad = p.grad = s.grad = None

        loss_times = interleaved(
            {"loss": loss_only},
            3,
            max(20, profile["repeats"]),
            config.device,
            config.clock,
        )["loss"]
        step_times = interleaved(
            {"step": step_fn(brain, batch)},
            profile["warmup"],
            profile["loss_share_repeats"],
            config.device,
            config.clock,
        )["step"]
        share = median(loss_times) / median(step_times)
        out[str(batch_size)] = {
            "share": share,
            "loss_s": summary(loss_times),
            "step_s": summary(step_times),
            "seconds": seconds,
        }
        log(f"  loss share, batch {batch_size}: {share:.5f}")
        release(batch)
    return out


def measure(config):
    """All training measurements: the fine-tuned and frozen text tower
    ratios, the scaling rows, the text-side speedup and the loss share.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        The measurements.
    """
    import torch

    profile = config.profile
    ssl_dir, text_dir = config.ssl_dir, config.text_dir

    out = {}
    torch.manual_seed(0)
    baseline = build_baseline_brain(ssl_dir, config)
    gemo = build_gemo_brain(ssl_dir, text_dir, freeze_text=False, config=config)
    log("training step, text tower fine-tuned")
    out["fine_tuned"] = bench_train_pair(
        gemo,
        baseline,
        config,
        profile["batch_size"],
        profile["seconds"],
        profile["repeats"],
    )
    out["fine_tuned"]["text_trainable_layers"] = config.text_trainable_layers
    log(f"  {out['fine_tuned']}")

    if not config.no_scaling:
        rows = []
        for batch_size in profile["step_batches"]:
            rows.append(
                bench_train_pair(
                    gemo,
                    baseline,
                    config,
                    batch_size,
                    profile["seconds"],
                    profile["scaling_repeats"],
                )
            )
            log(f"  step vs batch {batch_size}: {rows[-1]['ratio']}")
        out["step_vs_batch"] = rows
        rows = []
        for seconds in profile["step_lengths"]:
            rows.append(
                bench_train_pair(
                    gemo,
                    baseline,
                    config,
                    profile["length_batch"],
                    seconds,
                    profile["scaling_repeats"],
                )
            )
            log(f"  step vs length {seconds}: {rows[-1]['ratio']}")
        out["step_vs_length"] = rows

    log("text side")
    out["text_side"] = bench_text_side(gemo, profile["text_batches"], config)
    log("loss share")
    out["loss_share"] = bench_loss_share(gemo, config)
    release(gemo)
    gemo = None

    log("training step, text tower frozen")
    gemo = build_gemo_brain(ssl_dir, text_dir, freeze_text=True, config=config)
    out["frozen"] = bench_train_pair(
        gemo,
        baseline,
        config,
        profile["batch_size"],
        profile["seconds"],
        profile["repeats"],
    )
    log(f"  {out['frozen']}")
    release(gemo, baseline)
    return out


def _scaling_row(row, keys):
    """A step-time row as the results' ``scaling`` lists hold it: the
    given keys, the two sides' medians and the ratio."""
    out = {key: row[key] for key in keys}
    for side in ("gemo_step_s", "baseline_step_s"):
        if side in row:
            out[side] = row[side]["median"]
    out["ratio"] = row["ratio"]
    return out
