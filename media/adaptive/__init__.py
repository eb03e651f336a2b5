"""Adaptation to weak links: per-subscriber bandwidth estimation, tier choice, and shared transcoded tiers.

The original stream goes to links that carry it; weaker links get a tier transcoded once per producer and
shared by every subscriber on it; audio comes first, and audio-only is the floor. See docs/adaptive.md.
"""
