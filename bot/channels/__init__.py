"""The ways guests reach the hotel: one subpackage or module per channel.

Each channel turns its platform's updates into the pipeline's inbox rows and registers a sender for its
outbox rows with the deliverer; none knows the app class. The terminal speaks the web chat's payloads
(it is the web chat without a browser), so it is the one channel that imports another.
"""
