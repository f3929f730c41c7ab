"""Prepares the IEMOCAP manifests of the GEmo-CLAP recipe.

The parsing and splitting live in ``speechbrain_gemo.data.iemocap``; this
module gives the recipe its usual ``prepare_iemocap`` entry point::

    from iemocap_prepare import prepare_iemocap
    run_on_main(prepare_iemocap, kwargs={...})

It writes ``train.json``, ``valid.json`` and ``test.json`` (and
``prepare_opts.json``) into ``save_folder``. Wav paths start with
``{data_root}``: load with ``replacements={"data_root": data_folder}``.

It also runs from the command line::

    python iemocap_prepare.py /path/to/IEMOCAP_full_release results/data \\
        --test_session 2

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

try:
    from speechbrain_gemo.data.cli import prepare_parser
    from speechbrain_gemo.data.iemocap import prepare_iemocap
except ImportError:  # a source checkout where the plugin is not installed
    sys.path.insert(
        0, os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 3)
    )
    from speechbrain_gemo.data.cli import prepare_parser
    from speechbrain_gemo.data.iemocap import prepare_iemocap

__all__ = ["prepare_iemocap", "build_parser", "main"]


def _optional_int(value):
    """An int, or None for ``none`` (any case).

    Arguments
    ---------
    value : str
        The command-line value.

    Returns
    -------
    int or None
        The number, or None.

    Example
    -------
    >>> _optional_int("5531"), _optional_int("None")
    (5531, None)
    """
    if value.lower() == "none":
        return None
    return int(value)


def build_parser():
    """The command-line parser, one option per ``prepare_iemocap`` argument.

    Returns
    -------
    argparse.ArgumentParser
        The parser.

    Example
    -------
    >>> args = build_parser().parse_args(
    ...     ["data", "save", "--split", "speaker", "--test_speaker", "Ses03M",
    ...      "--expected_utterances", "none"]
    ... )
    >>> args.split, args.test_speaker, args.expected_utterances, args.seed
    ('speaker', 'Ses03M', None, 1986)
    >>> build_parser().parse_args(
    ...     ["data", "save", "--valid_split", "session"]).valid_split
    'session'
    """
    return prepare_parser(
        prepare_iemocap,
        "Write IEMOCAP train/valid/test manifests for GEmo-CLAP.",
        data_folder="the IEMOCAP_full_release folder",
        expected_utterances={
            "type": _optional_int,
            "help": "expected total, or 'none' to skip the check",
        },
        split={"choices": ("session", "speaker")},
        test_speaker="e.g. Ses01F",
        valid_split={
            "choices": ("random", "session"),
            "help": "random: valid_ratio of the training sessions; session: "
            "all of valid_session (speaker-disjoint)",
        },
        valid_session={
            "type": int,
            "help": "with --valid_split session (default: the one after the "
            "test)",
        },
    )


def main(argv=None):
    """Runs ``prepare_iemocap`` with command-line arguments.

    Arguments
    ---------
    argv : list of str, optional
        The arguments; ``sys.argv[1:]`` when not given.

    Returns
    -------
    dict
        ``train``, ``valid`` and ``test`` to the manifest paths.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.data.iemocap import _write_tiny_corpus
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     save = os.path.join(tmp, "save")
    ...     paths = main([tmp, save, "--expected_utterances", "none"])
    ...     print(sorted(os.listdir(save)))
    ['prepare_opts.json', 'test.json', 'train.json', 'valid.json']
    """
    args = build_parser().parse_args(argv)
    return prepare_iemocap(**vars(args))


if __name__ == "__main__":
    import logging

    from speechbrain_gemo.errors import exit_on_user_error

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with exit_on_user_error():  # one line, not a traceback
        main()
