#pragma once
// Reader for numpy's .npy arrays and .npz archives (zip of .npy, stored or deflated): EDM's reference
// statistics (mu, sigma) and downsampled-ImageNet batches (data, labels).
//
// .npy format: numpy's NEP 1 ("A simple file format for NumPy arrays"): magic "\x93NUMPY", version, a
// little-endian header length, a Python dict literal {'descr', 'fortran_order', 'shape'}, then raw data.
// Supported dtypes: bool, signed/unsigned integers (1-8 bytes) and floats (2: not supported, 4, 8) in any
// byte order; arrays come back in C order and native byte order whatever the file used. Object (pickled)
// and structured dtypes are rejected. Every problem is an InputError naming the file (and key), the value
// found, what is expected and how to fix it.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchdiff::io {

struct NpyArray {
  std::string source;          // "file.npz:mu" or "file.npy", for messages
  std::string descr;           // dtype as stored, e.g. "<f8", "|u1", ">i4"
  char kind = 'f';             // 'f' float, 'i' signed, 'u' unsigned, 'b' bool
  size_t item_size = 8;        // bytes per element
  std::vector<int64_t> shape;  // () for a scalar
  bool fortran_order_in_file = false;
  std::vector<uint8_t> data;  // num_elements() * item_size bytes, C order, native byte order

  int64_t num_elements() const;
  std::string dtype_name() const;  // numpy name: "float64", "uint8", "bool", ...
  std::string shape_text() const;  // "(10000, 3072)"
  // Values converted to float64 (any supported dtype; int64 beyond 2^53 rounds as in numpy).
  std::vector<double> to_float64() const;
  // Integers (bool as 0/1); floats throw InputError naming the dtype.
  std::vector<int64_t> to_int64() const;
  // Raw bytes of a uint8 (or bool) array; other dtypes throw InputError naming the dtype.
  const std::vector<uint8_t>& uint8_data() const;
  // A CPU tensor of the matching dtype (bool, uint8, int8/16/32/64, float32/64) and shape.
  at::Tensor to_tensor() const;
};

// Parses the bytes of one .npy file; `source` names it in errors.
NpyArray parse_npy(std::string_view bytes, const std::string& source);
NpyArray read_npy_file(const std::string& path);

// An .npz archive, open for reading members by key (the member name without ".npy").
class NpzArchive {
 public:
  explicit NpzArchive(const std::string& path);  // InputError if missing, not a zip, or truncated
  ~NpzArchive();
  NpzArchive(const NpzArchive&) = delete;
  NpzArchive& operator=(const NpzArchive&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> keys() const;  // in archive order
  bool contains(const std::string& key) const;
  // A missing key throws InputError listing the keys present.
  NpyArray read(const std::string& key) const;

 private:
  struct Zip;
  std::string path_;
  std::unique_ptr<Zip> zip_;
};

}  // namespace switchdiff::io
