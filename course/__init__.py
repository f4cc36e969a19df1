"""Code the course notebooks import: device choice, MNIST data, progress bars, and the checks their tests use."""
