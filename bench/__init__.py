"""The overhead benchmark of speechbrain-gemo (``python bench/run.py``).

``timing`` is the one timing helper, ``phases/`` holds one module per
measured phase (each with ``run(config) -> dict``), ``run.py`` is the
command line. See ``bench/README.md``.

Authors
 * speechbrain-gemo developers 2026
"""
