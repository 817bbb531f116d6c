"""numbavm lifecycle layer: the machine (hart + devices + loader) and the CLI."""
