"""Results of a batch run written as each input finishes, so that a run
killed at any moment (even SIGKILL) continues where it stopped.

Each process (rank) of a run on ``OUT`` keeps two files beside it:

* ``OUT.part<rank>.csv``: the CSV header, then the rows of each finished
  input, appended (readable while the run goes);
* ``OUT.part<rank>.progress``: a JSON line with the run's options
  (``signature``), then one JSON line per finished input: its index in the
  input list, its path and the byte range of its rows in the ``.csv``.

Rows are flushed and fsynced before their progress line, which is
flushed and fsynced in turn: an input counts as finished only once its
progress line is whole. On restart, a torn last progress line is cut off,
and so are rows past the last finished input, so nothing is duplicated.
``finalize`` assembles the rows of every rank in input order under a
temporary name, renames it to ``OUT`` (atomic, with the permissions a
plain ``open`` gives, like every output) and removes the parts.

Authors
 * speechbrain-gemo developers 2026
"""

import glob
import json
import os
import re

from speechbrain_gemo.io import write_atomic


class JournalMismatch(RuntimeError):
    """Left-over partial results of a run with other options.

    Arguments
    ---------
    message : str
        What differs and what to do.

    Example
    -------
    >>> str(JournalMismatch("x"))
    'x'
    """


def part_paths(out, rank):
    """The partial CSV and the progress file of one rank.

    Arguments
    ---------
    out : str
        The final CSV.
    rank : int
        The process.

    Returns
    -------
    tuple of str
        ``(rows, progress)``.

    Example
    -------
    >>> part_paths("/r/p.csv", 1)
    ('/r/p.csv.part1.csv', '/r/p.csv.part1.progress')
    """
    return f"{out}.part{rank}.csv", f"{out}.part{rank}.progress"


def _ranks_on_disk(out):
    """The ranks that left progress files for ``out``."""
    pattern = re.compile(re.escape(os.path.basename(out)) + r"\.part(\d+)\.")
    ranks = set()
    for name in glob.glob(glob.escape(out) + ".part*.progress"):
        match = pattern.match(os.path.basename(name))
        if match:
            ranks.add(int(match.group(1)))
    return sorted(ranks)


def _read_progress(path):
    """The signature, the whole records and the byte length of the whole
    lines of a progress file (a torn last line is ignored)."""
    signature, records, good = None, [], 0
    with open(path, "rb") as f:
        data = f.read()
    for line in data.split(b"\n")[:-1]:  # the last piece has no newline
        try:
            entry = json.loads(line)
        except ValueError:
            break
        if signature is None:
            signature = entry.get("signature")
        else:
            records.append(entry)
        good += len(line) + 1
    return signature, records, good


def _fsync_line(handle, data):
    """Appends bytes, then flushes them to disk."""
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


class Journal:
    """The partial results of one rank (see the module docstring).

    Arguments
    ---------
    out : str
        The final CSV.
    rank : int
        This process.
    signature : dict
        The options the rows depend on; a restart with other options is
        refused instead of mixing results.
    header : str
        The CSV header line (with its newline).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> out = os.path.join(folder, "p.csv")
    >>> journal = Journal(out, 0, {"model": "m"}, "path,label\\n")
    >>> journal.add(1, "b.wav", "b.wav,sad\\n")
    >>> journal.add(0, "a.wav", "a.wav,neu\\n")
    >>> journal.close()
    >>> sorted(Journal.finished(out))
    [0, 1]
    >>> Journal.finalize(out, "path,label\\n", 2)
    >>> print(open(out).read(), end="")
    path,label
    a.wav,neu
    b.wav,sad
    >>> os.listdir(folder)
    ['p.csv']
    """

    def __init__(self, out, rank, signature, header):
        self.out = out
        self.rank = rank
        self.rows_path, self.progress_path = part_paths(out, rank)
        header = header.encode("utf-8")
        folder = os.path.dirname(os.path.abspath(out))
        os.makedirs(folder, exist_ok=True)
        for other in _ranks_on_disk(out):
            found, _, _ = _read_progress(part_paths(out, other)[1])
            if found is not None and found != signature:
                raise JournalMismatch(
                    f"{part_paths(out, other)[1]} holds partial results of "
                    "a run with other options or inputs; run the same "
                    "command again to continue it, or delete "
                    f"{out}.part* to start afresh"
                )
        if os.path.exists(self.progress_path):
            found, records, good = _read_progress(self.progress_path)
        else:
            found, records, good = None, [], 0
        if found is None:
            # A new journal: the header and the signature, then records
            with open(self.rows_path, "wb") as f:
                _fsync_line(f, header)
            with open(self.progress_path, "wb") as f:
                line = json.dumps({"signature": signature}) + "\n"
                _fsync_line(f, line.encode("utf-8"))
        else:
            end = max(
                [r["offset"] + r["length"] for r in records],
                default=len(header),
            )
            size = os.path.getsize(self.rows_path)
            if size < end:
                raise RuntimeError(
                    f"{self.rows_path} is shorter ({size} bytes) than its "
                    f"progress file says ({end}); delete {out}.part* and "
                    "run again"
                )
            # Cut a torn progress line and rows of an unfinished input
            os.truncate(self.progress_path, good)
            os.truncate(self.rows_path, end)
        self._rows = open(self.rows_path, "ab")
        self._progress = open(self.progress_path, "ab")

    def add(self, index, path, text):
        """Records the rows of a finished input.

        Arguments
        ---------
        index : int
            The input's position in the input list.
        path : str
            The input.
        text : str
            Its CSV rows (lines with their newlines).
        """
        data = text.encode("utf-8")
        offset = self._rows.tell()
        _fsync_line(self._rows, data)
        record = {
            "index": index,
            "path": path,
            "offset": offset,
            "length": len(data),
        }
        _fsync_line(self._progress, (json.dumps(record) + "\n").encode())

    def close(self):
        """Closes the files (the journal stays on disk)."""
        self._rows.close()
        self._progress.close()

    @staticmethod
    def finished(out):
        """The inputs finished by any rank of any earlier run on ``out``.

        Arguments
        ---------
        out : str
            The final CSV.

        Returns
        -------
        dict
            Input index to its path.
        """
        done = {}
        for rank in _ranks_on_disk(out):
            _, records, _ = _read_progress(part_paths(out, rank)[1])
            for record in records:
                done.setdefault(record["index"], record["path"])
        return done

    @staticmethod
    def finalize(out, header, count, then=None):
        """Writes ``out`` from the parts of all ranks, in input order,
        atomically, then removes the parts.

        Arguments
        ---------
        out : str
            The final CSV.
        header : str
            The CSV header line (with its newline).
        count : int
            Number of inputs: each index below it must be finished.
        then : callable, optional
            Called with ``out`` once it is written, before the parts are
            removed (e.g. a summary of the rows): a run killed while it
            works still finds every input done when started again.
        """
        pieces = {}
        for rank in _ranks_on_disk(out):
            rows_path, progress_path = part_paths(out, rank)
            _, records, _ = _read_progress(progress_path)
            for record in records:
                pieces.setdefault(record["index"], (rows_path, record))
        missing = [i for i in range(count) if i not in pieces]
        if missing:
            raise RuntimeError(
                f"{len(missing)} inputs have no results in {out}.part* "
                f"(first: index {missing[0]}); run the command again"
            )
        handles = {}

        def write(f):
            """Copies the header and each input's rows, in input order.

            Arguments
            ---------
            f : file
                The temporary file (binary).
            """
            f.write(header.encode("utf-8"))
            for index in range(count):
                rows_path, record = pieces[index]
                if rows_path not in handles:
                    handles[rows_path] = open(rows_path, "rb")
                source = handles[rows_path]
                source.seek(record["offset"])
                f.write(source.read(record["length"]))

        try:
            # temporary name, fsync, rename; permissions as open() gives
            write_atomic(out, write, binary=True)
        finally:
            for handle in handles.values():
                handle.close()
        if then is not None:
            then(out)
        for rank in _ranks_on_disk(out):
            for path in part_paths(out, rank):
                if os.path.exists(path):
                    os.remove(path)
