"""Tests of the atomic file writers (``speechbrain_gemo.io``): a failure
injected between the write and the rename, or in the middle of the write,
leaves the old file or none, never a partial one, and no temporary file;
and of the CSV text written for any file name.

Authors
 * speechbrain-gemo developers 2026
"""

import json
import os

import numpy as np
import pytest
import soundfile
from hypothesis import example, given, settings
from hypothesis import strategies as st

from speechbrain_gemo import io as atomic_io

OLD = {
    "json": b'{"old": 1}',
    "text": b"old text\n",
    "bytes": b"\x00old",
    "wav": None,  # a real wav, written by _old_bytes
}


def _write(kind, path):
    """Writes new content of one kind with the writer under test."""
    if kind == "json":
        atomic_io.write_json_atomic(str(path), {"new": list(range(1000))})
    elif kind == "text":
        atomic_io.write_text_atomic(str(path), "new line\n" * 1000)
    elif kind == "bytes":
        atomic_io.write_bytes_atomic(str(path), bytes(range(256)) * 10)
    else:
        atomic_io.write_wav_atomic(str(path), np.full(16000, 0.5), 16000)


def _old_bytes(kind, tmp_path):
    """Bytes of a valid previous version of the file."""
    if OLD[kind] is not None:
        return OLD[kind]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    soundfile.write(scratch / "old.wav", np.zeros(800), 8000, subtype="PCM_16")
    data = (scratch / "old.wav").read_bytes()
    (scratch / "old.wav").unlink()
    scratch.rmdir()
    return data


@pytest.mark.parametrize("kind", ["json", "text", "bytes", "wav"])
@pytest.mark.parametrize("existing", [False, True])
def test_failure_before_rename_keeps_old_file(
    tmp_path, monkeypatch, kind, existing
):
    path = tmp_path / f"out.{kind}"
    old = _old_bytes(kind, tmp_path)
    if existing:
        path.write_bytes(old)
    written = []

    def failing_replace(src, dst):
        # The temporary file is complete at this point: the content was
        # written and flushed, only the rename fails.
        written.append(os.path.getsize(src))
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        _write(kind, path)
    monkeypatch.undo()
    assert written and written[0] > len(old)
    if existing:
        assert os.listdir(tmp_path) == [path.name]
        assert path.read_bytes() == old
    else:
        assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", ["json", "text", "bytes", "wav"])
@pytest.mark.parametrize("existing", [False, True])
def test_interrupt_during_write_keeps_old_file(
    tmp_path, monkeypatch, kind, existing
):
    path = tmp_path / f"out.{kind}"
    old = _old_bytes(kind, tmp_path)
    if existing:
        path.write_bytes(old)
    real_fsync = os.fsync

    def interrupted_fsync(fd):
        # Part of the new content is on disk when the process is stopped.
        assert os.fstat(fd).st_size > 0
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        _write(kind, path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    if existing:
        assert os.listdir(tmp_path) == [path.name]
        assert path.read_bytes() == old
    else:
        assert os.listdir(tmp_path) == []


def test_written_content(tmp_path):
    for kind in ("json", "text", "bytes", "wav"):
        _write(kind, tmp_path / f"out.{kind}")
    assert json.loads((tmp_path / "out.json").read_text()) == {
        "new": list(range(1000))
    }
    assert (tmp_path / "out.text").read_text() == "new line\n" * 1000
    assert (tmp_path / "out.bytes").read_bytes() == bytes(range(256)) * 10
    samples, rate = soundfile.read(tmp_path / "out.wav")
    assert rate == 16000 and len(samples) == 16000
    # 0.5 in 16-bit PCM is 16384 / 32768 exactly
    assert np.all(samples == 0.5)
    assert sorted(os.listdir(tmp_path)) == [
        "out.bytes",
        "out.json",
        "out.text",
        "out.wav",
    ]


@pytest.mark.parametrize("kind", ["json", "text", "bytes", "wav"])
def test_permissions_like_open(tmp_path, kind):
    # a new file gets what open() gives a new file, not mkstemp's 0600
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    _write(kind, tmp_path / f"new.{kind}")
    mode = os.stat(tmp_path / f"new.{kind}").st_mode & 0o777
    assert mode == os.stat(plain).st_mode & 0o777
    # a replaced file keeps its permissions
    os.chmod(tmp_path / f"new.{kind}", 0o640)
    _write(kind, tmp_path / f"new.{kind}")
    assert os.stat(tmp_path / f"new.{kind}").st_mode & 0o777 == 0o640


# The recipe's own output files, written by its own functions


def _write_predictions(path, probabilities):
    """``write_test_predictions`` for two utterances."""
    from speechbrain_gemo.brain import write_test_predictions
    from speechbrain_gemo.metrics import EmotionClassificationStats

    stats = EmotionClassificationStats(["neu", "sad"])
    stats.append(["u1", "u2"], ["sad", "neu"], ["neu", "neu"])
    write_test_predictions(str(path), stats, probabilities, ["neu", "sad"])


@pytest.mark.parametrize("failure", ["rename", "mid-write"])
@pytest.mark.parametrize("existing", [False, True])
def test_test_predictions_are_never_partial(
    tmp_path, monkeypatch, failure, existing
):
    path = tmp_path / "test_predictions.csv"
    old = b"ID,true,predicted,neu,sad\nold,neu,neu,1.0,0.0\n"
    if existing:
        path.write_bytes(old)
    probabilities = {"u1": [0.25, 0.75], "u2": [0.5, 0.5]}
    if failure == "rename":

        def failing_replace(src, dst):
            # the temporary file holds both rows by now
            assert open(src).read().count("\n") == 3
            raise OSError("rename failed")

        monkeypatch.setattr(os, "replace", failing_replace)
        expected = pytest.raises(OSError, match="rename failed")
    else:
        # the second row cannot be written: the first one is already out
        del probabilities["u2"]
        expected = pytest.raises(KeyError, match="u2")
    with expected:
        _write_predictions(path, probabilities)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ([path.name] if existing else [])
    if existing:
        assert path.read_bytes() == old

    _write_predictions(path, {"u1": [0.25, 0.75], "u2": [0.5, 0.5]})
    assert path.read_text().splitlines() == [
        "ID,true,predicted,neu,sad",
        "u1,neu,sad,0.250000,0.750000",
        "u2,neu,neu,0.500000,0.500000",
    ]
    assert os.listdir(tmp_path) == [path.name]


def test_label_encoder_file_is_never_partial(tmp_path, monkeypatch):
    from speechbrain_gemo.data.labels import load_or_create_label_encoder

    path = tmp_path / "save" / "label_encoder.txt"
    written = []

    def failing_replace(src, dst):
        # the temporary file is complete by now: both classes and the
        # encoder's closing lines
        written.append(open(src).read())
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises((OSError, FileNotFoundError)):
        load_or_create_label_encoder(str(path), ["neu", "sad"])
    monkeypatch.undo()
    assert "'sad' => 1" in written[0]
    assert os.listdir(path.parent) == []

    # the next run writes it whole, and a later one loads it as it is
    encoder = load_or_create_label_encoder(str(path), ["neu", "sad"])
    assert encoder.lab2ind == {"neu": 0, "sad": 1}
    assert os.listdir(path.parent) == [path.name]
    assert path.read_text().startswith("'neu' => 0\n'sad' => 1\n")
    stamp = os.stat(path).st_mtime_ns
    load_or_create_label_encoder(str(path), ["neu", "sad"])
    assert os.stat(path).st_mtime_ns == stamp


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.one_of(
            st.text(st.characters(blacklist_characters="\x00"), min_size=1),
            st.binary(min_size=1).filter(lambda b: b"\x00" not in b),
        ),
        min_size=1,
        max_size=5,
    )
)
@example(names=["\ud800"])  # a lone surrogate that no file system gives
def test_csv_text_round_trips_any_file_name(names):
    """Any file name (any characters, line breaks included, or bytes that
    are not UTF-8, as ``os.listdir`` returns them) is one cell that the
    csv module and pandas read back: as it was, or with the undecodable
    bytes as ``\\xNN`` escapes."""
    import csv
    import io

    import pandas

    names = [os.fsdecode(n) if isinstance(n, bytes) else n for n in names]
    shown = [atomic_io.utf8_text(name) for name in names]
    from speechbrain_gemo.rows import csv_text

    text = csv_text(
        [["path", "n"]] + [[name, k] for k, name in enumerate(names)]
    )
    data = text.encode("utf-8")  # always valid UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows == [["path", "n"]] + [[s, str(k)] for k, s in enumerate(shown)]
    frame = pandas.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert list(frame["path"]) == shown
    # escaping changes only what UTF-8 cannot hold
    for name, cell in zip(names, shown):
        try:
            name.encode("utf-8")
            assert cell == name
        except UnicodeEncodeError:
            try:  # a file name's undecodable bytes: \xNN
                raw = name.encode("utf-8", "surrogateescape")
                assert raw.decode("utf-8", "backslashreplace") == cell
            except UnicodeEncodeError:  # a lone surrogate of another origin
                # (e.g. a JSON list's "\ud800"): \uNNNN
                expected = name.encode("utf-8", "backslashreplace")
                assert expected.decode("utf-8") == cell
