#!/usr/bin/python3
"""scipy's reference for tests/experts/test_gaussian_mixture.cpp (GaussianMixtureExpert.LogDensityMatchesScipy):

    gmm_log_density.py S2

Prints, space separated, the log density at three fixed points of the test's two-component mixture in 1x1x2
(weights 1 and 3) convolved with noise of variance S2.
"""
import sys
import numpy as np
from scipy.stats import multivariate_normal as mvn
s2 = float(sys.argv[1]); x = np.array([[0.1, 0.2], [-1.0, 0.7], [2.0, -2.0]])
p = 0.25 * mvn.pdf(x, [0.5, -0.25], [[0.3 + s2, 0.1], [0.1, 0.2 + s2]]) + 0.75 * mvn.pdf(x, [-0.4, 0.6], [[0.05 + s2, 0], [0, 0.4 + s2]])
print(' '.join(repr(v) for v in np.log(p)))
