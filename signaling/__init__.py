"""Signaling: the aiohttp application, the WebSocket protocol, rooms, access tokens, and the composition root."""
