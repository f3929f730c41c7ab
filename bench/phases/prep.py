"""Data-preparation phase: ``prepare_iemocap`` on a full-size synthetic
corpus in the official IEMOCAP release layout with the official label
counts (``prep_seconds_per_1000_utts``).

Authors
 * speechbrain-gemo developers 2026
"""

import io
import json
import os
import shutil
import tempfile
import time

from bench.common import BENCH_VERSION, SAMPLE_RATE, log
from bench.timing import median, summary, time_call

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
DIALOGS_PER_SESSION = 30


def run(config):
    """Runs the data-preparation phase.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        ``prep_seconds_per_1000_utts`` and ``details.prep``.
    """
    log("data preparation")
    measured = measure(config)
    log(f"  {measured}")
    return {
        "prep_seconds_per_1000_utts": measured["seconds_per_1000_utts"],
        "details": {"prep": measured},
    }


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


def measure(config):
    """Times ``prepare_iemocap`` on the full-size synthetic corpus, each
    repeat writing fresh manifests (the corpus files are in the OS cache:
    they were just written or read by the previous repeat).

    Arguments
    ---------
    config : BenchConfig
        The run's settings (the corpus is cached under ``work_dir``).

    Returns
    -------
    dict
        Seconds per repeat and per 1,000 utterances.
    """
    from speechbrain_gemo.data.iemocap import prepare_iemocap

    work = config.work_dir
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "iemocap_synthetic", "IEMOCAP_full_release")
    start = time.perf_counter()
    total = write_iemocap_layout(corpus)
    generation = time.perf_counter() - start
    times = []
    for _ in range(config.profile["prep_repeats"]):
        save = tempfile.mkdtemp(prefix="prep_", dir=work)
        paths = {}

        def prepare(save=save, paths=paths):
            """One preparation into fresh manifests."""
            paths.update(
                prepare_iemocap(corpus, save, expected_utterances=total)
            )

        # Elapsed time: the preparation waits on the file system.
        times.append(time_call(prepare, "cpu", "wall"))
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
