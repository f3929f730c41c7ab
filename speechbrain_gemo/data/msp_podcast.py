"""MSP-Podcast preparation: the official partitions with categorical and
dimensional labels.

Reads ``Labels/labels_consensus.csv`` (columns ``FileName``, ``EmoClass``,
``EmoAct``, ``EmoVal``, ``EmoDom``, ``SpkrID``, ``Gender``, ``Split_Set``)
and the audio in ``Audios/``. ``emo`` is the ``EmoClass`` letter (``A``
angry, ``S`` sad, ``H`` happy, ``U`` surprise, ``F`` fear, ``D`` disgust,
``C`` contempt, ``N`` neutral); rows labelled ``O`` (other) or ``X`` (no
agreement) are not classes and are left out. ``arousal``, ``valence`` and
``dominance`` are ``EmoAct``, ``EmoVal`` and ``EmoDom`` (1-7 scale).
``Unknown`` gender or speaker is null.

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import csv
import os

from speechbrain.utils.logger import get_logger

from speechbrain_gemo.data.labels import known_label
from speechbrain_gemo.data.manifest import (
    DATA_ROOT,
    FORMAT_VERSION,
    check_files_exist,
    finish_preparation,
    normalize_gender,
    skip_if_prepared,
)
from speechbrain_gemo.errors import MissingDataError, PreparationError
from speechbrain_gemo.io import sniff_delimiter
from speechbrain_gemo.prompts import corpus_classes

logger = get_logger(__name__)

CORPUS = "MSP-Podcast"
CLASSES = corpus_classes(CORPUS)
NOT_CLASSES = ("O", "X")
AUDIO_DIR = "Audios"
LABELS_FILE = os.path.join("Labels", "labels_consensus.csv")
TRAIN_SET = "Train"
VALID_SET = "Development"
COLUMNS = {
    "file": "FileName",
    "emo": "EmoClass",
    "arousal": "EmoAct",
    "valence": "EmoVal",
    "dominance": "EmoDom",
    "speaker": "SpkrID",
    "gender": "Gender",
    "split": "Split_Set",
}
_UNKNOWN = {"", "unknown"}


def _number(value, column, where):
    """A dimensional rating as a float; None when empty.

    Arguments
    ---------
    value : str
        The cell.
    column : str
        The column name, for the error message.
    where : str
        The line and file, for the error message.

    Returns
    -------
    float or None
        The rating.

    Example
    -------
    >>> _number("4.2", "EmoAct", "line 2"), _number("", "EmoAct", "line 2")
    (4.2, None)
    """
    value = (value or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise PreparationError(
            f"{column} {value!r} {where} is not a number"
        ) from None


def read_labels(labels_file):
    """Reads the consensus labels.

    Arguments
    ---------
    labels_file : str
        ``labels_consensus.csv``.

    Returns
    -------
    rows : list of dict
        One per labelled segment of a class: ``id``, ``file``, ``emo``,
        ``arousal``, ``valence``, ``dominance``, ``speaker``, ``gender``,
        ``split``.
    dropped : collections.Counter
        ``O``/``X`` rows per label.

    Raises
    ------
    ValueError
        On a missing column or a bad value (the line is named).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     rows, dropped = read_labels(f"{tmp}/{LABELS_FILE}")
    >>> rows[0]["id"], rows[0]["emo"], rows[0]["arousal"], dict(dropped)
    ('MSP-PODCAST_0001_0001', 'A', 4.0, {'X': 1})
    """
    rows, dropped = [], collections.Counter()
    seen = {}
    with open(labels_file, encoding="utf-8-sig", newline="") as f:
        delimiter = sniff_delimiter(f, COLUMNS.values())
        reader = csv.DictReader(f, delimiter=delimiter)
        header = {n.strip().lower(): n for n in reader.fieldnames or ()}
        missing = [c for c in COLUMNS.values() if c.lower() not in header]
        if missing:
            raise PreparationError(
                f"{labels_file} lacks the column(s) {', '.join(missing)}; "
                f"it has {reader.fieldnames}"
            )
        column = {k: header[c.lower()] for k, c in COLUMNS.items()}
        for raw in reader:
            where = f"on line {reader.line_num} of {labels_file}"
            cell = {k: (raw[c] or "").strip() for k, c in column.items()}
            # Any case: "a" is A
            code = known_label(cell["emo"], CLASSES + NOT_CLASSES)
            if code in NOT_CLASSES:
                dropped[code] += 1
                continue
            if code is None:
                raise PreparationError(
                    f"EmoClass {cell['emo']!r} {where} is not one of "
                    f"{', '.join(CLASSES + NOT_CLASSES)}"
                )
            cell["emo"] = code
            name = cell["file"]
            if not name:
                raise PreparationError(f"FileName is empty {where}")
            if not name.lower().endswith(".wav"):
                name += ".wav"
            utt_id = name[: -len(".wav")]
            if utt_id in seen:
                raise PreparationError(
                    f"{name} is labelled twice, on lines {seen[utt_id]} and "
                    f"{reader.line_num} of {labels_file}"
                )
            seen[utt_id] = reader.line_num
            if not cell["split"]:
                raise PreparationError(f"Split_Set is empty {where}")
            speaker = cell["speaker"]
            rows.append(
                {
                    "id": utt_id,
                    "file": name,
                    "emo": cell["emo"],
                    "arousal": _number(cell["arousal"], "EmoAct", where),
                    "valence": _number(cell["valence"], "EmoVal", where),
                    "dominance": _number(cell["dominance"], "EmoDom", where),
                    "speaker": None if speaker.lower() in _UNKNOWN else speaker,
                    "gender": normalize_gender(cell["gender"], where),
                    "split": cell["split"],
                }
            )
    return rows, dropped


def prepare_msp_podcast(data_folder, save_folder, test_set="Test1", seed=1986):
    """Writes the MSP-Podcast ``train.json``, ``valid.json`` and
    ``test.json`` from the official partitions.

    Train is ``Train``, valid ``Development``, test the ``test_set``
    partition (``Test1``, ``Test2`` or any other ``Split_Set`` value of the
    release). Segments labelled ``O`` or ``X`` are left out. A labelled
    segment of these partitions whose audio is missing is an error (no
    manifest is written); empty or unreadable audio is skipped and listed in
    ``skipped.csv``. A second identical call rewrites nothing.

    Arguments
    ---------
    data_folder : str
        The MSP-Podcast folder holding ``Audios`` and ``Labels``.
    save_folder : str
        Where the manifests go (created if needed).
    test_set : str
        The test partition.
    seed : int
        Recorded with the options; the official partitions involve no draw.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to the manifest paths.

    Example
    -------
    >>> import json, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     paths = prepare_msp_podcast(tmp, f"{tmp}/save")
    ...     test = json.load(open(paths["test"]))
    >>> test["MSP-PODCAST_0003_0001"]["gender"], len(test)
    (None, 1)
    """
    data_folder = os.path.abspath(data_folder)
    labels_file = os.path.join(data_folder, LABELS_FILE)
    audio_dir = os.path.join(data_folder, AUDIO_DIR)
    for path in (labels_file, audio_dir):
        if not os.path.exists(path):
            raise MissingDataError(
                f"MSP-Podcast data_folder {data_folder} lacks {path}; it must "
                f"hold {AUDIO_DIR}/ and {LABELS_FILE}"
            )
    rows, dropped = read_labels(labels_file)
    partitions = sorted({row["split"] for row in rows})
    tests = [p for p in partitions if p not in (TRAIN_SET, VALID_SET)]
    if test_set not in tests:
        raise PreparationError(
            f"test_set {test_set!r} is not a test partition of "
            f"{labels_file}; it has {', '.join(tests) or 'none'}"
        )
    for needed in (TRAIN_SET, VALID_SET):
        if needed not in partitions:
            raise PreparationError(
                f"{labels_file} has no {needed} row; Split_Set values: "
                f"{', '.join(partitions)}"
            )
    stat = os.stat(labels_file)
    opts = {
        "format_version": FORMAT_VERSION,
        "corpus": CORPUS,
        "data_folder": data_folder,
        "test_set": test_set,
        "seed": seed,
        "fingerprint": {
            "labels_bytes": stat.st_size,
            "labels_mtime_ns": stat.st_mtime_ns,
            "audio_files": len(os.listdir(audio_dir)),
        },
    }
    paths = skip_if_prepared(CORPUS, save_folder, opts)
    if paths is not None:
        return paths

    wanted = {TRAIN_SET: "train", VALID_SET: "valid", test_set: "test"}
    partition_of, entries = {}, {}
    for row in rows:
        if row["split"] not in wanted:
            continue
        partition_of[row["id"]] = wanted[row["split"]]
        entries[row["id"]] = {
            "wav": f"{DATA_ROOT}/{AUDIO_DIR}/{row['file']}",
            "emo": row["emo"],
            "gender": row["gender"],
            "speaker": row["speaker"],
            "arousal": row["arousal"],
            "valence": row["valence"],
            "dominance": row["dominance"],
        }
    check_files_exist(entries, data_folder, labels_file)

    def split(kept):
        """The official partitions of the segments kept.

        Arguments
        ---------
        kept : dict
            Utterance id to manifest entry.

        Returns
        -------
        dict
            ``train``, ``valid``, ``test`` to sorted ids.
        """
        folds = {"train": [], "valid": [], "test": []}
        for utt_id in sorted(kept):
            folds[partition_of[utt_id]].append(utt_id)
        return folds

    notes = [f"test partition {test_set}"]
    if dropped:
        notes.append(
            "left out (not classes): "
            + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items()))
        )
    return finish_preparation(
        CORPUS,
        data_folder,
        save_folder,
        entries,
        opts,
        split,
        CLASSES,
        notes,
        protocol=f"test partition {test_set}",
    )


def _write_tiny_corpus(folder):
    """Writes a minimal MSP-Podcast tree for the doctests: a Train,
    Development and Test1 segment, one X row, one Unknown gender.

    Arguments
    ---------
    folder : str
        Where to write ``Audios`` and ``Labels``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     print(sorted(os.listdir(tmp)))
    ['Audios', 'Labels']
    """
    import numpy as np
    import soundfile

    rows = [
        ("MSP-PODCAST_0001_0001.wav", "A", "4.0", "Male", "1", "Train"),
        ("MSP-PODCAST_0001_0002.wav", "X", "3.0", "Male", "1", "Train"),
        ("MSP-PODCAST_0002_0001.wav", "N", "3.5", "Female", "2", "Development"),
        (
            "MSP-PODCAST_0003_0001.wav",
            "H",
            "5.0",
            "Unknown",
            "Unknown",
            "Test1",
        ),
    ]
    os.makedirs(os.path.join(folder, AUDIO_DIR), exist_ok=True)
    os.makedirs(os.path.join(folder, "Labels"), exist_ok=True)
    lines = [",".join(COLUMNS.values())]
    for name, emo, act, gender, speaker, split in rows:
        lines.append(f"{name},{emo},{act},4.0,4.0,{speaker},{gender},{split}")
        soundfile.write(
            os.path.join(folder, AUDIO_DIR, name),
            np.zeros(1600, dtype="float32"),
            16000,
        )
    with open(os.path.join(folder, LABELS_FILE), "w") as f:
        f.write("\n".join(lines) + "\n")
