"""IEMOCAP preparation: labels, speakers, folds and SpeechBrain manifests.

Reads the per-dialog label files ``Session*/dialog/EmoEvaluation/*.txt`` of
the official release, keeps the four classes (``neu``, ``hap`` with ``exc``
merged into it, ``ang``, ``sad``), finds each utterance's wav under
``Session*/sentences/wav/<dialog>/`` and writes ``train.json``,
``valid.json`` and ``test.json``.

Manifests are relocatable: each ``wav`` starts with the ``{data_root}``
placeholder, which SpeechBrain fills in when loading, e.g.
``DynamicItemDataset.from_json(path, replacements={"data_root": folder})``.

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import json
import os
import re

import soundfile
from speechbrain.dataio.audio_io import info as read_audio_header
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.data.labels import known_label
from speechbrain_gemo.data.manifest import (
    DATA_ROOT,
    MANIFESTS,
    OPTS_FILE,
    check_files_exist,
    draw_valid,
    resolve_wav,
)
from speechbrain_gemo.errors import MissingDataError, PreparationError
from speechbrain_gemo.io import write_json_atomic
from speechbrain_gemo.prompts import EMOTIONS, GENDERS

logger = get_logger(__name__)

# Raw IEMOCAP label (any case) -> class; every other label (fru, sur,
# xxx...) is dropped.
LABEL_MAP = {
    "neu": "neu",
    "hap": "hap",
    "exc": "hap",
    "ang": "ang",
    "sad": "sad",
}
# The official release, for the count check and its error message.
OFFICIAL_COUNTS = {"neu": 1708, "hap": 1636, "ang": 1103, "sad": 1084}
OFFICIAL_TOTAL = 5531
SESSIONS = (1, 2, 3, 4, 5)
SPLITS = ("session", "speaker")
VALID_SPLITS = ("random", "session")
# Bump when the manifest content changes, so old preparations are redone.
FORMAT_VERSION = 2

_LABEL_LINE = re.compile(
    r"^\[(\d+(?:\.\d+)?) - (\d+(?:\.\d+)?)\]\t(Ses\S+)\t(\w+)\t"
    r"\[([^\]]*)"
)
_UTT_ID = re.compile(r"^Ses0([1-5])([FM])_\S+_([FM])\d+$")
_SPEAKER = re.compile(r"^Ses0([1-5])([FM])$")
_MAX_LISTED = 5


def parse_utterance_id(utt_id):
    """Derives session, gender, speaker and dialog from an utterance id.

    The gender is the first letter of the last ``_`` part (the person
    speaking), not the letter after the session number (the person who
    started the dialog).

    Arguments
    ---------
    utt_id : str
        An IEMOCAP utterance id, e.g. ``Ses01F_script01_1_M012``.

    Returns
    -------
    dict
        ``session`` (int), ``gender`` (``"F"`` or ``"M"``), ``speaker``
        (e.g. ``"Ses01M"``) and ``dialog`` (the id without its last part).

    Raises
    ------
    ValueError
        If the id does not have the IEMOCAP form.

    Example
    -------
    >>> info = parse_utterance_id("Ses01F_script01_1_M012")
    >>> info["gender"], info["speaker"], info["dialog"], info["session"]
    ('M', 'Ses01M', 'Ses01F_script01_1', 1)
    """
    match = _UTT_ID.match(utt_id)
    if match is None:
        raise PreparationError(
            f"Not an IEMOCAP utterance id: {utt_id!r} (expected e.g. "
            "'Ses01F_impro01_F000' or 'Ses01F_script01_1_M012')"
        )
    session = int(match.group(1))
    gender = match.group(3)
    return {
        "session": session,
        "gender": gender,
        "speaker": f"Ses0{session}{gender}",
        "dialog": utt_id.rsplit("_", 1)[0],
    }


def parse_label_text(text):
    """Extracts the utterance label lines of one EmoEvaluation file.

    Only the first line of each block counts; the comment line and the
    annotator lines (``C-E2:``, ``A-E3:``...) do not match.

    Arguments
    ---------
    text : str
        Content of an ``EmoEvaluation/<dialog>.txt`` file.

    Returns
    -------
    list of tuple
        ``(utt_id, raw_label, vad)`` in file order, with all labels kept
        (``exc``, ``fru``, ``xxx``...); ``vad`` is the ``(valence,
        activation, dominance)`` of the line's ``[V, A, D]`` (1-5 scale), or
        ``(None, None, None)`` when it does not hold three numbers.

    Example
    -------
    >>> text = (
    ...     "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\\n\\n"
    ...     "[6.2901 - 8.2357]\\tSes01F_impro01_F000\\tneu\\t[2.5, 2.5, 2.5]\\n"
    ...     "C-E2:\\tNeutral state;\\t()\\n"
    ...     "A-E3:\\tval 3; act 2; dom  2;\\t()\\n\\n"
    ...     "[9.0 - 11.1]\\tSes01F_impro01_M000\\texc\\t[3.5, 3.0, 3.0]\\r\\n"
    ... )
    >>> parse_label_text(text)
    [('Ses01F_impro01_F000', 'neu', (2.5, 2.5, 2.5)), \
('Ses01F_impro01_M000', 'exc', (3.5, 3.0, 3.0))]
    """
    found = []
    for line in text.splitlines():
        match = _LABEL_LINE.match(line.strip())
        if match is not None:
            vad = _parse_vad(match.group(5))
            found.append((match.group(3), match.group(4), vad))
    return found


def _parse_vad(text):
    """``(valence, activation, dominance)`` of a label line's ``[V, A, D]``
    content, or three Nones when it does not hold three numbers.

    Arguments
    ---------
    text : str
        What stands between the brackets, e.g. ``"2.5, 3.0, 3.5"``.

    Returns
    -------
    tuple
        Three floats, or three Nones.

    Example
    -------
    >>> _parse_vad("2.5, 3.0, 3.5"), _parse_vad("n/a")
    ((2.5, 3.0, 3.5), (None, None, None))
    """
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        return (None, None, None)
    return values if len(values) == 3 else (None, None, None)


def find_label_files(data_folder):
    """Lists the per-dialog label files of each session.

    Only the top level of ``EmoEvaluation`` is read: the per-annotator
    sub-folders are not labels. Hidden files (including ``._`` metadata
    files left by other systems) and non-``.txt`` files are ignored.

    Arguments
    ---------
    data_folder : str
        The ``IEMOCAP_full_release`` folder, holding ``Session1..5``.

    Returns
    -------
    dict
        Session number (1..5) to the sorted list of label file paths.

    Raises
    ------
    FileNotFoundError
        If ``data_folder`` does not exist, lacks one of ``Session1..5``, or
        a session lacks ``dialog/EmoEvaluation``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     files = find_label_files(tmp)
    ...     print(sorted(files), [os.path.basename(f) for f in files[2]])
    [1, 2, 3, 4, 5] ['Ses02F_impro01.txt']
    """
    if not os.path.isdir(data_folder):
        raise MissingDataError(
            f"IEMOCAP data_folder does not exist: {data_folder}"
        )
    missing = [
        f"Session{s}"
        for s in SESSIONS
        if not os.path.isdir(os.path.join(data_folder, f"Session{s}"))
    ]
    if missing:
        hint = ""
        nested = os.path.join(data_folder, "IEMOCAP_full_release")
        if os.path.isdir(os.path.join(nested, "Session1")):
            hint = f" (did you mean data_folder={nested}?)"
        raise MissingDataError(
            f"IEMOCAP data_folder {data_folder} lacks {', '.join(missing)}; "
            "it must be the IEMOCAP_full_release folder holding "
            f"Session1..Session5{hint}"
        )
    label_files = {}
    for session in SESSIONS:
        label_dir = os.path.join(
            data_folder, f"Session{session}", "dialog", "EmoEvaluation"
        )
        if not os.path.isdir(label_dir):
            raise MissingDataError(
                f"IEMOCAP label folder is missing: {label_dir}"
            )
        with os.scandir(label_dir) as entries:
            label_files[session] = sorted(
                entry.path
                for entry in entries
                if entry.is_file()
                and entry.name.endswith(".txt")
                and not entry.name.startswith(".")
            )
    return label_files


def read_label_file(path):
    """Reads one label file, tolerating bytes that are not UTF-8.

    The official files are ASCII. A copy with a stray byte keeps its labels
    (the byte is replaced and a warning names the file); a file that is not
    text at all yields no label line, which the count check then reports.

    Arguments
    ---------
    path : str
        Path of an ``EmoEvaluation/<dialog>.txt`` file.

    Returns
    -------
    list of tuple
        ``(utt_id, raw_label, vad)``, see ``parse_label_text``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "Ses01F_impro01.txt")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(b"% \\xff\\n[1.0 - 2.0]\\tSes01F_impro01_F000\\t"
    ...                     b"ang\\t[1, 2, 3]\\n")
    ...     read_label_file(path)
    [('Ses01F_impro01_F000', 'ang', (1.0, 2.0, 3.0))]
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        logger.warning(
            "IEMOCAP label file %s is not valid UTF-8 (%s); reading it with "
            "the bad bytes replaced",
            path,
            err.reason,
        )
        text = raw.decode("utf-8", errors="replace")
    return parse_label_text(text)


def collect_utterances(data_folder, label_files=None):
    """Parses the labels and finds the wav of every four-class utterance.

    Arguments
    ---------
    data_folder : str
        The ``IEMOCAP_full_release`` folder.
    label_files : dict, optional
        The output of ``find_label_files``; computed when not given.

    Returns
    -------
    entries : dict
        Utterance id (sorted) to a manifest entry without ``duration``:
        ``wav`` (with the ``{data_root}`` placeholder), ``emo``,
        ``gender``, ``speaker``, ``arousal``, ``valence``, ``dominance``
        (the label line's activation, valence, dominance), ``session`` and
        ``dialog``.
    dropped : collections.Counter
        Raw labels outside the four classes and how often they occur.

    Raises
    ------
    ValueError
        On a malformed or duplicated utterance id, or an id whose session
        differs from its folder's.
    FileNotFoundError
        If some wavs are missing (the count and the first ids are given).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     entries, dropped = collect_utterances(tmp)
    >>> len(entries), dict(dropped)
    (20, {'fru': 5})
    >>> entries["Ses01F_impro01_F001"]["emo"]  # exc merged into hap
    'hap'
    >>> entries["Ses01F_impro01_M000"]["wav"]
    '{data_root}/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M000.wav'
    """
    if label_files is None:
        label_files = find_label_files(data_folder)
    entries = {}
    origin = {}
    dropped = collections.Counter()
    for session, paths in label_files.items():
        for path in paths:
            for utt_id, raw_label, vad in read_label_file(path):
                label = known_label(raw_label, LABEL_MAP)
                if label is None:
                    dropped[raw_label] += 1
                    continue
                try:
                    info = parse_utterance_id(utt_id)
                except ValueError as err:
                    raise PreparationError(f"{err} in {path}") from None
                if info["session"] != session:
                    raise PreparationError(
                        f"Utterance {utt_id} of session {info['session']} "
                        f"is labelled in {path}, a Session{session} file"
                    )
                if utt_id in entries:
                    raise PreparationError(
                        f"Utterance {utt_id} is labelled twice: in "
                        f"{origin[utt_id]} and in {path}"
                    )
                origin[utt_id] = path
                entries[utt_id] = {
                    "wav": "/".join(
                        [
                            DATA_ROOT,
                            f"Session{session}",
                            "sentences",
                            "wav",
                            info["dialog"],
                            f"{utt_id}.wav",
                        ]
                    ),
                    "emo": LABEL_MAP[label],
                    "gender": info["gender"],
                    "speaker": info["speaker"],
                    "arousal": vad[1],
                    "valence": vad[0],
                    "dominance": vad[2],
                    "session": session,
                    "dialog": info["dialog"],
                }
    check_files_exist(
        entries, data_folder, f"{data_folder}/Session*/dialog/EmoEvaluation"
    )
    return dict(sorted(entries.items())), dropped


def read_durations(entries, data_folder):
    """Adds each wav's ``duration`` (seconds), read from its header only.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry, as from ``collect_utterances``;
        updated in place.
    data_folder : str
        The ``IEMOCAP_full_release`` folder.

    Returns
    -------
    dict
        ``entries``, each with a float ``duration``.

    Raises
    ------
    ValueError
        If some wavs are unreadable or empty (the count and the first
        files are given).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     entries, _ = collect_utterances(tmp)
    ...     entries = read_durations(entries, tmp)
    >>> entries["Ses01F_impro01_F000"]["duration"]
    0.2
    """
    bad = []
    for entry in entries.values():
        path = resolve_wav(entry["wav"], data_folder)
        try:
            # read_audio_info of SpeechBrain 1.1.2 fails on empty files
            # (UPSTREAM.md); its header reader is the part needed here
            info = read_audio_header(path)
        except Exception as err:  # libsndfile raises several error types
            bad.append(f"{path} (unreadable: {err})")
            continue
        if info.num_frames <= 0 or info.sample_rate <= 0:
            bad.append(f"{path} (empty: {info.num_frames} frames)")
            continue
        entry["duration"] = info.num_frames / info.sample_rate
    if bad:
        raise PreparationError(
            f"{len(bad)} IEMOCAP wav file(s) are unreadable or empty, first: "
            + "; ".join(bad[:_MAX_LISTED])
        )
    return entries


def count_classes(entries, ids=None):
    """Counts utterances per emotion class.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry.
    ids : iterable of str, optional
        The ids to count; all of ``entries`` when not given.

    Returns
    -------
    dict
        Class to count, in ``EMOTIONS`` order, zeros included.

    Example
    -------
    >>> count_classes({"a": {"emo": "sad"}, "b": {"emo": "sad"}})
    {'neu': 0, 'hap': 0, 'ang': 0, 'sad': 2}
    """
    ids = entries.keys() if ids is None else ids
    counts = collections.Counter(entries[i]["emo"] for i in ids)
    return {emo: counts[emo] for emo in EMOTIONS}


def check_total(entries, expected_utterances, data_folder=""):
    """Checks the number of kept utterances against the expected total.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry.
    expected_utterances : int or None
        The expected total; ``None`` skips the check.
    data_folder : str
        Named in the error message.

    Raises
    ------
    ValueError
        If the totals differ; the message gives the found and the official
        per-class counts.

    Example
    -------
    >>> check_total({"a": {"emo": "neu"}}, 1)
    >>> check_total({"a": {"emo": "neu"}}, None)
    >>> try:
    ...     check_total({"a": {"emo": "neu"}}, 2)
    ... except PreparationError as err:
    ...     print(err)
    Found 1 utterances ... expected 2...
    """
    if expected_utterances is None or len(entries) == expected_utterances:
        return
    found = count_classes(entries)
    raise PreparationError(
        f"Found {len(entries)} utterances of the four classes in "
        f"{data_folder or 'the data folder'}, expected {expected_utterances}."
        f" Found per class: {_format_counts(found)}; the official release has"
        f" {OFFICIAL_TOTAL}: {_format_counts(OFFICIAL_COUNTS)} (hap includes "
        "exc). Check that the corpus is complete, or pass "
        "expected_utterances=None for a derived or demo corpus."
    )


def _format_counts(counts):
    return ", ".join(f"{emo} {counts[emo]}" for emo in EMOTIONS)


def default_valid_session(test_session):
    """The session validated on by default with ``valid_split="session"``:
    the one after the test session (session 1 after session 5), so that
    the five folds validate on five different sessions.

    Arguments
    ---------
    test_session : int
        The test session, 1..5.

    Returns
    -------
    int

    Example
    -------
    >>> [default_valid_session(s) for s in (1, 2, 3, 4, 5)]
    [2, 3, 4, 5, 1]
    """
    _check_session(test_session)
    return test_session % len(SESSIONS) + 1


def split_by_session(
    entries,
    test_session=1,
    valid_ratio=0.1,
    seed=1986,
    valid_split="random",
    valid_session=None,
):
    """Leave-one-session-out split with a random or a speaker-disjoint
    valid set.

    Test is the whole of ``test_session`` (both speakers). With
    ``valid_split="random"``, from each emotion class of the other
    sessions, ``round(valid_ratio * n)`` items (half up; at least one when
    the class has two or more and ``valid_ratio > 0``; at most ``n - 1``,
    so train keeps every class) go to valid, drawn with
    ``random.Random(seed)`` (``draw_valid``); the rest is train: valid
    shares its speakers with train. With ``valid_split="session"``, valid
    is the whole of ``valid_session`` (its two speakers appear nowhere
    else) and train the three remaining sessions; ``valid_ratio`` and
    ``seed`` are unused.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``emo`` and ``session`` are used).
    test_session : int
        The held-out session, 1..5.
    valid_ratio : float
        Share of each class of the other sessions put in valid, in [0, 1).
    seed : int
        Seed of the valid draw.
    valid_split : str
        ``"random"`` or ``"session"``.
    valid_session : int, optional
        With ``valid_split="session"``: the validation session, other than
        ``test_session``; None: ``default_valid_session(test_session)``.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to sorted lists of ids.

    Example
    -------
    >>> entries = {f"u{i}": {"emo": "neu" if i % 2 else "sad",
    ...                      "session": 1 + i % 5} for i in range(40)}
    >>> folds = split_by_session(entries, 2, valid_ratio=0.25, seed=0)
    >>> [len(folds[k]) for k in ("train", "valid", "test")]
    [24, 8, 8]
    >>> all(entries[i]["session"] == 2 for i in folds["test"])
    True
    >>> folds = split_by_session(entries, 2, valid_split="session")
    >>> sorted({entries[i]["session"] for i in folds["valid"]})
    [3]
    """
    _check_session(test_session)
    _check_valid_ratio(valid_ratio)
    valid_session = _check_valid_split(test_session, valid_split, valid_session)
    test, rest = [], []
    for utt_id, entry in sorted(entries.items()):
        if entry["session"] == test_session:
            test.append(utt_id)
        else:
            rest.append(utt_id)
    if valid_split == "session":
        valid = [i for i in rest if entries[i]["session"] == valid_session]
        train = [i for i in rest if entries[i]["session"] != valid_session]
        return {"train": train, "valid": valid, "test": test}
    train, valid = draw_valid(entries, rest, valid_ratio, seed)
    return {"train": train, "valid": valid, "test": test}


def split_by_speaker(entries, test_speaker):
    """Leave-one-speaker-out split, as in SpeechBrain's IEMOCAP recipe.

    Test is ``test_speaker``, valid is the other speaker of the same
    session, train is the eight other speakers.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``speaker`` is used).
    test_speaker : str
        A speaker such as ``"Ses01F"``.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to sorted lists of ids.

    Example
    -------
    >>> entries = {
    ...     "Ses02F_impro01_F000": {"speaker": "Ses02F"},
    ...     "Ses02F_impro01_M000": {"speaker": "Ses02M"},
    ...     "Ses03M_impro01_F000": {"speaker": "Ses03F"},
    ... }
    >>> split_by_speaker(entries, "Ses02M")
    {'train': ['Ses03M_impro01_F000'], 'valid': ['Ses02F_impro01_F000'],
     'test': ['Ses02F_impro01_M000']}
    """
    match = _SPEAKER.match(str(test_speaker))
    if match is None:
        raise PreparationError(
            f"test_speaker must look like 'Ses01F' (session 1..5, F or M), "
            f"got {test_speaker!r}"
        )
    other = "M" if match.group(2) == "F" else "F"
    valid_speaker = f"Ses0{match.group(1)}{other}"
    folds = {name: [] for name in MANIFESTS}
    for utt_id, entry in sorted(entries.items()):
        if entry["speaker"] == test_speaker:
            folds["test"].append(utt_id)
        elif entry["speaker"] == valid_speaker:
            folds["valid"].append(utt_id)
        else:
            folds["train"].append(utt_id)
    return folds


def prepare_iemocap(
    data_folder,
    save_folder,
    test_session=1,
    valid_ratio=0.1,
    seed=1986,
    expected_utterances=OFFICIAL_TOTAL,
    split="session",
    test_speaker=None,
    valid_split="random",
    valid_session=None,
):
    """Writes the IEMOCAP ``train.json``, ``valid.json`` and ``test.json``.

    Each manifest maps utterance ids to ``{"wav", "duration", "emo",
    "gender", "speaker", "arousal", "valence", "dominance", "session",
    "dialog"}``, e.g. ``"wav":
    "{data_root}/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000
    .wav"``, ``"duration": 1.94`` (seconds, from the header), ``"emo":
    "neu"`` (``neu``, ``hap`` with ``exc``, ``ang``, ``sad``), ``"gender":
    "F"``, ``"speaker": "Ses01F"``, ``"arousal": 2.5`` (with ``valence``
    and ``dominance``: the label line's ``[V, A, D]``, 1-5 scale),
    ``"session": 1``. Load them with
    ``replacements={"data_root": data_folder}``.

    A second call with the same arguments on the same corpus does nothing
    (the options are saved in ``prepare_opts.json``); other arguments
    rewrite the manifests. Every file is written atomically.

    Arguments
    ---------
    data_folder : str
        The ``IEMOCAP_full_release`` folder, holding ``Session1..5``.
    save_folder : str
        Where the manifests go (created if needed).
    test_session : int
        For ``split="session"``: the test session, 1..5. For
        ``split="speaker"``: the session of the default ``test_speaker``.
    valid_ratio : float
        For ``split="session"``: the share of each class of the four other
        sessions used for validation, in [0, 1).
    seed : int
        Seed of the valid draw.
    expected_utterances : int or None
        The expected number of four-class utterances (5531 for the official
        release); ``None`` skips the check, for derived or demo corpora.
    split : str
        ``"session"`` (leave one session out, 5 folds) or ``"speaker"``
        (leave one speaker out, 10 folds: valid is the other speaker of the
        test session).
    test_speaker : str, optional
        For ``split="speaker"``: the test speaker, e.g. ``"Ses03M"``;
        defaults to the female speaker of ``test_session``. Setting it
        makes ``test_session`` irrelevant.
    valid_split : str
        For ``split="session"``: ``"random"`` (``valid_ratio`` of each
        class of the other sessions, sharing their speakers) or
        ``"session"`` (all of ``valid_session``: speaker-disjoint). With
        ``split="speaker"`` valid is already speaker-disjoint, and only
        ``"random"`` (the default, meaning nothing there) is accepted.
    valid_session : int, optional
        For ``valid_split="session"``: the validation session (default:
        the one after ``test_session``, see ``default_valid_session``).

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to the manifest paths.

    Raises
    ------
    ValueError
        On bad arguments, malformed labels, unreadable or empty wavs, or a
        total different from ``expected_utterances``.
    FileNotFoundError
        If the data folder, a session or some wavs are missing.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     data = os.path.join(tmp, "IEMOCAP_full_release")
    ...     _write_tiny_corpus(data)
    ...     paths = prepare_iemocap(
    ...         data, os.path.join(tmp, "save"), test_session=2,
    ...         valid_ratio=0.25, expected_utterances=None,
    ...     )
    ...     test = DynamicItemDataset.from_json(
    ...         paths["test"], replacements={"data_root": data}
    ...     )
    ...     entry = test.data["Ses02F_impro01_M001"]
    ...     print(entry["emo"], entry["speaker"], entry["duration"],
    ...           os.path.isfile(entry["wav"]), len(test))
    sad Ses02M 0.5 True 4
    """
    split, test_speaker = _check_args(
        test_session, valid_ratio, split, test_speaker, expected_utterances
    )
    if split == "speaker" and (
        valid_split != "random" or valid_session is not None
    ):
        raise PreparationError(
            f"valid_split={valid_split!r}, valid_session={valid_session!r} "
            "only apply to split='session' (with split='speaker', valid is "
            "the other speaker of the test session)"
        )
    by_session = split == "session"
    if by_session:
        valid_session = _check_valid_split(
            test_session, valid_split, valid_session
        )
    random_valid = by_session and valid_split == "random"
    data_folder = os.path.abspath(data_folder)
    label_files = find_label_files(data_folder)
    paths = {
        name: os.path.join(save_folder, f"{name}.json") for name in MANIFESTS
    }
    opts_path = os.path.join(save_folder, OPTS_FILE)
    opts = {
        "format_version": FORMAT_VERSION,
        "data_folder": data_folder,
        "split": split,
        "test_session": test_session if split == "session" else None,
        "test_speaker": test_speaker,
        "valid_split": valid_split if by_session else None,
        "valid_session": valid_session,
        "valid_ratio": valid_ratio if random_valid else None,
        "seed": seed if random_valid else None,
        "expected_utterances": expected_utterances,
        "corpus": _fingerprint(label_files),
    }
    if _already_prepared(opts_path, opts, paths.values()):
        logger.info(
            "IEMOCAP manifests in %s match these options, skipping preparation",
            save_folder,
        )
        return paths

    entries, dropped = collect_utterances(data_folder, label_files)
    if not entries:
        raise PreparationError(
            f"No neu/hap/exc/ang/sad label line found in {data_folder}/"
            "Session*/dialog/EmoEvaluation/*.txt"
        )
    check_total(entries, expected_utterances, data_folder)
    read_durations(entries, data_folder)
    if split == "session":
        folds = split_by_session(
            entries,
            test_session,
            valid_ratio,
            seed,
            valid_split=valid_split,
            valid_session=valid_session,
        )
    else:
        folds = split_by_speaker(entries, test_speaker)

    os.makedirs(save_folder, exist_ok=True)
    # Dropped first: a run stopped between two manifests must not look done.
    if os.path.exists(opts_path):
        os.remove(opts_path)
    for name in MANIFESTS:
        write_json_atomic(
            paths[name], {utt_id: entries[utt_id] for utt_id in folds[name]}
        )
    write_json_atomic(opts_path, opts)
    _log_summary(entries, folds, dropped, opts, save_folder)
    return paths


def _check_args(
    test_session, valid_ratio, split, test_speaker, expected_utterances
):
    if split not in SPLITS:
        raise PreparationError(f"split must be one of {SPLITS}, got {split!r}")
    _check_session(test_session)
    _check_valid_ratio(valid_ratio)
    if expected_utterances is not None and (
        isinstance(expected_utterances, bool)
        or not isinstance(expected_utterances, int)
        or expected_utterances < 1
    ):
        raise PreparationError(
            "expected_utterances must be a positive int or None, got "
            f"{expected_utterances!r}"
        )
    if split == "session":
        if test_speaker is not None:
            raise PreparationError(
                f"test_speaker={test_speaker!r} only applies to "
                "split='speaker'; with split='session' use test_session"
            )
        return split, None
    if test_speaker is None:
        test_speaker = f"Ses0{test_session}F"
    if _SPEAKER.match(str(test_speaker)) is None:
        raise PreparationError(
            f"test_speaker must look like 'Ses01F' (session 1..5, F or M), "
            f"got {test_speaker!r}"
        )
    return split, test_speaker


def _check_session(test_session):
    if isinstance(test_session, bool) or test_session not in SESSIONS:
        raise PreparationError(
            f"test_session must be one of {SESSIONS}, got {test_session!r}"
        )


def _check_valid_split(test_session, valid_split, valid_session):
    """Checks the validation options of the session split.

    Arguments
    ---------
    test_session : int
        The test session.
    valid_split : str
        ``"random"`` or ``"session"``.
    valid_session : int or None
        The validation session, for ``valid_split="session"``.

    Returns
    -------
    int or None
        The validation session (the default one when None was given), or
        None with ``valid_split="random"``.

    Example
    -------
    >>> _check_valid_split(5, "session", None), _check_valid_split(
    ...     1, "random", None)
    (1, None)
    """
    if valid_split not in VALID_SPLITS:
        raise PreparationError(
            f"valid_split must be one of {VALID_SPLITS}, got {valid_split!r}"
        )
    if valid_split == "random":
        if valid_session is not None:
            raise PreparationError(
                f"valid_session={valid_session!r} only applies to "
                "valid_split='session'"
            )
        return None
    if valid_session is None:
        return default_valid_session(test_session)
    if isinstance(valid_session, bool) or valid_session not in SESSIONS:
        raise PreparationError(
            f"valid_session must be one of {SESSIONS}, got {valid_session!r}"
        )
    if valid_session == test_session:
        raise PreparationError(
            f"valid_session={valid_session} is the test session; pick "
            "another one"
        )
    return valid_session


def _check_valid_ratio(valid_ratio):
    if not isinstance(valid_ratio, (int, float)) or not 0 <= valid_ratio < 1:
        raise PreparationError(
            f"valid_ratio must be a number in [0, 1), got {valid_ratio!r}"
        )


def _fingerprint(label_files):
    # Cheap (no file is read): enough to notice a changed or swapped corpus.
    paths = [p for session in SESSIONS for p in label_files[session]]
    return {
        "label_files": len(paths),
        "label_bytes": sum(os.path.getsize(p) for p in paths),
    }


def _already_prepared(opts_path, opts, manifest_paths):
    if not all(os.path.isfile(p) for p in manifest_paths):
        return False
    try:
        with open(opts_path, encoding="utf-8") as f:
            return json.load(f) == opts
    except (OSError, ValueError):
        return False


def _log_summary(entries, folds, dropped, opts, save_folder):
    header = ["split", "total", *EMOTIONS, *GENDERS]
    rows = []
    for name in (*MANIFESTS, "all"):
        ids = list(entries) if name == "all" else folds[name]
        emo = count_classes(entries, ids)
        gender = collections.Counter(entries[i]["gender"] for i in ids)
        rows.append(
            [name, len(ids), *emo.values(), *(gender[g] for g in GENDERS)]
        )
    lines = ["".join(f"{str(cell):>7}" for cell in header)]
    lines += ["".join(f"{str(cell):>7}" for cell in row) for row in rows]
    if opts["split"] == "session":
        fold = f"test session {opts['test_session']}"
        if opts["valid_session"] is not None:
            fold += f", valid session {opts['valid_session']}"
    else:
        fold = f"test speaker {opts['test_speaker']}"
    other = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items()))
    logger.info(
        "IEMOCAP manifests written to %s (split=%s, %s); dropped labels: "
        "%s\n%s",
        save_folder,
        opts["split"],
        fold,
        other or "none",
        "\n".join(lines),
    )


def _write_tiny_corpus(folder):
    """Writes a minimal IEMOCAP-format tree, for the doctests.

    Each session has one dialog ``Ses0<s>F_impro01`` with the utterances
    F000 neu (0.2 s), F001 exc (0.3 s), F002 fru, M000 ang (0.4 s) and M001
    sad (0.5 s), as 16 kHz mono wavs.

    Arguments
    ---------
    folder : str
        Where to write ``Session1..5``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     print(sorted(os.listdir(tmp)))
    ['Session1', 'Session2', 'Session3', 'Session4', 'Session5']
    """
    import numpy as np

    utterances = [
        ("F000", "neu", 0.2),
        ("F001", "exc", 0.3),
        ("F002", "fru", 0.2),
        ("M000", "ang", 0.4),
        ("M001", "sad", 0.5),
    ]
    for session in SESSIONS:
        dialog = f"Ses0{session}F_impro01"
        root = os.path.join(folder, f"Session{session}")
        label_dir = os.path.join(root, "dialog", "EmoEvaluation")
        wav_dir = os.path.join(root, "sentences", "wav", dialog)
        os.makedirs(label_dir, exist_ok=True)
        os.makedirs(wav_dir, exist_ok=True)
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        for suffix, label, seconds in utterances:
            utt_id = f"{dialog}_{suffix}"
            lines += [f"[0.0 - {seconds}]\t{utt_id}\t{label}\t[3, 3, 3]", ""]
            soundfile.write(
                os.path.join(wav_dir, f"{utt_id}.wav"),
                np.zeros(int(seconds * 16000), dtype="float32"),
                16000,
            )
        with open(os.path.join(label_dir, f"{dialog}.txt"), "w") as f:
            f.write("\n".join(lines))
