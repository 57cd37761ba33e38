#include "gridwatch/domain/clip.h"

#include <array>

namespace gridwatch {

namespace {
constexpr std::array<ClipMedia, 3> kClips = {{
    {"mp4", ".mp4", "h264", "video/mp4", true},
    {"webm", ".webm", "vp8", "video/webm", true},
    {"mjpeg", ".avi", "mjpeg", "video/x-msvideo", false},
}};
}  // namespace

std::span<const ClipMedia> clip_media() { return kClips; }

const ClipMedia* clip_media_of(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  for (const ClipMedia& c : kClips)
    if (c.extension == ext) return &c;
  return nullptr;
}

const ClipMedia* clip_media_named(std::string_view format) {
  for (const ClipMedia& c : kClips)
    if (c.format == format) return &c;
  return nullptr;
}

}  // namespace gridwatch
