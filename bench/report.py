"""The benchmark's report: the results skeleton that phases fill, the
goals, the summary table, the scaling plot and the machine description.

Authors
 * speechbrain-gemo developers 2026
"""

import copy
import io
import os
import platform

from bench.common import TEXT_SIDE_BATCH
from bench.timing import CLOCK_TEXT
from speechbrain_gemo.io import write_bytes_atomic

GOALS = {
    "inference_overhead_ratio": ("<=", 1.05),
    "train_step_overhead_ratio": ("<=", 1.10),
    "train_step_overhead_ratio_frozen_text": ("<=", 1.03),
    "inference_peak_rss_ratio": ("<=", 1.10),
    "loss_share_of_step@32": ("<", 0.01),
    "onnx_fp32_speedup": (">=", 1.3),
    "onnx_int8_speedup": (">=", 2.0),
    "onnx_int8_agreement": (">=", 0.95),
    "onnx_runtime_install_share": ("<=", 0.05),
    # issue 17: an utterance's embedding alone or in any batch
    "batch_dependence_max_abs_new": ("<=", 1e-5),
}
# Rows of the table that appear only when their phase ran (onnx)
OPTIONAL_ROWS = (
    "onnx_fp32_speedup",
    "onnx_int8_speedup",
    "onnx_int8_agreement",
    "onnx_runtime_install_mb",
    "onnx_runtime_install_share",
)

REQUIRED_KEYS = (
    "inference_overhead_ratio",
    "train_step_overhead_ratio",
    "train_step_overhead_ratio_frozen_text",
    "text_side_speedup",
    "inference_peak_rss_ratio",
    "prep_seconds_per_1000_utts",
    "loss_share_of_step",
    "scaling",
)


# What every results file holds, measured or not (None or empty when a
# phase did not run): the phases' result keys merge into this.
EMPTY_RESULTS = {
    "inference_overhead_ratio": None,
    "train_step_overhead_ratio": None,
    "train_step_overhead_ratio_frozen_text": None,
    "text_side_speedup": None,
    "inference_peak_rss_ratio": None,
    "prep_seconds_per_1000_utts": None,
    "loss_share_of_step": {},
    "scaling": {
        "step_vs_batch": [],
        "step_vs_length": [],
        "inference_rtf_vs_batch": [],
    },
}
EMPTY_DETAILS = {
    "inference": None,
    "train_fine_tuned_text": None,
    "train_frozen_text": None,
    "text_side": {},
    "loss_share": None,
    "peak_rss": {},
    "prep": {},
}


def merge_results(into, update):
    """Merges a phase's result keys into the results, in place: nested
    dictionaries merge key by key, anything else is replaced.

    Arguments
    ---------
    into : dict
        The results so far.
    update : dict
        A phase's output.

    Returns
    -------
    dict
        ``into``.

    Example
    -------
    >>> results = {"a": None, "scaling": {"x": [], "y": []}}
    >>> merge_results(results, {"a": 1.5, "scaling": {"y": [1]}, "b": 2})
    {'a': 1.5, 'scaling': {'x': [], 'y': [1]}, 'b': 2}
    """
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge_results(into[key], value)
        else:
            into[key] = value
    return into


def empty_results():
    """A fresh results skeleton (measured keys and ``details``).

    Returns
    -------
    dict
        Copies of ``EMPTY_RESULTS`` with ``details``: ``EMPTY_DETAILS``.

    Example
    -------
    >>> results = empty_results()
    >>> results["scaling"]["step_vs_batch"], results["details"]["prep"]
    ([], {})
    """
    results = copy.deepcopy(EMPTY_RESULTS)
    results["details"] = copy.deepcopy(EMPTY_DETAILS)
    return results


def notes(config):
    """The explanations written with the results.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    list of str
        The notes.
    """
    out = [
        "Ratios: median of the numerator's timings / median of the "
        "denominator's, timed interleaved in the same process after "
        "warm-up; paired_ratio in details is the median of the "
        "per-repeat ratios.",
        "Baseline: SpeechBrain's IEMOCAP wav2vec2 recipe architecture "
        "(output_norm, StatisticsPooling(return_std=False) as in the "
        "recipe, Linear(bias=False), log-softmax, nll_loss) with the "
        "same AdamW optimisers and SpeechBrain's default fit_batch.",
        "GEmo-CLAP step: GEmoCLAPBrain.fit_batch, SL objective, the "
        "recipe's settings (recipe_settings, read from the recipe's "
        "hyperparameter file; CNN frozen, linear projections; "
        "text_trainable_layers as details.train_fine_tuned_text "
        "says). Both sides use the same "
        "AdamW (fused or not, machine.optimizer) and the recipe's SSL "
        "LayerDrop.",
        "Batches: equal-length random audio (relative lengths 1). "
        "Each repeat reseeds the random generators identically for "
        "both sides, so WavLM's LayerDrop (0.1 in WavLMConfig) and time "
        "masking do the same work on both sides of a ratio.",
        f"Clock: {CLOCK_TEXT[config.clock]}, {config.threads} torch "
        "thread(s); the preparation time is always elapsed time.",
        "loss_share_of_step: compute_objectives forward+backward timed "
        "alone / a real fit_batch at the same batch size with "
        f"{config.profile['loss_share_seconds']} s utterances (short "
        "utterances make the step cheaper, so the share is an upper "
        "bound for real IEMOCAP lengths, 4.5 s on average).",
        "Inference: details.inference.frozen_params_ratio is the bare "
        "model with requires_grad=False on its weights (as "
        "Pretrained(freeze_params=True) and the frozen SSL wrapper "
        "leave them) / the bare model as from_pretrained returns it: on "
        "the CPU, matmul then runs WavLM's transposed attention "
        "projections as batched products with broadcast weights.",
        "text_side_speedup: text-tower forward+backward (fine-tuned), "
        "one prompt per utterance / the K distinct prompts, at the "
        f"recipe's batch size N = {TEXT_SIDE_BATCH} (other N in "
        "details); the optimiser update is the same on both sides and "
        "not included.",
        "per_utterance_cnn_*_ratio: SSLAudioEncoder with its CNN run on "
        "each utterance's valid samples (per_utterance_cnn=True) / run "
        "batched (False), batch of mixed lengths "
        "(details.features.lengths_s), CNN frozen as in the recipe; "
        "batch_dependence_max_abs_old/new: largest difference of pooled "
        "features of an utterance in the padded batch and alone.",
        "train_step_overhead_ratio_by_text_layers: the training ratio "
        "with only the top N text layers fine-tuned (all: every layer), "
        "each against the same baseline Brain.",
    ]
    if config.quick:
        out.append(
            "--quick: small models (see models), short utterances and few "
            "repeats; only the base or large runs measure the goals."
        )
    return out


def assemble(measured, config, meta):
    """Orders the results: the measured keys (those of ``EMPTY_RESULTS``
    first, then any that other phases add), the goals, the run's
    description, the settings, the details and the notes.

    Arguments
    ---------
    measured : dict
        :func:`empty_results` with every phase's output merged in.
    config : BenchConfig
        The run's settings.
    meta : dict
        Machine, models and timing of the run.

    Returns
    -------
    dict
        The results, with every key of ``REQUIRED_KEYS``.
    """
    measured = dict(measured)
    details = measured.pop("details")
    results = {key: measured.pop(key) for key in EMPTY_RESULTS}
    results.update(measured)
    results["goals"] = {
        name: f"{op} {goal:g}" for name, (op, goal) in GOALS.items()
    }
    results["quick"] = bool(config.quick)
    results.update(meta)
    results["settings"] = {
        key: value
        for key, value in config.profile.items()
        if key not in ("ssl_config", "text_config")
    }
    results["recipe_settings"] = config.recipe
    results["details"] = details
    results["notes"] = notes(config)
    return results


def machine_info(config):
    """The machine and software the run used.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        CPU, cores, memory, device, threads and package versions.
    """
    import speechbrain
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "speechbrain": speechbrain.__version__,
        "device": config.device,
        "precision": config.precision,
        "clock": config.clock,
        "optimizer": "AdamW (fused)" if config.fused_adamw else "AdamW",
        "text_word_embeddings": (
            "frozen" if config.freeze_text_word_embeddings else "trained"
        ),
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:
        pass
    if str(config.device).startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(config.device)
    return info


def load_average():
    """The 1-minute load average (other processes make timings noisy).

    Returns
    -------
    float or None
        The load average, None where unavailable.
    """
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def goal_check(name, value):
    """Formats a measured value beside its goal.

    Arguments
    ---------
    name : str
        A key of ``GOALS``.
    value : float
        The measured value.

    Returns
    -------
    tuple
        ``(goal text, "yes"/"no")``.

    Example
    -------
    >>> goal_check("inference_overhead_ratio", 1.01)
    ('<= 1.05', 'yes')
    """
    if name not in GOALS or value is None:
        return "-", "-"
    op, goal = GOALS[name]
    if op == "<=":
        met = value <= goal
    elif op == ">=":
        met = value >= goal
    else:
        met = value < goal
    return f"{op} {goal:g}", "yes" if met else "no"


def table_rows(results):
    """The rows of the summary table.

    Arguments
    ---------
    results : dict
        The JSON results.

    Returns
    -------
    list of tuple
        ``(measure, value text, goal text, met)``.
    """
    rows = []
    for key in (
        "inference_overhead_ratio",
        "train_step_overhead_ratio",
        "train_step_overhead_ratio_frozen_text",
        "text_side_speedup",
        "inference_peak_rss_ratio",
        "prep_seconds_per_1000_utts",
    ):
        value = results.get(key)
        goal, met = goal_check(key, value)
        text = "n/a" if value is None else f"{value:.3f}"
        rows.append((key, text, goal, met))
    for batch, share in sorted(
        results.get("loss_share_of_step", {}).items(), key=lambda x: int(x[0])
    ):
        name = f"loss_share_of_step@{batch}"
        goal, met = goal_check(name, share)
        rows.append((name, f"{100 * share:.3f} %", goal, met))
    for key in OPTIONAL_ROWS:
        value = results.get(key)
        if value is not None:
            goal, met = goal_check(key, value)
            rows.append((key, f"{value:.3f}", goal, met))
    # the features and text_layers phases' keys, when they ran
    for key, form in (
        ("per_utterance_cnn_forward_ratio", ".3f"),
        ("per_utterance_cnn_train_ratio", ".3f"),
        ("batch_dependence_max_abs_old", ".2g"),
        ("batch_dependence_max_abs_new", ".2g"),
    ):
        value = results.get(key)
        if value is not None:
            rows.append((key, format(value, form), *goal_check(key, value)))
    by_layers = results.get("train_step_overhead_ratio_by_text_layers") or {}
    for label, ratio in by_layers.items():
        goal, met = goal_check("train_step_overhead_ratio", ratio)
        name = f"train_step_overhead_ratio[text_trainable_layers={label}]"
        rows.append((name, f"{ratio:.3f}", goal, met))
    return rows


def format_table(results, markdown=False):
    """The summary table as text.

    Arguments
    ---------
    results : dict
        The JSON results.
    markdown : bool
        Markdown table instead of aligned text.

    Returns
    -------
    str
        The table.

    Example
    -------
    >>> print(format_table({"inference_overhead_ratio": 1.0}, markdown=True))
    | measure | value | goal | met |
    |---|---|---|---|
    | inference_overhead_ratio | 1.000 | <= 1.05 | yes |
    ...
    """
    rows = table_rows(results)
    if markdown:
        lines = ["| measure | value | goal | met |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
        return "\n".join(lines)
    lines = [f"{'measure':42s} {'value':>12s} {'goal':>10s} {'met':>4s}"]
    lines += [f"{a:42s} {b:>12s} {c:>10s} {d:>4s}" for a, b, c, d in rows]
    return "\n".join(lines)


def plot(results, path):
    """Draws the scaling rows: step time against batch size and utterance
    length (GEmo-CLAP and baseline), inference real-time factor against
    batch size (``classify_batch`` and bare forward).

    Arguments
    ---------
    results : dict
        The JSON results.
    path : str
        The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scaling = results["scaling"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = (
        ("step_vs_batch", "batch_size", "batch size", "step time (s)"),
        ("step_vs_length", "seconds", "utterance length (s)", "step time (s)"),
    )
    for ax, (key, x_key, xlabel, ylabel) in zip(axes, panels):
        rows = scaling.get(key) or []
        if rows:
            x = [row[x_key] for row in rows]
            ax.plot(x, [r["gemo_step_s"] for r in rows], "o-", label="GEmo")
            ax.plot(
                x, [r["baseline_step_s"] for r in rows], "s--", label="SB w2v2"
            )
            for xi, row in zip(x, rows):
                ax.annotate(
                    f"x{row['ratio']:.2f}",
                    (xi, row["gemo_step_s"]),
                    textcoords="offset points",
                    xytext=(0, 6),
                    fontsize=8,
                    ha="center",
                )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"training {ylabel.split(' (')[0]} vs {xlabel}")
        ax.legend()
        ax.grid(alpha=0.3)
    rows = scaling.get("inference_rtf_vs_batch") or []
    ax = axes[2]
    if rows:
        x = [row["batch_size"] for row in rows]
        ax.plot(x, [r["rtf"] for r in rows], "o-", label="classify_batch")
        ax.plot(x, [r["bare_rtf"] for r in rows], "s--", label="bare HF")
    ax.set_xlabel("batch size")
    ax.set_ylabel("real-time factor")
    ax.set_title("inference real-time factor vs batch size")
    ax.legend()
    ax.grid(alpha=0.3)
    models = results.get("models", {})
    fig.suptitle(
        f"{models.get('ssl', {}).get('name', '')} + "
        f"{models.get('text', {}).get('name', '')} on "
        f"{results.get('machine', {}).get('device', '')} "
        f"({results.get('machine', {}).get('torch_threads', '?')} thread(s), "
        f"{results.get('machine', {}).get('clock', 'wall')} clock, "
        f"{results.get('machine', {}).get('precision', '')})",
        fontsize=10,
    )
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=100)
    plt.close(fig)
    write_bytes_atomic(path, image.getvalue())
