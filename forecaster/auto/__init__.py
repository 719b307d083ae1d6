"""Settings derived from the data (`--auto`): the rules with their reasons, and applying them to a config."""
