"""Speech emotion recognition metrics: WAR, UAR and the confusion matrix;
per-class precision, recall and F1 (``classification_report``); CCC for
arousal, valence and dominance.

WAR (weighted average recall) is the overall accuracy; UAR (unweighted
average recall) is the mean of the per-class recalls, so that every class
counts the same however many utterances it has. CCC is Lin's concordance
correlation coefficient (``speechbrain_gemo.losses.
concordance_correlation``) of each dimension over the utterances rated
for it.

Authors
 * speechbrain-gemo developers 2026
"""

import math

import torch
from speechbrain.utils.metric_stats import ClassificationStats

from speechbrain_gemo.dimensions import DIMENSIONS
from speechbrain_gemo.losses import concordance_correlation


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


def concordance_metrics(predictions, targets):
    """The CCC of each dimension, and their mean.

    Arguments
    ---------
    predictions : list or torch.Tensor
        ``N x 3`` predictions, columns in ``DIMENSIONS`` order.
    targets : list or torch.Tensor
        ``N x 3`` targets on the same scale, NaN (or None) where unknown.

    Returns
    -------
    dict
        ``CCC_arousal``, ``CCC_valence``, ``CCC_dominance`` (None for a
        dimension with fewer than two rated utterances) and ``CCC``, the
        mean of those defined (None when none is).

    Example
    -------
    >>> pred = [[1.0, 2.0, 3.0], [2.0, 2.5, 3.0], [3.0, 3.0, 4.0]]
    >>> true = [[1.0, 2.0, None], [2.0, 3.0, None], [3.0, 2.0, None]]
    >>> m = concordance_metrics(pred, true)
    >>> m["CCC_arousal"], m["CCC_valence"], m["CCC_dominance"], m["CCC"]
    (1.0, 0.0, None, 0.5)
    """
    predictions = torch.as_tensor(predictions, dtype=torch.float64)
    if isinstance(targets, list):
        targets = [[math.nan if v is None else v for v in r] for r in targets]
    targets = torch.as_tensor(targets, dtype=torch.float64)
    out = {}
    if len(predictions):
        ccc, counts = concordance_correlation(
            predictions.reshape(-1, len(DIMENSIONS)),
            targets.reshape(-1, len(DIMENSIONS)),
        )
    else:
        ccc, counts = torch.zeros(3), torch.zeros(3, dtype=torch.long)
    for name, value, count in zip(DIMENSIONS, ccc.tolist(), counts.tolist()):
        out[f"CCC_{name}"] = value if count >= 2 else None
    defined = [v for v in out.values() if v is not None]
    out["CCC"] = sum(defined) / len(defined) if defined else None
    return out


class DimensionStats:
    """Collects the dimensional head's predictions and targets of a stage,
    per utterance, for :func:`concordance_metrics` and the test
    predictions.

    Example
    -------
    >>> stats = DimensionStats()
    >>> nan = float("nan")
    >>> stats.append(["u1", "u2"], torch.tensor([[0.2, 0.5, 0.5]] * 2),
    ...              torch.tensor([[0.1, nan, 0.5], [0.3, nan, 0.5]]))
    >>> stats.summarize()["CCC_arousal"], stats.targets["u2"][1]
    (0.0, None)
    """

    def __init__(self):
        self.predictions = {}
        self.targets = {}

    def append(self, ids, predictions, targets):
        """Adds a batch.

        Arguments
        ---------
        ids : list of str
            The utterance ids.
        predictions : torch.Tensor
            ``N x 3`` predictions.
        targets : torch.Tensor
            ``N x 3`` targets, NaN where unknown.
        """
        predictions = predictions.detach().float().cpu().tolist()
        targets = targets.detach().float().cpu().tolist()
        for utt_id, pred, true in zip(ids, predictions, targets):
            self.predictions[utt_id] = pred
            self.targets[utt_id] = [None if v != v else v for v in true]

    def summarize(self):
        """The CCCs of what was appended.

        Returns
        -------
        dict
            As :func:`concordance_metrics`.
        """
        ids = list(self.predictions)
        return concordance_metrics(
            [self.predictions[i] for i in ids],
            [self.targets[i] for i in ids],
        )
