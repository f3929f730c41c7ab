"""Prepares the CREMA-D manifests of the GEmo-CLAP recipe.

The parsing and splitting live in ``speechbrain_gemo.data.crema_d``; this
module gives the recipe its usual ``prepare_crema_d`` entry point::

    from crema_d_prepare import prepare_crema_d
    run_on_main(prepare_crema_d, kwargs={...})

It writes ``train.json``, ``valid.json`` and ``test.json`` (and
``skipped.csv``, ``prepare_opts.json``) into ``save_folder``. Wav paths
start with ``{data_root}``: load with
``replacements={"data_root": data_folder}``. Folds are sets of actors:
fold ``test_fold`` of ``num_folds`` is the test set.

It also runs from the command line::

    python crema_d_prepare.py /path/to/CREMA-D results/data --test_fold 2

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

try:
    from speechbrain_gemo.data.cli import prepare_parser
    from speechbrain_gemo.data.crema_d import prepare_crema_d
except ImportError:  # a source checkout where the plugin is not installed
    sys.path.insert(
        0, os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 3)
    )
    from speechbrain_gemo.data.cli import prepare_parser
    from speechbrain_gemo.data.crema_d import prepare_crema_d

__all__ = ["prepare_crema_d", "build_parser", "main"]


def build_parser():
    """The command-line parser, one option per ``prepare_crema_d`` argument.

    Returns
    -------
    argparse.ArgumentParser
        The parser.

    Example
    -------
    >>> args = build_parser().parse_args(["data", "save", "--test_fold", "3"])
    >>> args.test_fold, args.num_folds, args.valid_ratio, args.seed
    (3, 5, 0.1, 1986)
    """
    return prepare_parser(
        prepare_crema_d,
        "Write CREMA-D train/valid/test manifests for GEmo-CLAP.",
        data_folder="the CREMA-D folder holding AudioWAV/ and "
        "VideoDemographics.csv",
    )


def main(argv=None):
    """Runs ``prepare_crema_d`` with command-line arguments.

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
    >>> from speechbrain_gemo.data.crema_d import _write_tiny_corpus
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _write_tiny_corpus(tmp)
    ...     save = os.path.join(tmp, "save")
    ...     paths = main([tmp, save, "--num_folds", "2"])
    ...     print(*sorted(os.listdir(save)))
    prepare_opts.json skipped.csv test.json train.json valid.json
    """
    args = build_parser().parse_args(argv)
    return prepare_crema_d(**vars(args))


if __name__ == "__main__":
    import logging

    from speechbrain_gemo.errors import exit_on_user_error

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with exit_on_user_error():  # one line, not a traceback
        main()
