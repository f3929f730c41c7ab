"""Prepares the manifests of the GEmo-CLAP recipe for a user's own data.

The reading and splitting live in ``speechbrain_gemo.data.csv_corpus``;
this module gives the recipe its usual entry point::

    from csv_prepare import prepare_csv_corpus
    run_on_main(prepare_csv_corpus, kwargs={...})

It writes ``train.json``, ``valid.json`` and ``test.json`` (and
``skipped.csv``, ``prepare_opts.json``) into ``save_folder``. Wav paths
start with ``{data_root}``, the CSV's folder. With a ``split`` column the
CSV's split is used; otherwise fold ``test_fold`` of ``num_folds`` is the
test set.

It also runs from the command line::

    python csv_prepare.py /path/to/labels.csv results/data --test_fold 2

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

try:
    from speechbrain_gemo.data.csv_corpus import main, prepare_csv_corpus
except ImportError:  # a source checkout where the plugin is not installed
    sys.path.insert(
        0, os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 3)
    )
    from speechbrain_gemo.data.csv_corpus import main, prepare_csv_corpus

__all__ = ["prepare_csv_corpus", "main"]

if __name__ == "__main__":
    import logging

    from speechbrain_gemo.errors import exit_on_user_error

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with exit_on_user_error():  # one line, not a traceback
        main()
