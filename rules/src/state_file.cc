#include "gridwatch/rules/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

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

namespace {

// One journal line: an input and the clock's time when it arrived.
struct JournalInput {
  Timestamp now;
  std::optional<Reading> reading;
  std::optional<ZoneEvent> event;
  Timestamp ts() const { return reading ? reading->ts : event->ts; }
};

std::optional<JournalInput> parse_journal_line(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.contains("now") || !j["now"].is_number_integer()) return std::nullopt;
  JournalInput in{.now = Timestamp{Duration{j["now"].get<int64_t>()}}, .reading = {}, .event = {}};
  try {
    if (j.contains("reading")) {
      const json& r = j["reading"];
      in.reading = Reading{.device_id = r.at("device_id").get<std::string>(),
                           .ts = Timestamp{Duration{r.at("ts").get<int64_t>()}},
                           .type = r.at("type").get<std::string>(),
                           .value = r.at("value").get<double>()};
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
      in.event = std::move(ev);
    } else {
      return std::nullopt;
    }
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return in;
}

}  // namespace

Result<Recovery> StateFile::recover(Engine& engine, Timestamp now) {
  Recovery rec;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("{}: {}", dir_.string(), ec.message()));
  auto set_aside = [&](const std::string& why) {
    const std::filesystem::path bad = snapshot_.string() + ".bad";
    std::filesystem::rename(snapshot_, bad, ec);
    rec.warnings.push_back(
        fmt::format("{}: {}; moved to {} and starting without rule state", snapshot_.string(), why, bad.string()));
  };
  std::optional<json> snapshot;
  if (std::filesystem::exists(snapshot_)) {
    std::ifstream in(snapshot_);
    std::stringstream ss;
    ss << in.rdbuf();
    snapshot = json::parse(ss.str(), nullptr, false);
    if (snapshot->is_discarded()) {
      set_aside("not valid JSON");
      snapshot.reset();
    }
  }
  std::vector<JournalInput> journal;
  std::vector<std::string> journal_warnings;
  if (std::filesystem::exists(journal_)) {
    std::ifstream in(journal_);
    std::string line;
    for (size_t number = 1; std::getline(in, line); ++number) {
      if (auto input = parse_journal_line(line)) journal.push_back(std::move(*input));
      else journal_warnings.push_back(fmt::format("{}:{}: unreadable journal line skipped", journal_.string(), number));
    }
  }
  // Where the engine begins. With a snapshot: now, then the snapshot's own window. Without one
  // (the process died before its first): where the journal begins, early enough that none of its
  // inputs is behind the window (each was on time when the dead process took it), so that the
  // no-data clocks also count from then.
  Timestamp start = now;
  if (!snapshot && !journal.empty()) {
    start = journal.front().now;
    for (const JournalInput& in : journal) start = std::min(start, in.ts() + engine.rules().lateness);
  }
  engine.start(start);
  if (snapshot) {
    if (auto restored = engine.restore(*snapshot)) {
      rec.had_snapshot = true;
      for (std::string& w : *restored) rec.warnings.push_back(std::move(w));
    } else {
      set_aside(restored.error().message);
    }
  }
  for (std::string& w : journal_warnings) rec.warnings.push_back(std::move(w));
  // Every input offered before the window moves (the engine orders them by time), then one
  // advance to the last one's arrival: stepping the window line by line would be stricter than the
  // process that took them, which advanced once a second.
  size_t refused = 0;
  for (const JournalInput& in : journal) {
    const Offer o = in.reading ? engine.offer(*in.reading, in.now) : engine.offer(*in.event, in.now);
    refused += o == Offer::kLate || o == Offer::kFuture || o == Offer::kUnknownDevice;
    ++rec.journal_inputs;
  }
  if (!journal.empty())
    for (Intent& i : engine.advance(journal.back().now)) rec.intents.push_back(std::move(i));
  if (refused > 0)
    rec.warnings.push_back(fmt::format("{}: {} journalled inputs refused on replay (late, from the future or of an "
                                       "unknown device)", journal_.string(), refused));
  return rec;
}

Status StateFile::append(const std::string& line) {
  if (!journal_file_) {
    journal_file_ = std::fopen(journal_.c_str(), "ae");
    if (!journal_file_) return io_error(journal_, "cannot open");
    struct stat st {};
    journal_size_ = ::fstat(fileno(journal_file_), &st) == 0 ? st.st_size : 0;
  }
  if (std::fwrite(line.data(), 1, line.size(), journal_file_) != line.size() ||
      std::fputc('\n', journal_file_) == EOF || std::fflush(journal_file_) != 0) {
    Status failed = io_error(journal_, "write failed");
    // Whole lines or nothing (a full disk takes part of one): what it took is cut back off, so that
    // the next line, once there is room, is not glued to a torn one and lost with it on replay.
    std::fclose(journal_file_);
    journal_file_ = nullptr;
    if (::truncate(journal_.c_str(), journal_size_) != 0) {
      // The replay skips a torn line with a warning.
    }
    return failed;
  }
  journal_size_ += static_cast<off_t>(line.size() + 1);
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
