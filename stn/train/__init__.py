"""Training: run folders, packed multi-seed training loop, checkpoints, logging."""
