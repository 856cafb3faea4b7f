// FeatureExtractor: load errors name the file, outputs equal python's on the same images, grayscale is
// repeated to 3 channels, bad networks are caught at load or per batch. Fixtures: tests/fixtures
// (tiny_features*.pt, via tiny_fixtures_dir()) and tests/metrics/make_odd_extractors.py.
#include "experts/feature_extractor.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_support.h"
#include "core/error.h"
#include "metrics/python_reference.h"

namespace switchdiff::experts {
namespace {

// Built once per test process.
const std::string& odd_extractors_dir() {
  static const std::string dir = [] {
    const std::string out = testing::binary_dir() + "/test_scratch/odd_extractors";
    const auto result = testing::run_command(fmt::format("{} {}/tests/metrics/make_odd_extractors.py --out {}",
                                                         testing::python(), testing::source_dir(), out));
    if (result.exit_code != 0) throw std::runtime_error("make_odd_extractors.py failed:\n" + result.output);
    return out;
  }();
  return dir;
}

at::Tensor random_images(int64_t batch, int64_t channels, int64_t size, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(0, 256, {batch, channels, size, size}, g, at::TensorOptions().dtype(at::kByte));
}

// Expects construction to throw InputError whose message contains every given fragment.
void expect_load_error(const std::string& path, const std::vector<std::string>& fragments) {
  try {
    FeatureExtractor extractor(path);
    ADD_FAILURE() << path << " loaded";
  } catch (const InputError& e) {
    for (const auto& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "missing '" << fragment << "' in: " << e.what();
    }
  }
}

TEST(FeatureExtractor, LoadErrorsNameTheFileAndTheFix) {
  const std::string scratch = testing::scratch_dir();
  expect_load_error(scratch + "/absent.pt", {scratch + "/absent.pt", "not found", "export_inception.py"});
  const std::string text = scratch + "/notes.pt";
  std::ofstream(text) << "not a TorchScript archive\n";
  expect_load_error(text, {text, "not a readable TorchScript file", "forward(images: uint8"});
  const std::string fixtures = testing::tiny_fixtures_dir();
  expect_load_error(fixtures + "/truncated.pt", {"truncated.pt", "not a readable TorchScript file"});
  // An EDM expert: forward(x, sigma) is not a feature extractor's signature.
  expect_load_error(fixtures + "/tiny_edm.pt", {"tiny_edm.pt", "forward takes 2 arguments"});
  const std::string& odd = odd_extractors_dir();
  expect_load_error(odd + "/two_arguments.pt", {"two_arguments.pt", "forward takes 2 arguments"});
  expect_load_error(odd + "/bad_logits.pt", {"bad_logits.pt", "logits takes 2 arguments"});
  expect_load_error(odd + "/wrong_rank.pt", {"wrong_rank.pt", "returned", "expected floating [2, F]"});
  expect_load_error(odd + "/wrong_batch.pt", {"wrong_batch.pt", "[1, 5]"});
  expect_load_error(odd + "/dim_mismatch.pt", {"dim_mismatch.pt", "feature_dim = 7", "returns 5"});
}

TEST(FeatureExtractor, TinyFixtureMatchesPython) {
  const std::string scratch = testing::scratch_dir();
  const std::string path = testing::tiny_fixtures_dir() + "/tiny_features.pt";
  const FeatureExtractor extractor(path);
  EXPECT_EQ(extractor.name(), "tiny-features");
  EXPECT_EQ(extractor.feature_dim(), 16);
  EXPECT_TRUE(extractor.has_logits());
  EXPECT_EQ(extractor.num_classes(), 10);
  const auto digest = testing::run_reference_lines(scratch, "sha256", {path});
  ASSERT_EQ(digest.size(), 1u);
  EXPECT_EQ(extractor.sha256(), digest[0]);

  const at::Tensor images = random_images(5, 3, 8, 1);
  testing::write_npy(scratch + "/images.npy", images);
  for (const std::string method : {"forward", "logits"}) {
    const at::Tensor ours = method == "forward" ? extractor.features(images) : extractor.logits(images);
    EXPECT_EQ(ours.scalar_type(), at::kDouble);
    EXPECT_EQ(ours.sizes(), (std::vector<int64_t>{5, method == "forward" ? 16 : 10}));
    const auto expected =
        testing::run_reference(scratch, "extract", {path, scratch + "/images.npy"}, "--method " + method);
    ASSERT_EQ(static_cast<int64_t>(expected.size()), ours.numel());
    const at::Tensor reference = at::tensor(expected, at::kDouble).reshape(ours.sizes());
    EXPECT_TRUE(at::allclose(ours, reference, 1e-6, 1e-6)) << method;
  }
  // The second fixture is a different extractor: other name, other hash, other features.
  const FeatureExtractor other(testing::tiny_fixtures_dir() + "/tiny_features_b.pt");
  EXPECT_EQ(other.name(), "tiny-features-b");
  EXPECT_NE(other.sha256(), extractor.sha256());
  EXPECT_FALSE(at::allclose(other.features(images), extractor.features(images)));
}

TEST(FeatureExtractor, GrayscaleIsRepeatedToThreeChannels) {
  const FeatureExtractor extractor(testing::tiny_fixtures_dir() + "/tiny_features.pt");
  const at::Tensor gray = random_images(4, 1, 8, 2);
  const at::Tensor features = extractor.features(gray);
  EXPECT_TRUE(at::equal(features, extractor.features(gray.repeat({1, 3, 1, 1}))));
  // ... and not, say, zero-padded: a colour image with the same first channel differs.
  at::Tensor colour = gray.repeat({1, 3, 1, 1});
  colour.narrow(1, 1, 2).zero_();
  EXPECT_FALSE(at::allclose(features, extractor.features(colour)));
  EXPECT_TRUE(at::equal(extractor.logits(gray), extractor.logits(gray.repeat({1, 3, 1, 1}))));
  // plain.pt takes 3 channels only (no repeat of its own), so this checks FeatureExtractor's repeat.
  const FeatureExtractor plain(odd_extractors_dir() + "/plain.pt");
  EXPECT_TRUE(at::equal(plain.features(gray), plain.features(gray.repeat({1, 3, 1, 1}))));
}

TEST(FeatureExtractor, DefaultsWithoutAttributes) {
  const FeatureExtractor plain(odd_extractors_dir() + "/plain.pt");
  EXPECT_EQ(plain.name(), "plain");  // file stem
  EXPECT_EQ(plain.feature_dim(), 5);
  EXPECT_FALSE(plain.has_logits());
  EXPECT_EQ(plain.num_classes(), 0);
  EXPECT_THROW(plain.logits(random_images(2, 3, 8, 3)), InputError);
  EXPECT_EQ(plain.features(at::zeros({0, 3, 8, 8}, at::kByte)).sizes(), (std::vector<int64_t>{0, 5}));
}

TEST(FeatureExtractor, RejectsBadImagesAndNonFiniteFeatures) {
  const FeatureExtractor plain(odd_extractors_dir() + "/plain.pt");
  EXPECT_THROW(plain.features(at::zeros({2, 3, 8, 8}, at::kFloat)), InputError);  // not uint8
  EXPECT_THROW(plain.features(at::zeros({2, 2, 8, 8}, at::kByte)), InputError);   // 2 channels
  EXPECT_THROW(plain.features(at::zeros({3, 8, 8}, at::kByte)), InputError);      // no batch axis
  const FeatureExtractor nan(odd_extractors_dir() + "/nan_features.pt");
  at::Tensor images = random_images(6, 3, 8, 4);
  images.select(1, 0).select(1, 0).select(1, 0).fill_(7);
  EXPECT_EQ(nan.features(images).size(0), 6);
  images[4][0][0][0] = 255;
  try {
    nan.features(images);
    ADD_FAILURE() << "NaN features accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite values for 1 of 6 images (first at batch index 4)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace switchdiff::experts
