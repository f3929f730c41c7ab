"""Figures for evaluation reports (needs the ``plot`` extra: matplotlib).

Authors
 * speechbrain-gemo developers 2026
"""

import os


def plot_confusion_matrix(matrix, labels, path, title=None):
    """Saves a confusion matrix as a PNG: each cell shows its count and its
    share of the true class (row), and is coloured by that share.

    Arguments
    ---------
    matrix : list of list of int
        Counts, rows: true class, columns: predicted class.
    labels : list of str
        The classes, in matrix order.
    path : str
        The PNG file to write (written atomically).
    title : str, optional
        The figure title.

    Returns
    -------
    str
        The path.

    Example
    -------
    >>> import tempfile
    >>> png = os.path.join(tempfile.mkdtemp(), "cm.png")
    >>> plot_confusion_matrix([[3, 1], [0, 2]], ["neu", "sad"], png) == png
    True
    >>> open(png, "rb").read(4) == b"\\x89PNG"
    True
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "plotting needs matplotlib: pip install 'speechbrain-gemo[plot]'"
        ) from err

    rows = [list(map(int, row)) for row in matrix]
    if len(rows) != len(labels) or any(len(r) != len(labels) for r in rows):
        raise ValueError(
            f"matrix must be {len(labels)} x {len(labels)} for labels "
            f"{list(labels)}"
        )
    shares = [[c / sum(row) if sum(row) else 0.0 for c in row] for row in rows]
    size = 1.2 + 0.9 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    try:
        image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="recall")
        ticks = range(len(labels))
        ax.set_xticks(ticks, labels=list(labels))
        ax.set_yticks(ticks, labels=list(labels))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for i, row in enumerate(rows):
            for j, count in enumerate(row):
                colour = "white" if shares[i][j] > 0.5 else "black"
                ax.text(
                    j,
                    i,
                    f"{count}\n{100 * shares[i][j]:.0f}%",
                    ha="center",
                    va="center",
                    color=colour,
                    fontsize=9,
                )
        if title:
            ax.set_title(title)
        fig.tight_layout()
        tmp = f"{path}.tmp-{os.getpid()}.png"
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
    return path
