"""``synth``: render symbolic music into a multitrack dataset (library API of ``mirkit synth``).

The engine (classes, augmentations, rendering, the track folder) is
:mod:`mirkit.data.synth`; this module finds the pieces, runs one job per piece (in worker
processes with ``jobs > 1``), decides when to stop, and keeps ``dataset.json`` up to date.

On-disk layout (``output``)::

    dataset.json                 {"version": 1, "generator": "mirkit synth <version>",
                                  "sr", "label_sr", "label_hop", "classes", "config",
                                  "tracks": [...], "failed": [...], "complete": bool}
    tracks/<id>/mixture.flac     24-bit; the sum of the stems (to ~1e-6)
    tracks/<id>/stems/<class>.flac
    tracks/<id>/notes.csv        onset,offset,pitch,velocity,class (seconds, as rendered)
    tracks/<id>/labels.npz       FrameLabels.to_npz_dict() at 16 kHz, hop 512
    tracks/<id>/track.json       the track's record in dataset.json

Jobs and ids
    Pieces are visited in a seeded order (:func:`mirkit.data.synth.iter_pieces`), pass after
    pass when ``hours`` or ``limit`` asks for more than one pass. Job ``k`` (from 1) renders
    one piece with seed :func:`mirkit.data.synth.job_seed` ``(seed, k)`` into track
    ``{k:06d}`` (``{k:06d}-{e:02d}`` per excerpt with ``max_seconds``), so the output does
    not depend on ``jobs``. Results are taken in job order: the run stops after the job that
    reaches ``limit`` tracks (extra excerpts of that job are dropped) or ``hours`` of audio;
    jobs rendered beyond that point are deleted. A piece that failed is not retried in later
    passes. Failed jobs leave gaps in the ids.

Existing output
    ``dataset.json`` is written at the start (no tracks), every :data:`MANIFEST_EVERY` tracks
    and at the end (``complete: true``), atomically, listing finished tracks in id order. An
    ``output`` that has a ``dataset.json`` is an error unless ``existing`` is ``skip`` (keep
    every complete track folder, render the rest: resume an interrupted run or extend it
    with a larger ``hours``/``limit``; the settings must match the earlier run) or
    ``overwrite`` (render everything again; track folders not in the new manifest that hold
    a ``track.json`` are removed at the end).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mirkit.data import synth as engine
from mirkit.errors import ParameterError
from mirkit.io.batch import ExistingPolicy, SkipItem, claim_outputs

#: Tracks between two rewrites of ``dataset.json`` during a run.
MANIFEST_EVERY = 20
#: Settings that may differ when a run is resumed with ``skip`` (they only move the end).
_RESUMABLE = ("hours", "limit")


def _manifest(config: dict[str, Any], tracks: list[dict[str, Any]],
              failed: list[dict[str, Any]], *, sr: int, complete: bool,
              held_out: list[str]) -> dict[str, Any]:
    from mirkit._version import __version__
    from mirkit.data.instruments import CLASSES

    return {"version": engine.FORMAT_VERSION, "generator": f"mirkit synth {__version__}",
            "sr": sr, "label_sr": engine.LABEL_SR, "label_hop": engine.LABEL_HOP,
            "classes": list(CLASSES), "config": config, "tracks": tracks, "failed": failed,
            "held_out": held_out, "complete": complete}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from mirkit.errors import InputError
    from mirkit.io.atomic import atomic_write

    try:
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write '{path}': {exc.strerror or exc}; check the output "
                         "folder's permissions and free space") from exc


def _check_resume(path: Path, config: dict[str, Any]) -> None:
    """Refuse to resume a dataset made with other settings."""
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("config", {})
    except (OSError, ValueError, AttributeError):
        return
    diff = sorted(k for k in set(old) | set(config)
                  if k not in _RESUMABLE and old.get(k) != config.get(k))
    if diff:
        raise ParameterError(
            f"'{path}' was made with other settings ({', '.join(diff)} differ): resuming "
            "with --skip-existing needs the same sources, seed and options; use --overwrite "
            "or another output folder")


def _row(entry: dict[str, Any], status: str, seconds: float) -> dict[str, Any]:
    return {"id": entry["id"], "source": entry["source"], "status": status,
            "split": entry["split"], "duration": entry["duration"],
            "classes": entry["classes"], "soundfont": entry["soundfont"],
            "seconds": round(seconds, 3)}


def _remove_tracks(output: Path, ids: Sequence[str]) -> None:
    for tid in ids:
        folder = output / "tracks" / tid
        if (folder / "track.json").exists() or folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def synth(
    sources: Sequence[str | os.PathLike[str]] = (),
    *,
    corpora: Sequence[str] = (),
    output: str | os.PathLike[str],
    hours: float | None = None,
    limit: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    config: engine.SynthConfig | None = None,
    existing: ExistingPolicy = ExistingPolicy.ERROR,
    on_track: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Render symbolic music into a multitrack dataset in ``output``.

    Parameters
    ----------
    sources : sequence of path
        MIDI, MusicXML, ABC or kern files, folders (searched recursively), globs or ``-``.
        Every tune of an ABC file is a piece.
    corpora : sequence of str
        music21 collections: ``bach-chorales``, ``essen``, ``oneills``, ``airds``, ``ryans``.
    output : path
        The dataset folder (created when missing).
    hours : float, optional
        Stop once the rendered audio reaches this many hours (pieces are rendered again,
        with new seeds, when one pass is not enough).
    limit : int, optional
        Stop after this many tracks (same repetition rule). With neither, every piece is
        rendered once. With both, the first reached ends the run.
    seed : int
        Global seed; track ``k`` uses :func:`mirkit.data.synth.job_seed` ``(seed, k)``.
    jobs : int
        Worker processes (results do not depend on it).
    config : SynthConfig, optional
        Rendering and augmentation settings (defaults: :class:`~mirkit.data.synth.SynthConfig`).
    existing : ExistingPolicy
        What to do with an existing dataset (see the module docstring).
    on_track : callable, optional
        Called with a result row per track (rendered: ``done``; kept under ``skip``:
        ``skipped``) and per piece that failed (``failed``, with ``error``), in job order:
        ``id, source, status, split, duration, classes, soundfont, seconds``. Held-out
        pieces get no row; they are counted and listed in ``dataset.json``.

    Returns
    -------
    dict
        ``output``, ``manifest``, ``tracks``, ``rendered``, ``kept``, ``failed``,
        ``held_out``, ``audio_seconds``, ``audio_hours``, ``wall_seconds``, ``realtime``
        (audio seconds rendered in this run per wall second), ``exit_code`` (1 when a piece
        failed, else 0).

    Raises
    ------
    ParameterError
        Bad settings, no sources, no soundfont or FluidSynth, settings that differ from
        the dataset being resumed.
    OutputExistsError
        ``output`` holds a dataset and ``existing`` is ``error``.
    """
    config = config if config is not None else engine.SynthConfig()
    if not sources and not corpora:
        raise ParameterError("nothing to render: give symbolic files or folders, or "
                             f"--corpus NAME ({', '.join(engine.CORPORA)})")
    if hours is not None and not (hours > 0 and math.isfinite(hours)):
        raise ParameterError(f"--hours {hours}: give a positive number of hours")
    if limit is not None and limit < 1:
        raise ParameterError(f"--limit {limit}: must be at least 1")
    if jobs < 1:
        raise ParameterError(f"--jobs {jobs}: must be at least 1")
    if seed < 0:
        raise ParameterError(f"--seed {seed}: give a whole number >= 0")
    unknown = [c for c in corpora if c not in engine.CORPORA]
    if unknown:
        raise ParameterError(f"unknown corpus {', '.join(map(repr, unknown))}; choose from "
                             f"{', '.join(engine.CORPORA)}")
    soundfonts = tuple(str(p) for p in engine.resolve_soundfonts(config))
    backend = engine.resolve_backend(config.backend)
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--output '{out}' is a file; give a folder for the dataset")
    manifest_path = out / "dataset.json"
    run_config = {**config.to_dict(), "soundfonts": list(soundfonts), "backend": backend,
                  "seed": int(seed), "sources": [str(s) for s in sources],
                  "corpora": list(corpora), "hours": hours, "limit": limit}
    try:
        claim_outputs([manifest_path], existing)
    except SkipItem:
        _check_resume(manifest_path, run_config)
    start = time.perf_counter()
    found = engine.collect_pieces(sources, corpora)
    emit = on_track or (lambda row: None)
    failed: list[dict[str, Any]] = []
    for src, message in found.problems:
        failed.append({"source": src, "error": message})
        emit({"source": src, "status": "failed", "error": message})
    held_out = [ref.source for ref in found.held_out]
    tracks: list[dict[str, Any]] = []
    _write_json(manifest_path, _manifest(run_config, tracks, failed, sr=config.sample_rate,
                                         complete=False, held_out=held_out))

    endless = hours is not None or limit is not None
    bad_pieces: set[str] = set()
    counts = {"rendered": 0, "kept": 0}
    audio_new = 0.0
    total_seconds = 0.0
    last_written = 0

    def job_stream() -> Iterator[Any]:
        number = 0
        render = -1
        good_in_pass = True
        for render_pass, ref in engine.iter_pieces(found.pieces, seed=seed,
                                                   passes=None if endless else 1):
            if render_pass != render:
                if render >= 0 and not good_in_pass:
                    return                        # a whole pass gave nothing: stop
                render, good_in_pass = render_pass, False
                if render_pass > 0:
                    yield _BARRIER
            if ref.piece in bad_pieces:
                continue
            number += 1
            good_in_pass = True
            yield engine.TrackJob(number=number, render=render_pass, piece=ref,
                                  seed=engine.job_seed(seed, number), output=str(out),
                                  config=config, soundfonts=soundfonts, backend=backend,
                                  existing=str(existing),
                                  max_tracks=None if limit is None
                                  else max(limit - len(tracks), 1))

    def reached() -> bool:
        return ((limit is not None and len(tracks) >= limit)
                or (hours is not None and total_seconds >= hours * 3600.0))

    def take(job: engine.TrackJob, result: dict[str, Any]) -> list[str]:
        """Record one job's result; return ids written by it that are not kept."""
        nonlocal audio_new, total_seconds, last_written
        status = result["status"]
        if status == "failed":
            bad_pieces.add(job.piece.piece)
            failed.append({"source": job.piece.source, "error": result["error"]})
            emit({"source": job.piece.source, "status": "failed", "error": result["error"],
                  "seconds": round(result["seconds"], 3)})
            return []
        entries = result["entries"]
        kept_ids = set(result.get("kept", ()))
        dropped: list[str] = []
        if limit is not None and len(tracks) + len(entries) > limit:
            keep = limit - len(tracks)
            # remove what this job rendered beyond the limit; never what it kept
            dropped = [e["id"] for e in entries[keep:] if e["id"] not in kept_ids]
            entries = entries[:keep]
        each = result["seconds"] / max(len(entries), 1)
        for entry in entries:
            tracks.append(entry)
            total_seconds += float(entry["duration"])
            if entry["id"] in kept_ids:
                counts["kept"] += 1
                emit(_row(entry, "skipped", each))
            else:
                counts["rendered"] += 1
                audio_new += float(entry["duration"])
                emit(_row(entry, "done", each))
        if len(tracks) - last_written >= MANIFEST_EVERY:
            _write_json(manifest_path, _manifest(run_config, tracks, failed,
                                                 sr=config.sample_rate, complete=False,
                                                 held_out=held_out))
            last_written = len(tracks)
        return dropped

    stream = job_stream()
    if jobs == 1:
        for job in stream:
            if job is _BARRIER:
                continue
            dropped = take(job, engine.run_job(job))
            _remove_tracks(out, dropped)
            if reached():
                break
    else:
        _run_parallel(stream, jobs, take, reached, out)

    _write_json(manifest_path, _manifest(run_config, tracks, failed, sr=config.sample_rate,
                                         complete=True, held_out=held_out))
    if existing is ExistingPolicy.OVERWRITE:
        keep_ids = {t["id"] for t in tracks}
        tracks_dir = out / "tracks"
        if tracks_dir.is_dir():
            for folder in sorted(tracks_dir.iterdir()):
                if folder.name not in keep_ids and (folder / "track.json").exists():
                    shutil.rmtree(folder, ignore_errors=True)
    wall = time.perf_counter() - start
    audio_total = sum(float(t["duration"]) for t in tracks)
    return {"output": str(out), "manifest": str(manifest_path), "tracks": len(tracks),
            "rendered": counts["rendered"], "kept": counts["kept"], "failed": len(failed),
            "held_out": len(found.held_out), "audio_seconds": round(audio_total, 3),
            "audio_hours": round(audio_total / 3600.0, 4), "wall_seconds": round(wall, 3),
            "realtime": round(audio_new / wall, 2) if wall > 0 else 0.0,
            "exit_code": 1 if failed else 0}


#: Marks the start of a new pass in the job stream: parallel runs wait there for every
#: earlier job, so which pieces failed (and are not retried) does not depend on timing.
_BARRIER: Any = object()


def _run_parallel(stream: Iterator[Any], jobs: int,
                  take: Callable[[engine.TrackJob, dict[str, Any]], list[str]],
                  reached: Callable[[], bool], out: Path) -> None:
    """Run jobs in ``jobs`` processes, taking results in job order."""
    pending: collections.deque[tuple[engine.TrackJob, cf.Future[dict[str, Any]]]] = (
        collections.deque())
    # fork (Linux) spares every worker the imports, but only while this process has not
    # loaded a soundfont (FluidSynth's OpenMP thread pool does not survive a fork).
    fork = sys.platform.startswith("linux") and not engine.soundfonts_loaded()
    context = multiprocessing.get_context("fork" if fork else "spawn")
    if fork:                        # imported once here instead of once per worker
        import music21.converter  # noqa: F401
        import scipy.signal  # noqa: F401
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    stopped = False
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * jobs:
                job = next(stream, None)
                if job is None:
                    exhausted = True
                elif job is _BARRIER:
                    if pending:
                        # drain before the next pass starts (see _BARRIER)
                        stream = _prepend(_BARRIER, stream)
                        break
                else:
                    pending.append((job, pool.submit(engine.run_job, job)))
            if not pending:
                break
            job, future = pending.popleft()
            _remove_tracks(out, take(job, future.result()))
            if reached():
                stopped = True
                break
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
    if stopped:
        for _job, future in pending:       # rendered beyond the end: not part of the set
            if future.done() and not future.cancelled():
                result = future.result()
                if result["status"] == "done":
                    _remove_tracks(out, [e["id"] for e in result["entries"]])


def _prepend(item: Any, it: Iterator[Any]) -> Iterator[Any]:
    yield item
    yield from it
