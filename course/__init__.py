"""Code the course notebooks import: device choice, MNIST data, and the checks their tests use."""
