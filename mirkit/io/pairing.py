"""Pair reference and estimate files for evaluation.

``--reference`` and ``--estimate`` are each a file or a folder:

- two files: one item, named after the reference file;
- two folders: items are the files' paths relative to their folder without the extension
  (so ``a/song.mid`` pairs with ``a/song.csv``), searched recursively for the task's
  extensions;
- a reference file and an estimate folder: the estimate named like the reference.

Multitrack (source separation) folders hold one track per item in either layout:

- nested (MUSDB18): ``TRACK/TARGET.wav`` (``mixture.wav`` is the mixture, not a target);
- flat: ``TRACK_TARGET.wav`` (split at the last underscore).

Unpaired items are reported one by one (a failed item each), never dropped silently.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from mirkit.errors import ParameterError
from mirkit.io.batch import InputProblem, scan_folder

MIXTURE_NAME = "mixture"


@dataclass(frozen=True)
class Pair:
    """A reference and its estimate."""

    name: str
    reference: Path
    estimate: Path


@dataclass
class Track:
    """One multitrack item: target name -> file, plus the mixture when present."""

    name: str
    targets: dict[str, Path] = field(default_factory=dict)
    mixture: Path | None = None


def _key(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return rel.with_suffix("").as_posix()


def _files(root: Path, extensions: Collection[str]) -> list[Path]:
    return scan_folder(root, extensions)


def _check_exists(path: Path, option: str) -> None:
    if not path.exists():
        raise ParameterError(f"{option} '{path}' does not exist")


def pair_files(reference: Path, estimate: Path, *, extensions: Collection[str]
               ) -> tuple[list[Pair], list[InputProblem]]:
    """Pair reference and estimate files (see the module docstring for the rules).

    Returns
    -------
    (pairs, problems)
        Pairs sorted by name; one problem per reference without estimate, estimate without
        reference, or name matching several files.
    """
    _check_exists(reference, "--reference")
    _check_exists(estimate, "--estimate")
    exts = ", ".join(sorted(extensions))
    if reference.is_file() and estimate.is_file():
        return [Pair(reference.stem, reference, estimate)], []
    if reference.is_file():
        cands = [p for p in _files(estimate, extensions) if p.stem == reference.stem]
        if len(cands) == 1:
            return [Pair(reference.stem, reference, cands[0])], []
        why = ("no file" if not cands else f"{len(cands)} files")
        return [], [InputProblem(reference.stem, f"{why} named '{reference.stem}' with a "
                                                 f"supported extension ({exts}) in '{estimate}'")]
    if estimate.is_file():
        raise ParameterError(f"--reference '{reference}' is a folder but --estimate "
                             f"'{estimate}' is a file; give two folders or two files")

    problems: list[InputProblem] = []
    ambiguous: set[str] = set()

    def index(root: Path, role: str) -> dict[str, Path]:
        found: dict[str, list[Path]] = {}
        for p in _files(root, extensions):
            found.setdefault(_key(p, root), []).append(p)
        out = {}
        for k, ps in found.items():
            if len(ps) > 1:
                ambiguous.add(k)
                problems.append(InputProblem(k, f"{role} item '{k}' matches several files: "
                                                f"{', '.join(p.name for p in ps)}"))
            else:
                out[k] = ps[0]
        return out

    refs, ests = index(reference, "reference"), index(estimate, "estimate")
    if not refs and not problems:
        raise ParameterError(f"--reference folder '{reference}' holds no supported files "
                             f"({exts})")
    pairs = [Pair(k, refs[k], ests[k]) for k in sorted(refs) if k in ests]
    # an ambiguous name is one failed item (its own message), not also an unpaired one
    problems += [InputProblem(k, f"no estimate for reference item '{k}' in '{estimate}'")
                 for k in sorted(refs) if k not in ests and k not in ambiguous]
    problems += [InputProblem(k, f"estimate item '{k}' has no reference in '{reference}'")
                 for k in sorted(ests) if k not in refs and k not in ambiguous]
    return pairs, _in_name_order(problems, [p.name for p in pairs])


def multitrack_folder(root: Path, *, extensions: Collection[str]) -> dict[str, Track]:
    """Tracks of a separation folder, nested (``TRACK/TARGET.ext``) or flat (``TRACK_TARGET.ext``).

    A folder mixing both layouts, or a flat file name without an underscore, is a
    :class:`ParameterError` naming the file.
    """
    tracks: dict[str, Track] = {}
    for p in _files(root, extensions):
        rel = p.relative_to(root)
        if len(rel.parts) >= 2:
            track, target = Path(*rel.parts[:-1]).as_posix(), p.stem
        else:
            track, sep, target = p.stem.rpartition("_")
            if not sep or not track or not target:
                raise ParameterError(
                    f"cannot tell track and target of '{p}': use TRACK/TARGET{p.suffix} "
                    f"(MUSDB layout) or TRACK_TARGET{p.suffix}")
        t = tracks.setdefault(track, Track(track))
        if target == MIXTURE_NAME:
            t.mixture = p
        elif target in t.targets:
            raise ParameterError(f"track '{track}' has two files for target '{target}': "
                                 f"'{t.targets[target]}' and '{p}'")
        else:
            t.targets[target] = p
    return dict(sorted(tracks.items()))


def pair_tracks(reference: Path, estimate: Path, *, extensions: Collection[str]
                ) -> tuple[list[tuple[Track, Track]], list[InputProblem]]:
    """Pair the tracks of two separation folders by track name.

    A reference track whose estimate lacks any of its targets is a problem naming them;
    estimates of extra targets are ignored (a separator may produce more stems than the
    references hold).
    """
    _check_exists(reference, "--reference")
    _check_exists(estimate, "--estimate")
    for path, opt in ((reference, "--reference"), (estimate, "--estimate")):
        if not path.is_dir():
            raise ParameterError(f"{opt} '{path}' must be a folder of tracks "
                                 f"(TRACK/TARGET.wav or TRACK_TARGET.wav)")
    refs = multitrack_folder(reference, extensions=extensions)
    ests = multitrack_folder(estimate, extensions=extensions)
    if not refs:
        raise ParameterError(f"--reference '{reference}' holds no audio files "
                             f"({', '.join(sorted(extensions))})")
    pairs, problems = [], []
    for name, ref in refs.items():
        est = ests.get(name)
        if est is None:
            problems.append(InputProblem(name, f"no estimate for track '{name}' in '{estimate}'"))
            continue
        if not ref.targets:
            problems.append(InputProblem(name, f"reference track '{name}' has no target files "
                                               f"(only a mixture)"))
            continue
        missing = sorted(set(ref.targets) - set(est.targets))
        if missing:
            problems.append(InputProblem(
                name, f"estimate of track '{name}' lacks target(s) {', '.join(missing)}"))
            continue
        pairs.append((ref, est))
    problems += [InputProblem(n, f"estimate track '{n}' has no reference in '{reference}'")
                 for n in ests if n not in refs]
    pairs.sort(key=lambda pair: pair[0].name)
    return pairs, _in_name_order(problems, [ref.name for ref, _ in pairs])


def _in_name_order(problems: list[InputProblem], paired: list[str]) -> list[InputProblem]:
    """The problems sorted by name, each placed (``position``) among the sorted paired
    names, so that result rows come in name order, failed ones included."""
    keys = sorted(paired)
    # the problems of one name stay in the order they were found (sort is stable)
    return [dataclasses.replace(p, position=bisect.bisect_left(keys, p.spec))
            for p in sorted(problems, key=lambda p: p.spec)]
