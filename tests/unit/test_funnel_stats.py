"""The contrast's statistics: one-sided Fisher's exact test and Holm's correction, against
hand-computed hypergeometric sums and known vectors."""

from __future__ import annotations

import random
from math import comb

import pytest

from recap.funnels.stats import fisher_greater, holm


def test_fisher_tea_tasting() -> None:
    # Fisher's lady tasting tea: 3 of 4 right; P(X >= 3) = (C(4,3)C(4,1) + C(4,4)C(4,0)) / C(8,4)
    assert fisher_greater(3, 1, 1, 3) == pytest.approx(17 / 70, rel=1e-12)
    assert fisher_greater(4, 0, 0, 4) == pytest.approx(1 / 70, rel=1e-12)


def test_fisher_planted_tables_match_the_hypergeometric_tail() -> None:
    # 14 of 20 stopped vs 0 of 40 went on: all 14 with the feature are among the 20
    assert fisher_greater(14, 6, 0, 40) == pytest.approx(comb(20, 14) / comb(60, 14), rel=1e-12)
    assert fisher_greater(14, 6, 0, 40) == pytest.approx(2.2345e-09, rel=1e-4)
    # 6 of 20 vs 0 of 40
    assert fisher_greater(6, 14, 0, 40) == pytest.approx(38_760 / 50_063_860, rel=1e-12)
    # 3 of 20 vs 2 of 40: P(X >= 3), X ~ Hypergeometric(60, 5, 20)
    tail = sum(comb(5, x) * comb(55, 20 - x) for x in range(3, 6)) / comb(60, 20)
    assert fisher_greater(3, 17, 2, 38) == pytest.approx(tail, rel=1e-12)


def test_fisher_edges() -> None:
    assert fisher_greater(0, 20, 5, 35) == 1.0  # nobody who stopped has it
    assert fisher_greater(0, 0, 0, 0) == 1.0
    assert fisher_greater(20, 0, 40, 0) == 1.0  # everybody has it
    with pytest.raises(ValueError, match="negative"):
        fisher_greater(-1, 2, 3, 4)


def test_fisher_agrees_with_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(7)
    for _ in range(200):
        table = [rng.randint(0, 30) for _ in range(4)]
        expected = stats.fisher_exact([table[:2], table[2:]], alternative="greater").pvalue
        assert fisher_greater(*table) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_holm_on_a_known_vector() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1, and monotone
    assert holm([0.02]) == [0.02]
    assert holm([]) == []


def test_holm_of_the_planted_step() -> None:
    # two planted factors among 13 tested: the smallest is multiplied by 13, the next by 12
    p = [2.2345e-09, 7.7422e-4] + [0.2] * 11
    adjusted = holm(p)
    assert adjusted[0] == pytest.approx(13 * 2.2345e-09)
    assert adjusted[1] == pytest.approx(12 * 7.7422e-4)
    assert all(value == 1.0 for value in adjusted[2:])
