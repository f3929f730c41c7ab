"""Data preparation: one module per corpus (IEMOCAP, CREMA-D, RAVDESS,
EmoDB, MSP-Podcast, a user's own CSV), what they share (``manifest``) and
the synthetic demo corpus."""
