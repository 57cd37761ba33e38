#include "gridwatch/domain/order.h"

#include "gridwatch/domain/text.h"

#include <cmath>

#include <fmt/format.h>

namespace gridwatch {

std::string_view to_string(OrderEventKind k) {
  switch (k) {
    case OrderEventKind::kOpen: return "open";
    case OrderEventKind::kUpdate: return "update";
    case OrderEventKind::kClear: return "clear";
  }
  return "open";
}

std::string_view to_string(SourceKind k) {
  return k == SourceKind::kCamera ? "camera" : "sensor";
}

bool is_valid_id(std::string_view id, size_t max_chars) {
  if (id.empty() || id.size() > max_chars) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

using json = nlohmann::json;

std::unexpected<Error> invalid(std::string field, std::string why) {
  std::string msg = fmt::format("field '{}': {}", field, why);
  return fail(ErrorCode::kInvalidArgument, std::move(msg), std::move(field));
}

std::string_view type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

// True when a JSON text holds the escape \u0000 (a backslash that is not itself escaped).
bool has_escaped_nul(std::string_view text) {
  for (size_t at = text.find("\\u0000"); at != std::string_view::npos; at = text.find("\\u0000", at + 1)) {
    size_t slashes = 0;
    while (at >= slashes + 1 && text[at - slashes - 1] == '\\') ++slashes;
    if (slashes % 2 == 0) return true;
  }
  return false;
}

// Typed access to one JSON object, reporting errors with the full path of the field.
class Fields {
 public:
  Fields(const json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  std::string path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
  }
  bool has(std::string_view key) const {
    auto it = obj_.find(key);
    return it != obj_.end() && !it->is_null();
  }
  Result<std::string> str(std::string_view key, bool required = true) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) {
      if (required) return invalid(path(key), "missing");
      return std::string();
    }
    if (!it->is_string())
      return invalid(path(key), fmt::format("expected a string, got {}", type_name(*it)));
    return it->get<std::string>();
  }
  Result<double> num(std::string_view key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return invalid(path(key), "missing");
    if (!it->is_number())
      return invalid(path(key), fmt::format("expected a number, got {}", type_name(*it)));
    double v = it->get<double>();
    if (!std::isfinite(v)) return invalid(path(key), "not a finite number");
    return v;
  }
  Result<Timestamp> time(std::string_view key) const {
    auto s = str(key);
    if (!s) return std::unexpected(s.error());
    auto t = parse_rfc3339(*s);
    if (!t) return invalid(path(key), t.error().message);
    return *t;
  }
  Result<const json*> object(std::string_view key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return invalid(path(key), "missing");
    if (!it->is_object())
      return invalid(path(key), fmt::format("expected an object, got {}", type_name(*it)));
    return &*it;
  }

 private:
  const json& obj_;
  std::string prefix_;
};

Result<json> parse_object(std::string_view payload, size_t max_bytes) {
  if (payload.size() > max_bytes)
    return fail(ErrorCode::kTooLarge,
                fmt::format("payload of {} bytes exceeds the limit of {} bytes", payload.size(),
                            max_bytes));
  json doc = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return fail(ErrorCode::kParse, "payload is not valid JSON");
  if (!doc.is_object())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("payload must be a JSON object, got {}", type_name(doc)));
  return doc;
}

#define GW_TRY(var, expr)                                 \
  auto var##_r = (expr);                                  \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  auto var = std::move(*var##_r)

}  // namespace

Status validate_order(const OrderEvent& e, const Catalog& catalog, const CodecLimits& limits) {
  if (!is_valid_id(e.id, limits.max_id_chars))
    return invalid("id", fmt::format("must be 1-{} characters of A-Z a-z 0-9 . _ : -",
                                     limits.max_id_chars));
  if (!catalog.find(e.category))
    return invalid("category", fmt::format("unknown category \"{}\"", e.category));
  if (!is_valid_id(e.source.agent_id)) return invalid("source.agent_id", "missing or malformed");
  if (!e.source.device_id.empty() && !is_valid_id(e.source.device_id))
    return invalid("source.device_id", "malformed");
  if (e.event == OrderEventKind::kOpen && !e.location)
    return invalid("location", "missing (required for open)");
  if (e.location) {
    double lon = e.location->position.lon, lat = e.location->position.lat;
    if (!std::isfinite(lon)) return invalid("location.lon", "not a finite number");
    if (!std::isfinite(lat)) return invalid("location.lat", "not a finite number");
    if (lon < -180 || lon > 180)
      return invalid("location.lon", fmt::format("{} is out of range [-180, 180]", lon));
    if (lat < -90 || lat > 90)
      return invalid("location.lat", fmt::format("{} is out of range [-90, 90]", lat));
    if (e.location->accuracy_m &&
        (!std::isfinite(*e.location->accuracy_m) || *e.location->accuracy_m < 0 ||
         *e.location->accuracy_m > 100'000))
      return invalid("location.accuracy_m", "must be a number in [0, 100000]");
  }
  if (e.confidence && (!std::isfinite(*e.confidence) || *e.confidence < 0 || *e.confidence > 1))
    return invalid("confidence", "must be a number in [0, 1]");
  if (utf8_length(e.description) > limits.max_description_chars)
    return invalid("description",
                   fmt::format("longer than {} characters", limits.max_description_chars));
  if (!e.evidence.is_object()) return invalid("evidence", "expected an object");
  return {};
}

Result<OrderEvent> decode_order(std::string_view payload, const Catalog& catalog,
                                const CodecLimits& limits) {
  // PostgreSQL's jsonb cannot hold NUL: refused here, with its reason, rather than by the store.
  if (has_escaped_nul(payload))
    return fail(ErrorCode::kInvalidArgument, "the message contains \\u0000 (NUL), which no text field may hold",
                "payload");
  GW_TRY(doc, parse_object(payload, limits.max_payload_bytes));
  Fields f(doc, "");
  OrderEvent e;
  GW_TRY(schema, f.str("schema"));
  if (schema != kOrderSchema)
    return invalid("schema", fmt::format("expected \"{}\", got \"{}\"", kOrderSchema, schema));
  GW_TRY(event, f.str("event"));
  if (event == "open") e.event = OrderEventKind::kOpen;
  else if (event == "update") e.event = OrderEventKind::kUpdate;
  else if (event == "clear") e.event = OrderEventKind::kClear;
  else return invalid("event", fmt::format("\"{}\" is not one of open, update, clear", event));
  GW_TRY(id, f.str("id"));
  e.id = std::move(id);
  GW_TRY(category, f.str("category"));
  e.category = std::move(category);
  const Category* cat = catalog.find(e.category);
  if (!cat) return invalid("category", fmt::format("unknown category \"{}\"", e.category));
  e.priority = cat->default_priority;
  if (f.has("priority")) {
    GW_TRY(prio, f.str("priority"));
    auto p = parse_priority(prio);
    if (!p) return invalid("priority", fmt::format("\"{}\" is not one of urgent, high, normal, low",
                                                   prio));
    e.priority = *p;
  }
  GW_TRY(src_obj, f.object("source"));
  Fields src(*src_obj, "source");
  GW_TRY(kind, src.str("kind"));
  if (kind == "camera") e.source.kind = SourceKind::kCamera;
  else if (kind == "sensor") e.source.kind = SourceKind::kSensor;
  else return invalid("source.kind", fmt::format("\"{}\" is not one of camera, sensor", kind));
  GW_TRY(agent_id, src.str("agent_id"));
  e.source.agent_id = std::move(agent_id);
  GW_TRY(device_id, src.str("device_id", false));
  e.source.device_id = std::move(device_id);
  GW_TRY(rule, src.str("rule", false));
  e.source.rule = std::move(rule);
  if (f.has("location")) {
    GW_TRY(loc_obj, f.object("location"));
    Fields loc(*loc_obj, "location");
    GW_TRY(lon, loc.num("lon"));
    GW_TRY(lat, loc.num("lat"));
    OrderLocation l{.position = {.lon = lon, .lat = lat}, .accuracy_m = std::nullopt};
    if (loc.has("accuracy_m")) {
      GW_TRY(acc, loc.num("accuracy_m"));
      l.accuracy_m = acc;
    }
    if (loc.has("grid")) {
      GW_TRY(grid, loc.str("grid"));
      if (!is_valid_id(grid, 64)) return invalid("location.grid", "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
      l.grid = std::move(grid);
    }
    e.location = l;
  }
  GW_TRY(observed, f.time("observed_at"));
  e.observed_at = observed;
  if (f.has("first_seen_at")) {
    GW_TRY(first, f.time("first_seen_at"));
    e.first_seen_at = first;
  }
  if (f.has("confidence")) {
    GW_TRY(conf, f.num("confidence"));
    e.confidence = conf;
  }
  if (f.has("evidence")) {
    GW_TRY(ev, f.object("evidence"));
    e.evidence = *ev;
  }
  GW_TRY(desc, f.str("description", false));
  e.description = std::move(desc);
  if (auto ok = validate_order(e, catalog, limits); !ok) return std::unexpected(ok.error());
  return e;
}

std::string encode_order(const OrderEvent& e) {
  json j = {{"schema", kOrderSchema},
            {"event", to_string(e.event)},
            {"id", e.id},
            {"category", e.category},
            {"priority", to_string(e.priority)}};
  json src = {{"kind", to_string(e.source.kind)}, {"agent_id", e.source.agent_id}};
  if (!e.source.device_id.empty()) src["device_id"] = e.source.device_id;
  if (!e.source.rule.empty()) src["rule"] = e.source.rule;
  j["source"] = std::move(src);
  if (e.location) {
    json loc = {{"lon", e.location->position.lon}, {"lat", e.location->position.lat}};
    if (e.location->accuracy_m) loc["accuracy_m"] = *e.location->accuracy_m;
    if (!e.location->grid.empty()) loc["grid"] = e.location->grid;
    j["location"] = std::move(loc);
  }
  j["observed_at"] = format_rfc3339(e.observed_at);
  if (e.first_seen_at) j["first_seen_at"] = format_rfc3339(*e.first_seen_at);
  if (e.confidence) j["confidence"] = *e.confidence;
  if (!e.evidence.empty()) j["evidence"] = e.evidence;
  if (!e.description.empty()) j["description"] = e.description;
  return j.dump();
}

Result<Reading> decode_reading(std::string_view device_id, std::string_view payload,
                               const CodecLimits& limits) {
  if (!is_valid_id(device_id))
    return invalid("device_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
  GW_TRY(doc, parse_object(payload, limits.max_payload_bytes));
  Fields f(doc, "");
  Reading r;
  r.device_id = std::string(device_id);
  GW_TRY(ts, f.time("ts"));
  r.ts = ts;
  GW_TRY(type, f.str("type"));
  bool type_ok = !type.empty() && type.size() <= 64;
  for (char c : type) type_ok = type_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!type_ok) return invalid("type", "must be 1-64 characters of a-z 0-9 _");
  r.type = std::move(type);
  GW_TRY(value, f.num("value"));
  r.value = value;
  GW_TRY(unit, f.str("unit", false));
  if (unit.size() > 32) return invalid("unit", "longer than 32 bytes");
  r.unit = std::move(unit);
  return r;
}

std::string encode_reading(const Reading& r) {
  json j = {{"ts", format_rfc3339(r.ts)}, {"type", r.type}, {"value", r.value}};
  if (!r.unit.empty()) j["unit"] = r.unit;
  return j.dump();
}

}  // namespace gridwatch
