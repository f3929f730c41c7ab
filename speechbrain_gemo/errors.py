"""Errors a user can fix, and how the entry points report them.

A ``UserError`` says what the user gave that cannot be used (a CSV, a
corpus folder, an option, an output folder) and what to do about it. The
recipes' ``train.py`` and the preparation commands catch it with
:func:`exit_on_user_error`: its message is printed as one line on stderr
(``error: ...``) and the process exits with status 2, instead of a long
traceback ending in the message. The traceback is still logged at debug
level (in ``<output_folder>/log.txt`` once SpeechBrain has set its logging
up), and printed too when the environment variable ``GEMO_TRACEBACK`` is
set to a non-empty value other than ``0``.

A pre-trained model that cannot be fetched from the Hugging Face hub (no
connection, nothing in the cache: transformers raises an ``OSError``
naming ``huggingface.co``) is reported the same way, with the keys that
point the towers at local folders (:func:`hub_error_hint`).

The subclasses also derive from the built-in error they refine
(``ValueError``, ``FileNotFoundError``), so code that catches those keeps
working.

Authors
 * speechbrain-gemo developers 2026
"""

import contextlib
import logging
import os
import sys
import traceback

# A plain logger, not SpeechBrain's get_logger (which sets its level to INFO
# unless SB_LOG_LEVEL says otherwise): the traceback is logged at debug
# level, which SpeechBrain's log file keeps and its console does not show
logger = logging.getLogger(__name__)

TRACEBACK_VARIABLE = "GEMO_TRACEBACK"
EXIT_STATUS = 2


class UserError(Exception):
    """Something the user gave cannot be used; the message names it and
    says what is expected or what to do.

    Example
    -------
    >>> str(UserError("labels.csv lacks the column emotion"))
    'labels.csv lacks the column emotion'
    """


class PreparationError(UserError, ValueError):
    """Data (or a preparation argument) that a corpus preparation cannot
    use: a bad CSV cell, a missing column, an empty split...

    Example
    -------
    >>> isinstance(PreparationError("bad"), ValueError)
    True
    """


class MissingDataError(PreparationError, FileNotFoundError):
    """A file or folder that a preparation needs does not exist (a corpus
    folder, a labelled utterance's audio).

    Example
    -------
    >>> err = MissingDataError("line 3: /data/a.wav is missing")
    >>> isinstance(err, FileNotFoundError), str(err)
    (True, 'line 3: /data/a.wav is missing')
    """


def hub_error_hint(err):
    """The one-line message for an error of fetching a pre-trained model
    from the Hugging Face hub, or None for any other error.

    Arguments
    ---------
    err : BaseException
        The error raised.

    Returns
    -------
    str or None

    Example
    -------
    >>> hint = hub_error_hint(OSError(
    ...     "We couldn't connect to 'https://huggingface.co' to load the "
    ...     "files, and couldn't find them in the cached files."))
    >>> hint.split(" (")[0]
    'a pre-trained model could not be loaded from the Hugging Face hub'
    >>> hint.split("local folders: ")[1].split(" (")[0]
    '--audio_source=/path/to/speech-model --text_source=/path/to/text-model'
    >>> hub_error_hint(OSError("disk full")) is None
    True
    """
    if not isinstance(err, OSError) or "huggingface.co" not in str(err):
        return None
    first = " ".join(str(err).split()).split(". ")[0]
    return (
        "a pre-trained model could not be loaded from the Hugging Face hub "
        f"({first}). Offline, give local folders: "
        "--audio_source=/path/to/speech-model "
        "--text_source=/path/to/text-model (README: Using it with "
        "SpeechBrain, Offline)"
    )


def _show_traceback():
    """Whether ``GEMO_TRACEBACK`` asks for the full traceback."""
    return os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0")


@contextlib.contextmanager
def exit_on_user_error():
    """Turns a ``UserError`` (or a hub error, see :func:`hub_error_hint`)
    raised inside the block into one line on stderr and exit status 2;
    other errors pass through unchanged.

    The traceback is logged at debug level, and printed to stderr after the
    line when ``GEMO_TRACEBACK`` is set (e.g. ``GEMO_TRACEBACK=1 python
    train.py ...``).

    Raises
    ------
    SystemExit
        With status 2, after a ``UserError``.

    Example
    -------
    >>> import contextlib, io
    >>> stderr = io.StringIO()
    >>> with contextlib.redirect_stderr(stderr):
    ...     try:
    ...         with exit_on_user_error():
    ...             raise PreparationError("line 3 of a.csv: emotion empty")
    ...     except SystemExit as stop:
    ...         status = stop.code
    >>> status, stderr.getvalue()
    (2, 'error: line 3 of a.csv: emotion empty\\n')
    """
    try:
        yield
    except (UserError, OSError) as err:
        hint = hub_error_hint(err)
        if not isinstance(err, UserError) and hint is None:
            raise
        logger.debug("%s: %s", type(err).__name__, err, exc_info=True)
        message = hint or " ".join(str(err).split())
        print(f"error: {message}", file=sys.stderr)
        if _show_traceback():
            traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        raise SystemExit(EXIT_STATUS) from None
