#include "gridwatch/center/config.h"

#include <cctz/time_zone.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "gridwatch/center/analytics/cells.h"
#include "gridwatch/domain/config.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/secrets.h"

namespace gridwatch::center {
namespace {

// A secret that must be given, inline or from a file, of 16 characters at least.
std::string required_secret(const ConfigNode& n, const std::string& key) {
  auto secret = read_secret(n, key, 16);
  if (!secret) n.raise(key, fmt::format("give exactly one of {} and {}_file", key, key));
  return *secret;
}

// An AMQP URL of a RabbitMQ node, without an account (that is username/password).
// n.time_zone (default `fallback`), a zone of the tz database.
std::string read_time_zone(const ConfigNode& n, const std::string& fallback) {
  std::string zone = n.string("time_zone", fallback);
  cctz::time_zone tz;
  if (!cctz::load_time_zone(zone, &tz)) n.raise("time_zone", "is not a time zone of the tz database");
  return zone;
}

std::string read_amqp_url(const ConfigNode& b, const std::string& key, const std::string& url) {
  if (!url.starts_with("amqp://"))
    b.raise(key, fmt::format("\"{}\" must start with amqp:// (broker.kind rabbitmq)", url));
  if (url.find('@') != std::string::npos)
    b.raise(key, fmt::format("\"{}\": give the account as username and password, not in the URL", url));
  return url;
}

void read_auth(const ConfigNode& a, CenterConfig& c) {
  a.allow_only({"tokens"});
  for (const ConfigNode& n : a.list("tokens")) {
    n.allow_only({"name", "role", "token", "token_file", "token_sha256", "expires", "unit", "grid"});
    ApiToken t;
    t.name = n.string("name");
    if (!is_valid_id(t.name, 64)) n.raise("name", "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
    const auto role = parse_role(n.string("role"));
    if (!role) n.raise("role", "must be one of admin, dispatcher, department, worker");
    t.role = *role;
    if (n.has("token_sha256")) {
      if (n.has("token") || n.has("token_file")) n.raise("token_sha256", "give one of token, token_file and token_sha256");
      t.token_sha256 = n.string("token_sha256");
      if (!platform::is_sha256_hex(t.token_sha256))
        n.raise("token_sha256", "must be a SHA-256 in hex (64 digits), as `gridwatch token new` prints it");
    } else {
      t.token = required_secret(n, "token");
    }
    if (n.has("expires")) {
      auto at = parse_rfc3339(n.string("expires"));
      if (!at) n.raise("expires", at.error().message);
      t.expires = *at;
    }
    t.unit = n.string("unit", "");
    t.grid = n.string("grid", "");
    if ((t.role == Role::kDepartment) != !t.unit.empty())
      n.raise("unit", t.role == Role::kDepartment ? "a department token names its unit"
                                                  : "only a department token has a unit");
    if ((t.role == Role::kWorker) != !t.grid.empty())
      n.raise("grid", t.role == Role::kWorker ? "a worker token names its grid" : "only a worker token has a grid");
    for (const ApiToken& other : c.tokens)
      if (token_digest(other) == token_digest(t) || other.name == t.name)
        n.raise("name", fmt::format("\"{}\" repeats the name or token of \"{}\"", t.name, other.name));
    c.tokens.push_back(std::move(t));
  }
}

CenterConfig read(const ConfigNode& root) {
  root.allow_only({"center", "broker", "database", "http", "limits", "areas", "open311", "dispatch", "sla", "auth", "web", "patrol", "classify", "analytics"});
  CenterConfig c;
  if (auto n = root.find("center")) {
    n->allow_only({"id", "log_level", "catalog"});
    c.id = n->string("id", c.id);
    if (!is_valid_id(c.id, 64)) n->raise("id", "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
    c.log_level = n->choice("log_level", {"trace", "debug", "info", "warn", "error"}, "info");
    c.catalog = n->string("catalog", "");
  }
  if (auto b = root.find("broker")) {
    b->allow_only({"kind", "url", "failover_urls", "topic_prefix", "share_group", "username", "password",
                   "password_file", "tls", "max_buffered"});
    c.broker_kind = b->choice("kind", {"mosquitto", "rabbitmq"}, "mosquitto") == "rabbitmq"
                        ? CenterConfig::BrokerKind::kRabbitmq
                        : CenterConfig::BrokerKind::kMosquitto;
    if (c.broker_kind == CenterConfig::BrokerKind::kRabbitmq) {
      c.broker_url = read_amqp_url(*b, "url", b->string("url", "amqp://127.0.0.1:5672"));
      if (b->has("failover_urls"))
        for (const std::string& u : b->strings("failover_urls")) {
          c.broker_failover_urls.push_back(read_amqp_url(*b, "failover_urls", u));
          if (u == c.broker_url) b->raise("failover_urls", fmt::format("\"{}\" is url itself", u));
        }
      if (b->has("tls")) b->raise("tls", "is for MQTT brokers: a center reaches RabbitMQ over plain AMQP (amqps:// is not supported)");
    } else {
      c.broker_url = platform::read_broker_url(*b, c.broker_url);
      c.broker_failover_urls = platform::read_broker_failover(*b, c.broker_url);
    }
    c.topic_prefix = platform::read_topic_prefix(*b, c.topic_prefix);
    c.share_group = b->string("share_group", c.share_group);
    if (!is_valid_id(c.share_group, 64)) b->raise("share_group", "must be a plain name");
    c.username = b->string("username", "");
    c.password = read_secret(*b, "password", 1).value_or("");
    if (!c.password.empty() && c.username.empty()) b->raise("username", "a password needs a username");
    c.broker_tls = platform::read_broker_tls(*b, c.broker_url);
    c.max_buffered = static_cast<int>(b->integer("max_buffered", c.max_buffered, 1, 1'000'000));
  }
  if (auto d = root.find("database")) {
    d->allow_only({"conninfo", "read_conninfo", "pool_size"});
    c.conninfo = d->string("conninfo", c.conninfo);
    c.read_conninfo = d->string("read_conninfo", "");
    c.pool_size = static_cast<int>(d->integer("pool_size", 4, 1, 64));
  }
  if (auto h = root.find("http")) {
    h->allow_only({"host", "port", "threads", "queue", "clip_timeout", "tls"});
    if (auto t = h->find("tls")) {
      t->allow_only({"cert", "key"});
      c.tls_cert = t->path("cert");
      c.tls_key = t->path("key");
    }
    c.http_host = h->string("host", c.http_host);
    c.http_port = static_cast<int>(h->integer("port", 8080, 0, 65535));
    c.http_threads = static_cast<int>(h->integer("threads", 8, 1, 256));
    c.http_queue = static_cast<size_t>(h->integer("queue", 256, 1, 65536));
    c.clip_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        h->duration("clip_timeout", c.clip_timeout, std::chrono::seconds{1}, std::chrono::minutes{5}));
  }
  for (const ConfigNode& n : root.list("areas")) {
    n.allow_only({"file", "level", "id_property", "name_property", "parent_property", "crs",
                  "synthetic_cell_m", "within"});
    AreaLayerConfig layer;
    layer.options.level_name = n.string("level");
    if (n.has("file") == n.has("synthetic_cell_m"))
      n.raise(n.has("file") ? "synthetic_cell_m" : "file",
              "an area layer has either a file or synthetic_cell_m, not both");
    if (n.has("synthetic_cell_m")) {
      for (std::string_view key : {"id_property", "name_property", "parent_property", "crs"})
        if (n.has(key)) n.raise(key, "does not apply to a synthetic layer");
      if (c.areas.empty()) n.raise("synthetic_cell_m", "a synthetic layer needs a layer above it");
      layer.synthetic_cell_m = n.number("synthetic_cell_m", 50, 100'000);
      layer.synthetic_within = n.strings("within");
      c.areas.push_back(std::move(layer));
      continue;
    }
    if (n.has("within")) n.raise("within", "applies to synthetic layers only");
    layer.file = n.path("file");
    layer.options.id_property = n.string("id_property", "");
    layer.options.name_property = n.string("name_property", "name");
    layer.options.parent_property = n.string("parent_property", "");
    layer.options.crs = *geo::parse_crs(n.choice("crs", {"wgs84", "gcj02", "bd09"}, "wgs84"));
    c.areas.push_back(std::move(layer));
  }
  if (auto d = root.find("dispatch")) {
    d->allow_only({"level", "worker_level", "worker_fresh"});
    c.dispatch_level = d->string("level", c.dispatch_level);
    c.worker_level = d->string("worker_level", c.worker_level);
    c.worker_fresh = d->duration("worker_fresh", c.worker_fresh, std::chrono::seconds{10}, std::chrono::hours{24});
  }
  if (auto p = root.find("patrol")) {
    p->allow_only({"time_zone", "keep_days", "cell_m", "pass_m", "max_speed", "min_jump", "max_gap"});
    c.patrol.time_zone = read_time_zone(*p, c.patrol.time_zone);
    c.patrol.keep_days = static_cast<int>(p->integer("keep_days", c.patrol.keep_days, 1, 3660));
    c.patrol.cell_m = p->number("cell_m", c.patrol.cell_m, 5, 1000);
    c.patrol.pass_m = p->number("pass_m", c.patrol.pass_m, 1, 1000);
    c.patrol.glitch.max_speed_mps = p->number("max_speed", c.patrol.glitch.max_speed_mps, 1, 1000);
    c.patrol.glitch.min_jump_m = p->number("min_jump", c.patrol.glitch.min_jump_m, 0, 100'000);
    c.patrol.max_gap = p->duration("max_gap", c.patrol.max_gap, std::chrono::seconds{1}, std::chrono::hours{1});
  }
  if (auto k = root.find("classify")) {
    k->allow_only({"model", "auto_threshold", "safety_words", "safety_except"});
    if (k->has("model")) c.classify.model = k->path("model");
    if (k->has("auto_threshold")) c.classify.auto_threshold = k->number("auto_threshold", 0.0, 1.0);
    c.classify.safety_words = k->strings("safety_words");
    c.classify.safety_except = k->strings("safety_except");
  }
  if (auto a = root.find("analytics")) {
    a->allow_only({"time_zone", "hexagon_m", "q", "anomaly_level"});
    c.analytics.time_zone = read_time_zone(*a, c.analytics.time_zone);
    c.analytics.hexagon_m = a->number("hexagon_m", c.analytics.hexagon_m, analytics::kMinHexagonM, analytics::kMaxHexagonM);
    c.analytics.q = a->number("q", c.analytics.q, 1e-6, 0.5);
    c.analytics.anomaly_level = a->string("anomaly_level", c.analytics.anomaly_level);
    bool known = c.analytics.anomaly_level.empty();
    for (const AreaLayerConfig& layer : c.areas) known = known || layer.options.level_name == c.analytics.anomaly_level;
    if (!known) a->raise("anomaly_level", "is not the level of one of the areas");
  }
  if (auto sla = root.find("sla")) {
    sla->allow_only({"check_interval"});
    c.sla_check_interval = sla->duration("check_interval", c.sla_check_interval, std::chrono::seconds{1},
                                         std::chrono::hours{1});
  }
  if (auto o = root.find("open311")) {
    o->allow_only({"api_keys", "page_size"});
    c.open311_page_size = static_cast<int>(o->integer("page_size", c.open311_page_size, 1, 1000));
    for (const ConfigNode& k : o->list("api_keys")) {
      k.allow_only({"name", "key", "key_file", "key_sha256"});
      ApiKey key;
      key.name = k.string("name");
      if (k.has("key_sha256")) {
        if (k.has("key") || k.has("key_file")) k.raise("key_sha256", "give one of key, key_file and key_sha256");
        key.key_sha256 = k.string("key_sha256");
        std::transform(key.key_sha256.begin(), key.key_sha256.end(), key.key_sha256.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (!platform::is_sha256_hex(key.key_sha256))
          k.raise("key_sha256", "must be a SHA-256 in hex (64 digits), as `gridwatch token new` prints it");
      } else {
        key.key = required_secret(k, "key");
        key.key_sha256 = platform::sha256_hex(key.key);  // once here, not at every request
      }
      for (const ApiKey& other : c.api_keys)
        if (api_key_digest(other) == api_key_digest(key) || other.name == key.name)
          k.raise("name", fmt::format("\"{}\" repeats the name or key of \"{}\"", key.name, other.name));
      c.api_keys.push_back(std::move(key));
    }
  }
  if (auto a = root.find("auth")) read_auth(*a, c);
  if (auto w = root.find("web")) {
    w->allow_only({"root", "tiles", "report_key", "buildings", "origins"});
    if (w->has("origins"))
      for (const std::string& o : w->strings("origins")) {
        const bool scheme = o.starts_with("https://") || o.starts_with("http://");
        if (!scheme || o.find_first_of(" ;,'\"") != std::string::npos ||
            o.find('/', o.find("//") + 2) != std::string::npos)
          w->raise("origins", fmt::format("\"{}\" is not an origin (scheme://host[:port], no path)", o));
        c.web.origins.push_back(o);
      }
    if (w->has("root")) c.web.root = w->path("root");
    if (w->has("buildings")) c.web.buildings = w->path("buildings");
    if (auto t = w->find("tiles")) {
      t->allow_only({"url", "type", "crs", "attribution"});
      c.web.tile_url = t->string("url");
      if (!c.web.tile_url.starts_with("http://") && !c.web.tile_url.starts_with("https://") &&
          !c.web.tile_url.starts_with("/"))
        t->raise("url", "must be an http(s) URL or a path on this center");
      c.web.tile_type = t->choice("type", {"raster", "vector"}, "raster");
      if (c.web.tile_type == "raster" && c.web.tile_url.find("{z}") == std::string::npos)
        t->raise("url", "a raster tile URL has {z}, {x} and {y}");
      c.web.tile_crs = t->choice("crs", {"wgs84", "gcj02"}, "wgs84");
      c.web.tile_attribution = t->string("attribution", "");
    }
    if (w->has("report_key")) {
      c.web.report_key = w->string("report_key");
      const auto it = std::find_if(c.api_keys.begin(), c.api_keys.end(),
                                   [&](const ApiKey& k) { return k.name == c.web.report_key; });
      if (it == c.api_keys.end())
        w->raise("report_key", fmt::format("names no open311.api_keys entry \"{}\"", c.web.report_key));
      if (it->key.empty())
        w->raise("report_key", fmt::format("\"{}\" is configured by its key_sha256 only: the report page is handed "
                                           "the key itself (it names a channel, it is not a secret)",
                                           c.web.report_key));
    }
  }
  if (auto l = root.find("limits")) {
    l->allow_only({"max_payload_bytes", "max_queue", "per_address", "per_key", "refusals_kept"});
    c.max_payload_bytes = static_cast<size_t>(l->integer("max_payload_bytes", 256 * 1024, 1024, 16 << 20));
    c.max_queue = static_cast<size_t>(l->integer("max_queue", 1'000'000, 100, 100'000'000));
    for (auto [key, limit] : {std::pair{"per_address", &c.per_address}, std::pair{"per_key", &c.per_key}})
      if (auto r = l->find(key)) {
        r->allow_only({"rate", "burst"});
        limit->rate = r->number("rate", limit->rate, 0, 100'000);  // 0: no limit
        limit->burst = r->number("burst", limit->burst, 1, 1'000'000);
      }
    c.refusals_kept = static_cast<size_t>(l->integer("refusals_kept", 10'000, 0, 100'000'000));
  }
  return c;
}

}  // namespace

std::string api_key_digest(const ApiKey& k) { return k.key_sha256.empty() ? platform::sha256_hex(k.key) : k.key_sha256; }

const ApiKey* find_api_key(const std::vector<ApiKey>& keys, std::string_view key) {
  if (key.empty()) return nullptr;
  const std::string digest = platform::sha256_hex(key);
  const ApiKey* found = nullptr;
  for (const ApiKey& k : keys)  // every entry compared: the time does not tell which matched
    if (platform::equal_in_constant_time(api_key_digest(k), digest) && !found) found = &k;
  return found;
}

Result<CenterConfig> parse_center_config(std::string_view yaml, std::string source) {
  return read_config_text<CenterConfig>(yaml, std::move(source), read);
}

Result<CenterConfig> load_center_config(const std::filesystem::path& path) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_center_config(*text, path.string());
}

}  // namespace gridwatch::center
