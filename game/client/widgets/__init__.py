"""On-screen widgets of the world: each has handle_event, update and draw."""
