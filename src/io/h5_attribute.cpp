// H5File attributes (io/h5_file.h): scalar strings (variable-length UTF-8) and numbers.
#include <algorithm>

#include "core/error.h"
#include "io/h5_detail.h"
#include "io/h5_file.h"

namespace switchdiff::io {
namespace {

using detail::check;
using detail::checked_id;
using detail::Id;

Id open_object(const H5File& file, const std::string& object_path) {
  if (!file.exists(object_path)) file.fail("attribute access", object_path, "no such group or dataset");
  return checked_id(file, H5Oopen(file.id(), object_path.c_str(), H5P_DEFAULT), "H5Oopen", object_path);
}

std::string attribute_where(const std::string& name) { return "attribute '" + name + "'"; }

// Opens an existing scalar attribute; absent or non-scalar attributes fail with their name.
Id open_attribute(const H5File& file, const std::string& object_path, const std::string& name) {
  if (!file.has_attribute(object_path, name)) {
    file.fail("read " + attribute_where(name), object_path, "no such attribute");
  }
  Id attribute =
      checked_id(file, H5Aopen_by_name(file.id(), object_path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                 "H5Aopen_by_name", object_path);
  const Id space = checked_id(file, H5Aget_space(attribute.get()), "H5Aget_space", object_path);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) {
    file.fail("read " + attribute_where(name), object_path, "expected a single value, found an array");
  }
  return attribute;
}

// Replaces any attribute of that name, then writes one scalar value of `type`.
void write_scalar(H5File& file, const std::string& object_path, const std::string& name, hid_t type,
                  const void* value) {
  if (!file.writable()) file.fail("write " + attribute_where(name), object_path, "the file is open read-only");
  if (!file.exists(object_path)) file.create_group(object_path);
  if (file.has_attribute(object_path, name)) {
    check(file, H5Adelete_by_name(file.id(), object_path.c_str(), name.c_str(), H5P_DEFAULT), "H5Adelete_by_name",
          object_path);
  }
  const Id space = checked_id(file, H5Screate(H5S_SCALAR), "H5Screate", object_path);
  const Id attribute = checked_id(file,
                                  H5Acreate_by_name(file.id(), object_path.c_str(), name.c_str(), type, space.get(),
                                                    H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                  "H5Acreate_by_name", object_path);
  check(file, H5Awrite(attribute.get(), type, value), "H5Awrite", object_path);
}

}  // namespace

void H5File::set_string_attribute(const std::string& object_path, const std::string& name, const std::string& value) {
  const Id type = checked_id(*this, H5Tcopy(H5T_C_S1), "H5Tcopy", object_path);
  check(*this, H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size", object_path);
  check(*this, H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset", object_path);
  const char* text = value.c_str();
  write_scalar(*this, object_path, name, type.get(), &text);
}

void H5File::set_double_attribute(const std::string& object_path, const std::string& name, double value) {
  write_scalar(*this, object_path, name, H5T_NATIVE_DOUBLE, &value);
}

void H5File::set_int_attribute(const std::string& object_path, const std::string& name, int64_t value) {
  write_scalar(*this, object_path, name, H5T_NATIVE_INT64, &value);
}

bool H5File::has_attribute(const std::string& object_path, const std::string& name) const {
  if (!exists(object_path)) return false;
  const htri_t found = H5Aexists_by_name(file_id_, object_path.c_str(), name.c_str(), H5P_DEFAULT);
  check(*this, found, "H5Aexists_by_name", object_path);
  return found > 0;
}

std::vector<std::string> H5File::attribute_names(const std::string& object_path) const {
  const Id object = open_object(*this, object_path);
  std::vector<std::string> names;
  auto visit = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  check(*this, H5Aiterate2(object.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, visit, &names), "H5Aiterate2",
        object_path);
  std::sort(names.begin(), names.end());
  return names;
}

std::string H5File::string_attribute(const std::string& object_path, const std::string& name) const {
  const Id attribute = open_attribute(*this, object_path, name);
  const Id stored = checked_id(*this, H5Aget_type(attribute.get()), "H5Aget_type", object_path);
  if (H5Tget_class(stored.get()) != H5T_STRING) {
    std::string type_name;
    detail::classify(stored.get(), &type_name);
    fail("read " + attribute_where(name), object_path, fmt::format("stored as {}, expected a string", type_name));
  }
  const Id memory = checked_id(*this, H5Tcopy(H5T_C_S1), "H5Tcopy", object_path);
  check(*this, H5Tset_cset(memory.get(), H5Tget_cset(stored.get())), "H5Tset_cset", object_path);
  const htri_t variable = H5Tis_variable_str(stored.get());
  check(*this, variable, "H5Tis_variable_str", object_path);
  if (variable > 0) {
    check(*this, H5Tset_size(memory.get(), H5T_VARIABLE), "H5Tset_size", object_path);
    char* text = nullptr;
    check(*this, H5Aread(attribute.get(), memory.get(), &text), "H5Aread", object_path);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  // Fixed length (numpy bytes written by h5py): padded with NULs or spaces.
  const size_t size = H5Tget_size(stored.get());
  check(*this, H5Tset_size(memory.get(), size + 1), "H5Tset_size", object_path);  // room for the terminator
  std::string buffer(size + 1, '\0');
  check(*this, H5Aread(attribute.get(), memory.get(), buffer.data()), "H5Aread", object_path);
  buffer.resize(buffer.find('\0') == std::string::npos ? buffer.size() : buffer.find('\0'));
  if (H5Tget_strpad(stored.get()) == H5T_STR_SPACEPAD) {
    while (!buffer.empty() && buffer.back() == ' ') buffer.pop_back();
  }
  return buffer;
}

double H5File::double_attribute(const std::string& object_path, const std::string& name) const {
  const Id attribute = open_attribute(*this, object_path, name);
  const Id stored = checked_id(*this, H5Aget_type(attribute.get()), "H5Aget_type", object_path);
  const H5T_class_t type_class = H5Tget_class(stored.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    std::string type_name;
    detail::classify(stored.get(), &type_name);
    fail("read " + attribute_where(name), object_path, fmt::format("stored as {}, expected a number", type_name));
  }
  double value = 0;
  check(*this, H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value), "H5Aread", object_path);
  return value;
}

int64_t H5File::int_attribute(const std::string& object_path, const std::string& name) const {
  const Id attribute = open_attribute(*this, object_path, name);
  const Id stored = checked_id(*this, H5Aget_type(attribute.get()), "H5Aget_type", object_path);
  if (H5Tget_class(stored.get()) != H5T_INTEGER) {
    std::string type_name;
    detail::classify(stored.get(), &type_name);
    fail("read " + attribute_where(name), object_path, fmt::format("stored as {}, expected an integer", type_name));
  }
  int64_t value = 0;
  check(*this, H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), "H5Aread", object_path);
  return value;
}

}  // namespace switchdiff::io
