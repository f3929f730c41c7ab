"""WAR, UAR and the confusion matrix against hand-computed values."""

import math

import pytest

from speechbrain_gemo.metrics import EmotionClassificationStats, recall_metrics

LABELS = ["neu", "hap", "ang", "sad"]


def test_war_uar_by_hand():
    # neu: 2 of 3 right, hap: 1 of 1, ang: 0 of 2, sad: 2 of 2
    targets = ["neu", "neu", "neu", "hap", "ang", "ang", "sad", "sad"]
    predictions = ["neu", "neu", "sad", "hap", "neu", "hap", "sad", "sad"]
    m = recall_metrics(predictions, targets, LABELS)
    assert m["WAR"] == pytest.approx(5 / 8)
    assert m["UAR"] == pytest.approx((2 / 3 + 1 + 0 + 1) / 4)
    assert m["per_class_recall"] == pytest.approx(
        {"neu": 2 / 3, "hap": 1.0, "ang": 0.0, "sad": 1.0}
    )
    assert m["confusion_matrix"] == [
        [2, 0, 0, 1],
        [0, 1, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 2],
    ]
    assert m["num_utterances"] == 8


def test_classes_without_utterances_are_left_out_of_uar():
    # hap and ang have no test utterance; hap is still predicted once.
    # Documented rule: their recall is undefined (nan) and UAR is the mean
    # over neu (1 of 2) and sad (3 of 3) only, i.e. 0.75, not 0.375.
    targets = ["neu", "neu", "sad", "sad", "sad"]
    predictions = ["neu", "hap", "sad", "sad", "sad"]
    m = recall_metrics(predictions, targets, LABELS)
    assert m["UAR"] == pytest.approx(0.75)
    assert m["WAR"] == pytest.approx(4 / 5)
    assert math.isnan(m["per_class_recall"]["hap"])
    assert math.isnan(m["per_class_recall"]["ang"])
    assert m["confusion_matrix"][0] == [1, 1, 0, 0]


def test_stats_accumulate_across_batches():
    stats = EmotionClassificationStats(LABELS)
    stats.append(["a", "b"], ["neu", "ang"], ["neu", "sad"])
    stats.append(["c"], ["sad"], ["sad"])
    m = stats.recall_metrics()
    # neu 1/1, sad 1/2; hap and ang absent from the targets
    assert m["UAR"] == pytest.approx(0.75)
    assert m["WAR"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "predictions, targets, message",
    [
        (["neu"], ["neu", "sad"], "1 predictions for 2 targets"),
        ([], [], "zero utterances"),
        (["fru"], ["neu"], "'fru' is not one of"),
    ],
)
def test_bad_input_is_named(predictions, targets, message):
    with pytest.raises(ValueError, match=message):
        recall_metrics(predictions, targets, LABELS)
