"""Score inpainting models: MeasureVAE + LatentRNN, and two baselines.

After Pati, Lerch & Hadjeres, "Learning to Traverse Latent Spaces for Musical Score
Inpainting" (ISMIR 2019). A melody is a sequence of measures, each a row of
``ticks_per_bar`` tokens (:mod:`mirkit.features.tokens`: ``START``, ``END``, ``rest``,
``__`` (hold) and one token per MIDI pitch). The task: given ``past`` measures and
``future`` measures around a gap of ``gap`` missing measures, fill the gap.

- :class:`MeasureVAE` encodes one measure with a bidirectional GRU into a Gaussian latent
  ``z`` and decodes it hierarchically: a *beat* GRU unrolled once per beat (its input is
  ``z`` at every beat) sets the initial state and an input projection of a *tick* GRU,
  unrolled ``ticks_per_beat`` times per beat on the previous token.
- :class:`LatentRNN` reads the latents of the past and of the future context with two
  bidirectional GRUs; their final states, concatenated on the feature axis, are the initial
  state of a generation GRU that predicts the gap's latents one measure at a time (input: the
  previous latent, seeded with the last past latent). The MeasureVAE decoder turns them
  into tokens.
- :class:`AnticipationRNN` (baseline, after Hadjeres & Nielsen's Anticipation-RNN): a
  token-level model over the whole window. A *constraint* GRU runs backwards over the window
  with the known tokens and a "no constraint" symbol in the gap; a *token* GRU runs forwards
  on the previous token and the constraint summary of each position.
- :func:`repeat_nearest` (baseline, no weights): every gap measure copies the nearest
  context measure (the past one on a tie).

:class:`InpaintNet` holds the three networks in one module, so a single checkpoint carries
everything inference needs (the networks, the vocabulary range, the meters, the window and
the largest gap); the buffer ``trained`` records which networks have been trained.

Shapes: ``windows`` are ``(batch, window, ticks_per_bar)`` int64 token ids; a gap is given
by ``past`` (measures before it, >= 1) and ``gap`` (its length); logits are
``(batch, gap, ticks_per_bar, vocab_size)``.

Registry contract: :func:`register` (called once by :mod:`mirkit.models.registry`)
registers the architecture ``"inpaint-net"`` and the random-weight test model
``"inpaint-test"``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mirkit.errors import ParameterError

#: Architecture name in the model registry.
ARCH_NAME = "inpaint-net"
#: Task the models serve (the ``inpaint`` subcommand).
TASK = "inpaint"
#: Tiny random-weight model for fast tests.
TEST_MODEL_NAME = "inpaint-test"
#: Fixed token ids of the measure vocabulary (:class:`mirkit.features.tokens.MeasureVocab`).
START, END, REST, HOLD = 0, 1, 2, 3
#: Ids below this are not pitches.
N_SPECIAL = 4
#: Ticks per beat of every supported meter grid (16ths and triplet 8ths in simple meters,
#: 16ths in compound ones).
TICKS_PER_BEAT = 6
#: The networks of :class:`InpaintNet`, in the order of its ``trained`` buffer.
PARTS = ("vae", "latent_rnn", "anticipation")
#: Decoding methods of :meth:`InpaintNet.generate` and the network each needs.
METHODS: dict[str, str | None] = {"latent-rnn": "latent_rnn", "anticipation": "anticipation",
                                  "repeat": None}

#: The paper's sizes (InpaintNet's train_measure_vae.py / train_inpaintnet.py defaults).
PAPER_VAE: dict[str, Any] = {"embedding": 10, "encoder_hidden": 512, "encoder_layers": 2,
                             "z_dim": 256, "decoder_hidden": 512, "decoder_layers": 2,
                             "dropout": 0.5}
PAPER_LATENT_RNN: dict[str, Any] = {"hidden": 512, "layers": 2, "dropout": 0.5}
#: Anticipation-RNN sizes (ours: the InpaintNet paper does not list them).
DEFAULT_ANTICIPATION: dict[str, Any] = {"embedding": 16, "hidden": 256, "layers": 2,
                                        "dropout": 0.2}
#: Defaults of the whole model (paper sizes; 4/4 and 2/2 share the 4-beat grid).
DEFAULT_CONFIG: dict[str, Any] = {
    "vocab": {"low": 55, "high": 84},
    "meters": [[4, 4], [2, 2]],
    "window": 16,
    "max_gap": 6,
    "vae": PAPER_VAE,
    "latent_rnn": PAPER_LATENT_RNN,
    "anticipation": DEFAULT_ANTICIPATION,
}
#: Constructor config of the tiny random-weight test model.
TEST_CONFIG: dict[str, Any] = {
    "vocab": {"low": 55, "high": 84},
    "meters": [[4, 4], [2, 2]],
    "window": 16,
    "max_gap": 6,
    "vae": {"embedding": 4, "encoder_hidden": 8, "encoder_layers": 1, "z_dim": 6,
            "decoder_hidden": 8, "decoder_layers": 1, "dropout": 0.0},
    "latent_rnn": {"hidden": 8, "layers": 1, "dropout": 0.0},
    "anticipation": {"embedding": 4, "hidden": 8, "layers": 1, "dropout": 0.0},
}
#: Bounds of the log-variance of the VAE posterior (keeps exp() finite early in training).
_LOGVAR_RANGE = (-12.0, 6.0)


# --------------------------------------------------------------------------- config


def _positive_int(where: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParameterError(f"model config {where}={value!r}: give a whole number >= {low}")
    return int(value)


def _dropout(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ParameterError(f"model config {where}={value!r}: give a probability in [0, 1)")
    return float(value)


def _section(config: Mapping[str, Any], name: str, defaults: Mapping[str, Any]
             ) -> dict[str, Any]:
    given = config.get(name) or {}
    if not isinstance(given, Mapping):
        raise ParameterError(f"model config {name!r} must be a mapping, not {given!r}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ParameterError(f"model config {name}: unknown key(s) {', '.join(unknown)}; "
                             f"known: {', '.join(defaults)}")
    return {**defaults, **dict(given)}


def meter_beats(meter: Sequence[int]) -> int:
    """Beats per bar of a supported meter's token grid (quarter beats in 2/4, 3/4, 4/4, 2/2;
    dotted-quarter beats in 6/8, 9/8, 12/8); :class:`ParameterError` for other meters."""
    num, den = int(meter[0]), int(meter[1])
    if (num, den) == (2, 2):
        return 4
    if den == 4 and num in (2, 3, 4):
        return num
    if den == 8 and num in (6, 9, 12):
        return num // 3
    raise ParameterError(f"meter {num}/{den} is not supported; supported meters: 2/4, 3/4, "
                         f"4/4, 2/2, 6/8, 9/8, 12/8")


def normalise_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full constructor config of :class:`InpaintNet`: defaults filled in, values checked.

    Raises
    ------
    ParameterError
        An unknown key or a bad value (the message names it).
    """
    given = dict(config or {})
    known = list(DEFAULT_CONFIG)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ParameterError(f"model config: unknown key(s) {', '.join(unknown)}; known: "
                             f"{', '.join(known)}")
    vocab = _section(given, "vocab", DEFAULT_CONFIG["vocab"])
    low = _positive_int("vocab.low", vocab["low"], 0)
    high = _positive_int("vocab.high", vocab["high"], 0)
    if not low < high <= 127:
        raise ParameterError(f"model config vocab: low {low} and high {high} must satisfy "
                             f"0 <= low < high <= 127 (MIDI pitches)")
    meters = given.get("meters", DEFAULT_CONFIG["meters"])
    if (not isinstance(meters, Sequence) or isinstance(meters, str) or not meters
            or not all(isinstance(m, Sequence) and len(m) == 2 for m in meters)):
        raise ParameterError(f"model config meters={meters!r}: give a list of [numerator, "
                             f"denominator] pairs, e.g. [[4, 4], [2, 2]]")
    beats = {meter_beats(m) for m in meters}
    if len(beats) != 1:
        raise ParameterError(f"model config meters={meters!r}: all meters of one model need "
                             f"the same number of beats per bar (e.g. 4/4 with 2/2)")
    window = _positive_int("window", given.get("window", DEFAULT_CONFIG["window"]), 3)
    max_gap = _positive_int("max_gap", given.get("max_gap", DEFAULT_CONFIG["max_gap"]))
    if max_gap > window - 2:
        raise ParameterError(f"model config max_gap={max_gap}: it must leave at least one "
                             f"past and one future measure in the window of {window}")
    vae = _section(given, "vae", PAPER_VAE)
    for key in ("embedding", "encoder_hidden", "encoder_layers", "z_dim", "decoder_hidden",
                "decoder_layers"):
        vae[key] = _positive_int(f"vae.{key}", vae[key])
    vae["dropout"] = _dropout("vae.dropout", vae["dropout"])
    latent = _section(given, "latent_rnn", PAPER_LATENT_RNN)
    for key in ("hidden", "layers"):
        latent[key] = _positive_int(f"latent_rnn.{key}", latent[key])
    latent["dropout"] = _dropout("latent_rnn.dropout", latent["dropout"])
    arnn = _section(given, "anticipation", DEFAULT_ANTICIPATION)
    for key in ("embedding", "hidden", "layers"):
        arnn[key] = _positive_int(f"anticipation.{key}", arnn[key])
    arnn["dropout"] = _dropout("anticipation.dropout", arnn["dropout"])
    return {"vocab": {"low": low, "high": high},
            "meters": [[int(m[0]), int(m[1])] for m in meters], "window": window,
            "max_gap": max_gap, "vae": vae, "latent_rnn": latent, "anticipation": arnn}


def _gru(n_in: int, hidden: int, layers: int, dropout: float, *,
         bidirectional: bool = False) -> nn.GRU:
    return nn.GRU(n_in, hidden, layers, batch_first=True, bidirectional=bidirectional,
                  dropout=dropout if layers > 1 else 0.0)


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None
          ) -> torch.Tensor:
    """Token ids from ``logits`` (..., V): arg-max at temperature 0, else a draw from
    ``softmax(logits / temperature)``."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    drawn = torch.multinomial(flat, 1, generator=generator)
    return drawn.reshape(probs.shape[:-1])


def _ban(logits: torch.Tensor, banned: Sequence[int]) -> torch.Tensor:
    if not banned:
        return logits
    out = logits.clone()
    out[..., list(banned)] = -math.inf
    return out


def _coin(p: float) -> bool:
    """True with probability ``p``: one draw from torch's generator, none at 0 or 1."""
    return p >= 1.0 or (p > 0 and float(torch.rand(())) < p)


# --------------------------------------------------------------------------- MeasureVAE


class MeasureVAE(nn.Module):
    """Variational auto-encoder of one measure of tokens.

    Parameters
    ----------
    vocab_size : int
    n_beats : int
        Beats per measure (the beat GRU's unroll length).
    ticks_per_beat : int
        Tokens per beat (the tick GRU's unroll length).
    embedding, encoder_hidden, encoder_layers, z_dim, decoder_hidden, decoder_layers : int
    dropout : float
        Between stacked GRU layers.
    """

    def __init__(self, vocab_size: int, *, n_beats: int, ticks_per_beat: int = TICKS_PER_BEAT,
                 embedding: int, encoder_hidden: int, encoder_layers: int, z_dim: int,
                 decoder_hidden: int, decoder_layers: int, dropout: float) -> None:
        super().__init__()
        self.vocab_size, self.n_beats, self.ticks_per_beat = vocab_size, n_beats, ticks_per_beat
        self.z_dim, self.decoder_layers, self.decoder_hidden = z_dim, decoder_layers, decoder_hidden
        self.embed = nn.Embedding(vocab_size, embedding)
        self.encoder = _gru(embedding, encoder_hidden, encoder_layers, dropout,
                            bidirectional=True)
        summary = 2 * encoder_layers * encoder_hidden
        self.to_mean = nn.Sequential(nn.Linear(summary, 2 * encoder_hidden), nn.SELU(),
                                     nn.Linear(2 * encoder_hidden, z_dim))
        self.to_logvar = nn.Sequential(nn.Linear(summary, 2 * encoder_hidden), nn.SELU(),
                                       nn.Linear(2 * encoder_hidden, z_dim))
        projection = max(1, decoder_hidden // 4)
        self.z_to_beat = nn.Sequential(nn.Linear(z_dim, decoder_layers * decoder_hidden),
                                       nn.SELU())
        self.beat_rnn = _gru(z_dim, decoder_hidden, decoder_layers, dropout)
        self.beat_to_tick_state = nn.Sequential(
            nn.Linear(decoder_hidden, decoder_layers * decoder_hidden), nn.SELU())
        self.beat_to_tick_input = nn.Sequential(nn.Linear(decoder_hidden, projection), nn.SELU())
        self.tick_rnn = _gru(embedding + projection, decoder_hidden, decoder_layers, dropout)
        self.out = nn.Linear(decoder_hidden, vocab_size)

    @property
    def ticks_per_bar(self) -> int:
        return self.n_beats * self.ticks_per_beat

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each ``(n, z_dim)``, of ``tokens`` ``(n, T)``."""
        _, h = self.encoder(self.embed(tokens))          # (layers * 2, n, hidden)
        summary = h.transpose(0, 1).reshape(tokens.shape[0], -1)
        logvar = self.to_logvar(summary).clamp(*_LOGVAR_RANGE)
        return self.to_mean(summary), logvar

    def _states(self, h: torch.Tensor, n: int) -> torch.Tensor:
        """``(n, layers * hidden)`` -> GRU state ``(layers, n, hidden)``."""
        return h.reshape(n, self.decoder_layers, self.decoder_hidden).transpose(0, 1).contiguous()

    def _beats(self, z: torch.Tensor) -> torch.Tensor:
        n = z.shape[0]
        h0 = self._states(self.z_to_beat(z), n)
        beats, _ = self.beat_rnn(z.unsqueeze(1).expand(n, self.n_beats, self.z_dim).contiguous(),
                                 h0)
        return beats                                      # (n, beats, hidden)

    def decode(self, z: torch.Tensor, targets: torch.Tensor | None = None, *,
               teacher_forcing: bool = True, temperature: float = 0.0,
               banned: Sequence[int] = (), generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode latents ``z`` ``(n, z_dim)`` into logits ``(n, T, V)`` and tokens ``(n, T)``.

        With ``targets`` and ``teacher_forcing`` every tick is fed the previous *target*
        token (all beats in one pass; the returned tokens are the targets); otherwise the
        previous *decoded* token, drawn by :func:`_pick` at ``temperature`` (0: arg-max)
        with the ``banned`` ids excluded. The first tick's previous token is ``START``
        (measures are decoded independently of each other).
        """
        n = z.shape[0]
        beats = self._beats(z)
        states = self.beat_to_tick_state(beats)           # (n, beats, layers * hidden)
        inputs = self.beat_to_tick_input(beats)           # (n, beats, projection)
        first = torch.full((n,), START, dtype=torch.long, device=z.device)
        nb, tpb = self.n_beats, self.ticks_per_beat
        if targets is not None and teacher_forcing:
            previous = torch.cat([first[:, None], targets[:, :-1]], dim=1)
            x = torch.cat([self.embed(previous).reshape(n * nb, tpb, -1),
                           inputs.reshape(n * nb, 1, -1).expand(n * nb, tpb, inputs.shape[-1])],
                          dim=-1)
            h0 = self._states(states.reshape(n * nb, -1), n * nb)
            out, _ = self.tick_rnn(x, h0)
            logits = self.out(out).reshape(n, nb * tpb, -1)
            return logits, targets
        all_logits, tokens = [], []
        prev = first
        for b in range(nb):
            h = self._states(states[:, b], n)
            for _ in range(tpb):
                x = torch.cat([self.embed(prev), inputs[:, b]], dim=-1).unsqueeze(1)
                out, h = self.tick_rnn(x, h)
                logit = self.out(out[:, 0])
                all_logits.append(logit)
                prev = _pick(_ban(logit, banned), temperature, generator)
                tokens.append(prev)
        return torch.stack(all_logits, 1), torch.stack(tokens, 1)

    def forward(self, tokens: torch.Tensor, *, teacher_forcing: bool = True,
                sample: bool = True) -> dict[str, torch.Tensor]:
        """Reconstruct ``tokens`` ``(n, T)``: ``logits`` ``(n, T, V)``, ``mean``, ``logvar``."""
        mean, logvar = self.encode(tokens)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar) if sample else mean
        logits, _ = self.decode(z, tokens, teacher_forcing=teacher_forcing)
        return {"logits": logits, "mean": mean, "logvar": logvar}


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)), summed over the latent axis, averaged over rows."""
    return (0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)).mean()


# --------------------------------------------------------------------------- LatentRNN


class LatentRNN(nn.Module):
    """Predict the latents of a gap from the latents of its past and future context.

    Parameters
    ----------
    z_dim : int
        The MeasureVAE's latent size.
    hidden : int
        Hidden size of the context GRUs; the generation GRU has ``2 * hidden``.
    layers : int
    dropout : float
    """

    def __init__(self, *, z_dim: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.z_dim, self.hidden, self.layers = z_dim, hidden, layers
        self.past_rnn = _gru(z_dim, hidden, layers, dropout, bidirectional=True)
        self.future_rnn = _gru(z_dim, hidden, layers, dropout, bidirectional=True)
        self.gen_rnn = _gru(z_dim, 2 * hidden, layers, dropout, bidirectional=True)
        self.out = nn.Linear(4 * hidden, z_dim)

    def context(self, z_past: torch.Tensor, z_future: torch.Tensor) -> torch.Tensor:
        """Initial generation state ``(2 layers, batch, 2 hidden)`` from the context latents
        ``(batch, past, z_dim)`` and ``(batch, future, z_dim)``."""
        _, hp = self.past_rnn(z_past)
        _, hf = self.future_rnn(z_future)
        return torch.cat([hp, hf], dim=-1).contiguous()

    def step(self, z_in: torch.Tensor, state: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """One generation step: the next latent ``(batch, z_dim)`` and the new state."""
        out, state = self.gen_rnn(z_in.unsqueeze(1), state)
        return self.out(out[:, 0]), state


# --------------------------------------------------------------------------- Anticipation-RNN


class AnticipationRNN(nn.Module):
    """Token-level inpainting baseline conditioned on the known tokens (constraints).

    Parameters
    ----------
    vocab_size : int
    embedding, hidden, layers : int
    dropout : float
    """

    def __init__(self, vocab_size: int, *, embedding: int, hidden: int, layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.free = vocab_size                            # the "no constraint" symbol
        self.token_embed = nn.Embedding(vocab_size, embedding)
        self.constraint_embed = nn.Embedding(vocab_size + 1, embedding)
        self.constraint_rnn = _gru(embedding, hidden, layers, dropout)
        self.token_rnn = _gru(embedding + hidden, hidden, layers, dropout)
        self.out = nn.Linear(hidden, vocab_size)

    def constraints(self, constraints: torch.Tensor) -> torch.Tensor:
        """Summary ``(batch, n, hidden)`` of the constraints at positions ``t..n-1`` for each
        ``t`` (the GRU runs backwards), from constraint ids ``(batch, n)``."""
        out, _ = self.constraint_rnn(self.constraint_embed(constraints).flip(1))
        return out.flip(1)

    def step(self, previous: torch.Tensor, summary: torch.Tensor,
             state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(batch, k, V)`` for ``k`` positions given their previous tokens
        ``(batch, k)`` and constraint summaries ``(batch, k, hidden)``; and the new state."""
        out, state = self.token_rnn(torch.cat([self.token_embed(previous), summary], -1), state)
        return self.out(out), state


# --------------------------------------------------------------------------- repeat baseline


def nearest_context(past: int, gap: int, window: int) -> list[int]:
    """For each gap measure ``past .. past+gap-1``, the index of the nearest context measure
    (a past one on a tie)."""
    out = []
    for j in range(past, past + gap):
        before, after = j - (past - 1), (past + gap) - j
        out.append(past - 1 if before <= after or past + gap >= window else past + gap)
    return out


def repeat_nearest(windows: torch.Tensor, past: int, gap: int) -> torch.Tensor:
    """The repeat baseline: tokens ``(batch, gap, T)`` copying the nearest context measure."""
    index = nearest_context(past, gap, windows.shape[1])
    return windows[:, index].clone()


# --------------------------------------------------------------------------- whole model


class InpaintNet(nn.Module):
    """MeasureVAE, LatentRNN and Anticipation-RNN of one vocabulary and meter grid.

    Parameters are the keys of :data:`DEFAULT_CONFIG` (see :func:`normalise_config`):
    ``vocab`` ({low, high} MIDI range), ``meters`` (list of [num, den], one beat grid),
    ``window`` (measures per training window), ``max_gap`` and one mapping per network.
    """

    trained: torch.Tensor

    def __init__(self, **config: Any) -> None:
        super().__init__()
        cfg = normalise_config(config)
        self.config = cfg
        self.low, self.high = cfg["vocab"]["low"], cfg["vocab"]["high"]
        self.vocab_size = N_SPECIAL + self.high - self.low + 1
        self.meters = [tuple(m) for m in cfg["meters"]]
        self.n_beats = meter_beats(self.meters[0])
        self.ticks_per_bar = self.n_beats * TICKS_PER_BEAT
        self.window, self.max_gap = cfg["window"], cfg["max_gap"]
        self.vae = MeasureVAE(self.vocab_size, n_beats=self.n_beats, **cfg["vae"])
        self.latent_rnn = LatentRNN(z_dim=cfg["vae"]["z_dim"], **cfg["latent_rnn"])
        self.anticipation = AnticipationRNN(self.vocab_size, **cfg["anticipation"])
        self.register_buffer("trained", torch.zeros(len(PARTS), dtype=torch.uint8))
        self.frozen: set[str] = set()

    # ---- training helpers ------------------------------------------------------------

    def mark_trained(self, *parts: str) -> None:
        """Record that ``parts`` (names of :data:`PARTS`) hold trained weights."""
        for part in parts:
            self.trained[PARTS.index(part)] = 1

    def is_trained(self, part: str) -> bool:
        return bool(self.trained[PARTS.index(part)])

    def freeze(self, *parts: str) -> None:
        """Stop training ``parts``: no gradients, and kept in eval mode (no dropout)."""
        for part in parts:
            self.frozen.add(part)
            for p in getattr(self, part).parameters():
                p.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> InpaintNet:
        super().train(mode)
        for part in self.frozen:
            getattr(self, part).eval()
        return self

    # ---- shared pieces ---------------------------------------------------------------

    def _check_gap(self, windows: torch.Tensor, past: int, gap: int) -> None:
        if windows.dim() != 3 or windows.shape[2] != self.ticks_per_bar:
            raise ParameterError(f"windows must have shape (batch, measures, "
                                 f"{self.ticks_per_bar}), not {tuple(windows.shape)}")
        if not (1 <= gap and 1 <= past and past + gap < windows.shape[1]):
            raise ParameterError(f"a gap of {gap} after {past} measures needs at least one "
                                 f"measure on each side in a window of {windows.shape[1]}")

    def context_latents(self, windows: torch.Tensor, *, noise: float = 0.0,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        """Latents ``(batch, measures, z_dim)`` of every measure: the posterior mean plus
        ``noise`` times its standard deviation times a standard normal draw."""
        b, w, t = windows.shape
        mean, logvar = self.vae.encode(windows.reshape(b * w, t))
        if noise > 0:
            eps = torch.randn(mean.shape, generator=generator, device=mean.device,
                              dtype=mean.dtype)
            mean = mean + noise * eps * torch.exp(0.5 * logvar)
        return mean.reshape(b, w, -1)

    # ---- LatentRNN -------------------------------------------------------------------

    def latent_logits(self, windows: torch.Tensor, past: int, gap: int, *,
                      teacher_forcing: float = 1.0, noise: float = 0.0,
                      decoder_teacher_forcing: bool = True) -> torch.Tensor:
        """Decoder logits ``(batch, gap, T, V)`` of the gap, scored on the true tokens.

        The gap's latents come from the LatentRNN. With probability ``teacher_forcing``
        (one draw per call, the paper's) its input at each step is the *true* previous
        latent (encoder mean), otherwise its own previous output: the re-encoded decoded
        measure when the decoder runs free, else the predicted latent itself.
        ``decoder_teacher_forcing``: the decoder is fed the true previous tokens, so
        ``-log softmax`` at the true tokens is the model's likelihood of the gap; without
        it the decoder feeds back its own arg-max tokens (the paper's LatentRNN training and
        test).
        """
        self._check_gap(windows, past, gap)
        return self._latent_steps(windows, past, gap, teacher_forcing=teacher_forcing,
                                  decoder_teacher_forcing=decoder_teacher_forcing,
                                  temperature=0.0, noise=noise, generator=None)[0]

    def _latent_free(self, windows: torch.Tensor, past: int, gap: int, *, temperature: float,
                     generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`_latent_steps` with no teacher forcing at all (inpainting): logits and the
        decoded tokens; the context latents get ``temperature`` times a posterior draw."""
        logits, tokens = self._latent_steps(windows, past, gap, teacher_forcing=0.0,
                                            decoder_teacher_forcing=False,
                                            temperature=temperature, noise=temperature,
                                            generator=generator)
        if tokens is None:                  # cannot happen: the decoder runs free
            raise ParameterError("the LatentRNN decoded no tokens")
        return logits, tokens

    def _latent_steps(self, windows: torch.Tensor, past: int, gap: int, *,
                      teacher_forcing: float, decoder_teacher_forcing: bool,
                      temperature: float, noise: float, generator: torch.Generator | None
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The LatentRNN over the gap: decoder logits ``(batch, gap, T, V)`` and, when the
        decoder runs free, the decoded tokens ``(batch, gap, T)`` (else None).

        The true previous latents are the inputs with probability ``teacher_forcing`` (one
        draw, after the context latents); otherwise the re-encoded decoded measure (free
        decoder, tokens drawn by :func:`_pick` at ``temperature`` with ``START``/``END``
        excluded) or the predicted latent (teacher-forced decoder).
        """
        z = self.context_latents(windows, noise=noise, generator=generator)
        state = self.latent_rnn.context(z[:, :past], z[:, past + gap:])
        use_true = _coin(teacher_forcing)
        z_in = z[:, past - 1]
        all_logits, decoded = [], []
        for k in range(gap):
            z_next, state = self.latent_rnn.step(z_in, state)
            if decoder_teacher_forcing:
                logits, _ = self.vae.decode(z_next, windows[:, past + k])
                z_in = z[:, past + k] if use_true else z_next
            else:
                logits, tokens = self.vae.decode(z_next, teacher_forcing=False,
                                                 temperature=temperature, banned=(START, END),
                                                 generator=generator)
                decoded.append(tokens)
                if use_true:
                    z_in = z[:, past + k]
                else:
                    with torch.no_grad():
                        z_in, _ = self.vae.encode(tokens)
            all_logits.append(logits)
        return torch.stack(all_logits, 1), (torch.stack(decoded, 1) if decoded else None)

    # ---- Anticipation-RNN ------------------------------------------------------------

    def _constraints(self, windows: torch.Tensor, past: int, gap: int) -> torch.Tensor:
        b, _, t = windows.shape
        cons = windows.clone()
        cons[:, past:past + gap] = self.anticipation.free
        return cons.reshape(b, -1)

    def anticipation_logits(self, windows: torch.Tensor, past: int, gap: int) -> torch.Tensor:
        """Anticipation-RNN logits ``(batch, gap, T, V)`` of the gap given the true previous
        tokens and the constraints (every known token of the window)."""
        self._check_gap(windows, past, gap)
        b, _, t = windows.shape
        summary = self.anticipation.constraints(self._constraints(windows, past, gap))
        flat = windows.reshape(b, -1)
        stop = (past + gap) * t
        previous = torch.cat([torch.full((b, 1), START, dtype=flat.dtype, device=flat.device),
                              flat[:, :stop - 1]], dim=1)
        logits, _ = self.anticipation.step(previous, summary[:, :stop], None)
        return logits[:, past * t:stop].reshape(b, gap, t, -1)

    # ---- scoring and generation ------------------------------------------------------

    def gap_logits(self, method: str, windows: torch.Tensor, past: int, gap: int
                   ) -> torch.Tensor:
        """Log-probabilities ``(batch, gap, T, V)`` of ``method`` for the gap (teacher
        forced; ``repeat`` has none: use :func:`repeat_log_probs`)."""
        if method == "latent-rnn":
            return torch.log_softmax(self.latent_logits(windows, past, gap).float(), -1)
        if method == "anticipation":
            return torch.log_softmax(self.anticipation_logits(windows, past, gap).float(), -1)
        raise ParameterError(f"method {method!r} has no logits; choose latent-rnn or "
                             f"anticipation")

    def check_method(self, method: str) -> None:
        """:class:`ParameterError` for an unknown method or one whose network is untrained."""
        if method not in METHODS:
            raise ParameterError(f"method {method!r} is not known; choose one of "
                                 f"{', '.join(METHODS)}")
        part = METHODS[method]
        if part is None:
            return
        needs = ["vae", part] if part == "latent_rnn" else [part]
        missing = [p for p in needs if not self.is_trained(p)]
        if missing:
            raise ParameterError(f"method {method!r} needs a trained {' and '.join(missing)}, "
                                 f"which this model does not have; train it with `mirkit "
                                 f"train inpaint` (stages vae, latent-rnn, anticipation)")

    def _anticipation_run(self, windows: torch.Tensor, past: int, gap: int, *,
                          temperature: float, generator: torch.Generator | None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """The Anticipation-RNN's free-running inpainting: token by token, each drawn at
        ``temperature`` (``START``/``END`` excluded) and fed back; logits and tokens."""
        b, _, t = windows.shape
        arnn = self.anticipation
        summary = arnn.constraints(self._constraints(windows, past, gap))
        flat = windows.reshape(b, -1)
        start = past * t
        previous = torch.cat([torch.full((b, 1), START, dtype=flat.dtype, device=flat.device),
                              flat[:, :start - 1]], dim=1)
        _, state = arnn.step(previous, summary[:, :start], None)
        prev = flat[:, start - 1]
        all_logits, drawn = [], []
        for pos in range(start, start + gap * t):
            logits, state = arnn.step(prev[:, None], summary[:, pos:pos + 1], state)
            all_logits.append(logits[:, 0])
            prev = _pick(_ban(logits[:, 0], (START, END)), temperature, generator)
            drawn.append(prev)
        return (torch.stack(all_logits, 1).reshape(b, gap, t, -1),
                torch.stack(drawn, 1).reshape(b, gap, t))

    @torch.no_grad()
    def inpaint_logits(self, method: str, windows: torch.Tensor, past: int, gap: int
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """The paper's objective test: log-probabilities ``(batch, gap, T, V)`` and tokens
        ``(batch, gap, T)`` of a deterministic (arg-max) inpainting.

        Each model fills the gap from the context alone, feeding back its own arg-max
        choices (``latent-rnn``: context latents are posterior means; each decoded measure is
        re-encoded to form the next input); the log-probabilities are those it assigned
        along the way, so ``-log_probs`` at the true tokens is the cross-entropy of the
        inpainting. ``repeat`` has none: use :func:`repeat_log_probs`.
        """
        self._check_gap(windows, past, gap)
        if method == "latent-rnn":
            logits, tokens = self._latent_free(windows, past, gap, temperature=0.0,
                                               generator=None)
        elif method == "anticipation":
            logits, tokens = self._anticipation_run(windows, past, gap, temperature=0.0,
                                                    generator=None)
        else:
            raise ParameterError(f"method {method!r} has no logits; choose latent-rnn or "
                                 f"anticipation")
        return torch.log_softmax(logits.float(), -1), tokens

    @torch.no_grad()
    def generate(self, method: str, windows: torch.Tensor, past: int, gap: int, *,
                 temperature: float = 1.0, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Fill the gap: tokens ``(batch, gap, T)`` (``START``/``END`` never generated).

        ``latent-rnn``: the context latents are the posterior means plus ``temperature``
        times a posterior draw; the LatentRNN's input after each measure is the re-encoded
        decoded measure; the decoder draws each token from ``softmax(logits / temperature)``
        (arg-max at 0). ``anticipation``: token by token at ``temperature``. ``repeat``:
        deterministic.
        """
        self._check_gap(windows, past, gap)
        if method == "repeat":
            return repeat_nearest(windows, past, gap)
        if method == "latent-rnn":
            return self._latent_free(windows, past, gap, temperature=temperature,
                                     generator=generator)[1]
        if method == "anticipation":
            return self._anticipation_run(windows, past, gap, temperature=temperature,
                                          generator=generator)[1]
        raise ParameterError(f"method {method!r} is not known; choose one of "
                             f"{', '.join(METHODS)}")

    def forward(self, windows: torch.Tensor, past: int, gap: int, *, stage: str,
                teacher_forcing: float = 0.5, noise: float = 1.0,
                decoder_teacher_forcing: float = 0.0) -> dict[str, torch.Tensor]:
        """Training pass of ``stage`` (``vae``, ``latent-rnn`` or ``anticipation``).

        ``vae``: reconstruct every measure of the windows (teacher forcing with probability
        ``teacher_forcing`` for the whole batch); returns ``logits`` ``(n, T, V)``,
        ``targets``, ``mean`` and ``logvar``. The other stages return the gap's ``logits``
        ``(batch, gap, T, V)`` and ``targets`` ``(batch, gap, T)``; ``latent-rnn`` feeds its
        decoder the true previous tokens with probability ``decoder_teacher_forcing`` for
        the whole batch (see :meth:`latent_logits`).
        """
        if stage == "vae":
            flat = windows.reshape(-1, windows.shape[-1])
            out = self.vae(flat, teacher_forcing=_coin(teacher_forcing), sample=True)
            return {**out, "targets": flat}
        targets = windows[:, past:past + gap]
        if stage == "latent-rnn":
            logits = self.latent_logits(windows, past, gap, teacher_forcing=teacher_forcing,
                                        noise=noise,
                                        decoder_teacher_forcing=_coin(decoder_teacher_forcing))
        elif stage == "anticipation":
            logits = self.anticipation_logits(windows, past, gap)
        else:
            raise ParameterError(f"stage {stage!r} is not one of vae, latent-rnn, anticipation")
        return {"logits": logits, "targets": targets}


def repeat_log_probs(windows: torch.Tensor, past: int, gap: int, *, vocab_size: int,
                     eps: float) -> torch.Tensor:
    """Log-probabilities ``(batch, gap, T, V)`` of the repeat baseline: ``1 - eps`` on the
    copied token plus ``eps`` spread uniformly over the vocabulary."""
    if not 0 < eps < 1:
        raise ParameterError(f"eps {eps!r} must lie strictly between 0 and 1")
    copied = repeat_nearest(windows, past, gap)
    probs = torch.full((*copied.shape, vocab_size), eps / vocab_size, dtype=torch.float64,
                       device=windows.device)
    probs.scatter_add_(-1, copied[..., None],
                       torch.full((*copied.shape, 1), 1.0 - eps, dtype=torch.float64,
                                  device=windows.device))
    return probs.log()


def token_scores(log_probs: torch.Tensor, targets: torch.Tensor) -> tuple[float, int, int]:
    """(summed negative log-likelihood in nats, correct arg-max tokens, tokens) of
    ``log_probs`` ``(..., V)`` against ``targets`` ``(...)``."""
    lp = log_probs.reshape(-1, log_probs.shape[-1])
    tg = targets.reshape(-1)
    nll = -lp.gather(1, tg[:, None]).sum()
    correct = (lp.argmax(-1) == tg).sum()
    return float(nll), int(correct), int(tg.numel())


def build(**config: Any) -> InpaintNet:
    """Architecture factory registered as :data:`ARCH_NAME`."""
    return InpaintNet(**config)


def register() -> None:
    """Register the architecture and the test model (called once by the registry)."""
    from mirkit.models.registry import register_architecture, register_test_model

    register_architecture(ARCH_NAME)(build)
    register_test_model(TEST_MODEL_NAME, arch=ARCH_NAME, config=copy.deepcopy(TEST_CONFIG),
                        task=TASK, seed=0,
                        description="tiny MeasureVAE + LatentRNN + Anticipation-RNN (hidden 8) "
                                    "with random weights, for fast tests")


__all__ = ["ARCH_NAME", "DEFAULT_CONFIG", "METHODS", "PAPER_LATENT_RNN", "PAPER_VAE", "PARTS",
           "TASK", "TEST_CONFIG", "TEST_MODEL_NAME", "AnticipationRNN", "InpaintNet",
           "LatentRNN", "MeasureVAE", "build", "kl_divergence", "meter_beats",
           "nearest_context", "normalise_config", "register", "repeat_log_probs",
           "repeat_nearest", "token_scores"]
