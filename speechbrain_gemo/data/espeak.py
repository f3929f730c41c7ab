"""A minimal ctypes binding of the eSpeak NG speech synthesiser.

Loads the shared library and voice data shipped by the ``espeakng-loader``
package and speaks one text at a time into int16 samples, with eSpeak NG's
prosody parameters (rate, volume, pitch, pitch range, word gap) and the
seed of its random generator.

Authors
 * speechbrain-gemo developers 2026
"""

import ctypes
import os
import shutil
import tempfile

import numpy as np

INSTALL_HINT = (
    "The synthetic corpus is spoken by eSpeak NG, shipped by the "
    "'espeakng-loader' package; install the demo extra: pip install -e "
    ".[demo] (or: pip install espeakng-loader)"
)

# speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
# espeak_PARAMETER values, in the order they are set.
_PARAMETERS = {
    "rate": 1,
    "volume": 2,
    "pitch": 3,
    "pitch_range": 4,
    "word_gap": 7,
}
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class ESpeakNG:
    """Speaks text with the eSpeak NG library, through ctypes.

    Each call to :meth:`synthesize` runs in a freshly loaded private copy
    of the library (about 4 ms), because eSpeak NG keeps synthesis state
    (waveform phase, pitch smoothing, echo buffers) in process globals
    that survive ``espeak_Terminate``: without this, an utterance would
    depend on every utterance synthesised before it, and a corpus would
    not be reproducible utterance by utterance.

    Arguments
    ---------
    library_path : str, optional
        The shared library; by default the one of ``espeakng-loader``.
    data_path : str, optional
        The ``espeak-ng-data`` folder; by default the one of
        ``espeakng-loader``.

    Example
    -------
    >>> with ESpeakNG() as tts:
    ...     wav = tts.synthesize("Hello.", "en-us+f1", rate=175)
    >>> wav.dtype, tts.sample_rate, 0.2 < len(wav) / tts.sample_rate < 2
    (dtype('int16'), 22050, True)
    """

    def __init__(self, library_path=None, data_path=None):
        if library_path is None or data_path is None:
            try:
                import espeakng_loader
            except ImportError as e:
                raise RuntimeError(INSTALL_HINT) from e
            library_path = library_path or espeakng_loader.get_library_path()
            data_path = data_path or espeakng_loader.get_data_path()
        self.library_path = str(library_path)
        self.data_path = str(data_path)
        if not os.path.isfile(self.library_path):
            raise RuntimeError(
                f"eSpeak NG library not found at {self.library_path}. "
                + INSTALL_HINT
            )
        self._workdir = tempfile.mkdtemp(prefix="gemo_espeak_")
        self._loads = 0
        self.sample_rate = None
        # Fail early, with a clear message, if the library cannot be used.
        self.synthesize("a", "en")

    def __enter__(self):
        """Returns the synthesiser (closed on exit)."""
        return self

    def __exit__(self, *exc):
        """Closes the synthesiser."""
        self.close()

    def close(self):
        """Removes the temporary copies of the library."""
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _load(self):
        """Loads a private copy of the library and initialises it."""
        self._loads += 1
        name = f"{self._loads}_{os.path.basename(self.library_path)}"
        path = os.path.join(self._workdir, name)
        # A new file name makes the dynamic loader map a new copy (with
        # fresh globals) instead of returning the already loaded one.
        shutil.copyfile(self.library_path, path)
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            raise RuntimeError(
                f"Cannot load eSpeak NG from {self.library_path}: {e}. "
                + INSTALL_HINT
            ) from e
        finally:
            # The mapping outlives the file on POSIX systems.
            try:
                os.remove(path)
            except OSError:
                pass
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            self.data_path.encode(),
            _INITIALIZE_DONT_EXIT,
        )
        if rate <= 0:
            self._unload(lib)
            raise RuntimeError(
                f"eSpeak NG failed to initialise with data {self.data_path}. "
                + INSTALL_HINT
            )
        self.sample_rate = rate
        return lib

    @staticmethod
    def _unload(lib):
        """Terminates and unloads a library copy, so its state is gone."""
        lib.espeak_Terminate()
        import _ctypes

        close = getattr(_ctypes, "dlclose", None) or getattr(
            _ctypes, "FreeLibrary", None
        )
        if close is not None:
            close(lib._handle)

    def synthesize(
        self,
        text,
        voice,
        rate=175,
        volume=100,
        pitch=50,
        pitch_range=50,
        word_gap=0,
        seed=0,
    ):
        """Speaks one text.

        Arguments
        ---------
        text : str
            What to say.
        voice : str
            eSpeak NG voice name, optionally with a variant (``en-us+m3``).
        rate : float
            Speaking rate in words per minute (80 to 450).
        volume : float
            Loudness, 0 to 200 (100 is normal; saturates above about 110).
        pitch : float
            Base pitch, 0 to 100 (50 is the voice's own).
        pitch_range : float
            Pitch range, 0 (monotone) to 100.
        word_gap : float
            Extra pause between words, in units of 10 ms.
        seed : int
            Seed of eSpeak NG's random generator (breathiness noise of
            some voices), which lives in the C library's global state.

        Returns
        -------
        numpy.ndarray
            int16 samples at ``self.sample_rate``.

        Example
        -------
        >>> with ESpeakNG() as tts:
        ...     slow = tts.synthesize("One two three.", "en", rate=100)
        ...     fast = tts.synthesize("One two three.", "en", rate=300)
        >>> len(slow) > 1.5 * len(fast)
        True
        """
        values = {
            "rate": rate,
            "volume": volume,
            "pitch": pitch,
            "pitch_range": pitch_range,
            "word_gap": word_gap,
        }
        lib = self._load()
        chunks = []

        def collect(samples, n, events):
            """eSpeak NG's synthesis callback: keeps a copy of each chunk.

            Arguments
            ---------
            samples : ctypes pointer to short
                The chunk's samples.
            n : int
                Number of samples (0 at the end).
            events : ctypes pointer
                eSpeak NG events (unused).

            Returns
            -------
            int
                0, to continue synthesis.
            """
            if n > 0:
                chunks.append(np.ctypeslib.as_array(samples, shape=(n,)).copy())
            return 0

        callback = _SYNTH_CALLBACK(collect)
        try:
            lib.espeak_SetSynthCallback(callback)
            set_seed = getattr(lib, "espeak_ng_SetRandSeed", None)
            if set_seed is not None:
                set_seed.argtypes = [ctypes.c_long]
                set_seed(int(seed) & 0x7FFFFFFF)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"eSpeak NG has no voice {voice!r}")
            for name, parameter in _PARAMETERS.items():
                value = int(round(values[name]))
                lib.espeak_SetParameter(parameter, value, 0)
            data = text.encode("utf-8")
            error = lib.espeak_Synth(
                data,
                len(data) + 1,
                0,
                _POS_CHARACTER,
                0,
                _CHARS_UTF8,
                None,
                None,
            )
            if error != 0:
                raise RuntimeError(f"espeak_Synth failed with error {error}")
            lib.espeak_Synchronize()
        finally:
            self._unload(lib)
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks)
