"""The classification worker of the server: windows of every stream meet
in one queue, and a thread classifies them in micro-batches, so that the
event loop never waits for the model.

The worker takes the first window waiting, then waits at most
``max_wait_ms`` for more (up to ``max_batch_size``), and classifies the
batch with the batching engine of every run
(``speechbrain_gemo.batching.classify_batch``: a window that breaks the
batch gets its error alone). ``max_batch_size=1`` classifies each window
on its own (no micro-batching). Results go back to the event loop of the
stream that asked, in the order of its windows.

Windows of one length are padding-free batches; a call's last window
(shorter when the call is shorter than the window) is padded with the
others, which the audio tower's padding invariance makes harmless (see
``speechbrain_gemo.lobes``).

Authors
 * speechbrain-gemo developers 2026
"""

import asyncio
import queue
import threading
import time


class WindowClassifier:
    """One thread that classifies the windows of every stream in
    micro-batches.

    Arguments
    ---------
    model : GEmoCLAP or EmotionClassifierONNX
        The model.
    max_batch_size : int
        Most windows in one batch.
    max_wait_ms : float
        How long the first window of a batch waits for others.

    Example
    -------
    >>> import asyncio, tempfile, numpy
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(tempfile.mkdtemp()))
    >>> worker = WindowClassifier(model, max_batch_size=4, max_wait_ms=50)
    >>> async def two():
    ...     signals = [numpy.random.randn(8000).astype("float32")] * 2
    ...     return await asyncio.gather(
    ...         *[worker.classify(s, "w") for s in signals])
    >>> fields = asyncio.run(two())
    >>> [f["label"] in model.labels for f in fields], worker.batch_sizes
    ([True, True], {2: 1})
    >>> worker.close()
    """

    def __init__(self, model, max_batch_size=8, max_wait_ms=10.0):
        if max_batch_size < 1 or max_wait_ms < 0:
            raise ValueError(
                "need max_batch_size >= 1 and max_wait_ms >= 0, got "
                f"{max_batch_size}, {max_wait_ms}"
            )
        self.model = model
        self.max_batch_size = int(max_batch_size)
        self.max_wait = float(max_wait_ms) / 1000.0
        self._queue = queue.Queue()
        self.batch_sizes = {}  # batch size -> how many batches
        self.busy_seconds = 0.0
        self._thread = threading.Thread(
            target=self._run, name="gemo-classifier", daemon=True
        )
        self._thread.start()

    @property
    def waiting(self):
        """int: windows waiting for the model."""
        return self._queue.qsize()

    def submit(self, signal, name):
        """Queues a waveform; returns the future of its fields.

        Arguments
        ---------
        signal : numpy.ndarray
            Mono samples at the model's rate.
        name : str
            What it is, for errors.

        Returns
        -------
        asyncio.Future
            Resolves to ``rows.prediction_fields`` or ``{"error": ...}``.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((signal, name, loop, future))
        return future

    async def classify(self, signal, name):
        """Classifies one waveform with whatever else is waiting.

        Arguments
        ---------
        signal : numpy.ndarray
            Mono samples at the model's rate.
        name : str
            What it is, for errors.

        Returns
        -------
        dict
            Its fields (see ``submit``).
        """
        return await self.submit(signal, name)

    def close(self):
        """Stops the thread once the queue is empty."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _take(self):
        """The next batch (None: stop)."""
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch_size:
            left = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=left)
                    if left > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _run(self):
        """The thread: batches, classifies, hands back."""
        from speechbrain_gemo.batching import classify_batch

        while True:
            batch = self._take()
            if batch is None:
                return
            started = time.perf_counter()
            try:
                found = classify_batch(
                    self.model,
                    [item[0] for item in batch],
                    [item[1] for item in batch],
                )
            except Exception as err:  # never lose the thread
                from speechbrain_gemo.rows import error_text

                found = [{"error": error_text(err)}] * len(batch)
            self.busy_seconds += time.perf_counter() - started
            size = len(batch)
            self.batch_sizes[size] = self.batch_sizes.get(size, 0) + 1
            for (_, _, loop, future), fields in zip(batch, found):
                try:
                    loop.call_soon_threadsafe(_resolve, future, fields)
                except RuntimeError:  # that stream's loop is closed
                    pass


def _resolve(future, fields):
    """Sets a future's result unless its stream gave up on it."""
    if not future.done():
        future.set_result(fields)
