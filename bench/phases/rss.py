"""Peak-memory phase: two child processes, run alone and alternately, each
reporting its own peak resident memory (``VmHWM``): one loads the
GEmo-CLAP export and classifies a batch, the other runs the bare SSL
model (``inference_peak_rss_ratio``).

The child is this module: ``python -m bench.phases.rss --side gemo|bare
--export DIR ...`` (run from the repository root).

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile

from bench.common import ROOT, log
from bench.models import (
    bare_forward,
    classify,
    load_bare_ssl,
    load_classifier,
    make_wavs,
)
from bench.timing import current_rss_mb, median, peak_rss_mb


def run(config):
    """Runs the peak-memory phase.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        ``inference_peak_rss_ratio`` and ``details.peak_rss``.
    """
    measured = measure(config)
    log(f"  {measured}")
    return {
        "inference_peak_rss_ratio": measured["ratio"],
        "details": {"peak_rss": measured},
    }


def measure(config):
    """Runs the two peak-memory children alternately, each alone.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        Per-side results and the ratio of the median peaks.
    """
    profile = config.profile
    export_dir = config.export_dir
    results = {"gemo": [], "bare": []}
    for r in range(profile["rss_repeats"]):
        for kind in ("gemo", "bare") if r % 2 == 0 else ("bare", "gemo"):
            command = [
                sys.executable,
                "-m",
                "bench.phases.rss",
                "--side",
                kind,
                "--export",
                export_dir,
                "--batch",
                str(profile["batch_size"]),
                "--seconds",
                str(profile["seconds"]),
                "--threads",
                str(config.threads),
                "--device",
                config.device,
                "--precision",
                config.precision,
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


def child(args):
    """Body of a peak-memory child: loads and classifies one batch, then
    prints one JSON line with the memory at each stage.

    ``--side gemo`` loads the export with ``GEmoCLAP.from_hparams`` and
    calls ``classify_batch``; ``--side bare`` loads the export's SSL model
    with ``AutoModel.from_pretrained`` and runs the forward and mean
    pooling.

    Arguments
    ---------
    args : argparse.Namespace
        The child's options (``side``, ``export``, ``batch``, ``seconds``,
        ``threads``, ``device``, ``precision``); see :func:`child_main`.
    """
    import torch

    torch.set_num_threads(args.threads)
    if args.side == "gemo":
        import speechbrain_gemo.inference  # noqa: F401
    else:
        import transformers  # noqa: F401
    stages = {"imported": current_rss_mb()}
    wavs, lens = make_wavs(args.batch, args.seconds, args.device)
    if args.side == "gemo":
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


def child_main(argv=None):
    """Command line of a peak-memory child.

    Arguments
    ---------
    argv : list of str, optional
        ``--side gemo|bare --export DIR --batch N --seconds S --threads T
        --device D --precision P``.
    """
    parser = argparse.ArgumentParser(description=child.__doc__.split("\n")[0])
    parser.add_argument("--side", choices=("gemo", "bare"), required=True)
    parser.add_argument("--export", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    child(parser.parse_args(argv))


if __name__ == "__main__":
    child_main()
