"""Tests for mirkit.io.symbolic: readers, writers, the tempo map and every error path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mirkit.errors import InputError, ParameterError
from mirkit.io.symbolic import (
    NOTE_DTYPE,
    SYMBOLIC_EXTENSIONS,
    PartInfo,
    Score,
    list_tunes,
    read_score,
    write_midi,
    write_musicxml,
)

ABC_TUNE = "X:1\nT:t\nM:4/4\nL:1/8\nK:C\nCDEF G2 [CE]2|c4- c4|]\n"

ABC_BOOK = (
    "%abc-2.1\n\n"
    "X:1\nT:First\nM:4/4\nL:1/4\nK:C\nCDEF|\n\n"
    "X:2\nT:Second\nM:3/4\nL:1/4\nK:G\nGA2|B3|]\n"
)

KERN = "**kern\n*M3/4\n*MM90\n4c\n[4d\n4d]\n=\n2.e 2.g\n*-\n"

MUSICXML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <work><work-title>Hand made</work-title></work>
  <part-list>
    <score-part id="P1"><part-name>Oboe</part-name>
      <score-instrument id="P1-I1"><instrument-name>Oboe</instrument-name></score-instrument>
      <midi-instrument id="P1-I1"><midi-channel>1</midi-channel><midi-program>69</midi-program>
      </midi-instrument>
    </score-part>
  </part-list>
  <part id="P1">
    <measure number="1">
      <attributes><divisions>2</divisions><key><fifths>0</fifths></key>
        <time><beats>4</beats><beat-type>4</beat-type></time>
        <clef><sign>G</sign><line>2</line></clef></attributes>
      <direction placement="above"><direction-type><metronome><beat-unit>quarter</beat-unit>
        <per-minute>100</per-minute></metronome></direction-type><sound tempo="100"/></direction>
      <direction placement="below"><direction-type><dynamics><p/></dynamics></direction-type>
      </direction>
      <note><pitch><step>C</step><octave>4</octave></pitch><duration>2</duration>
        <type>quarter</type></note>
      <note><grace/><pitch><step>D</step><octave>4</octave></pitch><type>eighth</type></note>
      <note><pitch><step>E</step><octave>4</octave></pitch><duration>2</duration>
        <type>quarter</type></note>
      <note><chord/><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration>
        <type>quarter</type></note>
      <note><pitch><step>F</step><octave>4</octave></pitch><duration>4</duration>
        <tie type="start"/><type>half</type><notations><tied type="start"/></notations></note>
    </measure>
    <measure number="2">
      <note><pitch><step>F</step><octave>4</octave></pitch><duration>2</duration>
        <tie type="stop"/><type>quarter</type><notations><tied type="stop"/></notations></note>
      <direction placement="below"><direction-type><dynamics><f/></dynamics></direction-type>
      </direction>
      <note><pitch><step>A</step><octave>4</octave></pitch><duration>2</duration>
        <type>quarter</type></note>
      <note><rest/><duration>4</duration><type>half</type></note>
      <barline location="right"><bar-style>light-heavy</bar-style>
        <repeat direction="backward"/></barline>
    </measure>
  </part>
</score-partwise>
"""


def two_part_score() -> Score:
    """Flute melody plus a drum part, 3/4, tempo 120 -> 90 at beat 8."""
    return Score.from_notes(
        [72, 74, 76, 77, 79, 36, 38, 42, 36],
        onset_beats=[0.0, 1.0, 2.5, 7.5, 9.0, 0.0, 1.0, 8.25, 10.0],
        offset_beats=[1.0, 2.5, 3.0, 9.0, 12.0, 0.5, 1.5, 8.5, 10.5],
        velocity=[100, 90, 80, 70, 60, 127, 50, 1, 64],
        part=[0, 0, 0, 0, 0, 1, 1, 1, 1],
        parts=[PartInfo("Flute", 73, False), PartInfo("Kit", 0, True)],
        tempos=[(0.0, 120.0), (8.0, 90.0)],
        time_signatures=[(0.0, 3, 4)],
        title="Round trip",
    )


def by_part_pitch_onset(notes: np.ndarray) -> np.ndarray:
    return notes[np.lexsort((notes["onset_beats"], notes["pitch"], notes["part"]))]


# --------------------------------------------------------------------------- Score


def test_beats_seconds_across_tempo_changes() -> None:
    score = Score.from_notes([60], onset_beats=[0], offset_beats=[1],
                             tempos=[(0, 120), (8, 90), (12, 60)])
    beats = np.array([0.0, 2.0, 8.0, 11.0, 12.0, 14.0])
    # 120 qpm: 0.5 s/beat up to beat 8 (4 s); 90 qpm: 2/3 s/beat to 12 (6.667 s); then 1 s.
    seconds = np.array([0.0, 1.0, 4.0, 6.0, 4.0 + 8.0 / 3.0, 4.0 + 8.0 / 3.0 + 2.0])
    np.testing.assert_allclose(score.beats_to_seconds(beats), seconds, rtol=0, atol=1e-12)
    np.testing.assert_allclose(score.seconds_to_beats(seconds), beats, rtol=0, atol=1e-12)
    assert score.beats_to_seconds(np.zeros((2, 3))).shape == (2, 3)


def test_from_notes_fills_either_time_base_and_sorts() -> None:
    tempos = [(0.0, 120.0), (4.0, 60.0)]
    by_beats = Score.from_notes([64, 60, 67], onset_beats=[5, 0, 0], offset_beats=[6, 1, 2],
                                tempos=tempos)
    assert by_beats.notes.dtype == NOTE_DTYPE
    assert by_beats.notes["pitch"].tolist() == [60, 67, 64]  # onset, then pitch
    assert by_beats.notes["onset"].tolist() == [0.0, 0.0, 3.0]  # 4 beats * 0.5 s + 1 beat * 1 s
    by_seconds = Score.from_notes([60, 67, 64], onset=[0, 0, 3], offset=[0.5, 1, 4],
                                  tempos=tempos)
    np.testing.assert_allclose(by_seconds.notes["onset_beats"], [0, 0, 5])
    np.testing.assert_allclose(by_seconds.notes["offset_beats"], [1, 2, 6])
    assert by_beats.duration == 4.0 and len(by_beats) == 3
    assert by_beats.tempos == tempos and by_beats.time_signatures == [(0.0, 4, 4)]


def test_defaults_views_and_monophony() -> None:
    score = Score.from_notes([60, 62, 48, 52], onset_beats=[0, 1, 0, 0.5],
                             offset_beats=[1, 2, 1, 2], part=[0, 0, 1, 1])
    assert score.tempos == [(0.0, 120.0)]
    assert [p.program for p in score.parts] == [0, 0]
    assert score.part_notes(1)["pitch"].tolist() == [48, 52]
    assert score.is_monophonic(0)  # touching notes are fine
    assert not score.is_monophonic(1)
    assert not score.is_monophonic()
    with pytest.raises(ParameterError, match="part 2 does not exist"):
        score.part_notes(2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pitch": [128], "onset_beats": [0], "offset_beats": [1]}, "pitch 128"),
        ({"pitch": [60], "onset_beats": [0], "offset_beats": [1], "velocity": 0}, "velocity 0"),
        ({"pitch": [60], "onset_beats": [2], "offset_beats": [1]}, "ends before it starts"),
        ({"pitch": [60], "onset_beats": [-1], "offset_beats": [1]}, "onsets must be >= 0"),
        ({"pitch": [60.5], "onset_beats": [0], "offset_beats": [1]}, "not a valid whole"),
        ({"pitch": [60], "onset_beats": [0], "offset_beats": [1], "part": 1,
          "parts": [PartInfo()]}, "part 1 is out of range"),
        ({"pitch": [60], "onset_beats": [0], "offset": [1]}, "either onset_beats"),
        ({"pitch": [60], "onset_beats": [0]}, "both the onsets and the offsets"),
        ({"pitch": [60], "onset_beats": [0], "offset_beats": [1], "tempos": [(0, 0)]},
         "tempo must be > 0"),
        ({"pitch": [60], "onset_beats": [0], "offset_beats": [1],
          "time_signatures": [(0, 3, 5)]}, "power of two"),
    ],
)
def test_from_notes_rejects_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Score.from_notes(**kwargs)


# --------------------------------------------------------------------------- MIDI


def test_midi_round_trip(tmp_path: Path) -> None:
    score = two_part_score()
    out = write_midi(score, tmp_path / "deep" / "folder" / "x.mid")
    assert out == tmp_path / "deep" / "folder" / "x.mid"
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.mid"]  # no temp file left
    back = read_score(out)
    assert back.parts == score.parts
    assert back.time_signatures == [(0.0, 3, 4)]
    assert [b for b, _ in back.tempos] == [0.0, 8.0]
    np.testing.assert_allclose([q for _, q in back.tempos], [120.0, 90.0], rtol=1e-6)
    a, b = by_part_pitch_onset(score.notes), by_part_pitch_onset(back.notes)
    for name in ("pitch", "velocity", "part"):
        assert a[name].tolist() == b[name].tolist(), name
    for name in ("onset", "offset"):
        np.testing.assert_allclose(b[name], a[name], rtol=0, atol=1e-3)
    for name in ("onset_beats", "offset_beats"):
        np.testing.assert_allclose(b[name], a[name], rtol=0, atol=1e-6)


def test_write_midi_is_read_by_pretty_midi(tmp_path: Path) -> None:
    import pretty_midi

    melody = Score.from_notes(np.arange(60, 72), onset_beats=np.arange(12) * 0.5,
                              offset_beats=np.arange(12) * 0.5 + 0.5,
                              velocity=np.arange(12) + 50)
    path = write_midi(melody, tmp_path / "m.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == 1 and not pm.instruments[0].is_drum
    notes = pm.instruments[0].notes
    assert [n.pitch for n in notes] == list(range(60, 72))
    assert [n.velocity for n in notes] == list(range(50, 62))
    np.testing.assert_allclose([n.start for n in notes], np.arange(12) * 0.25, atol=1e-9)
    np.testing.assert_allclose([n.end for n in notes], np.arange(12) * 0.25 + 0.25, atol=1e-9)
    assert pm.get_end_time() == pytest.approx(3.0)


def test_more_than_15_melodic_parts_go_to_a_second_port(tmp_path: Path) -> None:
    import mido

    parts = [PartInfo(f"p{k}", program=k) for k in range(16)] + [PartInfo("kit", 0, True)]
    score = Score.from_notes(np.arange(60, 77), onset_beats=np.arange(17.0),
                             offset_beats=np.arange(17.0) + 1, part=np.arange(17), parts=parts)
    path = write_midi(score, tmp_path / "many.mid")
    seen = set()
    for track in mido.MidiFile(str(path)).tracks[1:]:
        port = next((m.port for m in track if m.type == "midi_port"), 0)
        channels = {m.channel for m in track if m.type in ("note_on", "program_change")}
        assert len(channels) == 1
        seen.add((port, channels.pop()))
    assert len(seen) == 17                       # no two parts share a channel of a port
    assert (1, 0) in seen and (0, 9) in seen     # the 16th melodic part; the drums
    back = read_score(path)
    assert [p.program for p in back.parts] == [p.program for p in parts]
    assert back.notes["pitch"].tolist() == list(range(60, 77))


def test_write_midi_repeated_pitch_and_tiny_notes(tmp_path: Path) -> None:
    # Same pitch struck again exactly when it ends, and a zero-length note: one tick long.
    import mido

    score = Score.from_notes([60, 60, 64], onset_beats=[0, 1, 2], offset_beats=[1, 2, 2])
    path = write_midi(score, tmp_path / "r.mid", ticks_per_beat=480)
    back = read_score(path)
    assert back.notes["pitch"].tolist() == [60, 60, 64]
    np.testing.assert_allclose(back.notes["offset_beats"], [1, 2, 2 + 1 / 480])
    # At a shared tick the note-off comes first, so strict players do not cut the new note.
    track = mido.MidiFile(str(path)).tracks[1]
    events = [(m.type, m.time) for m in track if m.type in ("note_on", "note_off")]
    assert events[:3] == [("note_on", 0), ("note_off", 480), ("note_on", 0)]


# --------------------------------------------------------------------------- music21 formats


def test_musicxml_round_trip(tmp_path: Path) -> None:
    score = two_part_score()
    for name in ("x.musicxml", "x.mxl"):
        back = read_score(write_musicxml(score, tmp_path / "sub" / name))
        a, b = by_part_pitch_onset(score.notes), by_part_pitch_onset(back.notes)
        assert a["pitch"].tolist() == b["pitch"].tolist()
        assert a["velocity"].tolist() == b["velocity"].tolist()
        np.testing.assert_allclose(b["onset_beats"], a["onset_beats"], atol=1e-9)
        np.testing.assert_allclose(b["offset_beats"], a["offset_beats"], atol=1e-9)
        assert [p.name for p in back.parts] == ["Flute", "Kit"]
        assert [p.program for p in back.parts] == [73, 0]
        assert [p.is_drum for p in back.parts] == [False, True]
        assert back.tempos == [(0.0, 120.0), (8.0, 90.0)]
        assert back.time_signatures == [(0.0, 3, 4)]
        assert back.title == "Round trip"


def test_musicxml_quantises_to_grid(tmp_path: Path) -> None:
    score = Score.from_notes([60, 62, 64], onset_beats=[0.02, 1 / 3 + 0.01, 2.0],
                             offset_beats=[1 / 3, 1.0, 2.01])
    back = read_score(write_musicxml(score, tmp_path / "q.xml"))
    np.testing.assert_allclose(back.notes["onset_beats"], [0, 1 / 3, 2])
    np.testing.assert_allclose(back.notes["offset_beats"], [1 / 3, 1, 2.25])  # min one step


def test_read_hand_written_musicxml(tmp_path: Path) -> None:
    path = tmp_path / "hand.musicxml"
    path.write_text(MUSICXML, encoding="utf-8")
    score = read_score(path)
    # grace D skipped, E+G chord expanded, tied F merged, repeat not expanded
    assert score.notes["pitch"].tolist() == [60, 64, 67, 65, 69]
    np.testing.assert_allclose(score.notes["onset_beats"], [0, 1, 1, 2, 5])
    np.testing.assert_allclose(score.notes["offset_beats"], [1, 2, 2, 5, 6])
    np.testing.assert_allclose(score.notes["onset"], score.notes["onset_beats"] * 0.6)
    assert score.notes["velocity"].tolist() == [44, 44, 44, 44, 89]  # p, then f
    assert score.tempos == [(0.0, 100.0)]
    assert score.parts == [PartInfo("Oboe", 68, False)]
    assert score.title == "Hand made"


def test_read_abc_tune_with_tie_and_chord(tmp_path: Path) -> None:
    path = tmp_path / "tune.abc"
    path.write_text(ABC_TUNE)
    score = read_score(path)
    assert score.notes["pitch"].tolist() == [60, 62, 64, 65, 67, 60, 64, 72]
    np.testing.assert_allclose(score.notes["onset_beats"], [0, 0.5, 1, 1.5, 2, 3, 3, 4])
    np.testing.assert_allclose(score.notes["offset_beats"], [0.5, 1, 1.5, 2, 3, 4, 4, 8])
    np.testing.assert_allclose(score.notes["offset"][-1], 4.0)  # 8 beats at 120 qpm
    assert score.notes["velocity"].tolist() == [80] * 8
    assert score.title == "t" and score.time_signatures == [(0.0, 4, 4)]
    assert score.is_monophonic() is False


def test_read_abc_book_by_index(tmp_path: Path) -> None:
    path = tmp_path / "book.abc"
    path.write_text(ABC_BOOK)
    assert list_tunes(path) == [(0, "First"), (1, "Second")]
    first = read_score(path)
    assert first.notes["pitch"].tolist() == [60, 62, 64, 65]
    second = read_score(path, index=1)
    assert second.title == "Second"
    assert second.notes["pitch"].tolist() == [67, 69, 71]
    np.testing.assert_allclose(second.notes["onset_beats"], [0, 1, 3])
    np.testing.assert_allclose(second.notes["offset_beats"], [1, 3, 6])
    assert second.time_signatures == [(0.0, 3, 4)]
    with pytest.raises(InputError, match=r"book\.abc.*holds 2 tunes"):
        read_score(path, index=2)


def test_read_abc_without_meter_or_unit_length(tmp_path: Path) -> None:
    # ABC's default unit length is an eighth; music21 alone refuses such a tune.
    path = tmp_path / "bare.abc"
    path.write_text("X:1\nK:C\nCDE2|\n")
    np.testing.assert_allclose(read_score(path).notes["offset_beats"], [0.5, 1, 2])


def test_read_kern(tmp_path: Path) -> None:
    path = tmp_path / "k.krn"
    path.write_text(KERN)
    score = read_score(path)
    assert score.notes["pitch"].tolist() == [60, 62, 64, 67]
    np.testing.assert_allclose(score.notes["onset_beats"], [0, 1, 3, 3])
    np.testing.assert_allclose(score.notes["offset_beats"], [1, 3, 6, 6])
    assert score.tempos == [(0.0, 90.0)]
    assert score.time_signatures == [(0.0, 3, 4)]
    np.testing.assert_allclose(score.notes["onset"], [0, 2 / 3, 2, 2])


def test_format_override(tmp_path: Path) -> None:
    path = tmp_path / "tune.txt"
    path.write_text(ABC_TUNE)
    assert len(read_score(path, format="abc")) == 8
    with pytest.raises(ParameterError, match="unknown symbolic format 'mp3'"):
        read_score(path, format="mp3")


# --------------------------------------------------------------------------- errors


def test_error_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.mid': no such file"):
        read_score(tmp_path / "nope.mid")
    with pytest.raises(InputError, match="is a directory"):
        read_score(tmp_path)
    empty = tmp_path / "empty.mid"
    empty.touch()
    with pytest.raises(InputError, match=r"empty\.mid': the file is empty"):
        read_score(empty)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InputError, match=r"unsupported extension '\.txt'.*\.abc.*\.mid"):
        read_score(text)
    assert ".krn" in SYMBOLIC_EXTENSIONS


@pytest.mark.parametrize(
    "data",
    [
        b"MThd\x00\x00",  # truncated header
        b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff\x00",  # bad track
        bytes(range(256)) * 4,  # random bytes
    ],
)
def test_malformed_midi(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(data)
    with pytest.raises(InputError, match=r"cannot read MIDI file '.*bad\.mid'"):
        read_score(path)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.musicxml", "<score-partwise><part", r"cannot parse MusicXML file '.*bad\.musicxml'"),
        ("bad.xml", "<html><body>not a score</body></html>", r"MusicXML file '.*bad\.xml'"),
        ("bad.abc", "X:1\nT:x\nM:4/4\nL:1/8\nK:C\n[CE|\n", r"cannot parse ABC file '.*bad\.abc'"),
        ("bad.mxl", "this is not a zip archive", r"MusicXML file '.*bad\.mxl'"),
    ],
)
def test_malformed_text_formats(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_score(path)


def test_no_notes(tmp_path: Path) -> None:
    path = tmp_path / "rests.abc"
    path.write_text("X:1\nM:4/4\nL:1/4\nK:C\nz4|z4|]\n")
    with pytest.raises(InputError, match=r"rests\.abc' holds no notes"):
        read_score(path)
    assert len(read_score(path, allow_empty=True)) == 0
    midi = write_midi(Score.from_notes([], onset_beats=[], offset_beats=[]), tmp_path / "e.mid")
    with pytest.raises(InputError, match=r"e\.mid' holds no notes"):
        read_score(midi)
    empty = read_score(midi, allow_empty=True)
    assert len(empty) == 0 and empty.duration == 0.0 and empty.notes.dtype == NOTE_DTYPE


def test_index_out_of_range_for_single_score_formats(tmp_path: Path) -> None:
    path = write_midi(two_part_score(), tmp_path / "a.mid")
    with pytest.raises(InputError, match="index 1 is out of range"):
        read_score(path, index=1)
    with pytest.raises(InputError, match="only ABC files"):
        list_tunes(path)


def test_module_import_is_light() -> None:
    code = ("import sys, mirkit.io.symbolic; "
            "print(sorted(m for m in ('music21', 'pretty_midi', 'mido') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
