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

import argparse
import os
import sys

try:
    from speechbrain_gemo.data.iemocap import prepare_iemocap
except ImportError:  # a source checkout where the plugin is not installed
    sys.path.insert(
        0, os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 3)
    )
    from speechbrain_gemo.data.iemocap import prepare_iemocap

__all__ = ["prepare_iemocap", "build_parser", "main"]


def _optional_int(value):
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
    parser = argparse.ArgumentParser(
        description="Write IEMOCAP train/valid/test manifests for GEmo-CLAP."
    )
    parser.add_argument("data_folder", help="the IEMOCAP_full_release folder")
    parser.add_argument("save_folder", help="where the manifests go")
    parser.add_argument("--test_session", type=int, default=1)
    parser.add_argument("--valid_ratio", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1986)
    parser.add_argument(
        "--expected_utterances",
        type=_optional_int,
        default=5531,
        help="expected total, or 'none' to skip the check",
    )
    parser.add_argument(
        "--split", choices=("session", "speaker"), default="session"
    )
    parser.add_argument("--test_speaker", default=None, help="e.g. Ses01F")
    parser.add_argument(
        "--valid_split",
        choices=("random", "session"),
        default="random",
        help="random: valid_ratio of the training sessions; session: all "
        "of valid_session (speaker-disjoint)",
    )
    parser.add_argument(
        "--valid_session",
        type=int,
        default=None,
        help="with --valid_split session (default: the one after the test)",
    )
    return parser


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

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
