"""Password hashing: bcrypt cost, pepper, and passwords past bcrypt's 72-byte limit."""

from __future__ import annotations

import bcrypt

from app.core.security import PasswordHasher, token_digest


def test_cost_12_and_prehash() -> None:
    hasher = PasswordHasher("pepper-one", rounds=12, threads=1)
    hashed = hasher.hash_sync("a" * 200)
    assert hashed.startswith("$2b$12$")
    assert hasher.verify_sync("a" * 200, hashed)
    # Same first 72 bytes, different tail: bcrypt alone would call these equal.
    assert not hasher.verify_sync("a" * 199 + "b", hashed)
    # The raw password is not what bcrypt saw: the pepper went in first.
    assert not bcrypt.checkpw(b"a" * 72, hashed.encode())


def test_pepper_matters_and_unknown_accounts_fail() -> None:
    one = PasswordHasher("pepper-one", rounds=4, threads=1)
    two = PasswordHasher("pepper-two", rounds=4, threads=1)
    hashed = one.hash_sync("ümlaut 🎹 passphrase")
    assert one.verify_sync("ümlaut 🎹 passphrase", hashed)
    assert not two.verify_sync("ümlaut 🎹 passphrase", hashed)
    assert not one.verify_sync("anything", None)


def test_token_digest_is_stable_and_not_the_token() -> None:
    assert token_digest("abc") == token_digest("abc")
    assert token_digest("abc") != "abc"
    assert len(token_digest("abc")) == 64
