#pragma once
// Internal to io/: HDF5 ids with RAII, checked calls, element type mapping. Only io/h5_*.cpp include this.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "io/h5_file.h"

namespace switchdiff::io::detail {

static_assert(std::is_same_v<hid_t, int64_t>, "HDF5 >= 1.10 uses 64-bit ids; H5File stores them as int64_t");

// Turns off HDF5's printing of its error stack (we report errors ourselves). Idempotent.
void silence_hdf5_errors();
// The innermost message of HDF5's current error stack (the most specific one), then clears the stack.
std::string take_hdf5_error_message();

// Owns one HDF5 id of any kind (file, group, dataset, dataspace, datatype, attribute, property list).
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  Id(Id&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Id& operator=(Id&& other) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  hid_t get() const { return id_; }
  void reset();

 private:
  hid_t id_ = -1;
};

// Checks the result of an HDF5 call returning an id or herr_t: a negative value throws file.fail(...).
hid_t check(const H5File& file, hid_t result, const char* call, const std::string& object_path);
inline Id checked_id(const H5File& file, hid_t result, const char* call, const std::string& object_path) {
  return Id(check(file, result, call, object_path));
}

template <class T>
hid_t memory_type();  // H5T_NATIVE_*
template <class T>
hid_t file_type();  // little-endian standard type of the same width
template <class T>
ElementType element_type();

// Our ElementType and a numpy-style name for a stored datatype.
ElementType classify(hid_t type, std::string* type_name);

// "/a/b/c" -> "/a/b"; "/a" -> "/".
std::string parent_path(const std::string& object_path);

}  // namespace switchdiff::io::detail
