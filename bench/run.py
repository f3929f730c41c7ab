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

Usage::

    python bench/run.py                 # base-size models, CPU
    python bench/run.py --quick         # small models, a few minutes
    python bench/run.py --device cuda --large --precision bf16

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import gc
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SAMPLE_RATE = 16000
EMBEDDING_DIM = 512
NUM_CLASSES = 4
BENCH_VERSION = 1

GOALS = {
    "inference_overhead_ratio": ("<=", 1.05),
    "train_step_overhead_ratio": ("<=", 1.10),
    "train_step_overhead_ratio_frozen_text": ("<=", 1.03),
    "inference_peak_rss_ratio": ("<=", 1.10),
    "loss_share_of_step@32": ("<", 0.01),
}

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

# Model configurations: overrides of transformers' WavLMConfig() and
# RobertaConfig(), whose defaults are the base-size architectures.
_WAVLM_LARGE = dict(
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    feat_extract_norm="layer",
    do_stable_layer_norm=True,
    conv_bias=True,
)
_SMALL_SSL = dict(
    hidden_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=1024,
    conv_dim=(128,) * 7,
    num_conv_pos_embeddings=64,
)
# A smaller vocabulary keeps the text/speech parameter ratio of the
# base-size pair (RoBERTa-base has 1.3 times the parameters of WavLM-base).
_SMALL_TEXT = dict(
    hidden_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=1024,
    vocab_size=8000,
)

# Run settings of the three sizes. Lengths are in seconds.
PROFILES = {
    "quick": dict(
        ssl_name="wavlm-small (256 x 4 layers, 128-channel CNN)",
        ssl_config=_SMALL_SSL,
        text_name="roberta-small (256 x 4 layers, 8k vocabulary)",
        text_config=_SMALL_TEXT,
        batch_size=8,
        seconds=1.0,
        repeats=11,
        inference_repeats=15,
        warmup=1,
        scaling_repeats=3,
        step_batches=(1, 2, 4, 8),
        step_lengths=(0.5, 1.0, 2.0, 4.0),
        length_batch=4,
        rtf_batches=(1, 2, 4, 8),
        loss_batches=(8, 32, 128),
        loss_share_seconds=0.5,
        loss_share_repeats=3,
        text_batches=(8, 16, 32),
        rss_repeats=1,
        prep_repeats=2,
    ),
    "base": dict(
        ssl_name="wavlm-base (WavLMConfig defaults)",
        ssl_config={},
        text_name="roberta-base (RobertaConfig defaults)",
        text_config={},
        batch_size=8,
        seconds=3.0,
        repeats=9,
        inference_repeats=7,
        warmup=1,
        scaling_repeats=3,
        step_batches=(2, 4, 8, 16),
        step_lengths=(1.0, 2.0, 4.0, 8.0),
        length_batch=4,
        rtf_batches=(1, 2, 4, 8, 16),
        loss_batches=(8, 32, 128),
        loss_share_seconds=1.0,
        loss_share_repeats=2,
        text_batches=(8, 16, 32),
        rss_repeats=2,
        prep_repeats=3,
    ),
}
PROFILES["large"] = dict(
    PROFILES["base"],
    ssl_name="wavlm-large (24 x 1024, layer-norm CNN)",
    ssl_config=_WAVLM_LARGE,
    text_name="roberta-base (RobertaConfig defaults)",
    text_config={},
    batch_size=16,
    step_batches=(4, 8, 16, 32),
    rtf_batches=(1, 4, 16, 64),
)

# The recipe's training settings that the GEmo-CLAP side follows (read from
# hparams/sl_wavlm.yaml; the values here are used where a key is missing)
RECIPE_HPARAMS = os.path.join(
    ROOT, "recipes", "IEMOCAP", "gemo_clap", "hparams", "sl_wavlm.yaml"
)
RECIPE_DEFAULTS = {
    "lr": 1e-4,
    "lr_ssl": 1e-5,
    "weight_decay": 0.01,
    "text_lr_scale": 0.1,
    "max_grad_norm": 5.0,
    "fused_adamw": False,
    "freeze_text_word_embeddings": False,
    "ssl_layerdrop": None,
    "embedding_dim": EMBEDDING_DIM,
    "projection_dropout": 0.1,
    "text_pooling": "mean",
    "init_temperature": 0.07,
    "max_logit_scale": 100.0,
    "alpha_e": 0.8,
    "alpha_g": 0.2,
    "target_norm": "l1",
}

# The official IEMOCAP label counts (per raw label), for the synthetic
# corpus of the preparation benchmark: 5,531 four-class utterances (hap and
# exc merge into hap) among 10,039 label lines.
IEMOCAP_LABEL_COUNTS = {
    "neu": 1708,
    "hap": 595,
    "exc": 1041,
    "ang": 1103,
    "sad": 1084,
    "fru": 1849,
    "xxx": 2507,
    "sur": 107,
    "fea": 40,
    "oth": 3,
    "dis": 2,
}
FOUR_CLASS_TOTAL = 5531
# text_side_speedup is reported at the recipe's batch size (common.yaml)
TEXT_SIDE_BATCH = 16
DIALOGS_PER_SESSION = 30


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def log(message):
    """Prints a progress line to stderr, with the time.

    Arguments
    ---------
    message : str
        The line.
    """
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr)
    sys.stderr.flush()


def median(values):
    """Median of a non-empty list of numbers.

    Arguments
    ---------
    values : list of float
        The numbers.

    Returns
    -------
    float
        The median.

    Example
    -------
    >>> median([3.0, 1.0, 2.0])
    2.0
    """
    return float(statistics.median(values))


def summary(times):
    """Median, minimum, maximum and count of a list of timings.

    Arguments
    ---------
    times : list of float
        Seconds.

    Returns
    -------
    dict
        ``median``, ``min``, ``max``, ``n``.

    Example
    -------
    >>> summary([1.0, 3.0, 2.0])
    {'median': 2.0, 'min': 1.0, 'max': 3.0, 'n': 3}
    """
    return {
        "median": median(times),
        "min": float(min(times)),
        "max": float(max(times)),
        "n": len(times),
    }


def ratio_of(times_a, times_b):
    """The ratio of two interleaved timing series.

    Arguments
    ---------
    times_a : list of float
        Numerator timings.
    times_b : list of float
        Denominator timings, taken alternately with ``times_a``.

    Returns
    -------
    dict
        ``ratio`` (median of a / median of b, the reported value) and
        ``paired_ratio`` (median of the per-repeat ratios, less sensitive
        to slow drifts of the machine's load).

    Example
    -------
    >>> ratio_of([2.0, 2.2, 2.1], [1.0, 1.0, 1.1])
    {'ratio': 2.1, 'paired_ratio': 2.0}
    """
    paired = [a / b for a, b in zip(times_a, times_b)]
    return {
        "ratio": round(median(times_a) / median(times_b), 4),
        "paired_ratio": round(median(paired), 4),
    }


def peak_rss_mb():
    """Peak resident memory of this process, in MiB.

    Reads ``VmHWM`` from ``/proc/self/status`` on Linux: unlike
    ``ru_maxrss``, it belongs to the current address space only, so a child
    started from a large parent (fork or vfork, then exec) does not inherit
    the parent's peak. Falls back to ``ru_maxrss`` elsewhere.

    Returns
    -------
    float
        MiB.

    Example
    -------
    >>> peak_rss_mb() > 0
    True
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


def current_rss_mb():
    """Current resident memory of this process, in MiB.

    Returns
    -------
    float
        MiB (0 if it cannot be read).
    """
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except Exception:
        return 0.0


def sync(device):
    """Waits for the device's queued work (a no-op on the CPU).

    Arguments
    ---------
    device : str
        A torch device string.
    """
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


# The clock of the timings: "wall" (perf_counter) or "cpu" (process_time,
# the CPU seconds of this process; see --clock)
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_CLOCK = {"name": "wall"}
CLOCK_TEXT = {
    "wall": "wall (elapsed seconds)",
    "cpu": "cpu (CPU seconds of the benchmark process, which leaves out "
    "the time it waits for a core on a machine shared with other jobs)",
}


def set_clock(name):
    """Chooses the clock of all timings.

    Arguments
    ---------
    name : str
        ``wall`` (elapsed time) or ``cpu`` (CPU time of this process: on a
        machine shared with other jobs, it leaves out the time this
        process waits for a core; meaningful on the CPU only, and best
        with one thread, since idle threads spinning at barriers count).
    """
    if name not in CLOCKS:
        raise ValueError(f"clock must be one of {sorted(CLOCKS)}")
    _CLOCK["name"] = name


def now():
    """The current reading of the chosen clock.

    Returns
    -------
    float
        Seconds.
    """
    return CLOCKS[_CLOCK["name"]]()


def time_call(fn, device):
    """Seconds taken by ``fn()`` on the chosen clock, with the device
    synchronised around it.

    Arguments
    ---------
    fn : callable
        The work.
    device : str
        The device it runs on.

    Returns
    -------
    float
        Seconds.
    """
    gc.collect()
    sync(device)
    start = now()
    fn()
    sync(device)
    return now() - start


def seed_all(seed):
    """Seeds Python's, NumPy's and torch's random generators.

    Arguments
    ---------
    seed : int
        The seed.
    """
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def interleaved(fns, warmup, repeats, device):
    """Times several callables alternately: all warm up first, then each
    repeat runs every callable once, the order reversed every other repeat
    so that a slow drift of the machine's load hits all of them alike.

    Before each run the random generators are seeded with the repeat's
    number, the same for every callable: the random parts of a training
    step (LayerDrop, which skips whole transformer layers, and the
    SpecAugment-style time masks of the SSL model, drawn before anything
    else in both models) then do the same work on both sides of a ratio,
    and change from one repeat to the next.

    Arguments
    ---------
    fns : dict
        Name to zero-argument callable.
    warmup : int
        Untimed runs of each callable.
    repeats : int
        Timed runs of each callable.
    device : str
        The device they run on.

    Returns
    -------
    dict
        Name to the list of seconds.

    Example
    -------
    >>> out = interleaved({"a": lambda: None, "b": lambda: None}, 1, 3, "cpu")
    >>> sorted(out), len(out["a"])
    (['a', 'b'], 3)
    """
    names = list(fns)
    for w in range(warmup):
        for name in names:
            seed_all(10_000 + w)
            fns[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            seed_all(r)
            times[name].append(time_call(fns[name], device))
    return times


def autocast(device, precision):
    """The autocast context of a precision (disabled for fp32).

    Arguments
    ---------
    device : str
        A torch device string.
    precision : str
        ``fp32``, ``bf16`` or ``fp16``.

    Returns
    -------
    torch.autocast
        The context manager.
    """
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return torch.autocast(
        device_type=str(device).split(":")[0],
        dtype=dtype or torch.float32,
        enabled=dtype is not None,
    )


def release(*objects):
    """Drops references and frees memory between benchmark phases.

    Arguments
    ---------
    *objects : object
        Ignored; pass the objects whose last references the caller drops.
    """
    del objects
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:
        pass


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------
def _matches(folder, signature):
    path = os.path.join(folder, "bench_signature.json")
    if not os.path.isfile(path):
        return False
    with open(path) as f:
        return json.load(f) == signature


def _sign(folder, signature):
    with open(os.path.join(folder, "bench_signature.json"), "w") as f:
        json.dump(signature, f, indent=1, sort_keys=True)


def _read_signature(folder):
    with open(os.path.join(folder, "bench_signature.json")) as f:
        return json.load(f)


def _signature(kind, overrides):
    import transformers

    return {
        "kind": kind,
        "overrides": json.loads(json.dumps(overrides)),
        "transformers": transformers.__version__,
        "bench_version": BENCH_VERSION,
    }


def save_ssl_model(folder, overrides, seed=0):
    """Saves a random WavLM built from ``WavLMConfig(**overrides)`` with a
    feature-extractor config, unless the folder already holds it.

    Arguments
    ---------
    folder : str
        Output folder.
    overrides : dict
        Config overrides (empty: WavLM-base).
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        The folder.
    """
    import torch
    import transformers

    signature = _signature("wavlm", overrides)
    if _matches(folder, signature):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    torch.manual_seed(seed)
    model = transformers.WavLMModel(transformers.WavLMConfig(**overrides))
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(folder)
    _sign(folder, signature)
    return folder


def save_text_model(folder, overrides, seed=0):
    """Saves a random RoBERTa built from ``RobertaConfig(**overrides)`` with
    a working byte-level BPE tokenizer, unless the folder already holds it.

    The tokenizer is the small one of
    ``speechbrain_gemo.testing.save_tiny_text_model`` (it tokenises any
    English text); the model keeps its configured vocabulary size, so the
    embedding matrix, its gradient and its optimiser state have their real
    size.

    Arguments
    ---------
    folder : str
        Output folder.
    overrides : dict
        Config overrides (empty: RoBERTa-base).
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        The folder.
    """
    import torch
    import transformers

    from speechbrain_gemo.testing import save_tiny_text_model

    signature = _signature("roberta", overrides)
    if _matches(folder, signature):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    save_tiny_text_model(folder, seed=seed)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    config = transformers.RobertaConfig(
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **overrides,
    )
    if config.vocab_size < len(tokenizer):
        raise ValueError(
            f"vocab_size {config.vocab_size} < tokenizer size {len(tokenizer)}"
        )
    for name in os.listdir(folder):
        if name.endswith((".safetensors", ".bin")):
            os.remove(os.path.join(folder, name))
    torch.manual_seed(seed)
    transformers.RobertaModel(config).save_pretrained(folder)
    _sign(folder, signature)
    return folder


def count_parameters(folder):
    """Number of parameters of a saved model, from its config.

    Arguments
    ---------
    folder : str
        A Hugging Face model folder.
    Returns
    -------
    int
        Parameter count.
    """
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        model = transformers.AutoModel.from_config(config)
    return sum(p.numel() for p in model.parameters())


def recipe_settings(path=RECIPE_HPARAMS):
    """The recipe's training settings, read from its ``common.yaml``
    without building anything (HyperPyYAML tags are read as plain values).

    Arguments
    ---------
    path : str
        The hyperparameter file.

    Returns
    -------
    dict
        The keys of ``RECIPE_DEFAULTS``, from the file where present.

    Example
    -------
    >>> settings = recipe_settings()
    >>> settings["embedding_dim"], settings["text_pooling"]
    (512, 'mean')
    """
    import yaml

    class Loader(yaml.SafeLoader):
        """Reads HyperPyYAML tags (``!ref``, ``!new:``...) as plain
        values."""

    def tagged(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("!", tagged)
    try:
        with open(path) as f:
            raw = yaml.load(f, Loader=Loader) or {}
    except OSError:
        raw = {}
    settings = {}
    for key, default in RECIPE_DEFAULTS.items():
        value = raw.get(key, default)
        if isinstance(default, float) and isinstance(value, str):
            value = float(value)
        settings[key] = value
    return settings


def build_gemo_model(ssl_dir, text_dir, freeze_text, args):
    """The GEmo-CLAP model as the recipe builds it (``common.yaml``): SSL
    model fine-tuned with its CNN frozen, last-layer mean pooling, linear
    projections, the text model with the recipe's pooling and word
    embeddings setting, the default emotion prompt.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    text_dir : str
        The text model folder.
    freeze_text : bool
        Whether the text model is frozen.
    args : argparse.Namespace
        The command-line options, with the resolved recipe settings in
        ``args.recipe``.

    Returns
    -------
    GEmoCLAPModel
        The model.
    """
    from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2

    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts

    ssl = Wav2Vec2(
        source=ssl_dir,
        save_path=ssl_dir,
        freeze=False,
        freeze_feature_extractor=True,
        output_all_hiddens=False,
    )
    text = TextEncoder(source=text_dir, save_path=text_dir, freeze=freeze_text)
    recipe = args.recipe
    extra = {}
    if args.freeze_text_word_embeddings:
        extra["freeze_word_embeddings"] = True
    return GEmoCLAPModel(
        SSLAudioEncoder(
            ssl,
            recipe["embedding_dim"],
            dropout=recipe["projection_dropout"],
            layerdrop=recipe["ssl_layerdrop"],
        ),
        TextPromptEncoder(
            text,
            recipe["embedding_dim"],
            pooling=recipe["text_pooling"],
            dropout=recipe["projection_dropout"],
            **extra,
        ),
        emotion_prompts(),
        None,
        init_temperature=recipe["init_temperature"],
        max_logit_scale=recipe["max_logit_scale"],
    )


def run_opts(args):
    """SpeechBrain run options of the benchmark's Brains.

    Arguments
    ---------
    args : argparse.Namespace
        The command-line options.

    Returns
    -------
    dict
        ``run_opts`` for ``sb.Brain``.
    """
    return {
        "device": args.device,
        "precision": args.precision,
        "noprogressbar": True,
        "max_grad_norm": float(args.recipe["max_grad_norm"]),
    }


def adamw(args, lr):
    """The optimiser of both sides: AdamW with the recipe's weight decay,
    fused or PyTorch's default implementation (``--adamw``; by default as
    the recipe's ``fused_adamw``).

    Arguments
    ---------
    args : argparse.Namespace
        The command-line options.
    lr : float
        Learning rate.

    Returns
    -------
    functools.partial
        A constructor taking the parameters.
    """
    import functools

    import torch

    extra = {"fused": True} if args.fused_adamw else {}
    return functools.partial(
        torch.optim.AdamW,
        lr=lr,
        weight_decay=float(args.recipe["weight_decay"]),
        **extra,
    )


def build_gemo_brain(ssl_dir, text_dir, freeze_text, args):
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
    args : argparse.Namespace
        The command-line options.

    Returns
    -------
    GEmoCLAPBrain
        The Brain, in training mode.
    """

    from speechbrain_gemo.losses import GEmoCLAPLoss
    from speechbrain_gemo.testing import load_recipe_script

    # The recipe's Brain (its hooks live in train.py)
    GEmoCLAPBrain = load_recipe_script(
        os.path.join(os.path.dirname(RECIPE_HPARAMS), "..", "train.py")
    ).GEmoCLAPBrain

    recipe = args.recipe
    model = build_gemo_model(ssl_dir, text_dir, freeze_text, args)
    hparams = {
        "compute_cost": GEmoCLAPLoss(
            "sl",
            alpha_e=recipe["alpha_e"],
            alpha_g=recipe["alpha_g"],
            target_norm=recipe["target_norm"],
        ),
        "opt_class": adamw(args, float(recipe["lr"])),
        "ssl_opt_class": adamw(args, float(recipe["lr_ssl"])),
        "text_lr_scale": float(recipe["text_lr_scale"]),
        "gather_across_processes": True,
    }
    brain = GEmoCLAPBrain(
        modules={"model": model},
        hparams=hparams,
        run_opts=run_opts(args),
        checkpointer=None,
    )
    brain.on_fit_start()
    brain.modules.train()
    return brain


def _baseline_brain_class():
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


def build_baseline_brain(ssl_dir, args):
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
    args : argparse.Namespace
        The command-line options.

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
    if args.recipe["ssl_layerdrop"] is not None:
        # the same SSL model on both sides: the recipe's LayerDrop
        ssl.model.config.layerdrop = float(args.recipe["ssl_layerdrop"])
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
        "opt_class": adamw(args, float(args.recipe["lr"])),
        "ssl_opt_class": adamw(args, float(args.recipe["lr_ssl"])),
    }
    brain = _baseline_brain_class()(
        modules=modules, hparams=hparams, run_opts=run_opts(args)
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


def make_wavs(batch_size, seconds, device, seed=0):
    """Random waveforms and full relative lengths, for inference.

    Arguments
    ---------
    batch_size : int
        Number of utterances.
    seconds : float
        Length of each.
    device : str
        Where to put them.
    seed : int
        Seed.

    Returns
    -------
    tuple
        ``(wavs, wav_lens)``.

    Example
    -------
    >>> wavs, lens = make_wavs(2, 0.25, "cpu")
    >>> wavs.shape, lens.tolist()
    (torch.Size([2, 4000]), [1.0, 1.0])
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    samples = int(round(seconds * SAMPLE_RATE))
    wavs = 0.1 * torch.randn(batch_size, samples, generator=generator)
    return wavs.to(device), torch.ones(batch_size, device=device)


# ---------------------------------------------------------------------------
# Export and inference
# ---------------------------------------------------------------------------
def make_export(ssl_dir, text_dir, folder, args):
    """Exports a GEmo-CLAP model built on the benchmark's backbones with
    ``speechbrain_gemo.export.export_for_inference``, unless cached.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    text_dir : str
        The text model folder.
    folder : str
        The export folder.
    args : argparse.Namespace
        The command-line options.

    Returns
    -------
    str
        The export folder.
    """
    import torch
    from speechbrain.dataio.encoder import CategoricalEncoder

    from speechbrain_gemo.export import export_for_inference

    signature = {
        "ssl": _read_signature(ssl_dir),
        "text": _read_signature(text_dir),
        "recipe": json.loads(json.dumps(args.recipe)),
    }
    if _matches(folder, signature):
        return folder
    torch.manual_seed(0)
    model = build_gemo_model(ssl_dir, text_dir, True, args)
    labels = CategoricalEncoder()
    labels.update_from_iterable(model.emotion_labels)
    hparams = {"objective": "sl", "sample_rate": SAMPLE_RATE}
    export_for_inference(model, labels, hparams, folder)
    _sign(folder, signature)
    return folder


def load_classifier(export_dir, savedir, device):
    """Loads the export with ``GEmoCLAP.from_hparams``.

    Arguments
    ---------
    export_dir : str
        The export folder.
    savedir : str
        SpeechBrain's savedir (small files are linked there).
    device : str
        The device.

    Returns
    -------
    GEmoCLAP
        The inference interface.
    """
    from speechbrain_gemo.inference import GEmoCLAP

    return GEmoCLAP.from_hparams(
        source=export_dir, savedir=savedir, run_opts={"device": device}
    )


def load_bare_ssl(export_dir, device):
    """The export's SSL model as a bare Hugging Face model.

    Arguments
    ---------
    export_dir : str
        The export folder.
    device : str
        The device.

    Returns
    -------
    transformers.PreTrainedModel
        The model, in eval mode.
    """
    import transformers

    model = transformers.AutoModel.from_pretrained(
        os.path.join(export_dir, "ssl_model")
    )
    return model.to(device).eval()


def bare_forward(model, wavs, precision):
    """A bare Hugging Face forward plus mean pooling over time.

    The attention mask is all ones: this is what the model's feature
    extractor (``return_attention_mask=True``) gives for a batch of equal
    lengths, and what ``classify_batch`` receives as relative lengths.

    Arguments
    ---------
    model : transformers.PreTrainedModel
        The SSL model.
    wavs : torch.Tensor
        ``N x T`` waveforms.
    precision : str
        ``fp32``, ``bf16`` or ``fp16``.

    Returns
    -------
    torch.Tensor
        ``N x hidden`` pooled features.
    """
    import torch

    mask = torch.ones(wavs.shape, dtype=torch.long, device=wavs.device)
    with torch.no_grad(), autocast(wavs.device, precision):
        hidden = model(wavs, attention_mask=mask).last_hidden_state
        return hidden.mean(dim=1)


def classify(classifier, wavs, wav_lens, precision):
    """``classify_batch`` under the benchmark's precision.

    Arguments
    ---------
    classifier : GEmoCLAP
        The interface.
    wavs : torch.Tensor
        ``N x T`` waveforms.
    wav_lens : torch.Tensor
        Relative lengths.
    precision : str
        ``fp32``, ``bf16`` or ``fp16``.

    Returns
    -------
    tuple
        The output of ``classify_batch``.
    """
    with autocast(wavs.device, precision):
        return classifier.classify_batch(wavs, wav_lens)


def bench_inference(export_dir, profile, args, work):
    """Times ``classify_batch`` against the bare forward, at the main batch
    and across batch sizes (real-time factors).

    Arguments
    ---------
    export_dir : str
        The export folder.
    profile : dict
        Run settings.
    args : argparse.Namespace
        The command-line options.
    work : str
        The work folder.

    Returns
    -------
    dict
        ``main`` (timings and ratio) and ``rtf_rows``.
    """
    device = args.device
    classifier = load_classifier(
        export_dir, os.path.join(work, "savedir"), device
    )
    bare = load_bare_ssl(export_dir, device)
    # Diagnostic: the same bare model with requires_grad=False on its
    # parameters, as SpeechBrain's Pretrained(freeze_params=True) leaves
    # them. On the CPU, PyTorch's matmul then stops folding WavLM's
    # transposed attention inputs into one matrix product (it runs a
    # batched product with broadcast weights instead), which costs time.
    bare_frozen = load_bare_ssl(export_dir, device)
    bare_frozen.requires_grad_(False)
    text_loaded_before = classifier.text_model_loaded

    def pair(batch_size, seconds, diagnostic=False):
        wavs, lens = make_wavs(batch_size, seconds, device)
        fns = {
            "gemo": lambda: classify(classifier, wavs, lens, args.precision),
            "bare": lambda: bare_forward(bare, wavs, args.precision),
        }
        if diagnostic:
            fns["bare_frozen"] = lambda: bare_forward(
                bare_frozen, wavs, args.precision
            )
        return fns

    times = interleaved(
        pair(profile["batch_size"], profile["seconds"], diagnostic=True),
        max(1, profile["warmup"]),
        profile["inference_repeats"],
        device,
    )
    main = {
        "batch_size": profile["batch_size"],
        "seconds": profile["seconds"],
        "classify_batch_s": summary(times["gemo"]),
        "bare_forward_s": summary(times["bare"]),
        **ratio_of(times["gemo"], times["bare"]),
        "ssl_params_requires_grad_in_classifier": any(
            p.requires_grad for p in classifier.mods.parameters()
        ),
        "bare_forward_frozen_params_s": summary(times["bare_frozen"]),
        "frozen_params_ratio": ratio_of(times["bare_frozen"], times["bare"])[
            "ratio"
        ],
    }
    release(bare_frozen)
    bare_frozen = None
    rows = []
    for batch_size in [] if args.no_scaling else profile["rtf_batches"]:
        times = interleaved(
            pair(batch_size, profile["seconds"]),
            1,
            profile["scaling_repeats"],
            device,
        )
        audio = batch_size * profile["seconds"]
        rows.append(
            {
                "batch_size": batch_size,
                "seconds": profile["seconds"],
                "classify_batch_s": median(times["gemo"]),
                "bare_forward_s": median(times["bare"]),
                "rtf": median(times["gemo"]) / audio,
                "bare_rtf": median(times["bare"]) / audio,
                **ratio_of(times["gemo"], times["bare"]),
            }
        )
        log(f"  inference batch {batch_size}: rtf {rows[-1]['rtf']:.4f}")
    main["text_model_loaded"] = bool(
        text_loaded_before or classifier.text_model_loaded
    )
    release(classifier, bare)
    return {"main": main, "rtf_rows": rows}


# ---------------------------------------------------------------------------
# Peak memory (child processes)
# ---------------------------------------------------------------------------
def rss_child(args):
    """Body of a peak-memory child: loads and classifies one batch, then
    prints one JSON line with the memory at each stage.

    ``--rss-child gemo`` loads the export with ``GEmoCLAP.from_hparams``
    and calls ``classify_batch``; ``--rss-child bare`` loads the export's
    SSL model with ``AutoModel.from_pretrained`` and runs the forward and
    mean pooling.

    Arguments
    ---------
    args : argparse.Namespace
        The command-line options (``rss_child``, ``export``, ``batch``,
        ``seconds``, ``threads``, ``device``, ``precision``).
    """
    import torch

    torch.set_num_threads(args.threads)
    if args.rss_child == "gemo":
        import speechbrain_gemo.inference  # noqa: F401
    else:
        import transformers  # noqa: F401
    stages = {"imported": current_rss_mb()}
    wavs, lens = make_wavs(args.batch, args.seconds, args.device)
    if args.rss_child == "gemo":
        savedir = tempfile.mkdtemp(prefix="gemo_rss_")
        model = load_classifier(args.export, savedir, args.device)
        stages["loaded"] = current_rss_mb()
        classify(model, wavs, lens, args.precision)
        text_loaded = model.text_model_loaded
        shutil.rmtree(savedir, ignore_errors=True)
    else:
        model = load_bare_ssl(args.export, args.device)
        stages["loaded"] = current_rss_mb()
        bare_forward(model, wavs, args.precision)
        text_loaded = False
    stages["after_forward"] = current_rss_mb()
    out = {
        "peak_rss_mb": peak_rss_mb(),
        "stages_rss_mb": stages,
        "text_model_loaded": text_loaded,
        "text_modules_imported": "transformers.models.roberta.modeling_roberta"
        in sys.modules,
    }
    if str(args.device).startswith("cuda"):
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("RSS_RESULT " + json.dumps(out))


def bench_rss(export_dir, profile, args):
    """Runs the two peak-memory children alternately, each alone.

    Arguments
    ---------
    export_dir : str
        The export folder.
    profile : dict
        Run settings.
    args : argparse.Namespace
        The command-line options.

    Returns
    -------
    dict
        Per-side results and the ratio of the median peaks.
    """
    results = {"gemo": [], "bare": []}
    for r in range(profile["rss_repeats"]):
        for kind in ("gemo", "bare") if r % 2 == 0 else ("bare", "gemo"):
            command = [
                sys.executable,
                os.path.abspath(__file__),
                "--rss-child",
                kind,
                "--export",
                export_dir,
                "--batch",
                str(profile["batch_size"]),
                "--seconds",
                str(profile["seconds"]),
                "--threads",
                str(args.threads),
                "--device",
                args.device,
                "--precision",
                args.precision,
            ]
            proc = subprocess.run(
                command, capture_output=True, text=True, cwd=ROOT
            )
            lines = [
                line
                for line in proc.stdout.splitlines()
                if line.startswith("RSS_RESULT ")
            ]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(
                    f"peak-memory child {kind} failed ({proc.returncode}):\n"
                    + proc.stderr[-3000:]
                )
            results[kind].append(json.loads(lines[-1][len("RSS_RESULT ") :]))
    gemo = median([r["peak_rss_mb"] for r in results["gemo"]])
    bare = median([r["peak_rss_mb"] for r in results["bare"]])
    out = {
        "gemo_peak_rss_mb": round(gemo, 1),
        "bare_peak_rss_mb": round(bare, 1),
        "ratio": round(gemo / bare, 4),
        "gemo_stages_rss_mb": results["gemo"][-1]["stages_rss_mb"],
        "bare_stages_rss_mb": results["bare"][-1]["stages_rss_mb"],
        "text_model_loaded": any(
            r["text_model_loaded"] for r in results["gemo"]
        ),
        "method": "VmHWM of each child process, run alone",
    }
    if "peak_gpu_mb" in results["gemo"][-1]:
        gpu_gemo = median([r["peak_gpu_mb"] for r in results["gemo"]])
        gpu_bare = median([r["peak_gpu_mb"] for r in results["bare"]])
        out["gpu_peak_ratio"] = round(gpu_gemo / gpu_bare, 4)
    return out


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
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


def bench_train_pair(gemo, baseline, profile, args, batch_size, seconds, reps):
    """Times GEmo-CLAP and baseline steps interleaved on one batch.

    Arguments
    ---------
    gemo : GEmoCLAPBrain
        The GEmo-CLAP Brain.
    baseline : sb.Brain
        The baseline Brain.
    profile : dict
        Run settings.
    args : argparse.Namespace
        The command-line options.
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
        "gemo": instrument_optimizers(gemo, args.device),
        "baseline": instrument_optimizers(baseline, args.device),
    }
    try:
        times = interleaved(
            {
                "gemo": step_fn(gemo, batch),
                "baseline": step_fn(baseline, batch),
            },
            profile["warmup"],
            reps,
            args.device,
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


def instrument_optimizers(brain, device):
    """Times every ``step()`` of the Brain's optimisers.

    Arguments
    ---------
    brain : sb.Brain
        A Brain with ``optimizers_dict``.
    device : str
        The device (synchronised around each step).

    Returns
    -------
    dict
        Optimiser name to the list of step durations, filled as the Brain
        trains; ``remove_instrumentation`` undoes the wrapping.
    """
    records = {}
    for name, optimizer in brain.optimizers_dict.items():
        records[name] = []
        original = optimizer.step

        def timed(*args, _original=original, _record=records[name], **kw):
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


def bench_text_side(brain, batch_sizes, profile, args):
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
    profile : dict
        Run settings.
    args : argparse.Namespace
        The command-line options.

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
        weight = torch.randn(batch_size, EMBEDDING_DIM, device=args.device)

        def per_utterance(texts=texts, weight=weight):
            model.zero_grad(set_to_none=True)
            with brain.training_ctx:
                tokens, hidden = encoder.text_model(texts, return_tokens=True)
                feats = masked_mean(hidden, tokens["attention_mask"])
                emb = F.normalize(encoder.projection(feats), dim=-1)
                loss = (emb.float() * weight).sum()
            loss.backward()

        def distinct(index=index, weight=weight):
            model.zero_grad(set_to_none=True)
            with brain.training_ctx:
                emb = model.emotion_prompt_embeddings()[index.to(args.device)]
                loss = (emb.float() * weight).sum()
            loss.backward()

        times = interleaved(
            {"per_utterance": per_utterance, "distinct": distinct},
            profile["warmup"],
            profile["repeats"],
            args.device,
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


def bench_loss_share(brain, profile, args):
    """Share of a training step spent on the targets and the contrastive
    loss (``compute_objectives`` forward and backward, timed on its own
    from embeddings that require gradients) at several batch sizes, over a
    real ``fit_batch`` at the same batch size.

    Arguments
    ---------
    brain : GEmoCLAPBrain
        The Brain with the fine-tuned text tower.
    profile : dict
        Run settings.
    args : argparse.Namespace
        The command-line options.

    Returns
    -------
    dict
        Batch size to share and timings.
    """
    import speechbrain as sb
    import torch
    import torch.nn.functional as F

    out = {}
    seconds = profile["loss_share_seconds"]
    for batch_size in profile["loss_batches"]:
        batch = make_batch(batch_size, seconds)
        raw_audio = torch.randn(
            batch_size, EMBEDDING_DIM, device=args.device, requires_grad=True
        )
        raw_prompts = torch.randn(
            NUM_CLASSES, EMBEDDING_DIM, device=args.device, requires_grad=True
        )
        log_scale = torch.tensor(
            math.log(1 / 0.07), device=args.device, requires_grad=True
        )

        def loss_only(batch=batch, a=raw_audio, p=raw_prompts, s=log_scale):
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
            {"loss": loss_only}, 3, max(20, profile["repeats"]), args.device
        )["loss"]
        step_times = interleaved(
            {"step": step_fn(brain, batch)},
            profile["warmup"],
            profile["loss_share_repeats"],
            args.device,
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


def bench_training(ssl_dir, text_dir, profile, args):
    """All training measurements: the fine-tuned and frozen text tower
    ratios, the scaling rows, the text-side speedup and the loss share.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    text_dir : str
        The text model folder.
    profile : dict
        Run settings.
    args : argparse.Namespace
        The command-line options.

    Returns
    -------
    dict
        The measurements.
    """
    import torch

    out = {}
    torch.manual_seed(0)
    baseline = build_baseline_brain(ssl_dir, args)
    gemo = build_gemo_brain(ssl_dir, text_dir, freeze_text=False, args=args)
    log("training step, text tower fine-tuned")
    out["fine_tuned"] = bench_train_pair(
        gemo,
        baseline,
        profile,
        args,
        profile["batch_size"],
        profile["seconds"],
        profile["repeats"],
    )
    log(f"  {out['fine_tuned']}")

    if not args.no_scaling:
        rows = []
        for batch_size in profile["step_batches"]:
            rows.append(
                bench_train_pair(
                    gemo,
                    baseline,
                    profile,
                    args,
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
                    profile,
                    args,
                    profile["length_batch"],
                    seconds,
                    profile["scaling_repeats"],
                )
            )
            log(f"  step vs length {seconds}: {rows[-1]['ratio']}")
        out["step_vs_length"] = rows

    log("text side")
    out["text_side"] = bench_text_side(
        gemo, profile["text_batches"], profile, args
    )
    log("loss share")
    out["loss_share"] = bench_loss_share(gemo, profile, args)
    release(gemo)
    gemo = None

    log("training step, text tower frozen")
    gemo = build_gemo_brain(ssl_dir, text_dir, freeze_text=True, args=args)
    out["frozen"] = bench_train_pair(
        gemo,
        baseline,
        profile,
        args,
        profile["batch_size"],
        profile["seconds"],
        profile["repeats"],
    )
    log(f"  {out['frozen']}")
    release(gemo, baseline)
    return out


# ---------------------------------------------------------------------------
# Data preparation
# ---------------------------------------------------------------------------
def _plan_corpus():
    """Label lines of a full-size corpus: (session, dialog, utt_id, label),
    with the official counts per raw label spread over 10 speakers and 30
    dialogs per session."""
    import random

    rng = random.Random(1986)
    labels = [
        label
        for label, count in IEMOCAP_LABEL_COUNTS.items()
        for _ in range(count)
    ]
    rng.shuffle(labels)
    dialogs = []
    for session in range(1, 6):
        for k in range(DIALOGS_PER_SESSION):
            lead = "F" if k % 2 == 0 else "M"
            if k < DIALOGS_PER_SESSION // 2:
                name = f"impro{k + 1:02d}"
            else:
                j = k - DIALOGS_PER_SESSION // 2
                name = f"script{j // 3 + 1:02d}_{j % 3 + 1}"
            dialogs.append((session, f"Ses0{session}{lead}_{name}"))
    plan = {dialog: [] for _, dialog in dialogs}
    counters = {}
    for i, label in enumerate(labels):
        session, dialog = dialogs[i % len(dialogs)]
        gender = "F" if (i // len(dialogs)) % 2 == 0 else "M"
        index = counters.get((dialog, gender), 0)
        counters[(dialog, gender)] = index + 1
        plan[dialog].append(
            (session, f"{dialog}_{gender}{index:03d}", label, i)
        )
    return plan


def write_iemocap_layout(folder, wav_seconds=0.25):
    """Writes a full-size synthetic corpus in the official IEMOCAP layout
    (the official number of label lines per raw label: 5,531 four-class
    utterances among 10,039), unless the folder already holds it.

    Every label line has a real 16 kHz PCM wav (the same ``wav_seconds`` of
    quiet noise for all: the preparation reads only the wav headers, so the
    audio content and length do not change its cost). The per-dialog label
    files carry annotator lines, and the per-annotator sub-folders and
    transcriptions exist as in the release.

    Arguments
    ---------
    folder : str
        The ``IEMOCAP_full_release``-like folder to write.
    wav_seconds : float
        Length of each wav.

    Returns
    -------
    int
        The number of four-class utterances (5,531).
    """
    import numpy as np
    import soundfile

    marker = os.path.join(folder, ".bench_corpus.json")
    signature = {
        "counts": IEMOCAP_LABEL_COUNTS,
        "wav_seconds": wav_seconds,
        "version": BENCH_VERSION,
    }
    if os.path.isfile(marker):
        with open(marker) as f:
            if json.load(f) == signature:
                return FOUR_CLASS_TOTAL
    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(0)
    samples = int(wav_seconds * SAMPLE_RATE)
    buffer = io.BytesIO()
    noise = (0.01 * rng.standard_normal(samples)).astype("float32")
    soundfile.write(buffer, noise, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    wav_bytes = buffer.getvalue()
    for dialog, utterances in _plan_corpus().items():
        session = utterances[0][0]
        root = os.path.join(folder, f"Session{session}")
        eval_dir = os.path.join(root, "dialog", "EmoEvaluation")
        wav_dir = os.path.join(root, "sentences", "wav", dialog)
        for sub in ("Categorical", "Attribute", "Self-evaluation"):
            os.makedirs(os.path.join(eval_dir, sub), exist_ok=True)
        os.makedirs(
            os.path.join(root, "dialog", "transcriptions"), exist_ok=True
        )
        os.makedirs(wav_dir, exist_ok=True)
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        categorical, transcript = [], []
        start = 0.0
        for _, utt_id, label, _ in sorted(utterances, key=lambda u: u[3]):
            end = start + 2.0
            lines += [
                f"[{start:.4f} - {end:.4f}]\t{utt_id}\t{label}\t"
                "[2.5000, 2.5000, 2.5000]",
                f"C-E2:\t{label.capitalize()};\t()",
                f"C-E3:\t{label.capitalize()};\t()",
                "A-E3:\tval 3; act 2; dom  2;\t()",
                "",
            ]
            categorical.append(f"{utt_id} :{label.capitalize()}; ()")
            transcript.append(
                f"{utt_id} [{start:08.4f}-{end:08.4f}]: Some words."
            )
            with open(os.path.join(wav_dir, f"{utt_id}.wav"), "wb") as f:
                f.write(wav_bytes)
            start = end + 0.5
        with open(os.path.join(eval_dir, f"{dialog}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(
            os.path.join(eval_dir, "Categorical", f"{dialog}_e1_cat.txt"), "w"
        ) as f:
            f.write("\n".join(categorical) + "\n")
        with open(
            os.path.join(root, "dialog", "transcriptions", f"{dialog}.txt"),
            "w",
        ) as f:
            f.write("\n".join(transcript) + "\n")
    with open(marker, "w") as f:
        json.dump(signature, f)
    return FOUR_CLASS_TOTAL


def bench_prep(work, profile):
    """Times ``prepare_iemocap`` on the full-size synthetic corpus, each
    repeat writing fresh manifests (the corpus files are in the OS cache:
    they were just written or read by the previous repeat).

    Arguments
    ---------
    work : str
        The work folder (the corpus is cached under it).
    profile : dict
        Run settings.

    Returns
    -------
    dict
        Seconds per repeat and per 1,000 utterances.
    """
    from speechbrain_gemo.data.iemocap import prepare_iemocap

    corpus = os.path.join(work, "iemocap_synthetic", "IEMOCAP_full_release")
    start = time.perf_counter()
    total = write_iemocap_layout(corpus)
    generation = time.perf_counter() - start
    times = []
    for _ in range(profile["prep_repeats"]):
        save = tempfile.mkdtemp(prefix="prep_", dir=work)
        start = time.perf_counter()
        paths = prepare_iemocap(corpus, save, expected_utterances=total)
        times.append(time.perf_counter() - start)
        count = 0
        for path in paths.values():
            with open(path) as f:
                count += len(json.load(f))
        shutil.rmtree(save, ignore_errors=True)
        if count != total:
            raise RuntimeError(f"preparation kept {count} of {total}")
    return {
        "utterances": total,
        "label_lines": sum(IEMOCAP_LABEL_COUNTS.values()),
        "seconds": summary(times),
        "seconds_per_1000_utts": median(times) / total * 1000,
        "corpus_generation_s": round(generation, 2),
        "corpus": "synthetic, official layout and label counts; "
        "0.25 s noise wavs (preparation reads wav headers only); warm "
        "OS file cache",
    }


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def machine_info(args):
    """The machine and software the run used.

    Arguments
    ---------
    args : argparse.Namespace
        The command-line options.

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
        "device": args.device,
        "precision": args.precision,
        "clock": args.clock,
        "optimizer": "AdamW (fused)" if args.fused_adamw else "AdamW",
        "text_word_embeddings": (
            "frozen" if args.freeze_text_word_embeddings else "trained"
        ),
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:
        pass
    if str(args.device).startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(args.device)
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
    met = value <= goal if op == "<=" else value < goal
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
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _scaling_row(row, keys):
    out = {key: row[key] for key in keys}
    for side in ("gemo_step_s", "baseline_step_s"):
        if side in row:
            out[side] = row[side]["median"]
    out["ratio"] = row["ratio"]
    return out


def assemble(measured, profile, args, meta):
    """Builds the JSON results from the measurements.

    Arguments
    ---------
    measured : dict
        Output of the benchmark phases.
    profile : dict
        Run settings.
    args : argparse.Namespace
        The command-line options.
    meta : dict
        Machine, models and timing of the run.

    Returns
    -------
    dict
        The results, with every key of ``REQUIRED_KEYS``.
    """
    train = measured.get("train", {})
    inference = measured.get("inference", {})
    rss = measured.get("rss", {})
    prep = measured.get("prep", {})
    text_side = train.get("text_side", {})
    main_text = text_side.get(str(TEXT_SIDE_BATCH))
    if main_text is None and text_side:
        main_text = next(iter(text_side.values()))

    def pick(section, key):
        return section.get(key) if section else None

    results = {
        "inference_overhead_ratio": pick(inference.get("main"), "ratio"),
        "train_step_overhead_ratio": pick(train.get("fine_tuned"), "ratio"),
        "train_step_overhead_ratio_frozen_text": pick(
            train.get("frozen"), "ratio"
        ),
        "text_side_speedup": pick(main_text, "speedup"),
        "inference_peak_rss_ratio": pick(rss, "ratio"),
        "prep_seconds_per_1000_utts": pick(prep, "seconds_per_1000_utts"),
        "loss_share_of_step": {
            batch: row["share"]
            for batch, row in train.get("loss_share", {}).items()
        },
        "scaling": {
            "step_vs_batch": [
                _scaling_row(r, ("batch_size", "seconds"))
                for r in train.get("step_vs_batch", [])
            ],
            "step_vs_length": [
                _scaling_row(r, ("batch_size", "seconds"))
                for r in train.get("step_vs_length", [])
            ],
            "inference_rtf_vs_batch": [
                {
                    key: r[key]
                    for key in (
                        "batch_size",
                        "seconds",
                        "rtf",
                        "bare_rtf",
                        "classify_batch_s",
                        "bare_forward_s",
                        "ratio",
                    )
                }
                for r in inference.get("rtf_rows", [])
            ],
        },
        "goals": {name: f"{op} {goal:g}" for name, (op, goal) in GOALS.items()},
        "quick": bool(args.quick),
        **meta,
        "settings": {
            key: value
            for key, value in profile.items()
            if key not in ("ssl_config", "text_config")
        },
        "recipe_settings": args.recipe,
        "details": {
            "inference": inference.get("main"),
            "train_fine_tuned_text": train.get("fine_tuned"),
            "train_frozen_text": train.get("frozen"),
            "text_side": text_side,
            "loss_share": train.get("loss_share"),
            "peak_rss": rss,
            "prep": prep,
        },
        "notes": [
            "Ratios: median of the numerator's timings / median of the "
            "denominator's, timed interleaved in the same process after "
            "warm-up; paired_ratio in details is the median of the "
            "per-repeat ratios.",
            "Baseline: SpeechBrain's IEMOCAP wav2vec2 recipe architecture "
            "(output_norm, StatisticsPooling(return_std=False) as in the "
            "recipe, Linear(bias=False), log-softmax, nll_loss) with the "
            "same AdamW optimisers and SpeechBrain's default fit_batch.",
            "GEmo-CLAP step: GEmoCLAPBrain.fit_batch, SL objective, the "
            "recipe's settings (recipe_settings, read from common.yaml; "
            "CNN frozen, linear projections). Both sides use the same "
            "AdamW (fused or not, machine.optimizer) and the recipe's SSL "
            "LayerDrop.",
            "Batches: equal-length random audio (relative lengths 1). "
            "Each repeat reseeds the random generators identically for "
            "both sides, so WavLM's LayerDrop (0.1 in WavLMConfig) and time "
            "masking do the same work on both sides of a ratio.",
            f"Clock: {CLOCK_TEXT[args.clock]}, {args.threads} torch "
            "thread(s); the preparation time is always elapsed time.",
            "loss_share_of_step: compute_objectives forward+backward timed "
            "alone / a real fit_batch at the same batch size with "
            f"{profile['loss_share_seconds']} s utterances (short "
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
        ],
    }
    if args.quick:
        results["notes"].append(
            "--quick: small models (see models), short utterances and few "
            "repeats; only the base or large runs measure the goals."
        )
    return results


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
def parse_args(argv=None):
    """Parses the command line.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The options.

    Example
    -------
    >>> args = parse_args(["--quick", "--repeats", "3"])
    >>> args.quick, args.repeats, args.precision
    (True, 3, 'fp32')
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
        "--no-scaling",
        action="store_true",
        help="skip the scaling rows (faster; the PNG is then empty)",
    )
    parser.add_argument(
        "--only",
        default="rss,inference,train,prep",
        help="comma-separated phases to run (for development)",
    )
    parser.add_argument(
        "--rss-child", choices=("gemo", "bare"), help=argparse.SUPPRESS
    )
    parser.add_argument("--export", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick and args.large:
        parser.error("--quick and --large are exclusive")
    if args.threads is None:
        args.threads = os.cpu_count() or 1
    if args.clock == "cpu" and not str(args.device).startswith("cpu"):
        parser.error("--clock cpu measures CPU work: use it with --device cpu")
    args.recipe = recipe_settings()
    args.fused_adamw = (
        bool(args.recipe["fused_adamw"])
        if args.adamw == "recipe"
        else args.adamw == "fused"
    )
    args.freeze_text_word_embeddings = (
        bool(args.recipe["freeze_text_word_embeddings"])
        if args.text_word_embeddings == "recipe"
        else args.text_word_embeddings == "frozen"
    )
    return args


def main(argv=None):
    """Runs the benchmark and writes the JSON, the PNG and the table.

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
    set_clock(args.clock)
    if args.rss_child:
        rss_child(args)
        return None

    started = time.time()
    load_start = load_average()
    name = "quick" if args.quick else "large" if args.large else "base"
    profile = dict(PROFILES[name])
    if args.repeats:
        profile["repeats"] = profile["inference_repeats"] = args.repeats
    work = os.path.abspath(os.path.join(args.work, name))
    os.makedirs(work, exist_ok=True)
    phases = set(args.only.split(","))

    log(f"profile {name}: building models in {work}")
    ssl_dir = save_ssl_model(os.path.join(work, "ssl"), profile["ssl_config"])
    text_dir = save_text_model(
        os.path.join(work, "text"), profile["text_config"]
    )
    export_dir = make_export(
        ssl_dir, text_dir, os.path.join(work, "export"), args
    )
    meta = {
        "models": {
            "ssl": {
                "name": profile["ssl_name"],
                "config_overrides": profile["ssl_config"],
                "parameters": count_parameters(ssl_dir),
            },
            "text": {
                "name": profile["text_name"],
                "config_overrides": profile["text_config"],
                "parameters": count_parameters(text_dir),
            },
            "random_weights": True,
        },
        "machine": machine_info(args),
    }

    measured = {}
    if "rss" in phases:
        log("peak memory (child processes)")
        measured["rss"] = bench_rss(export_dir, profile, args)
        log(f"  {measured['rss']}")
    if "inference" in phases:
        log("inference")
        measured["inference"] = bench_inference(export_dir, profile, args, work)
        log(f"  {measured['inference']['main']}")
    if "train" in phases:
        measured["train"] = bench_training(ssl_dir, text_dir, profile, args)
    if "prep" in phases:
        log("data preparation")
        measured["prep"] = bench_prep(work, profile)
        log(f"  {measured['prep']}")

    meta["runtime_seconds"] = round(time.time() - started, 1)
    meta["load_average"] = {"start": load_start, "end": load_average()}
    meta["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    meta["command"] = "python bench/run.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    results = assemble(measured, profile, args, meta)
    missing = [key for key in REQUIRED_KEYS if not results.get(key)]
    if missing:
        log(f"not measured in this run (see --only): {', '.join(missing)}")

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = f"{out}.tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    os.replace(tmp, out)
    plot(results, os.path.splitext(out)[0] + ".png")
    print(format_table(results))
    print(f"\nruntime {meta['runtime_seconds']} s; results in {out}")
    return results


if __name__ == "__main__":
    main()
