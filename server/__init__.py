"""Pixel Commons host: accounts, the live world and direct messages."""
