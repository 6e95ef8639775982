"""One world served by several host processes, through Redis (``--redis``).

``bus.Bus`` is the only connection to Redis; the rest of the cluster is
built on it.
"""
