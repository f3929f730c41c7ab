"""Speech segments of long recordings: reading them from diarization
output (RTTM) or a CSV list, and fitting them into a duration range.

A segment is a ``Segment(start, end, speaker)`` in seconds; ``speaker`` is
None when the source does not say who speaks.

Authors
 * speechbrain-gemo developers 2026
"""

import math
import os
from typing import NamedTuple

from speechbrain_gemo.io import (
    ListedPaths,
    read_csv_table,
    utf8_error,
    warn,
)

# A segment CSV's column that puts segments on a channel (a role)
CHANNEL_COLUMN = "channel"


class Segment(NamedTuple):
    """A stretch of a recording, in seconds.

    Arguments
    ---------
    start : float
        Start time in seconds.
    end : float
        End time in seconds (> start).
    speaker : str, optional
        Who speaks (None: unknown).

    Example
    -------
    >>> Segment(1.0, 2.5, "A").end
    2.5
    """

    start: float
    end: float
    speaker: str | None = None


def recording_id(path):
    """The name that RTTM files use for a recording: its file name without
    folder and extension.

    Arguments
    ---------
    path : str
        An audio file path.

    Returns
    -------
    str
        The file id.

    Example
    -------
    >>> recording_id("/calls/2024/call_07.flac")
    'call_07'
    """
    return os.path.splitext(os.path.basename(path))[0]


def _checked(source, where, start, end):
    """Parses and checks a (start, end) pair of a segment list entry;
    None for a segment of zero length (diarization tools write some)."""
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"{source}, {where}: the {name} cell is empty")
    try:
        start, end = float(start), float(end)
    except ValueError as err:
        raise ValueError(
            f"{source}, {where}: start and end must be numbers "
            f"(seconds), got {start!r}, {end!r}"
        ) from err
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0:
        raise ValueError(
            f"{source}, {where}: need finite times with start "
            f">= 0, got {start}, {end}"
        )
    if end == start:
        return None
    if end < start:
        raise ValueError(
            f"{source}, {where}: end ({end}) must be after start ({start})"
        )
    return start, end


def _report_empty(source, empty):
    """Warns about the zero-length segments that were left out."""
    if empty:
        shown = ", ".join(str(n) for n in empty[:5])
        more = ", ..." if len(empty) > 5 else ""
        warn(
            f"{source}: {len(empty)} segment(s) of zero length left out "
            f"(lines {shown}{more})"
        )


def read_rttm(path):
    """Reads the ``SPEAKER`` lines of an RTTM file (what diarization tools
    such as pyannote.audio write), UTF-8 with or without a byte-order
    mark. Lines of zero duration are left out with a warning.

    Arguments
    ---------
    path : str
        The RTTM file: ``SPEAKER <file-id> <channel> <start> <duration>
        <NA> <NA> <speaker> <NA> <NA>`` per line; other line types and
        ``#`` comments are skipped.

    Returns
    -------
    dict
        File id to its list of ``Segment``, sorted by start.

    Raises
    ------
    ValueError
        For a malformed line (its number is named).

    Example
    -------
    >>> import tempfile
    >>> rttm = os.path.join(tempfile.mkdtemp(), "x.rttm")
    >>> _ = open(rttm, "w").write(
    ...     "SPEAKER call 1 3.0 1.5 <NA> <NA> B <NA> <NA>\\n"
    ...     "SPEAKER call 1 0.5 2.0 <NA> <NA> A <NA> <NA>\\n")
    >>> read_rttm(rttm)["call"]
    [Segment(start=0.5, end=2.5, speaker='A'),
     Segment(start=3.0, end=4.5, speaker='B')]
    """
    found, empty = {}, []
    with open(path, encoding="utf-8-sig") as f, utf8_error(path):
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if fields[0] != "SPEAKER":
                continue
            if len(fields) < 8:
                raise ValueError(
                    f"{path}, line {number}: an RTTM SPEAKER line has 10 "
                    "fields (SPEAKER <file-id> <channel> <start> <duration> "
                    f"<NA> <NA> <speaker> <NA> <NA>), got {len(fields)}"
                )
            try:
                start, duration = float(fields[3]), float(fields[4])
            except ValueError as err:
                raise ValueError(
                    f"{path}, line {number}: start and duration must be "
                    f"numbers (seconds), got {fields[3]!r}, {fields[4]!r}"
                ) from err
            times = _checked(path, f"line {number}", start, start + duration)
            if times is None:
                empty.append(number)
                continue
            found.setdefault(fields[1], []).append(Segment(*times, fields[7]))
    _report_empty(path, empty)
    return {key: sorted(value) for key, value in found.items()}


def has_channel_column(path):
    """Whether a segment list is a CSV with a ``channel`` column.

    Arguments
    ---------
    path : str
        The segment list (``--segments``: CSV or RTTM).

    Returns
    -------
    bool
        True for a CSV with that column.

    Example
    -------
    >>> import tempfile
    >>> listing = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(listing, "w").write("path,start,end,Channel\\na.wav,0,1,2")
    >>> has_channel_column(listing)
    True
    """
    if not path.lower().endswith(".csv"):
        return False
    return CHANNEL_COLUMN in read_csv_table(path, ("start", "end")).columns


def read_segment_csv(path, data_root=None):
    """Reads a CSV list of segments: ``path,start,end[,speaker]``, as
    every list is read (``speechbrain_gemo.io.read_csv_table``: UTF-8 with
    or without a byte-order mark; relative paths are relative to the
    CSV's folder, see ``speechbrain_gemo.io.ListedPaths``). Rows of zero
    length are left out with a warning.

    A ``channel`` column (a channel's number, 1-based, or its name of
    ``infer --channels``) puts each segment on a channel of a recording
    whose channels are roles: its cell takes the place of the speaker
    (the channel's name becomes the speaker; see
    ``speechbrain_gemo.timeline.on_channels``).

    Arguments
    ---------
    path : str
        The CSV file (header with ``path`` (or ``wav`` / ``file``),
        ``start``, ``end`` and optionally ``speaker`` or ``channel``).
    data_root : str, optional
        Replaces ``{data_root}`` / ``$data_root`` in the paths.

    Returns
    -------
    dict
        Recording path (resolved) to its list of ``Segment``, sorted by
        start.

    Raises
    ------
    ValueError
        For a missing column, or a row with an empty or bad cell (its
        line is named).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> listing = os.path.join(folder, "s.csv")
    >>> _ = open(listing, "w").write("path,start,end\\na.wav,0,1.5\\n")
    >>> open(os.path.join(folder, "a.wav"), "w").close()
    >>> {os.path.relpath(k, folder): v
    ...  for k, v in read_segment_csv(listing).items()}
    {'a.wav': [Segment(start=0.0, end=1.5, speaker=None)]}
    """
    table = read_csv_table(path, ("start", "end"))
    columns = table.columns
    column = next((c for c in ("path", "wav", "file") if c in columns), 0)
    if not column or not {"start", "end"} <= set(columns):
        raise ValueError(
            f"{path}: a segment list needs the columns path, start, end "
            f"(and optionally speaker), got {table.header}"
        )
    paths = ListedPaths(path, data_root)
    found, empty = {}, []
    for number, row in table.rows:
        where = f"line {number}"
        if not row[column]:
            raise ValueError(f"{path}, {where}: the {column} cell is empty")
        times = _checked(path, where, row["start"], row["end"])
        if times is None:
            empty.append(number)
            continue
        audio = paths.resolve(row[column], where)
        speaker = row.get(CHANNEL_COLUMN) or row.get("speaker") or None
        if CHANNEL_COLUMN in columns and speaker is None:
            raise ValueError(
                f"{path}, {where}: the {CHANNEL_COLUMN} cell is empty (a "
                "channel's number, 1-based, or its name)"
            )
        found.setdefault(audio, []).append(Segment(*times, speaker))
    _report_empty(path, empty)
    for text in paths.warnings():
        warn(text)
    return {key: sorted(value, key=_by_time) for key, value in found.items()}


def _by_time(segment):
    """Sort key of a segment: time, then speaker (None first)."""
    return (segment.start, segment.end, segment.speaker or "")


def fit_segments(segments, min_seconds, max_seconds, max_gap, duration=None):
    """Brings segments into a duration range: a segment shorter than
    ``min_seconds`` is merged with the next one of the same speaker when
    the silence between them is at most ``max_gap`` and the result is no
    longer than ``max_seconds``; a segment longer than ``max_seconds`` is
    cut into equal parts. Segments are clipped to the recording.

    Arguments
    ---------
    segments : list of Segment
        The segments (any order).
    min_seconds : float
        Target minimum duration (shorter segments that cannot be merged
        are kept as they are).
    max_seconds : float
        Maximum duration.
    max_gap : float
        Longest silence, in seconds, that a merge may bridge.
    duration : float, optional
        Length of the recording: segments are clipped to it and those
        starting after it dropped.

    Returns
    -------
    list of Segment
        Sorted by start.

    Example
    -------
    >>> fit_segments(
    ...     [Segment(0.0, 0.4), Segment(0.6, 1.5), Segment(5.0, 12.0)],
    ...     min_seconds=1.0, max_seconds=4.0, max_gap=0.5)
    [Segment(start=0.0, end=1.5, speaker=None),
     Segment(start=5.0, end=8.5, speaker=None),
     Segment(start=8.5, end=12.0, speaker=None)]
    """
    if not 0 < max_seconds or min_seconds > max_seconds or max_gap < 0:
        raise ValueError(
            "need 0 < max_seconds, min_seconds <= max_seconds and "
            f"max_gap >= 0, got {min_seconds}, {max_seconds}, {max_gap}"
        )
    clipped = []
    for seg in sorted(segments, key=_by_time):
        end = seg.end if duration is None else min(seg.end, duration)
        if end > seg.start:
            clipped.append(Segment(seg.start, end, seg.speaker))
    # Merge per speaker so that overlapping speakers stay apart
    merged = []
    last = {}
    for seg in clipped:
        previous = last.get(seg.speaker)
        if previous is not None:
            gap = seg.start - merged[previous].end
            head = merged[previous]
            short = (head.end - head.start < min_seconds) or (
                seg.end - seg.start < min_seconds
            )
            if (
                short
                and gap <= max_gap
                and max(seg.end, head.end) - head.start <= max_seconds
            ):
                merged[previous] = Segment(
                    head.start, max(seg.end, head.end), seg.speaker
                )
                continue
        last[seg.speaker] = len(merged)
        merged.append(seg)
    out = []
    for seg in merged:
        length = seg.end - seg.start
        parts = max(1, math.ceil(length / max_seconds - 1e-9))
        step = length / parts
        for k in range(parts):
            end = seg.end if k == parts - 1 else seg.start + (k + 1) * step
            out.append(Segment(seg.start + k * step, end, seg.speaker))
    return sorted(out, key=_by_time)


def segments_of_inputs(source, paths, data_root=None):
    """The segments of each input, from an RTTM file (recordings named by
    ``recording_id``; two inputs of a name the RTTM uses are refused as
    ambiguous) or a segment CSV (by path).

    Arguments
    ---------
    source : str
        The RTTM or ``.csv`` file (``infer --segments``).
    paths : list of str
        The inputs; with a CSV, none means the CSV's recordings.
    data_root : str, optional
        Replaces ``{data_root}`` in the CSV's paths.

    Returns
    -------
    segments : list
        Per input, its list of Segment (None where the file names none).
    paths : list of str
        The inputs (from the CSV when none were given).
    speaker : bool
        Whether the segments carry speakers.

    Example
    -------
    >>> import tempfile
    >>> rttm = os.path.join(tempfile.mkdtemp(), "d.rttm")
    >>> with open(rttm, "w") as f:
    ...     _ = f.write("SPEAKER call 1 0.5 2.0 <NA> <NA> A <NA> <NA>")
    >>> found, paths, speaker = segments_of_inputs(
    ...     rttm, ["calls/call.wav", "other.wav"])
    >>> found, speaker
    ([[Segment(start=0.5, end=2.5, speaker='A')], None], True)
    """
    from speechbrain_gemo.inputs import path_key

    if source.lower().endswith(".csv"):
        table = read_segment_csv(source, data_root)
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
        names = {}
        for p in paths:
            names.setdefault(recording_id(p), {})[path_key(p)] = p
        shared = {
            name: list(files.values())
            for name, files in names.items()
            if name in table and len(files) > 1
        }
        if shared:
            name, files = next(iter(shared.items()))
            raise ValueError(
                f"{source} names recordings by file name only, and "
                f"{len(shared)} of its names belong to several inputs "
                f"(first: {name!r} is {' and '.join(files)}): which one its "
                "segments are of is ambiguous. Run those recordings "
                "separately, or give the segments as a CSV "
                "path,start,end[,speaker]"
            )
        found = [table.get(recording_id(p)) for p in paths]
    speaker = any(
        seg.speaker is not None for segs in found if segs for seg in segs
    )
    return found, paths, speaker
