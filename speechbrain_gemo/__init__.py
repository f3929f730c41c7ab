"""GEmo-CLAP: gender-attribute-enhanced contrastive language-audio
pretraining for speech emotion recognition, as a SpeechBrain plugin."""

__version__ = "0.1.0"
