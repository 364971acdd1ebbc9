"""The RPM family: naming, render, build, sign, version comparison."""
