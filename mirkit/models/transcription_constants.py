"""Constants of the transcription family: audio rate, frames, CQT layout, loss presets.

The input representation follows Hung, Chen & Yang (ICASSP 2019): a CQT at 16 kHz with a
512-sample hop (31.25 frames per second) and 88 semitone bins from A0, log-compressed. The
pitch axis of every output is the 88 piano keys (MIDI 21-108,
:data:`mirkit.features.pianoroll.LOWEST_PITCH`), the class axis
:data:`mirkit.data.instruments.CLASSES`.
"""

from __future__ import annotations

from typing import Any

from mirkit.errors import ParameterError
from mirkit.features.pianoroll import LOWEST_PITCH, N_PITCHES

#: Architecture name in the model registry.
ARCH_NAME = "transcription-unet"
#: Task the models serve (the ``transcribe`` subcommand).
TASK = "transcribe"
#: Tiny random-weight model for fast tests.
TEST_MODEL_NAME = "transcribe-unet-test"

#: Audio sample rate of the model input, Hz.
SAMPLE_RATE = 16000
#: Hop between frames, samples at :data:`SAMPLE_RATE`.
HOP = 512
#: Frames per second.
FRAME_RATE = SAMPLE_RATE / HOP
#: Training clip length in the paper, seconds (10 s = 313 frames with our centred frames).
CLIP_SECONDS = 10.0
#: Lowest CQT key (A0) and key count; with ``b`` bins per semitone the CQT has ``88 b`` bins.
LOWEST_KEY = LOWEST_PITCH
N_KEYS = N_PITCHES
#: Bins per semitone of the default model (the paper's 88-bin CQT).
BINS_PER_SEMITONE = 1
#: Log compression of the default model: :func:`mirkit.features.spectral.log_compress`
#: keyword arguments. The paper's ``dB / 80 + 1``, with a fixed reference (magnitude 1)
#: instead of the clip maximum, so that chunked inference equals whole-file inference.
COMPRESSION: dict[str, Any] = {"mode": "db", "ref": 1.0, "top_db": 80.0}

#: U-Net defaults: channels of the first level (doubling per level), number of levels.
BASE_CHANNELS = 32
DEPTH = 4
#: Negative slope of the leaky ReLUs.
LEAKY_SLOPE = 0.01
#: Constructor config of the tiny random-weight test model.
TEST_CONFIG: dict[str, Any] = {"base_channels": 4, "depth": 2}

#: Loss terms (keys of the model outputs and of :data:`LOSS_WEIGHTS`) and the label of each.
LOSS_LABELS: dict[str, str] = {"roll": "pianoroll", "onset": "onsets", "pitch": "pitch_roll",
                               "instrument": "activity"}
#: Loss terms beyond the BCE ones: ``class``, the cross-entropy over the class axis of the
#: ``roll`` logits at every sounding (key, frame) cell (which instrument plays this key),
#: trained against the pianoroll labels; ``reonset``, the onset BCE again at re-articulation
#: cells (an onset on a key sounding in the frame before). Weight 0 unless a config sets them.
EXTRA_LOSS_TERMS: tuple[str, ...] = ("class", "reonset")
#: Default loss weights: the paper's three BCE terms plus the onset term.
LOSS_WEIGHTS: dict[str, float] = {"roll": 1.0, "pitch": 1.0, "instrument": 1.0, "onset": 1.0}
#: The paper's Table 2 variants (which of the three terms train the roll); the onset term
#: is set separately (see :func:`ablation_weights`).
ABLATIONS: dict[str, tuple[str, ...]] = {
    "multitask": ("roll", "pitch", "instrument"),
    "roll-only": ("roll",),
    "pitch-only": ("pitch",),
    "instrument-only": ("instrument",),
}


def ablation_weights(name: str, *, onset: float = 1.0) -> dict[str, float]:
    """Loss weights of an ablation (:data:`ABLATIONS`), with ``onset`` for the onset term.

    ``ablation_weights("pitch-only", onset=0.0)`` trains the roll through the pitch loss
    alone, as in the paper's single-task variants.
    """
    if name not in ABLATIONS:
        raise ParameterError(f"unknown ablation {name!r}; known: {', '.join(ABLATIONS)}")
    if onset < 0:
        raise ParameterError(f"onset weight {onset} must be >= 0")
    weights = {term: (1.0 if term in ABLATIONS[name] else 0.0) for term in LOSS_WEIGHTS}
    weights["onset"] = float(onset)
    return weights
