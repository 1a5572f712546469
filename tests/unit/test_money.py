"""Minor units as Stripe counts them: the server's table is what every page formats with."""

from __future__ import annotations

import pytest

from app.payments.money import DEFAULT_DIGITS, digits_table, format_money, minor_digits


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("USD", 2),
        ("eur", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("VND", 0),
        ("UGX", 0),
        # Whole units to ISO 4217 and to browsers' Intl data, yet two-decimal in Stripe's API
        # (an amount of 100 is 1 kr): what we store and send is Stripe's count.
        ("ISK", 2),
        # Two-decimal for charges; only their payouts must be whole units.
        ("HUF", 2),
        ("TWD", 2),
        ("KWD", 3),
        ("BHD", 3),
    ],
)
def test_minor_digits_are_stripes(currency: str, digits: int) -> None:
    assert minor_digits(currency) == digits


def test_the_table_sent_to_pages_lists_every_currency_that_is_not_two_decimal() -> None:
    table = digits_table()
    assert table["JPY"] == 0 and table["KWD"] == 3
    assert "ISK" not in table and "USD" not in table and DEFAULT_DIGITS == 2
    assert all(minor_digits(code) == digits != DEFAULT_DIGITS for code, digits in table.items())


def test_format_money_scales_by_the_minor_unit() -> None:
    assert format_money(1500, "JPY") == "1500 JPY"
    assert format_money(150000, "ISK") == "1500.00 ISK"
    assert format_money(1234, "usd") == "12.34 USD"
    assert format_money(5125, "KWD") == "5.125 KWD"
