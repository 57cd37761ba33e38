#include "gridwatch/agent/agent.h"

// Evidence leaving the box: the snapshot fitted into an order, clips sent on the center's
// request, and pruning the evidence folders by age and quota.


#include "gridwatch/domain/clip.h"
#include "gridwatch/domain/config.h"
#include "gridwatch/domain/version.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <httplib.h>
#include <opencv2/core/utility.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/platform/base64.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/vision/evidence.h"

namespace gridwatch::agent {

namespace {

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.size() <= 200 && name.find('/') == std::string::npos && name != "." && name != ".." &&
         name.find('\0') == std::string::npos;
}

}  // namespace

nlohmann::json Agent::outgoing_evidence(const nlohmann::json& evidence, OrderEventKind kind, const std::string& id) {
  nlohmann::json out = evidence.is_object() ? evidence : nlohmann::json::object();
  if (!out.contains("events") || !out["events"].is_array() || out["events"].empty()) return out;
  // Each zone event the rule cites carries the camera's own record (bbox, snapshot and clip files
  // on this box); the last one, the one that triggered the rule, gives the order its evidence.
  auto record = [](nlohmann::json& e) -> nlohmann::json* {
    if (!e.is_object()) return nullptr;
    if (e.contains("evidence") && e["evidence"].is_object()) return &e["evidence"];
    return &e;
  };
  if (nlohmann::json* z = record(out["events"].back())) {
    if (z->contains("bbox")) out["bbox"] = (*z)["bbox"];
    if (z->contains("snapshot") && (*z)["snapshot"].is_string() && kind != OrderEventKind::kClear &&
        config_.evidence.snapshot_max_bytes > 0) {
      auto jpeg = vision::fit_jpeg((*z)["snapshot"].get<std::string>(), config_.evidence.snapshot_max_bytes);
      if (jpeg) {
        out["snapshot_jpeg"] = platform::base64_encode(jpeg->bytes);
        out["snapshot_size"] = {jpeg->width, jpeg->height};
      } else {
        out["snapshot_omitted"] = jpeg.error().message;
        spdlog::warn("order {}: no snapshot: {}", id, jpeg.error().message);
      }
    }
    if (z->contains("clip") && (*z)["clip"].is_string()) {
      const std::filesystem::path clip = (*z)["clip"].get<std::string>();
      out["clip"] = {{"agent_id", config_.id}, {"name", clip.filename().string()}, {"camera", z->value("camera", "")}};
      // Which codec it is in: h264 (MP4) and vp8 (WebM) play in a browser, mjpeg (AVI, the
      // fallback where FFmpeg lacks both encoders) only in a player.
      if (const ClipMedia* media = clip_media_of(clip)) out["clip"]["codec"] = std::string(media->codec);
    }
  }
  // The box's paths mean nothing elsewhere: file names only.
  for (auto& e : out["events"])
    if (nlohmann::json* z = record(e))
      for (const char* k : {"snapshot", "clip"})
        if (z->contains(k) && (*z)[k].is_string())
          (*z)[k] = std::filesystem::path((*z)[k].get<std::string>()).filename().string();
  return out;
}

void Agent::serve_clip(const std::string& payload) {
  // {"request_id": "...", "clip": "NAME"} -> the file's bytes on .../clips/{request_id}, or
  // {"error": "..."} on .../clips/{request_id}/error.
  const nlohmann::json req = nlohmann::json::parse(payload, nullptr, false);
  if (!req.is_object() || !req.contains("request_id") || !req["request_id"].is_string() ||
      !is_valid_id(req["request_id"].get<std::string>(), 64)) {
    spdlog::warn("clip request refused: expected {{\"request_id\": ID, \"clip\": NAME}}");
    if (dead_letters_) dead_letters_->add(clips_topic_, "malformed clip request", payload);
    return;
  }
  const std::string rid = req["request_id"].get<std::string>();
  const std::string base = fmt::format("{}/agents/{}/clips/{}", config_.broker.topic_prefix, config_.id, rid);
  auto answer_error = [&](const std::string& why) {
    spdlog::warn("clip request {}: {}", rid, why);
    if (auto st = mqtt_->publish(base + "/error", nlohmann::json{{"error", why}}.dump(), 1, false); !st)
      spdlog::warn("clip request {}: {}", rid, st.error().message);
  };
  const std::string name = req.value("clip", "");
  if (!is_plain_file_name(name)) return answer_error(fmt::format("\"{}\" is not a clip name", name));
  std::filesystem::path found;
  {
    std::lock_guard lock(cameras_mu_);
    for (const auto& c : cameras_)
      if (std::filesystem::is_regular_file(c->config().evidence.dir / name)) found = c->config().evidence.dir / name;
  }
  if (found.empty()) return answer_error(fmt::format("no clip {} on {} (never written, or deleted by age or quota)", name, config_.id));
  constexpr uintmax_t kMaxClip = 64u << 20;
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(found, ec); !ec && size > kMaxClip)
    return answer_error(fmt::format("clip {} is {} bytes, over the {} a clip may be sent with", name, size, kMaxClip));
  auto bytes = read_text_file(found);
  if (!bytes) return answer_error(fmt::format("clip {} cannot be read", name));
  if (auto st = mqtt_->publish(base, *bytes, 1, false); !st) return answer_error(st.error().message);
  ++clips_served_;
  spdlog::info("clip {} ({} bytes) sent for request {}", name, bytes->size(), rid);
}

size_t Agent::prune_evidence() {
  namespace fs = std::filesystem;
  struct File {
    fs::path path;
    fs::file_time_type time;
    uintmax_t size;
  };
  // The agent's evidence folder and any camera's own one outside it; one quota for all.
  std::vector<fs::path> dirs{config_.evidence.dir};
  {
    std::lock_guard lock(cameras_mu_);
    for (const auto& c : cameras_) {
      const fs::path d = c->config().evidence.dir;
      const auto rel = d.lexically_normal().lexically_relative(config_.evidence.dir.lexically_normal());
      if (rel.empty() || rel.native().rfind("..", 0) == 0) dirs.push_back(d);
    }
  }
  std::vector<File> files;
  std::error_code ec;
  for (const fs::path& dir : dirs) {
    ec.clear();
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const auto ext = it->path().extension();
      if (ext != ".jpg" && !clip_media_of(it->path())) continue;  // only what the pipelines write
      files.push_back({it->path(), it->last_write_time(ec), it->file_size(ec)});
    }
  }
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.time < b.time; });
  uintmax_t total = 0;
  for (const File& f : files) total += f.size;
  const auto cutoff = fs::file_time_type::clock::now() - config_.evidence.keep;
  size_t removed = 0;
  for (const File& f : files) {
    const bool old = f.time < cutoff;
    if (!old && total <= config_.evidence.max_disk_bytes) break;  // oldest first: the rest are newer
    if (fs::remove(f.path, ec)) {
      ++removed;
      total -= f.size;
    }
  }
  if (removed > 0) {
    pruned_ += removed;
    spdlog::info("evidence: {} old files deleted ({} bytes kept, quota {})", removed, total,
                 config_.evidence.max_disk_bytes);
  }
  return removed;
}

}  // namespace gridwatch::agent
