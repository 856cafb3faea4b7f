// `switchdiff prepare` end to end (docs/formats.md#dataset-files): IDX (plain, gzip), CIFAR-10 batches and ImageNet
// .npz written by numpy in the test come out as exactly their pixels and labels, with the sources' SHA-256 recorded;
// bad files give exit code 1 with the file named. The real Fashion-MNIST test set is checked by SHA-256 (slow).
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/cli_helpers.h"
#include "cli/cli_python.h"
#include "io/h5_file.h"

namespace switchdiff {
namespace {

using testing::contains;
using testing::switchdiff;

constexpr const char* kMakeSources = R"(
import gzip, struct, numpy as np
rng = np.random.default_rng(3)
def idx(data):  # IDX: 0, 0, type 0x08 (ubyte), ndim, big-endian dims, data
    return bytes([0, 0, 0x08, data.ndim]) + b''.join(struct.pack('>I', d) for d in data.shape) + data.tobytes()
images = rng.integers(0, 256, (25, 7, 5), dtype=np.uint8)  # H != W catches a transposed layout
labels = rng.integers(0, 10, 25, dtype=np.uint8)
np.save('images.npy', images); np.save('labels.npy', labels)
open('img.idx', 'wb').write(idx(images)); open('lab.idx', 'wb').write(idx(labels))
with gzip.open('img.idx.gz', 'wb') as f: f.write(idx(images))
with gzip.open('lab.idx.gz', 'wb') as f: f.write(idx(labels))
raw = idx(images)
open('truncated.idx', 'wb').write(raw[:-10])
with gzip.open('truncated.idx.gz', 'wb') as f: f.write(raw[:-10])
open('magic.idx', 'wb').write(bytes([0, 0, 0x0D, 3]) + raw[4:])  # 0x0D = float32 IDX, not images
open('lab24.idx', 'wb').write(idx(labels[:24]))
def cifar(n, seed):
    r = np.random.default_rng(seed)
    return np.concatenate([r.integers(0, 10, (n, 1), dtype=np.uint8), r.integers(0, 256, (n, 3072), dtype=np.uint8)], 1)
open('data_batch_1.bin', 'wb').write(cifar(3, 1).tobytes()); open('data_batch_2.bin', 'wb').write(cifar(4, 2).tobytes())
open('cifar_truncated.bin', 'wb').write(cifar(2, 3).tobytes()[:-1])
np.savez('imagenet8.npz', data=rng.integers(0, 256, (5, 3 * 8 * 8), dtype=np.uint8), labels=np.arange(1, 6))
# Header fields that overflow or lie about the size, zero-image sources, bytes after a gzip stream.
open('huge_dims.idx', 'wb').write(bytes([0, 0, 8, 3]) + struct.pack('>III', 2**32 - 1, 2**32 - 1, 2**32 - 1) + raw[16:])
open('zero_images.idx', 'wb').write(idx(np.zeros((0, 7, 5), np.uint8)))
open('trailing.idx.gz', 'wb').write(gzip.compress(raw) + b'garbage')
open('two_members.idx.gz', 'wb').write(gzip.compress(raw[:100]) + gzip.compress(raw[100:]))
import zipfile
def npy(shape):  # a uint8 .npy header declaring `shape`, with no data
    h = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % shape
    h += ' ' * (63 - (len(h) + 10) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode()
with zipfile.ZipFile('overflow.npz', 'w') as z: z.writestr('data.npy', npy('(4611686018427387904, 12)'))
with zipfile.ZipFile('huge_dim.npz', 'w') as z: z.writestr('data.npy', npy('(99999999999999999999, 3072)'))
np.savez('zero_images.npz', data=np.zeros((0, 3072), np.uint8))
)";

// Checks a prepared file against the sources with h5py/hashlib; prints OK.
constexpr const char* kCheck = R"(
import hashlib, numpy as np, h5py
def sha(path): return hashlib.sha256(open(path, 'rb').read()).hexdigest()
with h5py.File('{out}', 'r') as f:
    x, a = f['images'][...], f.attrs
    assert x.dtype == np.uint8, x.dtype
    assert a['images_sha256'] == hashlib.sha256(x.tobytes()).hexdigest()
    assert a['source_sha256'].split('\n') == [sha(p) for p in a['source_files'].split('\n')], dict(a)
    kind = '{kind}'
    if kind == 'idx':
        assert x.shape == (25, 1, 7, 5), x.shape
        assert (x[:, 0] == np.load('images.npy')).all() and (f['labels'][...] == np.load('labels.npy')).all()
        assert a['labels_sha256'] == sha(a['labels_file'])
    if kind == 'cifar':
        raw = np.concatenate([np.fromfile(p, np.uint8).reshape(-1, 3073) for p in ['data_batch_1.bin', 'data_batch_2.bin']])
        assert x.shape == (7, 3, 32, 32) and (x.reshape(7, -1) == raw[:, 1:]).all() and (f['labels'][...] == raw[:, 0]).all()
    if kind == 'imagenet':
        d = np.load('imagenet8.npz')
        assert x.shape == (5, 3, 8, 8) and (x.reshape(5, -1) == d['data']).all() and a['imagenet_version'] == 'new'
    print('OK', a['source_format'])
)";

class CliPrepare : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::suite_dir("CliPrepare.shared");
    testing::run_python(dir_, kMakeSources, "make_sources");
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }
  static std::string check(const std::string& out, const std::string& kind) {
    return testing::run_python(dir_, fmt::format(kCheck, fmt::arg("out", out), fmt::arg("kind", kind)), "check");
  }
  static std::string dir_;
};
std::string CliPrepare::dir_;

TEST_F(CliPrepare, IdxPlainAndGzipGiveTheSourcePixelsAndLabels) {
  const std::string dir = testing::scratch_dir();
  for (const std::string suffix : {"", ".gz"}) {
    const std::string out = dir + "/idx" + suffix + ".h5";
    const auto r = switchdiff(fmt::format("prepare --input {} --labels {} --output.path {}", path("img.idx" + suffix),
                                          path("lab.idx" + suffix), out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "1x7x5")) << r.output;
    EXPECT_TRUE(contains(check(out, "idx"), suffix.empty() ? "OK idx\n" : "OK idx.gz")) << suffix;
  }
}

TEST_F(CliPrepare, CifarBatchesAreConcatenatedInTheOrderGiven) {
  const std::string out = testing::scratch_dir() + "/cifar.h5";
  const auto r = switchdiff(
      fmt::format("prepare --input {},{} --output.path {}", path("data_batch_1.bin"), path("data_batch_2.bin"), out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(check(out, "cifar"), "OK cifar10-binary"));
}

TEST_F(CliPrepare, ImagenetNpzNeedsAndRecordsItsVersion) {
  const std::string dir = testing::scratch_dir();
  const auto missing = switchdiff(fmt::format("prepare --input {} --output.path {}/a.h5", path("imagenet8.npz"), dir));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_TRUE(contains(missing.output, "--imagenet-version")) << missing.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.h5"));
  const auto r = switchdiff(
      fmt::format("prepare --input {} --imagenet-version new --output.path {}/b.h5", path("imagenet8.npz"), dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(check(dir + "/b.h5", "imagenet"), "OK npz"));
}

// Concatenated gzip members (cat a.gz b.gz) are legal gzip and read as one stream.
TEST_F(CliPrepare, MultiMemberGzipReadsAsOneStream) {
  const std::string out = testing::scratch_dir() + "/two.h5";
  const auto r = switchdiff(
      fmt::format("prepare --input {} --labels {} --output.path {}", path("two_members.idx.gz"), path("lab.idx"), out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(check(out, "idx"), "OK idx.gz"));
}

TEST_F(CliPrepare, NeverOverwritesAnExistingFile) {
  const std::string out = testing::scratch_dir() + "/taken.h5";
  std::ofstream(out) << "precious";
  const auto r = switchdiff(fmt::format("prepare --input {} --output.path {}", path("img.idx"), out));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "never overwritten")) << r.output;
  EXPECT_EQ(testing::read_text(out), "precious");
}

struct BadSource {
  std::string name;
  std::string args;  // @D@ = the suite's folder
  std::vector<std::string> expect;
};

class CliPrepareBadInput : public CliPrepare, public ::testing::WithParamInterface<BadSource> {};

TEST_P(CliPrepareBadInput, ExitsOneNamingTheFile) {
  std::string args = GetParam().args;
  for (size_t at = args.find("@D@"); at != std::string::npos; at = args.find("@D@")) args.replace(at, 3, dir_);
  const std::string out = testing::scratch_dir() + "/out.h5";
  const auto r = switchdiff(fmt::format("prepare {} --output.path {}", args, out));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  for (const auto& part : GetParam().expect) EXPECT_TRUE(contains(r.output, part)) << part << "\n" << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliPrepareBadInput,
    ::testing::Values(
        BadSource{"truncated_idx", "--input @D@/truncated.idx", {"truncated.idx"}},
        BadSource{"truncated_idx_gz", "--input @D@/truncated.idx.gz", {"truncated.idx.gz"}},
        BadSource{"wrong_magic", "--input @D@/magic.idx", {"magic.idx"}},
        BadSource{"label_count_mismatch",
                  "--input @D@/img.idx --labels @D@/lab24.idx",
                  {"lab24.idx", "24 labels", "25 images"}},
        BadSource{"cifar_truncated", "--input @D@/cifar_truncated.bin", {"cifar_truncated.bin"}},
        BadSource{"mixed_formats", "--input @D@/img.idx,@D@/data_batch_1.bin", {"one format"}},
        BadSource{"missing_input", "--input @D@/nope.idx", {"nope.idx"}},
        BadSource{"listed_twice", "--input @D@/img.idx,@D@/img.idx", {"listed twice"}},
        BadSource{"empty_entry", "--input @D@/img.idx,", {"empty entry"}},
        BadSource{"no_input", "", {"--input is required"}},
        BadSource{"idx_dims_overflow", "--input @D@/huge_dims.idx", {"huge_dims.idx", "more than 2^63"}},
        BadSource{"idx_zero_images", "--input @D@/zero_images.idx", {"zero_images.idx", "at least one image"}},
        BadSource{"gz_trailing_bytes",
                  "--input @D@/trailing.idx.gz",
                  {"trailing.idx.gz", "7 bytes after the end of the gzip stream"}},
        BadSource{"npz_shape_overflow",
                  "--input @D@/overflow.npz --imagenet-version new",
                  {"overflow.npz:data", "more than 2^63 elements"}},
        BadSource{"npz_huge_dimension",
                  "--input @D@/huge_dim.npz --imagenet-version new",
                  {"huge_dim.npz:data", "beyond 2^63 - 1"}},
        BadSource{
            "npz_zero_images", "--input @D@/zero_images.npz --imagenet-version new", {"zero_images.npz", "no images"}}),
    [](const auto& test) { return test.param.name; });

// The real Fashion-MNIST test set (Debian's dataset-fashion-mnist): the prepared images and labels hash to
// the IDX payloads' SHA-256 (after the 16- and 8-byte headers).
TEST(CliPrepareSlow, FashionMnistTestSetKeepsTheSourcePixels) {
  const std::string source = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(source + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << source << " missing: apt-get install dataset-fashion-mnist";
  }
  const std::string dir = testing::scratch_dir();
  const auto r =
      switchdiff(fmt::format("prepare --input {0}/t10k-images-idx3-ubyte.gz --labels "
                             "{0}/t10k-labels-idx1-ubyte.gz --output.path {1}/t10k.h5",
                             source, dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string out = testing::run_python(dir, fmt::format(R"(
import gzip, hashlib, numpy as np, h5py
pixels = hashlib.sha256(gzip.open('{0}/t10k-images-idx3-ubyte.gz', 'rb').read()[16:]).hexdigest()
labels = np.frombuffer(gzip.open('{0}/t10k-labels-idx1-ubyte.gz', 'rb').read()[8:], np.uint8)
with h5py.File('t10k.h5', 'r') as f:
    assert f['images'].shape == (10000, 1, 28, 28)
    assert f.attrs['images_sha256'] == pixels, (f.attrs['images_sha256'], pixels)
    assert hashlib.sha256(f['images'][...].tobytes()).hexdigest() == pixels
    assert (f['labels'][...] == labels).all()
print('images sha256', pixels)
)",
                                                               source));
  const size_t at = out.find("images sha256 ");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_TRUE(contains(r.output, out.substr(at + 14, 64))) << r.output;  // the summary prints the same hash
  std::cout << out;
}

}  // namespace
}  // namespace switchdiff
