"""EmoDB (Berlin Database of Emotional Speech) preparation: speakers,
emotions and folds of speakers (leave one speaker out by default).

Reads ``wav/<SS><TTT><E><V>.wav`` (e.g. ``03a01Fa.wav``: speaker 03, text
a01, emotion F, version a). ``emo`` is the German initial (``W`` anger,
``L`` boredom, ``E`` disgust, ``A`` fear, ``F`` happiness, ``T`` sadness,
``N`` neutral), ``speaker`` the two-digit speaker, plus ``text``.

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

CORPUS = "EmoDB"
CLASSES = corpus_classes(CORPUS)
AUDIO_DIR = "wav"
SPEAKER_GENDERS = {
    "03": "M",
    "08": "F",
    "09": "F",
    "10": "M",
    "11": "M",
    "12": "M",
    "13": "F",
    "14": "F",
    "15": "M",
    "16": "F",
}
_FILE_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z]?)\.wav$")


def collect_emodb(data_folder):
    """Lists the utterances with their speaker and gender.

    Arguments
    ---------
    data_folder : str
        The EmoDB folder holding ``wav`` (or the ``wav`` folder itself).

    Returns
    -------
    entries : dict
        Utterance id (the name without ``.wav``) to manifest entry without
        ``duration``.
    fingerprint : dict
        File count and bytes, to notice a changed corpus.
    notes : list of str
        What was ignored, for the summary.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     entries, _, _ = collect_emodb(tmp)
    >>> entries["03a01Wa"]
    {'wav': '{data_root}/wav/03a01Wa.wav', 'emo': 'W', 'gender': 'M', \
'speaker': '03', 'text': 'a01'}
    """
    audio_dir = os.path.join(data_folder, AUDIO_DIR)
    prefix = f"{DATA_ROOT}/{AUDIO_DIR}"
    if not os.path.isdir(audio_dir):
        if not os.path.isdir(data_folder):
            raise MissingDataError(
                f"EmoDB data_folder does not exist: {data_folder}"
            )
        # Some copies are unpacked with the wavs at the top.
        audio_dir, prefix = data_folder, DATA_ROOT
    files, hidden, total_bytes = list_audio(audio_dir)
    entries = {}
    ignored = collections.Counter()
    for name in files:
        match = _FILE_NAME.match(name)
        if match is None:
            ignored["name not <SS><TTT><E><V>.wav"] += 1
            continue
        speaker, text, emo, _ = match.groups()
        if emo not in CLASSES:
            ignored[f"emotion letter {emo}"] += 1
            continue
        if speaker not in SPEAKER_GENDERS:
            logger.warning(
                "EmoDB speaker %s of %s is not one of the ten: gender unknown",
                speaker,
                name,
            )
        entries[name[: -len(".wav")]] = {
            "wav": f"{prefix}/{name}",
            "emo": emo,
            "gender": SPEAKER_GENDERS.get(speaker),
            "speaker": speaker,
            "text": text,
        }
    notes = []
    if hidden:
        notes.append(f"ignored {hidden} hidden file(s) (e.g. '._' files)")
    for reason, count in sorted(ignored.items()):
        notes.append(f"ignored {count} file(s): {reason}")
    if not entries:
        raise PreparationError(
            f"No EmoDB utterance (e.g. 03a01Fa.wav) found in {audio_dir}; "
            f"data_folder must hold the {AUDIO_DIR}/ folder"
        )
    return entries, {"files": len(files), "bytes": total_bytes}, notes


def prepare_emodb(
    data_folder,
    save_folder,
    test_fold=1,
    num_folds=10,
    valid_ratio=0.1,
    seed=1986,
):
    """Writes the EmoDB ``train.json``, ``valid.json`` and ``test.json``.

    With the default ``num_folds=10`` (leave one speaker out) fold ``k``
    tests the ``k``-th speaker in sorted order (03, 08, 09, ...); fewer
    folds deal the speakers into gender-balanced, seeded folds. Valid is
    ``valid_ratio`` of each class of the training speakers' utterances.
    Empty or unreadable files are skipped and listed in ``skipped.csv``.
    A second identical call rewrites nothing.

    Arguments
    ---------
    data_folder : str
        The EmoDB folder holding ``wav``.
    save_folder : str
        Where the manifests go (created if needed).
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds of speakers.
    valid_ratio : float
        Share of each class of the training speakers' files put in valid.
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
    ...     paths = prepare_emodb(tmp, f"{tmp}/save", 2, num_folds=2)
    ...     test = json.load(open(paths["test"]))
    >>> sorted({e["speaker"] for e in test.values()}), len(test)
    (['08'], 7)
    """
    return prepare_folded(
        CORPUS,
        CLASSES,
        collect_emodb,
        data_folder,
        save_folder,
        test_fold,
        num_folds,
        valid_ratio,
        seed,
        fold_unit="speakers",
    )


def _write_tiny_corpus(folder):
    """Writes a minimal EmoDB tree for the doctests: speakers 03 (male)
    and 08 (female), one 0.1 s utterance per emotion each.

    Arguments
    ---------
    folder : str
        Where to write ``wav``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     print(len(os.listdir(f"{tmp}/wav")))
    14
    """
    import numpy as np
    import soundfile

    os.makedirs(os.path.join(folder, AUDIO_DIR), exist_ok=True)
    for speaker in ("03", "08"):
        for emo in CLASSES:
            soundfile.write(
                os.path.join(folder, AUDIO_DIR, f"{speaker}a01{emo}a.wav"),
                np.zeros(1600, dtype="float32"),
                16000,
            )
