"""Command line: classify audio files with an exported GEmo-CLAP model,
one row per file, or per speech segment of long recordings.

    python -m speechbrain_gemo.infer --model <export folder> \\
        <wav files, folders or a .csv / .json list> --out predictions.csv
    python -m speechbrain_gemo.infer --model M --timeline calls/ \\
        --out segments.csv --plot plots/
    python -m speechbrain_gemo.infer --model M calls/ \\
        --segments diarization.rttm --out segments.csv
    torchrun --nproc_per_node=4 -m speechbrain_gemo.infer --model M ...
    python -m speechbrain_gemo.infer --backend onnx --model <onnx folder> ...
    python -m speechbrain_gemo.infer --model M --labels other/test.json \\
        --data_root /data/other [--zero_shot]

``--model`` is an export folder or, for a model on the Hugging Face Hub,
``hf://owner/name`` (downloaded into ``--savedir``, else into the Hugging
Face cache); a path that does not exist is an error (exit status 2), never
a hub look-up.

Inputs are audio files, folders (searched recursively for .wav, .flac,
.ogg and .mp3), CSV lists (a ``path``, ``wav`` or ``file`` column) or
SpeechBrain JSON manifests (entries with a ``wav`` key). ``{data_root}``
or ``$data_root`` in listed paths is replaced by ``--data_root``; other
relative paths are relative to the current folder.

Files are batched by duration (SpeechBrain's ``DynamicBatchSampler``) so
that a batch holds at most ``--max_batch_seconds`` of padded audio; files
longer than the model's window (20 s by default) are classified alone,
window by window. The output CSV has one row per input file, in input
order: ``path, label, score, prob_<class>..., [gender, gender_score],
error``. A file that fails (unreadable, empty, too short) gets its error
in the ``error`` column and does not stop the run.

With ``--timeline``, each recording is split into speech segments by a
voice-activity detector (``--vad silero``, the default, or ``energy``),
or with ``--segments`` the segments come from an RTTM file (diarization;
its file ids are the recordings' names without extension) or a CSV
``path,start,end[,speaker]``. Segments are merged (``--min_segment``,
across silences up to ``--merge_gap``) and split (``--max_segment``), and
each is read from the file on its own and classified: one row per
segment, ``path, start, end, [speaker], label, score, prob_<class>...,
[gender, gender_score], error`` (times in seconds). ``--plot DIR`` writes
per recording a timeline PNG and ``<name>_summary.csv`` (share of speech
time per emotion, per speaker).

Rows are saved as each file finishes (``<out>.part<rank>.csv`` and
``<out>.part<rank>.progress``, see ``speechbrain_gemo.journal``): a run
killed at any moment and started again with the same command continues
with the files not yet done. The final CSV appears at the end, atomically,
in input order. Under ``torchrun`` the inputs are shared among the
processes (balanced by duration; gloo on the CPU, NCCL with ``--device
cuda``) and rank 0 writes the one CSV.

With ``--labels`` (a JSON manifest or CSV with ``wav``/``path`` and
``emo``/``label`` per file), the predictions of the labelled files are
scored: ``<out stem>_report.json`` and ``<out stem>_report.txt``
(per-class precision, recall, F1; WAR and UAR) and, with matplotlib (the
``plot`` extra), ``<out stem>_confusion.png``. Without positional inputs,
the labelled files are the inputs. Labels of another corpus (e.g. a
RAVDESS ``test.json`` for an IEMOCAP model) are matched to the model's
classes through their words (``speechbrain_gemo.cross_corpus``): the
report covers the shared classes, each file judged by the most probable
shared class, and counts the files of the other classes per label
(``left_out``). ``--zero_shot`` instead classifies into every class of the
labels' corpus with prompts made from its words.

``--backend onnx --model DIR`` classifies with a folder written by
``python -m speechbrain_gemo.onnx`` (``EmotionClassifierONNX``, CPU,
stored prompts only: no ``--prompts`` or ``--zero_shot``; the fp32 graph
unless ``--precision int8``; the run says which it uses) and writes the
same CSV. The command line
itself needs the full install (torch, SpeechBrain) with either backend.

Exit status: 0 when at least one file was classified (even if others
failed), 1 when there was nothing to classify or every file failed, 2 for
usage errors (and left-over partial results of a different run).

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import csv
import io
import json
import os
import sys

from speechbrain_gemo.batching import make_batches

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
PATH_COLUMNS = ("path", "wav", "file")
LABEL_COLUMNS = ("emo", "label", "emotion")


def _substitute(path, data_root):
    if data_root is not None:
        path = path.replace("{data_root}", data_root)
        path = path.replace("$data_root", data_root)
    return path


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
    """Reads a CSV list or a JSON manifest of audio files.

    Arguments
    ---------
    path : str
        A ``.csv`` file with a ``path``, ``wav`` or ``file`` column, or a
        ``.json`` manifest: a dict of id to entry or a list of entries,
        each with a ``wav`` (or ``path``) key. An ``emo``, ``label`` or
        ``emotion`` field is read as the label.
    data_root : str, optional
        Replaces ``{data_root}`` / ``$data_root`` in the paths.

    Returns
    -------
    list of dict
        ``{"path": ..., "label": ... or None}`` in file order.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> manifest = os.path.join(folder, "test.json")
    >>> with open(manifest, "w") as f:
    ...     json.dump({"u1": {"wav": "{data_root}/u1.wav", "emo": "sad"}}, f)
    >>> read_list(manifest, data_root="/corpus")
    [{'path': '/corpus/u1.wav', 'label': 'sad'}]
    """
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        entries = list(data.values()) if isinstance(data, dict) else data
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) for e in entries
        ):
            raise ValueError(f"{path}: expected a JSON dict or list of entries")
    else:
        with open(path, newline="", encoding="utf-8") as f:
            entries = list(csv.DictReader(f))
    out = []
    for number, entry in enumerate(entries, start=1):
        column = next((c for c in PATH_COLUMNS if entry.get(c)), None)
        if column is None:
            raise ValueError(
                f"{path}: entry {number} has none of the columns "
                f"{list(PATH_COLUMNS)}"
            )
        label = next((entry[c] for c in LABEL_COLUMNS if entry.get(c)), None)
        out.append(
            {
                "path": _substitute(str(entry[column]), data_root),
                "label": None if label is None else str(label),
            }
        )
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


def _duration(path):
    """Duration from the file header (cheap); raises ``AudioReadError``
    naming the file."""
    from speechbrain_gemo.blocks import audio_duration

    return audio_duration(path)


def pad_signals(signals):
    """Pads waveforms into a batch with SpeechBrain relative lengths, as
    torch tensors, or as numpy arrays when the waveforms are numpy (the
    ONNX backend, which needs no torch).

    Arguments
    ---------
    signals : list
        1-D waveforms (torch tensors or numpy arrays).

    Returns
    -------
    wavs : torch.Tensor or numpy.ndarray
        ``N x T``, zero-padded.
    lengths : torch.Tensor or numpy.ndarray
        ``N`` lengths relative to ``T``.

    Example
    -------
    >>> import numpy
    >>> wavs, lengths = pad_signals([numpy.ones(2), numpy.ones(4)])
    >>> wavs.shape, lengths.tolist()
    ((2, 4), [0.5, 1.0])
    """
    import numpy as np

    if all(isinstance(s, np.ndarray) for s in signals):
        sizes = np.array([len(s) for s in signals], dtype=np.float32)
        wavs = np.zeros((len(signals), int(sizes.max())), dtype=np.float32)
        for i, signal in enumerate(signals):
            wavs[i, : len(signal)] = signal
        return wavs, sizes / sizes.max()
    import torch

    sizes = torch.tensor([len(s) for s in signals], dtype=torch.float)
    wavs = torch.nn.utils.rnn.pad_sequence(list(signals), batch_first=True)
    return wavs, sizes / sizes.max()


def _classify_batch(model, paths, prompts, window):
    """Rows for one batch of files; failing files get an error row."""
    from speechbrain_gemo.timeline import error_text, prediction_fields

    rows, signals, ok = {}, [], []
    for path in paths:
        try:
            signals.append(model.load_audio(path))
            ok.append(path)
        except Exception as err:
            rows[path] = {"path": path, "error": error_text(err)}
    if ok:
        try:
            wavs, lengths = pad_signals(signals)
            out = model.predict_batch(
                wavs,
                lengths,
                prompts=prompts,
                window_seconds=window[0],
                overlap_seconds=window[1],
                names=ok,
            )
            for i, path in enumerate(ok):
                rows[path] = dict(prediction_fields(out, i), path=path)
        except Exception:
            if len(ok) == 1:
                raise
            # Isolate the file that breaks the batch
            for path in ok:
                rows.update(_classify_batch(model, [path], prompts, window))
    return rows


def run_inference(
    model,
    paths,
    prompts=None,
    max_batch_seconds=120.0,
    max_batch_size=32,
    window_seconds=None,
    overlap_seconds=None,
    progress=True,
    on_done=None,
):
    """Classifies files in duration-sorted batches; a file that fails gets
    an error instead of a prediction.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP
        The loaded model.
    paths : list of str
        The audio files.
    prompts : dict, optional
        Zero-shot classes (label to prompt or list of prompts).
    max_batch_seconds : float
        Cap on padded audio per batch.
    max_batch_size : int
        Cap on files per batch.
    window_seconds : float, optional
        Window length for long files (default: the model's).
    overlap_seconds : float, optional
        Window overlap (default: the model's).
    progress : bool
        Show a progress bar (on stderr).
    on_done : callable, optional
        Called as ``on_done(path, row)`` as soon as each file's row is
        known (e.g. to save it).

    Returns
    -------
    list of dict
        One row per path, in order: ``path``, ``error`` (empty on
        success) and, on success, ``label``, ``score``, ``probs`` (class to
        probability) and, with a gender branch, ``gender`` and
        ``gender_score``.

    Example
    -------
    >>> import tempfile, soundfile, numpy
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> tmp = tempfile.mkdtemp()
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(f"{tmp}/m"))
    >>> soundfile.write(f"{tmp}/a.wav", numpy.zeros(8000), 16000)
    >>> rows = run_inference(
    ...     model, [f"{tmp}/a.wav", f"{tmp}/b.wav"], progress=False)
    >>> rows[0]["label"] in model.labels, rows[1]["error"]
    (True, 'AudioReadError: no such file')
    """
    from tqdm import tqdm

    from speechbrain_gemo.timeline import error_text

    def finish(found):
        """Stores rows and reports each to ``on_done``.

        Arguments
        ---------
        found : dict
            Path to row.
        """
        rows.update(found)
        if on_done is not None:
            for name, row in found.items():
                on_done(name, row)

    rows, durations, readable = {}, [], []
    for path in paths:
        try:
            durations.append(_duration(path))
            readable.append(path)
        except Exception as err:
            finish({path: {"path": path, "error": error_text(err)}})
    if window_seconds is None:
        window = getattr(model, "window_seconds", None)
    else:
        window = window_seconds
    batches = make_batches(
        durations, max_batch_seconds, max_batch_size, window or None
    )
    bar = tqdm(total=len(paths), unit="file", disable=not progress)
    bar.update(len(paths) - len(readable))
    try:
        for batch in batches:
            names = [readable[i] for i in batch]
            try:
                found = _classify_batch(
                    model, names, prompts, (window_seconds, overlap_seconds)
                )
            except Exception as err:
                found = {
                    n: {"path": n, "error": error_text(err)} for n in names
                }
            finish(found)
            bar.update(len(batch))
    finally:
        bar.close()
    return [rows[path] for path in paths]


def csv_columns(labels, gender=False, timeline=False, speaker=False):
    """The columns of the output CSV.

    Arguments
    ---------
    labels : list of str
        The classes (one ``prob_<class>`` column each).
    gender : bool
        Add ``gender`` and ``gender_score``.
    timeline : bool
        Rows are segments: add ``start`` and ``end`` (seconds).
    speaker : bool
        Add ``speaker``.

    Returns
    -------
    list of str
        The column names.

    Example
    -------
    >>> csv_columns(["neu", "sad"], timeline=True, speaker=True)
    ['path', 'start', 'end', 'speaker', 'label', 'score', 'prob_neu',
     'prob_sad', 'error']
    """
    columns = ["path"]
    if timeline:
        columns += ["start", "end"]
    if speaker:
        columns.append("speaker")
    columns += ["label", "score"] + [f"prob_{label}" for label in labels]
    if gender:
        columns += ["gender", "gender_score"]
    return columns + ["error"]


def _csv_text(lines):
    """CSV text of a list of rows (lists of strings)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return buffer.getvalue()


def format_rows(rows, labels, gender=False, timeline=False, speaker=False):
    """The CSV lines of prediction rows (see ``csv_columns``).

    Arguments
    ---------
    rows : list of dict
        As ``run_inference`` or ``timeline.recording_timeline`` return
        them.
    labels : list of str
        The classes.
    gender : bool
        Write the gender columns.
    timeline : bool
        Write ``start`` and ``end``.
    speaker : bool
        Write ``speaker``.

    Returns
    -------
    str
        One line per row, each ending in a newline.

    Example
    -------
    >>> print(format_rows([{"path": "a.wav", "start": 1.5, "end": 3.25,
    ...     "label": "sad", "score": 0.9, "probs": {"neu": 0.1, "sad": 0.9},
    ...     "error": ""}], ["neu", "sad"], timeline=True), end="")
    a.wav,1.500,3.250,sad,0.900000,0.100000,0.900000,
    """
    lines = []
    for row in rows:
        ok = not row.get("error")
        line = [row["path"]]
        if timeline:
            for key in ("start", "end"):
                value = row.get(key)
                line.append("" if value is None else f"{value:.3f}")
        if speaker:
            line.append(row.get("speaker") or "")
        line.append(row["label"] if ok else "")
        line.append(f"{row['score']:.6f}" if ok else "")
        for label in labels:
            line.append(f"{row['probs'][label]:.6f}" if ok else "")
        if gender:
            has = ok and "gender" in row
            line.append(row["gender"] if has else "")
            line.append(f"{row['gender_score']:.6f}" if has else "")
        line.append(row.get("error", ""))
        lines.append(line)
    return _csv_text(lines)


def write_predictions(rows, path, labels, gender=False, **layout):
    """Writes the prediction rows as CSV, atomically.

    Arguments
    ---------
    rows : list of dict
        As ``run_inference`` returns them.
    path : str
        The CSV file.
    labels : list of str
        The classes (one ``prob_<class>`` column each).
    gender : bool
        Add the ``gender`` and ``gender_score`` columns.
    **layout : dict
        ``timeline`` and ``speaker`` (see ``csv_columns``).

    Example
    -------
    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> write_predictions([
    ...     {"path": "a.wav", "label": "sad", "score": 0.9,
    ...      "probs": {"neu": 0.1, "sad": 0.9}, "error": ""},
    ...     {"path": "b.wav", "error": "AudioInputError: empty"}],
    ...     out, ["neu", "sad"])
    >>> print(open(out).read())
    path,label,score,prob_neu,prob_sad,error
    a.wav,sad,0.900000,0.100000,0.900000,
    b.wav,,,,,AudioInputError: empty
    """
    from speechbrain_gemo.io import write_text_atomic

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    header = _csv_text([csv_columns(labels, gender, **layout)])
    write_text_atomic(
        path, header + format_rows(rows, labels, gender, **layout)
    )


def classification_report(predictions, targets, labels):
    """Per-class precision, recall and F1 with WAR and UAR.

    Arguments
    ---------
    predictions : list of str
        Predicted labels.
    targets : list of str
        True labels (each one of ``labels``).
    labels : list of str
        The classes, in confusion-matrix order.

    Returns
    -------
    dict
        ``WAR`` (accuracy), ``UAR`` (mean of the defined per-class
        recalls), ``per_class_recall`` (None for a class without
        utterances), ``confusion_matrix`` (see ``confusion_matrix``),
        ``labels``, ``num_utterances``, ``per_class`` (label to
        ``precision``, ``recall``, ``f1``,
        ``support``; None where undefined: no prediction of the class,
        no utterance of it, neither) and ``macro_f1`` (over the classes
        with a defined F1).

    Example
    -------
    >>> r = classification_report(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])
    >>> r["WAR"], r["UAR"], r["per_class"]["a"]["precision"]
    (0.6666666666666666, 0.75, 0.5)
    """
    matrix = confusion_matrix(predictions, targets, labels)
    counts = [sum(row) for row in matrix]
    recalls = {
        label: matrix[k][k] / counts[k] if counts[k] else None
        for k, label in enumerate(labels)
    }
    defined = [r for r in recalls.values() if r is not None]
    report = {
        "WAR": sum(matrix[k][k] for k in range(len(labels))) / len(targets),
        "UAR": sum(defined) / len(defined),
        "per_class_recall": recalls,
        "confusion_matrix": matrix,
        "labels": list(labels),
        "num_utterances": len(targets),
    }
    per_class = {}
    for k, label in enumerate(labels):
        support = sum(matrix[k])
        predicted = sum(row[k] for row in matrix)
        hits = matrix[k][k]
        precision = hits / predicted if predicted else None
        recall = hits / support if support else None
        # 2 TP / (2 TP + FP + FN): defined unless the class never occurs
        f1 = 2 * hits / (support + predicted) if support + predicted else None
        per_class[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    f1s = [v["f1"] for v in per_class.values() if v["f1"] is not None]
    report["per_class"] = per_class
    report["macro_f1"] = sum(f1s) / len(f1s) if f1s else None
    return report


def confusion_matrix(predictions, targets, labels):
    """The confusion matrix in a fixed label order, counted by
    SpeechBrain's ``ClassificationStats`` (which orders its rows and
    columns by the labels it has seen).

    Arguments
    ---------
    predictions : list of str
        Predicted labels.
    targets : list of str
        True labels.
    labels : list of str
        All classes, in matrix order; every label must be one of them.

    Returns
    -------
    list of list of int
        Rows: true class, columns: predicted class.

    Example
    -------
    >>> confusion_matrix(["b", "b", "a"], ["a", "b", "a"], ["c", "a", "b"])
    [[0, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    from speechbrain.utils.metric_stats import ClassificationStats

    if len(predictions) != len(targets) or not targets:
        raise ValueError(
            f"need as many predictions as targets, at least one: got "
            f"{len(predictions)} and {len(targets)}"
        )
    unknown = sorted((set(predictions) | set(targets)) - set(labels))
    if unknown:
        raise ValueError(f"labels {unknown} are not among {list(labels)}")
    stats = ClassificationStats()
    stats.append(list(range(len(targets))), list(predictions), list(targets))
    summary = stats.summarize()
    rows = {key: k for k, key in enumerate(summary["keys"])}
    columns = {key: k for k, key in enumerate(summary["predictions"])}
    counts = summary["confusion_matrix"]
    return [
        [
            int(counts[rows[t], columns[p]])
            if t in rows and p in columns
            else 0
            for p in labels
        ]
        for t in labels
    ]


def format_report(report):
    """The report as a text table.

    Arguments
    ---------
    report : dict
        As ``classification_report`` returns it.

    Returns
    -------
    str
        A table of the per-class metrics, then WAR, UAR and macro-F1.

    Example
    -------
    >>> r = classification_report(["a", "b"], ["a", "b"], ["a", "b"])
    >>> print(format_report(r).splitlines()[0])
    class      precision   recall       f1  support
    """

    def cell(value):
        """A table cell: the value with 4 decimals, ``-`` when undefined.

        Arguments
        ---------
        value : float or None
            The metric.

        Returns
        -------
        str
            Eight characters.
        """
        return "       -" if value is None else f"{value:8.4f}"

    lines = [f"{'class':<10} precision   recall       f1  support"]
    for label, m in report["per_class"].items():
        lines.append(
            f"{label:<10} {cell(m['precision'])} {cell(m['recall'])} "
            f"{cell(m['f1'])} {m['support']:8d}"
        )
    summary = [
        ("WAR (accuracy)", f"{report['WAR']:.4f}"),
        ("UAR (mean recall)", f"{report['UAR']:.4f}"),
        ("macro-F1", cell(report["macro_f1"]).strip()),
        ("utterances scored", report["num_utterances"]),
    ]
    for key, text in (
        ("failed", "labelled files that failed"),
        ("unknown_label", "files of classes not shared"),
        ("predicted_outside_shared", "best class not shared (re-picked)"),
        ("not_classified", "labelled files not in the inputs"),
    ):
        if report.get(key):
            summary.append((text, report[key]))
    for label, count in report.get("left_out", {}).items():
        summary.append((f"  left out: {label}", count))
    lines.append("")
    lines += [f"{text:<34}{value}" for text, value in summary]
    table = report.get("class_mapping")
    if table:
        corpora = report.get("corpora", {})
        lines += [
            "",
            f"{'word':<14}{'model':<12}labels",
            f"{'':<14}{corpora.get('model') or 'own':<12}"
            f"{corpora.get('labels') or 'own'}",
        ]
        for row in table:
            lines.append(
                f"{row['word']:<14}{row['model'] or '-':<12}"
                f"{row['manifest'] or '-'}"
            )
    return "\n".join(lines) + "\n"


def _probability(row, label):
    """A row's probability of ``label``: from ``probs`` (rows of
    ``run_inference``) or the ``prob_<label>`` column (rows read back from
    the CSV)."""
    if "probs" in row:
        return float(row["probs"][label])
    return float(row[f"prob_{label}"])


def write_report(
    rows, labelled, labels, out_path, title=None, mapping=None, extra=None
):
    """Scores the predictions of the labelled files and writes
    ``<stem>_report.json``, ``<stem>_report.txt`` and, with matplotlib,
    ``<stem>_confusion.png``.

    With ``mapping`` (another corpus' labels, see
    ``speechbrain_gemo.cross_corpus.class_mapping``) the files are scored
    on the classes model and labels share: each true label is replaced by
    its model class, a file whose label has none is left out (counted in
    ``left_out`` per label), and the prediction is the most probable of the
    shared classes (``predicted_outside_shared`` counts the files whose
    most probable class over all the model's was not shared).

    Arguments
    ---------
    rows : list of dict
        As ``run_inference`` returns them, or as read back from the CSV.
    labelled : list of dict
        ``{"path", "label"}`` entries (see ``read_list``).
    labels : list of str
        The model's classes.
    out_path : str
        The predictions CSV; the report files go beside it.
    title : str, optional
        Title of the plot.
    mapping : dict, optional
        True label to model class (default: every model class is itself).
    extra : dict, optional
        More entries for the report (e.g. ``class_mapping``, ``corpora``).

    Returns
    -------
    dict
        The report (see ``classification_report``, over the shared classes
        in model order), with the paths written under ``files``.

    Example
    -------
    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> rows = [{"path": "a.wav", "label": "sad", "error": ""},
    ...         {"path": "b.wav", "error": "AudioInputError: empty"}]
    >>> labelled = [{"path": "a.wav", "label": "sad"},
    ...             {"path": "b.wav", "label": "neu"}]
    >>> report = write_report(rows, labelled, ["neu", "sad"], out)
    >>> report["WAR"], report["failed"], sorted(report["files"])
    (1.0, 1, ['json', 'png', 'txt'])
    """
    if mapping is None:
        mapping = {label: label for label in labels}
    shared = [label for label in labels if label in set(mapping.values())]
    predicted = {path_key(r["path"]): r for r in rows}
    predictions, targets, left_out = [], [], {}
    counts = {
        "failed": 0,
        "unknown_label": 0,
        "not_classified": 0,
        "predicted_outside_shared": 0,
    }
    for entry in labelled:
        if entry["label"] is None:
            continue
        row = predicted.get(path_key(entry["path"]))
        target = mapping.get(entry["label"])
        if row is None:
            counts["not_classified"] += 1
        elif row.get("error"):
            counts["failed"] += 1
        elif target is None:
            counts["unknown_label"] += 1
            left_out[entry["label"]] = left_out.get(entry["label"], 0) + 1
        else:
            label = row["label"]
            if label not in shared:
                counts["predicted_outside_shared"] += 1
                label = max(shared, key=lambda c: _probability(row, c))
            predictions.append(label)
            targets.append(target)
    if not targets:
        raise ValueError(
            "no labelled file was classified (check that the label list "
            f"names the same files as the inputs, and its labels: {counts})"
        )
    report = classification_report(predictions, targets, shared)
    report.update(counts)
    report["left_out"] = dict(sorted(left_out.items()))
    labels = shared
    if title:
        title = f"{title}: WAR {report['WAR']:.3f}, UAR {report['UAR']:.3f}"
    stem = os.path.splitext(out_path)[0]
    files = {"json": f"{stem}_report.json", "txt": f"{stem}_report.txt"}
    try:
        from speechbrain_gemo.plotting import plot_confusion_matrix

        files["png"] = plot_confusion_matrix(
            report["confusion_matrix"],
            list(labels),
            f"{stem}_confusion.png",
            title=title,
        )
    except ImportError as err:
        print(f"warning: no confusion plot ({err})", file=sys.stderr)
    report["files"] = files
    if extra:
        report.update(extra)
    from speechbrain_gemo.io import (
        write_json_atomic,
        write_text_atomic,
    )

    write_json_atomic(files["json"], report)
    write_text_atomic(files["txt"], format_report(report))
    return report


def _positive(text):
    """An argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def parse_args(argv=None):
    """Parses the command line (see the module docstring).

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The options.

    Example
    -------
    >>> args = parse_args(["--model", "m", "a.wav", "--out", "p.csv"])
    >>> args.inputs, args.max_batch_seconds, args.timeline
    (['a.wav'], 120.0, False)
    """
    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_gemo.infer",
        description="Classify speech emotion with an exported GEmo-CLAP "
        "model: one CSV row per file, or per speech segment with "
        "--timeline / --segments.",
    )
    parser.add_argument("inputs", nargs="*", help="files, folders, .csv/.json")
    parser.add_argument(
        "--model",
        required=True,
        help="export folder, or hf://owner/name[@revision] for a model on "
        "the Hugging Face Hub (a path is never looked up on the hub)",
    )
    parser.add_argument("--out", default="predictions.csv", help="output CSV")
    parser.add_argument(
        "--labels", help="JSON manifest or CSV with the true labels"
    )
    parser.add_argument(
        "--data_root", "--data-root", help="replaces {data_root} in lists"
    )
    parser.add_argument(
        "--prompts", help="JSON file: zero-shot classes, label -> prompt(s)"
    )
    parser.add_argument(
        "--max_batch_seconds", "--max-batch-seconds", type=float, default=120.0
    )
    parser.add_argument(
        "--max_batch_size", "--max-batch-size", type=int, default=32
    )
    parser.add_argument(
        "--window_seconds", "--window-seconds", type=float, default=None
    )
    parser.add_argument(
        "--overlap_seconds", "--overlap-seconds", type=float, default=None
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="e.g. cpu, cuda, cuda:0 (under torchrun, cuda means "
        "cuda:LOCAL_RANK)",
    )
    parser.add_argument(
        "--savedir",
        help="download folder for an hf:// model (default: the Hugging Face "
        "cache)",
    )
    parser.add_argument(
        "--backend",
        choices=("pytorch", "onnx"),
        default="pytorch",
        help="pytorch: an export folder (GEmoCLAP); onnx: a folder written "
        "by python -m speechbrain_gemo.onnx (EmotionClassifierONNX, CPU)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "int8"),
        default=None,
        help="graph of an ONNX folder: fp32 (the default) or int8 (a "
        "folder converted with --int8)",
    )
    cross = parser.add_argument_group(
        "cross-corpus evaluation",
        "--labels from another corpus: classes are matched through their "
        "words (speechbrain_gemo.cross_corpus)",
    )
    cross.add_argument(
        "--zero_shot",
        "--zero-shot",
        action="store_true",
        help="classify into every class of the --labels corpus with prompts "
        "made from its class words (needs the text model: pytorch backend)",
    )
    cross.add_argument(
        "--model_corpus",
        "--model-corpus",
        help="corpus of the model's class codes (default: detected)",
    )
    cross.add_argument(
        "--labels_corpus",
        "--labels-corpus",
        help="corpus of the --labels codes (default: detected)",
    )
    parser.add_argument("--no_progress", "--no-progress", action="store_true")
    timeline = parser.add_argument_group(
        "timelines", "emotion over time: one row per speech segment"
    )
    timeline.add_argument(
        "--timeline",
        action="store_true",
        help="split each recording into speech segments and classify each",
    )
    timeline.add_argument(
        "--segments",
        help="segments from outside (implies --timeline): an RTTM file "
        "(file id = recording name without extension) or a CSV "
        "path,start,end[,speaker]",
    )
    timeline.add_argument(
        "--vad",
        choices=("silero", "energy"),
        default="silero",
        help="speech detector (silero: Silero VAD from the silero-vad "
        "package; energy: energy above the noise floor)",
    )
    timeline.add_argument(
        "--vad_threshold",
        "--vad-threshold",
        type=float,
        default=None,
        help="Silero speech probability threshold (0.5), or the energy "
        "margin over the noise floor in dB (12)",
    )
    timeline.add_argument(
        "--min_segment",
        "--min-segment",
        type=float,
        default=1.0,
        help="seconds; shorter segments are merged with a neighbour",
    )
    timeline.add_argument(
        "--max_segment",
        "--max-segment",
        type=_positive,
        default=10.0,
        help="seconds; longer segments are split into equal parts",
    )
    timeline.add_argument(
        "--merge_gap",
        "--merge-gap",
        type=float,
        default=0.5,
        help="longest silence (s) that merging may bridge",
    )
    timeline.add_argument(
        "--plot",
        metavar="DIR",
        help="write <name>.png (timeline) and <name>_summary.csv (share of "
        "speech time per emotion and speaker) per recording",
    )
    args = parser.parse_args(argv)
    if args.segments:
        args.timeline = True
    if not args.inputs and not args.labels and not args.segments:
        parser.error("give input files, folders or lists (or --labels)")
    if args.max_batch_seconds <= 0 or args.max_batch_size < 1:
        parser.error("--max_batch_seconds and --max_batch_size must be > 0")
    if args.backend == "onnx":
        if args.prompts or args.zero_shot:
            parser.error(
                "--backend onnx classifies with the folder's stored prompts "
                "only (it has no text model): --prompts and --zero_shot need "
                "the pytorch backend and an export folder"
            )
        if args.device != "cpu":
            parser.error("--backend onnx runs on the CPU (--device cpu)")
    elif args.precision:
        parser.error("--precision is an option of --backend onnx")
    if args.zero_shot and (args.prompts or not args.labels):
        parser.error("--zero_shot needs --labels and no --prompts")
    if args.timeline and args.labels:
        parser.error("--labels scores whole files; it has no --timeline mode")
    if args.plot and not args.timeline:
        parser.error("--plot draws timelines: add --timeline or --segments")
    if not 0 <= args.min_segment <= args.max_segment or args.merge_gap < 0:
        parser.error(
            "need 0 <= --min_segment <= --max_segment and --merge_gap >= 0"
        )
    return args


def shard_inputs(durations, world_size):
    """Splits the inputs among processes, balancing their total duration
    (longest first, each to the least loaded process; ties to the lower
    rank), the same way in every process.

    Arguments
    ---------
    durations : list of float
        Duration of each input (0 for unreadable ones).
    world_size : int
        Number of processes.

    Returns
    -------
    list of list of int
        Per rank, its input indices in input order.

    Example
    -------
    >>> shard_inputs([5.0, 1.0, 4.0, 2.0, 2.0], 2)
    [[0, 4], [1, 2, 3]]
    """
    load = [0.0] * world_size
    shards = [[] for _ in range(world_size)]
    for i in sorted(range(len(durations)), key=lambda i: (-durations[i], i)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        shards[rank].append(i)
        load[rank] += durations[i]
    return [sorted(shard) for shard in shards]


def _start_distributed(device):
    """Joins the torchrun process group if there is one (gloo on the CPU,
    NCCL on GPUs); returns ``(rank, world_size, device)``."""
    import torch
    from speechbrain.utils.distributed import (
        ddp_init_group,
        get_local_rank,
        get_rank,
        is_distributed_initialized,
    )

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or get_rank() is None:
        return 0, 1, device
    local_rank = int(get_local_rank() or 0)
    backend = "gloo"
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}" if device == "cuda" else device
        backend = "nccl"
        torch.cuda.set_device(torch.device(device))
    if not is_distributed_initialized():
        ddp_init_group({"distributed_backend": backend})
    return int(get_rank()), world, device


def _read_segments(args, paths):
    """The segments of each input from ``--segments``: a function of the
    input index to a list of Segment (None where the file names none),
    the inputs (from the CSV when none were given) and whether the
    segments carry speakers."""
    from speechbrain_gemo.segments import (
        read_rttm,
        read_segment_csv,
        recording_id,
    )

    source = args.segments
    if source.lower().endswith(".csv"):
        table = read_segment_csv(source, args.data_root)
        if not paths:
            paths = list(table)
        by_key = {}
        for name, segments in table.items():
            by_key.setdefault(path_key(name), []).extend(segments)
        found = [by_key.get(path_key(p)) for p in paths]
    else:
        if not paths:
            raise ValueError(
                f"{source}: an RTTM file names recordings by id only; give "
                "the audio files as inputs"
            )
        table = read_rttm(source)
        found = [table.get(recording_id(p)) for p in paths]
    speaker = any(
        seg.speaker is not None for segs in found if segs for seg in segs
    )
    return found, paths, speaker


def plot_names(paths):
    """File stems for the plots of each input: the recording's name,
    with ``-<index>`` added where two inputs share a name.

    Arguments
    ---------
    paths : list of str
        The inputs.

    Returns
    -------
    list of str
        One stem per input.

    Example
    -------
    >>> plot_names(["a/x.wav", "b/x.wav", "y.flac"])
    ['x-0', 'x-1', 'y']
    """
    from collections import Counter

    from speechbrain_gemo.segments import recording_id

    names = [recording_id(p) for p in paths]
    counts = Counter(names)
    return [
        f"{name}-{i}" if counts[name] > 1 else name
        for i, name in enumerate(names)
    ]


def write_plots(rows, labels, folder, stem, title):
    """Writes the timeline PNG and the speech-time summary CSV of one
    recording.

    Arguments
    ---------
    rows : list of dict
        Its segment rows.
    labels : list of str
        The classes.
    folder : str
        The plot folder.
    stem : str
        The file stem (see ``plot_names``).
    title : str
        The figure title.

    Returns
    -------
    list of str
        The files written.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> rows = [{"path": "a.wav", "start": 0.0, "end": 2.0, "speaker": None,
    ...          "label": "sad", "probs": {"neu": 0.3, "sad": 0.7},
    ...          "error": ""}]
    >>> files = write_plots(rows, ["neu", "sad"], folder, "a", "a.wav")
    >>> print(open(files[1]).read(), end="")
    speaker,label,seconds,share
    *,neu,0.000,0.0000
    *,sad,2.000,1.0000
    """
    from speechbrain_gemo.io import write_text_atomic
    from speechbrain_gemo.timeline import speech_summary

    os.makedirs(folder, exist_ok=True)
    summary = os.path.join(folder, f"{stem}_summary.csv")
    lines = [["speaker", "label", "seconds", "share"]]
    for entry in speech_summary(rows, labels):
        lines.append(
            [
                entry["speaker"],
                entry["label"],
                f"{entry['seconds']:.3f}",
                f"{entry['share']:.4f}",
            ]
        )
    write_text_atomic(summary, _csv_text(lines))
    png = os.path.join(folder, f"{stem}.png")
    try:
        from speechbrain_gemo.blocks import audio_duration
        from speechbrain_gemo.plotting import plot_timeline

        try:
            duration = audio_duration(rows[0]["path"])
        except (OSError, ValueError):
            duration = None
        plot_timeline(rows, labels, png, title=title, duration=duration)
    except ImportError as err:
        print(f"warning: no timeline plot ({err})", file=sys.stderr)
        return [summary]
    return [png, summary]


def _signature(args, paths, header, prompts):
    """What the rows of a run depend on: a restart must match it."""
    import hashlib

    def digest(items):
        """A short hash of a list of strings.

        Arguments
        ---------
        items : list of str
            The strings.

        Returns
        -------
        str
            16 hex digits.
        """
        text = "\n".join(items).encode("utf-8")
        return hashlib.sha256(text).hexdigest()[:16]

    model = args.model
    if os.path.isdir(model):
        model = os.path.abspath(model)
    options = [
        "timeline",
        "segments",
        "vad",
        "vad_threshold",
        "min_segment",
        "max_segment",
        "merge_gap",
        "window_seconds",
        "overlap_seconds",
        "backend",
        "precision",
    ]
    return {
        "model": model,
        "inputs": digest([path_key(p) for p in paths]),
        "count": len(paths),
        "header": header,
        "prompts": digest([json.dumps(prompts, sort_keys=True)]),
        "options": {key: getattr(args, key) for key in options},
    }


def _timeline_options(args, prompts):
    """The options of ``timeline.recording_timeline``."""
    vad_options = {}
    if args.vad_threshold is not None:
        key = "threshold" if args.vad == "silero" else "margin_db"
        vad_options[key] = args.vad_threshold
    return {
        "segmentation": {
            "vad": args.vad,
            "min_segment": args.min_segment,
            "max_segment": args.max_segment,
            "max_gap": args.merge_gap,
            "vad_options": vad_options,
        },
        "classification": {
            "prompts": prompts,
            "max_batch_seconds": args.max_batch_seconds,
            "max_batch_size": args.max_batch_size,
            "window_seconds": args.window_seconds,
            "overlap_seconds": args.overlap_seconds,
        },
    }


def _run_timelines(model, args, paths, todo, journal, context):
    """Segments, classifies and records each input of ``todo``."""
    from tqdm import tqdm

    from speechbrain_gemo.timeline import recording_timeline

    options = _timeline_options(args, context["prompts"])
    stems = plot_names(paths) if args.plot else None
    for index in tqdm(todo, unit="file", disable=context["quiet"]):
        path = paths[index]
        segments = None
        if context["segments"] is not None:
            segments = context["segments"][index]
            if segments is None:
                rows = [
                    {
                        "path": path,
                        "start": None,
                        "end": None,
                        "error": f"NoSegments: {args.segments} has no "
                        "segments for this recording",
                    }
                ]
                journal.add(index, path, context["format"](rows))
                continue
        rows = recording_timeline(model, path, segments, options)
        if args.plot:
            write_plots(rows, context["labels"], args.plot, stems[index], path)
        journal.add(index, path, context["format"](rows))


def _missing_full_install():
    """The packages of the full install that are not installed, as text
    (empty when all are)."""
    import importlib.util

    names = ("torch", "speechbrain", "tqdm")
    return ", ".join(n for n in names if importlib.util.find_spec(n) is None)


def main(argv=None):
    """Runs the command line.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (see the module docstring).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> tmp = tempfile.mkdtemp()
    >>> model = save_tiny_export(f"{tmp}/m")
    >>> main(["--model", model, f"{tmp}/missing.wav", "--out",
    ...       f"{tmp}/p.csv", "--no-progress"])  # every file failed
    1
    """
    args = parse_args(argv)
    missing = _missing_full_install()
    if missing:
        print(
            f"error: the command line needs {missing} (the full install, "
            "also with --backend onnx: batching, audio blocks, VAD and "
            "sharding use them); in a torch-free environment classify "
            "with speechbrain_gemo.onnx_runtime.EmotionClassifierONNX",
            file=sys.stderr,
        )
        return 2
    labelled = read_list(args.labels, args.data_root) if args.labels else []
    if args.inputs:
        paths = collect_inputs(args.inputs, args.data_root)
    else:
        paths = list(dict.fromkeys(entry["path"] for entry in labelled))
    segments, speaker = None, False
    if args.segments:
        try:
            segments, paths, speaker = _read_segments(args, paths)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if not paths:
        print("error: no audio files found in the inputs", file=sys.stderr)
        return 1
    prompts = None
    if args.prompts:
        with open(args.prompts, encoding="utf-8") as f:
            prompts = json.load(f)

    from speechbrain.utils.distributed import ddp_barrier, ddp_broadcast

    from speechbrain_gemo.journal import Journal, JournalMismatch

    rank, world, device = _start_distributed(args.device)
    try:
        model = load_model(args, device)
        if args.backend == "onnx":
            # Said, and recorded for a resume, as the graph actually used
            args.precision = model.precision
            if rank == 0:
                graph = model.config["graphs"][model.precision]
                print(
                    f"ONNX backend: {model.precision} graph ({graph})",
                    file=sys.stderr,
                )
        if prompts:
            from speechbrain_gemo.inference import prompt_dict

            classes = list(prompt_dict(prompts))
        else:
            classes = list(model.labels)
        cross = _cross_corpus(args, model, labelled, classes)
    except (ValueError, OSError) as err:
        # A missing model folder, an hf:// model that cannot be fetched
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.zero_shot:
        prompts = cross["prompts"]
    if prompts:
        from speechbrain_gemo.inference import prompt_dict

        labels = list(prompt_dict(prompts))
    else:
        labels = list(model.labels)
    layout = {"timeline": args.timeline, "speaker": speaker}
    header = _csv_text([csv_columns(labels, model.has_gender, **layout)])

    def format_file_rows(rows):
        """The CSV lines of one input's rows.

        Arguments
        ---------
        rows : list of dict
            The rows.

        Returns
        -------
        str
            The lines.
        """
        return format_rows(rows, labels, model.has_gender, **layout)

    try:
        journal = Journal(
            args.out, rank, _signature(args, paths, header, prompts), header
        )
    except JournalMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    done = Journal.finished(args.out)
    durations = []
    for path in paths:
        try:
            durations.append(_duration(path))
        except Exception:
            durations.append(0.0)
    mine = shard_inputs(durations, world)[rank]
    todo = [i for i in mine if i not in done]
    quiet = args.no_progress or rank != 0
    if done and rank == 0:
        print(
            f"continuing: {len(done)} of {len(paths)} files were done by an "
            "earlier run",
            file=sys.stderr,
        )
    try:
        if args.timeline:
            context = {
                "prompts": prompts,
                "segments": segments,
                "labels": labels,
                "format": format_file_rows,
                "quiet": quiet,
            }
            _run_timelines(model, args, paths, todo, journal, context)
        else:
            index_of = {paths[i]: i for i in todo}
            run_inference(
                model,
                [paths[i] for i in todo],
                prompts=prompts,
                max_batch_seconds=args.max_batch_seconds,
                max_batch_size=args.max_batch_size,
                window_seconds=args.window_seconds,
                overlap_seconds=args.overlap_seconds,
                progress=not quiet,
                on_done=lambda path, row: journal.add(
                    index_of[path], path, format_file_rows([row])
                ),
            )
    finally:
        journal.close()
    ddp_barrier()
    status = 0
    if rank == 0:
        Journal.finalize(args.out, header, len(paths))
        status = _report(args, labelled, labels, len(paths), cross)
    status = ddp_broadcast(status)
    if world > 1:
        from speechbrain_gemo.distributed import end_process_group

        end_process_group(status)  # exits this process
    return status


def load_model(args, device="cpu"):
    """Loads the model of ``--model`` with the chosen ``--backend``.

    Arguments
    ---------
    args : argparse.Namespace
        The options (``model``, ``backend``, ``precision``, ``savedir``).
    device : str
        The PyTorch device (the ONNX backend runs on the CPU).

    Returns
    -------
    speechbrain_gemo.inference.GEmoCLAP or EmotionClassifierONNX
        Both have ``labels``, ``has_gender``, ``load_audio`` and
        ``predict_batch``.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> tmp = tempfile.mkdtemp()
    >>> args = parse_args(["--model", save_tiny_export(f"{tmp}/m"), "a.wav"])
    >>> load_model(args).labels
    ('neu', 'hap', 'ang', 'sad')
    """
    if args.backend == "onnx":
        from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

        return EmotionClassifierONNX(args.model, precision=args.precision)
    from speechbrain_gemo.inference import GEmoCLAP

    return GEmoCLAP.from_hparams(
        source=args.model, savedir=args.savedir, run_opts={"device": device}
    )


def _cross_corpus(args, model, labelled, classes):
    """How the ``--labels`` classes meet the model's (``classes``: its
    labels, or the keys of ``--prompts``): None without labels;
    else ``mapping`` (label to scored class; None when the labels are the
    model's own codes and no corpus was named), ``table``, ``corpora`` and,
    with ``--zero_shot``, ``prompts`` for every class of the labels'
    corpus (scored as themselves)."""
    from speechbrain_gemo.cross_corpus import (
        class_mapping,
        prompt_templates,
        zero_shot_prompts,
    )

    found = [e["label"] for e in labelled if e["label"] is not None]
    if not found:
        return None
    found = list(dict.fromkeys(found))
    match = class_mapping(classes, found, args.model_corpus, args.labels_corpus)
    corpora = {
        "model": match["model_corpus"],
        "labels": match["manifest_corpus"],
    }
    if args.zero_shot:
        stored = getattr(model, "stored_prompts", {}).get("emotion", {})
        words = {row["model"]: row["word"] for row in match["table"]}
        prompts = zero_shot_prompts(
            found,
            match["manifest_corpus"],
            prompt_templates(stored, words),
        )
        from speechbrain_gemo.prompts import class_words

        table = [
            {"word": word, "model": label, "manifest": label}
            for label, word in class_words(
                list(prompts), match["manifest_corpus"]
            ).items()
        ]
        return {
            "prompts": prompts,
            "mapping": {label: label for label in prompts},
            "table": table,
            "corpora": corpora,
        }
    same = set(found) <= set(classes) and (
        corpora["model"] == corpora["labels"]
    )
    if same and not (args.model_corpus or args.labels_corpus):
        return {"mapping": None, "table": None, "corpora": corpora}
    if not match["mapping"]:
        # Classified all the same; the report then says nothing was shared
        print(
            f"warning: the classes {classes} and the labels {sorted(found)} "
            "share no class word (see speechbrain_gemo.cross_corpus); "
            "--zero_shot scores the labels' classes",
            file=sys.stderr,
        )
    return {
        "mapping": match["mapping"],
        "table": match["table"],
        "corpora": corpora,
    }


def _report(args, labelled, labels, count, cross=None):
    """Prints the summary of the final CSV, writes the report of labelled
    files (on the classes ``cross`` maps, see ``_cross_corpus``), and
    returns the exit status."""
    with open(args.out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    failed = sum(bool(r["error"]) for r in rows)
    if args.timeline:
        good = {r["path"] for r in rows if not r["error"]}
        print(
            f"{len(rows) - failed} segments classified in {len(good)} of "
            f"{count} files ({failed} failed rows) -> {args.out}",
            file=sys.stderr,
        )
        return 0 if good else 1
    print(
        f"{len(rows) - failed} of {len(rows)} files classified "
        f"({failed} failed) -> {args.out}",
        file=sys.stderr,
    )
    if labelled:
        try:
            name = os.path.basename(os.path.normpath(args.model))
            mapping, extra = None, None
            if cross and cross.get("mapping") is not None:
                mapping = cross["mapping"]
                extra = {
                    "class_mapping": cross["table"],
                    "corpora": cross["corpora"],
                }
            report = write_report(
                rows,
                labelled,
                labels,
                args.out,
                title=name,
                mapping=mapping,
                extra=extra,
            )
            print(
                f"WAR {report['WAR']:.4f}  UAR {report['UAR']:.4f} on "
                f"{report['num_utterances']} files -> "
                f"{', '.join(report['files'].values())}",
                file=sys.stderr,
            )
        except ValueError as err:
            print(f"warning: no report: {err}", file=sys.stderr)
    return 0 if failed < len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
