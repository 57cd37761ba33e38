#include "gridwatch/center/buildings.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "gridwatch/domain/config.h"
#include "gridwatch/domain/csv.h"
#include "gridwatch/domain/text.h"

namespace gridwatch::center {

Result<std::vector<Building>> parse_buildings(std::string_view csv, std::string_view source) {
  std::vector<Building> out;
  std::array<int, 5> col{-1, -1, -1, -1, -1};
  static constexpr std::array<std::string_view, 5> kNames{"code", "name", "address", "lon", "lat"};
  size_t line_no = 0, pos = 0;
  if (csv.starts_with("\xEF\xBB\xBF")) pos = 3;  // a spreadsheet's byte-order mark
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kParse, fmt::format("{}:{}: {}", source, line_no, why), "buildings");
  };
  while (pos < csv.size()) {
    size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    const std::string_view line = csv.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (trim_blanks(line).empty()) continue;
    const auto fields = split_csv_line(line);
    if (col[0] < 0) {
      for (size_t i = 0; i < fields.size(); ++i)
        for (size_t k = 0; k < kNames.size(); ++k)
          if (trim_blanks(fields[i]) == kNames[k]) col[k] = static_cast<int>(i);
      for (size_t k = 0; k < kNames.size(); ++k)
        if (col[k] < 0) return bad(fmt::format("the header has no column \"{}\" (needs code,name,address,lon,lat)", kNames[k]));
      continue;
    }
    auto field = [&](size_t k) -> std::string {
      const size_t i = static_cast<size_t>(col[k]);
      return i < fields.size() ? std::string(trim_blanks(fields[i])) : std::string();
    };
    Building b{field(0), field(1), field(2), {}};
    if (!is_valid_id(b.code, 64)) return bad(fmt::format("building code \"{}\" is not a plain name of at most 64 characters", printable(b.code)));
    if (b.name.empty()) return bad(fmt::format("building {} has no name", b.code));
    if (!is_valid_utf8(b.name) || !is_valid_utf8(b.address) || has_control_chars(b.name) || has_control_chars(b.address))
      return bad(fmt::format("building {}: name and address must be UTF-8 text", b.code));
    const auto lon = parse_finite(field(3)), lat = parse_finite(field(4));
    if (!lon || !lat || *lon < -180 || *lon > 180 || *lat < -90 || *lat > 90)
      return bad(fmt::format("building {}: lon,lat must be WGS-84 degrees (got \"{}\", \"{}\")", b.code,
                             printable(field(3)), printable(field(4))));
    b.where = {.lon = *lon, .lat = *lat};
    if (find_building(out, b.code)) return bad(fmt::format("building code {} appears twice", b.code));
    out.push_back(std::move(b));
  }
  if (col[0] < 0) return fail(ErrorCode::kParse, fmt::format("{}: empty (needs a header code,name,address,lon,lat)", source), "buildings");
  return out;
}

Result<std::vector<Building>> load_buildings(const std::filesystem::path& path) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_buildings(*text, path.string());
}

const Building* find_building(const std::vector<Building>& buildings, std::string_view code) {
  auto it = std::find_if(buildings.begin(), buildings.end(), [&](const Building& b) { return b.code == code; });
  return it == buildings.end() ? nullptr : &*it;
}

}  // namespace gridwatch::center
