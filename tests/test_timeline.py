"""Emotion timelines of long recordings: voice activity, outside segments
(RTTM, CSV), plots and summaries, through ``python -m
speechbrain_gemo.infer --timeline``."""

import csv
import os

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.infer import main
from speechbrain_gemo.inference import GEmoCLAP

RATE = 16000
UTTERANCES = 8


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return save_tiny_export(str(tmp_path_factory.mktemp("tl") / "export"))


@pytest.fixture(scope="module")
def model(export):
    return GEmoCLAP.from_hparams(source=export)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A long recording: eSpeak NG utterances of the demo corpus (two
    speakers, known labels) separated by 1.5-3 s of silence, over
    background noise; each utterance is also saved as its own file.
    Returns the path, the utterance files and, per utterance, its speech
    span in the recording (the synthesised speech, without the
    utterance's own lead and tail silence), its speaker and its label."""
    from speechbrain_gemo.data.synthetic import (
        ESpeakNG,
        plan_corpus,
        render_utterance,
    )

    folder = tmp_path_factory.mktemp("long")
    plan = plan_corpus(utterances_per_speaker=4, extra_per_speaker=0)
    # session 1's two speakers
    chosen = [p for p in plan if p.utt_id.startswith("Ses01")][:UTTERANCES]
    rng = np.random.default_rng(7)
    pieces, truth, extents, cursor = [], [], [], 0
    with ESpeakNG() as tts:
        for utterance in chosen:
            wav = render_utterance(utterance, tts)
            gap = np.zeros(int(RATE * rng.uniform(1.5, 3.0)))
            pieces += [gap, wav]
            cursor += len(gap)
            extents.append((cursor, cursor + len(wav)))
            start = cursor / RATE + utterance.lead_silence
            end = (cursor + len(wav)) / RATE - utterance.tail_silence
            cursor += len(wav)
            truth.append((start, end, utterance.speaker.name, utterance.label))
    signal = np.concatenate(pieces + [np.zeros(RATE)])
    signal = signal + 0.003 * rng.standard_normal(len(signal))
    signal = signal.astype("float32")
    path = folder / "meeting.wav"
    soundfile.write(path, signal, RATE)
    # each utterance's own file: as recorded, with the background noise
    files = []
    for k, (first, last) in enumerate(extents):
        files.append(str(folder / f"utt{k}.wav"))
        soundfile.write(files[-1], signal[first:last], RATE)
    return str(path), files, truth


def _overlap(a_start, a_end, b_start, b_end):
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def _check_timeline(rows, truth, own_labels):
    """Coverage of the utterances, share of segment time in silence,
    agreement of the covering segment's label with the utterance's own
    file, and accuracy of the segment labels (uncovered: wrong)."""
    segments = [
        (float(r["start"]), float(r["end"]), r["label"])
        for r in rows
        if not r["error"]
    ]
    assert segments and len(segments) == len(rows)
    covered, agree, correct = 0, 0, 0
    for (start, end, _, label), own in zip(truth, own_labels):
        overlaps = [_overlap(start, end, a, b) for a, b, _ in segments]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= 0.5 * (end - start):
            covered += 1
            agree += segments[best][2] == own
            correct += segments[best][2] == label
    in_speech = sum(
        _overlap(a, b, s, e) for a, b, _ in segments for s, e, _, _ in truth
    )
    total = sum(b - a for a, b, _ in segments)
    return (
        covered / len(truth),
        (total - in_speech) / total,
        agree / covered,
        correct / len(truth),
    )


@pytest.mark.parametrize("vad", ["silero", "energy"])
def test_timeline_finds_the_utterances(export, model, recording, tmp_path, vad):
    path, files, truth = recording
    out = tmp_path / "segments.csv"
    args = ["--model", export, "--timeline", path, "--out", str(out)]
    assert main(args + ["--vad", vad, "--no-progress"]) == 0
    rows = _read(out)
    assert list(rows[0])[:5] == ["path", "start", "end", "label", "score"]
    assert "speaker" not in rows[0]
    for row in rows:
        probs = [float(row[f"prob_{c}"]) for c in model.labels]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert row["label"] == model.labels[int(np.argmax(probs))]
        # shorter than --min_segment only where no neighbour is near
        assert 0.25 <= float(row["end"]) - float(row["start"]) <= 10.0
    own = [model.classify_file(f)[3][0] for f in files]
    coverage, silence, agreement, accuracy = _check_timeline(rows, truth, own)
    assert coverage >= 0.9
    assert silence < 0.10
    # The tiny model is untrained: its labels are near ties, which a
    # boundary moved by a few frames can flip. Hence "about as accurate":
    # at most one or two of the eight utterances differ.
    assert agreement >= 0.75
    own_accuracy = np.mean([o == t[3] for o, t in zip(own, truth)])
    assert abs(accuracy - own_accuracy) <= 0.25


def test_rttm_segments_with_speakers(export, model, recording, tmp_path):
    path, _, truth = recording
    rttm = tmp_path / "meeting.rttm"
    lines = [
        f"SPEAKER meeting 1 {s:.3f} {e - s:.3f} <NA> <NA> {who} <NA> <NA>"
        for s, e, who, _ in truth
    ]
    rttm.write_text("\n".join(lines) + "\n")
    out = tmp_path / "rttm.csv"
    plots = tmp_path / "plots"
    args = ["--model", export, path, "--segments", str(rttm)]
    args += ["--out", str(out), "--plot", str(plots), "--no-progress"]
    assert main(args) == 0
    rows = _read(out)
    assert list(rows[0])[:6] == [
        "path",
        "start",
        "end",
        "speaker",
        "label",
        "score",
    ]
    # each utterance is one segment (1-10 s, gaps > --merge_gap)
    assert [(r["start"], r["end"], r["speaker"]) for r in rows] == [
        (f"{s:.3f}", f"{e:.3f}", who) for s, e, who, _ in truth
    ]
    # a segment is classified as its span cut out of the recording
    start, end = float(rows[0]["start"]), float(rows[0]["end"])
    audio, rate = soundfile.read(path, dtype="float32")
    cut = audio[int(round(start * rate)) : int(round(end * rate))]
    expected = model.classify_batch(cut[None])[0][0].tolist()
    got = [float(rows[0][f"prob_{c}"]) for c in model.labels]
    # measured: 4.7e-7 apart (written with 6 decimals)
    assert got == pytest.approx(expected, abs=2e-6)
    # the summary: share of each speaker's time per predicted label
    summary = _read(plots / "meeting_summary.csv")
    for who in {t[2] for t in truth} | {"*"}:
        mine = [r for r in rows if who in ("*", r["speaker"])]
        total = sum(float(r["end"]) - float(r["start"]) for r in mine)
        for label in model.labels:
            seconds = sum(
                float(r["end"]) - float(r["start"])
                for r in mine
                if r["label"] == label
            )
            entry = next(
                e
                for e in summary
                if e["speaker"] == who and e["label"] == label
            )
            # measured: 1.4e-5 apart (times written with 3 decimals)
            assert float(entry["share"]) == pytest.approx(
                seconds / total, abs=6e-5
            )
    assert (plots / "meeting.png").read_bytes()[:4] == b"\x89PNG"


def test_csv_segments_and_unknown_recordings(export, recording, tmp_path):
    path, files, _ = recording
    listing = tmp_path / "segments.csv"
    listing.write_text(
        f"path,start,end,speaker\n{path},3.0,4.5,A\n{path},0.5,2.0,B\n"
        f"{files[0]},0.0,0.004,A\n"
    )
    out = tmp_path / "out.csv"
    args = ["--model", export, "--segments", str(listing), "--out", str(out)]
    assert main(args + ["--no-progress"]) == 0
    rows = _read(out)
    assert [(r["path"], r["start"], r["speaker"]) for r in rows] == [
        (path, "0.500", "B"),
        (path, "3.000", "A"),
        (files[0], "0.000", "A"),
    ]
    assert rows[0]["label"] and "receptive field" in rows[2]["error"]
    # an RTTM that names another recording: an error row, not a crash
    rttm = tmp_path / "other.rttm"
    rttm.write_text("SPEAKER other 1 0.0 2.0 <NA> <NA> A <NA> <NA>\n")
    args = ["--model", export, path, "--segments", str(rttm), "--out"]
    assert main(args + [str(out), "--no-progress"]) == 1
    (row,) = _read(out)
    assert row["error"].startswith("NoSegments")


def test_audio_is_read_in_pieces(export, recording, tmp_path, monkeypatch):
    """Neither the detector nor the classifier reads more than a block
    (30 s) or a segment (--max_segment) at a time, and the model's
    whole-file loader is never used."""
    path, _, _ = recording
    reads = []
    real_read = soundfile.SoundFile.read

    def read(self, frames=-1, *args, **kwargs):
        """Records how many frames each read asks for."""
        reads.append(self.frames if frames < 0 else frames)
        return real_read(self, frames, *args, **kwargs)

    def no_whole_file(*args, **kwargs):
        """Fails: a timeline must not load a recording whole."""
        raise AssertionError("load_audio called")

    monkeypatch.setattr(soundfile.SoundFile, "read", read)
    monkeypatch.setattr(GEmoCLAP, "load_audio", no_whole_file)
    out = tmp_path / "pieces.csv"
    args = ["--model", export, "--timeline", path, "--out", str(out)]
    args += ["--max_segment", "2.0", "--no-progress"]
    assert main(args) == 0
    rows = _read(out)
    assert len(rows) >= 8 and not any(r["error"] for r in rows)
    assert reads and max(reads) <= 30 * RATE
    # one read per segment, none longer than --max_segment
    spans = [r for r in reads if r <= 2.0 * RATE + 1]
    assert len(spans) == len(rows)


def test_merging_never_joins_two_speakers():
    """Short segments merge with the next one of the same speaker only:
    B's segment between A's two stays apart, while the same times without
    speakers become one segment."""
    from speechbrain_gemo.segments import Segment, fit_segments

    options = dict(min_seconds=1.0, max_seconds=10.0, max_gap=0.6)
    spans = [(0.0, 0.5), (0.6, 0.9), (1.0, 1.6)]
    speakers = [Segment(s, e, who) for (s, e), who in zip(spans, "ABA")]
    assert fit_segments(speakers, **options) == [
        Segment(0.0, 1.6, "A"),
        Segment(0.6, 0.9, "B"),
    ]
    unknown = [Segment(s, e) for s, e in spans]
    assert fit_segments(unknown, **options) == [Segment(0.0, 1.6)]


def test_error_rows_and_the_vad_threshold(export, model, tmp_path):
    """An unreadable file gets one ``AudioReadError`` row and the others
    go on; ``--vad_threshold`` reaches the energy detector: a tone 46 dB
    over the noise floor is speech at the default 12 dB margin and none
    at 60 dB (then one ``NoSpeech`` row with empty times)."""
    rng = np.random.default_rng(0)
    signal = 0.001 * rng.standard_normal(5 * RATE)
    signal[RATE : 3 * RATE] += 0.3 * np.sin(np.arange(2 * RATE) * 0.1)
    tone = str(tmp_path / "tone.wav")
    soundfile.write(tone, signal.astype("float32"), RATE)
    broken = str(tmp_path / "broken.wav")
    with open(broken, "wb") as f:
        f.write(b"RIFF\x10\x00\x00\x00WAVEjunk" * 8)
    out = tmp_path / "out.csv"
    args = ["--model", export, "--timeline", "--vad", "energy"]
    args += ["--no-progress", "--out", str(out)]
    assert main(args + [tone, broken]) == 0
    found, failed = _read(out)
    assert (found["path"], found["error"]) == (tone, "")
    # the tiny export is an ML-GEmo-CLAP model: gender columns, no speaker
    probs = [f"prob_{label}" for label in model.labels]
    assert list(found) == ["path", "start", "end", "label", "score"] + probs + [
        "gender",
        "gender_score",
        "error",
    ]
    assert found["gender"] in model.gender_labels
    # the tone spans 1-3 s (the detector pads each side by 0.03 s)
    assert float(found["start"]) == pytest.approx(1.0, abs=0.1)
    assert float(found["end"]) == pytest.approx(3.0, abs=0.1)
    assert failed["path"] == broken and failed["start"] == ""
    assert failed["error"].startswith("AudioReadError")
    assert main(args + ["--vad_threshold", "60", tone]) == 1
    (row,) = _read(out)
    assert (row["start"], row["end"], row["label"]) == ("", "", "")
    assert row["error"].startswith("NoSpeech")


def test_vad_threshold_reaches_silero(export, recording, tmp_path):
    """``--vad_threshold`` is Silero's speech probability: a stricter one
    keeps less of each utterance, and 1.0 (never exceeded) finds no
    speech."""
    path = recording[0]
    out = tmp_path / "out.csv"
    args = ["--model", export, "--timeline", path, "--vad", "silero"]
    args += ["--no-progress", "--out", str(out)]
    speech = {}
    for threshold in ("0.2", "0.99"):
        assert main(args + ["--vad_threshold", threshold]) == 0
        rows = _read(out)
        speech[threshold] = sum(
            float(r["end"]) - float(r["start"]) for r in rows
        )
    # measured: 15.23 s at 0.2 and 13.06 s at 0.99 (13.1 s of speech)
    assert speech["0.2"] - speech["0.99"] > 1.0
    assert main(args + ["--vad_threshold", "1.0"]) == 1
    (row,) = _read(out)
    assert row["error"].startswith("NoSpeech")


def _bursts(path, starts, seconds=3.0, rate=RATE, subtype="PCM_16", seed=0):
    """Writes quiet background noise with a 1 s tone at each start time
    (speech for the detectors that care about energy)."""
    rng = np.random.default_rng(seed)
    signal = 0.003 * rng.standard_normal(int(seconds * rate))
    t = np.arange(rate) / rate
    for start in starts:
        first = int(start * rate)
        signal[first : first + rate] += 0.2 * np.sin(2 * np.pi * 220 * t)
    soundfile.write(path, signal.astype("float32"), rate, subtype=subtype)
    return str(path)


def test_segment_lists_with_a_byte_order_mark_and_relative_paths(
    export, tmp_path, monkeypatch, capsys
):
    """An RTTM and a segment CSV saved with a UTF-8 byte-order mark are
    read as without it (on 209ec44 the RTTM's first line was silently
    dropped, and the CSV's path column was named '\\ufeffpath'); paths in
    a segment CSV are relative to its folder, from any current folder
    (on 209ec44, to the current folder), and a missing file's row names
    the path tried."""
    calls = tmp_path / "calls"
    calls.mkdir()
    x = _bursts(calls / "x.wav", [0.5])
    y = _bursts(calls / "y.wav", [1.0], seed=1)
    rttm = tmp_path / "d.rttm"
    rttm.write_text(
        "SPEAKER x 1 0.500 1.000 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER y 1 1.000 1.000 <NA> <NA> B <NA> <NA>\n",
        encoding="utf-8-sig",
    )
    out = tmp_path / "out.csv"
    args = ["--out", str(out), "--no-progress", "--model", export]
    assert main(args + [x, y, "--segments", str(rttm)]) == 0
    rows = _read(out)
    assert [(r["path"], r["start"], r["speaker"]) for r in rows] == [
        (x, "0.500", "A"),
        (y, "1.000", "B"),
    ]
    assert not any(r["error"] for r in rows)
    with_bom = calls / "bom.csv"
    with_bom.write_text(f"path,start,end\n{x},0.5,1.5\n", encoding="utf-8-sig")
    assert main(args + ["--segments", str(with_bom)]) == 0
    ((path, start, error),) = [
        (r["path"], r["start"], r["error"]) for r in _read(out)
    ]
    assert (path, start, error) == (x, "0.500", "")
    relative = calls / "relative.csv"
    relative.write_text(
        "path,start,end,speaker\nx.wav,0.5,1.5,A\ny.wav,1.0,2.0,B\n"
        "gone.wav,0.0,1.0,A\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(args + ["--segments", os.path.relpath(relative)]) == 0
    rows = _read(out)
    tried = str(calls / "gone.wav")
    assert [os.path.abspath(r["path"]) for r in rows] == [x, y, tried]
    assert [bool(r["error"]) for r in rows] == [False, False, True]
    assert tried in rows[2]["error"]
    assert f"looked for {tried}" in capsys.readouterr().err


def test_bad_segment_lists(export, tmp_path, capsys):
    """A segment CSV row with a missing cell is refused naming its line
    (on 209ec44: a traceback); a zero-length RTTM line is left out with a
    warning while every recording is classified (on 209ec44 it stopped
    the run); two inputs with the name an RTTM uses are refused as
    ambiguous, naming both (on 209ec44 both got the same segments)."""
    x = _bursts(tmp_path / "x.wav", [0.5])
    out = tmp_path / "out.csv"
    args = ["--out", str(out), "--no-progress", "--model", export]
    missing = tmp_path / "missing.csv"
    missing.write_text(f"path,start,end\n{x},0.5,1.5\n{x},2.0\n")
    assert main(args + ["--segments", str(missing)]) == 2
    assert (
        "missing.csv, line 3: the end cell is empty" in capsys.readouterr().err
    )
    assert not out.exists()
    rttm = tmp_path / "zero.rttm"
    rttm.write_text(
        "SPEAKER x 1 0.500 1.000 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER x 1 2.000 0.000 <NA> <NA> B <NA> <NA>\n"
    )
    assert main(args + [x, "--segments", str(rttm)]) == 0
    assert "1 segment(s) of zero length left out (lines 2)" in (
        capsys.readouterr().err
    )
    ((start, end, error),) = [
        (r["start"], r["end"], r["error"]) for r in _read(out)
    ]
    assert (start, end, error) == ("0.500", "1.500", "")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _bursts(tmp_path / "a" / "x.wav", [0.5])
    second = _bursts(tmp_path / "b" / "x.wav", [1.5], seed=1)
    out.unlink()
    assert main(args + [first, second, "--segments", str(rttm)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"'x' is {first} and {second}" in err and "ambiguous" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "rate,subtype", [(16000, "PCM_16"), (8000, "ULAW"), (44100, "PCM_24")]
)
def test_energy_vad_floor_leaves_out_digital_silence(tmp_path, rate, subtype):
    """A call that starts with 4 s of digital silence: the noise floor is
    that of the background noise, so its three bursts are three segments
    (on 209ec44 the floor was -120 dB and the noise was speech: one
    segment from 4 s to the end). Bursts between stretches of digital
    silence with no background noise at all are still found (the floor is
    then the silence)."""
    from speechbrain_gemo.vad import energy_speech

    path = _bursts(
        tmp_path / "call.wav", [7.0, 14.0, 21.0], 28.0, rate, subtype
    )
    signal, _ = soundfile.read(path)
    bursts = [(7.0, 8.0), (14.0, 15.0), (21.0, 22.0)]
    for silent in ([(0.0, 4.0)], [(0, 7), (8, 14), (15, 21), (22, 28)]):
        for start, end in silent:
            signal[int(start * rate) : int(end * rate)] = 0.0
        soundfile.write(path, signal, rate, subtype=subtype)
        found = energy_speech(path, speech_pad=0.0)
        assert [(round(s.start, 1), round(s.end, 1)) for s in found] == bursts


def test_plot_files_are_unique_and_speakers_apart_from_everyone(
    export, tmp_path
):
    """Plots of ``a/x.wav``, ``b/x.wav``, ``c/x-0.wav`` and ``d/x-1.wav``
    go to four different files (on 209ec44 ``x-0`` was written twice),
    and a name that matplotlib would read as broken mathtext
    (``y$_{$``) is drawn as it is; in a summary, a speaker named ``*`` is
    counted once, apart from everyone (then named ``**``; on 209ec44 its
    time was counted twice in ``*``)."""
    paths, lines = [], ["path,start,end,speaker"]
    for k, folder in enumerate("abcde"):
        (tmp_path / folder).mkdir()
        name = ("x", "x", "x-0", "x-1", "y$_{$")[k]
        wav = tmp_path / folder / f"{name}.wav"
        paths.append(_bursts(wav, [0.5], seconds=4.0, seed=k))
        # recording k: 1 + 0.5 k seconds of speech, of speakers * and B
        lines += [f"{paths[-1]},0.0,1.0,*", f"{paths[-1]},1.5,{2 + k / 2},B"]
    listing = tmp_path / "segments.csv"
    listing.write_text("\n".join(lines) + "\n")
    plots = tmp_path / "plots"
    out = tmp_path / "out.csv"
    args = ["--model", export, "--segments", str(listing), "--plot"]
    assert main(args + [str(plots), "--out", str(out), "--no-progress"]) == 0
    assert not any(r["error"] for r in _read(out))
    pngs = sorted(p.name for p in plots.glob("*.png"))
    # and, with several recordings, the archive's overview
    assert pngs.pop(pngs.index("overview.png"))
    assert len(pngs) == 5
    totals = {}
    for png in pngs:
        summary = _read(plots / png.replace(".png", "_summary.csv"))
        seconds = {}
        for entry in summary:
            who = entry["speaker"]
            seconds[who] = seconds.get(who, 0.0) + float(entry["seconds"])
        assert set(seconds) == {"**", "*", "B"}
        assert seconds["*"] == pytest.approx(1.0)
        assert seconds["**"] == pytest.approx(seconds["*"] + seconds["B"])
        totals[png] = seconds["B"]
    assert sorted(totals.values()) == pytest.approx([0.5, 1, 1.5, 2, 2.5])
