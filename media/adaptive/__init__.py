"""Adaptation to weak links: bandwidth estimation, tier choice, transcoding ladders."""
