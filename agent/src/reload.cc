#include "gridwatch/agent/agent.h"

// SIGHUP: a new configuration checked, then applied between two readings: cameras started,
// stopped or replaced, sensors and rules swapped keeping the state of unchanged rules.


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

Status Agent::reload(AgentConfig next) {
  const AgentConfig& now = config_;
  const std::pair<const char*, bool> fixed[] = {
      {"agent.id", next.id != now.id},
      {"agent.data_dir", next.data_dir != now.data_dir},
      {"agent.log_level", next.log_level != now.log_level},
      {"broker.url", next.broker.url != now.broker.url},
      {"broker.failover_urls", next.broker.failover_urls != now.broker.failover_urls},
      {"broker.topic_prefix", next.broker.topic_prefix != now.broker.topic_prefix},
      {"broker.username", next.broker.username != now.broker.username},
      {"broker.password", next.broker.password != now.broker.password},
      {"broker.keepalive", next.broker.keepalive != now.broker.keepalive},
      {"broker.max_inflight", next.broker.max_inflight != now.broker.max_inflight},
      {"broker.tls", next.broker.ca_file != now.broker.ca_file || next.broker.cert_file != now.broker.cert_file ||
                         next.broker.key_file != now.broker.key_file},
      {"status.interval", next.status_interval != now.status_interval},
      {"outbox", next.outbox.max_bytes != now.outbox.max_bytes || next.outbox.drain_rate != now.outbox.drain_rate ||
                     next.outbox.fsync != now.outbox.fsync},
      {"status.metrics", next.metrics_listen != now.metrics_listen},
      {"evidence", next.evidence.dir != now.evidence.dir || next.evidence.snapshot_max_bytes != now.evidence.snapshot_max_bytes ||
                       next.evidence.keep != now.evidence.keep || next.evidence.max_disk_bytes != now.evidence.max_disk_bytes},
      {"areas", next.areas.file != now.areas.file || next.areas.options.id_property != now.areas.options.id_property ||
                    next.areas.options.crs != now.areas.options.crs},
  };
  for (const auto& [key, changed] : fixed)
    if (changed) return fail(ErrorCode::kInvalidArgument, fmt::format("{} changed: restart the agent to apply it", key), key);
  // Cameras added or changed start afresh (their pipelines are loaded here, so a model that does
  // not load refuses the whole reload); unchanged ones keep running.
  PendingReload r;
  {
    std::lock_guard lock(cameras_mu_);
    for (const vision::CameraConfig& c : next.cameras) {
      auto same = std::find_if(cameras_.begin(), cameras_.end(), [&](const auto& k) { return k->config() == c; });
      if (same != cameras_.end()) continue;
      auto runner = make_camera(c);
      if (!runner) return std::unexpected(runner.error());
      r.cameras.push_back(std::move(*runner));
    }
  }
  r.config = std::move(next);
  std::optional<PendingReload> replaced;  // an earlier reload not yet taken: dropped, outside the lock
  {
    std::lock_guard lock(mu_);
    if (stopping_) return fail(ErrorCode::kUnavailable, "the agent is stopping");
    replaced = std::move(pending_reload_);
    pending_reload_ = std::move(r);  // the worker takes it within a second
  }
  return {};
}

Result<std::unique_ptr<CameraRunner>> Agent::make_camera(const vision::CameraConfig& c) {
  CameraOptions o = camera_options_;
  o.on_change = [this, user = camera_options_.on_change](const std::string& id, CameraState s) {
    if (user) user(id, s);
    {
      std::lock_guard lock(mu_);
      status_due_ = true;
    }
    status_cv_.notify_all();
  };
  std::error_code ec;
  std::filesystem::create_directories(c.evidence.dir, ec);
  if (ec) return fail(ErrorCode::kUnavailable, fmt::format("camera {}: evidence folder {}: {}", c.id, c.evidence.dir.string(), ec.message()));
  return CameraRunner::create(c, std::move(o), [this](rules::ZoneEvent e) { offer_zone_event(std::move(e)); });
}

void Agent::apply_reload(PendingReload reload) {
  AgentConfig& next = reload.config;
  // The state of the rules as they are, given to an engine of the new rules.
  auto fresh = std::make_unique<rules::Engine>(next.rules, next.devices(), catalog_);
  fresh->start(now_utc());
  auto warnings = fresh->restore(engine_->snapshot());
  if (!warnings) {
    spdlog::error("reload refused: the rule state does not fit the new rules ({}); the old configuration stays",
                  warnings.error().message);
    return;
  }
  for (const std::string& w : *warnings) spdlog::warn("reload: {}", w);
  engine_ = std::move(fresh);
  // Cameras: the unchanged keep running; removed and changed ones stop, new ones start.
  std::vector<std::unique_ptr<CameraRunner>> gone;
  {
    std::lock_guard lock(cameras_mu_);
    for (auto it = cameras_.begin(); it != cameras_.end();) {
      const bool kept = std::any_of(next.cameras.begin(), next.cameras.end(),
                                    [&](const vision::CameraConfig& c) { return c == (*it)->config(); });
      if (kept) {
        ++it;
      } else {
        gone.push_back(std::move(*it));
        it = cameras_.erase(it);
      }
    }
  }
  for (auto& g : gone) {
    spdlog::info("reload: camera {} stopped ({})", g->id(),
                 std::any_of(next.cameras.begin(), next.cameras.end(), [&](const auto& c) { return c.id == g->id(); })
                     ? "changed"
                     : "removed");
    g->stop();
  }
  for (auto& c : reload.cameras) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;  // stop() has begun: a camera started now would outlive it
    }
    spdlog::info("reload: camera {} started", c->id());
    c->start();
    std::lock_guard lock(cameras_mu_);
    cameras_.push_back(std::move(c));
  }
  config_.cameras = std::move(next.cameras);
  config_.sensors = std::move(next.sensors);
  config_.rules = std::move(next.rules);
  config_.rules_file = std::move(next.rules_file);
  sensor_count_ = config_.sensors.size();
  checkpoint();
  spdlog::info("configuration reloaded: {} cameras, {} sensors, {} rules ({} rule states changed or dropped)",
               config_.cameras.size(), config_.sensors.size(), config_.rules.rules.size(), warnings->size());
}

}  // namespace gridwatch::agent
