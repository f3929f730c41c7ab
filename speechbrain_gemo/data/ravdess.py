"""RAVDESS preparation (speech audio part): actors, emotions and folds of
actors.

Reads ``Actor_XX/MM-VV-EE-II-SS-RR-AA.wav`` (e.g.
``03-01-06-01-02-01-12.wav``) anywhere under ``data_folder`` and keeps the
audio-only (modality 03) speech (vocal channel 01) files: song files
unpacked into the same folders and other modalities are left out and
counted. ``emo`` is the two-digit emotion field (``01`` neutral ... ``08``
surprised, words in ``speechbrain_gemo.prompts``), ``speaker`` the actor
field (``01``-``24``; odd male, even female), plus ``intensity`` and
``statement``. Stereo and 48 kHz files are fine: durations come from the
header, and the recipe's audio pipeline resamples and mixes down.

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import os
import re

from speechbrain.utils.logger import get_logger

from speechbrain_gemo.data.manifest import (
    DATA_ROOT,
    list_audio,
    prepare_folded,
)
from speechbrain_gemo.errors import MissingDataError, PreparationError
from speechbrain_gemo.prompts import corpus_classes

logger = get_logger(__name__)

CORPUS = "RAVDESS"
CLASSES = corpus_classes(CORPUS)
AUDIO_ONLY = "03"
SPEECH = "01"
_FILE_NAME = re.compile(
    r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$", re.I
)


def parse_file_name(name):
    """Splits a RAVDESS file name into its seven fields.

    Arguments
    ---------
    name : str
        E.g. ``03-01-06-01-02-01-12.wav``.

    Returns
    -------
    dict or None
        ``modality``, ``channel``, ``emotion``, ``intensity``,
        ``statement``, ``repetition``, ``actor`` (two-digit strings), or
        None when the name has another form.

    Example
    -------
    >>> info = parse_file_name("03-01-06-01-02-01-12.wav")
    >>> info["emotion"], info["actor"], info["channel"]
    ('06', '12', '01')
    """
    match = _FILE_NAME.match(name)
    if match is None:
        return None
    keys = (
        "modality",
        "channel",
        "emotion",
        "intensity",
        "statement",
        "repetition",
        "actor",
    )
    return dict(zip(keys, match.groups()))


def actor_gender(actor):
    """RAVDESS' gender rule: odd actors are male, even ones female.

    Arguments
    ---------
    actor : str
        The two-digit actor field.

    Returns
    -------
    str
        ``"M"`` or ``"F"``.

    Example
    -------
    >>> actor_gender("01"), actor_gender("24")
    ('M', 'F')
    """
    return "M" if int(actor) % 2 else "F"


def collect_ravdess(data_folder):
    """Lists the audio-only speech files with their actor and gender.

    Arguments
    ---------
    data_folder : str
        A folder holding the ``Actor_XX`` folders (at any depth).

    Returns
    -------
    entries : dict
        File id (the name without ``.wav``) to manifest entry without
        ``duration``.
    fingerprint : dict
        File count and bytes, to notice a changed corpus.
    notes : list of str
        What was left out, for the summary.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     entries, _, notes = collect_ravdess(tmp)
    >>> entries["03-01-02-01-01-01-01"]
    {'wav': '{data_root}/Actor_01/03-01-02-01-01-01-01.wav', 'emo': '02', \
'gender': 'M', 'speaker': '01', 'intensity': '01', 'statement': '01'}
    """
    if not os.path.isdir(data_folder):
        raise MissingDataError(
            f"RAVDESS data_folder does not exist: {data_folder}"
        )
    entries = {}
    left_out = collections.Counter()
    n_files = total_bytes = hidden_files = 0
    for root, dirs, _ in os.walk(data_folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files, hidden, folder_bytes = list_audio(root)
        n_files += len(files)
        total_bytes += folder_bytes
        hidden_files += hidden
        relative = os.path.relpath(root, data_folder).replace(os.sep, "/")
        for name in files:
            info = parse_file_name(name)
            if info is None:
                left_out["name not MM-VV-EE-II-SS-RR-AA.wav"] += 1
                continue
            if info["modality"] != AUDIO_ONLY:
                left_out[f"modality {info['modality']} (not audio-only)"] += 1
                continue
            if info["channel"] != SPEECH:
                left_out["song (vocal channel 02)"] += 1
                continue
            if info["emotion"] not in CLASSES:
                left_out[f"emotion {info['emotion']}"] += 1
                continue
            utt_id = name[: -len(".wav")]
            wav = "/".join(
                [DATA_ROOT, *([] if relative == "." else [relative]), name]
            )
            if utt_id in entries:
                logger.warning(
                    "RAVDESS file %s is there twice; keeping %s",
                    name,
                    entries[utt_id]["wav"],
                )
                left_out["duplicate file name"] += 1
                continue
            entries[utt_id] = {
                "wav": wav,
                "emo": info["emotion"],
                "gender": actor_gender(info["actor"]),
                "speaker": info["actor"],
                "intensity": info["intensity"],
                "statement": info["statement"],
            }
    notes = []
    if hidden_files:
        notes.append(f"ignored {hidden_files} hidden file(s) (e.g. '._' files)")
    for reason, count in sorted(left_out.items()):
        notes.append(f"left out {count} file(s): {reason}")
    if not entries:
        raise PreparationError(
            f"No RAVDESS audio-only speech file (03-01-...wav) found under "
            f"{data_folder}"
        )
    return entries, {"files": n_files, "bytes": total_bytes}, notes


def prepare_ravdess(
    data_folder,
    save_folder,
    test_fold=1,
    num_folds=5,
    valid_ratio=0.1,
    seed=1986,
):
    """Writes the RAVDESS ``train.json``, ``valid.json`` and ``test.json``.

    The 24 actors are dealt into ``num_folds`` folds (genders balanced,
    seeded); fold ``test_fold`` is the test set, and valid is
    ``valid_ratio`` of each class of the other actors' files. Empty or
    unreadable files are skipped and listed in ``skipped.csv``. A second
    identical call rewrites nothing.

    Arguments
    ---------
    data_folder : str
        The folder holding ``Actor_01`` ... ``Actor_24`` (at any depth).
    save_folder : str
        Where the manifests go (created if needed).
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds of actors.
    valid_ratio : float
        Share of each class of the training actors' files put in valid.
    seed : int
        Seed of the folds and of the valid draw.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to the manifest paths.

    Example
    -------
    >>> import json, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     paths = prepare_ravdess(tmp, f"{tmp}/save", 2, num_folds=2)
    ...     test = json.load(open(paths["test"]))
    >>> sorted({e["speaker"] for e in test.values()}), len(test)
    (['02'], 8)
    """
    return prepare_folded(
        CORPUS,
        CLASSES,
        collect_ravdess,
        data_folder,
        save_folder,
        test_fold,
        num_folds,
        valid_ratio,
        seed,
        fold_unit="actors",
    )


def _write_tiny_corpus(folder):
    """Writes a minimal RAVDESS tree for the doctests: actors 01 and 02,
    one 0.1 s speech file per emotion each.

    Arguments
    ---------
    folder : str
        Where to write ``Actor_01`` and ``Actor_02``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     print(len(os.listdir(f"{tmp}/Actor_02")))
    8
    """
    import numpy as np
    import soundfile

    for actor in ("01", "02"):
        actor_dir = os.path.join(folder, f"Actor_{actor}")
        os.makedirs(actor_dir, exist_ok=True)
        for emo in CLASSES:
            soundfile.write(
                os.path.join(actor_dir, f"03-01-{emo}-01-01-01-{actor}.wav"),
                np.zeros(4800, dtype="float32"),
                48000,
            )
