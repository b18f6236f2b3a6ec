"""The lowest layer: contracts (Estimator, Dataset, Record), errors, validation, numerics, records
I/O, threads and the disk cache. Its modules import nothing above this package."""
