"""The instrument-class vocabulary every mirkit audio model shares.

Each class maps to a pool of General MIDI programs (0-based, as in MIDI files and
pretty_midi) used when rendering, and to the pitch range it plays (MIDI numbers, sounding
pitch) used when assigning score parts to classes. :func:`class_of_program` maps any GM
program back to a class (``None`` for programs outside the vocabulary), so datasets that
carry programs (Slakh2100, arbitrary MIDI) label notes the same way.

The order of :data:`CLASSES` is the class axis of every pianoroll, activity matrix and model
output in mirkit; never reorder it (append only).
"""

from __future__ import annotations

from dataclasses import dataclass

from mirkit.errors import ParameterError


@dataclass(frozen=True)
class InstrumentClass:
    """One class: its name, GM program pool and sounding pitch range (inclusive)."""

    name: str
    programs: tuple[int, ...]
    low: int
    high: int
    is_drum: bool = False


_TABLE: tuple[InstrumentClass, ...] = (
    InstrumentClass("piano", (0, 1, 2, 3, 4, 5), 21, 108),
    InstrumentClass("acoustic_guitar", (24, 25), 40, 88),
    InstrumentClass("electric_guitar", (26, 27, 28, 29, 30), 40, 88),
    InstrumentClass("bass", (32, 33, 34, 35, 36, 37), 28, 67),
    InstrumentClass("violin", (40,), 55, 103),
    InstrumentClass("viola", (41,), 48, 88),
    InstrumentClass("cello", (42,), 36, 76),
    InstrumentClass("flute", (73, 72), 60, 96),
    InstrumentClass("clarinet", (71,), 50, 91),
    InstrumentClass("oboe", (68, 69), 58, 91),
    InstrumentClass("bassoon", (70,), 34, 75),
    InstrumentClass("saxophone", (64, 65, 66, 67), 36, 88),
    InstrumentClass("trumpet", (56, 59), 54, 86),
    InstrumentClass("horn", (60,), 34, 77),
    InstrumentClass("trombone", (57,), 40, 72),
    InstrumentClass("voice", (52, 53), 40, 84),
    InstrumentClass("drums", (0, 8, 16, 24, 25, 32, 40), 35, 81, is_drum=True),
)

#: Class names in their fixed order (the class axis of rolls and model outputs).
CLASSES: tuple[str, ...] = tuple(c.name for c in _TABLE)
#: Name -> class description.
BY_NAME: dict[str, InstrumentClass] = {c.name: c for c in _TABLE}
#: Name -> index on the class axis.
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}
#: Classes that play pitched notes (everything but drums).
PITCHED: tuple[str, ...] = tuple(c.name for c in _TABLE if not c.is_drum)

# GM program -> class, for programs outside the rendering pools too (families of the GM
# standard: e.g. every bass program 32-39 is "bass").
_PROGRAM_CLASS: dict[int, str] = {}
for _p in range(0, 8):
    _PROGRAM_CLASS[_p] = "piano"
for _p, _name in ((24, "acoustic_guitar"), (25, "acoustic_guitar"), (40, "violin"),
                  (41, "viola"), (42, "cello"), (43, "bass"), (52, "voice"), (53, "voice"),
                  (54, "voice"), (56, "trumpet"), (57, "trombone"), (59, "trumpet"),
                  (60, "horn"), (68, "oboe"), (69, "oboe"), (70, "bassoon"), (71, "clarinet"),
                  (72, "flute"), (73, "flute"), (74, "flute")):
    _PROGRAM_CLASS[_p] = _name
for _p in range(26, 32):
    _PROGRAM_CLASS[_p] = "electric_guitar"
for _p in range(32, 40):
    _PROGRAM_CLASS[_p] = "bass"
for _p in range(64, 68):
    _PROGRAM_CLASS[_p] = "saxophone"


def class_of_program(program: int, *, is_drum: bool = False) -> str | None:
    """The class of a GM program (0-based), ``"drums"`` for drum tracks, else ``None``.

    Examples
    --------
    >>> class_of_program(33), class_of_program(0, is_drum=True), class_of_program(19)
    ('bass', 'drums', None)
    """
    if is_drum:
        return "drums"
    if not 0 <= int(program) <= 127:
        raise ParameterError(f"GM program {program} is out of range 0..127")
    return _PROGRAM_CLASS.get(int(program))


def parse_classes(spec: str | None) -> tuple[str, ...]:
    """Parse a comma-separated class list (``None`` or ``"all"``: every class).

    Unknown names raise :class:`ParameterError` listing the vocabulary.
    """
    if spec is None or spec.strip().lower() == "all":
        return CLASSES
    names = tuple(dict.fromkeys(s.strip().lower().replace("-", "_").replace(" ", "_")
                                for s in spec.split(",") if s.strip()))
    unknown = [n for n in names if n not in BY_NAME]
    if unknown or not names:
        raise ParameterError(f"unknown instrument class(es) {', '.join(unknown) or '(none)'}; "
                             f"choose from {', '.join(CLASSES)}")
    return names


def classes_for_range(low: int, high: int, *, allowed: tuple[str, ...] = PITCHED
                      ) -> tuple[str, ...]:
    """Pitched classes whose range covers ``low..high`` (a part's lowest and highest note)."""
    return tuple(n for n in allowed if not BY_NAME[n].is_drum
                 and BY_NAME[n].low <= low and high <= BY_NAME[n].high)
