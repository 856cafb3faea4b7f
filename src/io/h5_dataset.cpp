// H5File datasets (io/h5_file.h): typed whole and row-range reads and writes, extendable datasets.
#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "io/h5_detail.h"
#include "io/h5_file.h"

namespace switchdiff::io {
namespace detail {

template <>
hid_t memory_type<uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t memory_type<int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t memory_type<int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t memory_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t memory_type<double>() {
  return H5T_NATIVE_DOUBLE;
}

template <>
hid_t file_type<uint8_t>() {
  return H5T_STD_U8LE;
}
template <>
hid_t file_type<int32_t>() {
  return H5T_STD_I32LE;
}
template <>
hid_t file_type<int64_t>() {
  return H5T_STD_I64LE;
}
template <>
hid_t file_type<float>() {
  return H5T_IEEE_F32LE;
}
template <>
hid_t file_type<double>() {
  return H5T_IEEE_F64LE;
}

template <>
ElementType element_type<uint8_t>() {
  return ElementType::kUInt8;
}
template <>
ElementType element_type<int32_t>() {
  return ElementType::kInt32;
}
template <>
ElementType element_type<int64_t>() {
  return ElementType::kInt64;
}
template <>
ElementType element_type<float>() {
  return ElementType::kFloat32;
}
template <>
ElementType element_type<double>() {
  return ElementType::kFloat64;
}

ElementType classify(hid_t type, std::string* type_name) {
  const size_t bytes = H5Tget_size(type);
  std::string name;
  ElementType result = ElementType::kOther;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
      name = fmt::format("{}int{}", is_signed ? "" : "u", 8 * bytes);
      if (!is_signed && bytes == 1) result = ElementType::kUInt8;
      if (is_signed && bytes == 4) result = ElementType::kInt32;
      if (is_signed && bytes == 8) result = ElementType::kInt64;
      break;
    }
    case H5T_FLOAT:
      name = fmt::format("float{}", 8 * bytes);
      if (bytes == 4) result = ElementType::kFloat32;
      if (bytes == 8) result = ElementType::kFloat64;
      break;
    case H5T_STRING:
      name = "string";
      break;
    case H5T_ENUM:
      name = "enum (h5py bool?)";
      break;
    case H5T_COMPOUND:
      name = "compound";
      break;
    default:
      name = "non-numeric";
  }
  if (type_name) *type_name = name;
  return result;
}

}  // namespace detail

namespace {

using detail::check;
using detail::checked_id;
using detail::Id;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& shape) { return {shape.begin(), shape.end()}; }

Id open_dataset(const H5File& file, const std::string& path) {
  if (!file.is_dataset(path)) file.fail("open dataset", path, "no such dataset");
  return checked_id(file, H5Dopen2(file.id(), path.c_str(), H5P_DEFAULT), "H5Dopen2", path);
}

std::vector<int64_t> extents(const H5File& file, hid_t space, const std::string& path,
                             std::vector<int64_t>* max = nullptr) {
  const int rank = static_cast<int>(check(file, H5Sget_simple_extent_ndims(space), "H5Sget_simple_extent_ndims", path));
  std::vector<hsize_t> dims(static_cast<size_t>(rank)), max_dims(static_cast<size_t>(rank));
  check(file, H5Sget_simple_extent_dims(space, dims.data(), max_dims.data()), "H5Sget_simple_extent_dims", path);
  if (max) {
    max->clear();
    for (hsize_t m : max_dims) max->push_back(m == H5S_UNLIMITED ? -1 : static_cast<int64_t>(m));
  }
  return {dims.begin(), dims.end()};
}

// Rows of about 1 MiB per chunk: large enough for fast reads, small enough for row-range access.
hsize_t default_chunk_rows(const std::vector<int64_t>& row_shape, size_t element_bytes) {
  const int64_t row_elements =
      std::accumulate(row_shape.begin(), row_shape.end(), int64_t{1}, std::multiplies<int64_t>());
  const int64_t row_bytes = std::max<int64_t>(1, row_elements * static_cast<int64_t>(element_bytes));
  return static_cast<hsize_t>(std::max<int64_t>(1, (int64_t{1} << 20) / row_bytes));
}

// Chunked layout (needed for extendable datasets and compression) unless a fixed extent is 0, where HDF5
// allows no chunk. Chunks never exceed a fixed extent (HDF5 requires it).
Id dataset_creation_properties(const H5File& file, const std::string& path, const std::vector<int64_t>& shape,
                               const std::vector<int64_t>& max_shape, bool chunked, const DatasetOptions& options,
                               size_t element_bytes) {
  Id properties = checked_id(file, H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", path);
  if (!chunked || shape.empty()) return properties;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (max_shape[i] == 0) return properties;
  }
  std::vector<hsize_t> chunk;
  const std::vector<int64_t> row_shape(shape.begin() + 1, shape.end());
  chunk.push_back(options.chunk_rows > 0 ? static_cast<hsize_t>(options.chunk_rows)
                                         : default_chunk_rows(row_shape, element_bytes));
  if (max_shape[0] > 0) chunk[0] = std::min(chunk[0], static_cast<hsize_t>(max_shape[0]));
  for (int64_t extent : row_shape) chunk.push_back(static_cast<hsize_t>(extent));
  check(file, H5Pset_chunk(properties.get(), static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk", path);
  if (options.compression_level > 0) {
    check(file, H5Pset_deflate(properties.get(), static_cast<unsigned>(std::min(options.compression_level, 9))),
          "H5Pset_deflate", path);
  }
  return properties;
}

// Creates the dataset (and its parent groups), replacing an existing one only when allowed.
template <class T>
Id create_dataset(H5File& file, const std::string& path, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& max_shape, bool chunked, const DatasetOptions& options) {
  if (!file.writable()) file.fail("create dataset", path, "the file is open read-only");
  if (file.exists(path)) {
    if (!options.overwrite) file.fail("create dataset", path, "it exists already; refusing to overwrite it");
    file.remove(path);
  }
  file.create_group(detail::parent_path(path));
  for (int64_t extent : shape) {
    if (extent < 0) file.fail("create dataset", path, "negative extent in shape " + shape_text(shape));
  }
  const std::vector<hsize_t> dims = to_hsize(shape);
  std::vector<hsize_t> max_dims = to_hsize(max_shape);
  for (size_t i = 0; i < max_shape.size(); ++i) {
    if (max_shape[i] < 0) max_dims[i] = H5S_UNLIMITED;
  }
  Id space = shape.empty()
                 ? checked_id(file, H5Screate(H5S_SCALAR), "H5Screate", path)
                 : checked_id(file, H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data()),
                              "H5Screate_simple", path);
  const bool chunked_layout = chunked || options.compression_level > 0 || options.chunk_rows > 0;
  const Id properties = dataset_creation_properties(file, path, shape, max_shape, chunked_layout, options, sizeof(T));
  return checked_id(file,
                    H5Dcreate2(file.id(), path.c_str(), detail::file_type<T>(), space.get(), H5P_DEFAULT,
                               properties.get(), H5P_DEFAULT),
                    "H5Dcreate2", path);
}

// Selects rows [begin, begin + count) in the dataset's file space; returns {file space, memory space}.
std::pair<Id, Id> select_rows(const H5File& file, hid_t dataset, const std::string& path, int64_t begin,
                              int64_t count) {
  Id file_space = checked_id(file, H5Dget_space(dataset), "H5Dget_space", path);
  const std::vector<int64_t> shape = extents(file, file_space.get(), path);
  if (shape.empty()) file.fail("row access", path, "the dataset is a scalar");
  if (begin < 0 || count < 0 || begin + count > shape[0]) {
    file.fail("row access", path,
              fmt::format("rows [{}, {}) out of range: the dataset has {} rows (shape {})", begin, begin + count,
                          shape[0], shape_text(shape)));
  }
  std::vector<hsize_t> start(shape.size(), 0), block = to_hsize(shape);
  start[0] = static_cast<hsize_t>(begin);
  block[0] = static_cast<hsize_t>(count);
  check(file, H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr),
        "H5Sselect_hyperslab", path);
  Id memory_space = checked_id(file, H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr),
                               "H5Screate_simple", path);
  return {std::move(file_space), std::move(memory_space)};
}

// A storage layout no HDF5 library writes, checked before any read: libhdf5 1.10 trusts a file's layout message, and
// a chunk larger than a fixed dimension (the fuzz of docs/testing.md found one: chunk [2, 1, 177, 8] of a
// [5, 1, 8, 8] dataset) made H5Dread copy past its own buffer (AddressSanitizer, tools/sanitize.sh). H5Dcreate
// refuses such chunks ("chunk size must be <= maximum dimension size for fixed-sized dimensions"), so a file that
// has one was damaged after it was written. Likewise a compact dataset must hold all its elements.
void require_sane_layout(const H5File& file, hid_t dataset, hid_t space, const std::string& path) {
  const Id plist = checked_id(file, H5Dget_create_plist(dataset), "H5Dget_create_plist", path);
  const H5D_layout_t layout = H5Pget_layout(plist.get());
  std::vector<int64_t> max_shape;  // -1: unlimited
  const std::vector<int64_t> shape = extents(file, space, path, &max_shape);
  if (layout == H5D_CHUNKED) {
    const int rank = static_cast<int>(shape.size());
    std::vector<hsize_t> chunk(shape.size());
    if (H5Pget_chunk(plist.get(), rank, chunk.data()) != rank) file.fail("read", path, "unreadable chunk layout");
    for (size_t d = 0; d < chunk.size(); ++d) {
      if (chunk[d] == 0 || (max_shape[d] >= 0 && chunk[d] > static_cast<hsize_t>(max_shape[d]))) {
        file.fail("read", path,
                  fmt::format("its chunk shape {} does not fit its shape {}, which HDF5 never writes: the file "
                              "was damaged after it was written",
                              shape_text({chunk.begin(), chunk.end()}), shape_text(shape)));
      }
    }
  } else if (layout == H5D_COMPACT) {
    const Id type = checked_id(file, H5Dget_type(dataset), "H5Dget_type", path);
    const hssize_t points = H5Sget_simple_extent_npoints(space);
    const uint64_t needed = static_cast<uint64_t>(points < 0 ? 0 : points) * H5Tget_size(type.get());
    if (H5Dget_storage_size(dataset) < needed) {
      file.fail("read", path,
                fmt::format("its compact storage holds {} bytes, its shape needs {}: the file was damaged after "
                            "it was written",
                            H5Dget_storage_size(dataset), needed));
    }
  }
}

void require_readable_numbers(const H5File& file, hid_t dataset, const std::string& path) {
  const Id type = checked_id(file, H5Dget_type(dataset), "H5Dget_type", path);
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    std::string name;
    detail::classify(type.get(), &name);
    file.fail("read", path, fmt::format("stored as {}, expected numbers", name));
  }
  const Id space = checked_id(file, H5Dget_space(dataset), "H5Dget_space", path);
  require_sane_layout(file, dataset, space.get(), path);
}

}  // namespace

DatasetInfo H5File::dataset_info(const std::string& dataset_path) const {
  const Id dataset = open_dataset(*this, dataset_path);
  const Id space = checked_id(*this, H5Dget_space(dataset.get()), "H5Dget_space", dataset_path);
  const Id type = checked_id(*this, H5Dget_type(dataset.get()), "H5Dget_type", dataset_path);
  DatasetInfo info;
  std::vector<int64_t> max_shape;
  info.shape = extents(*this, space.get(), dataset_path, &max_shape);
  info.extendable = !max_shape.empty() && max_shape[0] < 0;
  info.type = detail::classify(type.get(), &info.type_name);
  return info;
}

template <class T>
void H5File::write(const std::string& dataset_path, const std::vector<int64_t>& shape, const T* data,
                   const DatasetOptions& options) {
  const Id dataset = create_dataset<T>(*this, dataset_path, shape, shape, false, options);
  const int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  if (n == 0) return;
  check(*this, H5Dwrite(dataset.get(), detail::memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite",
        dataset_path);
}

template <class T>
std::vector<T> H5File::read(const std::string& dataset_path) const {
  const Id dataset = open_dataset(*this, dataset_path);
  require_readable_numbers(*this, dataset.get(), dataset_path);
  const Id space = checked_id(*this, H5Dget_space(dataset.get()), "H5Dget_space", dataset_path);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  check(*this, n, "H5Sget_simple_extent_npoints", dataset_path);
  std::vector<T> values(static_cast<size_t>(n));
  if (n > 0) {
    check(*this, H5Dread(dataset.get(), detail::memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          "H5Dread", dataset_path);
  }
  return values;
}

template <class T>
void H5File::read_rows(const std::string& dataset_path, int64_t begin, int64_t end, T* out) const {
  const Id dataset = open_dataset(*this, dataset_path);
  require_readable_numbers(*this, dataset.get(), dataset_path);
  const auto [file_space, memory_space] = select_rows(*this, dataset.get(), dataset_path, begin, end - begin);
  if (end == begin) return;
  check(*this, H5Dread(dataset.get(), detail::memory_type<T>(), memory_space.get(), file_space.get(), H5P_DEFAULT, out),
        "H5Dread", dataset_path);
}

template <class T>
void H5File::write_rows(const std::string& dataset_path, int64_t begin, int64_t num_rows, const T* data) {
  if (!writable_) fail("write_rows", dataset_path, "the file is open read-only");
  const Id dataset = open_dataset(*this, dataset_path);
  const auto [file_space, memory_space] = select_rows(*this, dataset.get(), dataset_path, begin, num_rows);
  if (num_rows == 0) return;
  check(*this,
        H5Dwrite(dataset.get(), detail::memory_type<T>(), memory_space.get(), file_space.get(), H5P_DEFAULT, data),
        "H5Dwrite", dataset_path);
}

template <class T>
void H5File::create_extendable(const std::string& dataset_path, const std::vector<int64_t>& row_shape,
                               const DatasetOptions& options) {
  std::vector<int64_t> shape = {0};
  shape.insert(shape.end(), row_shape.begin(), row_shape.end());
  std::vector<int64_t> max_shape = shape;
  max_shape[0] = -1;
  create_dataset<T>(*this, dataset_path, shape, max_shape, true, options);
}

template <class T>
void H5File::append_rows(const std::string& dataset_path, int64_t num_rows, const T* data) {
  if (!writable_) fail("append_rows", dataset_path, "the file is open read-only");
  if (num_rows < 0) fail("append_rows", dataset_path, fmt::format("negative row count {}", num_rows));
  const Id dataset = open_dataset(*this, dataset_path);
  std::vector<int64_t> shape;
  {
    const Id space = checked_id(*this, H5Dget_space(dataset.get()), "H5Dget_space", dataset_path);
    shape = extents(*this, space.get(), dataset_path);
  }
  if (shape.empty()) fail("append_rows", dataset_path, "the dataset is a scalar");
  const int64_t begin = shape[0];
  shape[0] += num_rows;
  const std::vector<hsize_t> new_dims = to_hsize(shape);
  check(*this, H5Dset_extent(dataset.get(), new_dims.data()), "H5Dset_extent", dataset_path);
  const auto [file_space, memory_space] = select_rows(*this, dataset.get(), dataset_path, begin, num_rows);
  if (num_rows == 0) return;
  check(*this,
        H5Dwrite(dataset.get(), detail::memory_type<T>(), memory_space.get(), file_space.get(), H5P_DEFAULT, data),
        "H5Dwrite", dataset_path);
}

#define SWITCHDIFF_INSTANTIATE_H5_DATASET(T)                                                                          \
  template void H5File::write<T>(const std::string&, const std::vector<int64_t>&, const T*, const DatasetOptions&);   \
  template std::vector<T> H5File::read<T>(const std::string&) const;                                                  \
  template void H5File::read_rows<T>(const std::string&, int64_t, int64_t, T*) const;                                 \
  template void H5File::write_rows<T>(const std::string&, int64_t, int64_t, const T*);                                \
  template void H5File::create_extendable<T>(const std::string&, const std::vector<int64_t>&, const DatasetOptions&); \
  template void H5File::append_rows<T>(const std::string&, int64_t, const T*);

SWITCHDIFF_INSTANTIATE_H5_DATASET(uint8_t)
SWITCHDIFF_INSTANTIATE_H5_DATASET(int32_t)
SWITCHDIFF_INSTANTIATE_H5_DATASET(int64_t)
SWITCHDIFF_INSTANTIATE_H5_DATASET(float)
SWITCHDIFF_INSTANTIATE_H5_DATASET(double)
#undef SWITCHDIFF_INSTANTIATE_H5_DATASET

}  // namespace switchdiff::io
