// SHA-256 (src/core/file_hash.h) vs FIPS 180-4 test vectors and python's hashlib (tests/core/sha256_reference.py)
// on every length around the 64-byte block edges.
#include "core/file_hash.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "common/test_support.h"
#include "core/error.h"

namespace switchdiff::core {
namespace {

TEST(FileHash, KnownVectors) {
  EXPECT_EQ(sha256_bytes(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_bytes("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_bytes(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(FileHash, FilesMatchHashlib) {
  const std::string scratch = testing::scratch_dir();
  std::vector<std::string> paths;
  std::vector<size_t> lengths = {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, (1 << 20) + 3};
  for (size_t length : lengths) {
    std::string bytes(length, '\0');
    for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<char>((i * 131 + length) & 0xff);
    paths.push_back(fmt::format("{}/bytes_{}.bin", scratch, length));
    std::ofstream(paths.back(), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(length));
  }
  std::string command = testing::python() + " " + testing::source_dir() + "/tests/core/sha256_reference.py";
  for (const auto& p : paths) command += " " + p;
  const testing::CommandResult reference = testing::run_command(command);
  ASSERT_EQ(reference.exit_code, 0) << reference.output;
  std::vector<std::string> expected;
  std::istringstream lines(reference.output);
  for (std::string line; std::getline(lines, line);) expected.push_back(line);
  ASSERT_EQ(expected.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(sha256_file(paths[i]), expected[i]) << lengths[i] << " bytes";
}

TEST(FileHash, MissingFileIsAnInputError) {
  EXPECT_THROW(sha256_file(testing::scratch_dir() + "/absent.pt"), InputError);
}

}  // namespace
}  // namespace switchdiff::core
