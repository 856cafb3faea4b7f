#pragma once
// A small typed RAII wrapper over the HDF5 C API (in the spirit of HighFive; our own code). Every HDF5 call
// is checked once, in io/, and a failure throws with the call, the file and the object path, plus HDF5's own
// innermost message (HDF5's automatic error printing is switched off).
//
// Who is to blame decides the error type: a file opened with open_input() is the user's (a corrupt or
// unexpected file is InputError, exit 1); files we create or open for writing are ours (IoError, exit 2).
//
// Element types: uint8_t, int32_t, int64_t, float, double (explicitly instantiated in io/h5_dataset.cpp).
// Stored little-endian with the same width; reads convert from the stored numeric type to T (HDF5
// conversion), so check dataset_info().type first where the stored type matters.
// Object paths are absolute ("/points/3/inception_mu"); "/" is the root group.
#include <cstdint>
#include <string>
#include <vector>

namespace switchdiff::io {

enum class ElementType { kUInt8, kInt32, kInt64, kFloat32, kFloat64, kOther };

struct DatasetInfo {
  std::vector<int64_t> shape;
  ElementType type = ElementType::kOther;
  std::string type_name;    // numpy-style: "uint8", "int16", "float64", "string", ... (for messages)
  bool extendable = false;  // first dimension unlimited (append_rows)
  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t num_elements() const;
};

// Layout of a new dataset. Contiguous unless chunk_rows > 0 or compression_level > 0.
struct DatasetOptions {
  int64_t chunk_rows = 0;     // rows (first-dimension entries) per chunk; 0: chosen (~1 MiB) when chunked
  int compression_level = 0;  // gzip 1..9 (h5py/numpy readable); 0: none
  bool overwrite = false;     // replace an existing dataset (never used for finished results, docs/formats.md)
};

enum class FileRole { kOutput, kInput };

class H5File {
 public:
  // A user's file, read-only. Missing, unreadable or non-HDF5 files throw InputError naming the path.
  static H5File open_input(const std::string& path);
  // Our own file (results, checkpoints), read-only or read-write. Failures throw IoError.
  static H5File open(const std::string& path, bool writable);
  // A new file (parent folders are created). An existing file is an error (ConfigError: choose another path
  // or delete it) unless overwrite is true.
  static H5File create(const std::string& path, bool overwrite = false);

  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&& other) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  ~H5File();  // closes without throwing; call close() to see errors

  const std::string& path() const { return path_; }
  FileRole role() const { return role_; }
  bool writable() const { return writable_; }
  void flush() const;
  void close();

  // Objects.
  bool exists(const std::string& object_path) const;  // false also when an intermediate group is missing
  bool is_group(const std::string& object_path) const;
  bool is_dataset(const std::string& object_path) const;
  void create_group(const std::string& group_path);                              // creates parents; fine if it exists
  std::vector<std::string> children(const std::string& group_path = "/") const;  // names, sorted
  void remove(const std::string& object_path);                                   // unlink

  // Datasets. Missing parents are created.
  DatasetInfo dataset_info(const std::string& dataset_path) const;
  template <class T>
  void write(const std::string& dataset_path, const std::vector<int64_t>& shape, const T* data,
             const DatasetOptions& options = {});
  template <class T>
  void write(const std::string& dataset_path, const std::vector<T>& values, const DatasetOptions& options = {}) {
    write(dataset_path, {static_cast<int64_t>(values.size())}, values.data(), options);
  }
  template <class T>
  std::vector<T> read(const std::string& dataset_path) const;  // all elements, row-major
  // Rows [begin, end) of the first dimension into out (row-major, (end - begin) * row elements).
  template <class T>
  void read_rows(const std::string& dataset_path, int64_t begin, int64_t end, T* out) const;
  // Overwrites rows [begin, begin + num_rows) of an existing dataset.
  template <class T>
  void write_rows(const std::string& dataset_path, int64_t begin, int64_t num_rows, const T* data);
  // An empty dataset [0, row_shape...] whose first dimension grows with append_rows.
  template <class T>
  void create_extendable(const std::string& dataset_path, const std::vector<int64_t>& row_shape,
                         const DatasetOptions& options = {});
  template <class T>
  void append_rows(const std::string& dataset_path, int64_t num_rows, const T* data);

  // Scalar attributes of "/" (the file), a group or a dataset. Strings are variable-length UTF-8 (h5py reads
  // them as str); setting an existing attribute replaces it; a missing object_path is created as a group.
  void set_string_attribute(const std::string& object_path, const std::string& name, const std::string& value);
  void set_double_attribute(const std::string& object_path, const std::string& name, double value);
  void set_int_attribute(const std::string& object_path, const std::string& name, int64_t value);
  bool has_attribute(const std::string& object_path, const std::string& name) const;
  std::vector<std::string> attribute_names(const std::string& object_path) const;  // sorted
  // Readers accept fixed- or variable-length strings and any numeric scalar type; others throw naming both.
  std::string string_attribute(const std::string& object_path, const std::string& name) const;
  double double_attribute(const std::string& object_path, const std::string& name) const;
  int64_t int_attribute(const std::string& object_path, const std::string& name) const;

  // Internal (io/h5_*.cpp): the HDF5 file id, and the error to throw for a failed call on an object.
  int64_t id() const { return file_id_; }
  [[noreturn]] void fail(const std::string& call, const std::string& object_path, const std::string& detail = "") const;

 private:
  H5File(int64_t file_id, std::string path, FileRole role, bool writable);
  int64_t file_id_ = -1;
  std::string path_;
  FileRole role_ = FileRole::kOutput;
  bool writable_ = false;
};

const char* element_type_name(ElementType type);

// Tells libhdf5 not to run its at-exit cleanup; main() calls it before any other HDF5 call. After a failed write
// (a full disk) that cleanup, and closing the broken file's objects by hand, crashed inside libhdf5 (exit 139).
// Nothing needs it: every file switchdiff finishes is closed explicitly (H5File::close) before it is committed,
// and a half-written one is a `.partial` that a resumed run discards.
void skip_hdf5_exit_cleanup() noexcept;

}  // namespace switchdiff::io
