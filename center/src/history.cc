#include "gridwatch/center/history.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include <fmt/format.h>

namespace gridwatch::center {
namespace {

constexpr double kMetresPerDegree = 111'320.0;

LonLat around(LonLat c, double sd_m, std::mt19937_64& rng) {
  std::normal_distribution<double> n(0.0, sd_m);
  const double dy = n(rng), dx = n(rng);
  return {c.lon + dx / (kMetresPerDegree * std::cos(c.lat * std::numbers::pi / 180)), c.lat + dy / kMetresPerDegree};
}

}  // namespace

std::vector<HistoryCase> generate_history(const HistoryOptions& o, const Catalog& catalog) {
  using namespace std::chrono;
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<const Category*> cats;
  std::vector<double> weights;
  for (const Category& c : catalog.all()) {
    if (c.code == "general.other") continue;
    cats.push_back(&c);
    weights.push_back(1.0 + 9.0 * u(rng));  // some categories are far commoner than others
  }
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  std::vector<LonLat> busy;
  for (int i = 0; i < 5; ++i)
    busy.push_back({o.west + (o.east - o.west) * (0.15 + 0.7 * u(rng)), o.south + (o.north - o.south) * (0.15 + 0.7 * u(rng))});
  auto place = [&]() -> LonLat {
    if (u(rng) < 0.6) {
      LonLat p = around(busy[static_cast<size_t>(u(rng) * double(busy.size())) % busy.size()], 400, rng);
      p.lon = std::clamp(p.lon, o.west, o.east);
      p.lat = std::clamp(p.lat, o.south, o.north);
      return p;
    }
    return {o.west + (o.east - o.west) * u(rng), o.south + (o.north - o.south) * u(rng)};
  };
  std::vector<HistoryCase> out;
  size_t serial = 0;
  auto add = [&](const Category& c, LonLat at, Timestamp opened, const char* kind) {
    HistoryCase h;
    h.id = fmt::format("hist-{}-{:06}", o.seed % 100000, ++serial);
    h.category = c.code;
    h.department = c.department_code;
    h.priority = std::string(to_string(c.default_priority));
    h.source_kind = kind;
    h.description = fmt::format("{} {}（生成的历史工单 generated history）", c.name.zh, c.name.en);
    h.at = at;
    h.opened = opened;
    h.respond_within = c.respond_within;
    h.resolve_within = c.resolve_within;
    h.dispatched = opened + milliseconds{static_cast<int64_t>((5 + 55 * u(rng)) * 60'000)};
    // Nine in ten answered in time; resolution takes a fifth to all of the SLA, a few beyond it.
    const auto respond = duration_cast<milliseconds>(c.respond_within);
    const auto resolve = duration_cast<milliseconds>(c.resolve_within);
    h.responded = h.dispatched + milliseconds{static_cast<int64_t>(double(respond.count()) * 1.1 * u(rng))};
    h.resolved = h.responded + milliseconds{static_cast<int64_t>(double(resolve.count()) * (0.2 + 1.0 * u(rng)))};
    h.resolved = std::max(std::min(h.resolved, o.to - minutes{1}), opened);
    h.responded = std::min(h.responded, h.resolved);
    h.dispatched = std::min(h.dispatched, h.responded);
    if (u(rng) < 0.7) h.satisfaction = u(rng) < 0.85 ? "satisfied" : "unsatisfied";
    out.push_back(std::move(h));
  };
  const auto first_day = floor<days>(o.from);
  const auto span_days = duration_cast<days>(o.to - first_day).count();
  for (int64_t d = 0; d < span_days; ++d) {
    const Timestamp day = first_day + days{d};
    const auto weekday = std::chrono::weekday{floor<days>(day)};
    const double mean = o.per_day * (weekday.iso_encoding() <= 5 ? 1.15 : 0.63);
    const int n = std::poisson_distribution<int>(mean)(rng);
    for (int i = 0; i < n; ++i) {
      const Timestamp opened = day + milliseconds{static_cast<int64_t>(u(rng) * 86'400'000.0)};
      if (opened < o.from || opened >= o.to - minutes{2}) continue;
      // One draw after the other (the order of a call's arguments is the compiler's to choose).
      const double k = u(rng);
      const Category& c = *cats[pick(rng)];
      const LonLat at = place();
      add(c, at, opened, k < 0.15 ? "camera" : (k < 0.25 ? "sensor" : "hotline"));
    }
  }
  const Category* grow = catalog.find(o.grow_category);
  const auto weeks = std::max<int64_t>(1, span_days / 7);
  for (int64_t w = 0; grow && w < weeks; ++w) {
    const double mean = o.grow_first + double(o.grow_last - o.grow_first) * double(w) / double(std::max<int64_t>(1, weeks - 1));
    const int n = std::poisson_distribution<int>(mean)(rng);
    for (int i = 0; i < n; ++i) {
      const Timestamp opened = o.to - days{7 * (weeks - w)} + milliseconds{static_cast<int64_t>(u(rng) * 7 * 86'400'000.0)};
      if (opened < o.from || opened >= o.to - minutes{2}) continue;
      const LonLat at = around(o.grow_at, 60, rng);
      add(*grow, at, opened, "hotline");
    }
  }
  const Category* burst = catalog.find(o.burst_category);
  const Timestamp burst_from = o.burst_from == Timestamp{} ? o.to - hours{1} : o.burst_from;
  const double burst_ms = double(std::max<int64_t>(0, duration_cast<milliseconds>(o.to - minutes{2} - burst_from).count()));
  for (int i = 0; burst && i < o.burst; ++i) {
    const Timestamp opened = burst_from + milliseconds{static_cast<int64_t>(u(rng) * burst_ms)};
    const LonLat at = around(o.burst_at, o.burst_m, rng);
    add(*burst, at, opened, "hotline");
  }
  std::sort(out.begin(), out.end(), [](const HistoryCase& a, const HistoryCase& b) { return a.opened < b.opened; });
  return out;
}

}  // namespace gridwatch::center
