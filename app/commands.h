// Subcommands of the gridwatch binary. Each returns the process exit code:
// 0 ok, 1 runtime failure, 2 bad usage or bad configuration.
#pragma once

#include "qr_sheet.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "gridwatch/domain/error.h"

namespace gridwatch {
class Catalog;
namespace center {
struct CenterConfig;
class Store;
}  // namespace center
}

namespace gridwatch::app {

// The catalog of a configuration (`path`), or the built-in one when empty; prints the error and
// returns nullptr when the file is bad.
const Catalog* load_catalog(const std::filesystem::path& path);
// The center's store on `config`, its schema migrated; prints the error and returns nullptr when
// the database cannot be reached or migrated.
std::unique_ptr<center::Store> open_migrated_store(const center::CenterConfig& config, const Catalog& catalog);

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// gridwatch token new: who the token is for (printed into the configuration line).
struct TokenOptions {
  std::string name = "ops-1";
  std::string role = "dispatcher";
  std::string unit;
  std::string grid;
};
int run_token_new(const TokenOptions& o);

struct DemoOptions {
  std::optional<int> duration_s;  // none: until Ctrl-C
  int http_port = 8080;
  std::filesystem::path data_dir = ".gridwatch/demo";
  std::string log_level = "info";
  // Beijing's district outlines (echarts 4 compressed GeoJSON, GCJ-02), installed into web/ by
  // scripts/install-deps.sh. Missing: the demo runs without areas and says so.
  std::filesystem::path districts = "web/node_modules/echarts/map/json/province/beijing.json";
  // The built pages (scripts/build.sh runs npm run build in web/). Missing: no pages, said so.
  std::filesystem::path web_root = "web/dist";
  // Cluster mode: a private 3-node RabbitMQ cluster instead of Mosquitto, and two centers that
  // share its order stream (the second one's HTTP port is the first's + 1, or any with port 0).
  bool cluster = false;
};
int run_demo(const DemoOptions& options);
int run_qr(const std::filesystem::path& buildings, const QrSheetOptions& options);

struct TicketsImportOptions {
  std::filesystem::path csv;
  std::filesystem::path mapping;
  std::filesystem::path config;  // the center's: database, areas and catalog
};
int run_tickets_import(const TicketsImportOptions& options);

// gridwatch report: a report file of the center's database (docs/reports.md).
struct ReportFileOptions {
  std::filesystem::path out;       // .html, .pdf (printed by Chromium) or .json (the figures)
  std::filesystem::path web_root;  // where bulletin/bulletin.js (the charts) is; empty: web.root or web/dist
  std::string chromium = "chromium";
};
struct ReportOptions {
  std::string kind = "weekly";  // daily, weekly, monthly, span
  std::string from, to, tz, area, level;  // as the report API takes them; empty: defaults
  std::filesystem::path config;
  ReportFileOptions file;
};
int run_report(const ReportOptions& options);
// Writes `report` (center::build_report) as the file `o.out` names.
Status write_report(const nlohmann::json& report, const ReportFileOptions& o);

struct GeoAssignOptions {
  std::filesystem::path areas;
  std::string id_property;  // empty: the feature's "id"
  std::string crs = "wgs84";
};
// Reads lon,lat lines (WGS-84) on stdin, writes lon,lat,area_id on stdout.
int run_geo_assign(const GeoAssignOptions& options);

// gridwatch classify train|eval|predict (docs/classify.md).
struct ClassifyOptions {
  std::filesystem::path tickets;   // train, eval: the export
  std::filesystem::path mapping;   // train, eval: its columns (the import mapping's format)
  std::filesystem::path keywords;  // optional keyword CSV (label, words...)
  std::filesystem::path out;       // train: the model file
  std::filesystem::path model;     // predict
  std::string name = "model";
  int folds = 5;
  int mistakes = 0;  // eval: list this many confident mistakes
  double c = 100;
  double keyword_weight = 0.25;  // the default of TrainOptions
  double target_precision = 0.97;
  bool no_normalize = false;
  bool no_keywords = false;
  bool no_tfidf = false;
  uint64_t seed = 1;
};
int run_classify_train(const ClassifyOptions& o);
int run_classify_eval(const ClassifyOptions& o);
int run_classify_predict(const ClassifyOptions& o);

struct RulesReplayOptions {
  std::filesystem::path rules;
  std::filesystem::path readings;    // CSV ts,device_id,type,value
  std::filesystem::path events_out;  // empty: stdout
};
// Runs a rule file over recorded readings; writes the order intents as JSON lines.
int run_rules_replay(const RulesReplayOptions& options);

struct VisionReplayOptions {
  std::filesystem::path camera;      // camera YAML
  std::filesystem::path video;
  std::filesystem::path events_out;  // empty: stdout
  std::string start = "1970-01-01T00:00:00Z";  // wall-clock time of the clip's first frame
};
// Runs one camera's pipeline over a recorded clip; writes the zone events as JSON lines.
int run_vision_replay(const VisionReplayOptions& options);

// gridwatch rtsp serve: a clip served as an RTSP camera serves it (H.264; app/rtsp_serve.cc).
struct RtspServeOptions {
  std::filesystem::path clip;
  std::string address = "127.0.0.1";
  int port = 8554;                 // 0: any free port (printed)
  std::string path = "/cam";
  int width = 0, height = 0;       // 0: the clip's size
  double fps = 0;                  // 0: the clip's rate
  double start_s = 0;              // from this second of the clip
  int64_t frames = 0;              // at most this many frames; 0: to the end
  int bitrate_kbps = 2048;
  std::filesystem::path cache;     // encoded clips; empty: ~/.cache/gridwatch/rtsp
};
int run_rtsp_serve(const RtspServeOptions& options);

// Reads px,py,lon,lat control points; prints the homography, per-point and RMS error.
int run_calibrate(const std::filesystem::path& points_file, const std::string& crs);

// Where a command writes its JSON lines: `path`, truncated (kept open in `file`), or stdout when
// `path` is empty. nullptr, with the error printed, when the file cannot be written.
std::ostream* open_output(const std::filesystem::path& path, std::ofstream& file);

// Blocks SIGINT and SIGTERM in the calling thread (call before starting threads, so every
// thread inherits the mask) and waits for one, up to `timeout` if given. Returns the signal,
// or 0 on timeout.
void block_stop_signals();
int wait_for_stop_signal(std::optional<std::chrono::milliseconds> timeout);

}  // namespace gridwatch::app
