"""The Pixel Commons game client: pygame scenes, widgets and the pure helpers
(camera, interpolation, prediction) they are built on."""
