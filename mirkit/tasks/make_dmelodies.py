"""``make_dmelodies``: write the dMelodies dataset (or a slice) and optional per-item files.

This is the library API behind ``mirkit make-dmelodies``; the data definition lives in
:mod:`mirkit.data.dmelodies`.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mirkit.data import dmelodies as dm
from mirkit.errors import InputError, ParameterError
from mirkit.io.batch import (
    BatchSummary,
    ExistingPolicy,
    ItemResult,
    SkipItem,
    Status,
    claim_outputs,
    run_batch,
)

EXPORT_FORMATS: dict[str, str] = {"midi": ".mid", "musicxml": ".musicxml"}

_RANGE = re.compile(r"^\s*(\d+)\s*(?:([-:])\s*(\d+)\s*)?$")


def parse_indices(spec: str) -> NDArray[np.int64]:
    """Parse an index list such as ``"0-99,1000,5000:5010"``.

    ``a-b`` is inclusive of ``b``; ``a:b`` excludes ``b`` (Python slice style). Order is
    kept and duplicates are removed.
    """
    parts: list[NDArray[np.int64]] = []
    for piece in spec.split(","):
        if not piece.strip():
            continue
        m = _RANGE.match(piece)
        if m is None:
            raise ParameterError(
                f"--indices: {piece.strip()!r} is not an index or range; write e.g. "
                f"'0-99,1000,5000:5010' (a-b includes b, a:b excludes b)")
        start = int(m.group(1))
        if m.group(2) is None:
            stop = start + 1
        else:
            stop = int(m.group(3)) + (1 if m.group(2) == "-" else 0)
            if stop <= start:
                raise ParameterError(f"--indices: range {piece.strip()!r} is empty")
        if stop > dm.NUM_ITEMS:
            raise ParameterError(f"--indices: {piece.strip()!r} goes past the last index "
                                 f"{dm.NUM_ITEMS - 1}")
        parts.append(np.arange(start, stop, dtype=np.int64))
    if not parts:
        raise ParameterError("--indices is empty; give e.g. '0-99'")
    allidx = np.concatenate(parts)
    _, first = np.unique(allidx, return_index=True)
    return allidx[np.sort(first)]


def item_stem(index: int) -> str:
    """Per-item file name (no suffix), as the original generator names its files.

    ``{index}_{tonic}_{octave}_{scale}_{rhythm1}_{rhythm2}_{dir1}_{dir2}_{dir3}_{dir4}``,
    e.g. ``0_C_4_major_0_0_up_up_up_up``.
    """
    f = dm.index_to_factors(index).tolist()
    dirs = "_".join(dm.ARP_DIRECTIONS[d] for d in f[5:])
    return (f"{index}_{dm.TONICS[f[0]]}_{dm.OCTAVES[f[1]]}_{dm.SCALES[f[2]]}_"
            f"{f[3]}_{f[4]}_{dirs}")


def item_rows(indices: Sequence[int] | NDArray[np.int64]) -> Iterator[dict[str, Any]]:
    """One row per item: its index, human-readable factor values and its 16 tokens.

    ``melody`` is the token names joined by spaces (``rest`` for rests), e.g.
    ``C4 E4 G4 F4 A4 C5 rest rest G4 B4 D5 C4 E4 G4 rest rest``.
    """
    idx = np.asarray(indices, dtype=np.int64)
    factors = dm.index_to_factors(idx).tolist()
    toks = dm.tokens(idx).tolist()
    for i, f, t in zip(idx.tolist(), factors, toks, strict=True):
        row: dict[str, Any] = {
            "index": i, "tonic": dm.TONICS[f[0]], "octave": dm.OCTAVES[f[1]],
            "scale": dm.SCALES[f[2]], "rhythm_bar1": f[3], "rhythm_bar2": f[4]}
        for k in range(4):
            row[f"arp_chord{k + 1}"] = dm.ARP_DIRECTIONS[f[5 + k]]
        row["melody"] = " ".join(dm.VOCABULARY[x] for x in t)
        yield row


def melody_score(index: int) -> Any:
    """The item as a :class:`mirkit.io.symbolic.Score`: one part, 4/4, 120 quarters/min."""
    from mirkit.io import symbolic

    grid = dm.melody(index)
    ticks = np.flatnonzero(grid != dm.REST_PITCH)
    tick = 1.0 / dm.TICKS_PER_BEAT
    return symbolic.Score.from_notes(
        onset_beats=ticks * tick, offset_beats=(ticks + 1) * tick,
        pitch=grid[ticks], velocity=np.full(len(ticks), 90),
        parts=[symbolic.PartInfo(name="Melody", program=0, is_drum=False)],
        tempos=[(0.0, dm.TEMPO_QPM)], time_signatures=[(0.0, 4, 4)],
        title=item_stem(index))


def export_item(index: int, fmt: str, folder: Path, existing: ExistingPolicy) -> dict[str, Any]:
    """Write one item as MIDI or MusicXML into ``folder``; return its result fields."""
    from mirkit.io import symbolic

    path = folder / (item_stem(index) + EXPORT_FORMATS[fmt])
    claim_outputs([path], existing)
    writer = symbolic.write_midi if fmt == "midi" else symbolic.write_musicxml
    writer(melody_score(index), path)
    return {"path": str(path)}


def select_items(indices: Sequence[int] | NDArray[np.int64] | None, *, limit: int | None = None,
                 shard: tuple[int, int] | None = None) -> NDArray[np.int64]:
    """Apply ``indices`` (default: all), then ``shard``, then ``limit``.

    An empty selection is a :class:`ParameterError`, except through ``shard``: an array job
    with more shards than items gets nothing to do, which is not an error.
    """
    idx = (np.arange(dm.NUM_ITEMS, dtype=np.int64) if indices is None
           else np.asarray(indices, dtype=np.int64))
    if shard is not None:
        k, n = shard
        idx = idx[k - 1::n]
    if limit is not None:
        if limit < 1:
            raise ParameterError(f"--limit {limit}: must be at least 1")
        idx = idx[:limit]
    if idx.size == 0 and shard is None:
        raise ParameterError("the selection of items is empty (check --indices)")
    return idx


def _export_label(fmt: str, index: int) -> str:
    return f"{fmt}:{index}"


def make_dmelodies(
    output: str | os.PathLike[str] | None,
    *,
    indices: Sequence[int] | NDArray[np.int64] | None = None,
    limit: int | None = None,
    shard: tuple[int, int] | None = None,
    compress: bool = False,
    existing: ExistingPolicy | str = ExistingPolicy.ERROR,
    exports: Sequence[tuple[str, str | os.PathLike[str]]] = (),
    jobs: int = 1,
    on_export: Callable[[ItemResult], None] | None = None,
) -> dict[str, Any]:
    """Generate dMelodies items and write them.

    Parameters
    ----------
    output : path or None
        The ``.npz`` file to write (``None``: write none, e.g. for exports only).
    indices : sequence of int, optional
        Items to include, in this order; all 1,354,752 by default.
    limit : int, optional
        Keep only the first ``limit`` of those items.
    shard : (K, N), optional
        Keep every N-th of those items from the K-th (K counts from 1).
    compress : bool
        Write a compressed ``.npz`` (smaller, slower); the original is uncompressed.
    existing : ExistingPolicy
        What to do if an output exists already (error, skip, overwrite).
    exports : sequence of (format, folder)
        Also write one file per item: format ``midi`` or ``musicxml``.
    jobs : int
        Per-item files written in parallel.
    on_export : callable, optional
        Called with each per-item export result.

    Returns
    -------
    dict
        ``output``, ``items``, ``first_index``, ``last_index``, ``bytes``, ``seconds``,
        ``npz`` ("written", "skipped" or "failed", with ``error`` saying why: e.g. the file
        exists and ``existing`` is ``error``), per-format export counts and ``failed``
        (outputs that failed: the .npz and export files). A failed .npz does not stop the
        exports.

    Raises
    ------
    ParameterError
        Bad indices, limit, shard or export format.
    """
    start = time.perf_counter()
    existing = ExistingPolicy(existing)
    for fmt, _ in exports:
        if fmt not in EXPORT_FORMATS:
            raise ParameterError(f"--export {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    if output is None and not exports:
        raise ParameterError("nothing to write: give an output file or an export format")

    idx = select_items(indices, limit=limit, shard=shard)
    summary: dict[str, Any] = {
        "output": str(output) if output is not None else None,
        "items": int(idx.size),
        "first_index": int(idx[0]) if idx.size else None,
        "last_index": int(idx[-1]) if idx.size else None,
    }
    if idx.size == 0:                      # an empty shard: nothing to write
        summary.update(npz="none", failed=0, seconds=round(time.perf_counter() - start, 3))
        return summary
    failed = 0
    if output is not None:
        out = Path(output)
        try:
            claim_outputs([out], existing)
            data = dm.generate(idx)
            dm.save_npz(out, data, compress=compress)
            summary["npz"] = "written"
            summary["bytes"] = out.stat().st_size
        except SkipItem:
            summary["npz"] = "skipped"
            summary["bytes"] = out.stat().st_size
        except InputError as exc:            # e.g. it exists: a failed output, not a crash
            summary["npz"] = "failed"
            summary["error"] = str(exc)
            failed += 1

    for fmt, folder in exports:
        folder = Path(folder)
        batch: BatchSummary = run_batch(
            idx.tolist(), functools.partial(export_item, fmt=fmt, folder=folder, existing=existing),
            label=functools.partial(_export_label, fmt), jobs=jobs, on_result=on_export)
        summary[f"{fmt}_written"] = batch.count(Status.DONE)
        summary[f"{fmt}_skipped"] = batch.count(Status.SKIPPED)
        summary[f"{fmt}_failed"] = batch.count(Status.FAILED)
        failed += summary[f"{fmt}_failed"]
    summary["failed"] = failed
    summary["seconds"] = round(time.perf_counter() - start, 3)
    return summary
