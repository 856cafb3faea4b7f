// The bundled demo models (models/*.pt): they load in C++ with the metadata docs/experts.md, docs/metrics.md
// require, and LibTorch gives the numbers Python gives (demo_models_reference.py, run here). Plus sanity
// figures that would catch a wrong or swapped export: denoising at small sigma returns the image, and the
// classifier's test accuracy, measured in C++ on all 10k Fashion-MNIST test images, is >= 88%.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/test_support.h"
#include "experts/feature_extractor.h"
#include "experts/torchscript_expert.h"
#include "io/dataset_import.h"

namespace switchdiff {
namespace {

constexpr const char* kTestImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
constexpr const char* kTestLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

std::string model(const std::string& name) { return testing::source_dir() + "/models/" + name; }

// A raw little-endian array written by numpy's tofile().
at::Tensor read_raw(const std::string& path, at::IntArrayRef shape, at::ScalarType dtype) {
  at::Tensor t = at::empty(shape, dtype);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  EXPECT_TRUE(in && in.peek() == EOF) << path << " does not hold " << t.nbytes() << " bytes";
  return t;
}

double max_relative_difference(const at::Tensor& ours, const at::Tensor& theirs) {
  return ((ours.to(at::kDouble) - theirs.to(at::kDouble)).abs().max() /
          theirs.to(at::kDouble).abs().max().clamp_min(1e-12))
      .item<double>();
}

class DemoModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kTestImages)) return;
    reference_ = new std::string(testing::scratch_dir());
    const auto r = testing::run_command(testing::python() + " " + testing::source_dir() +
                                        "/tests/experts/demo_models_reference.py " + testing::source_dir() +
                                        "/models " + kTestImages + " " + *reference_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete reference_;
    reference_ = nullptr;
  }
  void SetUp() override {
    if (!std::filesystem::exists(kTestImages)) GTEST_SKIP() << kTestImages << ": apt-get install dataset-fashion-mnist";
    at::set_num_threads(1);  // as the reference, so that the kernels sum in the same order
  }
  static std::string reference(const std::string& name) { return *reference_ + "/" + name; }
  static std::string* reference_;
};
std::string* DemoModels::reference_ = nullptr;

TEST_F(DemoModels, ExpertsLoadWithTheirMetadataAndMatchPython) {
  const at::Tensor x = read_raw(reference("x.f32"), {6, 1, 28, 28}, at::kFloat);
  const at::Tensor sigma = read_raw(reference("sigma.f32"), {6}, at::kFloat);
  for (const char* name : {"quality", "likelihood"}) {
    SCOPED_TRACE(name);
    experts::TorchScriptExpert expert({model(std::string(name) + ".pt")});
    EXPECT_EQ(expert.info().parameterization, experts::Parameterization::kEdm);
    EXPECT_DOUBLE_EQ(expert.trained_range().min, 0.002);
    EXPECT_DOUBLE_EQ(expert.trained_range().max, 80.0);
    EXPECT_EQ(expert.image_shape().str(), "1x28x28");
    // The sampler's float64 state is cast to float32 for the network, as here, so the inputs are identical.
    const at::Tensor ours = expert.denoise(x.to(at::kDouble), sigma.to(at::kDouble));
    const at::Tensor python = read_raw(reference(std::string(name) + ".f32"), {6, 1, 28, 28}, at::kFloat);
    const double difference = max_relative_difference(ours, python);
    std::cout << name << ": max |D_C++ - D_python| / max |D| = " << difference << "\n";
    EXPECT_LT(difference, 1e-6);
  }
}

TEST_F(DemoModels, ExpertsDenoiseRealImagesAtSmallSigma) {
  // At sigma = 0.002 (a quarter of a pixel level) D(x) must return the clean image almost exactly; at
  // sigma = 0.2 it must be much closer to it than the noisy input. A scrambled or mis-scaled export fails.
  const io::DatasetArrays test_set = io::import_dataset(kTestImages);
  const at::Tensor y =
      at::from_blob(const_cast<uint8_t*>(test_set.images.data()), {16, 1, 28, 28}, at::kByte).to(at::kDouble) / 127.5 -
      1;
  const at::Tensor noise = at::randn(y.sizes(), at::make_generator<at::CPUGeneratorImpl>(3), at::kDouble);
  for (const char* name : {"quality", "likelihood"}) {
    experts::TorchScriptExpert expert({model(std::string(name) + ".pt")});
    for (double s : {0.002, 0.2}) {
      const at::Tensor sigma = at::full({16}, s, at::kDouble);
      const double error = (expert.denoise(y + s * noise, sigma) - y).pow(2).mean().sqrt().item<double>();
      std::cout << name << " sigma " << s << ": RMS |D(y + sigma n) - y| = " << error << "\n";
      EXPECT_LT(error, s == 0.002 ? 0.01 : 0.5 * s) << name << " sigma " << s;
    }
  }
}

TEST_F(DemoModels, ClassifierMatchesPythonAndReaches88PercentTestAccuracy) {
  experts::FeatureExtractor classifier(model("classifier_features.pt"));
  EXPECT_EQ(classifier.feature_dim(), 128);
  ASSERT_TRUE(classifier.has_logits());
  EXPECT_EQ(classifier.num_classes(), 10);
  EXPECT_EQ(classifier.name(), "fashion-mnist-classifier");

  const at::Tensor images = read_raw(reference("images.u8"), {64, 1, 28, 28}, at::kByte);
  const double feature_difference =
      max_relative_difference(classifier.features(images), read_raw(reference("features.f32"), {64, 128}, at::kFloat));
  const double logit_difference =
      max_relative_difference(classifier.logits(images), read_raw(reference("logits.f32"), {64, 10}, at::kFloat));
  std::cout << "classifier: max relative difference C++ vs python: features " << feature_difference << ", logits "
            << logit_difference << "\n";
  EXPECT_LT(feature_difference, 1e-6);
  EXPECT_LT(logit_difference, 1e-6);

  at::set_num_threads(2);
  const io::DatasetArrays test_set = io::import_dataset(kTestImages, io::ImportOptions{kTestLabels, {}});
  ASSERT_EQ(test_set.num_images, 10000);
  const at::Tensor all = at::from_blob(const_cast<uint8_t*>(test_set.images.data()), {10000, 1, 28, 28}, at::kByte);
  const at::Tensor labels = at::from_blob(const_cast<int64_t*>(test_set.labels->data()), {10000}, at::kLong);
  int64_t correct = 0;
  for (int64_t start = 0; start < 10000; start += 500) {
    const at::Tensor predicted = classifier.logits(all.slice(0, start, start + 500)).argmax(1);
    correct += predicted.eq(labels.slice(0, start, start + 500)).sum().item<int64_t>();
  }
  const double accuracy = correct / 10000.0;
  std::cout << "classifier test accuracy (C++, 10000 images): " << accuracy << "\n";
  EXPECT_GE(accuracy, 0.88);
}

}  // namespace
}  // namespace switchdiff
