"""Reports of a batch run: the summary line of the predictions CSV and,
for labelled files (``infer --labels``), the scored report:
``<out stem>_report.json``, ``<out stem>_report.txt`` (per-class
precision, recall, F1; WAR and UAR) and ``<out stem>_confusion.png``.

Labels of another corpus are scored on the classes model and labels
share (``speechbrain_gemo.cross_corpus.scoring_plan``).

Authors
 * speechbrain-gemo developers 2026
"""

import csv
import os
import sys

from speechbrain_gemo.inputs import path_key
from speechbrain_gemo.metrics import classification_report


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
    ``batch_runs.run_inference``) or the ``prob_<label>`` column (rows
    read back from the CSV)."""
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
        As ``batch_runs.run_inference`` returns them, or as read back from
        the CSV.
    labelled : list of dict
        ``{"path", "label"}`` entries (see ``inputs.read_list``).
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


def report_run(args, labelled, labels, count, cross=None):
    """Prints the summary of a run's final CSV, writes the report of its
    labelled files, and returns the run's exit status.

    Arguments
    ---------
    args : argparse.Namespace
        ``out``, ``timeline`` and ``model`` (the report's title), as
        ``infer`` has them.
    labelled : list of dict
        ``{"path", "label"}`` entries of ``--labels`` (may be empty).
    labels : list of str
        The classes of the predictions.
    count : int
        The number of inputs.
    cross : dict, optional
        How the labels meet the classes
        (``cross_corpus.scoring_plan``).

    Returns
    -------
    int
        0 when something was classified, else 1.

    Example
    -------
    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> out = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> with open(out, "w") as f:
    ...     print("path,label,score,prob_neu,prob_sad,error", file=f)
    ...     print("a.wav,,,,,AudioReadError: no such file", file=f)
    >>> args = SimpleNamespace(out=out, timeline=False, model="m")
    >>> report_run(args, [], ["neu", "sad"], 1)
    1
    """
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
