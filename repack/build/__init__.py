"""Building inside containers: the engine, the builder images and the Debian build."""
