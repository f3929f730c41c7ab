"""Call summaries of a timeline run (``infer --timeline`` with
``--summary FILE.csv``): one row per recording and speaker (with
``--channels``, per role), made from the run's segment rows.

Columns: ``path``, ``speaker``, ``speech_seconds`` (classified speech),
per class ``share_<class>`` (of the speaker's speech seconds),
``longest_<class>_start`` and ``longest_<class>_end`` (the longest
continuous stretch of that class: the speaker's consecutive segments of
that class, joined across silences up to ``max_gap`` seconds and broken
by a segment of another class), ``first_<class>`` (start of the
speaker's first segment of that class; empty when none), then, for each
of the dimension columns the rows carry (``arousal``, ``valence``,
``dominance`` of models with the dimensional head), ``mean_<column>``
(weighted by segment duration), and ``error`` (why a recording or
speaker has no classified speech).

Authors
 * speechbrain-gemo developers 2026
"""

import csv

from speechbrain_gemo.rows import DIMENSION_COLUMNS, csv_text


def read_rows(path):
    """The rows of a CSV written by ``infer`` (all cells text), for a
    summary.

    Arguments
    ---------
    path : str
        The CSV.

    Returns
    -------
    list of dict
        One per line, column to cell.

    Example
    -------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(out, "w").write("path,start,end,label,error\\na,0,1,sad,\\n")
    >>> read_rows(out)
    [{'path': 'a', 'start': '0', 'end': '1', 'label': 'sad', 'error': ''}]
    """
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _number(cell):
    """A cell as a float (None when empty)."""
    if cell is None or cell == "":
        return None
    return float(cell)


def _longest_stretches(segments, labels, max_gap):
    """Per class the (start, end) of its longest continuous stretch among
    time-ordered ``(start, end, label)`` segments."""
    longest = {}
    current = None  # [label, start, end]
    for start, end, label in segments + [(None, None, None)]:
        joins = (
            current is not None
            and label == current[0]
            and start - current[2] <= max_gap
        )
        if joins:
            current[2] = max(current[2], end)
            continue
        if current is not None:
            best = longest.get(current[0])
            if best is None or current[2] - current[1] > best[1] - best[0]:
                longest[current[0]] = (current[1], current[2])
        current = None if label is None else [label, start, end]
    return {label: longest.get(label) for label in labels}


def call_summary(rows, labels, max_gap=0.5):
    """One summary per recording and speaker.

    Arguments
    ---------
    rows : list of dict
        Segment rows of a timeline run (``path``, ``start``, ``end``,
        ``label``, ``error``, optionally ``speaker`` and dimension
        columns), as ``classify_segments`` returns them or as read back
        from the output CSV (cells as text).
    labels : list of str
        The classes.
    max_gap : float
        Longest silence, in seconds, inside a continuous stretch.

    Returns
    -------
    list of dict
        In the order of the recordings, each speaker by name (none
        first): ``path``, ``speaker`` (empty when unknown),
        ``speech_seconds``, ``share`` / ``first`` / ``longest`` (class to
        a share, a start or None, a (start, end) or None), ``means``
        (dimension column to its mean or None) and ``error``.

    Example
    -------
    >>> rows = [
    ...     {"path": "c", "start": 0, "end": 2, "speaker": "agent",
    ...      "label": "neu", "error": ""},
    ...     {"path": "c", "start": 2, "end": 3, "speaker": "agent",
    ...      "label": "neu", "error": ""},
    ...     {"path": "c", "start": 4, "end": 5, "speaker": "agent",
    ...      "label": "ang", "error": ""}]
    >>> (one,) = call_summary(rows, ["neu", "ang"])
    >>> one["speech_seconds"], one["share"], one["longest"]["neu"]
    (4.0, {'neu': 0.75, 'ang': 0.25}, (0.0, 3.0))
    >>> one["first"]
    {'neu': 0.0, 'ang': 4.0}
    """
    dimensions = [d for d in DIMENSION_COLUMNS if any(d in r for r in rows)]
    recordings = {}
    for row in rows:
        who = row.get("speaker") or ""
        recordings.setdefault(row["path"], {}).setdefault(who, []).append(row)
    out = []
    for path, speakers in recordings.items():
        for who in sorted(speakers):
            entry = _speaker_summary(
                path, who, speakers[who], labels, dimensions
            )
            entry["longest"] = _longest_stretches(
                entry.pop("segments"), labels, max_gap
            )
            out.append(entry)
    return out


def _speaker_summary(path, who, rows, labels, dimensions):
    """The summary of one speaker of one recording, with its classified
    ``segments`` (``call_summary`` makes them the longest stretches)."""
    segments, seconds = [], dict.fromkeys(labels, 0.0)
    first = dict.fromkeys(labels)
    weighted = {d: [0.0, 0.0] for d in dimensions}
    errors = []
    for row in rows:
        if row.get("error"):
            errors.append(row["error"])
            continue
        start, end = _number(row["start"]), _number(row["end"])
        label = row["label"]
        segments.append((start, end, label))
        seconds[label] += end - start
        if first[label] is None or start < first[label]:
            first[label] = start
        for d in dimensions:
            value = _number(row.get(d))
            if value is not None:
                weighted[d][0] += value * (end - start)
                weighted[d][1] += end - start
    total = sum(seconds.values())
    return {
        "path": path,
        "speaker": who,
        "speech_seconds": total,
        "share": {c: seconds[c] / total if total else 0.0 for c in labels},
        "first": first,
        "segments": sorted(segments),
        "means": {
            d: weighted[d][0] / weighted[d][1] if weighted[d][1] else None
            for d in dimensions
        },
        "error": "" if segments else (errors[0] if errors else ""),
    }


def summary_columns(labels, dimensions=()):
    """The columns of the summary CSV.

    Arguments
    ---------
    labels : list of str
        The classes.
    dimensions : list of str
        The dimension columns the rows carry.

    Returns
    -------
    list of str
        The column names.

    Example
    -------
    >>> summary_columns(["neu", "sad"], ["arousal"])
    ['path', 'speaker', 'speech_seconds', 'share_neu', 'share_sad',
     'longest_neu_start', 'longest_neu_end', 'longest_sad_start',
     'longest_sad_end', 'first_neu', 'first_sad', 'mean_arousal', 'error']
    """
    columns = ["path", "speaker", "speech_seconds"]
    columns += [f"share_{c}" for c in labels]
    for c in labels:
        columns += [f"longest_{c}_start", f"longest_{c}_end"]
    columns += [f"first_{c}" for c in labels]
    columns += [f"mean_{d}" for d in dimensions]
    return columns + ["error"]


def summary_text(summary, labels):
    """The summary CSV's text.

    Arguments
    ---------
    summary : list of dict
        As ``call_summary`` returns it.
    labels : list of str
        The classes.

    Returns
    -------
    str
        CSV text (header and one line per entry).

    Example
    -------
    >>> rows = [{"path": "c", "start": "1.0", "end": "3.5", "label": "sad",
    ...          "arousal": "0.5", "error": ""}]
    >>> print(summary_text(call_summary(rows, ["sad"]), ["sad"]), end="")
    path,speaker,speech_seconds,share_sad,longest_sad_start,longest_sad_end,first_sad,mean_arousal,error
    c,,2.500,1.0000,1.000,3.500,1.000,0.5000,
    """  # noqa: E501
    dimensions = list(summary[0]["means"]) if summary else []

    def seconds(value):
        """A time cell (empty for None)."""
        return "" if value is None else f"{value:.3f}"

    lines = [summary_columns(labels, dimensions)]
    for entry in summary:
        line = [entry["path"], entry["speaker"]]
        line.append(f"{entry['speech_seconds']:.3f}")
        line += [f"{entry['share'][c]:.4f}" for c in labels]
        for c in labels:
            stretch = entry["longest"][c] or (None, None)
            line += [seconds(stretch[0]), seconds(stretch[1])]
        line += [seconds(entry["first"][c]) for c in labels]
        for d in dimensions:
            mean = entry["means"][d]
            line.append("" if mean is None else f"{mean:.4f}")
        line.append(entry["error"])
        lines.append(line)
    return csv_text(lines)


def write_summary(path, rows, labels, max_gap=0.5):
    """Writes the summary CSV of a run's rows, atomically.

    Arguments
    ---------
    path : str
        The summary CSV (``--summary``).
    rows : list of dict
        The run's segment rows.
    labels : list of str
        The classes.
    max_gap : float
        Longest silence inside a continuous stretch, in seconds.

    Returns
    -------
    list of dict
        The summary (``call_summary``).

    Example
    -------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "summary.csv")
    >>> rows = [{"path": "c", "start": 0, "end": 1, "label": "sad",
    ...          "error": ""}]
    >>> len(write_summary(out, rows, ["sad"])), os.listdir(os.path.dirname(out))
    (1, ['summary.csv'])
    """
    import os

    from speechbrain_gemo.io import write_text_atomic

    summary = call_summary(rows, labels, max_gap)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_text_atomic(path, summary_text(summary, labels))
    return summary
