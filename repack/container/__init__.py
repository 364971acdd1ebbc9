"""Containers: the engine, the builder images, and what may leave a build."""
