#include "gridwatch/agent/config.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "gridwatch/agent/camera_geo.h"
#include "gridwatch/domain/config.h"
#include "gridwatch/platform/mqtt.h"

namespace gridwatch::agent {

const SensorConfig* AgentConfig::sensor(std::string_view device_id) const {
  for (const auto& s : sensors)
    if (s.device_id == device_id) return &s;
  return nullptr;
}

std::vector<rules::DeviceInfo> AgentConfig::devices() const {
  std::vector<rules::DeviceInfo> out;
  for (const SensorConfig& s : sensors)
    out.push_back({.id = s.device_id, .types = {s.type}, .group = s.group, .tags = s.tags, .location = s.location,
                   .description = s.description});
  return out;
}

namespace {

// The configuration's files: each section in one of them; `sensors` and `cameras` joined.
class Sections {
 public:
  explicit Sections(std::vector<ConfigNode> roots) : roots_(std::move(roots)) {
    for (const ConfigNode& r : roots_)
      r.allow_only({"agent", "broker", "status", "outbox", "evidence", "areas", "sensors", "cameras", "rules"});
  }
  std::optional<ConfigNode> find(std::string_view key) const {
    std::optional<ConfigNode> found;
    for (const ConfigNode& r : roots_)
      if (auto n = r.find(key)) {
        if (found) n->raise("", fmt::format("already given in {}:{}", found->file(), found->line()));
        found = n;
      }
    return found;
  }
  ConfigNode at(std::string_view key) const {
    if (auto n = find(key)) return *n;
    return roots_.front().at(key);  // raises: missing
  }
  std::vector<ConfigNode> list(std::string_view key) const {
    std::vector<ConfigNode> all;
    for (const ConfigNode& r : roots_)
      for (ConfigNode& n : r.list(key)) all.push_back(std::move(n));
    return all;
  }

 private:
  std::vector<ConfigNode> roots_;
};

vision::CameraConfig read_camera(const ConfigNode& n) {
  if (n.yaml().IsScalar()) {  // the path of a camera file
    std::filesystem::path file = n.yaml().Scalar();
    if (file.is_relative()) file = std::filesystem::path(n.file()).parent_path() / file;
    auto c = vision::load_camera_config(file);
    if (!c) throw ConfigError(c.error());
    return std::move(*c);
  }
  if (!n.yaml().IsMap()) n.raise("", "a camera is the path of a camera file or a mapping like one (docs/vision.md)");
  return vision::read_camera_config(n);
}

AgentConfig read(const Sections& root, const Catalog& catalog) {
  using namespace std::chrono;
  AgentConfig c;
  ConfigNode a = root.at("agent");
  a.allow_only({"id", "data_dir", "log_level"});
  c.id = a.string("id");
  if (!is_valid_id(c.id, 64)) a.raise("id", "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
  c.data_dir = a.string("data_dir", fmt::format("gridwatch-data/agent-{}", c.id));
  c.log_level = a.choice("log_level", {"trace", "debug", "info", "warn", "error"}, "info");

  if (auto o = root.find("outbox")) {
    o->allow_only({"max_bytes", "drain_rate", "fsync", "confirm_timeout"});
    c.outbox.max_bytes = static_cast<uint64_t>(o->integer("max_bytes", 256 << 20, 1 << 20, int64_t{1} << 40));
    c.outbox.drain_rate = o->number("drain_rate", 500, 0.1, 100'000);
    c.outbox.fsync = o->boolean("fsync", true);
    c.outbox.confirm_timeout = o->duration("confirm_timeout", seconds{30}, seconds{1}, hours{1});
  }
  if (auto b = root.find("broker")) {
    b->allow_only({"url", "failover_urls", "topic_prefix", "username", "password", "password_file", "keepalive",
                   "max_inflight", "tls"});
    c.broker.url = platform::read_broker_url(*b, c.broker.url);
    c.broker.failover_urls = platform::read_broker_failover(*b, c.broker.url);
    c.broker.topic_prefix = platform::read_topic_prefix(*b, c.broker.topic_prefix);
    c.broker.username = b->string("username", "");
    c.broker.password =
        read_secret(*b, "password", 1).value_or("");
    if (!c.broker.password.empty() && c.broker.username.empty())
      b->raise("username", "a password needs a username");
    c.broker.keepalive = duration_cast<seconds>(
        b->duration("keepalive", seconds{20}, seconds{5}, minutes{10}));
    c.broker.max_inflight = static_cast<int>(b->integer("max_inflight", 1000, 1, 65535));
    const platform::BrokerTls tls = platform::read_broker_tls(*b, c.broker.url);
    c.broker.ca_file = tls.ca_file;
    c.broker.cert_file = tls.cert_file;
    c.broker.key_file = tls.key_file;
  }
  if (auto s = root.find("status")) {
    s->allow_only({"interval", "metrics"});
    c.status_interval = s->duration("interval", seconds{30}, seconds{1}, hours{1});
    c.metrics_listen = s->string("metrics", "");
    if (!c.metrics_listen.empty()) {
      const auto colon = c.metrics_listen.rfind(':');
      int port = 0;
      if (colon == std::string::npos || colon == 0 ||
          std::sscanf(c.metrics_listen.c_str() + colon + 1, "%d", &port) != 1 || port < 0 || port > 65535)
        s->raise("metrics", "expected HOST:PORT, e.g. 127.0.0.1:9464 (port 0: any free port)");
    }
  }
  c.evidence.dir = c.data_dir / "evidence";
  if (auto e = root.find("evidence")) {
    e->allow_only({"dir", "snapshot_max_bytes", "keep", "max_disk_bytes"});
    if (e->has("dir")) c.evidence.dir = e->path("dir");
    c.evidence.snapshot_max_bytes =
        static_cast<uint64_t>(e->integer("snapshot_max_bytes", 150 * 1024, 0, 180 * 1024));
    c.evidence.keep = e->duration("keep", c.evidence.keep, hours{1}, days{366});
    c.evidence.max_disk_bytes =
        static_cast<uint64_t>(e->integer("max_disk_bytes", int64_t{2} << 30, 1 << 20, int64_t{1} << 42));
  }
  if (auto ar = root.find("areas")) {
    ar->allow_only({"file", "id_property", "crs"});
    c.areas.file = ar->path("file");
    if (!std::filesystem::is_regular_file(c.areas.file)) ar->raise("file", fmt::format("no file {}", c.areas.file.string()));
    c.areas.options.id_property = ar->string("id_property", "");
    c.areas.options.crs = *geo::parse_crs(ar->choice("crs", {"wgs84", "gcj02", "bd09"}, "wgs84"));
  }
  std::set<std::string> ids;
  for (const ConfigNode& n : root.list("cameras")) {
    vision::CameraConfig cam = read_camera(n);
    ConfigNode where = n.yaml().IsMap() ? n.at("camera") : n;
    if (!ids.insert(cam.id).second) where.raise(n.yaml().IsMap() ? "id" : "", fmt::format("duplicate camera \"{}\"", cam.id));
    if (cam.source.empty()) where.raise(n.yaml().IsMap() ? "source" : "", fmt::format("camera {} has no source (camera.source)", cam.id));
    if (auto cal = camera_calibration(cam); !cal)
      where.raise("", fmt::format("camera {}: calibration: {}", cam.id, cal.error().message));
    if (cam.evidence.dir.empty()) cam.evidence.dir = c.evidence.dir / cam.id;
    c.cameras.push_back(std::move(cam));
  }
  for (const ConfigNode& n : root.list("sensors")) {
    n.allow_only({"device_id", "type", "group", "tags", "location", "description"});
    SensorConfig s;
    s.device_id = n.string("device_id");
    if (!is_valid_id(s.device_id)) n.raise("device_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
    if (!ids.insert(s.device_id).second)
      n.raise("device_id", fmt::format("duplicate device \"{}\" (sensor and camera ids are one namespace)", s.device_id));
    s.type = n.string("type");
    s.group = n.string("group", "");
    if (!s.group.empty() && !is_valid_id(s.group, 64))
      n.raise("group", "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
    s.tags = n.strings("tags");
    ConfigNode loc = n.at("location");
    loc.allow_only({"lon", "lat", "accuracy_m"});
    s.location.position.lon = loc.number("lon", -180.0, 180.0);
    s.location.position.lat = loc.number("lat", -90.0, 90.0);
    if (loc.has("accuracy_m")) s.location.accuracy_m = loc.number("accuracy_m", 0.0, 100'000.0);
    s.description = n.string("description", "");
    c.sensors.push_back(std::move(s));
  }
  // Rules: inline (a mapping like a rule file) or the path of a rule file.
  if (auto r = root.find("rules")) {
    if (r->yaml().IsScalar()) {
      std::filesystem::path file = r->yaml().Scalar();
      if (file.is_relative()) file = std::filesystem::path(r->file()).parent_path() / file;
      auto set = rules::load_rules(file, catalog);
      if (!set) r->raise("", set.error().message);
      c.rules = std::move(*set);
      c.rules_file = file;
    } else {
      c.rules = rules::read_rules(*r, catalog);
    }
  }
  return c;
}

}  // namespace

Result<AgentConfig> parse_agent_config(std::string_view yaml, std::string source,
                                       const Catalog& catalog) {
  return read_config_text<AgentConfig>(yaml, std::move(source), [&](const ConfigNode& root) {
    return read(Sections({root}), catalog);
  });
}

Result<AgentConfig> load_agent_config(const std::filesystem::path& path, const Catalog& catalog) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(path)) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec))
      if (entry.is_regular_file() && (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml"))
        files.push_back(entry.path());
    if (ec) return fail(ErrorCode::kConfig, fmt::format("{}: {}", path.string(), ec.message()));
    std::sort(files.begin(), files.end());
    if (files.empty()) return fail(ErrorCode::kConfig, fmt::format("{}: no *.yaml files in the folder", path.string()));
  } else {
    files.push_back(path);
  }
  std::vector<ConfigNode> roots;
  for (const auto& f : files) {
    auto text = read_text_file(f);
    if (!text) return std::unexpected(text.error());
    auto root = parse_config_text(*text, f.string());
    if (!root) return std::unexpected(root.error());
    roots.push_back(std::move(*root));
  }
  try {
    AgentConfig c = read(Sections(std::move(roots)), catalog);
    c.files = std::move(files);
    return c;
  } catch (const ConfigError& e) {
    return std::unexpected(e.error());
  }
}

}  // namespace gridwatch::agent
