"""Files in and out: atomic writers, and the one way lists are read.

Atomic writers: a file is complete or absent, never half-written. Each
writer writes to a temporary file in the destination's folder,
flushes it to disk, then renames it over the destination
(``os.replace``, atomic on POSIX and Windows within one file system). An
interruption at any point leaves the destination as it was (absent or the
previous version) and removes the temporary file.

Lists (a corpus CSV, ``--labels``, input lists, segment lists) are read
by :func:`read_csv_table` (UTF-8 with or without a byte-order mark;
commas, semicolons or tabs) and
the paths in them resolved by :class:`ListedPaths` (relative paths are
relative to the list's folder). Text that may hold a file name that is
not valid UTF-8 is made writable by :func:`utf8_text`.

Authors
 * speechbrain-gemo developers 2026
"""

import contextlib
import csv
import json
import os
import sys
import tempfile
from typing import NamedTuple

# The delimiters a list may use (spreadsheets in many locales write
# semicolons)
CSV_DELIMITERS = ",;\t"


def write_json_atomic(path, obj):
    """Writes JSON to a temporary file in the same folder, then renames it.

    An interrupted write leaves ``path`` as it was (absent or the previous
    version), never partial, and removes its temporary file.

    Arguments
    ---------
    path : str
        Destination file.
    obj : object
        Anything ``json.dump`` accepts.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "x.json")
    ...     write_json_atomic(path, {"a": 1})
    ...     print(open(path).read(), os.listdir(tmp))
    {
      "a": 1
    } ['x.json']
    """
    write_atomic(path, lambda f: json.dump(obj, f, indent=2))


def write_text_atomic(path, text):
    """Writes text to a temporary file in the same folder, then renames it
    (the mechanism of :func:`write_json_atomic`).

    Arguments
    ---------
    path : str
        Destination file.
    text : str
        The content (UTF-8; ``\\n`` line ends are written as they are on
        POSIX systems).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "x.md")
    ...     write_text_atomic(path, "# title\\n")
    ...     print(repr(open(path).read()), os.listdir(tmp))
    '# title\\n' ['x.md']
    """
    write_atomic(path, lambda f: f.write(text))


def write_bytes_atomic(path, data):
    """Writes bytes to a temporary file in the same folder, then renames it
    (the mechanism of :func:`write_json_atomic`).

    Arguments
    ---------
    path : str
        Destination file.
    data : bytes
        The content.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "x.png")
    ...     write_bytes_atomic(path, b"PNG")
    ...     print(open(path, "rb").read(), os.listdir(tmp))
    b'PNG' ['x.png']
    """
    write_atomic(path, lambda f: f.write(data), binary=True)


def write_wav_atomic(path, samples, sample_rate, subtype="PCM_16"):
    """Writes a WAV file to a temporary file in the same folder, then
    renames it (the mechanism of :func:`write_json_atomic`).

    Arguments
    ---------
    path : str
        Destination file.
    samples : numpy.ndarray
        ``T`` (mono) or ``T x C`` samples, floats in [-1, 1] or integers.
    sample_rate : int
        Samples per second.
    subtype : str
        ``soundfile`` subtype, e.g. ``PCM_16`` or ``FLOAT``.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np
    >>> import soundfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "x.wav")
    ...     write_wav_atomic(path, np.zeros(160), 16000)
    ...     info = soundfile.info(path)
    ...     print(info.frames, info.samplerate, info.subtype, os.listdir(tmp))
    160 16000 PCM_16 ['x.wav']
    """
    import soundfile

    def write(f):
        """Encodes the samples into the open temporary file."""
        soundfile.write(f, samples, sample_rate, subtype=subtype, format="WAV")

    write_atomic(path, write, binary=True)


def write_atomic(path, write, binary=False):
    """Calls ``write(f)`` on a temporary file beside ``path``, flushes it to
    disk and renames it to ``path``; on any exception (including
    ``KeyboardInterrupt``) removes the temporary file and re-raises.

    Arguments
    ---------
    path : str
        Destination file.
    write : callable
        Writes the content into the open file object it is given.
    binary : bool
        Open the temporary file in binary mode instead of UTF-8 text.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "x.bin")
    ...     write_atomic(path, lambda f: f.write(b"ab"), binary=True)
    ...     print(open(path, "rb").read(), os.listdir(tmp))
    b'ab' ['x.bin']
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        # mkstemp creates the file private (0600); give it the permissions
        # a plain open() would, or those of the file it replaces.
        os.chmod(tmp_path, _file_mode(path))
        if binary:
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding="utf-8")
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def _file_mode(path):
    """Permission bits for a new version of ``path``: those of the current
    file, or what ``open()`` gives a new file under the process's umask.

    Arguments
    ---------
    path : str
        Destination file.

    Returns
    -------
    int
        Permission bits.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     os.chmod(f.name, 0o640)
    ...     oct(_file_mode(f.name))
    '0o640'
    """
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        pass
    umask = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
    except OSError:
        pass
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def utf8_text(text):
    """Text that can be written as UTF-8: a file name that is not valid
    UTF-8 (which Python holds with surrogate escapes) gets its undecodable
    bytes as ``\\xNN`` escapes; other text is returned as it is.

    Arguments
    ---------
    text : str
        Any text, e.g. a path from ``os.listdir`` or the command line.

    Returns
    -------
    str
        Encodable as UTF-8.

    Example
    -------
    >>> utf8_text(os.fsdecode(b"caf\\xe9.wav"))
    'caf\\\\xe9.wav'
    >>> utf8_text("café.wav")
    'café.wav'
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate of another origin
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def fs_path(path):
    """The path as C libraries (libsndfile) are given it: its bytes on
    POSIX, so that a file name that is not valid UTF-8 still opens.

    Arguments
    ---------
    path : str or os.PathLike
        A file path.

    Returns
    -------
    bytes or str
        ``os.fsencode(path)`` on POSIX, else ``str(path)``.

    Example
    -------
    >>> fs_path("a.wav") == (b"a.wav" if os.name == "posix" else "a.wav")
    True
    """
    if os.name == "posix":
        return os.fsencode(path)
    return str(path)


def sniff_delimiter(f, required=()):
    """The delimiter of an open CSV file, read from its header line.

    It is the one of comma, semicolon and tab (``CSV_DELIMITERS``) that
    splits the header into cells holding every ``required`` column name
    (any case, spaces around them ignored), trying ``csv.Sniffer``'s guess
    first; when none does, the guess (a comma when there is none), and the
    caller's missing-column error shows what was read. The file is
    rewound to where it was.

    Arguments
    ---------
    f : file
        A text file opened with ``newline=""``, at its header line.
    required : iterable of str
        Column names the header must hold.

    Returns
    -------
    str
        The delimiter.

    Example
    -------
    >>> import io
    >>> sniff_delimiter(io.StringIO("path;emotion\\na.wav;x\\n"), ["path"])
    ';'
    >>> sniff_delimiter(io.StringIO("Path\\tEmotion\\n"), ["path"])
    '\\t'
    >>> sniff_delimiter(io.StringIO("path;emotion;gender,age\\n"),
    ...                 ["path", "emotion"])
    ';'
    """
    start = f.tell()
    header = f.readline()
    f.seek(start)
    wanted = {name.strip().lower() for name in required}
    candidates = []
    try:
        sniffed = csv.Sniffer().sniff(header, delimiters=CSV_DELIMITERS)
        candidates.append(sniffed.delimiter)
    except csv.Error:  # e.g. a header of one column
        pass
    candidates += [d for d in CSV_DELIMITERS if d not in candidates]
    for delimiter in candidates:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        if wanted <= {cell.strip().lower() for cell in cells}:
            return delimiter
    return candidates[0]


class CsvTable(NamedTuple):
    """A CSV file as :func:`read_csv_table` reads it.

    Arguments
    ---------
    path : str
        The file.
    header : list of str
        The column names as written (without a byte-order mark).
    rows : list of tuple
        ``(line, cells)`` per row: the row's line number in the file and
        its cells by column name (lower case, without surrounding
        spaces), each without surrounding spaces (``""`` when missing).

    Example
    -------
    >>> CsvTable("a.csv", ["Path"], [(2, {"path": "x.wav"})]).columns
    ['path']
    """

    path: str
    header: list
    rows: list

    @property
    def columns(self):
        """The column names, lower case, without surrounding spaces."""
        return [_column_name(name) for name in self.header]


def _column_name(name):
    """A column name as tables key it: lower case, stripped."""
    return (name or "").strip().lower()


def read_csv_table(path, required=()):
    """Reads a CSV file the one way every list of this package is read (a
    corpus CSV, ``--labels``, input lists, segment lists): UTF-8 with or
    without a byte-order mark, any line ends, cells separated by commas,
    semicolons or tabs (see :func:`sniff_delimiter`), column names matched
    without case and surrounding spaces, cells stripped of surrounding
    spaces, rows with only empty cells skipped.

    Arguments
    ---------
    path : str
        The CSV file (with a header line).
    required : iterable of str
        Column names the header must hold (they decide the delimiter; the
        caller checks that they are there).

    Returns
    -------
    CsvTable
        Its header and rows.

    Raises
    ------
    ValueError
        For a row with more cells than the header (its line is named), or
        a file that is not UTF-8 (see :func:`utf8_error`).

    Example
    -------
    >>> import tempfile
    >>> listing = os.path.join(tempfile.mkdtemp(), "list.csv")
    >>> with open(listing, "w", encoding="utf-8-sig", newline="") as f:
    ...     _ = f.write("Path ,Emotion\\r\\n a.wav ,sad\\r\\n,\\r\\nb.wav\\n")
    >>> table = read_csv_table(listing)
    >>> table.header, table.columns
    (['Path ', 'Emotion'], ['path', 'emotion'])
    >>> with open(listing, "w", encoding="utf-8", newline="") as f:
    ...     _ = f.write("path;emotion\\na.wav;sad\\n")
    >>> read_csv_table(listing, ["path"]).rows
    [(2, {'path': 'a.wav', 'emotion': 'sad'})]
    >>> table.rows
    [(2, {'path': 'a.wav', 'emotion': 'sad'}), (4, {'path': 'b.wav', \
'emotion': ''})]
    """
    with open(path, encoding="utf-8-sig", newline="") as f, utf8_error(path):
        reader = csv.DictReader(f, delimiter=sniff_delimiter(f, required))
        header = list(reader.fieldnames or [])
        rows = []
        for row in reader:
            if None in row:
                raise ValueError(
                    f"Line {reader.line_num} of {path} has extra cells "
                    f"(more than the {len(header)} columns of its header "
                    f"{header}); quote cells that hold a comma"
                )
            cells = {
                _column_name(name): (value or "").strip()
                for name, value in row.items()
            }
            if any(cells.values()):
                rows.append((reader.line_num, cells))
    return CsvTable(path, header, rows)


def read_json(path):
    """Reads a JSON file, UTF-8 with or without a byte-order mark.

    Arguments
    ---------
    path : str
        The file.

    Returns
    -------
    object
        Its content.

    Example
    -------
    >>> import tempfile
    >>> listing = os.path.join(tempfile.mkdtemp(), "x.json")
    >>> with open(listing, "w", encoding="utf-8-sig") as f:
    ...     _ = f.write('{"a": 1}')
    >>> read_json(listing)
    {'a': 1}
    """
    with open(path, encoding="utf-8-sig") as f, utf8_error(path):
        return json.load(f)


@contextlib.contextmanager
def utf8_error(path):
    """Turns a ``UnicodeDecodeError`` while reading ``path`` into a
    ``ValueError`` that names the file and says what to do (a spreadsheet's
    plain "CSV" is often Windows-1252, not UTF-8).

    Arguments
    ---------
    path : str
        The file being read.

    Yields
    ------
    None
        Read the file inside the ``with`` block.

    Example
    -------
    >>> with utf8_error("labels.csv"):
    ...     b"caf\\xe9".decode("utf-8")
    Traceback (most recent call last):
    ...
    ValueError: labels.csv is not UTF-8 (byte 0xe9 at position 3): save it ...
    """
    try:
        yield
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not UTF-8 (byte {err.object[err.start]:#x} at "
            f"position {err.start}): save it as UTF-8 (in a spreadsheet: "
            "CSV UTF-8)"
        ) from err


def warn(text):
    """Prints a warning on stderr, once per job: under ``torchrun`` only
    the process of rank 0 prints (every process reads the same lists).

    Arguments
    ---------
    text : str
        The warning, without the ``warning:`` prefix.

    Example
    -------
    >>> import contextlib
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     warn("3 files skipped")
    warning: 3 files skipped
    """
    if os.environ.get("RANK", "0") == "0":
        print(f"warning: {utf8_text(text)}", file=sys.stderr)


PLACEHOLDERS = ("{data_root}", "$data_root")


class ListedPaths:
    """Resolves the audio paths written in one list file (a ``--labels``
    manifest or CSV, an input list, a segment list), with one rule:

    * ``{data_root}`` or ``$data_root`` is replaced by ``data_root`` (a
      path given on the command line, so relative to the current folder);
    * other relative paths are relative to the list's folder (as in a
      corpus CSV);
    * absolute paths stay as they are.

    Lists written for older versions, which read relative paths from the
    current folder, keep working: where nothing is at the list-relative
    path but a file is at the path relative to the current folder, that
    file is taken, and :meth:`warnings` says so. Listed files found
    nowhere are also reported there, with the path tried.

    Arguments
    ---------
    list_file : str
        The list.
    data_root : str, optional
        Replaces the placeholders.

    Example
    -------
    >>> paths = ListedPaths("lists/test.csv", data_root="/corpus")
    >>> paths.resolve("{data_root}/a.wav", "line 2")
    '/corpus/a.wav'
    >>> paths.resolve("b.wav", "line 3"), paths.resolve("/x/c.wav", "line 4")
    ('lists/b.wav', '/x/c.wav')
    >>> print(paths.warnings()[0].split(" (")[0])
    lists/test.csv: 3 listed file(s) do not exist; first, line 2, looked for
    /corpus/a.wav
    """

    def __init__(self, list_file, data_root=None):
        self.list_file = list_file
        self.folder = os.path.dirname(list_file)
        self.data_root = data_root
        self.missing = []
        self.from_current_folder = []
        self.placeholder_left = False

    def resolve(self, written, where):
        """The path of one entry.

        Arguments
        ---------
        written : str
            The path as written in the list.
        where : str
            Where it is written (e.g. ``line 3``, ``entry u1``), for the
            warnings.

        Returns
        -------
        str
            The path to read.
        """
        path = written
        substituted = False
        if self.data_root is not None:
            for placeholder in PLACEHOLDERS:
                if placeholder in path:
                    path = path.replace(placeholder, self.data_root)
                    substituted = True
        elif any(p in path for p in PLACEHOLDERS):
            self.placeholder_left = True
        if substituted or os.path.isabs(path):
            resolved = path
        else:
            resolved = os.path.join(self.folder, path)
            if (
                self.folder
                and not os.path.exists(resolved)
                and os.path.exists(path)
            ):
                self.from_current_folder.append((where, path))
                return path
        if not os.path.exists(resolved):
            self.missing.append((where, resolved))
        return resolved

    def warnings(self):
        """What the user should know about the paths resolved so far.

        Returns
        -------
        list of str
            One line per kind of problem (empty when there is none).
        """
        out = []
        if self.missing:
            where, path = self.missing[0]
            hint = "relative paths in a list are read from the list's folder"
            if self.placeholder_left:
                hint += "; give --data_root for {data_root}"
            out.append(
                f"{self.list_file}: {len(self.missing)} listed file(s) do "
                f"not exist; first, {where}, looked for "
                f"{os.path.abspath(path)} ({hint})"
            )
        if self.from_current_folder:
            where, path = self.from_current_folder[0]
            out.append(
                f"{self.list_file}: {len(self.from_current_folder)} relative "
                "path(s) exist only relative to the current folder, not "
                f"to the list's folder {os.path.abspath(self.folder)}; read "
                f"from the current folder as older versions did (first, "
                f"{where}: {path}); write them relative to the list's folder "
                "or absolute"
            )
        return out
