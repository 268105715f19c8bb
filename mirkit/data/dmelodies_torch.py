"""A torch ``Dataset`` of dMelodies with the benchmark split (70 / 20 / 10 %, seeded)."""

from __future__ import annotations

import os
from typing import Literal

import torch
from torch.utils.data import Dataset

from mirkit.data import dmelodies as dm
from mirkit.errors import ParameterError

Split = Literal["train", "val", "test", "all"]


class DMelodiesDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """dMelodies items as ``(tokens, factors)`` pairs of ``torch.long`` tensors.

    Parameters
    ----------
    source : path, optional
        A dMelodies ``.npz`` (mirkit's or the original's). By default the items are
        generated in memory (a couple of seconds), so no file is needed.
    split : {"train", "val", "test", "all"}
        Which part of the benchmark split: rows shuffled with NumPy's legacy generator
        seeded with ``seed``, then cut 70 / 20 / 10 %, as the dMelodies benchmarks do.
    seed : int
        Shuffle seed (the benchmarks use 0, 1 and 2).

    Items are ``tokens`` shape (16,) and ``factors`` shape (9,); ``index2note`` holds the
    vocabulary of the tokens.
    """

    def __init__(self, source: str | os.PathLike[str] | None = None, *, split: Split = "train",
                 seed: int = 0) -> None:
        if split not in ("train", "val", "test", "all"):
            raise ParameterError(f"split {split!r}: choose train, val, test or all")
        if source is None:
            data, self.index2note = dm.generate(), dict(dm.INDEX2NOTE)
        else:
            data, self.index2note = dm.load_npz(source)
        rows = (torch.arange(len(data)) if split == "all"
                else torch.from_numpy(dm.split_positions(len(data), seed=seed)[split]))
        self.tokens = torch.from_numpy(data.score_array).long()[rows]
        self.factors = torch.from_numpy(data.latent_array).long()[rows]
        self.item_indices = torch.from_numpy(data.indices)[rows]

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.tokens[i], self.factors[i]
