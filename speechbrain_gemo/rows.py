"""The rows of predictions, one per file or segment: from a model's
``predict_batch`` output (``prediction_fields``) or an error
(``error_text``) to the lines of the output CSV (``csv_columns``,
``format_rows``, ``write_predictions``).

Every writer of predictions (``infer``, the timelines) builds and formats
its rows here, so their CSVs have the same columns and number formats:
``path, [start, end], [speaker], label, score, prob_<class>...,
[gender, gender_score], [arousal, valence, dominance], error``.

Authors
 * speechbrain-gemo developers 2026
"""

import csv
import io
import os

from speechbrain_gemo.io import utf8_text

# Written for models with the dimensional head
DIMENSION_COLUMNS = ("arousal", "valence", "dominance")


def error_text(err):
    """The text of the ``error`` column: the exception's type and the
    reason (the row already names the file).

    Arguments
    ---------
    err : Exception
        The error.

    Returns
    -------
    str
        One line.

    Example
    -------
    >>> error_text(ValueError("a.wav: too short"))
    'ValueError: a.wav: too short'
    """
    message = getattr(err, "reason", None) or " ".join(str(err).split())
    if len(message) > 300:
        message = message[:300] + "..."
    return f"{type(err).__name__}: {message}"


def prediction_fields(out, i):
    """The prediction of item ``i`` of a ``predict_batch`` output (of
    ``GEmoCLAP`` or ``EmotionClassifierONNX``).

    Arguments
    ---------
    out : dict
        As ``predict_batch`` returns it.
    i : int
        The item.

    Returns
    -------
    dict
        ``label``, ``score``, ``probs`` (class to probability), ``error``
        (empty), with a gender branch ``gender`` and ``gender_score``, and
        with the dimensional head ``arousal``, ``valence``, ``dominance``.

    Example
    -------
    >>> import numpy
    >>> out = {"text_lab": ["sad"], "score": numpy.float32([0.7]),
    ...        "labels": ("neu", "sad"), "probs": numpy.float32([[0.3, 0.7]])}
    >>> prediction_fields(out, 0)["probs"]["sad"]
    0.699999988079071
    """
    row = {
        "label": out["text_lab"][i],
        "score": float(out["score"][i]),
        "probs": dict(zip(out["labels"], out["probs"][i].tolist())),
        "error": "",
    }
    if "gender_probs" in out:
        row["gender"] = out["gender_lab"][i]
        row["gender_score"] = float(out["gender_score"][i])
    for dimension in DIMENSION_COLUMNS:
        if dimension in out:
            row[dimension] = float(out[dimension][i])
    return row


def window_row(path, window, fields):
    """The row of a classified window of a stream or a file (see
    ``speechbrain_gemo.streaming``): like a segment's row, its times and
    its channel's role as ``speaker``.

    Arguments
    ---------
    path : str
        The recording or call.
    window : speechbrain_gemo.streaming.Window
        The window (``start``, ``end``, ``speaker``).
    fields : dict
        Its prediction or error (``prediction_fields`` or ``{"error":
        ...}``).

    Returns
    -------
    dict
        ``path``, ``start``, ``end``, ``speaker`` and the fields.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(start=1.0, end=4.0, speaker="agent")
    >>> window_row("call.wav", w, {"error": "x"})
    {'path': 'call.wav', 'start': 1.0, 'end': 4.0, 'speaker': 'agent', \
'error': 'x'}
    """
    row = {
        "path": path,
        "start": window.start,
        "end": window.end,
        "speaker": window.speaker,
    }
    row.update(fields)
    return row


def emotion_event(row):
    """The ``emotion`` event of a streamed window's row, as the server
    sends it.

    Arguments
    ---------
    row : dict
        A classified window's row (see ``window_row``), without error.

    Returns
    -------
    dict
        ``type`` (``emotion``), ``speaker``, ``start``, ``end``,
        ``label``, ``score``, ``probs`` and, with a gender branch,
        ``gender`` and ``gender_score`` (and the dimensions where the
        row has them).

    Example
    -------
    >>> emotion_event({"path": "c", "start": 0.0, "end": 3.0,
    ...     "speaker": "agent", "label": "sad", "score": 0.7,
    ...     "probs": {"neu": 0.3, "sad": 0.7}, "error": ""})["label"]
    'sad'
    """
    event = {"type": "emotion"}
    for key in ("speaker", "start", "end", "label", "score", "probs"):
        event[key] = row[key]
    for key in ("gender", "gender_score") + DIMENSION_COLUMNS:
        if key in row:
            event[key] = row[key]
    return event


def csv_columns(
    labels, gender=False, timeline=False, speaker=False, dimensions=False
):
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
    dimensions : bool
        Add ``arousal``, ``valence`` and ``dominance``.

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
    if dimensions:
        columns += list(DIMENSION_COLUMNS)
    return columns + ["error"]


def csv_text(lines):
    """CSV text of rows of cells (``\\n`` line ends): a cell with a comma,
    a quote, a line feed or a carriage return is quoted, so that the
    ``csv`` module and pandas read back every cell as it was written, and
    text that is not valid UTF-8 is escaped
    (``speechbrain_gemo.io.utf8_text``).

    Arguments
    ---------
    lines : list of list
        The rows (cells are written with ``str``; None as empty).

    Returns
    -------
    str
        One line per row, each ending in ``\\n``.

    Example
    -------
    >>> text = csv_text([["path", "n"], ["a\\rb.wav", 1], ["c,d.wav", None]])
    >>> text
    'path,n\\n"a\\rb.wav",1\\n"c,d.wav",\\n'
    >>> list(csv.reader(io.StringIO(text, newline="")))[1:]
    [['a\\rb.wav', '1'], ['c,d.wav', '']]
    """
    # The csv module quotes the characters of its line terminator only:
    # with "\r\n" it quotes cells holding either; the terminator itself is
    # then cut to "\n" row by row.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    out = []
    for row in lines:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            ["" if cell is None else utf8_text(str(cell)) for cell in row]
        )
        out.append(buffer.getvalue()[:-2] + "\n")
    return "".join(out)


def format_rows(
    rows, labels, gender=False, timeline=False, speaker=False, dimensions=False
):
    """The CSV lines of prediction rows (see ``csv_columns``).

    Arguments
    ---------
    rows : list of dict
        As ``batch_runs.run_inference`` or ``timeline.recording_timeline``
        return them.
    labels : list of str
        The classes.
    gender : bool
        Write the gender columns.
    timeline : bool
        Write ``start`` and ``end``.
    speaker : bool
        Write ``speaker``.
    dimensions : bool
        Write ``arousal``, ``valence`` and ``dominance``.

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
        if dimensions:
            for name in DIMENSION_COLUMNS:
                has = ok and name in row
                line.append(f"{row[name]:.6f}" if has else "")
        line.append(row.get("error", ""))
        lines.append(line)
    return csv_text(lines)


def write_predictions(rows, path, labels, gender=False, **layout):
    """Writes the prediction rows as CSV, atomically.

    Arguments
    ---------
    rows : list of dict
        As ``batch_runs.run_inference`` returns them.
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
    header = csv_text([csv_columns(labels, gender, **layout)])
    write_text_atomic(
        path, header + format_rows(rows, labels, gender, **layout)
    )
