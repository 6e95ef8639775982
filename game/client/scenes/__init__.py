"""The game's screens: logging in, loading the host's map, the world and its menu.

They never import each other; each registers itself with the app
(``@register_scene("login")``) and asks for the next by name
(``self.app.make("world", client)``).  Importing them all here registers every
name whichever screen a program imports first.
"""
from . import loading, login, menu, world  # noqa: F401  (registers the screens)
