"""What a batch run reads: the audio files named on the command line
(files, folders, CSV lists, SpeechBrain JSON manifests), the labels of a
list, the key that matches a file across lists, and durations from the
file headers.

Inputs are audio files, folders (searched recursively for .wav, .flac,
.ogg and .mp3), CSV lists (a ``path``, ``wav`` or ``file`` column) or
SpeechBrain JSON manifests (entries with a ``wav`` key). Lists are read
as every list is (``speechbrain_gemo.io.read_csv_table``) and their paths
resolved by one rule (``speechbrain_gemo.io.ListedPaths``): ``{data_root}``
or ``$data_root`` is replaced by ``data_root``, other relative paths are
relative to the list's folder.

Authors
 * speechbrain-gemo developers 2026
"""

import os

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
PATH_COLUMNS = ("path", "wav", "file")
LABEL_COLUMNS = ("emo", "label", "emotion")


def path_key(path):
    """The key that matches a file across lists: its normalised absolute
    path.

    Arguments
    ---------
    path : str
        A file path.

    Returns
    -------
    str
        The normalised absolute path.

    Example
    -------
    >>> path_key("/data/./a/../b.wav")
    '/data/b.wav'
    """
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def read_list(path, data_root=None):
    """Reads a CSV list or a JSON manifest of audio files, as every list
    is read (``speechbrain_gemo.io.read_csv_table``, UTF-8 with or
    without a byte-order mark) and with one rule for the paths in it
    (``speechbrain_gemo.io.ListedPaths``: ``{data_root}`` is
    ``--data_root``, other relative paths are relative to the list's
    folder). Listed files that do not exist are reported in one warning
    naming the path tried (each still gets its row).

    Arguments
    ---------
    path : str
        A ``.csv`` file with a ``path``, ``wav`` or ``file`` column (names
        in any case), or a ``.json`` manifest: a dict of id to entry or a
        list of entries, each with a ``wav`` (or ``path``) key. An
        ``emo``, ``label`` or ``emotion`` field is read as the label.
    data_root : str, optional
        Replaces ``{data_root}`` / ``$data_root`` in the paths.

    Returns
    -------
    list of dict
        ``{"path": ..., "label": ... or None}`` in file order.

    Raises
    ------
    ValueError
        For an entry without a path (its line or id is named).

    Example
    -------
    >>> import json, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> manifest = os.path.join(folder, "test.json")
    >>> with open(manifest, "w") as f:
    ...     json.dump({"u1": {"wav": "{data_root}/u1.wav", "emo": "sad"}}, f)
    >>> read_list(manifest, data_root=folder) == [
    ...     {"path": f"{folder}/u1.wav", "label": "sad"}]
    True
    """
    from speechbrain_gemo.io import (
        ListedPaths,
        read_csv_table,
        read_json,
        warn,
    )

    if path.lower().endswith(".json"):
        data = read_json(path)
        if isinstance(data, dict):
            entries = [(f"entry {key!r}", e) for key, e in data.items()]
        elif isinstance(data, list):
            entries = [(f"entry {n}", e) for n, e in enumerate(data, 1)]
        else:
            entries = None
        if entries is None or not all(isinstance(e, dict) for _, e in entries):
            raise ValueError(f"{path}: expected a JSON dict or list of entries")
    else:
        table = read_csv_table(path)
        entries = [(f"line {n}", cells) for n, cells in table.rows]
    paths = ListedPaths(path, data_root)
    out = []
    for where, entry in entries:
        column = next((c for c in PATH_COLUMNS if entry.get(c)), None)
        if column is None:
            raise ValueError(
                f"{path}, {where}: no path; expected one of the columns "
                f"{list(PATH_COLUMNS)}"
            )
        if isinstance(entry[column], dict):
            # A manifest of stretches (data.csv_corpus): not whole files
            raise ValueError(
                f"{path}, {where} is a stretch of a recording "
                f"({entry[column]}); infer classifies whole files: list the "
                "stretches as --segments with --timeline instead"
            )
        label = next((entry[c] for c in LABEL_COLUMNS if entry.get(c)), None)
        out.append(
            {
                "path": paths.resolve(str(entry[column]), where),
                "label": None if label is None else str(label),
            }
        )
    for text in paths.warnings():
        warn(text)
    return out


def collect_inputs(inputs, data_root=None):
    """Expands the command-line inputs into audio file paths.

    Arguments
    ---------
    inputs : list of str
        Audio files, folders (searched recursively for audio extensions),
        ``.csv`` lists or ``.json`` manifests.
    data_root : str, optional
        Replaces ``{data_root}`` in listed paths.

    Returns
    -------
    list of str
        The files, in input order, without repeats.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(folder, "sub"))
    >>> for name in ("b.wav", "sub/a.flac", "notes.txt"):
    ...     open(os.path.join(folder, name), "w").close()
    >>> [os.path.relpath(p, folder) for p in collect_inputs([folder])]
    ['b.wav', 'sub/a.flac']
    """
    files = []
    for item in inputs:
        if os.path.isdir(item):
            found = []
            for root, dirs, names in os.walk(item):
                dirs.sort()
                found += [
                    os.path.join(root, name)
                    for name in names
                    if name.lower().endswith(AUDIO_EXTENSIONS)
                    and not name.startswith("._")
                ]
            files += sorted(found)
        elif item.lower().endswith((".csv", ".json")):
            files += [entry["path"] for entry in read_list(item, data_root)]
        else:
            files.append(item)
    return list(dict.fromkeys(files))


def input_durations(paths):
    """The duration of each input from its file header (cheap), 0 for a
    file that cannot be read (it fails fast when classified).

    Arguments
    ---------
    paths : list of str
        The audio files.

    Returns
    -------
    list of float
        Seconds, one per path.

    Example
    -------
    >>> import tempfile, soundfile, numpy
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, numpy.zeros(8000), 16000)
    >>> input_durations([wav, "missing.wav"])
    [0.5, 0.0]
    """
    from speechbrain_gemo.blocks import audio_duration

    durations = []
    for path in paths:
        try:
            durations.append(audio_duration(path))
        except Exception:
            durations.append(0.0)
    return durations
