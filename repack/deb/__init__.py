"""The Debian family: naming, render, build, sign."""
