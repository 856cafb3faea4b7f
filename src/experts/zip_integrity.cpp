#include "experts/zip_integrity.h"

#include <zip.h>

#include <memory>
#include <vector>

#include "core/error.h"

namespace switchdiff::experts {
namespace {

std::string libzip_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

// Reads one entry to its end; "" when its bytes match the recorded size and CRC-32, else the reason.
std::string check_entry(zip_t* archive, zip_uint64_t index, std::vector<char>& buffer) {
  zip_file_t* entry = zip_fopen_index(archive, index, 0);
  if (!entry) return zip_strerror(archive);
  std::string failure;
  while (true) {
    const zip_int64_t n = zip_fread(entry, buffer.data(), buffer.size());
    if (n < 0) failure = zip_file_strerror(entry);
    if (n <= 0) break;
  }
  // zip_fclose reports a CRC mismatch once the entry was read to its end.
  const int close_code = zip_fclose(entry);
  if (failure.empty() && close_code != 0) failure = libzip_text(close_code);
  return failure;
}

}  // namespace

void check_zip_integrity(const std::string& path, const std::string& what) {
  const std::string fix = "the file is damaged (a bad copy or download?): copy or export it again";
  int code = 0;
  zip_t* opened = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (!opened) {
    throw make_error<InputError>(
        "{}: {} file is not a readable TorchScript file: not a consistent zip archive ({}); a truncated or damaged "
        "copy, or not exported with torch.jit.save: copy or export it again",
        path, what, libzip_text(code));
  }
  const std::unique_ptr<zip_t, int (*)(zip_t*)> archive(opened, zip_close);
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  std::vector<char> buffer(1 << 20);
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    const std::string failure = check_entry(archive.get(), index, buffer);
    if (!failure.empty()) {
      const char* name = zip_get_name(archive.get(), index, ZIP_FL_ENC_RAW);
      throw make_error<InputError>("{}: {} file is damaged: entry {} fails its check ({}); {}", path, what,
                                   name ? name : std::to_string(i), failure, fix);
    }
  }
}

}  // namespace switchdiff::experts
