"""Telegram: guest intake (polling or webhook, durable inbox first) in ``intake``, the staff group's cards,
buttons and commands in ``staff``."""
