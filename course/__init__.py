"""Code the course notebooks import: device choice and the checks tests use."""
