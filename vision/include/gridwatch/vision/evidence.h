// Evidence that leaves the box: a snapshot fitted to the size an order may carry.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "gridwatch/domain/error.h"

namespace gridwatch::vision {

struct FittedJpeg {
  std::vector<unsigned char> bytes;
  int width = 0, height = 0;
  int quality = 0;  // 0: the file as it was
};

// The JPEG in `file`, as it is when it fits in `max_bytes`; else re-encoded at lower quality
// (70, 55, 40), then scaled down by 3/4 steps (not below 160 pixels wide) until it fits.
// kNotFound / kParse for a missing or undecodable file, kTooLarge when even the smallest does not fit.
[[nodiscard]] Result<FittedJpeg> fit_jpeg(const std::filesystem::path& file, size_t max_bytes);

}  // namespace gridwatch::vision
