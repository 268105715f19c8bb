"""Music-tagging datasets: items, tag names and a masked label matrix.

Every loader returns a :class:`TaggingDataset`: one row per item (an audio clip) and one
column per tag, ``labels`` in [0, 1] and ``mask`` saying which labels are known. Where a
label is unknown (``mask`` False) its value is 0, so ``labels * mask`` and ``labels`` agree;
losses and metrics must still skip those entries.

Layouts
-------
MagnaTagATune (:func:`load_magnatagatune`)
    ``annotations_final.csv``: tab-separated, quoted, with columns ``clip_id``, the 188 tag
    columns (0/1) and ``mp3_path`` (e.g. ``f/artist-album-01-title-30-59.mp3``, relative to
    the audio root). ``top=50`` keeps the 50 tags with the most positive clips, as most of the
    literature does (ties keep the file's column order).

    Split: the common convention by the clip's folder (the first character of ``mp3_path``,
    0-9a-f): folders ``0``-``b`` train, ``c`` valid, ``d``-``f`` test
    (:data:`MTAT_SPLIT_FOLDERS`). This is *not* the split of Won et al. (2020), which lists
    clips by name and drops clips without any of the top-50 tags; use
    :meth:`TaggingDataset.with_splits` to apply such a list.

OpenMIC-2018 (:func:`load_openmic`)
    ``openmic-2018.npz`` with ``X`` (VGGish features, (n, 10, 128)), ``Y_true`` (label
    confidences in [0, 1]), ``Y_mask`` (which labels were annotated) and ``sample_key``;
    ``class-map.json`` (tag name -> column); ``partitions/split01_train.csv`` and
    ``split01_test.csv`` (one sample key per line); audio at ``audio/<key[:3]>/<key>.ogg``.
    ``labels`` are the ``Y_true`` confidences (threshold them at 0.5 for binary targets),
    ``mask`` is ``Y_mask``, ``features`` is ``X``. The official file stores the keys as a
    Python object array, so they alone are read with ``allow_pickle=True``: open only copies
    of the dataset you trust.

Generic CSV (:func:`load_tag_csv`)
    Comma- or tab-separated with a header, items being audio paths relative to an audio root
    (default: the CSV's folder). Either *long*, columns ``item,tag`` (one row per positive
    pair; every other tag of a listed item is a known negative), or *wide*, columns
    ``item,tag1,tag2,...`` with values in [0, 1] and empty cells for unknown labels. A
    ``split`` column is read in both (``validation``/``val``/``dev`` mean ``valid``).

:func:`open_tagging_dataset` picks the loader from what the path holds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mirkit.data.datasets import SPLITS, canonical_split
from mirkit.errors import InputError, ParameterError

__all__ = [
    "MTAT_ANNOTATIONS",
    "MTAT_SPLIT_FOLDERS",
    "OPENMIC_CLASS_MAP",
    "OPENMIC_NPZ",
    "TAGGING_KINDS",
    "TaggingDataset",
    "load_magnatagatune",
    "load_openmic",
    "load_tag_csv",
    "open_tagging_dataset",
]

#: File name of MagnaTagATune's annotations.
MTAT_ANNOTATIONS = "annotations_final.csv"
#: Split of a MagnaTagATune clip by its folder (first character of ``mp3_path``).
MTAT_SPLIT_FOLDERS: dict[str, str] = {
    **dict.fromkeys("0123456789ab", "train"), "c": "valid", **dict.fromkeys("def", "test")}
#: File names of OpenMIC-2018's label file and class map.
OPENMIC_NPZ = "openmic-2018.npz"
OPENMIC_CLASS_MAP = "class-map.json"
_OPENMIC_KEYS = ("X", "Y_true", "Y_mask", "sample_key")
#: Loader names accepted by :func:`open_tagging_dataset`.
TAGGING_KINDS: tuple[str, ...] = ("magnatagatune", "openmic", "csv")


@dataclass(eq=False)
class TaggingDataset:
    """Items with a masked multi-label tag matrix.

    Attributes
    ----------
    name : str
        Which dataset (``"magnatagatune"``, ``"openmic"``, ``"csv"``).
    items : tuple of str
        Item ids (MTAT clip ids, OpenMIC sample keys, CSV item paths), unique.
    tags : tuple of str
        Tag names, the column order of ``labels``.
    labels : NDArray[np.float32], shape (n_items, n_tags)
        Label values in [0, 1] (1 = the tag applies); 0 where ``mask`` is False.
    mask : NDArray[np.bool_], shape (n_items, n_tags)
        True where the label is known.
    item_splits : tuple of (str or None)
        Canonical split of each item (``train``/``valid``/``test``), None where unknown.
    audio_root : Path
        Folder the audio files are relative to.
    audio_files : tuple of str
        Audio file of each item, relative to ``audio_root`` ('' where the dataset has none).
    features : np.ndarray or None
        Precomputed features with the items on the first axis (OpenMIC's VGGish ``X``).
    """

    name: str
    items: tuple[str, ...]
    tags: tuple[str, ...]
    labels: NDArray[np.float32]
    mask: NDArray[np.bool_]
    item_splits: tuple[str | None, ...]
    audio_root: Path
    audio_files: tuple[str, ...]
    features: NDArray[Any] | None = None
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.items = tuple(str(i) for i in self.items)
        self.tags = tuple(str(t) for t in self.tags)
        self.item_splits = tuple(None if s is None else canonical_split(s)
                                 for s in self.item_splits)
        self.audio_files = tuple(self.audio_files)
        self.audio_root = Path(self.audio_root)
        n, k = len(self.items), len(self.tags)
        labels = np.asarray(self.labels, dtype=np.float32)
        mask = np.asarray(self.mask, dtype=bool)
        if labels.shape != (n, k) or mask.shape != (n, k):
            raise InputError(f"{self.name}: labels {labels.shape} and mask {mask.shape} must "
                             f"both be (items, tags) = ({n}, {k})")
        if len(self.item_splits) != n or len(self.audio_files) != n:
            raise InputError(f"{self.name}: {len(self.item_splits)} splits and "
                             f"{len(self.audio_files)} audio files for {n} items")
        if self.features is not None and len(self.features) != n:
            raise InputError(f"{self.name}: features for {len(self.features)} items, not {n}")
        if not np.all(np.isfinite(labels[mask])) or np.any(labels[mask] < 0) or np.any(
                labels[mask] > 1):
            raise InputError(f"{self.name}: labels must lie in [0, 1]")
        if len(set(self.tags)) != k:
            raise InputError(f"{self.name}: tag names repeat: {sorted(self.tags)}")
        self.labels = np.where(mask, labels, np.float32(0)).astype(np.float32)
        self.mask = mask
        self._index = {item: i for i, item in enumerate(self.items)}
        if len(self._index) != n:
            raise InputError(f"{self.name}: item ids repeat; every item needs its own id")

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (f"TaggingDataset({self.name!r}, {len(self)} items, {len(self.tags)} tags, "
                f"splits {'/'.join(self.splits()) or 'none'})")

    def index(self, item: str) -> int:
        """Row of ``item`` in ``labels``."""
        if item not in self._index:
            raise InputError(f"{self.name} dataset has no item {item!r}")
        return self._index[item]

    def audio_path(self, item: str) -> Path:
        """The audio file of ``item``."""
        rel = self.audio_files[self.index(item)]
        if not rel:
            raise InputError(f"{self.name} item {item!r} names no audio file")
        return self.audio_root / rel

    def split_of(self, item: str) -> str | None:
        """Canonical split of ``item``, None where unknown."""
        return self.item_splits[self.index(item)]

    def splits(self) -> list[str]:
        """Splits that hold items (train, valid, test first)."""
        present = {s for s in self.item_splits if s is not None}
        return [s for s in SPLITS if s in present] + sorted(present.difference(SPLITS))

    def indices(self, split: str | None = None) -> NDArray[np.intp]:
        """Rows of the items of ``split`` (all rows for None)."""
        if split is None:
            return np.arange(len(self), dtype=np.intp)
        wanted = canonical_split(split)
        if wanted not in self.splits():
            raise ParameterError(f"{self.name} dataset has no split {split!r}; its splits are "
                                 f"{', '.join(self.splits()) or 'none'}")
        return np.array([i for i, s in enumerate(self.item_splits) if s == wanted],
                        dtype=np.intp)

    def _rows(self, rows: NDArray[np.intp], columns: NDArray[np.intp] | None = None
              ) -> TaggingDataset:
        cols = np.arange(len(self.tags)) if columns is None else columns
        return TaggingDataset(
            name=self.name, items=tuple(self.items[i] for i in rows),
            tags=tuple(self.tags[j] for j in cols), labels=self.labels[np.ix_(rows, cols)],
            mask=self.mask[np.ix_(rows, cols)],
            item_splits=tuple(self.item_splits[i] for i in rows), audio_root=self.audio_root,
            audio_files=tuple(self.audio_files[i] for i in rows),
            features=None if self.features is None else self.features[rows])

    def subset(self, split: str) -> TaggingDataset:
        """The items of one split."""
        return self._rows(self.indices(split))

    def tag_counts(self) -> NDArray[np.int64]:
        """Positive items per tag (known labels >= 0.5), shape (n_tags,)."""
        counts: NDArray[np.int64] = ((self.labels >= 0.5) & self.mask).sum(axis=0)
        return counts.astype(np.int64)

    def top_tags(self, k: int) -> list[str]:
        """The ``k`` tags with the most positive items; ties keep the column order."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not (
                1 <= k <= len(self.tags)):
            raise ParameterError(f"top {k!r} is not valid: give 1 to {len(self.tags)} tags")
        order = np.argsort(-self.tag_counts(), kind="stable")[: int(k)]
        return [self.tags[j] for j in order]

    def select_tags(self, tags: Sequence[str]) -> TaggingDataset:
        """The dataset restricted to ``tags``, in that order."""
        where = {t: j for j, t in enumerate(self.tags)}
        unknown = [t for t in tags if t not in where]
        if unknown:
            raise ParameterError(f"{self.name} dataset has no tag {', '.join(map(repr, unknown))}")
        return self._rows(self.indices(), np.array([where[t] for t in tags], dtype=np.intp))

    def with_splits(self, splits: Mapping[str, str | None], *, drop_others: bool = False
                    ) -> TaggingDataset:
        """The dataset with the splits of ``splits`` (item -> split name).

        Items not in ``splits`` get no split, or are dropped with ``drop_others``.
        """
        unknown = [i for i in splits if i not in self._index]
        if unknown:
            raise InputError(f"{self.name} dataset has no item {unknown[0]!r} (of "
                             f"{len(unknown)} unknown items in the split list)")
        rows = (np.array([self._index[i] for i in self.items if i in splits], dtype=np.intp)
                if drop_others else self.indices())
        out = self._rows(rows)
        out.item_splits = tuple(None if splits.get(i) is None else canonical_split(str(
            splits[i])) for i in out.items)
        return out


# --------------------------------------------------------------------------- helpers


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise InputError(f"{what} '{path}' does not exist")
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {what} '{path}': {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} '{path}' is not UTF-8 text") from exc


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise InputError(f"{where}: {text!r} is not a number") from exc
    if not 0 <= value <= 1:
        raise InputError(f"{where}: label {value} is outside [0, 1]")
    return value


# --------------------------------------------------------------------------- MagnaTagATune


def _mtat_split(mp3_path: str) -> str | None:
    folder = mp3_path.replace("\\", "/").split("/", 1)[0].lower() if "/" in mp3_path else ""
    return MTAT_SPLIT_FOLDERS.get(folder) if len(folder) == 1 else None


def load_magnatagatune(path: str | Path, *, audio_root: str | Path | None = None,
                       top: int | None = None) -> TaggingDataset:
    """Load MagnaTagATune from ``annotations_final.csv`` (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The CSV, or the folder holding it.
    audio_root : str or Path, optional
        Folder of the ``0``..``f`` mp3 folders (default: the CSV's folder).
    top : int, optional
        Keep only the ``top`` most frequent tags (50 in most papers).
    """
    p = Path(path)
    csv_path = p / MTAT_ANNOTATIONS if p.is_dir() else p
    text = _read_text(csv_path, "MagnaTagATune annotations")
    rows = list(csv.reader(text.splitlines(), delimiter="\t"))
    if not rows or len(rows[0]) < 3 or rows[0][0].strip() != "clip_id" or \
            rows[0][-1].strip() != "mp3_path":
        raise InputError(f"'{csv_path}' is not MagnaTagATune's {MTAT_ANNOTATIONS}: its header "
                         "must be clip_id, the tag columns and mp3_path, tab-separated")
    tags = [t.strip() for t in rows[0][1:-1]]
    items: list[str] = []
    files: list[str] = []
    values: list[list[float]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(tags) + 2:
            raise InputError(f"'{csv_path}' line {line} has {len(row)} columns, not "
                             f"{len(tags) + 2}")
        where = f"'{csv_path}' line {line}"
        values.append([_number(c.strip(), where) for c in row[1:-1]])
        items.append(row[0].strip())
        files.append(row[-1].strip())
    labels = np.array(values, dtype=np.float32).reshape(len(items), len(tags))
    ds = TaggingDataset(name="magnatagatune", items=tuple(items), tags=tuple(tags),
                        labels=labels, mask=np.ones_like(labels, dtype=bool),
                        item_splits=tuple(_mtat_split(f) for f in files),
                        audio_root=Path(audio_root) if audio_root is not None
                        else csv_path.parent, audio_files=tuple(files))
    return ds if top is None else ds.select_tags(ds.top_tags(top))


# --------------------------------------------------------------------------- OpenMIC-2018


def _partition(path: Path, keys: dict[str, int]) -> list[str]:
    lines = [ln.strip() for ln in _read_text(path, "OpenMIC partition").splitlines()]
    lines = [ln.split(",")[0].strip() for ln in lines if ln]
    if lines and lines[0] not in keys and lines[0].lower() == "sample_key":
        lines = lines[1:]
    unknown = [k for k in lines if k not in keys]
    if unknown:
        raise InputError(f"OpenMIC partition '{path}' names {len(unknown)} sample keys that "
                         f"are not in {OPENMIC_NPZ}, e.g. {unknown[0]!r}")
    return lines


def load_openmic(path: str | Path, *, partition: str = "split01") -> TaggingDataset:
    """Load OpenMIC-2018 (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The dataset folder (or its ``openmic-2018.npz``).
    partition : str
        Prefix of the partition files in ``partitions/`` (``split01``).
    """
    p = Path(path)
    root = p.parent if p.is_file() else p
    npz = root / OPENMIC_NPZ
    if not npz.is_file():
        raise InputError(f"OpenMIC folder '{root}' has no {OPENMIC_NPZ}")
    try:
        with np.load(npz, allow_pickle=False) as data:
            missing = [k for k in _OPENMIC_KEYS if k not in data.files]
            if missing:
                raise InputError(f"'{npz}' has no array {', '.join(missing)}: is it "
                                 f"OpenMIC's {OPENMIC_NPZ}?")
            features, y_true = data["X"], data["Y_true"]
            y_mask = data["Y_mask"]
            try:
                keys = data["sample_key"]
            except ValueError:  # stored as an object array in the official release
                with np.load(npz, allow_pickle=True) as again:
                    keys = again["sample_key"]
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read '{npz}' ({exc}): re-download the file") from exc
    keys = np.asarray(keys).astype(str)
    class_map_path = root / OPENMIC_CLASS_MAP
    try:
        class_map = json.loads(_read_text(class_map_path, "OpenMIC class map"))
    except ValueError as exc:
        raise InputError(f"'{class_map_path}' is not valid JSON ({exc})") from exc
    n_tags = y_true.shape[1] if y_true.ndim == 2 else -1
    if not isinstance(class_map, dict) or sorted(class_map.values()) != list(range(n_tags)):
        raise InputError(f"'{class_map_path}' must map each of the {n_tags} tag names to a "
                         "column 0..n-1 of Y_true")
    tags = tuple(sorted(class_map, key=lambda t: class_map[t]))
    index = {k: i for i, k in enumerate(keys.tolist())}
    splits: list[str | None] = [None] * len(keys)
    for split in ("train", "test"):
        part = root / "partitions" / f"{partition}_{split}.csv"
        if not part.is_file():
            raise InputError(f"OpenMIC folder '{root}' has no partitions/{part.name}")
        for key in _partition(part, index):
            splits[index[key]] = split
    return TaggingDataset(name="openmic", items=tuple(keys.tolist()), tags=tags,
                          labels=y_true, mask=y_mask, item_splits=tuple(splits),
                          audio_root=root,
                          audio_files=tuple(f"audio/{k[:3]}/{k}.ogg" for k in keys.tolist()),
                          features=features)


# --------------------------------------------------------------------------- generic CSV


def load_tag_csv(path: str | Path, *, audio_root: str | Path | None = None) -> TaggingDataset:
    """Load a generic tag CSV, long (``item,tag``) or wide (``item,tag1,...``).

    See the module docstring for the two forms. Items are audio paths relative to
    ``audio_root`` (default: the CSV's folder).
    """
    p = Path(path)
    text = _read_text(p, "tag CSV")
    lines = text.splitlines()
    if not lines:
        raise InputError(f"tag CSV '{p}' is empty: it needs a header (item,tag or "
                         "item,tag1,tag2,...)")
    delimiter = "\t" if "\t" in lines[0] else ","
    rows = [r for r in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    split_col = lower.index("split") if "split" in lower else None
    data_cols = [j for j in range(len(header)) if j != split_col]
    if len(data_cols) < 2:
        raise InputError(f"tag CSV '{p}' needs an item column and at least one tag column; "
                         f"its header is {','.join(header)}")
    item_col = data_cols[0]
    long = [lower[j] for j in data_cols] == ["item", "tag"]
    items: dict[str, int] = {}
    splits: list[str | None] = []
    root = Path(audio_root) if audio_root is not None else p.parent

    def add_item(item: str, split: str | None, where: str) -> int:
        if item not in items:
            items[item] = len(items)
            splits.append(split)
        elif split is not None and splits[items[item]] not in (None, split):
            raise InputError(f"{where}: item {item!r} is in split {split!r} and "
                             f"{splits[items[item]]!r}")
        return items[item]

    if long:
        tag_col = data_cols[1]
        tags: dict[str, int] = {}
        pairs: list[tuple[int, int]] = []
        for line, row in enumerate(rows[1:], start=2):
            where = f"tag CSV '{p}' line {line}"
            cells = row + [""] * (len(header) - len(row))
            item = cells[item_col].strip()
            if not item:
                raise InputError(f"{where}: no item")
            split = cells[split_col].strip() if split_col is not None else ""
            i = add_item(item, canonical_split(split) if split else None, where)
            tag = cells[tag_col].strip()
            if tag:
                pairs.append((i, tags.setdefault(tag, len(tags))))
        labels = np.zeros((len(items), len(tags)), dtype=np.float32)
        for i, j in pairs:
            labels[i, j] = 1.0
        mask = np.ones_like(labels, dtype=bool)
        tag_names = tuple(tags)
    else:
        tag_cols = data_cols[1:]
        tag_names = tuple(header[j] for j in tag_cols)
        values: list[list[float]] = []
        known: list[list[bool]] = []
        for line, row in enumerate(rows[1:], start=2):
            where = f"tag CSV '{p}' line {line}"
            if len(row) > len(header):
                raise InputError(f"{where} has {len(row)} columns, the header {len(header)}")
            cells = [c.strip() for c in row] + [""] * (len(header) - len(row))
            if not cells[item_col]:
                raise InputError(f"{where}: no item")
            split = cells[split_col] if split_col is not None else ""
            before = len(items)
            add_item(cells[item_col], canonical_split(split) if split else None, where)
            if len(items) == before:
                raise InputError(f"{where}: item {cells[item_col]!r} is listed twice")
            values.append([_number(cells[j], where) if cells[j] else 0.0 for j in tag_cols])
            known.append([bool(cells[j]) for j in tag_cols])
        labels = np.array(values, dtype=np.float32).reshape(len(items), len(tag_cols))
        mask = np.array(known, dtype=bool).reshape(labels.shape)
    return TaggingDataset(name="csv", items=tuple(items), tags=tag_names, labels=labels,
                          mask=mask, item_splits=tuple(splits), audio_root=root,
                          audio_files=tuple(items))


# --------------------------------------------------------------------------- detection


def open_tagging_dataset(path: str | Path, kind: str = "auto", *,
                         audio_root: str | Path | None = None,
                         top: int | None = None) -> TaggingDataset:
    """Open a tagging dataset, picking the loader from what ``path`` holds.

    ``auto`` tries, in order: MagnaTagATune (``annotations_final.csv``, or the folder holding
    it), OpenMIC-2018 (``openmic-2018.npz``, or its folder), a generic ``.csv``/``.tsv``
    file. ``top`` keeps the most frequent tags (any dataset); ``audio_root`` applies to
    MagnaTagATune and CSV files.
    """
    p = Path(path)
    if kind != "auto" and kind not in TAGGING_KINDS:
        raise ParameterError(f"unknown tagging dataset kind {kind!r}; use auto or one of "
                             f"{', '.join(TAGGING_KINDS)}")
    if not p.exists():
        raise InputError(f"tagging dataset '{p}' does not exist")
    if kind == "auto":
        folder = p if p.is_dir() else p.parent
        if (p.is_dir() and (p / MTAT_ANNOTATIONS).is_file()) or p.name == MTAT_ANNOTATIONS:
            kind = "magnatagatune"
        elif (folder / OPENMIC_NPZ).is_file() and (p.is_dir() or p.name == OPENMIC_NPZ):
            kind = "openmic"
        elif p.is_file() and p.suffix.lower() in (".csv", ".tsv"):
            kind = "csv"
        else:
            raise InputError(f"'{p}' is no tagging dataset mirkit knows; tried magnatagatune "
                             f"(no {MTAT_ANNOTATIONS}), openmic (no {OPENMIC_NPZ}), csv (not a "
                             ".csv/.tsv file)")
    if kind == "magnatagatune":
        ds = load_magnatagatune(p, audio_root=audio_root)
    elif kind == "openmic":
        ds = load_openmic(p)
    else:
        ds = load_tag_csv(p, audio_root=audio_root)
    return ds if top is None else ds.select_tags(ds.top_tags(top))
