"""Money arithmetic in integer minor units: commission, exact pro-rata allocation, display."""

from __future__ import annotations

from decimal import Decimal

from app.core.errors import InvalidInput

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

# Stripe's presentment currencies for card payments (docs.stripe.com/currencies): what a listing,
# a fixed discount code and so an order may be priced in. Anything else Stripe refuses at checkout.
_PRESENTMENT = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GNF GTQ
    GYD HKD HNL HTG HUF IDR ILS INR ISK JMD JOD JPY KES KGS KHR KMF KRW KWD KYD KZT LAK LBP LKR LRD
    LSL MAD MDL MGA MKD MMK MNT MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK SGD SHP SLE SOS SRD STD SZL THB TJS TND TOP
    TRY TTD TWD TZS UAH UGX USD UYU UZS VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW
    """
SUPPORTED = frozenset(_PRESENTMENT.split())
# Stripe's special cases, in its minor units. ISK charges and refunds must be whole krónur (a
# multiple of 100) since the card networks dropped fractional króna; three-decimal amounts must
# end in 0. HUF and TWD charges may have decimals, but payouts and transfers are whole units.
WHOLE_UNIT_CHARGES = frozenset(["ISK"])
WHOLE_UNIT_PAYOUTS = frozenset(["HUF", "TWD"]) | WHOLE_UNIT_CHARGES


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


def charge_step(currency: str) -> int:
    """Every amount charged (a price, a discount, a total) in ``currency`` is a multiple of this."""
    code = currency.upper()
    return 100 if code in WHOLE_UNIT_CHARGES else 10 if code in THREE_DECIMAL else 1


def payout_step(currency: str) -> int:
    """Every amount transferred to a creator (or taken back) in ``currency`` is a multiple of this."""
    return 100 if currency.upper() in WHOLE_UNIT_PAYOUTS else 1


def check_currency(currency: str, field: str = "currency") -> None:
    """Refuse a currency Stripe cannot charge in, before anything is written."""
    if currency.upper() not in SUPPORTED:
        raise InvalidInput(f"{currency} is not a currency payments can be taken in.", field=field)


def check_amount(amount: int, currency: str, field: str) -> None:
    """Refuse an amount Stripe would refuse in ``currency`` (ISK in whole krónur, …)."""
    step = charge_step(currency)
    if amount % step:
        unit = "whole units: multiples of 100" if step == 100 else f"multiples of {step}"
        detail = f"Amounts in {currency.upper()} must be {unit} in minor units; {amount} is not."
        raise InvalidInput(detail, field=field)


def whole_payout(net: int, cut: int, currency: str) -> tuple[int, int]:
    """A sale's (net, commission) moved so the net can be transferred as it is.

    In HUF, TWD and ISK a transfer is whole units: the creator's net goes up to the next whole
    unit out of our commission where the commission covers it, else down into it. Less than one
    unit moves, and ``gross - fee - commission == net`` still holds.
    """
    step = payout_step(currency)
    short = -net % step
    if short == 0:
        return net, cut
    if cut >= short:
        return net + short, cut - short
    return net - (step - short), cut + (step - short)


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
