"""The significance test of the contrast: one-sided Fisher's exact test on a 2x2 table, and
Holm-Bonferroni's step-down correction over the tests of one funnel step.

Exact with integers (`math.comb`): the groups are a few hundred sessions at most, so the
hypergeometric sum is cheap and needs no numerical library.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb


def fisher_greater(
    stopped_with: int, stopped_without: int, went_with: int, went_without: int
) -> float:
    """P(at least `stopped_with` of the stopped sessions show the feature), when the sessions
    that show it were spread over both groups at random (margins fixed): Fisher's exact
    test, one-sided towards "over-represented among those who stopped"."""
    if min(stopped_with, stopped_without, went_with, went_without) < 0:
        raise ValueError("a 2x2 table's counts cannot be negative")
    stopped = stopped_with + stopped_without
    having = stopped_with + went_with
    total = stopped + went_with + went_without
    # X ~ Hypergeometric(total, having, stopped); P(X >= stopped_with)
    upper = min(having, stopped)
    tail = sum(
        comb(having, x) * comb(total - having, stopped - x) for x in range(stopped_with, upper + 1)
    )
    return min(1.0, tail / comb(total, stopped))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input's order: the i-th smallest of m is
    multiplied by m - i + 1, made monotone and capped at 1. A test is significant at level
    alpha when its adjusted p is below alpha."""
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [0.0] * count
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
