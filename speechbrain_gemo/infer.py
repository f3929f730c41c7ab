"""Command line: classify audio files with an exported GEmo-CLAP model,
one row per file, or per speech segment of long recordings.

    python -m speechbrain_gemo.infer --model <export folder> \\
        <wav files, folders or a .csv / .json list> --out predictions.csv
    python -m speechbrain_gemo.infer --model M --timeline calls/ \\
        --out segments.csv --plot plots/
    python -m speechbrain_gemo.infer --model M calls/ \\
        --segments diarization.rttm --out segments.csv
    torchrun --nproc_per_node=4 -m speechbrain_gemo.infer --model M ...
    python -m speechbrain_gemo.infer --backend onnx --model <onnx folder> ...
    python -m speechbrain_gemo.infer --model M --labels other/test.json \\
        --data_root /data/other [--zero_shot]

``--model`` is an export folder or, for a model on the Hugging Face Hub,
``hf://owner/name`` (downloaded into ``--savedir``, else into the Hugging
Face cache); a path that does not exist is an error (exit status 2), never
a hub look-up.

Inputs are audio files, folders (searched recursively for .wav, .flac,
.ogg and .mp3), CSV lists (a ``path``, ``wav`` or ``file`` column) or
SpeechBrain JSON manifests (entries with a ``wav`` key). Every list
(inputs, ``--labels``, ``--segments``) is read the same way (UTF-8 with
or without a byte-order mark, commas, semicolons or tabs, column names in
any case; see ``speechbrain_gemo.io.read_csv_table``) and so are the
paths in it (``speechbrain_gemo.io.ListedPaths``): ``{data_root}`` or
``$data_root`` is replaced by ``--data_root``, other relative paths are
relative to the list's folder, as in a corpus CSV (a path found only
relative to the current folder, the rule of older versions, is still
taken, with a warning). A listed file that does not exist gets its error
row, and one warning per list names the path tried.

Files are batched by duration (SpeechBrain's ``DynamicBatchSampler``) so
that a batch holds at most ``--max_batch_seconds`` of padded audio; files
longer than the model's window (20 s by default) are classified alone,
window by window. The output CSV has one row per input file, in input
order: ``path, label, score, prob_<class>..., [gender, gender_score],
[arousal, valence, dominance], error`` (the dimensions for models with
the dimensional head, on the training corpus' scale). A file that fails
(unreadable, empty, too short) gets its error in the ``error`` column and
does not stop the run. The CSVs are UTF-8 and read back by the ``csv``
module and pandas whatever the file names (cells with commas, quotes or
line breaks are quoted; the bytes of a name that are not valid UTF-8 are
written as ``\\xNN``).

With ``--timeline``, each recording is split into speech segments by a
voice-activity detector (``--vad silero``, the default, or ``energy``),
or with ``--segments`` the segments come from an RTTM file (diarization;
its file ids are the recordings' names without extension, so two inputs
of the same name are refused as ambiguous) or a CSV
``path,start,end[,speaker]``; segments of zero length are left out with
a warning, a malformed line stops the run before any work, naming it.
Segments are merged (``--min_segment``,
across silences up to ``--merge_gap``) and split (``--max_segment``), and
each is read from the file on its own and classified: one row per
segment, ``path, start, end, [speaker], label, score, prob_<class>...,
[gender, gender_score], [arousal, valence, dominance], error`` (times in
seconds). ``--plot DIR`` writes per recording a timeline PNG (with the
dimensional head, a panel of the three values under the class lanes) and
``<name>_summary.csv`` (share of speech time per emotion, per speaker),
``<name>`` made unique among the inputs (see
``speechbrain_gemo.timeline.plot_names``).

With ``--channels agent,customer`` (one name per channel, in channel
order; ``split``: ``ch1``, ``ch2``, ...), each channel of each recording
is analysed on its own (speech found per channel with cross-talk taken
out, see ``speechbrain_gemo.channels`` and ``--crosstalk_db``; each
segment read from its channel) and every row's ``speaker`` is its
channel's name; a recording with another channel count gets an error
row. ``--summary FILE.csv`` writes one row per recording and speaker
(``speechbrain_gemo.summaries``) and, with ``--plot`` and several
recordings, ``overview.png`` shows the archive; both are made from the
finished rows before the journal is removed.

Rows are saved as each file finishes (``<out>.part<rank>.csv`` and
``<out>.part<rank>.progress``, see ``speechbrain_gemo.journal``): a run
killed at any moment and started again with the same command continues
with the files not yet done. The final CSV appears at the end, atomically,
in input order (with the permissions the umask gives, as every output).
Under ``torchrun`` the inputs are shared among the processes (balanced by
duration; gloo on the CPU, NCCL with ``--device cuda``) and rank 0 writes
the one CSV.

With ``--labels`` (a JSON manifest or CSV with ``wav``/``path`` and
``emo``/``label`` per file), the predictions of the labelled files are
scored: ``<out stem>_report.json`` and ``<out stem>_report.txt``
(per-class precision, recall, F1; WAR and UAR) and, with matplotlib (the
``plot`` extra), ``<out stem>_confusion.png``. Without positional inputs,
the labelled files are the inputs. Labels of another corpus (e.g. a
RAVDESS ``test.json`` for an IEMOCAP model) are matched to the model's
classes through their words (``speechbrain_gemo.cross_corpus``): the
report covers the shared classes, each file judged by the most probable
shared class, and counts the files of the other classes per label
(``left_out``). ``--zero_shot`` instead classifies into every class of the
labels' corpus with prompts made from its words.

``--backend onnx --model DIR`` classifies with a folder written by
``python -m speechbrain_gemo.onnx`` (``EmotionClassifierONNX``, CPU,
stored prompts only: no ``--prompts`` or ``--zero_shot``; the fp32 graph
unless ``--precision int8``; the run says which it uses) and writes the
same CSV. The command line
itself needs the full install (torch, SpeechBrain) with either backend.

Exit status: 0 when at least one file was classified (even if others
failed), 1 when there was nothing to classify or every file failed, 2 for
usage errors (and left-over partial results of a different run).

This module is the command line only: the inputs are read by
``speechbrain_gemo.inputs``, files classified by
``speechbrain_gemo.batch_runs`` (batches: ``speechbrain_gemo.batching``),
recordings by ``speechbrain_gemo.timeline``, rows formatted by
``speechbrain_gemo.rows``, labelled files scored by
``speechbrain_gemo.reports``.

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import sys

from speechbrain_gemo.channels import CROSSTALK_DB


def _positive(text):
    """An argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser():
    """The command line's options, each with its help text.

    Returns
    -------
    argparse.ArgumentParser
        The parser (``parse_args`` adds the checks between options).

    Example
    -------
    >>> build_parser().parse_args(["--model", "m", "a.wav"]).backend
    'pytorch'
    """
    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_gemo.infer",
        description="Classify speech emotion with an exported GEmo-CLAP "
        "model: one CSV row per file, or per speech segment with "
        "--timeline / --segments.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        help="audio files, folders (searched recursively for .wav, .flac, "
        ".ogg, .mp3) and .csv/.json lists of files (relative paths in a "
        "list are relative to the list's folder)",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="export folder, or hf://owner/name[@revision] for a model on "
        "the Hugging Face Hub (a path is never looked up on the hub)",
    )
    parser.add_argument(
        "--out",
        default="predictions.csv",
        help="output CSV (default: %(default)s); partial results go to "
        "<out>.part*, reports to <out stem>_report.*",
    )
    parser.add_argument(
        "--labels",
        help="JSON manifest or CSV with the true label of each file "
        "(wav/path and emo/label/emotion): writes a scored report; without "
        "inputs, its files are the inputs",
    )
    parser.add_argument(
        "--data_root",
        "--data-root",
        help="replaces {data_root} / $data_root in the paths of lists",
    )
    parser.add_argument(
        "--prompts", help="JSON file: zero-shot classes, label -> prompt(s)"
    )
    parser.add_argument(
        "--max_batch_seconds",
        "--max-batch-seconds",
        type=float,
        default=120.0,
        help="cap on padded audio per batch, in seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--max_batch_size",
        "--max-batch-size",
        type=int,
        default=32,
        help="cap on files (or segments) per batch (default: %(default)s)",
    )
    parser.add_argument(
        "--window_seconds",
        "--window-seconds",
        type=float,
        default=None,
        help="longer audio is classified in windows of this many seconds "
        "(default: the model's, 20)",
    )
    parser.add_argument(
        "--overlap_seconds",
        "--overlap-seconds",
        type=float,
        default=None,
        help="overlap of those windows in seconds (default: the model's)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="e.g. cpu, cuda, cuda:0 (under torchrun, cuda means "
        "cuda:LOCAL_RANK)",
    )
    parser.add_argument(
        "--savedir",
        help="download folder for an hf:// model (default: the Hugging Face "
        "cache)",
    )
    parser.add_argument(
        "--backend",
        choices=("pytorch", "onnx"),
        default="pytorch",
        help="pytorch: an export folder (GEmoCLAP); onnx: a folder written "
        "by python -m speechbrain_gemo.onnx (EmotionClassifierONNX, CPU)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "int8"),
        default=None,
        help="graph of an ONNX folder: fp32 (the default) or int8 (a "
        "folder converted with --int8)",
    )
    cross = parser.add_argument_group(
        "cross-corpus evaluation",
        "--labels from another corpus: classes are matched through their "
        "words (speechbrain_gemo.cross_corpus)",
    )
    cross.add_argument(
        "--zero_shot",
        "--zero-shot",
        action="store_true",
        help="classify into every class of the --labels corpus with prompts "
        "made from its class words (needs the text model: pytorch backend)",
    )
    cross.add_argument(
        "--model_corpus",
        "--model-corpus",
        help="corpus of the model's class codes (default: detected)",
    )
    cross.add_argument(
        "--labels_corpus",
        "--labels-corpus",
        help="corpus of the --labels codes (default: detected)",
    )
    parser.add_argument(
        "--no_progress",
        "--no-progress",
        action="store_true",
        help="no progress bar on stderr",
    )
    timeline = parser.add_argument_group(
        "timelines", "emotion over time: one row per speech segment"
    )
    timeline.add_argument(
        "--timeline",
        action="store_true",
        help="split each recording into speech segments and classify each",
    )
    timeline.add_argument(
        "--segments",
        help="segments from outside (implies --timeline): an RTTM file "
        "(file id = recording name without extension) or a CSV "
        "path,start,end[,speaker] (paths relative to its folder)",
    )
    timeline.add_argument(
        "--vad",
        choices=("silero", "energy"),
        default="silero",
        help="speech detector (silero: Silero VAD from the silero-vad "
        "package; energy: energy above the noise floor, digital silence "
        "left out)",
    )
    timeline.add_argument(
        "--vad_threshold",
        "--vad-threshold",
        type=float,
        default=None,
        help="Silero speech probability threshold (0.5), or the energy "
        "margin over the noise floor in dB (12)",
    )
    timeline.add_argument(
        "--min_segment",
        "--min-segment",
        type=float,
        default=1.0,
        help="seconds; shorter segments are merged with a neighbour",
    )
    timeline.add_argument(
        "--max_segment",
        "--max-segment",
        type=_positive,
        default=10.0,
        help="seconds; longer segments are split into equal parts",
    )
    timeline.add_argument(
        "--merge_gap",
        "--merge-gap",
        type=float,
        default=0.5,
        help="longest silence (s) that merging may bridge",
    )
    timeline.add_argument(
        "--sliding_window",
        "--sliding-window",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="instead of speech segments: windows of SECONDS every --hop "
        "seconds, each classified where it holds speech (what the server "
        "streams as events; implies --timeline)",
    )
    timeline.add_argument(
        "--hop",
        type=_positive,
        default=1.0,
        help="seconds between the starts of --sliding_window windows (1)",
    )
    timeline.add_argument(
        "--channels",
        metavar="NAMES",
        help="channels as roles: analyse each channel on its own, named "
        "in channel order (e.g. agent,customer: one name per channel; a "
        "recording with another channel count gets an error row), or "
        "'split' (ch1, ch2, ...); every row's speaker is its channel's "
        "name. Without it the channels are mixed",
    )
    timeline.add_argument(
        "--crosstalk_db",
        "--crosstalk-db",
        type=_positive,
        default=CROSSTALK_DB,
        metavar="DB",
        help="with --channels: speech that another channel carries more "
        "than DB louder (echo, bleed) is not attributed to the quieter "
        "channel (default: %(default)s)",
    )
    timeline.add_argument(
        "--plot",
        metavar="DIR",
        help="write <name>.png (timeline) and <name>_summary.csv (share of "
        "speech time per emotion and speaker) per recording, and with "
        "several recordings overview.png (the archive, one row each)",
    )
    timeline.add_argument(
        "--summary",
        metavar="FILE.csv",
        help="one row per recording and speaker (role): speech seconds, "
        "share, longest stretch and first segment of each class",
    )
    return parser


def parse_args(argv=None):
    """Parses the command line (see the module docstring).

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The options.

    Example
    -------
    >>> args = parse_args(["--model", "m", "a.wav", "--out", "p.csv"])
    >>> args.inputs, args.max_batch_seconds, args.timeline
    (['a.wav'], 120.0, False)
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.segments or args.sliding_window:
        args.timeline = True
    if args.sliding_window:
        if args.segments:
            parser.error("--sliding_window and --segments are exclusive")
        if args.hop > args.sliding_window or args.sliding_window > 60:
            parser.error("need --hop <= --sliding_window <= 60 seconds")
        if args.vad != "silero":
            parser.error("--sliding_window windows are gated by Silero VAD")
    if not args.inputs and not args.labels and not args.segments:
        parser.error("give input files, folders or lists (or --labels)")
    if args.max_batch_seconds <= 0 or args.max_batch_size < 1:
        parser.error("--max_batch_seconds and --max_batch_size must be > 0")
    if args.backend == "onnx":
        if args.prompts or args.zero_shot:
            parser.error(
                "--backend onnx classifies with the folder's stored prompts "
                "only (it has no text model): --prompts and --zero_shot need "
                "the pytorch backend and an export folder"
            )
        if args.device != "cpu":
            parser.error("--backend onnx runs on the CPU (--device cpu)")
    elif args.precision:
        parser.error("--precision is an option of --backend onnx")
    if args.zero_shot and (args.prompts or not args.labels):
        parser.error("--zero_shot needs --labels and no --prompts")
    if args.timeline and args.labels:
        parser.error("--labels scores whole files; it has no --timeline mode")
    if args.plot and not args.timeline:
        parser.error("--plot draws timelines: add --timeline or --segments")
    if args.summary and not args.timeline:
        parser.error("--summary sums up timelines: add --timeline")
    if args.channels is not None:
        if not args.timeline:
            parser.error("--channels analyses timelines: add --timeline")
        from speechbrain_gemo.channels import parse_channels

        try:
            parse_channels(args.channels)
        except ValueError as err:
            parser.error(f"--channels: {err}")
    elif args.crosstalk_db != CROSSTALK_DB:
        parser.error("--crosstalk_db is an option of --channels")
    if not 0 <= args.min_segment <= args.max_segment or args.merge_gap < 0:
        parser.error(
            "need 0 <= --min_segment <= --max_segment and --merge_gap >= 0"
        )
    return args


def load_model(args, device="cpu"):
    """Loads the model of ``--model`` with the chosen ``--backend``.

    Arguments
    ---------
    args : argparse.Namespace
        The options (``model``, ``backend``, ``precision``; ``savedir``
        and ``threads`` where the command has them: the server's has
        ``threads``).
    device : str
        The PyTorch device (the ONNX backend runs on the CPU).

    Returns
    -------
    speechbrain_gemo.inference.GEmoCLAP or EmotionClassifierONNX
        Both have ``labels``, ``has_gender``, ``load_audio`` and
        ``predict_batch``.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> tmp = tempfile.mkdtemp()
    >>> args = parse_args(["--model", save_tiny_export(f"{tmp}/m"), "a.wav"])
    >>> load_model(args).labels
    ('neutral', 'happy', 'angry', 'sad')
    """
    threads = getattr(args, "threads", None)
    if args.backend == "onnx":
        from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

        return EmotionClassifierONNX(
            args.model, precision=args.precision, threads=threads
        )
    import torch

    if threads:
        torch.set_num_threads(threads)
    from speechbrain_gemo.inference import GEmoCLAP

    return GEmoCLAP.from_hparams(
        source=args.model,
        savedir=getattr(args, "savedir", None),
        run_opts={"device": device},
    )


def archive_outputs(args, out, labels, paths):
    """What ``--summary`` and ``--plot`` make of a whole timeline run,
    from its final CSV: the summary CSV and, with several recordings,
    the overview figure. Called before the run's journal is removed, so
    that a run killed meanwhile makes them again when started again,
    without classifying anything.

    Arguments
    ---------
    args : argparse.Namespace
        ``summary``, ``plot``, ``merge_gap``.
    out : str
        The run's final CSV.
    labels : list of str
        The classes.
    paths : list of str
        The inputs.

    Example
    -------
    >>> import tempfile
    >>> tmp = tempfile.mkdtemp()
    >>> out = f"{tmp}/segments.csv"
    >>> _ = open(out, "w").write("path,start,end,label,error\\na,0,2,sad,")
    >>> args = argparse.Namespace(
    ...     summary=f"{tmp}/calls/summary.csv", plot=None, merge_gap=0.5)
    >>> archive_outputs(args, out, ["sad"], ["a"])
    >>> print(open(args.summary).read(), end="")
    path,speaker,speech_seconds,share_sad,longest_sad_start,longest_sad_end,first_sad,error
    a,,2.000,1.0000,0.000,2.000,0.000,
    """  # noqa: E501
    if not args.summary and not (args.plot and len(paths) > 1):
        return
    from speechbrain_gemo.summaries import read_rows, write_summary

    rows = read_rows(out)
    if args.summary:
        write_summary(args.summary, rows, labels, args.merge_gap)
    if args.plot and len(paths) > 1:
        from speechbrain_gemo.io import warn
        from speechbrain_gemo.timeline import write_overview

        try:
            write_overview(rows, labels, args.plot, paths)
        except Exception as err:  # a plot never sinks the run
            warn(f"no overview plot: {type(err).__name__}: {err}")


def _missing_full_install():
    """The packages of the full install that are not installed, as text
    (empty when all are)."""
    import importlib.util

    names = ("torch", "speechbrain", "tqdm")
    return ", ".join(n for n in names if importlib.util.find_spec(n) is None)


def main(argv=None):
    """Runs the command line.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (see the module docstring).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> tmp = tempfile.mkdtemp()
    >>> model = save_tiny_export(f"{tmp}/m")
    >>> main(["--model", model, f"{tmp}/missing.wav", "--out",
    ...       f"{tmp}/p.csv", "--no-progress"])  # every file failed
    1
    """
    args = parse_args(argv)
    missing = _missing_full_install()
    if missing:
        print(
            f"error: the command line needs {missing} (the full install, "
            "also with --backend onnx: batching, audio blocks, VAD and "
            "sharding use them); in a torch-free environment classify "
            "with speechbrain_gemo.onnx_runtime.EmotionClassifierONNX",
            file=sys.stderr,
        )
        return 2
    # Imported once the full install is known to be there
    from speechbrain.utils.distributed import ddp_barrier, ddp_broadcast

    from speechbrain_gemo.batch_runs import (
        inputs_to_do,
        run_inference,
        run_signature,
    )
    from speechbrain_gemo.cross_corpus import scoring_plan
    from speechbrain_gemo.distributed import start_process_group
    from speechbrain_gemo.errors import UserError
    from speechbrain_gemo.inference import prompt_dict
    from speechbrain_gemo.inputs import collect_inputs, read_list
    from speechbrain_gemo.io import read_json
    from speechbrain_gemo.journal import Journal, JournalMismatch
    from speechbrain_gemo.reports import report_run
    from speechbrain_gemo.rows import csv_columns, csv_text, format_rows
    from speechbrain_gemo.segments import (
        has_channel_column,
        segments_of_inputs,
    )
    from speechbrain_gemo.timeline import run_timelines, timeline_options

    segments, speaker, prompts = None, False, None
    try:
        labelled = read_list(args.labels, args.data_root) if args.labels else []
        if args.inputs:
            paths = collect_inputs(args.inputs, args.data_root)
        else:
            paths = list(dict.fromkeys(entry["path"] for entry in labelled))
        if args.segments:
            if args.channels is None and has_channel_column(args.segments):
                raise ValueError(
                    f"{args.segments} has a channel column: name the "
                    "channels with --channels (e.g. agent,customer, or "
                    "split)"
                )
            segments, paths, speaker = segments_of_inputs(
                args.segments, paths, args.data_root
            )
        if args.prompts:
            prompts = read_json(args.prompts)
    except (OSError, ValueError) as err:
        # a list, segment list or prompt file that cannot be used
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not paths:
        print("error: no audio files found in the inputs", file=sys.stderr)
        return 1
    rank, world, device = start_process_group(args.device)
    try:
        model = load_model(args, device)
        if args.backend == "onnx":
            # Said, and recorded for a resume, as the graph actually used
            args.precision = model.precision
            if rank == 0:
                graph = model.config["graphs"][model.precision]
                print(
                    f"ONNX backend: {model.precision} graph ({graph})",
                    file=sys.stderr,
                )
        classes = list(prompt_dict(prompts) if prompts else model.labels)
        cross = scoring_plan(
            classes,
            labelled,
            args.model_corpus,
            args.labels_corpus,
            args.zero_shot,
            getattr(model, "stored_prompts", None),
            None if prompts else model.label_codes,
        )
    except (ValueError, OSError, UserError) as err:
        # A missing model folder, an hf:// model that cannot be fetched, a
        # damaged export (ExportLoadError)
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.zero_shot:
        prompts = cross["prompts"]
    labels = list(prompt_dict(prompts) if prompts else model.labels)
    speaker = speaker or args.channels is not None
    layout = {"timeline": args.timeline, "speaker": speaker}
    if getattr(model, "has_avd", False):
        layout["dimensions"] = True
    header = csv_text([csv_columns(labels, model.has_gender, **layout)])
    try:
        journal = Journal(
            args.out, rank, run_signature(args, paths, header, prompts), header
        )
    except JournalMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    def save(index, path, rows):
        """Saves the rows of one finished input.

        Arguments
        ---------
        index : int
            The input's index.
        path : str
            The input.
        rows : list of dict
            Its rows.
        """
        lines = format_rows(rows, labels, model.has_gender, **layout)
        journal.add(index, path, lines)

    todo, done = inputs_to_do(paths, args.out, rank, world)
    quiet = args.no_progress or rank != 0
    if done and rank == 0:
        print(
            f"continuing: {done} of {len(paths)} files were done by an "
            "earlier run",
            file=sys.stderr,
        )
    try:
        if args.timeline:
            context = {
                "segments": segments,
                "segments_source": args.segments,
                "plot": args.plot,
                "labels": labels,
                "quiet": quiet,
            }
            options = timeline_options(args, prompts)
            run_timelines(model, paths, todo, save, options, context)
        else:
            index_of = {paths[i]: i for i in todo}
            run_inference(
                model,
                [paths[i] for i in todo],
                prompts=prompts,
                max_batch_seconds=args.max_batch_seconds,
                max_batch_size=args.max_batch_size,
                window_seconds=args.window_seconds,
                overlap_seconds=args.overlap_seconds,
                progress=not quiet,
                on_done=lambda path, row: save(index_of[path], path, [row]),
            )
    finally:
        journal.close()
    ddp_barrier()
    status = 0
    if rank == 0:
        Journal.finalize(
            args.out,
            header,
            len(paths),
            then=lambda out: archive_outputs(args, out, labels, paths),
        )
        status = report_run(args, labelled, labels, len(paths), cross)
    status = ddp_broadcast(status)
    if world > 1:
        from speechbrain_gemo.distributed import end_process_group

        end_process_group(status)  # exits this process
    return status


if __name__ == "__main__":
    sys.exit(main())
