"""Data preparation: IEMOCAP parsing and the synthetic demo corpus."""
