"""The interface class of this GEmo-CLAP folder, for SpeechBrain's
``foreign_class(source=<folder>, pymodule_file="custom_interface.py",
classname="GEmoCLAP")``; it needs the speechbrain-gemo package."""

from speechbrain_gemo.inference import GEmoCLAP  # noqa: F401
