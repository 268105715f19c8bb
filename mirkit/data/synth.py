"""Render symbolic music into multitrack training data (the engine of ``mirkit synth``).

Each piece (a MIDI, MusicXML, ABC or kern file, or a music21 corpus piece) becomes one track
(or several excerpts, see ``max_seconds``): its parts are given instrument classes, the
notes are augmented, each class is rendered to its own stem with FluidSynth and a General
MIDI soundfont, and frame labels are derived from exactly the notes that were rendered.
This is how seed 002's authors made their MuseScore set.

Pipeline of one track, each step with its own seeded random stream (so switching one
augmentation off does not change the draws of the others):

1. **Read** the piece (:func:`mirkit.io.symbolic.read_score`); parts without notes are
   dropped; parts flagged as drums keep their notes as class ``drums``.
2. **Accompaniment** (``accompany``, default on), only for pieces with one pitched part
   (folk tunes): a *bass line* with probability ``bass_prob`` (0.8) -- per metrical beat,
   the lowest melody note sounding in that beat, one or two octaves down (seeded, so that
   it stays at or above E1), repeated notes merged -- and/or a *doubling* with probability
   ``double_prob`` (0.5) -- the melody an octave up, an octave down or at unison, placed
   only where an instrument other than the melody's can play it. At least one of the two
   is added (the bass line when the doubling was not drawn or fits nowhere), so such
   tracks get 2-4 stems.
3. **Classes** (:func:`assign_classes`): each pitched part gets a class whose range covers
   the part's range (:func:`mirkit.data.instruments.classes_for_range`), drawn from the
   allowed classes (``instruments``, default all pitched classes) with weights favouring
   classes whose tessitura suits the part (see :func:`assign_classes`), preferring a class
   no earlier part has (``distinct_classes``). A part that fits no class is moved by
   octaves (0, -12, +12, -24, +24, -36, +36 semitones, the first that fits) or, if none
   fits, left out (recorded in ``skipped_parts``). Parts of one class share its stem. Each
   class then gets a General MIDI program drawn from its pool.
4. **Transposition** (``transpose``, default 3): a whole number of semitones uniform in
   ``[-3, 3]``, clamped so that every part stays inside its class range.
5. **Tempo** (``tempo_range``, default 0.85-1.15): every tempo of the tempo map is
   multiplied by one factor uniform in the range (``tempo_scale`` > 1 is faster).
6. **Drums** (``drums_prob``, default 0.5) when the piece has no drum part: a pattern from
   :mod:`mirkit.data.drums` that follows the time signatures and the (scaled) tempo map,
   played with a drum kit drawn from the ``drums`` pool on a drum channel.
7. **Velocity humanisation** (``velocity_sd``, default 8): Gaussian, clipped to 1..127.
8. **Timing jitter** (``jitter_ms``, default 10 ms): independent Gaussian shifts of every
   onset and offset; onsets stay >= 0 and every note lasts at least
   :data:`MIN_NOTE_SECONDS`. Repeated notes of one key in one part are then cut where the
   next one starts (a synthesizer ends both at the first note-off otherwise).
9. **Effects**: per stem a gain uniform in ``[-gain_db, gain_db]`` dB (default 6) and, with
   probability ``eq_prob`` (0.5), one random biquad (peaking, low shelf or high shelf;
   centre 80 Hz-8 kHz log-uniform, gain uniform in ``[-eq_gain_db, eq_gain_db]`` = +-9 dB,
   Q 0.5-2 for peaks, 0.707 for shelves) applied with :func:`scipy.signal.lfilter`. Per
   track, FluidSynth's reverb with probability ``reverb_prob`` (0.3) and chorus with
   ``chorus_prob`` (0.2); when on, each stem gets a random send level 20-100 (MIDI
   CC 91/93).
10. **Soundfont**: one per track, drawn from ``soundfonts`` (default: every one
    :func:`find_soundfonts` finds).

``augment=False`` (``--no-augment``) turns steps 4, 5, 7, 8 and 9 off (no transposition,
tempo 1, velocities and times as written, 0 dB, no EQ, no reverb or chorus); class,
program, accompaniment, drums and soundfont draws stay.

Rendering
    The ``lib`` backend (default when ``libfluidsynth`` loads) drives FluidSynth 2's C
    library through :mod:`ctypes`: one fresh synthesizer per track with one stereo audio
    group and one effects unit per stem (``fluid_synth_process``), so all stems render in
    one pass and the soundfont's samples stay cached in the process. Note events are
    placed on FluidSynth's 64-sample block grid (1.5 ms at 44.1 kHz). The ``cli`` backend
    runs ``fluidsynth -ni -q -g GAIN -r SR -O float -T wav -R 0|1 -C 0|1 -F out.wav SF2
    stem.mid`` once per stem (a temporary MIDI file per stem, written by
    :func:`mirkit.io.symbolic.write_midi`); it has no per-stem send levels.
    Stems are padded to a common length and mixed; the whole track (stems and mixture) is
    scaled by one factor so that no stem and not the mixture peaks above ``peak`` (0.9);
    that factor is recorded as ``scale``. The stems are rounded to 24 bits and written as
    FLAC; the mixture is written as the integer sum of those, so ``mixture.flac`` equals the
    sum of the ``stems/*.flac`` exactly (0 error, far inside the 1e-4 the layout promises).

Labels
    ``notes.csv`` holds the notes as rendered (after every augmentation, times rounded to
    microseconds) and ``labels.npz`` is
    :func:`mirkit.features.pianoroll.notes_to_labels` of exactly those notes on the
    :data:`CLASSES` axis at :data:`LABEL_SR` Hz with hop :data:`LABEL_HOP`, for
    ``n_frames(round(samples * LABEL_SR / sr), LABEL_HOP)`` frames.

Splits
    :func:`split_of` hashes the piece id (SHA-256) to train/valid/test 80/10/10, so all
    renders and excerpts of one piece share a split.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mirkit.data import drums as drumgen
from mirkit.data.instruments import BY_NAME, CLASSES, PITCHED, classes_for_range
from mirkit.errors import InputError, MirkitError, ParameterError

__all__ = [
    "CORPORA",
    "LABEL_HOP",
    "LABEL_SR",
    "SAMPLE_RATE",
    "Arrangement",
    "EQBand",
    "PieceList",
    "PieceRef",
    "RenderedTrack",
    "Stem",
    "SynthConfig",
    "TempoMap",
    "TrackJob",
    "arrange",
    "assign_classes",
    "augment",
    "collect_pieces",
    "eq_coefficients",
    "find_soundfonts",
    "holdout_names",
    "iter_pieces",
    "render_track",
    "run_job",
    "split_excerpts",
    "split_of",
    "write_track",
]

#: Audio sample rate of the stems and mixtures, Hz.
SAMPLE_RATE = 44100
#: Sample rate and hop (samples) of the frame labels: 31.25 frames per second.
LABEL_SR = 16000
LABEL_HOP = 512
#: Version of the on-disk layout (``dataset.json`` ``version``).
FORMAT_VERSION = 1
#: Train/valid/test shares of the split by piece.
SPLIT_SHARES: tuple[tuple[str, float], ...] = (("train", 0.8), ("valid", 0.1), ("test", 0.1))
#: Shortest note after jitter and overlap repair, seconds (FluidSynth's own minimum).
MIN_NOTE_SECONDS = 0.01
#: FluidSynth master gain (``-g``) every stem is rendered with.
RENDER_GAIN = 0.5
#: Longest release/reverb tail rendered after the last note-off, seconds.
MAX_TAIL_SECONDS = 8.0
#: A track longer than this (seconds) fails unless ``max_seconds`` cuts it into excerpts.
MAX_TRACK_SECONDS = 900.0
#: Where :func:`find_soundfonts` looks, and for which file names, in this order.
SOUNDFONT_DIRS: tuple[str, ...] = ("/usr/share/sounds/sf2", "/usr/share/sounds/sf3",
                                   "/usr/share/soundfonts")
SOUNDFONT_PATTERNS: tuple[str, ...] = ("FluidR3_GM.sf2", "TimGM6mb.sf2", "MuseScore_General*.sf2",
                                       "MuseScore_General*.sf3")
#: The holdout list shipped with the package (pieces of public evaluation sets).
HOLDOUT_PATH = Path(__file__).with_name("holdout_exclude.txt")
#: Named music21 corpus collections: name -> folder inside the music21 corpus.
CORPORA: dict[str, str] = {
    "bach-chorales": "bach",
    "essen": "essenFolksong",
    "oneills": "oneills1850",
    "airds": "airdsAirs",
    "ryans": "ryansMammoth",
}
#: Files of a track folder besides its stems.
TRACK_FILES = ("mixture.flac", "notes.csv", "labels.npz", "track.json")
BACKENDS = ("auto", "lib", "cli")

_SYMBOLIC_SUFFIXES = (".mid", ".midi", ".xml", ".musicxml", ".mxl", ".abc", ".krn")
_EPS = 1e-9


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SynthConfig:
    """Every rendering and augmentation setting of ``mirkit synth`` (defaults in brackets).

    Attributes
    ----------
    sample_rate : int
        Audio rate of stems and mixtures in Hz [44100]; FluidSynth accepts 8000-96000.
    instruments : tuple of str
        Pitched classes parts may become [all of :data:`~mirkit.data.instruments.PITCHED`].
    soundfonts : tuple of str
        Soundfont files to draw from per track [() = :func:`find_soundfonts`].
    backend : {"auto", "lib", "cli"}
        FluidSynth through its C library or its command-line program ["auto": lib if it
        loads, else cli].
    distinct_classes : bool
        Prefer a class no other part of the piece has [True].
    accompany : bool
        Add a bass line and/or a doubling to pieces with one pitched part [True].
    bass_prob, double_prob : float
        Probabilities of the bass line [0.8] and of the doubling [0.5].
    drums_prob : float
        Probability of adding a generated drum part [0.5].
    augment : bool
        Master switch of the augmentations below [True].
    transpose : int
        Largest transposition in semitones, drawn uniformly in ``[-transpose, transpose]``
        and clamped to the class ranges [3].
    tempo_range : (float, float)
        Range of the uniform tempo factor [(0.85, 1.15)].
    velocity_sd : float
        Standard deviation of the velocity humanisation [8.0].
    jitter_ms : float
        Standard deviation of the onset/offset jitter in milliseconds [10.0].
    gain_db : float
        Per-stem gain uniform in ``[-gain_db, gain_db]`` dB [6.0].
    reverb_prob, chorus_prob : float
        Probabilities of FluidSynth's reverb [0.3] and chorus [0.2] per track.
    eq_prob : float
        Probability of a random biquad per stem [0.5].
    eq_gain_db : float
        Largest EQ boost/cut in dB [9.0].
    max_seconds : float or None
        Cut longer pieces into excerpts of at most this many seconds at bar lines [None].
    peak : float
        Highest absolute sample of any stem or the mixture after scaling [0.9].
    """

    sample_rate: int = SAMPLE_RATE
    instruments: tuple[str, ...] = PITCHED
    soundfonts: tuple[str, ...] = ()
    backend: str = "auto"
    distinct_classes: bool = True
    accompany: bool = True
    bass_prob: float = 0.8
    double_prob: float = 0.5
    drums_prob: float = 0.5
    augment: bool = True
    transpose: int = 3
    tempo_range: tuple[float, float] = (0.85, 1.15)
    velocity_sd: float = 8.0
    jitter_ms: float = 10.0
    gain_db: float = 6.0
    reverb_prob: float = 0.3
    chorus_prob: float = 0.2
    eq_prob: float = 0.5
    eq_gain_db: float = 9.0
    max_seconds: float | None = None
    peak: float = 0.9

    def __post_init__(self) -> None:
        if not 8000 <= int(self.sample_rate) <= 96000 or self.sample_rate != int(self.sample_rate):
            raise ParameterError(f"sample rate {self.sample_rate} Hz: FluidSynth renders at "
                                 "8000-96000 Hz; use e.g. 44100")
        object.__setattr__(self, "sample_rate", int(self.sample_rate))
        names = tuple(dict.fromkeys(self.instruments))
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            raise ParameterError(f"unknown instrument class(es) {', '.join(unknown)}; choose "
                                 f"from {', '.join(PITCHED)}")
        pitched = tuple(n for n in names if not BY_NAME[n].is_drum)
        if not pitched:
            raise ParameterError(f"--instruments {','.join(names) or '(empty)'} names no "
                                 f"pitched class; choose from {', '.join(PITCHED)}")
        object.__setattr__(self, "instruments", pitched)
        object.__setattr__(self, "soundfonts", tuple(str(s) for s in self.soundfonts))
        if self.backend not in BACKENDS:
            raise ParameterError(f"backend {self.backend!r}: use one of {', '.join(BACKENDS)}")
        for name in ("bass_prob", "double_prob", "drums_prob", "reverb_prob", "chorus_prob",
                     "eq_prob"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ParameterError(f"{name.replace('_', '-')} {value}: a probability must "
                                     "be between 0 and 1")
        if self.transpose < 0 or self.transpose != int(self.transpose):
            raise ParameterError(f"transpose {self.transpose}: give a whole number of "
                                 "semitones >= 0")
        lo, hi = (float(x) for x in self.tempo_range)
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ParameterError(f"tempo range {self.tempo_range}: need 0 < low <= high, "
                                 "e.g. 0.85,1.15")
        object.__setattr__(self, "tempo_range", (lo, hi))
        for name in ("velocity_sd", "jitter_ms", "gain_db", "eq_gain_db"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ParameterError(f"{name.replace('_', '-')} {value} must be >= 0")
        if self.max_seconds is not None and not (self.max_seconds >= 5.0
                                                 and math.isfinite(self.max_seconds)):
            raise ParameterError(f"max-seconds {self.max_seconds}: excerpts must be at "
                                 "least 5 seconds long")
        if not 0 < self.peak <= 1:
            raise ParameterError(f"peak {self.peak} must be in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (for ``dataset.json``)."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out


# --------------------------------------------------------------------------- soundfonts


def find_soundfonts() -> list[Path]:
    """Installed General MIDI soundfonts, in a fixed order (see :data:`SOUNDFONT_PATTERNS`).

    Looks in :data:`SOUNDFONT_DIRS` for FluidR3_GM.sf2, TimGM6mb.sf2 and MuseScore's
    General soundfont; the same file reached through two names counts once.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for pattern in SOUNDFONT_PATTERNS:
        for folder in SOUNDFONT_DIRS:
            for path in sorted(Path(folder).glob(pattern)):
                real = path.resolve()
                if path.is_file() and real not in seen:
                    seen.add(real)
                    found.append(path)
    return found


def resolve_soundfonts(config: SynthConfig) -> list[Path]:
    """The soundfonts of a run: ``config.soundfonts`` or :func:`find_soundfonts`; checked."""
    if config.soundfonts:
        paths = [Path(s).expanduser() for s in config.soundfonts]
        for p in paths:
            if not p.is_file():
                raise ParameterError(f"--soundfont '{p}' does not exist; give a .sf2/.sf3 file")
        return list(dict.fromkeys(paths))
    found = find_soundfonts()
    if not found:
        raise ParameterError(
            "no soundfont found in " + ", ".join(SOUNDFONT_DIRS) + ": install one "
            "(sudo apt-get install fluid-soundfont-gm timgm6mb-soundfont) or pass --soundfont")
    return found


# --------------------------------------------------------------------------- holdout


def holdout_names(path: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """Keys of the holdout list: each line, its file name and that name without suffix.

    The list (:data:`HOLDOUT_PATH`, a copy of the project's ``holdout-exclude.txt``) names
    one music21 corpus path or file name per line (``#`` starts a comment). A piece is held
    out when its corpus path, its file name or its file name without suffix is a key, so a
    listed chorale is also excluded after conversion to another format. Keys are lower case.
    """
    p = Path(path) if path is not None else HOLDOUT_PATH
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ParameterError(f"cannot read the holdout list '{p}': {exc}") from exc
    keys: set[str] = set()
    for line in lines:
        entry = line.split("#", 1)[0].strip().replace("\\", "/").lower()
        if entry:
            name = entry.rsplit("/", 1)[-1]
            keys.update({entry, name, _strip_suffix(name)})
    return frozenset(keys)


def _strip_suffix(name: str) -> str:
    low = name.lower()
    for suffix in _SYMBOLIC_SUFFIXES:
        if low.endswith(suffix):
            return name[: -len(suffix)]
    return name


# --------------------------------------------------------------------------- pieces


@dataclass(frozen=True)
class PieceRef:
    """One piece to render, found without parsing its music.

    Attributes
    ----------
    source : str
        ``music21:<corpus path without suffix>`` or ``file:<path>``, plus ``#<k>`` for
        tune ``k`` (from 0) of an ABC file holding several tunes.
    piece : str
        The id the split is drawn from: ``<corpus folder>/<name>`` for corpus pieces, the
        file name without suffix for files, plus ``#<k>`` as above.
    path : str
        The file to read.
    index : int
        Tune index for :func:`mirkit.io.symbolic.read_score`.
    title : str
        Title when known without parsing (ABC ``T:``), else ''.
    """

    source: str
    piece: str
    path: str
    index: int = 0
    title: str = ""


@dataclass
class PieceList:
    """The result of :func:`collect_pieces`."""

    pieces: list[PieceRef] = field(default_factory=list)
    held_out: list[PieceRef] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)   # (source, message)


def _corpus_root() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def _chorale_files(root: Path) -> list[Path]:
    """The Bach chorales of the music21 corpus: every score file of its ``bach`` folder.

    One file per name (MusicXML preferred over kern); the Roman-numeral analyses
    (``.rntxt``) are left out. This is a superset of music21's chorale iterator, whose
    Riemenschneider list leaves out chorales the folder has (e.g. bwv66.6).
    """
    by_stem: dict[str, Path] = {}
    rank = {".mxl": 0, ".xml": 1, ".krn": 2}
    for p in sorted((root / "bach").iterdir()):
        suffix = p.suffix.lower()
        if suffix in rank:
            stem = p.name[: -len(suffix)].lower()
            if stem not in by_stem or rank[suffix] < rank[by_stem[stem].suffix.lower()]:
                by_stem[stem] = p
    return [by_stem[k] for k in sorted(by_stem)]


_VARIANT = re.compile(r"-[a-z0-9]+$", re.IGNORECASE)


def _collection_files(name: str) -> tuple[Path, list[Path]]:
    """(corpus root, files) of a named collection (see :data:`CORPORA`)."""
    root = _corpus_root()
    folder = root / CORPORA[name]
    if name == "bach-chorales":
        return root, _chorale_files(root)
    files = sorted(p for p in folder.glob("*.abc")
                   if not (name == "essen" and p.name.lower().startswith("test")))
    return root, files


def _refs_of_file(path: Path, *, corpus_rel: str | None) -> list[PieceRef]:
    """PieceRefs of one file (one per tune of an ABC file)."""
    from mirkit.io.symbolic import list_tunes

    stem = _strip_suffix(path.name)
    if corpus_rel is not None:
        base_source = "music21:" + _strip_suffix(corpus_rel)
        base_piece = _strip_suffix(corpus_rel)
        if base_piece.startswith("bach/"):      # versions of one chorale: bwv18.5-lz, -w
            base_piece = _VARIANT.sub("", base_piece)
    else:
        base_source = f"file:{path}"
        base_piece = stem
    if path.suffix.lower() != ".abc":
        return [PieceRef(base_source, base_piece, str(path))]
    tunes = list_tunes(path)
    if len(tunes) == 1:
        return [PieceRef(base_source, base_piece, str(path), 0, tunes[0][1])]
    return [PieceRef(f"{base_source}#{k}", f"{base_piece}#{k}", str(path), k, title)
            for k, title in tunes]


def _is_held_out(path: Path, corpus_rel: str | None, keys: frozenset[str]) -> bool:
    names = {path.name.lower(), _strip_suffix(path.name).lower()}
    if corpus_rel is not None:
        rel = _strip_suffix(corpus_rel).lower()
        names.update({corpus_rel.lower(), rel, rel.rsplit("/", 1)[-1]})
        if rel.startswith("bach/"):
            names.update({_VARIANT.sub("", rel), _VARIANT.sub("", rel).rsplit("/", 1)[-1]})
    return bool(names & keys)


def collect_pieces(
    sources: Sequence[str | os.PathLike[str]] = (),
    corpora: Sequence[str] = (),
    *,
    holdout: frozenset[str] | None = None,
) -> PieceList:
    """Find every piece of the sources and corpus collections, without parsing music.

    Parameters
    ----------
    sources : sequence of path
        Files, folders (searched recursively for MIDI, MusicXML, ABC and kern files),
        globs, or ``-`` (paths on standard input). An ABC file gives one piece per tune.
    corpora : sequence of str
        Names from :data:`CORPORA`: ``bach-chorales`` (every score of the corpus's ``bach``
        folder; versions of one chorale, such as ``bwv18.5-lz`` and ``bwv18.5-w``, share
        the piece id ``bach/bwv18.5``), ``essen`` (essenFolksong ABC books, without the
        test*.abc files), ``oneills``, ``airds``, ``ryans``.
    holdout : frozenset of str, optional
        Keys from :func:`holdout_names` (the default); matching pieces go to
        ``held_out`` instead of ``pieces``.

    Returns
    -------
    PieceList
        ``pieces`` in a fixed order (sources as given, collections in file order), without
        duplicate files; ``problems`` holds (source, message) for arguments that named
        nothing readable.
    """
    from mirkit.io.batch import expand_inputs

    unknown = [c for c in corpora if c not in CORPORA]
    if unknown:
        raise ParameterError(f"unknown corpus {', '.join(map(repr, unknown))}; choose from "
                             f"{', '.join(CORPORA)}")
    keys = holdout_names() if holdout is None else holdout
    out = PieceList()
    seen: set[str] = set()
    items: list[tuple[Path, str | None]] = []
    # problems in the order of the arguments: a bad argument before the found item it
    # precedes (key (position, 0)), an unreadable file at its own place (key (index, 1))
    problems: list[tuple[tuple[int, int], tuple[str, str]]] = []
    if sources:
        paths, bad = expand_inputs([str(s) for s in sources],
                                   extensions=frozenset(_SYMBOLIC_SUFFIXES))
        if not paths and not bad and not corpora:
            raise ParameterError("no inputs given: standard input held no paths")
        problems.extend(((p.position, 0), (f"file:{p.spec}", p.message)) for p in bad)
        root = _corpus_root() if any(_inside_corpus(p) for p in paths) else None
        for p in paths:
            rel = None
            if root is not None:
                with contextlib.suppress(ValueError):
                    rel = p.resolve().relative_to(root.resolve()).as_posix()
            items.append((p, rel))
    for name in dict.fromkeys(corpora):
        root, files = _collection_files(name)
        items.extend((p, p.relative_to(root).as_posix()) for p in files)
    for index, (path, rel) in enumerate(items):
        key = str(path.resolve())
        if key in seen:
            continue
        seen.add(key)
        try:
            refs = _refs_of_file(path, corpus_rel=rel)
        except MirkitError as exc:
            problems.append(((index, 1),
                             (f"file:{path}" if rel is None else f"music21:{rel}", str(exc))))
            continue
        (out.held_out if _is_held_out(path, rel, keys) else out.pieces).extend(refs)
    out.problems.extend(problem for _, problem in sorted(problems, key=lambda x: x[0]))
    return out


def _inside_corpus(path: Path) -> bool:
    return "music21" in path.resolve().parts and "corpus" in path.resolve().parts


def iter_pieces(pieces: Sequence[PieceRef], *, seed: int, passes: int | None = 1,
                ) -> Iterator[tuple[int, PieceRef]]:
    """Yield ``(pass, piece)`` in a seeded order, pass after pass.

    Every pass visits each piece once in a fresh seeded permutation; ``passes=None``
    repeats forever (the caller stops, e.g. at ``--hours``). Nothing is parsed here, so a
    run that needs few pieces reads few.
    """
    if not pieces:
        return
    k = 0
    while passes is None or k < passes:
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x5EED, k)))
        for i in rng.permutation(len(pieces)):
            yield k, pieces[int(i)]
        k += 1


def split_of(piece: str) -> str:
    """The split of a piece id: SHA-256 of the id -> train 80 % / valid 10 % / test 10 %."""
    digest = hashlib.sha256(piece.encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    acc = 0.0
    for name, share in SPLIT_SHARES:
        acc += share
        if u < acc:
            return name
    return SPLIT_SHARES[-1][0]


def job_seed(seed: int, number: int) -> int:
    """The seed of job ``number`` (1-based) of a run with global ``seed`` (32-bit)."""
    return int(np.random.SeedSequence(int(seed), spawn_key=(int(number),)).generate_state(1)[0])


# --------------------------------------------------------------------------- tempo map


class TempoMap:
    """Piecewise-constant tempo: quarter-note beats <-> seconds.

    Parameters
    ----------
    tempos : sequence of (beat, quarter notes per minute)
        Sorted, the first at beat 0 (as :attr:`mirkit.io.symbolic.Score.tempos`).
    """

    def __init__(self, tempos: Sequence[tuple[float, float]]) -> None:
        pairs = sorted((float(b), float(q)) for b, q in tempos) or [(0.0, 120.0)]
        if pairs[0][0] > 0:
            pairs.insert(0, (0.0, 120.0))
        self.beats = np.array([b for b, _ in pairs], dtype=np.float64)
        self.qpm = np.array([q for _, q in pairs], dtype=np.float64)
        spb = 60.0 / self.qpm
        self.starts = np.concatenate([[0.0], np.cumsum(np.diff(self.beats) * spb[:-1])])

    @property
    def tempos(self) -> list[tuple[float, float]]:
        return [(float(b), float(q)) for b, q in zip(self.beats, self.qpm, strict=True)]

    def to_seconds(self, beats: Any) -> NDArray[np.float64]:
        x = np.asarray(beats, dtype=np.float64)
        i = np.maximum(np.searchsorted(self.beats, x, side="right") - 1, 0)
        return self.starts[i] + (x - self.beats[i]) * 60.0 / self.qpm[i]

    def to_beats(self, seconds: Any) -> NDArray[np.float64]:
        t = np.asarray(seconds, dtype=np.float64)
        i = np.maximum(np.searchsorted(self.starts, t, side="right") - 1, 0)
        return self.beats[i] + (t - self.starts[i]) * self.qpm[i] / 60.0

    def scaled(self, factor: float) -> TempoMap:
        """Every tempo times ``factor`` (> 1 is faster)."""
        return TempoMap([(b, q * factor) for b, q in self.tempos])

    def shifted(self, start_seconds: float) -> TempoMap:
        """The tempo map of the music from ``start_seconds`` on (that moment is beat 0)."""
        b0 = float(self.to_beats(start_seconds))
        i = int(np.searchsorted(self.beats, b0, side="right")) - 1
        rest = [(b - b0, q) for b, q in self.tempos[i + 1:]]
        return TempoMap([(0.0, float(self.qpm[max(i, 0)])), *rest])


# --------------------------------------------------------------------------- arrangement

#: The note table of an arrangement: seconds, MIDI key, velocity, stem index and the
#: voice (part) inside the stem, which gets its own MIDI channel.
NOTE_DTYPE = np.dtype([("onset", np.float64), ("offset", np.float64), ("pitch", np.int16),
                       ("velocity", np.int16), ("stem", np.int16), ("voice", np.int16)])


@dataclass(frozen=True)
class EQBand:
    """One biquad: ``kind`` in {"peak", "lowshelf", "highshelf"}, centre ``freq`` (Hz),
    ``gain_db`` and ``q``."""

    kind: str
    freq: float
    gain_db: float
    q: float


@dataclass
class Stem:
    """One instrument class of a track: its program and effects.

    ``voices`` parts share the stem, each on its own MIDI channel. ``reverb_send`` and
    ``chorus_send`` are MIDI CC 91/93 values (None: the soundfont's default).
    """

    cls: str
    program: int
    voices: int = 1
    gain_db: float = 0.0
    eq: EQBand | None = None
    reverb_send: int | None = None
    chorus_send: int | None = None

    @property
    def is_drum(self) -> bool:
        return BY_NAME[self.cls].is_drum


@dataclass
class Arrangement:
    """A track ready to render.

    Attributes
    ----------
    notes : np.ndarray, dtype NOTE_DTYPE
        Sorted by onset; times in seconds.
    stems : list of Stem
        In :data:`CLASSES` order; ``notes["stem"]`` indexes it.
    tempo : TempoMap
        After tempo scaling (used for bar lines and the ``cli`` backend's MIDI files).
    time_signatures : list of (beat, numerator, denominator)
    reverb, chorus : bool
    soundfont : str
    info : dict
        What was drawn (transpose, tempo_scale, accompaniment, drums, ...), for the manifest.
    """

    notes: NDArray[Any]
    stems: list[Stem]
    tempo: TempoMap
    time_signatures: list[tuple[float, int, int]]
    reverb: bool
    chorus: bool
    soundfont: str
    info: dict[str, Any]

    @property
    def end(self) -> float:
        """Last note-off, seconds."""
        return float(self.notes["offset"].max()) if len(self.notes) else 0.0


_STREAMS = ("classes", "programs", "accompany", "drums", "transpose", "tempo", "velocity",
            "jitter", "effects", "soundfont")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per pipeline step, all from ``seed``."""
    return {name: np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(i,)))
            for i, name in enumerate(_STREAMS)}


def assign_classes(
    ranges: Sequence[tuple[int, int]],
    rng: np.random.Generator,
    *,
    allowed: Sequence[str] = PITCHED,
    distinct: bool = True,
) -> list[tuple[str, int] | None]:
    """Draw a class for each pitched part from its range.

    Parameters
    ----------
    ranges : sequence of (lowest, highest) MIDI pitch
        One per part, in order.
    rng : np.random.Generator
    allowed : sequence of str
        Classes to draw from.
    distinct : bool
        Prefer classes not yet given to an earlier part.

    Among the classes whose range covers the part, the draw favours those whose tessitura
    suits it: class ``c`` has weight ``exp(-((m - m_c) / s_c)^2 / 2)``, with ``m`` the middle
    of the part's range, ``m_c`` the middle of the class's range and ``s_c`` a quarter of its
    width, so an alto line rarely becomes a bass guitar but every fitting class stays
    possible.

    Returns
    -------
    list of (class, octave shift in semitones) or None
        ``None`` for a part that fits no allowed class at any octave shift in
        0, -12, +12, -24, +24, -36, +36.
    """
    allowed = tuple(allowed)
    used: set[str] = set()
    out: list[tuple[str, int] | None] = []
    for low, high in ranges:
        choice: tuple[str, int] | None = None
        for shift in (0, -12, 12, -24, 24, -36, 36):
            fits = classes_for_range(int(low) + shift, int(high) + shift, allowed=allowed)
            if fits:
                fresh = [c for c in fits if c not in used]
                pool = fresh if distinct and fresh else list(fits)
                choice = (pool[_tessitura_draw(pool, (low + high) / 2 + shift, rng)], shift)
                break
        if choice is not None:
            used.add(choice[0])
        out.append(choice)
    return out


def _tessitura_draw(pool: Sequence[str], middle: float, rng: np.random.Generator) -> int:
    """Index into ``pool`` drawn with weights favouring classes centred near ``middle``."""
    centres = np.array([(BY_NAME[c].low + BY_NAME[c].high) / 2 for c in pool])
    widths = np.array([(BY_NAME[c].high - BY_NAME[c].low) / 4 for c in pool])
    weights = np.exp(-0.5 * ((middle - centres) / widths) ** 2) + 1e-6
    cumulative = np.cumsum(weights / weights.sum())
    index = int(np.searchsorted(cumulative, rng.random(), side="right"))
    return min(index, len(pool) - 1)


def _accompaniment(on: NDArray[np.float64], off: NDArray[np.float64], pitch: NDArray[Any],
                   vel: NDArray[Any], time_signatures: list[tuple[float, int, int]],
                   rng: np.random.Generator, config: SynthConfig
                   ) -> list[tuple[str, NDArray[Any]]]:
    """Extra parts for a one-part piece: (name, rows (on, off, pitch, velocity) in beats).

    A doubling is only placed where another instrument than the melody's can play it
    (an octave up, down, or at unison); when none can, or when neither part was drawn, the
    bass line is added instead.
    """
    want_bass = rng.random() < config.bass_prob
    want_double = rng.random() < config.double_prob
    parts: list[tuple[str, NDArray[Any]]] = []
    low, high = int(pitch.min()), int(pitch.max())
    if want_double:
        melody_classes = set(classes_for_range(low, high, allowed=config.instruments))
        shifts = []
        for s in (12, -12, 0):
            fits = set(classes_for_range(low + s, high + s, allowed=config.instruments)
                       if 0 <= low + s and high + s <= 127 else ())
            if fits - melody_classes or len(fits) >= 2:
                shifts.append(s)
        if shifts:
            s = shifts[int(rng.integers(len(shifts)))]
            rows_d = np.column_stack([on, off, pitch.astype(np.float64) + s,
                                      np.maximum(vel.astype(np.float64) - 5, 1)])
            parts.append((f"double{s:+d}", rows_d))
    if want_bass or not parts:
        octaves = [k for k in (1, 2) if low - 12 * k >= 28] or [1]
        k = octaves[int(rng.integers(len(octaves)))]
        grid = drumgen.beat_starts(time_signatures, float(off.max()))
        edges = np.append(grid, max(float(off.max()), grid[-1] + _EPS) if len(grid) else 0.0)
        rows: list[list[float]] = []
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            sounding = (on < b - _EPS) & (off > a + _EPS)
            if not sounding.any():
                continue
            p = int(pitch[sounding].min()) - 12 * k
            v = max(1, int(vel[sounding].max()) - 10)
            if rows and rows[-1][2] == p and abs(rows[-1][1] - a) < _EPS:
                rows[-1][1] = b                       # merge a repeated bass note
            else:
                rows.append([a, b, p, v])
        if rows:
            parts.insert(0, (f"bass-{12 * k}", np.array(rows, dtype=np.float64)))
    return parts


def augment(notes: NDArray[Any], *, velocity_rng: np.random.Generator,
            jitter_rng: np.random.Generator, velocity_sd: float, jitter_ms: float
            ) -> NDArray[Any]:
    """Velocity humanisation and timing jitter of a note table (NOTE_DTYPE, seconds).

    Velocities get Gaussian noise of ``velocity_sd`` (clipped to 1..127); onsets and
    offsets get independent Gaussian shifts of ``jitter_ms`` milliseconds, onsets clipped
    at 0 and offsets kept at least :data:`MIN_NOTE_SECONDS` after their onsets. Returns a
    new table, sorted by onset.
    """
    out = notes.copy()
    n = len(out)
    if velocity_sd > 0 and n:
        v = out["velocity"].astype(np.float64) + velocity_rng.normal(0.0, velocity_sd, n)
        out["velocity"] = np.clip(np.rint(v), 1, 127)
    if jitter_ms > 0 and n:
        sd = jitter_ms / 1000.0
        on = np.maximum(out["onset"] + jitter_rng.normal(0.0, sd, n), 0.0)
        off = out["offset"] + jitter_rng.normal(0.0, sd, n)
        out["onset"] = on
        out["offset"] = np.maximum(off, on + MIN_NOTE_SECONDS)
    return _sorted(out)


def _sorted(notes: NDArray[Any]) -> NDArray[Any]:
    order = np.lexsort((notes["voice"], notes["stem"], notes["pitch"], notes["onset"]))
    return notes[order]


def _repair_overlaps(notes: NDArray[Any]) -> NDArray[Any]:
    """End each note of a (stem, voice, key) where the next one starts; drop slivers."""
    if not len(notes):
        return notes
    order = np.lexsort((notes["onset"], notes["pitch"], notes["voice"], notes["stem"]))
    x = notes[order].copy()
    same = ((x["stem"][1:] == x["stem"][:-1]) & (x["voice"][1:] == x["voice"][:-1])
            & (x["pitch"][1:] == x["pitch"][:-1]))
    cut = np.minimum(x["offset"][:-1], x["onset"][1:])
    x["offset"][:-1] = np.where(same, cut, x["offset"][:-1])
    keep = x["offset"] - x["onset"] >= MIN_NOTE_SECONDS - 1e-12
    return _sorted(x[keep])


def _eq_band(rng: np.random.Generator, config: SynthConfig) -> EQBand:
    kind = ("peak", "lowshelf", "highshelf")[int(rng.integers(3))]
    nyquist_safe = 0.45 * config.sample_rate
    freq = float(min(math.exp(rng.uniform(math.log(80.0), math.log(8000.0))), nyquist_safe))
    gain = float(rng.uniform(-config.eq_gain_db, config.eq_gain_db))
    q = float(rng.uniform(0.5, 2.0)) if kind == "peak" else 1 / math.sqrt(2)
    return EQBand(kind, round(freq, 3), round(gain, 3), round(q, 4))


def eq_coefficients(band: EQBand, sr: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Biquad ``(b, a)`` of an :class:`EQBand` (the RBJ audio-EQ formulas), ``a[0] == 1``."""
    amp = 10.0 ** (band.gain_db / 40.0)
    w0 = 2.0 * math.pi * band.freq / sr
    cos_w, alpha = math.cos(w0), math.sin(w0) / (2.0 * band.q)
    if band.kind == "peak":
        b = [1 + alpha * amp, -2 * cos_w, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cos_w, 1 - alpha / amp]
    elif band.kind in ("lowshelf", "highshelf"):
        sign = 1.0 if band.kind == "lowshelf" else -1.0
        root = 2.0 * math.sqrt(amp) * alpha
        b = [amp * ((amp + 1) - sign * (amp - 1) * cos_w + root),
             sign * 2 * amp * ((amp - 1) - sign * (amp + 1) * cos_w),
             amp * ((amp + 1) - sign * (amp - 1) * cos_w - root)]
        a = [(amp + 1) + sign * (amp - 1) * cos_w + root,
             -sign * 2 * ((amp - 1) + sign * (amp + 1) * cos_w),
             (amp + 1) + sign * (amp - 1) * cos_w - root]
    else:
        raise ParameterError(f"EQ kind {band.kind!r}: use peak, lowshelf or highshelf")
    b_arr, a_arr = np.array(b), np.array(a)
    return b_arr / a_arr[0], a_arr / a_arr[0]


def arrange(score: Any, *, seed: int, config: SynthConfig, soundfonts: Sequence[str]
            ) -> Arrangement:
    """Turn a :class:`mirkit.io.symbolic.Score` into an :class:`Arrangement`.

    Runs steps 2-10 of the module docstring with generators drawn from ``seed``.

    Raises
    ------
    InputError
        When no part fits any allowed class.
    """
    rngs = _streams(seed)
    info: dict[str, Any] = {"title": score.title or ""}
    time_sigs = list(score.time_signatures)
    notes = score.notes
    # -- parts: (name, rows[on_b, off_b, pitch, vel], is_drum)
    parts: list[tuple[str, NDArray[Any], bool]] = []
    for k, part in enumerate(score.parts):
        sel = notes["part"] == k
        if not sel.any():
            continue
        rows = np.column_stack([notes["onset_beats"][sel], notes["offset_beats"][sel],
                                notes["pitch"][sel], notes["velocity"][sel]]).astype(np.float64)
        parts.append((part.name or f"part {k + 1}", rows, bool(part.is_drum)))
    pitched = [p for p in parts if not p[2]]
    accompaniment: list[str] = []
    if config.accompany and len(pitched) == 1:
        rows = pitched[0][1]
        for name, extra in _accompaniment(rows[:, 0], rows[:, 1], rows[:, 2].astype(int),
                                          rows[:, 3].astype(int), time_sigs,
                                          rngs["accompany"], config):
            parts.append((name, extra, False))
            accompaniment.append(name)
    info["accompaniment"] = accompaniment
    # -- classes
    pitched_idx = [i for i, p in enumerate(parts) if not p[2]]
    ranges = [(int(parts[i][1][:, 2].min()), int(parts[i][1][:, 2].max())) for i in pitched_idx]
    chosen = assign_classes(ranges, rngs["classes"], allowed=config.instruments,
                            distinct=config.distinct_classes)
    part_class: dict[int, tuple[str, int]] = {}
    skipped: list[str] = []
    for i, pick in zip(pitched_idx, chosen, strict=True):
        if pick is None:
            lo, hi = ranges[pitched_idx.index(i)]
            skipped.append(f"{parts[i][0]} (pitches {lo}-{hi} fit no class)")
        else:
            part_class[i] = pick
    for i, p in enumerate(parts):
        if p[2]:
            part_class[i] = ("drums", 0)
    if not part_class:
        raise InputError("no part fits any allowed instrument class"
                         + (f": {'; '.join(skipped)}" if skipped else ""))
    info["skipped_parts"] = skipped
    # -- transposition, clamped to the class ranges
    transpose = 0
    if config.augment and config.transpose:
        lo_t, hi_t = -128, 128
        for i, (cls, shift) in part_class.items():
            if cls == "drums":
                continue
            c = BY_NAME[cls]
            lo_t = max(lo_t, c.low - int(parts[i][1][:, 2].min()) - shift)
            hi_t = min(hi_t, c.high - int(parts[i][1][:, 2].max()) - shift)
        drawn = int(rngs["transpose"].integers(-config.transpose, config.transpose + 1))
        transpose = int(min(max(drawn, lo_t), hi_t))
    info["transpose"] = transpose
    info["octave_shifts"] = {parts[i][0]: s for i, (_, s) in part_class.items() if s}
    # -- tempo
    scale = 1.0
    if config.augment:
        lo_s, hi_s = config.tempo_range
        scale = float(rngs["tempo"].uniform(lo_s, hi_s)) if hi_s > lo_s else lo_s
    tempo = TempoMap(score.tempos).scaled(scale)
    info["tempo_scale"] = round(scale, 6)
    # -- drums
    drum_info: dict[str, Any] | None = None
    if not any(p[2] for p in parts) and rngs["drums"].random() < config.drums_prob:
        end_beat = max(float(p[1][:, 1].max()) for p in parts)
        dp = drumgen.drum_pattern(time_sigs, end_beat, rngs["drums"])
        if len(dp):
            rows = np.column_stack([dp.onset_beats, dp.offset_beats, dp.pitch,
                                    dp.velocity]).astype(np.float64)
            parts.append(("drums", rows, True))
            part_class[len(parts) - 1] = ("drums", 0)
            drum_info = {"cymbal": dp.cymbal, "fill_every": dp.fill_every}
    info["drums"] = drum_info
    # -- stems (CLASSES order) and programs
    classes = sorted({c for c, _ in part_class.values()}, key=CLASSES.index)
    stems: list[Stem] = []
    for cls in classes:
        pool = BY_NAME[cls].programs
        stems.append(Stem(cls, int(pool[int(rngs["programs"].integers(len(pool)))])))
    stem_of = {cls: k for k, cls in enumerate(classes)}
    voice_count = dict.fromkeys(classes, 0)
    tables = []
    for i in sorted(part_class):
        cls, shift = part_class[i]
        rows = parts[i][1]
        k = stem_of[cls]
        t = np.zeros(len(rows), dtype=NOTE_DTYPE)
        beats_on, beats_off = rows[:, 0], np.maximum(rows[:, 1], rows[:, 0])
        t["onset"], t["offset"] = tempo.to_seconds(beats_on), tempo.to_seconds(beats_off)
        pitch = rows[:, 2].astype(np.int64)
        if cls != "drums":
            pitch = pitch + shift + transpose
        t["pitch"] = np.clip(pitch, 0, 127)
        t["velocity"] = np.clip(rows[:, 3], 1, 127)
        t["stem"] = k
        t["voice"] = voice_count[cls]
        voice_count[cls] += 1
        tables.append(t)
    for st in stems:
        st.voices = voice_count[st.cls]
    table = np.concatenate(tables) if tables else np.zeros(0, dtype=NOTE_DTYPE)
    table["offset"] = np.maximum(table["offset"], table["onset"] + MIN_NOTE_SECONDS)
    # -- velocity and timing
    if config.augment:
        table = augment(table, velocity_rng=rngs["velocity"], jitter_rng=rngs["jitter"],
                        velocity_sd=config.velocity_sd, jitter_ms=config.jitter_ms)
    table = _repair_overlaps(_sorted(table))
    # -- effects
    reverb = chorus = False
    if config.augment:
        fx = rngs["effects"]
        reverb = bool(fx.random() < config.reverb_prob)
        chorus = bool(fx.random() < config.chorus_prob)
        for st in stems:
            st.gain_db = round(float(fx.uniform(-config.gain_db, config.gain_db)), 4)
            if fx.random() < config.eq_prob:
                st.eq = _eq_band(fx, config)
            st.reverb_send = int(fx.integers(20, 101)) if reverb else None
            st.chorus_send = int(fx.integers(20, 101)) if chorus else None
    soundfont = str(soundfonts[int(rngs["soundfont"].integers(len(soundfonts)))])
    return Arrangement(notes=table, stems=stems, tempo=tempo, time_signatures=time_sigs,
                       reverb=reverb, chorus=chorus, soundfont=soundfont, info=info)


def split_excerpts(arr: Arrangement, max_seconds: float | None
                   ) -> list[tuple[float, float, Arrangement]]:
    """Cut an arrangement into excerpts of at most ``max_seconds`` (at bar lines if possible).

    Each cut falls on the last bar line in the second half of the allowed span, else at
    exactly ``max_seconds``. A note belongs to the excerpt its onset falls in and is cut at
    the excerpt's end. Returns (start, end, excerpt) with times of the excerpt counted from
    its start; ``max_seconds=None`` returns the whole arrangement once.
    """
    end = arr.end
    if max_seconds is None or end <= max_seconds:
        return [(0.0, end, arr)]
    bar_starts = np.array([b[0] for b in drumgen.bars(arr.time_signatures,
                                                      float(arr.tempo.to_beats(end)) + 1)])
    bar_lines = arr.tempo.to_seconds(bar_starts)
    cuts = [0.0]
    while end - cuts[-1] > max_seconds:
        start = cuts[-1]
        ok = bar_lines[(bar_lines > start + max_seconds / 2) & (bar_lines <= start + max_seconds
                                                                 + 1e-9)]
        cuts.append(float(ok[-1]) if len(ok) else start + max_seconds)
    cuts.append(end)
    out = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        sel = (arr.notes["onset"] >= a - 1e-12) & (arr.notes["onset"] < b - 1e-12)
        x = arr.notes[sel].copy()
        x["onset"] -= a
        x["offset"] = np.minimum(x["offset"], b) - a
        x = x[x["offset"] - x["onset"] >= MIN_NOTE_SECONDS - 1e-12]
        if not len(x):
            continue
        b0 = float(arr.tempo.to_beats(a))
        sigs = [(0.0, n, d) for s, n, d in arr.time_signatures if s <= b0 + _EPS][-1:]
        sigs += [(s - b0, n, d) for s, n, d in arr.time_signatures if s > b0 + _EPS]
        used = sorted(set(x["stem"].tolist()))
        remap = {old: new for new, old in enumerate(used)}
        x["stem"] = [remap[int(s)] for s in x["stem"]]
        stems = [dataclasses.replace(arr.stems[old]) for old in used]
        out.append((a, b, Arrangement(notes=_sorted(x), stems=stems, tempo=arr.tempo.shifted(a),
                                      time_signatures=sigs or [(0.0, 4, 4)], reverb=arr.reverb,
                                      chorus=arr.chorus, soundfont=arr.soundfont,
                                      info=dict(arr.info))))
    return out


# --------------------------------------------------------------------------- FluidSynth

_DRUM_BANK = 128
_CHANNEL_MELODIC, _CHANNEL_DRUM = 0, 1


class _FluidLib:
    """The few functions of libfluidsynth (2.x) the renderer needs, through ctypes."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("fluidsynth") or "libfluidsynth.so.3"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise ParameterError(
                f"cannot load the FluidSynth library ({exc}): install it (sudo apt-get "
                "install fluidsynth) or use the cli backend") from exc
        vp, i, d, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_char_p
        sigs: dict[str, tuple[Any, list[Any]]] = {
            "new_fluid_settings": (vp, []),
            "delete_fluid_settings": (None, [vp]),
            "fluid_settings_setnum": (i, [vp, s, d]),
            "fluid_settings_setint": (i, [vp, s, i]),
            "new_fluid_synth": (vp, [vp]),
            "delete_fluid_synth": (None, [vp]),
            "fluid_synth_sfload": (i, [vp, s, i]),
            "fluid_synth_get_sfont_by_id": (vp, [vp, i]),
            "fluid_synth_add_sfont": (i, [vp, vp]),
            "fluid_synth_remove_sfont": (i, [vp, vp]),
            "fluid_synth_set_channel_type": (i, [vp, i, i]),
            "fluid_synth_program_select": (i, [vp, i, i, i, i]),
            "fluid_synth_cc": (i, [vp, i, i, i]),
            "fluid_synth_noteon": (i, [vp, i, i, i]),
            "fluid_synth_noteoff": (i, [vp, i, i]),
            "fluid_synth_process": (i, [vp, i, i, vp, i, vp]),
            "fluid_synth_get_active_voice_count": (i, [vp]),
            "fluid_set_log_function": (vp, [i, vp, vp]),
        }
        for fn, (res, args) in sigs.items():
            f = getattr(lib, fn)
            f.restype, f.argtypes = res, args
        for level in range(5):                      # silence FluidSynth's own logging
            lib.fluid_set_log_function(level, None, None)
        self.lib = lib
        self.fonts: dict[str, tuple[int, int, int]] = {}

    def new_synth(self, *, sr: int, groups: int, channels: int, reverb: bool, chorus: bool
                  ) -> tuple[int, int]:
        lib = self.lib
        settings = lib.new_fluid_settings()
        for key, value in (("synth.sample-rate", float(sr)), ("synth.gain", RENDER_GAIN)):
            lib.fluid_settings_setnum(settings, key.encode(), value)
        for key, ivalue in (("synth.reverb.active", int(reverb)),
                            ("synth.chorus.active", int(chorus)),
                            ("synth.audio-channels", groups), ("synth.audio-groups", groups),
                            ("synth.effects-groups", groups),
                            ("synth.midi-channels", 16 * math.ceil(channels / 16)),
                            ("synth.polyphony", 1024), ("synth.lock-memory", 0),
                            ("synth.threadsafe-api", 0), ("synth.cpu-cores", 1)):
            lib.fluid_settings_setint(settings, key.encode(), ivalue)
        synth = lib.new_fluid_synth(settings)
        if not synth:
            lib.delete_fluid_settings(settings)
            raise InputError("FluidSynth could not create a synthesizer (out of memory?)")
        return settings, synth

    def font(self, soundfont: str) -> int:
        """The loaded soundfont (a ``fluid_sfont_t*``), owned by a hidden synth per file.

        Every track's synthesizer shares it (:meth:`attach`), so the file is parsed and its
        samples read once per process.
        """
        if soundfont not in self.fonts:
            ks, ksynth = self.new_synth(sr=SAMPLE_RATE, groups=1, channels=16, reverb=False,
                                        chorus=False)
            sfid = int(self.lib.fluid_synth_sfload(ksynth, soundfont.encode(), 0))
            font = self.lib.fluid_synth_get_sfont_by_id(ksynth, sfid) if sfid >= 0 else None
            if not font:
                self.free(ks, ksynth)
                raise ParameterError(f"FluidSynth cannot load the soundfont '{soundfont}'; "
                                     "is it a valid .sf2/.sf3 file?")
            self.fonts[soundfont] = (ks, ksynth, int(font))
        return self.fonts[soundfont][2]

    def attach(self, synth: int, font: int) -> int:
        """Add a shared soundfont to ``synth``; returns its id there."""
        sfid = int(self.lib.fluid_synth_add_sfont(synth, font))
        if sfid < 0:
            raise InputError("FluidSynth could not add the soundfont to a synthesizer")
        return sfid

    def free(self, settings: int, synth: int, font: int | None = None) -> None:
        if font is not None:
            self.lib.fluid_synth_remove_sfont(synth, font)     # keep the shared soundfont
        self.lib.delete_fluid_synth(synth)
        self.lib.delete_fluid_settings(settings)


_FLUID: _FluidLib | None = None


def _fluid() -> _FluidLib:
    global _FLUID
    if _FLUID is None:
        _FLUID = _FluidLib()
    return _FLUID


def soundfonts_loaded() -> bool:
    """True once this process has loaded a soundfont into FluidSynth.

    FluidSynth reads samples with OpenMP, whose thread pool does not survive a fork: a
    process that loaded one must start workers with ``spawn``, not ``fork``.
    """
    return _FLUID is not None and bool(_FLUID.fonts)


def fluidsynth_library_available() -> bool:
    """True when libfluidsynth loads (the ``lib`` backend works)."""
    try:
        _fluid()
    except MirkitError:
        return False
    return True


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``lib`` when libfluidsynth loads, else ``cli`` when ``fluidsynth`` runs."""
    if backend not in BACKENDS:
        raise ParameterError(f"backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend in ("auto", "lib") and fluidsynth_library_available():
        return "lib"
    if backend == "lib":
        _fluid()                                   # raises the explanation
    if shutil.which("fluidsynth") is None:
        raise ParameterError("FluidSynth is not installed (neither libfluidsynth nor the "
                             "fluidsynth program): sudo apt-get install fluidsynth")
    return "cli"


def _channel(stem: int, voice: int, groups: int) -> int:
    """MIDI channel of a voice: the channel's audio group (channel % groups) is its stem."""
    per_stem = max(1, 256 // groups)
    return stem + groups * (voice % per_stem)


def _render_lib(arr: Arrangement, sr: int) -> NDArray[np.float32]:
    """All stems in one FluidSynth pass: shape (n_stems, 2, samples)."""
    fl = _fluid()
    lib = fl.lib
    groups = len(arr.stems)
    notes = arr.notes
    chans = np.array([_channel(int(s), int(v), groups)
                      for s, v in zip(notes["stem"], notes["voice"], strict=True)], dtype=np.int64)
    n_channels = int(chans.max()) + 1 if len(chans) else 16
    for k, st in enumerate(arr.stems):
        n_channels = max(n_channels, _channel(k, st.voices - 1, groups) + 1)
    fx_on = arr.reverb or arr.chorus
    font = fl.font(arr.soundfont)
    settings, synth = fl.new_synth(sr=sr, groups=groups, channels=n_channels,
                                   reverb=arr.reverb, chorus=arr.chorus)
    try:
        sfid = fl.attach(synth, font)
        for k, st in enumerate(arr.stems):
            pool = BY_NAME[st.cls].programs
            for v in range(st.voices):
                ch = _channel(k, v, groups)
                lib.fluid_synth_set_channel_type(synth, ch, _CHANNEL_DRUM if st.is_drum
                                                 else _CHANNEL_MELODIC)
                bank = _DRUM_BANK if st.is_drum else 0
                for prog in (st.program, *pool, 0):
                    if lib.fluid_synth_program_select(synth, ch, sfid, bank, prog) == 0:
                        st.program = int(prog)
                        break
                if st.reverb_send is not None:
                    lib.fluid_synth_cc(synth, ch, 91, st.reverb_send)
                if st.chorus_send is not None:
                    lib.fluid_synth_cc(synth, ch, 93, st.chorus_send)
        block = 64
        on_s = np.rint(notes["onset"] * sr / block).astype(np.int64) * block
        off_s = np.maximum(np.rint(notes["offset"] * sr / block).astype(np.int64) * block,
                           on_s + block)
        n = len(notes)
        ev_pos = np.concatenate([off_s, on_s])
        ev_on = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
        ev_ch = np.concatenate([chans, chans])
        ev_key = np.concatenate([notes["pitch"], notes["pitch"]]).astype(np.int64)
        ev_vel = np.concatenate([np.zeros(n, np.int64), notes["velocity"].astype(np.int64)])
        order = np.lexsort((ev_on, ev_pos))          # note-offs first at one position
        last = int(ev_pos.max()) if n else 0
        total = last + int(math.ceil(MAX_TAIL_SECONDS * sr / block)) * block
        out = np.zeros((groups, 2, total), dtype=np.float32)
        base = np.array([out[k, c].ctypes.data for k in range(groups) for c in (0, 1)],
                        dtype=np.uintp)
        fx_base = np.array([out[k, c].ctypes.data for k in range(groups) for c in (0, 1, 0, 1)],
                           dtype=np.uintp)
        itemsize = out.itemsize

        def process(pos: int, length: int) -> None:
            dry = base + np.uintp(pos * itemsize)
            wet = fx_base + np.uintp(pos * itemsize)
            lib.fluid_synth_process(synth, length, len(wet) if fx_on else 0,
                                    wet.ctypes.data if fx_on else None, len(dry),
                                    dry.ctypes.data)

        pos = 0
        positions = ev_pos[order].tolist()
        flags, chs = ev_on[order].tolist(), ev_ch[order].tolist()
        keys, vels = ev_key[order].tolist(), ev_vel[order].tolist()
        for p, is_on, ch, key, vel in zip(positions, flags, chs, keys, vels, strict=True):
            if p > pos:
                process(pos, p - pos)
                pos = p
            if is_on:
                lib.fluid_synth_noteon(synth, ch, key, vel)
            else:
                lib.fluid_synth_noteoff(synth, ch, key)
        step = 4096
        quiet_run = 0
        while pos < total:
            length = min(step, total - pos)
            process(pos, length)
            pos += length
            if lib.fluid_synth_get_active_voice_count(synth) == 0:
                if not fx_on:
                    break
                quiet = float(np.abs(out[:, :, pos - length:pos]).max()) < 1e-5
                quiet_run = quiet_run + 1 if quiet else 0
                if quiet_run >= 2:
                    break
        return out[:, :, :pos]
    finally:
        fl.free(settings, synth, font)


def _render_cli(arr: Arrangement, sr: int) -> NDArray[np.float32]:
    """One ``fluidsynth`` run per stem; shape (n_stems, 2, samples) after padding."""
    import soundfile as sf

    from mirkit.io.symbolic import PartInfo, Score, write_midi

    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ParameterError("the fluidsynth program is not installed: sudo apt-get install "
                             "fluidsynth")
    audio: list[NDArray[np.float32]] = []
    with tempfile.TemporaryDirectory(prefix="mirkit-synth-") as tmp:
        for k, st in enumerate(arr.stems):
            sel = arr.notes[arr.notes["stem"] == k]
            parts = [PartInfo(name=f"{st.cls} {v + 1}", program=st.program, is_drum=st.is_drum)
                     for v in range(st.voices)]
            score = Score.from_notes(sel["pitch"], onset=sel["onset"], offset=sel["offset"],
                                     velocity=sel["velocity"], part=sel["voice"], parts=parts,
                                     tempos=arr.tempo.tempos,
                                     time_signatures=arr.time_signatures)
            mid, wav = Path(tmp) / f"{k}.mid", Path(tmp) / f"{k}.wav"
            write_midi(score, mid)
            cmd = [exe, "-ni", "-q", "-g", str(RENDER_GAIN), "-r", str(sr), "-O", "float",
                   "-T", "wav", "-R", str(int(arr.reverb)), "-C", str(int(arr.chorus)),
                   "-F", str(wav), arr.soundfont, str(mid)]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if res.returncode != 0 or not wav.exists():
                detail = (res.stderr or res.stdout).strip().splitlines()
                raise InputError(f"fluidsynth failed on the {st.cls} stem: "
                                 f"{detail[-1] if detail else f'exit code {res.returncode}'}")
            data, _ = sf.read(str(wav), dtype="float32", always_2d=True)
            audio.append(np.ascontiguousarray(data.T[:2]))
    length = max(a.shape[1] for a in audio)
    out = np.zeros((len(audio), 2, length), dtype=np.float32)
    for k, a in enumerate(audio):
        out[k, : a.shape[0], : a.shape[1]] = a
    return out


@dataclass
class RenderedTrack:
    """Audio of one track after effects and scaling.

    Attributes
    ----------
    stems : np.ndarray, shape (n_stems, 2, samples), float32
        In the order of the arrangement's stems.
    mixture : np.ndarray, shape (2, samples), float32
        The sum of ``stems``.
    sr : int
    scale : float
        The factor every stem was multiplied by so that nothing peaks above ``peak``.
    """

    stems: NDArray[np.float32]
    mixture: NDArray[np.float32]
    sr: int
    scale: float

    @property
    def duration(self) -> float:
        return self.mixture.shape[1] / self.sr


def _peak(x: NDArray[np.float32]) -> float:
    """Largest absolute sample, without a temporary array."""
    return float(max(x.max(), -x.min())) if x.size else 0.0


def render_track(arr: Arrangement, *, config: SynthConfig, backend: str = "lib"
                 ) -> RenderedTrack:
    """Render every stem, apply per-stem gain and EQ, mix, and scale to ``config.peak``.

    ``backend`` is ``lib`` or ``cli`` (see :func:`resolve_backend`). With the ``lib``
    backend the stems' programs are updated to the ones the soundfont had (a program it
    lacks falls back to another of the class's pool, then 0).
    """
    from scipy.signal import lfilter

    sr = config.sample_rate
    if not len(arr.notes):
        raise InputError("the track has no notes to render")
    if backend == "lib":
        stems = _render_lib(arr, sr)
    elif backend == "cli":
        stems = _render_cli(arr, sr)
    else:
        raise ParameterError(f"backend {backend!r}: use lib or cli")
    for k, st in enumerate(arr.stems):
        if st.gain_db:
            stems[k] *= np.float32(10.0 ** (st.gain_db / 20.0))
        if st.eq is not None:
            b, a = eq_coefficients(st.eq, sr)
            stems[k] = lfilter(b.astype(np.float32), a.astype(np.float32), stems[k], axis=-1)
    mixture = stems.sum(axis=0)
    peak = max(_peak(mixture), _peak(stems))
    scale = min(1.0, config.peak / peak) if peak > 0 else 1.0
    if scale < 1.0:
        stems *= np.float32(scale)
        mixture = stems.sum(axis=0)
    over = _peak(mixture)
    if over > config.peak:                          # float rounding of the rescaled sum
        fix = np.float32(config.peak / over)
        stems *= fix
        scale *= float(fix)
        mixture = stems.sum(axis=0)
    return RenderedTrack(stems=stems, mixture=mixture, sr=sr, scale=float(scale))


# --------------------------------------------------------------------------- writing


_FULL_SCALE_24 = 1 << 23
#: libFLAC compression level 4 of 8: as small as the default 5, about 10 % faster.
FLAC_COMPRESSION = 0.5


def _quantize24(x: NDArray[np.float32]) -> NDArray[np.int32]:
    """Float samples (channels, n) in [-1, 1) to 24-bit integers, interleaved (n, channels)."""
    y = np.multiply(x.T, np.float32(_FULL_SCALE_24), order="C")
    np.rint(y, out=y)
    np.clip(y, -_FULL_SCALE_24, _FULL_SCALE_24 - 1, out=y)
    return y.astype(np.int32)


def _save_flac24(path: Path, q: NDArray[np.int32], sr: int) -> None:
    """Write 24-bit integers ``q`` (n, channels) as a 24-bit FLAC file.

    Integers go to libsndfile as they are (left-aligned in 32 bits), so reading the file as
    float gives exactly ``q / 2**23``: the mixture written as the integer sum of its
    stems equals their sum exactly.
    """
    import soundfile as sf

    try:
        sf.write(str(path), np.left_shift(q, 8), sr, format="FLAC", subtype="PCM_24",
                 compression_level=FLAC_COMPRESSION)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"cannot write '{path}': {exc}") from exc


def _write_npz(path: Path, arrays: dict[str, NDArray[Any]]) -> None:
    """``np.savez_compressed`` with fixed zip timestamps, so equal arrays give equal bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
            zf.writestr(info, buf.getvalue())


def notes_table(arr: Arrangement) -> tuple[str, list[tuple[float, float, int, int, str]]]:
    """``notes.csv`` text and its rows as parsed back (times rounded to microseconds)."""
    lines = ["onset,offset,pitch,velocity,class"]
    rows: list[tuple[float, float, int, int, str]] = []
    order = np.lexsort((arr.notes["pitch"], arr.notes["stem"], arr.notes["onset"]))
    for r in arr.notes[order]:
        cls = arr.stems[int(r["stem"])].cls
        on, off = f"{float(r['onset']):.6f}", f"{float(r['offset']):.6f}"
        lines.append(f"{on},{off},{int(r['pitch'])},{int(r['velocity'])},{cls}")
        rows.append((float(on), float(off), int(r["pitch"]), int(r["velocity"]), cls))
    return "\n".join(lines) + "\n", rows


def label_frames(samples: int, sr: int) -> int:
    """Frames of the labels of a track of ``samples`` samples at ``sr`` Hz."""
    from mirkit.features.pianoroll import n_frames

    return n_frames(round(samples * LABEL_SR / sr), LABEL_HOP)


def write_track(folder: Path, arr: Arrangement, track: RenderedTrack, entry: dict[str, Any]
                ) -> None:
    """Write one track folder atomically as a group (``track.json`` last).

    Files: ``stems/<class>.flac`` and ``mixture.flac`` (24-bit FLAC), ``notes.csv``,
    ``labels.npz`` (:meth:`~mirkit.features.pianoroll.FrameLabels.to_npz_dict`) and
    ``track.json`` (``entry``, the track's manifest record). The stems are rounded to 24
    bits and the mixture is written as their integer sum, so it equals the sum of the stem
    files exactly. Stem files of classes the
    track no longer has (an overwritten track) are removed afterwards.
    """
    from mirkit.features.pianoroll import notes_to_labels
    from mirkit.io.atomic import AtomicGroup

    text, rows = notes_table(arr)
    frames = label_frames(track.mixture.shape[1], track.sr)
    labels = notes_to_labels([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                             [r[4] for r in rows], classes=CLASSES, frames=frames, sr=LABEL_SR,
                             hop=LABEL_HOP)
    stems_dir = folder / "stems"
    names = [st.cls for st in arr.stems]
    with AtomicGroup() as group:
        mixture: NDArray[np.int32] | None = None
        for k, name in enumerate(names):          # one stem in memory at a time
            q = _quantize24(track.stems[k])
            if mixture is None:
                mixture = q.copy()
            else:
                mixture += q                        # |sum| < 17 * 2**23: no int32 overflow
            _save_flac24(group.path(stems_dir / f"{name}.flac"), q, track.sr)
            del q
        if mixture is None:
            raise InputError("the track has no stems to write")
        if mixture.size and max(int(mixture.max()), -int(mixture.min())) >= _FULL_SCALE_24:
            raise InputError("the mixture clips at 24 bits (peak setting above 1?)")
        _save_flac24(group.path(folder / "mixture.flac"), mixture, track.sr)
        group.path(folder / "notes.csv").write_text(text, encoding="utf-8")
        _write_npz(group.path(folder / "labels.npz"), labels.to_npz_dict())
        group.path(folder / "track.json").write_text(
            json.dumps(entry, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for old in stems_dir.glob("*.flac"):
        if not old.name.startswith(".") and old.stem not in names:
            old.unlink()


def read_track_entry(folder: Path) -> dict[str, Any] | None:
    """The manifest record of a complete track folder, else None (missing or partial)."""
    try:
        entry = json.loads((folder / "track.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict):
        return None
    needed = [folder / f for f in TRACK_FILES]
    needed += [folder / "stems" / f"{c}.flac" for c in entry.get("classes", [])]
    return entry if all(p.is_file() for p in needed) else None


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class TrackJob:
    """One piece to turn into track(s): everything a worker process needs.

    ``number`` (1-based) names the track folders: ``{number:06d}``, or
    ``{number:06d}-{e:02d}`` for excerpt ``e`` (from 1) when ``config.max_seconds`` is set.
    ``max_tracks`` (``--limit``): render at most this many excerpts (the first ones).
    """

    number: int
    render: int
    piece: PieceRef
    seed: int
    output: str
    config: SynthConfig
    soundfonts: tuple[str, ...]
    backend: str
    existing: str = "error"
    max_tracks: int | None = None


def track_id(number: int, excerpt: int | None) -> str:
    return f"{number:06d}" if excerpt is None else f"{number:06d}-{excerpt:02d}"


def _existing_entries(job: TrackJob) -> list[dict[str, Any]] | None:
    """The complete tracks of ``job`` already on disk, or None when any is missing."""
    tracks = Path(job.output) / "tracks"
    if job.config.max_seconds is None:
        entry = read_track_entry(tracks / track_id(job.number, None))
        return [entry] if entry is not None else None
    first = read_track_entry(tracks / track_id(job.number, 1))
    if first is None:
        return None
    count = int((first.get("excerpt") or {}).get("of", 1))
    out = [first]
    for e in range(2, count + 1):
        entry = read_track_entry(tracks / track_id(job.number, e))
        if entry is None:
            return None
        out.append(entry)
    return out


def run_job(job: TrackJob) -> dict[str, Any]:
    """Parse, arrange, render and write the track(s) of one piece (runs in a worker).

    Under ``--skip-existing`` a complete excerpt already on disk is kept, not rendered again
    (the settings were checked to be the same), and only the missing ones are rendered.

    Returns
    -------
    dict
        ``entries`` (manifest records, in excerpt order), ``kept`` (the ids of the entries
        kept from disk), ``status`` (``done``, ``skipped`` when every entry was kept, or
        ``failed``), ``error`` (failed only) and ``seconds`` (wall time).
    """
    from mirkit.io.batch import ExistingPolicy, claim_outputs
    from mirkit.io.symbolic import read_score

    start = time.perf_counter()
    policy = ExistingPolicy(job.existing)
    try:
        if policy is ExistingPolicy.SKIP:
            kept = _existing_entries(job)
            if kept is not None:
                return {"status": "skipped", "entries": kept, "kept": [e["id"] for e in kept],
                        "seconds": time.perf_counter() - start}
        score = read_score(job.piece.path, index=job.piece.index)
        arr = arrange(score, seed=job.seed, config=job.config, soundfonts=job.soundfonts)
        if job.config.max_seconds is None and arr.end > MAX_TRACK_SECONDS:
            raise InputError(f"the piece lasts {arr.end:.0f} s, longer than "
                             f"{MAX_TRACK_SECONDS:.0f} s: pass --max-seconds to cut it into "
                             "excerpts")
        pieces = split_excerpts(arr, job.config.max_seconds)
        tracks = Path(job.output) / "tracks"
        excerpted = job.config.max_seconds is not None
        ids = [track_id(job.number, e + 1 if excerpted else None) for e in range(len(pieces))]
        wanted = len(pieces) if job.max_tracks is None else min(len(pieces), job.max_tracks)
        if policy is ExistingPolicy.ERROR:
            claim_outputs([tracks / i / "track.json" for i in ids[:wanted]], policy)
        entries, kept_ids = [], []
        for e, ((a, b, part), tid) in enumerate(zip(pieces[:wanted], ids[:wanted],
                                                    strict=True)):
            old = (read_track_entry(tracks / tid) if policy is ExistingPolicy.SKIP
                   else None)
            if old is not None:
                entries.append(old)
                kept_ids.append(tid)
                continue
            rendered = render_track(part, config=job.config, backend=job.backend)
            entry = _entry(job, tid, part, rendered,
                           {"index": e + 1, "of": len(pieces), "start": round(a, 6),
                            "end": round(b, 6)} if excerpted else None)
            write_track(tracks / tid, part, rendered, entry)
            entries.append(entry)
        status = "skipped" if len(kept_ids) == len(entries) else "done"
        return {"status": status, "entries": entries, "kept": kept_ids,
                "seconds": time.perf_counter() - start}
    except MirkitError as exc:
        return {"status": "failed", "entries": [], "error": str(exc),
                "seconds": time.perf_counter() - start}
    except Exception as exc:  # one bad piece must not end the run
        return {"status": "failed", "entries": [],
                "error": f"internal error {type(exc).__name__}: {exc}",
                "seconds": time.perf_counter() - start}


def _entry(job: TrackJob, tid: str, arr: Arrangement, track: RenderedTrack,
           excerpt: dict[str, Any] | None) -> dict[str, Any]:
    info = arr.info
    return {
        "id": tid,
        "source": job.piece.source,
        "piece": job.piece.piece,
        "title": info.get("title") or job.piece.title,
        "seed": job.seed,
        "render": job.render,
        "soundfont": Path(arr.soundfont).name,
        "programs": {st.cls: st.program for st in arr.stems},
        "split": split_of(job.piece.piece),
        "duration": round(track.duration, 6),
        "classes": [st.cls for st in arr.stems],
        "transpose": info["transpose"],
        "tempo_scale": info["tempo_scale"],
        "reverb": arr.reverb,
        "chorus": arr.chorus,
        "gain_db": {st.cls: st.gain_db for st in arr.stems},
        "eq": {st.cls: dataclasses.asdict(st.eq) for st in arr.stems if st.eq is not None},
        "sends": {st.cls: {"reverb": st.reverb_send, "chorus": st.chorus_send}
                  for st in arr.stems if st.reverb_send is not None
                  or st.chorus_send is not None},
        "scale": round(track.scale, 8),
        "drums": info["drums"],
        "accompaniment": info["accompaniment"],
        "octave_shifts": info["octave_shifts"],
        "skipped_parts": info["skipped_parts"],
        "excerpt": excerpt,
        "notes": int(len(arr.notes)),
    }
