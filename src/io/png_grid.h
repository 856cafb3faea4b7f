#pragma once
// A PNG contact sheet of uint8 NCHW images (quick looks at samples). Grayscale for C = 1, RGB for C = 3.
#include <cstdint>
#include <string>
#include <vector>

namespace switchdiff::io {

// Checks a PNG destination before any work: ConfigError (exit 1) when `path` exists (results are never
// overwritten), when its folder does not exist or is not a folder, or when the folder is not writable.
void check_png_destination(const std::string& path, const std::string& option = "--png");

// Lays out `count` images in a near-square grid with a 2-pixel gap. `path` must not exist and its folder must
// (check_png_destination); IoError if the file cannot be written.
void write_png_grid(const std::string& path, const std::vector<uint8_t>& images, int64_t count, int64_t channels,
                    int64_t height, int64_t width);

}  // namespace switchdiff::io
