// gridwatch: one binary, subcommands (docs/operations.md).
#include <signal.h>
#include <time.h>

#include <cstdio>
#include <functional>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "gridwatch/agent/agent.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/version.h"
#include "gridwatch/platform/log.h"
#include "gridwatch/platform/services.h"

namespace gridwatch::app {

std::ostream* open_output(const std::filesystem::path& path, std::ofstream& file) {
  if (path.empty()) return &std::cout;
  file.open(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    fmt::print(stderr, "error: {}: cannot write file\n", path.string());
    return nullptr;
  }
  return &file;
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Waits for SIGINT or SIGTERM (returned) and calls `on_hangup` for each SIGHUP meanwhile.
int wait_for_stop_signal_handling_hangup(const std::function<void()>& on_hangup) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGHUP) return sig;
    on_hangup();
  }
}

int wait_for_stop_signal(std::optional<std::chrono::milliseconds> timeout) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (!timeout) {
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
  }
  auto ms = timeout->count();
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig < 0 ? 0 : sig;
}

std::unique_ptr<center::Store> open_migrated_store(const center::CenterConfig& config, const Catalog& catalog) {
  auto store = center::Store::open(config.conninfo, 1, catalog);
  if (!store) {
    fmt::print(stderr, "error: {}\n", store.error().message);
    return nullptr;
  }
  if (auto st = (*store)->migrate(); !st) {
    fmt::print(stderr, "error: {}\n", st.error().message);
    return nullptr;
  }
  return std::move(*store);
}

const Catalog* load_catalog(const std::filesystem::path& path) {
  if (path.empty()) return &Catalog::builtin();
  static std::optional<Catalog> loaded;
  auto c = Catalog::load_file(path);
  if (!c) {
    fmt::print(stderr, "error: {}\n", c.error().message);
    return nullptr;
  }
  loaded = std::move(*c);
  return &*loaded;
}

namespace {

int run_agent(const std::string& config_path, bool check_only) {
  const Catalog& catalog = Catalog::builtin();
  auto config = agent::load_agent_config(config_path, catalog);
  if (!config) {
    fmt::print(stderr, "error: {}\n", config.error().message);
    return kExitUsage;
  }
  if (check_only) {
    fmt::print("{}: ok ({} cameras, {} sensors, {} rules)\n", config_path, config->cameras.size(),
               config->sensors.size(), config->rules.rules.size());
    return kExitOk;
  }
  if (auto st = platform::init_logging(config->log_level, "agent"); !st) return kExitUsage;
  block_stop_signals();
  agent::Agent a(std::move(*config), catalog);
  if (auto st = a.start(); !st) {
    spdlog::error("{}", st.error().message);
    return kExitFailure;
  }
  int sig = wait_for_stop_signal_handling_hangup([&] {
    // SIGHUP: read the file again; sensors and rules change in place, the rest needs a restart.
    spdlog::info("SIGHUP: reading {} again", config_path);
    auto next = agent::load_agent_config(config_path, catalog);
    if (!next) return spdlog::error("reload refused: {}", next.error().message);
    if (auto st = a.reload(std::move(*next)); !st) spdlog::error("reload refused: {}", st.error().message);
  });
  spdlog::info("signal {}: stopping", sig);
  a.stop();
  return kExitOk;
}

int run_center(const std::string& config_path, bool check_only) {
  auto config = center::load_center_config(config_path);
  if (!config) {
    fmt::print(stderr, "error: {}\n", config.error().message);
    return kExitUsage;
  }
  const Catalog* catalog = load_catalog(config->catalog);
  if (!catalog) return kExitUsage;
  if (check_only) {
    fmt::print("{}: ok\n", config_path);
    return kExitOk;
  }
  if (auto st = platform::init_logging(config->log_level, "center"); !st) return kExitUsage;
  block_stop_signals();
  center::Center c(std::move(*config), *catalog);
  if (auto st = c.start(); !st) {
    spdlog::error("{}", st.error().message);
    return kExitFailure;
  }
  int sig = wait_for_stop_signal(std::nullopt);
  spdlog::info("signal {}: stopping", sig);
  c.stop();
  return kExitOk;
}

int services_up(const std::string& dir, bool postgres, bool mosquitto, const std::string& broker, int nodes,
                bool replica) {
  if (auto st = platform::init_logging("info", "services"); !st) return kExitUsage;
  // A previous run that was not brought down is stopped first.
  (void)platform::PrivateServices::stop_detached(dir);
  // The broker takes no anonymous clients: one account for the tests' clients (prefixes of two
  // levels, one per test), with the ACL agents and sensors would meet. A RabbitMQ cluster takes
  // its loopback-only guest account.
  auto s = platform::PrivateServices::start({.dir = dir,
                                             .mosquitto = mosquitto && broker == "mosquitto",
                                             .postgres = postgres,
                                             .pg_replica = postgres && replica,
                                             .outlive_parent = true,
                                             .mqtt_accounts = {{"tests", platform::random_secret()}},
                                             .mqtt_acl = platform::gridwatch_acl("+/+", {.superusers = {"tests"}}),
                                             .rabbitmq_nodes = mosquitto && broker == "rabbitmq" ? nodes : 0});
  if (!s) {
    spdlog::error("{}", s.error().message);
    return kExitFailure;
  }
  auto e = (*s)->endpoints();
  if (auto st = (*s)->detach(); !st) {
    spdlog::error("{}", st.error().message);
    return kExitFailure;
  }
  nlohmann::json out = {{"broker", broker},
                        {"mqtt_url", e.mqtt_url},
                        {"mqtt_username", e.mqtt_username},
                        {"mqtt_password", e.mqtt_password},
                        {"pg_conninfo", e.pg_conninfo}};
  if (!e.pg_replica_conninfo.empty()) out["pg_replica_conninfo"] = e.pg_replica_conninfo;
  if (!e.rabbitmq_nodes.empty()) {
    out["amqp_url"] = e.rabbitmq_nodes.front().amqp_url;
    out["nodes"] = nlohmann::json::array();
    for (const auto& n : e.rabbitmq_nodes)
      out["nodes"].push_back({{"name", n.name}, {"mqtt_url", n.mqtt_url}, {"amqp_url", n.amqp_url}});
  }
  fmt::print("{}\n", out.dump());
  return kExitOk;
}

int services_down(const std::string& dir) {
  auto st = platform::PrivateServices::stop_detached(dir);
  if (!st) {
    fmt::print(stderr, "error: {}\n", st.error().message);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridwatch: proactive city governance — edge agents that open work orders, and "
               "the district center that dispatches and grades them."};
  app.set_version_flag("--version", fmt::format("gridwatch {}", kVersion));
  app.require_subcommand(1);

  std::string config_path;
  bool check_only = false;
  auto* agent_cmd = app.add_subcommand("agent", "Run the edge agent.");
  agent_cmd->add_option("--config", config_path, "Agent configuration: a YAML file, or a folder of them")
      ->required()
      ->check(CLI::ExistingPath);
  agent_cmd->add_flag("--check", check_only, "Validate the configuration and exit");

  auto* center_cmd = app.add_subcommand("center", "Run the district center.");
  center_cmd->add_option("--config", config_path, "Center configuration file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  center_cmd->add_flag("--check", check_only, "Validate the configuration and exit");

  DemoOptions demo;
  int duration = 0;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Run everything on embedded defaults: private broker and database, a center, an "
              "agent and simulated sensors. Prints the URL.");
  demo_cmd->add_option("--duration", duration, "Stop after this many seconds (default: Ctrl-C)")
      ->check(CLI::Range(1, 86400 * 365));
  demo_cmd->add_option("--http-port", demo.http_port, "Center HTTP port (default 8080; 0: any)")
      ->check(CLI::Range(0, 65535));
  demo_cmd->add_option("--data-dir", demo.data_dir,
                       "Directory for the private services and logs (default .gridwatch/demo)");
  demo_cmd->add_option("--districts", demo.districts,
                       "Beijing district outlines (default: the echarts 4 map in web/node_modules)");
  demo_cmd->add_option("--web-root", demo.web_root, "The built pages (default web/dist)");
  demo_cmd->add_flag("--cluster", demo.cluster,
                     "Cluster mode: a private 3-node RabbitMQ cluster as the broker (agents on MQTT, failing over "
                     "between nodes) and two centers sharing its order stream over AMQP");
  demo_cmd->add_option("--log-level", demo.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  std::string services_dir, services_broker = "mosquitto";
  int services_nodes = 3;
  bool no_postgres = false, no_mosquitto = false, services_replica = false;
  auto* services_cmd = app.add_subcommand(
      "services", "Start or stop a private broker (Mosquitto, or a RabbitMQ cluster) and PostgreSQL + PostGIS in the background "
                  "(for test fixtures and development).");
  services_cmd->require_subcommand(1);
  auto* up = services_cmd->add_subcommand("up", "Start them; print their endpoints as JSON.");
  up->add_option("--dir", services_dir, "State directory")->required();
  up->add_flag("--no-postgres", no_postgres, "Do not start PostgreSQL");
  up->add_flag("--no-mosquitto", no_mosquitto, "Do not start the broker");
  up->add_option("--broker", services_broker, "mosquitto (one broker) or rabbitmq (a cluster)")
      ->check(CLI::IsMember({"mosquitto", "rabbitmq"}));
  up->add_flag("--replica", services_replica, "Also a streaming replica of the database (pg_basebackup -R)");
  up->add_option("--nodes", services_nodes, "Nodes of the RabbitMQ cluster (default 3)")->check(CLI::Range(1, 9));
  auto* down = services_cmd->add_subcommand("down", "Stop what 'up' started in this directory.");
  down->add_option("--dir", services_dir, "State directory")->required();

  TicketsImportOptions tickets;
  auto* tickets_cmd = app.add_subcommand("tickets", "Hotline ticket tools.");
  tickets_cmd->require_subcommand(1);
  auto* import_cmd = tickets_cmd->add_subcommand(
      "import", "Import a CSV export of hotline tickets into the center's database: each row opens or "
                "joins a case; a re-import changes nothing. Prints a summary; bad rows go to stderr.");
  import_cmd->add_option("csv", tickets.csv, "The CSV file (a header line, one ticket per line)")
      ->required()
      ->check(CLI::ExistingFile);
  import_cmd->add_option("--mapping", tickets.mapping, "Column mapping (YAML), e.g. config/tickets/nyc311.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  import_cmd->add_option("--config", tickets.config, "Center configuration (database, areas, catalog)")
      ->required()
      ->check(CLI::ExistingFile);

  ReportOptions report;
  auto* report_cmd = app.add_subcommand(
      "report", "Write a report (日报/周报/月报: figures, hot spots, handling, ranking, proactive share) "
                "of the center's database as HTML, PDF or JSON; prints the file's path (docs/reports.md).");
  report_cmd->add_option("kind", report.kind, "daily, weekly, monthly or span")
      ->check(CLI::IsMember({"daily", "weekly", "monthly", "span"}));
  report_cmd->add_option("--config", report.config, "Center configuration (database, areas, catalog)")
      ->required()
      ->check(CLI::ExistingFile);
  report_cmd->add_option("--from", report.from, "First day (YYYY-MM-DD, local) or instant (RFC 3339); default: the last whole day, week or month");
  report_cmd->add_option("--to", report.to, "Last day (included) or instant (excluded)");
  report_cmd->add_option("--tz", report.tz, "Time zone of the days (default analytics.time_zone)");
  report_cmd->add_option("--area", report.area, "Only this area (a code)");
  report_cmd->add_option("--level", report.level, "Area level of the ranking (default analytics.anomaly_level)");
  report_cmd->add_option("--out", report.file.out, "The file: .html, .pdf or .json")->required();
  report_cmd->add_option("--web-root", report.file.web_root, "The built pages (the chart script); default web.root or web/dist");
  report_cmd->add_option("--chromium", report.file.chromium, "Chromium, for PDF (default chromium)");

  GeoAssignOptions geo_assign;
  auto* geo_cmd = app.add_subcommand("geo", "Geographic tools.");
  geo_cmd->require_subcommand(1);
  auto* assign = geo_cmd->add_subcommand(
      "assign", "Read WGS-84 lon,lat lines on stdin; write lon,lat,area_id (empty when the point "
                "is in no area). Bad lines are reported on stderr with their number and skipped.");
  assign->add_option("--areas", geo_assign.areas, "Areas, a GeoJSON FeatureCollection")
      ->required()
      ->check(CLI::ExistingFile);
  assign->add_option("--id-property", geo_assign.id_property,
                     "Property holding the area id (default: the feature's \"id\")");
  assign->add_option("--crs", geo_assign.crs, "Coordinate system of the areas file")
      ->check(CLI::IsMember({"wgs84", "gcj02", "bd09"}));

  RulesReplayOptions replay;
  auto* rules_cmd = app.add_subcommand("rules", "Rule tools.");
  rules_cmd->require_subcommand(1);
  auto* replay_cmd = rules_cmd->add_subcommand(
      "replay", "Run a rule file over recorded readings (CSV with columns ts,device_id,type,value) "
                "as fast as possible and write the order intents as JSON lines. Bad rows are "
                "reported on stderr with their line number and skipped; a summary ends stderr.");
  replay_cmd->add_option("--rules", replay.rules, "Rule file (docs/rules.md)")->required()->check(CLI::ExistingFile);
  replay_cmd->add_option("--readings", replay.readings, "Readings CSV")->required()->check(CLI::ExistingFile);
  replay_cmd->add_option("--events-out", replay.events_out, "Write the intents here (default: stdout)");

  ClassifyOptions classify;
  auto* classify_cmd = app.add_subcommand("classify", "Text classification of hotline tickets (docs/classify.md).");
  classify_cmd->require_subcommand(1);
  auto* ctrain = classify_cmd->add_subcommand(
      "train", "Train a model from a ticket export (a text and a final category per row); prints the "
               "suggested auto-fill threshold.");
  auto* ceval = classify_cmd->add_subcommand(
      "eval", "k-fold cross-validation: top-1, top-3, macro-F1, confusion, reliability and the "
              "precision/coverage of auto-filling.");
  for (auto* sub : {ctrain, ceval}) {
    sub->add_option("--tickets", classify.tickets, "Ticket export (CSV with a header line)")
        ->required()->check(CLI::ExistingFile);
    sub->add_option("--mapping", classify.mapping, "Its columns: text and category (the import mapping's format)")
        ->required()->check(CLI::ExistingFile);
    sub->add_option("--keywords", classify.keywords, "Keyword CSV: label, then its words (header line first)")
        ->check(CLI::ExistingFile);
    sub->add_option("--c", classify.c, "liblinear's C (inverse regularisation)")->check(CLI::PositiveNumber);
    sub->add_option("--keyword-weight", classify.keyword_weight, "Scale of the keyword features")
        ->check(CLI::Range(0.0, 100.0));
    sub->add_option("--target-precision", classify.target_precision,
                    "Precision the suggested auto-fill threshold must reach")->check(CLI::Range(0.5, 1.0));
    sub->add_option("--seed", classify.seed, "Seed of the fold assignment");
    sub->add_flag("--no-normalize", classify.no_normalize, "Raw text: no NFKC, OpenCC or placeholders");
    sub->add_flag("--no-keywords", classify.no_keywords, "No keyword features");
    sub->add_flag("--no-tfidf", classify.no_tfidf, "Raw n-gram counts instead of TF-IDF");
  }
  ctrain->add_option("--out", classify.out, "Model file to write")->required();
  ctrain->add_option("--name", classify.name, "Start of the model id (1-32 of [A-Za-z0-9._-])");
  ceval->add_option("--folds", classify.folds, "Number of folds")->check(CLI::Range(2, 20));
  ceval->add_option("--mistakes", classify.mistakes, "List this many of the most confident mistakes")
      ->check(CLI::Range(0, 10000));
  auto* cpredict = classify_cmd->add_subcommand(
      "predict", "Read one text a line on stdin, write one JSON line each: category, p, top3, auto, "
                 "safety.");
  cpredict->add_option("--model", classify.model, "Model file (classify train)")->required()->check(CLI::ExistingFile);

  VisionReplayOptions vreplay;
  auto* vision_cmd = app.add_subcommand("vision", "Camera tools.");
  vision_cmd->require_subcommand(1);
  auto* vreplay_cmd = vision_cmd->add_subcommand(
      "replay", "Run one camera's pipeline over a recorded clip as fast as possible and write the "
                "zone events as JSON lines (ts, camera, zone, event, object_id, class, bbox, "
                "dwell_s, confidence); per-stage timings end stderr.");
  vreplay_cmd->add_option("--camera", vreplay.camera, "Camera configuration (docs/vision.md)")->required()->check(CLI::ExistingFile);
  vreplay_cmd->add_option("--video", vreplay.video, "Video file")->required()->check(CLI::ExistingFile);
  vreplay_cmd->add_option("--events-out", vreplay.events_out, "Write the events here (default: stdout)");
  vreplay_cmd->add_option("--start", vreplay.start, "RFC 3339 time of the first frame (default 1970-01-01T00:00:00Z: ts = clip time)");

  std::string points_file, calibrate_crs = "wgs84";
  auto* calibrate_cmd = app.add_subcommand(
      "calibrate", "Compute a camera's ground homography from control points (CSV px,py,lon,lat; "
                   "at least 4, spread over the ground) and print it with its error in metres.");
  calibrate_cmd->add_option("--points", points_file, "Control points file")->required()->check(CLI::ExistingFile);
  calibrate_cmd->add_option("--crs", calibrate_crs, "Coordinate system of the lon,lat columns")
      ->check(CLI::IsMember({"wgs84", "gcj02", "bd09"}));

  std::filesystem::path qr_buildings;
  QrSheetOptions qr;
  auto* qr_cmd = app.add_subcommand(
      "qr", "Print sheets of building QR codes (一楼一码) for the doors: each opens the report page of its "
            "building, BASE_URL/report?b=CODE (PNG, A4 at 150 dpi, 12 a page).");
  qr_cmd->add_option("--buildings", qr_buildings, "Building registry (CSV code,name,address,lon,lat)")
      ->required()->check(CLI::ExistingFile);
  qr_cmd->add_option("--base-url", qr.base_url, "The center as residents' phones reach it, e.g. https://gw.example.gov.cn")
      ->required();
  qr_cmd->add_option("--out", qr.out, "PNG to write (several pages: NAME-1.png, NAME-2.png, ...)")->required();
  qr_cmd->add_option("--font", qr.font, "A CJK font for the names (default: Noto Sans CJK, fonts-noto-cjk)");

  TokenOptions token;
  auto* token_cmd = app.add_subcommand("token", "Access tokens of the center's API.");
  token_cmd->require_subcommand(1);
  auto* token_new = token_cmd->add_subcommand(
      "new", "Print a new random token and its SHA-256, with the line of center.yaml (auth.tokens) that admits it "
             "by its hash: the configuration then holds no secret.");
  token_new->add_option("--name", token.name, "Who uses it (kept as the actor of its steps)");
  token_new->add_option("--role", token.role, "admin, dispatcher, department or worker")
      ->check(CLI::IsMember({"admin", "dispatcher", "department", "worker"}));
  token_new->add_option("--unit", token.unit, "A department's unit");
  token_new->add_option("--grid", token.grid, "A worker's grid cell");

  RtspServeOptions rtsp;
  std::string rtsp_size;
  auto* rtsp_cmd = app.add_subcommand("rtsp", "RTSP cameras.");
  rtsp_cmd->require_subcommand(1);
  auto* rtsp_serve = rtsp_cmd->add_subcommand(
      "serve", "Serve a clip as an RTSP camera does: H.264 (encoded once into a cache folder), over TCP or UDP "
               "as each client asks, in real time, until Ctrl-C. Prints the URL when ready.");
  rtsp_serve->add_option("--clip", rtsp.clip, "Video file")->required();
  rtsp_serve->add_option("--address", rtsp.address, "Address to listen on (default 127.0.0.1)");
  rtsp_serve->add_option("--port", rtsp.port, "TCP port (default 8554; 0: any free one)")->check(CLI::Range(0, 65535));
  rtsp_serve->add_option("--path", rtsp.path, "Path of the stream (default /cam)");
  rtsp_serve->add_option("--size", rtsp_size, "WIDTHxHEIGHT (default: the clip's)");
  rtsp_serve->add_option("--fps", rtsp.fps, "Frame rate (default: the clip's)")->check(CLI::Range(1.0, 120.0));
  rtsp_serve->add_option("--start", rtsp.start_s, "Start at this second of the clip")->check(CLI::NonNegativeNumber);
  rtsp_serve->add_option("--frames", rtsp.frames, "Serve at most this many frames (default: to the end)")
      ->check(CLI::NonNegativeNumber);
  rtsp_serve->add_option("--bitrate", rtsp.bitrate_kbps, "H.264 bit rate in kbit/s (default 2048)")
      ->check(CLI::Range(64, 100000));
  rtsp_serve->add_option("--cache", rtsp.cache, "Folder of encoded clips (default ~/.cache/gridwatch/rtsp)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*agent_cmd) return run_agent(config_path, check_only);
  if (*center_cmd) return run_center(config_path, check_only);
  if (*demo_cmd) {
    if (duration > 0) demo.duration_s = duration;
    return run_demo(demo);
  }
  if (*import_cmd) return run_tickets_import(tickets);
  if (*report_cmd) return run_report(report);
  if (*assign) return run_geo_assign(geo_assign);
  if (*replay_cmd) return run_rules_replay(replay);
  if (*ctrain) return run_classify_train(classify);
  if (*ceval) return run_classify_eval(classify);
  if (*cpredict) return run_classify_predict(classify);
  if (*vreplay_cmd) return run_vision_replay(vreplay);
  if (*calibrate_cmd) return run_calibrate(points_file, calibrate_crs);
  if (*qr_cmd) return run_qr(qr_buildings, qr);
  if (*token_new) return run_token_new(token);
  if (*rtsp_serve) {
    if (!rtsp_size.empty() && std::sscanf(rtsp_size.c_str(), "%dx%d", &rtsp.width, &rtsp.height) != 2) {
      fmt::print(stderr, "error: --size {}: expected WIDTHxHEIGHT, e.g. 1280x720\n", rtsp_size);
      return kExitUsage;
    }
    if (rtsp.width < 0 || rtsp.height < 0 || rtsp.width > 7680 || rtsp.height > 4320) {
      fmt::print(stderr, "error: --size {}: out of range (at most 7680x4320)\n", rtsp_size);
      return kExitUsage;
    }
    return run_rtsp_serve(rtsp);
  }
  if (*up) return services_up(services_dir, !no_postgres, !no_mosquitto, services_broker, services_nodes, services_replica);
  if (*down) return services_down(services_dir);
  return kExitUsage;
}

}  // namespace gridwatch::app

int main(int argc, char** argv) { return gridwatch::app::main(argc, argv); }
