#include "gridwatch/agent/config.h"

#include <set>

#include <fmt/format.h>

#include "gridwatch/domain/config.h"
#include "gridwatch/platform/mqtt.h"

namespace gridwatch::agent {

const SensorConfig* AgentConfig::sensor(std::string_view device_id) const {
  for (const auto& s : sensors)
    if (s.device_id == device_id) return &s;
  return nullptr;
}

namespace {

AgentConfig read(const ConfigNode& root, const Catalog& catalog) {
  using namespace std::chrono;
  root.allow_only({"agent", "broker", "status", "sensors", "thresholds"});
  AgentConfig c;
  ConfigNode a = root.at("agent");
  a.allow_only({"id", "data_dir", "log_level"});
  c.id = a.string("id");
  if (!is_valid_id(c.id, 64)) a.raise("id", "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
  c.data_dir = a.string("data_dir", fmt::format("gridwatch-data/agent-{}", c.id));
  c.log_level = a.choice("log_level", {"trace", "debug", "info", "warn", "error"}, "info");

  if (auto b = root.find("broker")) {
    b->allow_only({"url", "topic_prefix", "username", "password", "keepalive", "max_inflight"});
    c.broker.url = platform::read_broker_url(*b, c.broker.url);
    c.broker.topic_prefix = platform::read_topic_prefix(*b, c.broker.topic_prefix);
    c.broker.username = b->string("username", "");
    c.broker.password = b->string("password", "");
    c.broker.keepalive = duration_cast<seconds>(
        b->duration("keepalive", seconds{20}, seconds{5}, minutes{10}));
    c.broker.max_inflight = static_cast<int>(b->integer("max_inflight", 1000, 1, 65535));
  }
  if (auto s = root.find("status")) {
    s->allow_only({"interval"});
    c.status_interval = s->duration("interval", seconds{30}, seconds{1}, hours{1});
  }
  std::set<std::string> ids;
  for (const ConfigNode& n : root.list("sensors")) {
    n.allow_only({"device_id", "type", "location", "description"});
    SensorConfig s;
    s.device_id = n.string("device_id");
    if (!is_valid_id(s.device_id)) n.raise("device_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
    if (!ids.insert(s.device_id).second)
      n.raise("device_id", fmt::format("duplicate device \"{}\"", s.device_id));
    s.type = n.string("type");
    ConfigNode loc = n.at("location");
    loc.allow_only({"lon", "lat", "accuracy_m"});
    s.location.position.lon = loc.number("lon", -180.0, 180.0);
    s.location.position.lat = loc.number("lat", -90.0, 90.0);
    if (loc.has("accuracy_m")) s.location.accuracy_m = loc.number("accuracy_m", 0.0, 100'000.0);
    s.description = n.string("description", "");
    c.sensors.push_back(std::move(s));
  }
  std::set<std::string> rule_names;
  for (const ConfigNode& n : root.list("thresholds")) {
    n.allow_only({"rule", "type", "category", "open_at", "clear_at", "priority"});
    rules::ThresholdRule r;
    r.name = n.string("rule");
    r.reading_type = n.string("type");
    r.category = n.string("category");
    r.open_at = n.number("open_at", -1e12, 1e12);
    r.clear_at = n.number("clear_at", -1e12, 1e12);
    if (n.has("priority"))
      r.priority = parse_priority(n.choice("priority", {"urgent", "high", "normal", "low"}, "normal"));
    if (auto st = rules::validate(r, catalog); !st) n.raise(st.error().field, st.error().message);
    if (!rule_names.insert(r.name).second)
      n.raise("rule", fmt::format("duplicate rule \"{}\"", r.name));
    c.thresholds.push_back(std::move(r));
  }
  return c;
}

}  // namespace

Result<AgentConfig> parse_agent_config(std::string_view yaml, std::string source,
                                       const Catalog& catalog) {
  return read_config_text<AgentConfig>(yaml, std::move(source),
                                       [&](const ConfigNode& root) { return read(root, catalog); });
}

Result<AgentConfig> load_agent_config(const std::filesystem::path& path, const Catalog& catalog) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_agent_config(*text, path.string(), catalog);
}

}  // namespace gridwatch::agent
