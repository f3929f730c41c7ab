"""Speech emotion recognition metrics: WAR, UAR and the confusion matrix.

WAR (weighted average recall) is the overall accuracy; UAR (unweighted
average recall) is the mean of the per-class recalls, so that every class
counts the same however many utterances it has.

Authors
 * speechbrain-gemo developers 2026
"""

import math

from speechbrain.utils.metric_stats import ClassificationStats


def recall_metrics(predictions, targets, labels):
    """WAR, UAR, per-class recall and confusion matrix in a fixed label order.

    Arguments
    ---------
    predictions : list
        Predicted labels.
    targets : list
        True labels, aligned with ``predictions``.
    labels : list
        All class labels, in the order used for the confusion matrix. A
        class with no utterance in ``targets`` has an undefined recall
        (``nan``) and is left out of the UAR.

    Returns
    -------
    dict
        ``WAR`` and ``UAR`` (fractions in [0, 1]), ``per_class_recall``
        (label to recall), ``confusion_matrix`` (rows: true label, columns:
        predicted label, counts), ``labels`` and ``num_utterances``.

    Example
    -------
    >>> m = recall_metrics(
    ...     ["neu", "neu", "sad", "neu"], ["neu", "sad", "sad", "sad"],
    ...     labels=["neu", "sad"])
    >>> m["WAR"], m["UAR"]
    (0.5, 0.6666666666666666)
    >>> m["confusion_matrix"]
    [[1, 0], [2, 1]]
    """
    if len(predictions) != len(targets):
        raise ValueError(
            f"Got {len(predictions)} predictions for {len(targets)} targets"
        )
    if not targets:
        raise ValueError("Cannot compute recall metrics on zero utterances")
    index = {label: i for i, label in enumerate(labels)}
    for value in list(predictions) + list(targets):
        if value not in index:
            raise ValueError(f"Label {value!r} is not one of {list(labels)}")
    confusion = [[0] * len(labels) for _ in labels]
    for prediction, target in zip(predictions, targets):
        confusion[index[target]][index[prediction]] += 1
    per_class = {}
    for label, row in zip(labels, confusion):
        support = sum(row)
        per_class[label] = (
            row[index[label]] / support if support else float("nan")
        )
    defined = [r for r in per_class.values() if not math.isnan(r)]
    correct = sum(confusion[i][i] for i in range(len(labels)))
    return {
        "WAR": correct / len(targets),
        "UAR": sum(defined) / len(defined),
        "per_class_recall": per_class,
        "confusion_matrix": confusion,
        "labels": list(labels),
        "num_utterances": len(targets),
    }


class EmotionClassificationStats(ClassificationStats):
    """SpeechBrain's ``ClassificationStats`` with WAR and UAR over a fixed
    set of labels.

    Arguments
    ---------
    labels : list
        The class labels, in confusion-matrix order.

    Example
    -------
    >>> stats = EmotionClassificationStats(["neu", "hap"])
    >>> stats.append(["u1", "u2"], ["neu", "neu"], ["neu", "hap"])
    >>> stats.recall_metrics()["UAR"]
    0.5
    """

    def __init__(self, labels):
        super().__init__()
        self.labels = list(labels)

    def recall_metrics(self):
        """Computes WAR, UAR and the confusion matrix of what was appended.

        Returns
        -------
        dict
            As :func:`recall_metrics`.
        """
        return recall_metrics(self.predictions, self.targets, self.labels)
