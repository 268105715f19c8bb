"""Multitask pianoroll U-Net for multi-instrument transcription, with an onset head.

After Hung, Chen & Yang, "Multitask learning for frame-level instrument recognition"
(ICASSP 2019): a log-CQT goes through a convolutional U-Net whose main output is the
pianoroll (instrument class x 88 keys x frames). The pitch roll and the instrument roll
are *derived* from it, and each of the three gets its own binary cross-entropy, so the roll
is trained by all three. An onset head (the onsets-and-frames idea) marks note starts so
that the note decoder can segment repeated notes.

Shapes (``K`` classes, ``B`` CQT bins = 88 x bins per semitone, ``T`` frames):

- input: ``(batch, B, T)`` log-CQT (:meth:`TranscriptionUNet.frontend` computes it from
  audio), standardised per bin with the stored ``feature_mean`` / ``feature_std`` buffers
  (identity until :meth:`TranscriptionUNet.set_feature_stats` is called); with
  ``harmonics`` the CQT reaches further up (``n_input_bins`` bins, at most to Nyquist) and
  the model stacks it as one input channel per harmonic (a harmonic CQT, below);
- outputs, all logits: ``roll`` and ``onset`` ``(batch, K, 88, T)``, ``pitch``
  ``(batch, 88, T)``, ``instrument`` ``(batch, K, T)``.

Pitch and instrument logits are pooled from the roll logits. With ``pool="max"`` (default)
``pitch = max over pitched classes`` and ``instrument = max over keys``: the sigmoid is
monotonic, so the maximum of the logits *is* the logit of the maximum probability, exact and
free of overflow; the gradient reaches the arg-max entry only (multiple-instance learning).
``pool="noisy_or"`` uses ``P = 1 - prod(1 - p_i)`` instead, computed in log space
(``log(1-P) = -sum softplus(l_i)``), which passes gradient to every entry. Drum classes are
left out of the pitch pooling, as :func:`mirkit.features.pianoroll.notes_to_labels` leaves
them out of the pitch roll.

Harmonic stacking (``harmonics``, after Bittner et al.'s HCQT, as in basic-pitch): input
channel ``j`` holds, at key ``k``, the CQT bin ``harmonics[j]`` times the key's frequency
(rounded to the nearest bin), so a 3x3 convolution at full resolution sees each key's
harmonic amplitudes, the cue that tells timbres apart; bins above the Nyquist frequency
are zeros (after standardisation). ``harmonics=(1,)`` (the default) is the paper's input.
:meth:`TranscriptionUNet.grow_from` starts a harmonic model from the weights of a plain one
with the new channels' weights at zero, so it computes exactly what the plain one did.

Registry contract: the registry (:mod:`mirkit.models.registry`) imports this module on
first use and calls :func:`register`, which registers the architecture factory
:func:`build` under ``"transcription-unet"`` and the tiny random-weight test model
``"transcribe-unet-test"``. Nothing is registered at import time, so this module imports
without the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mirkit.data.instruments import BY_NAME, CLASSES
from mirkit.errors import InputError, ParameterError
from mirkit.features.spectral import LogCQT, cqt_max_bins, semitone_layout
from mirkit.models import transcription_constants as C

Pool = Literal["max", "noisy_or"]
Reduction = Literal["mean", "frame"]

#: Initial bias of the roll and onset logits: most cells are silent, so the model starts
#: from a small prior probability (sigmoid(-4) ~ 1.8 %) instead of 50 %.
_ROLL_BIAS = -4.0
_ONSET_BIAS = -5.0


class _ResBlock(nn.Module):
    """3x3 conv, BN, leaky ReLU, 3x3 conv, BN, plus a 1x1 projection of the input; leaky ReLU."""

    def __init__(self, c_in: int, c_out: int, slope: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.proj = nn.Conv2d(c_in, c_out, 1)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.bn1(self.conv1(x)), self.slope)
        return F.leaky_relu(self.bn2(self.conv2(h)) + self.proj(x), self.slope)


class _ConvBNAct(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, slope: float) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.LeakyReLU(slope))


def _init_bias(conv: nn.Conv2d, value: float) -> None:
    if conv.bias is not None:
        nn.init.constant_(conv.bias, value)


def _default_drums(n_classes: int) -> tuple[int, ...]:
    if n_classes != len(CLASSES):
        return ()
    return tuple(i for i, name in enumerate(CLASSES) if BY_NAME[name].is_drum)


def pool_logits(logits: torch.Tensor, dim: int, *, pool: Pool = "max") -> torch.Tensor:
    """Logit of "any of the entries along ``dim`` is on" (see the module docstring).

    ``"max"``: ``logits.amax(dim)``. ``"noisy_or"``: ``logit(1 - prod_i sigmoid(-l_i))``,
    computed as ``log(-expm1(s)) - s`` with ``s = -sum_i softplus(l_i)``.
    """
    if pool == "max":
        return logits.amax(dim=dim)
    if pool == "noisy_or":
        s = -F.softplus(logits).sum(dim=dim)                 # log(1 - P), <= 0
        s = torch.clamp(s, max=-torch.finfo(s.dtype).tiny)   # keep log(-expm1(s)) finite
        return torch.log(-torch.expm1(s)) - s
    raise ParameterError(f"pool {pool!r} is not one of 'max', 'noisy_or'")


class TranscriptionUNet(nn.Module):
    """The multitask pianoroll U-Net (see the module docstring for shapes and outputs).

    Parameters
    ----------
    n_classes : int
        Instrument classes (the class axis; :data:`mirkit.data.instruments.CLASSES` by
        default).
    n_bins : int
        CQT bins of the input: 88 times the bins per semitone (see
        :func:`mirkit.features.spectral.semitone_layout`). With more than one bin per
        semitone, a strided ``(b, 1)`` convolution maps the frequency axis to the 88 keys.
    base_channels : int
        Channels of the first level; level ``i`` has ``base_channels * 2**i``.
    depth : int
        Levels of the U-Net, each halving frequency and time with a 2x2 stride-2 conv;
        inputs are zero-padded to multiples of ``2**depth`` and the outputs cropped back.
    onset_head : bool
        Add the ``onset`` output.
    drum_classes : sequence of int, optional
        Class indices left out of the pitch pooling (default: the drum classes of
        :data:`CLASSES` when ``n_classes`` matches it, else none).
    pool : {"max", "noisy_or"}
        How ``pitch`` and ``instrument`` are pooled from the roll.
    input_skip : bool
        Also concatenate the full-resolution encoder features into the last decoder block
        (the paper's skips start at half resolution; this keeps frame-exact detail).
    leaky_slope : float
    sr, hop : int
        Sample rate and hop of the input features (used by :meth:`frontend`).
    compression : dict, optional
        :func:`mirkit.features.spectral.log_compress` options of the input features
        (default :data:`mirkit.models.transcription_constants.COMPRESSION`).
    harmonics : sequence of float
        Harmonic-stacked input (see the module docstring); must contain 1. The default
        ``(1,)`` is the single-channel CQT (and is left out of ``config``).
    """

    pitched: torch.Tensor
    feature_mean: torch.Tensor
    feature_std: torch.Tensor

    def __init__(self, *, n_classes: int = len(CLASSES), n_bins: int = C.N_KEYS,
                 base_channels: int = C.BASE_CHANNELS, depth: int = C.DEPTH,
                 onset_head: bool = True, drum_classes: Sequence[int] | None = None,
                 pool: Pool = "max", input_skip: bool = True,
                 leaky_slope: float = C.LEAKY_SLOPE, sr: int = C.SAMPLE_RATE,
                 hop: int = C.HOP, compression: Mapping[str, Any] | None = None,
                 harmonics: Sequence[float] = (1.0,)) -> None:
        super().__init__()
        if n_classes < 1:
            raise ParameterError(f"n_classes {n_classes} must be >= 1")
        if n_bins < C.N_KEYS or n_bins % C.N_KEYS:
            raise ParameterError(f"n_bins {n_bins} must be a multiple of {C.N_KEYS} (88 keys "
                                 f"times the CQT bins per semitone)")
        if base_channels < 1 or depth < 1:
            raise ParameterError(f"base_channels {base_channels} and depth {depth} must be >= 1")
        if pool not in ("max", "noisy_or"):
            raise ParameterError(f"pool {pool!r} is not one of 'max', 'noisy_or'")
        drums = _default_drums(n_classes) if drum_classes is None else tuple(
            int(i) for i in drum_classes)
        if any(not 0 <= i < n_classes for i in drums):
            raise ParameterError(f"drum_classes {list(drums)} must lie in 0..{n_classes - 1}")
        pitched = [i for i in range(n_classes) if i not in drums]
        if not pitched:
            raise ParameterError("every class is a drum class: the pitch roll would be empty")
        harm = [float(h) for h in harmonics]
        if (not harm or 1.0 not in harm or len(set(harm)) != len(harm)
                or any(not np.isfinite(h) or h <= 0 for h in harm)):
            raise ParameterError(f"harmonics {harm} must be distinct positive numbers that "
                                 f"include 1")
        self.config: dict[str, Any] = {
            "n_classes": n_classes, "n_bins": n_bins, "base_channels": base_channels,
            "depth": depth, "onset_head": onset_head, "drum_classes": list(drums),
            "pool": pool, "input_skip": input_skip, "leaky_slope": leaky_slope, "sr": sr,
            "hop": hop, "compression": dict(C.COMPRESSION if compression is None
                                            else compression)}
        if harm != [1.0]:
            self.config["harmonics"] = harm
        self.n_classes, self.n_bins, self.depth = n_classes, n_bins, depth
        self.bins_per_semitone = n_bins // C.N_KEYS
        self.harmonics = harm
        bpo = 12 * self.bins_per_semitone
        #: bin offset of each harmonic from its key, and of the keys in the stacked axis
        self.harmonic_shifts = [int(round(bpo * np.log2(h))) for h in harm]
        self.key_offset = -min(0, *self.harmonic_shifts)
        #: bins the frontend computes (and the model takes): up to Nyquist at most
        fmin, _, _ = self._layout()
        wanted = self.key_offset + n_bins + max(0, *self.harmonic_shifts)
        self.n_input_bins = min(wanted, cqt_max_bins(sr, fmin, bpo))
        if self.n_input_bins < self.key_offset + n_bins:
            raise ParameterError(f"harmonics {harm}: the keys' own bins would lie above the "
                                 f"Nyquist frequency at sr={sr}")
        self.pool: Pool = pool
        self.input_skip = input_skip
        #: Frame counts are padded to a multiple of this inside :meth:`forward`; chunks that
        #: start at multiples of it see the same downsampling grid as the whole signal.
        self.frame_multiple = 2 ** depth
        self.register_buffer("pitched", torch.tensor(pitched, dtype=torch.long),
                             persistent=False)
        self.register_buffer("feature_mean", torch.zeros(self.n_input_bins))
        self.register_buffer("feature_std", torch.ones(self.n_input_bins))

        ch = [base_channels * 2 ** i for i in range(depth)]
        s = leaky_slope
        self.enc = nn.ModuleList(_ResBlock(len(harm) if i == 0 else ch[i - 1], ch[i], s)
                                 for i in range(depth))
        self.down = nn.ModuleList(nn.Conv2d(c, c, 2, stride=2) for c in ch)
        self.skip = nn.ModuleList(_ConvBNAct(c, c, s) for c in ch[:-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(c, c, 2, stride=2) for c in ch)
        dec = []
        for i in range(depth):
            c_in = ch[i] + (ch[i - 1] if i > 0 else (ch[0] if input_skip else 0))
            dec.append(_ResBlock(c_in, ch[i - 1] if i > 0 else ch[0], s))
        self.dec = nn.ModuleList(dec)
        b = self.bins_per_semitone
        self.to_keys: nn.Module = (nn.Identity() if b == 1 else nn.Sequential(
            nn.Conv2d(ch[0], ch[0], (b, 1), stride=(b, 1)), nn.LeakyReLU(s)))
        self.roll_head = nn.Conv2d(ch[0], n_classes, 1)
        _init_bias(self.roll_head, _ROLL_BIAS)
        self.onset_head: nn.Module | None = None
        if onset_head:
            last = nn.Conv2d(ch[0], n_classes, 1)
            _init_bias(last, _ONSET_BIAS)
            self.onset_head = nn.Sequential(nn.Conv2d(ch[0], ch[0], 3, padding=1),
                                            nn.LeakyReLU(s), last)

    # ------------------------------------------------------------------ features
    def set_feature_stats(self, mean: torch.Tensor | np.ndarray,
                          std: torch.Tensor | np.ndarray) -> None:
        """Store the per-bin mean and standard deviation of the training features."""
        m = torch.as_tensor(np.asarray(mean, dtype=np.float32)).reshape(-1)
        sd = torch.as_tensor(np.asarray(std, dtype=np.float32)).reshape(-1)
        if m.numel() != self.n_input_bins or sd.numel() != self.n_input_bins:
            raise ParameterError(f"feature stats need {self.n_input_bins} values each, got "
                                 f"{m.numel()} means and {sd.numel()} deviations")
        if not bool(torch.all(torch.isfinite(m))) or not bool(torch.all(sd > 0)):
            raise ParameterError("feature means must be finite and deviations > 0")
        self.feature_mean.copy_(m)
        self.feature_std.copy_(sd)

    def _layout(self) -> tuple[float, int, int]:
        """``(fmin, n_bins, bins_per_octave)`` of the input CQT (``key_offset`` bins below
        the lowest key)."""
        fmin, n_bins, bpo = semitone_layout(self.bins_per_semitone, lowest_midi=C.LOWEST_KEY,
                                            n_semitones=C.N_KEYS)
        return fmin * 2.0 ** (-self.key_offset / bpo), n_bins, bpo

    def frontend(self) -> LogCQT:
        """The audio -> input-feature module this model expects (mono, ``sr`` Hz)."""
        fmin, _, bpo = self._layout()
        cfg = self.config
        return LogCQT(cqt={"sr": cfg["sr"], "hop": cfg["hop"], "fmin": fmin,
                           "n_bins": self.n_input_bins, "bins_per_octave": bpo},
                      compression=cfg["compression"])

    def _stack(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, n_input_bins, T)`` standardised features -> ``(batch, harmonics,
        n_bins, T)``; bins beyond the input (above Nyquist) are zeros."""
        if self.harmonics == [1.0]:
            return x.unsqueeze(1)
        top = self.key_offset + self.n_bins + max(0, *self.harmonic_shifts)
        x = F.pad(x, (0, 0, 0, top - x.shape[1]))
        o = self.key_offset
        return torch.stack([x[:, o + s:o + s + self.n_bins] for s in self.harmonic_shifts], 1)

    def grow_from(self, state_dict: Mapping[str, torch.Tensor],
                  config: Mapping[str, Any]) -> None:
        """Load the weights of a model that differs from this one only in ``harmonics``
        (a subset of this one's): the first block's weights of the new input channels
        start at zero and the stored feature statistics of the old bins are kept, so this
        model computes exactly what the old one did until it is trained. In place."""
        source = TranscriptionUNet(**dict(config))         # its config with the defaults
        mine = {k: v for k, v in self.config.items() if k != "harmonics"}
        theirs = {k: v for k, v in source.config.items() if k != "harmonics"}
        old = source.harmonics
        if mine != theirs or not set(old) <= set(self.harmonics):
            raise ParameterError("grow_from takes a model that differs only in harmonics, "
                                 "with a subset of this model's harmonics")
        if old == self.harmonics:
            self.load_state_dict(dict(state_dict))
            return
        source.load_state_dict(dict(state_dict))
        channels = [self.harmonics.index(h) for h in old]
        own = self.state_dict()
        with torch.no_grad():
            for name, value in source.state_dict().items():
                target = own[name]
                if name in ("enc.0.conv1.weight", "enc.0.proj.weight"):
                    target.zero_()
                    target[:, channels] = value
                elif name in ("feature_mean", "feature_std"):
                    start = self.key_offset - source.key_offset
                    target[start:start + value.numel()] = value
                elif target.shape == value.shape:
                    target.copy_(value)
                else:
                    raise ParameterError(f"grow_from: {name} has shape {tuple(value.shape)}, "
                                         f"this model {tuple(target.shape)}")

    def fuse_batchnorm(self) -> TranscriptionUNet:
        """Fold every batch norm into the convolution before it, in place, for inference.

        The outputs stay equal up to float rounding (about 1e-5) and inference gets faster;
        the model is put in eval mode and its ``state_dict`` no longer matches the
        architecture, so fuse a model you only run, never one you train or save.
        """
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        self.eval()
        for block in self.modules():
            if isinstance(block, _ResBlock) and isinstance(block.bn1, nn.BatchNorm2d):
                block.conv1 = fuse_conv_bn_eval(block.conv1, block.bn1)
                block.conv2 = fuse_conv_bn_eval(block.conv2, block.bn2)
                block.bn1, block.bn2 = nn.Identity(), nn.Identity()  # type: ignore[assignment]
            elif isinstance(block, _ConvBNAct) and isinstance(block[1], nn.BatchNorm2d):
                block[0] = fuse_conv_bn_eval(cast(nn.Conv2d, block[0]), block[1])
                block[1] = nn.Identity()
        return self

    # ------------------------------------------------------------------ forward
    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits of one batch; ``features`` is ``(batch, n_input_bins, frames)``."""
        if features.dim() != 3 or features.shape[1] != self.n_input_bins:
            raise InputError(f"transcription model input must be (batch, {self.n_input_bins} "
                             f"bins, frames); got shape {tuple(features.shape)}")
        n_frames = int(features.shape[2])
        if n_frames < 1:
            raise InputError("transcription model input has no frames")
        x = self._stack((features - self.feature_mean[:, None]) / self.feature_std[:, None])
        m = self.frame_multiple
        x = F.pad(x, (0, -n_frames % m, 0, -self.n_bins % m))

        skips: list[torch.Tensor] = []
        h = full_res = x
        for i in range(self.depth):
            h = self.enc[i](h)
            if i == 0:
                full_res = h
            h = self.down[i](h)
            if i < self.depth - 1:
                skips.append(self.skip[i](h))
        for i in reversed(range(self.depth)):
            h = self.up[i](h)
            if i > 0:
                h = torch.cat([h, skips[i - 1]], dim=1)
            elif self.input_skip:
                h = torch.cat([h, full_res], dim=1)
            h = self.dec[i](h)
        h = self.to_keys(h[:, :, :self.n_bins, :n_frames])

        roll = self.roll_head(h)
        out = {"roll": roll,
               "pitch": pool_logits(roll.index_select(1, self.pitched), 1, pool=self.pool),
               "instrument": pool_logits(roll, 2, pool=self.pool)}
        if self.onset_head is not None:
            out["onset"] = self.onset_head(h)
        return out


# ---------------------------------------------------------------------- losses
def _label(labels: Any, key: str) -> Any:
    if isinstance(labels, Mapping):
        return labels.get(key)
    return getattr(labels, key, None)


def losses(outputs: Mapping[str, torch.Tensor], labels: Any, *,
           weights: Mapping[str, float] | None = None, mask: torch.Tensor | None = None,
           pos_weight: Mapping[str, torch.Tensor] | None = None,
           reduction: Reduction = "mean") -> dict[str, torch.Tensor]:
    """The paper's BCE losses (roll, pitch, instrument), the onset BCE, and their sum.

    Besides those, the ``class`` term (weight 0 by default) is the cross-entropy over the
    class axis of the ``roll`` logits at every (key, frame) cell where some instrument
    sounds, against the pianoroll labels normalised over the classes (a unison of two
    instruments is a 50/50 target): it trains *which* instrument plays a sounding key
    directly, the choice the ``pitch-first`` decoder makes per note.
    The ``reonset`` term (weight 0 by default) is the onset BCE again, at re-articulation
    cells only (an onset on a key that sounded in the frame before): extra weight for the
    repeated notes played legato, the onsets a held key hides.

    Parameters
    ----------
    outputs : dict of torch.Tensor
        :meth:`TranscriptionUNet.forward` logits.
    labels : mapping or FrameLabels-like object
        ``pianoroll`` ``(batch, K, 88, T)``, ``onsets`` (same), ``pitch_roll``
        ``(batch, 88, T)``, ``activity`` ``(batch, K, T)``: bool, 0/1 or soft targets,
        as tensors or arrays (an unbatched :class:`~mirkit.features.pianoroll.FrameLabels`
        counts as batch 1). Labels of terms with weight 0 may be missing.
    weights : dict, optional
        Weight of each term (``roll``, ``pitch``, ``instrument``, ``onset``, ``class``,
        ``reonset``;
        missing keys count 0). Default :data:`~mirkit.models.transcription_constants.LOSS_WEIGHTS`;
        the paper's ablations are :func:`~mirkit.models.transcription_constants.ablation_weights`.
    mask : torch.Tensor, optional, shape (batch, T), bool
        Frames that count (e.g. not padding); the terms are means over those.
    pos_weight : dict of torch.Tensor, optional
        Per-term ``pos_weight`` of ``binary_cross_entropy_with_logits`` (e.g. inverse class
        frequencies shaped ``(K, 1, 1)`` for ``roll``), broadcast against the logits.
    reduction : {"mean", "frame"}
        ``"mean"``: each term is the mean BCE over all its cells (the paper's). ``"frame"``:
        the BCE is summed over the class and key axes and averaged over batch and frames,
        so one wrong cell weighs the same in every term (the roll, with 17 x 88 cells per
        frame, is then not drowned by the pooled terms). The ``class`` term is the mean
        over sounding cells (``"mean"``) or summed over keys and averaged over frames; the
        ``reonset`` term likewise over its re-articulation cells.

    Returns
    -------
    dict of torch.Tensor
        Scalar mean BCE of every term that has labels, and ``total`` = the weighted sum of
        the terms with non-zero weight (terms with weight 0 are reported detached).
    """
    w = dict(C.LOSS_WEIGHTS if weights is None else weights)
    known = (*C.LOSS_LABELS, *C.EXTRA_LOSS_TERMS)
    unknown = set(w) - set(known)
    if unknown:
        raise ParameterError(f"unknown loss term(s) {', '.join(sorted(unknown))}; known: "
                             f"{', '.join(known)}")
    if any(v < 0 for v in w.values()):
        raise ParameterError(f"loss weights must be >= 0, got {w}")
    if reduction not in ("mean", "frame"):
        raise ParameterError(f"loss reduction {reduction!r} is not one of 'mean', 'frame'")
    result: dict[str, torch.Tensor] = {}
    total: torch.Tensor | None = None
    for term, key in C.LOSS_LABELS.items():
        weight = float(w.get(term, 0.0))
        logits = outputs.get(term)
        target = _label(labels, key)
        if weight > 0 and logits is None:
            raise ParameterError(f"loss term {term!r} has weight {weight} but the model has no "
                                 f"{term!r} output (onset_head=False?)")
        if weight > 0 and target is None:
            raise InputError(f"loss term {term!r} has weight {weight} but the labels have no "
                             f"{key!r}")
        if logits is None or target is None:
            continue
        y = _target_for(target, logits, key, term)
        pw = None if pos_weight is None else pos_weight.get(term)
        bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none", pos_weight=pw)
        # cells per (item, frame): the class/key axes a "frame" reduction sums over
        per_frame = bce[0, ..., 0].numel() if reduction == "frame" else 1
        if mask is None:
            value = bce.mean() * per_frame
        else:
            if mask.shape != (logits.shape[0], logits.shape[-1]):
                raise InputError(f"mask shape {tuple(mask.shape)} is not (batch, frames) = "
                                 f"{(logits.shape[0], logits.shape[-1])}")
            mk = mask.to(bce.dtype).reshape(mask.shape[0], *([1] * (bce.dim() - 2)),
                                             mask.shape[1])
            value = (bce * mk).sum() / (mk.expand_as(bce).sum().clamp(min=1.0)) * per_frame
        if weight > 0:
            result[term] = value
            total = weight * value if total is None else total + weight * value
        else:
            result[term] = value.detach()
    for term, term_loss in (("class", _class_loss), ("reonset", _reonset_loss)):
        weight = float(w.get(term, 0.0))
        if weight > 0:
            value = term_loss(outputs, labels, mask=mask, reduction=reduction)
            result[term] = value
            total = weight * value if total is None else total + weight * value
    if total is None:
        raise ParameterError(f"every loss weight is 0 ({w}): nothing to train")
    result["total"] = total
    return result


def _target_for(target: Any, logits: torch.Tensor, key: str, term: str) -> torch.Tensor:
    """Labels as a tensor like ``logits`` (an unbatched label gains the batch axis)."""
    y = torch.as_tensor(np.asarray(target) if not isinstance(target, torch.Tensor)
                        else target).to(device=logits.device, dtype=logits.dtype)
    if y.dim() == logits.dim() - 1:
        y = y.unsqueeze(0)
    if y.shape != logits.shape:
        raise InputError(f"{key} labels have shape {tuple(y.shape)} but the {term} output "
                         f"has {tuple(logits.shape)}")
    return y


def _frame_weights(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """``(batch, frames)`` weights of the frames that count: ``mask`` checked, or all ones."""
    if mask is None:
        return torch.ones_like(like)
    if mask.shape != like.shape:
        raise InputError(f"mask shape {tuple(mask.shape)} is not (batch, frames) = "
                         f"{tuple(like.shape)}")
    return mask.to(like.dtype)


def _class_loss(outputs: Mapping[str, torch.Tensor], labels: Any, *,
                mask: torch.Tensor | None, reduction: Reduction) -> torch.Tensor:
    """The ``class`` term of :func:`losses`: class-axis cross-entropy at sounding cells."""
    logits = outputs.get("roll")
    target = _label(labels, "pianoroll")
    if logits is None:
        raise ParameterError("loss term 'class' needs the model's 'roll' output")
    if target is None:
        raise InputError("loss term 'class' has a weight but the labels have no 'pianoroll'")
    y = _target_for(target, logits, "pianoroll", "roll")
    total = y.sum(dim=1)                                         # (batch, keys, frames)
    sounding = (total > 0).to(logits.dtype)
    share = y / total.clamp(min=1e-12).unsqueeze(1)
    ce = -(share * F.log_softmax(logits, dim=1)).sum(dim=1) * sounding
    frames = _frame_weights(mask, ce[:, 0, :])
    if mask is not None:
        ce = ce * frames.unsqueeze(1)
        sounding = sounding * frames.unsqueeze(1)
    if reduction == "frame":
        return ce.sum() / frames.sum().clamp(min=1.0)
    return ce.sum() / sounding.sum().clamp(min=1.0)


def _reonset_loss(outputs: Mapping[str, torch.Tensor], labels: Any, *,
                  mask: torch.Tensor | None, reduction: Reduction) -> torch.Tensor:
    """The ``reonset`` term of :func:`losses`: onset BCE at re-articulations only.

    A re-articulation cell is an onset label on a (class, key) whose pianoroll label is on
    in the frame before (a repeated note played legato, or a new note while the key still
    sounds). The onset term already covers these cells; this term adds weight to them.
    """
    logits = outputs.get("onset")
    onsets, roll = _label(labels, "onsets"), _label(labels, "pianoroll")
    if logits is None:
        raise ParameterError("loss term 'reonset' needs the model's 'onset' output "
                             "(onset_head=False?)")
    if onsets is None or roll is None:
        raise InputError("loss term 'reonset' has a weight but the labels lack 'onsets' or "
                         "'pianoroll'")
    y = _target_for(onsets, logits, "onsets", "onset")
    r = _target_for(roll, logits, "pianoroll", "onset")
    cells = torch.zeros_like(y)
    cells[..., 1:] = ((y[..., 1:] > 0) & (r[..., :-1] > 0)).to(y.dtype)
    frames = _frame_weights(mask, y[:, 0, 0, :])
    if mask is not None:
        cells = cells * frames.reshape(frames.shape[0], 1, 1, frames.shape[1])
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none") * cells
    if reduction == "frame":
        return bce.sum() / frames.sum().clamp(min=1.0)
    return bce.sum() / cells.sum().clamp(min=1.0)


# ---------------------------------------------------------------------- registry
def build(**config: Any) -> TranscriptionUNet:
    """Architecture factory: ``TranscriptionUNet(**config)``."""
    return TranscriptionUNet(**config)


def register() -> None:
    """Register the architecture and the test model (called once by the registry)."""
    from mirkit.models.registry import register_architecture, register_test_model

    register_architecture(C.ARCH_NAME)(build)
    register_test_model(C.TEST_MODEL_NAME, arch=C.ARCH_NAME, config=C.TEST_CONFIG, task=C.TASK,
                        seed=0, description="tiny transcription U-Net (base 4 channels, depth 2) "
                                            "with random weights, for fast tests")
