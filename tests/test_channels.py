"""The channels-as-roles module: channel names and the cross-talk rule
(pure functions over per-channel frame levels)."""

import numpy as np
import pytest

from speechbrain_gemo.channels import (
    SPLIT,
    ChannelCountError,
    CrosstalkGate,
    attributed,
    channel_names,
    crosstalk_frames,
    echo_frames,
    frame_levels,
    parse_channels,
)


def test_channel_names_and_count_errors():
    assert parse_channels("agent,customer") == ["agent", "customer"]
    assert parse_channels("split") == SPLIT
    assert channel_names(SPLIT, 3) == ["ch1", "ch2", "ch3"]
    with pytest.raises(ValueError, match="must not be empty"):
        parse_channels("agent,")
    with pytest.raises(ChannelCountError) as caught:
        channel_names(["agent", "customer"], 3, "calls/x.wav")
    message = str(caught.value)
    assert "calls/x.wav" in message and "3 channels" in message
    assert "2 channel names" in message


def _talk(rng, frames, on):
    """Levels of a talker: loud where ``on``, noise elsewhere."""
    speech = rng.uniform(-30.0, -15.0, frames)
    return np.where(on, speech, rng.uniform(-75.0, -70.0, frames))


def test_bleed_is_crosstalk_double_talk_is_not():
    rng = np.random.default_rng(0)
    frames = 200
    a_on = np.zeros(frames, bool)
    b_on = np.zeros(frames, bool)
    a_on[10:80] = True
    b_on[60:150] = True  # 60-80: both talk
    a_own, b_own = _talk(rng, frames, a_on), _talk(rng, frames, b_on)
    # Each channel: its party plus the other bled in at -20 dB (powers add)
    a = 10 * np.log10(10 ** (a_own / 10) + 10 ** ((b_own - 20) / 10))
    b = 10 * np.log10(10 ** (b_own / 10) + 10 ** ((a_own - 20) / 10))
    levels = np.stack([a, b], axis=1)
    crosstalk = crosstalk_frames(levels, crosstalk_db=10.0)
    # A alone: B carries A's bleed, which is cross-talk on B, not on A
    assert crosstalk[10:60, 1].all() and not crosstalk[10:60, 0].any()
    # B alone: the other way round
    assert crosstalk[80:150, 0].all() and not crosstalk[80:150, 1].any()
    # Both talk within 15 dB of each other: each keeps its frames
    both = np.abs(a_own - b_own)[60:80] < 10
    assert not crosstalk[60:80][both].any()
    # A threshold above the bleed's 20 dB calls nothing cross-talk
    assert not crosstalk_frames(levels, crosstalk_db=25.0)[10:60, 1].any()


def test_echo_reaches_back_the_given_frames_only():
    levels = np.full((12, 2), -90.0)
    levels[2, 0] = -20.0  # A speaks one frame
    levels[5, 1] = -40.0  # B carries its echo 3 frames later
    assert not crosstalk_frames(levels, echo=2)[5, 1]
    assert crosstalk_frames(levels, echo=3)[5, 1]
    assert echo_frames(0.1, 0.02) == 5


def test_gate_frame_by_frame_equals_whole_recording_and_is_causal():
    rng = np.random.default_rng(1)
    levels = rng.uniform(-80.0, -10.0, (300, 3))
    for echo in (0, 1, 4):
        whole = crosstalk_frames(levels, 8.0, echo)
        gate = CrosstalkGate(3, 8.0, echo)
        live = np.stack([gate(row) for row in levels])
        np.testing.assert_array_equal(live, whole)
        # Later frames never change an earlier decision
        changed = levels.copy()
        changed[150:] = rng.uniform(-80.0, -10.0, (150, 3))
        np.testing.assert_array_equal(
            crosstalk_frames(changed, 8.0, echo)[:150], whole[:150]
        )
    gate.reset()
    assert not gate([-20.0, -20.0, -20.0]).any()


def test_attributed_takes_crosstalk_out_of_activity_or_probabilities():
    levels = np.array([[-20.0, -40.0], [-30.0, -28.0], [-80.0, -25.0]])
    probs = np.array([[0.9, 0.8], [0.7, 0.9], [0.6, 0.95]])
    kept = attributed(probs, levels)
    np.testing.assert_allclose(kept, [[0.9, 0.0], [0.7, 0.9], [0.0, 0.95]])
    with pytest.raises(ValueError, match="same frames x channels"):
        attributed(probs[:2], levels)


def test_frame_levels_of_a_scaled_copy_differ_by_the_scale():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 320)) * 0.1
    gap = frame_levels(x) - frame_levels(0.1 * x)
    np.testing.assert_allclose(gap, 20.0, atol=1e-6)


def test_one_channel_has_no_crosstalk():
    assert not crosstalk_frames(np.zeros((5, 1))).any()
    assert not CrosstalkGate(1)([-20.0]).any()
