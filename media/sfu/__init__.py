"""Selective forwarding: routers, producers, consumers; media forwarded encoded, never re-encoded."""
