"""The staff dashboard under /staff: server-rendered pages (Jinja2 templates), sessions, roles, reports."""
