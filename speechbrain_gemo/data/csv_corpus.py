"""A user's own labelled audio, listed in a CSV file.

The CSV has a header with the columns ``path`` (absolute, or relative to
the CSV's folder) and ``emotion`` (any label words), and optionally
``gender`` (``F``/``M``, ``female``/``male`` in any case, or empty for
unknown), ``speaker``, ``split`` (``train``, ``valid`` or ``test``) and
``arousal``, ``valence``, ``dominance`` (numbers on the scale the recipe's
``avd_scale`` names, or empty where not rated; for the dimensional head)::

    path,emotion,gender,speaker
    calls/0001.wav,angry,F,agent7
    calls/0002.flac,neutral,,agent2

Labelled stretches of long recordings (a call annotated by the minute) are
rows with ``start`` and ``end`` (seconds) and, for one channel of a
multichannel file, ``channel`` (1-based: 1 is the left of a stereo file)::

    path,emotion,speaker,start,end,channel
    calls/0001.wav,angry,customer0001,12.5,17.25,2
    calls/0001.wav,neutral,agent7,18.0,24.0,1

Each such row is one utterance, read from that stretch and channel (the
training reader seeks to it: the rest of the file is not read), its
duration that of the stretch. An empty ``start`` is the file's start, an
empty ``end`` its end, an empty ``channel`` the mean of the channels; a
row with all three empty is the whole file. A stretch past the file's end,
an ``end`` not after ``start`` or a channel the file does not have stops
the preparation with an error naming the CSV line and the file (nothing is
written).

Column names are matched case-insensitively; other columns are ignored.
Cells are separated by commas, semicolons (what spreadsheets write in many
locales) or tabs: the header tells which. UTF-8 with or without BOM, and
Windows line ends, are read. Audio may have any sample rate and channel
count (the recipe resamples and mixes down).

Labels that differ only in case or spaces (``Angry``, ``angry``,
`` angry ``) are one class, named by the spelling most rows use; a warning
names the spellings merged (``speechbrain_gemo.data.labels``).

Manifests are keyed by the path relative to the CSV's folder, extension
included (the absolute path for a file outside it), and hold ``wav``
(``{data_root}`` is the CSV's folder; an absolute path outside that folder
stays absolute), ``duration``, ``emo`` (the class), ``gender``,
``speaker``, ``line`` (the CSV line) and, when the CSV has them,
``arousal``, ``valence``, ``dominance`` (None where empty). A stretch's id
adds its times and channel to the path, as written in seconds
(``calls/0001.wav@12.5-17.25``, ``calls/0001.wav@12.5-17.25:ch2``,
``calls/0001.wav@30-end``, ``calls/0001.wav:ch1`` for a whole channel), and
its ``wav`` is SpeechBrain's dict form with the channel (``{"file": ...,
"start": ..., "stop": ..., "channel": ...}``, samples at the file's rate;
see ``speechbrain_gemo.data.manifest``).

Folds keep speakers apart. Without speakers, folds are of utterances,
stratified by class; but when a recording has several labelled stretches,
the folds are of recordings: all the stretches of one recording are in
the same fold, so a recording never straddles train and test.

From the command line::

    python -m speechbrain_gemo.data.csv_corpus my_data/labels.csv \
        results/my_data --test_fold 1 --num_folds 5

Authors
 * speechbrain-gemo developers 2026
"""

import functools
import math
import os

import soundfile
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.data.cli import prepare_parser
from speechbrain_gemo.data.labels import merge_spellings
from speechbrain_gemo.data.manifest import (
    DATA_ROOT,
    FORMAT_VERSION,
    check_files_exist,
    check_fold_args,
    check_valid_ratio,
    draw_valid,
    finish_preparation,
    normalize_gender,
    resolve_wav,
    skip_if_prepared,
    split_folds,
    wav_file,
)
from speechbrain_gemo.errors import (
    MissingDataError,
    PreparationError,
    exit_on_user_error,
)
from speechbrain_gemo.io import read_csv_table

logger = get_logger(__name__)

CORPUS = "CSV corpus"
REQUIRED = ("path", "emotion")
DIMENSIONS = ("arousal", "valence", "dominance")
OPTIONAL = ("gender", "speaker", "split") + DIMENSIONS
STRETCH = ("start", "end", "channel")
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "valid": "valid",
    "validation": "valid",
    "val": "valid",
    "dev": "valid",
    "development": "valid",
    "test": "test",
    "testing": "test",
}
_MAX_LISTED = 5


def read_csv_corpus(csv_file, log_merges=True):
    """Reads and checks the rows of a corpus CSV.

    The delimiter is a comma, a semicolon or a tab, read from the header
    (``speechbrain_gemo.io.read_csv_table``, the reader of every list). An
    utterance's id is its path relative to the CSV's folder, extension
    included (``calls/x.wav`` and ``calls/x.flac`` are two utterances), or
    its absolute path for a file outside that folder. Labels that differ
    only in case or spaces are one class, named by the most frequent
    spelling (``merge_spellings``).

    Arguments
    ---------
    csv_file : str
        The CSV file.
    log_merges : bool
        Whether to warn about label spellings merged into one class.

    Returns
    -------
    entries : dict
        Utterance id to manifest entry without ``duration``, plus ``split``
        when the CSV has that column; a stretch row's ``wav`` is
        SpeechBrain's dict form with its channel (see the module
        docstring).
    has_split : bool
        Whether the CSV has a ``split`` column.
    audio_bytes : int
        Summed size of the audio files (for the corpus fingerprint).

    Raises
    ------
    PreparationError
        On a missing column, an empty or bad value, a path (or stretch)
        listed twice, a stretch past its file's end, with ``end <=
        start``, or a channel its file does not have (the line, value and
        file are named); also a ``ValueError``.
    MissingDataError
        If the CSV or audio files are missing (the lines and paths are
        named); also a ``FileNotFoundError``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     entries, has_split, _ = read_csv_corpus(f"{tmp}/labels.csv")
    >>> entries["audio/a0.wav"], has_split
    ({'wav': '{data_root}/audio/a0.wav', 'emo': 'happy', 'gender': 'F', \
'speaker': 'a', 'line': 2}, False)
    """
    csv_file = os.path.abspath(csv_file)
    if not os.path.isfile(csv_file):
        raise MissingDataError(f"Corpus CSV not found: {csv_file}")
    root = os.path.dirname(csv_file)
    entries, lines, stretches = {}, {}, {}
    try:
        # the one reader of every list (--labels and segment lists too)
        table = read_csv_table(csv_file, REQUIRED)
    except ValueError as err:  # extra cells, not UTF-8
        raise PreparationError(str(err)) from err
    absent = [c for c in REQUIRED if c not in table.columns]
    if absent:
        raise PreparationError(
            f"{csv_file} lacks the column(s) {', '.join(absent)}: its "
            f"header, read as {table.header}, should name the "
            "columns path, emotion and optionally gender, speaker, "
            "split, arousal, valence, dominance, start, end, channel, "
            "separated by commas, semicolons or tabs"
        )
    has_split = "split" in table.columns
    for line, row in table.rows:
        where = f"on line {line} of {csv_file}"
        cell = {
            key: row[key] for key in REQUIRED + OPTIONAL + STRETCH if key in row
        }
        if not any(cell.values()):
            continue  # a line of empty cells in the columns used
        for key in REQUIRED:
            if not cell[key]:
                raise PreparationError(f"The {key} is empty {where}")
        path = cell["path"].replace("\\", "/")
        full = os.path.normpath(
            path if os.path.isabs(path) else os.path.join(root, path)
        )
        inside = os.path.relpath(full, root)
        if inside.startswith(os.pardir):
            wav = utt_id = full.replace(os.sep, "/")
        else:
            utt_id = inside.replace(os.sep, "/")
            wav = f"{DATA_ROOT}/{utt_id}"
        stretch = _stretch_cells(cell, f"Line {line} of {csv_file}", full)
        if stretch is not None:
            utt_id += stretch_suffix(*stretch)
        if utt_id in lines:
            raise PreparationError(
                f"{cell['path']!r} on line {line} of {csv_file} is "
                f"{utt_id!r}, listed already on line {lines[utt_id]}"
            )
        lines[utt_id] = line
        entry = {
            "wav": wav,
            "emo": cell["emotion"],
            "gender": normalize_gender(cell.get("gender"), where),
            "speaker": cell.get("speaker") or None,
            "line": line,
        }
        for dimension in DIMENSIONS:
            if dimension in table.columns:
                entry[dimension] = _rating(cell[dimension], dimension, where)
        if has_split:
            split = SPLIT_NAMES.get(cell["split"].lower())
            if split is None:
                raise PreparationError(
                    f"split {cell['split']!r} {where} is not train, "
                    "valid or test"
                )
            entry["split"] = split
        entries[utt_id] = entry
        if stretch is not None:
            stretches[utt_id] = stretch
    if not entries:
        raise PreparationError(f"{csv_file} lists no audio file")
    check_files_exist(entries, root, csv_file)
    _resolve_stretches(entries, stretches, root, csv_file)
    files = {resolve_wav(e["wav"], root) for e in entries.values()}
    audio_bytes = sum(os.path.getsize(path) for path in files)
    classes = merge_spellings(
        [(e["emo"], e["line"]) for e in entries.values()],
        csv_file,
        warn=log_merges,
    )
    for entry in entries.values():
        entry["emo"] = classes[entry["emo"]]
    return entries, has_split, audio_bytes


def _number(text, name, where, full, kind=float):
    """A CSV cell read as a number, or an error naming the line and file."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        kind_name = "a number of seconds" if kind is float else "a channel"
        raise PreparationError(
            f"{where}: {name} {text!r} of {full} is not {kind_name}"
        ) from None
    return value


def _stretch_cells(cell, where, full):
    """The ``(start, end, channel)`` of a row (None where empty), or None
    for a whole-file row; checks what can be checked without the file."""
    if not any(cell.get(key) for key in STRETCH):
        return None
    start = end = channel = None
    if cell.get("start"):
        start = _number(cell["start"], "start", where, full)
        if start < 0:
            raise PreparationError(
                f"{where}: start {cell['start']} of {full} is negative"
            )
    if cell.get("end"):
        end = _number(cell["end"], "end", where, full)
        if end <= (start or 0.0):
            raise PreparationError(
                f"{where}: end {cell['end']} is not after start "
                f"{cell.get('start') or 0} (stretch of {full})"
            )
    if cell.get("channel"):
        channel = _number(cell["channel"], "channel", where, full, int)
        if channel < 1:
            raise PreparationError(
                f"{where}: channel {channel} of {full} is not 1 or more "
                "(channels are counted from 1)"
            )
    return start, end, channel


def _seconds_text(seconds):
    """A time as an id writes it: the shortest exact decimal, no ``.0``."""
    text = repr(float(seconds))
    return text[:-2] if text.endswith(".0") else text


def stretch_suffix(start, end, channel):
    """What a stretch row adds to its file's utterance id: its times (as
    written, in seconds) and channel, so that ids are unique and the same
    from one preparation to the next.

    Arguments
    ---------
    start : float or None
        The stretch's start (None: the file's start).
    end : float or None
        Its end (None: the file's end).
    channel : int or None
        Its channel, 1-based (None: the channels' mean).

    Returns
    -------
    str
        ``@<start>-<end>`` (``end`` for the file's end) when a time is
        given, then ``:ch<channel>`` when a channel is.

    Example
    -------
    >>> stretch_suffix(12.5, 17.25, 2), stretch_suffix(None, 3.0, None)
    ('@12.5-17.25:ch2', '@0-3')
    >>> stretch_suffix(30, None, None), stretch_suffix(None, None, 1)
    ('@30-end', ':ch1')
    """
    suffix = ""
    if start is not None or end is not None:
        last = "end" if end is None else _seconds_text(end)
        suffix = f"@{_seconds_text(start or 0)}-{last}"
    if channel is not None:
        suffix += f":ch{channel}"
    return suffix


def _resolve_stretches(entries, stretches, root, csv_file):
    """Turns each stretch row's ``wav`` into SpeechBrain's dict form
    (samples at the file's rate, the channel added), checking the stretch
    and channel against the file's header.

    Arguments
    ---------
    entries : dict
        Utterance id to entry (``wav``, ``line``), the files present.
    stretches : dict
        Utterance id to ``(start, end, channel)`` of the stretch rows.
    root : str
        The CSV's folder (``{data_root}``).
    csv_file : str
        The CSV, for the messages.

    Raises
    ------
    PreparationError
        For a file whose header cannot be read, a stretch past its end or
        shorter than one sample, a channel it does not have; the line and
        file are named.
    """
    headers = {}
    for utt_id, (start, end, channel) in stretches.items():
        entry = entries[utt_id]
        full = resolve_wav(entry["wav"], root)
        where = f"Line {entry['line']} of {csv_file}"
        if full not in headers:
            try:
                headers[full] = soundfile.info(full)
            except Exception as err:  # libsndfile raises several types
                raise PreparationError(
                    f"{where}: the header of {full}, which the row takes a "
                    f"stretch of, cannot be read: {err}".replace("\n", " ")
                ) from err
        info = headers[full]
        rate, frames = info.samplerate, info.frames
        length = f"{frames / rate:.3f} s" if rate else "no audio"
        first = round((start or 0.0) * rate)
        stop = frames if end is None else round(end * rate)
        if stop > frames or first >= frames:
            raise PreparationError(
                f"{where}: the stretch {_seconds_text(start or 0)}-"
                f"{'end' if end is None else _seconds_text(end)} s goes "
                f"past the end of {full} ({length})"
            )
        if stop <= first:
            raise PreparationError(
                f"{where}: the stretch {_seconds_text(start or 0)}-"
                f"{_seconds_text(end)} s of {full} is shorter than one "
                f"sample at {rate} Hz"
            )
        if channel is not None and channel > info.channels:
            raise PreparationError(
                f"{where}: channel {channel} of {full}, which has "
                f"{info.channels} channel(s)"
            )
        entry["wav"] = {
            "file": entry["wav"],
            "start": first,
            "stop": stop,
            "channel": channel,
        }


def _rating(text, dimension, where):
    """A dimension's cell as a float, or None when empty."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise PreparationError(
            f"The {dimension} {text!r} {where} is not a number (leave the "
            "cell empty where it is not rated)"
        )
    return value


def csv_classes(csv_file):
    """The class set of a corpus CSV: its ``emotion`` labels, sorted, as
    ``prepare_csv_corpus`` writes them to the manifests.

    The recipe builds its model's prompts when it loads its
    hyperparameters, before the data are prepared, so its default class
    set is read here from the CSV (which is also checked: columns, values,
    audio files present).

    Arguments
    ---------
    csv_file : str
        The CSV file.

    Returns
    -------
    list of str
        The labels, sorted.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     csv_classes(f"{tmp}/labels.csv")
    ['happy', 'sad']
    """
    # The preparation warns about merged spellings, once
    entries, _, _ = read_csv_corpus(csv_file, log_merges=False)
    return sorted({entry["emo"] for entry in entries.values()})


def split_as_given(entries, valid_ratio, seed=1986):
    """The CSV's own ``split``; valid drawn from train when it has none.

    Arguments
    ---------
    entries : dict
        Utterance id to entry with ``split``.
    valid_ratio : float
        Share of each class of train drawn into valid when no row is
        ``valid``.
    seed : int
        Seed of that draw.

    Returns
    -------
    dict
        ``train``, ``valid``, ``test`` to sorted ids.

    Example
    -------
    >>> entries = {f"u{i}": {"emo": "x", "speaker": None,
    ...                      "split": ["train", "test"][i % 2]}
    ...            for i in range(8)}
    >>> {k: len(v) for k, v in split_as_given(entries, 0.25).items()}
    {'train': 3, 'valid': 1, 'test': 4}
    """
    folds = {"train": [], "valid": [], "test": []}
    for utt_id in sorted(entries):
        folds[entries[utt_id]["split"]].append(utt_id)
    if not folds["valid"]:
        folds["train"], folds["valid"] = draw_valid(
            entries, folds["train"], valid_ratio, seed
        )
    for what, group_of, consequence in (
        ("speaker(s)", lambda e: e["speaker"], "speaker-independent"),
        ("recording(s)", lambda e: wav_file(e.get("wav")), "unseen audio"),
    ):
        tested = {group_of(entries[i]) for i in folds["test"]} - {None}
        shared = sorted(tested & {group_of(entries[i]) for i in folds["train"]})
        if shared:
            logger.warning(
                "The CSV's split puts %s %s in both train and test: the "
                "test is not %s",
                what,
                ", ".join(shared[:_MAX_LISTED]),
                consequence,
            )
    return folds


def split_by_recording(entries, test_fold, num_folds, valid_ratio, seed=1986):
    """Folds of recordings, for stretches without speakers: all the
    stretches of one recording land in the same fold, so that a recording
    never straddles train and test.

    Arguments
    ---------
    entries : dict
        Utterance id to manifest entry (``wav``, ``emo``, ``gender``).
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds.
    valid_ratio : float
        Share of each class of the training utterances put in valid.
    seed : int
        Seed of the folds and of the valid draw.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to sorted lists of ids.

    Example
    -------
    >>> entries = {f"c{c}@{k}-{k + 1}": {
    ...     "wav": {"file": f"c{c}.wav", "start": k, "stop": k + 1},
    ...     "emo": "ab"[k % 2], "gender": None, "speaker": None}
    ...     for c in range(4) for k in range(3)}
    >>> folds = split_by_recording(entries, 1, 2, 0.0, seed=0)
    >>> sorted({i.split("@")[0] for i in folds["test"]})
    ['c1', 'c2']
    """
    view = {
        utt_id: {**entry, "speaker": wav_file(entry["wav"])}
        for utt_id, entry in entries.items()
    }
    return split_folds(
        view, test_fold, num_folds, valid_ratio, seed, unit="recording"
    )


def prepare_csv_corpus(
    csv_file,
    save_folder,
    test_fold=1,
    num_folds=5,
    valid_ratio=0.1,
    seed=1986,
):
    """Writes ``train.json``, ``valid.json`` and ``test.json`` for the
    audio listed in a CSV file.

    With a ``split`` column the CSV's split is used (``test_fold`` and
    ``num_folds`` are ignored; valid is drawn from train with
    ``valid_ratio`` when no row is ``valid``). Without it, the speakers are
    dealt into ``num_folds`` folds (when every row has a speaker), or the
    recordings (when none has and a recording has several stretches), or
    the utterances into class-stratified folds, and fold ``test_fold`` is
    the test set. Nothing is written when the CSV has an error. Load the
    manifests with ``replacements={"data_root": <the CSV's folder>}``.

    Arguments
    ---------
    csv_file : str
        The CSV file.
    save_folder : str
        Where the manifests go (created if needed).
    test_fold : int
        The test fold, 1..num_folds.
    num_folds : int
        The number of folds.
    valid_ratio : float
        Share of each class of the training utterances put in valid.
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
    ...     paths = prepare_csv_corpus(f"{tmp}/labels.csv", f"{tmp}/save",
    ...                                num_folds=2)
    ...     test = json.load(open(paths["test"]))
    >>> sorted(test), sorted({e["speaker"] for e in test.values()})
    (['audio/a0.wav', 'audio/a1.wav'], ['a'])
    """
    csv_file = os.path.abspath(csv_file)
    entries, has_split, audio_bytes = read_csv_corpus(csv_file)
    if has_split:
        check_valid_ratio(valid_ratio)
    else:
        check_fold_args(test_fold, num_folds, valid_ratio)
    stat = os.stat(csv_file)
    opts = {
        "format_version": FORMAT_VERSION,
        "corpus": "csv",
        "csv_file": csv_file,
        "test_fold": None if has_split else test_fold,
        "num_folds": None if has_split else num_folds,
        "valid_ratio": valid_ratio,
        "seed": seed,
        # Absent from preparations made before stretch rows were read
        # (their start/end/channel columns were ignored): redone once
        "stretches": sum(isinstance(e["wav"], dict) for e in entries.values()),
        "fingerprint": {
            "csv_bytes": stat.st_size,
            "csv_mtime_ns": stat.st_mtime_ns,
            "audio_bytes": audio_bytes,
        },
    }
    paths = skip_if_prepared(CORPUS, save_folder, opts)
    if paths is not None:
        return paths
    classes = sorted({e["emo"] for e in entries.values()})
    if has_split:
        # Not a manifest field: kept aside for the split.
        split_of = {i: e.pop("split") for i, e in entries.items()}

        def split(kept):
            """The CSV's split of the utterances kept.

            Arguments
            ---------
            kept : dict
                Utterance id to manifest entry.

            Returns
            -------
            dict
                ``train``, ``valid``, ``test`` to sorted ids.
            """
            view = {i: {**e, "split": split_of[i]} for i, e in kept.items()}
            return split_as_given(view, valid_ratio, seed)

        note = protocol = "the CSV's split"
    else:
        fold_args = {
            "test_fold": test_fold,
            "num_folds": num_folds,
            "valid_ratio": valid_ratio,
            "seed": seed,
        }
        with_speaker = any(e["speaker"] for e in entries.values())
        files = [wav_file(e["wav"]) for e in entries.values()]
        if with_speaker:
            kind = "speakers"
            split = functools.partial(split_folds, **fold_args)
        elif len(set(files)) < len(files):
            kind = "recordings"
            split = functools.partial(split_by_recording, **fold_args)
        else:
            kind = "utterances, by class"
            split = functools.partial(split_folds, **fold_args)
        protocol = f"fold {test_fold} of {num_folds}"
        note = f"{protocol} (folds of {kind})"
    return finish_preparation(
        CORPUS,
        os.path.dirname(csv_file),
        save_folder,
        entries,
        opts,
        split,
        classes,
        [f"{csv_file}: {note}; classes {', '.join(classes)}"],
        protocol=protocol,
    )


def main(argv=None):
    """Runs ``prepare_csv_corpus`` with command-line arguments.

    Arguments
    ---------
    argv : list of str, optional
        The arguments; ``sys.argv[1:]`` when not given.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to the manifest paths.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     paths = main([f"{tmp}/labels.csv", f"{tmp}/save",
    ...                   "--num_folds", "2", "--test_fold", "2"])
    ...     print(*sorted(os.listdir(f"{tmp}/save")))
    prepare_opts.json skipped.csv test.json train.json valid.json
    """
    parser = prepare_parser(
        prepare_csv_corpus,
        "Write train/valid/test manifests for the audio listed in a CSV "
        "(path, emotion[, gender, speaker, split]).",
        csv_file="the CSV file",
    )
    return prepare_csv_corpus(**vars(parser.parse_args(argv)))


def _write_tiny_corpus(folder):
    """Writes a minimal corpus CSV and its audio for the doctests:
    speakers a (F) and b (M), two 0.1 s clips each.

    Arguments
    ---------
    folder : str
        Where to write ``labels.csv`` and ``audio/``.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     print(open(f"{tmp}/labels.csv").readline().strip())
    path,emotion,gender,speaker
    """
    import numpy as np
    import soundfile

    os.makedirs(os.path.join(folder, "audio"), exist_ok=True)
    lines = ["path,emotion,gender,speaker"]
    for speaker, gender in (("a", "F"), ("b", "M")):
        for i, emotion in enumerate(("happy", "sad")):
            name = f"audio/{speaker}{i}.wav"
            soundfile.write(
                os.path.join(folder, name),
                np.zeros(1600, dtype="float32"),
                16000,
            )
            lines.append(f"{name},{emotion},{gender},{speaker}")
    with open(os.path.join(folder, "labels.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with exit_on_user_error():
        main()
