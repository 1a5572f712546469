"""Money arithmetic in integer minor units: commission, exact pro-rata allocation, display."""

from __future__ import annotations

from decimal import Decimal

# Currencies whose minor unit in Stripe's API is not the cent: Stripe's zero-decimal list, and
# the three-decimal ones. 1500 JPY is ¥1,500, not ¥15.00. Every other currency has two decimals
# *as Stripe counts them*, which is what we store and send: ISK is whole krónur everywhere else
# (ISO 4217, and browsers' Intl data), but Stripe kept it two-decimal (an amount of 100 is 1 kr),
# as it does HUF and TWD, whose payouts must be whole units. This table, not the browser's, is
# what the pages format with (GET /api/v1/currencies).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
DEFAULT_DIGITS = 2


def minor_digits(currency: str) -> int:
    """How many decimals the currency's minor unit has (2 unless listed above)."""
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else DEFAULT_DIGITS


def digits_table() -> dict[str, int]:
    """Every currency whose minor unit is not two decimals, with its digits (for the pages)."""
    return {code: minor_digits(code) for code in sorted(ZERO_DECIMAL | THREE_DECIMAL)}


def format_money(amount: int, currency: str) -> str:
    """``"12.00 EUR"``, ``"1500 JPY"``: for display only; stored amounts stay integers."""
    digits = minor_digits(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f} {currency.upper()}"


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
