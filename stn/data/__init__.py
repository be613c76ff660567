"""MNIST and the five distorted-MNIST datasets of the paper (R, RTS, P, E, TC)."""
