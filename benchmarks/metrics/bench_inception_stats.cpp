// Benchmark of docs/metrics.md#sufficient-statistics: time to accumulate Inception statistics (float64 n, sum f, sum f
// f^T) as a fraction of the feature extractor's forward time on the same batches (goal < 5%), and peak memory
// (getrusage).
//
// Extractor: $SWITCHDIFF_BENCH_EXTRACTOR, else an Inception-cost stand-in (about 6.7 GFLOP per image at
// 299x299, F = 2048) written once by make_bench_extractor.py. Threads: torch's default unless
// $SWITCHDIFF_BENCH_THREADS is set. Counters: *_ms per batch, stats_pct_of_forward, peak_rss_MiB.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "experts/feature_extractor.h"
#include "metrics/inception_stats.h"

namespace {

using switchdiff::experts::FeatureExtractor;
using switchdiff::metrics::InceptionStats;
using Clock = std::chrono::steady_clock;

std::string extractor_path() {
  if (const char* path = std::getenv("SWITCHDIFF_BENCH_EXTRACTOR"); path && *path) return path;
  const std::string path = std::string(SWITCHDIFF_BENCH_DIR) + "/inception_cost_stand_in.pt";
  if (!std::filesystem::exists(path)) {
    const std::string command =
        std::string(SWITCHDIFF_PYTHON_DEFAULT) + " " + SWITCHDIFF_BENCH_SCRIPT + " --out " + path;
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }
  return path;
}

const FeatureExtractor& extractor() {
  static const FeatureExtractor instance(extractor_path());
  return instance;
}

at::Tensor random_images(int64_t batch) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(0);
  return at::randint(0, 256, {batch, 3, 32, 32}, g, at::TensorOptions().dtype(at::kByte));
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The number the issue asks for: per batch, extractor forward, then stats.add() of its features.
void BM_StatsFractionOfForward(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const FeatureExtractor& e = extractor();
  const at::Tensor images = random_images(batch);
  InceptionStats stats(e.feature_dim());
  double forward_s = 0.0;
  double stats_s = 0.0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const at::Tensor features = e.features(images);
    const auto t1 = Clock::now();
    stats.add(features);
    const auto t2 = Clock::now();
    forward_s += seconds(t1 - t0);
    stats_s += seconds(t2 - t1);
  }
  const double iterations = static_cast<double>(state.iterations());
  state.counters["forward_ms"] = 1e3 * forward_s / iterations;
  state.counters["stats_ms"] = 1e3 * stats_s / iterations;
  state.counters["stats_pct_of_forward"] = 100.0 * stats_s / forward_s;
  state.counters["F"] = static_cast<double>(e.feature_dim());
  state.counters["threads"] = at::get_num_threads();
  state.counters["peak_rss_MiB"] = peak_rss_mib();
  state.SetLabel(e.name());
}

// Accumulation alone at F = 2048 (Inception pool3), float32 features as an extractor returns them.
void BM_StatsAdd(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const int64_t dim = state.range(1);
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor features = at::randn({batch, dim}, g, at::TensorOptions().dtype(at::kFloat));
  InceptionStats stats(dim);
  for (auto _ : state) stats.add(features);
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

BENCHMARK(BM_StatsAdd)->Args({1, 2048})->Args({7, 2048})->Args({64, 2048})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StatsFractionOfForward)->Arg(8)->Arg(32)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (const char* threads = std::getenv("SWITCHDIFF_BENCH_THREADS"); threads && *threads) {
    at::set_num_threads(std::atoi(threads));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
