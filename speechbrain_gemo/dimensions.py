"""Arousal, valence and dominance: their names and the one mapping between
a corpus' rating scale and the [0, 1] scale of the dimensional head.

Corpora rate the three dimensions on their own scales: IEMOCAP's label
lines ``[V, A, D]`` on 1-5, MSP-Podcast's ``EmoAct``, ``EmoVal``,
``EmoDom`` on 1-7, a user's CSV on whatever its ``arousal``, ``valence``
and ``dominance`` columns use. A recipe names its scale ``avd_scale:
[min, max]``; the model's dimensional head (``GEmoCLAPModel.avd_head``)
ends in a sigmoid and predicts on [0, 1], and

- in training, a rating ``v`` becomes the target ``(v - min) / (max -
  min)`` (:func:`to_unit`);
- in inference, a head output ``u`` is returned as ``min + u * (max -
  min)`` (:func:`from_unit`), on the training corpus' scale: an IEMOCAP
  model answers 1-5, an MSP-Podcast model 1-7.

Every part that maps (data pipeline, ``GEmoCLAP``, the ONNX runtime, the
test predictions) calls these two functions. Lin's concordance correlation
coefficient is unchanged by the same affine map of both sides, so CCCs
are the same on either scale.

Nothing here imports torch: the functions are plain arithmetic and work on
floats, numpy arrays and tensors alike (the torch-free ONNX runtime uses
them too).

Authors
 * speechbrain-gemo developers 2026
"""

import math

from speechbrain_gemo.errors import PreparationError

# The dimensions, in the order of the head's outputs and of every table
DIMENSIONS = ("arousal", "valence", "dominance")


def check_scale(scale):
    """A rating scale as a ``(min, max)`` pair of floats, checked.

    Arguments
    ---------
    scale : sequence of two numbers
        ``[min, max]``, e.g. ``[1, 5]``.

    Returns
    -------
    tuple of float
        ``(min, max)``.

    Raises
    ------
    ValueError
        Unless ``scale`` is two finite numbers with ``min < max``.

    Example
    -------
    >>> check_scale([1, 7])
    (1.0, 7.0)
    >>> check_scale([5, 1])
    Traceback (most recent call last):
    ...
    ValueError: avd_scale must be [min, max] with min < max, got [5, 1]
    """
    try:
        if isinstance(scale, str):
            raise TypeError(scale)
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            f"avd_scale must be [min, max] with min < max, got {scale!r}"
        )
    return low, high


def to_unit(value, scale):
    """A rating on ``scale`` mapped to [0, 1]: ``(v - min) / (max - min)``.

    Arguments
    ---------
    value : float, numpy.ndarray or torch.Tensor
        Ratings on ``scale``.
    scale : sequence of two numbers
        ``[min, max]``.

    Returns
    -------
    Same type as ``value``
        The ratings on [0, 1].

    Example
    -------
    >>> to_unit(2.0, [1, 5])
    0.25
    """
    low, high = check_scale(scale)
    return (value - low) / (high - low)


def from_unit(unit, scale):
    """A head output on [0, 1] mapped to ``scale``: ``min + u * (max -
    min)``, the inverse of :func:`to_unit`.

    Arguments
    ---------
    unit : float, numpy.ndarray or torch.Tensor
        Values on [0, 1].
    scale : sequence of two numbers
        ``[min, max]``.

    Returns
    -------
    Same type as ``unit``
        The values on ``scale``.

    Example
    -------
    >>> from_unit(0.25, [1, 5]), from_unit(0.5, (1, 7))
    (2.0, 4.0)
    """
    low, high = check_scale(scale)
    return low + unit * (high - low)


def check_rating(value, scale, where):
    """A rating read from a manifest: None when absent, else a float within
    ``scale``.

    Arguments
    ---------
    value : float, str or None
        The rating (None, NaN or an empty string: absent).
    scale : sequence of two numbers
        ``[min, max]``.
    where : str
        What the rating is (utterance and dimension), for the error.

    Returns
    -------
    float or None
        The rating, or None.

    Raises
    ------
    speechbrain_gemo.errors.PreparationError
        (a ``ValueError``) For a value that is not a number or lies outside
        ``scale``: the recipes report it in one line.

    Example
    -------
    >>> check_rating("3.5", [1, 5], "u1 arousal"), check_rating("", [1, 5], "")
    (3.5, None)
    >>> check_rating(6, [1, 5], "u1 arousal")
    Traceback (most recent call last):
    ...
    speechbrain_gemo.errors.PreparationError: u1 arousal: 6.0 lies outside...
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        rating = float(value)
    except (TypeError, ValueError):
        raise PreparationError(f"{where}: {value!r} is not a number") from None
    if math.isnan(rating):
        return None
    low, high = check_scale(scale)
    if not low <= rating <= high:
        raise PreparationError(
            f"{where}: {rating} lies outside avd_scale [{low}, {high}]; set "
            "avd_scale to the corpus' rating scale"
        )
    return rating
