"""Speech emotion recognition metrics: WAR, UAR and the confusion matrix;
per-class precision, recall and F1 (``classification_report``).

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


def classification_report(predictions, targets, labels):
    """Per-class precision, recall and F1 with WAR and UAR.

    Arguments
    ---------
    predictions : list of str
        Predicted labels.
    targets : list of str
        True labels (each one of ``labels``).
    labels : list of str
        The classes, in confusion-matrix order.

    Returns
    -------
    dict
        ``WAR`` (accuracy), ``UAR`` (mean of the defined per-class
        recalls), ``per_class_recall`` (None for a class without
        utterances), ``confusion_matrix`` (rows: true class, columns:
        predicted class),
        ``labels``, ``num_utterances``, ``per_class`` (label to
        ``precision``, ``recall``, ``f1``,
        ``support``; None where undefined: no prediction of the class,
        no utterance of it, neither) and ``macro_f1`` (over the classes
        with a defined F1).

    Example
    -------
    >>> r = classification_report(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])
    >>> r["WAR"], r["UAR"], r["per_class"]["a"]["precision"]
    (0.6666666666666666, 0.75, 0.5)
    """
    report = recall_metrics(predictions, targets, labels)
    # None, not NaN, for an undefined recall: the report is written as JSON
    report["per_class_recall"] = {
        label: None if math.isnan(recall) else recall
        for label, recall in report["per_class_recall"].items()
    }
    matrix = report["confusion_matrix"]
    per_class = {}
    for k, label in enumerate(labels):
        support = sum(matrix[k])
        predicted = sum(row[k] for row in matrix)
        hits = matrix[k][k]
        precision = hits / predicted if predicted else None
        recall = hits / support if support else None
        # 2 TP / (2 TP + FP + FN): defined unless the class never occurs
        f1 = 2 * hits / (support + predicted) if support + predicted else None
        per_class[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    f1s = [v["f1"] for v in per_class.values() if v["f1"] is not None]
    report["per_class"] = per_class
    report["macro_f1"] = sum(f1s) / len(f1s) if f1s else None
    return report


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
