"""Benchmark phase ``onnx``: onnxruntime against PyTorch for classification,
and the size of the torch-free runtime environment.

Every ratio is PyTorch time over onnxruntime time, both timed in this run
with ``bench.timing.interleaved`` (the order alternates between repeats;
``config.clock``, wall or CPU), each the median of the repeats after
warm-up, on the same audio (3 s per utterance; a padded batch of 8 has
relative lengths between 0.6 and 1). The headline keys are
``onnx_fp32_speedup``, ``onnx_int8_speedup``, ``onnx_int8_agreement``,
``onnx_runtime_install_mb`` and ``onnx_runtime_install_share``; the rest
goes under ``details.onnx``:

- ``onnx_fp32_speedup_b1`` / ``_b8``: ``GEmoCLAP.classify_batch`` over
  ``EmotionClassifierONNX(precision="fp32").classify_batch`` at batch 1 /
  batch 8 (the ``_bN`` suffix is the batch size); ``onnx_fp32_speedup``
  is the smaller of the two (the headline, goal >= 1.3);
- ``onnx_int8_speedup_b1`` / ``_b8`` / ``onnx_int8_speedup``: the same
  for the int8 graph (``--int8``: MatMuls only; goal >= 2);
  ``onnx_int8_all_ops_speedup_b1`` times onnxruntime's default dynamic
  quantisation of every supported operator, for comparison;
- ``onnx_fp32_max_prob_diff``: largest probability difference fp32 ONNX
  vs PyTorch; ``onnx_int8_agreement``: share of clips where the int8
  label equals the fp32 one, ``onnx_int8_min_cosine``: lowest cosine
  between int8 and fp32 embeddings (random clips, random weights);
- ``onnx_runtime_install_mb``: installed size of numpy, soundfile, soxr
  and onnxruntime with their dependencies (from the installed
  distributions' file lists), beside ``full_env_install_mb`` (the
  site-packages of the running environment) and their ratio
  ``onnx_runtime_install_share`` (goal <= 0.05).

Models: random-weight WavLM-base built from ``WavLMConfig()`` (the
architecture of microsoft/wavlm-base), WavLM-large with ``large``, a small
WavLM with ``quick``; a tiny text model (the text tower is not timed).
Runs on the CPU (``threads`` intra-op threads for both runtimes).

It needs the ``onnx`` extra (onnx, onnxruntime, soxr): without it,
``python bench/run.py --only onnx`` stops at once naming what is missing
(``unavailable``). It is not part of the default run.

Usage::

    python bench/run.py --only onnx [--quick] --threads 1 --out FILE
    python -m bench.phases.onnx [--quick] [--threads 1] [--out FILE]

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import sysconfig
import tempfile
import time

from bench.timing import interleaved, ratio_of, summary

SAMPLE_RATE = 16000
RUNTIME_PACKAGES = ("numpy", "soundfile", "soxr", "onnxruntime")
# What the phase imports beyond the full environment: the onnx extra
NEEDED_MODULES = ("onnx", "onnxruntime", "soxr")
GOALS = {"fp32": 1.3, "int8": 2.0}


def unavailable(find=importlib.util.find_spec):
    """Why the phase cannot run here, or None when it can.

    Arguments
    ---------
    find : callable
        Finds a module by name (None when it is not installed).

    Returns
    -------
    str or None
        The message naming the missing modules and the install command.

    Example
    -------
    >>> unavailable(lambda name: None if name == "onnx" else object())
    'the onnx phase needs onnx: pip install "speechbrain-gemo[onnx-export]"'
    """
    missing = [name for name in NEEDED_MODULES if find(name) is None]
    if not missing:
        return None
    return (
        f"the onnx phase needs {', '.join(missing)}: "
        'pip install "speechbrain-gemo[onnx-export]"'
    )


def speedups(times, batch):
    """PyTorch time over each onnxruntime variant's, from interleaved
    timings.

    Arguments
    ---------
    times : dict
        ``torch`` and variant names (``fp32``, ``int8``...) to the lists
        of seconds of ``bench.timing.interleaved``.
    batch : int
        The batch size (the ``_b<batch>`` suffix of the keys).

    Returns
    -------
    dict
        ``onnx_<variant>_speedup_b<batch>`` (the ratio of medians) and
        ``onnx_<variant>_paired_speedup_b<batch>`` (median of the
        per-repeat ratios) for every variant.

    Example
    -------
    >>> speedups({"torch": [2.0, 4.0, 3.0], "fp32": [1.0, 2.0, 2.0]}, 8)
    {'onnx_fp32_speedup_b8': 1.5, 'onnx_fp32_paired_speedup_b8': 2.0}
    """
    out = {}
    for name, values in times.items():
        if name == "torch":
            continue
        ratio = ratio_of(times["torch"], values)
        out[f"onnx_{name}_speedup_b{batch}"] = ratio["ratio"]
        out[f"onnx_{name}_paired_speedup_b{batch}"] = ratio["paired_ratio"]
    return out


def headline(measured):
    """The phase's result: the headline keys at the top level (each
    speedup the smaller of batch 1 and batch 8), everything under
    ``details.onnx``.

    Arguments
    ---------
    measured : dict
        Everything the phase measured.

    Returns
    -------
    dict
        ``onnx_fp32_speedup``, ``onnx_int8_speedup``,
        ``onnx_int8_agreement``, ``onnx_runtime_install_mb``,
        ``onnx_runtime_install_share`` and ``details``.

    Example
    -------
    >>> out = headline({"onnx_fp32_speedup_b1": 1.2, "onnx_fp32_speedup_b8":
    ...     0.9, "onnx_int8_speedup_b1": 2.0, "onnx_int8_speedup_b8": 2.5,
    ...     "onnx_int8_agreement": 0.95, "onnx_runtime_install_mb": 150.0,
    ...     "full_env_install_mb": 6000.0})
    >>> out["onnx_fp32_speedup"], out["onnx_int8_speedup"]
    (0.9, 2.0)
    >>> out["onnx_runtime_install_share"], sorted(out["details"]["onnx"])[0]
    (0.025, 'full_env_install_mb')
    """
    measured = dict(measured)
    for name in ("fp32", "int8"):
        measured[f"onnx_{name}_speedup"] = min(
            measured[f"onnx_{name}_speedup_b1"],
            measured[f"onnx_{name}_speedup_b8"],
        )
    measured["onnx_runtime_install_share"] = round(
        measured["onnx_runtime_install_mb"] / measured["full_env_install_mb"],
        4,
    )
    keys = (
        "onnx_fp32_speedup",
        "onnx_int8_speedup",
        "onnx_int8_agreement",
        "onnx_runtime_install_mb",
        "onnx_runtime_install_share",
    )
    result = {key: measured[key] for key in keys}
    result["details"] = {"onnx": measured}
    return result


LARGE = dict(
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    feat_extract_norm="layer",
    do_stable_layer_norm=True,
)
QUICK = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=128,
    conv_dim=(64,) * 7,
    num_buckets=32,
)


def distribution_closure(names):
    """The installed distributions ``names`` need, themselves included
    (requirements without extras, that are installed).

    Arguments
    ---------
    names : list of str
        Distribution names.

    Returns
    -------
    set of str
        Normalised names of the distributions.

    Example
    -------
    >>> "numpy" in distribution_closure(["numpy"])
    True
    """
    seen, todo = set(), [_normalise(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for requirement in requires:
            if "extra ==" in requirement or "extra==" in requirement:
                continue
            todo.append(_normalise(re.split(r"[ ;<>=!~\[(]", requirement)[0]))
    return seen


def _normalise(name):
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_mb(names):
    """Installed size of distributions, from their RECORD file lists.

    Arguments
    ---------
    names : iterable of str
        Distribution names.

    Returns
    -------
    float
        Megabytes (10^6 bytes).

    Example
    -------
    >>> installed_mb(["numpy"]) > 1
    True
    """
    total = 0
    for name in names:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or ():
            path = dist.locate_file(file)
            if os.path.isfile(path):
                total += os.path.getsize(path)
    return total / 1e6


def folder_mb(folder):
    """Size of the files under a folder (links not followed).

    Arguments
    ---------
    folder : str
        The folder.

    Returns
    -------
    float
        Megabytes (10^6 bytes).

    Example
    -------
    >>> folder_mb(tempfile.mkdtemp())
    0.0
    """
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total / 1e6


def build_export(work, quick, large):
    """Exports a random GEmo-CLAP model (WavLM backbone) to ``work``.

    Arguments
    ---------
    work : str
        Working folder.
    quick : bool
        Small WavLM.
    large : bool
        WavLM-large architecture.

    Returns
    -------
    tuple
        The export folder and a description of the backbone.
    """
    import torch
    import transformers
    from speechbrain.dataio.encoder import CategoricalEncoder
    from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2

    from speechbrain_gemo.export import export_for_inference
    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts
    from speechbrain_gemo.testing import save_tiny_text_model

    overrides = QUICK if quick else LARGE if large else {}
    name = "small WavLM" if quick else "wavlm-large" if large else "wavlm-base"
    ssl_dir = os.path.join(work, "ssl")
    torch.manual_seed(0)
    ssl = transformers.WavLMModel(transformers.WavLMConfig(**overrides))
    ssl.save_pretrained(ssl_dir)
    transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(ssl_dir)
    params = sum(p.numel() for p in ssl.parameters())
    del ssl
    text_dir = save_tiny_text_model(os.path.join(work, "text"))
    model = GEmoCLAPModel(
        SSLAudioEncoder(Wav2Vec2(ssl_dir, save_path=ssl_dir), 512),
        TextPromptEncoder(
            TextEncoder(text_dir, save_path=text_dir, freeze=True), 512
        ),
        emotion_prompts(),
    )
    labels = CategoricalEncoder()
    labels.update_from_iterable(model.emotion_labels)
    folder = export_for_inference(
        model,
        labels,
        {"objective": "sl", "sample_rate": SAMPLE_RATE},
        os.path.join(work, "export"),
    )
    return folder, f"{name} ({params / 1e6:.1f} M parameters, random)"


def _quantize_all_ops(fp32_path, out_path):
    """onnxruntime's default dynamic quantisation (every operator it
    supports), for comparison with the MatMul-only graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32_path, out_path, weight_type=QuantType.QInt8)
    return out_path


def run(config):
    """Runs the phase.

    Arguments
    ---------
    config : BenchConfig or argparse.Namespace
        ``quick``, ``large``, ``threads``, ``clock``, ``repeats`` (the
        phase runs on the CPU in fp32 whatever ``device`` and
        ``precision`` say).

    Returns
    -------
    dict
        The headline keys and ``details.onnx`` (see ``headline``).
    """
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    import numpy as np
    import onnxruntime
    import torch

    from bench.common import log
    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.onnx import GRAPH_FP32, export_onnx
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    quick = bool(getattr(config, "quick", False))
    threads = int(getattr(config, "threads", None) or 1)
    clock = getattr(config, "clock", None) or "wall"
    torch.set_num_threads(threads)
    seconds = 1.0 if quick else 3.0
    warmup = 1 if quick else 2
    repeats = getattr(config, "repeats", None) or (3 if quick else 7)
    result = {
        "device": "cpu",
        "threads": threads,
        "clock": clock,
        "repeats": repeats,
        "seconds_per_utterance": seconds,
        "onnxruntime_version": onnxruntime.__version__,
        "torch_version": torch.__version__,
    }
    if getattr(config, "device", "cpu") not in (None, "cpu"):
        result["note"] = "onnx phase runs on the CPU only"
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        export_dir, backbone = build_export(
            work, quick, bool(getattr(config, "large", False))
        )
        onnx_dir = export_onnx(export_dir, os.path.join(work, "onnx"), True)
        result["export_and_convert_s"] = time.perf_counter() - start
        result["backbone"] = backbone
        took = time.perf_counter() - start
        log(f"  onnx: {backbone}, exported and converted in {took:.0f} s")
        torch_model = GEmoCLAP.from_hparams(source=export_dir)
        models = {
            precision: EmotionClassifierONNX(
                onnx_dir, precision=precision, threads=threads
            )
            for precision in ("fp32", "int8")
        }
        all_ops = _quantize_all_ops(
            os.path.join(onnx_dir, GRAPH_FP32),
            os.path.join(work, "all_ops.onnx"),
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        all_ops_session = onnxruntime.InferenceSession(
            all_ops, options, providers=["CPUExecutionProvider"]
        )
        rng = np.random.default_rng(0)
        samples = int(seconds * SAMPLE_RATE)
        for batch in (1, 8):
            wavs = (0.1 * rng.standard_normal((batch, samples))).astype(
                np.float32
            )
            lens = np.ones(batch, dtype=np.float32)
            if batch > 1:
                lens[1:] = rng.uniform(0.6, 1.0, batch - 1)
            wavs_t, lens_t = torch.from_numpy(wavs), torch.from_numpy(lens)
            fns = {
                "torch": lambda w=wavs_t, n=lens_t: torch_model.classify_batch(
                    w, n
                ),
                "fp32": lambda w=wavs, n=lens: models["fp32"].classify_batch(
                    w, n
                ),
                "int8": lambda w=wavs, n=lens: models["int8"].classify_batch(
                    w, n
                ),
            }
            if batch == 1:
                feed = {"waveforms": wavs, "lengths": lens}
                fns["int8_all_ops"] = lambda f=feed: all_ops_session.run(
                    ["embeddings"], f
                )
            times = interleaved(fns, warmup, repeats, "cpu", clock)
            for name, values in times.items():
                result[f"{name}_b{batch}"] = summary(values)
            result.update(speedups(times, batch))
            log(f"  onnx batch {batch}: {speedups(times, batch)}")
            torch_probs = torch_model.classify_batch(wavs_t, lens_t)[0]
            onnx_probs = models["fp32"].classify_batch(wavs, lens)[0]
            diff = float(np.abs(onnx_probs - torch_probs.numpy()).max())
            result["onnx_fp32_max_prob_diff"] = max(
                diff, result.get("onnx_fp32_max_prob_diff", 0.0)
            )
        # int8 against fp32 on clips of varied lengths (batches of 8)
        clips = 16 if quick else 64
        agree, cosines = 0, []
        for _ in range(clips // 8):
            wavs = (0.1 * rng.standard_normal((8, samples))).astype(np.float32)
            lens = rng.uniform(0.5, 1.0, 8).astype(np.float32)
            out32 = models["fp32"].predict_batch(wavs, lens)
            out8 = models["int8"].predict_batch(wavs, lens)
            agree += int((out32["index"] == out8["index"]).sum())
            cosines.extend(
                (out32["embeddings"] * out8["embeddings"]).sum(axis=-1)
            )
        result["onnx_int8_agreement"] = agree / clips
        result["onnx_int8_min_cosine"] = float(min(cosines))
        result["onnx_int8_clips"] = clips
        result["onnx_graph_mb"] = {
            name: os.path.getsize(os.path.join(onnx_dir, f)) / 1e6
            for name, f in models["int8"].config["graphs"].items()
        }
    runtime = distribution_closure(RUNTIME_PACKAGES)
    result["onnx_runtime_distributions"] = sorted(runtime)
    result["onnx_runtime_install_mb"] = installed_mb(runtime)
    result["full_env_install_mb"] = folder_mb(sysconfig.get_paths()["purelib"])
    return headline(result)


def main(argv=None):
    """Command line of the phase on its own.

    Arguments
    ---------
    argv : list of str, optional
        The arguments.

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--clock", default="wall", choices=("wall", "cpu"))
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", help="JSON file to write")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        tmp = f"{args.out}.tmp-{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
