#include "gridwatch/center/center.h"

// Camera clips on request: the center asks the agent that keeps a clip over MQTT and waits for
// its answer (Center::fetch_clip), matched by request id (Center::clip_reply).

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

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
  auto sent = mqtt_->publish(topic, nlohmann::json{{"request_id", rid}, {"clip", name}}.dump(), 1, false);
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

}  // namespace gridwatch::center
