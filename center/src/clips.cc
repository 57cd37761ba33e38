#include "gridwatch/center/center.h"

// Camera clips on request: the center asks the agent that keeps a clip over MQTT and waits for
// its answer (Center::fetch_clip), matched by request id (Center::clip_reply).

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bus.h"

namespace gridwatch::center {

void Center::clip_reply(const platform::MqttMessage& m) {
  // {prefix}/agents/{agent}/clips/{request}[/error]
  const auto at = m.topic.find("/clips/");
  if (at == std::string::npos) return;
  std::string rest = m.topic.substr(at + 7);
  const bool error = rest.size() > 6 && rest.compare(rest.size() - 6, 6, "/error") == 0;
  if (error) rest.resize(rest.size() - 6);
  std::lock_guard lock(clip_mu_);
  auto it = clip_waits_.find(rest);
  if (it == clip_waits_.end()) return;  // another center's request, or one given up on
  it->second = ClipReply{error, m.payload};
  clip_cv_.notify_all();
}

Result<std::string> Center::fetch_clip(const std::string& agent_id, const std::string& name) {
  // Short (the agent takes up to 64 characters) and unique among centers sharing the broker.
  static thread_local std::mt19937 rng{std::random_device{}()};
  const std::string rid = fmt::format("c{}-{:08x}", ++clip_seq_, rng());
  {
    std::lock_guard lock(clip_mu_);
    clip_waits_[rid] = std::nullopt;
  }
  const std::string topic = fmt::format("{}/agents/{}/clips/get", config_.topic_prefix, agent_id);
  auto sent = bus_->publish(topic, nlohmann::json{{"request_id", rid}, {"clip", name}}.dump());
  if (!sent) ++metrics_.publish_failures;
  std::unique_lock lock(clip_mu_);
  const bool answered = sent && clip_cv_.wait_for(lock, config_.clip_timeout, [&] { return clip_waits_[rid].has_value(); });
  const std::optional<ClipReply> reply = clip_waits_[rid];
  clip_waits_.erase(rid);
  lock.unlock();
  if (!sent) return fail(ErrorCode::kUnavailable, fmt::format("clip request to agent {}: {}", agent_id, sent.error().message));
  if (!answered || !reply)
    return fail(ErrorCode::kUnavailable,
                fmt::format("agent {} did not answer within {} (offline, or its uplink is down)", agent_id,
                            format_duration(config_.clip_timeout)));
  if (reply->error) {
    const auto j = nlohmann::json::parse(reply->payload, nullptr, false);
    return fail(ErrorCode::kNotFound, j.is_object() && j.contains("error") && j.at("error").is_string()
                                          ? j.at("error").get<std::string>()
                                          : fmt::format("agent {} could not send clip {}", agent_id, name));
  }
  return reply->payload;
}

Result<std::shared_ptr<const std::string>> Center::clip(const std::string& agent_id, const std::string& name) {
  const std::string key = agent_id + "/" + name;
  auto cached = [&]() -> std::shared_ptr<const std::string> {
    for (const auto& [k, bytes] : clip_cache_)
      if (k == key) return bytes;
    return nullptr;
  };
  {
    std::unique_lock lock(clip_mu_);
    // Another request is fetching this clip: wait for its answer instead of asking again.
    clip_cv_.wait_for(lock, config_.clip_timeout + std::chrono::seconds{1}, [&] { return !clips_in_flight_.contains(key); });
    if (auto bytes = cached()) return bytes;
    if (clips_in_flight_.contains(key))
      return fail(ErrorCode::kUnavailable, fmt::format("clip {} is still being fetched; try again shortly", name),
                  "busy");
    if (static_cast<int>(clips_in_flight_.size()) >= kMaxClipFetches)
      return fail(ErrorCode::kUnavailable,
                  fmt::format("{} clip requests are already waiting for agents; try again shortly", kMaxClipFetches),
                  "busy");
    clips_in_flight_.insert(key);
  }
  auto fetched = fetch_clip(agent_id, name);
  std::lock_guard lock(clip_mu_);
  clips_in_flight_.erase(key);
  clip_cv_.notify_all();
  if (!fetched) return std::unexpected(fetched.error());
  auto bytes = std::make_shared<const std::string>(std::move(*fetched));
  clip_cache_bytes_ += bytes->size();
  clip_cache_.emplace_back(key, bytes);
  while (clip_cache_bytes_ > kClipCacheBytes && clip_cache_.size() > 1) {
    clip_cache_bytes_ -= clip_cache_.front().second->size();
    clip_cache_.pop_front();
  }
  return bytes;
}

}  // namespace gridwatch::center
