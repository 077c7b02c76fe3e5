"""The checks between a restoration and a pair: dialogue kept, camera words refused, near-duplicates dropped."""

from __future__ import annotations

import random

from annotate.restorations import NearDuplicates, lost_lines, problem

LINES = ["Where were you last night?", "At the harbour, with Mei."]


def story(seed: int, words: int = 80) -> str:
    """A text of real English words in an order of its own (distinct stories for distinct seeds)."""
    vocabulary = ("the old harbour lies quiet under a grey sky while Anna waits by the gate for her brother who "
                  "promised to come home before the storm and every boat in the bay rocks against its rope as wind "
                  "rises over roofs lamps flicker in windows a dog barks somewhere down the lane").split()
    rng = random.Random(seed)
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def test_lost_lines_ignore_case_punctuation_and_layout():
    kept = "ANNA\nwhere were you last night\n\nJOE\nAt the harbour with Mei!"
    assert lost_lines(kept, LINES) == []
    assert lost_lines("ANNA\nWhere were you?\nJOE\nAt the harbour, with Mei.", LINES) == [LINES[0]]


def test_problem_names_the_first_reason():
    good = "SCENE 1\nEXT. HARBOUR - NIGHT\n\nANNA\nWhere were you last night?\n\nJOE\nAt the harbour, with Mei."
    assert problem(good, LINES) is None
    assert problem("   ", LINES) == "empty"
    assert problem(good + "\n\nWIDE SHOT of the harbour.", LINES) == "camera_vocabulary"
    assert problem(good.replace("last night", "yesterday"), LINES) == "lost_dialogue"


def test_near_duplicates_are_dropped_and_counted():
    base = [story(seed) for seed in range(5)]
    rng = random.Random(7)
    copies = []
    for text in base:  # a near-duplicate: one word in forty changed
        words = text.split()
        for i in rng.sample(range(len(words)), 2):
            words[i] = "lantern"
        copies.append(" ".join(words))
    exact = base[:2]
    candidates = base + copies + exact
    seen = NearDuplicates(threshold=0.8)
    kept = [text for text in candidates if seen.keep(text)]
    assert kept == base  # five distinct stories kept, their 5 near copies and 2 exact copies dropped
    assert len(candidates) - len(kept) == 7


def test_a_lower_threshold_drops_more():
    text = story(1)
    rewritten = " ".join(w if i % 4 else "storm" for i, w in enumerate(text.split()))  # every fourth word changed
    strict, loose = NearDuplicates(threshold=0.8), NearDuplicates(threshold=0.05)
    assert strict.keep(text) and strict.keep(rewritten)
    assert loose.keep(text) and not loose.keep(rewritten)
