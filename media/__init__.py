"""The media plane. Depends on aiortc, av and numpy only: never on HTTP or on the rest of Vaidya."""
