"""Dialogue: intents, slot filling and replies for the advisory chat."""
