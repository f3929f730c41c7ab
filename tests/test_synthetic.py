"""Tests of the synthetic IEMOCAP-like corpus generator.

A tiny corpus (four in-class and one extra utterance per speaker) is
generated once and checked for the release layout, the official label-line
format, the id conventions, the audio, determinism, the skip-on-rerun
marker and agreement with the IEMOCAP preparation. Expected counts are
derived by hand from the options (ten speakers; one utterance of each
class and one extra per speaker), and what the corpus holds is read from
disk (files counted, label files parsed with regular expressions,
durations from the wav headers), never from the generator's summary.

Authors
 * speechbrain-gemo developers 2026
"""

import json
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechbrain_gemo.data import synthetic
from speechbrain_gemo.data.espeak import ESpeakNG
from speechbrain_gemo.data.synthetic import (
    CLASSES,
    MARKER_NAME,
    PROGRESS_NAME,
    SAMPLE_RATE,
    generate_corpus,
    plan_corpus,
)

TINY = {"utterances_per_speaker": 4, "extra_per_speaker": 1}
# By hand for TINY: 10 speakers x (4 classes + 1 extra) utterances; the
# extra labels fru, sur, xxx go round the speakers (4, 3 and 3 of them).
TINY_UTTERANCES = 50
TINY_CLASSES = {"neu": 10, "hap": 10, "ang": 10, "sad": 10}
TINY_EXTRA = {"fru": 4, "sur": 3, "xxx": 3}
MERGE = {"exc": "hap"}
ID = r"Ses0[1-5][FM]_(?:impro\d{2}|script\d{2}_\d)_[FM]\d{3}"
LABEL_LINE = re.compile(
    r"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(" + ID + r")\t([a-z]{3})\t"
    r"\[(\d\.\d{4}), (\d\.\d{4}), (\d\.\d{4})\]$"
)
CATEGORICAL_LINE = re.compile(r"^C-E\d:\t[A-Z][a-z]+;\t\(\)$")
ATTRIBUTE_LINE = re.compile(
    r"^A-E\d:\tval [1-5]; act [1-5]; dom  [1-5];\t\(\)$"
)
TRANSCRIPTION_LINE = re.compile(
    r"^(" + ID + r") \[(\d{3}\.\d{4})-(\d{3}\.\d{4})\]: (.+)$"
)
CAT_FILE_LINE = re.compile(r"^(" + ID + r") :[A-Z][a-z]+(?: state)?; \(\)$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny corpus and its summary."""
    root = tmp_path_factory.mktemp("synthetic") / "IEMOCAP_full_release"
    summary = generate_corpus(root, **TINY)
    return root, summary


def parse_label_files(root):
    """Parses every EmoEvaluation file strictly; returns the blocks."""
    blocks = []
    for session in range(1, 6):
        label_dir = root / f"Session{session}" / "dialog" / "EmoEvaluation"
        for path in sorted(label_dir.glob("*.txt")):
            lines = path.read_text(encoding="ascii").split("\n")
            assert lines[0] == (
                "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
            )
            assert lines[1] == ""
            previous_end = 0.0
            for chunk in "\n".join(lines[2:]).strip("\n").split("\n\n"):
                first, *annotations = chunk.split("\n")
                match = LABEL_LINE.match(first)
                assert match, f"bad label line in {path}: {first!r}"
                start, end = float(match.group(1)), float(match.group(2))
                assert previous_end < start < end
                previous_end = end
                kinds = [
                    "C" if CATEGORICAL_LINE.match(a) else "A"
                    for a in annotations
                    if CATEGORICAL_LINE.match(a) or ATTRIBUTE_LINE.match(a)
                ]
                assert len(kinds) == len(annotations) >= 3, annotations
                assert "C" in kinds and "A" in kinds
                ratings = [
                    tuple(int(x) for x in re.findall(r"[1-5](?=;)", a))
                    for a in annotations
                    if ATTRIBUTE_LINE.match(a)
                ]
                blocks.append(
                    {
                        "session": session,
                        "dialog": path.stem,
                        "utt_id": match.group(3),
                        "label": match.group(4),
                        "start": start,
                        "end": end,
                        "vad": tuple(float(match.group(k)) for k in (5, 6, 7)),
                        "ratings": ratings,
                    }
                )
    return blocks


def speaker_of(utt_id):
    """``Ses01F``-style speaker of an utterance id: the session and the
    turn's gender letter (not the dialog's lead letter)."""
    return utt_id[:5] + utt_id.rsplit("_", 1)[1][0]


def hidden_files(root):
    """Files whose name starts with a dot (temporary files of the
    writers), except the generator's completion marker."""
    return [
        p for p in root.rglob(".*") if p.is_file() and p.name != MARKER_NAME
    ]


def test_layout(tiny):
    root, _ = tiny
    blocks = parse_label_files(root)
    assert len(blocks) == TINY_UTTERANCES
    assert len(list(root.rglob("*.wav"))) == TINY_UTTERANCES
    dialogs = {b["dialog"] for b in blocks}
    for session in range(1, 6):
        base = root / f"Session{session}"
        evaluation = base / "dialog" / "EmoEvaluation"
        own = sorted(d for d in dialogs if d.startswith(f"Ses0{session}"))
        assert own, f"Session{session} has no dialog"
        assert sorted(p.stem for p in evaluation.glob("*.txt")) == own
        assert any((evaluation / "Categorical").glob("*_cat.txt"))
        for dialog in own:
            assert (
                base / "dialog" / "transcriptions" / f"{dialog}.txt"
            ).is_file()
            assert (base / "sentences" / "wav" / dialog).is_dir()
    wavs = {p.stem: p for p in root.glob("Session*/sentences/wav/*/*.wav")}
    assert set(wavs) == {b["utt_id"] for b in blocks}
    for b in blocks:
        expected = (
            root
            / f"Session{b['session']}"
            / "sentences"
            / "wav"
            / b["dialog"]
            / f"{b['utt_id']}.wav"
        )
        assert wavs[b["utt_id"]] == expected
    assert not list(root.rglob("*.part")) and not hidden_files(root)
    assert (root / MARKER_NAME).is_file()
    assert not (root / PROGRESS_NAME).exists()


def test_labels_and_ids(tiny):
    root, summary = tiny
    blocks = parse_label_files(root)
    labels = Counter(b["label"] for b in blocks)
    assert {k: labels[k] for k in TINY_EXTRA} == TINY_EXTRA
    assert labels["exc"] > 0 and labels["hap"] > 0
    classes = Counter(MERGE.get(b["label"], b["label"]) for b in blocks)
    assert {k: classes[k] for k in CLASSES} == TINY_CLASSES
    assert sum(labels.values()) == TINY_UTTERANCES
    # Each speaker: one utterance of each class and one extra.
    per_speaker = {}
    for b in blocks:
        label = MERGE.get(b["label"], b["label"])
        per_speaker.setdefault(speaker_of(b["utt_id"]), Counter())[label] += 1
    assert sorted(per_speaker) == sorted(
        f"Ses0{s}{g}" for s in range(1, 6) for g in "FM"
    )
    for speaker, counts in per_speaker.items():
        assert all(counts[c] == 1 for c in CLASSES), (speaker, counts)
        assert sum(counts.values()) == 5, (speaker, counts)
    # The summary agrees with the files.
    assert Counter(summary["labels"]) == labels
    assert summary["classes"] == TINY_CLASSES
    kinds = set()
    for b in blocks:
        dialog, turn = b["utt_id"].rsplit("_", 1)
        assert dialog == b["dialog"]
        assert b["utt_id"].startswith(f"Ses0{b['session']}")
        kinds.add("script" if "_script" in dialog else "impro")
    assert kinds == {"impro", "script"}
    # The gender is the turn's letter, not the dialog's lead letter.
    mixed = [
        b for b in blocks if b["utt_id"][5] != b["utt_id"].rsplit("_", 1)[1][0]
    ]
    assert mixed
    for session in range(1, 6):
        genders = {
            b["utt_id"].rsplit("_", 1)[1][0]
            for b in blocks
            if b["session"] == session
        }
        assert genders == {"F", "M"}
    in_class = [b for b in blocks if b["label"] in CLASSES + ("exc",)]
    genders = Counter(b["utt_id"].rsplit("_", 1)[1][0] for b in in_class)
    assert genders == {"F": 20, "M": 20}
    assert summary["genders"] == {"F": 20, "M": 20}


def test_transcriptions_and_categorical(tiny):
    root, _ = tiny
    times = {
        b["utt_id"]: (b["start"], b["end"]) for b in parse_label_files(root)
    }
    seen = set()
    for path in root.glob("Session*/dialog/transcriptions/*.txt"):
        for line in path.read_text().splitlines():
            match = TRANSCRIPTION_LINE.match(line)
            assert match, line
            utt_id = match.group(1)
            start, end = float(match.group(2)), float(match.group(3))
            assert (start, end) == times[utt_id]
            assert match.group(4) in synthetic.SENTENCES
            seen.add(utt_id)
    assert seen == set(times)
    for path in root.glob("Session*/dialog/EmoEvaluation/Categorical/*.txt"):
        assert re.match(r"^Ses0[1-5][FM]_\w+_e\d_cat\.txt$", path.name)
        for line in path.read_text().splitlines():
            assert CAT_FILE_LINE.match(line), line


def test_audio(tiny):
    root, summary = tiny
    blocks = {b["utt_id"]: b for b in parse_label_files(root)}
    durations = {}
    for path in root.glob("Session*/sentences/wav/*/*.wav"):
        info = sf.info(path)
        assert info.samplerate == SAMPLE_RATE
        assert info.channels == 1
        assert info.subtype == "PCM_16"
        x, _ = sf.read(path)
        assert 0.8 < len(x) / SAMPLE_RATE < 4.5
        rms = np.sqrt(np.mean(x**2))
        assert 20 * np.log10(rms) > -45
        assert np.abs(x).max() < 0.95
        block = blocks[path.stem]
        assert block["end"] - block["start"] == pytest.approx(
            len(x) / SAMPLE_RATE, abs=2e-4
        )
        durations[path.stem] = len(x) / SAMPLE_RATE
    # Rate is a cue: sad is the slowest class and angry the fastest.
    mean = {
        label: np.mean(
            [durations[u] for u, b in blocks.items() if b["label"] == label]
        )
        for label in ("sad", "neu", "ang")
    }
    assert mean["sad"] > mean["neu"] > mean["ang"]
    in_class = [
        durations[u]
        for u, b in blocks.items()
        if MERGE.get(b["label"], b["label"]) in CLASSES
    ]
    assert summary["hours"] == pytest.approx(sum(in_class) / 3600, abs=1e-4)


def test_same_seed_same_corpus(tiny, tmp_path):
    root, _ = tiny
    again = generate_corpus(tmp_path / "again", **TINY)
    assert not again["skipped"]

    def listing(folder):
        """Relative paths of the corpus files, marker left out."""
        return sorted(
            p.relative_to(folder)
            for p in folder.rglob("*")
            if p.is_file() and p.name != MARKER_NAME
        )

    assert listing(root) == listing(tmp_path / "again")
    for path in root.rglob("*.txt"):
        copy = tmp_path / "again" / path.relative_to(root)
        assert copy.read_bytes() == path.read_bytes(), path.name
    for path in sorted(root.rglob("*.wav")):
        copy = tmp_path / "again" / path.relative_to(root)
        assert copy.read_bytes() == path.read_bytes(), path.name


def test_different_seed_differs(tmp_path):
    options = {"utterances_per_speaker": 0, "extra_per_speaker": 1}
    generate_corpus(tmp_path / "a", seed=1, **options)
    generate_corpus(tmp_path / "b", seed=2, **options)
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.txt")
    )
    texts_a = [(tmp_path / "a" / p).read_bytes() for p in files_a]
    texts_b = [
        (tmp_path / "b" / p).read_bytes()
        if (tmp_path / "b" / p).exists()
        else b""
        for p in files_a
    ]
    assert texts_a != texts_b


def test_plan_prosody_order():
    plan = plan_corpus(utterances_per_speaker=32, extra_per_speaker=0)
    by_label = {}
    for p in plan:
        label = synthetic.MERGED_LABELS.get(p.label, p.label)
        by_label.setdefault(label, []).append(p.prosody)
    rate = {k: np.mean([x.rate for x in v]) for k, v in by_label.items()}
    pitch = {k: np.mean([x.pitch for x in v]) for k, v in by_label.items()}
    span = {k: np.mean([x.pitch_range for x in v]) for k, v in by_label.items()}
    assert rate["ang"] > rate["hap"] > rate["neu"] > rate["sad"]
    assert pitch["hap"] > pitch["ang"] > pitch["neu"] > pitch["sad"]
    assert span["hap"] > span["ang"] > span["neu"] > span["sad"]
    # Every speaker says the same sentences in each class.
    for speaker in synthetic.SPEAKERS:
        texts = {
            c: Counter(
                p.text
                for p in plan
                if p.speaker == speaker
                and synthetic.MERGED_LABELS.get(p.label, p.label) == c
            )
            for c in CLASSES
        }
        assert all(texts[c] == texts["neu"] for c in CLASSES)


def test_rerun_skips_and_new_options_regenerate(tmp_path, caplog):
    out = tmp_path / "corpus"
    options = {"utterances_per_speaker": 0, "extra_per_speaker": 1}
    first = generate_corpus(out, **options)
    assert not first["skipped"]
    wav = next(out.rglob("*.wav"))
    stamp = wav.stat().st_mtime_ns
    with caplog.at_level("INFO", logger=synthetic.__name__):
        second = generate_corpus(out, **options)
    assert second["skipped"]
    assert "skipping" in caplog.text
    assert wav.stat().st_mtime_ns == stamp
    marker = json.loads((out / MARKER_NAME).read_text())
    assert marker["options"]["extra_per_speaker"] == 1
    third = generate_corpus(out, utterances_per_speaker=0, extra_per_speaker=2)
    assert not third["skipped"]
    assert len(list(out.rglob("*.wav"))) == 20
    assert len(parse_label_files(out)) == 20
    forced = generate_corpus(
        out, utterances_per_speaker=0, extra_per_speaker=2, force=True
    )
    assert not forced["skipped"]


def test_interrupted_generation_is_redone(tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    options = {"utterances_per_speaker": 0, "extra_per_speaker": 1}
    real = synthetic.render_utterance
    calls = []

    def flaky(plan, tts, **kwargs):
        calls.append(plan.utt_id)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(plan, tts, **kwargs)

    monkeypatch.setattr(synthetic, "render_utterance", flaky)
    with pytest.raises(KeyboardInterrupt):
        generate_corpus(out, **options)
    assert not (out / MARKER_NAME).exists()
    assert (out / PROGRESS_NAME).exists()
    # The four rendered utterances were not written yet (a dialog is
    # written once all its utterances are rendered); nothing half-written.
    assert not list(out.rglob("*.part"))
    assert [p.name for p in hidden_files(out)] == [PROGRESS_NAME]
    monkeypatch.setattr(synthetic, "render_utterance", real)
    summary = generate_corpus(out, **options)
    assert not summary["skipped"]
    assert len(list(out.rglob("*.wav"))) == 10
    assert not (out / PROGRESS_NAME).exists()


def test_refuses_foreign_folder(tmp_path):
    (tmp_path / "Session1").mkdir()
    with pytest.raises(FileExistsError, match="not made by"):
        generate_corpus(tmp_path, utterances_per_speaker=0, extra_per_speaker=1)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"utterances_per_speaker": -1}, "utterances_per_speaker"),
        ({"extra_labels": ["neu"]}, "extra label"),
        ({"sentences": []}, "sentence"),
        ({"sentences": ["a\tb"]}, "one line"),
        ({"utterances_per_speaker": 0, "extra_per_speaker": 0}, "no utter"),
    ],
)
def test_bad_options(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        generate_corpus(tmp_path, **options)
    assert not any(tmp_path.iterdir())


def test_cli(tmp_path, capsys):
    out = str(tmp_path / "cli")
    args = ["--out", out, "--utterances-per-speaker", "0"]
    args += ["--extra-per-speaker", "1", "--extra-labels", "sur"]
    synthetic.main(args)
    printed = capsys.readouterr().out
    blocks = parse_label_files(tmp_path / "cli")
    assert Counter(b["label"] for b in blocks) == {"sur": 10}
    assert len(list((tmp_path / "cli").rglob("*.wav"))) == 10
    assert json.loads(printed)["labels"] == {"sur": 10}
    synthetic.main(args)
    assert "skipped" in capsys.readouterr().out


def test_matches_preparation(tiny, tmp_path):
    from speechbrain_gemo.data.iemocap import prepare_iemocap

    root, _ = tiny
    blocks = parse_label_files(root)
    in_class = {
        b["utt_id"]: MERGE.get(b["label"], b["label"])
        for b in blocks
        if MERGE.get(b["label"], b["label"]) in CLASSES
    }
    paths = prepare_iemocap(
        str(root), str(tmp_path / "save"), expected_utterances=None
    )
    entries = {}
    for name in ("train", "valid", "test"):
        with open(paths[name]) as f:
            manifest = json.load(f)
        assert not set(manifest) & set(entries)
        entries.update(manifest)
        if name == "test":
            assert {e["session"] for e in manifest.values()} == {1}
    assert {u: e["emo"] for u, e in entries.items()} == in_class
    # The label line's [V, A, D] is the annotators' mean, and the
    # preparation reads it as IEMOCAP's: arousal is A, valence V
    for b in blocks:
        means = tuple(np.mean(b["ratings"], axis=0))
        assert b["vad"] == pytest.approx(means), b["utt_id"]
        if b["utt_id"] in entries:
            entry = entries[b["utt_id"]]
            rated = (entry["valence"], entry["arousal"], entry["dominance"])
            assert rated == b["vad"]
    assert len({b["vad"] for b in blocks if b["label"] == "neu"}) > 1
    assert Counter(e["emo"] for e in entries.values()) == TINY_CLASSES
    assert Counter(e["gender"] for e in entries.values()) == {"F": 20, "M": 20}
    assert Counter(e["speaker"] for e in entries.values()) == Counter(
        speaker_of(u) for u in in_class
    )
    for utt_id, entry in entries.items():
        assert entry["gender"] == utt_id.rsplit("_", 1)[1][0]
        assert entry["speaker"] == f"{utt_id[:5]}{entry['gender']}"
        wav = entry["wav"].replace("{data_root}", str(root))
        assert os.path.isfile(wav)
        # measured: equal (both frames / sample rate)
        assert entry["duration"] == pytest.approx(
            sf.info(wav).duration, abs=1e-9
        )
    assert Path(paths["train"]).parent == tmp_path / "save"


def test_espeak_output_does_not_depend_on_history():
    # Why the binding loads a fresh library copy per utterance: the same
    # call gives the same samples whatever was synthesised before.
    with ESpeakNG() as tts:
        first = tts.synthesize("The keys are here.", "en-us+f1", seed=3)
        tts.synthesize("Something else, much louder!", "en+m3", pitch=90)
        again = tts.synthesize("The keys are here.", "en-us+f1", seed=3)
        slow = tts.synthesize("The keys are here.", "en-us+f1", rate=100)
        fast = tts.synthesize("The keys are here.", "en-us+f1", rate=300)
        with pytest.raises(ValueError, match="no voice 'xx-nonsense'"):
            tts.synthesize("a", "xx-nonsense")
    assert first.dtype == np.int16 and len(first) > 0.3 * tts.sample_rate
    assert np.array_equal(first, again)
    # rate in words per minute: three times faster, much shorter
    assert len(slow) > 2 * len(fast)


def test_espeak_missing_library(tmp_path):
    with pytest.raises(RuntimeError, match="not found.*espeakng-loader"):
        ESpeakNG(library_path=tmp_path / "none.so", data_path=tmp_path)
