"""Trends: surveillance activity near a border over weeks (see issue 5)."""
