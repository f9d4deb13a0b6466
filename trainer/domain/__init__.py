"""The pure core: grading, scheduling, blueprint, statistics. No Flask, no database."""
