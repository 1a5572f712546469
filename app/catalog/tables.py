"""Catalog tables: listings and their versions and files, uploads in flight, entitlements.

Times are epoch seconds (``app.core.db.now``), like the accounts tables. Lists (tags, formats,
compatible versions) are JSON text: portable across SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid

from piccolo.columns import JSON, UUID, BigInt, Boolean, ForeignKey, Integer, Text, Varchar
from piccolo.table import Table

from app.accounts.tables import User


class Listing(Table, tablename="listings"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    creator = ForeignKey(references=User, null=False, index=True)
    # Unique per creator; the storefront URL is /<handle>/<slug>.
    slug = Varchar(length=80, index=True)
    kind = Varchar(length=24)
    title = Varchar(length=140)
    description_md = Text(default="")
    # Rendered once on write (markdown-it, then nh3), never from user HTML.
    description_html = Text(default="")
    tags = JSON(default="[]")
    genre = Varchar(length=60, default="")
    synth = Varchar(length=80, default="")
    synth_versions = JSON(default="[]")
    daw = Varchar(length=60, default="")
    formats = JSON(default="[]")
    bpm = Integer(null=True, default=None)
    musical_key = Varchar(length=12, default="")
    license = Text(default="")
    price_kind = Varchar(length=8, default="free")
    # Integer minor units (cents) of ``currency``; pwyw_minimum is the least a buyer may pay.
    price_amount = Integer(default=0)
    currency = Varchar(length=3, default="USD")
    pwyw_minimum = Integer(default=0)
    status = Varchar(length=12, default="draft", index=True)
    free_requires_login = Boolean(default=False)
    cover_file = UUID(null=True, default=None)
    demo_file = UUID(null=True, default=None)
    created_at = BigInt()
    updated_at = BigInt()
    published_at = BigInt(null=True, default=None)


class ListingVersion(Table, tablename="listing_versions"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    listing = ForeignKey(references=Listing, null=False, index=True)
    label = Varchar(length=32)
    changelog = Text(default="")
    published = Boolean(default=False)
    created_at = BigInt()


class ListingFile(Table, tablename="listing_files"):
    """A file that joined a version after its upload was verified (or was rejected, with why)."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    listing = ForeignKey(references=Listing, null=False, index=True)
    version = ForeignKey(references=ListingVersion, null=False, index=True)
    object_key = Varchar(length=400, unique=True)
    original_name = Varchar(length=255)
    size = BigInt()
    sha256 = Varchar(length=64, default="")
    content_type = Varchar(length=120)
    role = Varchar(length=8)
    status = Varchar(length=10, default="ready")
    reason = Text(default="")
    created_at = BigInt()


class Upload(Table, tablename="uploads"):
    """One presigned upload in flight: what was promised, to whom, and how it ended."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    user = ForeignKey(references=User, null=False, index=True)
    listing = ForeignKey(references=Listing, null=False, index=True)
    version = ForeignKey(references=ListingVersion, null=False)
    object_key = Varchar(length=400, unique=True)
    original_name = Varchar(length=255)
    size = BigInt()
    content_type = Varchar(length=120)
    role = Varchar(length=8)
    sha256 = Varchar(length=64, default="")
    # Empty for a single POST upload; the S3 upload id for multipart.
    upload_id = Varchar(length=200, default="")
    part_size = BigInt(default=0)
    # pending → completed | rejected | aborted
    state = Varchar(length=10, default="pending", index=True)
    reason = Text(default="")
    file = UUID(null=True, default=None)
    created_at = BigInt(index=True)


class Entitlement(Table, tablename="entitlements"):
    """The right of a user to download a listing (every version): granted, or bought (payments)."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    user = ForeignKey(references=User, null=False, index=True)
    listing = ForeignKey(references=Listing, null=False, index=True)
    source = Varchar(length=10)
    granted_by = UUID(null=True, default=None)
    created_at = BigInt()
    revoked_at = BigInt(null=True, default=None)


class StorefrontDressing(Table, tablename="storefronts"):
    """What a creator adds to their storefront page: avatar and banner images, and links.

    The images live in the object store under ``storefronts/<user id>/``; an empty key means none.
    """

    user = ForeignKey(references=User, null=False, unique=True)
    avatar_key = Varchar(length=400, default="")
    banner_key = Varchar(length=400, default="")
    links = JSON(default=[])
    updated_at = BigInt(default=0)
