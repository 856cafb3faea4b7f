#pragma once
// Adaptive Dormand-Prince 5(4) over a batch of independent ODEs dy/dt = f(t, y), y in R^n per row, with
// PER-ROW error control and step size (Hairer, Norsett & Wanner, "Solving ODEs I", II.4-II.5; the step rules,
// error norm and initial step are those of scipy's RK45, so a row follows exactly the steps scipy's
// solve_ivp(method="RK45") would take on that row alone, up to the rounding of f).
//
// Every row goes from t0 to t1 (t1 > t0) on its own step sequence; rows that are done drop out. The
// right-hand side is called once per stage for all still-active rows together, each with its own t.
// Everything a row's result depends on is computed row by row in plain float64 loops, never with a
// reduction over the batch, so a row's result does not depend on its batch-mates as long as f's does not.
//
// Error norm per row (Hairer II.4 (4.11), scipy's RK45): RMS over the row's components of
//   err_j / (atol + rtol * max(|y0_j|, |y1_j|)).
// Step factor: 0.9 * norm^(-1/5), clipped to [0.2, 10], at most 1 right after a rejection.
// Minimum step: max(min_step, 10 * ulp(t)); a smaller step throws InputError naming the row and t.
//
// Single-threaded from the caller's point of view; the right-hand side may use intra-op threads.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace switchdiff::likelihood {

// f(t, y) for a subset of the rows: rows[i] is the batch index of row i of t and y.
//   t: float64 [m] (t <= t1 always), y: float64 [m, n] contiguous. Returns float64 [m, n].
using BatchRhs = std::function<at::Tensor(const std::vector<int64_t>& rows, const at::Tensor& t, const at::Tensor& y)>;

struct Dopri5Settings {
  double rtol = 1e-5;
  double atol = 1e-5;
  int64_t max_steps = 20000;  // attempted steps per row in one call
  double min_step = 0.0;
  // Names batch row i in error messages, e.g. "image 17". Default: "row i".
  std::function<std::string(int64_t)> row_name;
  std::string time_name = "t";  // "sigma" for the PF-ODE
};

// Per-row counters, accumulated across calls.
struct StepCounts {
  int64_t nfe = 0;  // evaluations of f for this row (2 for the initial step choice + 6 per attempted step)
  int64_t accepted = 0;
  int64_t rejected = 0;
};

// Integrates every row of y (float64 [B, n], updated in place) from t0 to t1. counts has B entries.
// Throws InputError on step underflow, too many steps or a non-finite error estimate (naming row and t).
void dopri5_integrate(const BatchRhs& rhs, at::Tensor& y, double t0, double t1, const Dopri5Settings& settings,
                      std::vector<StepCounts>& counts);

// Forking (the sweep over switch sigmas shares one integration of the band below them).
// A row's complete solver state between two attempted steps. started = false: before the initial step choice
// (t is the row's start; h_abs and k0 are not used).
struct Dopri5RowState {
  bool started = false;
  double t = 0;
  double h_abs = 0;
  bool rejected_in_step = false;  // scipy's step_rejected flag: the step factor is capped at 1 after a rejection
  int64_t attempts = 0;           // in this integration (max_steps)
  std::vector<double> y;          // the state at t, n values
  std::vector<double> k0;         // f(t, y), the first stage of the next step (FSAL), n values
  StepCounts counts;
};

// dopri5_integrate from t0 to t1, watching thresholds (ascending, each in (t0, t1)). For threshold a and row i,
// forks[a][i] receives the row's state just before the first point where dopri5_integrate(t0, t1 = thresholds[a])
// would compute something different:
//   - at the initial step, if the interval t1 - t0 clips h0, the trial time or h_abs differently (scipy's
//     select_initial_step: h0 = min(.., interval), h_abs = min(100 h0, h1, interval)); then the fork restarts;
//   - else before the first attempt with t + h_abs > thresholds[a] (that run would clip the step to end there).
// Before that point both runs take the same steps with the same stage times, all <= thresholds[a]. So if f(t, y)
// is the same for both t1 whenever t <= thresholds[a], and a row's f does not depend on its batch-mates,
// dopri5_resume(forks[a], thresholds[a]) equals dopri5_integrate(t0, thresholds[a]) bitwise, counters included.
// forks is resized to thresholds.size() x B.
void dopri5_integrate_forking(const BatchRhs& rhs, at::Tensor& y, double t0, double t1,
                              const std::vector<double>& thresholds, const Dopri5Settings& settings,
                              std::vector<StepCounts>& counts, std::vector<std::vector<Dopri5RowState>>& forks);

// Continues each row to t1 (>= every row's t) as the integration it was captured from would with this t1. The
// right-hand side sees indices into `rows`. Returns y float64 [m, n]; counts receives the rows' counters.
at::Tensor dopri5_resume(const BatchRhs& rhs, const std::vector<Dopri5RowState>& rows, double t1,
                         const Dopri5Settings& settings, std::vector<StepCounts>& counts);

}  // namespace switchdiff::likelihood
