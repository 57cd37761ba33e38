#include "gridwatch/center/center.h"

#include "gridwatch/center/open311.h"

#include <cctz/time_zone.h>
#include <httplib.h>

#include <random>

#include <algorithm>
#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/domain/clip.h"
#include "gridwatch/domain/config.h"
#include "gridwatch/domain/text.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::center {

// ---------------------------------------------------------------------------------- center

Center::Center(CenterConfig config, const Catalog& catalog, std::shared_ptr<const geo::AreaIndex> areas)
    : config_(std::move(config)), catalog_(catalog), auth_(config_.tokens),
      areas_(std::move(areas)), queue_(config_.max_queue) {}

Center::~Center() { stop(); }

size_t Center::queue_depth() const { return queue_.size(); }

Status Center::start(std::chrono::milliseconds connect_timeout) {
  auto store = Store::open(config_.conninfo, config_.pool_size, catalog_);
  if (!store) return std::unexpected(store.error());
  store_ = std::move(*store);
  if (auto st = store_->migrate(); !st) return st;
  if (auto st = load_areas(); !st) return st;
  if (!config_.web.buildings.empty()) {
    auto b = load_buildings(config_.web.buildings);
    if (!b) return std::unexpected(b.error());
    buildings_ = std::move(*b);
    spdlog::info("building registry {}: {} buildings", config_.web.buildings.string(), buildings_.size());
  }

  platform::MqttOptions o;
  o.url = config_.broker_url;
  o.client_id = fmt::format("gw-center-{}", config_.id);
  // A persistent session: QoS 1 orders published while the center is down wait in the broker.
  o.clean_session = false;
  o.username = config_.username;
  o.password = config_.password;
  o.ca_file = config_.broker_tls.ca_file;
  o.cert_file = config_.broker_tls.cert_file;
  o.key_file = config_.broker_tls.key_file;
  o.max_buffered = config_.max_buffered;
  auto client = platform::MqttClient::create(o);
  if (!client) return std::unexpected(client.error());
  mqtt_ = std::move(*client);
  const std::string clips_head = config_.topic_prefix + "/agents/";
  mqtt_->on_message([this, clips_head](platform::MqttMessage m) {
    // Paho's thread: hand over, never block.
    if (m.topic.rfind(clips_head, 0) == 0) return clip_reply(m);
    if (!queue_.try_push(m)) {
      ++metrics_.received;
      metrics_.rejected(Error{ErrorCode::kUnavailable, "ingest queue full", "queue"});
      spdlog::error("ingest queue full ({} messages): message on {} dropped", queue_.capacity(),
                    m.topic);
    }
  });
  // The shared order stream, and the answers to this center's clip requests (not shared: the
  // request ids are this center's).
  for (const auto& filter : {fmt::format("$share/{}/{}/orders/#", config_.share_group, config_.topic_prefix),
                             fmt::format("{}/agents/+/clips/+/#", config_.topic_prefix)})
    if (auto st = mqtt_->subscribe(filter, 1); !st) return st;
  ingest_thread_ = std::thread([this] { ingest_loop(); });
  if (auto st = mqtt_->connect(connect_timeout); !st) {
    // A refused subscription (the broker's ACL) leaves the center up for Open311, the map and
    // the API; /healthz and /metrics say so until a reconnect is granted.
    if (st.error().code != ErrorCode::kDenied) return st;
    spdlog::error("center: {}; orders from the edge will not arrive", st.error().message);
  }

  setup_http();
  if (config_.http_port == 0) {
    http_port_ = http_->bind_to_any_port(config_.http_host);
  } else {
    http_port_ = http_->bind_to_port(config_.http_host, config_.http_port) ? config_.http_port : -1;
  }
  if (http_port_ <= 0)
    return fail(ErrorCode::kUnavailable,
                fmt::format("cannot listen on {}:{}", config_.http_host, config_.http_port),
                "http.port");
  http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  sla_thread_ = std::thread([this] {
    while (!queue_.wait_closed_for(std::chrono::duration_cast<std::chrono::milliseconds>(config_.sla_check_interval)))
      check_sla(now_utc());
  });
  if (auth_.empty())
    spdlog::warn("auth.tokens is empty: /api/v1 refuses every request (401) until tokens are configured");
  spdlog::info("center {} listening on http://{}:{}; orders from {}", config_.id,
               config_.http_host, http_port_, config_.broker_url);
  return {};
}

void Center::stop() {
  if (!queue_.close()) return;
  live_.close();  // event streams end, their HTTP threads come free
  if (http_) http_->stop();
  if (http_thread_.joinable()) http_thread_.join();
  if (sla_thread_.joinable()) sla_thread_.join();
  if (mqtt_) mqtt_->disconnect(std::chrono::seconds{2});
  if (ingest_thread_.joinable()) ingest_thread_.join();
  mqtt_.reset();
  store_.reset();
}

size_t Center::check_sla(Timestamp now) {
  auto late = store_->mark_overdue(now);
  if (!late) {
    spdlog::warn("SLA check: {}", late.error().message);
    return 0;
  }
  for (const auto& l : *late) {
    // Every field is a string (Store::mark_overdue).
    auto field = [&](const char* key) -> const std::string& { return l.at(key).get_ref<const std::string&>(); };
    const std::string& id = field("case_id");
    spdlog::warn("case {} is overdue: not {} by {} (state {})", id, field("overdue") == "respond" ? "accepted" : "resolved",
                 field("due"), field("state"));
    publish_case(id, l);
  }
  return late->size();
}

// ---------------------------------------------------------------------------------- http

namespace {

void json_error(httplib::Response& res, int status, std::string_view message,
                std::string_view parameter = {}) {
  nlohmann::json j = {{"error", message}};
  if (!parameter.empty()) j["parameter"] = parameter;
  res.status = status;
  // Messages may quote what the client sent: bytes that are not UTF-8 are replaced, not fatal.
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

// An error of the store or of authentication as an HTTP answer; `invalid` is the status of
// kInvalidArgument (409 for a step the case's state does not allow, 400 for a bad request).
void answer_error(httplib::Response& res, const Error& e, int invalid) {
  int status = 503;
  switch (e.code) {
    case ErrorCode::kNotFound: status = 404; break;
    case ErrorCode::kInvalidArgument: status = invalid; break;
    case ErrorCode::kDenied: status = 403; break;
    case ErrorCode::kUnauthenticated:
      status = 401;
      res.set_header("WWW-Authenticate", "Bearer realm=\"gridwatch\", error=\"invalid_token\"");
      break;
    default: break;
  }
  json_error(res, status, e.message, e.field);
}

// The request's body as a JSON object with only `known` fields; answers 400 (showing `usage`) and
// returns nullopt otherwise.
std::optional<nlohmann::json> json_body(const httplib::Request& req, httplib::Response& res,
                                        std::initializer_list<std::string_view> known, std::string_view usage) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    json_error(res, 400, fmt::format("the body must be a JSON object {}", usage));
    return std::nullopt;
  }
  for (auto it = body.begin(); it != body.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      json_error(res, 400, fmt::format("unknown field \"{}\" (known: {})", printable(it.key()), fmt::join(known, ", ")),
                 it.key());
      return std::nullopt;
    }
  return body;
}

// A text field of `body` ("" when absent) of at most `max` characters; nullopt when not a string
// or too long.
std::optional<std::string> text_field(const nlohmann::json& body, const char* key, size_t max = 1000) {
  if (!body.contains(key)) return std::string();
  if (!body.at(key).is_string() || utf8_length(body.at(key).get_ref<const std::string&>()) > max) return std::nullopt;
  return body.at(key).get<std::string>();
}

void deny(httplib::Response& res, const Principal& who, std::string_view what) {
  json_error(res, 403, fmt::format("{} ({}) may not {}", who.name, to_string(who.role), what));
}

// An Accept-Encoding list without "br" (see setup_http).
std::string without_brotli(std::string_view accepted) {
  std::string out;
  size_t pos = 0;
  while (pos <= accepted.size()) {
    size_t end = accepted.find(',', pos);
    if (end == std::string_view::npos) end = accepted.size();
    std::string_view item = accepted.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (!item.empty() && !item.starts_with("br")) out += (out.empty() ? "" : ", ") + std::string(item);
    pos = end + 1;
  }
  return out;
}

// The media type of an uploaded image, by its first bytes (not by what the client says).
std::optional<std::string> image_type(std::string_view bytes) {
  if (bytes.starts_with("\xFF\xD8\xFF")) return "image/jpeg";
  if (bytes.starts_with("\x89PNG\r\n\x1A\n")) return "image/png";
  return std::nullopt;
}

}  // namespace

void Center::publish_case(const std::string& id, const nlohmann::json& change) {
  // Agents and wall maps follow their cases on {prefix}/center/orders/{id} and /api/v1/events.
  if (mqtt_) {
    const std::string topic = fmt::format("{}/center/orders/{}", config_.topic_prefix, id);
    if (auto st = mqtt_->publish(topic, change.dump(), 1, false); !st) {
      ++metrics_.publish_failures;
      spdlog::warn("lifecycle update of {} not published: {}", id, st.error().message);
    }
  }
  nlohmann::json live = change;
  live["type"] = "changed";
  live["case_id"] = id;
  live_.publish(id, std::move(live));
}

std::optional<Principal> Center::caller(const httplib::Request& req, httplib::Response& res, bool query_token) {
  auto who = auth_.authenticate(query_token && req.has_param("access_token") && !req.has_header("Authorization")
                                    ? "Bearer " + req.get_param_value("access_token")
                                    : req.get_header_value("Authorization"),
                                now_utc());
  if (!who) {
    spdlog::debug("HTTP {} {}: {}", req.method, req.path, who.error().message);
    answer_error(res, who.error(), 400);
    return std::nullopt;
  }
  return *who;
}

TransitionOptions Center::step_options(const Principal& who) const {
  return {.dispatch_level = config_.dispatch_level, .unit = "", .satisfaction = "", .worker_level = config_.worker_level,
          .worker_fresh = config_.worker_fresh, .scope = who.act_scope(config_.worker_level)};
}

void Center::answer_step(httplib::Response& res, const std::string& id, CaseAction action, const std::string& reason,
                         const std::string& actor, const TransitionOptions& options) {
  auto t = store_->transition(id, action, reason, actor, options);
  if (!t) return answer_error(res, t.error(), 409);
  nlohmann::json change = {{"case_id", id},
                           {"action", std::string(to_string(action))},
                           {"from", std::string(to_string(t->from))},
                           {"state", std::string(to_string(t->to))},
                           {"state_zh", std::string(name_zh(t->to))},
                           {"at", t->at},
                           {"actor", actor}};
  if (!t->unit.empty()) change["unit"] = t->unit;
  if (!t->worker.empty()) change["worker"] = t->worker;
  if (t->replayed) {
    // The same request again (a phone that lost the answer): the first result as the history
    // keeps it, nothing changed or published.
    change["replayed"] = true;
    spdlog::info("case {}: {} request {} sent again by {}: answered with the first result", id, to_string(action),
                 options.request_id, actor);
    return res.set_content(change.dump(), "application/json");
  }
  if (!options.satisfaction.empty()) change["satisfaction"] = options.satisfaction;
  if (!options.photo_url.empty()) change["photo_url"] = options.photo_url;
  publish_case(id, change);
  spdlog::info("case {}: {} ({} -> {}) by {}", id, to_string(action), to_string(t->from), to_string(t->to), actor);
  res.set_content(change.dump(), "application/json");
}

void Center::setup_http() {
  http_ = std::make_unique<httplib::Server>();
  int threads = config_.http_threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_payload_max_length(1 << 20);
  // Headers and body go out in separate writes: with Nagle's algorithm and the client's delayed
  // ACK, every keep-alive response would wait ~40 ms.
  http_->set_tcp_nodelay(true);
  // Debian's cpp-httplib compresses every JSON, JavaScript and text answer with Brotli when the
  // client accepts it (browsers do), at Brotli's slowest setting: 2.7 s for the map's script,
  // seconds for a case with its snapshot. Offer it gzip instead (zlib's default level, ~50 ms a
  // megabyte). The request is the server's own, non-const object; only its header is edited.
  http_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    auto& headers = const_cast<httplib::Headers&>(req.headers);
    for (auto it = headers.find("Accept-Encoding"); it != headers.end() && it->first == "Accept-Encoding"; ++it)
      it->second = without_brotli(it->second);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    bool db = store_ && store_->ping().has_value();
    bool mq = mqtt_ && mqtt_->connected();
    const Status subs = mqtt_ ? mqtt_->subscription_status() : Status{};
    const bool ok = db && mq && subs.has_value();
    nlohmann::json j = {{"status", ok ? "ok" : "degraded"},
                        {"database", db ? "ok" : "down"},
                        {"mqtt", mq ? "connected" : "disconnected"},
                        {"subscriptions", subs ? "ok" : subs.error().message},
                        {"queue_depth", queue_depth()}};
    res.status = ok ? 200 : 503;
    res.set_content(j.dump(), "application/json");
  });

  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    bool db = store_ && store_->ping().has_value();
    res.set_content(metrics_.render(queue_depth(), mqtt_ && mqtt_->connected(),
                                    mqtt_ && mqtt_->subscription_status().has_value(), db),
                    "text/plain; version=0.0.4");
  });

  http_->Get("/api/v1/orders", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    auto q = parse_order_query(req.params, catalog_);
    if (!q) return json_error(res, 400, q.error().message, q.error().field);
    q->scope = who->read_scope(config_.worker_level);
    auto body = store_->orders_geojson(*q);
    if (!body) return json_error(res, 503, body.error().message);
    res.set_content(*body, "application/geo+json");
  });

  // The case `req.matches[1]` names (it may be one of its sources) if the caller may read it, with
  // its sources, history and tasks; nullopt after answering 400 / 401 / 403 / 404 / 503.
  auto readable_case = [this](const httplib::Request& req, httplib::Response& res, bool query_token = false)
      -> std::optional<std::pair<nlohmann::json, nlohmann::json>> {
    const auto who = caller(req, res, query_token);
    if (!who) return std::nullopt;
    std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed order id", "id"), std::nullopt;
    auto body = store_->order_geojson(id);
    if (!body) return json_error(res, 503, body.error().message), std::nullopt;
    if (!*body) return json_error(res, 404, fmt::format("no order \"{}\"", id), "id"), std::nullopt;
    nlohmann::json feature = nlohmann::json::parse(**body);
    if (feature.contains("id") && feature.at("id").is_string()) id = feature.at("id").get<std::string>();
    if (const Scope scope = who->read_scope(config_.worker_level); !scope.empty())
      if (auto in = store_->check_scope(id, scope); !in) return answer_error(res, in.error(), 400), std::nullopt;
    auto more = store_->case_sources(id);
    if (!more) return json_error(res, 503, more.error().message), std::nullopt;
    return std::make_pair(std::move(feature), std::move(*more));
  };

  http_->Get(R"(/api/v1/orders/([^/]+))", [readable_case](const httplib::Request& req, httplib::Response& res) {
    auto c = readable_case(req, res);
    if (!c) return;
    auto& [feature, more] = *c;
    feature["properties"]["sources"] = std::move(more["sources"]);
    feature["properties"]["history"] = std::move(more["history"]);
    feature["properties"]["tasks"] = std::move(more["tasks"]);
    res.set_content(feature.dump(), "application/geo+json");
  });

  // The clip an agent keeps for a camera case (evidence.clip of its sources), fetched on request.
  http_->Get(R"(/api/v1/orders/([^/]+)/clip)", [this, readable_case](const httplib::Request& req, httplib::Response& res) {
    // A link on the map opens the clip: the token may come as ?access_token=.
    auto c = readable_case(req, res, /*query_token=*/true);
    if (!c) return;
    const std::string id = c->first.value("id", "");
    const nlohmann::json* more = &c->second;
    // The newest source with a clip, or the one named by ?name=.
    const std::string wanted = req.has_param("name") ? req.get_param_value("name") : "";
    std::string agent_id, name;
    for (const nlohmann::json& src : more->value("sources", nlohmann::json::array())) {
      if (!src.contains("evidence") || !src.at("evidence").is_object() || !src.at("evidence").contains("clip")) continue;
      const nlohmann::json& clip = src.at("evidence").at("clip");
      // The agent that sent the source (checked against its topic at intake), not what the evidence says.
      if (!clip.is_object() || !clip.contains("name") || !clip.at("name").is_string() || !src.contains("agent_id") ||
          !src.at("agent_id").is_string())
        continue;
      if (!wanted.empty() && clip.at("name").get<std::string>() != wanted) continue;
      agent_id = src.at("agent_id").get<std::string>();
      name = clip.at("name").get<std::string>();
    }
    if (name.empty())
      return json_error(res, 404, wanted.empty() ? fmt::format("case \"{}\" has no camera clip", id)
                                                 : fmt::format("case \"{}\" has no clip \"{}\"", id, wanted),
                        wanted.empty() ? "id" : "name");
    if (!is_valid_id(agent_id, 64)) return json_error(res, 404, "the clip's agent id is malformed", "id");
    // From memory when asked for lately (a player asks several times: ranges, seeks); else one
    // fetch from the agent, which holds an HTTP thread while it answers: a few at a time.
    auto bytes = clip(agent_id, name);
    if (!bytes && bytes.error().field == "busy") {
      res.set_header("Retry-After", "2");
      return json_error(res, 503, bytes.error().message);
    }
    if (!bytes) return json_error(res, bytes.error().code == ErrorCode::kNotFound ? 404 : 504, bytes.error().message);
    res.set_header("Content-Disposition", fmt::format("inline; filename=\"{}\"", name));
    const ClipMedia* media = clip_media_of(name);
    res.set_content(**bytes, media ? std::string(media->mime) : "application/octet-stream");
  });

  // Live case events (server-sent events). Browsers' EventSource cannot send headers: the token may
  // come as ?access_token=. Last-Event-ID (or ?since=) resumes after an event still kept.
  http_->Get("/api/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res, /*query_token=*/true);
    if (!who) return;
    uint64_t after = live_.last();
    const std::string resume = req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                                                                : req.get_param_value("since");
    if (!resume.empty()) {
      try {
        after = std::stoull(resume);
      } catch (const std::exception&) {
        return json_error(res, 400, "Last-Event-ID / since must be an event number", "since");
      }
    }
    const Scope scope = who->read_scope(config_.worker_level);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, after, scope, first = true](size_t, httplib::DataSink& sink) mutable {
      if (first) {  // at once: the client knows it is connected (and from where it will resume)
        first = false;
        const std::string hello = fmt::format("retry: 2000\n: gridwatch live events after {}\n\n", after);
        return sink.write(hello.data(), hello.size());
      }
      const auto events = live_.next(after, std::chrono::seconds{15});
      if (live_.closed()) return false;
      std::string out;
      if (events.empty()) out = ": keep-alive\n\n";
      for (const LiveEvent& e : events) {
        after = e.seq;
        // A worker follows its grid's cases only.
        if (!scope.empty() && !store_->check_scope(e.case_id, scope)) continue;
        out += fmt::format("id: {}\nevent: case\ndata: {}\n\n", e.seq, e.data.dump());
      }
      return out.empty() || sink.write(out.data(), out.size());
    });
  });

  // Vector tiles of the open cases for the map (MapLibre / Mapbox GL): a map of 50,000 cases
  // loads only the tiles it shows. Token as for /api/v1/events.
  http_->Get(R"(/tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.mvt)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res, /*query_token=*/true);
    if (!who) return;
    const int z = std::stoi(req.matches[1]), x = std::stoi(req.matches[2]), y = std::stoi(req.matches[3]);
    if (z > 22) return json_error(res, 400, fmt::format("zoom {} is above 22", z), "z");
    if (x >= (1 << z) || y >= (1 << z)) return json_error(res, 400, fmt::format("no tile {}/{}/{}", z, x, y), "x");
    auto tile = store_->cases_tile(z, x, y, who->read_scope(config_.worker_level));
    if (!tile) return json_error(res, 503, tile.error().message);
    res.set_header("Cache-Control", "no-store");  // cases change every minute
    if (tile->empty()) {
      res.status = 204;
      return;
    }
    res.set_content(std::move(*tile), "application/vnd.mapbox-vector-tile");
  });

  http_->Get("/api/v1/areas", [this](const httplib::Request& req, httplib::Response& res) {
    if (!caller(req, res)) return;
    std::optional<int> level;
    for (const auto& [key, value] : req.params)
      if (key != "level") return json_error(res, 400, fmt::format("unknown parameter \"{}\" (known: level)", key), key);
    if (req.has_param("level")) {
      level = parse_int_in(req.get_param_value("level"), 0, 16);
      if (!level) return json_error(res, 400, "level must be a whole number from 0 (coarsest) to 16", "level");
    }
    auto body = store_->areas_geojson(level);
    if (!body) return json_error(res, 503, body.error().message);
    res.set_content(*body, "application/geo+json");
  });

  // Open311 GeoReport v2: the service list and definitions from the catalog.
  http_->Get(R"(/open311/v2/(services(?:\.json|\.xml)?))", [this](const httplib::Request& req, httplib::Response& res) {
    auto f = open311::split_format(req.matches[1].str());
    const auto format = f ? f->second : open311::Format::kJson;
    const std::string locale = req.has_param("locale") ? req.get_param_value("locale") : "en";
    if (locale != "en" && locale != "zh") {
      res.status = 400;
      return res.set_content(open311::error(400, "locale must be en or zh", format), open311::content_type(format));
    }
    res.set_content(open311::services(catalog_, format, locale), open311::content_type(format));
  });
  http_->Get(R"(/open311/v2/services/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto f = open311::split_format(req.matches[1].str());
    if (!f) {
      res.status = 404;
      return res.set_content(open311::error(404, "formats are .json and .xml", open311::Format::kJson),
                             open311::content_type(open311::Format::kJson));
    }
    const Category* c = catalog_.find(f->first);
    if (!c) {
      res.status = 404;
      return res.set_content(open311::error(404, fmt::format("no service \"{}\"", f->first), f->second),
                             open311::content_type(f->second));
    }
    res.set_content(open311::service_definition(*c, f->second), open311::content_type(f->second));
  });

  // Open311 GeoReport v2: service requests (hotline tickets).
  auto o311_error = [](httplib::Response& res, int status, std::string_view message, open311::Format f) {
    res.status = status;
    res.set_content(open311::error(status, message, f), open311::content_type(f));
  };
  // The body is read here rather than by the HTTP library, which refuses forms over 8 KB: a
  // description of 4,000 Chinese characters is 36 KB once percent-encoded.
  http_->Post(R"(/open311/v2/(requests(?:\.json|\.xml)?))", [this, o311_error](const httplib::Request& req,
                                                                              httplib::Response& res,
                                                                              const httplib::ContentReader& read) {
    const auto format = open311::split_format(req.matches[1].str())->second;
    std::string body;
    constexpr size_t kMaxForm = 256 * 1024;
    const bool whole = read([&](const char* data, size_t n) {
      if (body.size() + n > kMaxForm) return false;
      body.append(data, n);
      return true;
    });
    if (!whole) res.set_header("Connection", "close");  // the rest of the body is not read
    if (!whole) return o311_error(res, 413, fmt::format("the form is larger than {} KB", kMaxForm / 1024), format);
    auto form = open311::parse_request_form(body, req.get_header_value("Content-Type"), catalog_,
                                            config_.api_keys, now_utc());
    if (!form) {
      metrics_.rejected(Error{form.error().http_status == 403 ? ErrorCode::kInvalidArgument : ErrorCode::kParse,
                              form.error().message, form.error().http_status == 403 ? "api_key" : "open311"});
      spdlog::warn("Open311 request from {} refused ({}): {}", req.remote_addr, form.error().http_status,
                   form.error().message);
      // Kept like any bad input, without the key; an unauthorised caller's form only in part.
      std::string kept = open311::without_api_key(body);
      if (form.error().http_status == 403 && kept.size() > 4096) kept.resize(4096);
      if (auto st = store_->add_dead_letter("open311", form.error().message, kept); !st)
        spdlog::error("dead letter not stored: {}", st.error().message);
      return o311_error(res, form.error().http_status, form.error().message, format);
    }
    const auto placement = Store::Placement::of(areas_.get(), form->where);
    auto out = store_->add_source(form->source, form->where, &placement);
    if (out && out->applied == Applied::kDuplicate)
      out = fail(ErrorCode::kInternal, fmt::format("ticket id {} already taken", out->id));
    if (!out) {
      spdlog::error("Open311 request not stored: {}", out.error().message);
      return o311_error(res, 503, "the request could not be stored now; try again", format);
    }
    ++metrics_.tickets;
    if (out->result == "merged") ++metrics_.merged;
    live_.publish(out->case_id, {{"type", out->result},
                                 {"case_id", out->case_id},
                                 {"source_id", out->id},
                                 {"event", "open"},
                                 {"category", form->source["category"]}});
    const Category& cat = *catalog_.find(form->source["category"].get<std::string>());
    std::string notice = fmt::format("已受理，{}将在{}内响应 / Accepted: {} responds within {}", cat.department.zh,
                                     format_duration(cat.respond_within), cat.department.en,
                                     format_duration(cat.respond_within));
    if (out->result == "merged")
      notice += fmt::format("; 已并入案件 {} / joined case {}, already reported", out->case_id, out->case_id);
    spdlog::info("Open311 request {} ({}) from key {}: {} case {}", out->id, cat.code, form->api_key, out->result,
                 out->case_id);
    res.set_content(open311::receipt({{"service_request_id", out->id}, {"token", out->token}, {"service_notice", notice}},
                                     format),
                    open311::content_type(format));
  });

  // Answers GET requests in the locale of ?locale=en|zh (en by default), as the service list does.
  auto send_requests = [this, o311_error](const httplib::Request& req, httplib::Response& res, const RequestQuery& q,
                                          open311::Format format, bool one) {
    const std::string locale = req.has_param("locale") ? req.get_param_value("locale") : "en";
    if (locale != "en" && locale != "zh") return o311_error(res, 400, "locale must be en or zh", format);
    auto rows = store_->requests(q);
    if (!rows) return o311_error(res, 503, "requests cannot be read now; try again", format);
    nlohmann::json list = nlohmann::json::array();
    for (const nlohmann::json& r : *rows) list.push_back(open311::request_json(r, catalog_, locale));
    if (one && list.empty())
      return o311_error(res, 404, fmt::format("no service request \"{}\"", q.ids.front()), format);
    res.set_content(open311::requests(list, format), open311::content_type(format));
  };

  http_->Get(R"(/open311/v2/(requests(?:\.json|\.xml)?))", [this, o311_error, send_requests](
                                                               const httplib::Request& req, httplib::Response& res) {
    const auto format = open311::split_format(req.matches[1].str())->second;
    auto q = parse_request_query(req.params, catalog_, config_.open311_page_size, now_utc());
    if (!q) return o311_error(res, 400, q.error().message, format);
    send_requests(req, res, *q, format, false);
  });

  // requests/{id} (the spec) and request/{id} (the spec's swagger file).
  http_->Get(R"(/open311/v2/requests?/([^/]+))", [o311_error, send_requests](const httplib::Request& req,
                                                                           httplib::Response& res) {
    auto f = open311::split_format(req.matches[1].str());
    if (!f) return o311_error(res, 404, "formats are .json and .xml", open311::Format::kJson);
    if (!is_valid_id(f->first)) return o311_error(res, 400, "malformed service_request_id", f->second);
    RequestQuery q;
    q.ids = {f->first};
    send_requests(req, res, q, f->second, true);
  });

  http_->Get(R"(/open311/v2/tokens/([^/]+))", [this, o311_error](const httplib::Request& req, httplib::Response& res) {
    auto f = open311::split_format(req.matches[1].str());
    if (!f) return o311_error(res, 404, "formats are .json and .xml", open311::Format::kJson);
    auto id = store_->request_of_token(f->first);
    if (!id) return o311_error(res, 503, "tokens cannot be read now; try again", f->second);
    if (!*id) return o311_error(res, 404, "unknown token", f->second);
    res.set_content(open311::receipt({{"service_request_id", **id}, {"token", f->first}}, f->second),
                    open311::content_type(f->second));
  });

  // A step of the case's lifecycle: {"action": "accept", "reason": "...", "actor": "..."}.
  http_->Post(R"(/api/v1/orders/([^/]+)/actions)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id");
    const auto body = json_body(req, res, {"action", "reason", "unit", "request_id", "photo_url"},
                                R"({"action": "...", "reason": "..."})");
    if (!body) return;
    const auto action_name = text_field(*body, "action"), reason = text_field(*body, "reason"),
               unit = text_field(*body, "unit"), request_id = text_field(*body, "request_id"),
               photo_url = text_field(*body, "photo_url");
    if (!action_name || !reason || !unit || !request_id || !photo_url)
      return json_error(res, 400, "action, reason, unit, request_id and photo_url are strings of at most 1000 characters");
    if (!request_id->empty() && !is_valid_id(*request_id, 64))
      return json_error(res, 400, "request_id is a plain name of at most 64 characters", "request_id");
    if (!photo_url->empty() && !photo_url->starts_with("/media/") && !photo_url->starts_with("https://") &&
        !photo_url->starts_with("http://"))
      return json_error(res, 400, "photo_url is /media/{id} (POST /api/v1/media) or an http(s) URL", "photo_url");
    const auto action = parse_case_action(*action_name);
    if (!action) {
      std::string known;
      for (CaseAction a : kAllActions) known += (known.empty() ? "" : ", ") + std::string(to_string(a));
      return json_error(res, 400, fmt::format("unknown action \"{}\" (known: {})", printable(*action_name), known),
                        "action");
    }
    if (!who->may(*action)) return deny(res, *who, fmt::format("{} a case", to_string(*action)));
    TransitionOptions options = step_options(*who);
    options.unit = *unit;
    options.request_id = *request_id;
    options.photo_url = *photo_url;
    answer_step(res, id, *action, *reason, who->name, options);
  });

  // The resident's evaluation of a resolved case: satisfied closes it, not satisfied re-opens it
  // for another dispatch (再派件). {"satisfied": true, "comment": "..."}.
  http_->Post(R"(/api/v1/orders/([^/]+)/feedback)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id");
    const auto parsed = json_body(req, res, {"satisfied", "comment", "token"},
                                  R"({"satisfied": true|false, "comment": "...", "token": "..."})");
    if (!parsed) return;
    const nlohmann::json& body = *parsed;
    if (!body.contains("satisfied") || !body.at("satisfied").is_boolean())
      return json_error(res, 400, "satisfied is required: true or false", "satisfied");
    // The resident answers with the token of the ticket (Open311) that is part of the case; the
    // hotline's call-back (回访) is entered by a dispatcher.
    std::string actor = "resident";
    if (body.contains("token")) {
      if (!body.at("token").is_string()) return json_error(res, 400, "token is the ticket's Open311 token", "token");
      auto mine = store_->token_reports(body.at("token").get_ref<const std::string&>(), id);
      if (!mine) return json_error(res, 503, mine.error().message);
      if (!*mine) return json_error(res, 403, fmt::format("the token is not that of a ticket of case \"{}\"", id), "token");
    } else {
      const auto who = caller(req, res);
      if (!who) return;
      if (!who->may_take_feedback()) return deny(res, *who, "enter a resident's evaluation");
      actor = who->name;
    }
    const auto comment = text_field(body, "comment");
    if (!comment) return json_error(res, 400, "comment is a string of at most 1000 characters", "comment");
    const bool satisfied = body.at("satisfied").get<bool>();
    TransitionOptions options = step_options(Principal{.name = actor, .role = Role::kDispatcher, .unit = "", .grid = ""});
    options.satisfaction = satisfied ? "satisfied" : "unsatisfied";
    answer_step(res, id, satisfied ? CaseAction::kClose : CaseAction::kReopen, *comment, actor, options);
  });

  // A dispatcher joins a case into another: {"into": "...", "reason": "..."}.
  http_->Post(R"(/api/v1/orders/([^/]+)/merge)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_split()) return deny(res, *who, "merge cases");
    const std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id");
    const auto body = json_body(req, res, {"into", "reason"}, R"({"into": "...", "reason": "..."})");
    if (!body) return;
    const auto into = text_field(*body, "into"), reason = text_field(*body, "reason");
    if (!into || into->empty() || !is_valid_id(*into)) return json_error(res, 400, "into names the case to merge into", "into");
    if (!reason || reason->empty())
      return json_error(res, 400, "a reason is required (it is kept in both cases' history)", "reason");
    auto moved = store_->merge_case(id, *into, *reason, who->name);
    if (!moved) return answer_error(res, moved.error(), 400);
    spdlog::info("case {} merged into {} by {}: {} sources moved", id, *into, who->name, *moved);
    const nlohmann::json answer = {{"case_id", id}, {"into", *into}, {"sources_moved", *moved}, {"state", "duplicate"}};
    publish_case(id, {{"case_id", id}, {"action", "merge"}, {"into", *into}, {"state", "duplicate"}, {"actor", who->name}});
    publish_case(*into, {{"case_id", *into}, {"action", "merged"}, {"from_case", id}, {"actor", who->name}});
    res.set_content(answer.dump(), "application/json");
  });

  // A dispatcher undoes a wrong merge: {"sources": [ids], "reason": "..."} -> the new case.
  http_->Post(R"(/api/v1/orders/([^/]+)/split)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_split()) return deny(res, *who, "split a case");
    const std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id");
    const auto parsed = json_body(req, res, {"sources", "reason"}, R"({"sources": [...], "reason": "..."})");
    if (!parsed) return;
    const nlohmann::json& body = *parsed;
    if (!body.contains("sources") || !body.at("sources").is_array() || body.at("sources").empty())
      return json_error(res, 400, "sources must be a list of the source ids to move", "sources");
    std::vector<std::string> ids;
    for (const auto& v : body.at("sources")) {
      if (!v.is_string() || !is_valid_id(v.get<std::string>()))
        return json_error(res, 400, "sources must be a list of source ids", "sources");
      ids.push_back(v.get<std::string>());
    }
    if (!body.contains("reason") || !body.at("reason").is_string() || body.at("reason").get<std::string>().empty())
      return json_error(res, 400, "a reason is required (it is kept in both cases' history)", "reason");
    auto out = store_->split_case(id, ids, body.at("reason").get<std::string>(), who->name);
    if (!out) return answer_error(res, out.error(), 400);
    spdlog::info("case {} split: {} moved to case {}", id, fmt::join(ids, ", "), *out);
    live_.publish(id, {{"type", "split"}, {"case_id", id}, {"new_case_id", *out}});
    live_.publish(*out, {{"type", "split"}, {"case_id", *out}, {"from_case_id", id}});
    res.set_content(nlohmann::json({{"case_id", id}, {"new_case_id", *out}}).dump(), "application/json");
  });

  // 吹哨报到: {"units": ["water", "housing"], "reason": "..."}.
  http_->Post(R"(/api/v1/orders/([^/]+)/summon)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_summon()) return deny(res, *who, "summon units");
    const std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id");
    const auto body = json_body(req, res, {"units", "reason"}, R"({"units": ["..."], "reason": "..."})");
    if (!body) return;
    std::vector<std::string> units;
    if (body->contains("units") && body->at("units").is_array())
      for (const auto& u : body->at("units"))
        if (u.is_string() && is_valid_id(u.get_ref<const std::string&>(), 64) &&
            std::find(units.begin(), units.end(), u.get<std::string>()) == units.end())
          units.push_back(u.get<std::string>());
    if (units.empty() || units.size() != body->at("units").size() || units.size() > 20)
      return json_error(res, 400, "units must be a list of 1-20 different unit codes", "units");
    const auto reason = text_field(*body, "reason");
    if (!reason || reason->empty())
      return json_error(res, 400, "a reason of at most 1000 characters is required", "reason");
    auto at = store_->summon(id, units, *reason, who->name, who->act_scope(config_.worker_level));
    if (!at) return answer_error(res, at.error(), 409);
    const nlohmann::json change = {{"case_id", id}, {"action", "summon"}, {"units", units}, {"at", *at},
                                   {"actor", who->name}};
    publish_case(id, change);
    spdlog::info("case {}: {} summoned {}", id, who->name, fmt::join(units, ", "));
    res.set_content(change.dump(), "application/json");
  });

  // A summoned unit's step: {"action": "acknowledge" | "finish", "note": "..."}.
  http_->Post(R"(/api/v1/orders/([^/]+)/tasks/([^/]+)/actions)", [this](const httplib::Request& req,
                                                                       httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1], unit = req.matches[2];
    if (!is_valid_id(id) || !is_valid_id(unit, 64)) return json_error(res, 400, "malformed case id or unit", "id");
    if (!who->may_answer_summons(unit)) return deny(res, *who, fmt::format("answer the summons of unit {}", unit));
    const auto body = json_body(req, res, {"action", "note"}, R"({"action": "acknowledge" | "finish", "note": "..."})");
    if (!body) return;
    const auto action = text_field(*body, "action"), note = text_field(*body, "note");
    if (!action || (*action != "acknowledge" && *action != "finish"))
      return json_error(res, 400, "action must be \"acknowledge\" or \"finish\"", "action");
    if (!note) return json_error(res, 400, "note is a string of at most 1000 characters", "note");
    auto step = store_->task_step(id, unit, *action == "acknowledge" ? TaskAction::kAcknowledge : TaskAction::kFinish,
                                  *note, who->name);
    if (!step) return answer_error(res, step.error(), 409);
    nlohmann::json change = {{"case_id", id},       {"action", *action == "acknowledge" ? "task_acknowledged" : "task_done"},
                             {"unit", unit},        {"task_state", step->state},
                             {"state", step->case_state}, {"at", step->at},
                             {"actor", who->name}};
    if (step->resolved_case) change["resolved"] = true;
    publish_case(id, change);
    spdlog::info("case {}: unit {} {} by {}{}", id, unit, step->state, who->name,
                 step->resolved_case ? "; every summoned unit done, case resolved" : "");
    res.set_content(change.dump(), "application/json");
  });

  // A grid worker's phone: {"lon": ..., "lat": ..., "on_duty": true}.
  http_->Put(R"(/api/v1/workers/([^/]+)/position)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1];
    if (!who->may_report_position(id)) return deny(res, *who, fmt::format("report the position of worker {}", id));
    const auto body = json_body(req, res, {"lon", "lat", "on_duty"}, R"({"lon": 116.4, "lat": 39.9, "on_duty": true})");
    if (!body) return;
    std::optional<LonLat> where;
    if (body->contains("lon") || body->contains("lat")) {
      if (!body->contains("lon") || !body->contains("lat") || !body->at("lon").is_number() ||
          !body->at("lat").is_number())
        return json_error(res, 400, "lon and lat are numbers, given together", "lon");
      const LonLat p{body->at("lon").get<double>(), body->at("lat").get<double>()};
      if (!std::isfinite(p.lon) || !std::isfinite(p.lat) || std::abs(p.lon) > 180 || std::abs(p.lat) > 90)
        return json_error(res, 400, "lon must be within [-180, 180] and lat within [-90, 90]", "lon");
      where = p;
    }
    if (body->contains("on_duty") && !body->at("on_duty").is_boolean())
      return json_error(res, 400, "on_duty is true or false", "on_duty");
    const bool on_duty = body->contains("on_duty") ? body->at("on_duty").get<bool>() : true;
    // A worker's grid is that of its token; an admin may place only workers that have one.
    std::string grid = who->grid;
    if (who->role != Role::kWorker) {
      const auto it = std::find_if(config_.tokens.begin(), config_.tokens.end(),
                                   [&](const ApiToken& t) { return t.role == Role::kWorker && t.name == id; });
      if (it == config_.tokens.end()) return json_error(res, 404, fmt::format("no worker \"{}\"", id), "id");
      grid = it->grid;
    }
    if (auto st = store_->report_worker(id, grid, where, on_duty); !st) return json_error(res, 503, st.error().message);
    res.set_content(nlohmann::json({{"worker", id}, {"grid", grid}, {"on_duty", on_duty}}).dump(), "application/json");
  });

  setup_web();

  http_->Get("/api/v1/workers", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_list_workers()) return deny(res, *who, "list the workers");
    auto body = store_->workers_geojson();
    if (!body) return json_error(res, 503, body.error().message);
    res.set_content(*body, "application/geo+json");
  });

  // The three rates and the proactive share: ?by=street&period=month&from=...&to=...&tz=Asia/Shanghai.
  http_->Get("/api/v1/stats", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_read_stats()) return deny(res, *who, "read the rates");
    std::vector<std::string> groupings = {"unit", "department"};
    for (const AreaLayerConfig& layer : config_.areas) groupings.push_back(layer.options.level_name);
    auto q = parse_stats_query(req.params, groupings, *areas_, now_utc());
    if (!q) return json_error(res, 400, q.error().message, q.error().field);
    auto out = store_->stats(*q);
    if (!out) return json_error(res, 503, out.error().message);
    (*out)["by"] = q->by;
    (*out)["period"] = q->period;
    (*out)["from"] = format_rfc3339(q->from);
    (*out)["to"] = format_rfc3339(q->to);
    (*out)["time_zone"] = q->time_zone;
    if (!q->area_code.empty()) (*out)["area"] = {{"level", q->area_level}, {"code", q->area_code}};
    res.set_content(out->dump(), "application/json");
  });

  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty())
      json_error(res, 404, fmt::format("no such resource: {}", req.path));
  });
}

void Center::setup_web() {
  // What the pages need to know: the base map, the report page's key, the area levels.
  http_->Get("/web/config.json", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json tiles = nullptr;
    if (!config_.web.tile_url.empty())
      tiles = {{"url", config_.web.tile_url},
               {"type", config_.web.tile_type},
               {"crs", config_.web.tile_crs},
               {"attribution", config_.web.tile_attribution}};
    nlohmann::json report_key = nullptr;
    for (const ApiKey& k : config_.api_keys)
      if (k.name == config_.web.report_key) report_key = k.key;
    nlohmann::json levels = nlohmann::json::array();
    for (const AreaLayerConfig& layer : config_.areas) levels.push_back(layer.options.level_name);
    res.set_header("Cache-Control", "no-cache");
    res.set_content(nlohmann::json{{"tiles", tiles},
                                   {"report_api_key", report_key},
                                   {"levels", levels},
                                   {"dispatch_level", config_.dispatch_level},
                                   {"worker_level", config_.worker_level},
                                   {"buildings", buildings_.size()}}
                        .dump(),
                    "application/json");
  });

  // A building of the registry, for the report page a door's QR code opens (no token: the door
  // shows the same).
  http_->Get(R"(/buildings/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string code = req.matches[1];
    const Building* b = find_building(buildings_, code);
    if (!b) return json_error(res, 404, fmt::format("no building \"{}\" in the registry", printable(code)), "b");
    res.set_content(nlohmann::json{{"code", b->code},
                                   {"name", b->name},
                                   {"address", b->address},
                                   {"lon", b->where.lon},
                                   {"lat", b->where.lat}}
                        .dump(),
                    "application/json");
  });

  // Who the token is: the pages show the name and offer what the role may do.
  http_->Get("/api/v1/me", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    nlohmann::json me = {{"name", who->name}, {"role", std::string(to_string(who->role))}};
    if (!who->unit.empty()) me["unit"] = who->unit;
    if (!who->grid.empty()) me["grid"] = who->grid;
    me["may"] = {{"split", who->may_split()},
                 {"summon", who->may_summon()},
                 {"stats", who->may_read_stats()},
                 {"workers", who->may_list_workers()}};
    nlohmann::json actions = nlohmann::json::array();
    for (CaseAction a : kAllActions)
      if (who->may(a)) actions.push_back(std::string(to_string(a)));
    me["may"]["actions"] = actions;
    res.set_content(me.dump(), "application/json");
  });

  // Photos: a worker's proof of work (any token) and a resident's photo of the problem (an Open311
  // api_key), the raw JPEG or PNG as the body; answered with the URL to give with the step or the
  // ticket (photo_url, media_url).
  auto store_media = [this](const httplib::Request& req, httplib::Response& res, const std::string& by) {
    const auto type = image_type(req.body);
    if (!type) return json_error(res, 400, "the body must be a JPEG or PNG image", "body");
    auto id = store_->put_media({*type, req.body}, by);
    if (!id) return json_error(res, 503, id.error().message);
    const std::string url = fmt::format("/media/{}.{}", *id, *type == "image/png" ? "png" : "jpg");
    spdlog::info("photo {} ({} bytes) from {}", url, req.body.size(), by);
    res.status = 201;
    res.set_header("Location", url);
    res.set_content(nlohmann::json{{"id", *id}, {"url", url}, {"bytes", req.body.size()}}.dump(), "application/json");
  };
  http_->Post("/api/v1/media", [this, store_media](const httplib::Request& req, httplib::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    store_media(req, res, who->name);
  });
  http_->Post(R"(/open311/v2/media(?:\.json)?)", [this, store_media](const httplib::Request& req, httplib::Response& res) {
    const ApiKey* key = find_api_key(config_.api_keys, req.get_param_value("api_key"));
    if (!key) {
      res.status = 403;
      return res.set_content(open311::error(403, "api_key is missing or unknown", open311::Format::kJson),
                             open311::content_type(open311::Format::kJson));
    }
    store_media(req, res, "open311:" + key->name);
  });
  http_->Get(R"(/media/([0-9a-f]{16,64})\.(jpg|png))", [this](const httplib::Request& req, httplib::Response& res) {
    auto m = store_->media(req.matches[1].str());
    if (!m) return json_error(res, 503, m.error().message);
    if (!*m) return json_error(res, 404, "no such photo");
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(std::move((*m)->bytes), (*m)->content_type);
  });

  // The built pages (web/dist): the control center at /, the worker's page at /worker, the report
  // page at /report; their hashed assets under /assets.
  const std::filesystem::path root = config_.web.root;
  if (root.empty()) {
    http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
      json_error(res, 404, "this center serves no web pages (set web.root to the built web/dist)");
    });
    return;
  }
  if (!std::filesystem::exists(root / "index.html"))
    spdlog::warn("web.root {} has no index.html: build the pages (npm run build in web/)", root.string());
  http_->set_mount_point("/assets", (root / "assets").string());
  http_->set_file_request_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");  // names carry a hash
  });
  for (const auto& [path, file] : std::initializer_list<std::pair<const char*, const char*>>{
           {"/", "index.html"}, {"/worker", "worker.html"}, {"/report", "report.html"}}) {
    http_->Get(path, [root, name = std::string(file)](const httplib::Request&, httplib::Response& res) {
      auto page = read_text_file(root / name);
      if (!page) return json_error(res, 404, fmt::format("page {} is not built (npm run build in web/)", name));
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::move(*page), "text/html; charset=utf-8");
    });
  }
}

}  // namespace gridwatch::center
