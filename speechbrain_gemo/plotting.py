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
    plt = _pyplot()
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
            ax.set_title(_plain(title))
        fig.tight_layout()
        tmp = f"{path}.tmp-{os.getpid()}.png"
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
    return path


def _plain(text):
    """Text that matplotlib draws as it is: ``$`` escaped (it would start
    mathtext) and bytes of a file name that are not UTF-8 as ``\\xNN``.

    Arguments
    ---------
    text : str
        A title or a label, e.g. a file name.

    Returns
    -------
    str
        The text to draw.

    Example
    -------
    >>> print(_plain("a$x$.wav"))
    a\\$x\\$.wav
    """
    from speechbrain_gemo.io import utf8_text

    return utf8_text(str(text)).replace("$", "\\$")


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "plotting needs matplotlib: pip install 'speechbrain-gemo[plot]'"
        ) from err
    return plt


# Okabe & Ito's palette, told apart with the common colour-vision
# deficiencies (https://jfly.uni-koeln.de/color/); black and grey, which
# mark errors and axes, left out
CLASS_COLOURS = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)


def class_colours(labels):
    """The colour of each class in every figure (timelines, overview):
    ``CLASS_COLOURS`` in class order, repeated past seven classes.

    Arguments
    ---------
    labels : list of str
        The classes.

    Returns
    -------
    dict
        Class to a colour (hex text).

    Example
    -------
    >>> class_colours(["neu", "hap"])
    {'neu': '#E69F00', 'hap': '#56B4E9'}
    """
    return {
        label: CLASS_COLOURS[k % len(CLASS_COLOURS)]
        for k, label in enumerate(labels)
    }


def _class_legend(fig, plt, labels):
    """The legend of the class colours (the words of ``labels``)."""
    colours = class_colours(labels)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=colours[label], alpha=0.6)
        for label in labels
    ]
    fig.legend(
        handles,
        [_plain(label) for label in labels],
        loc="upper right",
        ncol=len(labels),
        fontsize=9,
    )


def _save(fig, path, dpi=100):
    """Saves a figure atomically (temporary name, then rename)."""
    tmp = f"{path}.tmp-{os.getpid()}.png"
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def plot_overview(rows, labels, path, recordings=None, durations=None):
    """Saves an overview of an archive of recordings as a PNG: one row
    per recording, time across, and in it one lane per speaker (role),
    each classified segment a bar in the colour of its class (the
    timelines' colours and legend); failed segments are hatched.

    Arguments
    ---------
    rows : list of dict
        Segment rows of every recording (``path``, ``start``, ``end``,
        ``speaker``, ``label``, ``error``; cells may be text).
    labels : list of str
        The classes, in legend order.
    path : str
        The PNG file to write (written atomically).
    recordings : list of str, optional
        The recordings in row order, top first (default: as in ``rows``).
    durations : dict, optional
        Recording to its length in seconds (default: its last segment's
        end).

    Returns
    -------
    list of tuple
        The lanes drawn, top first: ``(recording, speaker)``.

    Example
    -------
    >>> import tempfile
    >>> png = os.path.join(tempfile.mkdtemp(), "overview.png")
    >>> rows = [{"path": "a.wav", "start": 0.5, "end": 2.0, "speaker": "agent",
    ...          "label": "sad", "error": ""},
    ...         {"path": "a.wav", "start": 2.0, "end": 3.0,
    ...          "speaker": "customer", "label": "neu", "error": ""},
    ...         {"path": "b.wav", "start": "", "end": "", "speaker": "",
    ...          "error": "NoSpeech: no speech segment by VAD"}]
    >>> plot_overview(rows, ["neu", "sad"], png)
    [('a.wav', 'agent'), ('a.wav', 'customer'), ('b.wav', '')]
    >>> open(png, "rb").read(4) == b"\\x89PNG"
    True
    """
    plt = _pyplot()
    order = list(recordings or dict.fromkeys(r["path"] for r in rows))
    lanes, failed = [], set()
    for recording in order:
        mine = [r for r in rows if r["path"] == recording]
        timed = {
            r.get("speaker") or ""
            for r in mine
            if r.get("start") not in (None, "")
        }
        speakers = sorted(timed - {""}) or [""]
        lanes += [(recording, who) for who in speakers]
        if not timed and any(r.get("error") for r in mine):
            failed.add(recording)
    colours = class_colours(labels)
    ends = [float(r["end"]) for r in rows if r.get("end") not in (None, "")]
    end = max(list((durations or {}).values()) + ends + [1.0])
    fig, ax = plt.subplots(
        figsize=(
            max(8.0, min(24.0, 4.0 + end / 15.0)),
            1.4 + 0.32 * len(lanes) + 0.1 * len(order),
        )
    )
    try:
        where = {lane: k for k, lane in enumerate(lanes)}
        for row in rows:
            if row.get("start") in (None, ""):
                continue
            lane = (row["path"], row.get("speaker") or "")
            if lane not in where:
                continue
            start, stop = float(row["start"]), float(row["end"])
            y = len(lanes) - 1 - where[lane]
            if row.get("error"):
                ax.broken_barh(
                    [(start, stop - start)],
                    (y + 0.1, 0.8),
                    facecolors="none",
                    edgecolors="grey",
                    hatch="//",
                    linewidth=0,
                )
                continue
            ax.broken_barh(
                [(start, stop - start)],
                (y + 0.1, 0.8),
                facecolors=colours[row["label"]],
            )
        names, first = [], None
        for k, (recording, who) in enumerate(lanes):
            name = os.path.basename(recording) if recording != first else ""
            if name and recording in failed:
                name += " (failed)"
            first = recording
            names.append(_plain(f"{name}  {who}" if who else name))
            if name and k:  # a line between recordings
                ax.axhline(len(lanes) - k, color="grey", linewidth=0.6)
        ax.set_yticks(
            [len(lanes) - 1 - k + 0.5 for k in range(len(lanes))],
            labels=names,
            fontsize=8,
        )
        ax.set_ylim(0, len(lanes))
        ax.set_xlim(0.0, end)
        ax.set_xlabel("time (s)")
        ax.grid(axis="x", alpha=0.3)
        _class_legend(fig, plt, labels)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
        _save(fig, path)
    finally:
        plt.close(fig)
    return lanes


def plot_timeline(rows, labels, path, title=None, duration=None):
    """Saves the emotion timeline of one recording as a PNG: one lane per
    speaker (one lane when speakers are unknown); in each, every segment
    shaded in the colour of its predicted class and the probability of
    each class drawn over it.

    Arguments
    ---------
    rows : list of dict
        Segment rows of the recording (``start``, ``end``, ``speaker``,
        ``label``, ``probs``, ``error``); failed segments are hatched.
    labels : list of str
        The classes, in legend order.
    path : str
        The PNG file to write (written atomically).
    title : str, optional
        The figure title.
    duration : float, optional
        Length of the recording (the time axis), in seconds.

    Returns
    -------
    str
        The path.

    Example
    -------
    >>> import tempfile
    >>> png = os.path.join(tempfile.mkdtemp(), "t.png")
    >>> rows = [{"start": 0.5, "end": 2.0, "speaker": "A", "label": "sad",
    ...          "probs": {"neu": 0.2, "sad": 0.8}, "error": ""},
    ...         {"start": 2.5, "end": 4.0, "speaker": "B", "error": "x"}]
    >>> plot_timeline(rows, ["neu", "sad"], png, duration=5.0) == png
    True
    >>> open(png, "rb").read(4) == b"\\x89PNG"
    True
    """
    plt = _pyplot()
    timed = [r for r in rows if r.get("start") not in (None, "")]
    speakers = sorted({r.get("speaker") or "" for r in timed}) or [""]
    colours = class_colours(labels)
    end = duration or max([float(r["end"]) for r in timed], default=1.0)
    fig, axes = plt.subplots(
        len(speakers),
        1,
        figsize=(
            max(8.0, min(24.0, 4.0 + end / 15.0)),
            1.2 + 1.6 * len(speakers),
        ),
        sharex=True,
        squeeze=False,
    )
    try:
        for ax, speaker in zip(axes[:, 0], speakers):
            mine = [r for r in timed if (r.get("speaker") or "") == speaker]
            lines = {label: ([], []) for label in labels}
            for row in mine:
                start, stop = float(row["start"]), float(row["end"])
                if row.get("error"):
                    ax.axvspan(
                        start,
                        stop,
                        facecolor="none",
                        edgecolor="grey",
                        hatch="//",
                        linewidth=0,
                    )
                    continue
                ax.axvspan(start, stop, color=colours[row["label"]], alpha=0.2)
                for label in labels:
                    xs, ys = lines[label]
                    p = float(row["probs"][label])
                    xs += [start, stop, float("nan")]
                    ys += [p, p, float("nan")]
            for label in labels:
                xs, ys = lines[label]
                ax.plot(xs, ys, color=colours[label], linewidth=1.6)
            ax.set_ylim(0.0, 1.0)
            ax.set_xlim(0.0, end)
            name = f"{_plain(speaker)}\n" if speaker else ""
            ax.set_ylabel(f"{name}p(class)")
            ax.grid(axis="y", alpha=0.3)
        axes[-1, 0].set_xlabel("time (s)")
        _class_legend(fig, plt, labels)
        if title:
            fig.suptitle(_plain(title), x=0.01, ha="left", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.93))
        _save(fig, path)
    finally:
        plt.close(fig)
    return path
