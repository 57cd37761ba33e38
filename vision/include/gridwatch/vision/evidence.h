// Evidence that leaves the box: a snapshot fitted to the size an order may carry, and the format
// of the clips a browser plays.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/domain/clip.h"
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

// How evidence clips are written: the kind (container, codec, media type) and the OpenCV
// VideoWriter backend and FourCC that write it.
struct ClipFormat {
  const ClipMedia* media = nullptr;
  int api = 0;  // cv::CAP_FFMPEG, or cv::CAP_OPENCV_MJPEG (OpenCV's own writer)
  int fourcc = 0;
};

// The first format this machine can write, starting with `preferred` ("mp4", "webm" or "mjpeg")
// and going on in the order mp4 (H.264), webm (VP8), mjpeg, which needs no codec library and is
// always there. Each is tried once per process by writing a few frames to a temporary file; a
// fallback is logged once. Thread-safe.
const ClipFormat& clip_format(std::string_view preferred);

// The writer of a clip file, by its extension; nullptr for any other file.
const ClipFormat* clip_format_of(const std::filesystem::path& file);

}  // namespace gridwatch::vision
