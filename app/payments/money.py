"""Money arithmetic in integer minor units: commission and exact pro-rata allocation."""

from __future__ import annotations


def commission(amount: int, bps: int) -> int:
    """``amount * bps / 10000``, rounded half up to the minor unit."""
    return (amount * bps + 5000) // 10000


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` so the parts sum exactly to ``total``.

    Largest remainder: each part gets the floor of its share, and the units left over go to the
    parts with the largest fractional remainders (ties to the earlier part), so no cent is lost
    or invented. Zero weights get nothing unless every weight is zero (then an even split).
    """
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(parts)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        parts[i] += 1
    return parts
