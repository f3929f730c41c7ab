#!/usr/bin/env python3
"""Measures what the GEmo-CLAP machinery costs on top of the speech model.

Every headline number is a ratio of two things timed in the same run,
interleaved (the order alternates between repeats), each the median of
``--repeats`` runs after warm-up:

- ``inference_overhead_ratio``: ``GEmoCLAP.classify_batch`` on an export /
  a bare Hugging Face forward of the same SSL model plus mean pooling;
- ``train_step_overhead_ratio`` (text tower fine-tuned) and
  ``train_step_overhead_ratio_frozen_text``: one ``GEmoCLAPBrain``
  training step (SL objective) / one step of the architecture of
  SpeechBrain's IEMOCAP wav2vec2 recipe (same SSL model, statistics
  pooling, linear layer, NLL loss), same batch, same optimiser (AdamW);
- ``text_side_speedup``: text-tower time per step when every utterance's
  prompt is encoded / when the K distinct prompts are encoded once;
- ``inference_peak_rss_ratio``: peak resident memory of a process that
  loads the export and classifies / of one that runs the bare SSL model;
- ``per_utterance_cnn_forward_ratio`` and ``per_utterance_cnn_train_ratio``:
  ``SSLAudioEncoder`` with its CNN run per utterance (batch-independent
  features) / run batched, on a batch of mixed lengths, and the embeddings'
  batch dependence of both paths (``batch_dependence_max_abs_*``);
- ``train_step_overhead_ratio_by_text_layers``: the training ratio for
  each ``text_trainable_layers`` value;
- ``prep_seconds_per_1000_utts``: IEMOCAP preparation on a full-size
  synthetic corpus in the official layout;
- ``loss_share_of_step``: share of a training step spent building the
  targets and the contrastive loss, at batch sizes 8, 32 and 128;
- scaling rows (step time against batch size and utterance length,
  inference real-time factor against batch size), also drawn as a PNG.

The models are random-weight Hugging Face models built from their configs
(the weights do not change the cost): WavLM-base and RoBERTa-base by
default, WavLM-large with ``--large``, small ones with ``--quick``. Models,
exports and the synthetic corpus are cached in ``--work``.

The benchmark prints each ratio beside its goal; it asserts nothing.

This file is the command line only: each phase is a module
``bench/phases/<name>.py`` with ``run(config) -> dict`` (its result keys,
merged into the JSON), timed with the one helper of ``bench/timing.py``;
``--only`` picks phases by module name.

Usage::

    python bench/run.py                 # base-size models, CPU
    python bench/run.py --quick         # small models, a few minutes
    python bench/run.py --device cuda --large --precision bf16
    python bench/run.py --quick --only prep --out /tmp/prep.json

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Run as a script, this folder comes first on sys.path: drop it, so that
# its modules are only ever imported as the package bench.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import phases  # noqa: E402
from bench.common import FROM_RECIPE, BenchConfig, log  # noqa: E402
from bench.report import (  # noqa: E402
    REQUIRED_KEYS,
    assemble,
    empty_results,
    format_table,
    load_average,
    machine_info,
    merge_results,
    plot,
)
from bench.timing import CLOCKS  # noqa: E402
from speechbrain_gemo.io import write_text_atomic  # noqa: E402

# The phases of a default run, in order. A new phase is a module
# bench/phases/<name>.py with run(config) -> dict; --only <name> runs it as
# soon as the file exists, and listing it here adds it to the default run.
DEFAULT_PHASES = (
    "rss",
    "inference",
    "train",
    "prep",
    "features",
    "text_layers",
)
# onnx and serve are not listed: they need the onnx / serve extras and
# build their own models (python bench/run.py --only onnx, --only serve).
OPTIONAL_PHASES = ("onnx", "serve")


def available_phases():
    """The phase modules in ``bench/phases/``.

    Returns
    -------
    list of str
        Module names, sorted.

    Example
    -------
    >>> set(DEFAULT_PHASES) <= set(available_phases())
    True
    """
    return sorted(
        info.name
        for info in pkgutil.iter_modules(phases.__path__)
        if not info.name.startswith("_")
    )


def load_phase(name):
    """Imports the module of a phase.

    Arguments
    ---------
    name : str
        The phase, e.g. ``prep`` (``bench/phases/prep.py``).

    Returns
    -------
    module
        A module with ``run(config) -> dict``.

    Example
    -------
    >>> load_phase("prep").__name__
    'bench.phases.prep'
    """
    try:
        module = importlib.import_module(f"{phases.__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{phases.__name__}.{name}":
            raise
        raise ValueError(
            f"unknown phase {name!r}: not one of {available_phases()} "
            "(the modules of bench/phases/)"
        ) from None
    if not callable(getattr(module, "run", None)):
        raise ValueError(f"phase module {module.__name__} has no run(config)")
    return module


def parse_phases(text):
    """The phases of ``--only``: comma-separated names, in order, without
    duplicates.

    Arguments
    ---------
    text : str
        E.g. ``"prep,rss"``.

    Returns
    -------
    list of str
        The names.

    Example
    -------
    >>> parse_phases("prep, rss,prep")
    ['prep', 'rss']
    """
    names = []
    for name in text.split(","):
        name = name.strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise ValueError("--only needs at least one phase")
    return names


def parse_text_layers(text):
    """The value of ``--text-trainable-layers``.

    Arguments
    ---------
    text : str
        ``recipe``, ``all`` or a number N >= 0.

    Returns
    -------
    str or None or int
        ``"recipe"``, None (all layers train) or N.

    Example
    -------
    >>> [parse_text_layers(t) for t in ("recipe", "all", "2")]
    ['recipe', None, 2]
    """
    if text in (FROM_RECIPE, "all"):
        return None if text == "all" else text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected 'recipe', 'all' or a number >= 0, not {text!r}"
        )
    return value


def parse_args(argv=None):
    """Parses the command line.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The options; ``only`` is the list of phases.

    Example
    -------
    >>> args = parse_args(["--quick", "--repeats", "3", "--only", "prep"])
    >>> args.quick, args.repeats, args.precision, args.only
    (True, 3, 'fp32', ['prep'])
    """
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="small models, a few minutes"
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="WavLM-large + RoBERTa-base configurations (for GPUs)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join(HERE, "results", "latest.json"),
        help="the JSON results (the PNG is written beside it)",
    )
    parser.add_argument(
        "--work",
        default=os.path.join(HERE, "work"),
        help="cache of models, exports and the synthetic corpus",
    )
    parser.add_argument("--device", default="cpu", help="e.g. cpu, cuda")
    parser.add_argument(
        "--precision", default="fp32", choices=("fp32", "bf16", "fp16")
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per measure"
    )
    parser.add_argument(
        "--clock",
        default="wall",
        choices=sorted(CLOCKS),
        help="wall: elapsed time; cpu: CPU time of the process (for a "
        "machine shared with other jobs, with --threads 1; CPU only)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: the number of logical CPUs)",
    )
    parser.add_argument(
        "--adamw",
        default="recipe",
        choices=("recipe", "fused", "default"),
        help="AdamW of both sides: as the recipe's fused_adamw (default), "
        "fused, or PyTorch's default implementation",
    )
    parser.add_argument(
        "--text-word-embeddings",
        default="recipe",
        choices=("recipe", "frozen", "trained"),
        help="whether the fine-tuned text model's word embeddings are "
        "trained: as the recipe's freeze_text_word_embeddings (default), "
        "frozen or trained",
    )
    parser.add_argument(
        "--text-trainable-layers",
        default=FROM_RECIPE,
        type=parse_text_layers,
        help="top layers of the fine-tuned text model that train in the "
        "train phase: as the recipe's text_trainable_layers (default), "
        "'all', or a number N >= 0",
    )
    parser.add_argument(
        "--no-scaling",
        action="store_true",
        help="skip the scaling rows (faster; the PNG is then empty)",
    )
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_PHASES),
        help="comma-separated phases to run, in order (modules of "
        f"bench/phases/; default {','.join(DEFAULT_PHASES)}; also "
        f"{','.join(OPTIONAL_PHASES)}, which needs the onnx extra)",
    )
    args = parser.parse_args(argv)
    if args.quick and args.large:
        parser.error("--quick and --large are exclusive")
    if args.threads is None:
        args.threads = os.cpu_count() or 1
    if args.clock == "cpu" and not str(args.device).startswith("cpu"):
        parser.error("--clock cpu measures CPU work: use it with --device cpu")
    try:
        args.only = parse_phases(args.only)
        for name in args.only:
            # A phase that needs extra packages says so before any runs
            check = getattr(load_phase(name), "unavailable", None)
            reason = check() if check else None
            if reason:
                raise ValueError(reason)
    except ValueError as e:
        parser.error(str(e))
    return args


def make_config(args):
    """The run configuration of the parsed options.

    Arguments
    ---------
    args : argparse.Namespace
        Output of :func:`parse_args`.

    Returns
    -------
    BenchConfig
        What every phase's ``run`` receives.

    Example
    -------
    >>> config = make_config(parse_args(["--quick", "--adamw", "default"]))
    >>> config.profile_name, config.fused_adamw
    ('quick', False)
    >>> args = parse_args(["--text-trainable-layers", "1"])
    >>> make_config(args).text_trainable_layers
    1
    """
    choice = {"recipe": None, "fused": True, "default": False}
    embeddings = {"recipe": None, "frozen": True, "trained": False}
    return BenchConfig(
        quick=args.quick,
        large=args.large,
        device=args.device,
        precision=args.precision,
        threads=args.threads,
        clock=args.clock,
        repeats=args.repeats,
        no_scaling=args.no_scaling,
        work=args.work,
        fused_adamw=choice[args.adamw],
        freeze_text_word_embeddings=embeddings[args.text_word_embeddings],
        text_trainable_layers=args.text_trainable_layers,
    )


def main(argv=None):
    """Runs the chosen phases and writes the JSON, the PNG and the table.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The results.
    """
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    config = make_config(args)
    started = time.time()
    load_start = load_average()

    measured = empty_results()
    for name in args.only:
        log(f"phase {name}")
        merge_results(measured, load_phase(name).run(config))

    meta = {}
    models = config.models_meta()
    if models is not None:
        meta["models"] = models
    meta["machine"] = machine_info(config)
    meta["runtime_seconds"] = round(time.time() - started, 1)
    meta["load_average"] = {"start": load_start, "end": load_average()}
    meta["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    meta["command"] = "python bench/run.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    results = assemble(measured, config, meta)
    missing = [key for key in REQUIRED_KEYS if not results.get(key)]
    if missing:
        log(f"not measured in this run (see --only): {', '.join(missing)}")

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_text_atomic(out, json.dumps(results, indent=2) + "\n")
    plot(results, os.path.splitext(out)[0] + ".png")
    print(format_table(results))
    print(f"\nruntime {meta['runtime_seconds']} s; results in {out}")
    return results


if __name__ == "__main__":
    main()
