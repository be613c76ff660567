"""Spatial Transformer Networks (Jaderberg et al., NIPS 2015): a reusable ST library
and the reproduction of the distorted-MNIST experiments (Table 1)."""
