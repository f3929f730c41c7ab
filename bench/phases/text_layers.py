"""Text-layers phase: the training step's overhead ratio against how many
top layers of the text model are fine-tuned (``text_trainable_layers`` of
``TextPromptEncoder``; None: all of them, 0: the text model fixed).

For each value, one ``GEmoCLAPBrain`` step (SL objective, the recipe's
other settings) is timed interleaved with the same baseline step as in
the train phase (``bench.phases.train.bench_train_pair``), so each ratio
is the ``train_step_overhead_ratio`` the recipe would have with that
value.

Authors
 * speechbrain-gemo developers 2026
"""

from bench.brains import build_baseline_brain, build_gemo_brain
from bench.common import log, release
from bench.phases.train import bench_train_pair


def layers_label(layers):
    """The results' key of a ``text_trainable_layers`` value.

    Arguments
    ---------
    layers : int or None
        The value (None: every layer trains).

    Returns
    -------
    str
        ``"all"`` or the number.

    Example
    -------
    >>> layers_label(None), layers_label(2)
    ('all', '2')
    """
    return "all" if layers is None else str(layers)


def run(config):
    """Runs the text-layers phase.

    Arguments
    ---------
    config : BenchConfig
        The run's settings (profile key ``text_layers``: the values).

    Returns
    -------
    dict
        ``train_step_overhead_ratio_by_text_layers`` (label to ratio) and
        ``details.text_layers``.
    """
    return results_of(measure(config))


def results_of(rows):
    """The result keys of the measurements.

    Arguments
    ---------
    rows : dict
        Output of :func:`measure`: label to a training-pair measurement.

    Returns
    -------
    dict
        The result keys.

    Example
    -------
    >>> out = results_of({"all": {"ratio": 1.12}, "2": {"ratio": 1.03}})
    >>> out["train_step_overhead_ratio_by_text_layers"]
    {'all': 1.12, '2': 1.03}
    """
    return {
        "train_step_overhead_ratio_by_text_layers": {
            label: row["ratio"] for label, row in rows.items()
        },
        "details": {"text_layers": rows},
    }


def trainable_text_parameters(brain):
    """Number of the text model's parameters that train.

    Arguments
    ---------
    brain : GEmoCLAPBrain
        The Brain.

    Returns
    -------
    int
        The count.
    """
    text_model = brain.model.text_encoder.text_model
    return sum(p.numel() for p in text_model.parameters() if p.requires_grad)


def measure(config):
    """One training pair per ``text_trainable_layers`` value, against one
    baseline Brain.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        Label (``layers_label``) to the pair's timings and ratio, the
        value and the number of trained text parameters.
    """
    import torch

    profile = config.profile
    torch.manual_seed(0)
    baseline = build_baseline_brain(config.ssl_dir, config)
    rows = {}
    for layers in profile["text_layers"]:
        log(f"training step, text_trainable_layers={layers}")
        torch.manual_seed(0)
        gemo = build_gemo_brain(
            config.ssl_dir,
            config.text_dir,
            freeze_text=False,
            config=config,
            text_trainable_layers=layers,
        )
        row = bench_train_pair(
            gemo,
            baseline,
            config,
            profile["batch_size"],
            profile["seconds"],
            profile["repeats"],
        )
        row["text_trainable_layers"] = layers
        row["trainable_text_parameters"] = trainable_text_parameters(gemo)
        rows[layers_label(layers)] = row
        log(f"  {row}")
        gemo = None
        release()
    baseline = None
    release()
    return rows
