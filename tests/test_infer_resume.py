"""Batch runs of ``python -m speechbrain_gemo.infer`` that survive SIGKILL
and shard across processes with torchrun."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.infer import main
from speechbrain_gemo.journal import Journal, JournalMismatch, part_paths

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE = 16000


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return save_tiny_export(str(tmp_path_factory.mktemp("rs") / "export"))


def _bursts(seconds, seed):
    """Noise with tone bursts (speech-like energy) every few seconds."""
    rng = np.random.default_rng(seed)
    x = 0.003 * rng.standard_normal(int(seconds * RATE))
    t = np.arange(int(1.5 * RATE)) / RATE
    for start in np.arange(1.0, seconds - 2.0, 3.0):
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(120, 300) * t)
        first = int(start * RATE)
        x[first : first + len(tone)] += tone
    return x.astype("float32")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Eight recordings of 10-20 s and one unreadable file."""
    folder = tmp_path_factory.mktemp("recordings")
    paths = []
    for k in range(8):
        paths.append(str(folder / f"rec{k}.wav"))
        soundfile.write(paths[-1], _bursts(10 + k, k), RATE)
    paths.insert(3, str(folder / "broken.wav"))
    with open(paths[3], "wb") as f:
        f.write(b"RIFF\x10\x00\x00\x00WAVEjunk" * 8)
    return paths


def _command(export, paths, out, *extra):
    return [
        sys.executable,
        "-m",
        "speechbrain_gemo.infer",
        "--model",
        export,
        *paths,
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def _env():
    path = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=path)


def _run(command):
    result = subprocess.run(
        command, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _finished_count(out, ranks=1):
    """Inputs recorded in the progress files of ``ranks`` ranks."""
    count = 0
    for rank in range(ranks):
        progress = part_paths(str(out), rank)[1]
        if os.path.exists(progress):
            with open(progress, "rb") as f:
                count += max(0, f.read().count(b"\n") - 1)  # less signature
    return count


def _descendants(pid):
    """The processes started by ``pid``, at any depth (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    # the parent follows the parenthesised command name
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_after(command, out, finished, ranks=1):
    """Starts the command and SIGKILLs it with every process it started
    (torchrun's workers run in sessions of their own) once ``finished``
    inputs are recorded in the progress files of ``ranks`` ranks."""
    process = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.time() + 240
    try:
        while _finished_count(out, ranks) < finished:
            assert process.poll() is None, process.stderr.read()[-3000:]
            assert time.time() < deadline
            time.sleep(0.01)
        for pid in [process.pid] + _descendants(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        process.wait()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return _finished_count(out, ranks)


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode", [["--max_batch_size", "1"], ["--timeline", "--vad", "energy"]]
)
def test_resume_after_sigkill(export, recordings, tmp_path, mode):
    reference = tmp_path / "reference.csv"
    # in a subprocess like the runs it is compared with: same threads
    _run(_command(export, recordings, reference, *mode))
    out = tmp_path / "out" / "segments.csv"
    command = _command(export, recordings, out, *mode)
    done = _kill_after(command, out, finished=3)
    assert 3 <= done < len(recordings)
    assert not out.exists()  # the final CSV only appears whole
    second = _run(command)
    assert f"continuing: {done} of {len(recordings)} files" in second.stderr
    assert out.read_bytes() == reference.read_bytes()
    assert sorted(os.listdir(out.parent)) == ["segments.csv"]


class Interrupted(BaseException):
    """Stops a run from inside, as a kill would."""


def _count_clips(monkeypatch, paths):
    """Counts, per input file, the clips (files, or a timeline's segments)
    the model is given to classify: ``GEmoCLAP.predict_batch`` names each
    clip by its file (a segment: the file, then its times)."""
    from speechbrain_gemo.inference import GEmoCLAP

    counts = {}
    predict_batch = GEmoCLAP.predict_batch

    def counting_predict_batch(self, wavs, *args, **kwargs):
        names = kwargs["names"]
        assert len(names) == len(wavs)
        for name in names:
            (path,) = [
                p for p in paths if name == p or name.startswith(f"{p} [")
            ]
            counts[path] = counts.get(path, 0) + 1
        return predict_batch(self, wavs, *args, **kwargs)

    monkeypatch.setattr(GEmoCLAP, "predict_batch", counting_predict_batch)
    return counts


def _rows_of(csv_path, path):
    """The lines of one input's rows in a CSV the command line wrote."""
    with open(csv_path) as f:
        return "".join(line for line in f if line.startswith(f"{path},"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode", [["--max_batch_size", "1"], ["--timeline", "--vad", "energy"]]
)
def test_resumed_run_classifies_only_the_files_not_done(
    export, recordings, tmp_path, monkeypatch, capsys, mode
):
    """A run stopped after its journal recorded three files, and a second
    rank's journal with one more file: run again (one process), the
    command gives the model the clips of the other files only, each as
    many as an uninterrupted run does, and writes the uninterrupted run's
    CSV. (The work is counted where the model is called, in this
    process.)"""
    full = tmp_path / "full.csv"
    with monkeypatch.context() as patch:
        full_counts = _count_clips(patch, recordings)
        assert main(_command(export, recordings, full, *mode)[3:]) == 0
    readable = [p for p in recordings if "broken" not in p]
    assert sorted(full_counts) == sorted(readable)

    out = tmp_path / "out.csv"
    command = _command(export, recordings, out, *mode)[3:]
    add = Journal.add
    recorded = []

    def add_then_stop(self, index, path, text):
        add(self, index, path, text)
        recorded.append(path)
        if len(recorded) == 3:
            raise Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "add", add_then_stop)
        with pytest.raises(Interrupted):
            main(command)
    assert not out.exists()
    # rank 1 of a run of the same command finished another file
    rows, progress = part_paths(str(out), 0)
    with open(progress) as f:
        signature = json.loads(f.readline())["signature"]
    with open(rows) as f:
        header = f.readline()
    other = [p for p in readable if p not in recorded][-1]
    journal = Journal(str(out), 1, signature, header)
    journal.add(recordings.index(other), other, _rows_of(full, other))
    journal.close()
    done = Journal.finished(str(out))
    assert sorted(done.values()) == sorted(recorded + [other])
    capsys.readouterr()

    with monkeypatch.context() as patch:
        counts = _count_clips(patch, recordings)
        assert main(command) == 0
    assert f"continuing: 4 of {len(recordings)} files" in (
        capsys.readouterr().err
    )
    not_done = [p for p in readable if p not in done.values()]
    assert len(not_done) >= len(readable) - 4
    assert counts == {p: full_counts[p] for p in not_done}
    assert out.read_bytes() == full.read_bytes()


def test_journal_cuts_what_a_kill_left_half_written(tmp_path):
    out = str(tmp_path / "p.csv")
    header = "path,label\n"
    journal = Journal(out, 0, {"run": 1}, header)
    journal.add(0, "a.wav", "a.wav,neu\n")
    journal.close()
    rows, progress = part_paths(out, 0)
    # killed after the rows of b.wav, before its progress line was whole
    with open(rows, "a") as f:
        f.write("b.wav,sa")
    with open(progress, "a") as f:
        f.write('{"index": 1, "path": "b.wa')
    assert Journal.finished(out) == {0: "a.wav"}
    journal = Journal(out, 0, {"run": 1}, header)
    journal.add(1, "b.wav", "b.wav,sad\n")
    journal.close()
    Journal.finalize(out, header, 2)
    with open(out) as f:
        assert f.read() == "path,label\na.wav,neu\nb.wav,sad\n"
    # other options than the parts on disk: refused, nothing touched
    Journal(out, 0, {"run": 1}, header).close()
    with pytest.raises(JournalMismatch, match="other options"):
        Journal(out, 1, {"run": 2}, header)
    with pytest.raises(RuntimeError, match="no results"):
        Journal.finalize(out, header, 1)


def test_journal_syncs_rows_before_their_progress_line(tmp_path, monkeypatch):
    # What a power cut leaves is what was fsynced: each fsync is recorded
    # with the bytes its file then held on disk
    out = str(tmp_path / "p.csv")
    rows_path, progress_path = part_paths(out, 0)
    synced, real_fsync = [], os.fsync

    def spy(fd):
        real_fsync(fd)
        path = os.readlink(f"/proc/self/fd/{fd}")
        with open(path, "rb") as f:
            synced.append((path, f.read()))

    monkeypatch.setattr(os, "fsync", spy)
    journal = Journal(out, 0, {"run": 1}, "path,label\n")
    for index, name in enumerate(("a.wav", "b.wav", "c.wav")):
        journal.add(index, name, f"{name},neu\n{name},sad\n")
    journal.close()
    monkeypatch.undo()
    rows_on_disk = b""
    records = 0
    for path, data in synced:
        if path == rows_path:
            rows_on_disk = data
            continue
        assert path == progress_path
        lines = data.decode().splitlines()
        assert "signature" in json.loads(lines[0])
        for line in lines[1:]:
            record = json.loads(line)
            end = record["offset"] + record["length"]
            # every input the progress file names has its rows on disk
            assert len(rows_on_disk) >= end, record
            assert rows_on_disk[record["offset"] : end].startswith(
                record["path"].encode()
            )
        records = len(lines) - 1
    assert records == 3
    assert synced[-1][0] == progress_path


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(export, recordings, tmp_path):
    single = tmp_path / "single.csv"
    mode = ["--timeline", "--vad", "energy"]
    _run(_command(export, recordings, single, *mode))
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
    ]
    out = tmp_path / "ddp.csv"
    command = _command(export, recordings, out, *mode)
    result = _run(launcher + command[1:])
    assert out.read_bytes() == single.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["ddp.csv", "single.csv"]
    assert "classified in 8 of 9 files" in result.stderr


@pytest.mark.slow
def test_killed_torchrun_resumed_by_one_process(export, recordings, tmp_path):
    """Two processes under torchrun, SIGKILLed (launcher and workers)
    midway; one plain process continues from both ranks' parts and writes
    the CSV of an uninterrupted single-process run."""
    mode = ["--timeline", "--vad", "energy"]
    single = tmp_path / "single.csv"
    _run(_command(export, recordings, single, *mode))
    out = tmp_path / "resumed.csv"
    command = _command(export, recordings, out, *mode)
    launcher = [sys.executable, "-m", "torch.distributed.run"]
    launcher += ["--standalone", "--nproc_per_node=2"]
    done = _kill_after(launcher + command[1:], out, finished=3, ranks=2)
    assert 3 <= done < len(recordings)
    assert not out.exists()
    second = _run(command)
    assert f"continuing: {done} of {len(recordings)} files" in second.stderr
    assert out.read_bytes() == single.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["resumed.csv", "single.csv"]


def test_restart_with_other_options_is_refused(
    export, recordings, tmp_path, capsys
):
    """Part files beside ``--out`` from a run with other options or inputs:
    the command exits with status 2 and leaves them as they are."""
    out = tmp_path / "p.csv"
    journal = Journal(str(out), 0, {"another": "run"}, "path,label\n")
    journal.add(0, recordings[0], f"{recordings[0]},neu\n")
    journal.close()
    parts = {}
    for path in part_paths(str(out), 0):
        with open(path, "rb") as f:
            parts[path] = f.read()
    assert main(_command(export, recordings[:2], out)[3:]) == 2
    assert "other options or inputs" in capsys.readouterr().err
    assert not out.exists()
    for path, content in parts.items():
        with open(path, "rb") as f:
            assert f.read() == content, path
    assert sorted(os.listdir(tmp_path)) == sorted(
        os.path.basename(p) for p in parts
    )


def test_resume_with_fewer_processes_keeps_every_ranks_files(tmp_path):
    """A two-process run killed midway, resumed by one process: the files
    either rank finished count as done, the resuming rank adds the rest,
    and the CSV holds every file once, in input order (the command line
    skips ``Journal.finished(out)``, which reads the parts of every rank)."""
    out = str(tmp_path / "p.csv")
    header = "path,label\n"
    # the killed run: rank 0 finished a.wav, rank 1 b.wav and half of d.wav
    for rank, index, name in ((0, 0, "a.wav"), (1, 1, "b.wav")):
        journal = Journal(out, rank, {"run": 1}, header)
        journal.add(index, name, f"{name},neu\n")
        journal.close()
    rows, progress = part_paths(out, 1)
    with open(rows, "a") as f:
        f.write("d.wav,sa")
    with open(progress, "a") as f:
        f.write('{"index": 3, "pa')
    done = Journal.finished(out)
    assert done == {0: "a.wav", 1: "b.wav"}
    # one process resumes: rank 0 does what no rank finished
    journal = Journal(out, 0, {"run": 1}, header)
    for index, name in ((2, "c.wav"), (3, "d.wav")):
        assert index not in done
        journal.add(index, name, f"{name},sad\n")
    journal.close()
    Journal.finalize(out, header, 4)
    with open(out) as f:
        assert f.read() == (
            "path,label\na.wav,neu\nb.wav,neu\nc.wav,sad\nd.wav,sad\n"
        )
    assert sorted(os.listdir(tmp_path)) == ["p.csv"]
