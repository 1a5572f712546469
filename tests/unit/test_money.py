"""Minor units as Stripe counts them: the server's table is what every page formats with."""

from __future__ import annotations

import pytest
import stripe

from app.core.errors import InvalidInput, ServiceUnavailable
from app.payments.money import (
    DEFAULT_DIGITS,
    charge_step,
    check_amount,
    check_currency,
    digits_table,
    format_money,
    minor_digits,
    payout_step,
    whole_payout,
)
from app.payments.stripe import refusal


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


@pytest.mark.parametrize(
    ("currency", "charge", "payout"),
    [("USD", 1, 1), ("JPY", 1, 1), ("ISK", 100, 100), ("HUF", 1, 100), ("TWD", 1, 100), ("KWD", 10, 1)],
)
def test_steps_are_stripes_special_cases(currency: str, charge: int, payout: int) -> None:
    assert (charge_step(currency), payout_step(currency)) == (charge, payout)


def test_unsupported_currencies_and_amounts_stripe_would_refuse_are_invalid_input() -> None:
    check_currency("EUR")
    check_amount(150000, "ISK", "price_amount")
    check_amount(12345, "HUF", "price_amount")  # HUF charges may have decimals
    for bad in (lambda: check_currency("XYZ"), lambda: check_amount(12345, "ISK", "amount")):
        with pytest.raises(InvalidInput):
            bad()


@pytest.mark.parametrize(
    ("net", "cut", "currency", "moved"),
    [
        (104683, 45000, "HUF", (104700, 44983)),  # up to the next whole forint, out of our commission
        (104683, 10, "TWD", (104600, 93)),  # the commission cannot cover it: down, into it
        (104683, 45000, "USD", (104683, 45000)),  # cents are transferable as they are
        (104600, 45000, "ISK", (104600, 45000)),
    ],
)
def test_whole_payout_moves_less_than_a_unit_and_keeps_the_sum(
    net: int, cut: int, currency: str, moved: tuple[int, int]
) -> None:
    assert whole_payout(net, cut, currency) == moved
    assert sum(moved) == net + cut and abs(moved[0] - net) < 100


def test_stripe_refusing_an_amount_is_invalid_input_anything_else_unavailable() -> None:
    too_small = stripe.InvalidRequestError("Amount must be at least 50 cents", "amount", code="amount_too_small")
    krona = stripe.InvalidRequestError("Invalid amount", "line_items[0][price_data][unit_amount]")
    assert isinstance(refusal(too_small), InvalidInput) and isinstance(refusal(krona), InvalidInput)
    other = stripe.InvalidRequestError("No such account", "destination", code="resource_missing")
    assert isinstance(refusal(other), ServiceUnavailable)
    assert isinstance(refusal(stripe.APIConnectionError("down")), ServiceUnavailable)
