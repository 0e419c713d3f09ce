"""The proofs anyone can rerun: the chaos suite (make chaos) and the benchmarks (make bench)."""
