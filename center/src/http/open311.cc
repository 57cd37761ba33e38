// Routes: Open311 GeoReport v2 (services, service requests, tokens).
#include "gridwatch/center/center.h"

#include "gridwatch/center/open311.h"
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

void Center::add_open311_routes(http::Server& server) {
  // Open311 GeoReport v2: the service list and definitions from the catalog.
  server.get(R"(/open311/v2/(services(?:\.json|\.xml)?))", [this](const http::Request& req, http::Response& res) {
    auto f = open311::split_format(req.matches[1]);
    const auto format = f ? f->second : open311::Format::kJson;
    const std::string locale = req.has_param("locale") ? req.get_param_value("locale") : "en";
    if (locale != "en" && locale != "zh") {
      res.status = 400;
      return res.set_content(open311::error(400, "locale must be en or zh", format), open311::content_type(format));
    }
    res.set_content(open311::services(catalog_, format, locale), open311::content_type(format));
  });
  server.get(R"(/open311/v2/services/([^/]+))", [this](const http::Request& req, http::Response& res) {
    auto f = open311::split_format(req.matches[1]);
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
  auto o311_error = [](http::Response& res, int status, std::string_view message, open311::Format f) {
    res.status = status;
    res.set_content(open311::error(status, message, f), open311::content_type(f));
  };
  // A form of up to 256 KB (a description of 4,000 Chinese characters is 36 KB once
  // percent-encoded); a larger one is refused as it arrives, in the format asked for.
  constexpr size_t kMaxForm = 256 * 1024;
  const http::Handler too_large = [o311_error](const http::Request& req, http::Response& res) {
    const auto f = open311::split_format(req.matches.size() > 1 ? req.matches[1] : "requests");
    o311_error(res, 413, fmt::format("the form is larger than {} KB", kMaxForm / 1024),
               f ? f->second : open311::Format::kJson);
  };
  server.post(R"(/open311/v2/(requests(?:\.json|\.xml)?))", [this, o311_error](const http::Request& req,
                                                                                http::Response& res) {
    const auto format = open311::split_format(req.matches[1])->second;
    const std::string& body = req.body;
    // A caller with a valid key has the key's rate; anyone else their address's, stricter: a
    // flood of refused forms is answered 429 before it costs a dead letter each.
    const auto given = open311::form_field(body, "api_key");
    const ApiKey* key = given ? find_api_key(config_.api_keys, *given) : nullptr;
    if (auto wait = over_limit(key, req))
      return http::too_many(res, *wait, open311::error(429, http::too_many_message(*wait), format),
                            open311::content_type(format));
    auto form = open311::parse_request_form(body, req.get_header_value("Content-Type"), catalog_,
                                            config_.api_keys, now_utc(), suggester_ != nullptr);
    if (!form) {
      metrics_.rejected(Error{form.error().http_status == 403 ? ErrorCode::kInvalidArgument : ErrorCode::kParse,
                              form.error().message, form.error().http_status == 403 ? "api_key" : "open311"});
      spdlog::warn("Open311 request from {} refused ({}): {}", req.remote_addr, form.error().http_status,
                   form.error().message);
      // Kept like any bad input, without the key; an unauthorised caller's form only in part.
      std::string kept = open311::without_api_key(body);
      if (!key && kept.size() > 4096) kept.resize(4096);
      if (auto st = store_->add_dead_letter("open311", form.error().message, kept, config_.refusals_kept); !st)
        spdlog::error("dead letter not stored: {}", st.error().message);
      return o311_error(res, form.error().http_status, form.error().message, format);
    }
    const auto suggestion = apply_suggestion(suggester_.get(), form->source);
    const auto placement = Store::Placement::of(areas_.get(), form->where);
    auto out = store_->add_source(form->source, form->where, &placement);
    if (out && suggestion && out->stored != Stored::kDuplicate) record_suggestion(out->id, *suggestion);
    if (out && out->stored == Stored::kDuplicate)
      out = fail(ErrorCode::kInternal, fmt::format("ticket id {} already taken", out->id));
    if (!out) {
      spdlog::error("Open311 request not stored: {}", out.error().message);
      return o311_error(res, 503, "the request could not be stored now; try again", format);
    }
    ++metrics_.tickets;
    if (out->stored == Stored::kMerged) ++metrics_.merged;
    live_.publish(out->case_id, {{"type", std::string(to_string(out->stored))},
                                 {"case_id", out->case_id},
                                 {"source_id", out->id},
                                 {"event", "open"},
                                 {"category", form->source["category"]}});
    const Category& cat = *catalog_.find(form->source["category"].get<std::string>());
    std::string notice = fmt::format("已受理，{}将在{}内响应 / Accepted: {} responds within {}", cat.department.zh,
                                     format_duration(cat.respond_within), cat.department.en,
                                     format_duration(cat.respond_within));
    if (out->stored == Stored::kMerged)
      notice += fmt::format("; 已并入案件 {} / joined case {}, already reported", out->case_id, out->case_id);
    spdlog::info("Open311 request {} ({}) from key {}: {} case {}", out->id, cat.code, form->api_key, to_string(out->stored),
                 out->case_id);
    res.set_content(open311::receipt({{"service_request_id", out->id}, {"token", out->token}, {"service_notice", notice}},
                                     format),
                    open311::content_type(format));
  }, {.max_body = kMaxForm, .too_large = too_large});

  // Answers GET requests in the locale of ?locale=en|zh (en by default), as the service list does.
  auto send_requests = [this, o311_error](const http::Request& req, http::Response& res, const RequestQuery& q,
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

  server.get(R"(/open311/v2/(requests(?:\.json|\.xml)?))", [this, o311_error, send_requests](
                                                               const http::Request& req, http::Response& res) {
    const auto format = open311::split_format(req.matches[1])->second;
    auto q = parse_request_query(req.params, catalog_, config_.open311_page_size, now_utc());
    if (!q) return o311_error(res, 400, q.error().message, format);
    send_requests(req, res, *q, format, false);
  });

  // requests/{id} (the spec) and request/{id} (the spec's swagger file).
  server.get(R"(/open311/v2/requests?/([^/]+))", [o311_error, send_requests](const http::Request& req,
                                                                           http::Response& res) {
    auto f = open311::split_format(req.matches[1]);
    if (!f) return o311_error(res, 404, "formats are .json and .xml", open311::Format::kJson);
    if (!is_valid_id(f->first)) return o311_error(res, 400, "malformed service_request_id", f->second);
    RequestQuery q;
    q.ids = {f->first};
    send_requests(req, res, q, f->second, true);
  });

  server.get(R"(/open311/v2/tokens/([^/]+))", [this, o311_error](const http::Request& req, http::Response& res) {
    auto f = open311::split_format(req.matches[1]);
    if (!f) return o311_error(res, 404, "formats are .json and .xml", open311::Format::kJson);
    auto id = store_->request_of_token(f->first);
    if (!id) return o311_error(res, 503, "tokens cannot be read now; try again", f->second);
    if (!*id) return o311_error(res, 404, "unknown token", f->second);
    res.set_content(open311::receipt({{"service_request_id", **id}, {"token", f->first}}, f->second),
                    open311::content_type(f->second));
  });
}

}  // namespace gridwatch::center
