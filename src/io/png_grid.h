#pragma once
// A PNG contact sheet of uint8 NCHW images (quick looks at samples). Grayscale for C = 1, RGB for C = 3.
#include <cstdint>
#include <string>
#include <vector>

namespace switchdiff::io {

// Lays out `count` images in a near-square grid with a 2-pixel gap; throws IoError if the file cannot be written.
void write_png_grid(const std::string& path, const std::vector<uint8_t>& images, int64_t count, int64_t channels,
                    int64_t height, int64_t width);

}  // namespace switchdiff::io
