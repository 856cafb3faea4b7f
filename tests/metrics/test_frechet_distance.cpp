// Fréchet distance vs independent references: pytorch-fid's scipy.linalg.sqrtm formula (full rank), the
// exact SVD form from the data matrices (rank-deficient), closed forms of Gaussians, and FID(X, X) = 0.
#include "metrics/frechet_distance.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_support.h"
#include "core/error.h"
#include "metrics/feature_samples.h"
#include "metrics/inception_stats.h"
#include "metrics/python_reference.h"

namespace switchdiff::metrics {
namespace {

using testing::synthetic_features;

InceptionStats stats_of(const at::Tensor& features) {
  InceptionStats stats(features.size(1));
  stats.add(features);
  return stats;
}

struct FidCase {
  int64_t dim;
  int64_t n_a;
  int64_t n_b;
};

// Our FID from streamed statistics and the python reference on the same features. The SVD reference is exact
// to rounding, so it is held to 1e-9 (which catches un-thresholded null-space noise); pytorch-fid's scipy sqrtm
// route is itself only accurate to about that, so it is held to a relative 1e-6.
void expect_matches_reference(const FidCase& c, const std::string& reference) {
  const double tolerance = reference == "fid_svd" ? 1e-9 : 1e-6;
  const std::string scratch = testing::scratch_dir();
  const at::Tensor a = synthetic_features(c.n_a, c.dim, 11);
  // A second set with another mean, scales and correlation: FID well above the rounding of the traces.
  const at::Tensor b = synthetic_features(c.n_b, c.dim, 22, 1.5);
  testing::write_npy(scratch + "/a.npy", a);
  testing::write_npy(scratch + "/b.npy", b);
  const double ours = frechet_distance(stats_of(a), stats_of(b));
  const auto expected = testing::run_reference(scratch, reference, {scratch + "/a.npy", scratch + "/b.npy"});
  ASSERT_EQ(expected.size(), 1u);
  EXPECT_TRUE(std::isfinite(ours));
  EXPECT_NEAR(ours, expected[0], tolerance * std::abs(expected[0])) << reference << " F=" << c.dim << " n=" << c.n_a;
  std::cout << fmt::format("[fid] {} F={} n={},{}: ours {:.12g} reference {:.12g} rel.diff {:.2e}\n", reference, c.dim,
                           c.n_a, c.n_b, ours, expected[0], std::abs(ours - expected[0]) / expected[0]);
}

TEST(FrechetDistance, MatchesScipySqrtmFullRank) {
  expect_matches_reference({8, 200, 300}, "fid_sqrtm");
  expect_matches_reference({64, 500, 400}, "fid_sqrtm");
}

TEST(FrechetDistance, RankDeficientMatchesSvdReference) {
  expect_matches_reference({64, 40, 30}, "fid_svd");
  expect_matches_reference({256, 100, 180}, "fid_svd");
  // rank Sigma1 = 179 > rank Sigma2 = 39: the r x r product has 140 zero eigenvalues that rounding makes +-eps.
  expect_matches_reference({256, 180, 40}, "fid_svd");
}

// The full-rank cases also agree with the exact SVD form (a second, independent oracle).
TEST(FrechetDistance, FullRankMatchesSvdReference) { expect_matches_reference({64, 500, 400}, "fid_svd"); }

// F = 2048 (Inception pool3): scipy's sqrtm takes minutes on a loaded machine, so ctest runs these
// under the 'slow' label (tests/metrics/CMakeLists.txt).
TEST(FrechetDistanceF2048, MatchesScipySqrtmFullRank) { expect_matches_reference({2048, 3000, 2600}, "fid_sqrtm"); }
TEST(FrechetDistanceF2048, RankDeficientMatchesSvdReference) { expect_matches_reference({2048, 500, 300}, "fid_svd"); }
TEST(FrechetDistanceF2048, IdenticalStatisticsGiveZero) {
  for (int64_t n : {300, 3000}) {
    const InceptionStats stats = stats_of(synthetic_features(n, 2048, 5));
    const double fid = frechet_distance(stats, stats);
    std::cout << fmt::format("[fid] FID(X, X), F=2048 n={}: {:.3e}\n", n, fid);
    EXPECT_LT(std::abs(fid), 1e-8) << "n=" << n;
  }
}

TEST(FrechetDistance, IdenticalStatisticsGiveZero) {
  for (int64_t n : {30, 1000}) {  // rank-deficient and full rank
    const InceptionStats stats = stats_of(synthetic_features(n, 64, 5));
    EXPECT_LT(std::abs(frechet_distance(stats, stats)), 1e-8) << "n=" << n;
  }
}

// Commuting covariances Q diag(a) Q^T, Q diag(b) Q^T: FID = |mu1 - mu2|^2 + sum (sqrt a - sqrt b)^2.
TEST(FrechetDistance, CommutingGaussiansMatchClosedForm) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  for (int64_t dim : {1, 5, 100}) {
    const at::Tensor mu1 = at::randn({dim}, g, options);
    const at::Tensor mu2 = at::randn({dim}, g, options);
    at::Tensor a = at::rand({dim}, g, options) * 4.0 + 0.1;
    at::Tensor b = at::rand({dim}, g, options) * 4.0 + 0.1;
    b.narrow(0, 0, dim / 2).zero_();  // some directions degenerate in Sigma2 (rank-deficient)
    const at::Tensor closed = (mu1 - mu2).square().sum() + (a.sqrt() - b.sqrt()).square().sum();
    // Diagonal, then rotated by a random orthogonal Q (QR of a Gaussian matrix).
    EXPECT_NEAR(frechet_distance(mu1, at::diag(a), mu2, at::diag(b)), closed.item<double>(),
                1e-12 * closed.item<double>());
    const at::Tensor q = std::get<0>(at::linalg_qr(at::randn({dim, dim}, g, options)));
    const at::Tensor s1 = at::matmul(q * a, q.t());
    const at::Tensor s2 = at::matmul(q * b, q.t());
    EXPECT_NEAR(frechet_distance(mu1, (s1 + s1.t()) / 2, mu2, (s2 + s2.t()) / 2), closed.item<double>(),
                1e-9 * closed.item<double>())
        << "dim=" << dim;
  }
}

// Non-commuting 2x2 case against the exact scalar formula tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for
// M = S1^1/2 S2 S1^1/2 (2x2 positive semi-definite: sqrt(M) has trace sqrt(l1) + sqrt(l2)), det M = det S1 det S2.
TEST(FrechetDistance, NonCommuting2x2MatchesScalarFormula) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor s1 = at::tensor({2.0, 0.7, 0.7, 1.0}, options).reshape({2, 2});
  const at::Tensor s2 = at::tensor({0.5, -0.3, -0.3, 3.0}, options).reshape({2, 2});
  const double det1 = 2.0 * 1.0 - 0.49;
  const double det2 = 0.5 * 3.0 - 0.09;
  const double trace_m = at::matmul(s1, s2).trace().item<double>();  // tr(S1^1/2 S2 S1^1/2) = tr(S1 S2)
  const double expected = std::sqrt(trace_m + 2.0 * std::sqrt(det1 * det2));
  EXPECT_NEAR(trace_sqrt_product(s1, s2), expected, 1e-13);
  const at::Tensor mu = at::zeros({2}, options);
  EXPECT_NEAR(frechet_distance(mu, s1, mu, s2), 3.0 + 3.5 - 2.0 * expected, 1e-13);
}

TEST(FrechetDistance, RejectsBadInput) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor mu = at::zeros({3}, options);
  const at::Tensor sigma = at::eye(3, options);
  EXPECT_THROW(frechet_distance(mu, sigma, at::zeros({4}, options), at::eye(4, options)), InputError);
  EXPECT_THROW(frechet_distance(mu, at::eye(4, options), mu, sigma), InputError);
  EXPECT_THROW(frechet_distance(mu, sigma, mu, at::ones({3}, options)), InputError);
  at::Tensor nan_mu = mu.clone();
  nan_mu[1] = NAN;
  EXPECT_THROW(frechet_distance(nan_mu, sigma, mu, sigma), InputError);
  at::Tensor inf_sigma = sigma.clone();
  inf_sigma[0][0] = INFINITY;
  EXPECT_THROW(frechet_distance(mu, sigma, mu, inf_sigma), InputError);
  at::Tensor asymmetric = sigma.clone();
  asymmetric[0][2] = 0.5;
  try {
    frechet_distance(mu, asymmetric, mu, sigma);
    ADD_FAILURE() << "asymmetric Sigma accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not symmetric"), std::string::npos) << e.what();
  }
  // Statistics of fewer than 2 samples have no covariance.
  InceptionStats one(3);
  one.add(at::ones({1, 3}, options));
  EXPECT_THROW(frechet_distance(one, one), InputError);
  EXPECT_THROW(frechet_distance(InceptionStats(3), InceptionStats(4)), InputError);
}

}  // namespace
}  // namespace switchdiff::metrics
