"""Two messages that every training and inference run printed, and that
read as faults although nothing is wrong, silenced here and nowhere else.

- PyTorch's ``UserWarning: Support for mismatched key_padding_mask and
  attn_mask is deprecated``, raised in ``torch.nn.functional`` on every
  forward of the Hugging Face WavLM attention (a boolean padding mask
  beside a float position bias): a deprecation notice to transformers,
  which nobody running this package can act on.
- SpeechBrain's ``CategoricalEncoder.expect_len was never called``
  (logger ``speechbrain.dataio.encoder``), printed the first time a loaded
  label encoder is used: the encoders of this package are built from, or
  checked against, the model's classes (``data/labels.py`` and the
  recipes for training, ``GEmoCLAP`` at load), a stronger check than a
  count.

Both filters match the exact message from the exact module or logger:
every other warning, from the same modules included, still shows. They
are process-wide filters, not ``warnings.catch_warnings`` blocks around
the forward pass, because the latter is not thread-safe and threads may
share one loaded model. ``GEmoCLAP`` (inference) and ``RobustBrain``
(training) install them.

Authors
 * speechbrain-gemo developers 2026
"""

import logging
import re
import warnings

KEY_PADDING_MASK_WARNING = (
    "Support for mismatched key_padding_mask and attn_mask is deprecated"
)
EXPECT_LEN_WARNING = "CategoricalEncoder.expect_len was never called"
ENCODER_LOGGER = "speechbrain.dataio.encoder"


def _not_expect_len(record):
    """False for SpeechBrain's expect_len reminder (a logging filter).

    Arguments
    ---------
    record : logging.LogRecord
        A record of the encoder's logger.

    Returns
    -------
    bool
        Whether the record is shown.
    """
    return not str(record.msg).startswith(EXPECT_LEN_WARNING)


def silence_known_warnings():
    """Installs the two filters (again and again: it adds each once).

    Example
    -------
    >>> silence_known_warnings(); silence_known_warnings()
    >>> logger = logging.getLogger(ENCODER_LOGGER)
    >>> logger.filters.count(_not_expect_len)
    1
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     silence_known_warnings()
    ...     for message in (KEY_PADDING_MASK_WARNING, "another"):
    ...         warnings.warn_explicit(message, UserWarning, "functional.py",
    ...                                1, module="torch.nn.functional")
    >>> [str(w.message) for w in caught]
    ['another']
    """
    warnings.filterwarnings(
        "ignore",
        message=re.escape(KEY_PADDING_MASK_WARNING),
        category=UserWarning,
        module=r"torch\.nn\.functional\Z",
    )
    logger = logging.getLogger(ENCODER_LOGGER)
    if _not_expect_len not in logger.filters:
        logger.addFilter(_not_expect_len)
