"""Piece size of a pack's torrent: a power of two between 256 KiB and 16 MiB, about 500 pieces."""

from __future__ import annotations

import pytest

from app.torrents.builder import MAX_PIECE, MIN_PIECE, TARGET_PIECES, piece_size_for

KIB, MIB, GIB = 1024, 1024**2, 1024**3


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (0, 256 * KIB),
        (1, 256 * KIB),
        (100 * MIB, 256 * KIB),  # 400 pieces: small packs keep the smallest piece
        (1 * GIB, 2 * MIB),  # 512 pieces
        (8 * GIB, 16 * MIB),  # 512 pieces, at the cap
        (50 * GIB, 16 * MIB),  # clamped: 3,200 pieces rather than larger pieces
    ],
)
def test_piece_size_for_known_sizes(total: int, expected: int) -> None:
    assert piece_size_for(total) == expected


def test_piece_size_is_a_bounded_power_of_two_that_never_shrinks_as_packs_grow() -> None:
    previous = 0
    for total in [0, *(int(1.37**n) for n in range(1, 90))]:
        size = piece_size_for(total)
        assert MIN_PIECE <= size <= MAX_PIECE
        assert size & (size - 1) == 0
        assert size >= previous
        # Below the cap, a pack never has more than half again the target number of pieces.
        assert size == MAX_PIECE or total / size <= TARGET_PIECES * 1.5
        previous = size
