"""Atomic file writers: a file is complete or absent, never half-written.

Each writer writes to a temporary file in the destination's folder,
flushes it to disk, then renames it over the destination
(``os.replace``, atomic on POSIX and Windows within one file system). An
interruption at any point leaves the destination as it was (absent or the
previous version) and removes the temporary file.

Authors
 * speechbrain-gemo developers 2026
"""

import json
import os
import tempfile


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
    _write_atomic(path, lambda f: json.dump(obj, f, indent=2))


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
    _write_atomic(path, lambda f: f.write(text))


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
    _write_atomic(path, lambda f: f.write(data), binary=True)


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

    _write_atomic(path, write, binary=True)


def _write_atomic(path, write, binary=False):
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
    ...     _write_atomic(path, lambda f: f.write(b"ab"), binary=True)
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
