"""``inpaint``: fill missing measures of a melody (library API of ``mirkit inpaint``).

Pipeline (one model, loaded once, any number of inputs)::

    tune (ABC / MusicXML / MIDI) --load_melodies--> Melody --measure tokens--> window of
      the model's size around the gap --LatentRNN | Anticipation-RNN | repeat-->
      tokens of the gap --> the tune with the gap filled --> NAME.musicxml, NAME.mid

Measures are counted from 1, the first bar of the tune (an incomplete pickup bar included)
being measure 1, as in the MusicXML this module writes. ``measures=(5, 8)`` replaces
measures 5, 6, 7 and 8. The tune is transposed into the model's pitch range for the model
(the shift closest to none) and back. The context is the ``window - gap`` measures around
the gap that hold the most music; beyond the tune's ends it is START / END padding, as in
training.

Methods (:data:`mirkit.models.inpaint.METHODS`): ``latent-rnn`` (the paper's model, the
default), ``anticipation`` (the Anticipation-RNN baseline) and ``repeat`` (each gap measure
copies the nearest context measure). Sampling: sample ``k`` of a call with seed ``s`` uses
its own random generator seeded from ``(s, k)``, so a sample does not depend on how many are
asked for, and the same seed gives the same output on the same device.

Files of one input (``{track}`` = the input's name without extension; ``--filename``):
``{track}.musicxml`` and ``{track}.mid``; with several samples ``{track}.{sample}.musicxml``
... (``k`` = 1..K; a template with ``{sample}`` places the number itself). Filled measures are
marked: in MusicXML every note and rest of them is coloured (:data:`MARK_COLOUR`) and the
first carries the text "inpainted"; in MIDI, marker events "inpainted: start" and
"inpainted: end" in the first track at the start and end of the filled measures. All files of
one input are written together or not at all (:class:`mirkit.io.atomic.AtomicGroup`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mirkit.errors import InputError, ModelError, ParameterError
from mirkit.io.batch import ExistingPolicy, claim_outputs, output_path

if TYPE_CHECKING:
    import torch

    from mirkit.data.melodies import Melody
    from mirkit.io.batch import BatchSummary
    from mirkit.models.registry import LoadedModel

__all__ = ["DEFAULT_METHOD", "DEFAULT_MODEL", "INPUT_EXTENSIONS", "MARK_COLOUR", "MARK_TEXT",
           "InpaintResult", "Inpainter", "duration_name", "inpaint", "notes_text",
           "parse_measures"]

#: Model used when none is named (its card: docs/inpaint.md).
DEFAULT_MODEL = "inpaint-folk"
#: Method used when none is named.
DEFAULT_METHOD = "latent-rnn"
#: Files the command reads.
INPUT_EXTENSIONS = frozenset({".abc", ".xml", ".musicxml", ".mxl", ".mid", ".midi", ".krn"})
#: Colour of the notes of filled measures in the MusicXML output.
MARK_COLOUR = "#D62728"
#: Text above the first filled measure, and the MIDI marker texts.
MARK_TEXT = "inpainted"
#: Short names of note lengths (quarter notes) in printed note lists.
DURATION_NAMES: dict[Fraction, str] = {
    Fraction(4): "w", Fraction(3): "h.", Fraction(2): "h", Fraction(3, 2): "q.",
    Fraction(1): "q", Fraction(3, 4): "e.", Fraction(1, 2): "e", Fraction(3, 8): "s.",
    Fraction(1, 4): "s", Fraction(2, 3): "q3", Fraction(1, 3): "e3", Fraction(1, 6): "s3",
}
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_MEASURES_RE = re.compile(r"^\s*(\d+)\s*(?:[-:]\s*(\d+))?\s*$")


# --------------------------------------------------------------------------- options


def parse_measures(text: str | Sequence[int]) -> tuple[int, int]:
    """``"5-8"`` -> ``(5, 8)``; ``"5"`` -> ``(5, 5)`` (1-based, inclusive).

    Raises
    ------
    ParameterError
        Anything else (``"8-5"``, ``"0-3"``, ``"5-"``, ``"a"``).
    """
    if not isinstance(text, str):
        vals = list(text)
        if len(vals) != 2 or not all(isinstance(v, int) for v in vals):
            raise ParameterError(f"measures {text!r}: give (first, last)")
        first, last = int(vals[0]), int(vals[1])
    else:
        m = _MEASURES_RE.match(text)
        if m is None:
            raise ParameterError(f"--measures {text!r}: give FIRST-LAST, e.g. 5-8 (measure "
                                 f"numbers from 1, both included), or one measure, e.g. 5")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
    if first < 1 or last < first:
        raise ParameterError(f"--measures {first}-{last}: need 1 <= FIRST <= LAST (measure "
                             f"numbers from 1, both included)")
    return first, last


def _number(flag: str, value: Any, *, low: float, integer: bool = False) -> Any:
    ok = (isinstance(value, int | float) and not isinstance(value, bool)
          and np.isfinite(value) and value >= low and (not integer or value == int(value)))
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise ParameterError(f"{flag} {value!r} must be {kind} >= {low:g}")
    return int(value) if integer else float(value)


def duration_name(length: Fraction) -> str:
    """``q``, ``e.``, ``e3``, ... of a length in quarter notes (see :data:`DURATION_NAMES`);
    other lengths as a fraction of a quarter (``5/4``)."""
    return DURATION_NAMES.get(Fraction(length), str(Fraction(length)))


def _pitch_name(pitch: int) -> str:
    return f"{_NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def notes_text(melody: Melody, start: Fraction, stop: Fraction) -> str:
    """The notes and rests starting in ``[start, stop)`` beats: ``"E5 q, rest e, F#5 e"``.

    A note held into the range from before it is left out; rests fill the time between notes
    (and up to ``stop``).
    """
    parts: list[str] = []
    t = start
    for on, dur, pitch in melody.notes:
        if on + dur <= start:
            continue
        if on >= stop:
            break
        if on < start:                           # held over from before the range
            t = on + dur
            continue
        if on > t:
            parts.append(f"rest {duration_name(on - t)}")
        parts.append(f"{_pitch_name(pitch)} {duration_name(dur)}")
        t = on + dur
    if t < stop:
        parts.append(f"rest {duration_name(stop - t)}")
    return ", ".join(parts)


def _cut_at_gap_end(new: np.ndarray, original: np.ndarray, after: int) -> None:
    """Keep the measure after the gap as it was: a note tied out of the gap is cut at the
    gap's edge, so a hold token opening measure ``after`` is replaced by the token it held
    in ``original`` (the note or rest sounding at the gap's end), re-struck at the bar line.

    ``new`` and ``original`` are (measures, ticks) token arrays; ``new`` is changed in place.
    """
    from mirkit.features.tokens import HOLD

    if after >= len(new) or new[after, 0] != HOLD:
        return
    held = original[:after].reshape(-1)
    sounding = held[held != HOLD]
    if sounding.size:
        new[after, 0] = sounding[-1]


def _derived_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint32)[0])


def choose_past(n_bars: int, start: int, gap: int, window: int) -> int:
    """Past-context length (1 .. window-gap-1) that keeps the most real measures in the
    window around a gap at bars ``start .. start+gap-1`` (0-based), the most balanced one on
    a tie."""
    best, best_key = 1, (-1, 0.0)
    for past in range(1, window - gap):
        future = window - gap - past
        real = min(past, start) + min(future, n_bars - start - gap)
        key = (real, -abs(past - future))
        if key > best_key:
            best, best_key = past, key
    return best


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class InpaintResult:
    """The inpaintings of one tune.

    Attributes
    ----------
    original : Melody
        The tune as read (its own key).
    samples : list of Melody
        One filled tune per sample, in the original key; outside the filled measures the
        notes are the original ones.
    first, last : int
        The filled measures (1-based, inclusive).
    method : str
    part : str
        Which part was used and how ("0", "1 'Flute' (top line of a polyphonic part)").
    """

    original: Melody
    samples: list[Melody]
    first: int
    last: int
    method: str
    part: str = "0"

    @property
    def span(self) -> tuple[Fraction, Fraction]:
        """Start and end of the filled measures, quarter-note beats."""
        bar = self.original.bar_length
        return (self.first - 1) * bar, self.last * bar

    def notes(self, sample: int = 0) -> str:
        """:func:`notes_text` of the filled measures of sample ``sample`` (0-based)."""
        return notes_text(self.samples[sample], *self.span)


# --------------------------------------------------------------------------- inpainter


class Inpainter:
    """An inpainting model loaded once, with its sampling settings.

    Parameters
    ----------
    model : str, path or LoadedModel
        A registered model name (default :data:`DEFAULT_MODEL`), a checkpoint written by
        ``mirkit train inpaint``, or a model loaded with
        :func:`mirkit.models.registry.load_model`.
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    method : {'latent-rnn', 'anticipation', 'repeat'}
    temperature : float >= 0
        Tokens are drawn from ``softmax(logits / temperature)`` (0: the most likely token,
        the paper's decoding); for ``latent-rnn`` the context latents are also drawn from
        the encoder's posterior with its standard deviation times ``temperature``.
    samples : int >= 1
        Inpaintings per tune.
    seed : int >= 0
    threads : int, optional
        CPU threads for torch while inpainting.

    Raises
    ------
    ParameterError
        A bad option; a method whose network the model lacks.
    ModelError
        The model is unknown, missing, or not an inpainting model.
    """

    def __init__(self, model: str | os.PathLike[str] | LoadedModel = DEFAULT_MODEL, *,
                 device: str = "auto", method: str = DEFAULT_METHOD, temperature: float = 1.0,
                 samples: int = 1, seed: int = 0, threads: int | None = None) -> None:
        from mirkit.engine.runner import as_device
        from mirkit.models.inpaint import METHODS, InpaintNet
        from mirkit.models.registry import LoadedModel, load_model

        if method not in METHODS:
            raise ParameterError(f"--method {method!r} is not one of {', '.join(METHODS)}")
        self.method = method
        self.temperature = _number("--temperature", temperature, low=0.0)
        self.samples = _number("--samples", samples, low=1, integer=True)
        self.seed = _number("--seed", seed, low=0, integer=True)
        if threads is not None:
            _number("--threads", threads, low=1, integer=True)
        self.threads = threads
        self.device = as_device(device)
        if isinstance(model, LoadedModel):
            loaded = model
            loaded.module.to(self.device).eval()
        else:
            loaded = load_model(model, device=self.device, task="inpaint")
        if not isinstance(loaded.module, InpaintNet):
            raise ModelError(f"model {loaded.name!r} ({loaded.arch}) is not an inpainting "
                             f"model")
        self.loaded = loaded
        self.net: InpaintNet = loaded.module
        if loaded.card.get("weights") != "random":     # test models: every part "trained"
            self.net.check_method(method)

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def meters(self) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in self.net.meters]

    @property
    def max_gap(self) -> int:
        return int(self.net.max_gap)

    def meters_text(self) -> str:
        return ", ".join(f"{a}/{b}" for a, b in self.meters)

    def check_measures(self, measures: str | Sequence[int]) -> tuple[int, int]:
        """Parse ``measures`` and check the gap against the model's largest."""
        first, last = parse_measures(measures)
        gap = last - first + 1
        if gap > self.max_gap:
            raise ParameterError(f"--measures {first}-{last} asks for {gap} measures; model "
                                 f"{self.name!r} fills at most {self.max_gap}")
        return first, last

    # ---- one melody ------------------------------------------------------------------

    def inpaint(self, melody: Melody, measures: str | Sequence[int], *,
                samples: int | None = None, seed: int | None = None) -> InpaintResult:
        """Fill ``measures`` (``"5-8"`` or ``(5, 8)``) of ``melody``.

        Raises
        ------
        ParameterError
            Bad ``measures`` or a gap longer than the model's largest.
        InputError
            A meter the model does not handle, measures beyond the tune, no context left,
            notes off the token grid, a range wider than the model's.
        """
        import torch

        from mirkit.data.melodies import transpositions
        from mirkit.features.tokens import MeasureVocab, measures_to_melody, melody_to_measures
        from mirkit.train.inpaint import window_at

        first, last = self.check_measures(measures)
        k_samples = self.samples if samples is None else _number("samples", samples, low=1,
                                                                integer=True)
        base_seed = self.seed if seed is None else _number("seed", seed, low=0, integer=True)
        where = melody.source or melody.id
        if tuple(melody.meter) not in self.meters:
            raise InputError(f"'{where}' is in {melody.meter[0]}/{melody.meter[1]}; model "
                             f"{self.name!r} handles only {self.meters_text()}")
        n_bars = melody.n_bars
        if last > n_bars:
            raise InputError(f"--measures {first}-{last}: '{where}' has only {n_bars} "
                             f"measures")
        gap = last - first + 1
        if gap >= n_bars:
            raise InputError(f"--measures {first}-{last} covers every measure of '{where}'; "
                             f"leave at least one measure of context")
        net = self.net
        shifts = transpositions(melody, net.low, net.high)
        if not shifts:
            lo, hi = melody.pitch_range()
            raise InputError(f"'{where}' spans MIDI {lo}-{hi}, wider than the range "
                             f"{net.low}-{net.high} of model {self.name!r}")
        shift = min(shifts, key=abs)
        vocab = MeasureVocab(net.low, net.high)
        tokens = melody_to_measures(melody.transpose(shift), vocab)
        start = first - 1
        past = choose_past(n_bars, start, gap, net.window)
        window = torch.as_tensor(window_at(tokens, start, gap, past, net.window)[None]).to(
            self.device)
        out = []
        with torch.no_grad():
            for k in range(k_samples):
                gen = torch.Generator(device=self.device)
                gen.manual_seed(_derived_seed(base_seed, k))
                filled = self._generate(window, past, gap, gen)
                new = tokens.copy()
                new[start:start + gap] = filled
                _cut_at_gap_end(new, tokens, start + gap)
                result = measures_to_melody(new, melody.meter, vocab, id=melody.id,
                                            title=melody.title, chords=melody.chords)
                out.append(_restore(result.transpose(-shift), melody))
        return InpaintResult(melody, out, first, last, self.method)

    def _generate(self, window: torch.Tensor, past: int, gap: int,
                  generator: torch.Generator) -> np.ndarray:
        import torch

        threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            tokens = self.net.generate(self.method, window, past, gap,
                                       temperature=self.temperature, generator=generator)
        finally:
            torch.set_num_threads(threads)
        return tokens[0].cpu().numpy().astype(np.int64)

    # ---- files -----------------------------------------------------------------------

    def read(self, path: str | os.PathLike[str], *, part: int | None = None, tune: int = 1
             ) -> tuple[Melody, str]:
        """The melody of tune ``tune`` (1-based; ABC books) of ``path`` and a description
        of the part used.

        Raises
        ------
        InputError
            Unreadable, several parts and no ``part``, no such part or tune, no notes.
        """
        from mirkit.data.melodies import load_melodies
        from mirkit.io.symbolic import list_tunes, read_score

        src = Path(path)
        index = tune - 1
        if src.suffix.lower() == ".abc":
            tunes = list_tunes(src)
            if not 0 <= index < len(tunes):
                raise InputError(f"--tune {tune}: '{src}' holds {len(tunes)} tune(s)")
        elif tune != 1:
            raise InputError(f"--tune {tune}: '{src}' holds one tune (only ABC files hold "
                             f"several)")
        score = read_score(src, index=index)
        used = sorted({int(p) for p in score.notes["part"]})
        names = {k: score.parts[k].name for k in range(len(score.parts))}
        if part is None and len(used) > 1:
            listed = ", ".join(f"{k} {names[k]!r}" if names[k] else str(k) for k in used)
            raise InputError(f"'{src}' has {len(used)} parts with notes ({listed}): choose "
                             f"one with --part K")
        chosen = part if part is not None else (used[0] if used else 0)
        if not 0 <= chosen < len(score.parts):
            raise InputError(f"--part {chosen}: '{src}' has parts 0..{len(score.parts) - 1}")
        label = f"{chosen} {names[chosen]!r}" if names.get(chosen) else str(chosen)
        if chosen in used and not score.is_monophonic(chosen):
            label += " (top line of a polyphonic part)"
        loaded = load_melodies([src], part=part, require_grid=False, holdout=frozenset(),
                               limit=tune)
        wanted = {f"{src}#{index}", str(src)} if index == 0 else {f"{src}#{index}"}
        # messages name the tune as --tune counts (from 1), not by the 0-based '#k' of ids
        shown = f"{src} (tune {tune})"
        for m in loaded:
            if m.source in wanted:
                return (dataclasses.replace(m, source=shown) if "#" in m.source else m), label
        for source, _, message in loaded.rejected:
            if source in wanted:
                raise InputError(message.replace(f"{src}#{index}", shown)
                                 .replace("choose one with part=", "choose one with --part K"))
        raise InputError(f"cannot read tune {tune} of '{src}'")

    def inpaint_file(self, path: str | os.PathLike[str], *, measures: str | Sequence[int],
                     output: str | os.PathLike[str], filename: str = "{track}.{ext}",
                     existing: ExistingPolicy = ExistingPolicy.ERROR, part: int | None = None,
                     tune: int = 1, written: dict[Path, str] | None = None) -> dict[str, Any]:
        """Inpaint one file and write its outputs (see the module docstring).

        Returns
        -------
        dict
            ``{"rows": [...]}``: one row per sample with ``tune``, ``part``, ``meter``,
            ``measures``, ``method``, ``sample``, ``notes`` (of the filled measures),
            ``musicxml``, ``midi``, ``seconds``.
        """
        from mirkit.io.atomic import AtomicGroup

        t0 = time.perf_counter()
        src = Path(path)
        first, last = self.check_measures(measures)
        paths = output_paths(src, output, filename, samples=self.samples)
        if written is not None:
            for p in (q for pair in paths for q in pair.values()):
                other = written.get(p.resolve())
                if other is not None and other != str(src):
                    raise InputError(f"its output '{p}' was already written for '{other}' in "
                                     "this run: use a --filename template that tells them "
                                     "apart, e.g. '{parent}/{track}.{ext}'")
        claim_outputs([q for pair in paths for q in pair.values()], existing)
        melody, part_label = self.read(src, part=part, tune=tune)
        result = self.inpaint(melody, (first, last))
        group = AtomicGroup()
        try:
            with group:
                for filled, pair in zip(result.samples, paths, strict=True):
                    write_marked(filled, result.span, musicxml=group.path(pair["musicxml"]),
                                 midi=group.path(pair["midi"]))
        except OSError as exc:
            group.discard()
            raise InputError(f"cannot write the outputs of '{src}' in "
                             f"'{paths[0]['midi'].parent}': {exc.strerror or exc}; check free "
                             f"space and permissions") from exc
        if written is not None:
            for p in (q for pair in paths for q in pair.values()):
                written[p.resolve()] = str(src)
        seconds = round(time.perf_counter() - t0, 3)
        meter = f"{melody.meter[0]}/{melody.meter[1]}"
        title = melody.title or src.stem
        return {"rows": [{"tune": title, "part": part_label, "meter": meter,
                          "measures": f"{first}-{last}", "method": self.method, "sample": k + 1,
                          "notes": result.notes(k), "musicxml": str(pair["musicxml"]),
                          "midi": str(pair["midi"]), "seconds": seconds}
                         for k, pair in enumerate(paths)]}


def _restore(filled: Melody, original: Melody) -> Melody:
    """``filled`` with the original's id, source, title, shift and chords."""
    from dataclasses import replace

    return replace(filled, id=original.id, source=original.source, title=original.title,
                   chords=original.chords, shift=original.shift)


# --------------------------------------------------------------------------- outputs


def output_paths(path: str | os.PathLike[str], output: str | os.PathLike[str],
                 filename: str = "{track}.{ext}", *, samples: int = 1
                 ) -> list[dict[str, Path]]:
    """Per sample, the ``musicxml`` and ``midi`` paths of one input.

    Template fields: ``{track}``, ``{parent}``, ``{sample}`` (1..K) and ``{ext}``; with
    several samples and no ``{sample}`` the number goes before the extension
    (``NAME.2.mid``).

    Raises
    ------
    ParameterError
        An unknown field, or a template that gives two outputs the same path.
    """
    src = Path(path)
    fields = {"track": src.stem, "parent": src.resolve().parent.name}
    numbered = samples > 1 and "{sample" not in filename
    out = []
    for k in range(1, samples + 1):
        pair = {}
        for kind, ext in (("musicxml", "musicxml"), ("midi", "mid")):
            pair[kind] = output_path(output, filename, **fields, sample=k,
                                     ext=f"{k}.{ext}" if numbered else ext)
        out.append(pair)
    every = [p for pair in out for p in pair.values()]
    if len(set(every)) < len(every):
        raise ParameterError(f"--filename {filename!r} gives two outputs the same name; "
                             "include {ext} (and {sample} for several samples)")
    return out


def write_marked(melody: Melody, span: tuple[Fraction, Fraction], *,
                 musicxml: str | os.PathLike[str] | None = None,
                 midi: str | os.PathLike[str] | None = None) -> None:
    """Write ``melody`` as MusicXML and/or MIDI with the bars of ``span`` (beats) marked."""
    from mirkit.io.symbolic import write_midi, write_musicxml

    score = melody.to_score()
    bar = melody.bar_length
    first_bar = int(span[0] / bar)
    last_bar = int(span[1] / bar) - 1
    if musicxml is not None:
        write_musicxml(score, musicxml)
        mark_musicxml(musicxml, range(first_bar + 1, last_bar + 2))
    if midi is not None:
        write_midi(score, midi)
        mark_midi(midi, span)


def mark_musicxml(path: str | os.PathLike[str], numbers: Sequence[int] | range) -> int:
    """Colour every note and rest of the measures ``numbers`` (MusicXML measure numbers) and
    put :data:`MARK_TEXT` above the first; rewrite ``path`` in place. Returns the number of
    notes coloured."""
    import xml.etree.ElementTree as ET

    tree = ET.parse(path)
    wanted = {str(n) for n in numbers}
    coloured, labelled = 0, False
    for measure in tree.getroot().iter("measure"):
        if measure.get("number") not in wanted:
            continue
        for note in measure.iter("note"):
            note.set("color", MARK_COLOUR)
            coloured += 1
        if not labelled:
            direction = ET.Element("direction", {"placement": "above"})
            kind = ET.SubElement(direction, "direction-type")
            words = ET.SubElement(kind, "words", {"color": MARK_COLOUR})
            words.text = MARK_TEXT
            children = list(measure)
            at = next((i for i, c in enumerate(children) if c.tag in ("note", "backup",
                                                                       "forward")),
                      len(children))
            measure.insert(at, direction)
            labelled = True
    _write_xml(tree, Path(path))
    return coloured


def _write_xml(tree: Any, path: Path) -> None:
    """Rewrite ``path`` with ``tree``, keeping its XML declaration and DOCTYPE."""
    import xml.etree.ElementTree as ET

    text = Path(path).read_text(encoding="utf-8")
    head_end = text.find("<score-partwise")
    head = text[:head_end] if head_end > 0 else '<?xml version="1.0" encoding="utf-8"?>\n'
    body = ET.tostring(tree.getroot(), encoding="unicode")
    Path(path).write_text(head + body + "\n", encoding="utf-8")


def mark_midi(path: str | os.PathLike[str], span: tuple[Fraction, Fraction]) -> None:
    """Add marker events ``"inpainted: start"`` / ``"inpainted: end"`` at the beats of
    ``span`` to the first track of the MIDI file ``path`` (rewritten in place)."""
    import mido

    mid = mido.MidiFile(str(path))
    track = mid.tracks[0]
    events: list[tuple[int, int, Any]] = []
    t = 0
    for order, msg in enumerate(track):
        t += msg.time
        events.append((t, order, msg))
    tpq = mid.ticks_per_beat
    end_of_track = [e for e in events if e[2].type == "end_of_track"]
    body = [e for e in events if e[2].type != "end_of_track"]
    for label, beat in (("start", span[0]), ("end", span[1])):
        tick = round(float(beat) * tpq)
        body.append((tick, len(events) + len(body),
                     mido.MetaMessage("marker", text=f"{MARK_TEXT}: {label}")))
    body.sort(key=lambda e: (e[0], e[1]))
    last = max((e[0] for e in body), default=0)
    final = end_of_track[0] if end_of_track else (last, 0, mido.MetaMessage("end_of_track"))
    new = mido.MidiTrack()
    prev = 0
    for tick, _, msg in [*body, (max(final[0], last), 0, final[2])]:
        new.append(msg.copy(time=tick - prev))
        prev = tick
    mid.tracks[0] = new
    mid.save(str(path))


# --------------------------------------------------------------------------- batch API


@dataclass
class _Written:
    paths: dict[Path, str] = field(default_factory=dict)


def inpaint(inputs: Sequence[str | os.PathLike[str]], *, measures: str | Sequence[int],
            output: str | os.PathLike[str], filename: str = "{track}.{ext}",
            model: str | os.PathLike[str] | LoadedModel = DEFAULT_MODEL, device: str = "auto",
            existing: ExistingPolicy = ExistingPolicy.ERROR, part: int | None = None,
            tune: int = 1, **options: Any) -> BatchSummary:
    """Inpaint files into ``output`` (the library version of ``mirkit inpaint``).

    ``inputs`` are files, folders (searched for :data:`INPUT_EXTENSIONS`), globs or ``-``;
    the model is loaded once; a bad input is recorded as failed and the others go on.
    ``options`` are :class:`Inpainter`'s (``method``, ``temperature``, ``samples``,
    ``seed``, ``threads``).
    """
    from mirkit.io.batch import expand_inputs, run_batch

    t = Inpainter(model, device=device, **options)
    t.check_measures(measures)
    files, found = expand_inputs([os.fspath(p) for p in inputs], extensions=INPUT_EXTENSIONS)
    written = _Written()
    return run_batch(files, lambda p: t.inpaint_file(
        p, measures=measures, output=output, filename=filename, existing=existing, part=part,
        tune=tune, written=written.paths), problems=found)
