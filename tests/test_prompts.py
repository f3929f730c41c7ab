"""Tests of the classes and prompts of every corpus.

Authors
 * speechbrain-gemo developers 2026
"""

import pytest
from hyperpyyaml import load_hyperpyyaml

from speechbrain_gemo.losses import UNKNOWN
from speechbrain_gemo.prompts import (
    CORPUS_CLASSES,
    CORPUS_WORDS,
    class_words,
    corpus_classes,
    emotion_prompts,
    gender_index,
)

# The codes of each corpus' documentation (CORPORA.md), in class order.
DOCUMENTED = {
    "IEMOCAP": ["neu", "hap", "ang", "sad"],
    "CREMA-D": ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"],
    "RAVDESS": ["01", "02", "03", "04", "05", "06", "07", "08"],
    "EmoDB": ["W", "L", "E", "A", "F", "T", "N"],
    "MSP-Podcast": ["A", "S", "H", "U", "F", "D", "C", "N"],
}

HPARAMS = """
corpus: CREMA-D
emotion_classes: !ref <corpus>
emotion_templates: ["The speaker sounds {}.", "A {} voice."]
emotion_prompts: !apply:speechbrain_gemo.prompts.emotion_prompts
    templates: !ref <emotion_templates>
    classes: !ref <emotion_classes>
    words: !ref <corpus>
"""


def test_corpus_codes_match_the_documentation():
    assert {k: list(v) for k, v in CORPUS_CLASSES.items()} == DOCUMENTED
    for corpus, codes in CORPUS_CLASSES.items():
        assert list(CORPUS_WORDS[corpus]) == list(codes)


def test_words_of_codes_that_differ_between_corpora():
    # The same letter, different emotions: looked up per corpus.
    assert CORPUS_WORDS["EmoDB"]["A"] == "fearful"
    assert CORPUS_WORDS["MSP-Podcast"]["A"] == "angry"
    assert CORPUS_WORDS["EmoDB"]["F"] == "happy"
    assert CORPUS_WORDS["MSP-Podcast"]["F"] == "fearful"
    assert CORPUS_WORDS["RAVDESS"]["02"] == "calm"
    assert CORPUS_WORDS["RAVDESS"]["08"] == "surprised"


def test_default_prompts_unchanged():
    assert emotion_prompts() == {
        "neu": ["The speaker sounds neutral."],
        "hap": ["The speaker sounds happy."],
        "ang": ["The speaker sounds angry."],
        "sad": ["The speaker sounds sad."],
    }
    # A words dict alone still defines the classes, in its order.
    assert emotion_prompts(["{}"], words={"b": "bored", "a": "awake"}) == {
        "b": ["bored"],
        "a": ["awake"],
    }


def test_corpus_classes_by_name():
    prompts = emotion_prompts(["{}"], classes="ravdess")
    assert list(prompts) == DOCUMENTED["RAVDESS"]
    assert prompts["02"] == ["calm"]
    assert corpus_classes("emodb") == tuple(DOCUMENTED["EmoDB"])
    # words naming a corpus alone also gives that corpus' classes
    assert emotion_prompts(["{}"], words="MSP-Podcast")["C"] == ["contemptuous"]


def test_labels_without_words_are_their_own_word():
    prompts = emotion_prompts(
        ["The speaker sounds {}."],
        classes=["NEU", "frustrated", "HAP"],
        words="CREMA-D",
    )
    assert prompts == {
        "NEU": ["The speaker sounds neutral."],
        "frustrated": ["The speaker sounds frustrated."],
        "HAP": ["The speaker sounds happy."],
    }
    # A user's labels with no words at all.
    assert class_words(["very happy", "sad"]) == {
        "very happy": "very happy",
        "sad": "sad",
    }


def test_bad_class_sets():
    with pytest.raises(ValueError, match="Unknown corpus 'TESS'"):
        emotion_prompts(classes="TESS")
    with pytest.raises(ValueError, match="repeats a label"):
        emotion_prompts(classes=["a", "b", "a"])
    with pytest.raises(ValueError, match="empty"):
        emotion_prompts(classes=[])
    with pytest.raises(ValueError, match="exactly one"):
        emotion_prompts(["no placeholder"], classes="CREMA-D")


def test_classes_and_prompts_from_hyperparameters():
    hparams = load_hyperpyyaml(HPARAMS)
    assert list(hparams["emotion_prompts"]) == DOCUMENTED["CREMA-D"]
    assert hparams["emotion_prompts"]["FEA"] == [
        "The speaker sounds fearful.",
        "A fearful voice.",
    ]
    # Overridden from the command line: any class set, the corpus' words.
    hparams = load_hyperpyyaml(
        HPARAMS, {"emotion_classes": ["HAP", "SAD", "calm"]}
    )
    assert hparams["emotion_prompts"] == {
        "HAP": ["The speaker sounds happy.", "A happy voice."],
        "SAD": ["The speaker sounds sad.", "A sad voice."],
        "calm": ["The speaker sounds calm.", "A calm voice."],
    }


def test_gender_index():
    assert [gender_index(g) for g in ("F", "M", None)] == [0, 1, UNKNOWN]
    assert UNKNOWN == -1
    with pytest.raises(ValueError, match="'female'"):
        gender_index("female")
