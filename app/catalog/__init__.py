"""Catalog: listings, versions, files, uploads, entitlements and creator storefronts."""
