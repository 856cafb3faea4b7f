// H5File: files, groups, errors (io/h5_file.h). Datasets: io/h5_dataset.cpp; attributes: io/h5_attribute.cpp.
#include "io/h5_file.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <utility>

#include "core/error.h"
#include "io/h5_detail.h"

namespace switchdiff::io {
namespace detail {

void silence_hdf5_errors() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

std::string take_hdf5_error_message() {
  std::string innermost;
  auto visit = [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
    if (error->desc && *error->desc) *static_cast<std::string*>(data) = error->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, visit, &innermost);
  H5Eclear2(H5E_DEFAULT);
  return innermost;
}

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    other.id_ = -1;
  }
  return *this;
}

void Id::reset() {
  if (id_ >= 0) H5Idec_ref(id_);  // closes the object when the last reference goes, whatever its kind
  id_ = -1;
}

hid_t check(const H5File& file, hid_t result, const char* call, const std::string& object_path) {
  if (result < 0) file.fail(call, object_path);
  return result;
}

std::string parent_path(const std::string& object_path) {
  const size_t slash = object_path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : object_path.substr(0, slash);
}

}  // namespace detail

namespace {

using detail::check;

// Hints for the failures users meet most: locks on network file systems, files still being written.
std::string hint_for(const std::string& hdf5_message) {
  if (hdf5_message.find("unable to lock") != std::string::npos) {  // not "lock" alone: "sblock" is in truncation errors
    // Never advise turning HDF5's file locking off: two writers of one file then corrupt it.
    return "; another program (or another switchdiff run) holds the file open: wait for it to finish, or use "
           "another output path";
  }
  return "";
}

// The system's reason inside an HDF5 driver message ("..., errno = 28, error message = 'No space left on
// device', ..."), so a full disk or an I/O error reads as such; "" when the message has none.
std::string system_reason(const std::string& hdf5_message) {
  const std::string key = "error message = '";
  const size_t start = hdf5_message.find(key);
  if (start == std::string::npos) return "";
  const size_t end = hdf5_message.find('\'', start + key.size());
  return hdf5_message.substr(start + key.size(),
                             end == std::string::npos ? std::string::npos : end - start - key.size());
}

// "(HDF5: <message>)", the system's reason first when there is one (the driver message is long: offsets, sizes).
std::string describe_hdf5(const std::string& hdf5_message) {
  if (hdf5_message.empty()) return "";
  const std::string reason = system_reason(hdf5_message);
  if (!reason.empty()) {
    const size_t colon = hdf5_message.find(':');
    return fmt::format(": {} (HDF5: {})", reason, hdf5_message.substr(0, colon));
  }
  return fmt::format(" (HDF5: {})", hdf5_message);
}

}  // namespace

const char* element_type_name(ElementType type) {
  switch (type) {
    case ElementType::kUInt8:
      return "uint8";
    case ElementType::kInt32:
      return "int32";
    case ElementType::kInt64:
      return "int64";
    case ElementType::kFloat32:
      return "float32";
    case ElementType::kFloat64:
      return "float64";
    case ElementType::kOther:
      break;
  }
  return "other";
}

int64_t DatasetInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t extent : shape) n *= extent;
  return n;
}

H5File::H5File(int64_t file_id, std::string path, FileRole role, bool writable)
    : file_id_(file_id), path_(std::move(path)), role_(role), writable_(writable) {}

H5File::H5File(H5File&& other) noexcept
    : file_id_(std::exchange(other.file_id_, -1)),
      path_(std::move(other.path_)),
      role_(other.role_),
      writable_(other.writable_) {}

H5File& H5File::operator=(H5File&& other) noexcept {
  if (this != &other) {
    if (file_id_ >= 0) H5Fclose(file_id_);
    file_id_ = std::exchange(other.file_id_, -1);
    path_ = std::move(other.path_);
    role_ = other.role_;
    writable_ = other.writable_;
  }
  return *this;
}

H5File::~H5File() {
  if (file_id_ >= 0) H5Fclose(file_id_);
}

void H5File::fail(const std::string& call, const std::string& object_path, const std::string& detail) const {
  const std::string hdf5 = detail::take_hdf5_error_message();
  const std::string where = object_path.empty() || object_path == "/" ? path_ : path_ + ":" + object_path;
  std::string message = fmt::format("{}: {} failed", where, call);
  if (!detail.empty()) message += ": " + detail;
  message += describe_hdf5(hdf5);
  message += hint_for(hdf5);
  if (role_ == FileRole::kInput) {
    throw InputError(message + "; the file may be corrupt, truncated or not what was expected");
  }
  throw IoError(message);
}

H5File H5File::open_input(const std::string& path) {
  detail::silence_hdf5_errors();
  if (!std::filesystem::exists(path)) throw make_error<InputError>("{}: no such file", path);
  if (std::filesystem::is_directory(path)) throw make_error<InputError>("{}: is a folder, expected an HDF5 file", path);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    const std::string hdf5 = detail::take_hdf5_error_message();
    throw make_error<InputError>("{}: cannot open as HDF5 (HDF5: {}){}; is it an HDF5 file, complete and readable?",
                                 path, hdf5, hint_for(hdf5));
  }
  return H5File(id, path, FileRole::kInput, false);
}

H5File H5File::open(const std::string& path, bool writable) {
  detail::silence_hdf5_errors();
  if (!std::filesystem::exists(path)) throw make_error<IoError>("{}: no such file", path);
  const hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    const std::string hdf5 = detail::take_hdf5_error_message();
    throw make_error<IoError>("{}: H5Fopen ({}) failed (HDF5: {}){}", path, writable ? "read-write" : "read-only", hdf5,
                              hint_for(hdf5));
  }
  return H5File(id, path, FileRole::kOutput, writable);
}

H5File H5File::create(const std::string& path, bool overwrite) {
  detail::silence_hdf5_errors();
  if (!overwrite && std::filesystem::exists(path)) {
    throw make_error<ConfigError>(
        "{} already exists; refusing to overwrite it (choose another output path or "
        "delete the file)",
        path);
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ignored;
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);  // H5Fcreate reports real failures
  const hid_t id = H5Fcreate(path.c_str(), overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) {
    const std::string hdf5 = detail::take_hdf5_error_message();
    throw make_error<IoError>("{}: H5Fcreate failed{}{}; check that the folder is writable", path, describe_hdf5(hdf5),
                              hint_for(hdf5));
  }
  return H5File(id, path, FileRole::kOutput, true);
}

void H5File::flush() const { check(*this, H5Fflush(file_id_, H5F_SCOPE_LOCAL), "H5Fflush", "/"); }

void H5File::close() {
  if (file_id_ < 0) return;
  const hid_t id = std::exchange(file_id_, -1);
  if (H5Fclose(id) < 0) {
    file_id_ = -1;
    const std::string hdf5 = detail::take_hdf5_error_message();
    throw make_error<IoError>("{}: H5Fclose failed{}; the file may be incomplete", path_, describe_hdf5(hdf5));
  }
}

bool H5File::exists(const std::string& object_path) const {
  if (object_path == "/") return true;
  if (object_path.empty() || object_path[0] != '/') {
    throw make_error<IoError>("{}: object path {:?} must be absolute (start with /)", path_, object_path);
  }
  // H5Lexists fails (instead of returning false) when an intermediate group is missing: walk the path.
  size_t position = 1;
  while (true) {
    const size_t slash = object_path.find('/', position);
    const std::string prefix = object_path.substr(0, slash);
    const htri_t found = H5Lexists(file_id_, prefix.c_str(), H5P_DEFAULT);
    check(*this, found, "H5Lexists", prefix);
    if (found == 0) return false;
    if (slash == std::string::npos || slash + 1 == object_path.size()) break;
    position = slash + 1;
  }
  const htri_t resolves = H5Oexists_by_name(file_id_, object_path.c_str(), H5P_DEFAULT);  // e.g. dangling links
  check(*this, resolves, "H5Oexists_by_name", object_path);
  return resolves > 0;
}

namespace {
// H5Oopen + H5Iget_type instead of H5Oget_info*, whose signature changed between HDF5 1.8, 1.10 and 1.12 APIs.
H5I_type_t object_kind(const H5File& file, const std::string& object_path) {
  const detail::Id object =
      detail::checked_id(file, H5Oopen(file.id(), object_path.c_str(), H5P_DEFAULT), "H5Oopen", object_path);
  return H5Iget_type(object.get());
}
}  // namespace

bool H5File::is_group(const std::string& object_path) const {
  return exists(object_path) && object_kind(*this, object_path) == H5I_GROUP;
}

bool H5File::is_dataset(const std::string& object_path) const {
  return exists(object_path) && object_kind(*this, object_path) == H5I_DATASET;
}

void H5File::create_group(const std::string& group_path) {
  if (exists(group_path)) {
    if (!is_group(group_path)) fail("create_group", group_path, "a dataset of that name exists");
    return;
  }
  detail::Id properties = detail::checked_id(*this, H5Pcreate(H5P_LINK_CREATE), "H5Pcreate", group_path);
  check(*this, H5Pset_create_intermediate_group(properties.get(), 1), "H5Pset_create_intermediate_group", group_path);
  detail::checked_id(*this, H5Gcreate2(file_id_, group_path.c_str(), properties.get(), H5P_DEFAULT, H5P_DEFAULT),
                     "H5Gcreate2", group_path);
}

std::vector<std::string> H5File::children(const std::string& group_path) const {
  if (!is_group(group_path)) fail("children", group_path, "no such group");
  std::vector<std::string> names;
  auto visit = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  check(
      *this,
      H5Literate_by_name(file_id_, group_path.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr, visit, &names, H5P_DEFAULT),
      "H5Literate_by_name", group_path);
  std::sort(names.begin(), names.end());
  return names;
}

void skip_hdf5_exit_cleanup() noexcept { H5dont_atexit(); }

void H5File::remove(const std::string& object_path) {
  check(*this, H5Ldelete(file_id_, object_path.c_str(), H5P_DEFAULT), "H5Ldelete", object_path);
}

}  // namespace switchdiff::io
