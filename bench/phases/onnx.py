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
- ``onnx_fp32_floor_s_b1`` / ``_b8``: the arithmetic floor, the
  multiply-adds of the SSL model's convolutions and matrix products
  (``encoder_macs``; each item on its own samples, as the runtime runs
  them) over the fastest fp32 matrix-product rate measured here
  (``peak_gemm_gmacs``, ``peak_gemm_gmacs`` in the results: the better
  of onnxruntime and PyTorch on a 2048-square product at ``threads``);
  ``onnx_fp32_speedup_bound_b1`` / ``_b8``: PyTorch's time over that floor,
  the largest fp32 speedup any runtime doing the same arithmetic could
  reach on this CPU; ``onnx_fp32_floor_share_b1`` / ``_b8``: floor over
  onnxruntime's fp32 time (1.0: at the floor);
- ``onnx_runtime_install_mb``: installed size of numpy, soundfile, soxr
  and onnxruntime with their dependencies (from the installed
  distributions' file lists), beside ``full_env_install_mb`` (the
  site-packages of the running environment) and their ratio
  ``onnx_runtime_install_share`` (goal <= 0.05).

Models: random-weight WavLM-base built from ``WavLMConfig()`` (the
architecture of microsoft/wavlm-base), WavLM-large with ``large``, the
quick profile's small WavLM with ``quick`` (``bench.common.PROFILES``,
saved by ``bench.models.save_ssl_model``); a tiny text model (the text
tower is not timed).
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

from bench.timing import interleaved, ratio_of, summary, time_call

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


def encoder_macs(config, samples):
    """Multiply-adds of one forward pass of a wav2vec2-family SSL model
    over one utterance, counting the convolutions and matrix products
    (normalisations, activations and softmax are left out: a floor).

    Arguments
    ---------
    config : transformers.PretrainedConfig
        The SSL model's configuration (``conv_dim``, ``conv_kernel``,
        ``conv_stride``, ``hidden_size``, ``intermediate_size``,
        ``num_hidden_layers``, ``num_conv_pos_embeddings``,
        ``num_conv_pos_embedding_groups``).
    samples : int
        Samples of the utterance.

    Returns
    -------
    int
        Multiply-adds: convolutional feature encoder, feature projection,
        positional convolution, and per transformer layer the query, key,
        value and output projections, the feed-forward block and the two
        attention products.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> config = SimpleNamespace(conv_dim=(4, 4), conv_kernel=(10, 3),
    ...     conv_stride=(5, 2), hidden_size=8, intermediate_size=16,
    ...     num_hidden_layers=1, num_conv_pos_embeddings=4,
    ...     num_conv_pos_embedding_groups=2)
    >>> # conv 19*4*10 + 9*4*4*3, projection 9*4*8, positional 9*8*4*4,
    >>> # layer 4*9*8*8 + 2*9*8*16 + 2*9*9*8
    >>> encoder_macs(config, 100) == 760 + 432 + 288 + 1152 + 5904
    True
    """
    frames, channels, macs = samples, 1, 0
    for dim, kernel, stride in zip(
        config.conv_dim, config.conv_kernel, config.conv_stride
    ):
        frames = (frames - kernel) // stride + 1
        macs += frames * dim * channels * kernel
        channels = dim
    hidden, inner = config.hidden_size, config.intermediate_size
    macs += frames * channels * hidden  # feature projection
    macs += (
        frames
        * hidden
        * (hidden // config.num_conv_pos_embedding_groups)
        * config.num_conv_pos_embeddings
    )
    layer = 4 * frames * hidden**2 + 2 * frames * hidden * inner
    layer += 2 * frames**2 * hidden
    return macs + config.num_hidden_layers * layer


def peak_gemm_gmacs(threads, size=2048, repeats=5):
    """The fastest fp32 matrix-product rate of this CPU, measured with
    onnxruntime and with PyTorch (the better of the two).

    Arguments
    ---------
    threads : int
        Intra-op threads of both runtimes.
    size : int
        Side of the square matrices.
    repeats : int
        Timed products per runtime (after one warm-up); the fastest counts.

    Returns
    -------
    dict
        ``onnxruntime`` and ``torch`` rates and their maximum ``peak``,
        in billions of multiply-adds per second.

    Example
    -------
    >>> rates = peak_gemm_gmacs(1, size=64, repeats=1)
    >>> rates["peak"] == max(rates["onnxruntime"], rates["torch"]) > 0
    True
    """
    import numpy as np
    import onnxruntime
    import torch
    from onnx import TensorProto, helper, numpy_helper

    from speechbrain_gemo.onnx import OPSET

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(np.float32)
    b = rng.standard_normal((size, size)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, size])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [None, size])],
        [numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)]
    )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rates = {}
        for name, fn in (
            ("onnxruntime", lambda: session.run(None, {"a": a})),
            ("torch", lambda: torch.mm(ta, tb)),
        ):
            fn()
            best = min(time_call(fn) for _ in range(repeats))
            rates[name] = size**3 / best / 1e9
    finally:
        torch.set_num_threads(previous)
    rates["peak"] = max(rates.values())
    return rates


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
        The export folder, a description of the backbone and its
        ``transformers`` configuration.
    """
    import torch
    import transformers
    from speechbrain.dataio.encoder import CategoricalEncoder
    from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2

    from bench.common import PROFILES
    from bench.models import count_parameters, save_ssl_model
    from speechbrain_gemo.export import export_for_inference
    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts
    from speechbrain_gemo.testing import save_tiny_text_model

    profile = PROFILES["quick" if quick else "large" if large else "base"]
    ssl_dir = save_ssl_model(
        os.path.join(work, "ssl"), profile["ssl_config"], seed=0
    )
    ssl_config = transformers.AutoConfig.from_pretrained(ssl_dir)
    params = count_parameters(ssl_dir)
    name = profile["ssl_name"]
    text_dir = save_tiny_text_model(os.path.join(work, "text"))
    torch.manual_seed(0)
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
    backbone = f"{name}, {params / 1e6:.1f} M parameters, random"
    return folder, backbone, ssl_config


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
        export_dir, backbone, ssl_config = build_export(
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
        gemm = peak_gemm_gmacs(threads)
        result["peak_gemm_gmacs"] = gemm
        log(f"  onnx: peak fp32 matrix products {gemm}")
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
            # Each item on its own samples, as the runtime runs them
            counts = np.round(lens * samples).astype(int)
            floor = sum(encoder_macs(ssl_config, int(n)) for n in counts)
            floor = floor / (gemm["peak"] * 1e9)
            result[f"onnx_fp32_floor_s_b{batch}"] = floor
            result[f"onnx_fp32_speedup_bound_b{batch}"] = round(
                result[f"torch_b{batch}"]["median"] / floor, 4
            )
            result[f"onnx_fp32_floor_share_b{batch}"] = round(
                floor / result[f"fp32_b{batch}"]["median"], 4
            )
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
