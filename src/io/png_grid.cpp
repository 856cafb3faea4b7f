#include "io/png_grid.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace switchdiff::io {

void check_png_destination(const std::string& path, const std::string& option) {
  if (path.empty()) throw make_error<ConfigError>("{}: empty path; give a file name such as grid.png", option);
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    throw make_error<ConfigError>(
        "{} {}: the file already exists and results are never overwritten; choose another path or delete it", option,
        path);
  }
  if (!std::filesystem::exists(folder, error)) {
    throw make_error<ConfigError>(
        "{} {}: the folder {} does not exist; create it first (mkdir -p {}) or choose "
        "another path",
        option, path, folder.string(), folder.string());
  }
  if (!std::filesystem::is_directory(folder, error)) {
    throw make_error<ConfigError>("{} {}: {} is not a folder; choose another path", option, path, folder.string());
  }
  if (::access(folder.c_str(), W_OK) != 0) {
    throw make_error<ConfigError>("{} {}: the folder {} is not writable ({}); choose another path", option, path,
                                  folder.string(), std::strerror(errno));
  }
}

void write_png_grid(const std::string& path, const std::vector<uint8_t>& images, int64_t count, int64_t channels,
                    int64_t height, int64_t width) {
  if (channels != 1 && channels != 3) {
    throw make_error<InputError>("{}: PNG grids need 1 or 3 channels, images have {}", path, channels);
  }
  const int64_t columns = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(count)))));
  const int64_t rows = (count + columns - 1) / columns;
  constexpr int64_t kGap = 2;
  const int64_t grid_w = columns * (width + kGap) + kGap;
  const int64_t grid_h = rows * (height + kGap) + kGap;
  std::vector<uint8_t> grid(static_cast<size_t>(grid_w * grid_h * channels), 0);
  for (int64_t n = 0; n < count; ++n) {
    const int64_t x0 = kGap + (n % columns) * (width + kGap);
    const int64_t y0 = kGap + (n / columns) * (height + kGap);
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t y = 0; y < height; ++y) {
        for (int64_t x = 0; x < width; ++x) {
          // NCHW source -> interleaved HWC destination
          grid[static_cast<size_t>(((y0 + y) * grid_w + (x0 + x)) * channels + c)] =
              images[static_cast<size_t>(((n * channels + c) * height + y) * width + x)];
        }
      }
    }
  }
  check_png_destination(path, "PNG grid");  // never overwrites, never creates folders silently
  if (!stbi_write_png(path.c_str(), static_cast<int>(grid_w), static_cast<int>(grid_h), static_cast<int>(channels),
                      grid.data(), static_cast<int>(grid_w * channels))) {
    throw make_error<IoError>("{}: cannot write the PNG grid; check that the folder is writable", path);
  }
}

}  // namespace switchdiff::io
