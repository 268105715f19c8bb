"""dMelodies from Python: items, factors, tokens, re-estimation and the benchmark split.

Run:  python examples/dmelodies_quickstart.py
"""

from __future__ import annotations

import numpy as np

from mirkit.data import dmelodies as dm
from mirkit.data.dmelodies_torch import DMelodiesDataset


def main() -> None:
    index = dm.factors_to_index([9, 0, 1, 14, 3, 0, 1, 0, 1])   # A4 minor, two rhythms
    names = dict(zip(dm.FACTOR_NAMES, dm.index_to_factors(index).tolist(), strict=True))
    print(f"item {index}: {names}")
    print("melody (MIDI per eighth, -1 = rest):", dm.melody(index).tolist())
    print("tokens:", " ".join(dm.VOCABULARY[t] for t in dm.tokens(index)))

    # A model's output would go here; re-estimating the factors of clean tokens gives them back.
    rng = np.random.default_rng(0)
    sample = rng.integers(0, dm.NUM_ITEMS, size=10_000)
    estimated = dm.estimate_factors(dm.tokens(sample))
    accuracy = (estimated == dm.index_to_factors(sample)).mean(axis=0)
    print("attribute accuracy on clean tokens:",
          {name: round(float(a), 3) for name, a in zip(dm.FACTOR_NAMES, accuracy, strict=True)})

    test = DMelodiesDataset(split="test", seed=0)       # generated in memory, ~2 s
    tokens, factors = test[0]
    print(f"benchmark test split: {len(test)} items; first: item {int(test.item_indices[0])}, "
          f"factors {factors.tolist()}")


if __name__ == "__main__":
    main()
