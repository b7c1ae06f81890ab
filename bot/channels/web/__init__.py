"""The web chat: the page and ``POST /api/chat`` in ``chat``, live delivery over WebSocket in ``push``."""
