#include "gridwatch/rules/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace gridwatch::rules {
namespace {

using json = nlohmann::json;

Status io_error(const std::filesystem::path& p, std::string_view what) {
  return fail(ErrorCode::kIo, fmt::format("{}: {}: {}", p.string(), what, std::strerror(errno)));
}

// Writes `text` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
Status write_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(tmp, "cannot create");
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = io_error(tmp, "write failed");
      ::close(fd);
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = io_error(tmp, "fsync failed");
    ::close(fd);
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error(path, "rename failed");
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

int64_t ms(Timestamp t) { return t.time_since_epoch().count(); }

}  // namespace

StateFile::StateFile(std::filesystem::path dir)
    : dir_(std::move(dir)), snapshot_(dir_ / "rules-state.json"), journal_(dir_ / "rules-journal.jsonl") {}

StateFile::~StateFile() {
  if (journal_file_) std::fclose(journal_file_);
}

Result<Recovery> StateFile::recover(Engine& engine) {
  Recovery rec;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("{}: {}", dir_.string(), ec.message()));
  if (std::filesystem::exists(snapshot_)) {
    std::ifstream in(snapshot_);
    std::stringstream ss;
    ss << in.rdbuf();
    json snap = json::parse(ss.str(), nullptr, false);
    auto restored = snap.is_discarded() ? Result<std::vector<std::string>>(fail(ErrorCode::kParse, "not valid JSON"))
                                        : engine.restore(snap);
    if (restored) {
      rec.had_snapshot = true;
      rec.warnings = std::move(*restored);
    } else {
      const std::filesystem::path bad = snapshot_.string() + ".bad";
      std::filesystem::rename(snapshot_, bad, ec);
      rec.warnings.push_back(fmt::format("{}: {}; moved to {} and starting without rule state",
                                         snapshot_.string(), restored.error().message, bad.string()));
    }
  }
  if (std::filesystem::exists(journal_)) {
    std::ifstream in(journal_);
    std::string line;
    size_t number = 0, refused = 0;
    bool first = true;
    while (std::getline(in, line)) {
      ++number;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("now") || !j["now"].is_number_integer()) {
        rec.warnings.push_back(fmt::format("{}:{}: unreadable journal line skipped", journal_.string(), number));
        continue;
      }
      const Timestamp now{Duration{j["now"].get<int64_t>()}};
      if (first && !rec.had_snapshot) {
        // No snapshot (the process died before its first one): the engine begins where the
        // journal does, or every reading in it would be behind an engine started now.
        engine.start(now);
      }
      first = false;
      const auto taken = [&](Offer o) { refused += o == Offer::kLate || o == Offer::kFuture || o == Offer::kUnknownDevice; };
      try {
        if (j.contains("reading")) {
          const json& r = j["reading"];
          Reading reading{.device_id = r.at("device_id").get<std::string>(),
                          .ts = Timestamp{Duration{r.at("ts").get<int64_t>()}},
                          .type = r.at("type").get<std::string>(),
                          .value = r.at("value").get<double>()};
          taken(engine.offer(reading, now));
        } else if (j.contains("event")) {
          const json& e = j["event"];
          ZoneEvent ev{.camera = e.at("camera").get<std::string>(),
                       .zone = e.at("zone").get<std::string>(),
                       .kind = parse_zone_event_kind(e.at("kind").get<std::string>()).value_or(ZoneEventKind::kEntered),
                       .object = e.at("object").get<std::string>(),
                       .track = e.at("track").get<std::string>(),
                       .ts = Timestamp{Duration{e.at("ts").get<int64_t>()}},
                       .stationary = Duration{e.value("stationary_ms", int64_t{0})}};
          if (e.contains("lon") && e.contains("lat"))
            ev.location = OrderLocation{.position = {.lon = e["lon"].get<double>(), .lat = e["lat"].get<double>()}};
          ev.evidence = e.value("evidence", json());
          taken(engine.offer(ev, now));
        }
      } catch (const json::exception&) {
        rec.warnings.push_back(fmt::format("{}:{}: unreadable journal line skipped", journal_.string(), number));
        continue;
      }
      ++rec.journal_inputs;
      for (Intent& i : engine.advance(now)) rec.intents.push_back(std::move(i));
    }
    if (refused > 0)
      rec.warnings.push_back(fmt::format("{}: {} journalled inputs refused on replay (late, from the future or of an "
                                         "unknown device)", journal_.string(), refused));
  }
  return rec;
}

Status StateFile::append(const std::string& line) {
  if (!journal_file_) {
    journal_file_ = std::fopen(journal_.c_str(), "ae");
    if (!journal_file_) return io_error(journal_, "cannot open");
  }
  if (std::fwrite(line.data(), 1, line.size(), journal_file_) != line.size() ||
      std::fputc('\n', journal_file_) == EOF || std::fflush(journal_file_) != 0)
    return io_error(journal_, "write failed");
  return {};
}

Status StateFile::record(const Reading& r, Timestamp now) {
  return append(json({{"now", ms(now)},
                      {"reading", {{"device_id", r.device_id}, {"ts", ms(r.ts)}, {"type", r.type}, {"value", r.value}}}})
                    .dump());
}

Status StateFile::record(const ZoneEvent& e, Timestamp now) {
  json ev = {{"camera", e.camera}, {"zone", e.zone},   {"kind", to_string(e.kind)},
             {"object", e.object}, {"track", e.track}, {"ts", ms(e.ts)},
             {"stationary_ms", e.stationary.count()}};
  if (e.location) {
    ev["lon"] = e.location->position.lon;
    ev["lat"] = e.location->position.lat;
  }
  if (!e.evidence.is_null()) ev["evidence"] = e.evidence;
  return append(json({{"now", ms(now)}, {"event", ev}}).dump());
}

Status StateFile::checkpoint(const Engine& engine) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (auto st = write_atomically(snapshot_, engine.snapshot().dump()); !st) return st;
  // The snapshot holds everything the journal held: start it afresh.
  if (journal_file_) {
    std::fclose(journal_file_);
    journal_file_ = nullptr;
  }
  if (::truncate(journal_.c_str(), 0) != 0 && errno != ENOENT) return io_error(journal_, "truncate failed");
  return {};
}

}  // namespace gridwatch::rules
