#include "likelihood/dopri5.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/error.h"

namespace switchdiff::likelihood {
namespace {

// Dormand & Prince (1980) 5(4) tableau, as in Hairer I, Table II.5.2 and scipy's RK45.
constexpr int kStages = 6;
constexpr std::array<double, kStages> kC = {0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0};
constexpr double kA[kStages][kStages - 1] = {
    {0, 0, 0, 0, 0},
    {1.0 / 5, 0, 0, 0, 0},
    {3.0 / 40, 9.0 / 40, 0, 0, 0},
    {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
};
constexpr std::array<double, kStages> kB = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84};
// Error weights (5th-order minus embedded 4th-order solution) over the 6 stages and f(t + h, y_new) (FSAL).
constexpr std::array<double, kStages + 1> kE = {-71.0 / 57600,    0,           71.0 / 16695, -71.0 / 1920,
                                                17253.0 / 339200, -22.0 / 525, 1.0 / 40};
constexpr double kSafety = 0.9;
constexpr double kMinFactor = 0.2;
constexpr double kMaxFactor = 10.0;
constexpr double kErrorExponent = -1.0 / 5;  // -1 / (error estimator order 4 + 1)

double rms(const double* v, int64_t n) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += v[j] * v[j];
  return std::sqrt(sum / static_cast<double>(n));
}

// Rows of one batch: the state and the 7 stage derivatives as flat float64 buffers [B * n].
struct Buffers {
  Buffers(int64_t batch, int64_t dims) : n(dims) {
    for (auto& k : stages) k.assign(static_cast<size_t>(batch * dims), 0.0);
  }
  double* stage(int s, int64_t row) { return stages[s].data() + row * n; }
  const double* stage0(int64_t row) const { return stages[0].data() + row * n; }
  int64_t n;
  std::array<std::vector<double>, kStages + 1> stages;  // stages[0] = f(t, y) (kept across steps: FSAL)
};

class Integrator {
 public:
  Integrator(const BatchRhs& rhs, at::Tensor& y, double t0, double t1, const Dopri5Settings& s,
             std::vector<StepCounts>& counts)
      : rhs_(rhs),
        y_(y),
        t1_(t1),
        settings_(s),
        counts_(counts),
        batch_(y.size(0)),
        n_(y.size(1)),
        k_(batch_, n_),
        t_(batch_, t0),
        h_abs_(batch_, 0.0),
        rejected_in_step_(batch_, false),
        attempts_(batch_, 0),
        done_(batch_, false),
        started_(batch_, false) {}

  // Watch thresholds while integrating (dopri5_integrate_forking).
  void watch(const std::vector<double>& thresholds, std::vector<std::vector<Dopri5RowState>>& forks) {
    thresholds_ = &thresholds;
    forks_ = &forks;
    forks.assign(thresholds.size(), std::vector<Dopri5RowState>(static_cast<size_t>(batch_)));
    next_threshold_.assign(batch_, 0);
  }

  // Continue captured rows (dopri5_resume); y_ and counts_ already hold their states and counters.
  void load(const std::vector<Dopri5RowState>& rows) {
    for (int64_t i = 0; i < batch_; ++i) {
      const Dopri5RowState& r = rows[i];
      t_[i] = r.t;
      h_abs_[i] = r.h_abs;
      rejected_in_step_[i] = r.rejected_in_step;
      attempts_[i] = r.attempts;
      started_[i] = r.started;
      if (r.started) std::copy(r.k0.begin(), r.k0.end(), k_.stage(0, i));
      done_[i] = t_[i] >= t1_;
    }
  }

  void run() {
    std::vector<int64_t> fresh;
    for (int64_t i = 0; i < batch_; ++i) {
      if (!started_[i] && !done_[i]) fresh.push_back(i);
    }
    if (!fresh.empty()) choose_initial_steps(fresh);
    std::vector<int64_t> active = active_rows();
    while (!active.empty()) {
      attempt_steps(active);
      active = active_rows();
    }
  }

 private:
  std::string row_name(int64_t row) const {
    return settings_.row_name ? settings_.row_name(row) : "row " + std::to_string(row);
  }
  double* y(int64_t row) { return y_.data_ptr<double>() + row * n_; }

  std::vector<int64_t> active_rows() const {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < batch_; ++i) {
      if (!done_[i]) rows.push_back(i);
    }
    return rows;
  }

  // Calls f on `rows` at times `times` with states `states` [m, n]; copies the result into stage s.
  void evaluate(const std::vector<int64_t>& rows, const std::vector<double>& times, const at::Tensor& states, int s) {
    const at::Tensor t = at::tensor(times, at::kDouble);
    at::Tensor f = rhs_(rows, t, states);
    if (f.scalar_type() != at::kDouble || f.dim() != 2 || f.size(0) != static_cast<int64_t>(rows.size()) ||
        f.size(1) != n_) {
      throw std::logic_error("dopri5: right-hand side returned a tensor of the wrong shape or dtype");
    }
    f = f.contiguous();
    const double* src = f.data_ptr<double>();
    for (size_t i = 0; i < rows.size(); ++i) {
      std::copy(src + static_cast<int64_t>(i) * n_, src + static_cast<int64_t>(i + 1) * n_, k_.stage(s, rows[i]));
      ++counts_[rows[i]].nfe;
    }
  }

  // Hairer II.4 "starting step size" algorithm, as scipy's select_initial_step (with the h0 <= interval clip of
  // scipy >= 1.12, so the trial evaluation never leaves [t0, t1]), for the rows that have not started.
  void choose_initial_steps(const std::vector<int64_t>& rows) {
    const auto m = static_cast<int64_t>(rows.size());
    std::vector<Dopri5RowState> before;  // for forks that restart (see watch_initial_step)
    if (forks_) {
      for (const int64_t i : rows) before.push_back(capture(i));
    }
    std::vector<double> start_t(m);
    for (int64_t r = 0; r < m; ++r) start_t[r] = t_[rows[r]];
    evaluate(rows, start_t, m == batch_ ? y_ : y_.index_select(0, at::tensor(rows, at::kLong)), 0);
    at::Tensor trial = at::empty({m, n_}, at::kDouble);
    std::vector<double> h0(m), raw_h0(m), d1(m), trial_t(m);
    std::vector<double> scale(n_), scaled(n_);
    for (int64_t r = 0; r < m; ++r) {
      const int64_t i = rows[r];
      const double interval = t1_ - t_[i];
      const double* y0 = y(i);
      const double* f0 = k_.stage(0, i);
      for (int64_t j = 0; j < n_; ++j) scale[j] = settings_.atol + std::abs(y0[j]) * settings_.rtol;
      for (int64_t j = 0; j < n_; ++j) scaled[j] = y0[j] / scale[j];
      const double d0 = rms(scaled.data(), n_);
      for (int64_t j = 0; j < n_; ++j) scaled[j] = f0[j] / scale[j];
      d1[r] = rms(scaled.data(), n_);
      raw_h0[r] = d0 < 1e-5 || d1[r] < 1e-5 ? 1e-6 : 0.01 * d0 / d1[r];
      h0[r] = std::min(raw_h0[r], interval);
      double* y1 = trial.data_ptr<double>() + r * n_;
      for (int64_t j = 0; j < n_; ++j) y1[j] = y0[j] + h0[r] * f0[j];
      trial_t[r] = std::min(t_[i] + h0[r], t1_);
    }
    evaluate(rows, trial_t, trial, 1);
    for (int64_t r = 0; r < m; ++r) {
      const int64_t i = rows[r];
      const double interval = t1_ - t_[i];
      const double* y0 = y(i);
      const double* f0 = k_.stage(0, i);
      const double* f1 = k_.stage(1, i);
      for (int64_t j = 0; j < n_; ++j) scale[j] = settings_.atol + std::abs(y0[j]) * settings_.rtol;
      for (int64_t j = 0; j < n_; ++j) scaled[j] = (f1[j] - f0[j]) / scale[j];
      const double d2 = rms(scaled.data(), n_) / h0[r];
      const double h1 =
          d1[r] <= 1e-15 && d2 <= 1e-15 ? std::max(1e-6, h0[r] * 1e-3) : std::pow(0.01 / std::max(d1[r], d2), 1.0 / 5);
      h_abs_[i] = std::min({100 * h0[r], h1, interval});
      started_[i] = true;
      if (forks_) watch_initial_step(i, raw_h0[r], std::min(100 * h0[r], h1), before[r]);
    }
  }

  Dopri5RowState capture(int64_t i) const {
    Dopri5RowState s;
    s.started = started_[i];
    s.t = t_[i];
    s.h_abs = h_abs_[i];
    s.rejected_in_step = rejected_in_step_[i];
    s.attempts = attempts_[i];
    const double* yi = y_.data_ptr<double>() + i * n_;
    s.y.assign(yi, yi + n_);
    if (started_[i]) s.k0.assign(k_.stage0(i), k_.stage0(i) + n_);
    s.counts = counts_[i];
    return s;
  }

  // The run with t1 = threshold makes the same initial choice iff its (smaller) interval clips nothing:
  // h0 = raw_h0 (not clipped), the trial time t0 + h0 <= threshold, and min(100 h0, h1) <= its interval. A threshold
  // that fails makes every smaller one fail too, so the failing ones are a prefix of the ascending list. The last two
  // conditions differ from the first only by the rounding of t0 + h0 and of the step clip; they are kept so that the
  // fork is exact by construction (a restart costs the two evaluations of the initial step).
  void watch_initial_step(int64_t i, double raw_h0, double unclipped_h_abs, const Dopri5RowState& before) {
    auto& next = next_threshold_[i];
    for (; next < thresholds_->size(); ++next) {
      const double threshold = (*thresholds_)[next];
      const double interval = threshold - t_[i];
      if (raw_h0 <= interval && t_[i] + raw_h0 <= threshold && unclipped_h_abs <= interval) break;
      (*forks_)[next][i] = before;
    }
  }

  // Before row i's next attempt: every threshold its (floored) step would cross forks here.
  void watch_attempt(int64_t i, double floor) {
    const double h = !rejected_in_step_[i] && h_abs_[i] < floor ? floor : h_abs_[i];
    auto& next = next_threshold_[i];
    for (; next < thresholds_->size() && t_[i] + h > (*thresholds_)[next]; ++next) (*forks_)[next][i] = capture(i);
  }

 public:
  // Every row must have been captured for every threshold (it crossed them all on its way to t1).
  void check_all_forked() const {
    for (int64_t i = 0; i < batch_; ++i) {
      if (next_threshold_[i] != thresholds_->size()) throw std::logic_error("dopri5: a row ended before a threshold");
    }
  }

 private:
  double min_step(double t) const {
    return std::max(settings_.min_step, 10 * std::abs(std::nextafter(t, std::numeric_limits<double>::infinity()) - t));
  }

  // One attempted step for every active row (scipy RungeKutta._step_impl, unrolled over rows).
  void attempt_steps(const std::vector<int64_t>& rows) {
    const auto m = static_cast<int64_t>(rows.size());
    std::vector<double> h(m), t_new(m);
    for (int64_t r = 0; r < m; ++r) {
      const int64_t i = rows[r];
      const double floor = min_step(t_[i]);
      if (forks_) watch_attempt(i, floor);
      if (!rejected_in_step_[i] && h_abs_[i] < floor) h_abs_[i] = floor;  // a new step starts at >= min_step
      if (h_abs_[i] < floor) {
        throw make_error<InputError>(
            "{}: the ODE step size underflowed at {} = {:.9g} (step {:.3g} < minimum {:.3g}); the drift is too stiff "
            "or discontinuous there: check the expert near this noise level, or loosen rtol/atol",
            row_name(i), settings_.time_name, t_[i], h_abs_[i], floor);
      }
      if (++attempts_[i] > settings_.max_steps) {
        throw make_error<InputError>(
            "{}: the ODE needed more than {} steps (accepted + rejected) and stopped at {} = {:.9g}; the drift may "
            "be non-smooth there; raise max_steps or loosen rtol/atol",
            row_name(i), settings_.max_steps, settings_.time_name, t_[i]);
      }
      t_new[r] = std::min(t_[i] + h_abs_[i], t1_);
      h[r] = t_new[r] - t_[i];
      h_abs_[i] = h[r];  // as scipy: the (possibly clipped) step is what the factor scales
    }
    at::Tensor states = at::empty({m, n_}, at::kDouble);
    std::vector<double> times(m);
    for (int s = 1; s < kStages; ++s) {
      for (int64_t r = 0; r < m; ++r) {
        const int64_t i = rows[r];
        const double* y0 = y(i);
        double* out = states.data_ptr<double>() + r * n_;
        for (int64_t j = 0; j < n_; ++j) {
          double dy = 0;
          for (int k = 0; k < s; ++k) dy += k_.stage(k, i)[j] * kA[s][k];
          out[j] = y0[j] + dy * h[r];
        }
        // The last stage (c = 1) sits exactly on the step's end, which may be a band edge.
        times[r] = kC[s] == 1.0 ? t_new[r] : std::min(t_[i] + kC[s] * h[r], t_new[r]);
      }
      evaluate(rows, times, states, s);
    }
    // 5th-order solution, then f at it (the first stage of the next step: "first same as last").
    for (int64_t r = 0; r < m; ++r) {
      const int64_t i = rows[r];
      const double* y0 = y(i);
      double* out = states.data_ptr<double>() + r * n_;
      for (int64_t j = 0; j < n_; ++j) {
        double dy = 0;
        for (int k = 0; k < kStages; ++k) dy += k_.stage(k, i)[j] * kB[k];
        out[j] = y0[j] + h[r] * dy;
      }
    }
    evaluate(rows, t_new, states, kStages);
    std::vector<double> ratio(n_);
    for (int64_t r = 0; r < m; ++r) {
      const int64_t i = rows[r];
      double* y0 = y(i);
      const double* y1 = states.data_ptr<double>() + r * n_;
      for (int64_t j = 0; j < n_; ++j) {
        double e = 0;
        for (int k = 0; k <= kStages; ++k) e += k_.stage(k, i)[j] * kE[k];
        const double scale = settings_.atol + std::max(std::abs(y0[j]), std::abs(y1[j])) * settings_.rtol;
        ratio[j] = e * h[r] / scale;
      }
      const double error_norm = rms(ratio.data(), n_);
      if (!std::isfinite(error_norm)) {
        throw make_error<InputError>(
            "{}: non-finite ODE state or error estimate in the step from {} = {:.9g} to "
            "{:.9g}; check the expert for NaN/Inf near this noise level",
            row_name(i), settings_.time_name, t_[i], t_new[r]);
      }
      if (error_norm < 1) {
        double factor =
            error_norm == 0 ? kMaxFactor : std::min(kMaxFactor, kSafety * std::pow(error_norm, kErrorExponent));
        if (rejected_in_step_[i]) factor = std::min(1.0, factor);
        h_abs_[i] *= factor;
        rejected_in_step_[i] = false;
        std::copy(y1, y1 + n_, y0);
        std::copy(k_.stage(kStages, i), k_.stage(kStages, i) + n_, k_.stage(0, i));
        t_[i] = t_new[r];
        ++counts_[i].accepted;
        if (t_[i] >= t1_) done_[i] = true;
      } else {
        h_abs_[i] *= std::max(kMinFactor, kSafety * std::pow(error_norm, kErrorExponent));
        rejected_in_step_[i] = true;
        ++counts_[i].rejected;
      }
    }
  }

  const BatchRhs& rhs_;
  at::Tensor& y_;
  double t1_;
  const Dopri5Settings& settings_;
  std::vector<StepCounts>& counts_;
  int64_t batch_;
  int64_t n_;
  Buffers k_;
  std::vector<double> t_;
  std::vector<double> h_abs_;
  std::vector<bool> rejected_in_step_;
  std::vector<int64_t> attempts_;
  std::vector<bool> done_;
  std::vector<bool> started_;  // the initial step has been chosen
  const std::vector<double>* thresholds_ = nullptr;
  std::vector<std::vector<Dopri5RowState>>* forks_ = nullptr;  // [threshold][row]
  std::vector<size_t> next_threshold_;                         // per row: the first threshold not yet forked
};

}  // namespace

void dopri5_integrate(const BatchRhs& rhs, at::Tensor& y, double t0, double t1, const Dopri5Settings& settings,
                      std::vector<StepCounts>& counts) {
  if (y.scalar_type() != at::kDouble || y.dim() != 2 || !y.is_contiguous() || y.device().type() != at::kCPU) {
    throw std::invalid_argument("dopri5_integrate: y must be a contiguous float64 CPU tensor [B, n]");
  }
  if (static_cast<int64_t>(counts.size()) != y.size(0)) {
    throw std::invalid_argument("dopri5_integrate: counts must have one entry per row of y");
  }
  if (!(t1 >= t0)) throw std::invalid_argument("dopri5_integrate: t1 must be >= t0");
  if (t1 == t0 || y.size(0) == 0) return;
  Integrator(rhs, y, t0, t1, settings, counts).run();
}

void dopri5_integrate_forking(const BatchRhs& rhs, at::Tensor& y, double t0, double t1,
                              const std::vector<double>& thresholds, const Dopri5Settings& settings,
                              std::vector<StepCounts>& counts, std::vector<std::vector<Dopri5RowState>>& forks) {
  for (size_t a = 0; a < thresholds.size(); ++a) {
    if (!(thresholds[a] > t0 && thresholds[a] < t1) || (a > 0 && !(thresholds[a] > thresholds[a - 1]))) {
      throw std::invalid_argument("dopri5_integrate_forking: thresholds must be ascending and inside (t0, t1)");
    }
  }
  if (thresholds.empty()) {
    forks.clear();
    dopri5_integrate(rhs, y, t0, t1, settings, counts);
    return;
  }
  if (y.scalar_type() != at::kDouble || y.dim() != 2 || !y.is_contiguous() || y.device().type() != at::kCPU ||
      static_cast<int64_t>(counts.size()) != y.size(0)) {
    throw std::invalid_argument("dopri5_integrate_forking: y must be contiguous float64 CPU [B, n], counts B long");
  }
  Integrator integrator(rhs, y, t0, t1, settings, counts);
  integrator.watch(thresholds, forks);
  if (y.size(0) == 0) return;
  integrator.run();
  integrator.check_all_forked();
}

at::Tensor dopri5_resume(const BatchRhs& rhs, const std::vector<Dopri5RowState>& rows, double t1,
                         const Dopri5Settings& settings, std::vector<StepCounts>& counts) {
  const auto m = static_cast<int64_t>(rows.size());
  const int64_t n = m > 0 ? static_cast<int64_t>(rows[0].y.size()) : 0;
  at::Tensor y = at::empty({m, n}, at::kDouble);
  counts.assign(static_cast<size_t>(m), StepCounts{});
  for (int64_t i = 0; i < m; ++i) {
    const Dopri5RowState& r = rows[i];
    if (static_cast<int64_t>(r.y.size()) != n || (r.started && static_cast<int64_t>(r.k0.size()) != n) ||
        !(t1 >= r.t)) {
      throw std::invalid_argument("dopri5_resume: rows must have n values each and t <= t1");
    }
    std::copy(r.y.begin(), r.y.end(), y.data_ptr<double>() + i * n);
    counts[i] = r.counts;
  }
  if (m == 0) return y;
  Integrator integrator(rhs, y, rows[0].t, t1, settings, counts);
  integrator.load(rows);
  integrator.run();
  return y;
}

}  // namespace switchdiff::likelihood
