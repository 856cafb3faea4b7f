// Likelihood benchmark (docs/performance.md; not a test): NFE per image and wall time of our PF-ODE solver against the
// score_sde-style Python reference of tests/likelihood/score_sde_reference.py, on the same TorchScript expert(s),
// images, dequantization and probe noise and tolerance, measured in the same run. Model loading and Python start-up
// are excluded on both sides, and each side solves once untimed first (warm caches). Run
// benchmarks/likelihood/run_benchmark.sh, or:
//   bench_likelihood --likelihood A.pt [--quality B.pt --switch-sigma 1] [--images 8] [--threads 1] [--rtol 1e-5]
//                    [--work DIR] [--python /usr/bin/python3] [--reference PATH/score_sde_reference.py]
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "experts/expert_loader.h"
#include "experts/switched_denoiser.h"
#include "likelihood/dequantization.h"
#include "likelihood/likelihood_noise.h"
#include "likelihood/pf_ode.h"

namespace {

using namespace switchdiff;

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> a = {
      {"images", "8"},
      {"threads", "1"},
      {"rtol", "1e-5"},
      {"switch-sigma", "1"},
      {"work", "bench_likelihood_work"},
      {"python", "/usr/bin/python3"},
      {"reference", SWITCHDIFF_SOURCE_DIR "/tests/likelihood/score_sde_reference.py"}};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument " + key);
    a[key.substr(2)] = argv[i + 1];
  }
  if (!a.count("likelihood")) throw std::runtime_error("usage: bench_likelihood --likelihood A.pt [...] (see source)");
  return a;
}

void write_doubles(const std::string& path, const at::Tensor& t) {
  const at::Tensor v = t.to(at::kDouble).contiguous();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data_ptr<double>()), v.numel() * 8);
}

at::Tensor read_doubles(const std::string& path, int64_t n) {
  at::Tensor v = at::empty({n}, at::kDouble);
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(v.data_ptr<double>()), n * 8);
  return v;
}

// Process CPU time: on a shared machine it measures the work, where wall time also measures the neighbours.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  if (pclose(pipe) != 0) throw std::runtime_error("failed: " + command + "\n" + output);
  return output;
}

}  // namespace

int main(int argc, char** argv) try {
  const auto a = parse(argc, argv);
  const int threads = std::stoi(a.at("threads"));
  at::set_num_threads(threads);
  const int64_t n = std::stoll(a.at("images"));
  const std::filesystem::path work = a.at("work");
  std::filesystem::create_directories(work);

  std::shared_ptr<const experts::Denoiser> denoiser = experts::load_expert({a.at("likelihood")});
  if (a.count("quality")) {
    denoiser = experts::SwitchedDenoiser::merge(experts::load_expert({a.at("quality")}), denoiser,
                                                std::stod(a.at("switch-sigma")));
  }
  const experts::ImageShape shape = denoiser->image_shape();
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(0);
  const at::Tensor images = at::randint(0, 256, {n, shape.channels, shape.height, shape.width}, g, at::kByte);
  std::vector<int64_t> indices(n);
  for (int64_t i = 0; i < n; ++i) indices[i] = i;
  likelihood::LikelihoodOptions options;
  options.ode.rtol = options.ode.atol = std::stod(a.at("rtol"));
  options.dequantization = likelihood::Dequantization::kScoreSde;  // the reference's bins and +7 offset
  likelihood::LikelihoodNoise noise(indices, shape, options);
  const likelihood::RepeatNoise draw = noise.next();
  const at::Tensor y = likelihood::dequantize(images, draw.dequantization, options.dequantization);

  // Warm-up solve, untimed on both sides: TorchScript's profiling executor optimizes the graph during the first
  // calls and oneDNN generates kernels for each new batch shape, one-off costs that a long evaluation amortizes.
  likelihood::pf_ode_log_density(*denoiser, y, draw.probes, options.ode, indices);
  const auto start = std::chrono::steady_clock::now();
  const double start_cpu = cpu_seconds();
  const likelihood::PfOdeResult ours = likelihood::pf_ode_log_density(*denoiser, y, draw.probes, options.ode, indices);
  const double our_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double our_cpu = cpu_seconds() - start_cpu;
  const at::Tensor our_bpd = likelihood::bits_per_dim(ours.log_density, shape.dims(), options.dequantization);
  const double our_nfe = ours.final_state.nfe.to(at::kDouble).mean().item<double>();

  write_doubles((work / "y.f64").string(), y);
  write_doubles((work / "eps.f64").string(), draw.probes.select(1, 0));
  std::string common = fmt::format(
      "OMP_NUM_THREADS={} {} {} --likelihood {} --data {} --probes {} --shape {} {} {} {} --rtol {} --atol {} "
      "--threads {} --warmup --out {} --out-nfe {}",
      threads, a.at("python"), a.at("reference"), a.at("likelihood"), (work / "y.f64").string(),
      (work / "eps.f64").string(), n, shape.channels, shape.height, shape.width, options.ode.rtol, options.ode.atol,
      threads, (work / "ref.f64").string(), (work / "nfe.f64").string());
  if (a.count("quality"))
    common += fmt::format(" --quality {} --switch-sigma {}", a.at("quality"), a.at("switch-sigma"));

  std::printf("model %s, %lld images %s, rtol = atol = %g, %d thread(s)\n", denoiser->name().c_str(),
              static_cast<long long>(n), shape.str().c_str(), options.ode.rtol, threads);
  std::printf("%-44s %9s %8s %8s %10s %9s %9s %9s\n", "solver", "NFE/image", "wall s", "CPU s", "max|dbpd|",
              "NFE ratio", "wall rat.", "CPU rat.");
  std::printf("%-44s %9.1f %8.3f %8.3f %10s %9s %9s %9s\n", "switchdiff dopri5, per-image control (ours)", our_nfe,
              our_seconds, our_cpu, "-", "-", "-", "-");
  const std::pair<const char*, const char*> modes[] = {
      {"score_sde style: t variable, batch solve_ivp", "--variable t"},
      {"reference: t variable, per-image solve_ivp", "--variable t --per-image"},
      {"reference: sigma variable, per-image", "--variable sigma --per-image"},
  };
  for (const auto& [label, flags] : modes) {
    const std::string out = run(common + " " + flags);
    const auto wall = out.find("wall_seconds "), cpu = out.find("cpu_seconds ");
    if (wall == std::string::npos || cpu == std::string::npos) throw std::runtime_error("no timing in:\n" + out);
    const double seconds = std::stod(out.substr(wall + 13)), cpu_s = std::stod(out.substr(cpu + 12));
    const at::Tensor ref_bpd = read_doubles((work / "ref.f64").string(), n);
    const double ref_nfe = read_doubles((work / "nfe.f64").string(), n).mean().item<double>();
    std::printf("%-44s %9.1f %8.3f %8.3f %10.2e %9.3f %9.3f %9.3f\n", label, ref_nfe, seconds, cpu_s,
                (our_bpd - ref_bpd).abs().max().item<double>(), our_nfe / ref_nfe, our_seconds / seconds,
                our_cpu / cpu_s);
  }
  std::printf(
      "(ratios are ours / reference; goal: NFE ratio <= 1, time ratio <= 0.5); ours: %.1f accepted, %.1f "
      "rejected steps per image\n",
      ours.final_state.accepted.to(at::kDouble).mean().item<double>(),
      ours.final_state.rejected.to(at::kDouble).mean().item<double>());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_likelihood: %s\n", e.what());
  return 1;
}
