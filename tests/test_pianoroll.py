"""Frame labels from notes."""

from __future__ import annotations

import numpy as np
import pytest

from mirkit.errors import InputError
from mirkit.features.pianoroll import FrameLabels, n_frames, notes_to_labels

SR, HOP = 16000, 512          # 31.25 frames per second


def test_n_frames_matches_a_centred_transform() -> None:
    import torch

    for n in (16000 * 3 + 17, 512, 511, 2048):
        y = torch.zeros(n)
        spec = torch.stft(y, n_fft=1024, hop_length=HOP, center=True, pad_mode="constant",
                          window=torch.hann_window(1024), return_complex=True)
        assert n_frames(n, HOP) == spec.shape[-1]


def test_labels_by_hand() -> None:
    classes = ("piano", "violin", "drums")
    # piano C4 0.0-0.32 s: frames 0..9 (round(0.32*31.25) = 10); violin A4 0.5-0.52 s: one
    # frame (16); drum 36 at 0.1 s (frames 3..)
    lab = notes_to_labels([0.0, 0.5, 0.1], [0.32, 0.52, 0.2], [60, 69, 36],
                          ["piano", "violin", "drums"], classes=classes, frames=20, sr=SR,
                          hop=HOP)
    assert lab.pianoroll.shape == (3, 88, 20)
    assert np.flatnonzero(lab.pianoroll[0, 60 - 21]).tolist() == list(range(10))
    assert np.flatnonzero(lab.pianoroll[1, 69 - 21]).tolist() == [16]
    assert np.flatnonzero(lab.onsets[0, 60 - 21]).tolist() == [0]
    assert np.flatnonzero(lab.activity[2]).tolist() == [3, 4, 5]
    # the pitch roll leaves drums out
    assert not lab.pitch_roll[36 - 21].any()
    assert lab.pitch_roll[60 - 21, :10].all()
    assert lab.activity.sum(axis=1).tolist() == [10, 1, 3]


def test_overlapping_notes_past_the_end_and_out_of_range() -> None:
    lab = notes_to_labels([0.0, 0.1, 0.5, 0.0], [0.3, 0.2, 5.0, 0.1], [60, 60, 62, 10],
                          ["piano"] * 4, classes=("piano",), frames=25, sr=SR, hop=HOP)
    assert lab.pianoroll[0, 39].sum() == round(0.3 * 31.25)           # union of overlaps
    assert lab.pianoroll[0, 41, 16:].all() and lab.pianoroll.shape[2] == 25
    assert lab.activity[0, :4].all()                                    # MIDI 10 counts here


def test_round_trip_npz(tmp_path) -> None:
    lab = notes_to_labels([0.0], [1.0], [60], ["piano"], classes=("piano",), frames=40, sr=SR,
                          hop=HOP)
    np.savez(tmp_path / "l.npz", **lab.to_npz_dict())
    with np.load(tmp_path / "l.npz") as z:
        back = FrameLabels.from_npz(z)
    assert back.classes == ("piano",) and back.sr == SR and back.hop == HOP
    np.testing.assert_array_equal(back.pianoroll, lab.pianoroll)


def test_errors() -> None:
    with pytest.raises(InputError, match="not in the class axis"):
        notes_to_labels([0.0], [1.0], [60], ["kazoo"], classes=("piano",), frames=4, sr=SR,
                        hop=HOP)
    with pytest.raises(InputError, match="offset >= onset"):
        notes_to_labels([1.0], [0.5], [60], ["piano"], classes=("piano",), frames=4, sr=SR,
                        hop=HOP)
