"""CREMA-D preparation: actors, emotions and folds of actors.

Reads ``AudioWAV/<ActorID>_<Sentence>_<Emotion>_<Level>.wav`` (e.g.
``1001_DFA_ANG_XX.wav``) and the actors' sex from
``VideoDemographics.csv``, and writes ``train.json``, ``valid.json`` and
``test.json`` with the fields of ``speechbrain_gemo.data.manifest`` plus
``sentence`` and ``level``. ``emo`` is the CREMA-D code (``ANG``, ``DIS``,
``FEA``, ``HAP``, ``NEU``, ``SAD``), ``speaker`` the ActorID.

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import csv
import os
import re

from speechbrain.utils.logger import get_logger

from speechbrain_gemo.data.manifest import (
    DATA_ROOT,
    list_audio,
    normalize_gender,
    prepare_folded,
)
from speechbrain_gemo.errors import MissingDataError, PreparationError
from speechbrain_gemo.io import sniff_delimiter
from speechbrain_gemo.prompts import corpus_classes

logger = get_logger(__name__)

CORPUS = "CREMA-D"
CLASSES = corpus_classes(CORPUS)
AUDIO_DIR = "AudioWAV"
DEMOGRAPHICS = "VideoDemographics.csv"
REQUIRED = ("ActorID", "Sex")  # the columns of DEMOGRAPHICS read
_FILE_NAME = re.compile(r"^(\d+)_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.wav$", re.I)


def read_demographics(path):
    """Reads each actor's gender from ``VideoDemographics.csv``.

    Arguments
    ---------
    path : str
        The CSV (columns ``ActorID`` and ``Sex``, ``Male`` or ``Female``).

    Returns
    -------
    dict
        ActorID to ``"F"``, ``"M"`` or None.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with open(f"{tmp}/d.csv", "w") as f:
    ...         _ = f.write("ActorID,Age,Sex,Race,Ethnicity\\n"
    ...                     "1001,51,Male,Caucasian,Not Hispanic\\n")
    ...     read_demographics(f"{tmp}/d.csv")
    {'1001': 'M'}
    """
    genders = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter=sniff_delimiter(f, REQUIRED))
        fields = {name.strip(): name for name in reader.fieldnames or ()}
        if "ActorID" not in fields or "Sex" not in fields:
            raise PreparationError(
                f"{path} must have the columns ActorID and Sex, has "
                f"{reader.fieldnames}"
            )
        for row in reader:
            actor = (row[fields["ActorID"]] or "").strip()
            if actor:
                genders[actor] = normalize_gender(
                    row[fields["Sex"]], f"on line {reader.line_num} of {path}"
                )
    return genders


def collect_crema_d(data_folder):
    """Lists the clips of the six classes with their actor and gender.

    Arguments
    ---------
    data_folder : str
        The CREMA-D folder holding ``AudioWAV``.

    Returns
    -------
    entries : dict
        Clip id (the file name without ``.wav``) to manifest entry without
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
    ...     entries, _, notes = collect_crema_d(tmp)
    >>> entries["1001_DFA_ANG_XX"]
    {'wav': '{data_root}/AudioWAV/1001_DFA_ANG_XX.wav', 'emo': 'ANG', \
'gender': 'M', 'speaker': '1001', 'sentence': 'DFA', 'level': 'XX'}
    """
    audio_dir = os.path.join(data_folder, AUDIO_DIR)
    if not os.path.isdir(audio_dir):
        raise MissingDataError(
            f"CREMA-D data_folder {data_folder} has no {AUDIO_DIR} folder; "
            "it must be the CREMA-D folder holding AudioWAV/ and "
            f"{DEMOGRAPHICS}"
        )
    files, hidden, total_bytes = list_audio(audio_dir)
    demographics = os.path.join(data_folder, DEMOGRAPHICS)
    notes = []
    if os.path.isfile(demographics):
        genders = read_demographics(demographics)
    else:
        genders = {}
        logger.warning(
            "%s not found: every CREMA-D gender is unknown", demographics
        )
        notes.append(f"no {DEMOGRAPHICS}: genders unknown")
    entries = {}
    ignored = collections.Counter()
    for name in files:
        match = _FILE_NAME.match(name)
        if match is None:
            ignored["name not <ActorID>_<Sentence>_<Emotion>_<Level>.wav"] += 1
            continue
        actor, sentence, emo, level = match.groups()
        emo = emo.upper()
        if emo not in CLASSES:
            ignored[f"emotion {emo}"] += 1
            continue
        if genders and actor not in genders:
            logger.warning(
                "Actor %s of %s is not in %s: gender unknown",
                actor,
                name,
                DEMOGRAPHICS,
            )
        entries[name[: -len(".wav")]] = {
            "wav": f"{DATA_ROOT}/{AUDIO_DIR}/{name}",
            "emo": emo,
            "gender": genders.get(actor),
            "speaker": actor,
            "sentence": sentence.upper(),
            "level": level.upper(),
        }
    if hidden:
        notes.append(f"ignored {hidden} hidden file(s) (e.g. '._' files)")
    for reason, count in sorted(ignored.items()):
        notes.append(f"ignored {count} file(s): {reason}")
    if not entries:
        raise PreparationError(f"No CREMA-D clip found in {audio_dir}")
    fingerprint = {"files": len(files), "bytes": total_bytes}
    if os.path.isfile(demographics):
        fingerprint["demographics_bytes"] = os.path.getsize(demographics)
    return entries, fingerprint, notes


def prepare_crema_d(
    data_folder,
    save_folder,
    test_fold=1,
    num_folds=5,
    valid_ratio=0.1,
    seed=1986,
):
    """Writes the CREMA-D ``train.json``, ``valid.json`` and ``test.json``.

    The 91 actors are dealt into ``num_folds`` folds (genders balanced,
    seeded); fold ``test_fold`` is the test set, and valid is
    ``valid_ratio`` of each class of the other actors' clips. Empty or
    unreadable clips (public copies hold a 0-byte one) are skipped and
    listed in ``skipped.csv``. A second identical call rewrites nothing.

    Arguments
    ---------
    data_folder : str
        The CREMA-D folder holding ``AudioWAV`` and ``VideoDemographics.csv``.
    save_folder : str
        Where the manifests go (created if needed).
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds of actors.
    valid_ratio : float
        Share of each class of the training actors' clips put in valid.
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
    ...     paths = prepare_crema_d(tmp, f"{tmp}/save", num_folds=2)
    ...     test = json.load(open(paths["test"]))
    >>> sorted({e["speaker"] for e in test.values()})
    ['1001']
    """
    return prepare_folded(
        CORPUS,
        CLASSES,
        collect_crema_d,
        data_folder,
        save_folder,
        test_fold,
        num_folds,
        valid_ratio,
        seed,
        fold_unit="actors",
    )


def _write_tiny_corpus(folder):
    """Writes a minimal CREMA-D tree for the doctests: actors 1001 (male)
    and 1002 (female), one 0.1 s clip per class each.

    Arguments
    ---------
    folder : str
        Where to write ``AudioWAV`` and ``VideoDemographics.csv``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     print(len(os.listdir(f"{tmp}/AudioWAV")))
    12
    """
    import numpy as np
    import soundfile

    os.makedirs(os.path.join(folder, AUDIO_DIR), exist_ok=True)
    with open(os.path.join(folder, DEMOGRAPHICS), "w") as f:
        f.write("ActorID,Age,Sex,Race,Ethnicity\n")
        f.write("1001,51,Male,Caucasian,Not Hispanic\n")
        f.write("1002,21,Female,Caucasian,Not Hispanic\n")
    for actor in ("1001", "1002"):
        for emo in CLASSES:
            soundfile.write(
                os.path.join(folder, AUDIO_DIR, f"{actor}_DFA_{emo}_XX.wav"),
                np.zeros(1600, dtype="float32"),
                16000,
            )
