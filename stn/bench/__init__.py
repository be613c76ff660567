"""The throughput benchmark behind scripts/bench.py (`make bench`).

throughput: the trainer's step against a tutorial-style DataLoader loop;
reference: that loop; datagen: batched dataset generation against a
per-sample torchvision loop; timing: clocks and peak memory; report: the
JSON and markdown outputs.
"""
