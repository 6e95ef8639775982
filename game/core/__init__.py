"""The pure core that the host and the game both stand on: the world's map and
rules (``rules``) and the protocol's event names, payload shapes, limits and
checks (``protocol``).  Nothing here imports pygame, Flask, a socket library
or sqlite, so the host validates, the game predicts and the tests check with
exactly the same code."""
