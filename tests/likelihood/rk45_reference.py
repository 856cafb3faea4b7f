#!/usr/bin/python3
"""scipy's RK45 on a damped pendulum, one solve per initial condition (tests/likelihood/test_python_references.cpp,
Dopri5TakesTheStepsOfScipyRk45).

usage: rk45_reference.py INITIAL.f64 OUT.f64
  writes, per row: y0(10), y1(10), function evaluations, accepted steps (little-endian float64)."""
import sys, numpy as np
from scipy.integrate import solve_ivp
y0 = np.fromfile(sys.argv[1], dtype="<f8").reshape(-1, 2)
out = []
for row in y0:
    s = solve_ivp(lambda t, y: [y[1], -np.sin(y[0]) - 0.1 * t * y[1]], (0.0, 10.0), row, method="RK45",
                  rtol=1e-6, atol=1e-8)
    out.append([s.y[0, -1], s.y[1, -1], s.nfev, len(s.t) - 1])
np.array(out, dtype="<f8").tofile(sys.argv[2])
