"""The command line of the corpus preparations: one parser argument per
parameter of a ``prepare_<corpus>`` function, its defaults taken from the
function so that the two never disagree.

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import inspect

SAVE_FOLDER_HELP = "where the manifests go"


def prepare_parser(prepare, description, **arguments):
    """A command-line parser with one argument per parameter of ``prepare``.

    Parameters without a default become positional arguments, the others
    ``--name`` options with the function's default; an int or float
    default also sets the option's type.

    Arguments
    ---------
    prepare : callable
        The preparation function.
    description : str
        What the command does, for ``--help``.
    **arguments : str or dict
        Per parameter name, its help text, or the ``add_argument`` keywords
        (``help``, ``type``, ``choices``) that differ from the defaults.
        ``save_folder`` gets a help text when none is given.

    Returns
    -------
    argparse.ArgumentParser
        The parser.

    Raises
    ------
    ValueError
        If ``arguments`` names a parameter ``prepare`` does not have.
    TypeError
        If a default is a bool or of another type with no ``type`` given
        (the command line would turn it into a string).

    Example
    -------
    >>> def prepare_demo(data_folder, save_folder, num_folds=5, tag=None):
    ...     '''Demo.'''
    >>> parser = prepare_parser(prepare_demo, "Demo.",
    ...                         data_folder="the corpus")
    >>> vars(parser.parse_args(["data", "save", "--num_folds", "3"]))
    {'data_folder': 'data', 'save_folder': 'save', 'num_folds': 3, 'tag': None}
    >>> prepare_parser(prepare_demo, "Demo.", folds="the folds")
    Traceback (most recent call last):
    ...
    ValueError: prepare_demo has no parameter folds
    >>> def prepare_flagged(data_folder, save_folder, check=True):
    ...     '''Demo.'''
    >>> prepare_parser(prepare_flagged, "Demo.")
    Traceback (most recent call last):
    ...
    TypeError: prepare_flagged's check=True: give its command-line type
    """
    parameters = inspect.signature(prepare).parameters
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        raise ValueError(
            f"{prepare.__name__} has no parameter {', '.join(unknown)}"
        )
    parser = argparse.ArgumentParser(description=description)
    for name, parameter in parameters.items():
        options = arguments.get(name, {})
        if isinstance(options, str):
            options = {"help": options}
        if parameter.default is inspect.Parameter.empty:
            if name == "save_folder":
                options = {"help": SAVE_FOLDER_HELP, **options}
            parser.add_argument(name, **options)
            continue
        default = parameter.default
        if "type" not in options and default is not None:
            if isinstance(default, bool) or not isinstance(
                default, (int, float, str)
            ):
                raise TypeError(
                    f"{prepare.__name__}'s {name}={default!r}: give its "
                    "command-line type"
                )
            if not isinstance(default, str):
                options = {"type": type(default), **options}
        parser.add_argument(f"--{name}", default=default, **options)
    return parser
