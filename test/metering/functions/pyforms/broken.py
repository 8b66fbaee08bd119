"""Fails while importing (an init error)."""
raise RuntimeError("module init failed")
