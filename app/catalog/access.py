"""Who may see a listing and fetch its files: the one place these rules live."""

from __future__ import annotations

from app.accounts.tables import User
from app.catalog.tables import Entitlement, Listing

VISIBLE_TO_ALL = {"published", "unlisted"}


def is_manager(user: User | None, listing: Listing) -> bool:
    """The listing's creator, or an admin."""
    return manages(user, listing.creator)


def manages(user: User | None, creator: object) -> bool:
    """Whether ``user`` manages listings of ``creator`` (an id, as a UUID or its text)."""
    return user is not None and (user.role == "admin" or str(user.id) == str(creator))


async def has_entitlement(user: User | None, listing: Listing) -> bool:
    if user is None:
        return False
    return bool(
        await Entitlement.exists().where(
            Entitlement.user == user.id,
            Entitlement.listing == listing.id,
            Entitlement.revoked_at.is_null(),
        )
    )


async def can_view(user: User | None, listing: Listing) -> bool:
    """Drafts only for their managers; archived listings also for those who own them."""
    if is_manager(user, listing) or listing.status in VISIBLE_TO_ALL:
        return True
    return listing.status == "archived" and await has_entitlement(user, listing)


async def can_download(user: User | None, listing: Listing, role: str) -> tuple[bool, str]:
    """Whether ``user`` may fetch a file of ``role``, and if not, why (for the problem detail)."""
    if is_manager(user, listing):
        return True, ""
    if role in {"cover", "demo"}:
        # Previews are part of the public page.
        return True, ""
    if listing.price_kind == "free":
        if listing.free_requires_login and user is None:
            return False, "Sign in to download this free listing."
        return True, ""
    if await has_entitlement(user, listing):
        return True, ""
    return False, "This listing is paid: buy it (or be granted it) to download its files."
