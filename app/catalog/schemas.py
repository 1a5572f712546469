"""Request and response bodies of the catalog API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

Kind = Literal["preset", "preset_bank", "sample_pack", "project_template", "midi_pack", "wavetable", "other"]
Status = Literal["draft", "published", "unlisted", "archived"]
PriceKind = Literal["free", "fixed", "pwyw"]
Role = Literal["cover", "demo", "file"]
Title = Annotated[str, Meta(min_length=1, max_length=140)]
Slug = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Short = Annotated[str, Meta(max_length=60)]
Tag = Annotated[str, Meta(min_length=1, max_length=40)]
Tags = Annotated[list[Tag], Meta(max_length=20)]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
Money = Annotated[int, Meta(ge=0, le=100_000_000)]
VersionLabel = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-_]*$")]
FileName = Annotated[str, Meta(min_length=1, max_length=255)]
ContentType = Annotated[
    str, Meta(min_length=3, max_length=120, pattern=r"^[a-z0-9][a-z0-9.+\-]*/[a-z0-9][a-z0-9.+\-]*$")
]
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]


class Body(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


class ListingCreate(Body):
    kind: Kind
    title: Title
    slug: Slug | None = None
    description_md: Annotated[str, Meta(max_length=20_000)] = ""
    tags: Tags = []
    genre: Short = ""
    synth: Annotated[str, Meta(max_length=80)] = ""
    synth_versions: Tags = []
    daw: Short = ""
    formats: Tags = []
    bpm: Annotated[int, Meta(ge=20, le=400)] | None = None
    musical_key: Annotated[str, Meta(max_length=12)] = ""
    license: Annotated[str, Meta(max_length=5000)] = ""
    price_kind: PriceKind = "free"
    price_amount: Money = 0
    currency: Currency | UnsetType = UNSET  # the store's currency (settings) when not given
    pwyw_minimum: Money = 0
    free_requires_login: bool = False
    version: VersionLabel = "1.0"


class ListingUpdate(Body):
    kind: Kind | UnsetType = UNSET
    title: Title | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET
    description_md: Annotated[str, Meta(max_length=20_000)] | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    genre: Short | UnsetType = UNSET
    synth: Annotated[str, Meta(max_length=80)] | UnsetType = UNSET
    synth_versions: Tags | UnsetType = UNSET
    daw: Short | UnsetType = UNSET
    formats: Tags | UnsetType = UNSET
    bpm: Annotated[int, Meta(ge=20, le=400)] | UnsetType | None = UNSET
    musical_key: Annotated[str, Meta(max_length=12)] | UnsetType = UNSET
    license: Annotated[str, Meta(max_length=5000)] | UnsetType = UNSET
    price_kind: PriceKind | UnsetType = UNSET
    price_amount: Money | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    pwyw_minimum: Money | UnsetType = UNSET
    free_requires_login: bool | UnsetType = UNSET


class StatusChange(Body):
    status: Status


class VersionCreate(Body):
    label: VersionLabel
    changelog: Annotated[str, Meta(max_length=20_000)] = ""


class GrantCreate(Body):
    handle: Annotated[str, Meta(min_length=3, max_length=32)]


class UploadCreate(Body):
    listing_id: uuid.UUID
    version: VersionLabel
    file_name: FileName
    size: Annotated[int, Meta(ge=1)]
    content_type: ContentType
    role: Role = "file"
    sha256: Sha256 | None = None


class Price(Struct, kw_only=True):
    kind: PriceKind
    amount: int
    currency: str
    pwyw_minimum: int


class FileOut(Struct, kw_only=True):
    id: uuid.UUID
    version: str
    name: str
    size: int
    content_type: str
    role: str
    status: str
    sha256: str


class VersionOut(Struct, kw_only=True):
    id: uuid.UUID
    label: str
    changelog: str
    published: bool
    files: list[FileOut]


class ListingOut(Struct, kw_only=True):
    id: uuid.UUID
    creator: str
    slug: str
    kind: str
    title: str
    description_html: str
    description_md: str | UnsetType = UNSET
    tags: list[str]
    genre: str
    synth: str
    synth_versions: list[str]
    daw: str
    formats: list[str]
    bpm: int | None
    musical_key: str
    license: str
    price: Price
    status: str
    free_requires_login: bool
    cover_file: uuid.UUID | None
    demo_file: uuid.UUID | None
    versions: list[VersionOut] = []


class PostUpload(Struct, kw_only=True):
    url: str
    fields: dict[str, str]


class PartUrl(Struct, kw_only=True):
    number: int
    url: str


class UploadOut(Struct, kw_only=True):
    id: uuid.UUID
    key: str
    state: str
    size: int
    # Exactly one of these: a form POST for small files, or multipart for large ones.
    post: PostUpload | None = None
    upload_id: str | None = None
    part_size: int | None = None
    parts: list[PartUrl] = []
    file: FileOut | None = None


class StoredPart(Struct, kw_only=True):
    number: int
    size: int
    etag: str


class UploadParts(Struct, kw_only=True):
    id: uuid.UUID
    part_size: int
    stored: list[StoredPart]
    # Fresh URLs for the parts still missing, so a reloaded page continues where it stopped.
    missing: list[PartUrl]


class Thumbnail(Struct, kw_only=True):
    width: int
    height: int
    url: str


class PackEntry(Struct, kw_only=True):
    name: str
    size: int


class MediaOut(Struct, kw_only=True):
    """What processing derived from a file: a cover's thumbnails, a demo's waveform and
    streaming preview, a pack's contents. URLs are short-lived like downloads."""

    duration: float | None = None
    peaks: list[list[float]] = []  # [[min, max], …] in -1..1
    preview_url: str | None = None  # a compact stream when the original is unfit to stream
    thumbnails: list[Thumbnail] = []
    contents: list[PackEntry] = []


class DownloadOut(Struct, kw_only=True):
    url: str
    expires_in: int
    name: str
    size: int


class EntitlementOut(Struct, kw_only=True):
    id: uuid.UUID
    listing_id: uuid.UUID
    user: str
    source: str
    revoked: bool


class LibraryItem(Struct, kw_only=True):
    listing: ListingOut
    source: str


LinkLabel = Annotated[str, Meta(min_length=1, max_length=40)]
# Web links only: a javascript: or data: URL on a public page would be an attack on its visitors.
LinkUrl = Annotated[str, Meta(max_length=300, pattern=r"^https?://[^\s/$.?#][^\s]*$")]


class StorefrontLink(Struct, kw_only=True):
    label: LinkLabel
    url: LinkUrl


class DressingEdit(Body):
    links: Annotated[list[StorefrontLink], Meta(max_length=8)]


class ImageUploadCreate(Body):
    content_type: ContentType
    size: Annotated[int, Meta(ge=1)]


class ImageUploadOut(Struct, kw_only=True):
    key: str
    post: PostUpload
    max_size: int


class ImageComplete(Body):
    key: Annotated[str, Meta(min_length=1, max_length=400)]


class Dressing(Struct, kw_only=True):
    """A storefront's images (stable app URLs that redirect to the store) and links."""

    avatar_url: str | None
    banner_url: str | None
    links: list[StorefrontLink]


class Storefront(Struct, kw_only=True):
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    banner_url: str | None
    links: list[StorefrontLink]
    listings: list[ListingOut]
