"""What a restoration must pass to become a pair: no camera vocabulary, every line of dialogue kept, and not a
near-duplicate of an earlier restoration of the same shooting script.

Near-duplicates: MinHash (``datasketch``, ``num_perm`` permutations, a fixed seed) over the restoration's word
shingles (``shingle_words`` consecutive words, case-folded); a restoration whose estimated Jaccard similarity with
one already kept reaches ``threshold`` is dropped. Restorations are compared in index order, so the first of a
group of near-duplicates is the one kept.
"""

from __future__ import annotations

import re

import numpy as np

from annotate.camera_terms import camera_terms

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """The case-folded words of a text (CJK runs count as one word each)."""
    return _WORD.findall(text.casefold())


def lost_lines(restoration: str, lines: list[str]) -> list[str]:
    """The dialogue lines whose words do not appear, in order and together, in the restoration."""
    said = " " + " ".join(words(restoration)) + " "
    return [line for line in lines if words(line) and f" {' '.join(words(line))} " not in said]


def problem(restoration: str, lines: list[str]) -> str | None:
    """Why a restoration cannot be a pair (``empty``, ``camera_vocabulary``, ``lost_dialogue``), or None."""
    if not restoration.strip():
        return "empty"
    if camera_terms(restoration, exempt=lines):
        return "camera_vocabulary"
    if lost_lines(restoration, lines):
        return "lost_dialogue"
    return None


class NearDuplicates:
    """Keeps restorations of one script unless one already kept is too similar."""

    def __init__(self, threshold: float = 0.8, shingle_words: int = 3, num_perm: int = 128) -> None:
        from datasketch import MinHash

        self.threshold, self.shingle_words = threshold, shingle_words
        self._empty = MinHash(num_perm=num_perm, seed=1)  # its permutations are drawn once, then shared by copies
        self._kept: list[np.ndarray] = []

    def signature(self, text: str) -> np.ndarray:
        """The MinHash signature of a text's word shingles (the whole text as one shingle when it is shorter)."""
        tokens, n = words(text), self.shingle_words
        shingles = {" ".join(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))}
        minhash = self._empty.copy()
        minhash.update_batch(s.encode("utf-8") for s in shingles)
        return minhash.hashvalues

    def keep(self, text: str) -> bool:
        """Whether ``text`` is new enough to keep (it is then remembered)."""
        signature = self.signature(text)
        if self._kept and float((np.stack(self._kept) == signature).mean(axis=1).max()) >= self.threshold:
            return False
        self._kept.append(signature)
        return True
