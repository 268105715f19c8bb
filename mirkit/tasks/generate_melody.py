"""``generate_melody``: melodies over a chord progression (library API of
``mirkit generate-melody``).

Pipeline (one model, loaded once, any number of samples)::

    "C | G | Am | F"  or a lead sheet --> Progression (meter, chords on the beat axis, bars)
      --> Pitch-RNN + Duration-RNN, one event per step (seeded sampling)
      --> Melody --> NAME.mid (melody [+ chords]), NAME.musicxml (chord symbols [+ chords])

Chord progressions (:func:`parse_progression`)
    Bars are separated by ``|``; the chords of one bar by white space, and they split the
    bar evenly (``"C G | Am"``: C and G for half a 4/4 bar each, then Am for a whole bar).
    A bar ``%`` repeats the bar before it, a bar ``-`` has no chord (a pickup before the
    first one), and ``SYMBOL@BEAT`` places a chord at BEAT quarter notes from the bar line
    (``"Em C@2"``; :meth:`Progression.text` writes uneven bars so). Leading and trailing
    ``|`` are ignored. Each chord
    symbol is read by :func:`mirkit.data.melodies.parse_chord` (e.g. ``C``, ``Am``, ``D7``,
    ``F#m7``, ``Bbmaj7``, ``Bb/D``, ``Edim``, ``Gsus4``); an unknown symbol is a
    :class:`~mirkit.errors.ParameterError` that lists the accepted forms. With ``bars``
    the progression is repeated (or cut) to that many bars. A lead sheet
    (:func:`progression_from_file`: ABC with quoted chords, MusicXML with harmonies) gives its
    meter, its bars and its chord symbols at their written positions.

Generation (:func:`generate`)
    Event ``t`` starts at the sum of the durations before it. Its bar position is that onset
    within the bar (24 ticks per quarter), its chord the progression's chord sounding there
    and its next chord the next different one (:func:`mirkit.features.tokens.chord_context`,
    the same values the model was trained on). The Pitch-RNN and the Duration-RNN each read
    the previous event's tokens (BOS at the start) and those conditions and predict event
    ``t`` together (see :mod:`mirkit.models.melody` for the order); a pitch and a duration
    tag are sampled from their distributions divided by ``temperature`` (0: the most likely
    token), with a torch generator seeded by ``seed``. Steps repeat until the bars are full;
    the last event is cut at the end of the last bar. The same model, progression, seed and
    temperature give the same melody (on the same device).

Files of one sample (``--filename``, default ``{stem}-{sample}.{ext}``)
    ``.mid``       the melody (track "Melody"), with ``accompaniment`` a second track
                   "Chords" (block chords, re-struck every bar: root in octave 3, the other
                   pitch classes in octave 4); 120 quarter notes per minute
    ``.musicxml``  the lead sheet: the melody with its chord symbols (music21
                   ``ChordSymbol``) and, with ``accompaniment``, a "Chords" part

Both files of a sample are written together (:class:`mirkit.io.atomic.AtomicGroup`); an
existing output follows the ``existing`` policy.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirkit.errors import InputError, ModelError, ParameterError
from mirkit.io.batch import ExistingPolicy, claim_outputs, output_path

if TYPE_CHECKING:
    import torch

    from mirkit.data.melodies import Chord, Melody
    from mirkit.io.symbolic import Score
    from mirkit.models.melody import MelodyRNN
    from mirkit.models.registry import LoadedModel

__all__ = [
    "DEFAULT_MODEL",
    "MelodyGenerator",
    "Progression",
    "chord_tone_counts",
    "chord_tone_share",
    "generate",
    "lead_sheet_score",
    "melody_text",
    "parse_progression",
    "progression_from_file",
    "progression_from_melody",
    "write_lead_sheet",
]

#: The model ``mirkit generate-melody`` uses when none is named.
DEFAULT_MODEL = "melody-nottingham"
#: Output kinds and their extensions.
OUTPUT_KINDS: dict[str, str] = {"midi": "mid", "musicxml": "musicxml"}
#: Tempo of the written files, quarter notes per minute.
TEMPO_QPM = 120.0
#: Accompaniment voicing: the root in the octave from MIDI 48 (C3), the other pitch
#: classes in the octave from 60 (C4); its velocity, and the melody's.
BASS_OCTAVE, CHORD_OCTAVE = 48, 60
CHORD_VELOCITY, MELODY_VELOCITY = 60, 90
#: Most bars one generation may ask for.
MAX_BARS = 1000
#: Bar separator, repeat-bar mark of chord progressions.
BAR_SEPARATOR, REPEAT_BAR = "|", "%"
#: A bar without a chord (e.g. a pickup bar before the first chord), and the position mark
#: of ``SYMBOL@BEAT``: both as :meth:`Progression.text` writes them.
NO_CHORD_BAR, AT = "-", "@"
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


# --------------------------------------------------------------------------- progressions


@dataclass(frozen=True)
class Progression:
    """A chord progression on the quarter-note axis.

    Attributes
    ----------
    meter : (int, int)
    chords : tuple of Chord
        Sorted by onset (quarter beats from the start of bar 0); each lasts until the next.
        Before the first chord there is no chord.
    n_bars : int
        Length of the piece in bars.
    """

    meter: tuple[int, int]
    chords: tuple[Chord, ...]
    n_bars: int

    @property
    def bar_length(self) -> Fraction:
        return Fraction(4 * self.meter[0], self.meter[1])

    @property
    def length(self) -> Fraction:
        """Quarter beats in the piece."""
        return self.n_bars * self.bar_length

    def chord_at(self, beat: Fraction) -> Chord | None:
        """The chord sounding at ``beat``, or None before the first one."""
        found = None
        for c in self.chords:
            if c.onset > beat:
                break
            found = c
        return found

    def resized(self, bars: int) -> Progression:
        """The progression repeated, or cut, to ``bars`` bars."""
        _check_bars(bars)
        span = self.length
        chords: list[Chord] = []
        repeat = 0
        while repeat * span < bars * self.bar_length:
            for c in self.chords:
                onset = c.onset + repeat * span
                if onset < bars * self.bar_length:
                    chords.append(replace(c, onset=onset))
            repeat += 1
        return Progression(self.meter, tuple(chords), bars)

    def text(self) -> str:
        """The progression in the ``"C | G | Am"`` syntax (even splits only; positions that
        do not split a bar evenly are written with ``@beat``)."""
        bars: list[str] = []
        bar = self.bar_length
        for b in range(self.n_bars):
            start, end = b * bar, (b + 1) * bar
            inside = [c for c in self.chords if start <= c.onset < end]
            current = self.chord_at(start)
            if current is not None and (not inside or inside[0].onset > start):
                inside.insert(0, replace(current, onset=start))
            if not inside:
                bars.append(NO_CHORD_BAR)
                continue
            offsets = [c.onset - start for c in inside]
            even = all(o == k * bar / len(inside) for k, o in enumerate(offsets))
            bars.append(" ".join(c.symbol if even or c.onset == start
                                 else f"{c.symbol}{AT}{c.onset - start}" for c in inside))
        return " | ".join(bars)


def _check_bars(bars: int) -> None:
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_BARS:
        raise ParameterError(f"--bars {bars!r}: give a whole number of bars, 1 to {MAX_BARS}")


def check_meter(meter: str | Sequence[int]) -> tuple[int, int]:
    """A meter the event streams can hold (a token grid, at most four quarters per bar).

    Raises
    ------
    ParameterError
        Naming the supported meters.
    """
    from mirkit.features import tokens as T
    from mirkit.models.melody import meter_tuple

    m = meter_tuple(meter)
    supported = [f"{a}/{b}" for a, b in T.GRID_METERS
                 if Fraction(4 * a, b) * T.EVENT_TICKS_PER_QUARTER <= T.BARPOS_DIM]
    if f"{m[0]}/{m[1]}" not in supported:
        raise ParameterError(f"--meter {m[0]}/{m[1]} is not supported; melody generation "
                             f"supports {', '.join(supported)}")
    return m


def _bar_positions(symbols: Sequence[str], bar: Fraction, number: int
                   ) -> list[tuple[Fraction, str]]:
    """(offset in quarters, symbol) of the chords of one bar: an even split, or the written
    positions of ``SYMBOL@BEAT`` (the first chord may leave out ``@0``)."""
    if not any(AT in s for s in symbols):
        return [(i * bar / len(symbols), s) for i, s in enumerate(symbols)]
    out: list[tuple[Fraction, str]] = []
    for i, item in enumerate(symbols):
        symbol, at, beat = item.partition(AT)
        if not at and i > 0:
            raise ParameterError(f"--chords bar {number}: '{item}' needs a position like "
                                 f"'{item}{AT}2' when other chords of its bar have one")
        try:
            offset = Fraction(beat) if at else Fraction(0)
        except (ValueError, ZeroDivisionError):
            raise ParameterError(f"--chords bar {number}: '{item}': the position after "
                                 f"'{AT}' must be quarter notes from the bar line, e.g. 2 "
                                 "or 3/2") from None
        if not 0 <= offset < bar or (out and offset <= out[-1][0]):
            raise ParameterError(f"--chords bar {number}: '{item}': positions must rise "
                                 f"within the bar, from 0 to below {bar}")
        out.append((offset, symbol))
    return out


def parse_progression(text: str, *, meter: str | Sequence[int] = "4/4",
                      bars: int | None = None) -> Progression:
    """Parse ``"C | G | Am F | %"`` into a :class:`Progression` (syntax: module docstring).

    Raises
    ------
    ParameterError
        An empty progression or bar, a ``%`` with no bar before it, an unknown chord symbol
        (the message lists the accepted forms) or an unsupported meter.
    """
    from mirkit.data.melodies import Chord

    m = check_meter(meter)
    bar = Fraction(4 * m[0], m[1])
    pieces = [p.strip() for p in str(text).split(BAR_SEPARATOR)]
    while pieces and not pieces[0]:
        pieces.pop(0)
    while pieces and not pieces[-1]:
        pieces.pop()
    if not pieces:
        raise ParameterError(f"--chords {text!r} holds no chord; write bars separated by "
                             f"'|', e.g. 'C | G | Am | F'")
    bar_symbols: list[list[str]] = []
    for k, piece in enumerate(pieces, 1):
        if not piece:
            raise ParameterError(f"--chords {text!r}: bar {k} is empty; write a chord or "
                                 f"'{REPEAT_BAR}' (repeat the bar before)")
        if piece == REPEAT_BAR:
            if not bar_symbols:
                raise ParameterError(f"--chords {text!r}: bar 1 is '{REPEAT_BAR}' but there is "
                                     f"no bar before it to repeat")
            bar_symbols.append(bar_symbols[-1])
            continue
        bar_symbols.append([] if piece == NO_CHORD_BAR else piece.split())
    chords: list[Chord] = []
    for k, symbols in enumerate(bar_symbols):
        for offset, symbol in _bar_positions(symbols, bar, k + 1):
            try:
                chords.append(Chord.from_symbol(k * bar + offset, symbol))
            except ParameterError as exc:
                raise ParameterError(f"--chords bar {k + 1}: {exc}") from None
    progression = Progression(m, tuple(chords), len(bar_symbols))
    return progression if bars is None else progression.resized(bars)


def progression_from_melody(melody: Melody, *, bars: int | None = None) -> Progression:
    """The chords, meter and bars of a lead sheet (e.g. a held-out tune).

    Raises
    ------
    InputError
        The melody has no chord symbols.
    """
    if not melody.chords:
        raise InputError(f"'{melody.source or melody.id}' has no chord symbols to generate over")
    meter = check_meter(melody.meter)
    progression = Progression(meter, tuple(melody.chords), max(melody.n_bars, 1))
    return progression if bars is None else progression.resized(bars)


def progression_from_file(path: str | os.PathLike[str], *, tune: int = 1,
                          bars: int | None = None) -> tuple[Progression, Melody]:
    """The progression of tune ``tune`` (1 = the first readable one) of a lead sheet file.

    ABC (quoted chord symbols), MusicXML (harmonies) and any format
    :func:`mirkit.data.melodies.load_melodies` reads. Returns the progression and the tune.

    Raises
    ------
    InputError
        An unreadable file, no such tune or no chord symbols.
    """
    from mirkit.data.melodies import load_melodies

    src = Path(path)
    if not src.is_file():
        raise InputError(f"--chords-from '{src}' is not a file; give a lead sheet (ABC or "
                         f"MusicXML with chord symbols)")
    if isinstance(tune, bool) or not isinstance(tune, int) or tune < 1:
        raise ParameterError(f"--tune {tune!r}: give a tune number >= 1")
    tunes = load_melodies([str(src)], require_grid=False)
    if len(tunes) < tune:
        why = "; ".join(msg for _, _, msg in tunes.rejected[:2])
        raise InputError(f"'{src}' has {len(tunes)} readable tune(s), not {tune}"
                         + (f" ({why})" if why else ""))
    melody = tunes[tune - 1]
    if "#" in melody.source:        # name the tune as --tune counts it, not by its '#k' id
        melody = replace(melody, source=f"{src} (tune {tune})")
    return progression_from_melody(melody, bars=bars), melody


# --------------------------------------------------------------------------- generation


def _sample(logp: torch.Tensor, temperature: float, generator: torch.Generator) -> int:
    """One token from log-probabilities ``(vocab,)`` at ``temperature`` (0: argmax)."""
    import torch

    logits = logp.detach().double().cpu()
    if temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def check_temperature(temperature: float) -> float:
    if not (isinstance(temperature, int | float) and math.isfinite(temperature)
            and 0 <= temperature <= 10):
        raise ParameterError(f"--temperature {temperature!r}: give a number from 0 (always the "
                             f"most likely token) to 10; 1 samples the model as trained")
    return float(temperature)


def generate(model: MelodyRNN, progression: Progression, *, seed: int = 0,
             temperature: float = 1.0, title: str = "", id: str = "generated") -> Melody:
    """A melody over ``progression`` (see the module docstring for the procedure).

    Parameters
    ----------
    model : MelodyRNN
        In eval mode (on any device).
    progression : Progression
    seed : int
        Seeds the sampling generator.
    temperature : float
        Divides the log-probabilities; 0 takes the most likely tokens.

    Returns
    -------
    Melody
        Notes, the progression's chords and meter; ``end`` = the end of the last bar.
    """
    import torch

    from mirkit.data.melodies import Melody
    from mirkit.features import tokens as T

    temperature = check_temperature(temperature)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"--seed {seed!r}: give a whole number >= 0")
    q = T.EVENT_TICKS_PER_QUARTER
    bar_ticks = int(progression.bar_length * q)
    total = progression.n_bars * bar_ticks
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    prev = (model.pitch_bos, model.duration_bos)
    state: Any = (None, None)
    notes: list[tuple[Fraction, Fraction, int]] = []
    pos = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            while pos < total:
                root, pcs, nroot, npcs = T.chord_context(progression.chords, Fraction(pos, q))
                step = {"pitch_in": [[prev[0]]], "duration_in": [[prev[1]]],
                        "barpos": [[pos % bar_ticks]], "chord_root": [[root]],
                        "next_root": [[nroot]]}
                inputs = {k: torch.tensor(v, dtype=torch.int64, device=device)
                          for k, v in step.items()}
                inputs["chord_pcs"] = torch.tensor(pcs, dtype=torch.float32,
                                                   device=device).reshape(1, 1, -1)
                inputs["next_pcs"] = torch.tensor(npcs, dtype=torch.float32,
                                                  device=device).reshape(1, 1, -1)
                logp_pitch, logp_duration, state = model(inputs, state)
                pitch = _sample(logp_pitch[0, -1], temperature, generator)
                tag = _sample(logp_duration[0, -1], temperature, generator)
                length = min(T.DURATION_TICKS[tag], total - pos)
                if pitch != T.REST:
                    notes.append((Fraction(pos, q), Fraction(length, q), pitch + T.PITCH_OFFSET))
                pos += T.DURATION_TICKS[tag]
                prev = (pitch, tag)
    finally:
        model.train(was_training)
    return Melody(id=id, title=title, source="", meter=progression.meter, notes=tuple(notes),
                  chords=progression.chords, end=Fraction(total, q))


# --------------------------------------------------------------------------- analysis


def chord_tone_counts(melody: Melody) -> tuple[int, int]:
    """(chord tones, notes counted): notes whose pitch class belongs to the chord sounding
    at their onset, and the notes that have a chord (those before the first chord do not
    count)."""
    hits = counted = 0
    for on, _, pitch in melody.notes:
        chord = melody.chord_at(on)
        if chord is None:
            continue
        counted += 1
        hits += (pitch % 12) in chord.pcs
    return hits, counted


def chord_tone_share(melody: Melody) -> float | None:
    """Share of the notes that are chord tones (:func:`chord_tone_counts`); None when no
    note has a chord."""
    hits, counted = chord_tone_counts(melody)
    return hits / counted if counted else None


def note_name(pitch: int) -> str:
    """``60 -> "C4"`` (sharps, except Eb, Ab, Bb)."""
    return f"{_NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def melody_text(melody: Melody) -> str:
    """The melody as note names with durations in quarter notes, bars separated by ``|``.

    ``"E5:1 D5:1/2 r:1/2 | C5:2"``: ``r`` is a rest; a note is listed in the bar it starts in,
    so a bar in which nothing starts (a note held across it) is empty: ``"C5:8 | | D5:4"``
    in 4/4. There is one ``|`` per bar line, so N bars give N segments.
    """
    out: list[str] = []
    bar = melody.bar_length
    t = Fraction(0)
    current_bar = 0

    def add(start: Fraction, text: str) -> None:
        nonlocal current_bar
        b = int(start // bar)
        out.extend(["|"] * (b - current_bar))      # one bar line per bar crossed
        current_bar = max(current_bar, b)
        out.append(text)

    for on, dur, pitch in melody.notes:
        if on > t:
            add(t, f"r:{on - t}")
        add(on, f"{note_name(pitch)}:{dur}")
        t = on + dur
    if melody.last_offset > t:
        add(t, f"r:{melody.last_offset - t}")
    out.extend(["|"] * (melody.n_bars - 1 - current_bar))   # bars held to the end
    return " ".join(out)


# --------------------------------------------------------------------------- writing


def chord_voicing(chord: Chord) -> list[int]:
    """MIDI pitches of the accompaniment chord: the root from C3, the rest from C4."""
    return [BASS_OCTAVE + chord.root] + [CHORD_OCTAVE + pc for pc in chord.pcs
                                         if pc != chord.root]


def accompaniment_spans(melody: Melody) -> list[tuple[Fraction, Fraction, Chord]]:
    """(start, end, chord) of every accompaniment chord: each chord span cut at bar lines."""
    bar = melody.bar_length
    end_all = max(melody.last_offset, melody.n_bars * bar)
    spans = []
    for k, chord in enumerate(melody.chords):
        start = chord.onset
        end = melody.chords[k + 1].onset if k + 1 < len(melody.chords) else end_all
        while start < end:
            stop = min(end, (start // bar + 1) * bar)
            spans.append((start, stop, chord))
            start = stop
    return spans


def lead_sheet_score(melody: Melody, *, accompaniment: bool = False) -> Score:
    """The melody (part 0) and optionally the block-chord accompaniment (part 1) as a Score."""
    from mirkit.io.symbolic import PartInfo, Score

    pitch, on, off, vel, part = [], [], [], [], []
    for o, d, p in melody.notes:
        pitch.append(p)
        on.append(float(o))
        off.append(float(o + d))
        vel.append(MELODY_VELOCITY)
        part.append(0)
    parts = [PartInfo(name="Melody")]
    if accompaniment:
        parts.append(PartInfo(name="Chords"))
        for start, stop, chord in accompaniment_spans(melody):
            for p in chord_voicing(chord):
                pitch.append(p)
                on.append(float(start))
                off.append(float(stop))
                vel.append(CHORD_VELOCITY)
                part.append(1)
    return Score.from_notes(pitch, onset_beats=on, offset_beats=off, velocity=vel, part=part,
                            parts=parts, tempos=[(0.0, TEMPO_QPM)],
                            time_signatures=[(0.0, melody.meter[0], melody.meter[1])],
                            title=melody.title or None)


def _chord_symbol(chord: Chord) -> Any:
    """A music21 ChordSymbol showing the chord as written (flats as music21 spells them)."""
    from music21 import harmony

    text = chord.symbol.strip().strip("()")
    root_end = 2 if len(text) > 1 and text[1] in "#b" else 1
    root, rest = text[:root_end].replace("b", "-"), text[root_end:]
    quality, _, bass = rest.partition("/")
    quality = {"ø": "ø7", "m7b5": "ø7", "maj9": "M9", "d": "dim", "-": "m", "sus": "sus4",
               "7b9": "7 add b9"}.get(quality, quality)
    figure = root + quality + ("/" + bass[:1].upper() + bass[1:].replace("b", "-")
                               .replace("+", "#") if bass else "")
    try:
        symbol = harmony.ChordSymbol(figure)
    except Exception:                           # music21 lacks the abbreviation: by pitches
        symbol = harmony.ChordSymbol(root + ("m" if 3 in _intervals(chord) else ""))
    symbol.writeAsChord = False
    return symbol


def _intervals(chord: Chord) -> set[int]:
    return {(pc - chord.root) % 12 for pc in chord.pcs}


def _fill_part(part: Any, events: Sequence[tuple[Fraction, Fraction, Any]], end: Fraction
               ) -> None:
    """Insert ``(onset, duration, element factory result)`` and rests in the gaps."""
    from music21 import note

    t = Fraction(0)
    for on, dur, element in events:
        if on > t:
            part.insert(t, note.Rest(quarterLength=on - t))
        element.quarterLength = dur
        part.insert(on, element)
        t = on + dur
    if end > t:
        part.insert(t, note.Rest(quarterLength=end - t))


def write_lead_sheet(melody: Melody, path: str | os.PathLike[str], *,
                     accompaniment: bool = False) -> Path:
    """Write the melody with its chord symbols (and chords part) as MusicXML, atomically."""
    from music21 import chord as m21chord
    from music21 import instrument, metadata, meter, note, stream, tempo

    from mirkit.io.symbolic import save_music21_musicxml

    target = Path(path)
    end = max(melody.last_offset, melody.n_bars * melody.bar_length)
    sc = stream.Score()
    sc.metadata = metadata.Metadata()
    sc.metadata.title = melody.title or "Generated melody"
    lead = stream.Part()
    lead.partName = "Melody"
    lead.insert(0, instrument.Piano())
    lead.insert(0, meter.TimeSignature(f"{melody.meter[0]}/{melody.meter[1]}"))
    lead.insert(0, tempo.MetronomeMark(number=TEMPO_QPM, referent=1.0))
    _fill_part(lead, [(on, dur, note.Note(p)) for on, dur, p in melody.notes], end)
    for c in melody.chords:
        lead.insert(c.onset, _chord_symbol(c))
    parts = [lead]
    if accompaniment:
        comp = stream.Part()
        comp.partName = "Chords"
        comp.insert(0, instrument.Piano())
        comp.insert(0, meter.TimeSignature(f"{melody.meter[0]}/{melody.meter[1]}"))
        _fill_part(comp, [(a, b - a, m21chord.Chord(chord_voicing(c)))
                          for a, b, c in accompaniment_spans(melody)], end)
        parts.append(comp)
    for p in parts:
        sc.insert(0, p)
    return save_music21_musicxml(sc, target)


# --------------------------------------------------------------------------- the generator


def find_model(conditioning: str | Sequence[str]) -> str:
    """The shipped model trained with exactly this conditioning set.

    Raises
    ------
    ModelError
        None is, listing the conditionings the shipped models have.
    """
    from mirkit.models.melody import TASK, conditioning_label, parse_conditioning
    from mirkit.models.registry import list_models

    wanted = parse_conditioning(conditioning)
    shipped = [e for e in list_models(task=TASK) if not e.is_test]
    for entry in shipped:
        if parse_conditioning(entry.config.get("conditioning")) == wanted:
            return entry.name
    have = ", ".join(f"{e.name} ({conditioning_label(e.config.get('conditioning', []))})"
                     for e in shipped) or "none"
    raise ModelError(f"no shipped melody model is conditioned on "
                     f"{conditioning_label(wanted)}; shipped: {have}. Train one with "
                     f"`mirkit train melody` and pass it with --model PATH")


@dataclass
class MelodyGenerator:
    """A loaded melody model and the options of one run; :meth:`sample_file` writes a sample.

    Parameters
    ----------
    model : str, path or LoadedModel
        A registered name (default :data:`DEFAULT_MODEL`), a checkpoint, or loaded.
    conditioning : str or list, optional
        Pick the shipped model with this conditioning set (when ``model`` is None), or
        check that ``model`` has it.
    device : str
        ``auto``, ``cpu``, ``cuda``, ... (see :func:`mirkit.engine.device.resolve_device`).
    temperature : float
    """

    model: str | os.PathLike[str] | LoadedModel | None = None
    conditioning: str | Sequence[str] | None = None
    device: str = "cpu"
    temperature: float = 1.0
    loaded: LoadedModel = field(init=False)

    def __post_init__(self) -> None:
        from mirkit.engine.device import resolve_device
        from mirkit.models.melody import TASK, conditioning_label, parse_conditioning
        from mirkit.models.registry import LoadedModel, load_model

        self.temperature = check_temperature(self.temperature)
        wanted = None if self.conditioning is None else parse_conditioning(self.conditioning)
        spec = self.model
        if spec is None:
            spec = DEFAULT_MODEL if wanted is None else find_model(wanted)
        if isinstance(spec, LoadedModel):
            self.loaded = spec
        else:
            self.loaded = load_model(spec, device=resolve_device(self.device), task=TASK)
        have = tuple(getattr(self.loaded.module, "conditioning", ()))
        if wanted is not None and have != wanted:
            raise ParameterError(f"model {self.loaded.name!r} is conditioned on "
                                 f"{conditioning_label(have)}, not "
                                 f"{conditioning_label(wanted)}; leave out --model to pick a "
                                 f"shipped model by --conditioning")

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def module(self) -> MelodyRNN:
        return self.loaded.module

    def check_progression(self, progression: Progression) -> None:
        """Refuse a meter the model was not trained on."""
        meters = self.module.meters
        name = f"{progression.meter[0]}/{progression.meter[1]}"
        if meters is not None and name not in meters:
            raise ParameterError(f"model {self.name!r} was trained on {', '.join(meters)} "
                                 f"only; it cannot generate in {name} (choose one of those "
                                 f"meters, or train a model on {name} tunes)")

    def melody(self, progression: Progression, *, seed: int, title: str = "") -> Melody:
        """One generated melody (see :func:`generate`)."""
        self.check_progression(progression)
        return generate(self.module, progression, seed=seed, temperature=self.temperature,
                        title=title, id=f"{self.name}#seed{seed}")

    def sample_file(self, progression: Progression, *, sample: int, seed: int,
                    output: str | os.PathLike[str], filename: str = "{stem}-{sample}.{ext}",
                    stem: str = "melody", existing: ExistingPolicy = ExistingPolicy.ERROR,
                    accompaniment: bool = False) -> dict[str, Any]:
        """Generate sample ``sample`` with ``seed`` and write its MIDI and MusicXML files.

        Returns
        -------
        dict
            The result row: ``seed``, ``bars``, ``notes``, ``chord_tones`` (share, see
            :func:`chord_tone_share`), ``midi``, ``musicxml``, ``seconds``, ``melody``
            (:func:`melody_text`).
        """
        from mirkit.io.atomic import AtomicGroup
        from mirkit.io.symbolic import write_midi

        t0 = time.perf_counter()
        paths = output_paths(output, filename, stem=stem, sample=sample, seed=seed)
        claim_outputs(paths.values(), existing)
        melody = self.melody(progression, seed=seed, title=f"{stem}, seed {seed}")
        group = AtomicGroup()
        try:
            with group:
                write_midi(lead_sheet_score(melody, accompaniment=accompaniment),
                           group.path(paths["midi"]))
                write_lead_sheet(melody, group.path(paths["musicxml"]),
                                 accompaniment=accompaniment)
        except OSError as exc:
            raise InputError(f"cannot write sample {sample} in '{paths['midi'].parent}': "
                             f"{exc.strerror or exc}; check free space and permissions"
                             ) from exc
        share = chord_tone_share(melody)
        return {"seed": seed, "bars": progression.n_bars, "notes": len(melody.notes),
                "chord_tones": None if share is None else round(share, 3),
                "midi": str(paths["midi"]), "musicxml": str(paths["musicxml"]),
                "seconds": round(time.perf_counter() - t0, 3), "melody": melody_text(melody)}


def output_paths(output: str | os.PathLike[str], filename: str, *, stem: str, sample: int,
                 seed: int) -> dict[str, Path]:
    """The files of one sample, by kind.

    Raises
    ------
    ParameterError
        An unknown template field, or a template that gives both files one name.
    """
    paths = {k: output_path(output, filename, stem=stem, sample=sample, seed=seed, ext=ext)
             for k, ext in OUTPUT_KINDS.items()}
    if len(set(paths.values())) < len(paths):
        raise ParameterError(f"--filename {filename!r} gives both outputs the same name; "
                             "include {ext}, e.g. '{stem}-{sample}.{ext}'")
    return paths


def check_sample_names(output: str | os.PathLike[str], filename: str, *, stem: str,
                       samples: int, seed: int) -> None:
    """Refuse (ParameterError) a ``filename`` that gives two samples' files one name, before
    any sample is generated: with ``--overwrite`` one would silently replace another."""
    seen: dict[Path, int] = {}
    for k in range(1, samples + 1):
        for path in output_paths(output, filename, stem=stem, sample=k,
                                 seed=seed + k - 1).values():
            if path in seen:
                raise ParameterError(
                    f"--filename {filename!r} gives samples {seen[path]} and {k} the same "
                    f"name '{path.name}'; include {{sample}} or {{seed}}, e.g. "
                    "'{stem}-{sample}.{ext}'")
            seen[path] = k


def generate_melodies(progression: Progression, *, output: str | os.PathLike[str],
                      samples: int = 1, seed: int = 0,
                      model: str | os.PathLike[str] | None = None,
                      conditioning: str | Sequence[str] | None = None,
                      temperature: float = 1.0, accompaniment: bool = False,
                      filename: str = "{stem}-{sample}.{ext}", stem: str = "melody",
                      existing: ExistingPolicy = ExistingPolicy.ERROR, device: str = "cpu",
                      on_row: Callable[[dict[str, Any]], None] | None = None
                      ) -> list[dict[str, Any]]:
    """Generate ``samples`` melodies (sample ``k`` uses seed ``seed + k - 1``) into ``output``.

    The library form of ``mirkit generate-melody``; returns one result row per sample
    (:meth:`MelodyGenerator.sample_file`) with its ``sample`` number.
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ParameterError(f"--samples {samples!r}: give a whole number >= 1")
    check_sample_names(output, filename, stem=stem, samples=samples, seed=seed)
    gen = MelodyGenerator(model, conditioning=conditioning, device=device,
                          temperature=temperature)
    rows = []
    for k in range(1, samples + 1):
        row = {"sample": k, **gen.sample_file(progression, sample=k, seed=seed + k - 1,
                                              output=output, filename=filename, stem=stem,
                                              existing=existing, accompaniment=accompaniment)}
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
