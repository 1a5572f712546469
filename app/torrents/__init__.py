"""Torrent distribution: building hybrid torrents, the HTTP tracker, the seeder, magnets, web seeds."""
