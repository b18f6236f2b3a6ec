"""The asv suite of mibench: speed, peak memory and accuracy of every registered estimator.

What is measured (estimators, settings, datasets, sample sizes) is chosen in
:mod:`benchmarks._suite`; docs/benchmarks.md says how to run it.
"""
