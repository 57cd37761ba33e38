// Evidence clips as orders name them: the container a clip file's extension says, the codec an
// order reports (evidence.clip.codec) and the media type it is served with. One table for the
// edge (vision writes the clips) and the center (serves them). Thread-safe: constant data.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>

namespace gridwatch {

struct ClipMedia {
  std::string_view format;     // "mp4", "webm", "mjpeg" (the camera's evidence.clip_format)
  std::string_view extension;  // ".mp4", ".webm", ".avi"
  std::string_view codec;      // "h264", "vp8", "mjpeg"
  std::string_view mime;       // "video/mp4", "video/webm", "video/x-msvideo"
  bool plays_in_browsers;      // MP4 (H.264) and WebM (VP8) do; a Motion-JPEG AVI does not
};

// The known clip kinds, most playable first: mp4, webm, mjpeg.
std::span<const ClipMedia> clip_media();
// The kind of a clip file by its extension, or nullptr for any other file.
const ClipMedia* clip_media_of(const std::filesystem::path& file);
// The kind named by a format ("mp4", "webm", "mjpeg"), or nullptr.
const ClipMedia* clip_media_named(std::string_view format);

}  // namespace gridwatch
