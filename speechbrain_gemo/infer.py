"""Command line: classify audio files with an exported GEmo-CLAP model.

    python -m speechbrain_gemo.infer --model <export folder> \\
        <wav files, folders or a .csv / .json list> --out predictions.csv

Inputs are audio files, folders (searched recursively for .wav, .flac,
.ogg and .mp3), CSV lists (a ``path``, ``wav`` or ``file`` column) or
SpeechBrain JSON manifests (entries with a ``wav`` key). ``{data_root}``
or ``$data_root`` in listed paths is replaced by ``--data_root``; other
relative paths are relative to the current folder.

Files are sorted by duration and batched so that a batch holds at most
``--max_batch_seconds`` of padded audio; files longer than the model's
window (20 s by default) are classified alone, window by window. The
output CSV (written atomically) has one row per input file, in input
order: ``path, label, score, prob_<class>..., [gender, gender_score],
error``. A file that fails (unreadable, empty, too short) gets its error
in the ``error`` column and does not stop the run.

With ``--labels`` (a JSON manifest or CSV with ``wav``/``path`` and
``emo``/``label`` per file), the predictions of the labelled files are
scored: ``<out stem>_report.json`` and ``<out stem>_report.txt``
(per-class precision, recall, F1; WAR and UAR) and, with matplotlib (the
``plot`` extra), ``<out stem>_confusion.png``. Without positional inputs,
the labelled files are the inputs.

Exit status: 0 when at least one file was classified (even if others
failed), 1 when there was nothing to classify or every file failed, 2 for
usage errors.

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import csv
import json
import math
import os
import sys
import tempfile

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


def make_batches(durations, max_batch_seconds, max_batch_size, long_seconds):
    """Groups files by duration: sorted, each batch holding at most
    ``max_batch_seconds`` of padded audio and ``max_batch_size`` files;
    files longer than ``long_seconds`` go alone (they are windowed).

    Arguments
    ---------
    durations : list of float
        Duration of each file in seconds.
    max_batch_seconds : float
        Cap on ``batch size x longest duration``.
    max_batch_size : int
        Cap on the number of files in a batch.
    long_seconds : float or None
        Files longer than this are batches of one (None: no such files).

    Returns
    -------
    list of list of int
        Indices into ``durations``.

    Example
    -------
    >>> make_batches([3.0, 1.0, 2.0, 30.0, 1.5], 6.0, 8, 20.0)
    [[1, 4, 2], [0], [3]]
    """
    order = sorted(range(len(durations)), key=lambda i: durations[i])
    batches, current = [], []
    for i in order:
        seconds = durations[i]
        alone = long_seconds is not None and seconds > long_seconds
        fits = (
            current
            and not alone
            and len(current) < max_batch_size
            and (len(current) + 1) * seconds <= max_batch_seconds
        )
        if not fits and current:
            batches.append(current)
            current = []
        current.append(i)
        if alone:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


def _error_text(err):
    from speechbrain_gemo.inference import _first_sentence

    # the row already names the file
    message = getattr(err, "reason", None) or _first_sentence(err)
    return f"{type(err).__name__}: {message}"


def _duration(path):
    """Duration from the file header (cheap), with the errors of
    ``GEmoCLAP.load_audio``."""
    import soundfile

    from speechbrain_gemo.inference import AudioInputError, _first_sentence

    if not os.path.isfile(path):
        raise AudioInputError("no such file", path)
    try:
        info = soundfile.info(path)
    except Exception as err:
        raise AudioInputError(
            f"cannot read audio ({type(err).__name__}: {_first_sentence(err)})",
            path,
        ) from err
    if not info.samplerate:
        raise AudioInputError("cannot read audio (no sample rate)", path)
    return info.frames / info.samplerate


def _prediction_rows(out, paths):
    rows = []
    for i, path in enumerate(paths):
        row = {
            "path": path,
            "label": out["text_lab"][i],
            "score": float(out["score"][i]),
            "probs": dict(zip(out["labels"], out["probs"][i].tolist())),
            "error": "",
        }
        if "gender_probs" in out:
            row["gender"] = out["gender_lab"][i]
            row["gender_score"] = float(out["gender_score"][i])
        rows.append(row)
    return rows


def _classify_batch(model, paths, prompts, window):
    """Rows for one batch of files; failing files get an error row."""
    import torch

    rows, signals, ok = {}, [], []
    for path in paths:
        try:
            signals.append(model.load_audio(path))
            ok.append(path)
        except Exception as err:
            rows[path] = {"path": path, "error": _error_text(err)}
    if ok:
        try:
            lengths = torch.tensor([len(s) for s in signals], dtype=torch.float)
            wavs = torch.nn.utils.rnn.pad_sequence(signals, batch_first=True)
            out = model.predict_batch(
                wavs,
                lengths / lengths.max(),
                prompts=prompts,
                window_seconds=window[0],
                overlap_seconds=window[1],
                names=ok,
            )
            rows.update({r["path"]: r for r in _prediction_rows(out, ok)})
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
    (True, 'AudioInputError: no such file')
    """
    from tqdm import tqdm

    rows, durations, readable = {}, [], []
    for path in paths:
        try:
            durations.append(_duration(path))
            readable.append(path)
        except Exception as err:
            rows[path] = {"path": path, "error": _error_text(err)}
    window = model.window_seconds if window_seconds is None else window_seconds
    batches = make_batches(
        durations, max_batch_seconds, max_batch_size, window or None
    )
    bar = tqdm(total=len(paths), unit="file", disable=not progress)
    bar.update(len(paths) - len(readable))
    try:
        for batch in batches:
            names = [readable[i] for i in batch]
            try:
                rows.update(
                    _classify_batch(
                        model, names, prompts, (window_seconds, overlap_seconds)
                    )
                )
            except Exception as err:
                for name in names:
                    rows[name] = {"path": name, "error": _error_text(err)}
            bar.update(len(batch))
    finally:
        bar.close()
    return [rows[path] for path in paths]


def write_predictions(rows, path, labels, gender=False):
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
    header = ["path", "label", "score"] + [f"prob_{lab}" for lab in labels]
    if gender:
        header += ["gender", "gender_score"]
    header.append("error")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".predictions-")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            for row in rows:
                ok = not row.get("error")
                line = [row["path"]]
                line.append(row["label"] if ok else "")
                line.append(f"{row['score']:.6f}" if ok else "")
                for lab in labels:
                    line.append(f"{row['probs'][lab]:.6f}" if ok else "")
                if gender:
                    has = ok and "gender" in row
                    line.append(row["gender"] if has else "")
                    line.append(f"{row['gender_score']:.6f}" if has else "")
                line.append(row.get("error", ""))
                writer.writerow(line)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
        What ``speechbrain_gemo.metrics.recall_metrics`` returns, plus
        ``per_class`` (label to ``precision``, ``recall``, ``f1``,
        ``support``; None where undefined: no prediction of the class,
        no utterance of it, neither) and ``macro_f1`` (over the classes
        with a defined F1).

    Example
    -------
    >>> r = classification_report(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])
    >>> r["WAR"], r["UAR"], r["per_class"]["a"]["precision"]
    (0.6666666666666666, 0.75, 0.5)
    """
    from speechbrain_gemo.metrics import recall_metrics

    report = recall_metrics(predictions, targets, labels)
    matrix = report["confusion_matrix"]
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
    # NaN is not JSON; the per-class table says None where undefined
    report["per_class_recall"] = {
        k: None if isinstance(v, float) and math.isnan(v) else v
        for k, v in report["per_class_recall"].items()
    }
    return report


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
        ("unknown_label", "labels not among the classes"),
        ("not_classified", "labelled files not in the inputs"),
    ):
        if report.get(key):
            summary.append((text, report[key]))
    lines.append("")
    lines += [f"{text:<34}{value}" for text, value in summary]
    return "\n".join(lines) + "\n"


def write_report(rows, labelled, labels, out_path, title=None):
    """Scores the predictions of the labelled files and writes
    ``<stem>_report.json``, ``<stem>_report.txt`` and, with matplotlib,
    ``<stem>_confusion.png``.

    Arguments
    ---------
    rows : list of dict
        As ``run_inference`` returns them.
    labelled : list of dict
        ``{"path", "label"}`` entries (see ``read_list``).
    labels : list of str
        The model's classes.
    out_path : str
        The predictions CSV; the report files go beside it.
    title : str, optional
        Title of the plot.

    Returns
    -------
    dict
        The report (see ``classification_report``), with the paths written
        under ``files``.

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
    predicted = {path_key(r["path"]): r for r in rows}
    predictions, targets = [], []
    counts = {"failed": 0, "unknown_label": 0, "not_classified": 0}
    for entry in labelled:
        if entry["label"] is None:
            continue
        row = predicted.get(path_key(entry["path"]))
        if row is None:
            counts["not_classified"] += 1
        elif row.get("error"):
            counts["failed"] += 1
        elif entry["label"] not in labels:
            counts["unknown_label"] += 1
        else:
            predictions.append(row["label"])
            targets.append(entry["label"])
    if not targets:
        raise ValueError(
            "no labelled file was classified (check that the label list "
            f"names the same files as the inputs, and its labels: {counts})"
        )
    report = classification_report(predictions, targets, list(labels))
    report.update(counts)
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
    from speechbrain_gemo.io import (
        write_json_atomic,
        write_text_atomic,
    )

    write_json_atomic(files["json"], report)
    write_text_atomic(files["txt"], format_report(report))
    return report


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
    >>> args.inputs, args.max_batch_seconds
    (['a.wav'], 120.0)
    """
    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_gemo.infer",
        description="Classify speech emotion with an exported GEmo-CLAP "
        "model; one CSV row per file.",
    )
    parser.add_argument("inputs", nargs="*", help="files, folders, .csv/.json")
    parser.add_argument("--model", required=True, help="export folder/hub id")
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
    parser.add_argument("--device", default="cpu", help="e.g. cpu, cuda:0")
    parser.add_argument("--savedir", help="download folder for hub ids")
    parser.add_argument("--no_progress", "--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not args.inputs and not args.labels:
        parser.error("give input files, folders or lists (or --labels)")
    if args.max_batch_seconds <= 0 or args.max_batch_size < 1:
        parser.error("--max_batch_seconds and --max_batch_size must be > 0")
    return args


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
    labelled = read_list(args.labels, args.data_root) if args.labels else []
    if args.inputs:
        paths = collect_inputs(args.inputs, args.data_root)
    else:
        paths = list(dict.fromkeys(entry["path"] for entry in labelled))
    if not paths:
        print("error: no audio files found in the inputs", file=sys.stderr)
        return 1
    prompts = None
    if args.prompts:
        with open(args.prompts, encoding="utf-8") as f:
            prompts = json.load(f)

    from speechbrain_gemo.inference import GEmoCLAP, prompt_dict

    model = GEmoCLAP.from_hparams(
        source=args.model,
        savedir=args.savedir,
        run_opts={"device": args.device},
    )
    labels = list(prompt_dict(prompts)) if prompts else list(model.labels)
    rows = run_inference(
        model,
        paths,
        prompts=prompts,
        max_batch_seconds=args.max_batch_seconds,
        max_batch_size=args.max_batch_size,
        window_seconds=args.window_seconds,
        overlap_seconds=args.overlap_seconds,
        progress=not args.no_progress,
    )
    write_predictions(rows, args.out, labels, gender=model.has_gender)
    failed = sum(bool(r.get("error")) for r in rows)
    print(
        f"{len(rows) - failed} of {len(rows)} files classified "
        f"({failed} failed) -> {args.out}",
        file=sys.stderr,
    )
    if labelled:
        try:
            name = os.path.basename(os.path.normpath(args.model))
            report = write_report(rows, labelled, labels, args.out, title=name)
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
