"""Notifications over the "notifications" pub/sub layer, to every open page."""
