"""Plans: the dependency closure, the lock file, building plans in order."""
