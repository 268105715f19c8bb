"""Pitch-RNN and Duration-RNN with explicit conditioning (Genchel, Pati & Lerch, 2019).

A melody is a sequence of events (notes and rests); event ``t`` has a pitch token ``p_t``
(MIDI - 21, rest = 88) and a duration tag ``d_t`` (19 tags at 24 ticks per quarter), see
:mod:`mirkit.features.tokens`. Two separate LSTM networks predict the two streams: the
**Pitch-RNN** ``p_t`` and the **Duration-RNN** ``d_t``. Each is optionally conditioned on
any subset of :data:`CONDITIONING`:

``inter``
    the other stream: the Pitch-RNN also reads the previous duration ``d_{t-1}``, the
    Duration-RNN the previous pitch ``p_{t-1}``;
``chord``
    the chord sounding at the onset of event ``t`` (root and pitch-class set);
``next-chord``
    the next *different* chord after it (the chord itself at the end of the piece);
``bar-pos``
    the onset of event ``t`` within its bar, in ticks (0..95).

Order of one step (the same in training and generation)
    Both networks read the same inputs for event ``t``: their own previous token, with
    ``inter`` the other stream's previous token (``p_{t-1}``, ``d_{t-1}``; a BOS token at
    the first event of a piece), and the conditioning of event ``t`` itself (its bar
    position and chords, known before it is generated because its onset is the sum of the
    durations ``d_0 .. d_{t-1}``). Pitch and duration of event ``t`` are then predicted
    *simultaneously*: neither sees the other's token of the same event. This is the
    paper's pairing of the streams (inputs and targets shifted by one event, the other
    stream's token aligned with the network's own input). The original code fed the chord
    and bar position of the *input* (previous) event; we give those of the event being
    predicted, which a generator over a known progression can always compute.

Architecture of each network (the reference sizes)
    embeddings: pitch 8, duration 4, bar position 8, chord root 2 (13 roots, the 13th
    "no chord"); the 12-dim pitch-class vector goes through Linear(12, 8)-ReLU-Linear(8, 4);
    root and pitch-class codes are joined by Linear(6, 8)-[BN]-ReLU-Linear(8, 8) (one chord
    encoder per network, shared by ``chord`` and ``next-chord``). The concatenated inputs go
    through Linear(-> hidden)-[BN]-ReLU, a ``layers``-layer LSTM (hidden 256, dropout 0.2
    between layers), and Linear(hidden, (hidden + out) // 2)-[BN]-ReLU-Linear(-> out),
    then log-softmax. Batch normalisation (``batch_norm``) normalises the features of every
    (item, step) pair; the original normalised over the 64 sequence positions instead,
    which ties a model to one sequence length and cannot generate step by step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from mirkit.errors import ParameterError
from mirkit.features import tokens as T

if TYPE_CHECKING:
    from torch import Tensor

#: Architecture name in the model registry.
ARCH_NAME = "melody-rnn"
#: Task the models serve (the ``generate-melody`` subcommand).
TASK = "generate-melody"
#: Tiny random-weight model for fast tests.
TEST_MODEL_NAME = "melody-test"
#: Conditioning inputs, in their canonical order.
CONDITIONING: tuple[str, ...] = ("inter", "chord", "next-chord", "bar-pos")
#: Embedding sizes of the reference implementation.
EMBED_DIMS: dict[str, int] = {"pitch": 8, "duration": 4, "barpos": 8, "chord_root": 2,
                              "chord_pcs": 4, "chord": 8}
#: Pitch classes in a chord's pitch-class vector.
N_PITCH_CLASSES = 12
#: The reference network size.
DEFAULT_HIDDEN = 256
DEFAULT_LAYERS = 2
DEFAULT_DROPOUT = 0.2
#: Keys of a batch (all ``(batch, steps)`` int64 except the ``*_pcs`` float ``(.., 12)``).
INPUT_KEYS = ("pitch_in", "duration_in", "barpos", "chord_root", "chord_pcs", "next_root",
              "next_pcs")
#: Configuration of the ``melody-test`` model.
TEST_CONFIG: dict[str, Any] = {"conditioning": list(CONDITIONING), "hidden": 16, "layers": 1,
                               "dropout": 0.0, "batch_norm": True}


def parse_conditioning(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The conditioning set in canonical order, from a list or a comma-separated string.

    ``None``, ``""``, ``"none"`` and an empty list mean no conditioning; ``"all"`` means
    every input. Underscores are read as hyphens (``next_chord``).

    Raises
    ------
    ParameterError
        An unknown name, listing the accepted ones.
    """
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    names: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise ParameterError(f"conditioning {item!r} is not a name; give a subset of "
                                 f"{', '.join(CONDITIONING)} (or none, all)")
        name = item.strip().lower().replace("_", "-")
        if name in ("", "none"):
            continue
        if name == "all":
            names.update(CONDITIONING)
        elif name in CONDITIONING:
            names.add(name)
        else:
            raise ParameterError(f"unknown conditioning {item.strip()!r}; give a comma-"
                                 f"separated subset of {', '.join(CONDITIONING)}, or none "
                                 f"or all")
    return tuple(c for c in CONDITIONING if c in names)


def conditioning_label(conditioning: Iterable[str]) -> str:
    """``"none"`` or the names joined by ``+`` (``"inter+chord"``)."""
    names = parse_conditioning(list(conditioning))
    return "+".join(names) if names else "none"


class _FeatureNorm(nn.Module):
    """BatchNorm1d over the last axis of a ``(batch, steps, features)`` tensor."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(features)

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        return self.norm(x.reshape(-1, shape[-1])).reshape(shape)


def _mlp(sizes: Sequence[int], batch_norm: bool) -> nn.Sequential:
    """Linear(a, b)-[BN]-ReLU-Linear(b, c)."""
    a, b, c = sizes
    layers: list[nn.Module] = [nn.Linear(a, b)]
    if batch_norm:
        layers.append(_FeatureNorm(b))
    layers += [nn.ReLU(), nn.Linear(b, c)]
    return nn.Sequential(*layers)


class ChordEncoder(nn.Module):
    """Root embedding and pitch-class code joined into one chord vector.

    ``forward(root (B, T) int64, pcs (B, T, 12) float) -> (B, T, EMBED_DIMS["chord"])``.
    """

    def __init__(self, *, n_roots: int, batch_norm: bool) -> None:
        super().__init__()
        d = EMBED_DIMS
        self.root = nn.Embedding(n_roots, d["chord_root"])
        mid = (N_PITCH_CLASSES + d["chord_pcs"]) // 2
        self.pcs = nn.Sequential(nn.Linear(N_PITCH_CLASSES, mid), nn.ReLU(),
                                 nn.Linear(mid, d["chord_pcs"]))
        self.join = _mlp((d["chord_root"] + d["chord_pcs"], d["chord"], d["chord"]),
                         batch_norm)

    def forward(self, root: Tensor, pcs: Tensor) -> Tensor:
        return self.join(torch.cat([self.root(root), self.pcs(pcs.float())], dim=-1))


class StreamRNN(nn.Module):
    """One conditioned LSTM: the Pitch-RNN or the Duration-RNN.

    Parameters
    ----------
    own_vocab, other_vocab : int
        Token counts of the predicted stream and of the other stream; each embedding has
        one more entry, the BOS token (index = vocab size) read before the first event.
    own_embed, other_embed : int
        Their embedding sizes.
    conditioning : tuple of str
    hidden, layers, dropout, batch_norm
        See :class:`MelodyRNN`.
    barpos_dim, chord_roots : int
        Bar positions and chord roots (incl. "no chord").
    """

    def __init__(self, *, own_vocab: int, other_vocab: int, own_embed: int, other_embed: int,
                 conditioning: tuple[str, ...], hidden: int, layers: int, dropout: float,
                 batch_norm: bool, barpos_dim: int, chord_roots: int) -> None:
        super().__init__()
        self.conditioning = conditioning
        self.own = nn.Embedding(own_vocab + 1, own_embed)
        width = own_embed
        self.other: nn.Embedding | None = None
        if "inter" in conditioning:
            self.other = nn.Embedding(other_vocab + 1, other_embed)
            width += other_embed
        self.barpos: nn.Embedding | None = None
        if "bar-pos" in conditioning:
            self.barpos = nn.Embedding(barpos_dim, EMBED_DIMS["barpos"])
            width += EMBED_DIMS["barpos"]
        self.chord: ChordEncoder | None = None
        n_chords = ("chord" in conditioning) + ("next-chord" in conditioning)
        if n_chords:
            self.chord = ChordEncoder(n_roots=chord_roots, batch_norm=batch_norm)
            width += n_chords * EMBED_DIMS["chord"]
        encoder: list[nn.Module] = [nn.Linear(width, hidden)]
        if batch_norm:
            encoder.append(_FeatureNorm(hidden))
        encoder.append(nn.ReLU())
        self.encoder = nn.Sequential(*encoder)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.decoder = _mlp((hidden, (hidden + own_vocab) // 2, own_vocab), batch_norm)

    def forward(self, own: Tensor, other: Tensor, inputs: Mapping[str, Tensor],
                state: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Log-probabilities ``(B, T, own_vocab)`` of the next tokens and the LSTM state."""
        parts = [self.own(own)]
        if self.other is not None:
            parts.append(self.other(other))
        if self.barpos is not None:
            parts.append(self.barpos(inputs["barpos"]))
        if self.chord is not None:
            if "chord" in self.conditioning:
                parts.append(self.chord(inputs["chord_root"], inputs["chord_pcs"]))
            if "next-chord" in self.conditioning:
                parts.append(self.chord(inputs["next_root"], inputs["next_pcs"]))
        h, state = self.lstm(self.encoder(torch.cat(parts, dim=-1)), state)
        return torch.log_softmax(self.decoder(h), dim=-1), state


State = tuple[tuple["Tensor", "Tensor"] | None, tuple["Tensor", "Tensor"] | None]


class MelodyRNN(nn.Module):
    """The Pitch-RNN and the Duration-RNN of one conditioning combination, in one module.

    Parameters
    ----------
    conditioning : str or list of str
        Any subset of :data:`CONDITIONING` (see :func:`parse_conditioning`).
    hidden : int
        LSTM width and encoder output size [256].
    layers : int
        LSTM layers [2].
    dropout : float
        Dropout between LSTM layers [0.2].
    batch_norm : bool
        Batch normalisation in the encoders and decoders [True].
    meters : list of str, optional
        Meters (``"6/8"``) the model was trained on; generation in another meter is refused.
        ``None``: every meter :func:`mirkit.features.tokens.grid` supports.
    pitch_dim, duration_dim, barpos_dim, chord_roots : int, optional
        Vocabulary sizes (default the token module's: 89, 19, 96, 13).

    Inputs are a mapping with the keys of :data:`INPUT_KEYS`: ``pitch_in`` and
    ``duration_in`` ``(B, T)`` (the previous event's tokens, BOS = vocab size at the start
    of a piece), ``barpos``, ``chord_root``, ``next_root`` ``(B, T)`` int64 and ``chord_pcs``,
    ``next_pcs`` ``(B, T, 12)`` float, all of the event being predicted.
    """

    def __init__(self, *, conditioning: str | Sequence[str] | None = (),
                 hidden: int = DEFAULT_HIDDEN, layers: int = DEFAULT_LAYERS,
                 dropout: float = DEFAULT_DROPOUT, batch_norm: bool = True,
                 meters: Sequence[str] | None = None, pitch_dim: int | None = None,
                 duration_dim: int | None = None, barpos_dim: int | None = None,
                 chord_roots: int | None = None) -> None:
        super().__init__()
        cond = parse_conditioning(conditioning)
        for name, value, low in (("hidden", hidden, 1), ("layers", layers, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(f"model.{name} = {value!r}: give a whole number >= {low}")
        if not isinstance(dropout, int | float) or not 0 <= dropout < 1:
            raise ParameterError(f"model.dropout = {dropout!r}: give a number in [0, 1)")
        if not isinstance(batch_norm, bool):
            raise ParameterError(f"model.batch_norm = {batch_norm!r}: give true or false")
        dims = {"pitch_dim": T.PITCH_DIM if pitch_dim is None else int(pitch_dim),
                "duration_dim": T.DUR_DIM if duration_dim is None else int(duration_dim),
                "barpos_dim": T.BARPOS_DIM if barpos_dim is None else int(barpos_dim),
                "chord_roots": T.CHORD_ROOT_DIM if chord_roots is None else int(chord_roots)}
        meter_list = None if meters is None else [meter_name(meter_tuple(m)) for m in meters]
        self.conditioning = cond
        self.config: dict[str, Any] = {
            "conditioning": list(cond), "hidden": hidden, "layers": layers,
            "dropout": float(dropout), "batch_norm": batch_norm, "meters": meter_list, **dims}
        common: dict[str, Any] = {"conditioning": cond, "hidden": hidden, "layers": layers,
                                  "dropout": float(dropout), "batch_norm": batch_norm,
                                  "barpos_dim": dims["barpos_dim"],
                                  "chord_roots": dims["chord_roots"]}
        self.pitch = StreamRNN(own_vocab=dims["pitch_dim"], other_vocab=dims["duration_dim"],
                               own_embed=EMBED_DIMS["pitch"], other_embed=EMBED_DIMS["duration"],
                               **common)
        self.duration = StreamRNN(own_vocab=dims["duration_dim"], other_vocab=dims["pitch_dim"],
                                  own_embed=EMBED_DIMS["duration"],
                                  other_embed=EMBED_DIMS["pitch"], **common)

    @property
    def pitch_bos(self) -> int:
        return int(self.config["pitch_dim"])

    @property
    def duration_bos(self) -> int:
        return int(self.config["duration_dim"])

    @property
    def meters(self) -> list[str] | None:
        return self.config["meters"]

    def forward(self, inputs: Mapping[str, Tensor], state: State = (None, None)
                ) -> tuple[Tensor, Tensor, State]:
        """Log-probabilities of pitch ``(B, T, pitch_dim)`` and duration ``(B, T,
        duration_dim)`` of every event, and the two LSTM states (to continue a sequence)."""
        p_in, d_in = inputs["pitch_in"], inputs["duration_in"]
        pitch, p_state = self.pitch(p_in, d_in, inputs, state[0])
        duration, d_state = self.duration(d_in, p_in, inputs, state[1])
        return pitch, duration, (p_state, d_state)


def meter_tuple(meter: str | Sequence[int]) -> tuple[int, int]:
    """``"6/8"`` or ``(6, 8)`` -> ``(6, 8)`` (a ParameterError for anything else)."""
    if isinstance(meter, str):
        num, sep, den = meter.strip().partition("/")
        if sep and num.strip().isdigit() and den.strip().isdigit():
            return int(num), int(den)
    elif isinstance(meter, Sequence) and len(meter) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in meter):
        return int(meter[0]), int(meter[1])
    raise ParameterError(f"meter {meter!r} is not a time signature; write it like 4/4 or 6/8")


def meter_name(meter: tuple[int, int]) -> str:
    return f"{meter[0]}/{meter[1]}"


# ---------------------------------------------------------------------- registry
def build(**config: Any) -> MelodyRNN:
    """Architecture factory: ``MelodyRNN(**config)``."""
    return MelodyRNN(**config)


def register() -> None:
    """Register the architecture and the test model (called once by the registry)."""
    from mirkit.models.registry import register_architecture, register_test_model

    register_architecture(ARCH_NAME)(build)
    register_test_model(TEST_MODEL_NAME, arch=ARCH_NAME, config=TEST_CONFIG, task=TASK, seed=0,
                        description="tiny Pitch/Duration-RNN pair (hidden 16, 1 layer, every "
                                    "conditioning) with random weights, for fast tests")
