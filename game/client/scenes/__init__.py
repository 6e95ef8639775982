"""The game's screens: logging in and the world."""
