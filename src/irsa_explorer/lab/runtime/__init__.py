"""The simulated containers: images, coreutils and the `aws` CLI (`containers.Runtime`)."""
