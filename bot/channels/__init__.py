"""The ways guests reach the hotel: one subpackage or module per channel.

Each channel turns its platform's updates into the pipeline's inbox rows and registers a sender for its
outbox rows with the deliverer; none of them imports another, and none knows the app class.
"""
