"""Collaboration sessions: rooms, invites, websocket signaling and TURN credentials."""
