"""Pixel Commons: the game client, its shared rules and the scripted clients."""
