#include "gridwatch/agent/agent.h"

// What the agent says about itself: the retained status message, its loop, and /metrics.


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

AgentStats Agent::stats() const {
  const OutboxStats os = outbox_ ? outbox_->stats() : OutboxStats{};
  const uint64_t published = sender_ ? sender_->acknowledged() : 0;
  AgentStats st{received_.load(), rejected_.load(), published, publish_failures_.load(),
                open_episodes_.load(), late_.load(), duplicates_.load(), zone_events_received_.load(),
                os.pending, os.dropped};
  st.outbox_bypassed = bypassed_.load();
  {
    std::lock_guard lock(cameras_mu_);
    for (const auto& c : cameras_) st.cameras.push_back(c->status());
  }
  st.clips_served = clips_served_;
  st.evidence_pruned = pruned_;
  return st;
}

std::string Agent::status_json(std::string_view state) {
  nlohmann::json j = {{"state", state},
                      {"agent_id", config_.id},
                      {"version", kVersion},
                      {"ts", format_rfc3339(now_utc())}};
  if (state == "online") {
    j["sensors"] = sensor_count_.load();
    j["readings_received"] = received_.load();
    j["readings_rejected"] = rejected_.load();
    j["orders_published"] = sender_ ? sender_->acknowledged() : 0;
    j["open_episodes"] = open_episodes_.load();
    j["readings_late"] = late_.load();
    j["readings_duplicate"] = duplicates_.load();
    j["zone_events"] = zone_events_received_.load();
    if (outbox_) {
      const OutboxStats os = outbox_->stats();
      j["outbox"] = {{"pending", os.pending},         {"pending_bytes", os.pending_bytes}, {"dropped", os.dropped},
                     {"unconfirmed", os.unconfirmed}, {"confirmed", os.confirmed},         {"resent", os.resent}};
    }
    j["queue"] = {{"readings", queue_.size()}, {"readings_capacity", queue_.capacity()}};
    nlohmann::json cams = nlohmann::json::array();
    {
      std::lock_guard lock(cameras_mu_);
      for (const auto& c : cameras_) {
        const CameraStatus cs = c->status();
        nlohmann::json cj = {{"id", cs.id},
                             {"state", to_string(cs.state)},
                             {"frames_in", cs.frames_in},
                             {"frames_dropped", cs.frames_dropped},
                             {"frames_analysed", cs.frames_analysed},
                             {"queue", cs.queue_depth},
                             {"queue_capacity", cs.queue_capacity},
                             {"detect_fps", std::round(cs.detect_fps * 10) / 10},
                             {"events", cs.events},
                             {"reconnects", cs.reconnects},
                             {"cpu_s", std::round(cs.cpu_s * 10) / 10}};
        if (!cs.last_error.empty()) cj["last_error"] = cs.last_error;
        cams.push_back(std::move(cj));
      }
    }
    j["cameras"] = std::move(cams);
    {
      std::lock_guard lock(cpu_mu_);
      const auto now = std::chrono::steady_clock::now();
      const double cpu = platform::process_cpu_seconds();
      if (cpu_wall_ != std::chrono::steady_clock::time_point{}) {
        const double wall = std::chrono::duration<double>(now - cpu_wall_).count();
        if (wall > 0.2) cpu_percent_ = 100.0 * (cpu - cpu_last_s_) / wall;
      }
      if (now - cpu_wall_ > std::chrono::milliseconds{200}) {
        cpu_wall_ = now;
        cpu_last_s_ = cpu;
      }
      j["cpu_percent"] = std::round(cpu_percent_ * 10) / 10;  // since the last status; 100 = one core
    }
    j["cpus"] = std::thread::hardware_concurrency();
    j["memory_bytes"] = platform::resident_memory_bytes();
    j["clips_served"] = clips_served_.load();
    j["evidence_pruned"] = pruned_.load();
  }
  return j.dump();
}

void Agent::status_loop() {
  auto next_prune = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  std::unique_lock lock(mu_);
  for (;;) {
    // Every status_interval, and at once when a camera changes state.
    status_cv_.wait_for(lock, config_.status_interval, [this] { return stopping_ || status_due_; });
    if (stopping_) break;
    status_due_ = false;
    lock.unlock();
    if (mqtt_ && mqtt_->connected()) {
      auto st = mqtt_->publish(status_topic_, status_json("online"), 1, true);
      if (!st) spdlog::warn("status: {}", st.error().message);
    }
    if (std::chrono::steady_clock::now() >= next_prune) {
      prune_evidence();
      next_prune = std::chrono::steady_clock::now() + std::chrono::minutes{1};
    }
    lock.lock();
  }
}

std::string Agent::metrics_text() const {
  const AgentStats st = stats();
  std::string out;
  auto metric = [&](const char* type, const char* name, const char* help, double v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, v);
  };
  metric("counter", "gw_agent_readings_received_total", "Sensor readings received.", static_cast<double>(st.readings_received));
  metric("counter", "gw_agent_readings_rejected_total", "Readings rejected (dead letters).", static_cast<double>(st.readings_rejected));
  metric("counter", "gw_agent_zone_events_total", "Camera zone events.", static_cast<double>(st.zone_events));
  metric("counter", "gw_agent_orders_published_total", "Order events acknowledged by the broker.", static_cast<double>(st.orders_published));
  metric("gauge", "gw_agent_open_episodes", "Rule episodes open.", static_cast<double>(st.open_episodes));
  metric("gauge", "gw_agent_outbox_pending", "Order events waiting in the outbox.", static_cast<double>(st.outbox_pending));
  metric("counter", "gw_agent_outbox_dropped_total", "Order events dropped from a full outbox.", static_cast<double>(st.outbox_dropped));
  metric("counter", "gw_agent_outbox_bypassed_total",
         "Order events the outbox could not store (a full or failing disk), published directly instead.",
         static_cast<double>(st.outbox_bypassed));
  metric("counter", "gw_agent_orders_failed_total", "Order events that could not be made (invalid, over the payload limit).",
         static_cast<double>(st.publish_failures));
  const OutboxStats os = outbox_ ? outbox_->stats() : OutboxStats{};
  metric("gauge", "gw_agent_outbox_unconfirmed",
         "Order events the broker took and the center has not confirmed stored yet (kept in the outbox).",
         static_cast<double>(os.unconfirmed));
  metric("counter", "gw_agent_outbox_confirmed_total", "Order events the center confirmed stored.", static_cast<double>(os.confirmed));
  metric("counter", "gw_agent_outbox_resent_total", "Order events published again, unconfirmed after outbox.confirm_timeout.",
         static_cast<double>(os.resent));
  metric("gauge", "gw_agent_broker_connected", "1 when connected to the broker.", mqtt_ && mqtt_->connected() ? 1 : 0);
  metric("gauge", "gw_agent_broker_subscribed",
         "1 when the broker granted every subscription (readings, clip requests, confirmations).",
         mqtt_ && mqtt_->subscription_status().has_value() ? 1 : 0);
  metric("counter", "gw_agent_process_cpu_seconds_total", "CPU time of the agent.", platform::process_cpu_seconds());
  metric("gauge", "gw_agent_resident_memory_bytes", "Resident memory of the agent.", static_cast<double>(platform::resident_memory_bytes()));
  metric("counter", "gw_agent_clips_served_total", "Clips sent to the center.", static_cast<double>(st.clips_served));
  metric("counter", "gw_agent_evidence_pruned_total", "Evidence files deleted by age or quota.", static_cast<double>(st.evidence_pruned));
  auto per_camera = [&](const char* type, const char* name, const char* help, auto value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n", name, help, type);
    for (const CameraStatus& c : st.cameras) out += fmt::format("{}{{camera=\"{}\"}} {}\n", name, c.id, value(c));
  };
  per_camera("gauge", "gw_agent_camera_up", "1 while the camera delivers frames.",
             [](const CameraStatus& c) { return c.state == CameraState::kRunning ? 1 : 0; });
  per_camera("counter", "gw_agent_camera_frames_total", "Frames read from the camera.", [](const CameraStatus& c) { return c.frames_in; });
  per_camera("counter", "gw_agent_camera_frames_dropped_total", "Frames dropped because analysis was behind.",
             [](const CameraStatus& c) { return c.frames_dropped; });
  per_camera("gauge", "gw_agent_camera_queue_depth", "Frames waiting for analysis.", [](const CameraStatus& c) { return c.queue_depth; });
  per_camera("gauge", "gw_agent_camera_detect_fps", "Frames analysed a second (last 10 s).", [](const CameraStatus& c) { return c.detect_fps; });
  per_camera("counter", "gw_agent_camera_reconnects_total", "Times the camera's source was reopened.", [](const CameraStatus& c) { return c.reconnects; });
  per_camera("counter", "gw_agent_camera_cpu_seconds_total", "CPU time of the camera's threads.", [](const CameraStatus& c) { return c.cpu_s; });
  return out;
}

}  // namespace gridwatch::agent
