"""Tests of the IEMOCAP preparation on a small tree in the official layout.

Authors
 * speechbrain-gemo developers 2026
"""

import json
import logging
import os
import sys

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.data import iemocap
from speechbrain_gemo.data.iemocap import (
    parse_utterance_id,
    prepare_iemocap,
    split_by_session,
    write_json_atomic,
)

RECIPE_DIR = os.path.join(
    os.path.dirname(__file__), "..", "recipes", "IEMOCAP", "gemo_clap"
)
SR = 16000
# (utterance suffix, raw label) per dialog kind; each session gets both.
IMPRO = [
    ("F000", "neu"),
    ("F001", "hap"),
    ("F002", "exc"),
    ("F003", "fru"),
    ("M000", "ang"),
    ("M001", "sad"),
    ("M002", "xxx"),
    ("M003", "neu"),
]
SCRIPT = [
    ("F000", "sad"),
    ("F001", "ang"),
    ("F002", "sur"),
    ("M000", "exc"),
    ("M001", "neu"),
    ("M002", "hap"),
    ("M003", "dis"),
]
KEPT = {"neu": "neu", "hap": "hap", "exc": "hap", "ang": "ang", "sad": "sad"}
PER_SESSION = {"neu": 3, "hap": 4, "ang": 2, "sad": 2}
TOTAL = 55
LOGGER = "speechbrain_gemo.data.iemocap"


def _label_block(start, utt_id, label):
    # A label line followed by annotator lines, as in the release.
    return (
        f"[{start:.4f} - {start + 1.5:.4f}]\t{utt_id}\t{label}\t"
        "[2.5000, 3.0000, 3.5000]\n"
        "C-E2:\tNeutral state;\t()\n"
        "C-E3:\tFrustration;\t(annoyed)\n"
        "A-E3:\tval 3; act 2; dom  2;\t()\n"
    )


def build_corpus(root):
    """Writes an IEMOCAP_full_release-like tree; returns the expected
    entries (with the resolved wav path) of the kept utterances."""
    expected = {}
    rng = np.random.default_rng(0)
    index = 0
    for session in range(1, 6):
        sess_dir = os.path.join(root, f"Session{session}")
        label_dir = os.path.join(sess_dir, "dialog", "EmoEvaluation")
        for sub in ("Categorical", "Attribute", "Self-evaluation"):
            os.makedirs(os.path.join(label_dir, sub))
        os.makedirs(os.path.join(sess_dir, "dialog", "transcriptions"))
        dialogs = [
            (f"Ses0{session}F_impro01", IMPRO),
            (f"Ses0{session}M_script01_1", SCRIPT),
        ]
        for dialog, utterances in dialogs:
            wav_dir = os.path.join(sess_dir, "sentences", "wav", dialog)
            os.makedirs(wav_dir)
            blocks = []
            for k, (suffix, label) in enumerate(utterances):
                utt_id = f"{dialog}_{suffix}"
                frames = int(round((0.2 + 0.05 * (index % 9)) * SR))
                index += 1
                wav = os.path.join(wav_dir, f"{utt_id}.wav")
                audio = 0.1 * rng.standard_normal(frames).astype("float32")
                soundfile.write(wav, audio, SR)
                blocks.append(_label_block(2.0 * k, utt_id, label))
                if label in KEPT:
                    expected[utt_id] = {
                        "wav": wav,
                        "duration": frames / SR,
                        "emo": KEPT[label],
                        "gender": suffix[0],
                        "speaker": f"Ses0{session}{suffix[0]}",
                        # the label lines' [V, A, D] = [2.5, 3.0, 3.5]
                        "arousal": 3.0,
                        "valence": 2.5,
                        "dominance": 3.5,
                        "session": session,
                        "dialog": dialog,
                    }
            header = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n"
            with open(os.path.join(label_dir, f"{dialog}.txt"), "w") as f:
                f.write(header + "\n" + "\n".join(blocks))
            # Label-like lines outside the top-level .txt files must be
            # ignored: their ids have no wav and would fail preparation.
            fake = f"{dialog}_F099"
            with open(
                os.path.join(label_dir, "Categorical", dialog + "_e1.txt"), "w"
            ) as f:
                f.write(_label_block(0.0, fake, "neu"))
            with open(os.path.join(label_dir, f"{dialog}.txt.bak"), "w") as f:
                f.write(_label_block(0.0, fake, "ang"))
            with open(
                os.path.join(sess_dir, "dialog", "transcriptions", dialog)
                + ".txt",
                "w",
            ) as f:
                f.write(f"{dialog}_F000 [0.0-1.5]: Hello.\n")
            # Stray binary metadata files, not valid UTF-8.
            stray = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X\xff\xfe\x80"
            with open(os.path.join(label_dir, f"._{dialog}.txt"), "wb") as f:
                f.write(stray)
            with open(os.path.join(wav_dir, f"._{dialog}_F000.wav"), "wb") as f:
                f.write(stray)
    with open(os.path.join(root, "._Session1"), "wb") as f:
        f.write(b"\x00\x05\x16\x07")
    return expected


@pytest.fixture
def corpus(tmp_path):
    """(data_folder, expected entries) of a fresh small corpus."""
    data = tmp_path / "IEMOCAP_full_release"
    data.mkdir()
    return str(data), build_corpus(str(data))


def prep(data, save, **kwargs):
    kwargs.setdefault("expected_utterances", TOTAL)
    return prepare_iemocap(data, str(save), **kwargs)


def load(save, name):
    with open(os.path.join(save, f"{name}.json")) as f:
        return json.load(f)


def load_all(save):
    return {name: load(save, name) for name in ("train", "valid", "test")}


def test_manifest_fields(corpus, tmp_path):
    data, expected = corpus
    paths = prep(data, tmp_path / "save", test_session=1)
    assert paths == {
        n: str(tmp_path / "save" / f"{n}.json")
        for n in ("train", "valid", "test")
    }
    test = load(tmp_path / "save", "test")
    assert test["Ses01F_impro01_M000"] == {
        "wav": "{data_root}/Session1/sentences/wav/Ses01F_impro01/"
        "Ses01F_impro01_M000.wav",
        "duration": expected["Ses01F_impro01_M000"]["duration"],
        "emo": "ang",
        "gender": "M",
        "speaker": "Ses01M",
        "arousal": 3.0,
        "valence": 2.5,
        "dominance": 3.5,
        "session": 1,
        "dialog": "Ses01F_impro01",
    }
    folds = load_all(tmp_path / "save")
    merged = {**folds["train"], **folds["valid"]}
    assert merged["Ses03M_script01_1_F000"] == {
        "wav": "{data_root}/Session3/sentences/wav/Ses03M_script01_1/"
        "Ses03M_script01_1_F000.wav",
        "duration": expected["Ses03M_script01_1_F000"]["duration"],
        "emo": "sad",
        "gender": "F",
        "speaker": "Ses03F",
        "arousal": 3.0,
        "valence": 2.5,
        "dominance": 3.5,
        "session": 3,
        "dialog": "Ses03M_script01_1",
    }
    # Every entry, every field, against what the tree was built with.
    for fold in folds.values():
        for utt_id, entry in fold.items():
            want = dict(expected[utt_id])
            assert entry.pop("wav").format(data_root=data) == want.pop("wav")
            assert entry == want
    # Durations are the real ones and vary.
    assert test["Ses01F_impro01_F000"]["duration"] == 0.2
    assert len({e["duration"] for e in expected.values()}) == 9


def test_labels_kept_merged_and_dropped(corpus, tmp_path):
    data, expected = corpus
    prep(data, tmp_path)
    folds = load_all(tmp_path)
    everything = {k: v for fold in folds.values() for k, v in fold.items()}
    assert sorted(everything) == sorted(expected)
    assert len(everything) == TOTAL
    # exc merged into hap, both impro and script.
    assert everything["Ses02F_impro01_F002"]["emo"] == "hap"
    assert everything["Ses02M_script01_1_M000"]["emo"] == "hap"
    for dropped in ("F003", "M002"):  # fru, xxx
        assert f"Ses01F_impro01_{dropped}" not in everything
    for dropped in ("F002", "M003"):  # sur, dis
        assert f"Ses04M_script01_1_{dropped}" not in everything
    # Sub-folders and non-.txt files are not read.
    assert not any(k.endswith("_F099") for k in everything)
    counts = {emo: 0 for emo in PER_SESSION}
    for entry in everything.values():
        counts[entry["emo"]] += 1
    assert counts == {emo: 5 * n for emo, n in PER_SESSION.items()}


def test_gender_from_last_part():
    info = parse_utterance_id("Ses01F_impro01_M000")
    assert info == {
        "session": 1,
        "gender": "M",
        "speaker": "Ses01M",
        "dialog": "Ses01F_impro01",
    }
    info = parse_utterance_id("Ses05M_script02_2_F017")
    assert (info["gender"], info["speaker"], info["dialog"]) == (
        "F",
        "Ses05F",
        "Ses05M_script02_2",
    )
    for bad in ("Ses01F_impro01", "Ses06F_impro01_F000", "foo"):
        with pytest.raises(ValueError, match="Not an IEMOCAP utterance id"):
            parse_utterance_id(bad)


def test_speakers_and_genders_in_manifests(corpus, tmp_path):
    data, _ = corpus
    prep(data, tmp_path, test_session=2)
    test = load(tmp_path, "test")
    by_speaker = {}
    for utt_id, entry in test.items():
        by_speaker.setdefault(entry["speaker"], []).append(utt_id)
        assert entry["gender"] == utt_id.rsplit("_", 1)[1][0]
    # Female: impro F000-F002, script F000-F001; the other six are male.
    assert sorted(by_speaker) == ["Ses02F", "Ses02M"]
    assert len(by_speaker["Ses02F"]) == 5
    assert len(by_speaker["Ses02M"]) == 6
    assert "Ses02F_impro01_M000" in by_speaker["Ses02M"]


def test_data_root_placeholder_loads(corpus, tmp_path):
    from speechbrain.dataio.dataset import DynamicItemDataset

    data, expected = corpus
    paths = prep(data, tmp_path)
    dataset = DynamicItemDataset.from_json(
        paths["valid"], replacements={"data_root": data}
    )
    assert len(dataset) > 0
    for utt_id, entry in dataset.data.items():
        assert entry["wav"] == expected[utt_id]["wav"]
        assert os.path.isfile(entry["wav"])


@pytest.mark.parametrize("test_session", [1, 2, 3, 4, 5])
def test_session_folds(corpus, tmp_path, test_session):
    data, expected = corpus
    prep(data, tmp_path, test_session=test_session)
    folds = load_all(tmp_path)
    in_session = {
        k for k, v in expected.items() if v["session"] == test_session
    }
    assert set(folds["test"]) == in_session
    assert {e["speaker"] for e in folds["test"].values()} == {
        f"Ses0{test_session}F",
        f"Ses0{test_session}M",
    }
    assert not set(folds["train"]) & set(folds["valid"])
    assert set(folds["train"]) | set(folds["valid"]) == set(expected) - (
        in_session
    )
    for name in ("train", "valid"):
        assert all(e["session"] != test_session for e in folds[name].values())


def test_valid_stratified(corpus, tmp_path):
    data, _ = corpus
    prep(data, tmp_path, test_session=3, valid_ratio=0.25)
    valid = load(tmp_path, "valid")
    train = load(tmp_path, "train")
    counts = {emo: 0 for emo in PER_SESSION}
    for entry in valid.values():
        counts[entry["emo"]] += 1
    # 4 sessions x (3, 4, 2, 2) -> 12, 16, 8, 8; a quarter of each.
    assert counts == {"neu": 3, "hap": 4, "ang": 2, "sad": 2}
    assert len(train) == 44 - 11


def test_valid_rounding_and_minimum():
    entries = {f"a{i}": {"emo": "neu", "session": 2} for i in range(15)}
    entries.update({f"b{i}": {"emo": "sad", "session": 2} for i in range(2)})
    entries.update({"c0": {"emo": "ang", "session": 2}})
    folds = split_by_session(entries, 1, valid_ratio=0.1, seed=0)
    valid_emos = sorted(entries[i]["emo"] for i in folds["valid"])
    # neu: round(1.5) half up = 2; sad: at least 1; ang: a lone item stays.
    assert valid_emos == ["neu", "neu", "sad"]
    assert "c0" in folds["train"]
    folds = split_by_session(entries, 1, valid_ratio=0.0, seed=0)
    assert folds["valid"] == []
    assert len(folds["train"]) == 18


def test_seed_determinism(corpus, tmp_path):
    data, _ = corpus
    prep(data, tmp_path / "a", seed=7, valid_ratio=0.25)
    prep(data, tmp_path / "b", seed=7, valid_ratio=0.25)
    prep(data, tmp_path / "c", seed=8, valid_ratio=0.25)
    valid_a = load(tmp_path / "a", "valid")
    assert valid_a == load(tmp_path / "b", "valid")
    assert sorted(valid_a) != sorted(load(tmp_path / "c", "valid"))
    assert load(tmp_path / "a", "test") == load(tmp_path / "c", "test")


def test_speaker_split(corpus, tmp_path):
    data, expected = corpus
    prep(data, tmp_path / "m", split="speaker", test_speaker="Ses02M")
    folds = load_all(tmp_path / "m")
    speakers = {v["speaker"] for v in expected.values()}
    assert len(speakers) == 10
    for name, speaker in (("test", "Ses02M"), ("valid", "Ses02F")):
        want = {k for k, v in expected.items() if v["speaker"] == speaker}
        assert set(folds[name]) == want
    assert {e["speaker"] for e in folds["train"].values()} == speakers - {
        "Ses02F",
        "Ses02M",
    }
    assert len(folds["train"]) == TOTAL - 11
    # Default: the female speaker of test_session.
    prep(data, tmp_path / "d", split="speaker", test_session=4)
    folds = load_all(tmp_path / "d")
    assert {e["speaker"] for e in folds["test"].values()} == {"Ses04F"}
    assert {e["speaker"] for e in folds["valid"].values()} == {"Ses04M"}


@pytest.mark.parametrize(
    "test_session, valid_session, expected_valid",
    [(1, None, 2), (5, None, 1), (3, 1, 1)],
)
def test_speaker_disjoint_valid_session(
    corpus, tmp_path, test_session, valid_session, expected_valid
):
    data, expected = corpus
    prep(data, tmp_path / "random", test_session=test_session)
    random_folds = load_all(tmp_path / "random")
    prep(
        data,
        tmp_path / "session",
        test_session=test_session,
        valid_split="session",
        valid_session=valid_session,
    )
    folds = load_all(tmp_path / "session")
    speakers = {
        name: {e["speaker"] for e in fold.values()}
        for name, fold in folds.items()
    }
    # valid is the whole valid session, both speakers, none of them trains
    assert speakers["valid"] == {
        f"Ses0{expected_valid}F",
        f"Ses0{expected_valid}M",
    }
    assert set(folds["valid"]) == {
        k for k, v in expected.items() if v["session"] == expected_valid
    }
    assert not speakers["valid"] & speakers["train"]
    assert len(speakers["train"]) == 6
    assert set(folds["train"]) == {
        k
        for k, v in expected.items()
        if v["session"] not in (test_session, expected_valid)
    }
    # test is untouched by the choice of validation
    assert folds["test"] == random_folds["test"]
    # the random split, by contrast, validates on training speakers
    random_speakers = {e["speaker"] for e in random_folds["valid"].values()}
    train_speakers = {e["speaker"] for e in random_folds["train"].values()}
    assert random_speakers <= train_speakers
    with open(tmp_path / "session" / "prepare_opts.json") as f:
        opts = json.load(f)
    assert (opts["valid_split"], opts["valid_session"]) == (
        "session",
        expected_valid,
    )
    assert opts["valid_ratio"] is None and opts["seed"] is None


def test_valid_split_is_part_of_the_options(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    prep(data, save, test_session=1)
    random_valid = load(save, "valid")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        prep(data, save, test_session=1, valid_split="session")
    assert "skipping" not in caplog.text
    assert "valid session 2" in caplog.text
    assert {e["session"] for e in load(save, "valid").values()} == {2}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        prep(data, save, test_session=1, valid_split="session")
    assert "skipping preparation" in caplog.text
    prep(data, save, test_session=1)
    assert load(save, "valid") == random_valid


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_session": 6}, r"test_session must be one of \(1, 2, 3, 4, 5\)"),
        ({"test_session": 0}, "got 0"),
        ({"valid_ratio": 1.0}, r"valid_ratio must be a number in \[0, 1\)"),
        ({"valid_ratio": -0.1}, "got -0.1"),
        ({"split": "random"}, "split must be one of.*got 'random'"),
        (
            {"split": "speaker", "test_speaker": "Ses07X"},
            "test_speaker must look like 'Ses01F'.*'Ses07X'",
        ),
        ({"test_speaker": "Ses01F"}, "only applies to split='speaker'"),
        ({"expected_utterances": 0}, "expected_utterances must be"),
        ({"valid_split": "speaker"}, "valid_split must be one of"),
        (
            {"valid_split": "session", "valid_session": 1},
            "valid_session=1 is the test session",
        ),
        ({"valid_split": "session", "valid_session": 6}, "got 6"),
        ({"valid_session": 2}, "only applies to valid_split='session'"),
        (
            {"split": "speaker", "valid_split": "session"},
            "only apply to split='session'",
        ),
    ],
)
def test_bad_arguments(corpus, tmp_path, kwargs, match):
    data, _ = corpus
    with pytest.raises(ValueError, match=match):
        prep(data, tmp_path, **kwargs)
    assert not os.path.exists(tmp_path / "train.json")


def test_missing_data_folder(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="does not exist: .*nope"):
        prep(missing, tmp_path / "save")


def test_missing_sessions(tmp_path):
    (tmp_path / "Session1").mkdir()
    (tmp_path / "Session3").mkdir()
    with pytest.raises(
        FileNotFoundError, match="lacks Session2, Session4, Session5"
    ):
        prep(str(tmp_path), tmp_path / "save")


def test_parent_folder_hint(corpus, tmp_path):
    data, _ = corpus
    parent = os.path.dirname(data)
    with pytest.raises(FileNotFoundError, match="did you mean data_folder="):
        prep(parent, tmp_path / "save")


def test_missing_wavs(corpus, tmp_path):
    data, expected = corpus
    gone = sorted(k for k in expected if k.startswith("Ses04"))[:7]
    for utt_id in gone:
        os.remove(expected[utt_id]["wav"])
    with pytest.raises(FileNotFoundError) as err:
        prep(data, tmp_path / "save")
    message = str(err.value)
    assert message.startswith("7 audio file(s) labelled in")
    assert "; ".join(expected[i]["wav"] for i in gone[:5]) in message
    assert gone[5] not in message
    assert not os.path.exists(tmp_path / "save")


def test_missing_dialog_folder(corpus, tmp_path):
    data, expected = corpus
    folder = os.path.dirname(expected["Ses05F_impro01_F000"]["wav"])
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    os.rmdir(folder)
    with pytest.raises(FileNotFoundError, match="^6 audio file"):
        prep(data, tmp_path / "save")


def test_empty_wav(corpus, tmp_path):
    data, expected = corpus
    wav = expected["Ses02M_script01_1_M001"]["wav"]
    soundfile.write(wav, np.zeros(0, dtype="float32"), SR)
    with pytest.raises(ValueError, match="1 IEMOCAP wav file") as err:
        prep(data, tmp_path / "save")
    assert f"{wav} (empty: 0 frames)" in str(err.value)


def test_unreadable_wav(corpus, tmp_path):
    data, expected = corpus
    wav = expected["Ses03F_impro01_M001"]["wav"]
    with open(wav, "wb") as f:
        f.write(b"not a wav at all")
    with pytest.raises(ValueError, match="unreadable or empty") as err:
        prep(data, tmp_path / "save")
    assert f"{wav} (unreadable:" in str(err.value)
    assert not os.path.exists(tmp_path / "save")


def test_wrong_total(corpus, tmp_path):
    data, _ = corpus
    with pytest.raises(ValueError) as err:
        prep(data, tmp_path / "save", expected_utterances=5531)
    message = str(err.value)
    assert f"Found 55 utterances of the four classes in {data}" in message
    assert "expected 5531" in message
    assert "Found per class: neu 15, hap 20, ang 10, sad 10;" in message
    assert "neu 1708, hap 1636, ang 1103, sad 1084" in message
    assert "expected_utterances=None" in message
    # None skips the check.
    prep(data, tmp_path / "save", expected_utterances=None)
    assert len(load_all(tmp_path / "save")["test"]) == 11


def test_default_expects_official_total(corpus, tmp_path):
    data, _ = corpus
    with pytest.raises(ValueError, match="expected 5531"):
        prepare_iemocap(data, str(tmp_path / "save"))


def test_no_labels_at_all(corpus, tmp_path):
    data, _ = corpus
    for session in range(1, 6):
        label_dir = os.path.join(
            data, f"Session{session}", "dialog", "EmoEvaluation"
        )
        for name in os.listdir(label_dir):
            if name.endswith(".txt") and not name.startswith("."):
                os.remove(os.path.join(label_dir, name))
    with pytest.raises(ValueError, match="No neu/hap/exc/ang/sad label line"):
        prep(data, tmp_path / "save", expected_utterances=None)


def test_duplicate_and_misplaced_ids(corpus, tmp_path):
    data, _ = corpus
    label_dir = os.path.join(data, "Session1", "dialog", "EmoEvaluation")
    copy = os.path.join(label_dir, "copy.txt")
    with open(copy, "w") as f:
        f.write(_label_block(0.0, "Ses01F_impro01_F000", "neu"))
    with pytest.raises(ValueError, match="Ses01F_impro01_F000 is labelled tw"):
        prep(data, tmp_path / "save")
    with open(copy, "w") as f:
        f.write(_label_block(0.0, "Ses02F_impro01_F000", "neu"))
    with pytest.raises(ValueError, match="session 2 is labelled in .*copy"):
        prep(data, tmp_path / "save")


def test_stray_files_ignored_silently(corpus, tmp_path, caplog):
    data, _ = corpus
    label_dir = os.path.join(data, "Session1", "dialog", "EmoEvaluation")
    assert "._Ses01F_impro01.txt" in os.listdir(label_dir)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prep(data, tmp_path)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_undecodable_label_file(corpus, tmp_path, caplog):
    data, _ = corpus
    path = os.path.join(
        data, "Session2", "dialog", "EmoEvaluation", "Ses02F_impro01.txt"
    )
    with open(path, "rb") as f:
        content = f.read()
    # A stray byte in the comment line: the labels must survive.
    with open(path, "wb") as f:
        f.write(b"% \xff\xfe" + content)
    # A .txt that is binary garbage: no label, no crash.
    garbage = os.path.join(os.path.dirname(path), "garbage.txt")
    with open(garbage, "wb") as f:
        f.write(bytes(range(256)) * 4)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prep(data, tmp_path / "save")
    assert (
        len(load(tmp_path / "save", "train"))
        + len(load(tmp_path / "save", "valid"))
        == TOTAL - 11
    )
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert f"{path} is not valid UTF-8" in warned
    assert f"{garbage} is not valid UTF-8" in warned


def test_duration_from_header_only(corpus, tmp_path, monkeypatch):
    data, expected = corpus

    def no_decoding(*args, **kwargs):
        raise AssertionError("audio was decoded")

    monkeypatch.setattr(soundfile, "read", no_decoding)
    monkeypatch.setattr(soundfile.SoundFile, "read", no_decoding)
    prep(data, tmp_path)
    test = load(tmp_path, "test")
    assert (
        test["Ses01F_impro01_F001"]["duration"]
        == (expected["Ses01F_impro01_F001"]["duration"])
    )


def test_idempotent(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    with caplog.at_level(logging.INFO, logger=LOGGER):
        prep(data, save, test_session=1)
    summary = " ".join(r.getMessage() for r in caplog.records)
    assert "skipping" not in summary
    mtimes = {p: os.stat(save / p).st_mtime_ns for p in os.listdir(save)}
    assert sorted(mtimes) == [
        "prepare_opts.json",
        "test.json",
        "train.json",
        "valid.json",
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        prep(data, save, test_session=1)
    assert "skipping preparation" in caplog.text
    assert {
        p: os.stat(save / p).st_mtime_ns for p in os.listdir(save)
    } == mtimes
    # Different arguments rewrite.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        prep(data, save, test_session=2)
    assert "skipping" not in caplog.text
    assert {e["session"] for e in load(save, "test").values()} == {2}
    with open(save / "prepare_opts.json") as f:
        assert json.load(f)["test_session"] == 2
    # A missing manifest also forces a rewrite.
    os.remove(save / "valid.json")
    prep(data, save, test_session=2)
    assert os.path.isfile(save / "valid.json")
    # So does a changed corpus.
    label = os.path.join(
        data, "Session5", "dialog", "EmoEvaluation", "Ses05F_impro01.txt"
    )
    with open(label, "a") as f:
        f.write("\n")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        prep(data, save, test_session=2)
    assert "skipping" not in caplog.text


def test_summary_log(corpus, tmp_path, caplog):
    data, _ = corpus
    with caplog.at_level(logging.INFO, logger=LOGGER):
        prep(data, tmp_path, test_session=1, valid_ratio=0.25)
    text = caplog.text
    assert "split=session, test session 1" in text
    assert "dropped labels: dis 5, fru 5, sur 5, xxx 5" in text
    rows = {
        line.split()[0]: [int(x) for x in line.split()[1:]]
        for line in text.splitlines()
        if line.split() and line.split()[0] in ("train", "valid", "test", "all")
    }
    # total, neu, hap, ang, sad, F, M
    assert rows["test"] == [11, 3, 4, 2, 2, 5, 6]
    assert rows["valid"] == [11, 3, 4, 2, 2] + rows["valid"][5:]
    assert rows["all"] == [55, 15, 20, 10, 10, 25, 30]
    assert sum(rows["valid"][5:]) == 11


def test_write_json_atomic_failure(tmp_path, monkeypatch):
    path = tmp_path / "x.json"

    def broken_dump(obj, f, **kwargs):
        f.write('{"partial": ')
        raise OSError("disk full")

    monkeypatch.setattr(iemocap.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(str(path), {"a": 1})
    assert os.listdir(tmp_path) == []
    # An existing file is left as it was.
    path.write_text('{"old": 1}')
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(str(path), {"a": 1})
    assert os.listdir(tmp_path) == ["x.json"]
    assert path.read_text() == '{"old": 1}'


def test_interrupted_prepare(corpus, tmp_path, monkeypatch):
    data, _ = corpus
    save = tmp_path / "save"
    prep(data, save, test_session=1)
    real_write = iemocap.write_json_atomic

    def broken_dump(obj, f, **kwargs):
        f.write("{")
        raise KeyboardInterrupt

    def write_failing_on_valid(path, obj):
        # Stop in the middle of the second manifest.
        with monkeypatch.context() as patch:
            if path.endswith("valid.json"):
                patch.setattr(iemocap.json, "dump", broken_dump)
            return real_write(path, obj)

    monkeypatch.setattr(iemocap, "write_json_atomic", write_failing_on_valid)
    with pytest.raises(KeyboardInterrupt):
        prep(data, save, test_session=2)
    monkeypatch.undo()
    # No temporary file left, no partial manifest, and not marked done.
    assert sorted(os.listdir(save)) == ["test.json", "train.json", "valid.json"]
    for name in ("train", "valid", "test"):
        load(save, name)
    # The old options must not count as done (train.json is session 2's).
    prep(data, save, test_session=1)
    folds = load_all(save)
    assert {e["session"] for e in folds["test"].values()} == {1}
    assert all(e["session"] != 1 for e in folds["train"].values())
    assert os.path.isfile(save / "prepare_opts.json")


def test_recipe_module(corpus, tmp_path, monkeypatch):
    data, _ = corpus
    monkeypatch.syspath_prepend(os.path.abspath(RECIPE_DIR))
    monkeypatch.delitem(sys.modules, "iemocap_prepare", raising=False)
    import iemocap_prepare

    assert iemocap_prepare.prepare_iemocap is prepare_iemocap
    paths = iemocap_prepare.main(
        [
            data,
            str(tmp_path),
            "--split",
            "speaker",
            "--test_speaker",
            "Ses05M",
            "--expected_utterances",
            "55",
        ]
    )
    test = load(tmp_path, "test")
    assert {e["speaker"] for e in test.values()} == {"Ses05M"}
    assert paths["valid"] == str(tmp_path / "valid.json")


def test_labels_in_any_case(corpus, tmp_path):
    """A label written ``Neu`` or `` EXC`` is neu or hap, as in lower case
    (issue 22: labels that differ only in case are one class)."""
    data, expected = corpus
    path = os.path.join(data, "Session1", "dialog", "EmoEvaluation")
    path = os.path.join(path, "Ses01F_impro01.txt")
    with open(path) as f:
        text = f.read()
    changed = text.replace("\tneu\t", "\tNeu\t").replace("\texc\t", "\tEXC\t")
    assert changed != text
    with open(path, "w") as f:
        f.write(changed)
    prep(data, tmp_path)
    everything = {
        k: v for f in load_all(tmp_path).values() for k, v in f.items()
    }
    assert sorted(everything) == sorted(expected)
    for utt_id, entry in everything.items():
        assert entry["emo"] == expected[utt_id]["emo"]
