"""What the page reads and keeps in ``--out_dir``: the finished calls
(``Archive``: each ``<call_id>.json`` with its ``<call_id>.csv`` and
``<call_id>_summary.csv``, listed newest first by ``newest_first``) and,
with ``--keep_audio`` (off by default: call audio is personal data), each
call's audio (``AudioKeeper``): the bytes as received go to a temporary
file while the call streams and become ``<call_id>.wav`` (16-bit PCM, the
call's rate and channels) when it ends; ``remove_stale_audio`` removes
what a killed server left half-kept.

Authors
 * speechbrain-gemo developers 2026
"""

import csv
import json
import logging
import os
import re

from speechbrain_gemo.serve.alerts import replay_alerts
from speechbrain_gemo.serve.calls import check_call_id

logger = logging.getLogger("speechbrain_gemo.serve")

MAX_LISTED = 500


class AudioKeeper:
    """Keeps a streamed call's audio (``--keep_audio``): the bytes as
    received go to a temporary file in ``out_dir``; ``close`` turns them
    into ``<call_id>.wav`` (16-bit PCM; G.711 decoded as soundfile decodes
    it, which 16 bits hold exactly), written under a temporary name and
    renamed. A file that cannot be written costs the call its audio, never
    the call.

    Arguments
    ---------
    out_dir : str
        The folder.
    call_id : str
        The call.
    encoding : str
        ``pcm_s16le``, ``mulaw`` or ``alaw``.
    sample_rate : int
        Its rate.
    channels : int
        Interleaved channels.

    Example
    -------
    >>> import tempfile, soundfile
    >>> folder = tempfile.mkdtemp()
    >>> keeper = AudioKeeper(folder, "c1", "mulaw", 8000, 2)
    >>> keeper.write(bytes([0x00, 0xFF, 0x80]))  # half a frame at the end
    >>> path = keeper.close()
    >>> soundfile.read(path, dtype="int16")[0].tolist(), os.listdir(folder)
    ([[-32124, 0]], ['c1.wav'])
    """

    def __init__(self, out_dir, call_id, encoding, sample_rate, channels):
        from speechbrain_gemo.streaming import BYTES_PER_SAMPLE

        self.path = os.path.join(out_dir, f"{check_call_id(call_id)}.wav")
        self.part = os.path.join(
            out_dir, f".{call_id}.{os.getpid()}.audio.part"
        )
        self.encoding, self.sample_rate = encoding, int(sample_rate)
        self.channels = int(channels)
        self.frame_bytes = BYTES_PER_SAMPLE[encoding] * self.channels
        try:
            os.makedirs(out_dir, exist_ok=True)
            self._file = open(self.part, "wb")
        except OSError as err:
            logger.error("call %s: audio not kept: %s", call_id, err)
            self._file = None

    def write(self, data):
        """Appends received bytes.

        Arguments
        ---------
        data : bytes
            The next piece of the call's audio.
        """
        if self._file is None:
            return
        try:
            self._file.write(data)
        except OSError as err:
            logger.error("%s: audio not kept: %s", self.path, err)
            self.discard()

    def close(self):
        """Writes ``<call_id>.wav`` from what was received (whole frames).

        Returns
        -------
        str or None
            The file, or None when the audio could not be kept.
        """
        import numpy as np
        import soundfile

        from speechbrain_gemo.streaming import codec_table

        if self._file is None:
            return None
        self._file.close()
        self._file = None
        tmp = f"{self.path}.tmp-{os.getpid()}.wav"
        block = self.frame_bytes * 65536
        try:
            with (
                open(self.part, "rb") as source,
                soundfile.SoundFile(
                    tmp,
                    "w",
                    self.sample_rate,
                    self.channels,
                    "PCM_16",
                    format="WAV",
                ) as out,
            ):
                while True:
                    data = source.read(block)
                    data = data[
                        : len(data) // self.frame_bytes * self.frame_bytes
                    ]
                    if not data:
                        break
                    if self.encoding == "pcm_s16le":
                        values = np.frombuffer(data, dtype="<i2")
                    else:
                        codes = np.frombuffer(data, dtype=np.uint8)
                        table = codec_table(self.encoding) * 32768.0
                        values = np.round(table[codes]).astype(np.int16)
                    out.write(values.reshape(-1, self.channels))
            os.replace(tmp, self.path)
        except (OSError, RuntimeError) as err:  # soundfile: RuntimeError
            logger.error("%s: audio not kept: %s", self.path, err)
            _remove(tmp)
            return None
        finally:
            _remove(self.part)
        return self.path

    def discard(self):
        """Drops what was kept (a call given up, a file that failed)."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
        _remove(self.part)


def _remove(path):
    """Removes a file if it is there."""
    try:
        os.remove(path)
    except OSError:
        pass


def _float(text):
    """A CSV cell as a float (None when empty)."""
    return float(text) if text not in (None, "") else None


def read_rows(path, labels):
    """A call's rows from its ``<call_id>.csv``.

    Arguments
    ---------
    path : str
        The CSV.
    labels : list of str
        The classes (its ``prob_<class>`` columns).

    Returns
    -------
    list of dict
        ``speaker``, ``start``, ``end``, ``label``, ``score``, ``probs``,
        ``error``.
    """
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for line in csv.DictReader(f):
            error = line.get("error") or ""
            probs = None
            if not error:
                probs = {
                    label: _float(line.get(f"prob_{label}")) for label in labels
                }
            rows.append(
                {
                    "speaker": line.get("speaker") or "",
                    "start": _float(line.get("start")),
                    "end": _float(line.get("end")),
                    "label": line.get("label") or None,
                    "score": _float(line.get("score")),
                    "probs": probs,
                    "error": error,
                }
            )
    return [r for r in rows if r["start"] is not None]


def read_summary(path, labels):
    """A call's ``<call_id>_summary.csv`` (``summaries.summary_text``:
    one line per role) as the ``summary`` event's fields
    (``calls.summary_fields``).

    Arguments
    ---------
    path : str
        The CSV.
    labels : list of str
        The classes.

    Returns
    -------
    dict
        ``{"speakers": {role: {"speech_seconds": s, "share": {label: f},
        "first": {label: s or None}, "longest": {label: [start, end] or
        None}}}}``.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.summaries import call_summary, summary_text
    >>> rows = [{"path": "c", "start": 0.0, "end": 2.0, "speaker": "agent",
    ...          "label": "sad", "error": ""}]
    >>> path = os.path.join(tempfile.mkdtemp(), "c_summary.csv")
    >>> _ = open(path, "w").write(
    ...     summary_text(call_summary(rows, ["neu", "sad"]), ["neu", "sad"]))
    >>> read_summary(path, ["neu", "sad"])["speakers"]["agent"]["share"]
    {'neu': 0.0, 'sad': 1.0}
    """
    speakers = {}
    with open(path, newline="", encoding="utf-8") as f:
        for line in csv.DictReader(f):
            longest = {}
            for label in labels:
                start = _float(line.get(f"longest_{label}_start"))
                end = _float(line.get(f"longest_{label}_end"))
                longest[label] = None if start is None else [start, end]
            speakers[line["speaker"]] = {
                "speech_seconds": float(line["speech_seconds"]),
                "share": {
                    label: float(line[f"share_{label}"]) for label in labels
                },
                "first": {
                    label: _float(line.get(f"first_{label}"))
                    for label in labels
                },
                "longest": longest,
            }
    return {"speakers": speakers}


def shares_of(summary):
    """Per role, the share of each class.

    Arguments
    ---------
    summary : dict
        ``summary_fields``' result.

    Returns
    -------
    dict
        ``{role: {label: share}}``.

    Example
    -------
    >>> shares_of({"speakers": {"a": {"speech_seconds": 1.0,
    ...                               "share": {"sad": 1.0}}}})
    {'a': {'sad': 1.0}}
    """
    return {
        role: dict(info["share"]) for role, info in summary["speakers"].items()
    }


def row_of_event(row):
    """A row (or an ``emotion`` event) as the page draws it.

    Arguments
    ---------
    row : dict
        A row of ``speechbrain_gemo.rows``.

    Returns
    -------
    dict
        ``speaker``, ``start``, ``end``, ``label``, ``score``, ``probs``,
        ``error``.

    Example
    -------
    >>> row_of_event({"speaker": "a", "start": 0.0, "end": 3.0,
    ...     "error": "x"})["probs"] is None
    True
    """
    error = row.get("error") or ""
    return {
        "speaker": row.get("speaker") or "",
        "start": row.get("start"),
        "end": row.get("end"),
        "label": None if error else row.get("label"),
        "score": None if error else row.get("score"),
        "probs": None if error else row.get("probs"),
        "error": error,
    }


class Archive:
    """The finished calls of ``--out_dir``: each ``<call_id>.json`` with
    its ``<call_id>_summary.csv`` and ``<call_id>.csv``, read once per
    version of the file (a cache keyed by modification time and size).

    Arguments
    ---------
    out_dir : str or None
        The folder (None: no finished calls).
    labels : list of str
        The classes.
    rules : list of AlertRule
        Alert rules (run over each call's rows).
    """

    def __init__(self, out_dir, labels, rules):
        self.out_dir, self.labels, self.rules = out_dir, list(labels), rules
        self._cache = {}  # call_id -> (stamp, entry)

    def files(self, call_id):
        """The files of a call.

        Arguments
        ---------
        call_id : str
            A checked call id.

        Returns
        -------
        dict
            ``json``, ``csv``, ``summary``, ``audio`` paths.
        """
        stem = os.path.join(self.out_dir, check_call_id(call_id))
        return {
            "json": f"{stem}.json",
            "csv": f"{stem}.csv",
            "summary": f"{stem}_summary.csv",
            "audio": f"{stem}.wav",
        }

    def entry(self, call_id):
        """A finished call's list entry, or None when it is not there or
        its files cannot be read.

        Arguments
        ---------
        call_id : str
            The call.

        Returns
        -------
        dict or None
            See ``Page.calls``.
        """
        if not self.out_dir:
            return None
        try:
            files = self.files(call_id)
            info = os.stat(files["json"])
        except (ValueError, OSError):
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._cache.get(call_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            with open(files["json"], encoding="utf-8") as f:
                record = json.load(f)
            summary = read_summary(files["summary"], self.labels)
            rows = read_rows(files["csv"], self.labels)
        except (OSError, ValueError, KeyError, TypeError) as err:
            logger.warning("%s: not listed (%s)", files["json"], err)
            self._cache[call_id] = (stamp, None)
            return None
        entry = {
            "call_id": call_id,
            "live": False,
            "source": record.get("source"),
            "roles": record.get("roles") or [],
            "started_at": record.get("started_at"),
            "ended_at": record.get("ended_at"),
            "seconds": record.get("seconds"),
            "ended": record.get("ended"),
            "window": record.get("window"),
            "hop": record.get("hop"),
            "shares": shares_of(summary),
            "alerts": replay_alerts(rows, self.rules, call_id),
            "audio": os.path.exists(files["audio"]),
        }
        self._cache[call_id] = (stamp, entry)
        return entry

    def ids(self):
        """The ids of the calls in the folder.

        Returns
        -------
        list of str
            Call ids (names of ``*.json`` files that are call ids).
        """
        if not self.out_dir:
            return []
        try:
            names = os.listdir(self.out_dir)
        except OSError:
            return []
        found = []
        for name in names:
            if name.endswith(".json"):
                try:
                    found.append(check_call_id(name[: -len(".json")]))
                except ValueError:
                    continue
        return found

    def detail(self, call_id):
        """A finished call's rows, summary and alerts.

        Arguments
        ---------
        call_id : str
            The call.

        Returns
        -------
        dict or None
            ``call`` (its entry), ``rows``, ``summary``, ``alerts``.
        """
        entry = self.entry(call_id)
        if entry is None:
            return None
        files = self.files(call_id)
        try:
            rows = read_rows(files["csv"], self.labels)
            summary = read_summary(files["summary"], self.labels)
        except (OSError, ValueError, KeyError) as err:
            logger.warning("%s: cannot be shown (%s)", files["csv"], err)
            return None
        return {
            "call": entry,
            "rows": rows,
            "summary": summary,
            "alerts": entry["alerts"],
        }


def newest_first(live, archive, limit=MAX_LISTED):
    """Live and finished calls, newest first; a finished call whose
    files cannot be read is left out (and logged), never the list.

    Arguments
    ---------
    live : dict
        Call id to the entry of a live call.
    archive : Archive
        The finished calls.
    limit : int
        Most calls listed.

    Returns
    -------
    list of dict
        ``call_id``, ``live``, ``source``, ``roles``, ``started_at``,
        ``ended_at``, ``seconds``, ``ended``, ``window``, ``hop``,
        ``shares`` (``{role: {label: share}}``), ``alerts``, ``audio``.

    Example
    -------
    >>> live = {"c2": {"call_id": "c2", "started_at": 5.0}}
    >>> [e["call_id"] for e in newest_first(live, Archive(None, [], []))]
    ['c2']
    """
    entries = list(live.values())
    for call_id in archive.ids():
        if call_id not in live:
            entry = archive.entry(call_id)
            if entry is not None:
                entries.append(entry)
    entries.sort(key=lambda e: e.get("started_at") or 0.0, reverse=True)
    return entries[:limit]


def _process_runs(pid):
    """Whether a process with this pid runs (any user's)."""
    import psutil

    try:
        return psutil.pid_exists(pid)
    except (OverflowError, ValueError):
        return False  # never a pid


def remove_stale_audio(out_dir):
    """Removes the audio a killed server left half-kept in ``out_dir``
    (``.<call_id>.<pid>.audio.part`` of a process that is gone): personal
    data of calls that have no files.

    Arguments
    ---------
    out_dir : str
        The folder.

    Returns
    -------
    list of str
        The files removed.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> mine = os.path.join(folder, f".c1.{os.getpid()}.audio.part")
    >>> gone = os.path.join(folder, ".c2.999999999.audio.part")
    >>> for path in (mine, gone):
    ...     _ = open(path, "wb").write(b"x")
    >>> remove_stale_audio(folder) == [gone], os.path.exists(mine)
    (True, True)
    """
    removed = []
    try:
        names = os.listdir(out_dir)
    except OSError:
        return removed
    for name in names:
        found = re.match(r"^\.(.+)\.(\d+)\.audio\.part$", name)
        if not found:
            continue
        if _process_runs(int(found.group(2))):
            continue  # its server still runs
        path = os.path.join(out_dir, name)
        _remove(path)
        removed.append(path)
        logger.info("removed %s: audio of a call its server never ended", path)
    return removed
