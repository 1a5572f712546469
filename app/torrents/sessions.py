"""libtorrent session settings and peer filters shared by the seeder (and its benchmark)."""

from __future__ import annotations

from typing import Any

import libtorrent as lt


def session_settings(listen: str, *, dht: bool) -> dict[str, Any]:
    """Settings for a seeding session: TCP only, large buffers, no local discovery."""
    return {
        "listen_interfaces": listen,
        "user_agent": "echoel-seeder/1",
        # uTP is far slower than TCP on fast links (and on loopback); peers still reach us by TCP.
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_dht": dht,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # The tracker may run on this host under /announce/<passkey>; libtorrent's SSRF guard
        # would refuse a localhost tracker whose path is not exactly /announce.
        "ssrf_mitigation": False,
        # The private sessions' IP filter is for peers; it must not block our own tracker.
        "apply_ip_filter_to_trackers": False,
        "alert_mask": lt.alert_category.error | lt.alert_category.status | lt.alert_category.storage,
        "send_buffer_watermark": 8 * 1024 * 1024,
        "send_buffer_low_watermark": 1024 * 1024,
        "send_buffer_watermark_factor": 150,
        "max_queued_disk_bytes": 16 * 1024 * 1024,
        "unchoke_slots_limit": 16,
        # Every torrent stays active (not auto-managed): the queue would pause all but a few.
        "active_limit": -1,
        "active_seeds": -1,
        "connections_limit": 400,
    }


def peer_filter(allowed: frozenset[str]) -> Any:
    """Block every address except ``allowed`` (0 = allow, 1 = blocked)."""
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1)  # noqa: S104 - a filter range, not a bind
    f.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1)
    for ip in allowed:
        f.add_rule(ip, ip, 0)
    return f
