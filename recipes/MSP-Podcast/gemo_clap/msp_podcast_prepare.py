"""Prepares the MSP-Podcast manifests of the GEmo-CLAP recipe.

The parsing lives in ``speechbrain_gemo.data.msp_podcast``; this module
gives the recipe its usual ``prepare_msp_podcast`` entry point::

    from msp_podcast_prepare import prepare_msp_podcast
    run_on_main(prepare_msp_podcast, kwargs={...})

It writes ``train.json`` (the ``Train`` partition), ``valid.json``
(``Development``) and ``test.json`` (``test_set``), plus ``skipped.csv``
and ``prepare_opts.json``, into ``save_folder``. Wav paths start with
``{data_root}``: load with ``replacements={"data_root": data_folder}``.

It also runs from the command line::

    python msp_podcast_prepare.py /path/to/MSP-Podcast results/data \\
        --test_set Test2

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

try:
    from speechbrain_gemo.data.cli import prepare_parser
    from speechbrain_gemo.data.msp_podcast import prepare_msp_podcast
except ImportError:  # a source checkout where the plugin is not installed
    sys.path.insert(
        0, os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 3)
    )
    from speechbrain_gemo.data.cli import prepare_parser
    from speechbrain_gemo.data.msp_podcast import prepare_msp_podcast

__all__ = ["prepare_msp_podcast", "build_parser", "main"]


def build_parser():
    """The command-line parser, one option per ``prepare_msp_podcast``
    argument.

    Returns
    -------
    argparse.ArgumentParser
        The parser.

    Example
    -------
    >>> args = build_parser().parse_args(
    ...     ["data", "save", "--test_set", "Test2"]
    ... )
    >>> args.test_set, args.seed
    ('Test2', 1986)
    """
    return prepare_parser(
        prepare_msp_podcast,
        "Write MSP-Podcast train/valid/test manifests for GEmo-CLAP.",
        data_folder="the MSP-Podcast folder holding Audios/, Labels/",
    )


def main(argv=None):
    """Runs ``prepare_msp_podcast`` with command-line arguments.

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
    >>> from speechbrain_gemo.data.msp_podcast import _write_tiny_corpus
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     save = os.path.join(tmp, "save")
    ...     paths = main([tmp, save])
    ...     print(*sorted(os.listdir(save)))
    prepare_opts.json skipped.csv test.json train.json valid.json
    """
    args = build_parser().parse_args(argv)
    return prepare_msp_podcast(**vars(args))


if __name__ == "__main__":
    import logging

    from speechbrain_gemo.errors import exit_on_user_error

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with exit_on_user_error():  # one line, not a traceback
        main()
