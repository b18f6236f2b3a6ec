#!/usr/bin/env python3
"""An MI estimator as an external program, for mibench's ``command`` estimator.

Reads a sample file written by mibench (CSV with a header x1..,y1.., or .npy), fits a joint
normal distribution to it, and prints its mutual information in nats on the last line:

    I = (log det C_xx + log det C_yy - log det C) / 2,

C the sample covariance of (X, Y). It needs only numpy, and stands for any program in any
language that can read a CSV file and print a number (an R, Julia or JAX estimator).

Run it through mibench:

    mibench run -e command -p 'command="python examples/gaussian_mi_command.py"' -d 1v1-normal-0.75

or by hand: ``python examples/gaussian_mi_command.py SAMPLE.csv DIM_X DIM_Y``.
"""

import sys

import numpy as np


def read_sample(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path)
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def gaussian_mutual_information(table: np.ndarray, dim_x: int) -> float:
    covariance = np.cov(table, rowvar=False)
    log_det = lambda matrix: np.linalg.slogdet(np.atleast_2d(matrix))[1]  # noqa: E731
    return 0.5 * (log_det(covariance[:dim_x, :dim_x]) + log_det(covariance[dim_x:, dim_x:])
                  - log_det(covariance))


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(f"usage: {argv[0]} SAMPLE DIM_X DIM_Y", file=sys.stderr)
        return 2
    path, dim_x, dim_y = argv[1], int(argv[2]), int(argv[3])
    table = read_sample(path)
    if table.shape[1] != dim_x + dim_y:
        print(f"{path} has {table.shape[1]} columns, expected {dim_x} + {dim_y}", file=sys.stderr)
        return 1
    print(f"read {table.shape[0]} samples")  # any lines before the last one are ignored
    print(repr(float(gaussian_mutual_information(table, dim_x))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
