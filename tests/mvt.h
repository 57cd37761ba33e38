// Reads a Mapbox Vector Tile (the map's /tiles) back for the tests: each layer's point features
// with their properties, by protozero (Debian libprotozero-dev). Version 2 of the specification:
// https://github.com/mapbox/vector-tile-spec/tree/master/2.1
#pragma once

#include <protozero/pbf_reader.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace gridwatch::testing {

using MvtValue = std::variant<std::string, double, int64_t, bool>;

struct MvtPoint {
  int64_t x = 0, y = 0;  // tile coordinates (0 .. extent, y down)
  std::map<std::string, MvtValue> properties;
  bool has(const std::string& key) const { return properties.contains(key); }
  std::string text(const std::string& key) const {
    auto it = properties.find(key);
    return it != properties.end() && std::holds_alternative<std::string>(it->second) ? std::get<std::string>(it->second) : "";
  }
  int64_t integer(const std::string& key) const {
    auto it = properties.find(key);
    return it != properties.end() && std::holds_alternative<int64_t>(it->second) ? std::get<int64_t>(it->second) : -1;
  }
  bool flag(const std::string& key) const {
    auto it = properties.find(key);
    return it != properties.end() && std::holds_alternative<bool>(it->second) && std::get<bool>(it->second);
  }
};

// The point features of layer `name` of `tile` (the first point of each; other geometries skipped).
inline std::vector<MvtPoint> mvt_points(const std::string& tile, const std::string& name) {
  std::vector<MvtPoint> out;
  protozero::pbf_reader t(tile);
  while (t.next(3)) {  // Tile.layers
    protozero::pbf_reader layer = t.get_message();
    std::string layer_name;
    std::vector<std::string> keys;
    std::vector<MvtValue> values;
    std::vector<std::pair<std::vector<uint32_t>, std::vector<uint32_t>>> features;  // tags, geometry
    while (layer.next()) {
      switch (layer.tag()) {
        case 1: layer_name = layer.get_string(); break;
        case 3: keys.push_back(layer.get_string()); break;
        case 4: {
          protozero::pbf_reader v = layer.get_message();
          MvtValue value;
          while (v.next()) {
            switch (v.tag()) {
              case 1: value = v.get_string(); break;
              case 2: value = static_cast<double>(v.get_float()); break;
              case 3: value = v.get_double(); break;
              case 4: value = v.get_int64(); break;
              case 5: value = static_cast<int64_t>(v.get_uint64()); break;
              case 6: value = v.get_sint64(); break;
              case 7: value = v.get_bool(); break;
              default: v.skip();
            }
          }
          values.push_back(value);
          break;
        }
        case 2: {
          protozero::pbf_reader f = layer.get_message();
          std::vector<uint32_t> tags, geometry;
          while (f.next()) {
            if (f.tag() == 2) {
              auto r = f.get_packed_uint32();
              tags.assign(r.begin(), r.end());
            } else if (f.tag() == 4) {
              auto r = f.get_packed_uint32();
              geometry.assign(r.begin(), r.end());
            } else {
              f.skip();
            }
          }
          features.emplace_back(std::move(tags), std::move(geometry));
          break;
        }
        default: layer.skip();
      }
    }
    if (layer_name != name) continue;
    for (const auto& [tags, geometry] : features) {
      if (geometry.size() < 3 || (geometry[0] & 7u) != 1) continue;  // MoveTo
      MvtPoint p;
      p.x = protozero::decode_zigzag32(geometry[1]);
      p.y = protozero::decode_zigzag32(geometry[2]);
      for (size_t i = 0; i + 1 < tags.size(); i += 2)
        if (tags[i] < keys.size() && tags[i + 1] < values.size()) p.properties[keys[tags[i]]] = values[tags[i + 1]];
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace gridwatch::testing
