"""Inference phase: ``GEmoCLAP.classify_batch`` on an export against a
bare Hugging Face forward of the same SSL model plus mean pooling, at the
main batch (``inference_overhead_ratio``) and across batch sizes (the
real-time factor rows of ``scaling.inference_rtf_vs_batch``).

Authors
 * speechbrain-gemo developers 2026
"""

import os

from bench.common import log, release
from bench.models import (
    bare_forward,
    classify,
    load_bare_ssl,
    load_classifier,
    make_wavs,
)
from bench.timing import interleaved, median, ratio_of, summary

# The keys of a scaling row in the results (the phase's rows hold more).
RTF_ROW_KEYS = (
    "batch_size",
    "seconds",
    "rtf",
    "bare_rtf",
    "classify_batch_s",
    "bare_forward_s",
    "ratio",
)


def run(config):
    """Runs the inference phase.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        ``inference_overhead_ratio``,
        ``scaling.inference_rtf_vs_batch`` and ``details.inference``.
    """
    measured = measure(config)
    main = measured["main"]
    log(f"  {main}")
    return {
        "inference_overhead_ratio": main["ratio"],
        "scaling": {
            "inference_rtf_vs_batch": [
                {key: row[key] for key in RTF_ROW_KEYS}
                for row in measured["rtf_rows"]
            ]
        },
        "details": {"inference": main},
    }


def measure(config):
    """Times ``classify_batch`` against the bare forward, at the main batch
    and across batch sizes (real-time factors).

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        ``main`` (timings and ratio) and ``rtf_rows``.
    """
    profile = config.profile
    export_dir = config.export_dir
    device = config.device
    classifier = load_classifier(
        export_dir, os.path.join(config.work_dir, "savedir"), device
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
        """The callables timed against each other on one batch."""
        wavs, lens = make_wavs(batch_size, seconds, device)
        fns = {
            "gemo": lambda: classify(classifier, wavs, lens, config.precision),
            "bare": lambda: bare_forward(bare, wavs, config.precision),
        }
        if diagnostic:
            fns["bare_frozen"] = lambda: bare_forward(
                bare_frozen, wavs, config.precision
            )
        return fns

    times = interleaved(
        pair(profile["batch_size"], profile["seconds"], diagnostic=True),
        max(1, profile["warmup"]),
        profile["inference_repeats"],
        device,
        config.clock,
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
    for batch_size in [] if config.no_scaling else profile["rtf_batches"]:
        times = interleaved(
            pair(batch_size, profile["seconds"]),
            1,
            profile["scaling_repeats"],
            device,
            config.clock,
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
