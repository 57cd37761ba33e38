// gridwatch rtsp serve: a recorded clip served as a camera serves it, H.264 over RTSP.
//
// The clip is encoded once into H.264 (x264, no B-frames, a key frame every second, SPS/PPS with
// each) in a Matroska file kept in a cache folder; each RTSP client then gets that file demuxed
// and packetised in real time (GStreamer's RTSP server; each frame leaves at its time, as a live
// camera sends, not the file's first seconds in one burst), over TCP (interleaved) or UDP as the
// client asks. No encoding happens while serving, so the server costs little beside the cameras
// it feeds. Used by the tests and benchmarks of RTSP cameras and by the demo; useful to try an
// agent's camera configuration on a recording.
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <glib-unix.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "commands.h"

namespace gridwatch::app {
namespace {

namespace fs = std::filesystem;

fs::path default_cache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "gridwatch" / "rtsp";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "gridwatch" / "rtsp";
  return fs::temp_directory_path() / fmt::format("gridwatch-rtsp-{}", getuid());
}

// The cache file's name: what it was made from and how.
std::string cache_name(const RtspServeOptions& o, const fs::path& clip) {
  std::error_code ec;
  const auto bytes = fs::file_size(clip, ec);
  const auto mtime = fs::last_write_time(clip, ec).time_since_epoch().count();
  const std::string what = fmt::format("{}|{}|{}|{}x{}|{}|{}|{}|{}", fs::absolute(clip).string(), bytes, mtime,
                                       o.width, o.height, o.fps, o.start_s, o.frames, o.bitrate_kbps);
  return fmt::format("{:016x}.mkv", std::hash<std::string>{}(what));
}

// Encodes the clip (from start_s, at most `frames` frames, resized and at o.fps) into H.264 in
// Matroska, written under a temporary name and renamed when complete. Returns an error message.
std::string encode(const RtspServeOptions& o, const fs::path& clip, const fs::path& out) {
  cv::VideoCapture in(clip.string(), cv::CAP_FFMPEG);
  if (!in.isOpened()) return fmt::format("{}: cannot be decoded (not a video, or an unsupported codec)", clip.string());
  const double src_fps = in.get(cv::CAP_PROP_FPS) > 0 ? in.get(cv::CAP_PROP_FPS) : 25;
  const double fps = o.fps > 0 ? o.fps : src_fps;
  cv::Size size{o.width, o.height};
  if (size.width <= 0) size = {static_cast<int>(in.get(cv::CAP_PROP_FRAME_WIDTH)),
                               static_cast<int>(in.get(cv::CAP_PROP_FRAME_HEIGHT))};
  size.width &= ~1;  // x264 wants even sizes
  size.height &= ~1;
  const fs::path tmp = out.string() + fmt::format(".{}.tmp", getpid());
  const int gop = std::max(1, static_cast<int>(fps + 0.5));
  const std::string pipeline = fmt::format(
      "appsrc ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=veryfast tune=zerolatency "
      "key-int-max={} bitrate={} ! video/x-h264,profile=constrained-baseline ! h264parse ! matroskamux ! "
      "filesink location=\"{}\"",
      gop, o.bitrate_kbps, tmp.string());
  cv::VideoWriter w(pipeline, cv::CAP_GSTREAMER, 0, fps, size, true);
  if (!w.isOpened())
    return "cannot start the H.264 encoder (GStreamer with x264enc, h264parse and matroskamux: Debian "
           "gstreamer1.0-plugins-ugly, -bad and -good)";
  cv::Mat f, sized;
  const int skip = static_cast<int>(o.start_s * src_fps);
  for (int i = 0; i < skip && in.read(f); ++i) {
  }
  // Source frames repeated or dropped to reach `fps`: frame k of the output shows the source
  // frame at the same time.
  int64_t written = 0, read = 0;
  for (bool more = true; o.frames <= 0 || written < o.frames;) {
    const double t = static_cast<double>(written) / fps;
    while (more && static_cast<double>(read) <= std::floor(t * src_fps + 1e-9)) {
      more = in.read(f) && !f.empty();
      read += more ? 1 : 0;
    }
    if (!more) break;
    cv::resize(f, sized, size);
    w.write(sized);
    ++written;
  }
  w.release();
  std::error_code ec;
  if (written == 0) {
    fs::remove(tmp, ec);
    return fmt::format("{}: no frame to serve (start {} s)", clip.string(), o.start_s);
  }
  // Only a whole encoding goes into the cache (it is served from there until the clip changes).
  if (cv::VideoCapture check(tmp.string(), cv::CAP_FFMPEG); !check.isOpened() || fs::file_size(tmp, ec) == 0) {
    fs::remove(tmp, ec);
    return fmt::format("{}: the encoded clip cannot be read back", tmp.string());
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return fmt::format("{}: {}", out.string(), ec.message());
  }
  fmt::print("encoded {} frames of {} at {}x{}, {} fps into {}\n", written, clip.string(), size.width, size.height,
             fps, out.string());
  return "";
}

// Says which transport each client set up (the tests check that a camera uses the one it was
// configured with).
void on_setup(GstRTSPClient*, GstRTSPContext* ctx, gpointer) {
  gchar* transport = nullptr;
  if (ctx->request &&
      gst_rtsp_message_get_header(ctx->request, GST_RTSP_HDR_TRANSPORT, &transport, 0) == GST_RTSP_OK && transport) {
    const std::string t(transport);
    fmt::print("setup {} ({})\n", t.find("RTP/AVP/TCP") != std::string::npos ? "tcp" : "udp", t);
    std::fflush(stdout);
  }
}

void on_client(GstRTSPServer*, GstRTSPClient* client, gpointer) {
  g_signal_connect(client, "setup-request", G_CALLBACK(on_setup), nullptr);
}

gboolean on_stop_signal(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_REMOVE;
}

}  // namespace

int run_rtsp_serve(const RtspServeOptions& o) {
  const fs::path clip = o.clip;
  if (!fs::exists(clip)) {
    fmt::print(stderr, "error: --clip {}: no such file\n", clip.string());
    return kExitUsage;
  }
  const fs::path cache = o.cache.empty() ? default_cache() : o.cache;
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) {
    fmt::print(stderr, "error: --cache {}: {}\n", cache.string(), ec.message());
    return kExitFailure;
  }
  gst_init(nullptr, nullptr);
  const fs::path encoded = cache / cache_name(o, clip);
  if (!fs::exists(encoded)) {
    if (std::string err = encode(o, clip, encoded); !err.empty()) {
      fmt::print(stderr, "error: {}\n", err);
      return kExitFailure;
    }
  }
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, o.address.c_str());
  gst_rtsp_server_set_service(server, std::to_string(o.port).c_str());
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  const std::string launch = fmt::format(
      "( filesrc location=\"{}\" ! matroskademux ! h264parse config-interval=-1 ! identity sync=true ! "
      "rtph264pay name=pay0 pt=96 )",
      encoded.string());
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  // One pipeline a client, each from the clip's start. (A shared one, as a camera's single
  // encoder, breaks off a few hundred milliseconds in when several clients read this file-fed
  // pipeline: not offered.)
  gst_rtsp_media_factory_set_shared(factory, FALSE);
  gst_rtsp_mount_points_add_factory(mounts, o.path.c_str(), factory);
  g_object_unref(mounts);
  g_signal_connect(server, "client-connected", G_CALLBACK(on_client), nullptr);
  if (gst_rtsp_server_attach(server, nullptr) == 0) {
    fmt::print(stderr, "error: cannot listen on {}:{} (in use?)\n", o.address, o.port);
    g_object_unref(server);
    return kExitFailure;
  }
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  g_unix_signal_add(SIGINT, on_stop_signal, loop);
  g_unix_signal_add(SIGTERM, on_stop_signal, loop);
  fmt::print("serving rtsp://{}:{}{}\n", o.address, gst_rtsp_server_get_bound_port(server), o.path);
  std::fflush(stdout);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  g_object_unref(server);
  fmt::print("stopped\n");
  return kExitOk;
}

}  // namespace gridwatch::app
