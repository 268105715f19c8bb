"""Tagging dataset loaders on tiny files fabricated in each dataset's layout."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mirkit.data.tagging_datasets import (
    MTAT_ANNOTATIONS,
    TaggingDataset,
    load_magnatagatune,
    load_openmic,
    load_tag_csv,
    open_tagging_dataset,
)
from mirkit.errors import InputError, ParameterError

# --------------------------------------------------------------------------- MagnaTagATune

MTAT_TAGS = ["guitar", "classical", "slow", "techno"]
MTAT_ROWS = [  # clip_id, tags, mp3_path
    ("2", [1, 1, 0, 0], "f/american_bach_soloists-j_s__bach-01-bwv54__i_aria-30-59.mp3"),
    ("6", [0, 1, 1, 0], "0/artist-album-01-title-0-29.mp3"),
    ("10", [0, 0, 1, 1], "b/artist-album-02-title-30-59.mp3"),
    ("11", [1, 1, 0, 0], "c/artist-album-03-title-0-29.mp3"),
    ("12", [0, 1, 0, 0], "d/artist-album-04-title-0-29.mp3"),
]


def write_mtat(folder: Path, rows: list[tuple[str, list[int], str]] = MTAT_ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MTAT_ANNOTATIONS
    with path.open("w", newline="") as f:          # the real file quotes every field
        writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_ALL)
        writer.writerow(["clip_id", *MTAT_TAGS, "mp3_path"])
        for clip, tags, mp3 in rows:
            writer.writerow([clip, *tags, mp3])
    return path


def test_magnatagatune_labels_and_folder_split(tmp_path: Path) -> None:
    write_mtat(tmp_path / "mtat")
    ds = load_magnatagatune(tmp_path / "mtat")
    assert ds.name == "magnatagatune" and ds.items == ("2", "6", "10", "11", "12")
    assert ds.tags == tuple(MTAT_TAGS)
    np.testing.assert_array_equal(ds.labels, np.array([r[1] for r in MTAT_ROWS]))
    assert ds.mask.all() and ds.labels.dtype == np.float32
    # folders 0-b train, c valid, d-f test
    assert ds.item_splits == ("test", "train", "train", "valid", "test")
    assert ds.splits() == ["train", "valid", "test"]
    assert ds.indices("validation").tolist() == [3]
    assert ds.subset("test").items == ("2", "12")
    assert ds.audio_path("6") == tmp_path / "mtat" / "0/artist-album-01-title-0-29.mp3"
    other = load_magnatagatune(tmp_path / "mtat" / MTAT_ANNOTATIONS, audio_root=tmp_path / "a")
    assert other.audio_path("6") == tmp_path / "a" / "0/artist-album-01-title-0-29.mp3"


def test_magnatagatune_top_tags(tmp_path: Path) -> None:
    write_mtat(tmp_path)
    ds = load_magnatagatune(tmp_path, top=2)
    # counts: guitar 2, classical 4, slow 2, techno 1 -> classical, then guitar (column order)
    assert ds.tags == ("classical", "guitar")
    np.testing.assert_array_equal(ds.labels[:, 1], [1, 0, 0, 1, 0])
    assert ds.tag_counts().tolist() == [4, 2]
    with pytest.raises(ParameterError, match="top 9 is not valid"):
        load_magnatagatune(tmp_path, top=9)


def test_magnatagatune_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="MagnaTagATune annotations .* does not exist"):
        load_magnatagatune(tmp_path)
    (tmp_path / MTAT_ANNOTATIONS).write_text("clip_id,guitar,mp3_path\n1,0,a.mp3\n")
    with pytest.raises(InputError, match="is not MagnaTagATune's annotations_final.csv"):
        load_magnatagatune(tmp_path)
    write_mtat(tmp_path, [("1", [1, 0, 0, 0], "0/a.mp3"), ("2", [1, 0, 0], "0/b.mp3")])
    with pytest.raises(InputError, match="line 3 has 5 columns, not 6"):
        load_magnatagatune(tmp_path)
    write_mtat(tmp_path, [("1", [1, 0, 2, 0], "0/a.mp3")])
    with pytest.raises(InputError, match="line 2: label 2.0 is outside"):
        load_magnatagatune(tmp_path)


# --------------------------------------------------------------------------- OpenMIC-2018

OPENMIC_TAGS = {"accordion": 0, "banjo": 1, "bass": 2}
KEYS = ["000046_3840", "000135_483840", "000139_119040", "000141_153600"]


def write_openmic(root: Path, *, object_keys: bool = False) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    arrays: dict[str, Any] = {
        "X": rng.integers(0, 256, (4, 10, 128)).astype(np.uint8),
        "Y_true": np.array([[0.9, 0.5, 0.1], [0.2, 0.5, 0.8], [0.5, 0.5, 0.5],
                            [1.0, 0.0, 0.5]]),
        "Y_mask": np.array([[1, 0, 1], [1, 0, 1], [0, 0, 0], [1, 1, 0]], dtype=bool),
        "sample_key": np.array(KEYS, dtype=object if object_keys else str),
    }
    root.mkdir(parents=True, exist_ok=True)
    np.savez(root / "openmic-2018.npz", **arrays)
    (root / "class-map.json").write_text(json.dumps(OPENMIC_TAGS))
    (root / "partitions").mkdir(exist_ok=True)
    (root / "partitions" / "split01_train.csv").write_text(f"{KEYS[0]}\n{KEYS[2]}\n")
    (root / "partitions" / "split01_test.csv").write_text(f"{KEYS[1]}\n")
    return arrays


@pytest.mark.parametrize("object_keys", [False, True])
def test_openmic_masks_and_partitions(tmp_path: Path, object_keys: bool) -> None:
    arrays = write_openmic(tmp_path / "openmic-2018", object_keys=object_keys)
    ds = load_openmic(tmp_path / "openmic-2018")
    assert ds.items == tuple(KEYS) and ds.tags == ("accordion", "banjo", "bass")
    np.testing.assert_array_equal(ds.mask, arrays["Y_mask"])
    # known labels are the Y_true confidences, unknown ones are 0
    np.testing.assert_allclose(ds.labels, np.where(arrays["Y_mask"], arrays["Y_true"], 0))
    assert ds.labels[0, 1] == 0 and ds.labels[0, 0] == pytest.approx(0.9)
    assert ds.item_splits == ("train", "test", "train", None)
    assert ds.indices("train").tolist() == [0, 2]
    assert ds.audio_path(KEYS[1]) == tmp_path / "openmic-2018/audio/000/000135_483840.ogg"
    assert ds.features is not None and ds.features.shape == (4, 10, 128)
    sub = ds.subset("train")
    np.testing.assert_array_equal(sub.features, arrays["X"][[0, 2]])
    assert sub.mask.shape == (2, 3)


def test_openmic_bad_layouts(tmp_path: Path) -> None:
    root = tmp_path / "om"
    root.mkdir()
    with pytest.raises(InputError, match="has no openmic-2018.npz"):
        load_openmic(root)
    write_openmic(root)
    (root / "partitions" / "split01_test.csv").write_text("999999_0\n")
    with pytest.raises(InputError, match="names 1 sample keys that are not in"):
        load_openmic(root)
    (root / "partitions" / "split01_test.csv").unlink()
    with pytest.raises(InputError, match="has no partitions/split01_test.csv"):
        load_openmic(root)
    (root / "class-map.json").write_text(json.dumps({"accordion": 0, "banjo": 5}))
    with pytest.raises(InputError, match="must map each of the 3 tag names"):
        load_openmic(root)
    np.savez(root / "openmic-2018.npz", X=np.zeros((1, 10, 128)))
    with pytest.raises(InputError, match="has no array Y_true, Y_mask, sample_key"):
        load_openmic(root)


# --------------------------------------------------------------------------- generic CSV


def test_tag_csv_long_form(tmp_path: Path) -> None:
    path = tmp_path / "tags.csv"
    path.write_text("item,tag,split\nrock/a.wav,guitar,train\nrock/a.wav,loud,train\n"
                    "jazz/b.wav,sax,validation\nquiet/c.wav,,test\n")
    ds = load_tag_csv(path, audio_root=tmp_path / "audio")
    assert ds.items == ("rock/a.wav", "jazz/b.wav", "quiet/c.wav")
    assert ds.tags == ("guitar", "loud", "sax")
    np.testing.assert_array_equal(ds.labels, [[1, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert ds.mask.all()
    assert ds.item_splits == ("train", "valid", "test")
    assert ds.audio_path("jazz/b.wav") == tmp_path / "audio" / "jazz/b.wav"
    path.write_text("item,tag,split\na.wav,x,train\na.wav,y,test\n")
    with pytest.raises(InputError, match="line 3: item 'a.wav' is in split 'test' and 'train'"):
        load_tag_csv(path)


def test_tag_csv_wide_form_masks_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "wide.tsv"
    path.write_text("file\trock\tjazz\tsplit\na.wav\t1\t\ttrain\nb.wav\t0\t0.5\t\n")
    ds = load_tag_csv(path)
    assert ds.tags == ("rock", "jazz") and ds.items == ("a.wav", "b.wav")
    np.testing.assert_array_equal(ds.mask, [[True, False], [True, True]])
    np.testing.assert_array_equal(ds.labels, [[1, 0], [0, 0.5]])
    assert ds.item_splits == ("train", None)
    assert ds.audio_path("a.wav") == tmp_path / "a.wav"
    path.write_text("file,rock\na.wav,yes\n")
    with pytest.raises(InputError, match="line 2: 'yes' is not a number"):
        load_tag_csv(path)
    path.write_text("file,rock\na.wav,1\na.wav,0\n")
    with pytest.raises(InputError, match="item 'a.wav' is listed twice"):
        load_tag_csv(path)
    path.write_text("file\na.wav\n")
    with pytest.raises(InputError, match="needs an item column and at least one tag column"):
        load_tag_csv(path)


# --------------------------------------------------------------------------- detection


def test_open_tagging_dataset_detects_each_layout(tmp_path: Path) -> None:
    write_mtat(tmp_path / "mtat")
    write_openmic(tmp_path / "openmic")
    (tmp_path / "pairs.csv").write_text("item,tag\na.wav,rock\nb.wav,jazz\nc.wav,rock\n")
    assert open_tagging_dataset(tmp_path / "mtat").name == "magnatagatune"
    assert open_tagging_dataset(tmp_path / "mtat" / MTAT_ANNOTATIONS, top=1).tags == (
        "classical",)
    assert open_tagging_dataset(tmp_path / "openmic").name == "openmic"
    ds = open_tagging_dataset(tmp_path / "pairs.csv", top=1)
    assert isinstance(ds, TaggingDataset) and ds.name == "csv" and ds.tags == ("rock",)
    with pytest.raises(InputError, match="tried magnatagatune .*openmic .*csv"):
        open_tagging_dataset(tmp_path)
    with pytest.raises(ParameterError, match="unknown tagging dataset kind 'mtat'"):
        open_tagging_dataset(tmp_path / "mtat", kind="mtat")
    with pytest.raises(InputError, match="does not exist"):
        open_tagging_dataset(tmp_path / "nothing")
    with pytest.raises(ParameterError, match="has no tag 'piano'"):
        ds.select_tags(["piano"])
    with pytest.raises(InputError, match="has no item 'z.wav'"):
        ds.audio_path("z.wav")


def test_with_splits_applies_an_item_list(tmp_path: Path) -> None:
    write_mtat(tmp_path)
    ds = load_magnatagatune(tmp_path).with_splits({"2": "train", "6": "valid"},
                                                  drop_others=True)
    assert ds.items == ("2", "6") and ds.item_splits == ("train", "valid")
    with pytest.raises(InputError, match="has no item '99'"):
        load_magnatagatune(tmp_path).with_splits({"99": "train"})
