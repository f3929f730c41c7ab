"""What the corpus preparations share: folds of speakers, the valid draw,
audio probing, and writing the manifests.

Every preparation writes ``train.json``, ``valid.json`` and ``test.json``
into its ``save_folder``, each mapping an utterance id to::

    {"wav": "{data_root}/...", "duration": 2.1, "emo": "<class code>",
     "gender": "F" | "M" | null, "speaker": "<corpus speaker id>" | null,
     ...}

plus ``arousal``, ``valence`` and ``dominance`` where the corpus has them
and a few corpus-specific fields. An utterance that is a stretch of a
longer recording (a user's CSV with ``start``/``end``/``channel``) has
SpeechBrain's dict form of ``wav`` instead of a path, with the channel
added: ``{"file": "{data_root}/...", "start": <first sample>, "stop":
<sample after the last>, "channel": <1-based> | null}`` (samples at the
file's own rate), and ``duration`` is the stretch's.

``skipped.csv`` lists the audio files left out because they are empty or
unreadable, with the reason, and ``prepare_opts.json``, written last,
records the options so that a second identical call rewrites nothing.

Folds are sets of speakers: with ``num_folds`` folds every speaker is
tested in exactly one fold, and a test speaker never appears in train or
valid. Valid is drawn from the utterances of the training speakers
(``valid_ratio`` of each class, seeded), so valid speakers are also
training speakers: it selects the checkpoint, the test fold measures
generalisation to unseen speakers.

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import csv
import functools
import io
import json
import os
import random

import soundfile
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.errors import MissingDataError, PreparationError
from speechbrain_gemo.io import write_json_atomic, write_text_atomic

logger = get_logger(__name__)

DATA_ROOT = "{data_root}"
MANIFESTS = ("train", "valid", "test")
OPTS_FILE = "prepare_opts.json"
SKIPPED_FILE = "skipped.csv"
# Bump when the manifest content changes, so old preparations are redone.
# 2: CSV ids keep the file extension, label spellings merged, one class.
FORMAT_VERSION = 2

_GENDER_SPELLINGS = {
    "f": "F",
    "female": "F",
    "woman": "F",
    "w": "F",
    "m": "M",
    "male": "M",
    "man": "M",
}
_UNKNOWN_GENDER = {"", "unknown", "none", "null", "na", "n/a", "nan", "?"}
_MAX_LISTED = 5


def normalize_gender(value, where=""):
    """Maps a gender spelling to ``"F"``, ``"M"`` or None (unknown).

    Arguments
    ---------
    value : str or None
        E.g. ``"F"``, ``"female"``, ``"Male"``, ``"Unknown"``, ``""``.
    where : str
        Where the value comes from, for the error message.

    Returns
    -------
    str or None
        ``"F"``, ``"M"``, or None for an empty or unknown value.

    Raises
    ------
    ValueError
        For any other value.

    Example
    -------
    >>> normalize_gender("Female"), normalize_gender("m"), normalize_gender("")
    ('F', 'M', None)
    """
    key = "" if value is None else str(value).strip().lower()
    if key in _UNKNOWN_GENDER:
        return None
    if key in _GENDER_SPELLINGS:
        return _GENDER_SPELLINGS[key]
    raise PreparationError(
        f"Gender {value!r}{' ' + where if where else ''} is not F/M "
        "(female/male, any case) or empty for unknown"
    )


def check_fold_args(test_fold, num_folds, valid_ratio):
    """Checks the protocol arguments of a folded preparation.

    Arguments
    ---------
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds, at least 2.
    valid_ratio : float
        Share of each class of the training speakers put in valid, [0, 1).

    Example
    -------
    >>> check_fold_args(2, 5, 0.1)
    >>> try:
    ...     check_fold_args(6, 5, 0.1)
    ... except PreparationError as err:
    ...     print(err)
    test_fold must be an int in 1..5, got 6
    """
    if (
        isinstance(num_folds, bool)
        or not isinstance(num_folds, int)
        or num_folds < 2
    ):
        raise PreparationError(
            f"num_folds must be an int >= 2, got {num_folds!r}"
        )
    if (
        isinstance(test_fold, bool)
        or not isinstance(test_fold, int)
        or not 1 <= test_fold <= num_folds
    ):
        raise PreparationError(
            f"test_fold must be an int in 1..{num_folds}, got {test_fold!r}"
        )
    check_valid_ratio(valid_ratio)


def check_valid_ratio(valid_ratio):
    """Checks that ``valid_ratio`` is a number in [0, 1).

    Arguments
    ---------
    valid_ratio : float
        The share of the training utterances put in valid.

    Example
    -------
    >>> check_valid_ratio(0.1)
    """
    if (
        isinstance(valid_ratio, bool)
        or not isinstance(valid_ratio, (int, float))
        or not 0 <= valid_ratio < 1
    ):
        raise PreparationError(
            f"valid_ratio must be a number in [0, 1), got {valid_ratio!r}"
        )


def speaker_folds(genders, num_folds, seed=1986, unit="speaker"):
    """Deals speakers into folds, balancing genders across folds.

    With as many folds as speakers (leave one speaker out) fold ``k`` is
    the ``k``-th speaker in sorted order. Otherwise the speakers of each
    gender (female, male, unknown) are shuffled with ``seed`` and dealt in
    turn, so fold sizes differ by at most one speaker.

    Arguments
    ---------
    genders : dict
        Speaker id to its gender (``"F"``, ``"M"`` or None).
    num_folds : int
        The number of folds, 2..number of speakers.
    seed : int
        Seed of the shuffle.
    unit : str
        What the groups are (``"speaker"``, ``"recording"``), for the
        message.

    Returns
    -------
    list of list of str
        Fold ``k - 1`` holds the sorted speakers tested in fold ``k``.

    Example
    -------
    >>> speaker_folds({"a": "F", "b": "M", "c": "F"}, 3)
    [['a'], ['b'], ['c']]
    >>> folds = speaker_folds({s: "FM"[i % 2] for i, s in enumerate("abcd")},
    ...                       2, seed=0)
    >>> sorted(len(f) for f in folds)
    [2, 2]
    """
    speakers = sorted(genders)
    if num_folds > len(speakers):
        raise PreparationError(
            f"Cannot make {num_folds} {unit} folds from {len(speakers)} "
            f"{unit}(s); use num_folds <= {len(speakers)}"
        )
    if num_folds == len(speakers):
        return [[speaker] for speaker in speakers]
    rng = random.Random(seed)
    order = []
    for gender in ("F", "M", None):
        group = [s for s in speakers if genders[s] == gender]
        rng.shuffle(group)
        order.extend(group)
    folds = [[] for _ in range(num_folds)]
    for position, speaker in enumerate(order):
        folds[position % num_folds].append(speaker)
    return [sorted(fold) for fold in folds]


def stratified_folds(entries, num_folds, seed=1986):
    """Deals utterances into folds class by class, for data without
    speakers.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``emo`` is used).
    num_folds : int
        The number of folds.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    list of list of str
        Fold ``k - 1`` holds the sorted ids tested in fold ``k``.

    Example
    -------
    >>> entries = {f"u{i}": {"emo": "ab"[i % 2]} for i in range(6)}
    >>> folds = stratified_folds(entries, 3, seed=0)
    >>> [sorted(entries[i]["emo"] for i in fold) for fold in folds]
    [['a', 'b'], ['a', 'b'], ['a', 'b']]
    """
    if num_folds > len(entries):
        raise PreparationError(
            f"Cannot make {num_folds} folds from {len(entries)} utterance(s)"
        )
    by_class = collections.defaultdict(list)
    for utt_id in sorted(entries):
        by_class[entries[utt_id]["emo"]].append(utt_id)
    rng = random.Random(seed)
    folds = [[] for _ in range(num_folds)]
    position = 0
    for emo in sorted(by_class):
        ids = by_class[emo]
        rng.shuffle(ids)
        for utt_id in ids:
            folds[position % num_folds].append(utt_id)
            position += 1
    return [sorted(fold) for fold in folds]


def draw_valid(entries, ids, valid_ratio, seed=1986):
    """Splits ids into train and a stratified, seeded valid set.

    From each class ``round(valid_ratio * n)`` ids (half up; at least one
    when the class has two or more and ``valid_ratio > 0``; at most
    ``n - 1``, so train keeps every class) go to valid.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``emo`` is used).
    ids : iterable of str
        The ids to split.
    valid_ratio : float
        Share of each class put in valid, in [0, 1).
    seed : int
        Seed of the draw.

    Returns
    -------
    train : list of str
        Sorted ids.
    valid : list of str
        Sorted ids.

    Example
    -------
    >>> entries = {f"u{i}": {"emo": "ab"[i % 2]} for i in range(20)}
    >>> train, valid = draw_valid(entries, entries, 0.2, seed=0)
    >>> len(train), len(valid)
    (16, 4)
    """
    by_class = collections.defaultdict(list)
    for utt_id in sorted(ids):
        by_class[entries[utt_id]["emo"]].append(utt_id)
    rng = random.Random(seed)
    train, valid = [], []
    for emo in sorted(by_class):
        class_ids = by_class[emo]
        rng.shuffle(class_ids)
        n_valid = int(valid_ratio * len(class_ids) + 0.5)
        if valid_ratio > 0 and len(class_ids) >= 2:
            n_valid = min(max(n_valid, 1), len(class_ids) - 1)
        else:
            n_valid = 0
        valid.extend(class_ids[:n_valid])
        train.extend(class_ids[n_valid:])
    return sorted(train), sorted(valid)


def split_folds(
    entries, test_fold, num_folds, valid_ratio, seed=1986, unit="speaker"
):
    """Train/valid/test ids of one fold of a folded protocol.

    With every speaker known the folds are sets of speakers
    (``speaker_folds``); with no speaker known, folds of utterances
    stratified by class (``stratified_folds``). Valid is drawn from the
    training utterances (``draw_valid``).

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``emo``, ``speaker``, ``gender``).
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds.
    valid_ratio : float
        Share of each class of the training utterances put in valid.
    seed : int
        Seed of the folds and of the valid draw.
    unit : str
        What the ``speaker`` field groups (``"recording"`` when a caller
        puts each utterance's recording there), for the messages.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to sorted lists of ids.

    Raises
    ------
    ValueError
        If some utterances have a speaker and others not, or there are
        fewer speakers (utterances) than folds.

    Example
    -------
    >>> entries = {f"s{s}_{i}": {"emo": "ab"[i % 2], "speaker": f"s{s}",
    ...                          "gender": None}
    ...            for s in range(4) for i in range(4)}
    >>> folds = split_folds(entries, 1, 4, 0.25, seed=0)
    >>> [len(folds[k]) for k in ("train", "valid", "test")]
    [8, 4, 4]
    >>> {entries[i]["speaker"] for i in folds["test"]}
    {'s0'}
    """
    check_fold_args(test_fold, num_folds, valid_ratio)
    with_speaker = [i for i, e in entries.items() if e["speaker"] is not None]
    if with_speaker and len(with_speaker) < len(entries):
        missing = sorted(set(entries) - set(with_speaker))
        raise PreparationError(
            f"{len(missing)} utterance(s) have no speaker while "
            f"{len(with_speaker)} have one (first: {missing[0]}): give every "
            "utterance a speaker, or none (folds of utterances)"
        )
    if with_speaker:
        genders = {}
        for entry in entries.values():
            genders.setdefault(entry["speaker"], entry["gender"])
        test_speakers = set(
            speaker_folds(genders, num_folds, seed, unit)[test_fold - 1]
        )
        test = sorted(
            i for i, e in entries.items() if e["speaker"] in test_speakers
        )
    else:
        test = stratified_folds(entries, num_folds, seed)[test_fold - 1]
    test_set = set(test)
    rest = [i for i in entries if i not in test_set]
    train, valid = draw_valid(entries, rest, valid_ratio, seed)
    return {"train": train, "valid": valid, "test": sorted(test)}


def wav_file(wav):
    """The audio file of a manifest's ``wav``: the path itself, or the
    ``file`` of SpeechBrain's dict form (a stretch of a recording).

    Arguments
    ---------
    wav : str or dict
        A ``wav`` value of a manifest.

    Returns
    -------
    str
        The file's path, ``{data_root}`` not replaced.

    Example
    -------
    >>> wav_file("{data_root}/a.wav")
    '{data_root}/a.wav'
    >>> wav_file({"file": "{data_root}/call.wav", "start": 0, "stop": 800})
    '{data_root}/call.wav'
    """
    return wav["file"] if isinstance(wav, dict) else wav


def resolve_wav(wav, data_folder):
    """The audio file of a manifest's ``wav`` with the ``{data_root}``
    placeholder replaced.

    Arguments
    ---------
    wav : str or dict
        A ``wav`` value of a manifest (a path, or the dict form of a
        stretch: see :func:`wav_file`).
    data_folder : str
        The folder ``{data_root}`` stands for.

    Returns
    -------
    str
        The path of the file.

    Example
    -------
    >>> resolve_wav("{data_root}/AudioWAV/x.wav", "/data/CREMA-D")
    '/data/CREMA-D/AudioWAV/x.wav'
    >>> resolve_wav({"file": "{data_root}/c.wav", "start": 0, "stop": 8},
    ...             "/data")
    '/data/c.wav'
    """
    return wav_file(wav).replace(DATA_ROOT, data_folder, 1)


def probe_audio(entries, data_folder):
    """Reads each file's duration from its header (a stretch's duration is
    its own: ``(stop - start)`` samples at the file's rate); empty or
    unreadable files are left out with a warning.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry without ``duration``.
    data_folder : str
        The folder ``{data_root}`` stands for.

    Returns
    -------
    kept : dict
        Utterance id to entry, with ``duration`` (seconds) after ``wav``.
    skipped : list of tuple
        ``(utt_id, path, reason)`` of each file left out.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     soundfile.write(f"{tmp}/a.wav", np.zeros(800), 16000)
    ...     open(f"{tmp}/b.wav", "wb").close()
    ...     kept, skipped = probe_audio(
    ...         {"a": {"wav": "{data_root}/a.wav", "emo": "x"},
    ...          "b": {"wav": "{data_root}/b.wav", "emo": "x"}}, tmp)
    >>> kept
    {'a': {'wav': '{data_root}/a.wav', 'duration': 0.05, 'emo': 'x'}}
    >>> skipped[0][0], skipped[0][2]
    ('b', 'empty file (0 bytes)')
    """
    kept, skipped = {}, []
    headers = {}  # path -> (info, reason): a recording's stretches share it
    for utt_id, entry in entries.items():
        path = resolve_wav(entry["wav"], data_folder)
        if path not in headers:
            headers[path] = _read_header(path)
        info, reason = headers[path]
        if reason is not None:
            logger.warning("Skipping %s: %s", path, reason)
            skipped.append((utt_id, path, reason))
            continue
        frames = info.frames
        if isinstance(entry["wav"], dict):
            frames = entry["wav"]["stop"] - entry["wav"]["start"]
        kept[utt_id] = {
            "wav": entry["wav"],
            "duration": frames / info.samplerate,
            **{k: v for k, v in entry.items() if k != "wav"},
        }
    return kept, skipped


def _read_header(path):
    """A file's ``soundfile.info`` and None, or None and why it cannot be
    used (empty, no audio, unreadable)."""
    try:
        if os.path.getsize(path) == 0:
            return None, "empty file (0 bytes)"
        info = soundfile.info(path)
        if info.frames <= 0 or info.samplerate <= 0:
            return None, f"no audio ({info.frames} frames)"
        return info, None
    except Exception as err:  # libsndfile raises several error types
        return None, f"unreadable: {err}".replace("\n", " ")


def check_files_exist(entries, data_folder, what):
    """Raises one error naming the labelled utterances whose audio is
    missing: what every preparation whose labels name files shares.

    Each missing file is named by its path, after its line in the labels
    (``line 12: /data/calls/a.wav``) when its entry records one (``line``).
    Folders are listed once each rather than every file looked up (much
    cheaper on network file systems); a name not in its folder's listing is
    looked up on its own, for file systems that ignore case.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``wav``; ``line`` if known).
    data_folder : str
        The folder ``{data_root}`` stands for.
    what : str
        Where the labels come from, for the message.

    Raises
    ------
    MissingDataError
        If some files do not exist (their count and the first ones); also a
        ``FileNotFoundError``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     open(f"{tmp}/a.wav", "wb").close()
    ...     entries = {"a": {"wav": "{data_root}/a.wav", "line": 2},
    ...                "b": {"wav": "{data_root}/b.wav", "line": 3}}
    ...     try:
    ...         check_files_exist(entries, tmp, "labels.csv")
    ...     except MissingDataError as err:
    ...         print(str(err).replace(tmp, "<tmp>"))
    1 audio file(s) labelled in labels.csv are missing, first: line 3: \
<tmp>/b.wav
    """
    listings = {}
    missing = []
    for entry in entries.values():
        path = resolve_wav(entry["wav"], data_folder)
        folder, name = os.path.split(path)
        if folder not in listings:
            try:
                listings[folder] = set(os.listdir(folder))
            except (FileNotFoundError, NotADirectoryError):
                listings[folder] = set()
        if name in listings[folder] or os.path.isfile(path):
            continue
        line = entry.get("line")
        missing.append(path if line is None else f"line {line}: {path}")
    if missing:
        raise MissingDataError(
            f"{len(missing)} audio file(s) labelled in {what} are missing, "
            f"first: {'; '.join(missing[:_MAX_LISTED])}"
        )


def manifest_paths(save_folder):
    """The manifest paths of a save folder.

    Arguments
    ---------
    save_folder : str
        Where the manifests go.

    Returns
    -------
    dict
        ``train``, ``valid``, ``test`` to their ``.json`` paths.

    Example
    -------
    >>> manifest_paths("save")["valid"]
    'save/valid.json'
    """
    return {
        name: os.path.join(save_folder, f"{name}.json") for name in MANIFESTS
    }


def manifest_classes(save_folder):
    """The sorted ``emo`` labels of a save folder's manifests: the class
    set of a corpus that does not define one (a user's CSV).

    Arguments
    ---------
    save_folder : str
        Where ``train.json``, ``valid.json`` and ``test.json`` are.

    Returns
    -------
    list of str
        The labels, sorted.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name, emo in (("train", "sad"), ("valid", "calm"),
    ...                       ("test", "sad")):
    ...         write_json_atomic(f"{tmp}/{name}.json", {name: {"emo": emo}})
    ...     manifest_classes(tmp)
    ['calm', 'sad']
    """
    labels = set()
    for path in manifest_paths(save_folder).values():
        with open(path, encoding="utf-8") as f:
            labels.update(entry["emo"] for entry in json.load(f).values())
    return sorted(labels)


def already_prepared(save_folder, opts):
    """Whether ``save_folder`` holds manifests written with ``opts``.

    Arguments
    ---------
    save_folder : str
        Where the manifests go.
    opts : dict
        The options (and corpus fingerprint) of this call.

    Returns
    -------
    bool
        True when every manifest exists and the saved options equal
        ``opts``.

    Example
    -------
    >>> already_prepared("/nonexistent", {})
    False
    """
    files = [*manifest_paths(save_folder).values()]
    files.append(os.path.join(save_folder, SKIPPED_FILE))
    if not all(os.path.isfile(p) for p in files):
        return False
    try:
        with open(os.path.join(save_folder, OPTS_FILE), encoding="utf-8") as f:
            return json.load(f) == json.loads(json.dumps(opts))
    except (OSError, ValueError):
        return False


def write_manifests(save_folder, entries, folds, opts, skipped):
    """Writes the manifests, ``skipped.csv`` and, last, the options file.

    Each file is written atomically, and the options file is removed first,
    so a run stopped halfway never looks done.

    Arguments
    ---------
    save_folder : str
        Where the files go (created if needed).
    entries : dict
        Utterance id to manifest entry.
    folds : dict
        ``train``, ``valid``, ``test`` to lists of ids.
    opts : dict
        The options to record.
    skipped : list of tuple
        ``(utt_id, path, reason)`` of the files left out.

    Returns
    -------
    dict
        ``train``, ``valid``, ``test`` to the manifest paths.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_manifests(
    ...         tmp, {"a": {"emo": "x"}},
    ...         {"train": ["a"], "valid": [], "test": []}, {}, [])
    ...     print(*sorted(os.listdir(tmp)))
    prepare_opts.json skipped.csv test.json train.json valid.json
    """
    os.makedirs(save_folder, exist_ok=True)
    opts_path = os.path.join(save_folder, OPTS_FILE)
    if os.path.exists(opts_path):
        os.remove(opts_path)
    paths = manifest_paths(save_folder)
    for name in MANIFESTS:
        write_json_atomic(
            paths[name], {utt_id: entries[utt_id] for utt_id in folds[name]}
        )
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["id", "path", "reason"])
    writer.writerows(skipped)
    write_text_atomic(os.path.join(save_folder, SKIPPED_FILE), table.getvalue())
    write_json_atomic(opts_path, opts)
    return paths


def summary_table(entries, folds, classes):
    """Per-split counts of classes, genders and speakers, as text.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry.
    folds : dict
        ``train``, ``valid``, ``test`` to lists of ids.
    classes : list of str
        The class codes, in order.

    Returns
    -------
    str
        One line per split and one for all, columns aligned.

    Example
    -------
    >>> entries = {"a": {"emo": "x", "gender": "F", "speaker": "1"},
    ...            "b": {"emo": "y", "gender": None, "speaker": "2"}}
    >>> print(summary_table(entries, {"train": ["a"], "valid": [],
    ...                               "test": ["b"]}, ["x", "y"]))
      split  total      x      y      F      M      ?   spk
      train      1      1      0      1      0      0      1
      valid      0      0      0      0      0      0      0
       test      1      0      1      0      0      1      1
        all      2      1      1      1      0      1      2
    """
    header = ["split", "total", *classes, "F", "M", "?", "spk"]
    width = max(7, *(len(str(c)) + 1 for c in classes))
    lines = ["".join(f"{cell:>{width}}" for cell in header)]
    for name in (*MANIFESTS, "all"):
        ids = list(entries) if name == "all" else folds[name]
        emo = collections.Counter(entries[i]["emo"] for i in ids)
        gender = collections.Counter(entries[i]["gender"] for i in ids)
        speakers = {entries[i]["speaker"] for i in ids} - {None}
        row = [name, len(ids), *(emo[c] for c in classes)]
        row += [gender["F"], gender["M"], gender[None], len(speakers)]
        lines.append("".join(f"{str(cell):>{width}}" for cell in row))
    return "\n".join(lines)


def classes_missing(entries, folds, classes, protocol):
    """Warnings for the classes that a split leaves out of train or test.

    A class with few utterances (fewer than folds, or all of one speaker)
    can land wholly in the test set of a fold: the model of that fold
    never trains on it. Or it is absent from a fold's test set: its recall
    is not measured there, and the UAR averages the other classes.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``emo`` is used).
    folds : dict
        ``train``, ``valid``, ``test`` to lists of ids.
    classes : list of str
        The class codes.
    protocol : str
        Which fold or split this is (``"fold 3 of 5"``), for the message.

    Returns
    -------
    list of str
        One message per class missing from train or test (logged as
        warnings by ``finish_preparation``).

    Example
    -------
    >>> entries = {"a": {"emo": "x"}, "b": {"emo": "x"}, "c": {"emo": "y"}}
    >>> folds = {"train": ["a"], "valid": [], "test": ["b", "c"]}
    >>> for message in classes_missing(entries, folds, ["x", "y"],
    ...                                "fold 2 of 3"):
    ...     print(message)
    fold 2 of 3: class 'y' has no train utterance (1 in all: 0 in valid, \
1 in test): the model trained on it cannot learn that class
    """
    total = collections.Counter(e["emo"] for e in entries.values())
    count = {
        name: collections.Counter(entries[i]["emo"] for i in folds[name])
        for name in MANIFESTS
    }
    messages = []
    for label in classes:
        if not total[label]:
            continue
        if not count["train"][label]:
            messages.append(
                f"{protocol}: class {label!r} has no train utterance "
                f"({total[label]} in all: {count['valid'][label]} in valid, "
                f"{count['test'][label]} in test): the model trained on it "
                "cannot learn that class"
            )
        if not count["test"][label]:
            messages.append(
                f"{protocol}: class {label!r} has no test utterance (it has "
                f"{total[label]} in all): its recall is not measured, and "
                "the UAR averages the other classes"
            )
    return messages


def finish_preparation(
    corpus,
    data_folder,
    save_folder,
    entries,
    opts,
    split,
    classes,
    notes=(),
    protocol="",
):
    """Probes the audio, splits, writes every file and logs the summary,
    with a warning for each class that the split leaves out of train or
    test (``classes_missing``).

    Arguments
    ---------
    corpus : str
        The corpus name, for the log.
    data_folder : str
        The folder ``{data_root}`` stands for.
    save_folder : str
        Where the files go.
    entries : dict
        Utterance id to manifest entry without ``duration``, every audio
        file known to exist.
    opts : dict
        The options to record (see ``already_prepared``).
    split : callable
        Maps the entries kept to ``{"train", "valid", "test"}`` id lists.
    classes : list of str
        The class codes, for the summary.
    notes : list of str
        Lines about what was left out, for the summary.
    protocol : str
        Which fold or split this is (``"fold 3 of 5"``), for the warnings.

    Returns
    -------
    dict
        ``train``, ``valid``, ``test`` to the manifest paths.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for i in range(4):
    ...         soundfile.write(f"{tmp}/{i}.wav", np.zeros(160), 16000)
    ...     entries = {str(i): {"wav": f"{{data_root}}/{i}.wav", "emo": "x",
    ...                         "gender": None, "speaker": None}
    ...                for i in range(4)}
    ...     paths = finish_preparation(
    ...         "demo", tmp, f"{tmp}/save", entries, {},
    ...         lambda kept: split_folds(kept, 1, 2, 0.0), ["x"])
    ...     print(sorted(json.load(open(paths["test"]))))
    ['1', '3']
    """
    kept, skipped = probe_audio(entries, data_folder)
    if not kept:
        raise PreparationError(
            f"No readable {corpus} audio in {data_folder} "
            f"({len(skipped)} file(s) empty or unreadable)"
        )
    folds = split(kept)
    empty = [name for name in ("train", "test") if not folds[name]]
    if empty:
        raise PreparationError(
            f"The {corpus} {' and '.join(empty)} set would be empty; check "
            "the protocol arguments"
        )
    paths = write_manifests(save_folder, kept, folds, opts, skipped)
    for message in classes_missing(kept, folds, classes, protocol or "split"):
        logger.warning("%s %s", corpus, message)
    notes = list(notes)
    if skipped:
        notes.append(
            f"skipped {len(skipped)} empty or unreadable file(s), listed in "
            f"{os.path.join(save_folder, SKIPPED_FILE)}"
        )
    logger.info(
        "%s manifests written to %s%s\n%s",
        corpus,
        save_folder,
        "".join(f"\n  {note}" for note in notes),
        summary_table(kept, folds, classes),
    )
    return paths


def skip_if_prepared(corpus, save_folder, opts):
    """Returns the manifest paths when ``save_folder`` already holds this
    preparation (and logs so), else None.

    Arguments
    ---------
    corpus : str
        The corpus name, for the log.
    save_folder : str
        Where the manifests go.
    opts : dict
        The options (and corpus fingerprint) of this call.

    Returns
    -------
    dict or None
        The manifest paths, or None when preparation must run.

    Example
    -------
    >>> skip_if_prepared("CREMA-D", "/nonexistent", {}) is None
    True
    """
    if not already_prepared(save_folder, opts):
        return None
    logger.info(
        "%s manifests in %s match these options, skipping preparation",
        corpus,
        save_folder,
    )
    return manifest_paths(save_folder)


def list_audio(folder, suffixes=(".wav",)):
    """Lists the audio files of one folder, ignoring hidden files such as
    the ``._`` metadata files other systems leave behind.

    Arguments
    ---------
    folder : str
        The folder.
    suffixes : tuple of str
        File name endings kept (case-insensitive).

    Returns
    -------
    files : list of str
        Sorted file names.
    hidden : int
        How many hidden files with those endings were ignored.
    total_bytes : int
        Summed size of the listed files (for the corpus fingerprint).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("a.wav", "._a.wav", "b.txt"):
    ...         open(os.path.join(tmp, name), "w").close()
    ...     list_audio(tmp)
    (['a.wav'], 1, 0)
    """
    files, hidden, total_bytes = [], 0, 0
    with os.scandir(folder) as it:
        for entry in it:
            if not entry.name.lower().endswith(suffixes):
                continue
            if entry.name.startswith("."):
                hidden += 1
                continue
            if entry.is_file():
                files.append(entry.name)
                total_bytes += entry.stat().st_size
    return sorted(files), hidden, total_bytes


def prepare_folded(
    corpus,
    classes,
    collect,
    data_folder,
    save_folder,
    test_fold,
    num_folds,
    valid_ratio,
    seed,
    fold_unit="speakers",
):
    """Writes the manifests of a corpus tested on folds of speakers: what
    the CREMA-D, RAVDESS and EmoDB preparations share.

    Checks the arguments, lists the corpus with ``collect``, returns at
    once when ``save_folder`` already holds this preparation, and otherwise
    probes, splits (``split_folds``) and writes everything
    (``finish_preparation``).

    Arguments
    ---------
    corpus : str
        The corpus name, recorded in the options and logged.
    classes : list of str
        The class codes, for the summary.
    collect : callable
        Maps the absolute ``data_folder`` to ``(entries, fingerprint,
        notes)``: the entries without ``duration``, what identifies this
        copy of the corpus, and lines about what was left out.
    data_folder : str
        The corpus folder.
    save_folder : str
        Where the manifests go (created if needed).
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds of speakers.
    valid_ratio : float
        Share of each class of the training speakers' utterances put in
        valid.
    seed : int
        Seed of the folds and of the valid draw.
    fold_unit : str
        What the corpus calls its speakers (``"actors"``), for the summary.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to the manifest paths.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     entries = {}
    ...     for i in range(4):
    ...         soundfile.write(f"{tmp}/{i}.wav", np.zeros(160), 16000)
    ...         entries[str(i)] = {"wav": f"{{data_root}}/{i}.wav",
    ...                            "emo": "x", "gender": "FM"[i % 2],
    ...                            "speaker": f"s{i % 2}"}
    ...     paths = prepare_folded(
    ...         "demo", ["x"], lambda folder: (entries, {"files": 4}, []),
    ...         tmp, f"{tmp}/save", 2, 2, 0.0, 1986)
    ...     print(sorted(json.load(open(paths["test"]))))
    ['1', '3']
    """
    check_fold_args(test_fold, num_folds, valid_ratio)
    data_folder = os.path.abspath(data_folder)
    entries, fingerprint, notes = collect(data_folder)
    opts = {
        "format_version": FORMAT_VERSION,
        "corpus": corpus,
        "data_folder": data_folder,
        "test_fold": test_fold,
        "num_folds": num_folds,
        "valid_ratio": valid_ratio,
        "seed": seed,
        "fingerprint": fingerprint,
    }
    paths = skip_if_prepared(corpus, save_folder, opts)
    if paths is not None:
        return paths
    split = functools.partial(
        split_folds,
        test_fold=test_fold,
        num_folds=num_folds,
        valid_ratio=valid_ratio,
        seed=seed,
    )
    protocol = f"fold {test_fold} of {num_folds}"
    notes.append(f"{protocol} (folds of {fold_unit})")
    return finish_preparation(
        corpus,
        data_folder,
        save_folder,
        entries,
        opts,
        split,
        classes,
        notes,
        protocol=protocol,
    )
